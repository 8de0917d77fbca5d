//! The video wall: the big figures, the ticker of new, overdue and escalated matters, the
//! board of open incidents to chase, and the follow rule that flies the map to a major
//! incident by itself and back to the whole city when things are quiet.

use bevy::prelude::Resource;
use bevy_egui::egui::{self, Color32, RichText, Ui};
use onegrid_protocol::{Incident, IncidentId, Millis};

use crate::live::{Figures, TickerItem, TickerKind};
use crate::map::MapModel;
use crate::style;
use crate::ui::detail::clock;
use crate::ui::queue::{QueueRow, format_left};
use crate::ui::status::rate_words;

/// What a wall monitor shows. With several monitors the first follows major incidents by
/// itself, the second keeps the whole city in view beside the board of open incidents to
/// chase (overdue first, then by time left), and any others keep the whole city: the
/// close-up, the board and the overview, as a command centre's wall is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Resource)]
pub enum WallRole {
    /// Flies to major incidents by itself, back to the whole city when quiet.
    #[default]
    Follow,
    /// The whole city and the board of open incidents.
    Board,
    /// The whole city, always.
    Overview,
}

impl WallRole {
    /// The role of the wall on `monitor` (none: the first): `roles[monitor]` where the
    /// command line lists one (`--wall-roles`), else the first monitor follows, the second
    /// shows the board and the others the overview.
    pub fn for_monitor(monitor: Option<usize>, roles: &[WallRole]) -> Self {
        let m = monitor.unwrap_or(0);
        roles.get(m).copied().unwrap_or(match m {
            0 => WallRole::Follow,
            1 => WallRole::Board,
            _ => WallRole::Overview,
        })
    }

    /// Parses `--wall-roles`: `follow`, `board` or `overview`, comma-separated (empty: none).
    pub fn parse_list(s: &str) -> Result<Vec<WallRole>, String> {
        if s.trim().is_empty() {
            return Ok(Vec::new());
        }
        s.split(',')
            .map(|r| match r.trim() {
                "follow" => Ok(WallRole::Follow),
                "board" => Ok(WallRole::Board),
                "overview" => Ok(WallRole::Overview),
                other => Err(format!("--wall-roles lists follow, board or overview, comma-separated; not `{other}`")),
            })
            .collect()
    }

    /// Whether this monitor's map flies to major incidents by itself.
    pub fn follows(self) -> bool {
        self == WallRole::Follow
    }

    /// What the wall says it shows.
    pub fn label(self) -> &'static str {
        match self {
            WallRole::Follow => "跟随重大事件",
            WallRole::Board => "全市总览 · 督办看板",
            WallRole::Overview => "全市总览",
        }
    }
}

/// Physical pixels a point on a wall monitor `height_px` pixels high: 1.4 on a
/// 1080-pixel monitor (a video wall's usual panel, where the wall's layout was made), in
/// proportion elsewhere, so that the wall keeps its layout on a smaller monitor and its
/// reading distance on a 4K one; never less than one pixel a point, nor more than three
/// times the 1080-pixel zoom.
pub fn pixels_per_point(height_px: f32) -> f32 {
    const AT_1080: f32 = 1.4;
    if height_px.is_finite() && height_px > 0.0 {
        (AT_1080 * height_px / 1080.0).clamp(1.0, 3.0 * AT_1080)
    } else {
        AT_1080
    }
}

/// Height of a board row, points at scale 1.
const BOARD_ROW: f32 = 30.0;

