//! The panels around the map and the map's own input. Panels are plain functions of view
//! state that return the user's [`Intent`]; [`ui_system`] builds their views from the ECS,
//! lays them out around the map viewport, handles pan, zoom and picking on the map (and
//! picking a new report's place for the [`intake`] form: [`mapinput`]), draws the map's
//! [`readout`]s, and sends what was asked as `Intent` messages. In wall mode the
//! desk panels give way to the big figures and the ticker, and the wall is zoomed to its
//! monitor's height.

pub mod closing;
pub mod detail;
pub mod find;
pub mod intake;
pub mod legend;
pub mod mapinput;
pub mod queue;
pub mod readout;
pub mod sent;
pub mod status;
pub mod wall;

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy_egui::egui::{self, Id, LayerId, Ui, UiBuilder};
use bevy_egui::{EguiContexts, EguiPrimaryContextPass};

use crate::desk::{Desk, Intent, enroute, refusal_words};
use crate::layers::{DrawMap, TextScale};
use crate::live::{CameraC, Feed, Figures, IncidentC, LiveIndex, Selection, Ticker, UnitC, UnitPos};
use crate::map::{CityMapRes, LayerToggles, MapModel};
use crate::net::{Link, LinkState, MapLoad};
use crate::style;
use crate::view::MapView;
use detail::{DetailState, IncidentView, UnitView};
use onegrid_protocol::Net;
use onegrid_protocol::UnitId;
use queue::{FilterChoices, QueueFilter};

/// How the console is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Resource)]
pub enum Mode {
    /// The duty desk: panels, interaction.
    Desk,
    /// The video wall: large type, no interaction needed, follows major incidents.
    Wall,
}

/// Which tab the left panel shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LeftTab {
    /// Layers and legend.
    #[default]
    Layers,
    /// The hierarchy tree.
    Tree,
    /// Search.
    Search,
}

/// What the panels remember between frames.
#[derive(Default, Resource)]
pub struct UiState {
    /// Left panel tab.
    pub tab: LeftTab,
    /// Search text.
    pub query: String,
    /// What the search text found, kept between frames.
    pub found: find::Found,
    /// Queue filter.
    pub filter: QueueFilter,
    /// Detail panel input.
    pub detail: DetailState,
    /// Which incident `detail` was typed for.
    pub detail_for: Option<u64>,
    /// What the wall follows, since when (app seconds).
    pub following: Option<(u64, f64)>,
    /// When the wall last saw a major incident.
    pub last_major: f64,
    /// A problem to show (local server, map).
    pub problem: Option<String>,
    /// Registering an incident.
    pub intake: intake::IntakeState,
}

/// The panels.
pub struct UiPlugin;

impl Plugin for UiPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<UiState>()
            .init_resource::<wall::WallRole>()
            .add_systems(
                EguiPrimaryContextPass,
                (crate::fonts::install, ui_system.run_if(crate::drawing_on)).chain().before(DrawMap),
            )
            .add_systems(Update, (animate_view, follow_on_wall));
    }
}

/// The live state the panels read.
#[derive(SystemParam)]
pub struct LiveRead<'w, 's> {
    incidents: Query<'w, 's, &'static IncidentC>,
    units: Query<'w, 's, (&'static UnitC, &'static UnitPos)>,
    cameras: Query<'w, 's, &'static CameraC>,
    index: Res<'w, LiveIndex>,
    feed: Res<'w, Feed>,
    figures: Res<'w, Figures>,
    ticker: Res<'w, Ticker>,
    selection: Res<'w, Selection>,
    desk: Res<'w, Desk>,
    enroute: Res<'w, enroute::Samples>,
    ahead: Res<'w, crate::live::RoadsAhead>,
    link: Option<Res<'w, Link>>,
}

