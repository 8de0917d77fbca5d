//! Alarms acknowledged for every desk: what the officer acknowledges here (by selecting
//! the incident, at the status bar, or with the detail panel's 确认 button) is recorded on
//! the server (`acknowledge`, from a server that names the feature), and an alarm that
//! somebody acknowledged at another desk is let go here, with a notice of who did.
//!
//! The server's incident is the truth: an acknowledgement is asked for only while the
//! incident shows an alarm that none covers and this user may acknowledge it, and asked
//! again every [`ASK_AGAIN`] until the incident shows it covered or the alarm gone (a
//! link that dropped, a busy server). It carries no idempotency key and never waits in the
//! outbox: a second one is refused by the server, which is harmless, and a console
//! started again has nothing of it to send.
//!
//! Since the server keeps which alarms nobody acknowledged, a desk that connects (started,
//! or back after the link dropped) raises those its queue shows from the snapshot, silent
//! until their first reminder: an alarm waits for somebody through a console's restart.
//! So does a desk whose queue's filter changes: the alarms it let go of when they left
//! the queue come back with them.

use std::time::{Duration, Instant};

use bevy::prelude::*;
use onegrid_protocol::{AlarmCause, ClientMsg, Command, Incident, IncidentId};

use super::{Asked, Desk, Intent};
use crate::live::{Feed, IncidentC, LiveIndex, TickerItem, TickerKind};
use crate::net::{Link, LinkState, NetLink};
use crate::sound::{Chime, Sound};
use crate::ui::queue::QueueFilter;
use crate::ui::{Mode, UiState};

/// How long an acknowledgement asked for stands before it is asked for again, while the
/// incident still shows its alarm unacknowledged.
pub const ASK_AGAIN: Duration = Duration::from_secs(10);

/// Raises from a snapshot the alarms that stood while the desk was away, takes the
/// officer's acknowledgements to the server, and lets go of the alarms acknowledged
/// elsewhere.
#[allow(clippy::too_many_arguments)]
pub(super) fn acknowledge_alarms(
    mut intents: MessageReader<Intent>,
    mut sound: Option<ResMut<Sound>>,
    mut desk: ResMut<Desk>,
    mut net: Option<ResMut<NetLink>>,
    link: Option<Res<Link>>,
    feed: Res<Feed>,
    index: Res<LiveIndex>,
    incidents: Query<&IncidentC>,
    (mode, ui, time): (Option<Res<Mode>>, Option<Res<UiState>>, Res<Time>),
    mut looked: Local<(u64, Option<QueueFilter>)>,
) {
    let incident = |id: IncidentId| index.incidents.get(&id).and_then(|&e| incidents.get(e).ok()).map(|i| &i.0);
    // A snapshot (the first, or after a reconnect) holds the alarms that stood while this
    // desk was not there to hear them, and a queue's filter widened shows those it had
    // let go of: raised at the desk, silent until their reminder.
    let filter = ui.as_ref().map(|u| &u.filter);
    if feed.snapshots != looked.0 || filter != looked.1.as_ref() {
        *looked = (feed.snapshots, filter.cloned());
        if let Some(s) = sound.as_mut().filter(|_| feed.acknowledge && mode.is_some_and(|m| *m == Mode::Desk)) {
            let now = time.elapsed_secs_f64();
            for c in &incidents {
                let i = &c.0;
                let shown = ui.as_ref().is_none_or(|u| u.filter.passes(i));
                if shown
                    && !desk.acknowledging.contains_key(&i.id)
                    && !s.alarms.contains(i.id)
                    && let Some((line, chime)) = standing_alarm(i)
                {
                    s.alarms.raise_silently(&line, chime, now);
                }
            }
        }
    }
    for intent in intents.read() {
        if let Intent::AcknowledgeAlarm(id) = intent {
            if let Some(s) = sound.as_mut() {
                s.alarms.acknowledge(*id);
            }
            desk.acknowledging.entry(*id).or_insert(None);
        }
    }
    if let Some(s) = sound.as_mut() {
        for id in s.alarms.take_acknowledged() {
            desk.acknowledging.entry(id).or_insert(None);
        }
        // Acknowledged at another desk: let go here, and say who did.
        let me = feed.user.as_ref().map(|u| u.id.as_str());
        let mut elsewhere = Vec::new();
        s.alarms.retain(|a| {
            let by = incident(a.line.incident).and_then(Incident::acknowledgement);
            if let Some(step) = by.filter(|s| Some(s.by.as_str()) != me) {
                elsewhere.push((a.line.incident, who(step), step.at));
            }
            by.is_none()
        });
        for (id, by, at) in elsewhere {
            let text = format!("#{id} 告警已由 {by} 确认（{}）", crate::ui::detail::clock(at));
            desk.notice(text, false, Some(id));
        }
    }
    if desk.acknowledging.is_empty() {
        return;
    }
    let connected = link.is_some_and(|l| l.state == LinkState::Connected);
    if !connected {
        // Kept for when the link is back (the feature is known from the welcome then).
        return;
    }
    let Some(user) = feed.user.as_ref().filter(|_| feed.acknowledge) else {
        // A server that keeps no acknowledgements: they stay this desk's.
        desk.acknowledging.clear();
        return;
    };
    let now = Instant::now();
    let mut due = Vec::new();
    desk.acknowledging.retain(|id, asked| {
        let stands = incident(*id).is_some_and(|i| i.alarm_unacknowledged() && user.may_acknowledge(i).is_ok());
        if stands && asked.is_none_or(|t| now.duration_since(t) >= ASK_AGAIN) {
            *asked = Some(now);
            due.push(*id);
        }
        stands
    });
    for id in due {
        let Some(link) = net.as_mut() else { return };
        let req = link.next_req();
        let cmd = Command::Acknowledge { incident: id, note: String::new() };
        if link.send(ClientMsg::Command { req: req.clone(), cmd, key: None }) {
            desk.asked.insert(req, Asked::Acknowledge(id));
        }
    }
}

