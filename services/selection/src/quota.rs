//! Quotas (名额, PROJ-QUOTA, 七(一)): the trainees a county, or the city, may approve in a year,
//! set by the city from funds, employer demand and the province's tasks. Every round of that
//! county and year approves within what is left of it, so no number of rounds can exceed it.

use qiancheng_api::convert;
use qiancheng_api::selection::*;
use qiancheng_domain::RegionCode;
use qiancheng_platform::PlatformError;
use qiancheng_platform::auth::{Principal, Role};
use qiancheng_platform::db::Tx;
use qiancheng_platform::error::Violations;
use qiancheng_platform::idempotency::{self, IdempotencyKey, Started};
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::time::now_micros;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row as _};
use tonic::Request;

use crate::State;
use crate::access;
use crate::error::SelectionError;

/// Largest yearly quota one region may hold.
pub const MAX_TRAINEES: i64 = 10_000_000;

fn count(n: i64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// A region's quota for a year, with what decided rounds have approved against it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaRecord {
    /// County or city.
    pub region: RegionCode,
    /// Calendar year.
    pub year: i64,
    /// Trainees that may be approved.
    pub trainees: i64,
    /// What the figure rests on.
    pub basis: String,
    /// Approved so far.
    pub approved: i64,
    /// Changed, microseconds.
    pub update_time_micros: i64,
}

impl QuotaRecord {
    /// What is left to approve.
    pub fn remaining(&self) -> i64 {
        (self.trainees - self.approved).max(0)
    }

    /// The quota as the API shows it.
    pub fn to_proto(&self) -> Quota {
        Quota {
            name: format!("quotas/{}-{}", self.region.code(), self.year),
            region_code: self.region.code().to_owned(),
            year: count(self.year),
            trainees: count(self.trainees),
            basis: self.basis.clone(),
            approved: count(self.approved),
            remaining: count(self.remaining()),
            update_time_micros: self.update_time_micros,
        }
    }
}

/// Trainees approved by decided rounds of `region` whose deadline falls in `year`.
pub async fn approved_in(conn: &mut AnyConnection, region: RegionCode, year: i64) -> Result<i64, SelectionError> {
    Ok(sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(approved_headcount), 0) AS BIGINT) FROM selection_round \
         WHERE region_code = $1 AND state = 'DECIDED' AND substr(deadline, 1, 4) = $2",
    )
    .bind(region.code())
    .bind(format!("{year:04}"))
    .fetch_one(&mut *conn)
    .await?)
}

fn from_row(row: &AnyRow) -> Result<(RegionCode, i64, i64, String, i64), SelectionError> {
    let region = RegionCode::parse(&row.try_get::<String, _>("region_code")?)
        .map_err(|_| SelectionError::from(PlatformError::Corrupt("quota region".to_owned())))?;
    Ok((
        region,
        row.try_get("year")?,
        row.try_get("trainees")?,
        row.try_get("basis")?,
        row.try_get("update_time_micros")?,
    ))
}

/// The quota of `region` for `year` inside `tx`, with what is approved against it; `None` when
/// the city has set none.
pub async fn load_in(tx: &mut Tx, region: RegionCode, year: i64) -> Result<Option<QuotaRecord>, SelectionError> {
    let row = sqlx::query(
        "SELECT region_code, year, trainees, basis, update_time_micros FROM quota WHERE region_code = $1 AND year = $2",
    )
    .bind(region.code())
    .bind(year)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let (region, year, trainees, basis, update_time_micros) = from_row(&row)?;
    let approved = approved_in(tx, region, year).await?;
    Ok(Some(QuotaRecord { region, year, trainees, basis, approved, update_time_micros }))
}

