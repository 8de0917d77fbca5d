//! The desk's settings kept between runs: the layers switched on, the queue's filter and
//! order, the alert sounds (muted, the kinds heard) and where the map was looking — what a
//! duty officer sets up at the start of a shift and expects to find again after the
//! console is restarted (the view unless `--view` says another; one not on the map the
//! server sends is passed over).
//!
//! Kept per user, by token as the outbox is (the token is not written in the name), in
//! `<data>/prefs/prefs-<hash>.json`; written a second after the last change (a burst of
//! clicks is one write) on a thread of its own, never on the frame's, whole (a temporary
//! file renamed over the last), and once more as the console closes with a change not yet
//! written. A file that cannot be read is set aside (renamed `….unreadable`, not lost)
//! with a warning, and the desk starts from the defaults; one without some fields (an
//! older console's) takes the defaults for those. A `--sound` given on the command line
//! wins over the kept sound settings. The wall keeps none: nobody sets anything there.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;

use bevy::prelude::*;
use serde::{Deserialize, Serialize};

use crate::map::{CityMapRes, LayerToggles, StartView};
use crate::sound::{Kinds, Sound};
use crate::ui::UiState;
use crate::ui::queue::QueueFilter;
use crate::view::MapView;

/// Seconds after the last change that the settings are written.
pub const SAVE_AFTER_SECS: f64 = 1.0;

/// What is kept.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Prefs {
    /// The layers switched on.
    pub layers: LayerToggles,
    /// The queue's filter and order.
    pub filter: QueueFilter,
    /// The alert sounds muted.
    pub muted: bool,
    /// The kinds of alert sound heard.
    pub kinds: Kinds,
    /// Where the map looked: longitude, latitude (WGS-84) and metres per point.
    pub view: Option<[f64; 3]>,
}

/// The file of the user with `token` in `dir`.
pub fn path_for(dir: &Path, token: &str) -> PathBuf {
    dir.join(format!("prefs-{:016x}.json", crate::net::outbox::fnv(token)))
}

/// The settings kept at `path`: the defaults where there are none; where the file cannot
/// be read, the defaults too, the file set aside, and why in words.
pub fn load(path: &Path) -> (Prefs, Option<String>) {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (Prefs::default(), None),
        Err(e) => return (Prefs::default(), Some(format!("cannot read {}: {e}", path.display()))),
    };
    match serde_json::from_slice::<Prefs>(&bytes) {
        Ok(p) => (p, None),
        Err(e) => {
            let aside = path.with_extension("json.unreadable");
            let moved = match std::fs::rename(path, &aside) {
                Ok(()) => format!("set aside as {}", aside.display()),
                Err(m) => format!("could not be set aside: {m}"),
            };
            (Prefs::default(), Some(format!("the desk's settings in {} are unreadable ({e}); {moved}", path.display())))
        }
    }
}

/// Writes `p` to `path` whole: a temporary file beside it, renamed over it.
pub fn save(path: &Path, p: &Prefs) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_vec_pretty(p).map_err(std::io::Error::other)?;
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

/// The settings file of a running desk, and its writer.
#[derive(Resource)]
pub struct PrefsFile {
    path: PathBuf,
    /// As last handed to the writer (or read).
    saved: Prefs,
    /// Since when (app seconds) the settings differ from `saved`, and as they are now.
    pending: Option<(f64, Prefs)>,
    tx: Option<mpsc::Sender<Prefs>>,
    writer: Option<JoinHandle<()>>,
}

impl PrefsFile {
    /// Keeps the settings, read as `saved`, at `path`.
    pub fn new(path: PathBuf, saved: Prefs) -> PrefsFile {
        let (tx, rx) = mpsc::channel::<Prefs>();
        let at = path.clone();
        let writer = std::thread::Builder::new()
            .name("onegrid-prefs".into())
            .spawn(move || {
                for p in rx {
                    if let Err(e) = save(&at, &p) {
                        tracing::warn!("the desk's settings not kept in {}: {e}", at.display());
                    }
                }
            })
            .map_err(|e| tracing::warn!("the desk's settings will not be kept: {e}"))
            .ok();
        PrefsFile { path, saved, pending: None, tx: Some(tx), writer }
    }

    /// Where they are kept.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write(&mut self, p: Prefs) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(p.clone());
        }
        self.saved = p;
    }
}

