//! Classes (班次) as stored: the filing (开班备案) with what the selection service said about the
//! project and provider at the time, the filing decision, the roster's current version and the
//! class's state.

use chrono::NaiveDate;
use qiancheng_api::convert;
use qiancheng_api::supervision as proto;
use qiancheng_domain::lifecycle::{ClassState, Lifecycle as _};
use qiancheng_domain::policy::RuleResult;
use qiancheng_domain::policy::facts::{ClassFacts, KeyProject, KeyProjectLibrary};
use qiancheng_domain::policy::project::TrainingMode;
use qiancheng_domain::{OccupationCode, RegionCode, SkillLevel};
use qiancheng_platform::db::{self, BindStamp as _, Reader, Tx};
use qiancheng_platform::explain::Audience;
use qiancheng_platform::{Error, Stamp};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row as _};

use super::{StoredDecision, date_proto, date_text, int32, rule_to_proto};

/// A teacher (师资) as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeacherRecord {
    /// Name.
    pub name: String,
    /// Qualification.
    pub qualification: String,
}

/// What the selection service said when the class was filed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelectionTold {
    /// The occupation's name.
    pub occupation_name: String,
    /// The project's training county.
    pub training_region_code: String,
    /// The catalog item, `catalogItems/{item}`.
    pub catalog_item: String,
    /// The catalog item's hours.
    pub catalog_hours: u32,
    /// The catalog item's mode.
    pub catalog_mode: Option<TrainingMode>,
    /// CheckStanding's answer.
    pub good_standing: bool,
    /// CheckStanding's rules.
    pub standing_rules: Vec<RuleResult>,
}

/// A class as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassRecord {
    /// Id (ULID).
    pub id: String,
    /// The selection service's project id.
    pub project_id: String,
    /// The provider's credit code.
    pub provider_credit_code: String,
    /// The training county: scopes officers.
    pub region: RegionCode,
    /// Title.
    pub title: String,
    /// First day.
    pub first_day: NaiveDate,
    /// Last day.
    pub last_day: NaiveDate,
    /// Theory hours.
    pub theory_hours: u32,
    /// Practice hours.
    pub practice_hours: u32,
    /// Mode.
    pub mode: TrainingMode,
    /// Venue.
    pub venue: String,
    /// Teachers.
    pub teachers: Vec<TeacherRecord>,
    /// The key project of a pre-hire class (ELIG-PREHIRE).
    pub key_project: Option<KeyProject>,
    /// State.
    pub state: ClassState,
    /// The roster's current version.
    pub roster_version: i64,
    /// Trainees on the current roster (read, never written).
    pub roster_size: i64,
    /// The day it was filed.
    pub filed_on: NaiveDate,
    /// The project's occupation.
    pub occupation: OccupationCode,
    /// The project's level.
    pub level: SkillLevel,
    /// The project's approved headcount, as selection said.
    pub approved_headcount: u32,
    /// What selection said.
    pub told: SelectionTold,
    /// When.
    pub told_micros: i64,
    /// The filing decision.
    pub filing_decision: StoredDecision,
    /// The policy-set version the class was filed under.
    pub policy_version: String,
    /// Its digest.
    pub policy_digest: String,
    /// The officer who acknowledged it.
    pub acknowledged_by: String,
    /// When.
    pub acknowledged_micros: i64,
    /// The day it stopped.
    pub stopped_on: Option<NaiveDate>,
    /// Why.
    pub stop_reason: String,
    /// The day it completed.
    pub completed_on: Option<NaiveDate>,
    /// Who filed it.
    pub filed_by: String,
    /// Revision and times.
    pub stamp: Stamp,
}

/// The stored columns, in the order [`insert`] binds them.
const STORED: &str = "id, project_id, provider_credit_code, region_code, title, first_day, last_day, theory_hours, \
    practice_hours, mode, venue, teachers, key_project, state, roster_version, filed_on, occupation_code, skill_level, \
    approved_headcount, selection_told, told_micros, filing_decision, policy_version, policy_digest, acknowledged_by, \
    acknowledged_micros, stopped_on, stop_reason, completed_on, filed_by, revision, create_time_micros, \
    update_time_micros";

/// The columns [`ClassRecord::from_row`] reads: the stored ones and the roster's size.
fn columns() -> String {
    let stored = STORED.split(", ").map(|c| format!("c.{}", c.trim())).collect::<Vec<_>>().join(", ");
    format!(
        "{stored}, (SELECT COUNT(*) FROM trainee t WHERE t.class_id = c.id AND t.added_version > 0 \
         AND t.removed_version = 0) AS roster_size"
    )
}

