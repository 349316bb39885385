//! Applications (项目申报, 七(二)): a provider's filing (附件2), application (附件3) and plan
//! (一项目一方案) for a catalog item in a round; draft → submitted → returned for correction →
//! resubmitted → approved or rejected, every step recorded with who and why.
//!
//! A provider drafts, edits and submits its own applications; submission needs an eligible
//! provider (PROV-*) and a complete plan (PROJ-PLAN) before the round's deadline. Officers of
//! the round's county return or reject them; the training county's bureau records its consent
//! to cross-region training (PROJ-CROSS-REGION). The decision itself is the round's.

use chrono::NaiveDate;
use qiancheng_api::convert;
use qiancheng_api::selection::*;
use qiancheng_domain::policy::project::{ApplicationParts, TrainingMode as Mode, proj_plan};
use qiancheng_domain::policy::provider::{evaluate_provider_eligibility, prov_disqualified};
use qiancheng_domain::{RegionCode, ValueError, today_in_china};
use qiancheng_platform::PlatformError;
use qiancheng_platform::auth::{Principal, Role};
use qiancheng_platform::db::{Tx, flag, flag_value};
use qiancheng_platform::error::Violations;
use qiancheng_platform::idempotency::{self, IdempotencyKey, Started};
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::time::{new_id, now_micros};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row as _};
use tonic::Request;

use crate::access::{self, Scope};
use crate::catalog::{self, CatalogItemRecord, mode_from_proto, mode_to_proto};
use crate::error::SelectionError;
use crate::round::{self, RoundRecord, to_i32};
use crate::{State, expert, provider};

/// PROJ-CATALOG: why an application on an item no longer in the catalog goes no further.
pub fn catalog_no_longer_published(
    item: &catalog::CatalogItemRecord,
) -> qiancheng_domain::policy::decision::RuleResult {
    qiancheng_domain::policy::decision::RuleResult::fail(
        "PROJ-CATALOG",
        format!("培训项目目录条目{}已不在公布目录中", item.name()),
        format!("{} is no longer in the published catalog", item.name()),
    )
}

/// Appends a step to an application's history inside `tx`.
pub async fn append_event(
    tx: &mut Tx,
    application_id: &str,
    action: &str,
    actor: &str,
    reason: &str,
) -> Result<(), SelectionError> {
    let next: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) + 1 FROM application_event WHERE application_id = $1")
            .bind(application_id)
            .fetch_one(&mut **tx)
            .await?;
    sqlx::query(
        "INSERT INTO application_event (application_id, seq, action, actor, reason, time_micros) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(application_id)
    .bind(next)
    .bind(action)
    .bind(actor)
    .bind(reason)
    .bind(now_micros())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Rejects every open application (draft, submitted, returned) of a provider inside `tx`, with
/// `reason` in each one's history; returns their names.
pub async fn reject_open_of_provider(
    tx: &mut Tx,
    credit_code: &str,
    actor: &str,
    reason: &str,
) -> Result<Vec<String>, SelectionError> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM application WHERE provider_credit_code = $1 AND state IN ('DRAFT', 'SUBMITTED', 'RETURNED') \
         ORDER BY id",
    )
    .bind(credit_code)
    .fetch_all(&mut **tx)
    .await?;
    for id in &ids {
        sqlx::query(
            "UPDATE application SET state = 'REJECTED', revision = revision + 1, update_time_micros = $1 WHERE id = $2",
        )
        .bind(now_micros())
        .bind(id)
        .execute(&mut **tx)
        .await?;
        append_event(tx, id, "reject", actor, reason).await?;
    }
    Ok(ids.into_iter().map(|id| format!("applications/{id}")).collect())
}

/// 附件2 项目备案表, as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilingForm {
    /// Project title.
    pub project_title: String,
    /// Planned first day.
    pub planned_start: Option<NaiveDate>,
    /// Planned last day.
    pub planned_end: Option<NaiveDate>,
    /// Venue.
    pub venue: String,
    /// Contact person.
    pub contact: String,
}

/// 附件3 申报书 and the plan (一项目一方案), as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanForm {
    /// Summary of the application.
    pub application_summary: String,
    /// Teaching plan.
    pub teaching_plan: String,
    /// Safety content of the teaching plan.
    pub safety_content: String,
    /// Training mode, if chosen.
    pub training_mode: Option<Mode>,
    /// Assessment method.
    pub assessment_method: String,
    /// Measures leading to skills and jobs.
    pub employment_measures: String,
}

/// One step of an application's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    /// What was done.
    pub action: String,
    /// Who.
    pub actor: String,
    /// Why, or the rule code that decided it.
    pub reason: String,
    /// When, microseconds.
    pub time_micros: i64,
}