impl LiveRead<'_, '_> {
    /// The units `i` names, and where each stands with it (`desk::enroute`).
    fn sent_rows(&self, i: &onegrid_protocol::Incident) -> Vec<enroute::SentRow> {
        enroute::live_rows(i, &self.index, &self.units, &self.ahead, &self.enroute)
    }
}

fn choices(model: &MapModel) -> FilterChoices {
    let mut streets: Vec<(String, String)> = model
        .areas
        .iter()
        .filter(|a| a.level == onegrid_protocol::Level::Street)
        .map(|a| (a.code.clone(), a.name.clone()))
        .collect();
    streets.sort();
    let mut modules: Vec<(String, String)> =
        model.categories.values().map(|c| (c.code.get(..2).unwrap_or_default().to_owned(), c.module.clone())).collect();
    modules.sort();
    modules.dedup();
    FilterChoices { streets, modules }
}

#[allow(clippy::too_many_arguments)]
fn ui_system(
    mut contexts: EguiContexts,
    mode: Res<Mode>,
    mut state: ResMut<UiState>,
    mut toggles: ResMut<LayerToggles>,
    map: Res<CityMapRes>,
    live: LiveRead,
    mut view: ResMut<MapView>,
    scale: Res<TextScale>,
    mut intents: MessageWriter<Intent>,
    role: Res<wall::WallRole>,
    mut guard: ResMut<crate::desk::CloseGuard>,
    mut sound: Option<ResMut<crate::sound::Sound>>,
) -> Result {
    let ctx = contexts.ctx_mut()?.clone();
    let mut root = Ui::new(
        ctx.clone(),
        "root".into(),
        UiBuilder::new().layer_id(LayerId::background()).max_rect(ctx.viewport_rect()),
    );
    if *mode == Mode::Wall {
        // The wall is laid out for a 1080-pixel monitor and zoomed to the one it is on.
        let ppp = ctx.pixels_per_point();
        let native = ppp / ctx.zoom_factor();
        let zoom = wall::pixels_per_point(ctx.viewport_rect().height() * ppp) / native;
        if (zoom - ctx.zoom_factor()).abs() > 0.01 {
            ctx.set_zoom_factor(zoom);
        }
    }
    let model = map.model.as_deref();
    let mut asked: Vec<Intent> = Vec::new();
    let problem = state.problem.clone().or_else(|| map.error.clone());
    let connected = live.link.as_ref().is_some_and(|l| l.state == LinkState::Connected);
    let pending_lines: Vec<String> = live.desk.pending.iter().map(|p| p.waiting_words(connected)).collect();
    let alarm_lines: Vec<String> = sound.as_ref().map_or_else(Vec::new, |s| alarm_words(&s.alarms, model));
    let status = status::StatusView {
        link: live.link.as_ref().map(|l| &l.state),
        url: live.link.as_ref().map_or("", |l| l.url.as_str()),
        data_age: live.link.as_ref().and_then(|l| l.data_age()),
        user: live.feed.user.as_ref(),
        figures: &live.figures,
        units: live.index.units.len(),
        cameras: live.cameras.iter().count(),
        problem: problem.as_deref(),
        scale: scale.0,
        figures_inline: *mode == Mode::Desk,
        // A server's clock; the bench's synthetic ticks are not one.
        now: (live.link.is_some() && live.feed.server_now > 0).then_some(live.feed.server_now),
        pending: (live.desk.pending.len(), live.desk.pending.iter().filter(|p| p.held).count()),
        pending_lines: &pending_lines,
        map_coming: model.is_none() && problem.is_none(),
        sound: sound.as_ref().map(|s| {
            let (label, tip, on) = s.words();
            status::SoundView { label, tip, on, kinds: s.kinds }
        }),
        alarms: &alarm_lines,
    };
    let asked_bar = egui::Panel::top("status").show(&mut root, |ui| status::status_bar(ui, &status)).inner;
    if let (Some(ask), Some(s)) = (asked_bar, sound.as_mut())
        && let Some(id) = s.answer(ask)
    {
        asked.push(Intent::SelectIncident(id));
    }
    match *mode {
        Mode::Wall => wall_panels(&mut root, &live, model, scale.0, *role),
        Mode::Desk => {
            egui::Panel::left("left").resizable(true).default_size(270.0).show(&mut root, |ui| {
                ui.horizontal(|ui| {
                    ui.selectable_value(&mut state.tab, LeftTab::Layers, "图层图例");
                    ui.selectable_value(&mut state.tab, LeftTab::Tree, "网格层级");
                    ui.selectable_value(&mut state.tab, LeftTab::Search, "搜索");
                });
                ui.separator();
                match (state.tab, model) {
                    (LeftTab::Layers, _) => {
                        legend::layers_panel(ui, &mut toggles);
                        ui.separator();
                        egui::ScrollArea::vertical().id_salt("legend").show(ui, |ui| {
                            let (syn, attr) =
                                model.map_or((&[][..], &[][..]), |m| (&m.synthetic_layers[..], &m.attribution[..]));
                            legend::legend(ui, syn, attr);
                        });
                    }
                    (LeftTab::Tree, Some(m)) => asked.extend(find::tree_panel(ui, m)),
                    (LeftTab::Search, Some(m)) => {
                        let UiState { query, found, .. } = &mut *state;
                        let hits = found.hits(query, std::time::Instant::now(), || {
                            let incidents = live.incidents.iter().map(|i| &i.0);
                            find::search(query, m, incidents, live.units.iter().map(|(u, _)| &u.0))
                        });
                        asked.extend(find::search_panel(ui, query, hits));
                    }
                    (_, None) => {
                        ui.label("等待地图…");
                    }
                }
            });
            let held = (state.intake.draft.as_ref().and_then(|d| d.ticket))
                .and_then(|t| live.desk.report_pending(t))
                .is_some_and(|p| p.held);
            state.intake.settle(live.desk.reported.as_ref(), held);
            state.intake.retake(&live.desk.retake);
            let UiState { filter, detail, detail_for, intake, .. } = &mut *state;
            egui::Panel::right("right").resizable(true).default_size(420.0).show(&mut root, |ui| {
                ui.horizontal(|ui| {
                    ui.label(egui::RichText::new("事件队列").strong());
                    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                        let b = ui.add_enabled(intake.draft.is_none(), egui::Button::new("登记事件"));
                        if b.on_hover_text("登记来电、来访或坐席发现的事件：先在地图上点选位置").clicked()
                        {
                            intake.draft = Some(intake::Draft::new(None));
                        }
                    });
                });
                let mut rows =
                    queue::queue_rows(live.incidents.iter().map(|i| &i.0), filter, live.feed.server_now, model);
                if let Some(s) = sound.as_ref().filter(|s| !s.alarms.is_empty()) {
                    for r in &mut rows {
                        r.alarm = s.alarms.contains(r.id);
                    }
                }
                for r in &mut rows {
                    r.stalled = live.enroute.stalled(r.id);
                }
                let c = model.map(choices).unwrap_or_default();
                egui::Frame::NONE.show(ui, |ui| {
                    ui.set_max_height(ui.available_height() * 0.42);
                    asked.extend(queue::queue_panel(ui, &rows, filter, &c, live.selection.incident));
                });
                ui.separator();
                egui::ScrollArea::vertical().id_salt("detail").show(ui, |ui| {
                    if let Some(m) = model {
                        asked.extend(intake_form(ui, intake, m, &live, connected));
                    }
                    asked.extend(selection_panels(ui, &live, model, detail, detail_for, connected));
                });
            });
        }
    }
    let rect = root.available_rect_before_wrap();
    view.viewport = rect;
    if *mode == Mode::Wall
        && role.follows()
        && let Some((id, _)) = state.following
    {
        focus_card(&ctx, rect, id, &live, model, scale.0);
    }
    if model.is_none() {
        let words =
            problem.clone().unwrap_or_else(|| map_waiting_words(live.link.as_ref().map(|l| (&l.state, l.receiving))));
        waiting_message(&ctx, rect, &words, problem.is_some());
    }
    if guard.asked.is_some() {
        let held = live.desk.pending.iter().filter(|p| p.held).count();
        let kept = live.link.as_ref().is_some_and(|l| l.outbox.is_some());
        if let Some(close) = closing::close_modal(&ctx, live.desk.pending.len(), held, kept) {
            guard.decision = Some(close);
        }
    }
    let map = mapinput::MapCtx { mode: *mode, toggles: &toggles, text_scale: scale.0 };
    asked.extend(mapinput::map_input(&ctx, &mut root, rect, &mut view, &live, model, &map, &mut state.intake));
    for i in asked {
        match i {
            // The intake is the panels' own: a report starts here, and goes out once sent.
            Intent::ReportAt { at, source } => {
                state.intake.place(at);
                if let Some(d) = state.intake.draft.as_mut() {
                    d.source = source;
                }
                if let Some(m) = model {
                    let c = m.projection.to_local(at[0], at[1]);
                    view.fly_to(
                        &crate::view::Bounds { min: [c[0] - 300.0, c[1] - 300.0], max: [c[0] + 300.0, c[1] + 300.0] },
                        0.5,
                    );
                }
            }
            i => {
                intents.write(i);
            }
        }
    }
    Ok(())
}

