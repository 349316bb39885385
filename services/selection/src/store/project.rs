//! Approved projects (项目) as stored: what a decided round approved, with what the classes filed
//! under it and the subsidy claimed for it need (PROJ-BASIS), and the figures the selection
//! report adds up.

use qiancheng_api::convert::Shown;
use qiancheng_domain::policy::PolicySet;
use qiancheng_domain::policy::outcome::Basis;
use qiancheng_domain::policy::project::ProjectBasis;
use qiancheng_domain::policy::selection::SelectionMethod;
use qiancheng_domain::{Industry, RegionCode, SkillLevel, TargetGroup};
use qiancheng_platform::Error;
use qiancheng_platform::record::{self, Columns, Record};
use sqlx::AnyPool;

use super::application::ApplicationRecord;
use super::catalog::CatalogItemRecord;
use super::round::RoundRecord;

/// An approved project (项目) as stored.
#[derive(Debug, Clone, PartialEq, Eq, Record, Shown)]
#[record(table = "project", alias = "pr", what = "the project")]
#[shown(message = "qiancheng_api::selection::Project")]
pub struct ProjectRecord {
    /// Id (ULID).
    #[column(hidden)]
    pub id: String,
    /// The approved application's id.
    #[column(hidden)]
    pub application_id: String,
    /// The round's id.
    #[column(hidden)]
    pub round_id: String,
    /// The catalog item's id.
    #[column(hidden)]
    pub catalog_item_id: String,
    /// The provider's credit code.
    pub provider_credit_code: String,
    /// The provider's name, as it applied.
    pub provider_name: String,
    /// The project's title (项目名称) from the application's filing (附件2); empty for projects
    /// approved before the title was kept.
    pub title: String,
    /// The round's county, or the city.
    #[column(name = "region_code")]
    pub region: RegionCode,
    /// The county where the training happens.
    #[column(name = "training_region_code")]
    pub training_region: RegionCode,
    /// Industry of the catalog item.
    pub industry: Industry,
    /// Occupation code.
    pub occupation_code: String,
    /// Occupation name.
    pub occupation_name: String,
    /// Skill level.
    #[column(name = "skill_level")]
    pub level: SkillLevel,
    /// Approved headcount.
    pub approved_headcount: i64,
    /// How it is judged: its certificate rate or its employment rate.
    pub basis: ProjectBasis,
    /// The round's method.
    pub method: SelectionMethod,
    /// The cross-region consent's reference, if any.
    pub cross_region_consent: String,
    /// Approved, microseconds.
    pub create_time_micros: i64,
}

impl ProjectRecord {
    /// The project `id` made of an application approved in `round` for `item` under `policy`,
    /// for `approved_headcount` trainees (its headcount, or the reduced one), at `now`.
    pub fn approve(
        id: &str,
        (application, approved_headcount): (&ApplicationRecord, i64),
        (round, item): (&RoundRecord, &CatalogItemRecord),
        policy: &PolicySet,
        now: i64,
    ) -> Self {
        // PROJ-BASIS: the group decides the basis through the set, so that under v2 a group
        // trained "按照在岗职工有关政策" (pre-hire) is judged by certificates too.
        let group =
            if application.in_service_trainees { TargetGroup::InServiceWorker } else { TargetGroup::OtherEligible };
        let basis = match policy.basis_for(group) {
            Basis::Certificate => ProjectBasis::CertificateRate,
            Basis::Employment => ProjectBasis::EmploymentRate,
        };
        Self {
            id: id.to_owned(),
            application_id: application.id.clone(),
            round_id: round.id.clone(),
            catalog_item_id: item.id.clone(),
            provider_credit_code: application.provider_credit_code.clone(),
            provider_name: application.provider_name.clone(),
            title: application.filing.project_title.trim().to_owned(),
            region: round.region,
            training_region: application.training_region,
            industry: item.industry,
            occupation_code: item.occupation_code.clone(),
            occupation_name: item.occupation_name.clone(),
            level: item.level,
            approved_headcount,
            basis,
            method: round.method,
            cross_region_consent: application.consent_reference.clone(),
            create_time_micros: now,
        }
    }

    /// The resource name.
    pub fn name(&self) -> String {
        format!("projects/{}", self.id)
    }
}

/// Projects and approved headcount for one training county, industry, occupation and method.
#[derive(Debug, Clone, PartialEq, Eq, Columns)]
pub struct Statistic {
    /// County of the training.
    pub training_region: RegionCode,
    /// Industry.
    pub industry: Industry,
    /// Occupation code.
    pub occupation_code: String,
    /// Method.
    pub method: SelectionMethod,
    /// Projects.
    pub projects: i64,
    /// Approved headcount.
    pub headcount: i64,
}

/// Projects and approved headcount by training county, industry, occupation and method, in
/// that order.
pub async fn statistics(pool: &AnyPool) -> Result<Vec<Statistic>, Error> {
    record::select(
        pool,
        "SELECT training_region_code, industry, occupation_code, method, COUNT(*), \
         CAST(SUM(approved_headcount) AS BIGINT) FROM project \
         GROUP BY training_region_code, industry, occupation_code, method \
         ORDER BY training_region_code, industry, occupation_code, method",
    )
    .await
}
