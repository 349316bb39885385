//! Who may see and change what in the selection service (README.md, "Who may do what"): providers only
//! their own, experts only their assignments, county officers their county, city administrators
//! everything, auditors read everything. Permission comes before existence: a scoped caller
//! asking for what does not exist is refused as for what lies outside its scope.

use qiancheng_domain::RegionCode;
use qiancheng_platform::Error;
pub use qiancheng_platform::auth::Scope;
use qiancheng_platform::auth::{Principal, Role};
use qiancheng_platform::call::id_of;
use qiancheng_platform::record::{self, Filter};
use sqlx::AnyConnection;

use crate::store::application::ApplicationRecord;
use crate::store::expert::AssignmentRecord;
use crate::store::provider::{self, ProviderRecord};

/// What officers may change: the city everything, a county officer their county.
pub fn officer_scope(principal: &Principal) -> Result<Scope, Error> {
    Scope::of(principal, &[Role::CityAdmin], None)
        .ok_or_else(|| Error::denied("this call is for county officers and city administrators"))
}

/// What an officer, or the supervision service telling of an inspection (CLASS-INSPECTION), may
/// change: `doing` says what another service was refused (`records a provider's violation`).
pub fn officer_or_supervision_scope(principal: &Principal, doing: &str) -> Result<Scope, Error> {
    if !principal.has(Role::Service) {
        return officer_scope(principal);
    }
    if principal.subject != "service:supervision" {
        return Err(Error::denied(format!("only the supervision service {doing}")));
    }
    Ok(Scope::All)
}

/// What officers and those who read everything may see: the city and auditors everything, a
/// county officer their county.
pub fn officer_read_scope(principal: &Principal) -> Result<Scope, Error> {
    Scope::of(principal, &[Role::CityAdmin, Role::Auditor], None)
        .ok_or_else(|| Error::denied("this call is for county officers and city administrators"))
}

/// What providers' records the caller may read: a provider itself, officers of its county, the
/// city, auditors, and the services of the suite (subsidy pays into the recorded account).
pub fn provider_read_scope(principal: &Principal) -> Result<Scope, Error> {
    Scope::of(principal, &[Role::CityAdmin, Role::Auditor, Role::Service], Some(Role::Provider))
        .ok_or_else(|| Error::denied("providers' records are for the provider, its officers and auditors"))
}

/// What providers' records the caller may change: a provider itself, officers of its county,
/// the city.
pub fn provider_write_scope(principal: &Principal) -> Result<Scope, Error> {
    Scope::of(principal, &[Role::CityAdmin], Some(Role::Provider))
        .ok_or_else(|| Error::denied("only the provider and its officers change its record"))
}

/// Whether the caller reads drafts and other internal records of `region` (officers of it,
/// the city, auditors).
pub fn reads_internal(principal: &Principal, region: RegionCode) -> bool {
    principal.has_any(&[Role::CityAdmin, Role::Auditor])
        || (principal.has(Role::CountyOfficer)
            && principal.region.is_some_and(|own| !own.is_city() && own.contains(region)))
}

/// The county a caller is confined to when reading selection's public records (rounds,
/// projects, quotas): a county officer sees their own county's and the city's, and nothing of
/// another county; every other caller (the city, auditors, providers, experts, services) sees
/// them all.
pub fn confined_county(principal: &Principal) -> Option<RegionCode> {
    if principal.has_any(&[Role::CityAdmin, Role::Auditor]) || !principal.has(Role::CountyOfficer) {
        return None;
    }
    Some(principal.region.filter(|r| !r.is_city()).unwrap_or(RegionCode::CITY))
}

/// Refuses a public record of `regions` to a county officer of another county.
pub fn check_public(principal: &Principal, regions: &[RegionCode]) -> Result<(), Error> {
    match confined_county(principal) {
        Some(own) if !regions.iter().any(|r| r.is_city() || *r == own) => {
            Err(Error::denied("the record belongs to another county"))
        }
        _ => Ok(()),
    }
}

/// What a caller learns of a public record `name` that does not exist: a confined county
/// officer is refused as for another county's record, every other caller learns it is missing.
pub fn missing_public(principal: &Principal, name: &str) -> Error {
    if confined_county(principal).is_some() {
        Error::denied("the record belongs to another county")
    } else {
        Error::NotFound(name.to_owned())
    }
}

/// Narrows a list of public records to those a confined county officer reads: whose `columns`
/// name their county or the city (see [`confined_county`]); everyone else reads them all.
pub fn public_within(principal: &Principal, filter: Filter, columns: &[&str]) -> Filter {
    let Some(own) = confined_county(principal) else { return filter };
    let either = columns.iter().map(|c| format!("{c} IN (?, ?)")).collect::<Vec<_>>().join(" OR ");
    filter.and(&format!("({either})"), columns.iter().flat_map(|_| [own.code().into(), RegionCode::CITY.code().into()]))
}

