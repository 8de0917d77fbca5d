//! Alert sounds: a new incident, an overdue one and an escalated or serious one announce
//! themselves by ear as well as by the flash on the map and the ticker line, each with a
//! chime of its own, so that a duty officer looking away knows which it was.
//!
//! What chimes: at the desk, the lines of the ticker whose incident the queue's filter
//! lets through (the officer's own part of the city); on the wall, only what it follows
//! (escalated, overdue, or new with severity 3 or more). A burst does not become a din:
//! one chime at a time, each kind at most once per its own gap ([`Gate`]), an urgent one
//! held back (not dropped) while another is sounding.
//!
//! The chimes are synthesised here (tones with soft edges, 48 kHz mono) and played
//! through GStreamer on a thread of their own (`appsrc ! audioconvert ! audioresample !`
//! the sink), the same stack that will decode the cameras' video: by default the system's
//! audio (`autoaudiosink`), or any GStreamer sink (`--sound-sink "alsasink device=hw:1"`,
//! for the hall's speakers), or WAV files, one per chime (`--sound-record DIR`: what the
//! end-to-end test listens to). Where there is no audio device (GStreamer falls back to a
//! fake sink) or GStreamer cannot start, the console goes on silent and says so in the
//! status bar; the operator can mute and unmute there.
//!
//! At the desk an overdue or urgent chime also raises an alarm that reminds until the
//! officer acknowledges it ([`alarms`]).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use bevy::prelude::*;
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use crate::live::{IncidentC, LiveIndex, Selection, Ticker, TickerItem, TickerKind};
use crate::ui::{Mode, UiState};

pub mod alarms;
pub use alarms::Alarms;

/// Samples a second.
pub const RATE: u32 = 48_000;

/// The kinds of chime, least urgent first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Chime {
    /// A new incident: one soft ping.
    New,
    /// A stage passed its limit: two low tones.
    Overdue,
    /// Escalated (吹哨), or new with severity 3 or more: three rising tones, twice.
    Urgent,
}

/// One tone of a chime.
#[derive(Debug, Clone, Copy)]
struct Note {
    hz: f32,
    secs: f32,
    /// Silence after it, seconds.
    gap: f32,
}

const fn note(hz: f32, secs: f32, gap: f32) -> Note {
    Note { hz, secs, gap }
}

/// A ping on A5.
const NEW_NOTES: [Note; 1] = [note(880.0, 0.32, 0.0)];
/// D5 twice.
const OVERDUE_NOTES: [Note; 2] = [note(587.3, 0.2, 0.09), note(587.3, 0.2, 0.0)];
/// G5, B5, E6, twice.
const URGENT_NOTES: [Note; 6] = [
    note(784.0, 0.13, 0.035),
    note(987.8, 0.13, 0.035),
    note(1318.5, 0.2, 0.22),
    note(784.0, 0.13, 0.035),
    note(987.8, 0.13, 0.035),
    note(1318.5, 0.2, 0.0),
];

/// Linear rise at a tone's start and fall at its end, seconds: without them a tone
/// starts and stops with a click.
const EDGE_SECS: f32 = 0.006;

impl Chime {
    /// Every kind.
    pub const ALL: [Chime; 3] = [Chime::New, Chime::Overdue, Chime::Urgent];