impl Drop for PrefsFile {
    /// Writes a change not yet written, and waits for the writer.
    fn drop(&mut self) {
        if let Some((_, p)) = self.pending.take() {
            self.write(p);
        }
        self.tx = None;
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

/// Applies the kept settings to a desk about to start: layers, the queue's filter, the view
/// unless the command line gave one, and the sounds unless it said (`sound_given`).
pub fn apply(world: &mut World, p: &Prefs, sound_given: bool) {
    world.insert_resource(p.layers.clone());
    let start = world.get_resource::<StartView>().and_then(|s| s.0);
    if start.is_none() && p.view.is_some() {
        world.insert_resource(StartView(p.view));
    }
    if let Some(mut ui) = world.get_resource_mut::<UiState>() {
        ui.filter = p.filter.clone();
    }
    if !sound_given && let Some(mut s) = world.get_resource_mut::<Sound>() {
        s.muted = p.muted;
        s.kinds = p.kinds;
    }
}

/// Keeps the desk's settings when a [`PrefsFile`] is there.
pub struct PrefsPlugin;

impl Plugin for PrefsPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Last, keep.run_if(resource_exists::<PrefsFile>));
    }
}

/// The view as kept: longitude and latitude to a tenth of a metre or so, the zoom to a
/// thousandth, so that a still view is not written again for its rounding.
fn view_kept(map: &CityMapRes, view: &MapView) -> Option<[f64; 3]> {
    let m = map.model.as_ref()?;
    let [lon, lat] = m.projection.to_lonlat(view.center);
    let round = |v: f64, k: f64| (v * k).round() / k;
    Some([round(lon, 1e6), round(lat, 1e6), round(view.m_per_pt, 1e3)])
}

