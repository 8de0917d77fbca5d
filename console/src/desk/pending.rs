//! A command sent and not yet answered, as the desk shows it: what it does, when it went,
//! whether it waits for the link or was sent again.

use std::time::Instant;

use onegrid_protocol::{IncidentId, Report, UnitId};

/// A command sent and not yet answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    /// Request id.
    pub req: String,
    /// The incident it acts on.
    pub incident: Option<IncidentId>,
    /// The ticket of a report (of the intake form that sent it in this run).
    pub ticket: Option<u64>,
    /// A report: its answer names the incident the server made.
    pub report: bool,
    /// A report's words, to be written again should it be held and then given up (the
    /// form closes once a report is held, so that the next caller can be taken).
    pub content: Option<Report>,
    /// The unit it acts for.
    pub unit: Option<UnitId>,
    /// What, in words.
    pub what: String,
    /// When it was sent (last sent again).
    pub sent: Instant,
    /// When it was asked for (by a former run, for one taken up from the outbox).
    pub asked: Instant,
    /// Sent again after a reconnect.
    pub resent: bool,
    /// Held by the network thread while the link is down, to be sent when it is back.
    pub held: bool,
}

impl Pending {
    /// A command about to be sent, described by `what`.
    pub(super) fn new(what: String) -> Self {
        Pending {
            req: String::new(),
            incident: None,
            ticket: None,
            report: false,
            content: None,
            unit: None,
            what,
            sent: Instant::now(),
            asked: Instant::now(),
            resent: false,
            held: false,
        }
    }

    /// Where it stands, for the panels.
    pub fn waiting_words(&self, connected: bool) -> String {
        match (connected, self.held, self.resent) {
            (_, true, _) => {
                // Through a long outage, how long it has waited (reports wait up to a day).
                let minutes = (self.asked.elapsed().as_secs() / 60) as u32;
                let waited = if minutes == 0 {
                    String::new()
                } else {
                    format!(" {}", crate::ui::intake::minutes_words(minutes))
                };
                format!("⏳ {}：未连接，已暂存本机{waited}，恢复连接后自动发送…", self.what)
            }
            (false, false, _) => format!("⏳ {}：连接中断，恢复后自动重发…", self.what),
            (true, false, true) => format!("⏳ {}：已重发，等待服务器确认…", self.what),
            (true, false, false) => format!("⏳ {}：等待服务器确认…", self.what),
        }
    }
}
