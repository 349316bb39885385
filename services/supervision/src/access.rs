//! Who may see and change what in the supervision service (DESIGN.md, Security; issue of the
//! service): a provider files and records for its own classes only; a county officer
//! acknowledges, inspects and approves roster changes for classes trained in their county; the
//! city reads everything and may act as an officer anywhere; auditors read everything with ID
//! numbers masked; services read a project's roster; experts, enterprises, finance officers and
//! other departments see nothing. The proto declares the roles of each RPC (the platform refuses
//! the rest before a handler runs); this module narrows an allowed caller to its county or
//! organisation. Permission comes before existence: a scoped caller asking for a class that does
//! not exist is refused as for one outside its scope.

use qiancheng_api::convert;
use qiancheng_platform::Error;
pub use qiancheng_platform::auth::Scope;
use qiancheng_platform::auth::{Principal, Role};
use qiancheng_platform::db::Reader;

use crate::store::class::{self, ClassRecord};

/// What classes the caller may read: the city and auditors all, a county officer their county, a
/// provider its own.
pub fn read_scope(principal: &Principal) -> Result<Scope, Error> {
    Scope::of(principal, &[Role::CityAdmin, Role::Auditor], Some(Role::Provider))
        .ok_or_else(|| Error::denied("classes are for their provider, officers of their county, the city and auditors"))
}

/// What classes an officer may act on: the city all, a county officer their county.
pub fn officer_scope(principal: &Principal) -> Result<Scope, Error> {
    Scope::of(principal, &[Role::CityAdmin], None)
        .ok_or_else(|| Error::denied("this call is for county officers and city administrators"))
}

/// What classes the caller may record for where a provider or an officer may (stopping a class,
/// a trainee's withdrawal, an attendance correction).
pub fn record_scope(principal: &Principal) -> Result<Scope, Error> {
    Scope::of(principal, &[Role::CityAdmin], Some(Role::Provider))
        .ok_or_else(|| Error::denied("this call is for the class's provider, officers of its county and the city"))
}

/// The credit code of a provider acting for itself.
pub fn provider_org(principal: &Principal) -> Result<String, Error> {
    match (&principal.org, principal.has(Role::Provider)) {
        (Some(org), true) if !org.is_empty() => Ok(org.clone()),
        _ => Err(Error::denied("this call is for providers, on their own classes")),
    }
}

/// The scope of a provider acting for itself: only its own classes.
pub fn provider_scope(principal: &Principal) -> Result<Scope, Error> {
    provider_org(principal).map(Scope::Org)
}

/// Whether the caller may see ID numbers, names and phones whole where the API shows them whole
/// (the ledger, a project's roster): the class's provider, officers, the city and services; not
/// auditors, who see them masked.
pub fn sees_personal_data(principal: &Principal) -> bool {
    principal.has_any(&[Role::CityAdmin, Role::CountyOfficer, Role::Provider, Role::Service])
}

/// Refuses a `SERVICE` caller that is not one of `readers` (by the service's name): a project's
/// roster carries ID numbers, names and phones whole, and only the services that need them
/// (outcome, subsidy) read it. Callers of other roles are left to the RPC's own rule.
pub fn require_roster_reader(principal: &Principal, readers: &[String]) -> Result<(), Error> {
    if !principal.has(Role::Service) || principal.has_any(&[Role::CityAdmin, Role::Auditor]) {
        return Ok(());
    }
    let name = principal.subject.strip_prefix(qiancheng_platform::auth::SERVICE_SUBJECT_PREFIX).unwrap_or_default();
    if !name.is_empty() && readers.iter().any(|r| r == name) {
        return Ok(());
    }
    Err(Error::denied(
        "a project's roster is read only by the services configured to need it (QIANCHENG_SUPERVISION_ROSTER_READERS)",
    ))
}

pub use qiancheng_platform::call::id_of;

