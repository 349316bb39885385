//! Attendance (过程监督, 二(三); 七(三) 凡补必进、不进不补): check-in events of a class's
//! sessions taken in a stream from sign-in devices and uploads, and explicit, reasoned
//! corrections.
//!
//! Intake is built for bursts at session start: each request message is one chunk of one class.
//! A chunk is validated in memory, the class, its sessions and its roster are read once, the
//! events already stored are found by their ids in one query, and the accepted events go in
//! multi-row INSERTs, in one transaction per chunk that is acknowledged once committed. No
//! transaction is open while the stream is read. An event's id makes a resend harmless: the
//! same id with the same content is REPLAYED, with other content EVENT_ID_REUSED. Chunks of one
//! class take turns (`class/{id}`) with roster changes and corrections, so what a chunk checks
//! holds when it commits.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use prost::Message as _;
use qiancheng_api::convert::FromProto as _;
use qiancheng_api::supervision::*;
use qiancheng_api::{ResponseStream, Rpc as _};
use qiancheng_domain::ValueError;
use qiancheng_domain::lifecycle::{ClassState, TraineeState};
use qiancheng_platform::auth::Principal;
use qiancheng_platform::error::Violations;
use qiancheng_platform::stream::ChunkEnd;
use qiancheng_platform::time::{new_id, now_micros};
use qiancheng_platform::{Call, Error, write};
use serde_json::json;
use sha2::{Digest as _, Sha256};
use tonic::Streaming;

use crate::Supervision;
use crate::access::{self, Scope};
use crate::store::attendance::{self as store, AttendanceRow, CorrectionRecord};
use crate::store::class_change::{self as feed, ChangeKind};
use crate::store::session::{self as sessions, MAX_SESSION_HOURS, SessionRecord};
use crate::store::trainee;

/// The most check-ins one request message (a chunk) carries.
pub const MAX_EVENTS_PER_CHUNK: usize = 1_000;
/// The most check-ins one stream takes; the rest of the stream is refused.
pub const MAX_EVENTS_PER_STREAM: usize = 200_000;

/// What a stream has done so far.
#[derive(Debug, Default)]
struct Tally {
    chunks: i32,
    events: usize,
    stored: i32,
    replayed: i32,
    refused: i32,
}

impl Tally {
    fn count(&mut self, results: &[CheckInResult]) {
        for r in results {
            match CheckInStatus::try_from(r.status) {
                Ok(CheckInStatus::Stored) => self.stored += 1,
                Ok(CheckInStatus::Replayed) => self.replayed += 1,
                _ => self.refused += 1,
            }
        }
    }
}

/// StreamAttendance: check-in events, a chunk per request message, each chunk acknowledged with
/// a result per event once committed.
pub async fn stream_attendance(
    s: &Supervision,
    call: Call<Streaming<StreamAttendanceRequest>>,
) -> Result<ResponseStream<StreamAttendanceResponse>, Error> {
    let scope = access::provider_scope(&call.principal)?;
    let s = s.clone();
    s.streams.clone().acknowledging(call, |principal, mut stream, acks| async move {
        let mut tally = Tally::default();
        loop {
            let (mut messages, end) = s.streams.read_chunk(&mut stream, 1).await;
            if let Some(message) = messages.pop() {
                tally.chunks += 1;
                let results = intake(&s, &principal, &scope, message, &mut tally).await?;
                tally.count(&results);
                let ack = StreamAttendanceResponse {
                    chunk: tally.chunks,
                    results,
                    stored: tally.stored,
                    replayed: tally.replayed,
                    refused: tally.refused,
                };
                // A client that stopped listening ends the stream; what is committed stays.
                if !acks.send(ack).await {
                    return Ok(());
                }
            }
            if end == ChunkEnd::Finished {
                return Ok(());
            }
            if let Some(error) =
                end.into_error("every chunk acknowledged before is stored; send the rest again with the same event ids")
            {
                return Err(error);
            }
        }
    })
}

