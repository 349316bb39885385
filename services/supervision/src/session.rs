//! Teaching sessions (课次) of a class: added by its provider within the class's dates and never
//! beyond the hours filed (SESSION_HOURS_FILED) or a day's hours (SESSION_HOURS_DAILY).

use chrono::NaiveDate;
use qiancheng_api::convert::{self, FromProto as _};
use qiancheng_api::supervision::*;
use qiancheng_domain::lifecycle::ClassState;
use qiancheng_domain::policy::session::{SessionHours, session_hours_daily, session_hours_filed};
use qiancheng_platform::error::Violations;
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::time::{new_id, now_micros};
use qiancheng_platform::{Call, Error, write};
use serde_json::json;

use crate::Supervision;
use crate::access;
use crate::store::session::{self as sessions, SessionKind as Kind, SessionRecord};

/// The most sessions a class has.
pub const MAX_SESSIONS_PER_CLASS: i64 = 1_000;
/// CreateSessions: adds teaching sessions to a class that runs.
pub async fn create_sessions(
    s: &Supervision,
    call: Call<CreateSessionsRequest>,
) -> Result<CreateSessionsResponse, Error> {
    let scope = access::provider_scope(&call.principal)?;
    let m = &call.message;
    let mut v = Violations::default();
    let mut parsed = Vec::new();
    for (i, session) in m.sessions.iter().enumerate() {
        let at = |f: &str| format!("sessions[{i}].{f}");
        let held_on = v.value(&at("held_on"), convert::required_date(session.held_on.as_ref()));
        let kind = v.value(&at("kind"), Kind::required(session.kind));
        if let (Some(held_on), Some(kind)) = (held_on, kind) {
            parsed.push((held_on, u32::try_from(session.hours).unwrap_or(0), kind, session.topic.trim().to_owned()));
        }
    }
    v.finish()?;
    let actor = call.principal.subject.clone();
    write::run(s, &call, async |change| {
        let class = access::class_in(&mut *change.tx, &scope, &m.class, "class").await?;
        class.require_running("take more sessions")?;
        if class.state == ClassState::Filed {
            return Err(Error::precondition(
                "CLASS_UNACKNOWLEDGED",
                "the class's filing is not acknowledged by the county yet; sessions are added after",
            ));
        }
        if let Some((i, _)) =
            parsed.iter().enumerate().find(|(_, (day, ..))| *day < class.first_day || *day > class.last_day)
        {
            return Err(Error::invalid(
                format!("sessions[{i}].held_on"),
                "ATTENDANCE_DATE",
                format!("a session is held within the class's dates, {} to {}", class.first_day, class.last_day),
            ));
        }
        let stored = sessions::of_class(&mut *change.tx, &class.id).await?;
        // SESSION_HOURS_FILED, SESSION_HOURS_DAILY: what is held never exceeds what was filed.
        let as_hours =
            |day: NaiveDate, kind: Kind, hours: u32| SessionHours { day, practice: kind == Kind::Practice, hours };
        let all: Vec<SessionHours> = stored
            .iter()
            .map(|r| as_hours(r.held_on, r.kind, r.hours))
            .chain(parsed.iter().map(|(day, hours, kind, _)| as_hours(*day, *kind, *hours)))
            .collect();
        for rule in [
            session_hours_filed(class.theory_hours, class.practice_hours, &all),
            session_hours_daily(s.options().max_daily_hours, &all),
        ] {
            if !rule.passed {
                return Err(Error::Refused(rule));
            }
        }
        let held = i64::try_from(stored.len()).unwrap_or(i64::MAX);
        if held + i64::try_from(parsed.len()).unwrap_or(i64::MAX) > MAX_SESSIONS_PER_CLASS {
            return Err(Error::ResourceExhausted {
                reason: "SESSIONS".into(),
                message: format!("a class has at most {MAX_SESSIONS_PER_CLASS} sessions"),
            });
        }
        let now = now_micros();
        let records: Vec<SessionRecord> = parsed
            .iter()
            .map(|(held_on, hours, kind, topic)| SessionRecord {
                id: new_id(),
                class_id: class.id.clone(),
                held_on: *held_on,
                hours: *hours,
                kind: *kind,
                topic: topic.clone(),
                created_by: actor.clone(),
                create_time_micros: now,
            })
            .collect();
        sessions::insert_many(&mut change.tx, &records).await?;
        change.audit_under(
            &class.policy_version,
            "sessions.create",
            class.name(),
            json!({ "sessions": records.iter().map(|r| json!({ "id": r.id, "held_on": r.held_on.to_string(),
                "hours": r.hours, "kind": r.kind.code() })).collect::<Vec<_>>() }),
        );
        Ok(CreateSessionsResponse { sessions: records.iter().map(SessionRecord::to_proto).collect() })
    })
    .await
}

/// ListSessions: a class's sessions by day.
pub async fn list_sessions(s: &Supervision, call: Call<ListSessionsRequest>) -> Result<ListSessionsResponse, Error> {
    let scope = access::read_scope(&call.principal)?;
    let m = &call.message;
    let class = access::class_in(s.db.pool(), &scope, &m.class, "class").await?;
    let page = PageRequest::parse(m.page_size, &m.page_token, &format!("sessions|{}", class.id))?;
    let (records, next_page_token) = sessions::page(s.db.pool(), &class.id, &page).await?;
    Ok(ListSessionsResponse { sessions: records.iter().map(SessionRecord::to_proto).collect(), next_page_token })
}
