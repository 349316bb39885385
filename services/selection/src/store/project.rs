//! Approved projects (项目) as stored: what a decided round approved, with what the classes filed
//! under it and the subsidy claimed for it need (PROJ-BASIS), and the figures the selection
//! report adds up.

use qiancheng_api::convert;
use qiancheng_api::selection::{EvaluationBasis, Project};
use qiancheng_domain::policy::PolicySet;
use qiancheng_domain::policy::outcome::Basis;
use qiancheng_domain::{Industry, RegionCode, SkillLevel, TargetGroup};
use qiancheng_platform::Error;
use qiancheng_platform::db::{self, Table, Tx};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row as _};

use super::Reader;
use super::application::ApplicationRecord;
use super::catalog::CatalogItemRecord;
use super::round::{Method, RoundRecord};
use qiancheng_api::convert::int32;

/// An approved project (项目) as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectRecord {
    /// Id (ULID).
    pub id: String,
    /// The approved application's id.
    pub application_id: String,
    /// The round's id.
    pub round_id: String,
    /// The catalog item's id.
    pub catalog_item_id: String,
    /// The provider's credit code.
    pub provider_credit_code: String,
    /// The provider's name, as it applied.
    pub provider_name: String,
    /// The round's county, or the city.
    pub region: RegionCode,
    /// The county where the training happens.
    pub training_region: RegionCode,
    /// Industry of the catalog item.
    pub industry: Industry,
    /// Occupation code.
    pub occupation_code: String,
    /// Occupation name.
    pub occupation_name: String,
    /// Skill level.
    pub level: SkillLevel,
    /// Approved headcount.
    pub approved_headcount: i64,
    /// How it is judged (`CERTIFICATE_RATE`, `EMPLOYMENT_RATE`).
    pub basis: String,
    /// The round's method.
    pub method: Method,
    /// The cross-region consent's reference, if any.
    pub cross_region_consent: String,
    /// Approved, microseconds.
    pub create_time_micros: i64,
}

const COLUMNS: &str = "id, application_id, round_id, catalog_item_id, provider_credit_code, provider_name, region_code, \
    training_region_code, industry, occupation_code, occupation_name, skill_level, approved_headcount, basis, method, \
    cross_region_consent, create_time_micros";

/// The table and the columns a record decodes from.
const TABLE: Table = Table { name: "project", columns: COLUMNS };

/// PROJ-BASIS: how `policy` judges a project of in-service trainees (its certificate rate) or of
/// others (its employment rate). The group decides it through the set, so that under v2 a group
/// trained "按照在岗职工有关政策" (pre-hire) is judged by certificates too.
fn basis_of(policy: &PolicySet, in_service_trainees: bool) -> &'static str {
    let group = if in_service_trainees { TargetGroup::InServiceWorker } else { TargetGroup::OtherEligible };
    match policy.basis_for(group) {
        Basis::Certificate => "CERTIFICATE_RATE",
        Basis::Employment => "EMPLOYMENT_RATE",
    }
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
        Self {
            id: id.to_owned(),
            application_id: application.id.clone(),
            round_id: round.id.clone(),
            catalog_item_id: item.id.clone(),
            provider_credit_code: application.provider_credit_code.clone(),
            provider_name: application.provider_name.clone(),
            region: round.region,
            training_region: application.training_region,
            industry: item.industry,
            occupation_code: item.occupation_code.clone(),
            occupation_name: item.occupation_name.clone(),
            level: item.level,
            approved_headcount,
            basis: basis_of(policy, application.in_service_trainees).to_owned(),
            method: round.method,
            cross_region_consent: application.consent_reference.clone(),
            create_time_micros: now,
        }
    }

    /// Decodes a row of the table.
    pub fn from_row(row: &AnyRow) -> Result<Self, Error> {
        Ok(Self {
            id: row.try_get("id")?,
            application_id: row.try_get("application_id")?,
            round_id: row.try_get("round_id")?,
            catalog_item_id: row.try_get("catalog_item_id")?,
            provider_credit_code: row.try_get("provider_credit_code")?,
            provider_name: row.try_get("provider_name")?,
            region: db::parsed(row, "region_code", RegionCode::parse)?,
            training_region: db::parsed(row, "training_region_code", RegionCode::parse)?,
            industry: db::parsed(row, "industry", Industry::parse)?,
            occupation_code: row.try_get("occupation_code")?,
            occupation_name: row.try_get("occupation_name")?,
            level: db::parsed(row, "skill_level", SkillLevel::parse)?,
            approved_headcount: row.try_get("approved_headcount")?,
            basis: row.try_get("basis")?,
            method: db::parsed(row, "method", |m| Method::parse(m).ok_or(()))?,
            cross_region_consent: row.try_get("cross_region_consent")?,
            create_time_micros: row.try_get("create_time_micros")?,
        })
    }

    /// The resource name.
    pub fn name(&self) -> String {
        format!("projects/{}", self.id)
    }

    /// The project as the API shows it.
    pub fn to_proto(&self) -> Project {
        Project {
            name: self.name(),
            application: format!("applications/{}", self.application_id),
            round: format!("rounds/{}", self.round_id),
            catalog_item: format!("catalogItems/{}", self.catalog_item_id),
            provider_credit_code: self.provider_credit_code.clone(),
            provider_name: self.provider_name.clone(),
            region_code: self.region.code().to_owned(),
            training_region_code: self.training_region.code().to_owned(),
            industry: convert::industry_to_proto(self.industry),
            occupation_code: self.occupation_code.clone(),
            occupation_name: self.occupation_name.clone(),
            skill_level: convert::skill_level_to_proto(Some(self.level)),
            approved_headcount: int32(self.approved_headcount),
            basis: EvaluationBasis::from_str_name(&format!("EVALUATION_BASIS_{}", self.basis)).map_or(0, |b| b as i32),
            method: self.method.to_proto(),
            cross_region_consent: self.cross_region_consent.clone(),
            create_time_micros: self.create_time_micros,
        }
    }
}