/// A refused check-in's result.
fn refused(event_id: &str, reason: &str, field: &str, message: impl Into<String>) -> CheckInResult {
    CheckInResult {
        event_id: event_id.chars().take(64).collect(),
        status: CheckInStatus::Refused as i32,
        reason: reason.to_owned(),
        field: field.to_owned(),
        message: message.into(),
    }
}

/// The result of a second check-in of a trainee for one session.
fn already_attended(event_id: &str) -> CheckInResult {
    refused(
        event_id,
        "ATTENDANCE_EXISTS",
        "trainee",
        "the trainee's attendance of this session is recorded already; correct it with CorrectAttendance",
    )
}

/// Now, as the checks of a chunk see it: the latest instant a check-in may be dated (the clock
/// plus the leeway for device clocks) and today.
struct Now {
    latest_micros: i64,
    today: NaiveDate,
}

/// The person a check-in names, as sent.
enum Who {
    Trainee(String),
    /// The person's ID-number hash under each data key a roster row may still carry.
    Person(Vec<String>),
}

/// A check-in that passed the checks made in memory.
struct Parsed {
    index: usize,
    event_id: String,
    session_id: String,
    who: Who,
    day: NaiveDate,
    micros: i64,
    device: String,
    hours: u32,
    method: store::Method,
    hash: String,
}

/// Checks a check-in on its own (no database), naming the first field at fault.
fn parse_event(s: &Supervision, class_id: &str, index: usize, event: &CheckIn) -> Result<Parsed, CheckInResult> {
    let id = event.event_id.as_str();
    if let Some(field) = qiancheng_api::Texts::first_bad_text(event, &qiancheng_platform::call::acceptable_text) {
        return Err(refused(id, "TEXT", &field, "text must have no control characters"));
    }
    if id.is_empty() || id.chars().count() > 64 {
        return Err(refused(id, "EVENT_ID", "event_id", "an event id has 1 to 64 characters"));
    }
    if event.device.chars().count() > 64 {
        return Err(refused(id, "TEXT-LENGTH", "device", "at most 64 characters"));
    }
    let session_id = match access::child_of(&event.session, "sessions", "session") {
        Ok((class, session)) if class == class_id => session.to_owned(),
        _ => return Err(refused(id, "ATTENDANCE_SESSION", "session", "name a session of the chunk's class")),
    };
    let who = match (event.trainee.is_empty(), event.id_number.is_empty()) {
        (false, true) => match access::child_of(&event.trainee, "trainees", "trainee") {
            Ok((class, trainee)) if class == class_id => Who::Trainee(trainee.to_owned()),
            _ => return Err(refused(id, "ELIG-REALNAME", "trainee", "name a trainee of the chunk's class")),
        },
        (true, false) => match qiancheng_domain::IdNumber::parse(&event.id_number) {
            Ok(number) => Who::Person(s.pii.lookup_hashes(number.as_str())),
            Err(e) => return Err(refused(id, e.rule, "id_number", e.reason)),
        },
        _ => return Err(refused(id, "REQUIRED", "trainee", "give exactly one of trainee and id_number")),
    };
    let Some(day) = qiancheng_domain::day_in_china(event.checked_in_micros)
        .filter(|d| (2000..=9999).contains(&chrono::Datelike::year(d)))
    else {
        return Err(refused(id, "ATTENDANCE_DATE", "checked_in_micros", "not an instant of the years 2000 to 9999"));
    };
    if !(0..=MAX_SESSION_HOURS).contains(&event.hours) {
        return Err(refused(id, "SESSION_HOURS", "hours", format!("0 (the whole session) to {MAX_SESSION_HOURS}")));
    }
    let Ok(method) = store::Method::from_proto(event.method) else {
        return Err(refused(id, "ENUM", "method", "face, fingerprint, QR code or manual"));
    };
    let method = method.unwrap_or(store::Method::Unspecified);
    Ok(Parsed {
        index,
        event_id: id.to_owned(),
        session_id,
        who,
        day,
        micros: event.checked_in_micros,
        device: event.device.clone(),
        hours: u32::try_from(event.hours).unwrap_or(0),
        method,
        hash: hex::encode(Sha256::digest(event.encode_to_vec())),
    })
}