/// An application (项目申报) as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationRecord {
    /// Id (ULID).
    pub id: String,
    /// The round's id.
    pub round_id: String,
    /// The catalog item's id.
    pub catalog_item_id: String,
    /// The applicant's credit code.
    pub provider_credit_code: String,
    /// The applicant's name when it applied.
    pub provider_name: String,
    /// Trainees asked for.
    pub headcount: i64,
    /// County where the training happens.
    pub training_region: RegionCode,
    /// Whether the trainees are in-service workers (PROJ-BASIS).
    pub in_service_trainees: bool,
    /// 附件2.
    pub filing: FilingForm,
    /// 附件3 and the plan.
    pub plan: PlanForm,
    /// State (`DRAFT`, `SUBMITTED`, `RETURNED`, `APPROVED`, `REJECTED`).
    pub state: String,
    /// The training county's consent reference (PROJ-CROSS-REGION), empty if none.
    pub consent_reference: String,
    /// Revision, for the etag.
    pub revision: i64,
    /// When it was last submitted, microseconds; 0 if never.
    pub submitted_micros: i64,
    /// Created, microseconds.
    pub create_time_micros: i64,
    /// Changed, microseconds.
    pub update_time_micros: i64,
    /// Every step, oldest first (filled when read for a response).
    pub history: Vec<EventRecord>,
}

const COLUMNS: &str = "id, round_id, catalog_item_id, provider_credit_code, provider_name, headcount, \
    training_region_code, in_service_trainees, filing, plan, state, consent_reference, revision, submitted_micros, \
    create_time_micros, update_time_micros";

/// Longest text of a filing's short fields (title, venue, contact).
const SHORT_TEXT: usize = 200;
/// Longest text of a plan's parts.
const LONG_TEXT: usize = 10_000;

fn corrupt(what: &str) -> SelectionError {
    PlatformError::Corrupt(format!("application {what}")).into()
}

fn json<T: Serialize>(value: &T) -> Result<String, SelectionError> {
    serde_json::to_string(value).map_err(|e| PlatformError::Corrupt(e.to_string()).into())
}

fn state_to_proto(code: &str) -> i32 {
    ApplicationState::from_str_name(&format!("APPLICATION_STATE_{code}")).map_or(0, |s| s as i32)
}

/// The id inside `applications/{application}`.
pub fn application_id(name: &str) -> Result<String, ValueError> {
    convert::resource_id(name, "applications").map(str::to_owned)
}

impl ApplicationRecord {
    fn from_row(row: &AnyRow) -> Result<Self, SelectionError> {
        let text = |c: &str| row.try_get::<String, _>(c);
        Ok(Self {
            id: text("id")?,
            round_id: text("round_id")?,
            catalog_item_id: text("catalog_item_id")?,
            provider_credit_code: text("provider_credit_code")?,
            provider_name: text("provider_name")?,
            headcount: row.try_get("headcount")?,
            training_region: RegionCode::parse(&text("training_region_code")?)
                .map_err(|_| corrupt("training region"))?,
            in_service_trainees: flag(row.try_get("in_service_trainees")?),
            filing: serde_json::from_str(&text("filing")?).map_err(|_| corrupt("filing"))?,
            plan: serde_json::from_str(&text("plan")?).map_err(|_| corrupt("plan"))?,
            state: text("state")?,
            consent_reference: text("consent_reference")?,
            revision: row.try_get("revision")?,
            submitted_micros: row.try_get("submitted_micros")?,
            create_time_micros: row.try_get("create_time_micros")?,
            update_time_micros: row.try_get("update_time_micros")?,
            history: Vec::new(),
        })
    }

    /// The resource name.
    pub fn name(&self) -> String {
        format!("applications/{}", self.id)
    }

    /// Whether the application is decided (approved or rejected) and can no longer change.
    pub fn is_final(&self) -> bool {
        matches!(self.state.as_str(), "APPROVED" | "REJECTED")
    }

    /// PROJ-PLAN: which parts of the filing, the application and the plan are there.
    pub fn parts(&self) -> ApplicationParts {
        let given = |s: &str| !s.trim().is_empty();
        ApplicationParts {
            filing_form: given(&self.filing.project_title) && given(&self.filing.venue),
            application_form: given(&self.plan.application_summary),
            teaching_plan: given(&self.plan.teaching_plan),
            safety_in_teaching_plan: given(&self.plan.safety_content),
            training_mode: self.plan.training_mode.is_some(),
            assessment_method: given(&self.plan.assessment_method),
            employment_measures: given(&self.plan.employment_measures),
        }
    }

