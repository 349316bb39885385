//! Applications (项目申报, 七(二)): a provider's filing (附件2), application (附件3) and plan
//! (一项目一方案) for a catalog item in a round; draft → submitted → returned for correction →
//! resubmitted → approved or rejected ([`ApplicationState`]), every step recorded with who and
//! why.
//!
//! A provider drafts, edits and submits its own applications; submission needs an eligible
//! provider (PROV-*) and a complete plan (PROJ-PLAN) before the round's deadline. Officers of
//! the round's county return or reject them; the training county's bureau records its consent
//! to cross-region training (PROJ-CROSS-REGION). The decision itself is the round's. Under policy
//! set v2 an application for in-service workers needs its catalog item's key-industry and
//! urgent-occupation basis (PROJ-INSERVICE).
//!
//! Concurrent writers: drafting, changing and submitting take the round's turn (nothing is
//! submitted to a round being closed or decided) and, where the provider's standing is checked,
//! the provider's (`store::turn`); the application itself is updated optimistically.

use qiancheng_api::selection::*;
use qiancheng_api::{Rpc, convert};
use qiancheng_domain::lifecycle::{ApplicationState, Lifecycle as _};
use qiancheng_domain::policy::project::{proj_inservice, proj_plan};
use qiancheng_domain::policy::provider::{evaluate_provider_eligibility, prov_disqualified};
use qiancheng_domain::{RegionCode, today_in_china};
use qiancheng_platform::auth::{Principal, Role};
use qiancheng_platform::call::id_of;
use qiancheng_platform::error::Violations;
use qiancheng_platform::mask::UpdateMask;
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::time::new_id;
use qiancheng_platform::write::{self, Change};
use qiancheng_platform::{Call, Error, Shared, Stamp};

use crate::access::{self, Scope};
use crate::store::application::{self, ApplicationRecord, FilingForm, ListScope, PlanForm};
use crate::store::catalog::{self, CatalogItemRecord, mode_from_proto};
use crate::store::round::{self, RoundRecord};
use crate::store::{provider, turn};

/// Longest text of a filing's short fields (title, venue, contact).
const SHORT_TEXT: usize = 200;
/// Longest text of a plan's parts.
const LONG_TEXT: usize = 10_000;

/// The fields of an application an update may name.
const EDITABLE: [&str; 5] = ["headcount", "training_region_code", "in_service_trainees", "filing", "plan"];

/// What a provider writes in an application, validated.
struct Content {
    headcount: i64,
    training_region: RegionCode,
    in_service_trainees: bool,
    filing: FilingForm,
    plan: PlanForm,
}

fn validate_content(a: &Application, v: &mut Violations) -> Option<Content> {
    let headcount = i64::from(a.headcount);
    if headcount < 1 {
        v.add("application.headcount", "PROJ-QUOTA", "ask for at least one trainee");
    }
    let training_region = v.value("application.training_region_code", convert::county(&a.training_region_code));
    let f = a.filing.clone().unwrap_or_default();
    let project_title =
        v.value("application.filing.project_title", convert::optional_text(&f.project_title, SHORT_TEXT));
    let planned_start = v.value("application.filing.planned_start", convert::date(f.planned_start.as_ref()));
    let planned_end = v.value("application.filing.planned_end", convert::date(f.planned_end.as_ref()));
    if let (Some(Some(start)), Some(Some(end))) = (planned_start, planned_end)
        && end < start
    {
        v.add("application.filing.planned_end", "DATE", "the planned last day cannot be before the first");
    }
    let venue = v.value("application.filing.venue", convert::optional_text(&f.venue, SHORT_TEXT));
    let contact = v.value("application.filing.contact", convert::optional_text(&f.contact, SHORT_TEXT));
    let p = a.plan.clone().unwrap_or_default();
    let plan = PlanForm {
        application_summary: v
            .value("application.plan.application_summary", convert::optional_text(&p.application_summary, LONG_TEXT))?,
        teaching_plan: v
            .value("application.plan.teaching_plan", convert::optional_text(&p.teaching_plan, LONG_TEXT))?,
        safety_content: v
            .value("application.plan.safety_content", convert::optional_text(&p.safety_content, LONG_TEXT))?,
        training_mode: v.value("application.plan.training_mode", mode_from_proto(p.training_mode))?,
        assessment_method: v
            .value("application.plan.assessment_method", convert::optional_text(&p.assessment_method, LONG_TEXT))?,
        employment_measures: v
            .value("application.plan.employment_measures", convert::optional_text(&p.employment_measures, LONG_TEXT))?,
    };
    Some(Content {
        headcount,
        training_region: training_region?,
        in_service_trainees: a.in_service_trainees,
        filing: FilingForm {
            project_title: project_title?,
            planned_start: planned_start?,
            planned_end: planned_end?,
            venue: venue?,
            contact: contact?,
        },
        plan,
    })
}

