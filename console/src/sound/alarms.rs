//! Alarms awaiting acknowledgement at the desk: an overdue or urgent matter whose chime
//! sounded stays an alarm until the duty officer acknowledges it, and reminds by ear
//! while none does — the overdue kind every minute, the urgent kind every half minute —
//! so that a matter that came in while the desk was unattended is not lost in the
//! ticker's scroll.
//!
//! An alarm is acknowledged by an act, not by a standing selection: selecting its
//! incident (from the queue, the map, search or the status bar's button, which goes to
//! the most urgent one), or the status bar's "acknowledge all". It ends by itself when
//! what raised it no longer stands — a serious new matter accepted, an escalated one
//! taken up by the level above, an overdue stage passed — or its matter is closed or
//! leaves the desk's queue (another filter). Muting silences the
//! reminders, not the alarms: the count stays in the status bar and the queue's rows keep
//! their bell. The wall has none: nobody is there to acknowledge.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use onegrid_protocol::{Incident, IncidentId, IncidentState};

use super::Chime;
use crate::live::{TickerItem, TickerKind};

/// One alarm: its chime, the ticker line that raised it (its words), and when (app
/// seconds).
#[derive(Debug, Clone, PartialEq)]
pub struct Alarm {
    /// The most urgent chime its matter called for.
    pub chime: Chime,
    /// The line that raised it (or raised it to this chime).
    pub line: TickerItem,
    /// When it was first raised.
    pub raised: f64,
}

impl Alarm {
    /// In words, with its category's name: "#123 吹哨 道路不洁 中华街道 中山社区".
    pub fn words(&self, category: &str) -> String {
        let t = &self.line;
        format!("#{} {} {category} {}", t.incident, t.kind.label(), t.place)
    }

    /// Whether what raised it still stands for `i`, its incident as it is now: a serious
    /// new matter not yet accepted, an escalated one not yet taken up, an overdue stage
    /// still overdue.
    pub fn stands(&self, i: &Incident) -> bool {
        i.state.is_open()
            && match self.line.kind {
                TickerKind::New => i.state == IncidentState::Reported,
                TickerKind::Escalated => i.state == IncidentState::Escalated,
                TickerKind::Overdue => i.overdue,
                TickerKind::Closed => false,
            }
    }
}

/// The desk's unacknowledged alarms, by incident.
#[derive(Debug, Default)]
pub struct Alarms {
    open: BTreeMap<IncidentId, Alarm>,
    /// When the alarms last sounded, raised or reminded.
    last_sounded: Option<f64>,
    /// The incidents whose alarm the officer acknowledged here, not yet taken to be
    /// recorded on the server ([`Alarms::take_acknowledged`]).
    acknowledged: Vec<IncidentId>,
}

impl Chime {
    /// How often an unacknowledged alarm of this kind reminds, seconds; a new incident's
    /// ping raises none.
    pub fn remind_secs(self) -> Option<f64> {
        match self {
            Chime::New => None,
            Chime::Overdue => Some(60.0),
            Chime::Urgent => Some(30.0),
        }
    }
}

impl Alarms {
    /// Raises (or makes more urgent) the alarm of `line`'s incident, if `chime` is an
    /// alarm's; the reminders count again from `now`, when its chime sounds.
    pub fn raise(&mut self, line: &TickerItem, chime: Chime, now: f64) {
        if chime.remind_secs().is_none() {
            return;
        }
        self.last_sounded = Some(now);
        match self.open.entry(line.incident) {
            Entry::Vacant(e) => {
                e.insert(Alarm { chime, line: line.clone(), raised: now });
            }
            Entry::Occupied(mut e) if chime >= e.get().chime => {
                let a = e.get_mut();
                a.chime = chime;
                a.line = line.clone();
            }
            Entry::Occupied(_) => {}
        }
    }

