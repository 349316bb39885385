//! Approved projects (项目): what a decided round approved. A project carries what the classes
//! filed under it and the subsidy claimed for it need: the provider, the training county, the
//! occupation and level of its catalog item, the approved headcount, the round's method, the
//! cross-region consent and how it will be judged (PROJ-BASIS).

use qiancheng_api::convert;
use qiancheng_api::selection::*;
use qiancheng_domain::policy::subsidy::{ProjectBasis, proj_basis};
use qiancheng_domain::{Industry, RegionCode, SkillLevel, TargetGroup};
use qiancheng_platform::PlatformError;
use qiancheng_platform::auth::Principal;
use qiancheng_platform::db::Tx;
use qiancheng_platform::error::Violations;
use qiancheng_platform::page::PageRequest;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row as _};
use tonic::Request;

use crate::State;
use crate::application::ApplicationRecord;
use crate::catalog::CatalogItemRecord;
use crate::error::SelectionError;
use crate::round::{RoundRecord, method_to_proto, to_i32};

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
    pub method: String,
    /// The cross-region consent's reference, if any.
    pub cross_region_consent: String,
    /// Approved, microseconds.
    pub create_time_micros: i64,
}

const COLUMNS: &str = "id, application_id, round_id, catalog_item_id, provider_credit_code, provider_name, region_code, \
    training_region_code, industry, occupation_code, occupation_name, skill_level, approved_headcount, basis, method, \
    cross_region_consent, create_time_micros";

fn corrupt(what: &str) -> SelectionError {
    PlatformError::Corrupt(format!("project {what}")).into()
}

/// PROJ-BASIS: in-service trainees make a project judged by its certificate rate, any other
/// trainees by its employment rate.
fn basis_of(in_service_trainees: bool) -> &'static str {
    let group = if in_service_trainees { TargetGroup::InServiceWorker } else { TargetGroup::OtherEligible };
    match proj_basis(&[group]) {
        ProjectBasis::CertificateRate => "CERTIFICATE_RATE",
        ProjectBasis::EmploymentRate | ProjectBasis::Mixed => "EMPLOYMENT_RATE",
    }
}

impl ProjectRecord {
    /// The project made of an application approved in `round` for `item`.
    pub fn approve(
        id: &str,
        application: &ApplicationRecord,
        round: &RoundRecord,
        item: &CatalogItemRecord,
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
            approved_headcount: application.headcount,
            basis: basis_of(application.in_service_trainees).to_owned(),
            method: round.method.clone(),
            cross_region_consent: application.consent_reference.clone(),
            create_time_micros: now,
        }
    }

    fn from_row(row: &AnyRow) -> Result<Self, SelectionError> {
        let text = |c: &str| row.try_get::<String, _>(c);
        Ok(Self {
            id: text("id")?,
            application_id: text("application_id")?,
            round_id: text("round_id")?,
            catalog_item_id: text("catalog_item_id")?,
            provider_credit_code: text("provider_credit_code")?,
            provider_name: text("provider_name")?,
            region: RegionCode::parse(&text("region_code")?).map_err(|_| corrupt("region"))?,
            training_region: RegionCode::parse(&text("training_region_code")?)
                .map_err(|_| corrupt("training region"))?,
            industry: Industry::parse(&text("industry")?).map_err(|_| corrupt("industry"))?,
            occupation_code: text("occupation_code")?,
            occupation_name: text("occupation_name")?,
            level: SkillLevel::parse(&text("skill_level")?).map_err(|_| corrupt("level"))?,
            approved_headcount: row.try_get("approved_headcount")?,
            basis: text("basis")?,
            method: text("method")?,
            cross_region_consent: text("cross_region_consent")?,
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
            approved_headcount: to_i32(self.approved_headcount),
            basis: EvaluationBasis::from_str_name(&format!("EVALUATION_BASIS_{}", self.basis)).map_or(0, |b| b as i32),
            method: method_to_proto(&self.method),
            cross_region_consent: self.cross_region_consent.clone(),
            create_time_micros: self.create_time_micros,
        }
    }
}

/// Writes a new project inside `tx`.
pub async fn insert(tx: &mut Tx, record: &ProjectRecord) -> Result<(), SelectionError> {
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
    .bind(&record.method)
    .bind(&record.cross_region_consent)
    .bind(record.create_time_micros)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// GetProject: any authenticated caller; a county officer only projects of their county (where
/// they train, or whose round it was) and the city's.
pub async fn get(state: &State, request: Request<GetProjectRequest>) -> Result<GetProjectResponse, SelectionError> {
    let principal = Principal::of(&request)?;
    let name = &request.get_ref().name;
    let id = convert::resource_id(name, "projects").map_err(|e| SelectionError::invalid("name", e.rule, e.reason))?;
    let row = sqlx::query(AssertSqlSafe(format!("SELECT {COLUMNS} FROM project WHERE id = $1")))
        .bind(id)
        .fetch_optional(state.db.pool())
        .await?;
    let record = row.as_ref().map(ProjectRecord::from_row).transpose()?.ok_or_else(|| {
        if crate::access::confined_county(&principal).is_some() {
            SelectionError::denied("the record belongs to another county")
        } else {
            SelectionError::NotFound(name.clone())
        }
    })?;
    crate::access::check_public(&principal, &[record.region, record.training_region])?;
    Ok(GetProjectResponse { project: Some(record.to_proto()) })
}

/// ListProjects: any authenticated caller (a county officer: their county's projects and the
/// city's); filters by training county and provider.
pub async fn list(
    state: &State,
    request: Request<ListProjectsRequest>,
) -> Result<ListProjectsResponse, SelectionError> {
    let principal = Principal::of(&request)?;
    let confined = crate::access::confined_county(&principal);
    let m = request.into_inner();
    let mut v = Violations::default();
    let region = v.value("region_code", convert::region_filter(&m.region_code)).flatten();
    let provider = m.provider_credit_code.trim().to_owned();
    if provider.chars().count() > 18 {
        v.add("provider_credit_code", "PROV-USCC", "a credit code has 18 characters");
    }
    v.finish()?;
    let region = region.map_or("", |r| r.code());
    let page = PageRequest::parse(m.page_size, &m.page_token, &format!("projects|{region}|{provider}"))?;
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM project WHERE id > $1 AND ($2 = '' OR training_region_code = $2) \
         AND ($3 = '' OR provider_credit_code = $3) \
         AND ($4 = '' OR training_region_code = $4 OR region_code = $4 OR region_code = $5) ORDER BY id LIMIT $6"
    )))
    .bind(&page.after)
    .bind(region)
    .bind(&provider)
    .bind(confined.map_or("", |c| c.code()))
    .bind(qiancheng_domain::RegionCode::CITY.code())
    .bind(page.fetch_limit())
    .fetch_all(state.db.pool())
    .await?;
    let mut records = rows.iter().map(ProjectRecord::from_row).collect::<Result<Vec<_>, _>>()?;
    let next_page_token = page.finish(&mut records, |r| r.id.clone());
    Ok(ListProjectsResponse { projects: records.iter().map(ProjectRecord::to_proto).collect(), next_page_token })
}