/// Stores one chunk of check-ins in one transaction and returns a result per event, in order.
/// A chunk the caller cannot store at all (a class not theirs, or not running) gets every event
/// refused with why; only a fault of the service ends the stream.
async fn intake(
    s: &Supervision,
    principal: &Principal,
    scope: &Scope,
    message: StreamAttendanceRequest,
    tally: &mut Tally,
) -> Result<Vec<CheckInResult>, Error> {
    let room = MAX_EVENTS_PER_STREAM.saturating_sub(tally.events);
    tally.events = tally.events.saturating_add(message.events.len());
    let whole_chunk = |reason: &str, message_text: &str, events: &[CheckIn]| -> Vec<CheckInResult> {
        events.iter().map(|e| refused(&e.event_id, reason, "", message_text)).collect()
    };
    if message.events.len() > MAX_EVENTS_PER_CHUNK || message.events.len() > room {
        return Ok(whole_chunk(
            "ATTENDANCE_LIMIT",
            &format!(
                "a chunk carries at most {MAX_EVENTS_PER_CHUNK} check-ins and a stream {MAX_EVENTS_PER_STREAM}; \
                 nothing of this chunk was stored"
            ),
            &message.events,
        ));
    }
    match store_chunk(s, principal, scope, &message).await {
        Ok(results) => Ok(results),
        Err(error) if !error.is_fault() => {
            let status = error.to_status(StreamAttendanceRequest::PACKAGE, StreamAttendanceRequest::METHOD);
            let reason = tonic_types::StatusExt::get_error_details(&status)
                .error_info()
                .map(|i| i.reason.clone())
                .unwrap_or_default();
            Ok(whole_chunk(&reason, status.message(), &message.events))
        }
        Err(error) => Err(error),
    }
}