/// The board: the open incidents to chase, as many as fit, overdue first and then by time
/// left (`rows` come sorted so from [`crate::ui::queue::queue_rows`]), each with its time
/// left, state, category and place (cut short to the board's width); a last line says how
/// many more there are.
pub fn board(ui: &mut Ui, rows: &[QueueRow], scale: f32) {
    let overdue = rows.iter().filter(|r| r.overdue).count();
    let unacknowledged = rows.iter().filter(|r| r.unacknowledged).count();
    ui.horizontal(|ui| {
        ui.label(RichText::new("督办看板").size(22.0 * scale).strong());
        let mut counts = format!("在办 {} 件 · 超时 {overdue} 件", rows.len());
        if unacknowledged > 0 {
            counts.push_str(&format!(" · 告警未确认 {unacknowledged} 件"));
        }
        ui.label(RichText::new(counts).size(16.0 * scale).weak());
    });
    ui.separator();
    if rows.is_empty() {
        ui.label(RichText::new("暂无在办事件").size(18.0 * scale).weak());
        return;
    }
    let row_h = BOARD_ROW * scale;
    // Room for the rows, less one line for "N more".
    let fits = ((ui.available_height() / row_h).floor() as usize).saturating_sub(1).max(1);
    let shown = rows.len().min(fits);
    let size = 18.0 * scale;
    for r in &rows[..shown] {
        ui.horizontal(|ui| {
            ui.set_min_height(row_h);
            let (bar, _) = ui.allocate_exact_size(egui::vec2(8.0 * scale, 20.0 * scale), egui::Sense::hover());
            let color = style::incident_color(r.state, r.overdue);
            ui.painter().rect_filled(bar, 2.0, color);
            // The time left before the place, which is cut short where the row is narrow.
            // An alarm nobody has acknowledged at any desk: the board chases it.
            let id = format!("{}#{}", if r.unacknowledged { "⚠" } else { "" }, r.id);
            let id = RichText::new(id).size(size).strong();
            ui.label(if r.unacknowledged { id.color(Color32::from_rgb(255, 170, 60)) } else { id });
            let left = RichText::new(format_left(r.time_left_ms)).size(size).strong();
            ui.label(if r.overdue { left.color(Color32::from_rgb(255, 110, 110)) } else { left });
            ui.label(RichText::new(style::state_name(r.state)).size(size).color(color));
            ui.label(RichText::new(&r.category).size(size));
            ui.add(egui::Label::new(RichText::new(&r.place).size(size).weak()).truncate());
        });
    }
    if rows.len() > shown {
        ui.label(RichText::new(format!("另有 {} 件", rows.len() - shown)).size(16.0 * scale).weak());
    }
}

/// The figures, large, and what this monitor's map shows.
pub fn wall_figures(ui: &mut Ui, f: &Figures, scale: f32, role: WallRole) {
    ui.horizontal(|ui| {
        for (k, v, c) in [
            ("在办事件", f.open.to_string(), Color32::WHITE),
            ("超时", f.overdue.to_string(), Color32::from_rgb(255, 100, 100)),
            ("吹哨", f.escalated.to_string(), Color32::from_rgb(255, 120, 210)),
            ("告警未确认", f.unacknowledged.to_string(), Color32::from_rgb(255, 170, 60)),
            ("今日结案", f.closed_today.to_string(), Color32::from_rgb(130, 220, 130)),
            ("按时结案率", rate_words(f.on_time_rate), Color32::from_rgb(120, 200, 255)),
            (
                "告警响应（中位）",
                f.response_median_ms.map_or("—".into(), response_words),
                Color32::from_rgb(120, 200, 255),
            ),
        ] {
            ui.vertical(|ui| {
                ui.label(RichText::new(k).size(16.0 * scale).weak());
                ui.label(RichText::new(v).size(34.0 * scale).color(c).strong());
            });
            ui.add_space(28.0 * scale);
        }
        ui.vertical(|ui| {
            ui.label(RichText::new("本屏").size(16.0 * scale).weak());
            // On one line however narrow the monitor: the type shrinks to the room left.
            let text = role.label();
            let size = (22.0 * scale).min(ui.available_width() / text.chars().count().max(1) as f32);
            let words = RichText::new(text).size(size).color(Color32::from_rgb(200, 210, 225));
            ui.add(egui::Label::new(words).wrap_mode(egui::TextWrapMode::Extend));
        });
    });
}

/// How soon an alarm was acknowledged, in words: "45秒", "3分", "1时05分".
pub fn response_words(ms: Millis) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..60 => format!("{s}秒"),
        60..3600 => format!("{}分", s / 60),
        _ => format!("{}时{:02}分", s / 3600, s % 3600 / 60),
    }
}

fn kind_color(k: TickerKind) -> Color32 {
    match k {
        TickerKind::New => Color32::from_rgb(255, 170, 60),
        TickerKind::Overdue => Color32::from_rgb(255, 90, 90),
        TickerKind::Escalated => Color32::from_rgb(255, 120, 210),
        TickerKind::Closed => Color32::from_rgb(130, 220, 130),
    }
}

