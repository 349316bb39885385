//! Who may see and change what in the subsidy service: the city keeps the standards table and
//! the uplift policies; county officers record trainees' uplifts in their county and city
//! administrators in any; auditors read everything. The tables a claim is calculated with are
//! read by every role the proto declares.

use qiancheng_domain::RegionCode;
use qiancheng_domain::policy::subsidy::subs_sod_bureau;
use qiancheng_platform::Error;
pub use qiancheng_platform::auth::Scope;
use qiancheng_platform::auth::{Principal, Role};

/// The standards table and the uplift policies are kept by the city.
pub fn keep_tables(principal: &Principal) -> Result<(), Error> {
    principal.require_any(&[Role::CityAdmin])
}

/// Whose trainees' uplifts the caller may record.
pub fn uplift_write_scope(principal: &Principal) -> Result<Scope, Error> {
    Scope::of(principal, &[Role::CityAdmin], None)
        .ok_or_else(|| Error::denied("trainees' uplifts are recorded by the project's county officers and the city"))
}

/// Whose trainees' uplifts the caller may read.
pub fn uplift_read_scope(principal: &Principal) -> Result<Scope, Error> {
    Scope::of(principal, &[Role::CityAdmin, Role::Auditor], None).ok_or_else(|| {
        Error::denied("trainees' uplifts are read by the project's county officers, the city and auditors")
    })
}

/// Whose claims the caller may read: a provider its own, a county officer their county's, the
/// city every county's (its Scope contains the counties), finance and auditors every claim.
pub fn claim_read_scope(principal: &Principal) -> Result<Scope, Error> {
    Scope::of(principal, &[Role::Auditor, Role::FinanceOfficer], Some(Role::Provider))
        .or_else(|| principal.has(Role::CityAdmin).then_some(Scope::All))
        .ok_or_else(|| {
            Error::denied("claims are read by their provider, the filing bureau, the city, finance and auditors")
        })
}

/// Who may read a claim's facts, which hold ID numbers: the filing bureau's officers, the city
/// and auditors.
pub fn claim_facts_scope(principal: &Principal) -> Result<(), Error> {
    principal.require_any(&[Role::CityAdmin, Role::CountyOfficer, Role::Auditor])
}

/// SUBS-SOD: a claim is reviewed, put on notice, its objections recorded and resolved, and it
/// is approved by an officer of the bureau where its classes were filed (`filing`: the project's
/// county, the city bureau for a city-level project). Another bureau, the city's included for a
/// county's claim, may read it but not decide it: FAILED_PRECONDITION SUBS-SOD. Returns the
/// acting officer's bureau.
pub fn decide_claim(principal: &Principal, filing: RegionCode) -> Result<RegionCode, Error> {
    principal.require_any(&[Role::CityAdmin, Role::CountyOfficer])?;
    // A city administrator acts for the city bureau; a county officer's token carries its county.
    let acting = match principal.region {
        Some(region) => region,
        None if principal.has(Role::CityAdmin) => RegionCode::CITY,
        None => return Err(Error::denied("an officer's token names their bureau")),
    };
    Error::unless_passed(subs_sod_bureau(filing, acting))?;
    Ok(acting)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(roles: &[Role], region: Option<RegionCode>) -> Principal {
        Principal { subject: "t".into(), roles: roles.to_vec(), region, org: None }
    }

    #[test]
    fn only_the_city_keeps_the_tables_and_officers_record_uplifts_in_their_county() {
        let county = RegionCode::parse("421221").expect("county");
        let other = RegionCode::parse("421222").expect("county");
        assert!(keep_tables(&principal(&[Role::CityAdmin], Some(RegionCode::CITY))).is_ok());
        assert!(keep_tables(&principal(&[Role::CountyOfficer], Some(county))).is_err());
        let scope = uplift_write_scope(&principal(&[Role::CountyOfficer], Some(county))).expect("allowed");
        assert!(scope.admits(county, ""));
        assert!(!scope.admits(other, ""));
        assert!(uplift_write_scope(&principal(&[Role::Auditor], None)).is_err());
        assert_eq!(uplift_read_scope(&principal(&[Role::Auditor], None)).expect("reads"), Scope::All);
    }

    #[test]
    fn subs_sod_only_the_filing_bureau_decides_a_claim() {
        let county = RegionCode::parse("421221").expect("county");
        let other = RegionCode::parse("421222").expect("county");
        let officer = principal(&[Role::CountyOfficer], Some(county));
        assert_eq!(decide_claim(&officer, county).expect("its bureau"), county);
        let refused = decide_claim(&principal(&[Role::CountyOfficer], Some(other)), county).expect_err("another");
        assert!(matches!(refused, Error::Refused(ref r) if r.code == "SUBS-SOD"), "{refused:?}");
        let city = principal(&[Role::CityAdmin], Some(RegionCode::CITY));
        assert!(decide_claim(&city, county).is_err(), "the city reads a county's claim, it does not decide it");
        assert_eq!(decide_claim(&city, RegionCode::CITY).expect("a city-level project"), RegionCode::CITY);
        assert!(decide_claim(&principal(&[Role::Auditor], None), county).is_err());
    }
}