/// The transaction of one chunk (see the module docs).
async fn store_chunk(
    s: &Supervision,
    principal: &Principal,
    scope: &Scope,
    message: &StreamAttendanceRequest,
) -> Result<Vec<CheckInResult>, Error> {
    if !qiancheng_platform::call::acceptable_text(&message.class) {
        return Err(Error::invalid("class", "TEXT", "text must have no control characters"));
    }
    let class_id = access::id_of(&message.class, "classes", "class")?;
    let mut results: Vec<Option<CheckInResult>> = vec![None; message.events.len()];
    let mut parsed = Vec::with_capacity(message.events.len());
    for (index, event) in message.events.iter().enumerate() {
        match parse_event(s, class_id, index, event) {
            Ok(p) => parsed.push(p),
            Err(result) => results[index] = Some(result),
        }
    }
    // PROV-DISQUALIFIED: a disqualified provider's check-ins are refused, and its classes stop.
    let provider = access::provider_org(principal)?;
    crate::standing::gate(s, &provider, crate::standing::WhenUnreachable::Proceed).await?;
    let mut change = write::Change::open(s, &principal.subject).await?;
    change.serialize_on(&format!("class/{class_id}")).await?;
    let class = access::class_by_id(&mut *change.tx, scope, class_id, &message.class).await?;
    // Each check-in is refused on its own when the class is not running (ATTENDANCE_UNACKNOWLEDGED,
    // ATTENDANCE_STOPPED, CLASS_STATE), dated after now (ATTENDANCE_FUTURE) or for a session whose
    // day has not come (ATTENDANCE_NOT_YET).
    let now = Now {
        latest_micros: s.now_micros().saturating_add(s.options().checkin_leeway_secs.saturating_mul(1_000_000)),
        today: s.today(),
    };
    let held: HashMap<String, SessionRecord> =
        sessions::of_class(&mut *change.tx, &class.id).await?.into_iter().map(|r| (r.id.clone(), r)).collect();
    let members = trainee::roster_members(&mut change.tx, &class.id).await?;
    let by_id: HashMap<&str, &trainee::RosterMember> = members.iter().map(|m| (m.id.as_str(), m)).collect();
    let by_person: HashMap<&str, &trainee::RosterMember> =
        members.iter().map(|m| (m.person_hash.as_str(), m)).collect();
    let event_ids: Vec<&str> = parsed.iter().map(|p| p.event_id.as_str()).collect();
    let known = store::known_events(&mut change.tx, &class.id, &event_ids).await?;
    // A trainee's attendance of a session is recorded once: pairs within the chunk are checked
    // here, pairs already stored by the database's unique key.
    let mut attended = HashSet::new();
    let mut in_chunk: HashMap<&str, &str> = HashMap::new();
    let received = now_micros();
    let mut rows = Vec::new();
    let mut indexes = Vec::new();
    for p in &parsed {
        match decide(p, &class, &now, &held, &by_id, &by_person, &known, &mut in_chunk, &mut attended) {
            Ok((trainee_id, hours)) => {
                rows.push(AttendanceRow {
                    class_id: class.id.clone(),
                    event_id: p.event_id.clone(),
                    session_id: p.session_id.clone(),
                    trainee_id,
                    checked_in_micros: p.micros,
                    device: p.device.clone(),
                    reported_hours: i64::from(p.hours),
                    hours,
                    event_hash: p.hash.clone(),
                    source: store::Source::Device,
                    recorded_by: principal.subject.clone(),
                    received_micros: received,
                    method: p.method,
                });
                indexes.push(p.index);
            }
            Err(result) => results[p.index] = Some(result),
        }
    }
    if !rows.is_empty() {
        // The usual chunk holds only new pairs and goes in as it is. A pair stored before (a
        // second device saw the trainee) fails the whole INSERT, which is undone; the stored
        // pairs are then read and their check-ins refused.
        let attempt = change.savepoint(async |c| store::insert_many(&mut c.tx, &rows).await).await;
        let mut kept = vec![true; rows.len()];
        match attempt {
            Ok(()) => {}
            // A trainee's attendance of a session stored already.
            Err(error) if qiancheng_platform::db::is_unique_violation(&error) => {
                let touched: HashSet<&str> = rows.iter().map(|r| r.session_id.as_str()).collect();
                let touched: Vec<&str> = touched.into_iter().collect();
                let stored = store::attended_pairs(&mut change.tx, &class.id, &touched).await?;
                for (keep, row) in kept.iter_mut().zip(&rows) {
                    *keep = !stored.contains(&(row.session_id.clone(), row.trainee_id.clone()));
                }
                let fresh: Vec<AttendanceRow> =
                    rows.iter().zip(&kept).filter(|(_, keep)| **keep).map(|(r, _)| r.clone()).collect();
                store::insert_many(&mut change.tx, &fresh).await?;
            }
            Err(error) => return Err(error),
        }
        for ((row, index), keep) in rows.iter().zip(indexes).zip(&kept) {
            results[index] = Some(if *keep {
                CheckInResult {
                    event_id: row.event_id.clone(),
                    status: CheckInStatus::Stored as i32,
                    ..Default::default()
                }
            } else {
                already_attended(&row.event_id)
            });
        }
        let mut keeps = kept.iter();
        rows.retain(|_| keeps.next().copied().unwrap_or(false));
    }
    if !rows.is_empty() {
        change.audit_under(
            &class.policy_version,
            "attendance.intake",
            class.name(),
            // Each stored row keeps its event id, device, sender and times; the chain records the chunk.
            json!({ "stored": rows.len(), "first_event": rows.first().map(|r| &r.event_id),
                "last_event": rows.last().map(|r| &r.event_id),
                "sessions": rows.iter().map(|r| r.session_id.as_str()).collect::<HashSet<_>>().len() }),
        );
        crate::watch::after_attendance(s, &mut change, &class, &rows).await?;
    }
    change.commit().await?;
    Ok(results.into_iter().map(Option::unwrap_or_default).collect())
}