/// The desk's unacknowledged alarms, a line each, most urgent first.
fn alarm_words(alarms: &crate::sound::Alarms, model: Option<&MapModel>) -> Vec<String> {
    let line = |a: &&crate::sound::alarms::Alarm| {
        a.words(model.map_or(a.line.category.as_str(), |m| m.category_name(&a.line.category)))
    };
    alarms.ordered().iter().map(line).collect()
}

/// The followed incident's card over the top-left of the wall's map.
fn focus_card(ctx: &egui::Context, rect: egui::Rect, id: u64, live: &LiveRead, model: Option<&MapModel>, scale: f32) {
    let Some(i) = live.index.incidents.get(&id).and_then(|e| live.incidents.get(*e).ok()) else { return };
    let i = &i.0;
    let card = wall::FocusCard {
        incident: i,
        category: model.map_or(i.category.as_str(), |m| m.category_name(&i.category)),
        units: live.sent_rows(i).into_iter().filter_map(wall::unit_words).collect(),
        cameras: camera_names(live, i.id),
        now: live.feed.server_now,
    };
    let margin = 12.0 * scale;
    egui::Area::new(Id::new("wall-focus"))
        .fixed_pos(rect.left_top() + egui::vec2(margin, margin))
        .order(egui::Order::Foreground)
        .interactable(false)
        .show(ctx, |ui| {
            ui.set_max_width((rect.width() * 0.45).max(200.0));
            wall::focus_card(ui, &card, scale);
        });
}