/// The ticker's type size, points at scale 1.
const TICKER_PT: f32 = 15.0;

/// The height of a ticker of `lines` lines: its type's row height, rounded up to whole
/// pixels as egui lays text out, the spacing between lines, and a panel's margins.
pub fn ticker_height(ui: &Ui, scale: f32, lines: usize) -> f32 {
    let font = egui::FontId::proportional(TICKER_PT * scale);
    let ppp = ui.ctx().pixels_per_point();
    let row = (ui.ctx().fonts_mut(|f| f.row_height(&font)) * ppp).ceil() / ppp;
    let n = lines as f32;
    n * row + (n - 1.0) * ui.spacing().item_spacing.y + 2.0 * 8.0 + 2.0
}

/// The ticker: newest first, one line each, at most `rows` and no more than fit whole.
pub fn ticker(ui: &mut Ui, items: &[&TickerItem], model: Option<&MapModel>, scale: f32, rows: usize) {
    if items.is_empty() {
        ui.label(RichText::new("暂无新事件").weak().size(TICKER_PT * scale));
    }
    let mut row_h = 0.0;
    for t in items.iter().take(rows) {
        if ui.available_height() < row_h {
            break;
        }
        let cat = model.map_or(t.category.as_str(), |m| m.category_name(&t.category));
        row_h = ui.spacing().item_spacing.y;
        row_h += ui
            .horizontal(|ui| {
                ui.label(RichText::new(clock(t.at)).weak().size(TICKER_PT * scale));
                ui.label(RichText::new(t.kind.label()).color(kind_color(t.kind)).strong().size(TICKER_PT * scale));
                ui.label(
                    RichText::new(format!("#{} {} {} 级别{}", t.incident, cat, t.place, t.severity))
                        .size(TICKER_PT * scale),
                );
            })
            .response
            .rect
            .height();
    }
}

/// What the following monitor says of the incident it flew to.
pub struct FocusCard<'a> {
    /// The incident.
    pub incident: &'a Incident,
    /// Its category's name.
    pub category: &'a str,
    /// The units working on it, each with where it stands (see [`unit_words`]).
    pub units: Vec<String>,
    /// The names of the cameras that see it, once the server has said.
    pub cameras: Option<Vec<&'a str>>,
    /// Server time.
    pub now: Millis,
}

/// A unit on the wall's card, in a few words: its name, and how far it still has to go
/// while on the way (by road where measured: 张三（在途 850 米）), that it has not come
/// nearer over the last minute (张三（在途 850 米 · 未接近）), that no road leads from it
/// (张三（在途 3.2 公里 · 无道路可达）), or that it is there
/// (李四（在场）); none once it has left the matter, since the card says who handles it now.
pub fn unit_words(r: crate::desk::enroute::SentRow) -> Option<String> {
    use crate::desk::enroute::{Leg, Road, Trend, distance_words, minutes_words};
    let how = match (r.leg, r.leg.to_go()) {
        (Leg::EnRoute { metres: Some(_), .. }, Some(far)) if r.leg.stalled() => {
            format!("在途 {} · 未接近", distance_words(far))
        }
        (Leg::EnRoute { metres: Some(_), road: Road::Unreachable, .. }, Some(far)) => {
            format!("在途 {} · 无道路可达", distance_words(far))
        }
        (Leg::EnRoute { metres: Some(m), trend, .. }, Some(far)) => match trend {
            Trend::Closing { eta_s } if m >= crate::desk::enroute::ARRIVING_M => {
                format!("在途 {} · 约 {}", distance_words(far), minutes_words(eta_s))
            }
            _ => format!("在途 {}", distance_words(far)),
        },
        (Leg::EnRoute { .. }, _) => "在途".to_owned(),
        (Leg::OnScene, _) => "在场".to_owned(),
        (Leg::Elsewhere(_) | Leg::Released { .. }, _) => return None,
        (Leg::Unknown, _) => return Some(r.name),
    };
    Some(format!("{}（{how}）", r.name))
}

