//! Who may see and change what in the demand service: enterprises only their own data, county
//! officers only their county, city administrators everything, auditors read everything. Every
//! authenticated caller reads the public board and the statistics.

use qiancheng_domain::RegionCode;
pub use qiancheng_platform::auth::Scope;
use qiancheng_platform::auth::{Principal, Role};

use crate::error::DemandError;

/// A county officer's scope. Tokens of county officers always name a county (the platform
/// refuses others), so the fallback only matters for a token this service never accepts.
fn region_scope(principal: &Principal) -> Scope {
    match principal.region {
        Some(region) if !region.is_city() => Scope::Region(region),
        _ => Scope::Org(String::new()),
    }
}

/// What enterprises and vacancies the caller may read.
pub fn enterprise_read_scope(principal: &Principal) -> Result<Scope, DemandError> {
    if principal.has_any(&[Role::CityAdmin, Role::Auditor]) {
        Ok(Scope::All)
    } else if principal.has(Role::CountyOfficer) {
        Ok(region_scope(principal))
    } else if principal.has(Role::Enterprise) {
        Ok(Scope::Org(principal.org.clone().unwrap_or_default()))
    } else {
        Err(DemandError::denied(
            "enterprise data is for the enterprise, its county officers, city administrators and auditors",
        ))
    }
}

/// What enterprises and vacancies the caller may change (auditors read only).
pub fn enterprise_write_scope(principal: &Principal) -> Result<Scope, DemandError> {
    if principal.has(Role::CityAdmin) {
        Ok(Scope::All)
    } else if principal.has(Role::CountyOfficer) {
        Ok(region_scope(principal))
    } else if principal.has(Role::Enterprise) {
        Ok(Scope::Org(principal.org.clone().unwrap_or_default()))
    } else {
        Err(DemandError::denied("only the enterprise, its county officers and city administrators change its demand"))
    }
}

/// What workers' needs the caller may read.
pub fn worker_read_scope(principal: &Principal) -> Result<Scope, DemandError> {
    if principal.has_any(&[Role::CityAdmin, Role::Auditor]) {
        Ok(Scope::All)
    } else if principal.has(Role::CountyOfficer) {
        Ok(region_scope(principal))
    } else {
        Err(DemandError::denied("workers' needs are for county officers, city administrators and auditors"))
    }
}

/// What workers' needs the caller may change.
pub fn worker_write_scope(principal: &Principal) -> Result<Scope, DemandError> {
    if principal.has(Role::CityAdmin) {
        Ok(Scope::All)
    } else if principal.has(Role::CountyOfficer) {
        Ok(region_scope(principal))
    } else {
        Err(DemandError::denied("workers' needs are recorded by county officers and city administrators"))
    }
}

/// What a caller learns of a resource that does not exist: callers who see everything learn
/// that it is missing; scoped callers are refused as for any resource outside their scope, so
/// that they cannot probe for what exists elsewhere (permission before existence).
pub fn missing(scope: &Scope, name: &str) -> DemandError {
    match scope {
        Scope::All => DemandError::NotFound(name.to_owned()),
        Scope::Region(_) | Scope::Org(_) => {
            DemandError::denied("the resource is outside the caller's county or organisation")
        }
    }
}

/// Refuses a row outside `scope`.
pub fn check(scope: &Scope, region: RegionCode, org: &str) -> Result<(), DemandError> {
    if scope.admits(region, org) {
        Ok(())
    } else {
        Err(DemandError::denied("the resource is outside the caller's county or organisation"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
