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

use qiancheng_api::selection::*;
use qiancheng_api::{Rpc, convert};
use qiancheng_domain::lifecycle::ApplicationState;
use qiancheng_domain::policy::RuleResult as PolicyRule;
use qiancheng_domain::policy::decision::Decision as PolicyDecision;
use qiancheng_domain::policy::provider::{
    self as rules, KindJustification as Justification, PilotOverride, ProviderKind, prov_disqualified,
};
use qiancheng_domain::{OccupationCode, RegionCode, Uscc, today_in_china};
use qiancheng_platform::auth::{Principal, Role};
use qiancheng_platform::call::id_of;
use qiancheng_platform::error::Violations;
use qiancheng_platform::mask::UpdateMask;
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::write::{self, Change};
use qiancheng_platform::{Call, Error, Shared, Stamp};

use crate::access::{self, Scope};
use crate::store::application;
use crate::store::provider::{self, BankAccountRecord, Conditions, ProviderRecord, ViolationRecord, kind_from_proto};
use crate::store::{decision_to_proto, project, turn};

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

/// An account number as shown to those who do not pay into it: the last four digits.
fn mask_account(number: &str) -> String {
    let digits: Vec<char> = number.chars().collect();
    let keep = digits.len().min(4);
    let mut masked: String = std::iter::repeat_n('*', digits.len() - keep).collect();
    masked.extend(&digits[digits.len() - keep..]);
    masked
}

/// The provider as `principal` may see it: the bank account in full only for the provider
/// itself, its officers, the city and finance (who record and pay into it); masked for auditors.
fn for_reader(record: &ProviderRecord, s: &Shared, principal: &Principal) -> Provider {
    let mut provider = record.to_proto(&s.policy);
    let full = principal.has_any(&[Role::CityAdmin, Role::CountyOfficer, Role::FinanceOfficer])
        || principal.is_org(&provider.credit_code);
    if !full && let Some(account) = provider.bank_account.as_mut() {
        account.number = mask_account(&account.number);
    }
    provider
}

/// The editable facts of a provider, validated.
struct Editable {
    display_name: String,
    region: RegionCode,
    pays_tax_locally: bool,
    independent_legal_person: bool,
    kind: ProviderKind,
    conditions: Conditions,
    bank: BankAccountRecord,
}

impl Editable {
    /// Writes the facts onto `record`.
    fn apply(self, record: &mut ProviderRecord) {
        record.display_name = self.display_name;
        record.region = self.region;
        record.pays_tax_locally = self.pays_tax_locally;
        record.independent_legal_person = self.independent_legal_person;
        record.kind = self.kind;
        record.conditions = self.conditions;
        record.bank = self.bank;
    }
}

fn validate(p: &Provider, v: &mut Violations) -> Option<Editable> {
    let display_name = v.value("provider.display_name", convert::text(&p.display_name, 200));
    let region = v.value("provider.region_code", convert::county(&p.region_code));
    let kind = v.value("provider.kind", kind_from_proto(p.kind));
    let c = p.conditions.clone().unwrap_or_default();
    let mut related = Vec::new();
    for (i, code) in c.related_occupations.iter().enumerate() {
        if let Some(code) =
            v.value(&format!("provider.conditions.related_occupations[{i}]"), OccupationCode::parse(code))
        {
            related.push(code.as_str().to_owned());
        }
    }
    if let Some(year) = c.subsidised_training_years.iter().find(|y| !(2000..=2100).contains(*y)) {
        v.add("provider.conditions.subsidised_training_years", "PROV-KIND", format!("{year} is not a year"));
    }
    let recognition = v.value(
        "provider.conditions.public_function_recognition",
        convert::optional_text(&c.public_function_recognition, 500),
    );
    let bank = p.bank_account.clone().unwrap_or_default();
    let holder = v.value("provider.bank_account.holder", convert::text(&bank.holder, 200));
    let bank_name = v.value("provider.bank_account.bank", convert::text(&bank.bank, 200));
    let number: String = bank.number.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
    // SUBS-PAY: subsidies are paid into an account the bank can take.
    if !(8..=32).contains(&number.len()) || !number.chars().all(|c| c.is_ascii_digit()) {
        v.add("provider.bank_account.number", "SUBS-PAY", "a bank account number has 8 to 32 digits");
    }
    Some(Editable {
        display_name: display_name?,
        region: region?,
        pays_tax_locally: p.pays_tax_locally,
        independent_legal_person: p.independent_legal_person,
        kind: kind?,
        conditions: Conditions {
            related_occupations: related,
            subsidised_training_qualification: c.subsidised_training_qualification,
            passed_all_annual_inspections: c.passed_all_annual_inspections,
            subsidised_training_years: c.subsidised_training_years.clone(),
            certification_in_good_standing: c.certification_in_good_standing,
            own_venue: c.own_venue,
            own_equipment: c.own_equipment,
            own_teachers: c.own_teachers,
            annual_inspection_passed: c.annual_inspection_passed,
            public_function_recognition: recognition?,
        },
        bank: BankAccountRecord { holder: holder?, bank: bank_name?, number },
    })
}