/// SetQuota.
pub async fn set(state: &State, request: Request<SetQuotaRequest>) -> Result<SetQuotaResponse, SelectionError> {
    let principal = Principal::of(&request)?;
    principal.require_any(&[Role::CityAdmin])?;
    let m = request.into_inner();
    let input = m.quota.clone().unwrap_or_default();
    let mut v = Violations::default();
    let region = v.value("quota.region_code", RegionCode::parse(&input.region_code));
    if !(2025..=2100).contains(&input.year) {
        v.add("quota.year", "PROJ-QUOTA", "a year from 2025");
    }
    let trainees = i64::from(input.trainees);
    if !(0..=MAX_TRAINEES).contains(&trainees) {
        v.add("quota.trainees", "PROJ-QUOTA", format!("trainees must be 0 to {MAX_TRAINEES}"));
    }
    let basis = v.value("quota.basis", convert::text(&input.basis, 1000));
    v.finish()?;
    let (Some(region), Some(basis)) = (region, basis) else {
        unreachable!("every missing value was recorded as a violation, and finish() refused them")
    };
    let year = i64::from(input.year);
    let key = IdempotencyKey::new(&principal.subject, "SetQuota", &m.request_id, &m)?;
    let mut write = match idempotency::start(&state.db, key).await? {
        Started::Replayed(response) => return Ok(response),
        Started::Fresh(write) => write,
    };
    let approved = approved_in(&mut write.tx, region, year).await?;
    if trainees < approved {
        return Err(SelectionError::Rule(qiancheng_domain::policy::decision::RuleResult::fail(
            "PROJ-QUOTA",
            format!("已批准{approved}人,名额不能少于已批准人数"),
            format!("{approved} trainees are already approved; the quota cannot be below that"),
        )));
    }
    let now = now_micros();
    sqlx::query(
        "INSERT INTO quota (region_code, year, trainees, basis, set_by, update_time_micros) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (region_code, year) DO UPDATE SET trainees = $3, basis = $4, set_by = $5, update_time_micros = $6",
    )
    .bind(region.code())
    .bind(year)
    .bind(trainees)
    .bind(&basis)
    .bind(&principal.subject)
    .bind(now)
    .execute(&mut *write.tx)
    .await?;
    let record = QuotaRecord { region, year, trainees, basis, approved, update_time_micros: now };
    let quota = record.to_proto();
    let detail = serde_json::json!({ "trainees": trainees, "approved": approved, "basis": record.basis });
    state.audit(&mut write.tx, &principal, "quota.set", &quota.name, detail).await?;
    Ok(write.commit(SetQuotaResponse { quota: Some(quota) }).await?)
}

/// ListQuotas.
pub async fn list(state: &State, request: Request<ListQuotasRequest>) -> Result<ListQuotasResponse, SelectionError> {
    let principal = Principal::of(&request)?;
    let confined = if principal.has_any(&[Role::CityAdmin, Role::Auditor]) {
        None
    } else {
        access::officer_scope(&principal)?;
        access::confined_county(&principal)
    };
    let m = request.into_inner();
    if m.year != 0 && !(2025..=2100).contains(&m.year) {
        return Err(SelectionError::invalid("year", "PROJ-QUOTA", "a year from 2025"));
    }
    let page = PageRequest::parse(m.page_size, &m.page_token, &format!("quotas|{}", m.year))?;
    let rows = sqlx::query(
        "SELECT region_code, year, trainees, basis, update_time_micros FROM quota \
         WHERE (region_code || '-' || CAST(year AS TEXT)) > $1 AND ($2 = 0 OR year = $2) \
         AND ($3 = '' OR region_code = $3 OR region_code = $4) \
         ORDER BY region_code || '-' || CAST(year AS TEXT) LIMIT $5",
    )
    .bind(&page.after)
    .bind(i64::from(m.year))
    .bind(confined.map_or("", |c| c.code()))
    .bind(RegionCode::CITY.code())
    .bind(page.fetch_limit())
    .fetch_all(state.db.pool())
    .await?;
    let mut conn = state.db.pool().acquire().await?;
    let mut quotas = Vec::with_capacity(rows.len());
    for row in &rows {
        let (region, year, trainees, basis, update_time_micros) = from_row(row)?;
        let approved = approved_in(&mut conn, region, year).await?;
        quotas.push(QuotaRecord { region, year, trainees, basis, approved, update_time_micros });
    }
    let next_page_token = page.finish(&mut quotas, |q| format!("{}-{}", q.region.code(), q.year));
    Ok(ListQuotasResponse { quotas: quotas.iter().map(QuotaRecord::to_proto).collect(), next_page_token })
}
