//! Registering an incident at the desk (登记事件): a call to the 12345 hotline, a walk-in
//! or what an operator sees on a camera becomes a report. The place is picked on the map
//! (the next click after 登记事件, or 在此登记事件 from the map's right-click menu), read from
//! coordinates typed into search, or taken from a selected unit (a grid worker's call); the form
//! takes the category from the responsibility list (it shows the department the server will
//! route it to), the severity, how many people it involves, the channel and what happened.
//! Open incidents near the place are listed (those of the chosen category first), since a
//! second caller about the same matter is common and should not make a second case.
//! Sent, it waits for the server's acknowledgement; a refusal is shown in words and the
//! form stays filled in, so nothing typed is lost. A plain function of its view that
//! returns what the user asked for.

use bevy_egui::egui::{self, Color32, RichText, Ui};
use geo_types::Point;
use onegrid_protocol::coord::Datum;
use onegrid_protocol::{IncidentId, MapCategory, Report, Scale, Source, StageLimits};

use crate::style;
use crate::ui::queue::level_name;

/// The report being written.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// Where, WGS-84 longitude and latitude; none until picked.
    pub at: Option<[f64; 2]>,
    /// The next click on the map picks the place.
    pub picking: bool,
    /// Category code from the responsibility list.
    pub category: Option<String>,
    /// 1 (一般) to 4 (特别重大).
    pub severity: u8,
    /// How many people it involves.
    pub scale: Scale,
    /// How it came in.
    pub source: Source,
    /// What happened.
    pub description: String,
    /// What the category list is narrowed to.
    pub category_filter: String,
    /// Sent with this ticket, awaiting the server.
    pub ticket: Option<u64>,
    /// The server's refusal of the last sending, in words.
    pub error: Option<String>,
}

impl Draft {
    /// A new report; `at` when the place is already known, else the map picks it.
    pub fn new(at: Option<[f64; 2]>) -> Self {
        Draft {
            at,
            picking: at.is_none(),
            category: None,
            severity: 2,
            scale: Scale::Individual,
            source: Source::Hotline,
            description: String::new(),
            category_filter: String::new(),
            ticket: None,
            error: None,
        }
    }

    /// The report to send, or why it cannot be sent yet.
    pub fn report(&self) -> Result<Report, &'static str> {
        let at = self.at.ok_or("请在地图上选定位置")?;
        let category = self.category.clone().ok_or("请选择事件类别")?;
        if self.description.trim().is_empty() {
            return Err("请填写事件描述");
        }
        Ok(Report {
            category,
            location: Point::new(at[0], at[1]),
            datum: Datum::Wgs84,
            source: self.source,
            description: self.description.trim().to_owned(),
            attachments: Vec::new(),
            severity: self.severity,
            scale: self.scale,
            held_ms: 0,
        })
    }
}

/// The desk's intake between frames: the draft, where the map's menu was opened, and the
/// tickets that tell this desk's reports apart.
#[derive(Debug, Default)]
pub struct IntakeState {
    /// The report being written.
    pub draft: Option<Draft>,
    /// Where the map's right-click menu was opened, WGS-84.
    pub menu_at: Option<[f64; 2]>,
    /// The last ticket handed out.
    pub tickets: u64,
    /// How many of the desk's reports to write again ([`crate::desk::Desk::retake`]) the
    /// form has taken up.
    pub retaken: usize,
}

impl IntakeState {
    /// Whether the next click on the map picks the draft's place.
    pub fn picking(&self) -> bool {
        self.draft.as_ref().is_some_and(|d| d.picking)
    }

    /// Places the draft (a new one when none is open) at `at`; a draft already sent keeps
    /// the place it was sent with.
    pub fn place(&mut self, at: [f64; 2]) {
        let d = self.draft.get_or_insert_with(|| Draft::new(None));
        if d.ticket.is_none() {
            d.at = Some(at);
            d.picking = false;
        }
    }

    /// Hands out the ticket for sending the draft.
    pub fn ticket(&mut self) -> u64 {
        self.tickets += 1;
        self.tickets
    }