/// The card over the following monitor's map: what the incident is, its state, where,
/// how long is left (or how far past the limit), when it came in, who handles it and what
/// was reported — what a leader looking up at the wall asks first. Framed in its state's
/// colour.
pub fn focus_card(ui: &mut Ui, c: &FocusCard<'_>, scale: f32) {
    let i = c.incident;
    let color = style::incident_color(i.state, i.overdue);
    let size = 17.0 * scale;
    egui::Frame::new()
        // Opaque: the map's labels under it would read through its words.
        .fill(Color32::from_rgb(16, 22, 30))
        .stroke(egui::Stroke::new(2.0 * scale, color))
        .corner_radius(6.0 * scale)
        .inner_margin(12.0 * scale)
        .show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.label(RichText::new(format!("#{} {}", i.id, c.category)).size(24.0 * scale).strong());
                ui.label(RichText::new(style::state_name(i.state)).size(20.0 * scale).color(color).strong());
            });
            let p = &i.placement;
            ui.label(RichText::new(format!("{} {} · 级别{}", p.street_name, p.community_name, i.severity)).size(size));
            let left = format_left(i.deadline.map(|d| d - c.now));
            let left = if i.overdue { format!("已{left}") } else { format!("剩余 {left}") };
            ui.horizontal(|ui| {
                let left = RichText::new(left).size(size).strong();
                ui.label(if i.overdue { left.color(Color32::from_rgb(255, 110, 110)) } else { left });
                ui.label(RichText::new(format!("· {} 上报 · {}", clock(i.reported_at), i.department)).size(size));
            });
            let who = if c.units.is_empty() {
                (if i.units.is_empty() { "尚未派遣" } else { "派出单位均已离开" }).to_owned()
            } else {
                format!("处置：{}", c.units.join("、"))
            };
            ui.label(RichText::new(who).size(size));
            if let Some((words, seen)) = alarm_words(i) {
                let color = if seen { Color32::from_rgb(130, 220, 130) } else { Color32::from_rgb(255, 170, 60) };
                ui.label(RichText::new(words).size(size).color(color));
            }
            // Video linkage: which cameras see it (their pictures come with the video work).
            match c.cameras.as_deref() {
                Some([]) => {
                    ui.label(RichText::new("无摄像机覆盖").size(size).weak());
                }
                Some(names) => {
                    let words = format!("视频 {} 路：{}", names.len(), names.join("、"));
                    ui.add(egui::Label::new(RichText::new(words).size(size).color(style::CAMERA_LINKED)).truncate());
                }
                None => {}
            }
            if !i.description.is_empty() {
                ui.add(egui::Label::new(RichText::new(&i.description).size(size * 0.9).weak()).truncate());
            }
        });
}

/// The alarm standing on `i` in words, and whether somebody acknowledged it: who and when
/// (告警已确认：市值班员 13:09), or what raised it (告警未确认（超时、吹哨）); none where no
/// alarm stands.
pub fn alarm_words(i: &Incident) -> Option<(String, bool)> {
    let causes = i.alarm_causes();
    if causes.is_empty() {
        return None;
    }
    Some(match i.acknowledgement() {
        Some(s) => (format!("告警已确认：{} {}", crate::desk::acknowledge::who(s), clock(s.at)), true),
        None => (format!("告警未确认（{}）", crate::ui::detail::causes_words(&causes)), false),
    })
}

/// Seconds the wall stays on one followed incident.
pub const FOLLOW_SECS: f64 = 20.0;
/// Seconds without a major incident before the wall returns to the whole city.
pub const QUIET_SECS: f64 = 60.0;

/// Whether a ticker line is major enough for the wall to follow: escalated, overdue, or
/// new with severity 3 or more.
pub fn is_major(t: &TickerItem) -> bool {
    match t.kind {
        TickerKind::Escalated | TickerKind::Overdue => true,
        TickerKind::New => t.severity >= onegrid_protocol::SERIOUS_SEVERITY,
        TickerKind::Closed => false,
    }
}

