//! Quotas (名额, PROJ-QUOTA, 七(一)): the trainees a county, or the city, may approve in a year,
//! set by the city from funds, employer demand and the province's tasks. Every round of that
//! county and year approves within what is left of it, so no number of rounds can exceed it.
//! Setting a quota and deciding a round of its county and year take the quota's turn
//! (`store::turn::quota`), so a quota is never lowered below what a concurrent decision approves.

use qiancheng_api::convert;
use qiancheng_api::selection::*;
use qiancheng_domain::RegionCode;
use qiancheng_domain::policy::selection::proj_quota_year;
use qiancheng_platform::auth::Role;
use qiancheng_platform::error::Violations;
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::time::now_micros;
use qiancheng_platform::{Call, Error, Shared, write};

use crate::access;
use crate::store::quota::{self, QuotaRecord};
use crate::store::turn;

/// Largest yearly quota one region may hold.
pub const MAX_TRAINEES: i64 = 10_000_000;

/// The years a quota may be set for.
const YEARS: std::ops::RangeInclusive<i32> = 2025..=2100;

/// SetQuota: the city sets a region's quota for a year, never below what is already approved.
pub async fn set_quota(s: &Shared, call: Call<SetQuotaRequest>) -> Result<SetQuotaResponse, Error> {
    call.principal.require_any(&[Role::CityAdmin])?;
    let input = call.message.quota.clone().unwrap_or_default();
    let mut v = Violations::default();
    let region = v.value("quota.region_code", RegionCode::parse(&input.region_code));
    if !YEARS.contains(&input.year) {
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
    write::run(s, &call, async |change| {
        let year = i64::from(input.year);
        change.serialize_on(&turn::quota(region, year)).await?;
        let approved = quota::approved_in(&mut change.tx, region, year).await?;
        // PROJ-QUOTA: what decided rounds approved stays approved; the quota never falls below it.
        let within = proj_quota_year(u64::try_from(trainees).unwrap_or(0), u64::try_from(approved).unwrap_or(0));
        Error::unless_passed(within)?;
        let record = QuotaRecord { region, year, trainees, basis, approved, update_time_micros: now_micros() };
        quota::upsert(&mut change.tx, &record, &call.principal.subject).await?;
        let quota = record.to_proto();
        change.audit(
            "quota.set",
            &quota.name,
            serde_json::json!({ "trainees": trainees, "approved": approved, "basis": record.basis }),
        );
        Ok(SetQuotaResponse { quota: Some(quota) })
    })
    .await
}

/// ListQuotas: the city and auditors every quota, a county officer their county's and the
/// city's.
pub async fn list_quotas(s: &Shared, call: Call<ListQuotasRequest>) -> Result<ListQuotasResponse, Error> {
    access::officer_read_scope(&call.principal)?;
    let confined = access::confined_county(&call.principal);
    let m = &call.message;
    if m.year != 0 && !YEARS.contains(&m.year) {
        return Err(Error::invalid("year", "PROJ-QUOTA", "a year from 2025"));
    }
    let page = PageRequest::parse(m.page_size, &m.page_token, &format!("quotas|{}", m.year))?;
    let mut conn = s.db.pool().acquire().await?;
    let confined = confined.map_or("", |c| c.code());
    let mut quotas = quota::list(&mut conn, &page.after, i64::from(m.year), confined, page.fetch_limit()).await?;
    let next_page_token = page.finish(&mut quotas, QuotaRecord::key);
    Ok(ListQuotasResponse { quotas: quotas.iter().map(QuotaRecord::to_proto).collect(), next_page_token })
}