/// What becomes of one check-in that passed the checks in memory: the trainee and hours to store,
/// or its result.
#[allow(clippy::too_many_arguments)]
fn decide<'a>(
    p: &'a Parsed,
    class: &crate::store::class::ClassRecord,
    now: &Now,
    held: &HashMap<String, SessionRecord>,
    by_id: &HashMap<&str, &trainee::RosterMember>,
    by_person: &HashMap<&str, &trainee::RosterMember>,
    known: &HashMap<String, String>,
    in_chunk: &mut HashMap<&'a str, &'a str>,
    attended: &mut HashSet<(String, String)>,
) -> Result<(String, i64), CheckInResult> {
    let id = p.event_id.as_str();
    // A resend: the same id and content is the same event; other content under the id is refused.
    let earlier = known.get(id).map(String::as_str).or_else(|| in_chunk.get(id).copied());
    if let Some(hash) = earlier {
        return Err(if hash == p.hash {
            CheckInResult { event_id: id.to_owned(), status: CheckInStatus::Replayed as i32, ..Default::default() }
        } else {
            refused(id, "EVENT_ID_REUSED", "event_id", "the event id was used before for another check-in")
        });
    }
    match class.state {
        ClassState::Acknowledged => {}
        ClassState::Filed => {
            return Err(refused(
                id,
                "ATTENDANCE_UNACKNOWLEDGED",
                "session",
                "the class's filing is not acknowledged by the county yet; no attendance is taken before",
            ));
        }
        ClassState::Stopped => {
            return Err(refused(id, "ATTENDANCE_STOPPED", "session", "the class was stopped; it takes no attendance"));
        }
        ClassState::Completed => {
            return Err(refused(id, "CLASS_STATE", "session", "the class has completed; it takes no attendance"));
        }
    }
    if p.micros > now.latest_micros {
        return Err(refused(
            id,
            "ATTENDANCE_FUTURE",
            "checked_in_micros",
            "the check-in is dated after now (beyond the leeway for device clocks); attendance is taken as it happens",
        ));
    }
    let Some(session) = held.get(&p.session_id) else {
        return Err(refused(id, "ATTENDANCE_SESSION", "session", "the class has no such session"));
    };
    if session.held_on > now.today {
        return Err(refused(
            id,
            "ATTENDANCE_NOT_YET",
            "session",
            format!("the session is held on {}; its day has not come", session.held_on),
        ));
    }
    // 凡补必进、不进不补: only people on the real-name roster attend.
    let member = match &p.who {
        Who::Trainee(t) => by_id.get(t.as_str()),
        Who::Person(hashes) => hashes.iter().find_map(|hash| by_person.get(hash.as_str())),
    };
    let Some(member) = member else {
        return Err(refused(id, "ELIG-REALNAME", "trainee", "the person is not on the class's real-name roster"));
    };
    if p.day < class.first_day || p.day > class.last_day {
        return Err(refused(
            id,
            "ATTENDANCE_DATE",
            "checked_in_micros",
            format!("{} is outside the class's dates, {} to {}", p.day, class.first_day, class.last_day),
        ));
    }
    if p.day != session.held_on {
        return Err(refused(
            id,
            "ATTENDANCE_DATE",
            "checked_in_micros",
            format!("the check-in is on {}, the session on {}", p.day, session.held_on),
        ));
    }
    if member.state == TraineeState::Withdrawn && member.terminated_on.is_some_and(|on| p.day >= on) {
        return Err(refused(id, "TRAINEE_STATE", "trainee", "the trainee had withdrawn by that day"));
    }
    if p.hours > session.hours {
        return Err(refused(id, "SESSION_HOURS", "hours", format!("the session has {} hours", session.hours)));
    }
    if !attended.insert((session.id.clone(), member.id.clone())) {
        return Err(already_attended(id));
    }
    in_chunk.insert(id, &p.hash);
    let hours = if p.hours == 0 { session.hours } else { p.hours };
    Ok((member.id.clone(), i64::from(hours)))
}

