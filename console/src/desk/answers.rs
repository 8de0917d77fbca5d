//! What comes back for the desk: the server's acks, refusals and query results, what the
//! network thread says became of a command (held, sent again, given up, restored from a
//! former run), and commands left unanswered too long, turned into pending entries,
//! notices and the panels' data.

use std::time::{Duration, Instant};

use bevy::prelude::*;
use onegrid_protocol::{Command, QueryResult, ServerMsg};

use super::{Asked, Desk, Intent, Pending, refusal_words};
use crate::net::{CommandFate, Fate, Link, LinkState, NetNotice, Restored, ServerEvent, Undelivered};

#[allow(clippy::too_many_arguments)]
pub(super) fn take_answers(
    mut events: MessageReader<ServerEvent>,
    mut lost: MessageReader<Undelivered>,
    mut fates: MessageReader<CommandFate>,
    mut restored: MessageReader<Restored>,
    mut said: MessageReader<NetNotice>,
    mut desk: ResMut<Desk>,
    mut intents: MessageWriter<Intent>,
    mut fetched: MessageWriter<crate::live::FetchedIncident>,
) {
    for NetNotice { text, error } in said.read() {
        desk.notice(text.clone(), *error, None);
    }
    // Before their fates: a command a former run left is pending again first.
    for r in restored.read() {
        desk.pending.push(restored_pending(r));
    }
    // Before the answers: a command is resent before its answer can come (the network
    // thread hands both over in that order, and both may arrive in one frame).
    for CommandFate { req, fate } in fates.read() {
        let Some(i) = desk.pending.iter().position(|p| &p.req == req) else { continue };
        match fate {
            Fate::Held => {
                desk.pending[i].held = true;
                let what = desk.pending[i].what.clone();
                desk.notice(format!("{what}：未连接，已暂存本机，恢复连接后自动发送"), false, None);
            }
            Fate::Sent => {
                let p = &mut desk.pending[i];
                p.held = false;
                p.sent = Instant::now();
            }
            Fate::Resent => {
                let p = &mut desk.pending[i];
                p.resent = true;
                p.sent = Instant::now();
            }
            Fate::Unconfirmed => {
                let p = desk.pending.remove(i);
                desk.failed(
                    p,
                    "连接中断，未获确认，也未重发（断线过久、服务器不支持重发或已更换），是否已办理不明，请核对事件状态"
                        .into(),
                );
            }
        }
    }
    for ServerEvent(msg) in events.read() {
        match msg {
            ServerMsg::Ack { req, incident, repeated, .. } => {
                if let Some(i) = desk.pending.iter().position(|p| &p.req == req) {
                    let p = desk.pending.remove(i);
                    // A repeat: the first sending had been applied; its ack was lost with the link.
                    let how = if *repeated { "已确认（断线前已办理）" } else { "已确认" };
                    match (p.report, *incident) {
                        (true, Some(id)) => {
                            if let Some(t) = p.ticket {
                                desk.reported = Some((t, Ok(id)));
                            }
                            desk.notice(format!("{}：{how}，事件 #{id}", p.what), false, Some(id));
                            intents.write(Intent::SelectIncident(id));
                        }
                        _ => desk.notice(format!("{}：{how}", p.what), false, p.incident),
                    }
                } else if let Some(Asked::Acknowledge(id)) = desk.asked.remove(req) {
                    info!("the alarm of incident {id} is acknowledged for every desk");
                }
            }
            ServerMsg::Error { req: Some(req), code, message } => {
                if let Some(i) = desk.pending.iter().position(|p| &p.req == req) {
                    let p = desk.pending.remove(i);
                    desk.failed(p, format!("被拒绝 — {}（{message}）", refusal_words(*code)));
                } else if let Some(asked) = desk.asked.remove(req) {
                    let words = refusal_words(*code);
                    match asked {
                        Asked::Incident(id) => {
                            desk.fly_when_held = desk.fly_when_held.filter(|f| *f != id);
                            desk.notice(format!("调取事件 #{id} 失败 — {words}（{message}）"), true, Some(id));
                        }
                        // The map draws the line straight meanwhile.
                        Asked::Ways(_) => {}
                        // Acknowledged elsewhere first, or no longer standing: the
                        // incident says so. Not the officer's concern.
                        Asked::Acknowledge(id) => {
                            warn!("acknowledging the alarm of incident {id} was refused: {message}");
                        }
                        _ => desk.notice(format!("查询失败 — {words}（{message}）"), true, None),
                    }
                }
            }
            ServerMsg::Error { req: None, message, .. } => desk.notice(format!("服务器：{message}"), true, None),
            ServerMsg::Result { req, result } => match (desk.asked.remove(req), result) {
                (Some(Asked::Nearest(id)), QueryResult::Nearest { units }) => desk.nearest = Some((id, units.clone())),
                (Some(Asked::Matched(id, skill)), QueryResult::Nearest { units }) => {
                    desk.matched = Some((id, skill, units.clone()));
                }
                (Some(Asked::Cameras(id)), QueryResult::Cameras { cameras }) => {
                    desk.linked_cameras = Some((id, cameras.clone()));
                }
                (Some(Asked::Track(u)), QueryResult::Track { points, .. }) => desk.track = Some((u, points.clone())),
                (Some(Asked::Ways(id)), QueryResult::Ways { ways }) => desk.ways = Some((id, ways.clone())),
                (Some(Asked::Incident(id)), QueryResult::Incident { incident }) if incident.id == id => {
                    fetched.write(crate::live::FetchedIncident((**incident).clone()));
                }
                _ => {}
            },
            _ => {}
        }
    }
    for Undelivered(req) in lost.read() {
        if let Some(i) = desk.pending.iter().position(|p| &p.req == req) {
            let mut p = desk.pending.remove(i);
            // A held report given up: the link (or the console) stayed down past the hold
            // window. Its form closed when it was held; its words go back into one.
            let span = crate::ui::intake::hold_words();
            let why = match (p.held, p.content.take()) {
                (true, Some(report)) => {
                    desk.retake.push(report);
                    format!("暂存超过 {span}仍未能发送；内容已恢复到登记表，请核对后重新提交")
                }
                (true, None) => format!("暂存超过 {span}仍未能发送，请重新提交"),
                (false, _) => "连接中断，未发送".to_owned(),
            };
            desk.failed(p, why);
        }
        desk.asked.remove(req);
    }
}

