//! The chimes' tones, which line calls for which, the gate, and real GStreamer pipelines
//! writing the chimes to WAV files, alone and driven by a headless console's ticker.

use std::path::Path;
use std::time::{Duration, Instant};

use bevy::time::TimeUpdateStrategy;
use onegrid_protocol::{Change, IncidentState, ServerMsg};

use super::*;
use crate::live::Selection;
use crate::live::tests::{incident, send, snapshot};

/// Zero crossings upward in `s`, as a frequency.
fn pitch(s: &[i16]) -> f32 {
    let ups = s.windows(2).filter(|w| w[0] < 0 && w[1] >= 0).count();
    ups as f32 * RATE as f32 / s.len() as f32
}

#[test]
fn chimes_are_their_tones_with_soft_edges() {
    for c in Chime::ALL {
        let s = c.samples();
        let notes = c.notes();
        let secs: f32 = notes.iter().map(|n| n.secs + n.gap).sum();
        assert!((s.len() as f32 - secs * RATE as f32).abs() <= notes.len() as f32 * 2.0, "{c:?} lasts its notes");
        let peak = s.iter().map(|v| v.unsigned_abs()).max().unwrap_or(0);
        assert!(f32::from(peak) <= c.peak() * 32_767.0 + 1.0, "{c:?} within its loudness");
        assert!(f32::from(peak) >= c.peak() * 32_767.0 * 0.5, "{c:?} is heard");
        // Each tone: its pitch, and no click at either end.
        let mut at = 0;
        for n in notes {
            let len = (n.secs * RATE as f32) as usize;
            let tone = &s[at..at + len];
            assert!(
                tone[0].unsigned_abs() < 200 && tone[len - 1].unsigned_abs() < 400,
                "{c:?} {n:?} starts and ends soft"
            );
            let mid = &tone[len / 4..len * 3 / 4];
            let f = pitch(mid);
            assert!((f - n.hz).abs() / n.hz < 0.03, "{c:?}: heard {f} Hz for {} Hz", n.hz);
            at += len + (n.gap * RATE as f32) as usize;
        }
    }
    assert!(Chime::Urgent.samples().len() > Chime::New.samples().len() * 2, "the urgent one is the longest");
}

fn line(kind: TickerKind, severity: u8) -> TickerItem {
    let mut i = incident(1, IncidentState::Reported);
    i.severity = severity;
    TickerItem::new(kind, &i, 0)
}

#[test]
fn each_line_calls_for_its_chime_at_the_desk_and_only_major_ones_on_the_wall() {
    use TickerKind::*;
    let desk = |k, sev, shown| Chime::for_line(&line(k, sev), Mode::Desk, shown);
    assert_eq!(desk(New, 1, true), Some(Chime::New));
    assert_eq!(desk(New, 3, true), Some(Chime::Urgent), "a serious new one is urgent");
    assert_eq!(desk(Escalated, 1, true), Some(Chime::Urgent));
    assert_eq!(desk(Overdue, 2, true), Some(Chime::Overdue));
    assert_eq!(desk(Closed, 4, true), None, "closing is not an alarm");
    assert_eq!(desk(Escalated, 4, false), None, "outside the desk's filter");
    let wall = |k, sev| Chime::for_line(&line(k, sev), Mode::Wall, false);
    assert_eq!(wall(New, 2), None, "the wall does not ping for routine matters");
    assert_eq!(wall(New, 3), Some(Chime::Urgent));
    assert_eq!(wall(Overdue, 1), Some(Chime::Overdue));
    assert_eq!(wall(Escalated, 1), Some(Chime::Urgent));
}

#[test]
fn the_gate_sounds_one_at_a_time_each_kind_by_its_gap_and_holds_back_the_urgent() {
    let mut g = Gate::default();
    assert_eq!(g.admit([], 0.0), None);
    assert_eq!(g.admit([Chime::New, Chime::New], 0.0), Some(Chime::New), "a burst is one ping");
    // While it sounds: an urgent one waits, a routine one is dropped.
    assert_eq!(g.admit([Chime::Urgent, Chime::New], 0.5), None);
    assert_eq!(g.waiting(), Some(Chime::Urgent));
    assert_eq!(g.admit([], 1.0), None, "still sounding");
    assert_eq!(g.admit([], 1.6), Some(Chime::Urgent), "then it sounds");
    assert_eq!(g.waiting(), None);
    // New pings again only after its gap.
    assert_eq!(g.admit([Chime::New], 5.0), None, "ten seconds between pings");
    assert_eq!(g.admit([Chime::New], 10.1), Some(Chime::New));
    // Urgent after its own three seconds; overdue waits behind it and keeps its gap.
    assert_eq!(g.admit([Chime::Urgent], 4.0), None, "within the urgent gap (1.6 + 3)");
    assert_eq!(g.admit([Chime::Urgent, Chime::Overdue], 12.0), Some(Chime::Urgent), "the most urgent first");
    assert_eq!(g.admit([], 13.6), None, "the overdue one, called with it, is not held (it was not waiting)");
    assert_eq!(g.admit([Chime::Overdue], 14.0), Some(Chime::Overdue));
    assert_eq!(g.admit([], 15.0), None);
    g.admit([Chime::Overdue], 15.2);
    assert_eq!(g.waiting(), Some(Chime::Overdue));
    g.clear();
    assert_eq!(g.admit([], 20.0), None, "muting forgets what waited");
}

