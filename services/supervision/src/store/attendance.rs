//! Attendance as stored: one row per trainee and session, from a check-in event (its event id
//! unique within the class, its content hashed, so a resent event is recognised) or from a
//! correction; and every correction with the value before it.

use std::collections::{HashMap, HashSet};

use qiancheng_api::supervision as proto;
use qiancheng_platform::Error;
use qiancheng_platform::db::{self, Reader, Table, Tx, flag, flag_value};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row as _};

use super::int32;

/// Where an attendance row came from.
pub const FROM_DEVICE: &str = "DEVICE";
/// An attendance row made by a correction.
pub const FROM_CORRECTION: &str = "CORRECTION";

/// One trainee's attendance of one session, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttendanceRow {
    /// The class.
    pub class_id: String,
    /// The check-in event's id (a correction's rows have `correction/{id}`).
    pub event_id: String,
    /// The session.
    pub session_id: String,
    /// The trainee.
    pub trainee_id: String,
    /// When the device saw the trainee, microseconds since the epoch.
    pub checked_in_micros: i64,
    /// The device or upload.
    pub device: String,
    /// The hours the event reported.
    pub reported_hours: i64,
    /// The hours that count.
    pub hours: i64,
    /// Hash of the event's content.
    pub event_hash: String,
    /// [`FROM_DEVICE`] or [`FROM_CORRECTION`].
    pub source: &'static str,
    /// Who sent it.
    pub recorded_by: String,
    /// When it was received, microseconds since the epoch.
    pub received_micros: i64,
    /// How the device identified the trainee.
    pub method: Method,
}

/// How a check-in identified the trainee, as the device said it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Not said (a device that does not say, a row a correction made, a row stored before the
    /// method was kept).
    Unspecified,
    /// Face recognition.
    Face,
    /// Fingerprint.
    Fingerprint,
    /// A QR code scanned.
    QrCode,
    /// Entered by hand.
    Manual,
}

impl Method {
    const ALL: [Method; 5] = [Method::Unspecified, Method::Face, Method::Fingerprint, Method::QrCode, Method::Manual];

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Method::Unspecified => "UNSPECIFIED",
            Method::Face => "FACE",
            Method::Fingerprint => "FINGERPRINT",
            Method::QrCode => "QR_CODE",
            Method::Manual => "MANUAL",
        }
    }

    /// The method of the API's enum value; `None` for a value outside it.
    pub fn of_proto(value: i32) -> Option<Self> {
        Some(match proto::CheckInMethod::try_from(value).ok()? {
            proto::CheckInMethod::Unspecified => Method::Unspecified,
            proto::CheckInMethod::Face => Method::Face,
            proto::CheckInMethod::Fingerprint => Method::Fingerprint,
            proto::CheckInMethod::QrCode => Method::QrCode,
            proto::CheckInMethod::Manual => Method::Manual,
        })
    }

    /// The API's enum value.
    pub fn to_proto(self) -> proto::CheckInMethod {
        match self {
            Method::Unspecified => proto::CheckInMethod::Unspecified,
            Method::Face => proto::CheckInMethod::Face,
            Method::Fingerprint => proto::CheckInMethod::Fingerprint,
            Method::QrCode => proto::CheckInMethod::QrCode,
            Method::Manual => proto::CheckInMethod::Manual,
        }
    }

    fn parse(code: &str) -> Result<Self, ()> {
        Self::ALL.into_iter().find(|m| m.code() == code).ok_or(())
    }
}

const COLUMNS: &str = "class_id, event_id, session_id, trainee_id, checked_in_micros, device, reported_hours, hours, \
    event_hash, source, recorded_by, received_micros, method";

/// Stores attendance rows in multi-row INSERTs.
pub async fn insert_many(tx: &mut Tx, rows: &[AttendanceRow]) -> Result<(), Error> {
    db::insert_many(tx, "attendance", COLUMNS, 13, rows, |query, r| {
        query
            .bind(&r.class_id)
            .bind(&r.event_id)
            .bind(&r.session_id)
            .bind(&r.trainee_id)
            .bind(r.checked_in_micros)
            .bind(&r.device)
            .bind(r.reported_hours)
            .bind(r.hours)
            .bind(&r.event_hash)
            .bind(r.source)
            .bind(&r.recorded_by)
            .bind(r.received_micros)
            .bind(r.method.code())
    })
    .await
}

/// Ids an `IN` list of one query takes.
const IDS_PER_QUERY: usize = 1_000;

