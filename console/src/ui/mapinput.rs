//! The map's own input and what is drawn over it by hand: pan and zoom (mouse and keys),
//! Home and Esc, picking an incident or unit (only from layers that are shown), the
//! tooltip for what the pointer is over, the readouts, and the place a report is being
//! written for (picked with a click, or from the right-click menu).

use bevy_egui::egui::{self, Id, Key, Sense, Ui};
use onegrid_protocol::Net;

use super::readout::{self, Hit};
use super::{LiveRead, Mode, grid_worker, intake};
use crate::desk::Intent;
use crate::map::{LayerToggles, MapModel};
use crate::view::MapView;

/// How the map takes input: desk or wall, what its layers show, its text size.
pub struct MapCtx<'a> {
    /// Desk or wall.
    pub mode: Mode,
    /// What the map's layers show.
    pub toggles: &'a LayerToggles,
    /// Text size.
    pub text_scale: f32,
}

/// Takes the map's input over `rect` and draws the readouts and the report's place; a
/// click that picks something (or clears the selection) becomes an intent.
#[allow(clippy::too_many_arguments)] // the map's input: the view, what it shows, and the intake it places
pub fn map_input(
    ctx: &egui::Context,
    root: &mut Ui,
    rect: egui::Rect,
    view: &mut MapView,
    live: &LiveRead,
    model: Option<&MapModel>,
    map: &MapCtx<'_>,
    intake: &mut intake::IntakeState,
) -> Option<Intent> {
    let resp = root.interact(rect, Id::new("map"), Sense::click_and_drag());
    if resp.dragged() {
        view.pan_by(resp.drag_delta());
    }
    if resp.hovered() {
        let (scroll, pointer) = ctx.input(|i| (i.smooth_scroll_delta.y, i.pointer.hover_pos()));
        if scroll != 0.0
            && let Some(p) = pointer
        {
            view.zoom_at(p, f64::from(-scroll * 0.002).exp());
        }
    }
    if !ctx.egui_wants_keyboard_input() {
        let dt = ctx.input(|i| i.stable_dt).min(0.1);
        let step = 500.0 * dt;
        let keys = ctx.input(|i| {
            let d = |a: Key, b: Key| f32::from(u8::from(i.key_down(a) || i.key_down(b)));
            (
                egui::vec2(
                    d(Key::ArrowLeft, Key::A) - d(Key::ArrowRight, Key::D),
                    d(Key::ArrowUp, Key::W) - d(Key::ArrowDown, Key::S),
                ),
                i.key_down(Key::Plus) || i.key_down(Key::Equals),
                i.key_down(Key::Minus),
                i.key_pressed(Key::Home),
                i.key_pressed(Key::Escape),
            )
        });
        if keys.0 != egui::Vec2::ZERO {
            view.pan_by(keys.0 * step);
        }
        let c = rect.center();
        if keys.1 {
            view.zoom_at(c, f64::from(-2.0 * dt).exp());
        }
        if keys.2 {
            view.zoom_at(c, f64::from(2.0 * dt).exp());
        }
        if keys.3
            && let Some(m) = model
        {
            view.fly_to(&m.home(live.feed.user.as_ref().map(|u| &u.scope)), 0.0);
        }
        if keys.4 {
            // Esc first stops picking a report's place (and drops a draft with no place yet).
            if let Some(d) = intake.draft.as_mut().filter(|d| d.picking) {
                d.picking = false;
                if d.at.is_none() {
                    intake.draft = None;
                }
                return None;
            }
            return Some(Intent::ClearSelection);
        }
    }
    let m = model?;
    let desk = map.mode == Mode::Desk;
    let picking = desk && intake.picking();
    let hover = if desk { resp.hover_pos() } else { None };
    let place = hover.map(|p| {
        let place = readout::place_at(m, view.to_local(p));
        let nets = [(map.toggles.responsibility, Net::Responsibility), (map.toggles.supervision, Net::Supervision)];
        let nets: Vec<Net> = nets.into_iter().filter(|(on, _)| *on).map(|(_, n)| n).collect();
        let words = readout::place_words(m, &place, grid_worker(&place, live), &nets);
        if picking { format!("单击选定登记位置 · {words}") } else { words }
    });
    let painter = readout::painter(ctx, rect);
    readout::draw(&painter, rect, view.m_per_pt, place.as_deref(), map.text_scale);
    if !desk {
        return None;
    }
    // Reports held for a link that is down, where they were taken; then the one being written.
    for (_, [lon, lat]) in live.desk.held_reports() {
        let at = view.to_screen(m.projection.to_local(lon, lat));
        report_pin(&painter, at, map.text_scale, "待发送", egui::Color32::from_rgb(250, 210, 90));
    }
    if let Some([lon, lat]) = intake.draft.as_ref().and_then(|d| d.at) {
        report_pin(
            &painter,
            view.to_screen(m.projection.to_local(lon, lat)),
            map.text_scale,
            "登记位置",
            egui::Color32::WHITE,
        );
    }
    let lonlat_at = |p: egui::Pos2| m.projection.to_lonlat(view.to_local(p));
    if resp.secondary_clicked()
        && let Some(p) = resp.interact_pointer_pos()
    {
        intake.menu_at = Some(lonlat_at(p));
    }
    resp.context_menu(|ui| {
        if ui.button("在此登记事件").clicked() {
            if let Some(at) = intake.menu_at {
                intake.place(at);
            }
            ui.close();
        }
    });
    if picking {
        if resp.hovered() {
            ctx.set_cursor_icon(egui::CursorIcon::Crosshair);
        }
        if resp.clicked()
            && let Some(p) = resp.interact_pointer_pos()
        {
            intake.place(lonlat_at(p));
        }
        return None;
    }
    // What is drawn is what the pointer can be over: a layer switched off is left out.
    // Cameras are named on hover; a click picks an incident or a unit.
    let toggles = map.toggles;
    let hit = |p, with_cameras: bool| {
        let incidents = live.incidents.iter().filter(|_| toggles.incidents).map(|i| &i.0);
        let cameras = live.cameras.iter().filter(|_| toggles.cameras && with_cameras);
        let cameras = cameras.map(|c| (c.0.id, [c.0.position.x(), c.0.position.y()]));
        let units = live.units.iter().filter(|_| toggles.personnel).map(|(u, pos)| (u.0.id, pos.lonlat));
        readout::hit_at(p, view, m, incidents, cameras, units)
    };
    if let Some(p) = hover
        && let Some(words) = hit(p, true).and_then(|h| hit_words(h, live, m))
    {
        resp.clone().on_hover_text_at_pointer(words);
    }
    if resp.clicked()
        && let Some(p) = resp.interact_pointer_pos()
    {
        return Some(match hit(p, false) {
            Some(Hit::Incident(id)) => Intent::SelectIncident(id),
            Some(Hit::Unit(id)) => Intent::SelectUnit(id),
            Some(Hit::Camera(_)) | None => Intent::ClearSelection,
        });
    }
    None
}

