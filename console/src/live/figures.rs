//! What the wall reads at a glance: the key figures (open, overdue, whistled, alarms nobody
//! acknowledged, closed today, on-time rate, how soon alarms are acknowledged) computed
//! from the live incidents, and the ticker of new, overdue and escalated
//! matters as they happen.

use std::collections::VecDeque;

use bevy::prelude::*;
use onegrid_protocol::{Incident, IncidentId, IncidentState, Millis};

use super::{Feed, IncidentC};

/// The key figures.
#[derive(Debug, Clone, Default, PartialEq, Resource)]
pub struct Figures {
    /// Open matters.
    pub open: usize,
    /// Of those, overdue now.
    pub overdue: usize,
    /// Closed since local midnight (server time, UTC+8).
    pub closed_today: usize,
    /// Share of the matters closed today that never went overdue; `None` before the first.
    pub on_time_rate: Option<f64>,
    /// Open and escalated (吹哨).
    pub escalated: usize,
    /// Open with an alarm that nobody, at any desk, has acknowledged (`protocol::alarm`).
    pub unacknowledged: usize,
    /// The median time from an alarm raised to its acknowledgement, over those
    /// acknowledged today, milliseconds; `None` before the first.
    pub response_median_ms: Option<Millis>,
}

/// The offset of China Standard Time (the city's clock: UTC+8, no daylight saving) from UTC.
pub const CST_OFFSET_MS: Millis = 8 * 3_600_000;

/// Local (UTC+8) midnight before `now`.
pub fn midnight_before(now: Millis) -> Millis {
    let day = 86_400_000;
    (now + CST_OFFSET_MS).div_euclid(day) * day - CST_OFFSET_MS
}

impl Figures {
    /// The figures over `incidents` at server time `now`.
    pub fn of<'a>(incidents: impl IntoIterator<Item = &'a Incident>, now: Millis) -> Self {
        let since = midnight_before(now);
        let mut f = Figures::default();
        let mut on_time = 0usize;
        let mut responses = Vec::new();
        for i in incidents {
            responses.extend(i.acknowledged_alarms().into_iter().filter(|(_, at)| *at >= since).map(|(r, at)| at - r));
            if i.state.is_open() {
                f.open += 1;
                f.overdue += usize::from(i.overdue);
                f.escalated += usize::from(i.state == IncidentState::Escalated);
                f.unacknowledged += usize::from(i.alarm_unacknowledged());
            } else if i.closed_at().is_some_and(|t| t >= since) {
                f.closed_today += 1;
                on_time += usize::from(i.overdue_count == 0);
            }
        }
        f.on_time_rate = (f.closed_today > 0).then(|| on_time as f64 / f.closed_today as f64);
        responses.sort_unstable();
        f.response_median_ms = responses.get(responses.len() / 2).copied().filter(|_| !responses.is_empty());
        f
    }
}

/// Recomputes the figures when incidents changed.
pub fn update_figures(
    changed: Query<(), Changed<IncidentC>>,
    all: Query<&IncidentC>,
    feed: Res<Feed>,
    mut figures: ResMut<Figures>,
    mut removed: RemovedComponents<IncidentC>,
) {
    if changed.is_empty() && removed.read().next().is_none() {
        return;
    }
    let f = Figures::of(all.iter().map(|c| &c.0), feed.server_now);
    if *figures != f {
        *figures = f;
    }
}

/// Why an item is on the ticker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickerKind {
    /// Newly reported.
    New,
    /// A stage passed its limit.
    Overdue,
    /// Handed up a level (吹哨).
    Escalated,
    /// Closed.
    Closed,
}

impl TickerKind {
    /// The kind for a delta's event name, if the ticker shows it.
    pub fn of_event(event: &str) -> Option<Self> {
        match event {
            "reported" | "report" => Some(TickerKind::New),
            "overdue" => Some(TickerKind::Overdue),
            "escalated" | "escalate" => Some(TickerKind::Escalated),
            "close" | "closed" => Some(TickerKind::Closed),
            _ => None,
        }
    }

    /// The word the ticker prints.
    pub fn label(self) -> &'static str {
        match self {
            TickerKind::New => "新上报",
            TickerKind::Overdue => "超时",
            TickerKind::Escalated => "吹哨",
            TickerKind::Closed => "结案",
        }
    }
}