/// What the map's place says while the map is awaited: the link's trouble, and how much of
/// the map is in (a whole city's map is tens of megabytes, a minute on a slow link; what
/// came in parts is kept while the link is down).
fn map_waiting_words(link: Option<(&LinkState, Option<MapLoad>)>) -> String {
    let mb = |b: u64| b as f64 / 1e6;
    match link {
        Some((LinkState::Down { reason, .. }, Some(MapLoad { bytes, of: Some(of) }))) if bytes > 0 => {
            format!("等待地图：{reason}（已收到 {:.1} / {:.1} MB，连上后接着收）", mb(bytes), mb(of))
        }
        Some((LinkState::Down { reason, .. }, _)) => format!("等待地图：{reason}"),
        Some((LinkState::Connected, Some(MapLoad { bytes, of: Some(of) }))) if of >= 1_000_000 => {
            let pct = (bytes as f64 / of as f64 * 100.0).floor() as u32;
            format!("正在载入地图… 已收到 {:.1} / {:.1} MB（{pct}%）", mb(bytes), mb(of))
        }
        Some((LinkState::Connected, Some(MapLoad { bytes, of: None }))) if bytes >= 1_000_000 => {
            format!("正在载入地图… 已收到 {:.1} MB", mb(bytes))
        }
        _ => "正在载入地图…".to_owned(),
    }
}

