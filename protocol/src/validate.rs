//! Limits and validators that sit next to the types: what a well-formed message may carry.
//! The server checks these before it looks at any state.

use geo_types::Point;

use crate::lifecycle::Action;
use crate::messages::{Act, ClientMsg, Command, Dispatch, Query, Report};

/// Largest client frame the server reads, in bytes.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// Largest frame a server sends, and so the least a client must be ready to read: the
/// `map` answer, which for a whole city is tens of megabytes (Xiamen's 177,400 cells, every
/// district, street and community, both nets and the roads). A server refuses to start on a
/// map whose answer would be larger.
pub const MAX_SERVER_FRAME_BYTES: usize = 256 << 20;
/// Longest description or note, in characters.
pub const MAX_TEXT_CHARS: usize = 2_000;
/// Most attachments on one report.
pub const MAX_ATTACHMENTS: usize = 16;
/// Most units in one dispatch.
pub const MAX_DISPATCH_UNITS: usize = 20;
/// Most results of a `nearest` query.
pub const MAX_NEAREST: usize = 50;
/// Longest request id, in bytes.
pub const MAX_REQ_BYTES: usize = 64;
/// Longest idempotency key, in bytes.
pub const MAX_KEY_BYTES: usize = 64;
/// Longest map digest a `map_part` query may name, in bytes.
pub const MAX_DIGEST_BYTES: usize = 64;
/// Longest a client may say it held a report before sending it (`Report::held_ms`): a day,
/// in real milliseconds. A client gives up (and hands back to its operator) a report held
/// longer than this.
pub const MAX_HELD_MS: u32 = 24 * 3_600_000;
/// Furthest back the server dates a held report (`Report::held_ms`), in real milliseconds:
/// a client's word on when it took a report is trusted this far, so that a link that drops
/// for a moment does not shift a matter's time limits, while a client's clock or a held
/// report cannot make a matter overdue on arrival. A report held longer keeps its client's
/// word in `Incident::taken_at`.
pub const MAX_BACKDATE_MS: u32 = 120_000;
/// How long the server remembers a command's idempotency key: 24 hours of its clock.
pub const KEY_RETENTION_MS: i64 = 24 * 3_600_000;

/// A message that is well-formed JSON but breaks a limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

fn check(ok: bool, msg: impl FnOnce() -> String) -> Result<(), Invalid> {
    if ok { Ok(()) } else { Err(Invalid(msg())) }
}

fn check_point(p: Point, what: &str) -> Result<(), Invalid> {
    check(p.x().is_finite() && p.y().is_finite() && p.x().abs() <= 180.0 && p.y().abs() <= 90.0, || {
        format!("{what} is not a longitude/latitude: ({}, {})", p.x(), p.y())
    })
}

fn check_text(s: &str, what: &str) -> Result<(), Invalid> {
    check(s.chars().count() <= MAX_TEXT_CHARS, || format!("{what} is longer than {MAX_TEXT_CHARS} characters"))
}

impl Report {
    fn validate(&self) -> Result<(), Invalid> {
        check(!self.category.is_empty(), || "category is empty".into())?;
        check_point(self.location, "location")?;
        check((1..=4).contains(&self.severity), || format!("severity must be 1 to 4, not {}", self.severity))?;
        check(!self.description.trim().is_empty(), || "description is empty".into())?;
        check_text(&self.description, "description")?;
        check(self.attachments.len() <= MAX_ATTACHMENTS, || format!("more than {MAX_ATTACHMENTS} attachments"))?;
        check(self.held_ms <= MAX_HELD_MS, || format!("held_ms is more than {MAX_HELD_MS}"))
    }
}

impl Act {
    fn validate(&self, action: Action) -> Result<(), Invalid> {
        check_text(&self.note, "note")?;
        check(self.unit.is_none() || action == Action::Start, || format!("{action} names no unit; only start does"))?;
        check(!action.needs_reason() || !self.note.trim().is_empty(), || format!("{action} needs a reason in `note`"))
    }
}

impl Dispatch {
    fn validate(&self) -> Result<(), Invalid> {
        check(!self.units.is_empty(), || "dispatch names no unit".into())?;
        check(self.units.len() <= MAX_DISPATCH_UNITS, || {
            format!("dispatch names more than {MAX_DISPATCH_UNITS} units")
        })?;
        check_text(&self.note, "note")
    }
}

