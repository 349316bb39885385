//! Teaching sessions (课次) as stored: the day, the hours, theory or practice, and the topic.

use chrono::NaiveDate;
use qiancheng_api::convert;
use qiancheng_api::supervision as proto;
use qiancheng_platform::Error;
use qiancheng_platform::db::{self, Reader, Table, Tx};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row as _};

use super::int32;

/// Whether a session teaches theory or practice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    /// Theory (理论).
    Theory,
    /// Practice (实操).
    Practice,
}

impl SessionKind {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            SessionKind::Theory => "THEORY",
            SessionKind::Practice => "PRACTICE",
        }
    }
}

/// A session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// Id (ULID).
    pub id: String,
    /// The class.
    pub class_id: String,
    /// The day.
    pub held_on: NaiveDate,
    /// Hours, 1 to 12.
    pub hours: u32,
    /// Theory or practice.
    pub kind: SessionKind,
    /// What is taught.
    pub topic: String,
    /// Who added it.
    pub created_by: String,
    /// When, microseconds since the epoch.
    pub create_time_micros: i64,
}

/// The columns, in the order [`insert_many`] binds them.
const COLUMNS: &str = "id, class_id, held_on, hours, kind, topic, created_by, create_time_micros";

/// The table and the columns a record decodes from.
const TABLE: Table = Table { name: "class_session", columns: COLUMNS };

impl SessionRecord {
    /// Decodes a row of the columns.
    pub fn from_row(row: &AnyRow) -> Result<Self, Error> {
        Ok(Self {
            id: row.try_get("id")?,
            class_id: row.try_get("class_id")?,
            held_on: db::date(row, "held_on")?,
            hours: u32::try_from(row.try_get::<i64, _>("hours")?).map_err(|_| Error::corrupt("hours"))?,
            kind: db::parsed(row, "kind", |c| match c {
                "THEORY" => Ok(SessionKind::Theory),
                "PRACTICE" => Ok(SessionKind::Practice),
                _ => Err(()),
            })?,
            topic: row.try_get("topic")?,
            created_by: row.try_get("created_by")?,
            create_time_micros: row.try_get("create_time_micros")?,
        })
    }

    /// The resource name.
    pub fn name(&self) -> String {
        format!("classes/{}/sessions/{}", self.class_id, self.id)
    }

    /// The key lists are ordered and paged by: the day, then the id.
    pub fn list_key(&self) -> String {
        format!("{}/{}", self.held_on, self.id)
    }

    /// The session as the API shows it.
    pub fn to_proto(&self) -> proto::Session {
        proto::Session {
            name: self.name(),
            held_on: Some(convert::date_to_proto(self.held_on)),
            hours: int32(i64::from(self.hours)),
            kind: match self.kind {
                SessionKind::Theory => proto::SessionKind::Theory as i32,
                SessionKind::Practice => proto::SessionKind::Practice as i32,
            },
            topic: self.topic.clone(),
            create_time_micros: self.create_time_micros,
        }
    }
}

/// Stores new sessions in multi-row INSERTs.
pub async fn insert_many(tx: &mut Tx, sessions: &[SessionRecord]) -> Result<(), Error> {
    db::insert_many(tx, "class_session", COLUMNS, 8, sessions, |query, s| {
        query
            .bind(&s.id)
            .bind(&s.class_id)
            .bind(s.held_on.to_string())
            .bind(i64::from(s.hours))
            .bind(s.kind.code())
            .bind(&s.topic)
            .bind(&s.created_by)
            .bind(s.create_time_micros)
    })
    .await
}

/// Every session of a class, by day.
pub async fn of_class<'c>(executor: impl Reader<'c>, class_id: &str) -> Result<Vec<SessionRecord>, Error> {
    TABLE.all(executor, &[("class_id", class_id)], "held_on, id", SessionRecord::from_row).await
}

/// Reads a session of a class by id.
pub async fn find<'c>(executor: impl Reader<'c>, class_id: &str, id: &str) -> Result<Option<SessionRecord>, Error> {
    TABLE.find(executor, &[("id", id), ("class_id", class_id)], SessionRecord::from_row).await
}

/// How many sessions a class has.
pub async fn count(tx: &mut Tx, class_id: &str) -> Result<i64, Error> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM class_session WHERE class_id = $1")
        .bind(class_id)
        .fetch_one(&mut **tx)
        .await?)
}

/// A page of a class's sessions after the list key `after` (day, then id).
pub async fn list(pool: &sqlx::AnyPool, class_id: &str, after: &str, limit: i64) -> Result<Vec<AnyRow>, Error> {
    Ok(sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS}, held_on || '/' || id AS list_key FROM class_session WHERE class_id = $1 \
         AND held_on || '/' || id > $2 ORDER BY held_on, id LIMIT $3"
    )))
    .bind(class_id)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}