    /// The application as the API shows it.
    pub fn to_proto(&self) -> Application {
        Application {
            name: self.name(),
            round: format!("rounds/{}", self.round_id),
            catalog_item: format!("catalogItems/{}", self.catalog_item_id),
            provider_credit_code: self.provider_credit_code.clone(),
            provider_name: self.provider_name.clone(),
            headcount: to_i32(self.headcount),
            training_region_code: self.training_region.code().to_owned(),
            in_service_trainees: self.in_service_trainees,
            filing: Some(Filing {
                project_title: self.filing.project_title.clone(),
                planned_start: self.filing.planned_start.map(convert::date_to_proto),
                planned_end: self.filing.planned_end.map(convert::date_to_proto),
                venue: self.filing.venue.clone(),
                contact: self.filing.contact.clone(),
            }),
            plan: Some(Plan {
                application_summary: self.plan.application_summary.clone(),
                teaching_plan: self.plan.teaching_plan.clone(),
                safety_content: self.plan.safety_content.clone(),
                training_mode: mode_to_proto(self.plan.training_mode),
                assessment_method: self.plan.assessment_method.clone(),
                employment_measures: self.plan.employment_measures.clone(),
            }),
            state: state_to_proto(&self.state),
            cross_region_consent: !self.consent_reference.is_empty(),
            history: self
                .history
                .iter()
                .map(|e| ApplicationEvent {
                    action: e.action.clone(),
                    actor: e.actor.clone(),
                    reason: e.reason.clone(),
                    time_micros: e.time_micros,
                })
                .collect(),
            create_time_micros: self.create_time_micros,
            update_time_micros: self.update_time_micros,
            etag: self.revision.to_string(),
        }
    }
}

/// Reads an application by id, without its history.
pub async fn load_record(conn: &mut AnyConnection, id: &str) -> Result<Option<ApplicationRecord>, SelectionError> {
    let row = sqlx::query(AssertSqlSafe(format!("SELECT {COLUMNS} FROM application WHERE id = $1")))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(ApplicationRecord::from_row).transpose()
}

/// Fills an application's history, oldest first.
async fn with_history(
    conn: &mut AnyConnection,
    mut record: ApplicationRecord,
) -> Result<ApplicationRecord, SelectionError> {
    let rows = sqlx::query(
        "SELECT action, actor, reason, time_micros FROM application_event WHERE application_id = $1 ORDER BY seq",
    )
    .bind(&record.id)
    .fetch_all(&mut *conn)
    .await?;
    record.history = rows
        .iter()
        .map(|r| {
            Ok(EventRecord {
                action: r.try_get("action")?,
                actor: r.try_get("actor")?,
                reason: r.try_get("reason")?,
                time_micros: r.try_get("time_micros")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
    Ok(record)
}

/// The submitted applications of a round, by id.
/// Rejects, inside `tx`, the applications of a round still in draft or returned for correction
/// when it is decided: they were not submitted in time. Returns their ids.
pub async fn reject_unsubmitted_in_round(
    tx: &mut Tx,
    round_id: &str,
    actor: &str,
) -> Result<Vec<String>, SelectionError> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM application WHERE round_id = $1 AND state IN ('DRAFT', 'RETURNED') ORDER BY id",
    )
    .bind(round_id)
    .fetch_all(&mut **tx)
    .await?;
    let now = now_micros();
    for id in &ids {
        set_state(tx, id, "REJECTED", now).await?;
        append_event(tx, id, "reject", actor, "not submitted when the round was decided").await?;
    }
    Ok(ids)
}

pub async fn load_submitted_in_round(
    conn: &mut AnyConnection,
    round_id: &str,
) -> Result<Vec<ApplicationRecord>, SelectionError> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM application WHERE round_id = $1 AND state = 'SUBMITTED' ORDER BY id"
    )))
    .bind(round_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(ApplicationRecord::from_row).collect()
}

