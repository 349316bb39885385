//! What the integrity detectors read (docs/integrity.md): check-ins by session and device, by
//! device over a span of time and by day; phones by their keyed hash; a class's roster changes
//! and attendance shape; the attendance of a county's other classes. Reads only, except the
//! phone hash a roster write leaves for PHONE-SHARED.

use std::collections::HashMap;

use chrono::NaiveDate;
use qiancheng_platform::Error;
use qiancheng_platform::db::{self, Tx};
use qiancheng_platform::record::{self, Columns, Filter, Record};
use sqlx::{AssertSqlSafe, Row as _};

use qiancheng_domain::policy::integrity::{AttendanceShape, ChangeFact, CheckInFact, PhoneHolder};

/// The most check-ins of one device one read returns (a device's busiest hour holds far fewer).
const MAX_DEVICE_ROWS: i64 = 20_000;

/// States of a trainee on a roster or proposed for it.
const LIVE: &str = "('PROPOSED', 'ACTIVE', 'WITHDRAWN', 'COMPLETED', 'NOT_COMPLETED')";

/// A stored check-in as the detectors read it, with its class's county and provider.
#[derive(Debug, Clone, PartialEq, Eq, Record)]
#[record(
    table = "attendance",
    alias = "a",
    from = "attendance a JOIN training_class c ON c.id = a.class_id",
    key = "event_id",
    what = "the check-in"
)]
struct CheckIn {
    event_id: String,
    class_id: String,
    #[column(computed = "c.region_code")]
    region_code: String,
    #[column(computed = "c.provider_credit_code")]
    provider: String,
    trainee_id: String,
    #[column(name = "checked_in_micros")]
    micros: i64,
}

/// The detectors' facts of stored check-ins.
fn facts(rows: Vec<CheckIn>) -> Vec<CheckInFact> {
    let fact = |c: CheckIn| CheckInFact {
        event_id: c.event_id,
        class_id: c.class_id,
        region_code: c.region_code,
        provider: c.provider,
        trainee_id: c.trainee_id,
        micros: c.micros,
    };
    rows.into_iter().map(fact).collect()
}

/// Check-ins a device sent (not rows a correction made).
fn device_checkins() -> Filter {
    Filter::new().eq("a.source", "DEVICE")
}

/// The device check-ins of one session of a class on one device.
pub async fn checkins_of_session(
    tx: &mut Tx,
    class_id: &str,
    session_id: &str,
    device: &str,
) -> Result<Vec<CheckInFact>, Error> {
    let filter = device_checkins().eq("a.class_id", class_id).eq("a.session_id", session_id).eq("a.device", device);
    Ok(facts(record::all(&mut **tx, filter, "").await?))
}

/// The device check-ins of any class on `device` from `from` to `to` (microseconds, both
/// included), the earliest first.
pub async fn checkins_of_device(tx: &mut Tx, device: &str, from: i64, to: i64) -> Result<Vec<CheckInFact>, Error> {
    let filter =
        device_checkins().eq("a.device", device).and("a.checked_in_micros BETWEEN ? AND ?", [from.into(), to.into()]);
    Ok(facts(record::take(&mut **tx, filter, "a.checked_in_micros", MAX_DEVICE_ROWS).await?))
}

/// The check-ins with hours of a class's sessions held on `day`.
pub async fn checkins_on_day(tx: &mut Tx, class_id: &str, day: NaiveDate) -> Result<Vec<CheckInFact>, Error> {
    let filter = Filter::new()
        .eq("a.class_id", class_id)
        .and("a.session_id IN (SELECT id FROM class_session WHERE held_on = ?)", [day.to_string().into()])
        .and("a.hours > 0", []);
    Ok(facts(record::all(&mut **tx, filter, "").await?))
}

/// The trainees of a class whose phone has no lookup hash yet, with the sealed phone.
pub async fn phones_unhashed(tx: &mut Tx, class_id: &str) -> Result<Vec<(String, String)>, Error> {
    let rows = sqlx::query("SELECT id, phone_cipher FROM trainee WHERE class_id = $1 AND phone_hash = ''")
        .bind(class_id)
        .fetch_all(&mut **tx)
        .await?;
    rows.iter().map(|row| Ok((row.try_get("id")?, row.try_get("phone_cipher")?))).collect()
}

