//! Training providers (承训机构, 六): who they are, the conditions of their kind, their bank
//! account, violations and disqualification, and their eligibility under PROV-* as the policy
//! core decides it.

use chrono::NaiveDate;
use qiancheng_api::convert;
use qiancheng_api::selection::*;
use qiancheng_domain::policy::decision::{Decision as PolicyDecision, RuleResult as PolicyRule};
use qiancheng_domain::policy::provider::{
    KindFacts, PilotOverride, ProviderFacts, ProviderKind as Kind, evaluate_provider_eligibility, prov_disqualified,
};
use qiancheng_domain::{OccupationCode, RegionCode, Uscc, today_in_china};
use qiancheng_platform::PlatformError;
use qiancheng_platform::auth::{Principal, Role};
use qiancheng_platform::db::{Tx, flag, flag_value};
use qiancheng_platform::error::Violations;
use qiancheng_platform::idempotency::{self, IdempotencyKey, Started};
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::time::{new_id, now_micros};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row as _};
use tonic::Request;

use crate::access::{self, Scope};
use crate::error::SelectionError;
use crate::{State, application};

/// The conditions of a provider's kind, as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conditions {
    /// Occupations of its majors (schools).
    pub related_occupations: Vec<String>,
    /// The county bureau's subsidised-training qualification (schools).
    pub subsidised_training_qualification: bool,
    /// Passed every annual inspection (private schools).
    pub passed_all_annual_inspections: bool,
    /// Years with subsidised training (private schools).
    pub subsidised_training_years: Vec<i32>,
    /// Certification in good standing (employers, associations).
    pub certification_in_good_standing: bool,
    /// Own venue (bases, studios, leading enterprises).
    pub own_venue: bool,
    /// Own equipment.
    pub own_equipment: bool,
    /// Own teachers.
    pub own_teachers: bool,
}

/// A violation on record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViolationRecord {
    /// When it happened.
    pub occurred_on: NaiveDate,
    /// What it was.
    pub description: String,
    /// Who recorded it.
    pub recorded_by: String,
}

/// A provider as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderRecord {
    /// Credit code.
    pub credit_code: String,
    /// Registered name.
    pub display_name: String,
    /// County it operates in.
    pub region: RegionCode,
    /// Pays tax in 咸宁.
    pub pays_tax_locally: bool,
    /// Independent legal person.
    pub independent_legal_person: bool,
    /// Kind.
    pub kind: Kind,
    /// Conditions of its kind.
    pub conditions: Conditions,
    /// Bank account holder.
    pub bank_holder: String,
    /// Bank.
    pub bank_name: String,
    /// Account number.
    pub bank_number: String,
    /// Whether the credit code passes its check character.
    pub check_passed: bool,
    /// The officer's override of a failing pilot code.
    pub pilot_override: Option<PilotOverride>,
    /// Day of disqualification.
    pub disqualified_on: Option<NaiveDate>,
    /// Misconduct found (`SUBCONTRACTING`, `FRAUD`), empty if none.
    pub misconduct: String,
    /// The finding.
    pub disqualification_finding: String,
    /// Violations on record.
    pub violations: Vec<ViolationRecord>,
    /// Version for the etag.
    pub version: i64,
    /// Created, microseconds.
    pub create_time_micros: i64,
    /// Changed, microseconds.
    pub update_time_micros: i64,
}

const COLUMNS: &str = "credit_code, display_name, region_code, pays_tax_locally, independent_legal_person, kind, \
    conditions, bank_holder, bank_name, bank_number, check_passed, pilot_override, disqualified_on, misconduct, \
    disqualification_finding, version, create_time_micros, update_time_micros";

fn corrupt(what: &str) -> SelectionError {
    PlatformError::Corrupt(format!("provider {what}")).into()
}