/// The place of a report not yet registered (being written: white; held for the link:
/// amber): a cross hair on a dark halo, a shape no live marker has, named beside it.
fn report_pin(painter: &egui::Painter, at: egui::Pos2, scale: f32, name: &str, colour: egui::Color32) {
    let (outer, inner) = (17.0 * scale, 4.0 * scale);
    let halo = egui::Stroke::new(5.0 * scale, egui::Color32::from_black_alpha(170));
    let ink = egui::Stroke::new(2.5 * scale, colour);
    for stroke in [halo, ink] {
        for d in [egui::vec2(1.0, 0.0), egui::vec2(0.0, 1.0)] {
            painter.line_segment([at + d * inner, at + d * outer], stroke);
            painter.line_segment([at - d * inner, at - d * outer], stroke);
        }
    }
    painter.circle_filled(at, 2.0 * scale, colour);
    let font = egui::FontId::proportional(13.0 * scale);
    let label = painter.layout_no_wrap(name.to_owned(), font, colour);
    let corner = at + egui::vec2(outer + 3.0 * scale, -label.size().y / 2.0);
    painter.rect_filled(
        egui::Rect::from_min_size(corner, label.size()).expand(3.0 * scale),
        3.0 * scale,
        egui::Color32::from_black_alpha(190),
    );
    painter.galley(corner, label, colour);
}

/// The tooltip for what the pointer is over.
fn hit_words(hit: Hit, live: &LiveRead, m: &MapModel) -> Option<String> {
    Some(match hit {
        Hit::Incident(id) => readout::incident_words(
            &live.incidents.get(*live.index.incidents.get(&id)?).ok()?.0,
            live.feed.server_now,
            m,
        ),
        Hit::Unit(id) => {
            let (u, pos) = live.units.get(*live.index.units.get(&id)?).ok()?;
            readout::unit_words(&u.0, pos.status)
        }
        Hit::Camera(id) => readout::camera_words(&live.cameras.get(*live.index.cameras.get(&id)?).ok()?.0),
    })
}