/// The alarm standing unacknowledged on `i`, as the ticker line that would have raised it
/// and its chime: whistled up and serious new ones urgent, an overdue stage overdue.
pub fn standing_alarm(i: &Incident) -> Option<(TickerItem, Chime)> {
    if !i.alarm_unacknowledged() {
        return None;
    }
    let at = i.alarm_raised_at().unwrap_or(i.reported_at);
    let (kind, chime) = if i.alarm_stands(AlarmCause::Escalated) {
        (TickerKind::Escalated, Chime::Urgent)
    } else if i.alarm_stands(AlarmCause::Serious) {
        (TickerKind::New, Chime::Urgent)
    } else {
        (TickerKind::Overdue, Chime::Overdue)
    };
    Some((TickerItem::new(kind, i, at), chime))
}

/// Who took a step, in words: the name the server recorded, else the user's id.
pub fn who(step: &onegrid_protocol::Step) -> &str {
    if step.by_name.is_empty() { &step.by } else { &step.by_name }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_standing_alarm_is_the_line_that_would_have_raised_it() {
        use onegrid_protocol::IncidentState as S;
        let i = |state, severity, overdue| Incident { severity, overdue, ..crate::live::tests::incident(1, state) };
        let of = |i: &Incident| standing_alarm(i).map(|(l, c)| (l.kind, c));
        assert_eq!(of(&i(S::Reported, 2, false)), None, "a minor matter");
        assert_eq!(of(&i(S::Reported, 3, false)), Some((TickerKind::New, Chime::Urgent)));
        assert_eq!(of(&i(S::Accepted, 3, true)), Some((TickerKind::Overdue, Chime::Overdue)));
        assert_eq!(of(&i(S::Escalated, 1, true)), Some((TickerKind::Escalated, Chime::Urgent)), "the most urgent");
        let mut seen = i(S::Escalated, 1, true);
        let mut step = seen.history[0].clone();
        step.action = onegrid_protocol::ACKNOWLEDGE_STEP.into();
        seen.history.push(step);
        assert_eq!(of(&seen), None, "acknowledged");
    }

    #[test]
    fn who_is_named_where_the_server_said() {
        let mut s = crate::live::tests::incident(1, onegrid_protocol::IncidentState::Reported).history[0].clone();
        s.by = "dispatcher-350203011000".into();
        assert_eq!(who(&s), "dispatcher-350203011000", "a step recorded before names were kept");
        s.by_name = "嘉莲街道值班员".into();
        assert_eq!(who(&s), "嘉莲街道值班员");
    }
}
