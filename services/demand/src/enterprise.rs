//! Enterprises (用人单位) that file demand: credit code, name, county, industry, and whether they
//! belong to a project in the county's key-project library (三(一)) with its expected start of
//! production.

use chrono::NaiveDate;
use qiancheng_api::demand::*;
use qiancheng_domain::{Industry, RegionCode, Uscc};
use qiancheng_platform::audit::{self, AuditEntry};
use qiancheng_platform::auth::Principal;
use qiancheng_platform::db::{flag, flag_value};
use qiancheng_platform::error::Violations;
use qiancheng_platform::idempotency::{self, IdempotencyKey, Started};
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::time::now_micros;
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;
use sqlx::{Executor, Row as _};
use tonic::Request;

use crate::State;
use crate::access::{self, Scope};
use crate::error::DemandError;
use qiancheng_api::convert;

/// An enterprise as stored.
#[derive(Debug, Clone)]
pub struct EnterpriseRecord {
    /// Unified social credit code.
    pub credit_code: String,
    /// Registered name.
    pub display_name: String,
    /// County.
    pub region: RegionCode,
    /// Industry.
    pub industry: Industry,
    /// In the county's key-project library.
    pub key_project: bool,
    /// The key project's name.
    pub key_project_name: String,
    /// Expected start of production.
    pub expected_production_date: Option<NaiveDate>,
    /// Version for the etag.
    pub version: i64,
    /// Created, microseconds.
    pub create_time_micros: i64,
    /// Changed, microseconds.
    pub update_time_micros: i64,
}

const COLUMNS: &str = "credit_code, display_name, region_code, industry, key_project, key_project_name, \
    expected_production_date, version, create_time_micros, update_time_micros";

impl EnterpriseRecord {
    fn from_row(row: &AnyRow) -> Result<Self, DemandError> {
        let corrupt = |what: &str| DemandError::Platform(qiancheng_platform::PlatformError::Corrupt(what.to_owned()));
        Ok(Self {
            credit_code: row.try_get("credit_code")?,
            display_name: row.try_get("display_name")?,
            region: RegionCode::parse(&row.try_get::<String, _>("region_code")?).map_err(|_| corrupt("region"))?,
            industry: Industry::parse(&row.try_get::<String, _>("industry")?).map_err(|_| corrupt("industry"))?,
            key_project: flag(row.try_get("key_project")?),
            key_project_name: row.try_get("key_project_name")?,
            expected_production_date: row
                .try_get::<Option<String>, _>("expected_production_date")?
                .map(|d| qiancheng_domain::parse_date(&d).map_err(|_| corrupt("date")))
                .transpose()?,
            version: row.try_get("version")?,
            create_time_micros: row.try_get("create_time_micros")?,
            update_time_micros: row.try_get("update_time_micros")?,
        })
    }

    /// The enterprise as the API shows it.
    pub fn to_proto(&self) -> Enterprise {
        Enterprise {
            name: format!("enterprises/{}", self.credit_code),
            credit_code: self.credit_code.clone(),
            display_name: self.display_name.clone(),
            region_code: self.region.code().to_owned(),
            industry: convert::industry_to_proto(self.industry),
            key_project: self.key_project,
            key_project_name: self.key_project_name.clone(),
            expected_production_date: self.expected_production_date.map(convert::date_to_proto),
            create_time_micros: self.create_time_micros,
            update_time_micros: self.update_time_micros,
            etag: self.version.to_string(),
        }
    }
}

/// Reads an enterprise by credit code, inside a transaction or from the pool.
pub async fn find<'e, E: Executor<'e, Database = sqlx::Any>>(
    executor: E,
    credit_code: &str,
) -> Result<Option<EnterpriseRecord>, DemandError> {
    let row = sqlx::query(AssertSqlSafe(format!("SELECT {COLUMNS} FROM enterprise WHERE credit_code = $1")))
        .bind(credit_code)
        .fetch_optional(executor)
        .await?;
    row.as_ref().map(EnterpriseRecord::from_row).transpose()
}

/// The editable fields of an enterprise, validated.
struct EnterpriseFields {
    display_name: Option<String>,
    region: Option<RegionCode>,
    industry: Option<Industry>,
    key_project: bool,
    key_project_name: String,
    expected_production_date: Option<NaiveDate>,
}

