//! The command line: where the data comes from (a server, or a local one started here),
//! desk or wall, and the screenshot and bench modes. Errors are one clear line.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// OneGrid console: the unified grid map with live incidents, personnel and cameras.
#[derive(Debug, Parser)]
#[command(name = "onegrid-console", version)]
pub struct Cli {
    /// Connect to this server (ws://host:port) instead of starting a local one.
    #[arg(long)]
    pub server: Option<String>,
    /// Access token; `dev-commander` at the desk, `dev-wall` on the wall by default.
    #[arg(long)]
    pub token: Option<String>,
    /// Video-wall mode: fullscreen, large type, follows major incidents by itself.
    #[arg(long)]
    pub wall: bool,
    /// The wall on this monitor only (0 = first). Without it the wall fills every monitor:
    /// this console takes the first and starts one more per other monitor.
    #[arg(long)]
    pub monitor: Option<usize>,
    /// What each wall monitor shows, first monitor first: follow (flies to major incidents),
    /// board (the city beside the board of open incidents) or overview (the whole city),
    /// comma-separated. Monitors past the list keep the default: follow, board, then
    /// overview.
    #[arg(long, default_value = "")]
    pub wall_roles: String,
    /// Quit when standard input closes (the consoles a wall starts for its other monitors).
    #[arg(long, hide = true)]
    pub exit_with_parent: bool,
    /// Window size, WIDTHxHEIGHT (windowed modes).
    #[arg(long, default_value = "1600x900")]
    pub size: String,
    /// Render, write a PNG here and exit.
    #[arg(long)]
    pub screenshot: Option<PathBuf>,
    /// Frames to render before the screenshot (bench: frames per phase).
    #[arg(long, default_value_t = 30)]
    pub frames: u32,
    /// Longest wait for the map and live data before a screenshot, seconds.
    #[arg(long, default_value_t = 120)]
    pub timeout_secs: u64,
    /// Run the frame-time benchmark on a fixed scene.
    #[arg(long)]
    pub bench: bool,
    /// Units in the bench scene.
    #[arg(long, default_value_t = 10_000)]
    pub units: usize,
    /// Map directory (local server and bench).
    #[arg(long, default_value = "maps/xiamen")]
    pub map: PathBuf,
    /// Data directory: the local server's journal, the desk's outbox (commands not yet
    /// answered, taken up again after a crash; see `net::outbox`) and the server's map, kept
    /// for the next run (`net::mapcache`).
    #[arg(long, default_value = "data")]
    pub data: PathBuf,
    /// Simulator profile of the local server: default or stress.
    #[arg(long, default_value = "default")]
    pub simulate: String,
    /// Start the map here instead of the whole city: LON,LAT,METRES_PER_POINT.
    #[arg(long)]
    pub view: Option<String>,
    /// How unit markers are drawn: auto (stamped on the CPU under software Vulkan,
    /// instanced quads on a GPU), cpu or gpu.
    #[arg(long, default_value = "auto")]
    pub markers: String,
    /// While the view stands still and markers are stamped, copy the map viewport's
    /// composed pixels into the frame (on) or shade them every frame (off).
    #[arg(long, default_value = "on")]
    pub still_copy: String,
    /// Alert sounds for new, overdue and escalated incidents: on, off (muted; the
    /// status bar unmutes), or the kinds heard, comma-separated (`overdue,urgent`: no
    /// ping for each new report; the sound button's menu changes them).
    /// [default: on, or as the desk last kept it]
    #[arg(long)]
    pub sound: Option<String>,
    /// Where alert sounds play: a GStreamer sink (e.g. `alsasink device=hw:1` for the
    /// hall's speakers).
    #[arg(long, default_value = "autoaudiosink")]
    pub sound_sink: String,
    /// Write each alert sound as a WAV file in this folder instead of playing it.
    #[arg(long)]
    pub sound_record: Option<PathBuf>,
    /// Clock speed of the local server (20 = overdue matters within minutes).
    #[arg(long, default_value_t = 20.0)]
    pub time_scale: f64,
}