    /// Its name in files and logs.
    pub fn name(self) -> &'static str {
        match self {
            Chime::New => "new",
            Chime::Overdue => "overdue",
            Chime::Urgent => "urgent",
        }
    }

    /// Its name for the operator.
    pub fn label(self) -> &'static str {
        match self {
            Chime::New => "新事件",
            Chime::Overdue => "超时",
            Chime::Urgent => "吹哨与重大事件",
        }
    }

    /// The shortest time between two chimes of this kind, seconds: a busy city reports
    /// every few seconds, and a ping each time would be noise nobody hears any more.
    pub fn min_gap_secs(self) -> f64 {
        match self {
            Chime::New => 10.0,
            Chime::Overdue => 20.0,
            Chime::Urgent => 3.0,
        }
    }

    /// Its tones.
    fn notes(self) -> &'static [Note] {
        match self {
            Chime::New => &NEW_NOTES,
            Chime::Overdue => &OVERDUE_NOTES,
            Chime::Urgent => &URGENT_NOTES,
        }
    }

    /// Loudness, of full scale: the urgent loudest, the routine ping quiet.
    fn peak(self) -> f32 {
        match self {
            Chime::New => 0.3,
            Chime::Overdue => 0.42,
            Chime::Urgent => 0.5,
        }
    }

    /// The chime as 16-bit samples at [`RATE`]. The routine ping fades out like a bell;
    /// the others hold their tone and fall only at the edge.
    pub fn samples(self) -> Vec<i16> {
        let rate = RATE as f32;
        let edge = (EDGE_SECS * rate) as usize;
        let mut out = Vec::new();
        for n in self.notes() {
            let len = (n.secs * rate) as usize;
            for k in 0..len {
                let t = k as f32 / rate;
                let shape = (k.min(len - 1 - k) as f32 / edge as f32).min(1.0);
                let decay = if self == Chime::New { (-t * 9.0).exp() } else { 1.0 };
                // A touch of the octave above makes it a chime rather than a test tone.
                let wave = (std::f32::consts::TAU * n.hz * t).sin() * 0.85
                    + (std::f32::consts::TAU * 2.0 * n.hz * t).sin() * 0.15;
                out.push((wave * shape * decay * self.peak() * f32::from(i16::MAX)) as i16);
            }
            out.extend(std::iter::repeat_n(0, (n.gap * rate) as usize));
        }
        out
    }

    /// The chime a ticker line calls for, if any: at the desk for every line whose
    /// incident the queue shows (`shown`), on the wall only for what it follows.
    pub fn for_line(t: &TickerItem, mode: Mode, shown: bool) -> Option<Chime> {
        let chime = match t.kind {
            TickerKind::Escalated => Chime::Urgent,
            TickerKind::New if t.severity >= onegrid_protocol::SERIOUS_SEVERITY => Chime::Urgent,
            TickerKind::New => Chime::New,
            TickerKind::Overdue => Chime::Overdue,
            TickerKind::Closed => return None,
        };
        match mode {
            Mode::Desk => shown.then_some(chime),
            Mode::Wall => crate::ui::wall::is_major(t).then_some(chime),
        }
    }
}

/// How long a chime is left to sound before the next, seconds (the longest is 1.2 s).
pub const OVERLAP_SECS: f64 = 1.5;

/// The kinds of chime the operator hears; the others stay silent (an alarm they raise
/// still stands, and shows). All, unless `--sound` or the sound button's menu said fewer:
/// a busy centre may want the overdue and urgent ones without a ping for every report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Kinds([bool; 3]);

impl Default for Kinds {
    fn default() -> Self {
        Kinds([true; 3])
    }
}

impl Kinds {
    /// Whether `c` is heard.
    pub fn hears(self, c: Chime) -> bool {
        self.0[c as usize]
    }

    /// Hears `c`, or not.
    pub fn set(&mut self, c: Chime, on: bool) {
        self.0[c as usize] = on;
    }

    /// Whether every kind is heard.
    pub fn all(self) -> bool {
        self.0.iter().all(|on| *on)
    }

    /// The kinds named in `list`, comma-separated (`overdue,urgent`), by [`Chime::name`].
    pub fn parse(list: &str) -> Result<Kinds, String> {
        let mut k = Kinds([false; 3]);
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let c = Chime::ALL
                .into_iter()
                .find(|c| c.name() == name)
                .ok_or_else(|| format!("`{name}` is not a kind of alert sound (new, overdue, urgent)"))?;
            k.set(c, true);
        }
        if k.0.iter().all(|on| !on) {
            return Err(format!("no kind of alert sound in `{list}` (new, overdue, urgent)"));
        }
        Ok(k)
    }

    /// The kinds heard, in words: "超时、吹哨与重大事件".
    pub fn words(self) -> String {
        Chime::ALL.into_iter().filter(|c| self.hears(*c)).map(Chime::label).collect::<Vec<_>>().join("、")
    }
}