impl Command {
    /// The lifecycle action and incident of a step command, if it is one.
    pub fn action(&self) -> Option<(Action, &Act)> {
        let pair = match self {
            Command::Accept(a) => (Action::Accept, a),
            Command::Start(a) => (Action::Start, a),
            Command::Feedback(a) => (Action::Feedback, a),
            Command::Verify(a) => (Action::Verify, a),
            Command::Close(a) => (Action::Close, a),
            Command::Return(a) => (Action::Return, a),
            Command::Reopen(a) => (Action::Reopen, a),
            Command::Escalate(a) => (Action::Escalate, a),
            Command::Report(_) | Command::Dispatch(_) | Command::Position(_) => return None,
            Command::SetStatus { .. } | Command::Acknowledge { .. } => return None,
        };
        Some(pair)
    }

    /// Checks the command's own fields.
    pub fn validate(&self) -> Result<(), Invalid> {
        match self {
            Command::Report(r) => r.validate(),
            Command::Dispatch(d) => d.validate(),
            Command::Position(p) => {
                check_point(p.location, "location")?;
                check(p.heading_deg.is_finite(), || "heading is not a number".into())
            }
            Command::SetStatus { .. } => Ok(()),
            Command::Acknowledge { note, .. } => check_text(note, "note"),
            step => match step.action() {
                Some((action, act)) => act.validate(action),
                None => Ok(()),
            },
        }
    }
}

impl ClientMsg {
    /// Checks a decoded message's fields against the limits.
    pub fn validate(&self) -> Result<(), Invalid> {
        match self {
            ClientMsg::Command { req, cmd, key } => {
                check(req.len() <= MAX_REQ_BYTES, || format!("req is longer than {MAX_REQ_BYTES} bytes"))?;
                if let Some(key) = key {
                    check(!key.is_empty() && key.len() <= MAX_KEY_BYTES, || {
                        format!("key must be 1 to {MAX_KEY_BYTES} bytes")
                    })?;
                    check(key.chars().all(|c| c.is_ascii_graphic()), || {
                        "key must be printable ASCII without spaces".into()
                    })?;
                }
                cmd.validate()
            }
            ClientMsg::Query { req, q } => {
                check(req.len() <= MAX_REQ_BYTES, || format!("req is longer than {MAX_REQ_BYTES} bytes"))?;
                match q {
                    Query::Locate { location, .. } | Query::Cameras { location } => check_point(*location, "location"),
                    Query::Nearest { location, k, .. } => {
                        check_point(*location, "location")?;
                        check((1..=MAX_NEAREST).contains(k), || format!("k must be 1 to {MAX_NEAREST}"))
                    }
                    Query::Reach { location, units } | Query::Ways { location, units } => {
                        check_point(*location, "location")?;
                        check((1..=MAX_NEAREST).contains(&units.len()), || {
                            format!("units must name 1 to {MAX_NEAREST}")
                        })
                    }
                    Query::MapPart { digest, .. } => check(digest.len() <= MAX_DIGEST_BYTES, || {
                        format!("digest is longer than {MAX_DIGEST_BYTES} bytes")
                    }),
                    Query::Incident { .. } | Query::Track { .. } | Query::Map { .. } => Ok(()),
                }
            }
            ClientMsg::Subscribe { layers, .. } => check(!layers.is_empty(), || "subscribe names no layer".into()),
            ClientMsg::Hello { .. } | ClientMsg::Ping { .. } => Ok(()),
        }
    }
}

/// How a raw frame failed to decode: the error code to answer with and the words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// Not JSON or the wrong shape.
    BadFrame(String),
    /// A `type` the protocol does not have.
    UnknownType(String),
    /// Over [`MAX_FRAME_BYTES`].
    TooLarge(usize),
    /// Well-formed but breaks a limit.
    Invalid(String),
}