/// What the wall should look at now: the newest major line not yet followed whose matter
/// `open` says is still open in the live picture (a matter closed since its line came is
/// no longer one to chase), once the current one has had its time.
pub fn next_focus(
    ticker: &[&TickerItem],
    following: Option<(IncidentId, f64)>,
    now: f64,
    open: impl Fn(IncidentId) -> bool,
) -> Option<IncidentId> {
    if following.is_some_and(|(_, since)| now - since < FOLLOW_SECS) {
        return None;
    }
    let next = ticker.iter().find(|t| is_major(t) && Some(t.incident) != following.map(|f| f.0) && open(t.incident));
    next.map(|t| t.incident)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::tests::incident;
    use onegrid_protocol::IncidentState;

    fn item(kind: TickerKind, id: u64, severity: u8) -> TickerItem {
        let mut i = incident(id, IncidentState::Reported);
        i.severity = severity;
        TickerItem::new(kind, &i, 0)
    }

    #[test]
    fn the_board_lists_the_overdue_first_and_says_how_many_more_there_are() {
        use crate::ui::queue::{QueueFilter, queue_rows};
        use egui_kittest::kittest::Queryable;
        let mut incidents: Vec<_> = (1..=40u64)
            .map(|id| {
                let mut i = incident(id, IncidentState::Accepted);
                i.deadline = Some(id as i64 * 600_000);
                i
            })
            .collect();
        incidents[29].deadline = Some(-120_000);
        incidents[29].overdue = true;
        let rows = queue_rows(incidents.iter(), &QueueFilter::default(), 0, None);
        let mut h =
            egui_kittest::Harness::builder().with_size(egui::vec2(700.0, 400.0)).build_ui(|ui| board(ui, &rows, 1.0));
        h.run();
        h.get_by_label("在办 40 件 · 超时 1 件 · 告警未确认 1 件");
        // The overdue one on top, its time past the limit in words, marked while nobody has
        // acknowledged its alarm; then the least time left.
        assert!(h.query_by_label("⚠#30").is_some() && h.query_by_label("超2分").is_some());
        assert!(h.query_by_label("#1").is_some() && h.query_by_label("10分").is_some());
        // 400 points hold about a dozen rows of 30: the rest are counted, not drawn.
        assert!(h.query_by_label("#40").is_none(), "the last does not fit");
        let n = (1..=40).find(|n| h.query_by_label(&format!("另有 {n} 件")).is_some()).unwrap_or(0);
        let drawn = (1..=40).filter(|id| h.query_by_label(&format!("#{id}")).is_some()).count();
        assert_eq!(drawn + 1 + n, 40, "{drawn} drawn, the overdue one and {n} more");
        assert!(drawn >= 8, "{drawn} rows drawn");
        drop(h);
        // Acknowledged at some desk: no longer marked.
        let mut seen = incidents[29].history[0].clone();
        seen.action = onegrid_protocol::ACKNOWLEDGE_STEP.into();
        incidents[29].history.push(seen);
        let rows = queue_rows(incidents.iter(), &QueueFilter::default(), 0, None);
        let mut h =
            egui_kittest::Harness::builder().with_size(egui::vec2(700.0, 400.0)).build_ui(|ui| board(ui, &rows, 1.0));
        h.run();
        h.get_by_label("在办 40 件 · 超时 1 件");
        assert!(h.query_by_label("#30").is_some() && h.query_by_label("⚠#30").is_none());
    }

    #[test]
    fn the_figures_count_the_alarms_nobody_acknowledged_and_how_soon_they_are() {
        use egui_kittest::kittest::Queryable;
        let f = Figures {
            open: 12,
            overdue: 2,
            escalated: 1,
            unacknowledged: 3,
            response_median_ms: Some(150_000),
            ..Figures::default()
        };
        let mut h = egui_kittest::Harness::builder()
            .with_size(egui::vec2(1400.0, 120.0))
            .build_ui(|ui| wall_figures(ui, &f, 1.0, WallRole::Board));
        h.run();
        for (k, v) in [
            ("在办事件", "12"),
            ("超时", "2"),
            ("吹哨", "1"),
            ("告警未确认", "3"),
            ("按时结案率", "—"),
            ("告警响应（中位）", "2分"),
        ] {
            assert!(h.query_by_label(k).is_some() && h.query_by_label(v).is_some(), "{k} {v}");
        }
        assert_eq!([response_words(45_000), response_words(3_900_000)], ["45秒", "1时05分"]);
    }

    #[test]
    fn the_focus_card_says_what_where_how_long_and_who() {
        use egui_kittest::kittest::Queryable;
        let mut i = incident(43, IncidentState::Dispatched);
        i.severity = 3;
        i.deadline = Some(25 * 60_000);
        i.department = "消防".into();
        let card = FocusCard {
            incident: &i,
            category: "消防隐患",
            units: vec!["张三（在途 850 米）".into(), "李四（在场）".into()],
            cameras: Some(vec!["西边社区居委会探头068"]),
            now: 0,
        };
        let mut h = egui_kittest::Harness::builder()
            .with_size(egui::vec2(700.0, 400.0))
            .build_ui(|ui| focus_card(ui, &card, 1.5));
        h.run();
        h.get_by_label("#43 消防隐患");
        h.get_by_label("已派遣");
        h.get_by_label("鹭江街道 某社区 · 级别3");
        h.get_by_label("剩余 25分");
        h.get_by_label_contains("上报 · 消防");
        h.get_by_label("处置：张三（在途 850 米）、李四（在场）");
        h.get_by_label("视频 1 路：西边社区居委会探头068");
        drop(h);
        // Past its limit, and nobody on it yet.
        i.overdue = true;
        i.deadline = Some(-3 * 60_000);
        let card = FocusCard { incident: &i, category: "消防隐患", units: vec![], cameras: Some(vec![]), now: 0 };
        let mut h = egui_kittest::Harness::builder()
            .with_size(egui::vec2(700.0, 400.0))
            .build_ui(|ui| focus_card(ui, &card, 1.5));
        h.run();
        h.get_by_label("已超3分");
        h.get_by_label("尚未派遣");
        h.get_by_label("告警未确认（超时）");
        h.get_by_label("无摄像机覆盖");
        drop(h);
        // Units sent and since gone (called back by the escalation): not 尚未派遣.
        i.units = vec![5];
        let card = FocusCard { incident: &i, category: "消防隐患", units: vec![], cameras: None, now: 0 };
        let mut h = egui_kittest::Harness::builder()
            .with_size(egui::vec2(700.0, 400.0))
            .build_ui(|ui| focus_card(ui, &card, 1.5));
        h.run();
        h.get_by_label("派出单位均已离开");
        drop(h);
        // Acknowledged at a desk: who, and when.
        let mut seen = i.history[0].clone();
        seen.action = onegrid_protocol::ACKNOWLEDGE_STEP.into();
        seen.by_name = "市值班员".into();
        seen.at = 9 * 60_000;
        i.history.push(seen);
        assert_eq!(alarm_words(&i), Some(("告警已确认：市值班员 08:09".to_owned(), true)));
        i.overdue = false;
        assert_eq!(alarm_words(&i), None, "nothing stands");
    }

    #[test]
    fn a_unit_on_the_card_says_how_far_it_still_has_to_go() {
        use crate::desk::enroute::{Leg, Road, SentRow, Trend};
        let row = |leg| SentRow { unit: 1, name: "张三".into(), status: None, lonlat: None, leg };
        let en_route = |metres, trend| unit_words(row(Leg::EnRoute { metres, road: Road::Unmeasured, trend }));
        assert_eq!(
            en_route(Some(1_640.0), Trend::Closing { eta_s: 290.0 }).unwrap(),
            "张三（在途 1.6 公里 · 约 5 分钟）"
        );
        assert_eq!(en_route(Some(20.0), Trend::Closing { eta_s: 2.0 }).unwrap(), "张三（在途 20 米）");
        assert_eq!(en_route(Some(850.0), Trend::Measuring).unwrap(), "张三（在途 850 米）");
        assert_eq!(en_route(Some(850.0), Trend::NotClosing).unwrap(), "张三（在途 850 米 · 未接近）");
        assert_eq!(en_route(Some(40.0), Trend::NotClosing).unwrap(), "张三（在途 40 米）", "there in all but word");
        assert_eq!(en_route(None, Trend::Measuring).unwrap(), "张三（在途）");
        // By road where the server measured it.
        let by_road =
            Leg::EnRoute { metres: Some(850.0), road: Road::Ahead(1_320.0), trend: Trend::Closing { eta_s: 170.0 } };
        assert_eq!(unit_words(row(by_road)).unwrap(), "张三（在途 1.3 公里 · 约 3 分钟）");
        // No road leads from it (across the water): said so, the straight line, no time.
        let no_road =
            Leg::EnRoute { metres: Some(3_200.0), road: Road::Unreachable, trend: Trend::Closing { eta_s: 400.0 } };
        assert_eq!(unit_words(row(no_road)).unwrap(), "张三（在途 3.2 公里 · 无道路可达）");
        assert_eq!(unit_words(row(Leg::OnScene)).unwrap(), "张三（在场）");
        assert_eq!(unit_words(row(Leg::Elsewhere(4))), None, "gone to another matter: not on this card");
        assert_eq!(unit_words(row(Leg::Released { done: true })), None);
        assert_eq!(unit_words(row(Leg::Unknown)).unwrap(), "张三");
    }

    #[test]
    fn the_ticker_shows_only_whole_lines() {
        use egui_kittest::kittest::Queryable;
        let items: Vec<TickerItem> = (1..=5).map(|id| item(TickerKind::New, id, 1)).collect();
        let refs: Vec<&TickerItem> = items.iter().collect();
        let shown = |height: f32| {
            let mut h = egui_kittest::Harness::builder()
                .with_size(egui::vec2(900.0, height))
                .build_ui(|ui| ticker(ui, &refs, None, 1.5, 5));
            h.run();
            let lines: Vec<egui::Rect> =
                (1..=5).filter_map(|id| h.query_by_label_contains(&format!("#{id} ")).map(|n| n.rect())).collect();
            assert!(lines.iter().all(|r| r.bottom() <= height + 0.5), "{height}: a line cut off: {lines:?}");
            lines.len()
        };
        assert_eq!(shown(400.0), 5);
        let few = shown(90.0);
        assert!((1..5).contains(&few), "{few} lines in 90 points");
    }

    #[test]
    fn each_monitor_takes_the_role_the_command_line_lists_or_the_default() {
        use WallRole::*;
        assert_eq!([0, 1, 2, 3].map(|m| WallRole::for_monitor(Some(m), &[])), [Follow, Board, Overview, Overview]);
        assert_eq!(WallRole::for_monitor(None, &[]), Follow);
        let roles = WallRole::parse_list("board, overview,follow").expect("three roles");
        assert_eq!(roles, [Board, Overview, Follow]);
        assert_eq!([0, 1, 2, 3].map(|m| WallRole::for_monitor(Some(m), &roles)), [Board, Overview, Follow, Overview]);
        assert_eq!(WallRole::for_monitor(None, &roles), Board);
        assert_eq!(WallRole::parse_list(""), Ok(vec![]));
        let err = WallRole::parse_list("follow,map").expect_err("not a role");
        assert!(err.contains("`map`") && err.contains("--wall-roles"), "{err}");
        assert!(WallRole::parse_list("follow,,board").is_err(), "an empty entry is refused");
    }

    #[test]
    fn the_wall_zooms_to_its_monitors_height() {
        assert_eq!(pixels_per_point(1080.0), 1.4);
        assert!((pixels_per_point(800.0) - 1.037).abs() < 0.001);
        assert!((pixels_per_point(2160.0) - 2.8).abs() < 1e-6, "a 4K monitor shows the same layout");
        assert_eq!(pixels_per_point(600.0), 1.0, "never below a pixel a point");
        assert!((pixels_per_point(10_000.0) - 4.2).abs() < 1e-6);
        assert_eq!(pixels_per_point(f32::NAN), 1.4);
        assert_eq!(pixels_per_point(0.0), 1.4);
    }

    #[test]
    fn the_wall_follows_major_incidents_one_at_a_time() {
        let a = item(TickerKind::New, 1, 1);
        let b = item(TickerKind::Escalated, 2, 2);
        let c = item(TickerKind::New, 3, 4);
        assert!(!is_major(&a) && is_major(&b) && is_major(&c));
        let newest_first = [&c, &b, &a];
        let all_open = |_| true;
        assert_eq!(next_focus(&newest_first, None, 0.0, all_open), Some(3));
        assert_eq!(next_focus(&newest_first, Some((3, 0.0)), 5.0, all_open), None, "holds for a while");
        assert_eq!(next_focus(&newest_first, Some((3, 0.0)), FOLLOW_SECS + 1.0, all_open), Some(2));
        assert_eq!(next_focus(&[&a], None, 0.0, all_open), None);
        // Matter 2 closed since its line came: not gone back to; nothing else to chase.
        let open = |id| id != 2;
        assert_eq!(next_focus(&newest_first, Some((3, 0.0)), FOLLOW_SECS + 1.0, open), None);
        assert_eq!(next_focus(&[&b, &c], None, 0.0, open), Some(3), "the newest still open");
    }
}