/// Validates `input` as a whole: every bad field is named at once.
fn validated(input: &Application) -> Result<Content, Error> {
    let mut v = Violations::default();
    let content = validate_content(input, &mut v);
    v.finish()?;
    Ok(content.expect("every missing value was recorded as a violation, and finish() refused them"))
}

/// The headcount against the catalog item's (PROJ-CATALOG) and the round's quota (PROJ-QUOTA).
fn check_headcount(headcount: i64, item: &CatalogItemRecord, round: &RoundRecord) -> Result<(), Error> {
    let mut v = Violations::default();
    if headcount > item.headcount {
        v.add(
            "application.headcount",
            "PROJ-CATALOG",
            format!("the catalog item needs at most {} trainees", item.headcount),
        );
    }
    if headcount > round.quota {
        v.add("application.headcount", "PROJ-QUOTA", format!("the round's quota is {} trainees", round.quota));
    }
    v.finish()
}

/// Refuses unless `round` takes applications today.
fn check_open(round: &RoundRecord, what: &str) -> Result<(), Error> {
    if round.takes_applications(today_in_china()) {
        Ok(())
    } else {
        Err(Error::precondition("ROUND_NOT_OPEN", format!("{} {what} applications", round.name())))
    }
}

/// The round and catalog item of a stored application, read after taking the round's turn.
async fn round_and_item(
    change: &mut Change,
    record: &ApplicationRecord,
) -> Result<(RoundRecord, CatalogItemRecord), Error> {
    change.serialize_on(&turn::round(&record.round_id)).await?;
    let round =
        round::find(&mut *change.tx, &record.round_id).await?.ok_or_else(|| Error::corrupt("application round"))?;
    let item = catalog::find(&mut *change.tx, &record.catalog_item_id)
        .await?
        .ok_or_else(|| Error::corrupt("application catalog item"))?;
    Ok((round, item))
}

