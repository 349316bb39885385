//! Quotas (名额, PROJ-QUOTA, 七(一)): the trainees a county, or the city, may approve in a year,
//! set by the city from funds, employer demand and the province's tasks. Every round of that
//! county and year approves within what is left of it, so no number of rounds can exceed it.
//! Setting a quota and deciding a round of its county and year take the quota's turn
//! (`store::turn::quota`), so a quota is never lowered below what a concurrent decision approves.

use qiancheng_api::selection::*;
use qiancheng_api::{IntoProto as _, convert};
use qiancheng_domain::RegionCode;
use qiancheng_domain::policy::selection::proj_quota_year;
use qiancheng_platform::auth::Role;
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::record::{self, Filter};
use qiancheng_platform::time::now_micros;
use qiancheng_platform::{Call, Error, Shared, write};

use crate::access;
use crate::store::quota::QuotaRecord;
use crate::store::turn;

/// The years a quota may be set for (the proto's rule on `Quota.year` says the same).
const YEARS: std::ops::RangeInclusive<i32> = 2025..=2100;

impl From<&QuotaRecord> for Quota {
    /// The quota as the API shows it, with what is approved against it.
    fn from(record: &QuotaRecord) -> Self {
        Quota {
            name: format!("quotas/{}", record.id),
            region_code: record.region.into_proto(),
            year: convert::int32(record.year),
            trainees: convert::int32(record.trainees),
            basis: record.basis.clone(),
            approved: convert::int32(record.approved),
            remaining: convert::int32(record.remaining()),
            update_time_micros: record.update_time_micros,
        }
    }
}

/// SetQuota: the city sets a region's quota for a year, never below what is already approved.
pub async fn set_quota(s: &Shared, call: Call<SetQuotaRequest>) -> Result<SetQuotaResponse, Error> {
    call.principal.require_any(&[Role::CityAdmin])?;
    let input = call.message.quota.clone().unwrap_or_default();
    let region = RegionCode::parse(&input.region_code).map_err(|e| Error::invalid_value("quota.region_code", e))?;
    let (year, trainees) = (i64::from(input.year), i64::from(input.trainees));
    let id = QuotaRecord::id_of(region, year);
    write::run(s, &call, async |change| {
        change.serialize_on(&turn::quota(region, year)).await?;
        // A round is decided only against its year's quota (PROJ-QUOTA), so a region and year
        // without one has nothing approved yet.
        let stored = record::find::<QuotaRecord>(&mut *change.tx, id.as_str()).await?;
        let approved = stored.as_ref().map_or(0, |q| q.approved);
        // PROJ-QUOTA: what decided rounds approved stays approved; the quota never falls below it.
        let within = proj_quota_year(u64::try_from(trainees).unwrap_or(0), u64::try_from(approved).unwrap_or(0));
        Error::unless_passed(within)?;
        let set = QuotaRecord {
            id: id.clone(),
            region,
            year,
            trainees,
            basis: input.basis.trim().to_owned(),
            set_by: call.principal.subject.clone(),
            update_time_micros: now_micros(),
            approved,
        };
        match stored {
            Some(_) => record::update(&mut change.tx, &set).await?,
            None => record::insert(&mut change.tx, &set).await?,
        }
        let quota = Quota::from(&set);
        change.audit(
            "quota.set",
            &quota.name,
            serde_json::json!({ "trainees": trainees, "approved": approved, "basis": set.basis }),
        );
        Ok(SetQuotaResponse { quota: Some(quota) })
    })
    .await
}

/// ListQuotas: the city and auditors every quota, a county officer their county's and the
/// city's.
pub async fn list_quotas(s: &Shared, call: Call<ListQuotasRequest>) -> Result<ListQuotasResponse, Error> {
    access::officer_read_scope(&call.principal)?;
    let m = &call.message;
    if m.year != 0 && !YEARS.contains(&m.year) {
        return Err(Error::invalid("year", "PROJ-QUOTA", "a year from 2025"));
    }
    let page = PageRequest::parse(m.page_size, &m.page_token, &format!("quotas|{}", m.year))?;
    let of_year = (m.year != 0).then_some(i64::from(m.year));
    let filter = access::public_within(&call.principal, Filter::new().eq_given("q.year", of_year), &["q.region_code"]);
    let (quotas, next_page_token) = record::page::<QuotaRecord>(&s.db, filter, &page).await?;
    Ok(ListQuotasResponse { quotas: quotas.iter().map(Quota::from).collect(), next_page_token })
}