/// The stored name of a kind (`PRIVATE_TRAINING_SCHOOL`).
pub fn kind_code(kind: Kind) -> String {
    serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn kind_from_code(code: &str) -> Option<Kind> {
    serde_json::from_value(serde_json::Value::String(code.to_owned())).ok()
}

/// A proto kind as the domain's.
pub fn kind_from_proto(value: i32) -> Result<Kind, qiancheng_domain::ValueError> {
    ProviderKind::try_from(value)
        .ok()
        .filter(|k| *k != ProviderKind::Unspecified)
        .and_then(|k| k.as_str_name().strip_prefix("PROVIDER_KIND_").and_then(kind_from_code))
        .ok_or_else(|| {
            qiancheng_domain::ValueError::new("PROV-KIND", "one of the plan's kinds of provider is required")
        })
}

fn kind_to_proto(kind: Kind) -> i32 {
    ProviderKind::from_str_name(&format!("PROVIDER_KIND_{}", kind_code(kind))).map_or(0, |k| k as i32)
}

impl ProviderRecord {
    fn from_row(row: &AnyRow) -> Result<Self, SelectionError> {
        let text = |c: &str| row.try_get::<String, _>(c);
        Ok(Self {
            credit_code: text("credit_code")?,
            display_name: text("display_name")?,
            region: RegionCode::parse(&text("region_code")?).map_err(|_| corrupt("region"))?,
            pays_tax_locally: flag(row.try_get("pays_tax_locally")?),
            independent_legal_person: flag(row.try_get("independent_legal_person")?),
            kind: kind_from_code(&text("kind")?).ok_or_else(|| corrupt("kind"))?,
            conditions: serde_json::from_str(&text("conditions")?).map_err(|_| corrupt("conditions"))?,
            bank_holder: text("bank_holder")?,
            bank_name: text("bank_name")?,
            bank_number: text("bank_number")?,
            check_passed: flag(row.try_get("check_passed")?),
            pilot_override: row
                .try_get::<Option<String>, _>("pilot_override")?
                .map(|o| serde_json::from_str(&o).map_err(|_| corrupt("override")))
                .transpose()?,
            disqualified_on: row
                .try_get::<Option<String>, _>("disqualified_on")?
                .map(|d| qiancheng_domain::parse_date(&d).map_err(|_| corrupt("date")))
                .transpose()?,
            misconduct: text("misconduct")?,
            disqualification_finding: text("disqualification_finding")?,
            violations: Vec::new(),
            version: row.try_get("version")?,
            create_time_micros: row.try_get("create_time_micros")?,
            update_time_micros: row.try_get("update_time_micros")?,
        })
    }

    /// The provider as the PROV-* rules see it; `occupation` is the project's, for schools'
    /// related majors (same occupation, or the same middle group `X-XX`).
    pub fn facts(&self, occupation: Option<&str>) -> ProviderFacts {
        let related = &self.conditions.related_occupations;
        let related_major = match occupation {
            Some(occ) => related.iter().any(|r| r == occ || r.get(..4) == occ.get(..4)),
            None => !related.is_empty(),
        };
        ProviderFacts {
            name: self.display_name.clone(),
            uscc: self.credit_code.clone(),
            pilot_override: self.pilot_override.clone(),
            pays_tax_locally: self.pays_tax_locally,
            independent_legal_person: self.independent_legal_person,
            violations: self.violations.iter().map(|v| v.occurred_on).collect(),
            kind: self.kind,
            kind_facts: KindFacts {
                related_major,
                subsidised_training_qualification: self.conditions.subsidised_training_qualification,
                passed_all_annual_inspections: self.conditions.passed_all_annual_inspections,
                subsidised_training_years: self.conditions.subsidised_training_years.clone(),
                certification_in_good_standing: self.conditions.certification_in_good_standing,
                own_venue: self.conditions.own_venue,
                own_equipment: self.conditions.own_equipment,
                own_teachers: self.conditions.own_teachers,
            },
            disqualified_on: self.disqualified_on,
        }
    }

    /// The resource name.
    pub fn name(&self) -> String {
        format!("providers/{}", self.credit_code)
    }

    /// The provider as the API shows it, with its eligibility under `policy` today.
    pub fn to_proto(&self, policy: &qiancheng_domain::policy::set::PolicySet) -> Provider {
        let eligibility = evaluate_provider_eligibility(policy, &self.facts(None), today_in_china());
        Provider {
            name: self.name(),
            credit_code: self.credit_code.clone(),
            display_name: self.display_name.clone(),
            region_code: self.region.code().to_owned(),
            pays_tax_locally: self.pays_tax_locally,
            independent_legal_person: self.independent_legal_person,
            kind: kind_to_proto(self.kind),
            conditions: Some(KindConditions {
                related_occupations: self.conditions.related_occupations.clone(),
                subsidised_training_qualification: self.conditions.subsidised_training_qualification,
                passed_all_annual_inspections: self.conditions.passed_all_annual_inspections,
                subsidised_training_years: self.conditions.subsidised_training_years.clone(),
                certification_in_good_standing: self.conditions.certification_in_good_standing,
                own_venue: self.conditions.own_venue,
                own_equipment: self.conditions.own_equipment,
                own_teachers: self.conditions.own_teachers,
            }),
            bank_account: Some(BankAccount {
                holder: self.bank_holder.clone(),
                bank: self.bank_name.clone(),
                number: self.bank_number.clone(),
            }),
            violations: self
                .violations
                .iter()
                .map(|v| Violation {
                    occurred_on: Some(convert::date_to_proto(v.occurred_on)),
                    description: v.description.clone(),
                    recorded_by: v.recorded_by.clone(),
                })
                .collect(),
            credit_code_check_passed: self.check_passed,
            pilot_override_by: self.pilot_override.as_ref().map(|o| o.officer.clone()).unwrap_or_default(),
            disqualified_on: self.disqualified_on.map(convert::date_to_proto),
            disqualification_finding: self.disqualification_finding.clone(),
            eligibility: Some(decision_to_proto(&eligibility)),
            create_time_micros: self.create_time_micros,
            update_time_micros: self.update_time_micros,
            etag: self.version.to_string(),
        }
    }
}

/// An account number as shown to those who do not pay into it: the last four digits.
pub fn mask_account(number: &str) -> String {
    let digits: Vec<char> = number.chars().collect();
    let keep = digits.len().min(4);
    let mut masked: String = std::iter::repeat_n('*', digits.len() - keep).collect();
    masked.extend(&digits[digits.len() - keep..]);
    masked
}

/// The provider as `principal` may see it: the bank account in full only for the provider
/// itself, its officers and the city (who record and pay into it); masked for auditors.
fn for_reader(mut provider: Provider, principal: &Principal) -> Provider {
    let full = principal.has_any(&[Role::CityAdmin, Role::CountyOfficer, Role::FinanceOfficer])
        || principal.is_org(&provider.credit_code);
    if !full && let Some(account) = provider.bank_account.as_mut() {
        account.number = mask_account(&account.number);
    }
    provider
}

/// A policy-core rule as the API shows it.
pub fn rule_to_proto(rule: &PolicyRule) -> RuleResult {
    RuleResult {
        code: rule.code.clone(),
        passed: rule.passed,
        reason_zh: rule.reason_zh.clone(),
        reason_en: rule.reason_en.clone(),
    }
}

/// A policy-core decision as the API shows it.
pub fn decision_to_proto(decision: &PolicyDecision<bool>) -> Decision {
    Decision {
        outcome: decision.outcome,
        policy_version: decision.policy_version.clone(),
        rules: decision.rules.iter().map(rule_to_proto).collect(),
    }
}

/// Reads a provider with its violations.
pub async fn load(pool: &sqlx::AnyPool, credit_code: &str) -> Result<Option<ProviderRecord>, SelectionError> {
    let mut conn = pool.acquire().await?;
    load_with(&mut conn, credit_code).await
}

/// Reads a provider inside a write transaction.
pub async fn load_in(tx: &mut Tx, credit_code: &str) -> Result<Option<ProviderRecord>, SelectionError> {
    load_with(tx, credit_code).await
}

async fn load_with(
    conn: &mut sqlx::AnyConnection,
    credit_code: &str,
) -> Result<Option<ProviderRecord>, SelectionError> {
    let row = sqlx::query(AssertSqlSafe(format!("SELECT {COLUMNS} FROM provider WHERE credit_code = $1")))
        .bind(credit_code)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(mut record) = row.as_ref().map(ProviderRecord::from_row).transpose()? else { return Ok(None) };
    let violations = sqlx::query(
        "SELECT occurred_on, description, recorded_by FROM provider_violation WHERE provider_credit_code = $1 \
         ORDER BY occurred_on, id",
    )
    .bind(credit_code)
    .fetch_all(&mut *conn)
    .await?;
    record.violations = violations
        .iter()
        .map(|v| {
            Ok(ViolationRecord {
                occurred_on: qiancheng_domain::parse_date(&v.try_get::<String, _>("occurred_on")?)
                    .map_err(|_| corrupt("violation date"))?,
                description: v.try_get("description")?,
                recorded_by: v.try_get("recorded_by")?,
            })
        })
        .collect::<Result<_, SelectionError>>()?;
    Ok(Some(record))
}

/// The editable facts of a provider, validated.
struct Editable {
    display_name: String,
    region: RegionCode,
    pays_tax_locally: bool,
    independent_legal_person: bool,
    kind: Kind,
    conditions: Conditions,
    bank: (String, String, String),
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
    let bank = p.bank_account.clone().unwrap_or_default();
    let holder = v.value("provider.bank_account.holder", convert::text(&bank.holder, 200));
    let bank_name = v.value("provider.bank_account.bank", convert::text(&bank.bank, 200));
    let number: String = bank.number.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
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
        },
        bank: (holder?, bank_name?, number),
    })
}