    /// Raises the alarm of `line`'s incident as [`Alarms::raise`] does, without sounding:
    /// its first reminder comes its kind's interval after the alarms last sounded (an
    /// alarm that stood while the desk was away, found in a snapshot).
    pub fn raise_silently(&mut self, line: &TickerItem, chime: Chime, now: f64) {
        let last = self.last_sounded;
        self.raise(line, chime, now);
        self.last_sounded = last.or(Some(now));
    }

    /// The officer acknowledges `id`'s alarm; whether there was one.
    pub fn acknowledge(&mut self, id: IncidentId) -> bool {
        let had = self.open.remove(&id).is_some();
        if had {
            self.acknowledged.push(id);
        }
        had
    }

    /// The officer acknowledges every alarm; how many there were.
    pub fn acknowledge_all(&mut self) -> usize {
        let all = std::mem::take(&mut self.open);
        self.acknowledged.extend(all.keys());
        all.len()
    }

    /// The incidents whose alarms the officer acknowledged since last asked: to be
    /// recorded on the server, for every desk.
    pub fn take_acknowledged(&mut self) -> Vec<IncidentId> {
        std::mem::take(&mut self.acknowledged)
    }

    /// Keeps only the alarms `keep` says still stand (or that nobody acknowledged
    /// elsewhere); those let go are not the officer's acknowledgements.
    pub fn retain(&mut self, mut keep: impl FnMut(&Alarm) -> bool) {
        self.open.retain(|_, a| keep(a));
    }

    /// The chime to remind with at `now` (app seconds): the most urgent of the open
    /// alarms' that is `heard`, once its kind's interval has passed since the alarms last
    /// sounded.
    pub fn reminder(&mut self, now: f64, heard: impl Fn(Chime) -> bool) -> Option<Chime> {
        let top = self.open.values().map(|a| a.chime).filter(|c| heard(*c)).max()?;
        let every = top.remind_secs()?;
        let last = *self.last_sounded.get_or_insert(now);
        if now - last < every {
            return None;
        }
        self.last_sounded = Some(now);
        Some(top)
    }

    /// The alarms, most urgent first, then the longest waiting.
    pub fn ordered(&self) -> Vec<&Alarm> {
        let mut all: Vec<&Alarm> = self.open.values().collect();
        all.sort_by(|a, b| b.chime.cmp(&a.chime).then(a.raised.total_cmp(&b.raised)));
        all
    }

    /// The incident to go to first: the most urgent alarm, the longest waiting.
    pub fn next(&self) -> Option<IncidentId> {
        self.ordered().first().map(|a| a.line.incident)
    }

    /// Whether `id` has an alarm.
    pub fn contains(&self, id: IncidentId) -> bool {
        self.open.contains_key(&id)
    }

    /// How many are open.
    pub fn len(&self) -> usize {
        self.open.len()
    }

    /// Whether none is open.
    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::tests::incident;

    fn all(_: Chime) -> bool {
        true
    }

    fn line(kind: TickerKind, id: IncidentId) -> TickerItem {
        TickerItem::new(kind, &incident(id, IncidentState::Reported), 0)
    }

    #[test]
    fn overdue_and_urgent_raise_alarms_a_ping_does_not() {
        let mut a = Alarms::default();
        a.raise(&line(TickerKind::New, 1), Chime::New, 0.0);
        assert!(a.is_empty(), "a new incident's ping is not an alarm");
        assert_eq!(a.reminder(100.0, all), None);
        a.raise(&line(TickerKind::Overdue, 2), Chime::Overdue, 1.0);
        a.raise(&line(TickerKind::Escalated, 3), Chime::Urgent, 2.0);
        // The same matter again, less urgent: it stays urgent and keeps its line.
        a.raise(&line(TickerKind::Overdue, 3), Chime::Overdue, 3.0);
        assert_eq!(a.len(), 2);
        let order: Vec<(IncidentId, Chime, f64)> =
            a.ordered().iter().map(|x| (x.line.incident, x.chime, x.raised)).collect();
        assert_eq!(order, [(3, Chime::Urgent, 2.0), (2, Chime::Overdue, 1.0)], "most urgent first");
        assert_eq!(a.ordered()[0].line.kind, TickerKind::Escalated);
        let place = &a.ordered()[0].line.place;
        assert_eq!(a.ordered()[0].words("道路不洁"), format!("#3 吹哨 道路不洁 {place}"));
        assert_eq!(a.next(), Some(3));
        // Overdue, then urgent, on one matter: raised to urgent, first raised kept.
        a.raise(&line(TickerKind::Escalated, 2), Chime::Urgent, 4.0);
        assert_eq!(a.next(), Some(2), "now as urgent as #3 and waiting longer");
    }

