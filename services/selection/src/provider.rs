//! Training providers (承训机构, 六): who they are, the conditions of their kind, their bank
//! account, violations and disqualification (八(四)), and their eligibility under PROV-* as the
//! policy core decides it. Other services ask here whether a provider and a project of it are in
//! good standing.
//!
//! Under policy set v2 the plan's list of kinds is open ("主要包括"): a provider of another kind
//! (`OTHER`) is eligible once an officer records why (JustifyProviderKind); a private school needs
//! 年检合格 and a public training base the recognition of its public service function (PROV-KIND).
//!
//! Concurrent writers: every change to a provider takes its turn (`store::turn::provider`), as
//! do the applications it makes, so a provider disqualified or found ineligible meanwhile cannot
//! apply; the row itself is updated optimistically.

use chrono::NaiveDate;
use qiancheng_api::selection::*;
use qiancheng_api::{FromProto as _, IntoProto as _, Rpc, convert};
use qiancheng_domain::lifecycle::ApplicationState;
use qiancheng_domain::policy::decision::Decision as PolicyDecision;
use qiancheng_domain::policy::provider::{
    self as rules, KindJustification as Justification, Misconduct, PilotOverride, ProviderKind, prov_disqualified,
};
use qiancheng_domain::policy::selection::proj_selection_owner;
use qiancheng_domain::{Code as _, OccupationCode, RegionCode, Uscc, today_in_china};
use qiancheng_platform::auth::{Principal, Role};
use qiancheng_platform::call::id_of;
use qiancheng_platform::error::Violations;
use qiancheng_platform::mask::UpdateMask;
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::pii::masked;
use qiancheng_platform::record::{self, Filter};
use qiancheng_platform::time::{new_id, now_micros};
use qiancheng_platform::write::{self, Change};
use qiancheng_platform::{Call, Error, Shared, Stamp};

use crate::access::{self, Scope};
use crate::store::application;
use crate::store::project::ProjectRecord;
use crate::store::provider::{self, BankAccountRecord, Conditions, ProviderRecord, ViolationRecord};
use crate::store::turn;

/// The fields of a provider an update may name.
const EDITABLE: [&str; 7] = [
    "display_name",
    "region_code",
    "pays_tax_locally",
    "independent_legal_person",
    "kind",
    "conditions",
    "bank_account",
];

impl From<&ProviderRecord> for Provider {
    /// The provider as the API shows it, without its eligibility (see [`shown`]).
    fn from(record: &ProviderRecord) -> Self {
        let c = &record.conditions;
        Provider {
            name: record.name(),
            credit_code: record.credit_code.clone(),
            display_name: record.display_name.clone(),
            region_code: record.region.into_proto(),
            pays_tax_locally: record.pays_tax_locally,
            independent_legal_person: record.independent_legal_person,
            kind: record.kind.into_proto(),
            conditions: Some(KindConditions {
                related_occupations: c.related_occupations.clone(),
                subsidised_training_qualification: c.subsidised_training_qualification,
                passed_all_annual_inspections: c.passed_all_annual_inspections,
                subsidised_training_years: c.subsidised_training_years.clone(),
                certification_in_good_standing: c.certification_in_good_standing,
                own_venue: c.own_venue,
                own_equipment: c.own_equipment,
                own_teachers: c.own_teachers,
                annual_inspection_passed: c.annual_inspection_passed,
                public_function_recognition: c.public_function_recognition.clone(),
            }),
            bank_account: Some(BankAccount {
                holder: record.bank.holder.clone(),
                bank: record.bank.bank.clone(),
                number: record.bank.number.clone(),
            }),
            violations: record
                .violations
                .iter()
                .map(|v| Violation {
                    occurred_on: Some(v.occurred_on.into_proto()),
                    description: v.description.clone(),
                    recorded_by: v.recorded_by.clone(),
                })
                .collect(),
            credit_code_check_passed: record.check_passed,
            pilot_override_by: record.pilot_override.as_ref().map(|o| o.officer.clone()).unwrap_or_default(),
            disqualified_on: record.disqualified_on.into_proto(),
            disqualification_finding: record.disqualification_finding.clone(),
            eligibility: None,
            create_time_micros: record.stamp.create_time_micros,
            update_time_micros: record.stamp.update_time_micros,
            etag: record.stamp.etag(),
            kind_justification: record.kind_justification.as_ref().map(|j| KindJustification {
                note: j.note.clone(),
                officer: j.officer.clone(),
                recorded_on: Some(j.recorded_on.into_proto()),
            }),
        }
    }
}

