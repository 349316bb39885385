//! Classes (班次) as stored: the filing (开班备案) with what the selection service said about the
//! project and provider at the time, the filing decision, the roster's current version and the
//! class's state.

use chrono::NaiveDate;
use qiancheng_api::convert::{IntoProto, Shown};
use qiancheng_api::supervision as proto;
use qiancheng_domain::lifecycle::{ClassState, Lifecycle as _};
use qiancheng_domain::policy::RuleResult;
use qiancheng_domain::policy::facts::{ClassFacts, KeyProject};
use qiancheng_domain::policy::project::TrainingMode;
use qiancheng_domain::{OccupationCode, RegionCode, SkillLevel};
use qiancheng_platform::auth::Scope;
use qiancheng_platform::db::{Db, Reader, Tx};
use qiancheng_platform::explain::Audience;
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::record::{self, Filter, Record};
use qiancheng_platform::{Error, Stamp};
use serde::{Deserialize, Serialize};
use sqlx::Row as _;

use super::{StoredDecision, int32};

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
#[derive(Debug, Clone, PartialEq, Eq, Record, Shown)]
#[record(table = "training_class", alias = "c", what = "the class")]
#[shown(message = "proto::Class")]
pub struct ClassRecord {
    /// Id (ULID).
    #[column(hidden)]
    pub id: String,
    /// The selection service's project id.
    #[column(fixed, hidden)]
    pub project_id: String,
    /// The provider's credit code.
    #[column(fixed)]
    pub provider_credit_code: String,
    /// The training county: scopes officers.
    #[column(name = "region_code", fixed)]
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
    #[column(json)]
    pub teachers: Vec<TeacherRecord>,
    /// The key project of a pre-hire class (ELIG-PREHIRE).
    #[column(json, fixed, hidden)]
    pub key_project: Option<KeyProject>,
    /// State.
    pub state: ClassState,
    /// The roster's current version.
    pub roster_version: i64,
    /// Trainees on the current roster.
    #[column(computed = "(SELECT COUNT(*) FROM trainee t WHERE t.class_id = c.id AND t.added_version > 0 \
                         AND t.removed_version = 0)")]
    pub roster_size: i64,
    /// The day it was filed.
    #[column(fixed)]
    pub filed_on: NaiveDate,
    /// The project's occupation.
    #[column(name = "occupation_code", fixed, hidden)]
    pub occupation: OccupationCode,
    /// The project's level.
    #[column(name = "skill_level", fixed, hidden)]
    pub level: SkillLevel,
    /// The project's approved headcount, as selection said.
    #[column(fixed, hidden)]
    pub approved_headcount: u32,
    /// What selection said.
    #[column(name = "selection_told", json, fixed, hidden)]
    pub told: SelectionTold,
    /// When.
    #[column(fixed, hidden)]
    pub told_micros: i64,
    /// The filing decision.
    #[column(json, hidden)]
    pub filing_decision: StoredDecision,
    /// The policy-set version the class was filed under.
    #[column(fixed, hidden)]
    pub policy_version: String,
    /// Its digest.
    #[column(fixed, hidden)]
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
    #[column(fixed, hidden)]
    pub filed_by: String,
    /// Revision and times.
    #[column(stamp)]
    pub stamp: Stamp,
}

/// A key project as the API shows it.
pub fn key_project_to_proto(project: &KeyProject) -> proto::KeyProject {
    proto::KeyProject {
        enterprise: project.enterprise.clone(),
        library: project.library.into_proto(),
        manufacturing: project.manufacturing,
        expected_production_on: Some(project.expected_production_on.into_proto()),
    }
}

impl ClassRecord {
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
            key_project: self.key_project.as_ref().map(key_project_to_proto),
            selection: Some(proto::SelectionSnapshot {
                occupation_code: self.occupation.as_str().to_owned(),
                occupation_name: self.told.occupation_name.clone(),
                skill_level: Some(self.level).into_proto(),
                approved_headcount: int32(i64::from(self.approved_headcount)),
                training_region_code: self.told.training_region_code.clone(),
                catalog_item: self.told.catalog_item.clone(),
                catalog_hours: int32(i64::from(self.told.catalog_hours)),
                catalog_mode: self.told.catalog_mode.into_proto(),
                good_standing: self.told.good_standing,
                standing_rules: self.told.standing_rules.iter().map(IntoProto::into_proto).collect(),
                told_micros: self.told_micros,
            }),
            // The filing decision judges the class, not a person: its reasons withhold nothing.
            filing_decision: Some(self.filing_decision.to_proto(Audience::WHOLE)),
            ..self.shown()
        }
    }
}

impl IntoProto<proto::Teacher> for TeacherRecord {
    fn into_proto(self) -> proto::Teacher {
        proto::Teacher { name: self.name, qualification: self.qualification }
    }
}

/// Reads a class by id.
pub async fn find<'c>(executor: impl Reader<'c>, id: &str) -> Result<Option<ClassRecord>, Error> {
    record::find(executor, id).await
}

/// A page of classes inside `scope`, of `project` and in `state` when given.
pub async fn page(
    db: &Db,
    scope: &Scope,
    project: &str,
    state: Option<ClassState>,
    page: &PageRequest,
) -> Result<(Vec<ClassRecord>, String), Error> {
    let filter = Filter::new()
        .within(scope, "c.region_code", Some("c.provider_credit_code"))
        .eq_given("c.project_id", Some(project))
        .eq_given("c.state", state.map(|s| s.code()));
    record::page(db, filter, page).await
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
pub async fn insert(tx: &mut Tx, class: &ClassRecord) -> Result<(), Error> {
    record::insert(tx, class).await
}

/// Stores what changed on a class, unless it changed since it was read (`stamp.touch()` first).
pub async fn update(tx: &mut Tx, class: &ClassRecord) -> Result<(), Error> {
    record::update(tx, class).await
}