/// Moves an application to `to` inside `tx`.
pub async fn set_state(tx: &mut Tx, id: &str, to: &str, now: i64) -> Result<(), SelectionError> {
    sqlx::query("UPDATE application SET state = $1, revision = revision + 1, update_time_micros = $2 WHERE id = $3")
        .bind(to)
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn insert(tx: &mut Tx, record: &ApplicationRecord) -> Result<(), SelectionError> {
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO application ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
    )))
    .bind(&record.id)
    .bind(&record.round_id)
    .bind(&record.catalog_item_id)
    .bind(&record.provider_credit_code)
    .bind(&record.provider_name)
    .bind(record.headcount)
    .bind(record.training_region.code())
    .bind(flag_value(record.in_service_trainees))
    .bind(json(&record.filing)?)
    .bind(json(&record.plan)?)
    .bind(&record.state)
    .bind(&record.consent_reference)
    .bind(record.revision)
    .bind(record.submitted_micros)
    .bind(record.create_time_micros)
    .bind(record.update_time_micros)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn store(tx: &mut Tx, record: &ApplicationRecord) -> Result<(), SelectionError> {
    sqlx::query(
        "UPDATE application SET headcount = $1, training_region_code = $2, in_service_trainees = $3, filing = $4, \
         plan = $5, state = $6, consent_reference = $7, revision = $8, submitted_micros = $9, update_time_micros = $10 \
         WHERE id = $11",
    )
    .bind(record.headcount)
    .bind(record.training_region.code())
    .bind(flag_value(record.in_service_trainees))
    .bind(json(&record.filing)?)
    .bind(json(&record.plan)?)
    .bind(&record.state)
    .bind(&record.consent_reference)
    .bind(record.revision)
    .bind(record.submitted_micros)
    .bind(record.update_time_micros)
    .bind(&record.id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn audit_change(
    tx: &mut Tx,
    state: &State,
    principal: &Principal,
    record: &ApplicationRecord,
    action: &str,
    detail: serde_json::Value,
) -> Result<(), SelectionError> {
    state.audit(tx, principal, action, &record.name(), detail).await
}

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

/// The headcount against the catalog item's (PROJ-CATALOG) and the round's quota (PROJ-QUOTA).
fn check_headcount(headcount: i64, item: &CatalogItemRecord, round: &RoundRecord) -> Result<(), SelectionError> {
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
    Ok(v.finish()?)
}

/// The caller's own credit code, if the caller is a provider.
fn provider_org(principal: &Principal) -> Result<String, SelectionError> {
    match (&principal.org, principal.has(Role::Provider)) {
        (Some(org), true) => Ok(org.clone()),
        _ => Err(SelectionError::denied("this call is for providers, on their own applications")),
    }
}

/// CreateApplication: a provider drafts an application for a published catalog item of an
/// open round's region.
pub async fn create(
    state: &State,
    request: Request<CreateApplicationRequest>,
) -> Result<CreateApplicationResponse, SelectionError> {
    let principal = Principal::of(&request)?;
    let org = provider_org(&principal)?;
    let m = request.into_inner();
    let input = m.application.clone().unwrap_or_default();
    if !input.provider_credit_code.is_empty() && input.provider_credit_code != org {
        return Err(SelectionError::denied("a provider applies only for itself"));
    }
    let mut v = Violations::default();
    let round_id = v.value("application.round", convert::resource_id(&input.round, "rounds").map(str::to_owned));
    let item_id = v.value(
        "application.catalog_item",
        convert::resource_id(&input.catalog_item, "catalogItems").map(str::to_owned),
    );
    let content = validate_content(&input, &mut v);
    v.finish()?;
    let (Some(round_id), Some(item_id), Some(content)) = (round_id, item_id, content) else {
        unreachable!("every missing value was recorded as a violation, and finish() refused them")
    };
    let key = IdempotencyKey::new(&principal.subject, "CreateApplication", &m.request_id, &m)?;
    let mut write = match idempotency::start(&state.db, key).await? {
        Started::Replayed(response) => return Ok(response),
        Started::Fresh(write) => write,
    };
    let today = today_in_china();
    let provider = provider::load_in(&mut write.tx, &org).await?.ok_or_else(|| {
        SelectionError::state("PROVIDER_NOT_REGISTERED", format!("providers/{org} is not registered"))
    })?;
    // PROV-DISQUALIFIED: a disqualified provider cannot apply.
    let standing = prov_disqualified(&provider.facts(None), today);
    if !standing.passed {
        return Err(SelectionError::Rule(standing));
    }
    let round =
        round::load(&mut *write.tx, &round_id).await?.ok_or_else(|| SelectionError::NotFound(input.round.clone()))?;
    if !round.takes_applications(today) {
        return Err(SelectionError::state("ROUND_NOT_OPEN", format!("{} does not take applications", round.name())));
    }
    let item = catalog::load(&mut *write.tx, &item_id)
        .await?
        .ok_or_else(|| SelectionError::NotFound(input.catalog_item.clone()))?;
    if item.state != "PUBLISHED" {
        return Err(SelectionError::state("CATALOG_ITEM_STATE", "applications are for published catalog items"));
    }
    // A county's round takes items of that county and the city's; the city's round any item.
    if !round.region.contains(item.region) && !item.region.is_city() {
        return Err(SelectionError::invalid(
            "application.catalog_item",
            "PROJ-CATALOG",
            format!("the round of {} takes catalog items of that county or the city", round.region.code()),
        ));
    }
    check_headcount(content.headcount, &item, &round)?;
    let now = now_micros();
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
        state: "DRAFT".to_owned(),
        consent_reference: String::new(),
        revision: 1,
        submitted_micros: 0,
        create_time_micros: now,
        update_time_micros: now,
        history: Vec::new(),
    };
    insert(&mut write.tx, &record).await?;
    append_event(&mut write.tx, &record.id, "create", &principal.subject, "").await?;
    audit_change(
        &mut write.tx,
        state,
        &principal,
        &record,
        "application.create",
        serde_json::json!({ "round": round.name(), "catalog_item": item.name(), "headcount": record.headcount,
            "training_region": record.training_region.code() }),
    )
    .await?;
    let record = with_history(&mut write.tx, record).await?;
    Ok(write.commit(CreateApplicationResponse { application: Some(record.to_proto()) }).await?)
}

/// Whether the caller may read `record` of `round`: the provider, officers of the round's
/// county, the city, auditors, and assigned experts who are not recused.
async fn may_read(
    conn: &mut AnyConnection,
    principal: &Principal,
    record: &ApplicationRecord,
    round: &RoundRecord,
) -> Result<bool, SelectionError> {
    if principal.has(Role::Provider) && principal.is_org(&record.provider_credit_code) {
        return Ok(true);
    }
    if access::reads_internal(principal, round.region) {
        return Ok(true);
    }
    if principal.has(Role::Expert) {
        return expert::reviews(conn, &record.id, &principal.subject).await;
    }
    Ok(false)
}

/// GetApplication.
pub async fn get(
    state: &State,
    request: Request<GetApplicationRequest>,
) -> Result<GetApplicationResponse, SelectionError> {
    let principal = Principal::of(&request)?;
    let name = &request.get_ref().name;
    let id = application_id(name).map_err(|e| SelectionError::invalid("name", e.rule, e.reason))?;
    let mut conn = state.db.pool().acquire().await?;
    let sees_all = principal.has_any(&[Role::CityAdmin, Role::Auditor]);
    let Some(record) = load_record(&mut conn, &id).await? else {
        // Permission before existence: only callers who see everything learn that it is missing.
        return Err(if sees_all { SelectionError::NotFound(name.clone()) } else { refused() });
    };
    let round = round::load(&mut *conn, &record.round_id).await?.ok_or_else(|| corrupt("round"))?;
    if !may_read(&mut conn, &principal, &record, &round).await? {
        return Err(refused());
    }
    let record = with_history(&mut conn, record).await?;
    Ok(GetApplicationResponse { application: Some(record.to_proto()) })
}

fn refused() -> SelectionError {
    SelectionError::denied("the application is outside the caller's county, organisation or assignments")
}

/// ListApplications: the provider its own, a county officer the rounds of their county, an
/// expert their assignments (not recused), the city and auditors every one.
pub async fn list(
    state: &State,
    request: Request<ListApplicationsRequest>,
) -> Result<ListApplicationsResponse, SelectionError> {
    let principal = Principal::of(&request)?;
    let (scope_kind, scope_value) = if principal.has_any(&[Role::CityAdmin, Role::Auditor]) {
        ("ALL", String::new())
    } else if principal.has(Role::CountyOfficer) {
        match access::officer_scope(&principal)? {
            Scope::Region(region) => ("REGION", region.code().to_owned()),
            _ => ("NONE", String::new()),
        }
    } else if principal.has(Role::Provider) {
        ("ORG", provider_org(&principal)?)
    } else if principal.has(Role::Expert) {
        ("EXPERT", principal.subject.clone())
    } else {
        return Err(SelectionError::denied("applications are for their provider, officers, experts and auditors"));
    };
    let m = request.into_inner();
    let mut v = Violations::default();
    let round_filter = if m.round.is_empty() {
        String::new()
    } else {
        v.value("round", convert::resource_id(&m.round, "rounds").map(str::to_owned)).unwrap_or_default()
    };
    let wanted = match ApplicationState::try_from(m.state) {
        Ok(ApplicationState::Unspecified) => String::new(),
        Ok(s) => s.as_str_name().trim_start_matches("APPLICATION_STATE_").to_owned(),
        Err(_) => {
            v.add("state", "PROJ-PLAN", "not an application state");
            String::new()
        }
    };
    v.finish()?;
    let page = PageRequest::parse(m.page_size, &m.page_token, &format!("applications|{round_filter}|{wanted}"))?;
    let mut conn = state.db.pool().acquire().await?;
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {} FROM application a JOIN selection_round r ON r.id = a.round_id \
         WHERE a.id > $1 AND ($2 = '' OR a.round_id = $2) AND ($3 = '' OR a.state = $3) \
         AND ($4 = 'ALL' OR ($4 = 'REGION' AND r.region_code = $5) OR ($4 = 'ORG' AND a.provider_credit_code = $5) \
         OR ($4 = 'EXPERT' AND EXISTS (SELECT 1 FROM expert_assignment e WHERE e.application_id = a.id \
         AND e.expert = $5 AND e.recused = 0))) ORDER BY a.id LIMIT $6",
        COLUMNS.split(", ").map(|c| format!("a.{}", c.trim())).collect::<Vec<_>>().join(", ")
    )))
    .bind(&page.after)
    .bind(&round_filter)
    .bind(&wanted)
    .bind(scope_kind)
    .bind(&scope_value)
    .bind(page.fetch_limit())
    .fetch_all(&mut *conn)
    .await?;
    let mut records = rows.iter().map(ApplicationRecord::from_row).collect::<Result<Vec<_>, _>>()?;
    let next_page_token = page.finish(&mut records, |r| r.id.clone());
    let mut applications = Vec::with_capacity(records.len());
    for record in records {
        applications.push(with_history(&mut conn, record).await?.to_proto());
    }
    Ok(ListApplicationsResponse { applications, next_page_token })
}

