//! Finding places: the hierarchy tree (city → district → street → community → cell) and
//! search by name, code, incident number or worker name. Both fly the map to what is chosen.
//! Search also reads coordinates ("118.0894, 24.4798", either order) as a caller gives them,
//! from a GPS (WGS-84) or from a Chinese map app (GCJ-02), and opens a report there.

use bevy_egui::egui::{self, RichText, Ui};
use onegrid_protocol::coord::{Datum, to_wgs84};
use onegrid_protocol::{Incident, Level, Source, Unit};

use crate::desk::Intent;
use crate::map::MapModel;
use crate::ui::queue::level_name;
use crate::view::Bounds;

/// Closest zoom a fly-to an area goes, metres per point.
const AREA_MIN_ZOOM: f64 = 0.6;

fn fly(b: &Bounds) -> Intent {
    Intent::FlyTo(*b, AREA_MIN_ZOOM)
}

/// What an administrative name ends with when it says its own kind: 思明区, 厦港街道, 灌口镇,
/// 天竺山林场, 东坪社区居委会, 新塘村委会.
const KIND_ENDINGS: [&str; 8] = ["市", "区", "县", "街道", "镇", "乡", "场", "委会"];

/// An area's name as a person reads it in a list: the name alone where it says what it is
/// (as nearly every official name does), else with its level in brackets. Appending the
/// level to every name gave "厦港街道 街道", and "灌口镇 街道" for a town.
pub fn area_label(name: &str, level: Level) -> String {
    let says = KIND_ENDINGS.iter().any(|e| name.ends_with(e)) || name.ends_with("社区") || name.ends_with('村');
    if says { name.to_owned() } else { format!("{name}（{}）", level_name(level)) }
}

/// The hierarchy tree.
pub fn tree_panel(ui: &mut Ui, model: &MapModel) -> Option<Intent> {
    let mut out = None;
    egui::ScrollArea::vertical().id_salt("tree").auto_shrink([false, false]).show(ui, |ui| {
        ui.label(RichText::new(&model.name).strong());
        for i in model.roots() {
            tree_node(ui, model, i, &mut out);
        }
    });
    out
}

fn tree_node(ui: &mut Ui, model: &MapModel, i: usize, out: &mut Option<Intent>) {
    let a = &model.areas[i];
    let id = ui.make_persistent_id(("tree", &a.code));
    let open_default = matches!(a.level, Level::City | Level::District);
    egui::collapsing_header::CollapsingState::load_with_default_open(ui.ctx(), id, open_default)
        .show_header(ui, |ui| {
            if ui.link(area_label(&a.name, a.level)).clicked() {
                *out = Some(fly(&a.bounds));
            }
        })
        .body(|ui| {
            let mut kids: Vec<usize> = model.children_of(&a.code).to_vec();
            kids.sort_by(|x, y| model.areas[*x].code.cmp(&model.areas[*y].code));
            for k in kids {
                tree_node(ui, model, k, out);
            }
            if a.level == Level::Community {
                for &c in model.community_cells(&a.code) {
                    let cell = &model.cells[c];
                    if ui.link(RichText::new(format!("网格 {}", cell.code)).small()).clicked() {
                        *out = Some(fly(&cell.bounds));
                    }
                }
            }
        });
}

/// One search hit.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// What it is, in words.
    pub label: String,
    /// What choosing it does.
    pub intent: Intent,
}

/// Most hits listed.
pub const MAX_HITS: usize = 30;

/// How long hits stand for their query before they are searched again (incidents and
/// units come and go meanwhile).
pub const FOUND_FRESH: std::time::Duration = std::time::Duration::from_secs(1);

/// The hits last found and the query they answer, kept between frames: searched again
/// when the query changes or after [`FOUND_FRESH`]. Searching every frame cost up to 6.7
/// ms a frame on the whole city (177,400 cells; BENCHMARKS.md).
#[derive(Debug, Default)]
pub struct Found {
    query: String,
    at: Option<std::time::Instant>,
    hits: Vec<Hit>,
}