/// Hands the settings to the writer a second after they last changed.
#[allow(clippy::too_many_arguments)] // a bevy system: one parameter per resource it reads
fn keep(
    mut file: ResMut<PrefsFile>,
    toggles: Res<LayerToggles>,
    ui: Option<Res<UiState>>,
    sound: Option<Res<Sound>>,
    map: Option<Res<CityMapRes>>,
    view: Option<Res<MapView>>,
    time: Res<Time>,
) {
    let file = &mut *file;
    let (layers, filter) = (&*toggles, ui.as_ref().map_or(&file.saved.filter, |u| &u.filter));
    let (muted, kinds) = sound.as_ref().map_or((file.saved.muted, file.saved.kinds), |s| (s.muted, s.kinds));
    // Until the map is in, the view is the one kept (there is nothing to look at yet).
    let looked = map.as_ref().zip(view.as_ref()).and_then(|(m, v)| view_kept(m, v)).or(file.saved.view);
    let same = |p: &Prefs| {
        p.layers == *layers && p.filter == *filter && p.muted == muted && p.kinds == kinds && p.view == looked
    };
    if same(&file.saved) {
        file.pending = None;
        return;
    }
    let now = time.elapsed_secs_f64();
    match &file.pending {
        Some((_, p)) if same(p) => {}
        _ => {
            let p = Prefs { layers: layers.clone(), filter: filter.clone(), muted, kinds, view: looked };
            file.pending = Some((now, p));
        }
    }
    if let Some((since, _)) = &file.pending
        && now - since >= SAVE_AFTER_SECS
        && let Some((_, p)) = file.pending.take()
    {
        file.write(p);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bevy::time::TimeUpdateStrategy;
    use onegrid_protocol::{IncidentState, Level};

    use super::*;
    use crate::sound::Chime;
    use crate::ui::queue::SortKey;

    fn set_up() -> Prefs {
        let mut p = Prefs::default();
        p.layers.supervision = true;
        p.layers.cameras = false;
        p.filter = QueueFilter {
            level: Some(Level::Street),
            street: Some("350203001".into()),
            state: Some(IncidentState::Escalated),
            overdue_only: true,
            sort: SortKey::Severity,
            ..QueueFilter::default()
        };
        p.muted = true;
        p.kinds.set(Chime::New, false);
        p
    }

    #[test]
    fn settings_are_kept_whole_and_read_back() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = path_for(&dir.path().join("prefs"), "dev-dispatcher");
        assert!(!path.to_string_lossy().contains("dev-dispatcher"), "the token is not in the name");
        assert_eq!(load(&path), (Prefs::default(), None), "none kept: the defaults");
        save(&path, &set_up()).expect("saved");
        assert_eq!(load(&path), (set_up(), None));
        assert_ne!(path_for(dir.path(), "dev-commander"), path_for(dir.path(), "dev-dispatcher"), "per user");
    }

    #[test]
    fn an_older_file_takes_defaults_and_an_unreadable_one_is_set_aside() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("prefs-1.json");
        std::fs::write(&path, r#"{"muted": true, "filter": {"overdue_only": true}, "from_the_future": 1}"#).expect("w");
        let (p, why) = load(&path);
        assert!(why.is_none(), "{why:?}");
        assert!(p.muted && p.filter.overdue_only && p.layers == LayerToggles::default() && p.kinds.all());
        std::fs::write(&path, "{\"muted\": tru").expect("w");
        let (p, why) = load(&path);
        assert_eq!(p, Prefs::default());
        let why = why.expect("said");
        assert!(why.contains("unreadable") && why.contains("set aside"), "{why}");
        assert!(!path.exists());
        let aside = std::fs::read_to_string(dir.path().join("prefs-1.json.unreadable")).expect("kept aside");
        assert_eq!(aside, "{\"muted\": tru", "nothing lost");
    }

    fn tiny_model() -> std::sync::Arc<crate::map::model::MapModel> {
        std::sync::Arc::new(crate::map::model::MapModel::new(&crate::map::model::tests::tiny_map()))
    }

    /// A headless desk keeping its settings at `path`, as kept there.
    fn desk(path: &Path, sound_given: bool) -> App {
        let mut app = App::new();
        app.add_plugins(MinimalPlugins)
            .add_plugins(PrefsPlugin)
            .insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_millis(100)))
            .init_resource::<LayerToggles>()
            .init_resource::<UiState>()
            .init_resource::<StartView>()
            .init_resource::<MapView>()
            .insert_resource(CityMapRes { model: Some(tiny_model()), error: None })
            .insert_resource(Sound::silent());
        let (p, why) = load(path);
        assert!(why.is_none(), "{why:?}");
        apply(app.world_mut(), &p, sound_given);
        app.insert_resource(PrefsFile::new(path.to_owned(), p));
        app
    }

    #[test]
    fn a_desk_finds_its_settings_again_after_a_restart() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = path_for(dir.path(), "dev-dispatcher");
        let mut app = desk(&path, false);
        app.update();
        assert!(!path.exists(), "nothing changed, nothing written");
        let mut want = set_up();
        let model = tiny_model();
        let (b, m) = (model.bounds, &model.projection);
        let middle = [(b.min[0] + b.max[0]) / 2.0, (b.min[1] + b.max[1]) / 2.0];
        let [lon, lat] = m.to_lonlat(middle);
        want.view = Some([(lon * 1e6).round() / 1e6, (lat * 1e6).round() / 1e6, 3.5]);
        {
            let mut v = app.world_mut().resource_mut::<MapView>();
            v.center = middle;
            v.m_per_pt = 3.5;
        }
        app.world_mut().insert_resource(want.layers.clone());
        app.world_mut().resource_mut::<UiState>().filter = want.filter.clone();
        {
            let mut s = app.world_mut().resource_mut::<Sound>();
            s.muted = true;
            s.kinds = want.kinds;
        }
        for _ in 0..5 {
            app.update();
        }
        assert!(!path.exists(), "half a second: not yet");
        for _ in 0..10 {
            app.update();
        }
        // The writer is a thread: wait for its file.
        let t = std::time::Instant::now();
        while load(&path).0 != want && t.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(load(&path).0, want, "written a second after the change");
        // A change just before closing is written as the console closes.
        app.world_mut().resource_mut::<UiState>().filter.sort = SortKey::Newest;
        app.update();
        drop(app);
        let mut last = want.clone();
        last.filter.sort = SortKey::Newest;
        assert_eq!(load(&path).0, last, "written on closing");
        // Restarted: the same settings; a `--sound` given wins over the kept sound.
        let app = desk(&path, false);
        assert_eq!(app.world().resource::<StartView>().0, last.view, "the map opens where it looked");
        assert_eq!(*app.world().resource::<LayerToggles>(), last.layers);
        assert_eq!(app.world().resource::<UiState>().filter, last.filter);
        assert!(app.world().resource::<Sound>().muted);
        assert!(!app.world().resource::<Sound>().kinds.hears(Chime::New));
        drop(app);
        let app = desk(&path, true);
        assert!(!app.world().resource::<Sound>().muted, "the command line's sound");
        drop(app);
        // A `--view` given wins over the kept one.
        let mut app = App::new();
        app.insert_resource(StartView(Some([118.1, 24.5, 9.0]))).init_resource::<UiState>();
        apply(app.world_mut(), &last, false);
        assert_eq!(app.world().resource::<StartView>().0, Some([118.1, 24.5, 9.0]));
        let app = desk(&path, true);
        assert!(app.world().resource::<Sound>().kinds.all());
        assert_eq!(app.world().resource::<UiState>().filter, last.filter, "the rest still kept");
    }
}