/// The alert sounds as the command line asks for them.
#[derive(Debug, Clone, PartialEq)]
pub struct SoundOptions {
    /// Where they go.
    pub out: Output,
    /// Muted from the start.
    pub muted: bool,
    /// The kinds heard.
    pub kinds: Kinds,
    /// Whether the command line said (`--sound`): then it wins over the desk's kept
    /// settings (`prefs`).
    pub given: bool,
}

/// Which chime sounds, and when: one at a time, each kind at most once per its gap, and
/// the most urgent of those waiting first.
#[derive(Debug, Default)]
pub struct Gate {
    /// When each kind last sounded (app seconds).
    last: [Option<f64>; 3],
    /// When any last sounded.
    last_any: Option<f64>,
    /// The most urgent chime called for while another was sounding.
    waiting: Option<Chime>,
}

impl Gate {
    /// The chime to play now, given those the new lines call for at `now` (app seconds):
    /// the most urgent of them and of one held back, if nothing is sounding and its kind
    /// has had its gap. An urgent or overdue one is held back while another sounds; a
    /// routine ping is dropped (the next new incident pings again).
    pub fn admit(&mut self, called: impl IntoIterator<Item = Chime>, now: f64) -> Option<Chime> {
        let best = called.into_iter().chain(self.waiting.take()).max()?;
        if self.last_any.is_some_and(|t| now - t < OVERLAP_SECS) {
            self.waiting = (best != Chime::New).then_some(best);
            return None;
        }
        let slot = &mut self.last[best as usize];
        if slot.is_some_and(|t| now - t < best.min_gap_secs()) {
            return None;
        }
        *slot = Some(now);
        self.last_any = Some(now);
        Some(best)
    }

    /// Whether a chime is held back.
    pub fn waiting(&self) -> Option<Chime> {
        self.waiting
    }

    /// Forgets a held-back chime (on muting).
    pub fn clear(&mut self) {
        self.waiting = None;
    }
}

/// Where the chimes go.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// A GStreamer sink, as `gst-launch-1.0` writes one (`autoaudiosink`, `alsasink
    /// device=hw:1`).
    Sink(String),
    /// WAV files in this folder, one per chime: `0001-urgent.wav`, …
    Record(PathBuf),
}

/// Where the player stands, for the status bar.
#[derive(Debug, Clone, PartialEq)]
pub enum SoundState {
    /// GStreamer is starting.
    Starting,
    /// Chimes are heard (through the named sink) or written (to the folder).
    Ready(String),
    /// No audio device: GStreamer would play into a fake sink.
    NoDevice,
    /// GStreamer could not start or a chime could not be played: why.
    Failed(String),
}

/// Plays chimes on a thread of its own, one after another.
pub struct Player {
    tx: Option<mpsc::Sender<Chime>>,
    state: Arc<Mutex<SoundState>>,
    played: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
    record: bool,
}

impl Player {
    /// Starts the player's thread; GStreamer starts on it, so a missing plugin or device
    /// never holds up the console.
    pub fn start(out: Output) -> Player {
        let (tx, rx) = mpsc::channel::<Chime>();
        let state = Arc::new(Mutex::new(SoundState::Starting));
        let played = Arc::new(AtomicU64::new(0));
        let record = matches!(out, Output::Record(_));
        let (s, p) = (state.clone(), played.clone());
        let thread = std::thread::Builder::new()
            .name("onegrid-sound".into())
            .spawn(move || run(out, rx, &s, &p))
            .map_err(|e| *lock(&state) = SoundState::Failed(format!("声音线程未能启动：{e}")))
            .ok();
        Player { tx: Some(tx), state, played, thread, record }
    }

    /// Plays `chime` (queued behind one still sounding).
    pub fn play(&self, chime: Chime) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(chime);
        }
    }

    /// Where it stands.
    pub fn state(&self) -> SoundState {
        lock(&self.state).clone()
    }

    /// Chimes played (or written) to the end.
    pub fn played(&self) -> u64 {
        self.played.load(Ordering::Relaxed)
    }
}