/// A mode from its stored code.
pub fn mode_from_code(code: &str) -> Option<TrainingMode> {
    [TrainingMode::Offline, TrainingMode::Online, TrainingMode::Mixed].into_iter().find(|m| m.code() == code)
}

/// A mode as its proto value.
pub fn mode_to_proto(mode: Option<TrainingMode>) -> i32 {
    match mode {
        None => proto::TrainingMode::Unspecified as i32,
        Some(TrainingMode::Offline) => proto::TrainingMode::Offline as i32,
        Some(TrainingMode::Online) => proto::TrainingMode::Online as i32,
        Some(TrainingMode::Mixed) => proto::TrainingMode::Mixed as i32,
    }
}

qiancheng_api::proto_states!(ClassState, proto::ClassState, "CLASS_STATE_", "CLASS_STATE", "not a class state");

/// A key project as the API shows it.
pub fn key_project_to_proto(project: &KeyProject) -> proto::KeyProject {
    proto::KeyProject {
        enterprise: project.enterprise.clone(),
        library: match project.library {
            None => proto::KeyProjectLibrary::Unspecified as i32,
            Some(KeyProjectLibrary::City) => proto::KeyProjectLibrary::City as i32,
            Some(KeyProjectLibrary::County) => proto::KeyProjectLibrary::County as i32,
        },
        manufacturing: project.manufacturing,
        expected_production_on: Some(convert::date_to_proto(project.expected_production_on)),
    }
}

fn json_column<T: serde::de::DeserializeOwned>(row: &AnyRow, column: &str) -> Result<T, Error> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text).map_err(|_| Error::corrupt(column.to_owned()))
}

impl ClassRecord {
    /// Decodes a row of [`columns`].
    pub fn from_row(row: &AnyRow) -> Result<Self, Error> {
        let key_project: String = row.try_get("key_project")?;
        let decision: String = row.try_get("filing_decision")?;
        let u32_column = |column: &str| -> Result<u32, Error> {
            u32::try_from(row.try_get::<i64, _>(column)?).map_err(|_| Error::corrupt(column.to_owned()))
        };
        Ok(Self {
            id: row.try_get("id")?,
            project_id: row.try_get("project_id")?,
            provider_credit_code: row.try_get("provider_credit_code")?,
            region: db::parsed(row, "region_code", RegionCode::parse)?,
            title: row.try_get("title")?,
            first_day: db::date(row, "first_day")?,
            last_day: db::date(row, "last_day")?,
            theory_hours: u32_column("theory_hours")?,
            practice_hours: u32_column("practice_hours")?,
            mode: db::parsed(row, "mode", |c| mode_from_code(c).ok_or(()))?,
            venue: row.try_get("venue")?,
            teachers: json_column(row, "teachers")?,
            key_project: if key_project.is_empty() {
                None
            } else {
                Some(serde_json::from_str(&key_project).map_err(|_| Error::corrupt("key_project"))?)
            },
            state: db::parsed(row, "state", |c| ClassState::parse(c).ok_or(()))?,
            roster_version: row.try_get("roster_version")?,
            roster_size: row.try_get("roster_size")?,
            filed_on: db::date(row, "filed_on")?,
            occupation: db::parsed(row, "occupation_code", OccupationCode::parse)?,
            level: db::parsed(row, "skill_level", SkillLevel::parse)?,
            approved_headcount: u32_column("approved_headcount")?,
            told: json_column(row, "selection_told")?,
            told_micros: row.try_get("told_micros")?,
            filing_decision: StoredDecision::from_text(&decision, "filing_decision")?.unwrap_or_default(),
            policy_version: row.try_get("policy_version")?,
            policy_digest: row.try_get("policy_digest")?,
            acknowledged_by: row.try_get("acknowledged_by")?,
            acknowledged_micros: row.try_get("acknowledged_micros")?,
            stopped_on: db::parsed_opt(row, "stopped_on", qiancheng_domain::parse_date)?,
            stop_reason: row.try_get("stop_reason")?,
            completed_on: db::parsed_opt(row, "completed_on", qiancheng_domain::parse_date)?,
            filed_by: row.try_get("filed_by")?,
            stamp: db::stamp(row, "revision")?,
        })
    }

    /// The resource name.
    pub fn name(&self) -> String {
        format!("classes/{}", self.id)
    }

    /// The project's resource name in the selection service.
    pub fn project_name(&self) -> String {
        format!("projects/{}", self.project_id)
    }

