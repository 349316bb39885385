//! Applications (项目申报, 七(二)) as stored: the filing (附件2), the application and plan (附件3,
//! 一项目一方案), the [`ApplicationState`], the training county's consent, and every step of its
//! history with who took it and why.

use chrono::NaiveDate;
use qiancheng_api::convert;
use qiancheng_api::selection::{Application, ApplicationEvent, ApplicationState as ProtoState, Filing, Plan};
use qiancheng_domain::RegionCode;
use qiancheng_domain::lifecycle::{ApplicationState, Lifecycle as _};
use qiancheng_domain::policy::project::{ApplicationParts, TrainingMode as Mode};
use qiancheng_platform::db::{self, Table, Tx, flag_value};
use qiancheng_platform::time::now_micros;
use qiancheng_platform::{Error, Stamp};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row as _};

use super::catalog::mode_to_proto;
use super::json;
use qiancheng_api::convert::int32;

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
    /// Where the application is in its lifecycle.
    pub state: ApplicationState,
    /// The training county's consent reference (PROJ-CROSS-REGION), empty if none.
    pub consent_reference: String,
    /// When it was last submitted, microseconds; 0 if never.
    pub submitted_micros: i64,
    /// Revision and times.
    pub stamp: Stamp,
    /// Every step, oldest first (filled by [`with_history`] when read for a response).
    pub history: Vec<EventRecord>,
}

const COLUMNS: &str = "id, round_id, catalog_item_id, provider_credit_code, provider_name, headcount, \
    training_region_code, in_service_trainees, filing, plan, state, consent_reference, revision, submitted_micros, \
    create_time_micros, update_time_micros";

/// The table and the columns a record decodes from.
const TABLE: Table = Table { name: "application", columns: COLUMNS };

qiancheng_api::proto_states!(
    ApplicationState,
    ProtoState,
    "APPLICATION_STATE_",
    "PROJ-PLAN",
    "not an application state"
);

impl ApplicationRecord {
    /// Decodes a row of the table.
    pub fn from_row(row: &AnyRow) -> Result<Self, Error> {
        Ok(Self {
            id: row.try_get("id")?,
            round_id: row.try_get("round_id")?,
            catalog_item_id: row.try_get("catalog_item_id")?,
            provider_credit_code: row.try_get("provider_credit_code")?,
            provider_name: row.try_get("provider_name")?,
            headcount: row.try_get("headcount")?,
            training_region: db::parsed(row, "training_region_code", RegionCode::parse)?,
            in_service_trainees: db::flag_column(row, "in_service_trainees")?,
            filing: db::parsed(row, "filing", |t| serde_json::from_str(t))?,
            plan: db::parsed(row, "plan", |t| serde_json::from_str(t))?,
            state: db::parsed(row, "state", |s| ApplicationState::parse(s).ok_or(()))?,
            consent_reference: row.try_get("consent_reference")?,
            submitted_micros: row.try_get("submitted_micros")?,
            stamp: db::stamp(row, "revision")?,
            history: Vec::new(),
        })
    }

    /// The resource name.
    pub fn name(&self) -> String {
        format!("applications/{}", self.id)
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
            headcount: int32(self.headcount),
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
            state: state_to_proto(self.state),
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
            create_time_micros: self.stamp.create_time_micros,
            update_time_micros: self.stamp.update_time_micros,
            etag: self.stamp.etag(),
        }
    }
}

/// Reads an application by id, without its history.
pub async fn find(conn: &mut AnyConnection, id: &str) -> Result<Option<ApplicationRecord>, Error> {
    TABLE.find(&mut *conn, &[("id", id)], ApplicationRecord::from_row).await
}

/// Fills an application's history, oldest first.
pub async fn with_history(conn: &mut AnyConnection, mut record: ApplicationRecord) -> Result<ApplicationRecord, Error> {
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

/// The applications of round `round_id` in one of `states`, by id.
pub async fn of_round(
    conn: &mut AnyConnection,
    round_id: &str,
    states: &[ApplicationState],
) -> Result<Vec<ApplicationRecord>, Error> {
    of(conn, "round_id", round_id, states).await
}

/// The applications of provider `credit_code` in one of `states`, by id.
pub async fn of_provider(
    conn: &mut AnyConnection,
    credit_code: &str,
    states: &[ApplicationState],
) -> Result<Vec<ApplicationRecord>, Error> {
    of(conn, "provider_credit_code", credit_code, states).await
}

/// The applications whose `column` is `value`, in one of `states` (at most three), by id.
async fn of(
    conn: &mut AnyConnection,
    column: &'static str,
    value: &str,
    states: &[ApplicationState],
) -> Result<Vec<ApplicationRecord>, Error> {
    let state = |i: usize| states.get(i).or(states.first()).map_or("", |s| s.code());
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM application WHERE {column} = $1 AND state IN ($2, $3, $4) ORDER BY id"
    )))
    .bind(value)
    .bind(state(0))
    .bind(state(1))
    .bind(state(2))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(ApplicationRecord::from_row).collect()
}