fn waiting_message(ctx: &egui::Context, rect: egui::Rect, words: &str, is_problem: bool) {
    let color = if is_problem { egui::Color32::from_rgb(255, 90, 90) } else { egui::Color32::LIGHT_GRAY };
    let painter = ctx.layer_painter(LayerId::background()).with_clip_rect(rect);
    let galley = painter.layout(words.to_owned(), egui::FontId::proportional(18.0), color, rect.width() * 0.8);
    let at = rect.center() - galley.size() / 2.0;
    painter.rect_filled(
        egui::Rect::from_min_size(at, galley.size()).expand(12.0),
        6.0,
        egui::Color32::from_black_alpha(200),
    );
    painter.galley(at, galley, color);
}

fn wall_panels(root: &mut Ui, live: &LiveRead, model: Option<&MapModel>, scale: f32, role: wall::WallRole) {
    egui::Panel::top("wall-figures").show(root, |ui| wall::wall_figures(ui, &live.figures, scale, role));
    let lines = 5;
    egui::Panel::bottom("wall-ticker").exact_size(wall::ticker_height(root, scale, lines)).show(root, |ui| {
        let items: Vec<_> = live.ticker.lines.iter().collect();
        wall::ticker(ui, &items, model, scale, lines);
    });
    if role == wall::WallRole::Board {
        let width = root.available_width() * 0.45;
        egui::Panel::right("wall-board").exact_size(width).resizable(false).show(root, |ui| {
            let filter = queue::QueueFilter::default();
            let rows = queue::queue_rows(live.incidents.iter().map(|i| &i.0), &filter, live.feed.server_now, model);
            wall::board(ui, &rows, scale);
        });
    }
}

/// The intake form, when a report is being written; a report sent becomes an intent.
fn intake_form(
    ui: &mut Ui,
    state: &mut intake::IntakeState,
    m: &MapModel,
    live: &LiveRead,
    connected: bool,
) -> Option<Intent> {
    let d = state.draft.as_ref()?;
    let scope = live.feed.user.as_ref().map(|u| &u.scope).filter(|s| s.level != onegrid_protocol::Level::City);
    let mut outside_scope = None;
    let place = d.at.map(|[lon, lat]| {
        let place = readout::place_at(m, m.projection.to_local(lon, lat));
        if let Some(s) = scope
            && !place.areas.iter().any(|a| a.code == s.code)
        {
            outside_scope = Some(m.area(&s.code).map_or(s.code.clone(), |a| a.name.clone()));
        }
        let inside = place.cell.is_some();
        (readout::place_words(m, &place, grid_worker(&place, live), &[]), inside)
    });
    let mut categories: Vec<_> = m.categories.values().collect();
    categories.sort_by(|a, b| a.code.cmp(&b.code));
    let sending = d.ticket.and_then(|t| live.desk.report_pending(t)).map(|p| p.waiting_words(connected));
    let nearby = d.at.map_or_else(Vec::new, |[lon, lat]| {
        let here = m.projection.to_local(lon, lat);
        let open = live.incidents.iter().map(|i| &i.0).filter(|i| i.state != onegrid_protocol::IncidentState::Closed);
        let near = open
            .map(|i| {
                let p = m.projection.to_local(i.location.x(), i.location.y());
                (i.id, i.category.as_str(), (p[0] - here[0]).hypot(p[1] - here[1]))
            })
            .collect();
        let words = |(id, metres): (u64, f64)| {
            let i = &live.incidents.get(*live.index.incidents.get(&id)?).ok()?.0;
            let (what, state) = (m.category_name(&i.category), style::state_name(i.state));
            Some((id, format!("#{id} {what} · {state} · {metres:.0} 米")))
        };
        intake::nearest_open(near, d.category.as_deref()).into_iter().filter_map(words).collect()
    });
    let held_nearby = d.at.map_or_else(Vec::new, |[lon, lat]| {
        let here = m.projection.to_local(lon, lat);
        (live.desk.held_reports())
            .filter_map(|(p, [lon, lat])| {
                let there = m.projection.to_local(lon, lat);
                let metres = (there[0] - here[0]).hypot(there[1] - here[1]);
                (metres <= intake::NEARBY_M).then(|| format!("{} · 待发送 · {metres:.0} 米", p.what))
            })
            .collect()
    });
    let v = intake::IntakeView { place, outside_scope, categories, connected, sending, nearby, held_nearby };
    let d = state.draft.as_mut()?;
    let asked = intake::intake_panel(ui, &v, d);
    ui.separator();
    match asked? {
        intake::IntakeAsk::Submit(report) => {
            let ticket = state.ticket();
            let d = state.draft.as_mut()?;
            d.ticket = Some(ticket);
            d.error = None;
            Some(Intent::Report { report, ticket })
        }
        intake::IntakeAsk::Pick => {
            state.draft.as_mut()?.picking = true;
            None
        }
        intake::IntakeAsk::Cancel => {
            state.draft = None;
            None
        }
        intake::IntakeAsk::Open(id) => Some(Intent::SelectIncident(id)),
    }
}

