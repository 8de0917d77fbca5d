//! The commands in flight: every keyed command the client thread has written to a server
//! and has no answer for, or holds for a link that is down, across sessions and, through
//! the [`Outbox`], across runs. What to send again on reconnecting, and what to give up
//! (written too long ago, held too long, or sent to a server that cannot tell a resend
//! from a new command), is decided here; the client thread ([`super::client`]) does the
//! sending.

use std::time::Duration;

use onegrid_protocol::{ClientMsg, ErrorCode, ServerMsg};
use tokio::time::Instant;

use super::client::{HOLD_WITHIN, NetConfig, OVERLOAD_RETRIES, RESEND_WITHIN, request_id};
use super::outbox::{Entry, Outbox};
use super::{Fate, NetEvent, Outgoing};

/// A keyed command written to the server and not answered yet, or held for the link.
#[derive(Debug)]
pub(super) struct InFlight {
    req: String,
    msg: ClientMsg,
    /// What it does, in the desk's words (kept in the outbox for the next run).
    what: String,
    /// When it was asked for.
    first_sent: Since,
    /// The same, by the wall clock (which outlives the process).
    asked_at_ms: i64,
    /// Whether it was written to a server (else it was held while the link was down).
    written: bool,
    /// When it was first written: the resend window runs from here.
    written_at: Since,
    /// The same, by the wall clock, once written.
    written_at_ms: Option<i64>,
    /// The journal of the server it was written to: only that one knows its key.
    journal: Option<String>,
    /// Times it was refused as `overloaded` and sent again.
    retries: u32,
    /// When to send it again after such a refusal.
    retry_at: Option<Instant>,
}

/// The commands in flight, across sessions, and across runs where they are kept in an
/// [`Outbox`] too: it is rewritten whenever the set changes, and before a command is
/// written to a server, so that the file never says "not sent" of one that may have been.
#[derive(Debug, Default)]
pub(super) struct Flights {
    list: Vec<InFlight>,
    outbox: Option<Outbox>,
    /// A failure to write the outbox not yet said to the desk.
    problem: Option<String>,
    /// Whether a failure to write it was said (once is enough).
    said: bool,
}

/// A moment on this process's monotonic clock, or before what it can express: a command a
/// former run left may be older than the machine's uptime, and where the platform's clock
/// cannot go back past its origin (Linux's can; others' cannot), its age must not be lost.
#[derive(Debug, Clone, Copy)]
struct Since {
    at: Instant,
    /// How long before `at` the moment really was (zero unless `at` could not go back).
    before: Duration,
}

impl Since {
    fn now(now: Instant) -> Since {
        Since { at: now, before: Duration::ZERO }
    }

    /// The moment `wall_ms` (Unix milliseconds) as seen at `now`, when the wall clock
    /// reads `wall_now_ms`.
    fn from_wall(now: Instant, wall_now_ms: i64, wall_ms: i64) -> Since {
        let age = Duration::from_millis(u64::try_from(wall_now_ms - wall_ms).unwrap_or(0));
        match now.checked_sub(age) {
            Some(at) => Since::now(at),
            None => Since { at: now, before: age },
        }
    }

    /// How long ago it was, at `now`.
    fn age(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.at) + self.before
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

impl Flights {
    /// Keeps a command being written to the server of `journal`, if it carries a key
    /// (only those may be sent again).
    pub(super) fn sending(&mut self, out: &Outgoing, journal: Option<&str>) {
        if let ClientMsg::Command { key: Some(_), .. } = &out.msg {
            let mut f = InFlight::new(out, true);
            f.journal = journal.map(str::to_owned);
            self.list.push(f);
            self.persist();
        }
    }

    /// Holds a keyed command asked for while the link is down; false (not held) otherwise.
    pub(super) fn hold(&mut self, out: &Outgoing) -> bool {
        let ClientMsg::Command { key: Some(_), .. } = &out.msg else { return false };
        self.list.push(InFlight::new(out, false));
        self.persist();
        true
    }