/// Decodes and validates one client text frame.
pub fn decode_client(text: &str) -> Result<ClientMsg, DecodeError> {
    if text.len() > MAX_FRAME_BYTES {
        return Err(DecodeError::TooLarge(text.len()));
    }
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| DecodeError::BadFrame(format!("not JSON: {e}")))?;
    let kind = value.get("type").and_then(|t| t.as_str()).map(str::to_owned);
    let Some(kind) = kind else {
        return Err(DecodeError::BadFrame("no string field `type`".into()));
    };
    const KNOWN: [&str; 5] = ["hello", "subscribe", "command", "query", "ping"];
    if !KNOWN.contains(&kind.as_str()) {
        return Err(DecodeError::UnknownType(kind));
    }
    let msg: ClientMsg =
        serde_json::from_value(value).map_err(|e| DecodeError::BadFrame(format!("bad `{kind}` message: {e}")))?;
    msg.validate().map_err(|e| DecodeError::Invalid(e.0))?;
    Ok(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_type_is_named_in_the_error() {
        let err = decode_client(r#"{"type":"teleport"}"#).expect_err("unknown");
        assert_eq!(err, DecodeError::UnknownType("teleport".into()));
    }

    #[test]
    fn broken_json_is_a_bad_frame() {
        assert!(matches!(decode_client("{\"type\":"), Err(DecodeError::BadFrame(_))));
        assert!(matches!(decode_client("[1,2]"), Err(DecodeError::BadFrame(_))));
    }

    #[test]
    fn oversized_frame_is_refused_before_parsing() {
        let big = format!("{{\"type\":\"ping\",\"pad\":\"{}\"}}", "x".repeat(MAX_FRAME_BYTES));
        assert!(matches!(decode_client(&big), Err(DecodeError::TooLarge(_))));
    }

    #[test]
    fn escalate_without_reason_is_invalid() {
        let text = r#"{"type":"command","req":"1","cmd":{"op":"escalate","incident":3}}"#;
        let err = decode_client(text).expect_err("needs reason");
        assert_eq!(err, DecodeError::Invalid("escalate needs a reason in `note`".into()));
    }

    #[test]
    fn only_a_start_names_the_unit_it_is_for() {
        let start = r#"{"type":"command","req":"1","cmd":{"op":"start","incident":3,"unit":5}}"#;
        let Ok(ClientMsg::Command { cmd: Command::Start(act), .. }) = decode_client(start) else { panic!("a start") };
        assert_eq!(act.unit, Some(5));
        let without = r#"{"type":"command","req":"1","cmd":{"op":"start","incident":3}}"#;
        assert!(matches!(
            decode_client(without),
            Ok(ClientMsg::Command { cmd: Command::Start(Act { unit: None, .. }), .. })
        ));
        let feedback = r#"{"type":"command","req":"1","cmd":{"op":"feedback","incident":3,"unit":5}}"#;
        let err = decode_client(feedback).expect_err("feedback names no unit");
        assert_eq!(err, DecodeError::Invalid("feedback names no unit; only start does".into()));
    }

    #[test]
    fn report_with_severity_out_of_range_is_invalid() {
        let text = r#"{"type":"command","req":"1","cmd":{"op":"report","category":"0101",
            "location":{"x":118.09,"y":24.46},"source":"citizen","description":"x","severity":9}}"#;
        assert!(matches!(decode_client(text), Err(DecodeError::Invalid(_))));
    }

    #[test]
    fn nan_coordinates_are_invalid() {
        let text = r#"{"type":"query","req":"q","q":{"q":"nearest","location":{"x":1e999,"y":0},"k":3}}"#;
        assert!(decode_client(text).is_err());
    }

    #[test]
    fn a_command_key_is_optional_and_bounded() {
        let with =
            |key: &str| format!(r#"{{"type":"command","req":"1","key":{key},"cmd":{{"op":"accept","incident":3}}}}"#);
        let plain = r#"{"type":"command","req":"1","cmd":{"op":"accept","incident":3}}"#;
        match decode_client(plain).expect("no key") {
            ClientMsg::Command { key, .. } => assert_eq!(key, None),
            other => panic!("{other:?}"),
        }
        match decode_client(&with(r#""a1b2-7""#)).expect("a key") {
            ClientMsg::Command { key, .. } => assert_eq!(key.as_deref(), Some("a1b2-7")),
            other => panic!("{other:?}"),
        }
        for bad in [r#""""#.to_owned(), format!("\"{}\"", "k".repeat(MAX_KEY_BYTES + 1)), r#""a b""#.to_owned()] {
            assert!(matches!(decode_client(&with(&bad)), Err(DecodeError::Invalid(_))), "{bad}");
        }
        let longest = format!("\"{}\"", "k".repeat(MAX_KEY_BYTES));
        assert!(decode_client(&with(&longest)).is_ok());
    }
}