/// One ticker line.
#[derive(Debug, Clone, PartialEq)]
pub struct TickerItem {
    /// Why.
    pub kind: TickerKind,
    /// Which incident.
    pub incident: IncidentId,
    /// Its category code.
    pub category: String,
    /// Where: street and community.
    pub place: String,
    /// Severity 1–4.
    pub severity: u8,
    /// Server time.
    pub at: Millis,
}

impl TickerItem {
    /// A line for `incident`.
    pub fn new(kind: TickerKind, incident: &Incident, at: Millis) -> Self {
        let p = &incident.placement;
        TickerItem {
            kind,
            incident: incident.id,
            category: incident.category.clone(),
            place: format!("{} {}", p.street_name, p.community_name),
            severity: incident.severity,
            at,
        }
    }
}

/// The latest ticker lines, newest first, and how many it was ever given (so that what
/// announces new lines, the alert sounds, knows which it has not yet heard).
#[derive(Debug, Default, Resource)]
pub struct Ticker {
    /// The lines, newest first.
    pub lines: VecDeque<TickerItem>,
    /// Lines ever pushed.
    pub pushed: u64,
}

/// Lines kept.
pub const TICKER_LEN: usize = 40;

impl Ticker {
    /// Adds a line, dropping the oldest beyond [`TICKER_LEN`].
    pub fn push(&mut self, item: TickerItem) {
        self.lines.push_front(item);
        self.lines.truncate(TICKER_LEN);
        self.pushed += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::tests::incident;

    #[test]
    fn midnight_is_local_to_china() {
        // 2026-11-23 01:00 CST is 2026-11-22 17:00 UTC.
        let t = 1_795_366_800_000; // 2026-11-22T17:00:00Z
        let m = midnight_before(t);
        assert_eq!(m, t - 3_600_000);
    }

    #[test]
    fn figures_count_open_overdue_and_closed_today() {
        let now = 1_795_366_800_000;
        let mut a = incident(1, IncidentState::Reported);
        a.overdue = true;
        let b = incident(2, IncidentState::Dispatched);
        let mut c = incident(3, IncidentState::Closed);
        c.history.last_mut().expect("step").at = now - 1_000;
        let mut d = incident(4, IncidentState::Closed);
        d.history.last_mut().expect("step").at = now - 1_000;
        d.overdue_count = 2;
        let mut old = incident(5, IncidentState::Closed);
        old.history.last_mut().expect("step").at = now - 86_400_000;
        let f = Figures::of([&a, &b, &c, &d, &old], now);
        assert_eq!((f.open, f.overdue, f.closed_today), (2, 1, 2));
        assert_eq!(f.unacknowledged, 1, "#1's overdue alarm, acknowledged nowhere");
        assert_eq!(f.on_time_rate, Some(0.5));
        assert_eq!(f.response_median_ms, None, "none acknowledged");
        // Three acknowledged today, 1, 2 and 5 minutes after the alarms; one yesterday.
        let acked = |id, raised: i64, after: i64| {
            let mut i = incident(id, IncidentState::Accepted);
            let mut mark = i.history[0].clone();
            mark.action = onegrid_protocol::OVERDUE_STEP.into();
            mark.at = raised;
            let mut seen = mark.clone();
            seen.action = onegrid_protocol::ACKNOWLEDGE_STEP.into();
            seen.at = raised + after;
            i.history.extend([mark, seen]);
            i
        };
        let today =
            [acked(6, now - 600_000, 60_000), acked(7, now - 600_000, 300_000), acked(8, now - 600_000, 120_000)];
        let old = acked(9, now - 2 * 86_400_000, 10_000);
        let f = Figures::of(today.iter().chain([&old]), now);
        assert_eq!(f.response_median_ms, Some(120_000));
    }

    #[test]
    fn ticker_keeps_the_newest_lines() {
        let mut t = Ticker::default();
        for id in 0..(TICKER_LEN as u64 + 5) {
            t.push(TickerItem::new(TickerKind::New, &incident(id, IncidentState::Reported), 0));
        }
        assert_eq!(t.lines.len(), TICKER_LEN);
        assert_eq!(t.lines.front().map(|i| i.incident), Some(TICKER_LEN as u64 + 4));
        assert_eq!(t.pushed, TICKER_LEN as u64 + 5);
    }
}
