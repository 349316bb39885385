//! Roster changes (花名册变更) as stored: who asked to add or remove whom and why, and the
//! officer's decision once the class had started (ELIG-REALNAME). An applied change made a
//! roster version.

use qiancheng_api::convert::Shown;
use qiancheng_api::supervision as proto;
use qiancheng_api::types::PersonRef;
use qiancheng_domain::lifecycle::{Lifecycle as _, RosterChangeState};
use qiancheng_platform::db::{Db, Reader, Tx};
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::record::{self, Filter, Record};
use qiancheng_platform::{Error, Stamp};

qiancheng_platform::stored_enum! {
    /// Whether a change adds or removes a trainee.
    pub enum ChangeKind {
        /// Adds.
        Add => "ADD",
        /// Removes.
        Remove => "REMOVE",
    }
}

qiancheng_api::proto_enum!(local ChangeKind => proto::RosterChangeKind, "ROSTER_CHANGE_KIND_", "REQUIRED",
    "an addition or a removal");

/// A roster change as stored.
#[derive(Debug, Clone, PartialEq, Eq, Record, Shown)]
#[record(table = "roster_change", alias = "r", what = "the roster change")]
#[shown(message = "proto::RosterChange")]
pub struct RosterChangeRecord {
    /// Id (ULID).
    #[column(hidden)]
    pub id: String,
    /// The class.
    #[column(fixed, hidden)]
    pub class_id: String,
    /// Adds or removes.
    #[column(fixed)]
    pub kind: ChangeKind,
    /// The trainee added (proposed) or removed.
    #[column(fixed, hidden)]
    pub trainee_id: String,
    /// Why.
    #[column(fixed)]
    pub reason: String,
    /// State.
    pub state: RosterChangeState,
    /// Who asked.
    #[column(fixed)]
    pub proposed_by: String,
    /// The officer who decided.
    pub decided_by: String,
    /// The officer's note.
    pub decision_note: String,
    /// The roster version it made; 0 until applied.
    pub roster_version: i64,
    /// Revision and times.
    #[column(stamp)]
    pub stamp: Stamp,
}

impl RosterChangeRecord {
    /// The resource name.
    pub fn name(&self) -> String {
        format!("classes/{}/rosterChanges/{}", self.class_id, self.id)
    }

    /// The change as the API shows it, with its trainee's masked person.
    pub fn to_proto(&self, person: Option<PersonRef>) -> proto::RosterChange {
        proto::RosterChange {
            name: self.name(),
            trainee: format!("classes/{}/trainees/{}", self.class_id, self.trainee_id),
            person,
            ..self.shown()
        }
    }
}

/// The changes of class `class_id`.
fn of(class_id: &str) -> Filter {
    Filter::new().eq("r.class_id", class_id)
}

/// Stores a new change.
pub async fn insert(tx: &mut Tx, change: &RosterChangeRecord) -> Result<(), Error> {
    record::insert(tx, change).await
}

/// Stores the decision on a change, unless it changed since it was read.
pub async fn update(tx: &mut Tx, change: &RosterChangeRecord) -> Result<(), Error> {
    record::update(tx, change).await
}

/// Reads a change of a class by id.
pub async fn find<'c>(
    executor: impl Reader<'c>,
    class_id: &str,
    id: &str,
) -> Result<Option<RosterChangeRecord>, Error> {
    record::first(executor, of(class_id).eq("r.id", id)).await
}

/// Whether a trainee has a change waiting for an officer.
pub async fn pending_for(tx: &mut Tx, trainee_id: &str) -> Result<bool, Error> {
    let filter = Filter::new().eq("r.trainee_id", trainee_id).eq("r.state", "PENDING");
    Ok(record::count::<RosterChangeRecord>(&mut **tx, filter).await? > 0)
}

/// A page of a class's changes, in `state` when given.
pub async fn page(
    db: &Db,
    class_id: &str,
    state: Option<RosterChangeState>,
    page: &PageRequest,
) -> Result<(Vec<RosterChangeRecord>, String), Error> {
    record::page(db, of(class_id).eq_given("r.state", state.map(|s| s.code())), page).await
}

/// Every change of a class, oldest first.
pub async fn of_class<'c>(executor: impl Reader<'c>, class_id: &str) -> Result<Vec<RosterChangeRecord>, Error> {
    record::all(executor, of(class_id), "r.create_time_micros, r.id").await
}