/// Reads a project by id.
pub async fn find<'c>(executor: impl Reader<'c>, id: &str) -> Result<Option<ProjectRecord>, Error> {
    TABLE.find(executor, &[("id", id)], ProjectRecord::from_row).await
}

/// A page of projects after id `after`, trained in `region` and of provider `provider` (empty:
/// any), of county `confined` (trained there or selected there) and the city (empty: every
/// region).
pub async fn list(
    pool: &sqlx::AnyPool,
    after: &str,
    (region, provider): (&str, &str),
    confined: &str,
    limit: i64,
) -> Result<Vec<AnyRow>, Error> {
    Ok(sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM project WHERE id > $1 AND ($2 = '' OR training_region_code = $2) \
         AND ($3 = '' OR provider_credit_code = $3) \
         AND ($4 = '' OR training_region_code = $4 OR region_code = $4 OR region_code = $5) ORDER BY id LIMIT $6"
    )))
    .bind(after)
    .bind(region)
    .bind(provider)
    .bind(confined)
    .bind(RegionCode::CITY.code())
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// Stores a new project.
pub async fn insert(tx: &mut Tx, record: &ProjectRecord) -> Result<(), Error> {
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO project ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
    )))
    .bind(&record.id)
    .bind(&record.application_id)
    .bind(&record.round_id)
    .bind(&record.catalog_item_id)
    .bind(&record.provider_credit_code)
    .bind(&record.provider_name)
    .bind(record.region.code())
    .bind(record.training_region.code())
    .bind(record.industry.code())
    .bind(&record.occupation_code)
    .bind(&record.occupation_name)
    .bind(record.level.code())
    .bind(record.approved_headcount)
    .bind(&record.basis)
    .bind(record.method.code())
    .bind(&record.cross_region_consent)
    .bind(record.create_time_micros)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Projects and approved headcount for one training county, industry, occupation and method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statistic {
    /// County of the training.
    pub training_region: RegionCode,
    /// Industry.
    pub industry: Industry,
    /// Occupation code.
    pub occupation_code: String,
    /// Method.
    pub method: Method,
    /// Projects.
    pub projects: i64,
    /// Approved headcount.
    pub headcount: i64,
}

/// Projects and approved headcount by training county, industry, occupation and method, of
/// training county `region` (empty: any), inside `scope` (see `Scope::sql`), in that order.
pub async fn statistics(pool: &sqlx::AnyPool, region: &str, scope: (&str, &str)) -> Result<Vec<Statistic>, Error> {
    let rows = sqlx::query(
        "SELECT training_region_code, industry, occupation_code, method, COUNT(*) AS projects, \
         CAST(SUM(approved_headcount) AS BIGINT) AS headcount FROM project \
         WHERE ($1 = '' OR training_region_code = $1) \
         AND ($2 = 'ALL' OR ($2 = 'REGION' AND training_region_code = $3)) \
         GROUP BY training_region_code, industry, occupation_code, method \
         ORDER BY training_region_code, industry, occupation_code, method",
    )
    .bind(region)
    .bind(scope.0)
    .bind(scope.1)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Statistic {
                training_region: db::parsed(row, "training_region_code", RegionCode::parse)?,
                industry: db::parsed(row, "industry", Industry::parse)?,
                occupation_code: row.try_get("occupation_code")?,
                method: db::parsed(row, "method", |m| Method::parse(m).ok_or(()))?,
                projects: row.try_get("projects")?,
                headcount: row.try_get("headcount")?,
            })
        })
        .collect()
}