/// The stored content hashes of those of `event_ids` the class already has.
pub async fn known_events(tx: &mut Tx, class_id: &str, event_ids: &[&str]) -> Result<HashMap<String, String>, Error> {
    let mut known = HashMap::new();
    for chunk in event_ids.chunks(IDS_PER_QUERY) {
        let sql = format!(
            "SELECT event_id, event_hash FROM attendance WHERE class_id = $1 AND event_id IN ({})",
            db::placeholders(2, chunk.len())
        );
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(class_id);
        for id in chunk {
            query = query.bind(*id);
        }
        for row in query.fetch_all(&mut **tx).await? {
            known.insert(row.try_get("event_id")?, row.try_get("event_hash")?);
        }
    }
    Ok(known)
}

/// The (session, trainee) pairs already attended in `session_ids`.
pub async fn attended_pairs(
    tx: &mut Tx,
    class_id: &str,
    session_ids: &[&str],
) -> Result<HashSet<(String, String)>, Error> {
    let mut pairs = HashSet::new();
    for chunk in session_ids.chunks(IDS_PER_QUERY) {
        let sql = format!(
            "SELECT session_id, trainee_id FROM attendance WHERE class_id = $1 AND session_id IN ({})",
            db::placeholders(2, chunk.len())
        );
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(class_id);
        for id in chunk {
            query = query.bind(*id);
        }
        for row in query.fetch_all(&mut **tx).await? {
            pairs.insert((row.try_get("session_id")?, row.try_get("trainee_id")?));
        }
    }
    Ok(pairs)
}

/// The event id and counted hours of a trainee's attendance of a session, if any.
pub async fn of_pair(tx: &mut Tx, session_id: &str, trainee_id: &str) -> Result<Option<(String, i64)>, Error> {
    let row = sqlx::query("SELECT event_id, hours FROM attendance WHERE session_id = $1 AND trainee_id = $2")
        .bind(session_id)
        .bind(trainee_id)
        .fetch_optional(&mut **tx)
        .await?;
    row.map(|row| Ok((row.try_get("event_id")?, row.try_get("hours")?))).transpose()
}

/// Sets the counted hours of one attendance row (a correction; the correction row keeps the
/// value before).
pub async fn set_hours(tx: &mut Tx, class_id: &str, event_id: &str, hours: i64) -> Result<(), Error> {
    let result = sqlx::query("UPDATE attendance SET hours = $1 WHERE class_id = $2 AND event_id = $3")
        .bind(hours)
        .bind(class_id)
        .bind(event_id)
        .execute(&mut **tx)
        .await?;
    qiancheng_platform::db::changed_one(result, "the attendance record")
}

/// Hours attended by each trainee of a class.
pub async fn totals<'c>(executor: impl Reader<'c>, class_id: &str) -> Result<HashMap<String, i64>, Error> {
    let rows = sqlx::query(
        "SELECT trainee_id, CAST(SUM(hours) AS BIGINT) AS hours FROM attendance WHERE class_id = $1 GROUP BY trainee_id",
    )
    .bind(class_id)
    .fetch_all(executor)
    .await?;
    rows.iter().map(|row| Ok((row.try_get("trainee_id")?, row.try_get::<i64, _>("hours")?))).collect()
}

/// The hours counted for each of `trainee_ids` that attended anything (a page of a roster, or
/// one trainee), in one query: the page size is far below any backend's parameter limit.
pub async fn totals_of<'c>(executor: impl Reader<'c>, trainee_ids: &[&str]) -> Result<HashMap<String, i64>, Error> {
    if trainee_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "SELECT trainee_id, CAST(SUM(hours) AS BIGINT) AS hours FROM attendance WHERE trainee_id IN ({}) \
         GROUP BY trainee_id",
        db::placeholders(1, trainee_ids.len())
    );
    let query = trainee_ids.iter().fold(sqlx::query(AssertSqlSafe(sql)), |q, id| q.bind(*id));
    let rows = query.fetch_all(executor).await?;
    rows.iter().map(|row| Ok((row.try_get("trainee_id")?, row.try_get::<i64, _>("hours")?))).collect()
}

/// One trainee's attendance of one session with its evidence, as the ledger shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    /// The trainee.
    pub trainee_id: String,
    /// The session.
    pub session_id: String,
    /// Hours counted.
    pub hours: i64,
    /// The check-in event's id (`correction/{id}` for a row a correction made).
    pub event_id: String,
    /// When the device saw the trainee, microseconds since the epoch.
    pub checked_in_micros: i64,
    /// The device or upload.
    pub device: String,
    /// How the device identified the trainee.
    pub method: Method,
    /// The hours the event reported (0: the whole session).
    pub reported_hours: i64,
    /// Made by a correction where there was no check-in.
    pub from_correction: bool,
    /// Who sent it.
    pub recorded_by: String,
    /// When it was received, microseconds since the epoch.
    pub received_micros: i64,
}

