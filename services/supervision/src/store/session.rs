//! Teaching sessions (课次) as stored: the day, the hours, theory or practice, and the topic.

use chrono::NaiveDate;
use qiancheng_api::convert::Shown;
use qiancheng_api::supervision as proto;
use qiancheng_platform::Error;
use qiancheng_platform::db::{Reader, Tx};
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::record::{self, Filter, Record};

/// The most hours of one session.
pub const MAX_SESSION_HOURS: i32 = 12;

qiancheng_platform::stored_enum! {
    /// Whether a session teaches theory or practice.
    pub enum SessionKind {
        /// Theory (理论).
        Theory => "THEORY",
        /// Practice (实操).
        Practice => "PRACTICE",
    }
}

qiancheng_api::proto_enum!(local SessionKind => proto::SessionKind, "SESSION_KIND_", "REQUIRED", "theory or practice");

/// A session as stored.
#[derive(Debug, Clone, PartialEq, Eq, Record, Shown)]
#[record(table = "class_session", alias = "s", what = "the session")]
#[shown(message = "proto::Session")]
pub struct SessionRecord {
    /// Id (ULID).
    #[column(hidden)]
    pub id: String,
    /// The class.
    #[column(hidden)]
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
    #[column(hidden)]
    pub created_by: String,
    /// When, microseconds since the epoch.
    pub create_time_micros: i64,
}

impl SessionRecord {
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
        proto::Session { name: self.name(), ..self.shown() }
    }
}

/// The sessions of class `class_id`.
fn of(class_id: &str) -> Filter {
    Filter::new().eq("s.class_id", class_id)
}

/// Stores new sessions in multi-row INSERTs.
pub async fn insert_many(tx: &mut Tx, sessions: &[SessionRecord]) -> Result<(), Error> {
    record::insert_many(tx, sessions).await
}

/// Every session of a class, by day.
pub async fn of_class<'c>(executor: impl Reader<'c>, class_id: &str) -> Result<Vec<SessionRecord>, Error> {
    record::all(executor, of(class_id), "s.held_on, s.id").await
}

/// Reads a session of a class by id.
pub async fn find<'c>(executor: impl Reader<'c>, class_id: &str, id: &str) -> Result<Option<SessionRecord>, Error> {
    record::first(executor, of(class_id).eq("s.id", id)).await
}

/// A page of a class's sessions in list-key order (day, then id), with the next page's token.
pub async fn page(
    pool: &sqlx::AnyPool,
    class_id: &str,
    page: &PageRequest,
) -> Result<(Vec<SessionRecord>, String), Error> {
    let filter = of(class_id).and("s.held_on || '/' || s.id > ?", [page.after.as_str().into()]);
    let mut sessions = record::take(pool, filter, "s.held_on, s.id", page.fetch_limit()).await?;
    let next = page.finish(&mut sessions, SessionRecord::list_key);
    Ok((sessions, next))
}