/// Binds a provider's columns, in the order of [`COLUMNS`].
macro_rules! bind_provider {
    ($query:expr, $record:expr, $conditions:expr, $pilot:expr) => {
        $query
            .bind(&$record.credit_code)
            .bind(&$record.display_name)
            .bind($record.region.code())
            .bind(flag_value($record.pays_tax_locally))
            .bind(flag_value($record.independent_legal_person))
            .bind(kind_code($record.kind))
            .bind($conditions)
            .bind(&$record.bank_holder)
            .bind(&$record.bank_name)
            .bind(&$record.bank_number)
            .bind(flag_value($record.check_passed))
            .bind($pilot)
            .bind($record.disqualified_on.map(|d| d.to_string()))
            .bind(&$record.misconduct)
            .bind(&$record.disqualification_finding)
            .bind($record.version)
            .bind($record.create_time_micros)
            .bind($record.update_time_micros)
    };
}

/// Writes a provider: a new row when `created_by` is given, else the changes to its row.
async fn store(tx: &mut Tx, record: &ProviderRecord, created_by: Option<&str>) -> Result<(), SelectionError> {
    let conditions = serde_json::to_string(&record.conditions).map_err(|e| PlatformError::Corrupt(e.to_string()))?;
    let pilot = record
        .pilot_override
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| PlatformError::Corrupt(e.to_string()))?;
    match created_by {
        Some(actor) => {
            let sql = format!(
                "INSERT INTO provider ({COLUMNS}, created_by) VALUES \
                 ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)"
            );
            bind_provider!(sqlx::query(AssertSqlSafe(sql)), record, conditions, pilot)
                .bind(actor)
                .execute(&mut **tx)
                .await?;
        }
        None => {
            let sql = "UPDATE provider SET display_name = $2, region_code = $3, pays_tax_locally = $4, \
                independent_legal_person = $5, kind = $6, conditions = $7, bank_holder = $8, bank_name = $9, \
                bank_number = $10, check_passed = $11, pilot_override = $12, disqualified_on = $13, misconduct = $14, \
                disqualification_finding = $15, version = $16, create_time_micros = $17, update_time_micros = $18 \
                WHERE credit_code = $1";
            bind_provider!(sqlx::query(sql), record, conditions, pilot).execute(&mut **tx).await?;
        }
    }
    Ok(())
}