fn validate_fields(e: &Enterprise, v: &mut Violations) -> EnterpriseFields {
    let key_project_name = v.value("enterprise.key_project_name", convert::optional_text(&e.key_project_name, 200));
    let expected = v.value("enterprise.expected_production_date", convert::date(e.expected_production_date.as_ref()));
    if e.key_project && key_project_name.as_deref().is_none_or(str::is_empty) {
        v.add("enterprise.key_project_name", "REQUIRED", "a key-project enterprise names its key project");
    }
    if !e.key_project && key_project_name.as_deref().is_some_and(|n| !n.is_empty()) {
        v.add("enterprise.key_project", "DEMAND-KEY-PROJECT", "a key project name needs key_project set");
    }
    EnterpriseFields {
        display_name: v.value("enterprise.display_name", convert::text(&e.display_name, 200)),
        region: v.value("enterprise.region_code", convert::county(&e.region_code)),
        industry: v.value("enterprise.industry", convert::industry(e.industry)),
        key_project: e.key_project,
        key_project_name: key_project_name.unwrap_or_default(),
        expected_production_date: expected.flatten(),
    }
}

/// CreateEnterprise.
pub async fn create(
    state: &State,
    request: Request<CreateEnterpriseRequest>,
) -> Result<CreateEnterpriseResponse, DemandError> {
    let principal = Principal::of(&request)?;
    let scope = access::enterprise_write_scope(&principal)?;
    let message = request.into_inner();
    let input = message.enterprise.clone().unwrap_or_default();
    let mut v = Violations::default();
    let credit_code = v.value("enterprise.credit_code", Uscc::parse(&input.credit_code));
    let fields = validate_fields(&input, &mut v);
    v.finish()?;
    let (Some(credit_code), Some(display_name), Some(region), Some(industry)) =
        (credit_code, fields.display_name, fields.region, fields.industry)
    else {
        unreachable!("every missing value was recorded as a violation, and finish() refused them")
    };
    access::check(&scope, region, credit_code.as_str())?;

    let key = IdempotencyKey::new(&principal.subject, "CreateEnterprise", &message.request_id, &message)?;
    let mut write = match idempotency::start(&state.db, key).await? {
        Started::Replayed(response) => return Ok(response),
        Started::Fresh(write) => write,
    };
    if find(&mut *write.tx, credit_code.as_str()).await?.is_some() {
        return Err(DemandError::AlreadyExists {
            reason: "ENTERPRISE_EXISTS",
            message: format!("enterprises/{} is already registered", credit_code.as_str()),
        });
    }
    let now = now_micros();
    let record = EnterpriseRecord {
        credit_code: credit_code.as_str().to_owned(),
        display_name,
        region,
        industry,
        key_project: fields.key_project,
        key_project_name: fields.key_project_name,
        expected_production_date: fields.expected_production_date,
        version: 1,
        create_time_micros: now,
        update_time_micros: now,
    };
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO enterprise ({COLUMNS}, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    )))
    .bind(&record.credit_code)
    .bind(&record.display_name)
    .bind(record.region.code())
    .bind(record.industry.code())
    .bind(flag_value(record.key_project))
    .bind(&record.key_project_name)
    .bind(record.expected_production_date.map(|d| d.to_string()))
    .bind(record.version)
    .bind(record.create_time_micros)
    .bind(record.update_time_micros)
    .bind(&principal.subject)
    .execute(&mut *write.tx)
    .await?;
    let resource = format!("enterprises/{}", record.credit_code);
    audit::record(
        &mut write.tx,
        AuditEntry {
            actor: &principal.subject,
            action: "enterprise.create",
            resource: &resource,
            detail: serde_json::json!({ "region": record.region.code(), "industry": record.industry.code(),
                "key_project": record.key_project }),
            policy_version: &state.policy_version,
        },
    )
    .await?;
    Ok(write.commit(CreateEnterpriseResponse { enterprise: Some(record.to_proto()) }).await?)
}

fn credit_code_of(name: &str) -> Result<&str, DemandError> {
    convert::resource_id(name, "enterprises").map_err(|e| DemandError::invalid("name", e.rule, e.reason))
}

/// GetEnterprise.
pub async fn get(state: &State, request: Request<GetEnterpriseRequest>) -> Result<GetEnterpriseResponse, DemandError> {
    let principal = Principal::of(&request)?;
    let scope = access::enterprise_read_scope(&principal)?;
    let credit_code = credit_code_of(&request.get_ref().name)?;
    // Permission before existence: an enterprise asking for another's credit code learns nothing.
    if matches!(&scope, Scope::Org(own) if own != credit_code) {
        return Err(DemandError::denied("an enterprise sees only itself"));
    }
    let record =
        find(state.db.pool(), credit_code).await?.ok_or_else(|| access::missing(&scope, &request.get_ref().name))?;
    access::check(&scope, record.region, &record.credit_code)?;
    Ok(GetEnterpriseResponse { enterprise: Some(record.to_proto()) })
}