/// A WAV file's format (rate, channels, bits) and samples.
fn read_wav(path: &Path) -> (u32, u16, u16, Vec<i16>) {
    let b = std::fs::read(path).expect("a wav file");
    assert_eq!((&b[0..4], &b[8..12]), (&b"RIFF"[..], &b"WAVE"[..]), "{}", path.display());
    let (mut at, mut fmt, mut data) = (12, None, None);
    while at + 8 <= b.len() {
        let id = &b[at..at + 4];
        let len = u32::from_le_bytes(b[at + 4..at + 8].try_into().expect("4 bytes")) as usize;
        let body = &b[at + 8..(at + 8 + len).min(b.len())];
        match id {
            b"fmt " => fmt = Some(body.to_vec()),
            b"data" => data = Some(body.to_vec()),
            _ => {}
        }
        at += 8 + len + len % 2;
    }
    let f = fmt.expect("a fmt chunk");
    let u16_at = |i: usize| u16::from_le_bytes([f[i], f[i + 1]]);
    let rate = u32::from_le_bytes(f[4..8].try_into().expect("4 bytes"));
    let samples = data.expect("a data chunk").chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]])).collect();
    (rate, u16_at(2), u16_at(14), samples)
}

fn wait_played(p: &Player, n: u64) {
    let t = Instant::now();
    while p.played() < n {
        assert!(t.elapsed() < Duration::from_secs(30), "played {} of {n}: {:?}", p.played(), p.state());
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wavs(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn gstreamer_plays_each_chime_sample_for_sample() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("chimes");
    let p = Player::start(Output::Record(out.clone()));
    p.play(Chime::Urgent);
    p.play(Chime::New);
    wait_played(&p, 2);
    assert_eq!(p.state(), SoundState::Ready(out.display().to_string()));
    drop(p);
    assert_eq!(wavs(&out), ["0001-urgent.wav", "0002-new.wav"]);
    for (name, c) in [("0001-urgent.wav", Chime::Urgent), ("0002-new.wav", Chime::New)] {
        let (rate, channels, bits, samples) = read_wav(&out.join(name));
        assert_eq!((rate, channels, bits), (RATE, 1, 16));
        assert_eq!(samples, c.samples(), "{name} is the chime, sample for sample");
    }
}

#[test]
fn a_sink_that_is_not_there_or_no_device_is_said_in_words() {
    let p = Player::start(Output::Sink("nosuchsink".into()));
    let t = Instant::now();
    while p.state() == SoundState::Starting && t.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let SoundState::Failed(why) = p.state() else { panic!("{:?}", p.state()) };
    assert!(why.contains("nosuchsink"), "{why}");
    let s = Sound::with_player(Some(p), false);
    let (label, tip, on) = s.words();
    assert!(label.contains("不可用") && tip.contains("nosuchsink") && !on, "{label} {tip}");

    // A sink that plays into nothing: chimes go on (and are counted) but it says so.
    let p = Player::start(Output::Sink("fakesink".into()));
    p.play(Chime::New);
    wait_played(&p, 1);
    assert_eq!(p.state(), SoundState::NoDevice);
    let mut s = Sound::with_player(Some(p), false);
    assert!(s.words().0.contains("无音频设备"));
    s.muted = true;
    assert!(!s.words().2, "muted");
}

/// A headless console (live layers and sounds) writing its chimes to `dir`.
fn console(dir: &Path, mode: Mode, filter: crate::ui::queue::QueueFilter) -> App {
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .add_plugins((crate::live::LivePlugin, SoundPlugin))
        .insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_millis(100)))
        .insert_resource(mode)
        .insert_resource(UiState { filter, ..UiState::default() })
        .insert_resource(Sound::new(Output::Record(dir.to_path_buf()), false));
    app
}

fn delta(seq: u64, changes: Vec<(&str, onegrid_protocol::Incident)>) -> ServerMsg {
    let changes =
        changes.into_iter().map(|(e, i)| Change::Incident { event: e.into(), incident: Box::new(i) }).collect();
    ServerMsg::Delta { seq, at: 2_000 + seq as i64, changes }
}