    /// Takes up what a former run left in `outbox`, under request ids of this run; says
    /// each to the desk, so that it shows them pending. Those too old are then given up
    /// by [`Flights::expired`], like any other.
    pub(super) fn restore(&mut self, outbox: Outbox, entries: Vec<Entry>) -> Vec<NetEvent> {
        let (now, wall) = (Instant::now(), now_ms());
        let mut said = Vec::new();
        for (n, e) in entries.into_iter().enumerate() {
            let ClientMsg::Command { cmd, key: Some(key), .. } = e.msg else { continue };
            let req = format!("o{}", n + 1);
            let first_sent = Since::from_wall(now, wall, e.asked_at_ms);
            said.push(NetEvent::Restored {
                req: req.clone(),
                what: e.what.clone(),
                cmd: cmd.clone(),
                written: e.written,
                asked_ago: first_sent.age(now),
            });
            self.list.push(InFlight {
                req: req.clone(),
                msg: ClientMsg::Command { req, cmd, key: Some(key) },
                what: e.what,
                first_sent,
                asked_at_ms: e.asked_at_ms,
                written: e.written,
                written_at: e.written_at_ms.map_or(first_sent, |ms| Since::from_wall(now, wall, ms)),
                written_at_ms: e.written_at_ms,
                journal: e.journal,
                retries: 0,
                retry_at: None,
            });
        }
        self.outbox = Some(outbox);
        self.persist();
        said
    }

    /// Rewrites the outbox, if there is one; a failure is kept to be said once.
    pub(super) fn persist(&mut self) {
        let Some(outbox) = &self.outbox else { return };
        let entries: Vec<Entry> = self
            .list
            .iter()
            .map(|f| Entry {
                msg: f.msg.clone(),
                what: f.what.clone(),
                asked_at_ms: f.asked_at_ms,
                written: f.written,
                written_at_ms: f.written_at_ms,
                journal: f.journal.clone(),
            })
            .collect();
        if let Err(e) = outbox.save(&entries) {
            let path = outbox.path().display();
            tracing::error!("cannot write the outbox {path}: {e}; unanswered commands are kept in memory only");
            if !self.said {
                self.said = true;
                self.problem = Some(format!("无法写入 {path}（{e}）：未获确认的操作只保存在内存中"));
            }
        }
    }

    /// A failure to write the outbox, to be said to the desk once.
    pub(super) fn take_problem(&mut self) -> Option<NetEvent> {
        self.problem.take().map(|text| NetEvent::Notice { text, error: true })
    }

    /// Forgets a command the server answered; but one refused as `overloaded` (the
    /// server applied nothing) is kept to be sent again, a few times, and that refusal is
    /// not passed on (false).
    pub(super) fn answered(&mut self, msg: &ServerMsg, now: Instant) -> bool {
        let req = match msg {
            ServerMsg::Ack { req, .. } | ServerMsg::Error { req: Some(req), .. } => req,
            _ => return true,
        };
        let Some(i) = self.list.iter().position(|f| f.req == *req) else { return true };
        if let ServerMsg::Error { code: ErrorCode::Overloaded, .. } = msg
            && self.list[i].retries < OVERLOAD_RETRIES
        {
            let f = &mut self.list[i];
            f.retry_at = Some(now + retry_wait(f.retries, &f.req));
            f.retries += 1;
            return false;
        }
        self.list.remove(i);
        self.persist();
        true
    }

    /// When the next command refused as overloaded is due to be sent again.
    pub(super) fn next_retry(&self) -> Option<Instant> {
        self.list.iter().filter_map(|f| f.retry_at).min()
    }

    /// The commands due to be sent again at `now`, taken off their wait.
    pub(super) fn due(&mut self, now: Instant) -> Vec<(String, ClientMsg)> {
        let mut out = Vec::new();
        for f in &mut self.list {
            if f.retry_at.is_some_and(|t| t <= now) {
                f.retry_at = None;
                out.push((f.req.clone(), f.msg.clone()));
            }
        }
        out
    }

    /// Takes out the commands that match `which`, as the event that says what became of
    /// each: unconfirmed if it was written, undelivered if it was only held.
    fn give_up(&mut self, which: impl Fn(&InFlight) -> bool) -> Vec<NetEvent> {
        let (out, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.list).into_iter().partition(which);
        self.list = kept;
        if !out.is_empty() {
            self.persist();
        }
        out.into_iter().map(InFlight::given_up).collect()
    }