/// CreateApplication: a provider drafts an application for a published catalog item of an
/// open round's region.
pub async fn create_application(
    s: &Shared,
    call: Call<CreateApplicationRequest>,
) -> Result<CreateApplicationResponse, Error> {
    let org = access::provider_org(&call.principal)?;
    let input = call.message.application.clone().unwrap_or_default();
    if !input.provider_credit_code.is_empty() && input.provider_credit_code != org {
        return Err(Error::denied("a provider applies only for itself"));
    }
    let mut v = Violations::default();
    let round_id = v.value("application.round", convert::resource_id(&input.round, "rounds"));
    let item_id = v.value("application.catalog_item", convert::resource_id(&input.catalog_item, "catalogItems"));
    let content = validate_content(&input, &mut v);
    v.finish()?;
    let (Some(round_id), Some(item_id), Some(content)) = (round_id, item_id, content) else {
        unreachable!("every missing value was recorded as a violation, and finish() refused them")
    };
    write::run(s, &call, async |change| {
        change.serialize_on(&turn::round(round_id)).await?;
        change.serialize_on(&turn::provider(&org)).await?;
        let provider = provider::find(&mut change.tx, &org).await?.ok_or_else(|| {
            Error::precondition("PROVIDER_NOT_REGISTERED", format!("providers/{org} is not registered"))
        })?;
        // PROV-DISQUALIFIED: a disqualified provider cannot apply.
        Error::unless_passed(prov_disqualified(&provider.facts(None), today_in_china()))?;
        let round =
            round::find(&mut *change.tx, round_id).await?.ok_or_else(|| Error::NotFound(input.round.clone()))?;
        check_open(&round, "does not take")?;
        let item = catalog::find(&mut *change.tx, item_id)
            .await?
            .ok_or_else(|| Error::NotFound(input.catalog_item.clone()))?;
        if item.no_longer_published().is_some() {
            return Err(Error::precondition("CATALOG_ITEM_STATE", "applications are for published catalog items"));
        }
        // A county's round takes items of that county and the city's; the city's round any item.
        if !round.region.contains(item.region) && !item.region.is_city() {
            return Err(Error::invalid(
                "application.catalog_item",
                "PROJ-CATALOG",
                format!("the round of {} takes catalog items of that county or the city", round.region.code()),
            ));
        }
        check_headcount(content.headcount, &item, &round)?;
        let record = ApplicationRecord {
            id: new_id(),
            round_id: round.id.clone(),
            catalog_item_id: item.id.clone(),
            provider_credit_code: provider.credit_code.clone(),
            provider_name: provider.display_name.clone(),
            headcount: content.headcount,
            training_region: content.training_region,
            in_service_trainees: content.in_service_trainees,
            filing: content.filing,
            plan: content.plan,
            state: ApplicationState::Draft,
            consent_reference: String::new(),
            submitted_micros: 0,
            stamp: Stamp::new(),
            history: Vec::new(),
        };
        application::insert(&mut change.tx, &record).await?;
        let detail = serde_json::json!({ "round": round.name(), "catalog_item": item.name(),
            "headcount": record.headcount, "training_region": record.training_region.code() });
        let application = recorded(change, record, ("create", ""), detail).await?;
        Ok(CreateApplicationResponse { application: Some(application) })
    })
    .await
}

/// Notes step `action` (for `reason`) in the history of `record`, already stored, and the audit
/// entry `application.{action}` with `detail`; returns the application as the API shows it.
async fn recorded(
    change: &mut Change,
    record: ApplicationRecord,
    (action, reason): (&str, &str),
    detail: serde_json::Value,
) -> Result<Application, Error> {
    let actor = change.actor().to_owned();
    application::append_event(&mut change.tx, &record.id, action, &actor, reason).await?;
    change.audit(&format!("application.{action}"), record.name(), detail);
    Ok(application::with_history(&mut change.tx, record).await?.to_proto())
}

/// GetApplication: the provider, officers of the round's county, assigned experts, the city,
/// auditors.
pub async fn get_application(s: &Shared, call: Call<GetApplicationRequest>) -> Result<GetApplicationResponse, Error> {
    let name = &call.message.name;
    let id = id_of(name, "applications", "name")?;
    let mut conn = s.db.pool().acquire().await?;
    let Some(record) = application::find(&mut conn, id).await? else {
        // Permission before existence: only callers who see everything learn that it is missing.
        let sees_all = call.principal.has_any(&[Role::CityAdmin, Role::Auditor]);
        return Err(if sees_all { Error::NotFound(name.clone()) } else { access::application_refused() });
    };
    let round = round::find(&mut *conn, &record.round_id).await?.ok_or_else(|| Error::corrupt("application round"))?;
    if !access::may_read_application(&mut conn, &call.principal, &record, &round).await? {
        return Err(access::application_refused());
    }
    let record = application::with_history(&mut conn, record).await?;
    Ok(GetApplicationResponse { application: Some(record.to_proto()) })
}