impl Cli {
    /// The window size.
    pub fn window_size(&self) -> anyhow::Result<(u32, u32)> {
        let (w, h) = self
            .size
            .split_once('x')
            .ok_or_else(|| anyhow::anyhow!("--size must be WIDTHxHEIGHT, not `{}`", self.size))?;
        let parse = |s: &str| s.trim().parse::<u32>().ok().filter(|v| (200..=16384).contains(v));
        match (parse(w), parse(h)) {
            (Some(w), Some(h)) => Ok((w, h)),
            _ => anyhow::bail!("--size must be WIDTHxHEIGHT with 200 to 16384 pixels each, not `{}`", self.size),
        }
    }

    /// The start view, if one was given.
    pub fn start_view(&self) -> anyhow::Result<Option<[f64; 3]>> {
        let Some(v) = &self.view else { return Ok(None) };
        let parts: Vec<f64> = v.split(',').filter_map(|p| p.trim().parse().ok()).collect();
        match parts[..] {
            [lon, lat, z] if lon.abs() <= 180.0 && lat.abs() <= 90.0 && z > 0.0 => Ok(Some([lon, lat, z])),
            _ => anyhow::bail!("--view must be LON,LAT,METRES_PER_POINT, not `{v}`"),
        }
    }

    /// Where the alert sounds go, whether they start muted, and which kinds are heard.
    pub fn sound(&self) -> anyhow::Result<crate::sound::SoundOptions> {
        use crate::sound::Kinds;
        let (muted, kinds) = match self.sound.as_deref().unwrap_or("on") {
            "on" => (false, Kinds::default()),
            "off" => (true, Kinds::default()),
            list => (
                false,
                Kinds::parse(list)
                    .map_err(|e| anyhow::anyhow!("--sound must be on, off or a list of new, overdue, urgent: {e}"))?,
            ),
        };
        let out = match &self.sound_record {
            Some(dir) => crate::sound::Output::Record(dir.clone()),
            None => crate::sound::Output::Sink(self.sound_sink.clone()),
        };
        Ok(crate::sound::SoundOptions { out, muted, kinds, given: self.sound.is_some() })
    }

    /// The screenshot timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_bad_ones_say_why() {
        let cli = Cli::parse_from(["onegrid-console", "--size", "1920x1080"]);
        assert_eq!(cli.window_size().expect("size"), (1920, 1080));
        let bad = Cli::parse_from(["onegrid-console", "--size", "big"]);
        assert!(bad.window_size().unwrap_err().to_string().contains("WIDTHxHEIGHT"));
    }

    #[test]
    fn sound_is_on_through_the_system_unless_said_otherwise() {
        use crate::sound::{Chime, Kinds, Output, SoundOptions};
        let cli = Cli::parse_from(["onegrid-console"]);
        let all = Kinds::default();
        let o = |out, muted, kinds, given| SoundOptions { out, muted, kinds, given };
        assert_eq!(cli.sound().expect("sound"), o(Output::Sink("autoaudiosink".into()), false, all, false));
        let cli = Cli::parse_from(["onegrid-console", "--sound", "off", "--sound-record", "/tmp/c"]);
        assert_eq!(cli.sound().expect("sound"), o(Output::Record("/tmp/c".into()), true, all, true));
        let cli = Cli::parse_from(["onegrid-console", "--sound", "overdue, urgent"]);
        let kinds = cli.sound().expect("sound").kinds;
        assert!(!kinds.hears(Chime::New) && kinds.hears(Chime::Overdue) && kinds.hears(Chime::Urgent));
        assert_eq!(kinds.words(), "超时、吹哨与重大事件");
        for bad in ["loud", "new,siren", ","] {
            let e = Cli::parse_from(["onegrid-console", "--sound", bad]).sound().unwrap_err().to_string();
            assert!(e.contains("on, off or a list"), "{bad}: {e}");
        }
    }
}