/// Who a list of applications is for: everyone's, one county's rounds, one provider's, or one
/// expert's assignments (not recused).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListScope {
    /// Every application.
    All,
    /// Applications to rounds of a county.
    Region(RegionCode),
    /// A provider's applications.
    Provider(String),
    /// The applications an expert reviews.
    Expert(String),
    /// None.
    Nothing,
}

/// A page of applications after id `after` in `scope`, of round `round_id` and state `state`
/// (empty: any), by id.
pub async fn list(
    conn: &mut AnyConnection,
    after: &str,
    (round_id, state): (&str, &str),
    scope: &ListScope,
    limit: i64,
) -> Result<Vec<AnyRow>, Error> {
    let (kind, value) = match scope {
        ListScope::All => ("ALL", ""),
        ListScope::Region(region) => ("REGION", region.code()),
        ListScope::Provider(code) => ("ORG", code.as_str()),
        ListScope::Expert(subject) => ("EXPERT", subject.as_str()),
        ListScope::Nothing => ("NONE", ""),
    };
    Ok(sqlx::query(AssertSqlSafe(format!(
        "SELECT {} FROM application a JOIN selection_round r ON r.id = a.round_id \
         WHERE a.id > $1 AND ($2 = '' OR a.round_id = $2) AND ($3 = '' OR a.state = $3) \
         AND ($4 = 'ALL' OR ($4 = 'REGION' AND r.region_code = $5) OR ($4 = 'ORG' AND a.provider_credit_code = $5) \
         OR ($4 = 'EXPERT' AND EXISTS (SELECT 1 FROM expert_assignment e WHERE e.application_id = a.id \
         AND e.expert = $5 AND e.recused = 0))) ORDER BY a.id LIMIT $6",
        COLUMNS.split(", ").map(|c| format!("a.{}", c.trim())).collect::<Vec<_>>().join(", ")
    )))
    .bind(after)
    .bind(round_id)
    .bind(state)
    .bind(kind)
    .bind(value)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?)
}

/// Stores a new application.
pub async fn insert(tx: &mut Tx, record: &ApplicationRecord) -> Result<(), Error> {
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
    .bind(json(&record.filing, "application filing")?)
    .bind(json(&record.plan, "application plan")?)
    .bind(record.state.code())
    .bind(&record.consent_reference)
    .bind(record.stamp.revision)
    .bind(record.submitted_micros)
    .bind(record.stamp.create_time_micros)
    .bind(record.stamp.update_time_micros)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Stores the changes to an application (its history grows by [`append_event`]), unless another
/// request changed it since it was read (`CONCURRENT_CHANGE`).
pub async fn update(tx: &mut Tx, record: &ApplicationRecord) -> Result<(), Error> {
    let query = sqlx::query(
        "UPDATE application SET headcount = $1, training_region_code = $2, in_service_trainees = $3, filing = $4, \
         plan = $5, state = $6, consent_reference = $7, submitted_micros = $8, revision = $9, update_time_micros = $10 \
         WHERE id = $11 AND revision = $12",
    )
    .bind(record.headcount)
    .bind(record.training_region.code())
    .bind(flag_value(record.in_service_trainees))
    .bind(json(&record.filing, "application filing")?)
    .bind(json(&record.plan, "application plan")?)
    .bind(record.state.code())
    .bind(&record.consent_reference)
    .bind(record.submitted_micros);
    db::update_stamped(tx, query, &record.stamp, &record.id, "the application").await
}

/// Appends a step to an application's history.
pub async fn append_event(
    tx: &mut Tx,
    application_id: &str,
    action: &str,
    actor: &str,
    reason: &str,
) -> Result<(), Error> {
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

/// Moves an application to `to`, stores it and notes `action` with `reason` in its history.
pub async fn transition(
    tx: &mut Tx,
    record: &mut ApplicationRecord,
    to: ApplicationState,
    (action, actor, reason): (&str, &str, &str),
) -> Result<(), Error> {
    record.state = record.state.to(to)?;
    record.stamp.touch();
    update(tx, record).await?;
    append_event(tx, &record.id, action, actor, reason).await
}