/// ListApplications: the provider its own, a county officer the rounds of their county, an
/// expert their assignments (not recused), the city and auditors every one.
pub async fn list_applications(
    s: &Shared,
    call: Call<ListApplicationsRequest>,
) -> Result<ListApplicationsResponse, Error> {
    let principal = &call.principal;
    let scope = if principal.has_any(&[Role::CityAdmin, Role::Auditor]) {
        ListScope::All
    } else if principal.has(Role::CountyOfficer) {
        match access::officer_scope(principal)? {
            Scope::Region(region) => ListScope::Region(region),
            _ => ListScope::Nothing,
        }
    } else if principal.has(Role::Provider) {
        ListScope::Provider(access::provider_org(principal)?)
    } else if principal.has(Role::Expert) {
        ListScope::Expert(principal.subject.clone())
    } else {
        return Err(Error::denied("applications are for their provider, officers, experts and auditors"));
    };
    let m = &call.message;
    let mut v = Violations::default();
    let round_id = if m.round.is_empty() { None } else { v.value("round", convert::resource_id(&m.round, "rounds")) };
    let state = v.value("state", application::state_from_proto(m.state)).flatten();
    v.finish()?;
    let filter = (round_id.unwrap_or_default(), state.map_or("", |s| s.code()));
    let page = PageRequest::parse(m.page_size, &m.page_token, &format!("applications|{}|{}", filter.0, filter.1))?;
    let mut conn = s.db.pool().acquire().await?;
    let rows = application::list(&mut conn, &page.after, filter, &scope, page.fetch_limit()).await?;
    let (records, next_page_token) = page.finish_rows(rows, "id", ApplicationRecord::from_row)?;
    let mut applications = Vec::with_capacity(records.len());
    for record in records {
        applications.push(application::with_history(&mut conn, record).await?.to_proto());
    }
    Ok(ListApplicationsResponse { applications, next_page_token })
}

/// Loads the calling provider's own application inside `change`, checking its etag.
async fn load_own(change: &mut Change, org: &str, name: &str, etag: &str) -> Result<ApplicationRecord, Error> {
    let id = id_of(name, "applications", "name")?;
    let record = application::find(&mut change.tx, id).await?.ok_or_else(access::application_refused)?;
    if record.provider_credit_code != org {
        return Err(Error::denied("a provider changes only its own applications"));
    }
    record.stamp.check(etag)?;
    Ok(record)
}

/// Refuses a change to an application that is neither a draft nor returned for correction.
fn check_editable(record: &ApplicationRecord) -> Result<(), Error> {
    let editable = [ApplicationState::Draft, ApplicationState::Returned];
    record.state.require(&editable, "be changed; only drafts and returned ones").map_err(Error::from)
}

/// UpdateApplication: the provider changes a draft or returned application: the fields named in
/// the update mask (every editable one when none is given), validated with the rest of it.
pub async fn update_application(
    s: &Shared,
    call: Call<UpdateApplicationRequest>,
) -> Result<UpdateApplicationResponse, Error> {
    let org = access::provider_org(&call.principal)?;
    let input = call.message.application.clone().unwrap_or_default();
    let mask = UpdateMask::parse(call.message.update_mask.as_ref(), &EDITABLE)?;
    if mask.paths().len() == EDITABLE.len() {
        // A full replacement is validated before anything is read, as it always was.
        validated(&input)?;
    }
    write::run(s, &call, async |change| {
        let mut record = load_own(change, &org, &input.name, &input.etag).await?;
        check_editable(&record)?;
        let mut merged = record.to_proto();
        for path in mask.paths() {
            match path.as_str() {
                "headcount" => merged.headcount = input.headcount,
                "training_region_code" => merged.training_region_code = input.training_region_code.clone(),
                "in_service_trainees" => merged.in_service_trainees = input.in_service_trainees,
                "filing" => merged.filing = input.filing.clone(),
                _ => merged.plan = input.plan.clone(),
            }
        }
        let content = validated(&merged)?;
        let (round, item) = round_and_item(change, &record).await?;
        check_headcount(content.headcount, &item, &round)?;
        check_open(&round, "no longer takes")?;
        // PROJ-CROSS-REGION: a consent is the consent of one training county; another county
        // needs its own.
        if content.training_region != record.training_region {
            record.consent_reference = String::new();
        }
        record.headcount = content.headcount;
        record.training_region = content.training_region;
        record.in_service_trainees = content.in_service_trainees;
        record.filing = content.filing;
        record.plan = content.plan;
        record.stamp.touch();
        application::update(&mut change.tx, &record).await?;
        let detail = serde_json::json!({ "revision": record.stamp.revision, "headcount": record.headcount,
            "training_region": record.training_region.code(), "fields": mask.paths() });
        let application = recorded(change, record, ("update", ""), detail).await?;
        Ok(UpdateApplicationResponse { application: Some(application) })
    })
    .await
}

