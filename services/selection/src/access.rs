//! Who may see and change what in the selection service: providers only their own, experts only
//! their assignments, county officers their county, city administrators everything, auditors
//! read everything.

use qiancheng_domain::RegionCode;
pub use qiancheng_platform::auth::Scope;
use qiancheng_platform::auth::{Principal, Role};

use crate::error::SelectionError;

/// A county officer's county; the platform refuses county-officer tokens without one.
fn county_of(principal: &Principal) -> Scope {
    match principal.region {
        Some(region) if !region.is_city() => Scope::Region(region),
        _ => Scope::Org(String::new()),
    }
}

/// What officers may change: the city everything, a county officer their county.
pub fn officer_scope(principal: &Principal) -> Result<Scope, SelectionError> {
    if principal.has(Role::CityAdmin) {
        Ok(Scope::All)
    } else if principal.has(Role::CountyOfficer) {
        Ok(county_of(principal))
    } else {
        Err(SelectionError::denied("this call is for county officers and city administrators"))
    }
}

/// What providers' records the caller may read.
pub fn provider_read_scope(principal: &Principal) -> Result<Scope, SelectionError> {
    if principal.has_any(&[Role::CityAdmin, Role::Auditor]) {
        Ok(Scope::All)
    } else if principal.has(Role::CountyOfficer) {
        Ok(county_of(principal))
    } else if principal.has(Role::Provider) {
        Ok(Scope::Org(principal.org.clone().unwrap_or_default()))
    } else {
        Err(SelectionError::denied("providers' records are for the provider, its officers and auditors"))
    }
}

/// What providers' records the caller may change.
pub fn provider_write_scope(principal: &Principal) -> Result<Scope, SelectionError> {
    if principal.has(Role::CityAdmin) {
        Ok(Scope::All)
    } else if principal.has(Role::CountyOfficer) {
        Ok(county_of(principal))
    } else if principal.has(Role::Provider) {
        Ok(Scope::Org(principal.org.clone().unwrap_or_default()))
    } else {
        Err(SelectionError::denied("only the provider and its officers change its record"))
    }
}

/// Whether the caller reads drafts and other internal records of `region` (officers of it,
/// the city, auditors).
pub fn reads_internal(principal: &Principal, region: RegionCode) -> bool {
    principal.has_any(&[Role::CityAdmin, Role::Auditor])
        || (principal.has(Role::CountyOfficer)
            && principal.region.is_some_and(|own| !own.is_city() && own.contains(region)))
}

/// The county a caller is confined to when reading selection's public records (rounds,
/// projects): a county officer sees their own county's and the city's, and nothing of another
/// county; every other caller (the city, auditors, providers, experts, services) sees them all.
pub fn confined_county(principal: &Principal) -> Option<RegionCode> {
    if principal.has_any(&[Role::CityAdmin, Role::Auditor]) || !principal.has(Role::CountyOfficer) {
        return None;
    }
    Some(principal.region.filter(|r| !r.is_city()).unwrap_or(RegionCode::CITY))
}

/// Refuses a public record of another county to a confined county officer.
pub fn check_public(principal: &Principal, regions: &[RegionCode]) -> Result<(), SelectionError> {
    match confined_county(principal) {
        Some(own) if !regions.iter().any(|r| r.is_city() || *r == own) => {
            Err(SelectionError::denied("the record belongs to another county"))
        }
        _ => Ok(()),
    }
}

/// What a caller learns of a resource that does not exist: callers who see everything learn
/// that it is missing; scoped callers are refused as for a resource outside their scope
/// (permission before existence).
pub fn missing(scope: &Scope, name: &str) -> SelectionError {
    match scope {
        Scope::All => SelectionError::NotFound(name.to_owned()),
        Scope::Region(_) | Scope::Org(_) => {
            SelectionError::denied("the resource is outside the caller's county or organisation")
        }
    }
}

/// Refuses an officer who does not act for `region`: a county officer acts for their county,
/// only city administrators for the city.
pub fn check_officer_region(principal: &Principal, scope: &Scope, region: RegionCode) -> Result<(), SelectionError> {
    if region.is_city() && !principal.has(Role::CityAdmin) {
        return Err(SelectionError::denied("city-wide records are for city administrators"));
    }
    check(scope, region, "")
}

/// Refuses a row outside `scope`.
pub fn check(scope: &Scope, region: RegionCode, org: &str) -> Result<(), SelectionError> {
    if scope.admits(region, org) {
        Ok(())
    } else {
        Err(SelectionError::denied("the resource is outside the caller's county or organisation"))
    }
}