    /// The class's hours, theory and practice (CLASS-ATTENDANCE counts against them).
    pub fn hours(&self) -> u32 {
        self.theory_hours.saturating_add(self.practice_hours)
    }

    /// The class as the rules see it.
    pub fn facts(&self) -> ClassFacts {
        ClassFacts {
            id: self.id.clone(),
            region: self.region,
            first_day: self.first_day,
            last_day: self.last_day,
            hours: self.hours(),
            filed_on: Some(self.filed_on),
            prehire: self.key_project.is_some(),
        }
    }

    /// Whether the class still runs: filed or acknowledged, neither completed nor stopped.
    pub fn running(&self) -> bool {
        matches!(self.state, ClassState::Filed | ClassState::Acknowledged)
    }

    /// Refuses (`CLASS_STATE`) unless the class still runs; `doing` says what was asked
    /// (`take attendance`).
    pub fn require_running(&self, doing: &str) -> Result<(), qiancheng_domain::lifecycle::Transition> {
        self.state.require(&[ClassState::Filed, ClassState::Acknowledged], doing)
    }

    /// The class as the API shows it.
    pub fn to_proto(&self) -> proto::Class {
        proto::Class {
            name: self.name(),
            project: self.project_name(),
            provider_credit_code: self.provider_credit_code.clone(),
            region_code: self.region.code().to_owned(),
            title: self.title.clone(),
            first_day: Some(convert::date_to_proto(self.first_day)),
            last_day: Some(convert::date_to_proto(self.last_day)),
            theory_hours: int32(i64::from(self.theory_hours)),
            practice_hours: int32(i64::from(self.practice_hours)),
            mode: mode_to_proto(Some(self.mode)),
            venue: self.venue.clone(),
            teachers: self
                .teachers
                .iter()
                .map(|t| proto::Teacher { name: t.name.clone(), qualification: t.qualification.clone() })
                .collect(),
            key_project: self.key_project.as_ref().map(key_project_to_proto),
            state: state_to_proto(self.state),
            roster_version: int32(self.roster_version),
            roster_size: int32(self.roster_size),
            filed_on: Some(convert::date_to_proto(self.filed_on)),
            selection: Some(proto::SelectionSnapshot {
                occupation_code: self.occupation.as_str().to_owned(),
                occupation_name: self.told.occupation_name.clone(),
                skill_level: convert::skill_level_to_proto(Some(self.level)),
                approved_headcount: int32(i64::from(self.approved_headcount)),
                training_region_code: self.told.training_region_code.clone(),
                catalog_item: self.told.catalog_item.clone(),
                catalog_hours: int32(i64::from(self.told.catalog_hours)),
                catalog_mode: mode_to_proto(self.told.catalog_mode),
                good_standing: self.told.good_standing,
                standing_rules: self.told.standing_rules.iter().map(rule_to_proto).collect(),
                told_micros: self.told_micros,
            }),
            // The filing decision judges the class, not a person: its reasons withhold nothing.
            filing_decision: Some(self.filing_decision.to_proto(Audience::WHOLE)),
            acknowledged_by: self.acknowledged_by.clone(),
            acknowledged_micros: self.acknowledged_micros,
            stopped_on: date_proto(self.stopped_on),
            stop_reason: self.stop_reason.clone(),
            completed_on: date_proto(self.completed_on),
            create_time_micros: self.stamp.create_time_micros,
            update_time_micros: self.stamp.update_time_micros,
            etag: self.stamp.etag(),
            open_return: None,
        }
    }
}

/// Reads a class by id.
pub async fn find<'c>(executor: impl Reader<'c>, id: &str) -> Result<Option<ClassRecord>, Error> {
    let row = sqlx::query(AssertSqlSafe(format!("SELECT {} FROM training_class c WHERE c.id = $1", columns())))
        .bind(id)
        .fetch_optional(executor)
        .await?;
    row.as_ref().map(ClassRecord::from_row).transpose()
}