/// Opens an idempotent write on the calling provider's own application.
async fn open_own<R: prost::Message + Default>(
    state: &State,
    org: &str,
    name: &str,
    key: Option<IdempotencyKey>,
) -> Result<Result<(idempotency::IdempotentTx, ApplicationRecord), R>, SelectionError> {
    let id = application_id(name).map_err(|e| SelectionError::invalid("name", e.rule, e.reason))?;
    let mut write = match idempotency::start(&state.db, key).await? {
        Started::Replayed(response) => return Ok(Err(response)),
        Started::Fresh(write) => write,
    };
    let record = load_record(&mut write.tx, &id).await?.ok_or_else(refused)?;
    if record.provider_credit_code != org {
        return Err(SelectionError::denied("a provider changes only its own applications"));
    }
    Ok(Ok((write, record)))
}

fn check_editable(record: &ApplicationRecord) -> Result<(), SelectionError> {
    if matches!(record.state.as_str(), "DRAFT" | "RETURNED") {
        Ok(())
    } else {
        Err(SelectionError::state(
            "APPLICATION_STATE",
            format!("a {} application cannot be changed; only drafts and returned ones", record.state.to_lowercase()),
        ))
    }
}

/// UpdateApplication: the provider replaces a draft or returned application's content.
pub async fn update(
    state: &State,
    request: Request<UpdateApplicationRequest>,
) -> Result<UpdateApplicationResponse, SelectionError> {
    let principal = Principal::of(&request)?;
    let org = provider_org(&principal)?;
    let m = request.into_inner();
    let input = m.application.clone().unwrap_or_default();
    let mut v = Violations::default();
    let content = validate_content(&input, &mut v);
    v.finish()?;
    let content = content.expect("every missing value was recorded as a violation, and finish() refused them");
    let key = IdempotencyKey::new(&principal.subject, "UpdateApplication", &m.request_id, &m)?;
    let (mut write, mut record) = match open_own::<UpdateApplicationResponse>(state, &org, &input.name, key).await? {
        Ok(open) => open,
        Err(replayed) => return Ok(replayed),
    };
    if !input.etag.is_empty() && input.etag != record.revision.to_string() {
        return Err(PlatformError::StaleEtag.into());
    }
    check_editable(&record)?;
    let round = round::load(&mut *write.tx, &record.round_id).await?.ok_or_else(|| corrupt("round"))?;
    let item = catalog::load(&mut *write.tx, &record.catalog_item_id).await?.ok_or_else(|| corrupt("catalog item"))?;
    check_headcount(content.headcount, &item, &round)?;
    if !round.takes_applications(qiancheng_domain::today_in_china()) {
        return Err(SelectionError::state("ROUND_NOT_OPEN", format!("{} no longer takes applications", round.name())));
    }
    // PROJ-CROSS-REGION: a consent is the consent of one training county; another county needs its own.
    if content.training_region != record.training_region {
        record.consent_reference = String::new();
    }
    record.headcount = content.headcount;
    record.training_region = content.training_region;
    record.in_service_trainees = content.in_service_trainees;
    record.filing = content.filing;
    record.plan = content.plan;
    record.revision += 1;
    record.update_time_micros = now_micros();
    store(&mut write.tx, &record).await?;
    append_event(&mut write.tx, &record.id, "update", &principal.subject, "").await?;
    audit_change(
        &mut write.tx,
        state,
        &principal,
        &record,
        "application.update",
        serde_json::json!({ "revision": record.revision, "headcount": record.headcount,
            "training_region": record.training_region.code() }),
    )
    .await?;
    let record = with_history(&mut write.tx, record).await?;
    Ok(write.commit(UpdateApplicationResponse { application: Some(record.to_proto()) }).await?)
}

