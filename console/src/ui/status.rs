//! The status bar: the link (connected, reconnecting, down and why), how old the data is,
//! who is signed in, and the key figures. Always visible, at the desk and on the wall.

use std::time::Duration;

use bevy_egui::egui::{self, Color32, RichText, TextStyle, TextWrapMode, Ui, WidgetText};
use onegrid_protocol::{Role, UserInfo};

use crate::live::Figures;
use crate::live::figures::CST_OFFSET_MS;
use crate::net::LinkState;
use crate::sound::{Chime, Kinds};

/// What the status bar shows.
pub struct StatusView<'a> {
    /// The link, or `None` when the console runs without a server (bench).
    pub link: Option<&'a LinkState>,
    /// Server address.
    pub url: &'a str,
    /// Time since the last message.
    pub data_age: Option<Duration>,
    /// Signed-in user.
    pub user: Option<&'a UserInfo>,
    /// The figures.
    pub figures: &'a Figures,
    /// Units and cameras known.
    pub units: usize,
    /// Cameras known.
    pub cameras: usize,
    /// A problem to show in words (map or local server).
    pub problem: Option<&'a str>,
    /// Type size.
    pub scale: f32,
    /// Whether the figures go in the bar (the wall shows them large instead).
    pub figures_inline: bool,
    /// The server's time, Unix milliseconds, once a message has told it.
    pub now: Option<i64>,
    /// The desk's commands awaiting the server's answer, and of them those held for the
    /// link.
    pub pending: (usize, usize),
    /// Each of them in words, where it stands (the count's tooltip).
    pub pending_lines: &'a [String],
    /// The map is still awaited: live data waits behind it on the link.
    pub map_coming: bool,
    /// The alert sounds, where there are any.
    pub sound: Option<SoundView>,
    /// The desk's unacknowledged alarms in words, most urgent first (none: no button).
    pub alarms: &'a [String],
}

/// The alert sounds in the bar: the button's words, its tooltip, whether sound is on, and
/// the kinds heard (its menu).
#[derive(Debug, Clone, PartialEq)]
pub struct SoundView {
    /// The button's words.
    pub label: String,
    /// Its tooltip.
    pub tip: String,
    /// Whether sound is on (not muted, and playing somewhere).
    pub on: bool,
    /// The kinds of chime heard.
    pub kinds: Kinds,
}

/// What the operator asked of the status bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusAsk {
    /// Mute or unmute the alert sounds.
    ToggleSound,
    /// Hear a kind of chime, or not (the sound button's menu).
    Hear(Chime, bool),
    /// Go to the most urgent unacknowledged alarm (acknowledging it).
    NextAlarm,
    /// Acknowledge every alarm.
    AcknowledgeAll,
}

/// The desk's unanswered commands in words, if there are any: "待确认 2 · 待发送 1".
pub fn pending_words(waiting: usize, held: usize) -> Option<String> {
    let sent = waiting.saturating_sub(held);
    match (sent, held) {
        (0, 0) => None,
        (s, 0) => Some(format!("待确认 {s}")),
        (0, h) => Some(format!("待发送 {h}")),
        (s, h) => Some(format!("待确认 {s} · 待发送 {h}")),
    }
}

/// The link in words and colour.
pub fn link_words(link: Option<&LinkState>, age: Option<Duration>) -> (String, Color32) {
    let green = Color32::from_rgb(80, 220, 120);
    let amber = Color32::from_rgb(250, 190, 60);
    let red = Color32::from_rgb(255, 90, 90);
    match link {
        None => ("未连接服务器".into(), amber),
        Some(LinkState::Connecting) => ("正在连接…".into(), amber),
        Some(LinkState::Reconnecting { attempt }) => (format!("重新连接中（第 {attempt} 次）…"), amber),
        Some(LinkState::Down { reason, retry_in_ms }) => {
            (format!("连接中断：{reason}；{:.1} 秒后重试", *retry_in_ms as f64 / 1000.0), red)
        }
        Some(LinkState::Connected) => match age {
            Some(a) if a > Duration::from_secs(10) => (format!("已连接，数据已 {} 秒未更新", a.as_secs()), amber),
            Some(a) => (format!("已连接 · 数据 {:.1} 秒前", a.as_secs_f64()), green),
            None => ("已连接，等待数据…".into(), amber),
        },
    }
}

