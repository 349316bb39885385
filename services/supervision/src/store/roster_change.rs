//! Roster changes (花名册变更) as stored: who asked to add or remove whom and why, and the
//! officer's decision once the class had started (ELIG-REALNAME). An applied change made a
//! roster version.

use qiancheng_api::supervision as proto;
use qiancheng_api::types::PersonRef;
use qiancheng_domain::lifecycle::{Lifecycle as _, RosterChangeState};
use qiancheng_platform::db::{self, BindStamp as _, Reader, Table, Tx};
use qiancheng_platform::{Error, Stamp};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row as _};

use super::int32;

/// Whether a change adds or removes a trainee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// Adds.
    Add,
    /// Removes.
    Remove,
}

impl ChangeKind {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            ChangeKind::Add => "ADD",
            ChangeKind::Remove => "REMOVE",
        }
    }
}

/// A roster change as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterChangeRecord {
    /// Id (ULID).
    pub id: String,
    /// The class.
    pub class_id: String,
    /// Adds or removes.
    pub kind: ChangeKind,
    /// The trainee added (proposed) or removed.
    pub trainee_id: String,
    /// Why.
    pub reason: String,
    /// State.
    pub state: RosterChangeState,
    /// Who asked.
    pub proposed_by: String,
    /// The officer who decided.
    pub decided_by: String,
    /// The officer's note.
    pub decision_note: String,
    /// The roster version it made; 0 until applied.
    pub roster_version: i64,
    /// Revision and times.
    pub stamp: Stamp,
}

/// The columns, in the order [`insert`] binds them.
const COLUMNS: &str = "id, class_id, kind, trainee_id, reason, state, proposed_by, decided_by, decision_note, \
    roster_version, revision, create_time_micros, update_time_micros";

/// The table and the columns a record decodes from.
const TABLE: Table = Table { name: "roster_change", columns: COLUMNS };

impl RosterChangeRecord {
    /// Decodes a row of the columns.
    pub fn from_row(row: &AnyRow) -> Result<Self, Error> {
        Ok(Self {
            id: row.try_get("id")?,
            class_id: row.try_get("class_id")?,
            kind: db::parsed(row, "kind", |c| match c {
                "ADD" => Ok(ChangeKind::Add),
                "REMOVE" => Ok(ChangeKind::Remove),
                _ => Err(()),
            })?,
            trainee_id: row.try_get("trainee_id")?,
            reason: row.try_get("reason")?,
            state: db::parsed(row, "state", |c| RosterChangeState::parse(c).ok_or(()))?,
            proposed_by: row.try_get("proposed_by")?,
            decided_by: row.try_get("decided_by")?,
            decision_note: row.try_get("decision_note")?,
            roster_version: row.try_get("roster_version")?,
            stamp: db::stamp(row, "revision")?,
        })
    }

    /// The resource name.
    pub fn name(&self) -> String {
        format!("classes/{}/rosterChanges/{}", self.class_id, self.id)
    }

    /// The change as the API shows it, with its trainee's masked person.
    pub fn to_proto(&self, person: Option<PersonRef>) -> proto::RosterChange {
        proto::RosterChange {
            name: self.name(),
            kind: match self.kind {
                ChangeKind::Add => proto::RosterChangeKind::Add as i32,
                ChangeKind::Remove => proto::RosterChangeKind::Remove as i32,
            },
            trainee: format!("classes/{}/trainees/{}", self.class_id, self.trainee_id),
            person,
            reason: self.reason.clone(),
            state: state_to_proto(self.state),
            proposed_by: self.proposed_by.clone(),
            decided_by: self.decided_by.clone(),
            decision_note: self.decision_note.clone(),
            roster_version: int32(self.roster_version),
            create_time_micros: self.stamp.create_time_micros,
            update_time_micros: self.stamp.update_time_micros,
            etag: self.stamp.etag(),
            eligibility_at_proposal: None,
            eligibility_at_approval: None,
        }
    }
}

qiancheng_api::proto_states!(
    RosterChangeState,
    proto::RosterChangeState,
    "ROSTER_CHANGE_STATE_",
    "ROSTER_CHANGE_STATE",
    "not a roster change state"
);

/// Stores a new change.
pub async fn insert(tx: &mut Tx, record: &RosterChangeRecord) -> Result<(), Error> {
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO roster_change ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    )))
    .bind(&record.id)
    .bind(&record.class_id)
    .bind(record.kind.code())
    .bind(&record.trainee_id)
    .bind(&record.reason)
    .bind(record.state.code())
    .bind(&record.proposed_by)
    .bind(&record.decided_by)
    .bind(&record.decision_note)
    .bind(record.roster_version)
    .bind_stamp(&record.stamp)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Stores the decision on a change, unless it changed since it was read.
pub async fn update(tx: &mut Tx, record: &RosterChangeRecord) -> Result<(), Error> {
    let query = sqlx::query(
        "UPDATE roster_change SET state = $1, decided_by = $2, decision_note = $3, roster_version = $4, \
         revision = $5, update_time_micros = $6 WHERE id = $7 AND revision = $8",
    )
    .bind(record.state.code())
    .bind(&record.decided_by)
    .bind(&record.decision_note)
    .bind(record.roster_version);
    db::update_stamped(tx, query, &record.stamp, &record.id, "the roster change").await
}

/// Reads a change of a class by id.
pub async fn find<'c>(
    executor: impl Reader<'c>,
    class_id: &str,
    id: &str,
) -> Result<Option<RosterChangeRecord>, Error> {
    TABLE.find(executor, &[("id", id), ("class_id", class_id)], RosterChangeRecord::from_row).await
}

/// Whether a trainee has a change waiting for an officer.
pub async fn pending_for(tx: &mut Tx, trainee_id: &str) -> Result<bool, Error> {
    let found: Option<String> =
        sqlx::query_scalar("SELECT id FROM roster_change WHERE trainee_id = $1 AND state = 'PENDING'")
            .bind(trainee_id)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(found.is_some())
}

/// A page of a class's changes after id `after`, in `state` when given.
pub async fn list(
    pool: &sqlx::AnyPool,
    class_id: &str,
    after: &str,
    state: Option<RosterChangeState>,
    limit: i64,
) -> Result<Vec<AnyRow>, Error> {
    Ok(sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM roster_change WHERE class_id = $1 AND id > $2 AND ($3 = '' OR state = $3) \
         ORDER BY id LIMIT $4"
    )))
    .bind(class_id)
    .bind(after)
    .bind(state.map_or("", |s| s.code()))
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// Every change of a class, oldest first.
pub async fn of_class<'c>(executor: impl Reader<'c>, class_id: &str) -> Result<Vec<RosterChangeRecord>, Error> {
    TABLE.all(executor, &[("class_id", class_id)], "create_time_micros, id", RosterChangeRecord::from_row).await
}