    #[test]
    fn reminders_repeat_by_the_most_urgent_kind_until_acknowledged() {
        let mut a = Alarms::default();
        a.raise(&line(TickerKind::Overdue, 2), Chime::Overdue, 0.0);
        assert_eq!(a.reminder(59.0, all), None, "a minute for an overdue one");
        assert_eq!(a.reminder(60.0, all), Some(Chime::Overdue));
        assert_eq!(a.reminder(61.0, all), None, "and again a minute on");
        assert_eq!(a.reminder(120.0, all), Some(Chime::Overdue));
        // An urgent one: its chime sounds as it is raised, then every half minute.
        a.raise(&line(TickerKind::Escalated, 5), Chime::Urgent, 130.0);
        assert_eq!(a.reminder(159.0, all), None);
        assert_eq!(a.reminder(160.0, all), Some(Chime::Urgent));
        assert!(a.acknowledge(5));
        assert!(!a.acknowledge(5), "once");
        assert_eq!(a.take_acknowledged(), [5], "to be told the server, once");
        assert!(a.take_acknowledged().is_empty());
        assert_eq!(a.reminder(190.0, all), None, "the overdue one's minute again");
        a.raise(&line(TickerKind::Escalated, 5), Chime::Urgent, 190.0);
        let no_urgent = |c| c != Chime::Urgent;
        assert_eq!(a.reminder(250.0, no_urgent), Some(Chime::Overdue), "urgent not heard: the overdue one reminds");
        assert!(a.acknowledge(5));
        assert_eq!(a.reminder(309.0, all), None);
        assert_eq!(a.reminder(310.0, all), Some(Chime::Overdue));
        a.retain(|x| x.line.incident != 2);
        assert_eq!(a.reminder(1_000.0, all), None, "none left");
        a.raise(&line(TickerKind::Overdue, 7), Chime::Overdue, 1_000.0);
        a.raise(&line(TickerKind::Overdue, 8), Chime::Overdue, 1_001.0);
        assert!(a.contains(7) && a.contains(8));
        assert_eq!(a.acknowledge_all(), 2);
        assert_eq!(a.take_acknowledged(), [5, 7, 8], "the one before too; not #2, which ended by itself");
        assert_eq!(a.reminder(2_000.0, all), None);
    }

    #[test]
    fn an_alarm_stands_while_what_raised_it_does() {
        let alarm = |kind| Alarm { chime: Chime::Urgent, line: line(kind, 1), raised: 0.0 };
        let now = |state, overdue| Incident { overdue, ..incident(1, state) };
        use IncidentState::*;
        let new = alarm(TickerKind::New);
        assert!(new.stands(&now(Reported, false)));
        assert!(!new.stands(&now(Accepted, false)), "a serious new matter accepted");
        let up = alarm(TickerKind::Escalated);
        assert!(up.stands(&now(Escalated, false)));
        assert!(!up.stands(&now(Dispatched, false)), "taken up by the level above");
        let late = alarm(TickerKind::Overdue);
        assert!(late.stands(&now(Dispatched, true)));
        assert!(!late.stands(&now(InProgress, false)), "the overdue stage passed");
        assert!(!late.stands(&now(Closed, true)), "closed");
    }
}
