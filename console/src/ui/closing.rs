//! The question asked when the console is closed while commands await the server: those
//! already sent are decided by the server whatever the console does, but those held for a
//! link that is down are sent only if the console is opened again within a day (it keeps
//! them in its outbox), or lost with it where it keeps no outbox. A plain function of
//! the counts that returns the user's answer.

use bevy_egui::egui::{self, Color32, RichText, Ui};

/// Asks whether to close with `waiting` commands unanswered, `held` of them not yet sent;
/// `kept`: the console keeps them in an outbox for its next run. `Some(true)`: close
/// anyway; `Some(false)`: keep the console open; `None`: not yet answered.
pub fn close_dialog(ui: &mut Ui, waiting: usize, held: usize, kept: bool) -> Option<bool> {
    let mut out = None;
    ui.heading("关闭控制台？");
    ui.label(format!("还有 {waiting} 项操作在等服务器确认。"));
    if held > 0 {
        let words = if kept {
            format!(
                "其中 {held} 项因连接中断尚未发送：已存于本机，{}内重新打开控制台，连接恢复即自动发送。",
                crate::ui::intake::hold_words()
            )
        } else {
            format!("其中 {held} 项因连接中断尚未发送，关闭后将丢失。")
        };
        ui.label(RichText::new(words).color(Color32::from_rgb(255, 150, 80)));
    }
    if held < waiting {
        ui.label(RichText::new("已发送的以服务器为准，重新打开后可在队列中核对。").weak());
    }
    ui.add_space(6.0);
    ui.horizontal(|ui| {
        if ui.button("仍然关闭").clicked() {
            out = Some(true);
        }
        if ui.button("取消").clicked() {
            out = Some(false);
        }
    });
    out
}

/// Shows [`close_dialog`] as a modal over the console; clicking beside it or Esc keeps the
/// console open.
pub fn close_modal(ctx: &egui::Context, waiting: usize, held: usize, kept: bool) -> Option<bool> {
    let id = egui::Id::new("close-guard");
    // Above the map's readouts and pins, which are drawn in the foreground too.
    let area = egui::Modal::default_area(id).order(egui::Order::Tooltip);
    let modal = egui::Modal::new(id).area(area).show(ctx, |ui| close_dialog(ui, waiting, held, kept));
    if modal.should_close() { Some(modal.inner.unwrap_or(false)) } else { modal.inner }
}

#[cfg(test)]
mod tests {
    use super::*;
    use egui_kittest::Harness;
    use egui_kittest::kittest::Queryable;

    fn answer(waiting: usize, held: usize, click: Option<&str>) -> (Option<bool>, Vec<&'static str>) {
        answer_kept(waiting, held, false, click)
    }

    fn answer_kept(waiting: usize, held: usize, kept: bool, click: Option<&str>) -> (Option<bool>, Vec<&'static str>) {
        let mut out = None;
        let mut h = Harness::new_ui(|ui| out = close_dialog(ui, waiting, held, kept).or(out));
        let lines = [
            "其中 1 项因连接中断尚未发送，关闭后将丢失。",
            "其中 1 项因连接中断尚未发送：已存于本机，1 天内重新打开控制台，连接恢复即自动发送。",
            "已发送的以服务器为准，重新打开后可在队列中核对。",
        ];
        let shown: Vec<&'static str> = lines.into_iter().filter(|l| h.query_by_label(l).is_some()).collect();
        if let Some(b) = click {
            h.get_by_label(b).click();
            h.run();
        }
        drop(h);
        (out, shown)
    }

    #[test]
    fn the_question_says_what_would_be_lost_and_takes_the_answer() {
        let (none, shown) = answer(2, 1, None);
        assert_eq!(none, None);
        assert_eq!(shown.len(), 2, "one held (lost), one sent (the server decides)");
        assert_eq!(answer(1, 1, Some("仍然关闭")), (Some(true), vec!["其中 1 项因连接中断尚未发送，关闭后将丢失。"]));
        assert_eq!(answer(1, 0, Some("取消")).0, Some(false));
        let (_, shown) = answer_kept(1, 1, true, None);
        assert_eq!(shown, ["其中 1 项因连接中断尚未发送：已存于本机，1 天内重新打开控制台，连接恢复即自动发送。"]);
    }
}
