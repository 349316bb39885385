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

use chrono::NaiveDate;
use qiancheng_api::selection::*;
use qiancheng_api::{FromProto as _, IntoProto as _, Rpc, convert};
use qiancheng_domain::RegionCode;
use qiancheng_domain::lifecycle::{ApplicationState, Lifecycle as _};
use qiancheng_domain::policy::project::{TrainingMode, proj_inservice, proj_plan};
use qiancheng_domain::policy::provider::{evaluate_provider_eligibility, prov_disqualified};
use qiancheng_domain::today_in_china;
use qiancheng_platform::auth::Role;
use qiancheng_platform::call::id_of;
use qiancheng_platform::error::Violations;
use qiancheng_platform::mask::UpdateMask;
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::record::{self, Filter};
use qiancheng_platform::time::new_id;
use qiancheng_platform::write::{self, Change};
use qiancheng_platform::{Call, Error, Shared, Stamp};

use crate::access::{self, Scope};
use crate::store::application::{self, ApplicationRecord, FilingForm, PlanForm};
use crate::store::catalog::CatalogItemRecord;
use crate::store::round::RoundRecord;
use crate::store::{provider, turn};

/// The fields of an application an update may name.
const EDITABLE: [&str; 5] = ["headcount", "training_region_code", "in_service_trainees", "filing", "plan"];

impl From<&ApplicationRecord> for Application {
    /// The application as the API shows it, with the history read with it.
    fn from(record: &ApplicationRecord) -> Self {
        let (f, p) = (&record.filing, &record.plan);
        Application {
            name: record.name(),
            round: format!("rounds/{}", record.round_id),
            catalog_item: format!("catalogItems/{}", record.catalog_item_id),
            provider_credit_code: record.provider_credit_code.clone(),
            provider_name: record.provider_name.clone(),
            headcount: convert::int32(record.headcount),
            training_region_code: record.training_region.into_proto(),
            in_service_trainees: record.in_service_trainees,
            filing: Some(Filing {
                project_title: f.project_title.clone(),
                planned_start: f.planned_start.into_proto(),
                planned_end: f.planned_end.into_proto(),
                venue: f.venue.clone(),
                contact: f.contact.clone(),
            }),
            plan: Some(Plan {
                application_summary: p.application_summary.clone(),
                teaching_plan: p.teaching_plan.clone(),
                safety_content: p.safety_content.clone(),
                training_mode: p.training_mode.into_proto(),
                assessment_method: p.assessment_method.clone(),
                employment_measures: p.employment_measures.clone(),
            }),
            state: record.state.into_proto(),
            cross_region_consent: !record.consent_reference.is_empty(),
            history: (record.history.iter())
                .map(|e| ApplicationEvent {
                    action: e.action.clone(),
                    actor: e.actor.clone(),
                    reason: e.reason.clone(),
                    time_micros: e.time_micros,
                })
                .collect(),
            create_time_micros: record.stamp.create_time_micros,
            update_time_micros: record.stamp.update_time_micros,
            etag: record.stamp.etag(),
        }
    }
}