/// The class and child ids of `classes/{class}/{collection}/{id}`, as request field `field`.
pub fn child_of<'a>(name: &'a str, collection: &str, field: &str) -> Result<(&'a str, &'a str), Error> {
    let invalid =
        || Error::invalid(field, "RESOURCE-NAME", format!("must look like classes/{{class}}/{collection}/{{id}}"));
    let rest = name.strip_prefix("classes/").ok_or_else(invalid)?;
    let (class, rest) = rest.split_once('/').ok_or_else(invalid)?;
    let id = rest.strip_prefix(collection).and_then(|r| r.strip_prefix('/')).ok_or_else(invalid)?;
    if !convert::is_resource_id(class) || !convert::is_resource_id(id) {
        return Err(invalid());
    }
    Ok((class, id))
}

/// Reads the class `name` (request field `field`) that `scope` admits, or says why not.
pub async fn class_in<'c>(
    executor: impl Reader<'c>,
    scope: &Scope,
    name: &str,
    field: &str,
) -> Result<ClassRecord, Error> {
    let id = id_of(name, "classes", field)?;
    class_by_id(executor, scope, id, name).await
}

/// Reads the class `id` (named `name` to the caller) that `scope` admits, or says why not.
pub async fn class_by_id<'c>(
    executor: impl Reader<'c>,
    scope: &Scope,
    id: &str,
    name: &str,
) -> Result<ClassRecord, Error> {
    let record = class::find(executor, id).await?.ok_or_else(|| scope.missing(name))?;
    scope.check(record.region, &record.provider_credit_code)?;
    Ok(record)
}

#[cfg(test)]
mod tests {
    use qiancheng_domain::RegionCode;
    use qiancheng_testkit::principal;

    use super::*;

    #[test]
    fn each_role_reads_what_is_its_own() {
        assert_eq!(read_scope(&principal(&[Role::Auditor], None, None)).expect("reads"), Scope::All);
        let officer = principal(&[Role::CountyOfficer], Some("421221"), None);
        assert_eq!(read_scope(&officer).expect("reads"), Scope::Region(RegionCode::Jiayu));
        let provider = principal(&[Role::Provider], None, Some("P"));
        assert_eq!(read_scope(&provider).expect("reads"), Scope::Org("P".into()));
        for role in [Role::Expert, Role::Enterprise, Role::FinanceOfficer, Role::DataExchange, Role::Service] {
            assert!(read_scope(&principal(&[role], Some("421221"), Some("P"))).is_err(), "{role}");
        }
    }

    #[test]
    fn auditors_read_masked_and_act_on_nothing() {
        let auditor = principal(&[Role::Auditor], None, None);
        assert!(!sees_personal_data(&auditor));
        assert!(officer_scope(&auditor).is_err() && record_scope(&auditor).is_err());
        assert!(provider_scope(&auditor).is_err());
        assert!(sees_personal_data(&principal(&[Role::Service], None, None)));
    }

    #[test]
    fn only_named_services_read_a_roster() {
        let readers = vec!["outcome".to_owned(), "subsidy".to_owned()];
        let service = |subject: &str| Principal { subject: subject.into(), ..principal(&[Role::Service], None, None) };
        assert!(require_roster_reader(&service("service:outcome"), &readers).is_ok());
        assert!(require_roster_reader(&service("service:subsidy"), &readers).is_ok());
        for other in ["service:demand", "service:", "outcome", "service:outcomes", "t"] {
            assert!(require_roster_reader(&service(other), &readers).is_err(), "{other}");
        }
        assert!(require_roster_reader(&service("service:outcome"), &[]).is_err());
        assert!(require_roster_reader(&principal(&[Role::CityAdmin], None, None), &[]).is_ok());
    }

    #[test]
    fn a_provider_without_an_organisation_acts_on_nothing() {
        assert!(provider_scope(&principal(&[Role::Provider], None, None)).is_err());
        assert!(officer_scope(&principal(&[Role::Provider], None, Some("P"))).is_err());
    }

    #[test]
    fn child_names_are_parsed_strictly() {
        assert_eq!(child_of("classes/c1/trainees/t1", "trainees", "f").expect("valid"), ("c1", "t1"));
        assert!(child_of("classes/c1/sessions/t1", "trainees", "f").is_err());
        assert!(child_of("classes//trainees/t1", "trainees", "f").is_err());
        assert!(child_of("classes/c1/trainees/t1/x", "trainees", "f").is_err());
    }
}