    /// Takes up, when no report is being written, the next of the held reports that could
    /// not be sent (`retake`, only ever added to): the form opens filled in, saying why,
    /// for the operator to check and send.
    pub fn retake(&mut self, retake: &[Report]) {
        if self.draft.is_some() {
            return;
        }
        let Some(r) = retake.get(self.retaken) else { return };
        self.retaken += 1;
        let at = onegrid_protocol::coord::to_wgs84(r.location, r.datum);
        self.draft = Some(Draft {
            at: Some([at.x(), at.y()]),
            picking: false,
            category: Some(r.category.clone()),
            severity: r.severity,
            scale: r.scale,
            source: r.source,
            description: r.description.clone(),
            category_filter: String::new(),
            ticket: None,
            error: Some(retake_words()),
        });
    }

    /// Takes the server's answer to the draft, if `outcome` is for it: an incident made
    /// closes the draft; a refusal stays on it, with everything typed. A draft whose report
    /// is `held` for a link that is down closes too, so that the next caller can be taken:
    /// the desk keeps the report, sends it when the link is back, and gives it back to the
    /// form ([`IntakeState::retake`]) should it never go.
    pub fn settle(&mut self, outcome: Option<&(u64, Result<u64, String>)>, held: bool) {
        if held && self.draft.as_ref().is_some_and(|d| d.ticket.is_some()) {
            self.draft = None;
            return;
        }
        let Some((ticket, result)) = outcome else { return };
        let Some(d) = self.draft.as_mut().filter(|d| d.ticket == Some(*ticket)) else { return };
        match result {
            Ok(_) => self.draft = None,
            Err(why) => {
                d.ticket = None;
                d.error = Some(why.clone());
            }
        }
    }
}

/// What the form shows besides the draft.
pub struct IntakeView<'a> {
    /// The picked place in words, and whether it lies in a grid cell.
    pub place: Option<(String, bool)>,
    /// The name of the user's area (district, street, community) when the picked place
    /// lies outside it: the server would refuse the report.
    pub outside_scope: Option<String>,
    /// The responsibility list, sorted by code.
    pub categories: Vec<&'a MapCategory>,
    /// Whether the link is up (a report sent while it is down waits for it).
    pub connected: bool,
    /// The draft was sent and the server has not answered yet: where it stands, in words.
    pub sending: Option<String>,
    /// Open incidents near the place, nearest of the draft's category first: their
    /// numbers and words ("#12 噪声扰民 · 已受理 · 120 米").
    pub nearby: Vec<(IncidentId, String)>,
    /// Reports held on this desk for a link that is down, near the place, in words
    /// ("登记 噪声扰民 · 待发送 · 40 米"): the server has no number for them yet.
    pub held_nearby: Vec<String>,
}

/// Open incidents within this many metres of a new report's place are listed with it.
pub const NEARBY_M: f64 = 300.0;

/// Open incidents listed with a new report, at most.
pub const NEARBY_MAX: usize = 5;

/// Orders the open incidents near a report's place: within [`NEARBY_M`], those of
/// `category` first, then by distance; at most [`NEARBY_MAX`]. Each is `(id, category,
/// metres)`.
pub fn nearest_open(mut near: Vec<(IncidentId, &str, f64)>, category: Option<&str>) -> Vec<(IncidentId, f64)> {
    near.retain(|(_, _, d)| *d <= NEARBY_M);
    near.sort_by(|a, b| {
        (Some(a.1) != category, a.2).partial_cmp(&(Some(b.1) != category, b.2)).unwrap_or(std::cmp::Ordering::Equal)
    });
    near.into_iter().take(NEARBY_MAX).map(|(id, _, d)| (id, d)).collect()
}

/// What the user asked of the form.
#[derive(Debug, Clone, PartialEq)]
pub enum IntakeAsk {
    /// Send this report.
    Submit(Report),
    /// Pick the place (again) on the map.
    Pick,
    /// Throw the draft away.
    Cancel,
    /// Look at an open incident near the place (a possible duplicate).
    Open(IncidentId),
}

/// Channels an operator registers reports from (a grid worker's or a citizen's by phone or
/// in person); sensors and video alarms come from their gateways, not from the desk.
pub const SOURCES: [Source; 4] = [Source::Hotline, Source::Operator, Source::GridWorker, Source::Citizen];

/// Severity grades, 1 to 4.
pub const SEVERITIES: [&str; 4] = ["一般", "较大", "重大", "特别重大"];