/// Writes what a provider states in `a` onto `record`, refusing the application as a whole: the
/// rules its fields declare first, then the dates and the county they hold.
fn apply(a: &Application, record: &mut ApplicationRecord) -> Result<(), Error> {
    let mut v = Violations::default();
    v.declared(a, "application.");
    v.finish()?;
    let (f, p) = (a.filing.clone().unwrap_or_default(), a.plan.clone().unwrap_or_default());
    let mut v = Violations::default();
    let planned_start = v.value("application.filing.planned_start", NaiveDate::from_proto(f.planned_start.as_ref()));
    let planned_end = v.value("application.filing.planned_end", NaiveDate::from_proto(f.planned_end.as_ref()));
    let region = v.value("application.training_region_code", convert::county(&a.training_region_code));
    v.finish()?;
    let (Some(planned_start), Some(planned_end), Some(region)) = (planned_start, planned_end, region) else {
        unreachable!("every missing value was recorded as a violation, and finish() refused them")
    };
    // PROJ-CROSS-REGION: a consent is the consent of one training county; another needs its own.
    if region != record.training_region {
        record.consent_reference = String::new();
    }
    record.headcount = i64::from(a.headcount);
    record.training_region = region;
    record.in_service_trainees = a.in_service_trainees;
    let text = |t: &str| t.trim().to_owned();
    record.filing = FilingForm {
        project_title: text(&f.project_title),
        planned_start,
        planned_end,
        venue: text(&f.venue),
        contact: text(&f.contact),
    };
    record.plan = PlanForm {
        application_summary: text(&p.application_summary),
        teaching_plan: text(&p.teaching_plan),
        safety_content: text(&p.safety_content),
        // The proto's rule refused a number that is no mode.
        training_mode: TrainingMode::from_proto(p.training_mode).ok().flatten(),
        assessment_method: text(&p.assessment_method),
        employment_measures: text(&p.employment_measures),
    };
    Ok(())
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
    let round = record::find::<RoundRecord>(&mut *change.tx, record.round_id.as_str()).await?;
    let item = record::find::<CatalogItemRecord>(&mut *change.tx, record.catalog_item_id.as_str()).await?;
    round.zip(item).ok_or_else(|| Error::corrupt("an application's round or catalog item"))
}

/// A draft of provider `org` for round and catalog item `ids`, before its content is written.
fn drafted((round_id, item_id): (&str, &str), org: &str) -> ApplicationRecord {
    ApplicationRecord {
        id: new_id(),
        round_id: round_id.to_owned(),
        catalog_item_id: item_id.to_owned(),
        provider_credit_code: org.to_owned(),
        provider_name: String::new(),
        headcount: 0,
        training_region: RegionCode::CITY,
        in_service_trainees: false,
        filing: FilingForm::default(),
        plan: PlanForm::default(),
        state: ApplicationState::Draft,
        consent_reference: String::new(),
        submitted_micros: 0,
        round_region: RegionCode::CITY,
        history: Vec::new(),
        stamp: Stamp::new(),
    }
}