/// ListEnterprises.
pub async fn list(
    state: &State,
    request: Request<ListEnterprisesRequest>,
) -> Result<ListEnterprisesResponse, DemandError> {
    let principal = Principal::of(&request)?;
    let scope = access::enterprise_read_scope(&principal)?;
    let message = request.into_inner();
    let mut v = Violations::default();
    let region = v.value("region_code", convert::region_filter(&message.region_code)).flatten();
    v.finish()?;
    let page = PageRequest::parse(
        message.page_size,
        &message.page_token,
        &format!("enterprises|{}", region.map_or("", |r| r.code())),
    )?;
    let (scope_kind, scope_value) = scope.sql();
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM enterprise WHERE credit_code > $1 AND ($2 = '' OR region_code = $2) \
         AND ($3 = 'ALL' OR ($3 = 'REGION' AND region_code = $4) OR ($3 = 'ORG' AND credit_code = $4)) \
         ORDER BY credit_code LIMIT $5"
    )))
    .bind(&page.after)
    .bind(region.map_or("", |r| r.code()))
    .bind(scope_kind)
    .bind(scope_value)
    .bind(page.fetch_limit())
    .fetch_all(state.db.pool())
    .await?;
    let mut records = rows.iter().map(EnterpriseRecord::from_row).collect::<Result<Vec<_>, _>>()?;
    let next_page_token = page.finish(&mut records, |r| r.credit_code.clone());
    Ok(ListEnterprisesResponse {
        enterprises: records.iter().map(EnterpriseRecord::to_proto).collect(),
        next_page_token,
    })
}

/// UpdateEnterprise.
pub async fn update(
    state: &State,
    request: Request<UpdateEnterpriseRequest>,
) -> Result<UpdateEnterpriseResponse, DemandError> {
    let principal = Principal::of(&request)?;
    let scope = access::enterprise_write_scope(&principal)?;
    let message = request.into_inner();
    let input = message.enterprise.clone().unwrap_or_default();
    let credit_code = credit_code_of(&input.name)?.to_owned();
    let paths = message.update_mask.as_ref().map(|m| m.paths.clone()).unwrap_or_default();
    const EDITABLE: [&str; 5] =
        ["display_name", "industry", "key_project", "key_project_name", "expected_production_date"];
    if paths.is_empty() {
        return Err(DemandError::invalid("update_mask", "REQUIRED", "name the fields to change"));
    }
    if let Some(bad) = paths.iter().find(|p| !EDITABLE.contains(&p.as_str())) {
        return Err(DemandError::invalid("update_mask", "UPDATE-MASK", format!("{bad} cannot be changed")));
    }
    let key = IdempotencyKey::new(&principal.subject, "UpdateEnterprise", &message.request_id, &message)?;
    let mut write = match idempotency::start(&state.db, key).await? {
        Started::Replayed(response) => return Ok(response),
        Started::Fresh(write) => write,
    };
    let mut record = find(&mut *write.tx, &credit_code).await?.ok_or_else(|| access::missing(&scope, &input.name))?;
    access::check(&scope, record.region, &record.credit_code)?;
    if !input.etag.is_empty() && input.etag != record.version.to_string() {
        return Err(qiancheng_platform::PlatformError::StaleEtag.into());
    }
    // Apply the masked fields onto the stored enterprise, then validate the result as a whole.
    let mut merged = record.to_proto();
    for path in &paths {
        match path.as_str() {
            "display_name" => merged.display_name = input.display_name.clone(),
            "industry" => merged.industry = input.industry,
            "key_project" => merged.key_project = input.key_project,
            "key_project_name" => merged.key_project_name = input.key_project_name.clone(),
            _ => merged.expected_production_date = input.expected_production_date,
        }
    }
    let mut v = Violations::default();
    let fields = validate_fields(&merged, &mut v);
    v.finish()?;
    record.display_name = fields.display_name.unwrap_or(record.display_name);
    record.industry = fields.industry.unwrap_or(record.industry);
    record.key_project = fields.key_project;
    record.key_project_name = fields.key_project_name;
    record.expected_production_date = fields.expected_production_date;
    record.version += 1;
    record.update_time_micros = now_micros();
    sqlx::query(
        "UPDATE enterprise SET display_name = $1, industry = $2, key_project = $3, key_project_name = $4, \
         expected_production_date = $5, version = $6, update_time_micros = $7 WHERE credit_code = $8",
    )
    .bind(&record.display_name)
    .bind(record.industry.code())
    .bind(flag_value(record.key_project))
    .bind(&record.key_project_name)
    .bind(record.expected_production_date.map(|d| d.to_string()))
    .bind(record.version)
    .bind(record.update_time_micros)
    .bind(&record.credit_code)
    .execute(&mut *write.tx)
    .await?;
    audit::record(
        &mut write.tx,
        AuditEntry {
            actor: &principal.subject,
            action: "enterprise.update",
            resource: &input.name,
            detail: serde_json::json!({ "fields": paths }),
            policy_version: &state.policy_version,
        },
    )
    .await?;
    Ok(write.commit(UpdateEnterpriseResponse { enterprise: Some(record.to_proto()) }).await?)
}