impl Found {
    /// The hits for `query` at `now`: those kept, while they stand, else what `search`
    /// finds now.
    pub fn hits(&mut self, query: &str, now: std::time::Instant, search: impl FnOnce() -> Vec<Hit>) -> &[Hit] {
        let stands = self.query == query && self.at.is_some_and(|t| now.saturating_duration_since(t) < FOUND_FRESH);
        if !stands {
            self.hits = search();
            self.query = query.to_owned();
            self.at = Some(now);
        }
        &self.hits
    }
}

/// Searches areas (name or code), cells (code), incidents (`#id` or number) and units
/// (name), in that order.
pub fn search<'a>(
    q: &str,
    model: &MapModel,
    incidents: impl Iterator<Item = &'a Incident>,
    units: impl Iterator<Item = &'a Unit>,
) -> Vec<Hit> {
    let q = q.trim();
    if q.is_empty() {
        return Vec::new();
    }
    let mut hits = Vec::new();
    if let Some([lon, lat]) = coordinates(q) {
        for (datum, what) in [(Datum::Wgs84, "GPS 坐标"), (Datum::Gcj02, "高德/腾讯地图坐标")] {
            let p = to_wgs84(geo_types::Point::new(lon, lat), datum);
            hits.push(Hit {
                label: format!("在 {lon:.5}°E {lat:.5}°N 登记事件（{what}）"),
                intent: Intent::ReportAt { at: [p.x(), p.y()], source: Source::Hotline },
            });
        }
    }
    for a in &model.areas {
        if a.name.contains(q) || a.code.starts_with(q) {
            hits.push(Hit { label: format!("{} {}", area_label(&a.name, a.level), a.code), intent: fly(&a.bounds) });
        }
    }
    if q.len() >= 4 && q.chars().all(|c| c.is_ascii_digit()) {
        for c in model.cells.iter().filter(|c| c.code.contains(q)).take(10) {
            hits.push(Hit { label: format!("网格 {}", c.code), intent: fly(&c.bounds) });
        }
    }
    let number = q.trim_start_matches('#').parse::<u64>().ok();
    let mut held = false;
    for i in incidents {
        if Some(i.id) == number {
            held = true;
            hits.push(Hit {
                label: format!("事件 #{} {}", i.id, model.category_name(&i.category)),
                intent: Intent::SelectIncident(i.id),
            });
        }
    }
    // One not held (closed more than a day ago, or never seen here): asked for by number.
    // Only for "#…" or a number shorter than a cell code's first digits.
    if let Some(id) = number.filter(|_| !held && (q.starts_with('#') || q.len() <= 7)) {
        hits.push(Hit { label: format!("事件 #{id}（向服务器调取）"), intent: Intent::SelectIncident(id) });
    }
    for u in units {
        if u.name.contains(q) {
            hits.push(Hit {
                label: format!("人员 {} ({})", u.name, u.home.community_name),
                intent: Intent::SelectUnit(u.id),
            });
        }
    }
    hits.truncate(MAX_HITS);
    hits
}

/// Two numbers that read as a longitude and a latitude in China, in either order
/// ("118.0894, 24.4798", "24.4798 118.0894", "118.0894，24.4798").
pub fn coordinates(q: &str) -> Option<[f64; 2]> {
    let parts: Vec<f64> = q
        .split(|c: char| c == ',' || c == '，' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches(['°', 'E', 'N', 'e', 'n']).parse::<f64>())
        .collect::<Result<_, _>>()
        .ok()?;
    let [a, b] = parts[..] else { return None };
    let lon = |x: f64| (73.0..=136.0).contains(&x);
    let lat = |y: f64| (3.0..=54.0).contains(&y);
    match (lon(a) && lat(b), lon(b) && lat(a)) {
        (true, _) => Some([a, b]),
        (false, true) => Some([b, a]),
        _ => None,
    }
}

