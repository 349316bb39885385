//! Watched trainees as stored.

use chrono::NaiveDate;
use qiancheng_domain::{RegionCode, SkillLevel, TargetGroup};
use qiancheng_platform::Stamp;
use qiancheng_platform::record::Record;

/// A watched trainee: one entry of a project's real-name roster, as supervision shows it.
#[derive(Debug, Clone, Record)]
#[record(table = "watched_trainee", key = "id", what = "the trainee")]
pub struct TraineeRecord {
    /// Supervision's id of the roster entry.
    pub id: String,
    /// Supervision's name, `classes/{class}/trainees/{trainee}`.
    pub roster_entry: String,
    /// The class's id.
    pub class_id: String,
    /// The project's id.
    pub project_id: String,
    /// The provider's credit code.
    pub provider_credit_code: String,
    /// The class's county.
    #[column(name = "region_code")]
    pub region: RegionCode,
    /// Supervision's keyed hash of the ID number: one person across classes.
    pub person_hash: String,
    /// The ID number, masked.
    pub id_number_masked: String,
    /// The name, masked.
    pub name_masked: String,
    /// The group judged (ELIG-GROUP).
    pub judged_group: TargetGroup,
    /// The level held before the class.
    pub prior_level: Option<SkillLevel>,
    /// The class's first day.
    pub class_first_day: NaiveDate,
    /// The class's last day: the outcome window opens (OUT-WINDOW).
    pub class_last_day: NaiveDate,
    /// The day the class was filed.
    pub class_filed_on: NaiveDate,
    /// The class has completed.
    pub class_completed: bool,
    /// The policy version of the class's filing.
    pub policy_version: String,
    /// Its digest.
    pub policy_digest: String,
    /// Completed the class (CLASS-ATTENDANCE and CLASS-COMPLETION passed).
    pub completed: bool,
    /// A 培训对象 (PERSON-ID, ELIG-AGE, ELIG-FISCAL, ELIG-LOCAL passed).
    pub plan_trainee: bool,
    /// Why not counted in the rate; empty when counted.
    pub excluded_by: String,
    /// A pre-hire trainee (ELIG-PREHIRE).
    pub prehire: bool,
    /// The enterprise intending to hire them.
    pub prehire_enterprise: String,
    /// The project's occupation code.
    pub occupation_code: String,
    /// Revision and times.
    #[column(stamp)]
    pub stamp: Stamp,
}

impl TraineeRecord {
    /// The resource name.
    pub fn name(&self) -> String {
        format!("trainees/{}", self.id)
    }

    /// Counted in the project's rate.
    pub fn counted(&self) -> bool {
        self.excluded_by.is_empty()
    }
}