/// The provider as the API shows it, with its eligibility under the service's policy set today
/// (PROV-*) and its bank account in full.
fn shown(s: &Shared, record: &ProviderRecord) -> Provider {
    let eligibility = rules::evaluate_provider_eligibility(&s.policy, &record.facts(None), today_in_china());
    Provider { eligibility: Some((&eligibility).into_proto()), ..Provider::from(record) }
}

/// The provider as `principal` may see it: the bank account in full only for the provider
/// itself, its officers, the city, finance and the subsidy service (who record and pay into it);
/// masked for auditors, who read its last four digits.
fn for_reader(record: &ProviderRecord, s: &Shared, principal: &Principal) -> Provider {
    let mut provider = shown(s, record);
    let full = principal.has_any(&[Role::CityAdmin, Role::CountyOfficer, Role::FinanceOfficer, Role::Service])
        || principal.is_org(&provider.credit_code);
    if !full && let Some(account) = provider.bank_account.as_mut() {
        account.number = masked(&account.number, 0, 4);
    }
    provider
}

/// A provider with credit code `code` (passing its check or not), registered by `actor`, before
/// its facts are written.
fn registered((code, check_passed): (&str, bool), actor: &str) -> ProviderRecord {
    ProviderRecord {
        credit_code: code.to_owned(),
        display_name: String::new(),
        region: RegionCode::CITY,
        pays_tax_locally: false,
        independent_legal_person: false,
        kind: ProviderKind::Other,
        conditions: Conditions::default(),
        bank: BankAccountRecord::default(),
        check_passed,
        pilot_override: None,
        kind_justification: None,
        disqualified_on: None,
        misconduct: None,
        disqualification_finding: String::new(),
        created_by: actor.to_owned(),
        violations: Vec::new(),
        stamp: Stamp::new(),
    }
}

/// Writes the editable facts of `p` onto `record`, refusing the provider as a whole: its
/// declared field rules, the county, the kind, the occupations of its majors and the account
/// number (SUBS-PAY), every bad field named at once.
fn apply(p: &Provider, record: &mut ProviderRecord) -> Result<(), Error> {
    let mut v = Violations::default();
    v.declared(p, "provider.");
    let c = p.conditions.clone().unwrap_or_default();
    let mut related = Vec::new();
    for (i, code) in c.related_occupations.iter().enumerate() {
        let at = format!("provider.conditions.related_occupations[{i}]");
        related.extend(v.value(&at, OccupationCode::parse(code)).map(|code| code.as_str().to_owned()));
    }
    let bank = p.bank_account.clone().unwrap_or_default();
    let number: String = bank.number.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
    // SUBS-PAY: subsidies are paid into an account the bank can take.
    if !(8..=32).contains(&number.len()) || !number.chars().all(|c| c.is_ascii_digit()) {
        v.add("provider.bank_account.number", "SUBS-PAY", "a bank account number has 8 to 32 digits");
    }
    v.finish()?;
    // The proto's rules checked the county and the kind; here they are parsed.
    let region = convert::county(&p.region_code).map_err(|e| Error::invalid_value("provider.region_code", e))?;
    let kind = ProviderKind::required(p.kind).map_err(|e| Error::invalid_value("provider.kind", e))?;
    record.display_name = p.display_name.trim().to_owned();
    record.region = region;
    record.pays_tax_locally = p.pays_tax_locally;
    record.independent_legal_person = p.independent_legal_person;
    record.kind = kind;
    record.conditions = Conditions {
        related_occupations: related,
        subsidised_training_qualification: c.subsidised_training_qualification,
        passed_all_annual_inspections: c.passed_all_annual_inspections,
        subsidised_training_years: c.subsidised_training_years,
        certification_in_good_standing: c.certification_in_good_standing,
        own_venue: c.own_venue,
        own_equipment: c.own_equipment,
        own_teachers: c.own_teachers,
        annual_inspection_passed: c.annual_inspection_passed,
        public_function_recognition: c.public_function_recognition.trim().to_owned(),
    };
    record.bank =
        BankAccountRecord { holder: bank.holder.trim().to_owned(), bank: bank.bank.trim().to_owned(), number };
    Ok(())
}

