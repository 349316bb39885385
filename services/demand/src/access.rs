//! Who may see and change what in the demand service: enterprises only their own data, county
//! officers only their county, city administrators everything, auditors read everything. Every
//! authenticated caller reads the public board and the statistics.

use qiancheng_platform::Error;
pub use qiancheng_platform::auth::Scope;
use qiancheng_platform::auth::{Principal, Role};
use qiancheng_platform::call::id_of;
use qiancheng_platform::db::Db;
use sqlx::AnyPool;

use qiancheng_platform::record;

use crate::store::vacancy::VacancyRecord;
use crate::store::worker_need::WorkerNeedRecord;

/// What enterprises and vacancies the caller may read.
pub fn enterprise_read_scope(principal: &Principal) -> Result<Scope, Error> {
    Scope::of(principal, &[Role::CityAdmin, Role::Auditor], Some(Role::Enterprise)).ok_or_else(|| {
        Error::denied("enterprise data is for the enterprise, its county officers, city administrators and auditors")
    })
}

/// What enterprises and vacancies the caller may change (auditors read only).
pub fn enterprise_write_scope(principal: &Principal) -> Result<Scope, Error> {
    Scope::of(principal, &[Role::CityAdmin], Some(Role::Enterprise)).ok_or_else(|| {
        Error::denied("only the enterprise, its county officers and city administrators change its demand")
    })
}

/// What workers' needs the caller may read.
pub fn worker_read_scope(principal: &Principal) -> Result<Scope, Error> {
    Scope::of(principal, &[Role::CityAdmin, Role::Auditor], None)
        .ok_or_else(|| Error::denied("workers' needs are for county officers, city administrators and auditors"))
}

/// What workers' needs the caller may change.
pub fn worker_write_scope(principal: &Principal) -> Result<Scope, Error> {
    Scope::of(principal, &[Role::CityAdmin], None)
        .ok_or_else(|| Error::denied("workers' needs are recorded by county officers and city administrators"))
}

/// Reads a vacancy the caller may see (request field `field` names it), or says why not.
pub async fn readable_vacancy(db: &Db, principal: &Principal, name: &str, field: &str) -> Result<VacancyRecord, Error> {
    let scope = enterprise_read_scope(principal)?;
    let id = id_of(name, "vacancies", field)?;
    let record = record::get::<VacancyRecord>(db, id).await?.ok_or_else(|| scope.missing(name))?;
    scope.check(record.region, &record.enterprise_credit_code)?;
    Ok(record)
}

/// Reads a worker's need the caller may see (request field `field` names it), or says why not.
pub async fn readable_worker_need(
    pool: &AnyPool,
    principal: &Principal,
    name: &str,
    field: &str,
) -> Result<WorkerNeedRecord, Error> {
    let scope = worker_read_scope(principal)?;
    let id = id_of(name, "workerNeeds", field)?;
    let record = record::find::<WorkerNeedRecord>(pool, id).await?.ok_or_else(|| scope.missing(name))?;
    scope.check(record.region, "")?;
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use qiancheng_domain::RegionCode;

    fn principal(roles: &[Role], region: Option<RegionCode>, org: Option<&str>) -> Principal {
        Principal { subject: "t".into(), roles: roles.to_vec(), region, org: org.map(str::to_owned) }
    }

    #[test]
    fn county_officers_see_only_their_county() {
        let county = RegionCode::parse("421221").expect("county");
        let other = RegionCode::parse("421222").expect("county");
        let scope = enterprise_read_scope(&principal(&[Role::CountyOfficer], Some(county), None)).expect("allowed");
        assert!(scope.admits(county, "x"));
        assert!(!scope.admits(other, "x"));
    }

    #[test]
    fn auditors_read_but_do_not_write() {
        let auditor = principal(&[Role::Auditor], None, None);
        assert_eq!(enterprise_read_scope(&auditor).expect("reads"), Scope::All);
        assert!(enterprise_write_scope(&auditor).is_err());
        assert!(worker_write_scope(&auditor).is_err());
    }

    #[test]
    fn enterprises_see_only_themselves_and_no_workers() {
        let enterprise = principal(&[Role::Enterprise], None, Some("A"));
        let scope = enterprise_write_scope(&enterprise).expect("allowed");
        assert!(scope.admits(RegionCode::CITY, "A"));
        assert!(!scope.admits(RegionCode::CITY, "B"));
        assert!(worker_read_scope(&enterprise).is_err());
        assert!(enterprise_read_scope(&principal(&[Role::Provider], None, Some("P"))).is_err());
    }
}