impl Drop for Player {
    /// Lets the thread end; when recording, waits for the chimes asked for to be written
    /// whole (a speaker's chime is cut off at exit rather than hold it up).
    fn drop(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take()
            && self.record
        {
            let _ = t.join();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The player's thread: starts GStreamer, looks for a device, then plays what comes.
fn run(out: Output, rx: mpsc::Receiver<Chime>, state: &Mutex<SoundState>, played: &AtomicU64) {
    if let Err(e) = gst::init() {
        let why = format!("GStreamer 未能启动：{e}");
        tracing::warn!("alert sounds off: {why}");
        *lock(state) = SoundState::Failed(why);
        return;
    }
    let ready = match &out {
        Output::Sink(desc) => match probe(desc) {
            Ok(true) => {
                tracing::info!("alert sounds through `{desc}`");
                ready_words(&out)
            }
            Ok(false) => {
                tracing::warn!("alert sounds silent: no audio device for `{desc}`");
                SoundState::NoDevice
            }
            Err(why) => {
                tracing::warn!("alert sounds off: {why}");
                SoundState::Failed(why)
            }
        },
        Output::Record(dir) => match std::fs::create_dir_all(dir) {
            Ok(()) => ready_words(&out),
            Err(e) => SoundState::Failed(format!("无法写入 {}：{e}", dir.display())),
        },
    };
    *lock(state) = ready;
    let mut n = 0u64;
    let mut warned = None;
    for chime in rx {
        n += 1;
        match play_one(&out, chime, n) {
            Ok(heard) => {
                played.fetch_add(1, Ordering::Relaxed);
                let now = if heard { ready_words(&out) } else { SoundState::NoDevice };
                *lock(state) = now;
            }
            Err(why) => {
                if warned.as_ref() != Some(&why) {
                    tracing::warn!("alert sound not played: {why}");
                    warned = Some(why.clone());
                }
                *lock(state) = SoundState::Failed(why);
            }
        }
    }
}

/// Ready, and where the chimes go.
fn ready_words(out: &Output) -> SoundState {
    match out {
        Output::Sink(desc) => SoundState::Ready(desc.clone()),
        Output::Record(dir) => SoundState::Ready(dir.display().to_string()),
    }
}

/// Whether `desc` reaches a real device: readied, an automatic sink picks its device,
/// and falls back to a fake one where there is none.
fn probe(desc: &str) -> Result<bool, String> {
    let sink = gst::parse::bin_from_description(desc, true).map_err(|e| format!("声音输出 `{desc}` 无效：{e}"))?;
    let ready = sink.set_state(gst::State::Ready);
    let real = ready.is_ok() && !has_fake_sink(sink.upcast_ref());
    let _ = sink.set_state(gst::State::Null);
    ready.map_err(|_| format!("声音输出 `{desc}` 无法打开"))?;
    Ok(real)
}

fn has_fake_sink(bin: &gst::Bin) -> bool {
    bin.iterate_recurse().into_iter().flatten().any(|e| e.factory().is_some_and(|f| f.name() == "fakesink"))
}

fn make(factory: &str) -> Result<gst::Element, String> {
    gst::ElementFactory::make(factory)
        .build()
        .map_err(|_| format!("缺少 GStreamer 组件 {factory}（请安装 gstreamer1.0-plugins-base/-good）"))
}

/// Plays one chime to its end; whether it was heard (not played into a fake sink).
fn play_one(out: &Output, chime: Chime, n: u64) -> Result<bool, String> {
    let samples = chime.samples();
    let caps = gst::Caps::builder("audio/x-raw")
        .field("format", "S16LE")
        .field("rate", RATE as i32)
        .field("channels", 1i32)
        .field("layout", "interleaved")
        .build();
    let src = gst_app::AppSrc::builder().caps(&caps).format(gst::Format::Time).build();
    let pipeline = gst::Pipeline::new();
    let mut chain: Vec<gst::Element> = vec![src.clone().upcast(), make("audioconvert")?, make("audioresample")?];
    match out {
        Output::Sink(desc) => {
            let sink =
                gst::parse::bin_from_description(desc, true).map_err(|e| format!("声音输出 `{desc}` 无效：{e}"))?;
            chain.push(sink.upcast());
        }
        Output::Record(dir) => {
            let path = dir.join(format!("{n:04}-{}.wav", chime.name()));
            let file = make("filesink")?;
            file.set_property("location", path.to_string_lossy().as_ref());
            chain.extend([make("wavenc")?, file]);
        }
    }
    pipeline.add_many(&chain).map_err(|e| e.to_string())?;
    gst::Element::link_many(&chain).map_err(|e| format!("声音管线无法连接：{e}"))?;
    let secs = samples.len() as f64 / f64::from(RATE);
    let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    let mut buffer = gst::Buffer::from_mut_slice(bytes);
    if let Some(b) = buffer.get_mut() {
        b.set_pts(gst::ClockTime::ZERO);
        b.set_duration(gst::ClockTime::from_nseconds((secs * 1e9) as u64));
    }
    let result = (|| {
        src.push_buffer(buffer).map_err(|e| format!("声音数据未能送入：{e:?}"))?;
        src.end_of_stream().map_err(|e| format!("声音数据未能结束：{e:?}"))?;
        pipeline.set_state(gst::State::Playing).map_err(|_| "声音输出无法播放".to_string())?;
        let bus = pipeline.bus().ok_or("声音管线没有消息总线")?;
        let limit = gst::ClockTime::from_mseconds(((secs + 3.0) * 1000.0) as u64);
        match bus.timed_pop_filtered(limit, &[gst::MessageType::Eos, gst::MessageType::Error]) {
            Some(m) => match m.view() {
                gst::MessageView::Error(e) => Err(format!("声音输出出错：{}", e.error())),
                _ => Ok(!has_fake_sink(pipeline.upcast_ref())),
            },
            None => Err("声音输出无响应".to_string()),
        }
    })();
    let _ = pipeline.set_state(gst::State::Null);
    result
}

/// The console's sounds: the player (none in the bench), whether the operator muted
/// them, what the ticker said that was already heard, and the desk's alarms.
#[derive(Resource)]
pub struct Sound {
    player: Option<Player>,
    /// Muted at the status bar (or `--sound off`).
    pub muted: bool,
    /// The kinds of chime heard.
    pub kinds: Kinds,
    gate: Gate,
    heard: u64,
    /// The desk's alarms awaiting acknowledgement.
    pub alarms: Alarms,
    /// The incident selected when last looked: selecting one acknowledges its alarm.
    selected: Option<onegrid_protocol::IncidentId>,
}

impl Sound {
    /// Sounds through `out`, or muted from the start.
    pub fn new(out: Output, muted: bool) -> Sound {
        Sound::with_player(Some(Player::start(out)), muted)
    }

    /// Sounds that play nowhere (a headless test's).
    #[cfg(test)]
    pub(crate) fn silent() -> Sound {
        Sound::with_player(None, false)
    }

    /// As the command line asks.
    pub fn from_options(o: SoundOptions) -> Sound {
        Sound { kinds: o.kinds, ..Sound::new(o.out, o.muted) }
    }

    fn with_player(player: Option<Player>, muted: bool) -> Sound {
        let kinds = Kinds::default();
        Sound { player, muted, kinds, gate: Gate::default(), heard: 0, alarms: Alarms::default(), selected: None }
    }

    /// Does what the operator asked of the status bar: mutes or unmutes, acknowledges
    /// every alarm, or goes to the most urgent one, acknowledging it; the incident to
    /// select then.
    pub fn answer(&mut self, ask: crate::ui::status::StatusAsk) -> Option<onegrid_protocol::IncidentId> {
        use crate::ui::status::StatusAsk;
        match ask {
            StatusAsk::ToggleSound => self.muted = !self.muted,
            StatusAsk::Hear(c, on) => self.kinds.set(c, on),
            StatusAsk::AcknowledgeAll => {
                let n = self.alarms.acknowledge_all();
                tracing::info!("{n} alarms acknowledged at once");
            }
            StatusAsk::NextAlarm => {
                let id = self.alarms.next()?;
                self.alarms.acknowledge(id);
                return Some(id);
            }
        }
        None
    }

    /// The player, if there is one.
    pub fn player(&self) -> Option<&Player> {
        self.player.as_ref()
    }

    /// The status bar's words and whether sound is on.
    pub fn words(&self) -> (String, String, bool) {
        let state = self.player.as_ref().map_or(SoundState::Failed("没有声音输出".into()), Player::state);
        let (label, tip, on) = match (&state, self.muted) {
            (_, true) => ("🔕 静音".into(), "提示音已关闭：点击打开".into(), false),
            (SoundState::Ready(to), false) if self.kinds.all() => {
                ("🔔 提示音".into(), format!("新事件、超时、吹哨时提示（{to}）：点击静音，右键选择"), true)
            }
            (SoundState::Ready(to), false) => {
                ("🔔 提示音（部分）".into(), format!("只提示{}（{to}）：点击静音，右键选择", self.kinds.words()), true)
            }
            (SoundState::Starting, false) => ("🔔 提示音".into(), "正在打开声音输出…".into(), true),
            (SoundState::NoDevice, false) => ("🔇 无音频设备".into(), "没有可用的音频设备：提示音听不到".into(), false),
            (SoundState::Failed(why), false) => ("🔇 提示音不可用".into(), why.clone(), false),
        };
        (label, tip, on)
    }
}

/// Plays the alert sounds when a [`Sound`] resource is there.
pub struct SoundPlugin;

impl Plugin for SoundPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Update, announce.after(crate::live::apply_server).run_if(resource_exists::<Sound>));
    }
}