/// RegisterProvider: the facts eligibility rests on are recorded by the county bureau, not
/// declared by the provider itself.
pub async fn register_provider(
    s: &Shared,
    call: Call<RegisterProviderRequest>,
) -> Result<RegisterProviderResponse, Error> {
    let scope = access::officer_scope(&call.principal)?;
    let input = call.message.provider.clone().unwrap_or_default();
    // PROV-USCC: a pilot code failing its check is kept, ineligible until an officer's override.
    let code = Uscc::parse_pilot(&input.credit_code).map_err(|e| Error::invalid_value("provider.credit_code", e))?;
    let mut record = registered((code.as_str(), code.check_passed()), &call.principal.subject);
    apply(&input, &mut record)?;
    scope.check(record.region, code.as_str())?;
    write::run(s, &call, async |change| {
        if record::find::<ProviderRecord>(&mut *change.tx, code.as_str()).await?.is_some() {
            return Err(Error::exists("PROVIDER_EXISTS", format!("{} is already registered", record.name())));
        }
        record::insert(&mut change.tx, &record).await?;
        let eligibility = rules::evaluate_provider_eligibility(&s.policy, &record.facts(None), today_in_china());
        let failed: Vec<&str> = eligibility.rules.iter().filter(|r| !r.passed).map(|r| r.code.as_str()).collect();
        change.audit(
            "provider.register",
            record.name(),
            serde_json::json!({ "region": record.region.code(), "kind": record.kind.code_of(),
                "eligible": eligibility.outcome, "failed": failed }),
        );
        Ok(RegisterProviderResponse { provider: Some(shown(s, &record)) })
    })
    .await
}

/// GetProvider.
pub async fn get_provider(s: &Shared, call: Call<GetProviderRequest>) -> Result<GetProviderResponse, Error> {
    let scope = access::provider_read_scope(&call.principal)?;
    let mut conn = s.db.pool().acquire().await?;
    let record = access::provider_in_scope(&mut conn, &scope, &call.message.name, "name").await?;
    Ok(GetProviderResponse { provider: Some(for_reader(&record, s, &call.principal)) })
}

/// ListProviders: the providers in the caller's scope, of a county if asked.
pub async fn list_providers(s: &Shared, call: Call<ListProvidersRequest>) -> Result<ListProvidersResponse, Error> {
    let scope = access::provider_read_scope(&call.principal)?;
    let m = &call.message;
    let region = convert::region_filter(&m.region_code).map_err(|e| Error::invalid_value("region_code", e))?;
    let region = region.map(|r| r.code());
    let page = PageRequest::parse(m.page_size, &m.page_token, &format!("providers|{}", region.unwrap_or_default()))?;
    let filter = Filter::new().eq_given("p.region_code", region).within(&scope, "p.region_code", Some("p.credit_code"));
    let (records, next_page_token) = record::page::<ProviderRecord>(&s.db, filter, &page).await?;
    let records = provider::with_violations(&mut *s.db.pool().acquire().await?, records).await?;
    let providers = records.iter().map(|r| for_reader(r, s, &call.principal)).collect();
    Ok(ListProvidersResponse { providers, next_page_token })
}

/// Loads a provider the caller may change inside `change`, after taking its turn, checking its
/// etag.
async fn load_for_change(change: &mut Change, scope: &Scope, name: &str, etag: &str) -> Result<ProviderRecord, Error> {
    if let Ok(code) = id_of(name, "providers", "provider") {
        change.serialize_on(&turn::provider(code)).await?;
    }
    let record = access::provider_in_scope(&mut change.tx, scope, name, "provider").await?;
    record.stamp.check(etag)?;
    Ok(record)
}

/// Counts one more change to a provider, stores it and notes the audit entry of `action` with
/// the detail made of the changed provider; returns the provider as the API shows it.
async fn record_change(
    s: &Shared,
    change: &mut Change,
    record: &mut ProviderRecord,
    action: &str,
    detail: impl FnOnce(&ProviderRecord) -> serde_json::Value,
) -> Result<Provider, Error> {
    record.stamp.touch();
    record::update(&mut change.tx, record).await?;
    change.audit(action, record.name(), detail(record));
    Ok(shown(s, record))
}