    /// Takes out the commands written longer than [`RESEND_WITHIN`] ago (an order may be
    /// stale by then, and the server's memory of keys is finite), and the reports held
    /// longer than [`HOLD_WITHIN`].
    pub(super) fn expired(&mut self, now: Instant) -> Vec<NetEvent> {
        self.give_up(|f| {
            if f.written { f.written_at.age(now) > RESEND_WITHIN } else { f.first_sent.age(now) > HOLD_WITHIN }
        })
    }

    /// Takes out the commands already written (to a server that cannot take them again).
    pub(super) fn written(&mut self) -> Vec<NetEvent> {
        self.give_up(|f| f.written)
    }

    /// On a new session with the server of `journal` (which honours idempotency keys if
    /// `keeps_keys`): gives up what cannot be sent there — what is too old, and what was
    /// written to a server that cannot tell a resend from a new command (one without keys,
    /// or another journal) — and marks the rest written to this one, held reports dated,
    /// in the outbox before the first byte goes out (a write that fails may still reach
    /// the server). Returns the events for what was given up, and what to send, in order,
    /// with what to tell the desk of each.
    pub(super) fn reconnected(
        &mut self,
        keeps_keys: bool,
        journal: &str,
        now: Instant,
    ) -> (Vec<NetEvent>, Vec<(String, ClientMsg, Fate)>) {
        let mut given_up = self.expired(now);
        if !keeps_keys && self.list.iter().any(|f| f.written) {
            tracing::warn!("this server does not honour idempotency keys; commands left unanswered are not sent again");
            given_up.extend(self.written());
        }
        if self.list.iter().any(|f| f.written && f.journal.as_deref() != Some(journal)) {
            tracing::warn!(%journal, "another server than the one commands were sent to; they are not sent again");
            given_up.extend(self.elsewhere(journal));
        }
        let mut to_send = Vec::new();
        for f in &mut self.list {
            let fate = if f.written { Fate::Resent } else { Fate::Sent };
            if !f.written {
                f.date_held_report(now);
                f.written_at = Since::now(now);
                f.written_at_ms = Some(now_ms());
            }
            f.written = true;
            f.journal = Some(journal.to_owned());
            f.retry_at = None;
            to_send.push((f.req.clone(), f.msg.clone(), fate));
        }
        if !to_send.is_empty() {
            self.persist();
        }
        given_up.extend(self.take_problem());
        (given_up, to_send)
    }

    /// Takes out the commands written to another server than the one of `journal`: it
    /// does not know their keys, so sending them again could apply them twice.
    pub(super) fn elsewhere(&mut self, journal: &str) -> Vec<NetEvent> {
        self.give_up(|f| f.written && f.journal.as_deref() != Some(journal))
    }
}

/// The wait before sending a command refused as overloaded again, the `retries`-th time:
/// 250 ms doubling, times a factor in [0.5, 1.5) drawn afresh for each.
fn retry_wait(retries: u32, req: &str) -> Duration {
    use std::hash::BuildHasher;
    let draw = std::collections::hash_map::RandomState::new().hash_one((req, retries));
    let jitter = 0.5 + (draw % 1000) as f64 / 1000.0;
    Duration::from_millis(250u64 << retries.min(8)).mul_f64(jitter)
}

impl InFlight {
    fn new(out: &Outgoing, written: bool) -> InFlight {
        let (now, wall) = (Instant::now(), now_ms());
        InFlight {
            req: request_id(&out.msg).unwrap_or_default(),
            msg: out.msg.clone(),
            what: out.what.clone(),
            first_sent: Since::now(now),
            asked_at_ms: wall,
            written,
            written_at: Since::now(now),
            written_at_ms: written.then_some(wall),
            journal: None,
            retries: 0,
            retry_at: None,
        }
    }

    /// A held report, about to be written for the first time, says how long it was held,
    /// so the server dates it when it was taken. Set once: every later sending is the same
    /// command under the same key.
    fn date_held_report(&mut self, now: Instant) {
        if let ClientMsg::Command { cmd: onegrid_protocol::Command::Report(r), .. } = &mut self.msg {
            let held = self.first_sent.age(now).as_millis();
            r.held_ms = held.min(u128::from(onegrid_protocol::validate::MAX_HELD_MS)) as u32;
        }
    }