/// Chimes for the ticker's lines not yet heard, and at the desk keeps the alarms: raised
/// by those lines, acknowledged by selecting their incident, ended when what raised them
/// no longer stands or their incident leaves the queue, reminding while open.
#[allow(clippy::too_many_arguments)]
fn announce(
    mut sound: ResMut<Sound>,
    ticker: Res<Ticker>,
    mode: Res<Mode>,
    ui: Option<Res<UiState>>,
    index: Res<LiveIndex>,
    incidents: Query<&IncidentC>,
    selection: Res<Selection>,
    time: Res<Time>,
) {
    let sound = &mut *sound;
    let now = time.elapsed_secs_f64();
    let fresh = ticker.pushed.saturating_sub(sound.heard).min(ticker.lines.len() as u64) as usize;
    sound.heard = ticker.pushed;
    let incident = |id| index.incidents.get(&id).and_then(|&e| incidents.get(e).ok()).map(|i| &i.0);
    // An incident not yet in the live picture passes (it is in the queue next frame).
    let shown = |id| {
        let (Some(ui), Some(i)) = (ui.as_ref(), incident(id)) else { return true };
        ui.filter.passes(i)
    };
    let called: Vec<(&TickerItem, Chime)> = ticker
        .lines
        .iter()
        .take(fresh)
        .filter_map(|t| Chime::for_line(t, *mode, shown(t.incident)).map(|c| (t, c)))
        .collect();
    if *mode == Mode::Desk {
        for (t, c) in &called {
            sound.alarms.raise(t, *c, now);
        }
        if selection.incident != sound.selected {
            sound.selected = selection.incident;
            if let Some(id) = selection.incident {
                sound.alarms.acknowledge(id);
            }
        }
        if !sound.alarms.is_empty() {
            sound.alarms.retain(|a| incident(a.line.incident).is_none_or(|i| a.stands(i)) && shown(a.line.incident));
        }
    }
    if sound.muted {
        sound.gate.clear();
        return;
    }
    let kinds = sound.kinds;
    let reminder = sound.alarms.reminder(now, |c| kinds.hears(c));
    let heard: Vec<Chime> = called.iter().map(|(_, c)| *c).filter(|c| kinds.hears(*c)).chain(reminder).collect();
    if heard.is_empty() && sound.gate.waiting().is_none() {
        return;
    }
    if let Some(c) = sound.gate.admit(heard, now)
        && let Some(p) = &sound.player
    {
        p.play(c);
    }
}

#[cfg(test)]
mod tests;