async fn audit_change(
    tx: &mut Tx,
    state: &State,
    principal: &Principal,
    record: &ProviderRecord,
    action: &str,
    detail: serde_json::Value,
) -> Result<(), SelectionError> {
    state.audit(tx, principal, action, &record.name(), detail).await
}

fn credit_code_of(name: &str, field: &str) -> Result<String, SelectionError> {
    convert::resource_id(name, "providers")
        .map(str::to_owned)
        .map_err(|e| SelectionError::invalid(field, e.rule, e.reason))
}

/// RegisterProvider.
pub async fn register(
    state: &State,
    request: Request<RegisterProviderRequest>,
) -> Result<RegisterProviderResponse, SelectionError> {
    let principal = Principal::of(&request)?;
    // The facts eligibility rests on are recorded by the county bureau, not declared by the
    // provider itself.
    let scope = access::officer_scope(&principal)?;
    let message = request.into_inner();
    let input = message.provider.clone().unwrap_or_default();
    let mut v = Violations::default();
    // PROV-USCC: a pilot code failing its check is kept, ineligible until an officer's override.
    let code = v.value("provider.credit_code", Uscc::parse_pilot(&input.credit_code));
    let editable = validate(&input, &mut v);
    v.finish()?;
    let (Some(code), Some(e)) = (code, editable) else {
        unreachable!("every missing value was recorded as a violation, and finish() refused them")
    };
    access::check(&scope, e.region, code.as_str())?;
    let key = IdempotencyKey::new(&principal.subject, "RegisterProvider", &message.request_id, &message)?;
    let mut write = match idempotency::start(&state.db, key).await? {
        Started::Replayed(response) => return Ok(response),
        Started::Fresh(write) => write,
    };
    if load_in(&mut write.tx, code.as_str()).await?.is_some() {
        return Err(SelectionError::AlreadyExists {
            reason: "PROVIDER_EXISTS",
            message: format!("providers/{} is already registered", code.as_str()),
        });
    }
    let now = now_micros();
    let record = ProviderRecord {
        credit_code: code.as_str().to_owned(),
        display_name: e.display_name,
        region: e.region,
        pays_tax_locally: e.pays_tax_locally,
        independent_legal_person: e.independent_legal_person,
        kind: e.kind,
        conditions: e.conditions,
        bank_holder: e.bank.0,
        bank_name: e.bank.1,
        bank_number: e.bank.2,
        check_passed: code.check_passed(),
        pilot_override: None,
        disqualified_on: None,
        misconduct: String::new(),
        disqualification_finding: String::new(),
        violations: Vec::new(),
        version: 1,
        create_time_micros: now,
        update_time_micros: now,
    };
    store(&mut write.tx, &record, Some(&principal.subject)).await?;
    let eligibility = evaluate_provider_eligibility(&state.policy, &record.facts(None), today_in_china());
    audit_change(
        &mut write.tx,
        state,
        &principal,
        &record,
        "provider.register",
        serde_json::json!({ "region": record.region.code(), "kind": kind_code(record.kind),
            "eligible": eligibility.outcome, "failed": eligibility.rules.iter().filter(|r| !r.passed).map(|r| &r.code).collect::<Vec<_>>() }),
    )
    .await?;
    Ok(write.commit(RegisterProviderResponse { provider: Some(record.to_proto(&state.policy)) }).await?)
}

