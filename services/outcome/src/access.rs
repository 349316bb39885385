//! Who may see and change what in the outcome service: providers their own trainees' evidence,
//! verdicts and rates; county officers their county's; city administrators everything; auditors
//! read everything with ID numbers masked (the service holds them masked only); the subsidy
//! service (SERVICE) reads verdicts, rates, acceptance and pre-hire contracts.

use qiancheng_platform::Error;
pub use qiancheng_platform::auth::Scope;
use qiancheng_platform::auth::{Principal, Role};
use qiancheng_platform::call::id_of;
use qiancheng_platform::record;
use sqlx::AnyPool;

use crate::store::evidence::EvidenceRecord;
use crate::store::trainee::TraineeRecord;

/// What the caller may read: providers their own, county officers their county, the rest all.
pub fn read_scope(principal: &Principal) -> Result<Scope, Error> {
    Scope::of(principal, &[Role::CityAdmin, Role::Auditor, Role::Service], Some(Role::Provider)).ok_or_else(|| {
        Error::denied("outcomes are for the provider, county officers, city administrators, auditors and services")
    })
}

/// What an officer may review and record: county officers their county, city administrators all.
pub fn officer_scope(principal: &Principal) -> Result<Scope, Error> {
    Scope::of(principal, &[Role::CityAdmin], None)
        .filter(|_| principal.has_any(&[Role::CityAdmin, Role::CountyOfficer]))
        .ok_or_else(|| Error::denied("only county officers and city administrators review outcomes"))
}

/// The trainee named `name` (`trainees/{id}`, request field `field`) if the caller may read it.
pub async fn readable_trainee(pool: &AnyPool, scope: &Scope, name: &str, field: &str) -> Result<TraineeRecord, Error> {
    let id = id_of(name, "trainees", field)?;
    let record = record::find::<TraineeRecord>(pool, id).await?.ok_or_else(|| scope.missing(name))?;
    scope.check(record.region, &record.provider_credit_code)?;
    Ok(record)
}

/// The item of evidence named `name` (`evidence/{id}`) if the caller's scope reaches it.
pub async fn reachable_evidence(
    executor: impl qiancheng_platform::db::Reader<'_>,
    scope: &Scope,
    name: &str,
    field: &str,
) -> Result<EvidenceRecord, Error> {
    let id = id_of(name, "evidence", field)?;
    let record = record::find::<EvidenceRecord>(executor, id).await?.ok_or_else(|| scope.missing(name))?;
    scope.check(record.region, &record.provider_credit_code)?;
    Ok(record)
}
