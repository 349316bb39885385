//! Attendance as stored: one row per trainee and session, from a check-in event (its event id
//! unique within the class, its content hashed, so a resent event is recognised) or from a
//! correction; and every correction with the value before it.

use std::collections::{HashMap, HashSet};

use qiancheng_api::convert::Shown;
use qiancheng_api::supervision as proto;
use qiancheng_platform::Error;
use qiancheng_platform::db::{Reader, Tx};
use qiancheng_platform::record::{self, Columns, Filter, Record};
use sqlx::Row as _;

qiancheng_platform::stored_enum! {
    /// Where an attendance row came from.
    pub enum Source {
        /// A check-in event a device sent.
        Device => "DEVICE",
        /// A correction, where there was no check-in.
        Correction => "CORRECTION",
    }
}

/// One trainee's attendance of one session, as stored, with its evidence.
#[derive(Debug, Clone, PartialEq, Eq, Record)]
#[record(table = "attendance", alias = "a", key = "event_id", what = "the attendance record")]
pub struct AttendanceRow {
    /// The class.
    pub class_id: String,
    /// The check-in event's id, unique in the class (a correction's rows have
    /// `correction/{id}`).
    pub event_id: String,
    /// The session.
    pub session_id: String,
    /// The trainee.
    pub trainee_id: String,
    /// When the device saw the trainee, microseconds since the epoch.
    pub checked_in_micros: i64,
    /// The device or upload.
    pub device: String,
    /// The hours the event reported (0: the whole session).
    pub reported_hours: i64,
    /// The hours that count.
    pub hours: i64,
    /// Hash of the event's content.
    pub event_hash: String,
    /// A device's check-in or a correction.
    pub source: Source,
    /// Who sent it.
    pub recorded_by: String,
    /// When it was received, microseconds since the epoch.
    pub received_micros: i64,
    /// How the device identified the trainee.
    pub method: Method,
}

impl AttendanceRow {
    /// Made by a correction where there was no check-in.
    pub fn from_correction(&self) -> bool {
        self.source == Source::Correction
    }
}

qiancheng_platform::stored_enum! {
    /// How a check-in identified the trainee, as the device said it.
    pub enum Method {
        /// Not said (a device that does not say, a row a correction made, a row stored before
        /// the method was kept).
        Unspecified => "UNSPECIFIED",
        /// Face recognition.
        Face => "FACE",
        /// Fingerprint.
        Fingerprint => "FINGERPRINT",
        /// A QR code scanned.
        QrCode => "QR_CODE",
        /// Entered by hand.
        Manual => "MANUAL",
    }
}

qiancheng_api::proto_enum!(local Method => proto::CheckInMethod, "CHECK_IN_METHOD_", "ENUM",
    "face, fingerprint, QR code or manual");

/// Stores attendance rows in multi-row INSERTs.
pub async fn insert_many(tx: &mut Tx, rows: &[AttendanceRow]) -> Result<(), Error> {
    record::insert_many(tx, rows).await
}

/// Ids an `IN` list of one query takes.
const IDS_PER_QUERY: usize = 1_000;

/// The stored content hashes of those of `event_ids` the class already has.
pub async fn known_events(tx: &mut Tx, class_id: &str, event_ids: &[&str]) -> Result<HashMap<String, String>, Error> {
    Ok(pairs_among(tx, class_id, ("event_id", "event_hash"), "event_id", event_ids).await?.into_iter().collect())
}

/// The (session, trainee) pairs already attended in `session_ids`.
pub async fn attended_pairs(
    tx: &mut Tx,
    class_id: &str,
    session_ids: &[&str],
) -> Result<HashSet<(String, String)>, Error> {
    Ok(pairs_among(tx, class_id, ("session_id", "trainee_id"), "session_id", session_ids).await?.into_iter().collect())
}

/// Two text columns of one row.
#[derive(Columns)]
struct TextPair {
    first: String,
    second: String,
}

/// The text columns `read` of the class's rows whose `column` is one of `ids`, a thousand ids
/// a query.
async fn pairs_among(
    tx: &mut Tx,
    class_id: &str,
    read: (&str, &str),
    column: &str,
    ids: &[&str],
) -> Result<Vec<(String, String)>, Error> {
    let mut pairs = Vec::new();
    for chunk in ids.chunks(IDS_PER_QUERY) {
        let filter = Filter::new().eq("a.class_id", class_id).among(&format!("a.{column}"), chunk.iter().copied());
        let select = format!("a.{}, a.{}", read.0, read.1);
        let rows: Vec<TextPair> = record::select_where(&mut **tx, (&select, "attendance a"), filter, "").await?;
        pairs.extend(rows.into_iter().map(|p| (p.first, p.second)));
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
    hours_by_trainee(executor, Filter::new().eq("a.class_id", class_id)).await
}

/// The hours counted for each of `trainee_ids` that attended anything (a page of a roster, or
/// one trainee), in one query: the page size is far below any backend's parameter limit.
pub async fn totals_of<'c>(executor: impl Reader<'c>, trainee_ids: &[&str]) -> Result<HashMap<String, i64>, Error> {
    if trainee_ids.is_empty() {
        return Ok(HashMap::new());
    }
    hours_by_trainee(executor, Filter::new().among("a.trainee_id", trainee_ids.iter().copied())).await
}

/// A trainee's counted hours.
#[derive(Columns)]
struct Attended {
    trainee_id: String,
    hours: i64,
}

/// The counted hours of each trainee with attendance `filter` admits.
async fn hours_by_trainee<'c>(executor: impl Reader<'c>, filter: Filter) -> Result<HashMap<String, i64>, Error> {
    let select = ("a.trainee_id, CAST(SUM(a.hours) AS BIGINT)", "attendance a");
    let rows: Vec<Attended> = record::select_where(executor, select, filter, "GROUP BY a.trainee_id").await?;
    Ok(rows.into_iter().map(|r| (r.trainee_id, r.hours)).collect())
}

/// Every attendance row of a class with its evidence, by trainee and session.
pub async fn marks<'c>(executor: impl Reader<'c>, class_id: &str) -> Result<Vec<AttendanceRow>, Error> {
    record::all(executor, Filter::new().eq("a.class_id", class_id), "a.trainee_id, a.session_id").await
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
#[derive(Debug, Clone, PartialEq, Eq, Record, Shown)]
#[record(table = "attendance_correction", alias = "k", what = "the correction")]
#[shown(message = "proto::AttendanceCorrection")]
pub struct CorrectionRecord {
    /// Id (ULID).
    #[column(hidden)]
    pub id: String,
    /// The class.
    #[column(hidden)]
    pub class_id: String,
    /// The session.
    #[column(hidden)]
    pub session_id: String,
    /// The trainee.
    #[column(hidden)]
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

impl CorrectionRecord {
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
            ..self.shown()
        }
    }
}

/// Stores a correction.
pub async fn insert_correction(tx: &mut Tx, correction: &CorrectionRecord) -> Result<(), Error> {
    record::insert(tx, correction).await
}

/// Every correction of a class, oldest first.
pub async fn corrections_of_class<'c>(
    executor: impl Reader<'c>,
    class_id: &str,
) -> Result<Vec<CorrectionRecord>, Error> {
    record::all(executor, Filter::new().eq("k.class_id", class_id), "k.create_time_micros, k.id").await
}