/// Reads a provider the caller may see.
async fn readable(
    state: &State,
    principal: &Principal,
    name: &str,
    field: &str,
) -> Result<ProviderRecord, SelectionError> {
    let scope = access::provider_read_scope(principal)?;
    let code = credit_code_of(name, field)?;
    if matches!(&scope, Scope::Org(own) if *own != code) {
        return Err(SelectionError::denied("a provider sees only itself"));
    }
    let record = load(state.db.pool(), &code).await?.ok_or_else(|| access::missing(&scope, name))?;
    access::check(&scope, record.region, &record.credit_code)?;
    Ok(record)
}

/// GetProvider.
pub async fn get(state: &State, request: Request<GetProviderRequest>) -> Result<GetProviderResponse, SelectionError> {
    let principal = Principal::of(&request)?;
    let record = readable(state, &principal, &request.get_ref().name, "name").await?;
    Ok(GetProviderResponse { provider: Some(for_reader(record.to_proto(&state.policy), &principal)) })
}

/// ListProviders.
pub async fn list(
    state: &State,
    request: Request<ListProvidersRequest>,
) -> Result<ListProvidersResponse, SelectionError> {
    let principal = Principal::of(&request)?;
    let scope = access::provider_read_scope(&principal)?;
    let m = request.into_inner();
    let mut v = Violations::default();
    let region = v.value("region_code", convert::region_filter(&m.region_code)).flatten();
    v.finish()?;
    let page =
        PageRequest::parse(m.page_size, &m.page_token, &format!("providers|{}", region.map_or("", |r| r.code())))?;
    let (scope_kind, scope_value) = scope.sql();
    let rows = sqlx::query(
        "SELECT credit_code FROM provider WHERE credit_code > $1 AND ($2 = '' OR region_code = $2) \
         AND ($3 = 'ALL' OR ($3 = 'REGION' AND region_code = $4) OR ($3 = 'ORG' AND credit_code = $4)) \
         ORDER BY credit_code LIMIT $5",
    )
    .bind(&page.after)
    .bind(region.map_or("", |r| r.code()))
    .bind(scope_kind)
    .bind(scope_value)
    .bind(page.fetch_limit())
    .fetch_all(state.db.pool())
    .await?;
    let mut codes = rows.iter().map(|r| r.try_get::<String, _>("credit_code")).collect::<Result<Vec<_>, _>>()?;
    let next_page_token = page.finish(&mut codes, Clone::clone);
    let mut providers = Vec::with_capacity(codes.len());
    for code in codes {
        if let Some(record) = load(state.db.pool(), &code).await? {
            providers.push(for_reader(record.to_proto(&state.policy), &principal));
        }
    }
    Ok(ListProvidersResponse { providers, next_page_token })
}

