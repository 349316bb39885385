//! Applications (项目申报, 七(二)) as stored: the filing (附件2), the application and plan (附件3,
//! 一项目一方案), the [`ApplicationState`], the training county's consent, and every step of its
//! history with who took it and why. An application is read with its round's county.

use chrono::NaiveDate;
use qiancheng_domain::RegionCode;
use qiancheng_domain::lifecycle::{ApplicationState, Lifecycle as _};
use qiancheng_domain::policy::project::{ApplicationParts, TrainingMode};
use qiancheng_platform::db::Tx;
use qiancheng_platform::record::{self, Filter, Record};
use qiancheng_platform::time::now_micros;
use qiancheng_platform::{Error, Stamp};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

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
    pub training_mode: Option<TrainingMode>,
    /// Assessment method.
    pub assessment_method: String,
    /// Measures leading to skills and jobs.
    pub employment_measures: String,
}

/// One step of an application's history.
#[derive(Debug, Clone, PartialEq, Eq, Record)]
#[record(table = "application_event", alias = "ev", key = "seq", what = "the application's step")]
pub struct EventRecord {
    /// The application's id.
    pub application_id: String,
    /// Its place in the history, from 1.
    pub seq: i64,
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
#[derive(Debug, Clone, PartialEq, Eq, Record)]
#[record(
    table = "application",
    alias = "a",
    from = "application a JOIN selection_round r ON r.id = a.round_id",
    what = "the application"
)]
pub struct ApplicationRecord {
    /// Id (ULID).
    pub id: String,
    /// The round's id.
    #[column(fixed)]
    pub round_id: String,
    /// The catalog item's id.
    #[column(fixed)]
    pub catalog_item_id: String,
    /// The applicant's credit code.
    #[column(fixed)]
    pub provider_credit_code: String,
    /// The applicant's name when it applied.
    #[column(fixed)]
    pub provider_name: String,
    /// Trainees asked for.
    pub headcount: i64,
    /// County where the training happens.
    #[column(name = "training_region_code")]
    pub training_region: RegionCode,
    /// Whether the trainees are in-service workers (PROJ-BASIS).
    pub in_service_trainees: bool,
    /// 附件2.
    #[column(json)]
    pub filing: FilingForm,
    /// 附件3 and the plan.
    #[column(json)]
    pub plan: PlanForm,
    /// Where the application is in its lifecycle.
    pub state: ApplicationState,
    /// The training county's consent reference (PROJ-CROSS-REGION), empty if none.
    pub consent_reference: String,
    /// When it was last submitted, microseconds; 0 if never.
    pub submitted_micros: i64,
    /// The round's county (or the city): officers of it act on the application.
    #[column(computed = "r.region_code")]
    pub round_region: RegionCode,
    /// Every step, oldest first (read by [`with_history`] for a response).
    #[column(skip)]
    pub history: Vec<EventRecord>,
    /// Revision and times.
    #[column(stamp)]
    pub stamp: Stamp,
}

impl ApplicationRecord {
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
}

/// `applications` with their histories, oldest step first (one query for all of them).
pub async fn with_history(
    conn: &mut AnyConnection,
    mut applications: Vec<ApplicationRecord>,
) -> Result<Vec<ApplicationRecord>, Error> {
    let of = Filter::new().among("ev.application_id", applications.iter().map(|a| a.id.as_str()));
    for event in record::all::<EventRecord>(conn, of, "ev.application_id, ev.seq").await? {
        if let Some(a) = applications.iter_mut().find(|a| a.id == event.application_id) {
            a.history.push(event);
        }
    }
    Ok(applications)
}

/// The applications whose `column` (`a.round_id`, `a.provider_credit_code`) is `value`, in one
/// of `states`, by id.
pub async fn in_states(
    conn: &mut AnyConnection,
    (column, value): (&str, &str),
    states: &[ApplicationState],
) -> Result<Vec<ApplicationRecord>, Error> {
    let filter = Filter::new().eq(column, value).among("a.state", states.iter().map(|s| s.code()));
    record::all(conn, filter, "").await
}

/// Appends a step to an application's history (its steps are numbered 1, 2, … and never
/// removed, so the next is one more than their count).
pub async fn append_event(
    tx: &mut Tx,
    application_id: &str,
    (action, actor, reason): (&str, &str, &str),
) -> Result<(), Error> {
    let steps = record::count::<EventRecord>(&mut **tx, Filter::new().eq("ev.application_id", application_id)).await?;
    let event = EventRecord {
        application_id: application_id.to_owned(),
        seq: steps + 1,
        action: action.to_owned(),
        actor: actor.to_owned(),
        reason: reason.to_owned(),
        time_micros: now_micros(),
    };
    record::insert(tx, &event).await
}

/// Moves an application to `to`, stores it and notes `action` with `reason` in its history.
pub async fn transition(
    tx: &mut Tx,
    record: &mut ApplicationRecord,
    to: ApplicationState,
    step: (&str, &str, &str),
) -> Result<(), Error> {
    record.state = record.state.to(to)?;
    record.stamp.touch();
    record::update(tx, record).await?;
    append_event(tx, &record.id, step).await
}