/// Refuses an officer who does not act for `region`: a county officer acts for their county,
/// only city administrators for the city.
pub fn check_officer_region(principal: &Principal, scope: &Scope, region: RegionCode) -> Result<(), Error> {
    if region.is_city() && !principal.has(Role::CityAdmin) {
        return Err(Error::denied("city-wide records are for city administrators"));
    }
    scope.check(region, "")
}

/// Reads a provider the caller may see in `scope` (request field `field` names it), or says
/// why not: a provider asking for another learns nothing of it.
pub async fn provider_in_scope(
    conn: &mut AnyConnection,
    scope: &Scope,
    name: &str,
    field: &str,
) -> Result<ProviderRecord, Error> {
    let code = id_of(name, "providers", field)?;
    if matches!(scope, Scope::Org(own) if own != code) {
        return Err(Error::denied("a provider sees and changes only itself"));
    }
    let record = provider::find(conn, code).await?.ok_or_else(|| scope.missing(name))?;
    scope.check(record.region, &record.credit_code)?;
    Ok(record)
}

/// The refusal of an application the caller may not see (or that does not exist).
pub fn application_refused() -> Error {
    Error::denied("the application is outside the caller's county, organisation or assignments")
}

/// Whether the caller may read `application`: the provider, officers of the round's county,
/// the city, auditors, and assigned experts who are not recused.
pub async fn may_read_application(
    conn: &mut AnyConnection,
    principal: &Principal,
    application: &ApplicationRecord,
) -> Result<bool, Error> {
    if principal.has(Role::Provider) && principal.is_org(&application.provider_credit_code) {
        return Ok(true);
    }
    if reads_internal(principal, application.round_region) {
        return Ok(true);
    }
    if principal.has(Role::Expert) {
        let id = AssignmentRecord::id_of(&application.id, &principal.subject);
        let assignment = record::find::<AssignmentRecord>(conn, id).await?;
        return Ok(assignment.is_some_and(|a| !a.recused));
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use qiancheng_testkit::principal;

    #[test]
    fn a_county_officer_reads_public_records_of_their_county_and_the_city_only() {
        let officer = principal(&[Role::CountyOfficer], Some("421221"), None);
        let own = RegionCode::parse("421221").expect("county");
        let other = RegionCode::parse("421222").expect("county");
        assert!(check_public(&officer, &[own]).is_ok());
        assert!(check_public(&officer, &[RegionCode::CITY]).is_ok());
        assert!(check_public(&officer, &[other]).is_err());
        assert!(check_public(&principal(&[Role::Auditor], None, None), &[other]).is_ok());
    }

    #[test]
    fn a_provider_without_an_organisation_acts_on_nothing() {
        // Selection asks the platform's one rule (`Principal::own_org`) wherever a provider acts
        // for itself: drafting, changing, submitting and listing its applications.
        let own = |p: &Principal| p.own_org(Role::Provider).map(str::to_owned);
        assert_eq!(own(&principal(&[Role::Provider], None, Some("P"))).expect("its own"), "P");
        for org in [None, Some("")] {
            let nameless = principal(&[Role::Provider], None, org);
            assert!(matches!(own(&nameless), Err(Error::PermissionDenied(_))), "{org:?}");
            assert!(provider_read_scope(&nameless).is_err() && provider_write_scope(&nameless).is_err());
        }
        assert!(own(&principal(&[Role::CountyOfficer], Some("421221"), Some("P"))).is_err());
    }

    #[test]
    fn a_confined_officer_lists_their_county_and_the_city() {
        let columns = ["r.region_code"];
        let officer = principal(&[Role::CountyOfficer], Some("421221"), None);
        let confined = format!("{:?}", public_within(&officer, Filter::new(), &columns));
        assert!(
            confined.contains("r.region_code IN (?, ?)") && confined.contains("421221") && confined.contains("421200")
        );
        let auditor = principal(&[Role::Auditor], None, None);
        assert_eq!(format!("{:?}", public_within(&auditor, Filter::new(), &columns)), format!("{:?}", Filter::new()));
    }

    #[test]
    fn only_the_city_acts_for_the_city() {
        let officer = principal(&[Role::CountyOfficer], Some("421221"), None);
        let scope = officer_scope(&officer).expect("an officer");
        assert!(check_officer_region(&officer, &scope, RegionCode::CITY).is_err());
        let admin = principal(&[Role::CityAdmin], Some("421200"), None);
        assert!(check_officer_region(&admin, &Scope::All, RegionCode::CITY).is_ok());
    }
}