/// How many people a matter involves.
pub const SCALES: [Scale; 3] = [Scale::Individual, Scale::Group, Scale::MajorGroup];

const WARN: Color32 = Color32::from_rgb(255, 150, 80);

/// Why a point outside every cell cannot be registered.
const OUTSIDE: &str = "该点不在本市网格内";

/// Why a point outside the user's own area cannot be registered from this desk.
const OUT_OF_SCOPE: &str = "该点不在本级管辖范围";

/// How long a report taken while the link is down waits for it, in words ("1 天").
pub fn hold_words() -> String {
    minutes_words((crate::net::client::HOLD_WITHIN.as_secs() / 60) as u32)
}

/// Why a held report is in the form again.
pub fn retake_words() -> String {
    format!("暂存超过 {}仍未能发送：内容已恢复，请核对后重新提交", hold_words())
}

/// The categories `filter` narrows the list to: by name or module (any part of it) or by
/// code (its start); all of them for an empty filter. A responsibility list runs to
/// hundreds of fine classes (Chaoyang's has 533), too many to scroll.
pub fn matching<'a>(categories: &[&'a MapCategory], filter: &str) -> Vec<&'a MapCategory> {
    let f = filter.trim();
    let hit = |c: &&&MapCategory| f.is_empty() || c.name.contains(f) || c.code.starts_with(f) || c.module.contains(f);
    categories.iter().filter(hit).copied().collect()
}

/// A span of minutes as a person says it: "30 分钟", "4 小时", "1 小时 30 分", "3 天",
/// "1 天 12 小时".
pub fn minutes_words(m: u32) -> String {
    match m {
        0..60 => format!("{m} 分钟"),
        60..1440 if m.is_multiple_of(60) => format!("{} 小时", m / 60),
        60..1440 => format!("{} 小时 {} 分", m / 60, m % 60),
        _ if m % 1440 / 60 == 0 => format!("{} 天", m / 1440),
        _ => format!("{} 天 {} 小时", m / 1440, m % 1440 / 60),
    }
}

/// The limits a caller can be told: "时限 受理 30 分钟 · 派遣 1 小时 · 到场 4 小时 · 处置 3 天".
pub fn limits_words(l: &StageLimits) -> String {
    let stages = [("受理", l.accept), ("派遣", l.dispatch), ("到场", l.arrive), ("处置", l.handle)];
    let words: Vec<String> = stages.iter().map(|(what, m)| format!("{what} {}", minutes_words(*m))).collect();
    format!("时限 {}", words.join(" · "))
}

/// One row of the form's grid: `label`, then one selectable word per choice of `value`.
fn choice_row<T: PartialEq + Copy>(
    ui: &mut Ui,
    label: &str,
    editable: bool,
    value: &mut T,
    choices: impl IntoIterator<Item = (T, String)>,
) {
    ui.label(RichText::new(label).weak());
    ui.horizontal_wrapped(|ui| {
        for (choice, words) in choices {
            ui.add_enabled_ui(editable, |ui| ui.selectable_value(value, choice, words));
        }
    });
    ui.end_row();
}