/// Opens an idempotent write on a provider the caller may change.
async fn open_for_change<R: prost::Message + Default>(
    state: &State,
    scope: &Scope,
    name: &str,
    key: Option<IdempotencyKey>,
) -> Result<Result<(idempotency::IdempotentTx, ProviderRecord), R>, SelectionError> {
    let code = credit_code_of(name, "provider")?;
    if matches!(scope, Scope::Org(own) if *own != code) {
        return Err(SelectionError::denied("a provider changes only itself"));
    }
    let mut write = match idempotency::start(&state.db, key).await? {
        Started::Replayed(response) => return Ok(Err(response)),
        Started::Fresh(write) => write,
    };
    let record = load_in(&mut write.tx, &code).await?.ok_or_else(|| access::missing(scope, name))?;
    access::check(scope, record.region, &record.credit_code)?;
    Ok(Ok((write, record)))
}

/// UpdateProvider.
pub async fn update(
    state: &State,
    request: Request<UpdateProviderRequest>,
) -> Result<UpdateProviderResponse, SelectionError> {
    let principal = Principal::of(&request)?;
    let scope = access::provider_write_scope(&principal)?;
    let message = request.into_inner();
    let input = message.provider.clone().unwrap_or_default();
    let mut v = Violations::default();
    let editable = validate(&input, &mut v);
    v.finish()?;
    let e = editable.expect("every missing value was recorded as a violation, and finish() refused them");
    let key = IdempotencyKey::new(&principal.subject, "UpdateProvider", &message.request_id, &message)?;
    let (mut write, mut record) =
        match open_for_change::<UpdateProviderResponse>(state, &scope, &input.name, key).await? {
            Ok(open) => open,
            Err(replayed) => return Ok(replayed),
        };
    if !input.etag.is_empty() && input.etag != record.version.to_string() {
        return Err(PlatformError::StaleEtag.into());
    }
    // The county scopes officers' access: moving a provider is for an officer of both counties.
    access::check(&scope, e.region, &record.credit_code)?;
    // PROV-*: a provider keeps its name and bank account up to date; the facts its eligibility
    // rests on (county, kind and conditions, tax, legal status) are the bureau's to record.
    let facts_changed = e.region != record.region
        || e.kind != record.kind
        || e.conditions != record.conditions
        || e.pays_tax_locally != record.pays_tax_locally
        || e.independent_legal_person != record.independent_legal_person;
    if facts_changed && !principal.has_any(&[Role::CityAdmin, Role::CountyOfficer]) {
        return Err(SelectionError::denied(
            "a provider's county, kind and conditions are recorded by its county bureau",
        ));
    }
    let changed: Vec<&str> = [
        ("display_name", e.display_name != record.display_name),
        ("region_code", e.region != record.region),
        ("kind", e.kind != record.kind),
        ("conditions", e.conditions != record.conditions),
        ("pays_tax_locally", e.pays_tax_locally != record.pays_tax_locally),
        ("independent_legal_person", e.independent_legal_person != record.independent_legal_person),
        ("bank_account", e.bank != (record.bank_holder.clone(), record.bank_name.clone(), record.bank_number.clone())),
    ]
    .into_iter()
    .filter_map(|(field, differs)| differs.then_some(field))
    .collect();
    let bank_before = mask_account(&record.bank_number);
    record.display_name = e.display_name;
    record.region = e.region;
    record.pays_tax_locally = e.pays_tax_locally;
    record.independent_legal_person = e.independent_legal_person;
    record.kind = e.kind;
    record.conditions = e.conditions;
    (record.bank_holder, record.bank_name, record.bank_number) = e.bank;
    record.version += 1;
    record.update_time_micros = now_micros();
    store(&mut write.tx, &record, None).await?;
    audit_change(
        &mut write.tx,
        state,
        &principal,
        &record,
        "provider.update",
        serde_json::json!({ "version": record.version, "changed": changed,
            "bank_account": { "before": bank_before, "after": mask_account(&record.bank_number) } }),
    )
    .await?;
    Ok(write.commit(UpdateProviderResponse { provider: Some(record.to_proto(&state.policy)) }).await?)
}

