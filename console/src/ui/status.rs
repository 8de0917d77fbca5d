//! The status bar: the link (connected, reconnecting, down and why), how old the data is,
//! who is signed in, and the key figures. Always visible, at the desk and on the wall.

use std::time::Duration;

use bevy_egui::egui::{Color32, RichText, Ui};
use onegrid_protocol::{Role, UserInfo};

use crate::live::Figures;
use crate::net::LinkState;

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

/// The on-time rate in words.
pub fn rate_words(r: Option<f64>) -> String {
    r.map_or("—".into(), |r| format!("{:.1}%", r * 100.0))
}

/// The status bar.
pub fn status_bar(ui: &mut Ui, v: &StatusView<'_>) {
    let big = 14.0 * v.scale;
    ui.horizontal(|ui| {
        ui.label(RichText::new("一张网 OneGrid").strong().size(big + 2.0));
        ui.separator();
        let (words, color) = link_words(v.link, v.data_age);
        ui.label(RichText::new("●").color(color).size(big));
        ui.label(RichText::new(words).color(color).size(big));
        if let Some(p) = v.problem {
            ui.label(RichText::new(p).color(Color32::from_rgb(255, 90, 90)).size(big));
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
    });
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
