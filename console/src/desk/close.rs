//! Closing the console while commands await the server: the window the user asked to
//! close waits for their answer ([`CloseGuard`]; the question is `ui::closing`'s).

use bevy::prelude::*;

use super::Desk;

/// Closing the console while commands await the server asks first (those held for a link
/// that is down would be lost): the window the user asked to close, and their answer.
#[derive(Debug, Default, Resource)]
pub struct CloseGuard {
    /// The window whose closing waits for the user's answer.
    pub asked: Option<Entity>,
    /// The answer: close anyway (`true`) or keep the console open.
    pub decision: Option<bool>,
}

/// Closes a window when asked, as bevy does (marked now, despawned the next frame), unless
/// commands await the server: then the panels ask first ([`CloseGuard`]). Should they all
/// be answered meanwhile, the window closes without waiting for the answer. The console
/// turns bevy's own closing off (`WindowPlugin::close_when_requested`).
pub(super) fn guard_close(
    mut commands: Commands,
    mut requests: MessageReader<bevy::window::WindowCloseRequested>,
    closing: Query<Entity, With<bevy::window::ClosingWindow>>,
    desk: Res<Desk>,
    mut guard: ResMut<CloseGuard>,
) {
    for window in &closing {
        commands.entity(window).despawn();
    }
    for r in requests.read() {
        if desk.pending.is_empty() {
            commands.entity(r.window).try_insert(bevy::window::ClosingWindow);
        } else {
            guard.asked = Some(r.window);
        }
    }
    let Some(window) = guard.asked else { return };
    match guard.decision.take() {
        Some(true) => {}
        Some(false) => {
            guard.asked = None;
            return;
        }
        None if desk.pending.is_empty() => {}
        None => return,
    }
    guard.asked = None;
    commands.entity(window).try_insert(bevy::window::ClosingWindow);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desk::Pending;

    #[test]
    fn closing_with_commands_unanswered_asks_first() {
        // The guard alone, over the desk's state.
        let mut app = App::new();
        app.add_plugins(MinimalPlugins).init_resource::<Desk>().init_resource::<CloseGuard>();
        app.add_message::<bevy::window::WindowCloseRequested>().add_systems(Last, guard_close);
        let ask_close = |app: &mut App, window: Entity| {
            app.world_mut().write_message(bevy::window::WindowCloseRequested { window });
            app.update();
            app.update();
        };
        let exists = |app: &App, w: Entity| app.world().get_entity(w).is_ok();
        // Nothing pending: it closes.
        let w = app.world_mut().spawn(Window::default()).id();
        ask_close(&mut app, w);
        assert!(!exists(&app, w), "closed without asking");

        // A command awaits the server: it asks, and stays open until told.
        let w = app.world_mut().spawn(Window::default()).id();
        app.world_mut().resource_mut::<Desk>().pending.push(Pending::new("登记 0201".into()));
        ask_close(&mut app, w);
        assert!(exists(&app, w));
        assert_eq!(app.world().resource::<CloseGuard>().asked, Some(w));
        app.world_mut().resource_mut::<CloseGuard>().decision = Some(false);
        app.update();
        assert_eq!(app.world().resource::<CloseGuard>().asked, None, "kept open");
        assert!(exists(&app, w));
        ask_close(&mut app, w);
        app.world_mut().resource_mut::<CloseGuard>().decision = Some(true);
        app.update();
        app.update();
        assert!(!exists(&app, w), "closed anyway, as told");

        // Asked, and the last answer comes meanwhile: it closes by itself.
        let w = app.world_mut().spawn(Window::default()).id();
        ask_close(&mut app, w);
        assert!(exists(&app, w));
        app.world_mut().resource_mut::<Desk>().pending.clear();
        app.update();
        app.update();
        assert!(!exists(&app, w));
    }
}
