//! Deciding: a command from an authenticated user, checked against role, scope and the
//! current state, becomes events or a refusal with a reason. Nothing here changes state.

use onegrid_protocol::coord::to_wgs84;
use onegrid_protocol::{
    Action, Command, ErrorCode, Incident, IncidentState, Level, Millis, Stage, Step, UnitId, UnitStatus, UserInfo,
};

use super::event::Event;
use super::state::WorldState;
use crate::city::City;

/// Who is acting, and from where.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    /// The authenticated user.
    pub user: &'a UserInfo,
    /// The client's address, or `server` for the clock's rules.
    pub origin: &'a str,
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Machine-readable reason.
    pub code: ErrorCode,
    /// Words for a person.
    pub message: String,
}

fn refuse<T>(code: ErrorCode, message: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal { code, message: message.into() })
}

/// The deadline of the stage the state starts, from the category's limits.
pub fn deadline(city: &City, category: &str, state: IncidentState, now: Millis) -> Option<Millis> {
    let stage = state.stage()?;
    let minutes = city.responsibility.get(category).map_or(60, |c| c.limits_mins.minutes(stage));
    Some(now + i64::from(minutes) * 60_000)
}

/// Decides `cmd` for `actor` at `now`; a report its client held longer than the server
/// dates back carries the client's word on when it was taken (`taken_at`). Position
/// commands are not decided here.
pub fn decide(
    world: &WorldState,
    city: &City,
    actor: Actor<'_>,
    cmd: &Command,
    now: Millis,
    taken_at: Option<Millis>,
) -> Result<Vec<Event>, Refusal> {
    match cmd {
        Command::Report(r) => {
            let location = to_wgs84(r.location, r.datum);
            let Some(category) = city.responsibility.get(&r.category) else {
                return refuse(ErrorCode::NotFound, format!("no category `{}` in the responsibility list", r.category));
            };
            let Some(placement) = city.cells.locate(location) else {
                return refuse(
                    ErrorCode::OutsideCity,
                    format!("({:.6}, {:.6}) lies outside the city's grid", location.x(), location.y()),
                );
            };
            if !actor.user.scope.contains(placement) {
                return refuse(ErrorCode::OutOfScope, format!("{} is outside your scope", placement.street_name));
            }
            let state = IncidentState::Reported;
            let incident = Incident {
                id: world.next_incident_id(),
                category: category.code.clone(),
                location,
                source: r.source,
                description: r.description.clone(),
                attachments: r.attachments.clone(),
                severity: r.severity,
                scale: r.scale,
                state,
                placement: (**placement).clone(),
                department: category.department.clone(),
                level: category.level,
                units: Vec::new(),
                reported_at: now,
                taken_at,
                deadline: deadline(city, &category.code, state, now),
                overdue: false,
                overdue_count: 0,
                history: vec![step(actor, "report", state, now, &r.description)],
            };
            Ok(vec![Event::Reported { incident: Box::new(incident) }])
        }
        Command::Dispatch(d) => {
            let inc = incident_for(world, actor, d.incident, Action::Dispatch)?;
            for id in &d.units {
                let Some(u) = world.units.get(id) else {
                    return refuse(ErrorCode::NotFound, format!("no unit {id}"));
                };
                if !actor.user.scope.contains(&u.home) {
                    return refuse(ErrorCode::OutOfScope, format!("unit {id} ({}) is outside your scope", u.name));
                }
                if u.status != UnitStatus::Available {
                    return refuse(
                        ErrorCode::Invalid,
                        format!("unit {id} ({}) is not available: {:?}", u.name, u.status),
                    );
                }
            }
            let mut event = stepped(city, actor, inc, Action::Dispatch, &d.note, now)?;
            if let Event::Stepped { units, .. } = &mut event {
                units.clone_from(&d.units);
            }
            Ok(vec![event])
        }
        Command::SetStatus { unit, status } => {
            let Some(u) = world.units.get(unit) else { return refuse(ErrorCode::NotFound, format!("no unit {unit}")) };
            may_act_for_unit(actor, u.id, &u.home)?;
            if !matches!(status, UnitStatus::Available | UnitStatus::OffDuty) {
                return refuse(ErrorCode::Invalid, "a unit can only be set available or off duty; tasks set the rest");
            }
            if u.task.is_some() {
                return refuse(
                    ErrorCode::Invalid,
                    format!("unit {unit} is on incident {}", u.task.unwrap_or_default()),
                );
            }
            Ok(vec![Event::UnitStatus { unit: *unit, status: *status, at: now }])
        }
        Command::Acknowledge { incident, note } => {
            let inc = live_incident(world, *incident)?;
            actor.user.may_acknowledge(inc).map_err(|(code, message)| Refusal { code, message })?;
            if inc.alarm_causes().is_empty() {
                return refuse(
                    ErrorCode::IllegalTransition,
                    format!("incident {incident} has no alarm standing to acknowledge"),
                );
            }
            if let Some(s) = inc.acknowledgement() {
                return refuse(
                    ErrorCode::IllegalTransition,
                    match s.by_name.as_str() {
                        "" => format!("incident {incident}'s alarm was acknowledged by {} already", s.by),
                        name => format!("incident {incident}'s alarm was acknowledged by {name} ({}) already", s.by),
                    },
                );
            }
            let step = step(actor, onegrid_protocol::ACKNOWLEDGE_STEP, inc.state, now, note);
            Ok(vec![Event::Acknowledged { id: *incident, step }])
        }
        Command::Position(_) => refuse(ErrorCode::Internal, "positions are not decided as events"),
        step_cmd => {
            let Some((action, act)) = step_cmd.action() else {
                return refuse(ErrorCode::Internal, "unhandled command");
            };
            let inc = incident_for(world, actor, act.incident, action)?;
            // The step's own legality first, then which unit it brings.
            let mut event = stepped(city, actor, inc, action, &act.note, now)?;
            let arrived = if action == Action::Start { arriving(world, actor, inc, act.unit)? } else { Vec::new() };
            if let Event::Stepped { units, .. } = &mut event {
                *units = arrived;
            }
            Ok(vec![event])
        }
    }
}