/// The search box and its hits.
pub fn search_panel(ui: &mut Ui, query: &mut String, hits: &[Hit]) -> Option<Intent> {
    let mut out = None;
    ui.add(egui::TextEdit::singleline(query).hint_text("名称、编码、事件号、人员、坐标").desired_width(f32::INFINITY));
    for h in hits {
        if ui.link(&h.label).clicked() {
            out = Some(h.intent.clone());
        }
    }
    if !query.trim().is_empty() && hits.is_empty() {
        ui.label(RichText::new("没有找到").weak());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::tests::{incident, unit};
    use crate::map::model::tests::tiny_map;
    use egui_kittest::kittest::Queryable;
    use onegrid_protocol::{IncidentState, UnitStatus};

    #[test]
    fn search_finds_areas_cells_incidents_and_workers() {
        let m = MapModel::new(&tiny_map());
        let inc = [incident(42, IncidentState::Reported)];
        let us = [unit(5, UnitStatus::Available)];
        let labels = |q: &str| search(q, &m, inc.iter(), us.iter()).into_iter().map(|h| h.label).collect::<Vec<_>>();
        assert!(labels("丙社区")[0].contains("丙社区"));
        assert!(labels("999901001002").iter().any(|l| l.contains("丁社区")));
        assert_eq!(labels("#42"), vec!["事件 #42 火灾隐患"]);
        assert!(labels("网格员5")[0].starts_with("人员"));
        // A number not held here is asked for.
        assert_eq!(labels("#77"), vec!["事件 #77（向服务器调取）"]);
        assert_eq!(search("#77", &m, inc.iter(), us.iter())[0].intent, Intent::SelectIncident(77));
        assert!(!labels("99990100100299").iter().any(|l| l.contains("调取")), "a cell code is not a number to ask");
        assert!(labels("不存在").is_empty());
        let hit = &search("#42", &m, inc.iter(), us.iter())[0];
        assert_eq!(hit.intent, Intent::SelectIncident(42));
    }

    #[test]
    fn hits_are_searched_again_only_for_a_new_query_or_after_a_second() {
        let m = MapModel::new(&tiny_map());
        let searches = std::cell::Cell::new(0);
        let search = |q: &str| {
            searches.set(searches.get() + 1);
            super::search(q, &m, std::iter::empty(), std::iter::empty())
        };
        let mut found = Found::default();
        let t0 = std::time::Instant::now();
        assert!(found.hits("丙社区", t0, || search("丙社区"))[0].label.contains("丙社区"));
        let again = found.hits("丙社区", t0 + FOUND_FRESH / 2, || search("丙社区")).to_vec();
        assert_eq!((searches.get(), again.len()), (1, 1), "kept while it stands");
        assert!(found.hits("丁社区", t0 + FOUND_FRESH / 2, || search("丁社区"))[0].label.contains("丁社区"));
        assert_eq!(searches.get(), 2, "a new query is searched at once");
        found.hits("丁社区", t0 + FOUND_FRESH * 2, || search("丁社区"));
        assert_eq!(searches.get(), 3, "and searched again once it is a second old");
    }

    /// A benchmark, not a test (BENCHMARKS.md): what the search costs a frame on a map, for
    /// queries of each kind: searching (every frame, before [`Found`]) against the hits
    /// kept (every frame but one a second), in the same run.
    /// `ONEGRID_BENCH_MAP=/tmp/city cargo test -p onegrid-console --lib search_cost -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn search_cost() {
        let dir = crate::testing::bench_map_dir();
        let city = onegrid_server::city::load(&dir).expect("a map");
        let m = MapModel::new(&city.map.decode().expect("decodes"));
        let us: Vec<_> = city
            .roster
            .iter()
            .map(|r| {
                let mut u = unit(r.id, UnitStatus::Available);
                u.name = r.name.clone();
                u
            })
            .collect();
        println!("map {}: {} cells, {} areas, {} units", dir.display(), m.cells.len(), m.areas.len(), us.len());
        let median = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        for q in ["思明", "厦港街道", "3502030060", "99999999", "张伟", "#123"] {
            let (mut every, mut kept) = (vec![], vec![]);
            let mut found = Found::default();
            let mut n = 0;
            for _ in 0..21 {
                let t = std::time::Instant::now();
                n = search(q, &m, std::iter::empty(), us.iter()).len();
                every.push(t.elapsed().as_secs_f64() * 1e3);
                let t = std::time::Instant::now();
                let hits = found.hits(q, t, || search(q, &m, std::iter::empty(), us.iter())).len();
                kept.push(t.elapsed().as_secs_f64() * 1e3);
                assert_eq!(hits, n);
            }
            let (e, k) = (median(every), median(kept));
            println!("{q:>12}: {n:>2} hits; a frame searching {e:.3} ms, keeping the hits {k:.5} ms: {:.4}x", k / e);
        }
    }

    #[test]
    fn coordinates_open_a_report_in_either_datum() {
        assert_eq!(coordinates("118.0894, 24.4798"), Some([118.0894, 24.4798]));
        assert_eq!(coordinates("24.4798 118.0894"), Some([118.0894, 24.4798]), "latitude first");
        assert_eq!(coordinates("118.0894°E，24.4798°N"), Some([118.0894, 24.4798]));
        assert_eq!(coordinates("350203"), None);
        assert_eq!(coordinates("2.0, 3.0"), None, "not in China");
        assert_eq!(coordinates("1 2 3"), None);
        let m = MapModel::new(&tiny_map());
        let hits = search("118.0894,24.4798", &m, std::iter::empty(), std::iter::empty());
        let [gps, amap] = &hits[..2] else { panic!("two hits: {hits:?}") };
        assert_eq!(gps.intent, Intent::ReportAt { at: [118.0894, 24.4798], source: Source::Hotline });
        let Intent::ReportAt { at, .. } = amap.intent else { panic!("{amap:?}") };
        // GCJ-02 lies a few hundred metres off WGS-84 in Xiamen; the hit is moved back.
        let back = onegrid_protocol::coord::wgs84_to_gcj02(geo_types::Point::new(at[0], at[1]));
        assert!((back.x() - 118.0894).abs() < 1e-6 && (back.y() - 24.4798).abs() < 1e-6, "{back:?}");
        assert!((at[0] - 118.0894).abs() > 1e-3, "moved");
        assert!(amap.label.contains("高德"));
    }

    #[test]
    fn an_area_is_named_once_and_its_level_added_only_where_the_name_does_not_say_it() {
        let cases = [
            ("思明区", Level::District, "思明区"),
            ("厦港街道", Level::Street, "厦港街道"),
            ("灌口镇", Level::Street, "灌口镇"),
            ("天竺山林场", Level::Street, "天竺山林场"),
            ("东坪社区居委会", Level::Community, "东坪社区居委会"),
            ("新塘村委会", Level::Community, "新塘村委会"),
            ("鼓浪屿", Level::Street, "鼓浪屿（街道）"),
            ("金山", Level::Community, "金山（社区）"),
        ];
        for (name, level, want) in cases {
            assert_eq!(area_label(name, level), want);
        }
    }

    #[test]
    fn choosing_a_tree_node_flies_to_it() {
        let m = MapModel::new(&tiny_map());
        let mut got = None;
        let mut h = egui_kittest::Harness::new_ui(|ui| {
            if let Some(i) = tree_panel(ui, &m) {
                got = Some(i);
            }
        });
        h.get_by_label("乙街道").click();
        h.run();
        drop(h);
        let street = m.area("999901001000").expect("street");
        assert_eq!(got, Some(Intent::FlyTo(street.bounds, AREA_MIN_ZOOM)));
    }
}