/// UpdateProvider: the fields named in the update mask (every editable one when none is
/// given) are validated with the rest of the stored provider, as a whole.
pub async fn update_provider(s: &Shared, call: Call<UpdateProviderRequest>) -> Result<UpdateProviderResponse, Error> {
    let scope = access::provider_write_scope(&call.principal)?;
    let input = call.message.provider.clone().unwrap_or_default();
    let mask = UpdateMask::parse(call.message.update_mask.as_ref(), &EDITABLE)?;
    if mask.paths().len() == EDITABLE.len() {
        // A full replacement is validated before anything is read, as it always was.
        apply(&input, &mut registered(("", false), ""))?;
    }
    write::run(s, &call, async |change| {
        let record = load_for_change(change, &scope, &input.name, &input.etag).await?;
        let mut merged = Provider::from(&record);
        mask.merge(&mut merged, &input);
        let mut updated = record.clone();
        apply(&merged, &mut updated)?;
        // The county scopes officers' access: moving a provider is for an officer of both counties.
        scope.check(updated.region, &record.credit_code)?;
        // PROV-*: a provider keeps its name and bank account up to date; the facts its
        // eligibility rests on (county, kind and conditions, tax, legal status) are the bureau's.
        let changed: Vec<&str> = [
            ("display_name", updated.display_name != record.display_name),
            ("region_code", updated.region != record.region),
            ("kind", updated.kind != record.kind),
            ("conditions", updated.conditions != record.conditions),
            ("pays_tax_locally", updated.pays_tax_locally != record.pays_tax_locally),
            ("independent_legal_person", updated.independent_legal_person != record.independent_legal_person),
            ("bank_account", updated.bank != record.bank),
        ]
        .into_iter()
        .filter_map(|(field, differs)| differs.then_some(field))
        .collect();
        let facts_changed = changed.iter().any(|f| !matches!(*f, "display_name" | "bank_account"));
        if facts_changed && !call.principal.has_any(&[Role::CityAdmin, Role::CountyOfficer]) {
            return Err(Error::denied("a provider's county, kind and conditions are recorded by its county bureau"));
        }
        let bank_before = masked(&record.bank.number, 0, 4);
        // PROV-KIND: a justification is of the kind it was recorded for.
        if updated.kind != record.kind {
            updated.kind_justification = None;
        }
        let detail = |r: &ProviderRecord| {
            serde_json::json!({ "version": r.stamp.revision, "changed": changed,
                "bank_account": { "before": bank_before, "after": masked(&r.bank.number, 0, 4) } })
        };
        let provider = record_change(s, change, &mut updated, "provider.update", detail).await?;
        Ok(UpdateProviderResponse { provider: Some(provider) })
    })
    .await
}

/// RecordViolation: a training violation on record, with its date (PROV-CLEAN).
pub async fn record_violation(
    s: &Shared,
    call: Call<RecordViolationRequest>,
) -> Result<RecordViolationResponse, Error> {
    // The supervision service tells of an inspection's serious finding that does not disqualify
    // (CLASS-INSPECTION → PROV-CLEAN); no other service records violations.
    let scope = access::officer_or_supervision_scope(&call.principal, "records a provider's violation")?;
    let m = &call.message;
    let occurred_on =
        NaiveDate::required(m.occurred_on.as_ref()).map_err(|e| Error::invalid_value("occurred_on", e))?;
    if occurred_on > today_in_china() {
        return Err(Error::invalid("occurred_on", "PROV-CLEAN", "a violation cannot be in the future"));
    }
    write::run(s, &call, async |change| {
        let mut record = load_for_change(change, &scope, &m.provider, "").await?;
        let violation = ViolationRecord {
            id: new_id(),
            provider_credit_code: record.credit_code.clone(),
            occurred_on,
            description: m.description.trim().to_owned(),
            recorded_by: change.actor().to_owned(),
            time_micros: now_micros(),
        };
        record::insert(&mut change.tx, &violation).await?;
        record.violations.push(violation);
        let detail = |_: &ProviderRecord| serde_json::json!({ "occurred_on": occurred_on.to_string() });
        let provider = record_change(s, change, &mut record, "provider.violation", detail).await?;
        Ok(RecordViolationResponse { provider: Some(provider) })
    })
    .await
}