/// The units a `start` puts on the scene: the one it names (a dispatcher recording an
/// arrival told by radio), or else the acting unit itself; from a desk naming none, every
/// unit of the matter still on its way, which only the first start may do (on a matter in
/// hand, which unit came must be said).
fn arriving(
    world: &WorldState,
    actor: Actor<'_>,
    inc: &Incident,
    named: Option<UnitId>,
) -> Result<Vec<UnitId>, Refusal> {
    let on_the_way =
        |id: &UnitId| world.units.get(id).is_some_and(|u| u.task == Some(inc.id) && u.status == UnitStatus::EnRoute);
    let Some(id) = named.or(actor.user.unit.filter(|u| inc.units.contains(u))) else {
        if inc.state.keeps_clock(Action::Start) {
            return refuse(
                ErrorCode::Invalid,
                format!("incident {} is in hand already: name the unit that arrived", inc.id),
            );
        }
        return Ok(inc.units.iter().copied().filter(on_the_way).collect());
    };
    let Some(u) = world.units.get(&id) else { return refuse(ErrorCode::NotFound, format!("no unit {id}")) };
    if named.is_some() {
        may_act_for_unit(actor, id, &u.home)?;
    }
    if u.task == Some(inc.id) && u.status == UnitStatus::OnScene {
        return refuse(
            ErrorCode::IllegalTransition,
            format!("unit {id} ({}) is on the scene of incident {} already", u.name, inc.id),
        );
    }
    if !inc.units.contains(&id) || !on_the_way(&id) {
        return refuse(ErrorCode::Invalid, format!("unit {id} ({}) is not on its way to incident {}", u.name, inc.id));
    }
    Ok(vec![id])
}

fn step(actor: Actor<'_>, action: &str, state: IncidentState, now: Millis, note: &str) -> Step {
    Step {
        action: action.to_owned(),
        state,
        by: actor.user.id.clone(),
        by_name: actor.user.name.clone(),
        at: now,
        origin: actor.origin.to_owned(),
        note: note.to_owned(),
        units: Vec::new(),
    }
}