/// Validates `input` as a whole: every bad field is named at once.
fn validated(input: &Provider) -> Result<Editable, Error> {
    let mut v = Violations::default();
    let editable = validate(input, &mut v);
    v.finish()?;
    Ok(editable.expect("every missing value was recorded as a violation, and finish() refused them"))
}

/// RegisterProvider: the facts eligibility rests on are recorded by the county bureau, not
/// declared by the provider itself.
pub async fn register_provider(
    s: &Shared,
    call: Call<RegisterProviderRequest>,
) -> Result<RegisterProviderResponse, Error> {
    let scope = access::officer_scope(&call.principal)?;
    let input = call.message.provider.clone().unwrap_or_default();
    let mut v = Violations::default();
    // PROV-USCC: a pilot code failing its check is kept, ineligible until an officer's override.
    let code = v.value("provider.credit_code", Uscc::parse_pilot(&input.credit_code));
    let editable = validate(&input, &mut v);
    v.finish()?;
    let (Some(code), Some(editable)) = (code, editable) else {
        unreachable!("every missing value was recorded as a violation, and finish() refused them")
    };
    scope.check(editable.region, code.as_str())?;
    write::run(s, &call, async |change| {
        if provider::find(&mut change.tx, code.as_str()).await?.is_some() {
            return Err(Error::exists("PROVIDER_EXISTS", format!("providers/{} is already registered", code.as_str())));
        }
        let mut record = ProviderRecord {
            credit_code: code.as_str().to_owned(),
            display_name: String::new(),
            region: editable.region,
            pays_tax_locally: false,
            independent_legal_person: false,
            kind: editable.kind,
            conditions: Conditions::default(),
            bank: BankAccountRecord::default(),
            check_passed: code.check_passed(),
            pilot_override: None,
            kind_justification: None,
            disqualified_on: None,
            misconduct: String::new(),
            disqualification_finding: String::new(),
            violations: Vec::new(),
            stamp: Stamp::new(),
        };
        editable.apply(&mut record);
        provider::insert(&mut change.tx, &record, &call.principal.subject).await?;
        let eligibility = rules::evaluate_provider_eligibility(&s.policy, &record.facts(None), today_in_china());
        let failed: Vec<&str> = eligibility.rules.iter().filter(|r| !r.passed).map(|r| r.code.as_str()).collect();
        change.audit(
            "provider.register",
            record.name(),
            serde_json::json!({ "region": record.region.code(), "kind": provider::kind_code(record.kind),
                "eligible": eligibility.outcome, "failed": failed }),
        );
        Ok(RegisterProviderResponse { provider: Some(record.to_proto(&s.policy)) })
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
    let region = region.map_or("", |r| r.code());
    let page = PageRequest::parse(m.page_size, &m.page_token, &format!("providers|{region}"))?;
    let mut codes = provider::list_codes(s.db.pool(), &page.after, region, scope.sql(), page.fetch_limit()).await?;
    let next_page_token = page.finish(&mut codes, Clone::clone);
    let mut conn = s.db.pool().acquire().await?;
    let mut providers = Vec::with_capacity(codes.len());
    for code in codes {
        if let Some(record) = provider::find(&mut conn, &code).await? {
            providers.push(for_reader(&record, s, &call.principal));
        }
    }
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
    provider::update(&mut change.tx, record).await?;
    change.audit(action, record.name(), detail(record));
    Ok(record.to_proto(&s.policy))
}

/// UpdateProvider: the fields named in the update mask (every editable one when none is
/// given) are validated with the rest of the stored provider, as a whole.
pub async fn update_provider(s: &Shared, call: Call<UpdateProviderRequest>) -> Result<UpdateProviderResponse, Error> {
    let scope = access::provider_write_scope(&call.principal)?;
    let input = call.message.provider.clone().unwrap_or_default();
    let mask = UpdateMask::parse(call.message.update_mask.as_ref(), &EDITABLE)?;
    if mask.paths().len() == EDITABLE.len() {
        // A full replacement is validated before anything is read, as it always was.
        validated(&input)?;
    }
    write::run(s, &call, async |change| {
        let mut record = load_for_change(change, &scope, &input.name, &input.etag).await?;
        let mut merged = record.to_proto(&s.policy);
        for path in mask.paths() {
            match path.as_str() {
                "display_name" => merged.display_name = input.display_name.clone(),
                "region_code" => merged.region_code = input.region_code.clone(),
                "pays_tax_locally" => merged.pays_tax_locally = input.pays_tax_locally,
                "independent_legal_person" => merged.independent_legal_person = input.independent_legal_person,
                "kind" => merged.kind = input.kind,
                "conditions" => merged.conditions = input.conditions.clone(),
                _ => merged.bank_account = input.bank_account.clone(),
            }
        }
        let e = validated(&merged)?;
        // The county scopes officers' access: moving a provider is for an officer of both counties.
        scope.check(e.region, &record.credit_code)?;
        // PROV-*: a provider keeps its name and bank account up to date; the facts its
        // eligibility rests on (county, kind and conditions, tax, legal status) are the bureau's.
        let changed: Vec<&str> = [
            ("display_name", e.display_name != record.display_name),
            ("region_code", e.region != record.region),
            ("kind", e.kind != record.kind),
            ("conditions", e.conditions != record.conditions),
            ("pays_tax_locally", e.pays_tax_locally != record.pays_tax_locally),
            ("independent_legal_person", e.independent_legal_person != record.independent_legal_person),
            ("bank_account", e.bank != record.bank),
        ]
        .into_iter()
        .filter_map(|(field, differs)| differs.then_some(field))
        .collect();
        let facts_changed = changed.iter().any(|f| !matches!(*f, "display_name" | "bank_account"));
        if facts_changed && !call.principal.has_any(&[Role::CityAdmin, Role::CountyOfficer]) {
            return Err(Error::denied("a provider's county, kind and conditions are recorded by its county bureau"));
        }
        let bank_before = mask_account(&record.bank.number);
        // PROV-KIND: a justification is of the kind it was recorded for.
        if e.kind != record.kind {
            record.kind_justification = None;
        }
        e.apply(&mut record);
        let detail = |r: &ProviderRecord| {
            serde_json::json!({ "version": r.stamp.revision, "changed": changed,
                "bank_account": { "before": bank_before, "after": mask_account(&r.bank.number) } })
        };
        let provider = record_change(s, change, &mut record, "provider.update", detail).await?;
        Ok(UpdateProviderResponse { provider: Some(provider) })
    })
    .await
}

/// RecordViolation: a training violation on record, with its date (PROV-CLEAN).
pub async fn record_violation(
    s: &Shared,
    call: Call<RecordViolationRequest>,
) -> Result<RecordViolationResponse, Error> {
    let scope = access::officer_scope(&call.principal)?;
    let m = &call.message;
    let mut v = Violations::default();
    let occurred_on = v.value("occurred_on", convert::required_date(m.occurred_on.as_ref()));
    let description = v.value("description", convert::text(&m.description, 1000));
    if occurred_on.is_some_and(|d| d > today_in_china()) {
        v.add("occurred_on", "PROV-CLEAN", "a violation cannot be in the future");
    }
    v.finish()?;
    let (Some(occurred_on), Some(description)) = (occurred_on, description) else {
        unreachable!("every missing value was recorded as a violation, and finish() refused them")
    };
    write::run(s, &call, async |change| {
        let mut record = load_for_change(change, &scope, &m.provider, "").await?;
        let violation = ViolationRecord { occurred_on, description, recorded_by: change.actor().to_owned() };
        provider::insert_violation(&mut change.tx, &record.credit_code, &violation).await?;
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
    let note = convert::text(note, 1000).map_err(|e| Error::invalid_value("note", e))?;
    write::run(s, call, async |change| {
        let mut record = load_for_change(change, &scope, provider, "").await?;
        let (action, rule) = on.apply(&mut record, change.actor().to_owned(), note)?;
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
    let as_of = v.value("as_of", convert::date(m.as_of.as_ref())).flatten();
    let occupation = v.value("occupation_code", convert::optional_occupation(&m.occupation_code)).flatten();
    v.finish()?;
    let mut conn = s.db.pool().acquire().await?;
    let record = access::provider_in_scope(&mut conn, &scope, &m.provider, "provider").await?;
    let decision = rules::evaluate_provider_eligibility(
        &s.policy,
        &record.facts(occupation.as_ref().map(OccupationCode::as_str)),
        as_of.unwrap_or_else(today_in_china),
    );
    Ok(EvaluateProviderEligibilityResponse { decision: Some(decision_to_proto(&decision)) })
}

/// DisqualifyProvider: the provider loses its qualification (PROV-DISQUALIFIED, 八(四)) and its
/// open applications are rejected, in one transaction with the audit entry.
pub async fn disqualify_provider(
    s: &Shared,
    call: Call<DisqualifyProviderRequest>,
) -> Result<DisqualifyProviderResponse, Error> {
    // The supervision service refers an inspection's serious subcontracting or fraud finding
    // (CLASS-INSPECTION → PROV-DISQUALIFIED); no other service disqualifies.
    let scope = if call.principal.has(Role::Service) {
        if call.principal.subject != "service:supervision" {
            return Err(Error::denied("only the supervision service refers a provider for disqualification"));
        }
        Scope::All
    } else {
        access::officer_scope(&call.principal)?
    };
    let m = &call.message;
    let mut v = Violations::default();
    let misconduct = match MisconductKind::try_from(m.misconduct) {
        Ok(MisconductKind::Subcontracting) => "SUBCONTRACTING",
        Ok(MisconductKind::Fraud) => "FRAUD",
        _ => {
            v.add("misconduct", "PROV-DISQUALIFIED", "say whether the provider subcontracted or cheated");
            ""
        }
    };
    let finding = v.value("finding", convert::text(&m.finding, 2000));
    let found_on = v.value("found_on", convert::date(m.found_on.as_ref())).flatten().unwrap_or_else(today_in_china);
    if found_on > today_in_china() {
        v.add("found_on", "PROV-DISQUALIFIED", "a finding cannot be in the future");
    }
    v.finish()?;
    let finding = finding.expect("every missing value was recorded as a violation, and finish() refused them");
    write::run(s, &call, async |change| {
        let mut record = load_for_change(change, &scope, &m.provider, "").await?;
        if record.disqualified_on.is_some() {
            return Err(Error::precondition("ALREADY_DISQUALIFIED", format!("{} is already disqualified", record.name())));
        }
        record.disqualified_on = Some(found_on);
        record.misconduct = misconduct.to_owned();
        record.disqualification_finding = finding;
        // PROV-DISQUALIFIED: its open applications go no further.
        let why = format!("PROV-DISQUALIFIED: {}", record.disqualification_finding);
        let actor = change.actor().to_owned();
        let open = [ApplicationState::Draft, ApplicationState::Submitted, ApplicationState::Returned];
        let mut rejected = Vec::new();
        for mut application in application::of_provider(&mut change.tx, &record.credit_code, &open).await? {
            let step = ("reject", actor.as_str(), why.as_str());
            application::transition(&mut change.tx, &mut application, ApplicationState::Rejected, step).await?;
            rejected.push(application.name());
        }
        let detail = |_: &ProviderRecord| {
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
        let owner = project::find(&mut *conn, project_id).await?.map(|p| p.provider_credit_code);
        rules.push(match owner {
            Some(owner) if owner == record.credit_code => PolicyRule::pass(
                "PROJ-SELECTION",
                "项目经遴选批准,属该机构",
                "the project was approved in selection and is the provider's own",
            ),
            Some(_) => {
                PolicyRule::fail("PROJ-SELECTION", "项目不属于该机构", "the project belongs to another provider")
            }
            None => PolicyRule::fail("PROJ-SELECTION", "项目未经遴选批准", "no such approved project"),
        });
    }
    let decision =
        PolicyDecision { outcome: rules.iter().all(|r| r.passed), policy_version: s.policy.version.clone(), rules };
    Ok(CheckStandingResponse { good_standing: decision.outcome, decision: Some(decision_to_proto(&decision)) })
}