/// A page of classes after id `after` inside `scope`, of `project` and in `state` when given.
pub async fn list(
    pool: &sqlx::AnyPool,
    after: &str,
    scope: (&str, &str),
    project: &str,
    state: Option<ClassState>,
    limit: i64,
) -> Result<Vec<AnyRow>, Error> {
    Ok(sqlx::query(AssertSqlSafe(format!(
        "SELECT {} FROM training_class c WHERE c.id > $1 AND ($2 = 'ALL' OR ($2 = 'REGION' AND c.region_code = $3) \
         OR ($2 = 'ORG' AND c.provider_credit_code = $3)) AND ($4 = '' OR c.project_id = $4) \
         AND ($5 = '' OR c.state = $5) ORDER BY c.id LIMIT $6",
        columns()
    )))
    .bind(after)
    .bind(scope.0)
    .bind(scope.1)
    .bind(project)
    .bind(state.map_or("", |s| s.code()))
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// The number of trainees on the current roster of each class of `project_id` (CLASS-HEADCOUNT),
/// `except` one class.
pub async fn headcounts(tx: &mut Tx, project_id: &str, except: &str) -> Result<Vec<u32>, Error> {
    let rows = sqlx::query(
        "SELECT COUNT(t.id) AS trainees FROM training_class c JOIN trainee t ON t.class_id = c.id \
         WHERE c.project_id = $1 AND c.id <> $2 AND t.added_version > 0 AND t.removed_version = 0 GROUP BY c.id",
    )
    .bind(project_id)
    .bind(except)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter().map(|row| Ok(u32::try_from(row.try_get::<i64, _>("trainees")?).unwrap_or(u32::MAX))).collect()
}

/// Stores a new class.
pub async fn insert(tx: &mut Tx, record: &ClassRecord) -> Result<(), Error> {
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO training_class ({STORED}) VALUES {}",
        db::values(1, STORED.split(", ").count())
    )))
    .bind(&record.id)
    .bind(&record.project_id)
    .bind(&record.provider_credit_code)
    .bind(record.region.code())
    .bind(&record.title)
    .bind(record.first_day.to_string())
    .bind(record.last_day.to_string())
    .bind(i64::from(record.theory_hours))
    .bind(i64::from(record.practice_hours))
    .bind(record.mode.code())
    .bind(&record.venue)
    .bind(serde_json::to_string(&record.teachers).unwrap_or_default())
    .bind(record.key_project.as_ref().map(|k| serde_json::to_string(k).unwrap_or_default()).unwrap_or_default())
    .bind(record.state.code())
    .bind(record.roster_version)
    .bind(record.filed_on.to_string())
    .bind(record.occupation.as_str())
    .bind(record.level.code())
    .bind(i64::from(record.approved_headcount))
    .bind(serde_json::to_string(&record.told).unwrap_or_default())
    .bind(record.told_micros)
    .bind(record.filing_decision.json())
    .bind(&record.policy_version)
    .bind(&record.policy_digest)
    .bind(&record.acknowledged_by)
    .bind(record.acknowledged_micros)
    .bind(date_text(record.stopped_on))
    .bind(&record.stop_reason)
    .bind(date_text(record.completed_on))
    .bind(&record.filed_by)
    .bind_stamp(&record.stamp)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Stores what changes on a class (state, roster version, acknowledgement, stop, completion),
/// unless it changed since it was read.
pub async fn update(tx: &mut Tx, record: &ClassRecord) -> Result<(), Error> {
    let query = sqlx::query(
        "UPDATE training_class SET state = $1, roster_version = $2, acknowledged_by = $3, acknowledged_micros = $4, \
         stopped_on = $5, stop_reason = $6, completed_on = $7, revision = $8, update_time_micros = $9 \
         WHERE id = $10 AND revision = $11",
    )
    .bind(record.state.code())
    .bind(record.roster_version)
    .bind(&record.acknowledged_by)
    .bind(record.acknowledged_micros)
    .bind(date_text(record.stopped_on))
    .bind(&record.stop_reason)
    .bind(date_text(record.completed_on));
    db::update_stamped(tx, query, &record.stamp, &record.id, "the class").await
}

/// Stores a refiled class's filing (title, dates, hours, mode, venue, teachers and the filing
/// decision), unless it changed since it was read.
pub async fn update_filing(tx: &mut Tx, record: &ClassRecord) -> Result<(), Error> {
    let query = sqlx::query(
        "UPDATE training_class SET title = $1, first_day = $2, last_day = $3, theory_hours = $4, \
         practice_hours = $5, mode = $6, venue = $7, teachers = $8, filing_decision = $9, revision = $10, \
         update_time_micros = $11 WHERE id = $12 AND revision = $13",
    )
    .bind(&record.title)
    .bind(record.first_day.to_string())
    .bind(record.last_day.to_string())
    .bind(i64::from(record.theory_hours))
    .bind(i64::from(record.practice_hours))
    .bind(record.mode.code())
    .bind(&record.venue)
    .bind(serde_json::to_string(&record.teachers).unwrap_or_default())
    .bind(record.filing_decision.json());
    db::update_stamped(tx, query, &record.stamp, &record.id, "the class").await
}