/// The form.
pub fn intake_panel(ui: &mut Ui, v: &IntakeView<'_>, d: &mut Draft) -> Option<IntakeAsk> {
    let mut out = None;
    ui.horizontal(|ui| {
        ui.heading("登记事件");
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui.button("取消").clicked() {
                out = Some(IntakeAsk::Cancel);
            }
        });
    });
    let editable = v.sending.is_none();
    egui::Grid::new("intake-grid").num_columns(2).spacing([8.0, 6.0]).show(ui, |ui| {
        ui.label(RichText::new("位置").weak());
        ui.vertical(|ui| {
            match (&v.place, d.picking) {
                (_, true) => {
                    ui.label(RichText::new("点击地图选定位置（Esc 取消选点）").color(Color32::from_rgb(250, 210, 90)));
                }
                (Some((words, inside)), false) => {
                    ui.label(words);
                    if !inside {
                        ui.label(RichText::new(OUTSIDE).color(WARN));
                    } else if let Some(area) = &v.outside_scope {
                        ui.label(RichText::new(format!("{OUT_OF_SCOPE}（{area}）")).color(WARN));
                    }
                }
                (None, false) => {
                    ui.label(RichText::new("未选定").weak());
                }
            }
            if !d.picking && ui.add_enabled(editable, egui::Button::new("在地图上选点").small()).clicked() {
                out = Some(IntakeAsk::Pick);
            }
        });
        ui.end_row();

        if (!v.nearby.is_empty() || !v.held_nearby.is_empty()) && !d.picking {
            ui.label(RichText::new("附近在办").weak());
            ui.vertical(|ui| {
                ui.label(RichText::new(format!("{NEARBY_M:.0} 米内已有事件，请核对是否重复：")).color(WARN));
                for (id, words) in &v.nearby {
                    if ui.add(egui::Button::new(words).small()).on_hover_text("查看此事件").clicked() {
                        out = Some(IntakeAsk::Open(*id));
                    }
                }
                for words in &v.held_nearby {
                    ui.label(RichText::new(words).color(Color32::from_rgb(250, 210, 90)));
                }
            });
            ui.end_row();
        }

        let sources = SOURCES.map(|s| (s, style::source_name(s).to_owned()));
        choice_row(ui, "来源", editable, &mut d.source, sources);

        ui.label(RichText::new("类别").weak());
        let chosen = d.category.as_deref().and_then(|c| v.categories.iter().find(|x| x.code == c));
        ui.add_enabled_ui(editable, |ui| {
            egui::ComboBox::from_id_salt("intake-category")
                .selected_text(chosen.map_or("请选择…".to_owned(), |c| format!("{} {}", c.code, c.name)))
                .height(320.0)
                // Typing into the filter must not close the list; a choice closes it.
                .close_behavior(egui::PopupCloseBehavior::CloseOnClickOutside)
                .show_ui(ui, |ui| {
                    let filter = egui::TextEdit::singleline(&mut d.category_filter).hint_text("筛选：名称、编码或大类");
                    let filter = ui.add(filter);
                    if !filter.has_focus() {
                        filter.request_focus();
                    }
                    let shown = matching(&v.categories, &d.category_filter);
                    if shown.is_empty() {
                        ui.label(RichText::new("没有匹配的类别").weak());
                    }
                    let mut module = "";
                    for c in shown {
                        if c.module != module {
                            module = &c.module;
                            ui.label(RichText::new(module).weak());
                        }
                        let label = format!("{} {}", c.code, c.name);
                        if ui.selectable_value(&mut d.category, Some(c.code.clone()), label).clicked() {
                            ui.close();
                        }
                    }
                });
        });
        ui.end_row();
        if let Some(c) = chosen {
            ui.label("");
            ui.vertical(|ui| {
                ui.label(RichText::new(format!("责任部门 {} · 首办 {}", c.department, level_name(c.level))).weak());
                if let Some(l) = &c.limits_mins {
                    ui.label(RichText::new(limits_words(l)).weak());
                }
            });
            ui.end_row();
        }

        let grades = (1u8..).zip(SEVERITIES).map(|(n, name)| (n, format!("{n} {name}")));
        choice_row(ui, "严重程度", editable, &mut d.severity, grades);
        let scales = SCALES.map(|s| (s, style::scale_name(s).to_owned()));
        choice_row(ui, "涉及人数", editable, &mut d.scale, scales);
    });
    ui.add_enabled(
        editable,
        egui::TextEdit::multiline(&mut d.description)
            .hint_text("事件描述：何时、何地、发生了什么、来电人及联系方式")
            .desired_rows(3)
            .desired_width(f32::INFINITY),
    );
    let ready = d.report();
    let outside = v.place.as_ref().is_some_and(|(_, inside)| !inside) && !d.picking;
    let out_of_scope = v.place.is_some() && v.outside_scope.is_some() && !d.picking;
    let why = match &ready {
        _ if outside => Some(OUTSIDE),
        _ if out_of_scope => Some(OUT_OF_SCOPE),
        Err(why) => Some(*why),
        Ok(_) => None,
    };
    ui.horizontal(|ui| {
        let b = ui.add_enabled(why.is_none() && v.sending.is_none() && !d.picking, egui::Button::new("提交登记"));
        let b = match why {
            Some(why) => b.on_disabled_hover_text(why),
            None => b,
        };
        if b.clicked()
            && let Ok(r) = ready
        {
            out = Some(IntakeAsk::Submit(r));
        }
        if let Some(words) = &v.sending {
            ui.label(RichText::new(words).color(Color32::from_rgb(250, 210, 90)));
        } else if let Some(why) = why.filter(|w| !d.picking && *w != OUTSIDE && *w != OUT_OF_SCOPE) {
            ui.label(RichText::new(why).weak());
        } else if !v.connected {
            let words = format!("未连接服务器：提交后暂存本机，连接恢复即自动发送（{}内）", hold_words());
            ui.label(RichText::new(words).weak());
        }
    });
    if let Some(e) = &d.error {
        ui.label(RichText::new(e).color(Color32::from_rgb(255, 110, 110)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use egui_kittest::Harness;
    use egui_kittest::kittest::Queryable;
    use onegrid_protocol::Level;

    fn category(code: &str, name: &str) -> MapCategory {
        MapCategory {
            code: code.into(),
            name: name.into(),
            module: "03 城市管理".into(),
            department: "城管执法局".into(),
            level: Level::Street,
            skills: vec![],
            limits_mins: Some(StageLimits {
                accept: 30,
                dispatch: 60,
                arrive: 240,
                handle: 4320,
                verify: 480,
                close: 120,
            }),
        }
    }

    /// Runs the form once over `d`, clicking `click` when given.
    fn run(v: &IntakeView<'_>, d: &mut Draft, click: Option<&str>) -> Option<IntakeAsk> {
        let mut got = None;
        let mut h = Harness::new_ui(|ui| {
            if let Some(a) = intake_panel(ui, v, d) {
                got = Some(a);
            }
        });
        if let Some(label) = click {
            h.get_by_label(label).click();
        }
        h.run();
        drop(h);
        got
    }

    fn view(cats: &[MapCategory], inside: bool) -> IntakeView<'_> {
        IntakeView {
            place: Some(("118.08912°E 24.47921°N · 思明区 鹭江街道".into(), inside)),
            outside_scope: None,
            categories: cats.iter().collect(),
            connected: true,
            sending: None,
            nearby: vec![],
            held_nearby: vec![],
        }
    }

    #[test]
    fn a_complete_draft_is_sent_as_the_report_it_describes() {
        let cats = [category("0301", "占道经营"), category("0302", "违法建设")];
        let mut d = Draft::new(Some([118.08912, 24.47921]));
        d.category = Some("0302".into());
        d.description = "  楼顶加盖彩钢房  ".into();
        d.severity = 3;
        d.source = Source::Citizen;
        let got = run(&view(&cats, true), &mut d, Some("提交登记"));
        let Some(IntakeAsk::Submit(r)) = got else { panic!("no report: {got:?}") };
        assert_eq!(r.category, "0302");
        assert_eq!((r.location.x(), r.location.y()), (118.08912, 24.47921));
        assert_eq!(r.description, "楼顶加盖彩钢房", "trimmed");
        assert_eq!((r.severity, r.source, r.scale), (3, Source::Citizen, Scale::Individual));
    }

    #[test]
    fn nothing_is_sent_until_place_category_and_words_are_there() {
        let cats = [category("0301", "占道经营")];
        let mut d = Draft::new(None);
        assert!(d.picking, "a draft without a place starts by picking one");
        assert_eq!(run(&view(&cats, true), &mut d, Some("提交登记")), None);
        d.picking = false;
        d.at = Some([118.1, 24.47]);
        assert_eq!(d.report(), Err("请选择事件类别"));
        assert_eq!(run(&view(&cats, true), &mut d, Some("提交登记")), None);
        d.category = Some("0301".into());
        d.description = "   ".into();
        assert_eq!(d.report(), Err("请填写事件描述"));
        assert_eq!(run(&view(&cats, true), &mut d, Some("提交登记")), None);
        d.description = "人行道摆摊".into();
        assert_eq!(run(&view(&cats, false), &mut d, Some("提交登记")), None, "outside the grid");
        // Offline, a report may still be taken: it waits for the link.
        let mut offline = view(&cats, true);
        offline.connected = false;
        let h = Harness::new_ui(|ui| {
            intake_panel(ui, &offline, &mut d.clone());
        });
        h.get_by_label("未连接服务器：提交后暂存本机，连接恢复即自动发送（1 天内）");
        drop(h);
        assert!(matches!(run(&offline, &mut d, Some("提交登记")), Some(IntakeAsk::Submit(_))), "held for the link");
        let mut elsewhere = view(&cats, true);
        elsewhere.outside_scope = Some("筼筜街道".into());
        assert_eq!(run(&elsewhere, &mut d, Some("提交登记")), None, "outside the desk's own street");
        let h = Harness::new_ui(|ui| {
            intake_panel(ui, &elsewhere, &mut d);
        });
        h.get_by_label("该点不在本级管辖范围（筼筜街道）");
        drop(h);
        let mut sending = view(&cats, true);
        sending.sending = Some("⏳ 登记：等待服务器确认…".into());
        assert_eq!(run(&sending, &mut d, Some("提交登记")), None, "already sent");
        assert!(matches!(run(&view(&cats, true), &mut d, Some("提交登记")), Some(IntakeAsk::Submit(_))));
    }

    #[test]
    fn the_category_list_narrows_as_the_operator_types() {
        let mut fire = category("0201", "消防隐患");
        fire.module = "02 公共安全".into();
        let cats = [category("0301", "占道经营"), category("0302", "违法建设"), fire];
        let all: Vec<&MapCategory> = cats.iter().collect();
        let codes = |f: &str| matching(&all, f).iter().map(|c| c.code.as_str()).collect::<Vec<_>>();
        assert_eq!(codes(""), ["0301", "0302", "0201"]);
        assert_eq!(codes("违法"), ["0302"], "by name");
        assert_eq!(codes("03"), ["0301", "0302"], "by code");
        assert_eq!(codes("公共安全"), ["0201"], "by module");
        assert!(codes("无此类").is_empty());
    }

    #[test]
    fn spans_of_minutes_read_as_people_say_them() {
        let said: Vec<String> = [5, 60, 90, 1440, 2160, 4320].into_iter().map(minutes_words).collect();
        assert_eq!(said, ["5 分钟", "1 小时", "1 小时 30 分", "1 天", "1 天 12 小时", "3 天"]);
    }

    #[test]
    fn open_incidents_nearby_are_listed_same_category_first() {
        let near = vec![(1, "0301", 250.0), (2, "0201", 40.0), (3, "0301", 120.0), (4, "0301", 301.0)];
        assert_eq!(nearest_open(near.clone(), Some("0301")), vec![(3, 120.0), (1, 250.0), (2, 40.0)]);
        assert_eq!(nearest_open(near.clone(), None), vec![(2, 40.0), (3, 120.0), (1, 250.0)], "by distance");
        let many: Vec<_> = (0..9).map(|i| (i, "0301", f64::from(i as u32))).collect();
        assert_eq!(nearest_open(many, None).len(), NEARBY_MAX);
        let cats = [category("0301", "占道经营")];
        let mut d = Draft::new(Some([118.1, 24.47]));
        let mut v = view(&cats, true);
        v.nearby = vec![(3, "#3 占道经营 · 已受理 · 120 米".into())];
        assert_eq!(run(&v, &mut d, Some("#3 占道经营 · 已受理 · 120 米")), Some(IntakeAsk::Open(3)));

        // Reports held on this desk count too, though the server has not numbered them.
        let mut v = view(&cats, true);
        v.held_nearby = vec!["登记 占道经营 · 待发送 · 40 米".into()];
        let mut h = Harness::new_ui(|ui| {
            intake_panel(ui, &v, &mut d);
        });
        h.run();
        assert!(h.query_by_label_contains("请核对是否重复").is_some(), "the warning, for a held report alone");
        assert!(h.query_by_label("登记 占道经营 · 待发送 · 40 米").is_some(), "listed under it");
    }

    #[test]
    fn the_servers_answer_closes_the_draft_or_stays_on_it() {
        let mut s = IntakeState::default();
        s.place([118.1, 24.47]);
        let d = s.draft.as_mut().expect("a draft");
        assert!(!d.picking);
        d.description = "噪声扰民".into();
        let t = s.ticket();
        s.draft.as_mut().expect("draft").ticket = Some(t);
        s.place([118.2, 24.5]);
        assert_eq!(s.draft.as_ref().and_then(|d| d.at), Some([118.1, 24.47]), "sent: the place stays");
        s.settle(Some(&(t + 1, Ok(9))), false);
        assert!(s.draft.is_some(), "another report's answer leaves this one alone");
        s.settle(Some(&(t, Err("登记：被拒绝 — 超出本级管辖范围".into()))), false);
        let d = s.draft.as_ref().expect("a refusal keeps the draft");
        assert_eq!((d.ticket, d.error.as_deref()), (None, Some("登记：被拒绝 — 超出本级管辖范围")));
        assert_eq!(d.description, "噪声扰民", "nothing typed is lost");
        s.settle(Some(&(t, Err("again".into()))), false);
        assert_eq!(
            s.draft.as_ref().and_then(|d| d.error.as_deref()),
            Some("登记：被拒绝 — 超出本级管辖范围"),
            "settled once"
        );
        let t2 = s.ticket();
        assert_ne!(t, t2);
        s.draft.as_mut().expect("draft").ticket = Some(t2);
        s.settle(Some(&(t2, Ok(12))), false);
        assert!(s.draft.is_none(), "registered: the form closes");

        // Held for a link that is down: the form closes, for the next caller.
        s.place([118.1, 24.47]);
        s.settle(None, true);
        assert!(s.draft.is_some(), "a draft not yet sent stays, whatever");
        let t3 = s.ticket();
        s.draft.as_mut().expect("draft").ticket = Some(t3);
        s.settle(None, false);
        assert!(s.draft.is_some(), "sent and awaiting the server: the form waits");
        s.settle(None, true);
        assert!(s.draft.is_none(), "held: the desk keeps it, the form is free");
    }

    #[test]
    fn reports_a_former_run_could_not_send_come_back_into_the_form_one_by_one() {
        let mut first = crate::testing::hotline_report();
        first.description = "楼道堆物".into();
        let mut second = first.clone();
        second.description = "噪声扰民".into();
        second.datum = Datum::Gcj02;
        second.location = onegrid_protocol::coord::wgs84_to_gcj02(Point::new(118.1, 24.47));
        let mut s = IntakeState { draft: Some(Draft::new(None)), ..Default::default() };
        s.retake(&[first.clone()]);
        assert_eq!(s.retaken, 0, "a report being written is not pushed aside");
        s.draft = None;
        s.retake(&[first.clone(), second.clone()]);
        let d = s.draft.clone().expect("the first, filled in");
        assert_eq!(d.error, Some(retake_words()));
        assert_eq!(d.report().expect("complete"), Report { held_ms: 0, ..first.clone() }, "as it was");
        s.retake(&[first.clone(), second.clone()]);
        assert_eq!(s.draft.as_ref().map(|d| d.description.as_str()), Some("楼道堆物"), "one at a time");
        s.draft = None;
        s.retake(&[first.clone(), second.clone()]);
        let at = s.draft.as_ref().and_then(|d| d.at).expect("placed");
        assert!((at[0] - 118.1).abs() < 1e-5 && (at[1] - 24.47).abs() < 1e-5, "in WGS-84: {at:?}");
        s.draft = None;
        s.retake(&[first, second]);
        assert!(s.draft.is_none(), "each once");
        assert_eq!(retake_words(), "暂存超过 1 天仍未能发送：内容已恢复，请核对后重新提交");
    }

    #[test]
    fn the_form_says_where_whom_and_why_not() {
        let cats = [category("0301", "占道经营")];
        let mut d = Draft::new(Some([118.1, 24.47]));
        d.category = Some("0301".into());
        d.error = Some("登记 占道经营：被拒绝 — 超出本级管辖范围".into());
        let h = Harness::new_ui(|ui| {
            intake_panel(ui, &view(&cats, false), &mut d);
        });
        h.get_by_label("118.08912°E 24.47921°N · 思明区 鹭江街道");
        h.get_by_label("该点不在本市网格内");
        h.get_by_label("责任部门 城管执法局 · 首办 街道");
        h.get_by_label("时限 受理 30 分钟 · 派遣 1 小时 · 到场 4 小时 · 处置 3 天");
        h.get_by_label("登记 占道经营：被拒绝 — 超出本级管辖范围");
        drop(h);
        assert_eq!(run(&view(&cats, true), &mut d, Some("在地图上选点")), Some(IntakeAsk::Pick));
        assert_eq!(run(&view(&cats, true), &mut d, Some("取消")), Some(IntakeAsk::Cancel));
    }
}