/// CreateApplication: a provider drafts an application for a published catalog item of an
/// open round's region.
pub async fn create_application(
    s: &Shared,
    call: Call<CreateApplicationRequest>,
) -> Result<CreateApplicationResponse, Error> {
    let org = call.principal.own_org(Role::Provider)?.to_owned();
    let input = call.message.application.clone().unwrap_or_default();
    if !input.provider_credit_code.is_empty() && input.provider_credit_code != org {
        return Err(Error::denied("a provider applies only for itself"));
    }
    let round_id = id_of(&input.round, "rounds", "application.round")?;
    let item_id = id_of(&input.catalog_item, "catalogItems", "application.catalog_item")?;
    let mut record = drafted((round_id, item_id), &org);
    apply(&input, &mut record)?;
    write::run(s, &call, async |change| {
        change.serialize_on(&turn::round(round_id)).await?;
        change.serialize_on(&turn::provider(&org)).await?;
        let provider = provider::find(&mut change.tx, &org).await?.ok_or_else(|| {
            Error::precondition("PROVIDER_NOT_REGISTERED", format!("providers/{org} is not registered"))
        })?;
        // PROV-DISQUALIFIED: a disqualified provider cannot apply.
        Error::unless_passed(prov_disqualified(&provider.facts(None), today_in_china()))?;
        let round = record::find::<RoundRecord>(&mut *change.tx, round_id).await?;
        let round = round.ok_or_else(|| Error::NotFound(input.round.clone()))?;
        check_open(&round, "does not take")?;
        let item = record::find::<CatalogItemRecord>(&mut *change.tx, item_id).await?;
        let item = item.ok_or_else(|| Error::NotFound(input.catalog_item.clone()))?;
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
        check_headcount(record.headcount, &item, &round)?;
        record.provider_name = provider.display_name.clone();
        record.round_region = round.region;
        record::insert(&mut change.tx, &record).await?;
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
    application::append_event(&mut change.tx, &record.id, (action, &actor, reason)).await?;
    change.audit(&format!("application.{action}"), record.name(), detail);
    Ok(Application::from(&shown(&mut change.tx, record).await?))
}

/// `record` with its history, as a response shows it.
async fn shown(conn: &mut sqlx::AnyConnection, record: ApplicationRecord) -> Result<ApplicationRecord, Error> {
    let shown = application::with_history(conn, vec![record]).await?.pop();
    shown.ok_or_else(|| Error::corrupt("an application read with its history"))
}

/// GetApplication: the provider, officers of the round's county, assigned experts, the city,
/// auditors.
pub async fn get_application(s: &Shared, call: Call<GetApplicationRequest>) -> Result<GetApplicationResponse, Error> {
    let name = &call.message.name;
    let id = id_of(name, "applications", "name")?;
    let mut conn = s.db.pool().acquire().await?;
    let Some(record) = record::find::<ApplicationRecord>(&mut *conn, id).await? else {
        // Permission before existence: only callers who see everything learn that it is missing.
        let sees_all = call.principal.has_any(&[Role::CityAdmin, Role::Auditor]);
        return Err(if sees_all { Error::NotFound(name.clone()) } else { access::application_refused() });
    };
    if !access::may_read_application(&mut conn, &call.principal, &record).await? {
        return Err(access::application_refused());
    }
    Ok(GetApplicationResponse { application: Some(Application::from(&shown(&mut conn, record).await?)) })
}

/// ListApplications: the provider its own, a county officer the rounds of their county, an
/// expert their assignments (not recused), the city and auditors every one.
pub async fn list_applications(
    s: &Shared,
    call: Call<ListApplicationsRequest>,
) -> Result<ListApplicationsResponse, Error> {
    let principal = &call.principal;
    let reach = match Scope::of(principal, &[Role::CityAdmin, Role::Auditor], Some(Role::Provider)) {
        Some(scope) => Filter::new().within(&scope, "r.region_code", Some("a.provider_credit_code")),
        // A provider whose token names no organisation acts for none (`Principal::own_org`).
        None if principal.has(Role::Expert) && !principal.has(Role::Provider) => Filter::new().and(
            "EXISTS (SELECT 1 FROM expert_assignment e WHERE e.application_id = a.id AND e.expert = ? AND e.recused = 0)",
            [principal.subject.as_str().into()],
        ),
        None => return Err(Error::denied("applications are for their provider, officers, experts and auditors")),
    };
    let m = &call.message;
    // The proto's rules checked the round's name (empty: every round) and the state (none: any).
    let round_id = convert::resource_id(&m.round, "rounds").ok();
    let state = ApplicationState::from_proto(m.state).ok().flatten().map(|s| s.code());
    let query = format!("applications|{}|{}", round_id.unwrap_or_default(), state.unwrap_or_default());
    let page = PageRequest::parse(m.page_size, &m.page_token, &query)?;
    let filter = reach.eq_given("a.round_id", round_id).eq_given("a.state", state);
    let (records, next_page_token) = record::page::<ApplicationRecord>(&s.db, filter, &page).await?;
    let records = application::with_history(&mut *s.db.pool().acquire().await?, records).await?;
    Ok(ListApplicationsResponse { applications: records.iter().map(Application::from).collect(), next_page_token })
}

/// Loads the calling provider's own application inside `change`, checking its etag.
async fn load_own(change: &mut Change, org: &str, name: &str, etag: &str) -> Result<ApplicationRecord, Error> {
    let id = id_of(name, "applications", "name")?;
    let found = record::find::<ApplicationRecord>(&mut *change.tx, id).await?;
    let record = found.ok_or_else(access::application_refused)?;
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
    let org = call.principal.own_org(Role::Provider)?.to_owned();
    let input = call.message.application.clone().unwrap_or_default();
    let mask = UpdateMask::parse(call.message.update_mask.as_ref(), &EDITABLE)?;
    if mask.paths().len() == EDITABLE.len() {
        // A full replacement is validated before anything is read, as it always was.
        let mut editable = Application::default();
        mask.merge(&mut editable, &input);
        apply(&editable, &mut drafted(("", ""), &org))?;
    }
    write::run(s, &call, async |change| {
        let mut record = load_own(change, &org, &input.name, &input.etag).await?;
        check_editable(&record)?;
        let mut merged = Application::from(&record);
        mask.merge(&mut merged, &input);
        apply(&merged, &mut record)?;
        let (round, item) = round_and_item(change, &record).await?;
        check_headcount(record.headcount, &item, &round)?;
        check_open(&round, "no longer takes")?;
        record.stamp.touch();
        record::update(&mut change.tx, &record).await?;
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
    let org = call.principal.own_org(Role::Provider)?.to_owned();
    let m = &call.message;
    write::run(s, &call, async |change| {
        let mut record = load_own(change, &org, &m.name, &m.etag).await?;
        check_editable(&record)?;
        let (round, item) = round_and_item(change, &record).await?;
        check_open(&round, "no longer takes")?;
        change.serialize_on(&turn::provider(&record.provider_credit_code)).await?;
        let provider = provider::find(&mut change.tx, &record.provider_credit_code).await?;
        let provider = provider.ok_or_else(|| Error::corrupt("application provider"))?;
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
        record::update(&mut change.tx, &record).await?;
        let detail = serde_json::json!({ "policy_version": eligibility.policy_version });
        let application = recorded(change, record, (action, ""), detail).await?;
        Ok(SubmitApplicationResponse { application: Some(application) })
    })
    .await
}

/// An officer's step on the application `name` of a call `M`, of a round the officer acts for,
/// for `reason` (required): the application moves to `to`, noted as `action` with the reason in
/// its history and the audit chain; `respond` makes the call's response of it.
async fn officer_step<M: Rpc>(
    s: &Shared,
    call: &Call<M>,
    (name, reason): (&str, &str),
    (to, action): (ApplicationState, &str),
    respond: fn(Application) -> M::Response,
) -> Result<M::Response, Error> {
    let reason = reason.trim();
    write::run(s, call, async |change| {
        let scope = access::officer_scope(&call.principal)?;
        let id = id_of(name, "applications", "name")?;
        let found = record::find::<ApplicationRecord>(&mut *change.tx, id).await?;
        let mut record = found.ok_or_else(|| scope.missing(name))?;
        access::check_officer_region(&call.principal, &scope, record.round_region)?;
        record.state = record.state.to(to)?;
        record.stamp.touch();
        record::update(&mut change.tx, &record).await?;
        Ok(respond(recorded(change, record, (action, reason), serde_json::json!({ "reason": reason })).await?))
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
    let id = id_of(&m.application, "applications", "application")?;
    write::run(s, &call, async |change| {
        let Some(mut record) = record::find::<ApplicationRecord>(&mut *change.tx, id).await? else {
            return Err(if sees_all { Error::NotFound(m.application.clone()) } else { access::application_refused() });
        };
        // PROJ-CROSS-REGION: the consent is the training county's to give.
        if !sees_all && !principal.region.is_some_and(|own| !own.is_city() && own == record.training_region) {
            return Err(Error::denied("consent is given by the officers of the training county"));
        }
        let open = [ApplicationState::Draft, ApplicationState::Submitted, ApplicationState::Returned];
        record.state.require(&open, "take a consent; it is decided")?;
        let provider = provider::find(&mut change.tx, &record.provider_credit_code).await?;
        let provider = provider.ok_or_else(|| Error::corrupt("application provider"))?;
        if provider.region.contains(record.training_region) {
            return Err(Error::precondition(
                "NO_CONSENT_NEEDED",
                "the training is in the provider's own county: no cross-region consent is needed",
            ));
        }
        record.consent_reference = m.reference.trim().to_owned();
        record.stamp.touch();
        record::update(&mut change.tx, &record).await?;
        let detail = serde_json::json!({ "rule": "PROJ-CROSS-REGION", "training_region": record.training_region.code(),
            "reference": record.consent_reference });
        let reference = record.consent_reference.clone();
        let application = recorded(change, record, ("consent", &reference), detail).await?;
        Ok(RecordCrossRegionConsentResponse { application: Some(application) })
    })
    .await
}
