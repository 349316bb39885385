//! What the integrity detectors read (docs/integrity.md): check-ins by session and device, by
//! device over a span of time and by day; phones by their keyed hash; a class's roster changes
//! and attendance shape; the attendance of a county's other classes. Reads only, except the
//! phone hash a roster write leaves for PHONE-SHARED.

use chrono::NaiveDate;
use qiancheng_platform::Error;
use qiancheng_platform::db::Tx;
use qiancheng_platform::record::{self, Columns, Filter, Record};
use sqlx::Row as _;

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

/// A trainee's id and sealed phone.
#[derive(Debug, Columns)]
pub struct SealedPhone {
    /// The trainee's id.
    pub id: String,
    /// The phone, encrypted.
    pub phone_cipher: String,
}

/// The trainees of a class whose phone has no lookup hash yet, with the sealed phone.
pub async fn phones_unhashed(tx: &mut Tx, class_id: &str) -> Result<Vec<SealedPhone>, Error> {
    let filter = Filter::new().eq("class_id", class_id).eq("phone_hash", "");
    record::select_where(&mut **tx, ("id, phone_cipher", "trainee"), filter, "").await
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
pub async fn live_phones(tx: &mut Tx, class_id: &str) -> Result<Vec<SealedPhone>, Error> {
    let filter = Filter::new().eq("class_id", class_id).and(&format!("state IN {LIVE}"), []);
    record::select_where(&mut **tx, ("id, phone_cipher", "trainee"), filter, "ORDER BY id").await
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

/// A roster change as ROSTER-CHURN reads it.
#[derive(Columns)]
struct Change {
    id: String,
    kind: String,
    state: String,
    decided_by: String,
    create_time_micros: i64,
    added_on: Option<NaiveDate>,
}

/// A class's roster changes, with the day an addition's trainee was put on the roster.
pub async fn changes_of(tx: &mut Tx, class_id: &str) -> Result<Vec<ChangeFact>, Error> {
    let select = (
        "r.id, r.kind, r.state, r.decided_by, r.create_time_micros, t.added_on",
        "roster_change r JOIN trainee t ON t.id = r.trainee_id",
    );
    let rows: Vec<Change> =
        record::select_where(&mut **tx, select, Filter::new().eq("r.class_id", class_id), "ORDER BY r.id").await?;
    let fact = |c: Change| {
        let addition = c.kind == "ADD";
        ChangeFact {
            name: format!("classes/{class_id}/rosterChanges/{}", c.id),
            addition,
            // Before the first day a change is applied at once, by no officer; from it, every
            // change waits for one (ELIG-REALNAME).
            after_start: c.state != "APPLIED" || !c.decided_by.is_empty(),
            proposed_micros: c.create_time_micros,
            added_on: c.added_on.filter(|_| addition),
        }
    };
    Ok(rows.into_iter().map(fact).collect())
}

/// A session's hours.
#[derive(Columns)]
struct SessionHours {
    id: String,
    hours: i64,
}

/// A trainee's hours at a session.
#[derive(Columns)]
struct Mark {
    session_id: String,
    trainee_id: String,
    hours: i64,
}

/// A class's attendance so far: sessions with any attendance, the roster's size, and hours per
/// session and trainee.
pub async fn attendance_shape(tx: &mut Tx, class_id: &str) -> Result<AttendanceShape, Error> {
    let attended = Filter::new()
        .eq("s.class_id", class_id)
        .and("EXISTS (SELECT 1 FROM attendance a WHERE a.session_id = s.id)", []);
    let sessions: Vec<SessionHours> =
        record::select_where(&mut **tx, ("s.id, s.hours", "class_session s"), attended, "ORDER BY s.held_on, s.id")
            .await?;
    let on_roster = Filter::new().eq("class_id", class_id).and("added_version > 0 AND removed_version = 0", []);
    let trainees = record::count::<super::trainee::RosterMember>(&mut **tx, on_roster).await?;
    let marks: Vec<Mark> = record::select_where(
        &mut **tx,
        ("session_id, trainee_id, hours", "attendance"),
        Filter::new().eq("class_id", class_id),
        "",
    )
    .await?;
    let name = |id: String| format!("classes/{class_id}/sessions/{id}");
    Ok(AttendanceShape {
        sessions: sessions.into_iter().map(|s| (name(s.id), s.hours)).collect(),
        trainees: usize::try_from(trainees).unwrap_or(0),
        hours: marks.into_iter().map(|m| ((name(m.session_id), m.trainee_id), m.hours)).collect(),
    })
}

/// What a class offered and what was attended, in hours.
#[derive(Columns)]
struct Offered {
    attended: i64,
    session_hours: i64,
    roster: i64,
}

/// The attendance rate (‰) of every other class of a county with any attendance.
pub async fn county_rates(tx: &mut Tx, region_code: &str, except: &str) -> Result<Vec<i64>, Error> {
    let select = (
        "CAST((SELECT COALESCE(SUM(a.hours), 0) FROM attendance a WHERE a.class_id = c.id) AS BIGINT), \
         CAST((SELECT COALESCE(SUM(s.hours), 0) FROM class_session s WHERE s.class_id = c.id \
               AND EXISTS (SELECT 1 FROM attendance a WHERE a.session_id = s.id)) AS BIGINT), \
         CAST((SELECT COUNT(*) FROM trainee t WHERE t.class_id = c.id AND t.added_version > 0 \
               AND t.removed_version = 0) AS BIGINT)",
        "training_class c",
    );
    let filter = Filter::new().eq("c.region_code", region_code).and("c.id <> ?", [except.into()]);
    let rows: Vec<Offered> = record::select_where(&mut **tx, select, filter, "").await?;
    let rate = |c: Offered| {
        let offered = c.session_hours.saturating_mul(c.roster);
        (offered > 0).then(|| c.attended.min(offered) * 1000 / offered)
    };
    Ok(rows.into_iter().filter_map(rate).collect())
}

/// The first and last device check-in of a session of a class on one device.
#[derive(Debug, Clone, Columns)]
pub struct DeviceSpan {
    /// The session's id.
    pub session_id: String,
    /// The device.
    pub device: String,
    /// The first check-in, microseconds since the epoch.
    pub first_micros: i64,
    /// The last.
    pub last_micros: i64,
}

/// Each session and device of a class's device check-ins, with the first and last check-in.
pub async fn device_spans(tx: &mut Tx, class_id: &str) -> Result<Vec<DeviceSpan>, Error> {
    let select = (
        "session_id, device, CAST(MIN(checked_in_micros) AS BIGINT), CAST(MAX(checked_in_micros) AS BIGINT)",
        "attendance",
    );
    let filter = Filter::new().eq("class_id", class_id).eq("source", "DEVICE").and("device <> ''", []);
    record::select_where(&mut **tx, select, filter, "GROUP BY session_id, device ORDER BY session_id, device").await
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