/// SubmitApplication: the provider submits (or resubmits after a return) before the round's
/// deadline; the item must still be published (PROJ-CATALOG), the provider eligible (PROV-*)
/// for the item's occupation, the plan complete (PROJ-PLAN) and, for in-service trainees, the
/// item's basis recorded (PROJ-INSERVICE).
pub async fn submit_application(
    s: &Shared,
    call: Call<SubmitApplicationRequest>,
) -> Result<SubmitApplicationResponse, Error> {
    let org = access::provider_org(&call.principal)?;
    let m = &call.message;
    write::run(s, &call, async |change| {
        let mut record = load_own(change, &org, &m.name, &m.etag).await?;
        check_editable(&record)?;
        let (round, item) = round_and_item(change, &record).await?;
        check_open(&round, "no longer takes")?;
        change.serialize_on(&turn::provider(&record.provider_credit_code)).await?;
        let provider = provider::find(&mut change.tx, &record.provider_credit_code)
            .await?
            .ok_or_else(|| Error::corrupt("application provider"))?;
        // PROJ-CATALOG: an item superseded or withdrawn since the draft takes no more applications.
        if let Some(gone) = item.no_longer_published() {
            return Err(Error::Refused(gone));
        }
        // PROV-*: the provider must be eligible today for the item's occupation.
        let eligibility =
            evaluate_provider_eligibility(&s.policy, &provider.facts(Some(&item.occupation_code)), today_in_china());
        if let Some(failed) = eligibility.first_failure() {
            return Err(Error::Refused(failed.clone()));
        }
        // PROJ-PLAN: the filing, the application and all four parts of the plan, safety included.
        Error::unless_passed(proj_plan(&record.parts()))?;
        // PROJ-INSERVICE: in-service trainees are trained for a key industry and an urgently
        // needed occupation, as the catalog item records.
        if record.in_service_trainees {
            Error::unless_passed(proj_inservice(&s.policy, true, item.in_service_basis().as_ref()))?;
        }
        let action = if record.state == ApplicationState::Returned { "resubmit" } else { "submit" };
        record.state = record.state.to(ApplicationState::Submitted)?;
        record.stamp.touch();
        record.submitted_micros = record.stamp.update_time_micros;
        application::update(&mut change.tx, &record).await?;
        let detail = serde_json::json!({ "policy_version": eligibility.policy_version });
        let application = recorded(change, record, (action, ""), detail).await?;
        Ok(SubmitApplicationResponse { application: Some(application) })
    })
    .await
}

/// Moves the application `name`, of a round the officer acts for, to `to` inside `change`, with
/// the reason in its history and the audit chain.
async fn officer_transition(
    change: &mut Change,
    principal: &Principal,
    name: &str,
    to: ApplicationState,
    (action, reason): (&str, &str),
) -> Result<Application, Error> {
    let scope = access::officer_scope(principal)?;
    let id = id_of(name, "applications", "name")?;
    let mut record = application::find(&mut change.tx, id).await?.ok_or_else(|| scope.missing(name))?;
    let round =
        round::find(&mut *change.tx, &record.round_id).await?.ok_or_else(|| Error::corrupt("application round"))?;
    access::check_officer_region(principal, &scope, round.region)?;
    record.state = record.state.to(to)?;
    record.stamp.touch();
    application::update(&mut change.tx, &record).await?;
    recorded(change, record, (action, reason), serde_json::json!({ "reason": reason })).await
}