/// A command a former run of the console left unanswered, pending again: what it acts on
/// is read off the command; its words say where it comes from.
fn restored_pending(r: &Restored) -> Pending {
    let mut p = Pending::new(format!("{}（上次运行时）", r.what));
    p.req = r.req.clone();
    p.asked = Instant::now().checked_sub(r.asked_ago).unwrap_or(p.asked);
    p.held = !r.written;
    p.resent = r.written;
    match &r.cmd {
        Command::Accept(a)
        | Command::Start(a)
        | Command::Feedback(a)
        | Command::Verify(a)
        | Command::Close(a)
        | Command::Return(a)
        | Command::Reopen(a)
        | Command::Escalate(a) => p.incident = Some(a.incident),
        Command::Dispatch(d) => p.incident = Some(d.incident),
        Command::SetStatus { unit, .. } => p.unit = Some(*unit),
        // Sent without a key, never kept in the outbox; here for completeness.
        Command::Acknowledge { incident, .. } => p.incident = Some(*incident),
        Command::Report(r) => {
            p.report = true;
            p.content = p.held.then(|| r.clone());
        }
        Command::Position(_) => {}
    }
    p
}

/// A command unanswered this long while connected is reported as unconfirmed. While the
/// link is down the clock does not run: the network thread holds the command and sends
/// it again on reconnecting (then the clock starts over).
const PENDING_TIMEOUT: Duration = Duration::from_secs(15);