/// Stores the lookup hash of a trainee's phone.
pub async fn set_phone_hash(tx: &mut Tx, trainee_id: &str, hash: &str) -> Result<(), Error> {
    sqlx::query("UPDATE trainee SET phone_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(trainee_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The trainees of a class on its roster or proposed for it, with their sealed phone.
pub async fn live_phones(tx: &mut Tx, class_id: &str) -> Result<Vec<String>, Error> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT phone_cipher FROM trainee WHERE class_id = $1 AND state IN {LIVE} ORDER BY id"
    )))
    .bind(class_id)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter().map(|row| Ok(row.try_get("phone_cipher")?)).collect()
}

/// A trainee holding a phone, as read.
#[derive(Columns)]
struct Holder {
    id: String,
    class_id: String,
    person_hash: String,
    region_code: String,
}

/// Everyone on a roster (or proposed) whose phone hash is one of `hashes`.
pub async fn phone_holders(tx: &mut Tx, hashes: &[String]) -> Result<Vec<PhoneHolder>, Error> {
    if hashes.is_empty() {
        return Ok(Vec::new());
    }
    let select =
        ("t.id, t.class_id, t.person_hash, c.region_code", "trainee t JOIN training_class c ON c.id = t.class_id");
    let filter =
        Filter::new().among("t.phone_hash", hashes.iter().map(String::as_str)).and(&format!("t.state IN {LIVE}"), []);
    let rows: Vec<Holder> = record::select_where(&mut **tx, select, filter, "ORDER BY t.id").await?;
    Ok(rows
        .into_iter()
        .map(|h| PhoneHolder {
            trainee: format!("classes/{}/trainees/{}", h.class_id, h.id),
            class_id: h.class_id,
            region_code: h.region_code,
            person_hash: h.person_hash,
        })
        .collect())
}

/// A class's roster changes, with the day an addition's trainee was put on the roster.
pub async fn changes_of(tx: &mut Tx, class_id: &str) -> Result<Vec<ChangeFact>, Error> {
    let rows = sqlx::query(
        "SELECT r.id, r.kind, r.state, r.decided_by, r.create_time_micros, t.added_on FROM roster_change r \
         JOIN trainee t ON t.id = r.trainee_id WHERE r.class_id = $1 ORDER BY r.id",
    )
    .bind(class_id)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|row| {
            let state: String = row.try_get("state")?;
            let addition = row.try_get::<String, _>("kind")? == "ADD";
            // Before the first day a change is applied at once, by no officer; from it, every
            // change waits for one (ELIG-REALNAME).
            let after_start = state != "APPLIED" || !row.try_get::<String, _>("decided_by")?.is_empty();
            Ok(ChangeFact {
                name: format!("classes/{class_id}/rosterChanges/{}", row.try_get::<String, _>("id")?),
                addition,
                after_start,
                proposed_micros: row.try_get("create_time_micros")?,
                added_on: if addition { db::parsed_opt(row, "added_on", qiancheng_domain::parse_date)? } else { None },
            })
        })
        .collect()
}

/// A class's attendance so far: sessions with any attendance, the roster's size, and hours per
/// session and trainee.
pub async fn attendance_shape(tx: &mut Tx, class_id: &str) -> Result<AttendanceShape, Error> {
    let sessions = sqlx::query(
        "SELECT s.id, s.hours FROM class_session s WHERE s.class_id = $1 \
         AND EXISTS (SELECT 1 FROM attendance a WHERE a.session_id = s.id) ORDER BY s.held_on, s.id",
    )
    .bind(class_id)
    .fetch_all(&mut **tx)
    .await?;
    let trainees: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM trainee WHERE class_id = $1 AND added_version > 0 AND removed_version = 0",
    )
    .bind(class_id)
    .fetch_one(&mut **tx)
    .await?;
    let marks = sqlx::query("SELECT session_id, trainee_id, hours FROM attendance WHERE class_id = $1")
        .bind(class_id)
        .fetch_all(&mut **tx)
        .await?;
    let name = |id: String| format!("classes/{class_id}/sessions/{id}");
    let mut hours = HashMap::new();
    for row in &marks {
        hours
            .insert((name(row.try_get("session_id")?), row.try_get::<String, _>("trainee_id")?), row.try_get("hours")?);
    }
    Ok(AttendanceShape {
        sessions: sessions
            .iter()
            .map(|row| Ok((name(row.try_get("id")?), row.try_get::<i64, _>("hours")?)))
            .collect::<Result<_, Error>>()?,
        trainees: usize::try_from(trainees).unwrap_or(0),
        hours,
    })
}