/// SubmitApplication: the provider submits (or resubmits after a return) before the round's
/// deadline; the provider must be eligible (PROV-*) for the item's occupation and the plan
/// complete (PROJ-PLAN).
pub async fn submit(
    state: &State,
    request: Request<SubmitApplicationRequest>,
) -> Result<SubmitApplicationResponse, SelectionError> {
    let principal = Principal::of(&request)?;
    let org = provider_org(&principal)?;
    let m = request.into_inner();
    let key = IdempotencyKey::new(&principal.subject, "SubmitApplication", &m.request_id, &m)?;
    let (mut write, mut record) = match open_own::<SubmitApplicationResponse>(state, &org, &m.name, key).await? {
        Ok(open) => open,
        Err(replayed) => return Ok(replayed),
    };
    if !m.etag.is_empty() && m.etag != record.revision.to_string() {
        return Err(PlatformError::StaleEtag.into());
    }
    check_editable(&record)?;
    let today = today_in_china();
    let round = round::load(&mut *write.tx, &record.round_id).await?.ok_or_else(|| corrupt("round"))?;
    if !round.takes_applications(today) {
        return Err(SelectionError::state("ROUND_NOT_OPEN", format!("{} no longer takes applications", round.name())));
    }
    let item = catalog::load(&mut *write.tx, &record.catalog_item_id).await?.ok_or_else(|| corrupt("catalog item"))?;
    let provider =
        provider::load_in(&mut write.tx, &record.provider_credit_code).await?.ok_or_else(|| corrupt("provider"))?;
    // PROJ-CATALOG: an item superseded or withdrawn since the draft takes no more applications.
    if item.state != "PUBLISHED" {
        return Err(SelectionError::Rule(catalog_no_longer_published(&item)));
    }
    // PROV-*: the provider must be eligible today for the item's occupation.
    let eligibility = evaluate_provider_eligibility(&state.policy, &provider.facts(Some(&item.occupation_code)), today);
    if let Some(failed) = eligibility.first_failure() {
        return Err(SelectionError::Rule(failed.clone()));
    }
    // PROJ-PLAN: the filing, the application and all four parts of the plan, safety included.
    let plan = proj_plan(&record.parts());
    if !plan.passed {
        return Err(SelectionError::Rule(plan));
    }
    let action = if record.state == "RETURNED" { "resubmit" } else { "submit" };
    let now = now_micros();
    record.state = "SUBMITTED".to_owned();
    record.submitted_micros = now;
    record.revision += 1;
    record.update_time_micros = now;
    store(&mut write.tx, &record).await?;
    append_event(&mut write.tx, &record.id, action, &principal.subject, "").await?;
    audit_change(
        &mut write.tx,
        state,
        &principal,
        &record,
        &format!("application.{action}"),
        serde_json::json!({ "policy_version": eligibility.policy_version }),
    )
    .await?;
    let record = with_history(&mut write.tx, record).await?;
    Ok(write.commit(SubmitApplicationResponse { application: Some(record.to_proto()) }).await?)
}

