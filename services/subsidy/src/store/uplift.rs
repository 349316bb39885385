//! Uplift policies (其他上浮政策, SUBS-UPLIFT), every version, and the uplifts recorded for
//! trainees, as stored. Neither is ever updated.

use chrono::NaiveDate;
use qiancheng_domain::RegionCode;
use qiancheng_platform::Error;
use qiancheng_platform::db::Reader;
use qiancheng_platform::record::{self, Filter, Record};

/// A version of an uplift policy as stored.
#[derive(Debug, Clone, PartialEq, Eq, Record)]
#[record(table = "uplift_policy", alias = "up", what = "the uplift policy")]
pub struct UpliftPolicyRecord {
    /// `{code}-v{version}`.
    pub id: String,
    /// The policy's stable code.
    #[column(fixed)]
    pub code: String,
    /// The version, from 1.
    #[column(fixed)]
    pub version: i32,
    /// The policy's name.
    #[column(fixed)]
    pub display_name: String,
    /// The document number.
    #[column(fixed)]
    pub document_number: String,
    /// Who qualifies.
    #[column(fixed)]
    pub qualifies: String,
    /// Percent of the standard.
    #[column(fixed)]
    pub percent: u32,
    /// The first day in force.
    #[column(fixed)]
    pub effective_from: NaiveDate,
    /// Who added it.
    #[column(fixed)]
    pub created_by: String,
    /// When.
    #[column(fixed)]
    pub create_time_micros: i64,
}

impl UpliftPolicyRecord {
    /// The key of version `version` of `code`.
    pub fn id_of(code: &str, version: i32) -> String {
        format!("{code}-v{version}")
    }

    /// The resource name.
    pub fn name(&self) -> String {
        format!("upliftPolicies/{}", self.id)
    }
}

/// Every version of the policy `code`, oldest first.
pub async fn versions<'c>(executor: impl Reader<'c>, code: &str) -> Result<Vec<UpliftPolicyRecord>, Error> {
    record::all::<UpliftPolicyRecord>(executor, Filter::new().eq("up.code", code), "up.version").await
}

/// The version of a policy in force on `day`: the newest that took effect on or before it.
pub fn in_force(versions: &[UpliftPolicyRecord], day: NaiveDate) -> Option<&UpliftPolicyRecord> {
    versions.iter().filter(|v| v.effective_from <= day).max_by_key(|v| v.version)
}

/// An uplift recorded for a trainee as stored.
#[derive(Debug, Clone, PartialEq, Eq, Record)]
#[record(table = "trainee_uplift", alias = "tu", what = "the trainee's uplift")]
pub struct TraineeUpliftRecord {
    /// Assigned.
    pub id: String,
    /// The selection project's id.
    #[column(fixed)]
    pub project_id: String,
    /// The trainee as supervision names it.
    #[column(fixed)]
    pub trainee: String,
    /// The policy's code.
    #[column(fixed)]
    pub policy_code: String,
    /// The evidence.
    #[column(fixed)]
    pub basis: String,
    /// The project's county.
    #[column(name = "region_code", fixed)]
    pub region: RegionCode,
    /// Who recorded it.
    #[column(fixed)]
    pub recorded_by: String,
    /// When.
    #[column(fixed)]
    pub create_time_micros: i64,
}

impl TraineeUpliftRecord {
    /// The resource name.
    pub fn name(&self) -> String {
        format!("traineeUplifts/{}", self.id)
    }
}

/// Every uplift recorded for the trainees of project `project_id`.
pub async fn of_project<'c>(executor: impl Reader<'c>, project_id: &str) -> Result<Vec<TraineeUpliftRecord>, Error> {
    record::all::<TraineeUpliftRecord>(executor, Filter::new().eq("tu.project_id", project_id), "tu.id").await
}