/// The names of the cameras that see incident `id`, once the server has said.
fn camera_names<'a>(live: &'a LiveRead, id: u64) -> Option<Vec<&'a str>> {
    let (_, cams) = live.desk.linked_cameras.as_ref().filter(|(i, _)| *i == id)?;
    let name = |c: &onegrid_protocol::CameraId| {
        live.index.cameras.get(c).and_then(|e| live.cameras.get(*e).ok()).map(|c| c.0.name.as_str())
    };
    Some(cams.iter().filter_map(name).collect())
}

/// The name of the grid worker responsible for the cell of `place`.
fn grid_worker<'a>(place: &readout::Place<'_>, live: &'a LiveRead) -> Option<&'a str> {
    let w = place.cell?.grid_worker?;
    live.units.get(*live.index.units.get(&w)?).ok().map(|(u, _)| u.0.name.as_str())
}

fn selection_panels(
    ui: &mut Ui,
    live: &LiveRead,
    model: Option<&MapModel>,
    detail: &mut DetailState,
    detail_for: &mut Option<u64>,
    connected: bool,
) -> Option<Intent> {
    let mut out = None;
    let incident =
        live.selection.incident.and_then(|id| live.index.incidents.get(&id)).and_then(|e| live.incidents.get(*e).ok());
    if let Some(i) = incident {
        let i = &i.0;
        if *detail_for != Some(i.id) {
            *detail = DetailState::default();
            *detail_for = Some(i.id);
        }
        // A unit of the roster, by number, as the live picture holds it.
        let unit = |id: &UnitId| live.index.units.get(id).and_then(|e| live.units.get(*e).ok()).map(|(u, _)| &u.0);
        let worker = i.placement.grid_worker.and_then(|w| unit(&w)).map(|u| u.name.as_str());
        let nearest = live.desk.nearest.as_ref().filter(|(id, _)| *id == i.id).map(|(_, n)| n.as_slice());
        let matched =
            live.desk.matched.as_ref().filter(|(id, ..)| *id == i.id).map(|(_, k, n)| (k.as_str(), n.as_slice()));
        let units = live.sent_rows(i);
        let recordable = live.feed.user.as_ref().map_or_else(Vec::new, |user| {
            let may = |id: &&UnitId| unit(id).is_some_and(|u| user.may_act_for_unit(u.id, &u.home).is_ok());
            i.units.iter().filter(may).copied().collect()
        });
        let mut named: Vec<UnitId> = i.history.iter().flat_map(|s| s.units.iter().copied()).collect();
        named.sort_unstable();
        named.dedup();
        let names = named.iter().filter_map(|id| unit(id).map(|u| (*id, u.name.as_str()))).collect();
        let fit = model.and_then(|m| enroute::fit(&m.projection, i, &units));
        let archived = detail::is_archived(i, live.feed.server_now, live.feed.archive_after_ms);
        let v = IncidentView {
            incident: i,
            category: model.map_or(i.category.as_str(), |m| m.category_name(&i.category)),
            worker,
            units,
            since_dispatch: enroute::since_dispatch(i, live.feed.server_now),
            fit,
            nets: [Net::Responsibility, Net::Supervision].map(|net| {
                let code = match net {
                    Net::Responsibility => i.placement.responsibility_unit.as_str(),
                    Net::Supervision => i.placement.supervision_unit.as_str(),
                };
                model.and_then(|m| m.overlay(net, code)).map_or(code, |o| o.name.as_str())
            }),
            cameras: camera_names(live, i.id),
            now: live.feed.server_now,
            pending: live.desk.pending_on(i.id),
            nearest,
            matched,
            notices: live.desk.notices.iter().filter(|n| n.incident == Some(i.id)).collect(),
            connected,
            // The server decides by the same rule; greyed here, refused there.
            forbidden: live.feed.user.as_ref().map_or_else(Vec::new, |u| detail::forbidden_steps(u, i, archived)),
            archived,
            recordable,
            names,
            may_acknowledge: connected
                && live.feed.acknowledge
                && live.feed.user.as_ref().is_some_and(|u| u.may_acknowledge(i).is_ok()),
            acknowledging: live.desk.is_acknowledging(i.id),
        };
        out = detail::incident_panel(ui, &v, detail);
        ui.separator();
    }
    let unit = live.selection.unit.and_then(|id| live.index.units.get(&id)).and_then(|e| live.units.get(*e).ok());
    if let Some((u, p)) = unit {
        let track_points = live.desk.track.as_ref().filter(|(id, _)| *id == u.0.id).map(|(_, t)| t.len());
        let may_set_status = live.feed.user.as_ref().map_or(Err("未登录"), |user| {
            user.may_act_for_unit(u.0.id, &u.0.home).map_err(|(code, _)| refusal_words(code))
        });
        let v = UnitView {
            unit: &u.0,
            lonlat: p.lonlat,
            status: p.status,
            track_points,
            may_set_status,
            pending: live.desk.pending_for_unit(u.0.id),
            connected,
        };
        out = out.or(detail::unit_panel(ui, &v));
    }
    if incident.is_none() && unit.is_none() {
        ui.label(egui::RichText::new("在地图或队列中选择事件、人员").weak());
        for n in live.desk.notices.iter().take(5) {
            let c = if n.error { egui::Color32::from_rgb(255, 110, 110) } else { egui::Color32::LIGHT_GRAY };
            ui.label(egui::RichText::new(&n.text).color(c));
        }
    }
    out
}