/// An officer's step on the application `name` of a call `M` for `reason` (required): the
/// application moves to `to`, noted as `action`; `respond` makes the call's response of it.
async fn officer_step<M: Rpc>(
    s: &Shared,
    call: &Call<M>,
    (name, reason): (&str, &str),
    (to, action): (ApplicationState, &str),
    respond: fn(Application) -> M::Response,
) -> Result<M::Response, Error> {
    let reason = convert::text(reason, 1000).map_err(|e| Error::invalid_value("reason", e))?;
    write::run(s, call, async |change| {
        let application = officer_transition(change, &call.principal, name, to, (action, &reason)).await?;
        Ok(respond(application))
    })
    .await
}

/// ReturnApplication: an officer returns a submitted application for correction.
pub async fn return_application(
    s: &Shared,
    call: Call<ReturnApplicationRequest>,
) -> Result<ReturnApplicationResponse, Error> {
    let target = (call.message.name.as_str(), call.message.reason.as_str());
    officer_step(s, &call, target, (ApplicationState::Returned, "return"), |a| ReturnApplicationResponse {
        application: Some(a),
    })
    .await
}

/// RejectApplication: an officer rejects an application that is not yet decided.
pub async fn reject_application(
    s: &Shared,
    call: Call<RejectApplicationRequest>,
) -> Result<RejectApplicationResponse, Error> {
    let target = (call.message.name.as_str(), call.message.reason.as_str());
    officer_step(s, &call, target, (ApplicationState::Rejected, "reject"), |a| RejectApplicationResponse {
        application: Some(a),
    })
    .await
}

/// RecordCrossRegionConsent: the training county's bureau (or the city) records its consent to
/// training outside the provider's county (PROJ-CROSS-REGION).
pub async fn record_cross_region_consent(
    s: &Shared,
    call: Call<RecordCrossRegionConsentRequest>,
) -> Result<RecordCrossRegionConsentResponse, Error> {
    let principal = &call.principal;
    if !principal.has_any(&[Role::CityAdmin, Role::CountyOfficer]) {
        return Err(Error::denied("consent is recorded by the training county's officers or the city"));
    }
    let sees_all = principal.has(Role::CityAdmin);
    let m = &call.message;
    let mut v = Violations::default();
    let id = v.value("application", convert::resource_id(&m.application, "applications"));
    let reference = v.value("reference", convert::text(&m.reference, 500));
    v.finish()?;
    let (Some(id), Some(reference)) = (id, reference) else {
        unreachable!("every missing value was recorded as a violation, and finish() refused them")
    };
    write::run(s, &call, async |change| {
        let Some(mut record) = application::find(&mut change.tx, id).await? else {
            return Err(if sees_all { Error::NotFound(m.application.clone()) } else { access::application_refused() });
        };
        // PROJ-CROSS-REGION: the consent is the training county's to give.
        if !sees_all && !principal.region.is_some_and(|own| !own.is_city() && own == record.training_region) {
            return Err(Error::denied("consent is given by the officers of the training county"));
        }
        let open = [ApplicationState::Draft, ApplicationState::Submitted, ApplicationState::Returned];
        record.state.require(&open, "take a consent; it is decided")?;
        let provider = provider::find(&mut change.tx, &record.provider_credit_code)
            .await?
            .ok_or_else(|| Error::corrupt("application provider"))?;
        if provider.region.contains(record.training_region) {
            return Err(Error::precondition(
                "NO_CONSENT_NEEDED",
                "the training is in the provider's own county: no cross-region consent is needed",
            ));
        }
        record.consent_reference = reference;
        record.stamp.touch();
        application::update(&mut change.tx, &record).await?;
        let detail = serde_json::json!({ "rule": "PROJ-CROSS-REGION", "training_region": record.training_region.code(),
            "reference": record.consent_reference });
        let reference = record.consent_reference.clone();
        let application = recorded(change, record, ("consent", &reference), detail).await?;
        Ok(RecordCrossRegionConsentResponse { application: Some(application) })
    })
    .await
}