/// The attendance rate (‰) of every other class of a county with any attendance.
pub async fn county_rates(tx: &mut Tx, region_code: &str, except: &str) -> Result<Vec<i64>, Error> {
    let rows = sqlx::query(
        "SELECT \
         CAST((SELECT COALESCE(SUM(a.hours), 0) FROM attendance a WHERE a.class_id = c.id) AS BIGINT) AS attended, \
         CAST((SELECT COALESCE(SUM(s.hours), 0) FROM class_session s WHERE s.class_id = c.id \
               AND EXISTS (SELECT 1 FROM attendance a WHERE a.session_id = s.id)) AS BIGINT) AS session_hours, \
         CAST((SELECT COUNT(*) FROM trainee t WHERE t.class_id = c.id AND t.added_version > 0 \
               AND t.removed_version = 0) AS BIGINT) AS roster \
         FROM training_class c WHERE c.region_code = $1 AND c.id <> $2",
    )
    .bind(region_code)
    .bind(except)
    .fetch_all(&mut **tx)
    .await?;
    let mut rates = Vec::new();
    for row in &rows {
        let attended: i64 = row.try_get("attended")?;
        let offered = row.try_get::<i64, _>("session_hours")?.saturating_mul(row.try_get::<i64, _>("roster")?);
        if offered > 0 {
            rates.push(attended.min(offered) * 1000 / offered);
        }
    }
    Ok(rates)
}

/// Each session and device of a class's device check-ins, with the first and last check-in.
pub async fn device_spans(tx: &mut Tx, class_id: &str) -> Result<Vec<(String, String, i64, i64)>, Error> {
    let rows = sqlx::query(
        "SELECT session_id, device, CAST(MIN(checked_in_micros) AS BIGINT) AS first_micros, \
         CAST(MAX(checked_in_micros) AS BIGINT) AS last_micros FROM attendance \
         WHERE class_id = $1 AND source = 'DEVICE' AND device <> '' GROUP BY session_id, device ORDER BY session_id, device",
    )
    .bind(class_id)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get("session_id")?,
                row.try_get("device")?,
                row.try_get("first_micros")?,
                row.try_get("last_micros")?,
            ))
        })
        .collect()
}

/// How a class's attendance stands, counted by the database: sessions with any attendance, the
/// roster's size, and the marks that hold a session's whole hours (PERFECT-ATTENDANCE's quick
/// test, so that the marks themselves are read only for a class that is perfect so far).
pub async fn attendance_counts(tx: &mut Tx, class_id: &str) -> Result<(i64, i64, i64), Error> {
    let row = sqlx::query(
        "SELECT \
         CAST((SELECT COUNT(*) FROM class_session s WHERE s.class_id = $1 \
               AND EXISTS (SELECT 1 FROM attendance a WHERE a.session_id = s.id)) AS BIGINT) AS sessions, \
         CAST((SELECT COUNT(*) FROM trainee t WHERE t.class_id = $1 AND t.added_version > 0 \
               AND t.removed_version = 0) AS BIGINT) AS trainees, \
         CAST((SELECT COUNT(*) FROM attendance a JOIN class_session s ON s.id = a.session_id \
               WHERE a.class_id = $1 AND a.hours >= s.hours) AS BIGINT) AS whole",
    )
    .bind(class_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok((row.try_get("sessions")?, row.try_get("trainees")?, row.try_get("whole")?))
}