fn animate_view(mut view: ResMut<MapView>, time: Res<Time>) {
    if view.target.is_some() {
        view.step(time.delta_secs_f64());
    }
}

#[allow(clippy::too_many_arguments)] // a bevy system: one parameter per resource it touches
fn follow_on_wall(
    mode: Res<Mode>,
    role: Res<wall::WallRole>,
    mut state: ResMut<UiState>,
    ticker: Res<Ticker>,
    map: Res<CityMapRes>,
    feed: Res<Feed>,
    mut view: ResMut<MapView>,
    mut intents: MessageWriter<Intent>,
    time: Res<Time>,
    index: Res<LiveIndex>,
    incidents: Query<&IncidentC>,
) {
    if *mode != Mode::Wall || !role.follows() {
        return;
    }
    let now = time.elapsed_secs_f64();
    let items: Vec<_> = ticker.lines.iter().collect();
    let open = |id| index.incidents.get(&id).and_then(|e| incidents.get(*e).ok()).is_some_and(|i| i.0.state.is_open());
    if let Some(id) = wall::next_focus(&items, state.following, now, open) {
        state.following = Some((id, now));
        state.last_major = now;
        intents.write(Intent::SelectIncident(id));
    } else if now - state.last_major > wall::QUIET_SECS
        && let Some(m) = &map.model
    {
        state.last_major = now;
        state.following = None;
        intents.write(Intent::ClearSelection);
        view.fly_to(&m.home(feed.user.as_ref().map(|u| &u.scope)), 0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::tests::incident;
    use crate::live::{TickerItem, TickerKind};
    use onegrid_protocol::IncidentState;

    #[test]
    fn while_the_map_comes_the_bytes_received_are_shown() {
        let up = LinkState::Connected;
        let whole = |bytes| Some(MapLoad { bytes, of: None });
        let parts = |bytes, of| Some(MapLoad { bytes, of: Some(of) });
        assert_eq!(map_waiting_words(Some((&up, whole(23_456_789)))), "正在载入地图… 已收到 23.5 MB");
        assert_eq!(map_waiting_words(Some((&up, whole(4_000)))), "正在载入地图…", "a small map needs no count");
        assert_eq!(
            map_waiting_words(Some((&up, parts(23_456_789, 53_300_000)))),
            "正在载入地图… 已收到 23.5 / 53.3 MB（44%）"
        );
        assert_eq!(map_waiting_words(Some((&up, parts(0, 900_000)))), "正在载入地图…", "a small map, in parts");
        assert_eq!(map_waiting_words(None), "正在载入地图…");
        let down = LinkState::Down { reason: "connection refused".into(), retry_in_ms: 500 };
        assert_eq!(map_waiting_words(Some((&down, whole(23_456_789)))), "等待地图：connection refused");
        assert_eq!(
            map_waiting_words(Some((&down, parts(23_456_789, 53_300_000)))),
            "等待地图：connection refused（已收到 23.5 / 53.3 MB，连上后接着收）",
            "the parts in hand are kept"
        );
        assert_eq!(map_waiting_words(Some((&down, parts(0, 53_300_000)))), "等待地图：connection refused");
    }

    #[test]
    fn only_the_following_wall_flies_to_major_incidents() {
        for (role, follows) in
            [(wall::WallRole::Follow, true), (wall::WallRole::Board, false), (wall::WallRole::Overview, false)]
        {
            let mut major = incident(7, IncidentState::Reported);
            major.severity = 4;
            let ticker =
                Ticker { lines: [TickerItem::new(TickerKind::Escalated, &major, 0)].into_iter().collect(), pushed: 1 };
            let mut app = App::new();
            app.add_plugins(MinimalPlugins)
                .add_message::<Intent>()
                .insert_resource(Mode::Wall)
                .insert_resource(role)
                .insert_resource(ticker)
                .init_resource::<UiState>()
                .init_resource::<CityMapRes>()
                .init_resource::<MapView>()
                .init_resource::<Feed>()
                .init_resource::<LiveIndex>()
                .add_systems(Update, follow_on_wall);
            let e = app.world_mut().spawn(IncidentC(major.clone())).id();
            app.world_mut().resource_mut::<LiveIndex>().incidents.insert(7, e);
            app.update();
            let asked: Vec<Intent> = app.world_mut().resource_mut::<Messages<Intent>>().drain().collect();
            assert_eq!(asked.contains(&Intent::SelectIncident(7)), follows, "{role:?}: {asked:?}");
            assert_eq!(app.world().resource::<UiState>().following.is_some(), follows, "{role:?}");
        }
    }
}