/// CorrectAttendance: an explicit, reasoned correction of one trainee's hours of one session.
pub async fn correct_attendance(
    s: &Supervision,
    call: Call<CorrectAttendanceRequest>,
) -> Result<CorrectAttendanceResponse, Error> {
    let scope = access::record_scope(&call.principal)?;
    let m = &call.message;
    let mut v = Violations::default();
    let session = v.value(
        "session",
        access::child_of(&m.session, "sessions", "session")
            .map_err(|_| ValueError::new("RESOURCE-NAME", "not a session")),
    );
    let person = v.value(
        "trainee",
        access::child_of(&m.trainee, "trainees", "trainee")
            .map_err(|_| ValueError::new("RESOURCE-NAME", "not a trainee")),
    );
    let reason = m.reason.trim().to_owned();
    if let (Some((a, _)), Some((b, _))) = (session, person)
        && a != b
    {
        v.add("trainee", "RESOURCE-NAME", "the session and the trainee are of one class");
    }
    v.finish()?;
    let (Some((class_id, session_id)), Some((_, trainee_id))) = (session, person) else {
        return Err(Error::invalid("session", "REQUIRED", "a session and a trainee are required"));
    };
    let actor = call.principal.subject.clone();
    let today = s.today();
    write::run(s, &call, async |change| {
        change.serialize_on(&format!("class/{class_id}")).await?;
        let class = access::class_by_id(&mut *change.tx, &scope, class_id, &format!("classes/{class_id}")).await?;
        class.require_running("have its attendance changed")?;
        let session = sessions::find(&mut *change.tx, &class.id, session_id)
            .await?
            .ok_or_else(|| Error::NotFound(m.session.clone()))?;
        let person = trainee::find(&mut *change.tx, &class.id, trainee_id)
            .await?
            .ok_or_else(|| Error::NotFound(m.trainee.clone()))?;
        if !person.on_roster() {
            return Err(Error::precondition("ELIG-REALNAME", "the person is not on the class's real-name roster"));
        }
        let hours = i64::from(m.hours);
        if hours > i64::from(session.hours) {
            return Err(Error::invalid("hours", "SESSION_HOURS", format!("the session has {} hours", session.hours)));
        }
        let correction_id = new_id();
        let before = store::of_pair(&mut change.tx, &session.id, &person.id).await?;
        match &before {
            Some((event_id, _)) => store::set_hours(&mut change.tx, &class.id, event_id, hours).await?,
            None => {
                let row = AttendanceRow {
                    class_id: class.id.clone(),
                    event_id: format!("correction/{correction_id}"),
                    session_id: session.id.clone(),
                    trainee_id: person.id.clone(),
                    checked_in_micros: 0,
                    device: String::new(),
                    reported_hours: 0,
                    hours,
                    event_hash: String::new(),
                    source: store::Source::Correction,
                    recorded_by: actor.clone(),
                    received_micros: now_micros(),
                    method: store::Method::Unspecified,
                };
                store::insert_many(&mut change.tx, &[row]).await?;
            }
        }
        let record = CorrectionRecord {
            id: correction_id,
            class_id: class.id.clone(),
            session_id: session.id.clone(),
            trainee_id: person.id.clone(),
            had_record: before.is_some(),
            previous_hours: before.as_ref().map_or(0, |(_, h)| *h),
            hours,
            reason: reason.clone(),
            corrected_by: actor.clone(),
            create_time_micros: now_micros(),
        };
        store::insert_correction(&mut change.tx, &record).await?;
        feed::note(change, ChangeKind::AttendanceCorrected, &class, Some(&person.id), today, &actor).await?;
        change.audit_under(
            &class.policy_version,
            "attendance.correct",
            record.name(),
            json!({ "session": session.name(), "trainee": person.name(), "had_record": record.had_record,
                "previous_hours": record.previous_hours, "hours": hours, "reason": reason }),
        );
        Ok(CorrectAttendanceResponse { correction: Some(record.to_proto()) })
    })
    .await
}