fn on_street(id: u64, street: &str, severity: u8) -> onegrid_protocol::Incident {
    let mut i = incident(id, IncidentState::Reported);
    i.placement.street = street.into();
    i.severity = severity;
    i
}

fn played(app: &App) -> u64 {
    app.world().resource::<Sound>().player().map_or(0, Player::played)
}

#[test]
fn the_desk_chimes_for_its_own_new_and_escalated_incidents_but_not_for_a_snapshot() {
    let dir = tempfile::tempdir().expect("tmp");
    let filter = crate::ui::queue::QueueFilter { street: Some("350203001".into()), ..Default::default() };
    let mut app = console(dir.path(), Mode::Desk, filter);
    // A (re)connect's snapshot holds incidents already known: no chime.
    send(&mut app, snapshot(5, vec![on_street(1, "350203001", 4)], vec![]));
    // Another street's new incident: not this desk's.
    send(&mut app, delta(6, vec![("reported", on_street(2, "350203009", 2))]));
    // This street's: a ping; and, while it sounds, escalated: held back, then sounded.
    send(&mut app, delta(7, vec![("reported", on_street(3, "350203001", 1))]));
    send(&mut app, delta(8, vec![("escalated", on_street(3, "350203001", 1))]));
    for _ in 0..20 {
        app.update();
    }
    let player = app.world().resource::<Sound>().player().expect("a player");
    wait_played(player, 2);
    app.world_mut().resource_mut::<Sound>().muted = true;
    send(&mut app, delta(9, vec![("escalated", on_street(1, "350203001", 4))]));
    for _ in 0..40 {
        app.update();
    }
    assert_eq!(played(&app), 2, "muted: nothing more");
    drop(app);
    assert_eq!(wavs(dir.path()), ["0001-new.wav", "0002-urgent.wav"]);
}

#[test]
fn the_wall_chimes_only_for_what_it_follows() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut app = console(dir.path(), Mode::Wall, Default::default());
    send(&mut app, snapshot(5, vec![], vec![]));
    send(&mut app, delta(6, vec![("reported", on_street(2, "x", 1))]));
    for _ in 0..30 {
        app.update();
    }
    send(&mut app, delta(7, vec![("overdue", on_street(2, "x", 1))]));
    for _ in 0..5 {
        app.update();
    }
    let player = app.world().resource::<Sound>().player().expect("a player");
    wait_played(player, 1);
    drop(app);
    assert_eq!(wavs(dir.path()), ["0001-overdue.wav"]);
}

/// Runs `app` for `secs` of its time, a tenth of a second a frame.
fn run_for(app: &mut App, secs: u32) {
    for _ in 0..secs * 10 {
        app.update();
    }
}

fn alarms(app: &App) -> Vec<onegrid_protocol::IncidentId> {
    app.world().resource::<Sound>().alarms.ordered().iter().map(|a| a.line.incident).collect()
}

/// `id` on street "s", overdue.
fn late(id: onegrid_protocol::IncidentId) -> onegrid_protocol::Incident {
    onegrid_protocol::Incident { overdue: true, ..on_street(id, "s", 1) }
}

/// `id` on street "s", escalated (吹哨).
fn whistled(id: onegrid_protocol::IncidentId) -> onegrid_protocol::Incident {
    onegrid_protocol::Incident { state: IncidentState::Escalated, ..on_street(id, "s", 1) }
}