fn role_name(r: Role) -> &'static str {
    match r {
        Role::Commander => "指挥长",
        Role::Dispatcher => "值班调度",
        Role::Operator => "值守",
        Role::GridWorker => "网格员",
        Role::Sensor => "传感器",
    }
}

/// "07:01:32", the server's time `ms` (Unix milliseconds) in China Standard Time.
pub fn clock_secs(ms: i64) -> String {
    let s = (ms + CST_OFFSET_MS).div_euclid(1000).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// "2026年11月23日 星期一", the date of `ms` in China Standard Time.
pub fn date_words(ms: i64) -> String {
    let days = (ms + CST_OFFSET_MS).div_euclid(86_400_000);
    let (y, m, d) = civil_date(days);
    const WEEK: [&str; 7] = ["一", "二", "三", "四", "五", "六", "日"];
    // 1970-01-01 was a Thursday.
    format!("{y}年{m}月{d}日 星期{}", WEEK[(days + 3).rem_euclid(7) as usize])
}

/// Year, month and day of the day `days` after 1970-01-01 in the proleptic Gregorian
/// calendar: counted in 400-year eras of 146,097 days, each year starting on 1 March so
/// that the leap day comes last.
fn civil_date(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468; // days since 0000-03-01
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The on-time rate in words.
pub fn rate_words(r: Option<f64>) -> String {
    r.map_or("—".into(), |r| format!("{:.1}%", r * 100.0))
}

/// Alarms listed in the alarm button's tooltip; the rest are counted.
const ALARM_LINES: usize = 12;

/// The status bar; what the operator asked of it, if anything.
pub fn status_bar(ui: &mut Ui, v: &StatusView<'_>) -> Option<StatusAsk> {
    let mut asked = None;
    let big = 14.0 * v.scale;
    ui.horizontal(|ui| {
        ui.label(RichText::new("一张网 OneGrid").strong().size(big + 2.0));
        ui.separator();
        let (words, color) = match v.link {
            // Live data comes after the map (one frame): its age says nothing until then.
            Some(LinkState::Connected) if v.map_coming => {
                ("已连接，正在接收地图…".into(), Color32::from_rgb(250, 190, 60))
            }
            _ => link_words(v.link, v.data_age),
        };
        ui.label(RichText::new("●").color(color).size(big));
        ui.label(RichText::new(words).color(color).size(big));
        if let Some(p) = v.problem {
            ui.label(RichText::new(p).color(Color32::from_rgb(255, 90, 90)).size(big));
        }
        if let Some(w) = pending_words(v.pending.0, v.pending.1) {
            let count = ui.label(RichText::new(format!("⏳ {w}")).color(Color32::from_rgb(250, 210, 90)).size(big));
            if !v.pending_lines.is_empty() {
                // One line each, unwrapped: wrapped at the tooltip's width, a long line left
                // its closing "…" alone on the next.
                count.on_hover_ui(|ui| {
                    ui.style_mut().wrap_mode = Some(TextWrapMode::Extend);
                    for line in v.pending_lines {
                        ui.label(line);
                    }
                });
            }
        }
        if v.link.is_some() {
            ui.label(RichText::new(v.url).weak().size(big * 0.8));
        }
        if let Some(u) = v.user {
            ui.separator();
            ui.label(RichText::new(format!("{}（{}）", u.name, role_name(u.role))).size(big));
        }
        let f = v.figures;
        let figures = if v.figures_inline {
            ui.separator();
            vec![
                ("在办", f.open.to_string(), Color32::LIGHT_GRAY),
                ("超时", f.overdue.to_string(), Color32::from_rgb(255, 100, 100)),
                ("吹哨", f.escalated.to_string(), Color32::from_rgb(255, 120, 210)),
                ("今日结案", f.closed_today.to_string(), Color32::from_rgb(130, 220, 130)),
                ("按时率", rate_words(f.on_time_rate), Color32::from_rgb(120, 200, 255)),
            ]
        } else {
            vec![]
        };
        for (k, val, c) in figures {
            ui.label(RichText::new(k).weak().size(big));
            ui.label(RichText::new(val).color(c).strong().size(big));
        }
        if v.figures_inline {
            ui.separator();
            ui.label(RichText::new(format!("人员 {} · 摄像机 {}", v.units, v.cameras)).weak().size(big));
        }
        if let Some(sound) = &v.sound {
            ui.separator();
            asked = sound_button(ui, sound, big).or(asked);
        }
        if !v.alarms.is_empty() {
            asked = alarm_buttons(ui, v.alarms, big).or(asked);
        }
        if let Some(now) = v.now {
            clock(ui, now, big);
        }
    });
    asked
}

/// The sound button: a click mutes or unmutes; its menu (a right click) chooses the kinds
/// of chime heard.
fn sound_button(ui: &mut Ui, v: &SoundView, big: f32) -> Option<StatusAsk> {
    let mut asked = None;
    let color = if v.on { Color32::LIGHT_GRAY } else { Color32::from_rgb(250, 190, 60) };
    let b = ui.add(egui::Button::new(RichText::new(&v.label).color(color).size(big)).frame(false));
    b.context_menu(|ui| {
        ui.label(RichText::new("提示哪些事件").weak());
        for c in Chime::ALL {
            let mut on = v.kinds.hears(c);
            if ui.checkbox(&mut on, c.label()).changed() {
                asked = Some(StatusAsk::Hear(c, on));
            }
        }
    });
    if b.on_hover_text(&v.tip).clicked() {
        asked = Some(StatusAsk::ToggleSound);
    }
    asked
}

/// The unacknowledged alarms' count (going to the most urgent) and "acknowledge all".
fn alarm_buttons(ui: &mut Ui, alarms: &[String], big: f32) -> Option<StatusAsk> {
    let mut asked = None;
    let red = Color32::from_rgb(255, 110, 150);
    let count =
        egui::Button::new(RichText::new(format!("⚠ 未确认告警 {}", alarms.len())).color(red).strong().size(big));
    let count = ui.add(count).on_hover_ui(|ui| {
        ui.style_mut().wrap_mode = Some(TextWrapMode::Extend);
        ui.label(RichText::new("点击转到最紧急的一件（并确认）").weak());
        for line in alarms.iter().take(ALARM_LINES) {
            ui.label(line);
        }
        if alarms.len() > ALARM_LINES {
            ui.label(RichText::new(format!("另有 {} 件", alarms.len() - ALARM_LINES)).weak());
        }
    });
    if count.clicked() {
        asked = Some(StatusAsk::NextAlarm);
    }
    let all = ui.add(egui::Button::new(RichText::new("全部确认").size(big * 0.85)));
    if all.on_hover_text("确认全部告警：不再重复提示").clicked() {
        asked = Some(StatusAsk::AcknowledgeAll);
    }
    asked
}

/// The city's time, flush right in the bar, with its date where there is room for both.
fn clock(ui: &mut Ui, now: i64, big: f32) {
    let galley = |ui: &Ui, t: RichText| {
        WidgetText::from(t).into_galley(ui, Some(TextWrapMode::Extend), f32::INFINITY, TextStyle::Body)
    };
    let time = galley(ui, RichText::new(clock_secs(now)).monospace().strong().size(big * 1.15));
    let date = galley(ui, RichText::new(date_words(now)).size(big).weak());
    let gap = ui.spacing().item_spacing.x;
    let with_date = date.size().x + gap + time.size().x;
    let room = ui.available_width() - gap;
    let (date, need) = if room >= with_date { (Some(date), with_date) } else { (None, time.size().x) };
    ui.add_space((room - need).max(0.0));
    if let Some(d) = date {
        ui.label(d);
    }
    ui.label(time).on_hover_text(date_words(now));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_and_the_date_are_the_citys() {
        // 2026-11-23 07:01:32 +08:00, a Monday (`date -d '2026-11-23 07:01:32 +0800' +%s`).
        let ms = 1_795_388_492_000;
        assert_eq!(clock_secs(ms), "07:01:32");
        assert_eq!(date_words(ms), "2026年11月23日 星期一");
        // A leap day's last second, and the next second the first of March.
        assert_eq!(date_words(951_839_999_000), "2000年2月29日 星期二");
        assert_eq!(clock_secs(951_839_999_000), "23:59:59");
        assert_eq!(date_words(951_840_000_000), "2000年3月1日 星期三");
        // Before 1970 and the UTC day boundary: noon of 1969-12-31 in the city.
        assert_eq!(date_words(-72_000_000), "1969年12月31日 星期三");
        assert_eq!(clock_secs(-72_000_000), "12:00:00");
        // Every day of four centuries follows the one before it.
        let mut last = civil_date(-1);
        for days in 0..146_097 {
            let (y, m, d) = civil_date(days);
            let next = if d == 1 { m == last.1 % 12 + 1 && (m != 1 || y == last.0 + 1) } else { (y, m, d - 1) == last };
            assert!(next, "{last:?} then {:?}", (y, m, d));
            last = (y, m, d);
        }
    }

    /// A bar with nothing in it but `figures`: connected, no user, nothing pending.
    fn plain_view(figures: &Figures) -> StatusView<'_> {
        StatusView {
            link: Some(&LinkState::Connected),
            url: "ws://127.0.0.1:9000",
            data_age: None,
            user: None,
            figures,
            units: 0,
            cameras: 0,
            problem: None,
            scale: 1.0,
            figures_inline: true,
            now: None,
            pending: (0, 0),
            pending_lines: &[],
            map_coming: false,
            sound: None,
            alarms: &[],
        }
    }

    #[test]
    fn the_bar_ends_with_the_citys_time_and_its_date_where_there_is_room() {
        use egui_kittest::kittest::Queryable;
        let figures = Figures {
            open: 27,
            overdue: 1,
            escalated: 1,
            closed_today: 3,
            on_time_rate: Some(0.5),
            unacknowledged: 1,
            response_median_ms: None,
        };
        let view = |inline: bool, now: Option<i64>| StatusView {
            data_age: Some(Duration::from_millis(200)),
            units: 574,
            cameras: 428,
            figures_inline: inline,
            now,
            ..plain_view(&figures)
        };
        let words = ["一张网 OneGrid", "ws://127.0.0.1:9000", "人员 574 · 摄像机 428"];
        for inline in [true, false] {
            // How far the bar's words reach without a clock.
            let mut h =
                egui_kittest::Harness::builder().with_size(bevy_egui::egui::vec2(2400.0, 40.0)).build_ui(|ui| {
                    status_bar(ui, &view(inline, None));
                });
            h.run();
            let words_end =
                words.iter().filter_map(|w| h.query_by_label(w)).map(|n| n.rect().right()).fold(0.0, f32::max);
            assert!(h.query_by_label_contains("07:01").is_none());
            // Room for the time and the date; then for the time alone.
            for (room, dated) in [(420.0, true), (110.0, false)] {
                let width = words_end + room;
                // 2026-11-23 07:01:32 +08:00.
                let v = view(inline, Some(1_795_388_492_000));
                let mut h =
                    egui_kittest::Harness::builder().with_size(bevy_egui::egui::vec2(width, 40.0)).build_ui(|ui| {
                        status_bar(ui, &v);
                    });
                h.run();
                let time = h.get_by_label("07:01:32").rect();
                assert!(
                    time.right() <= width + 0.5 && time.right() >= width - 24.0,
                    "{width}: not flush right: {time:?}"
                );
                assert!(words_end <= time.left(), "{width}: the clock covers the bar's words");
                let date = h.query_by_label("2026年11月23日 星期一");
                assert_eq!(date.is_some(), dated, "{width}: the date shown");
                if let Some(d) = date {
                    assert!(
                        words_end <= d.rect().left() && d.rect().right() <= time.left(),
                        "{width}: the date's place"
                    );
                }
            }
        }
    }

    #[test]
    fn the_link_reads_in_words() {
        assert!(link_words(Some(&LinkState::Connected), Some(Duration::from_millis(300))).0.starts_with("已连接"));
        assert!(link_words(Some(&LinkState::Connected), Some(Duration::from_secs(30))).0.contains("30 秒未更新"));
        let down = LinkState::Down { reason: "cannot connect".into(), retry_in_ms: 500 };
        let (w, c) = link_words(Some(&down), None);
        assert!(w.contains("cannot connect") && w.contains("0.5"));
        assert_eq!(c, Color32::from_rgb(255, 90, 90));
        assert_eq!(rate_words(Some(0.875)), "87.5%");
    }

    #[test]
    fn the_sound_button_says_where_sound_stands_and_is_pressed_to_mute() {
        use egui_kittest::kittest::Queryable;
        let figures = Figures::default();
        let pressed = std::cell::Cell::new(0);
        let sound = SoundView {
            label: "🔔 提示音".into(),
            tip: "新事件、超时、吹哨时提示：点击静音".into(),
            on: true,
            kinds: Kinds::default(),
        };
        let v = StatusView { sound: Some(sound), ..plain_view(&figures) };
        let asked = std::cell::RefCell::new(Vec::new());
        let mut h = egui_kittest::Harness::builder().with_size(bevy_egui::egui::vec2(2400.0, 40.0)).build_ui(|ui| {
            match status_bar(ui, &v) {
                Some(StatusAsk::ToggleSound) => pressed.set(pressed.get() + 1),
                Some(a) => asked.borrow_mut().push(a),
                None => {}
            }
        });
        h.run();
        assert_eq!(pressed.get(), 0);
        h.get_by_label("🔔 提示音").click();
        h.run();
        assert_eq!(pressed.get(), 1, "the press is the bar's answer");
        // Its menu: the kinds heard, each to switch off (or on).
        h.get_by_label("🔔 提示音").click_secondary();
        h.run();
        h.get_by_label("新事件").click();
        h.run();
        assert_eq!(asked.borrow().as_slice(), [StatusAsk::Hear(Chime::New, false)]);
        assert_eq!(pressed.get(), 1, "the menu is not a press");
        let quiet = StatusView { sound: None, ..plain_view(&figures) };
        let mut h = egui_kittest::Harness::builder().with_size(bevy_egui::egui::vec2(2400.0, 40.0)).build_ui(|ui| {
            status_bar(ui, &quiet);
        });
        h.run();
        assert!(h.query_by_label_contains("提示音").is_none(), "no sound, no button (the bench)");
    }

    #[test]
    fn unacknowledged_alarms_are_counted_and_go_to_the_first_or_are_all_acknowledged() {
        use egui_kittest::kittest::Queryable;
        let figures = Figures::default();
        let lines: Vec<String> = (1..=14).map(|k| format!("#{k} 超时 道路不洁 思明 中华")).collect();
        let v = StatusView { alarms: &lines, ..plain_view(&figures) };
        let asked = std::cell::RefCell::new(Vec::new());
        let mut h = egui_kittest::Harness::builder().with_size(bevy_egui::egui::vec2(2400.0, 40.0)).build_ui(|ui| {
            asked.borrow_mut().extend(status_bar(ui, &v));
        });
        h.run();
        assert!(asked.borrow().is_empty());
        h.get_by_label("⚠ 未确认告警 14").hover();
        h.run();
        assert!(h.query_by_label("#1 超时 道路不洁 思明 中华").is_some(), "the tooltip lists them");
        assert!(h.query_by_label("#13 超时 道路不洁 思明 中华").is_none(), "twelve of them");
        assert!(h.query_by_label("另有 2 件").is_some(), "and counts the rest");
        h.get_by_label("⚠ 未确认告警 14").click();
        h.run();
        h.get_by_label("全部确认").click();
        h.run();
        assert_eq!(asked.borrow().as_slice(), [StatusAsk::NextAlarm, StatusAsk::AcknowledgeAll]);
        drop(h);
        let none = plain_view(&figures);
        let mut h = egui_kittest::Harness::builder().with_size(bevy_egui::egui::vec2(2400.0, 40.0)).build_ui(|ui| {
            status_bar(ui, &none);
        });
        h.run();
        assert!(
            h.query_by_label_contains("告警").is_none() && h.query_by_label("全部确认").is_none(),
            "no alarm, no button"
        );
    }

    #[test]
    fn unanswered_commands_are_counted_in_the_bar() {
        assert_eq!(pending_words(0, 0), None);
        assert_eq!(pending_words(2, 0).as_deref(), Some("待确认 2"));
        assert_eq!(pending_words(1, 1).as_deref(), Some("待发送 1"));
        assert_eq!(pending_words(3, 1).as_deref(), Some("待确认 2 · 待发送 1"));
    }

    #[test]
    fn while_the_map_comes_the_link_says_so_and_not_that_data_is_stale() {
        use egui_kittest::kittest::Queryable;
        let figures = Figures::default();
        let view = |map_coming: bool| StatusView {
            data_age: Some(Duration::from_secs(25)),
            map_coming,
            ..plain_view(&figures)
        };
        for (coming, words) in [(true, "已连接，正在接收地图…"), (false, "已连接，数据已 25 秒未更新")]
        {
            let v = view(coming);
            let mut h =
                egui_kittest::Harness::builder().with_size(bevy_egui::egui::vec2(2400.0, 40.0)).build_ui(|ui| {
                    status_bar(ui, &v);
                });
            h.run();
            assert!(h.query_by_label(words).is_some(), "{words}");
        }
    }

    #[test]
    fn the_count_lists_what_awaits_the_server_on_hover() {
        use egui_kittest::kittest::Queryable;
        let figures = Figures::default();
        let lines = [
            "⏳ 登记 消防隐患（上次运行时）：未连接，已暂存本机 37 分钟，恢复连接后自动发送…".to_owned(),
            "⏳ 受理 #4：连接中断，恢复后自动重发…".to_owned(),
        ];
        let down = LinkState::Down { reason: "gone".into(), retry_in_ms: 500 };
        let view = StatusView { link: Some(&down), pending: (2, 1), pending_lines: &lines, ..plain_view(&figures) };
        let mut h = egui_kittest::Harness::builder().with_size(bevy_egui::egui::vec2(2400.0, 40.0)).build_ui(|ui| {
            status_bar(ui, &view);
        });
        h.run();
        assert!(h.query_by_label_contains("登记 消防隐患").is_none(), "not before the pointer is on the count");
        h.get_by_label("⏳ 待确认 1 · 待发送 1").hover();
        for _ in 0..60 {
            h.step();
        }
        let long = h.get_by_label_contains("登记 消防隐患（上次运行时）：未连接").rect();
        let short = h.get_by_label_contains("受理 #4：连接中断").rect();
        // Each on one line, the long one too (wrapped, its "…" went alone to a second line).
        assert!((long.height() - short.height()).abs() < 1.0, "{long:?} against {short:?}");
        assert!(long.width() > short.width());
    }
}
