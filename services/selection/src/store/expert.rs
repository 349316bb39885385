//! Experts' assignments (专家分配, PROJ-SELECTION) to applications as stored: whether the
//! expert is recused and why, and the score with the rubric it was given on. Updates and
//! withdrawals are optimistic: an assignment changed by another request since it was read (a
//! score given meanwhile) is refused, never overwritten or removed.

use qiancheng_api::selection::Assignment;
use qiancheng_platform::db::{self, Table, Tx, flag_value};
use qiancheng_platform::{Error, Stamp};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row as _};

use super::{BindStamp as _, json};

/// One line of a scored rubric.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RubricLine {
    /// The criterion.
    pub criterion: String,
    /// Points given.
    pub points: Decimal,
}

/// An expert's assignment (专家分配) to an application, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentRecord {
    /// The application's id.
    pub application_id: String,
    /// The expert's token subject.
    pub expert: String,
    /// The expert's organisation (credit code), empty if none.
    pub organisation: String,
    /// The round's id.
    pub round_id: String,
    /// Whether the expert is recused.
    pub recused: bool,
    /// Why.
    pub recusal_reason: String,
    /// The total score, once scored.
    pub score: Option<Decimal>,
    /// The rubric it was scored on.
    pub rubric: Vec<RubricLine>,
    /// Revision and times.
    pub stamp: Stamp,
}

const COLUMNS: &str = "application_id, expert, organisation, round_id, recused, recusal_reason, score, rubric, \
    revision, create_time_micros, update_time_micros";

/// The table and the columns a record decodes from.
const TABLE: Table = Table { name: "expert_assignment", columns: COLUMNS };

impl AssignmentRecord {
    /// Decodes a row of the table.
    pub fn from_row(row: &AnyRow) -> Result<Self, Error> {
        Ok(Self {
            application_id: row.try_get("application_id")?,
            expert: row.try_get("expert")?,
            organisation: row.try_get("organisation")?,
            round_id: row.try_get("round_id")?,
            recused: db::flag_column(row, "recused")?,
            recusal_reason: row.try_get("recusal_reason")?,
            score: db::parsed_opt(row, "score", str::parse)?,
            rubric: db::parsed(row, "rubric", |t| serde_json::from_str(t))?,
            stamp: db::stamp(row, "revision")?,
        })
    }

    /// The assignment as the API shows it.
    pub fn to_proto(&self) -> Assignment {
        Assignment {
            application: format!("applications/{}", self.application_id),
            expert: self.expert.clone(),
            recused: self.recused,
            recusal_reason: self.recusal_reason.clone(),
            score: self.score.map(|s| s.normalize().to_string()).unwrap_or_default(),
            round: format!("rounds/{}", self.round_id),
        }
    }
}

/// Every assignment of an application, by expert.
pub async fn of_application(conn: &mut AnyConnection, application_id: &str) -> Result<Vec<AssignmentRecord>, Error> {
    TABLE.all(conn, &[("application_id", application_id)], "expert", AssignmentRecord::from_row).await
}

/// The assignment of `expert` to an application.
pub async fn find(
    conn: &mut AnyConnection,
    application_id: &str,
    expert: &str,
) -> Result<Option<AssignmentRecord>, Error> {
    TABLE.find(conn, &[("application_id", application_id), ("expert", expert)], AssignmentRecord::from_row).await
}

/// A page of `expert`'s assignments after application id `after`, by application.
pub async fn of_expert(pool: &sqlx::AnyPool, expert: &str, after: &str, limit: i64) -> Result<Vec<AnyRow>, Error> {
    Ok(sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM expert_assignment WHERE expert = $1 AND application_id > $2 ORDER BY application_id LIMIT $3"
    )))
    .bind(expert)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// Stores a new assignment.
pub async fn insert(tx: &mut Tx, record: &AssignmentRecord) -> Result<(), Error> {
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO expert_assignment ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    )))
    .bind(&record.application_id)
    .bind(&record.expert)
    .bind(&record.organisation)
    .bind(&record.round_id)
    .bind(flag_value(record.recused))
    .bind(&record.recusal_reason)
    .bind(record.score.map(|s| s.to_string()).unwrap_or_default())
    .bind(json(&record.rubric, "assignment rubric")?)
    .bind_stamp(&record.stamp)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Stores an assignment's recusal and score, unless another request changed it since it was read
/// (`CONCURRENT_CHANGE`).
pub async fn update(tx: &mut Tx, record: &AssignmentRecord) -> Result<(), Error> {
    let result = sqlx::query(
        "UPDATE expert_assignment SET recused = $1, recusal_reason = $2, score = $3, rubric = $4, revision = $5, \
         update_time_micros = $6 WHERE application_id = $7 AND expert = $8 AND revision = $9",
    )
    .bind(flag_value(record.recused))
    .bind(&record.recusal_reason)
    .bind(record.score.map(|s| s.to_string()).unwrap_or_default())
    .bind(json(&record.rubric, "assignment rubric")?)
    .bind(record.stamp.revision)
    .bind(record.stamp.update_time_micros)
    .bind(&record.application_id)
    .bind(&record.expert)
    .bind(record.stamp.previous_revision())
    .execute(&mut **tx)
    .await?;
    db::changed_one(result, "the assignment")
}

/// Removes an assignment as it was read, unless another request changed it since (a score given
/// meanwhile stays: `CONCURRENT_CHANGE`).
pub async fn delete(tx: &mut Tx, record: &AssignmentRecord) -> Result<(), Error> {
    let result =
        sqlx::query("DELETE FROM expert_assignment WHERE application_id = $1 AND expert = $2 AND revision = $3")
            .bind(&record.application_id)
            .bind(&record.expert)
            .bind(record.stamp.revision)
            .execute(&mut **tx)
            .await?;
    db::changed_one(result, "the assignment")
}