/// What an officer's recorded note on a provider stands for.
#[derive(Debug, Clone, Copy)]
enum NoteOn {
    /// PROV-USCC: the override of a pilot credit code failing its check.
    PilotCode,
    /// PROV-KIND: the justification of a kind outside the plan's list.
    Kind,
}

impl NoteOn {
    /// Records `note` by `officer` on `record`, or refuses when there is nothing to record it
    /// for; returns the audit action and the rule the note serves.
    fn apply(
        self,
        record: &mut ProviderRecord,
        officer: String,
        note: String,
    ) -> Result<(&'static str, &'static str), Error> {
        let recorded_on = today_in_china();
        match self {
            NoteOn::PilotCode if record.check_passed => {
                Err(Error::precondition("CREDIT_CODE_VALID", "the credit code passes its check: nothing to override"))
            }
            NoteOn::PilotCode => {
                record.pilot_override = Some(PilotOverride { officer, recorded_on, note });
                Ok(("provider.pilot_override", "PROV-USCC"))
            }
            NoteOn::Kind if record.kind != ProviderKind::Other => Err(Error::precondition(
                "PROVIDER_KIND_LISTED",
                format!("{} is of a kind the plan lists: its own conditions apply", record.name()),
            )),
            NoteOn::Kind => {
                record.kind_justification = Some(Justification { officer, recorded_on, note });
                Ok(("provider.justify_kind", "PROV-KIND"))
            }
        }
    }
}

/// An officer of the provider named `provider` records `note` on it (see [`NoteOn`]), audited;
/// `respond` makes the call's response of the provider as stored.
async fn record_officer_note<M: Rpc>(
    s: &Shared,
    call: &Call<M>,
    (provider, note): (&str, &str),
    on: NoteOn,
    respond: fn(Provider) -> M::Response,
) -> Result<M::Response, Error> {
    let scope = access::officer_scope(&call.principal)?;
    write::run(s, call, async |change| {
        let mut record = load_for_change(change, &scope, provider, "").await?;
        let (action, rule) = on.apply(&mut record, change.actor().to_owned(), note.trim().to_owned())?;
        let detail = |_: &ProviderRecord| serde_json::json!({ "rule": rule });
        Ok(respond(record_change(s, change, &mut record, action, detail).await?))
    })
    .await
}

/// OverridePilotCreditCode: an officer accepts a pilot credit code that fails its check
/// (PROV-USCC), with a note of why.
pub async fn override_pilot_credit_code(
    s: &Shared,
    call: Call<OverridePilotCreditCodeRequest>,
) -> Result<OverridePilotCreditCodeResponse, Error> {
    let target = (call.message.provider.as_str(), call.message.note.as_str());
    record_officer_note(s, &call, target, NoteOn::PilotCode, |p| OverridePilotCreditCodeResponse { provider: Some(p) })
        .await
}

/// JustifyProviderKind: an officer records why a provider of another kind than the plan lists is
/// accepted (PROV-KIND, "主要包括"); policy set v2 then counts the kind's condition as met.
pub async fn justify_provider_kind(
    s: &Shared,
    call: Call<JustifyProviderKindRequest>,
) -> Result<JustifyProviderKindResponse, Error> {
    let target = (call.message.provider.as_str(), call.message.note.as_str());
    record_officer_note(s, &call, target, NoteOn::Kind, |p| JustifyProviderKindResponse { provider: Some(p) }).await
}

/// EvaluateProviderEligibility: PROV-* on a day, for an occupation if asked, every rule
/// explained.
pub async fn evaluate_provider_eligibility(
    s: &Shared,
    call: Call<EvaluateProviderEligibilityRequest>,
) -> Result<EvaluateProviderEligibilityResponse, Error> {
    let scope = access::provider_read_scope(&call.principal)?;
    let m = &call.message;
    let mut v = Violations::default();
    let as_of = v.value("as_of", NaiveDate::from_proto(m.as_of.as_ref())).flatten();
    let occupation = v.value("occupation_code", convert::optional_occupation(&m.occupation_code)).flatten();
    v.finish()?;
    let mut conn = s.db.pool().acquire().await?;
    let record = access::provider_in_scope(&mut conn, &scope, &m.provider, "provider").await?;
    let decision = rules::evaluate_provider_eligibility(
        &s.policy,
        &record.facts(occupation.as_ref().map(OccupationCode::as_str)),
        as_of.unwrap_or_else(today_in_china),
    );
    Ok(EvaluateProviderEligibilityResponse { decision: Some((&decision).into_proto()) })
}