pub(super) fn expire_pending(mut desk: ResMut<Desk>, link: Option<Res<Link>>) {
    if link.is_some_and(|l| l.state != LinkState::Connected) {
        let now = Instant::now();
        for p in &mut desk.pending {
            p.sent = now;
        }
        return;
    }
    let expired: Vec<Pending> = desk.pending.iter().filter(|p| p.sent.elapsed() > PENDING_TIMEOUT).cloned().collect();
    for p in expired {
        desk.pending.retain(|q| q.req != p.req);
        desk.failed(p, format!("{} 秒未获确认，请核对事件状态", PENDING_TIMEOUT.as_secs()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use onegrid_protocol::Act;

    #[test]
    fn what_a_former_run_left_is_pending_again_and_its_outcome_said() {
        let mut app = App::new();
        app.add_plugins(MinimalPlugins).init_resource::<Desk>();
        app.add_message::<ServerEvent>()
            .add_message::<Undelivered>()
            .add_message::<CommandFate>()
            .add_message::<Restored>()
            .add_message::<NetNotice>()
            .add_message::<Intent>()
            .add_message::<crate::live::FetchedIncident>()
            .add_systems(Update, take_answers);
        let report = crate::testing::hotline_report();
        let restored = |req: &str, cmd: Command, written: bool| Restored {
            req: req.into(),
            what: format!("登记 {req}"),
            cmd,
            written,
            asked_ago: Duration::from_secs(20 * 60),
        };
        app.world_mut().write_message(restored("o1", Command::Report(report.clone()), false));
        app.world_mut().write_message(restored("o2", Command::Report(report), true));
        app.world_mut().write_message(restored(
            "o3",
            Command::Accept(Act { incident: 9, note: String::new(), unit: None }),
            true,
        ));
        app.world_mut()
            .write_message(NetNotice { text: "上次运行遗留的未发送操作无法读取".into(), error: true });
        app.update();
        let desk = app.world().resource::<Desk>();
        let shown: Vec<_> = desk.pending.iter().map(|p| (p.what.as_str(), p.held, p.report, p.incident)).collect();
        assert_eq!(
            shown,
            [
                ("登记 o1（上次运行时）", true, true, None),
                ("登记 o2（上次运行时）", false, true, None),
                ("登记 o3（上次运行时）", false, false, Some(9)),
            ]
        );
        assert!(desk.notices[0].error && desk.notices[0].text.contains("无法读取"));
        assert_eq!(
            desk.pending[0].waiting_words(false),
            "⏳ 登记 o1（上次运行时）：未连接，已暂存本机 20 分钟，恢复连接后自动发送…",
            "held since the former run asked for it"
        );

        // The held one was too old to send; the sent one is answered with its incident.
        app.world_mut().write_message(Undelivered("o1".into()));
        app.world_mut().write_message(ServerEvent(ServerMsg::Ack {
            req: "o2".into(),
            seq: Some(3),
            incident: Some(5),
            repeated: true,
        }));
        app.update();
        let desk = app.world().resource::<Desk>();
        let texts: Vec<&str> = desk.notices.iter().take(2).map(|n| n.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "登记 o1（上次运行时）：暂存超过 1 天仍未能发送；内容已恢复到登记表，请核对后重新提交",
                "登记 o2（上次运行时）：已确认（断线前已办理），事件 #5"
            ]
        );
        assert_eq!(desk.pending.len(), 1);
        assert!(desk.reported.is_none(), "no form of this run sent it");
        assert_eq!(desk.retake.len(), 1, "the report given up is to be written again");
        assert_eq!(desk.retake[0].category, "0201");

        // This run's report, held, is said so; given up, it goes back to the form too.
        let mine = crate::testing::hotline_report();
        let p = Pending {
            req: "c1".into(),
            ticket: Some(4),
            report: true,
            content: Some(mine.clone()),
            ..Pending::new("登记 c1".into())
        };
        app.world_mut().resource_mut::<Desk>().pending.push(p);
        app.world_mut().write_message(CommandFate { req: "c1".into(), fate: Fate::Held });
        app.update();
        let desk = app.world().resource::<Desk>();
        assert_eq!(desk.notices[0].text, "登记 c1：未连接，已暂存本机，恢复连接后自动发送");
        assert!(desk.report_pending(4).is_some_and(|p| p.held));
        app.world_mut().write_message(Undelivered("c1".into()));
        app.update();
        let desk = app.world().resource::<Desk>();
        assert_eq!(desk.retake.len(), 2);
        assert_eq!(desk.retake[1], mine);
    }
}