/// Checks that the actor may take `action` on incident `id`, and returns it.
fn incident_for<'w>(world: &'w WorldState, actor: Actor<'_>, id: u64, action: Action) -> Result<&'w Incident, Refusal> {
    let inc = live_incident(world, id)?;
    actor.user.may_step(inc, action).map_err(|(code, message)| Refusal { code, message })?;
    Ok(inc)
}

/// Incident `id`, if the world holds it (not archived, not unknown).
fn live_incident(world: &WorldState, id: u64) -> Result<&Incident, Refusal> {
    let Some(inc) = world.incidents.get(&id) else {
        if world.is_archived(id) {
            // Its last state is in the archive, to read; a matter that came back is a new
            // report, with its own time limits.
            return refuse(
                ErrorCode::IllegalTransition,
                format!("incident {id} was closed long ago and is archived; report the matter anew"),
            );
        }
        return refuse(ErrorCode::NotFound, format!("no incident {id}"));
    };
    Ok(inc)
}

fn may_act_for_unit(actor: Actor<'_>, unit: u32, home: &onegrid_protocol::Placement) -> Result<(), Refusal> {
    actor.user.may_act_for_unit(unit, home).map_err(|(code, message)| Refusal { code, message })
}

/// Whether the actor may send positions for `unit`.
pub fn may_move(actor: Actor<'_>, world: &WorldState, unit: u32) -> Result<(), Refusal> {
    let Some(u) = world.units.get(&unit) else { return refuse(ErrorCode::NotFound, format!("no unit {unit}")) };
    may_act_for_unit(actor, unit, &u.home)
}

/// A lifecycle step event, with the new level and deadline.
pub fn stepped(
    city: &City,
    actor: Actor<'_>,
    inc: &Incident,
    action: Action,
    note: &str,
    now: Millis,
) -> Result<Event, Refusal> {
    let next =
        inc.state.apply(action).map_err(|e| Refusal { code: ErrorCode::IllegalTransition, message: e.to_string() })?;
    let level = if action == Action::Escalate {
        match inc.level.up() {
            Some(l) => l,
            None => {
                return refuse(ErrorCode::IllegalTransition, format!("incident {} is already at city level", inc.id));
            }
        }
    } else {
        inc.level
    };
    Ok(Event::Stepped {
        id: inc.id,
        action,
        step: step(actor, action.name(), next, now, note),
        units: Vec::new(),
        level,
        // More units to a matter already sent to, or one of them arriving, keeps its
        // stage's clock (`IncidentState::keeps_clock`).
        deadline: if inc.state.keeps_clock(action) { inc.deadline } else { deadline(city, &inc.category, next, now) },
    })
}

/// The clock's rule: every stage whose deadline has passed is marked overdue; a matter
/// late before feedback and handled below the district is escalated one level (吹哨).
pub fn overdue_events(world: &WorldState, city: &City, system: &UserInfo, now: Millis) -> Vec<Event> {
    let mut events = Vec::new();
    let actor = Actor { user: system, origin: "server" };
    for &(due, id) in world.deadlines.iter().take_while(|(due, _)| *due <= now) {
        let Some(inc) = world.incidents.get(&id) else { continue };
        let Some(stage) = inc.state.stage() else { continue };
        events.push(Event::Overdue { id, stage, at: due });
        let early = matches!(stage, Stage::Accept | Stage::Dispatch | Stage::Arrive | Stage::Handle);
        if early && inc.level < Level::District && inc.state.apply(Action::Escalate).is_ok() {
            let note = format!("{} 阶段超时，按规则自动吹哨上报", stage_name(stage));
            if let Ok(e) = stepped(city, actor, inc, Action::Escalate, &note, now) {
                events.push(e);
            }
        }
    }
    events
}

fn stage_name(stage: Stage) -> &'static str {
    match stage {
        Stage::Accept => "受理",
        Stage::Dispatch => "派遣",
        Stage::Arrive => "到场",
        Stage::Handle => "处置",
        Stage::Verify => "核查",
        Stage::Close => "结案",
    }
}