/// RecordViolation.
pub async fn record_violation(
    state: &State,
    request: Request<RecordViolationRequest>,
) -> Result<RecordViolationResponse, SelectionError> {
    let principal = Principal::of(&request)?;
    let scope = access::officer_scope(&principal)?;
    let m = request.into_inner();
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
    let key = IdempotencyKey::new(&principal.subject, "RecordViolation", &m.request_id, &m)?;
    let (mut write, mut record) =
        match open_for_change::<RecordViolationResponse>(state, &scope, &m.provider, key).await? {
            Ok(open) => open,
            Err(replayed) => return Ok(replayed),
        };
    sqlx::query(
        "INSERT INTO provider_violation (id, provider_credit_code, occurred_on, description, recorded_by, time_micros) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(new_id())
    .bind(&record.credit_code)
    .bind(occurred_on.to_string())
    .bind(&description)
    .bind(&principal.subject)
    .bind(now_micros())
    .execute(&mut *write.tx)
    .await?;
    record.version += 1;
    record.update_time_micros = now_micros();
    store(&mut write.tx, &record, None).await?;
    record.violations.push(ViolationRecord { occurred_on, description, recorded_by: principal.subject.clone() });
    audit_change(
        &mut write.tx,
        state,
        &principal,
        &record,
        "provider.violation",
        serde_json::json!({ "occurred_on": occurred_on.to_string() }),
    )
    .await?;
    Ok(write.commit(RecordViolationResponse { provider: Some(record.to_proto(&state.policy)) }).await?)
}

/// OverridePilotCreditCode.
pub async fn override_pilot_credit_code(
    state: &State,
    request: Request<OverridePilotCreditCodeRequest>,
) -> Result<OverridePilotCreditCodeResponse, SelectionError> {
    let principal = Principal::of(&request)?;
    let scope = access::officer_scope(&principal)?;
    let m = request.into_inner();
    let note = convert::text(&m.note, 1000).map_err(|e| SelectionError::invalid("note", e.rule, e.reason))?;
    let key = IdempotencyKey::new(&principal.subject, "OverridePilotCreditCode", &m.request_id, &m)?;
    let (mut write, mut record) =
        match open_for_change::<OverridePilotCreditCodeResponse>(state, &scope, &m.provider, key).await? {
            Ok(open) => open,
            Err(replayed) => return Ok(replayed),
        };
    if record.check_passed {
        return Err(SelectionError::state(
            "CREDIT_CODE_VALID",
            "the credit code passes its check: nothing to override",
        ));
    }
    record.pilot_override =
        Some(PilotOverride { officer: principal.subject.clone(), recorded_on: today_in_china(), note });
    record.version += 1;
    record.update_time_micros = now_micros();
    store(&mut write.tx, &record, None).await?;
    audit_change(
        &mut write.tx,
        state,
        &principal,
        &record,
        "provider.pilot_override",
        serde_json::json!({ "rule": "PROV-USCC" }),
    )
    .await?;
    Ok(write.commit(OverridePilotCreditCodeResponse { provider: Some(record.to_proto(&state.policy)) }).await?)
}

/// EvaluateProviderEligibility.
pub async fn evaluate(
    state: &State,
    request: Request<EvaluateProviderEligibilityRequest>,
) -> Result<EvaluateProviderEligibilityResponse, SelectionError> {
    let principal = Principal::of(&request)?;
    let m = request.into_inner();
    let mut v = Violations::default();
    let as_of = v.value("as_of", convert::date(m.as_of.as_ref())).flatten();
    let occupation = v.value("occupation_code", convert::optional_occupation(&m.occupation_code)).flatten();
    v.finish()?;
    let record = readable(state, &principal, &m.provider, "provider").await?;
    let decision = evaluate_provider_eligibility(
        &state.policy,
        &record.facts(occupation.as_ref().map(OccupationCode::as_str)),
        as_of.unwrap_or_else(today_in_china),
    );
    Ok(EvaluateProviderEligibilityResponse { decision: Some(decision_to_proto(&decision)) })
}

/// DisqualifyProvider: the provider loses its qualification (PROV-DISQUALIFIED) and its open
/// applications are rejected, in one transaction with the audit record.
pub async fn disqualify(
    state: &State,
    request: Request<DisqualifyProviderRequest>,
) -> Result<DisqualifyProviderResponse, SelectionError> {
    let principal = Principal::of(&request)?;
    let scope = access::officer_scope(&principal)?;
    let m = request.into_inner();
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
    let key = IdempotencyKey::new(&principal.subject, "DisqualifyProvider", &m.request_id, &m)?;
    let (mut write, mut record) =
        match open_for_change::<DisqualifyProviderResponse>(state, &scope, &m.provider, key).await? {
            Ok(open) => open,
            Err(replayed) => return Ok(replayed),
        };
    if record.disqualified_on.is_some() {
        return Err(SelectionError::state(
            "ALREADY_DISQUALIFIED",
            format!("{} is already disqualified", record.name()),
        ));
    }
    record.disqualified_on = Some(found_on);
    record.misconduct = misconduct.to_owned();
    record.disqualification_finding = finding;
    record.version += 1;
    record.update_time_micros = now_micros();
    store(&mut write.tx, &record, None).await?;
    let rejected = application::reject_open_of_provider(
        &mut write.tx,
        &record.credit_code,
        &principal.subject,
        &format!("PROV-DISQUALIFIED: {}", record.disqualification_finding),
    )
    .await?;
    audit_change(
        &mut write.tx,
        state,
        &principal,
        &record,
        "provider.disqualify",
        serde_json::json!({ "misconduct": misconduct, "found_on": found_on.to_string(), "rejected": rejected }),
    )
    .await?;
    Ok(write
        .commit(DisqualifyProviderResponse {
            provider: Some(record.to_proto(&state.policy)),
            rejected_applications: rejected,
        })
        .await?)
}

/// CheckStanding: whether a provider (and a project of it) may go on: not disqualified, and the
/// project approved and its own.
pub async fn check_standing(
    state: &State,
    request: Request<CheckStandingRequest>,
) -> Result<CheckStandingResponse, SelectionError> {
    let principal = Principal::of(&request)?;
    let scope = if principal.has_any(&[Role::Service, Role::CityAdmin, Role::Auditor]) {
        Scope::All
    } else {
        access::officer_scope(&principal)?
    };
    let m = request.into_inner();
    let code = credit_code_of(&m.provider, "provider")?;
    let record = load(state.db.pool(), &code).await?.ok_or_else(|| access::missing(&scope, &m.provider))?;
    access::check(&scope, record.region, &record.credit_code)?;
    let today = today_in_china();
    let mut rules = vec![prov_disqualified(&record.facts(None), today)];
    if !m.project.is_empty() {
        let project_id = convert::resource_id(&m.project, "projects")
            .map_err(|e| SelectionError::invalid("project", e.rule, e.reason))?;
        let owner: Option<String> = sqlx::query_scalar("SELECT provider_credit_code FROM project WHERE id = $1")
            .bind(project_id)
            .fetch_optional(state.db.pool())
            .await?;
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
        PolicyDecision { outcome: rules.iter().all(|r| r.passed), policy_version: state.policy.version.clone(), rules };
    Ok(CheckStandingResponse { good_standing: decision.outcome, decision: Some(decision_to_proto(&decision)) })
}