/// DisqualifyProvider: the provider loses its qualification (PROV-DISQUALIFIED, 八(四)) and its
/// open applications are rejected, in one transaction with the audit entry.
pub async fn disqualify_provider(
    s: &Shared,
    call: Call<DisqualifyProviderRequest>,
) -> Result<DisqualifyProviderResponse, Error> {
    // The supervision service refers an inspection's serious subcontracting or fraud finding
    // (CLASS-INSPECTION → PROV-DISQUALIFIED); no other service disqualifies.
    let scope = access::officer_or_supervision_scope(&call.principal, "refers a provider for disqualification")?;
    let m = &call.message;
    let mut v = Violations::default();
    let misconduct = v.value("misconduct", Misconduct::required(m.misconduct));
    let found_on =
        v.value("found_on", NaiveDate::from_proto(m.found_on.as_ref())).flatten().unwrap_or_else(today_in_china);
    if found_on > today_in_china() {
        v.add("found_on", "PROV-DISQUALIFIED", "a finding cannot be in the future");
    }
    v.finish()?;
    write::run(s, &call, async |change| {
        let mut record = load_for_change(change, &scope, &m.provider, "").await?;
        if record.disqualified_on.is_some() {
            return Err(Error::precondition(
                "ALREADY_DISQUALIFIED",
                format!("{} is already disqualified", record.name()),
            ));
        }
        record.disqualified_on = Some(found_on);
        record.misconduct = misconduct;
        record.disqualification_finding = m.finding.trim().to_owned();
        // PROV-DISQUALIFIED: its open applications go no further.
        let why = format!("PROV-DISQUALIFIED: {}", record.disqualification_finding);
        let actor = change.actor().to_owned();
        let open = [ApplicationState::Draft, ApplicationState::Submitted, ApplicationState::Returned];
        let mut rejected = Vec::new();
        let of_provider = ("a.provider_credit_code", record.credit_code.as_str());
        for mut application in application::in_states(&mut change.tx, of_provider, &open).await? {
            let step = ("reject", actor.as_str(), why.as_str());
            application::transition(&mut change.tx, &mut application, ApplicationState::Rejected, step).await?;
            rejected.push(application.name());
        }
        let detail = |_: &ProviderRecord| {
            let misconduct = misconduct.map(Misconduct::code_of);
            serde_json::json!({ "misconduct": misconduct, "found_on": found_on.to_string(), "rejected": rejected })
        };
        let provider = record_change(s, change, &mut record, "provider.disqualify", detail).await?;
        Ok(DisqualifyProviderResponse { provider: Some(provider), rejected_applications: rejected })
    })
    .await
}

/// CheckStanding: whether a provider (and a project of it) may go on: not disqualified, and the
/// project approved and its own (PROV-DISQUALIFIED, PROJ-SELECTION).
pub async fn check_standing(s: &Shared, call: Call<CheckStandingRequest>) -> Result<CheckStandingResponse, Error> {
    let principal = &call.principal;
    let scope = Scope::of(principal, &[Role::Service, Role::CityAdmin, Role::Auditor], None)
        .ok_or_else(|| Error::denied("this call is for county officers and city administrators"))?;
    let m = &call.message;
    let mut conn = s.db.pool().acquire().await?;
    let record = access::provider_in_scope(&mut conn, &scope, &m.provider, "provider").await?;
    let mut rules = vec![prov_disqualified(&record.facts(None), today_in_china())];
    if !m.project.is_empty() {
        let project_id = id_of(&m.project, "projects", "project")?;
        let owner = record::find::<ProjectRecord>(&mut *conn, project_id).await?.map(|p| p.provider_credit_code);
        rules.push(proj_selection_owner(owner.as_deref(), &record.credit_code));
    }
    let decision =
        PolicyDecision { outcome: rules.iter().all(|r| r.passed), policy_version: s.policy.version.clone(), rules };
    Ok(CheckStandingResponse { good_standing: decision.outcome, decision: Some((&decision).into_proto()) })
}