/// Opens an idempotent write on an application of a round the officer acts for.
async fn open_as_officer<R: prost::Message + Default>(
    state: &State,
    principal: &Principal,
    name: &str,
    key: Option<IdempotencyKey>,
) -> Result<Result<(idempotency::IdempotentTx, ApplicationRecord), R>, SelectionError> {
    let scope = access::officer_scope(principal)?;
    let id = application_id(name).map_err(|e| SelectionError::invalid("name", e.rule, e.reason))?;
    let mut write = match idempotency::start(&state.db, key).await? {
        Started::Replayed(response) => return Ok(Err(response)),
        Started::Fresh(write) => write,
    };
    let record = load_record(&mut write.tx, &id).await?.ok_or_else(|| access::missing(&scope, name))?;
    let round = round::load(&mut *write.tx, &record.round_id).await?.ok_or_else(|| corrupt("round"))?;
    access::check_officer_region(principal, &scope, round.region)?;
    Ok(Ok((write, record)))
}

/// Moves an application an officer acts on to `to` when `allowed`, with the reason in its
/// history and the audit chain.
#[allow(clippy::too_many_arguments)]
async fn officer_transition<R: prost::Message + Default>(
    state: &State,
    principal: &Principal,
    name: &str,
    key: Option<IdempotencyKey>,
    allowed: impl Fn(&ApplicationRecord) -> bool,
    to: &str,
    action: &str,
    reason: &str,
    respond: impl FnOnce(Application) -> R,
) -> Result<R, SelectionError> {
    let (mut write, mut record) = match open_as_officer::<R>(state, principal, name, key).await? {
        Ok(open) => open,
        Err(replayed) => return Ok(replayed),
    };
    if !allowed(&record) {
        return Err(SelectionError::state(
            "APPLICATION_STATE",
            format!("a {} application cannot become {}", record.state.to_lowercase(), to.to_lowercase()),
        ));
    }
    record.state = to.to_owned();
    record.revision += 1;
    record.update_time_micros = now_micros();
    store(&mut write.tx, &record).await?;
    append_event(&mut write.tx, &record.id, action, &principal.subject, reason).await?;
    audit_change(
        &mut write.tx,
        state,
        principal,
        &record,
        &format!("application.{action}"),
        serde_json::json!({ "reason": reason }),
    )
    .await?;
    let record = with_history(&mut write.tx, record).await?;
    Ok(write.commit(respond(record.to_proto())).await?)
}