#[test]
fn the_desk_reminds_of_an_alarm_until_it_is_acknowledged_or_no_longer_stands() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut app = console(dir.path(), Mode::Desk, Default::default());
    send(&mut app, snapshot(5, vec![], vec![]));
    // Overdue: its chime, then after a minute unacknowledged, again.
    send(&mut app, delta(6, vec![("overdue", late(2))]));
    run_for(&mut app, 2);
    assert_eq!(alarms(&app), [2]);
    wait_played(app.world().resource::<Sound>().player().expect("a player"), 1);
    run_for(&mut app, 55);
    assert_eq!(played(&app), 1, "no reminder within the minute");
    run_for(&mut app, 5);
    wait_played(app.world().resource::<Sound>().player().expect("a player"), 2);
    // Selecting it acknowledges it: no more reminders.
    app.world_mut().resource_mut::<Selection>().incident = Some(2);
    app.update();
    assert!(alarms(&app).is_empty(), "acknowledged by selecting it");
    run_for(&mut app, 130);
    // Three at once: one chime, the most urgent; then each ends as what raised it passes.
    send(&mut app, delta(10, vec![("overdue", late(4)), ("escalated", whistled(6)), ("escalated", whistled(8))]));
    app.update();
    assert_eq!(alarms(&app), [6, 8, 4], "the urgent ones first");
    let closed = onegrid_protocol::Incident { state: IncidentState::Closed, ..late(4) };
    send(&mut app, delta(11, vec![("closed", closed)]));
    let taken_up = onegrid_protocol::Incident { state: IncidentState::Dispatched, ..on_street(8, "s", 1) };
    send(&mut app, delta(12, vec![("dispatched", taken_up)]));
    app.update();
    assert_eq!(alarms(&app), [6], "a closed matter's alarm ends, and one taken up by the level above");
    // Muted: the alarm stays, silent; unmuted, it reminds at once (its half minute is past).
    app.world_mut().resource_mut::<Sound>().muted = true;
    run_for(&mut app, 40);
    assert_eq!(alarms(&app), [6], "muting silences the alarm, it does not acknowledge it");
    app.world_mut().resource_mut::<Sound>().muted = false;
    app.update();
    // Another street in the queue's filter: not this desk's matter any more.
    app.world_mut().resource_mut::<UiState>().filter.street = Some("other".into());
    app.update();
    assert!(alarms(&app).is_empty(), "filtered out of the queue");
    run_for(&mut app, 40);
    drop(app);
    assert_eq!(wavs(dir.path()), ["0001-overdue.wav", "0002-overdue.wav", "0003-urgent.wav", "0004-urgent.wav"]);
}

#[test]
fn the_wall_raises_no_alarm() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut app = console(dir.path(), Mode::Wall, Default::default());
    send(&mut app, snapshot(5, vec![], vec![]));
    send(&mut app, delta(6, vec![("escalated", on_street(2, "s", 1))]));
    run_for(&mut app, 40);
    assert!(alarms(&app).is_empty(), "nobody at the wall to acknowledge it");
    drop(app);
    assert_eq!(wavs(dir.path()), ["0001-urgent.wav"], "one chime, no reminder");
}

#[test]
fn the_status_bar_mutes_goes_to_the_most_urgent_alarm_or_acknowledges_all() {
    use crate::ui::status::StatusAsk;
    let mut s = Sound::with_player(None, false);
    let item = |kind, id| TickerItem::new(kind, &incident(id, IncidentState::Reported), 0);
    s.alarms.raise(&item(TickerKind::Overdue, 3), Chime::Overdue, 0.0);
    s.alarms.raise(&item(TickerKind::Escalated, 9), Chime::Urgent, 1.0);
    s.alarms.raise(&item(TickerKind::Overdue, 5), Chime::Overdue, 2.0);
    assert_eq!(s.answer(StatusAsk::NextAlarm), Some(9), "the urgent one first");
    assert_eq!(s.answer(StatusAsk::NextAlarm), Some(3), "then the one waiting longest");
    assert_eq!(s.alarms.len(), 1, "each acknowledged as it is gone to");
    assert_eq!(s.answer(StatusAsk::ToggleSound), None);
    assert!(s.muted);
    assert_eq!(s.alarms.len(), 1, "muting acknowledges nothing");
    assert_eq!(s.answer(StatusAsk::AcknowledgeAll), None);
    assert!(s.alarms.is_empty());
    assert_eq!(s.answer(StatusAsk::NextAlarm), None, "none left to go to");
    s.answer(StatusAsk::ToggleSound);
    assert!(!s.muted);
    assert_eq!(s.answer(StatusAsk::Hear(Chime::New, false)), None);
    assert!(!s.kinds.hears(Chime::New) && s.kinds.hears(Chime::Urgent));
}

#[test]
fn a_kind_not_heard_stays_silent_and_its_alarm_still_stands() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut app = console(dir.path(), Mode::Desk, Default::default());
    app.world_mut().resource_mut::<Sound>().kinds = Kinds::parse("urgent").expect("kinds");
    send(&mut app, snapshot(5, vec![], vec![]));
    send(&mut app, delta(6, vec![("reported", on_street(2, "s", 1))]));
    run_for(&mut app, 2);
    send(&mut app, delta(7, vec![("overdue", late(3))]));
    run_for(&mut app, 70);
    assert_eq!(alarms(&app), [3], "silent, but an alarm");
    send(&mut app, delta(8, vec![("escalated", whistled(4))]));
    run_for(&mut app, 2);
    wait_played(app.world().resource::<Sound>().player().expect("a player"), 1);
    let (label, tip, _) = app.world().resource::<Sound>().words();
    assert!(label.contains("部分") && tip.contains("只提示吹哨与重大事件"), "{label} {tip}");
    drop(app);
    assert_eq!(wavs(dir.path()), ["0001-urgent.wav"], "no ping, no overdue chime nor its reminder");
}