    fn given_up(self) -> NetEvent {
        if self.written {
            NetEvent::Fate { req: self.req, fate: Fate::Unconfirmed }
        } else {
            NetEvent::Undelivered { req: self.req }
        }
    }
}

/// Opens the outbox, if the console keeps one, and takes up what a former run left in it:
/// the events that tell the desk (what was restored, what was too old to send, and any
/// trouble with the file).
pub(super) fn open_outbox(config: &NetConfig, flights: &mut Flights) -> Vec<NetEvent> {
    let Some(dir) = &config.outbox else { return Vec::new() };
    let mut said = Vec::new();
    match Outbox::open(dir, &config.token) {
        Ok(opened) => {
            if let Some(aside) = opened.set_aside {
                tracing::error!("{}", aside.log_line());
                said.push(NetEvent::Notice { text: aside.words(), error: true });
            }
            if !opened.entries.is_empty() {
                tracing::info!(commands = opened.entries.len(), "taking up unanswered commands a former run left");
            }
            said.push(NetEvent::Outbox(opened.outbox.path().to_owned()));
            said.extend(flights.restore(opened.outbox, opened.entries));
            said.extend(flights.expired(Instant::now()));
            said.extend(flights.take_problem());
        }
        Err(e) => {
            tracing::warn!("{e}");
            let error = !matches!(e, super::outbox::OutboxError::Busy(_));
            said.push(NetEvent::Notice { text: e.words(), error });
        }
    }
    said
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(msg: ClientMsg) -> Outgoing {
        Outgoing { msg, what: "受理 #1".into(), may_wait: true }
    }

    #[test]
    fn only_keyed_commands_are_kept_until_answered_and_old_ones_expire() {
        let cmd = |req: &str, key: Option<&str>| ClientMsg::Command {
            req: req.into(),
            cmd: onegrid_protocol::Command::Accept(onegrid_protocol::Act {
                incident: 1,
                note: String::new(),
                unit: None,
            }),
            key: key.map(str::to_owned),
        };
        let mut f = Flights::default();
        f.sending(&out(cmd("a", Some("k1"))), Some("j1"));
        f.sending(&out(cmd("b", None)), Some("j1"));
        f.sending(&out(cmd("c", Some("k2"))), Some("j1"));
        f.sending(&out(ClientMsg::Ping { t: 0 }), Some("j1"));
        assert_eq!(f.list.iter().map(|x| x.req.as_str()).collect::<Vec<_>>(), ["a", "c"], "keyed commands only");
        let now = Instant::now();
        f.answered(&ServerMsg::Ack { req: "a".into(), seq: None, incident: None, repeated: false }, now);
        let cameras = onegrid_protocol::QueryResult::Cameras { cameras: vec![] };
        f.answered(&ServerMsg::Result { req: "c".into(), result: cameras }, now);
        assert_eq!(f.list.len(), 1, "an ack answers; a query's result does not answer a command");
        f.answered(&ServerMsg::error(Some("c".into()), ErrorCode::IllegalTransition, "no"), now);
        assert!(f.list.is_empty(), "a refusal answers too");

        f.sending(&out(cmd("d", Some("k3"))), Some("j1"));
        assert!(!f.hold(&out(cmd("e", None))), "only a keyed command is held");
        assert!(f.hold(&out(cmd("e", Some("k4")))));
        assert!(f.expired(Instant::now()).is_empty());
        let later = Instant::now() + RESEND_WITHIN + Duration::from_secs(1);
        let fates: Vec<String> = f.expired(later).iter().map(|e| format!("{e:?}")).collect();
        assert_eq!(fates, [r#"Fate { req: "d", fate: Unconfirmed }"#], "written, of unknown outcome");
        assert_eq!(f.list.len(), 1, "the held one waits on");
        assert!(f.expired(Instant::now() + HOLD_WITHIN - Duration::from_secs(1)).is_empty());
        let fates: Vec<String> =
            f.expired(Instant::now() + HOLD_WITHIN + Duration::from_secs(1)).iter().map(|e| format!("{e:?}")).collect();
        assert_eq!(fates, [r#"Undelivered { req: "e" }"#], "held a day: known not sent, handed back");
        assert!(f.list.is_empty());

        f.sending(&out(cmd("f", Some("k5"))), Some("j1"));
        assert!(f.hold(&out(cmd("g", Some("k6")))));
        let written: Vec<String> = f.written().iter().map(|e| format!("{e:?}")).collect();
        assert_eq!(written, [r#"Fate { req: "f", fate: Unconfirmed }"#], "the held one stays, to be sent");
        assert_eq!(f.list.len(), 1);
    }

    #[test]
    fn what_a_former_run_left_is_taken_up_under_new_ids_and_old_or_foreign_work_is_given_up() {
        let dir = tempfile::tempdir().expect("tempdir");
        let report = crate::testing::hotline_report();
        // Asked for `age_s` ago, and written `written_s` ago if at all.
        let entry = |req: &str, age_s: i64, written_s: Option<i64>, journal: Option<&str>| Entry {
            msg: ClientMsg::Command {
                req: req.into(),
                cmd: onegrid_protocol::Command::Report(report.clone()),
                key: Some(format!("key-{req}")),
            },
            what: format!("登记 {req}"),
            asked_at_ms: now_ms() - age_s * 1000,
            written: written_s.is_some(),
            written_at_ms: written_s.map(|s| now_ms() - s * 1000),
            journal: journal.map(str::to_owned),
        };
        let left = vec![
            entry("c7", 30, None, None),
            entry("c3", 200, Some(200), Some("j1")),
            entry("c9", 10, Some(10), Some("j1")),
            entry("c4", 10, Some(10), Some("j2")),
            entry("c5", 3 * 3600, None, None),
            entry("c6", 25 * 3600, None, None),
            entry("c8", 3 * 3600, Some(10), Some("j1")),
        ];
        let opened = Outbox::open(dir.path(), "t").expect("open");
        opened.outbox.save(&left).expect("save");
        let mut f = Flights::default();
        let said: Vec<String> = f.restore(opened.outbox, left).iter().map(|e| format!("{e:?}")).collect();
        assert_eq!(said.len(), 7);
        assert!(
            said[0].starts_with(r#"Restored { req: "o1", what: "登记 c7""#)
                && said[0].contains("written: false, asked_ago: 30"),
            "{}",
            said[0]
        );
        assert!(
            said[1].starts_with(r#"Restored { req: "o2", what: "登记 c3""#)
                && said[1].contains("written: true, asked_ago: 200"),
            "{}",
            said[1]
        );
        assert!(
            matches!(&f.list[0].msg, ClientMsg::Command { req, key: Some(k), .. } if req == "o1" && k == "key-c7"),
            "a new request id, the same key"
        );
        // Its age counts from when it was asked for, in the former run.
        f.list[0].date_held_report(Instant::now());
        let ClientMsg::Command { cmd: onegrid_protocol::Command::Report(r), .. } = &f.list[0].msg else { panic!() };
        assert!((30_000..31_000).contains(&r.held_ms), "held {} ms", r.held_ms);

        let old: Vec<String> = f.expired(Instant::now()).iter().map(|e| format!("{e:?}")).collect();
        assert_eq!(
            old,
            [r#"Fate { req: "o2", fate: Unconfirmed }"#, r#"Undelivered { req: "o6" }"#],
            "written more than two minutes ago; held more than a day"
        );
        let foreign: Vec<String> = f.elsewhere("j1").iter().map(|e| format!("{e:?}")).collect();
        assert_eq!(foreign, [r#"Fate { req: "o4", fate: Unconfirmed }"#], "sent to another journal than j1's");
        let kept = Outbox::open(dir.path(), "t");
        assert!(kept.is_err(), "the lock is held while the flights have the outbox");
        drop(f);
        let kept = super::super::outbox::open_again(dir.path(), "t");
        let reqs: Vec<_> = kept.entries.iter().map(|e| e.what.as_str()).collect();
        assert_eq!(reqs, ["登记 c7", "登记 c9", "登记 c5", "登记 c8"], "the file follows the flights");
        let stamps: Vec<_> = kept.entries.iter().map(|e| e.written_at_ms.is_some()).collect();
        assert_eq!(stamps, [false, true, false, true], "when each was written is kept");
    }

    #[test]
    fn a_console_that_cannot_keep_an_outbox_says_so_and_runs_on() {
        let file = tempfile::NamedTempFile::new().expect("file");
        let config = NetConfig {
            url: "ws://127.0.0.1:9".into(),
            token: "t".into(),
            outbox: Some(file.path().join("outbox")),
            maps: None,
        };
        let mut f = Flights::default();
        let said: Vec<String> = open_outbox(&config, &mut f).iter().map(|e| format!("{e:?}")).collect();
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(said[0].starts_with("Notice { text: \"无法在 ") && said[0].ends_with("error: true }"), "{said:?}");
        assert!(f.outbox.is_none());
        f.sending(
            &out(ClientMsg::Command {
                req: "a".into(),
                cmd: onegrid_protocol::Command::Accept(onegrid_protocol::Act {
                    incident: 1,
                    note: String::new(),
                    unit: None,
                }),
                key: Some("k".into()),
            }),
            None,
        );
        assert_eq!(f.list.len(), 1, "kept in memory all the same");
        assert!(f.take_problem().is_none(), "nothing more to say");
    }

    #[test]
    fn an_outbox_that_cannot_be_written_any_more_is_said_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let folder = dir.path().join("outbox");
        let config =
            NetConfig { url: "ws://127.0.0.1:9".into(), token: "t".into(), outbox: Some(folder.clone()), maps: None };
        let mut f = Flights::default();
        open_outbox(&config, &mut f);
        assert!(f.outbox.is_some());
        std::fs::remove_dir_all(&folder).expect("the folder taken away");
        let accept = |req: &str| ClientMsg::Command {
            req: req.into(),
            cmd: onegrid_protocol::Command::Accept(onegrid_protocol::Act {
                incident: 1,
                note: String::new(),
                unit: None,
            }),
            key: Some(req.into()),
        };
        f.sending(&out(accept("a")), None);
        let said = format!("{:?}", f.take_problem());
        assert!(said.contains("无法写入") && said.contains("error: true"), "{said}");
        f.sending(&out(accept("b")), None);
        assert!(f.take_problem().is_none(), "said once");
        assert_eq!(f.list.len(), 2, "kept in memory");
    }

    #[test]
    fn on_reconnecting_what_the_server_can_tell_apart_is_sent_and_the_rest_given_up() {
        let accept = |req: &str| ClientMsg::Command {
            req: req.into(),
            cmd: onegrid_protocol::Command::Accept(onegrid_protocol::Act {
                incident: 1,
                note: String::new(),
                unit: None,
            }),
            key: Some(req.into()),
        };
        let report = ClientMsg::Command {
            req: "held".into(),
            cmd: onegrid_protocol::Command::Report(crate::testing::hotline_report()),
            key: Some("held".into()),
        };
        let fill = |f: &mut Flights| {
            f.sending(&out(accept("to-j1")), Some("j1"));
            f.sending(&out(accept("to-j2")), Some("j2"));
            assert!(f.hold(&out(report.clone())));
        };
        let said = |events: Vec<NetEvent>| events.iter().map(|e| format!("{e:?}")).collect::<Vec<_>>();
        let sent =
            |list: &[(String, ClientMsg, Fate)]| list.iter().map(|(r, _, fate)| (r.clone(), *fate)).collect::<Vec<_>>();

        // Back on j1's server: its command goes again, the one sent to j2 is given up, the
        // held report goes for the first time, dated and marked written to j1.
        let mut f = Flights::default();
        fill(&mut f);
        let (given_up, to_send) = f.reconnected(true, "j1", Instant::now());
        assert_eq!(said(given_up), [r#"Fate { req: "to-j2", fate: Unconfirmed }"#]);
        assert_eq!(sent(&to_send), [("to-j1".to_owned(), Fate::Resent), ("held".to_owned(), Fate::Sent)]);
        assert!(f.list.iter().all(|x| x.written && x.journal.as_deref() == Some("j1")));
        let ClientMsg::Command { cmd: onegrid_protocol::Command::Report(r), .. } = &to_send[1].1 else { panic!() };
        assert!(r.held_ms < 1000, "held a moment: {} ms", r.held_ms);

        // A server without keys: nothing written goes again; the held report does.
        let mut f = Flights::default();
        fill(&mut f);
        let (given_up, to_send) = f.reconnected(false, "j1", Instant::now());
        assert_eq!(given_up.len(), 2);
        assert_eq!(sent(&to_send), [("held".to_owned(), Fate::Sent)]);

        // Past the resend window, what was written is given up; the held report goes, dated
        // as held that long.
        let mut f = Flights::default();
        fill(&mut f);
        let (given_up, to_send) = f.reconnected(true, "j1", Instant::now() + RESEND_WITHIN + Duration::from_secs(1));
        assert_eq!(given_up.len(), 2);
        assert_eq!(sent(&to_send), [("held".to_owned(), Fate::Sent)]);
        let ClientMsg::Command { cmd: onegrid_protocol::Command::Report(r), .. } = &to_send[0].1 else { panic!() };
        assert!((121_000..122_000).contains(&r.held_ms), "held {} ms", r.held_ms);
        // Written now: its resend window starts now, not when it was taken.
        assert!(f.expired(Instant::now() + RESEND_WITHIN * 2 - Duration::from_secs(2)).is_empty());
        assert_eq!(f.expired(Instant::now() + RESEND_WITHIN * 2 + Duration::from_secs(2)).len(), 1);

        // Past a day, the held report is given up too.
        let mut f = Flights::default();
        fill(&mut f);
        let (given_up, to_send) = f.reconnected(true, "j1", Instant::now() + HOLD_WITHIN + Duration::from_secs(1));
        assert_eq!(given_up.len(), 3);
        assert!(to_send.is_empty() && f.list.is_empty());
    }

    #[test]
    fn ages_from_a_former_run_survive_a_reboot_of_the_machine() {
        // A report held 20 hours ago, on a machine that booted since: its age must not read
        // as zero, whether the clock can go back that far (Linux) or not.
        let now = Instant::now();
        let wall = now_ms();
        let s = Since::from_wall(now, wall, wall - 20 * 3_600_000);
        assert_eq!(s.age(now + Duration::from_secs(5)), Duration::from_secs(20 * 3600 + 5));
        // Within the clock's reach it is a plain instant.
        let recent = Since::from_wall(now, wall, wall - 30_000);
        assert_eq!(recent.age(now), Duration::from_secs(30));
        // What goes past the origin, whatever this machine's uptime: the part before it is kept.
        let beyond = Since { at: now, before: Duration::from_secs(25 * 3600) };
        assert!(beyond.age(now) > HOLD_WITHIN, "given up, not taken for fresh");
    }

    #[test]
    fn a_command_refused_as_overloaded_is_sent_again_a_few_times() {
        let cmd = ClientMsg::Command {
            req: "r".into(),
            cmd: onegrid_protocol::Command::Accept(onegrid_protocol::Act {
                incident: 1,
                note: String::new(),
                unit: None,
            }),
            key: Some("k".into()),
        };
        let busy = ServerMsg::error(Some("r".into()), ErrorCode::Overloaded, "the journal queue is full");
        let mut f = Flights::default();
        f.sending(&out(cmd), Some("j1"));
        let t0 = Instant::now();
        for n in 0..OVERLOAD_RETRIES {
            assert!(!f.answered(&busy, t0), "kept, not passed on");
            let at = f.next_retry().expect("a retry is due");
            let (wait, base) = (at.duration_since(t0).as_secs_f64(), 0.25 * f64::from(1 << n));
            assert!(wait >= base * 0.5 && wait < base * 1.5, "retry {n}: {wait} s, about {base} s");
            assert!(f.due(at - Duration::from_millis(1)).is_empty(), "not before its time");
            assert_eq!(f.due(at).len(), 1);
            assert!(f.next_retry().is_none());
        }
        assert!(f.answered(&busy, t0), "the last refusal is passed on");
        assert!(f.list.is_empty());
    }
}