/// ReturnApplication: an officer returns a submitted application for correction.
pub async fn return_for_correction(
    state: &State,
    request: Request<ReturnApplicationRequest>,
) -> Result<ReturnApplicationResponse, SelectionError> {
    let principal = Principal::of(&request)?;
    let m = request.into_inner();
    let reason = convert::text(&m.reason, 1000).map_err(|e| SelectionError::invalid("reason", e.rule, e.reason))?;
    let key = IdempotencyKey::new(&principal.subject, "ReturnApplication", &m.request_id, &m)?;
    let submitted = |r: &ApplicationRecord| r.state == "SUBMITTED";
    officer_transition(state, &principal, &m.name, key, submitted, "RETURNED", "return", &reason, |a| {
        ReturnApplicationResponse { application: Some(a) }
    })
    .await
}

/// RejectApplication: an officer rejects an application that is not yet decided.
pub async fn reject(
    state: &State,
    request: Request<RejectApplicationRequest>,
) -> Result<RejectApplicationResponse, SelectionError> {
    let principal = Principal::of(&request)?;
    let m = request.into_inner();
    let reason = convert::text(&m.reason, 1000).map_err(|e| SelectionError::invalid("reason", e.rule, e.reason))?;
    let key = IdempotencyKey::new(&principal.subject, "RejectApplication", &m.request_id, &m)?;
    let open = |r: &ApplicationRecord| !r.is_final();
    officer_transition(state, &principal, &m.name, key, open, "REJECTED", "reject", &reason, |a| {
        RejectApplicationResponse { application: Some(a) }
    })
    .await
}

/// RecordCrossRegionConsent: the training county's bureau (or the city) records its consent to
/// training outside the provider's county (PROJ-CROSS-REGION).
pub async fn record_consent(
    state: &State,
    request: Request<RecordCrossRegionConsentRequest>,
) -> Result<RecordCrossRegionConsentResponse, SelectionError> {
    let principal = Principal::of(&request)?;
    if !principal.has_any(&[Role::CityAdmin, Role::CountyOfficer]) {
        return Err(SelectionError::denied("consent is recorded by the training county's officers or the city"));
    }
    let sees_all = principal.has(Role::CityAdmin);
    let m = request.into_inner();
    let mut v = Violations::default();
    let id = v.value("application", application_id(&m.application));
    let reference = v.value("reference", convert::text(&m.reference, 500));
    v.finish()?;
    let (Some(id), Some(reference)) = (id, reference) else {
        unreachable!("every missing value was recorded as a violation, and finish() refused them")
    };
    let key = IdempotencyKey::new(&principal.subject, "RecordCrossRegionConsent", &m.request_id, &m)?;
    let mut write = match idempotency::start(&state.db, key).await? {
        Started::Replayed(response) => return Ok(response),
        Started::Fresh(write) => write,
    };
    let Some(mut record) = load_record(&mut write.tx, &id).await? else {
        return Err(if sees_all { SelectionError::NotFound(m.application.clone()) } else { refused() });
    };
    // PROJ-CROSS-REGION: the consent is the training county's to give.
    if !sees_all && !principal.region.is_some_and(|own| !own.is_city() && own == record.training_region) {
        return Err(SelectionError::denied("consent is given by the officers of the training county"));
    }
    if record.is_final() {
        return Err(SelectionError::state(
            "APPLICATION_STATE",
            format!("the application is {}", record.state.to_lowercase()),
        ));
    }
    let provider =
        provider::load_in(&mut write.tx, &record.provider_credit_code).await?.ok_or_else(|| corrupt("provider"))?;
    if provider.region.contains(record.training_region) {
        return Err(SelectionError::state(
            "NO_CONSENT_NEEDED",
            "the training is in the provider's own county: no cross-region consent is needed",
        ));
    }
    record.consent_reference = reference;
    record.revision += 1;
    record.update_time_micros = now_micros();
    store(&mut write.tx, &record).await?;
    append_event(&mut write.tx, &record.id, "consent", &principal.subject, &record.consent_reference).await?;
    audit_change(
        &mut write.tx,
        state,
        &principal,
        &record,
        "application.consent",
        serde_json::json!({ "rule": "PROJ-CROSS-REGION", "training_region": record.training_region.code(),
            "reference": record.consent_reference }),
    )
    .await?;
    let record = with_history(&mut write.tx, record).await?;
    Ok(write.commit(RecordCrossRegionConsentResponse { application: Some(record.to_proto()) }).await?)
}