/// Every attendance row of a class with its evidence.
pub async fn marks<'c>(executor: impl Reader<'c>, class_id: &str) -> Result<Vec<Mark>, Error> {
    let rows = sqlx::query(
        "SELECT trainee_id, session_id, hours, event_id, checked_in_micros, device, method, reported_hours, source, \
         recorded_by, received_micros FROM attendance WHERE class_id = $1 ORDER BY trainee_id, session_id",
    )
    .bind(class_id)
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Mark {
                trainee_id: row.try_get("trainee_id")?,
                session_id: row.try_get("session_id")?,
                hours: row.try_get("hours")?,
                event_id: row.try_get("event_id")?,
                checked_in_micros: row.try_get("checked_in_micros")?,
                device: row.try_get("device")?,
                method: db::parsed(row, "method", Method::parse)?,
                reported_hours: row.try_get("reported_hours")?,
                from_correction: row.try_get::<String, _>("source")? == FROM_CORRECTION,
                recorded_by: row.try_get("recorded_by")?,
                received_micros: row.try_get("received_micros")?,
            })
        })
        .collect()
}

/// Trainees with a check-in for a session held on `day` (an inspection's spot check).
pub async fn signed_in_on(tx: &mut Tx, class_id: &str, day: &str) -> Result<i64, Error> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(DISTINCT a.trainee_id) FROM attendance a JOIN class_session s ON s.id = a.session_id \
         WHERE a.class_id = $1 AND s.held_on = $2 AND a.hours > 0",
    )
    .bind(class_id)
    .bind(day)
    .fetch_one(&mut **tx)
    .await?)
}

/// An explicit correction of attendance, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrectionRecord {
    /// Id (ULID).
    pub id: String,
    /// The class.
    pub class_id: String,
    /// The session.
    pub session_id: String,
    /// The trainee.
    pub trainee_id: String,
    /// Whether attendance was recorded before.
    pub had_record: bool,
    /// The hours before.
    pub previous_hours: i64,
    /// The hours now.
    pub hours: i64,
    /// Why.
    pub reason: String,
    /// Who corrected it.
    pub corrected_by: String,
    /// When, microseconds since the epoch.
    pub create_time_micros: i64,
}

const CORRECTION_COLUMNS: &str = "id, class_id, session_id, trainee_id, had_record, previous_hours, hours, reason, \
    corrected_by, create_time_micros";

/// The table and the columns a record decodes from.
const CORRECTIONS: Table = Table { name: "attendance_correction", columns: CORRECTION_COLUMNS };

impl CorrectionRecord {
    /// Decodes a row of the correction columns.
    pub fn from_row(row: &AnyRow) -> Result<Self, Error> {
        Ok(Self {
            id: row.try_get("id")?,
            class_id: row.try_get("class_id")?,
            session_id: row.try_get("session_id")?,
            trainee_id: row.try_get("trainee_id")?,
            had_record: flag(row.try_get::<i64, _>("had_record")?),
            previous_hours: row.try_get("previous_hours")?,
            hours: row.try_get("hours")?,
            reason: row.try_get("reason")?,
            corrected_by: row.try_get("corrected_by")?,
            create_time_micros: row.try_get("create_time_micros")?,
        })
    }

    /// The resource name.
    pub fn name(&self) -> String {
        format!("classes/{}/corrections/{}", self.class_id, self.id)
    }

    /// The correction as the API shows it.
    pub fn to_proto(&self) -> proto::AttendanceCorrection {
        proto::AttendanceCorrection {
            name: self.name(),
            session: format!("classes/{}/sessions/{}", self.class_id, self.session_id),
            trainee: format!("classes/{}/trainees/{}", self.class_id, self.trainee_id),
            had_record: self.had_record,
            previous_hours: int32(self.previous_hours),
            hours: int32(self.hours),
            reason: self.reason.clone(),
            corrected_by: self.corrected_by.clone(),
            create_time_micros: self.create_time_micros,
        }
    }
}

/// Stores a correction.
pub async fn insert_correction(tx: &mut Tx, c: &CorrectionRecord) -> Result<(), Error> {
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO attendance_correction ({CORRECTION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    )))
    .bind(&c.id)
    .bind(&c.class_id)
    .bind(&c.session_id)
    .bind(&c.trainee_id)
    .bind(flag_value(c.had_record))
    .bind(c.previous_hours)
    .bind(c.hours)
    .bind(&c.reason)
    .bind(&c.corrected_by)
    .bind(c.create_time_micros)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Every correction of a class, oldest first.
pub async fn corrections_of_class<'c>(
    executor: impl Reader<'c>,
    class_id: &str,
) -> Result<Vec<CorrectionRecord>, Error> {
    CORRECTIONS.all(executor, &[("class_id", class_id)], "create_time_micros, id", CorrectionRecord::from_row).await
}
