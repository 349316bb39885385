//! Expert review (专家评审, PROJ-SELECTION): officers assign experts (评审专家) to submitted
//! applications of a round under expert review; an expert of the applicant's own organisation
//! is recused at once, and an expert may declare a conflict of interest and be recused; the
//! others score each application on a five-line rubric once the round is closed, and may score
//! again until it is decided. Experts are known by their token subject.

use qiancheng_api::convert;
use qiancheng_api::selection::*;
use qiancheng_domain::Uscc;
use qiancheng_platform::PlatformError;
use qiancheng_platform::auth::{Principal, Role};
use qiancheng_platform::db::{Tx, flag, flag_value};
use qiancheng_platform::error::Violations;
use qiancheng_platform::idempotency::{self, IdempotencyKey, Started};
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::time::now_micros;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row as _};
use tonic::Request;

use crate::State;
use crate::access;
use crate::application::{self, application_id};
use crate::error::SelectionError;
use crate::round::{self, EXPERT_REVIEW, parse_points};

/// The scoring rubric (评分细则): each criterion and its maximum points, 100 in all.
pub const RUBRIC: [(&str, i64); 5] =
    [("PLAN", 30), ("CAPACITY", 20), ("TEACHERS", 20), ("EMPLOYMENT", 20), ("SAFETY", 10)];

/// The reason an expert of the applicant's own organisation is recused with.
pub const OWN_ORGANISATION: &str = "own organisation";

/// One line of a scored rubric.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RubricLine {
    /// The criterion.
    pub criterion: String,
    /// Points given.
    pub points: Decimal,
}

/// An expert's assignment (专家分配) to an application, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentRecord {
    /// The application's id.
    pub application_id: String,
    /// The expert's token subject.
    pub expert: String,
    /// The expert's organisation (credit code), empty if none.
    pub organisation: String,
    /// The round's id.
    pub round_id: String,
    /// Whether the expert is recused.
    pub recused: bool,
    /// Why.
    pub recusal_reason: String,
    /// The total score, once scored.
    pub score: Option<Decimal>,
    /// The rubric it was scored on.
    pub rubric: Vec<RubricLine>,
    /// Created, microseconds.
    pub create_time_micros: i64,
    /// Changed, microseconds.
    pub update_time_micros: i64,
}

const COLUMNS: &str = "application_id, expert, organisation, round_id, recused, recusal_reason, score, rubric, \
    create_time_micros, update_time_micros";

fn corrupt(what: &str) -> SelectionError {
    PlatformError::Corrupt(format!("assignment {what}")).into()
}

impl AssignmentRecord {
    fn from_row(row: &AnyRow) -> Result<Self, SelectionError> {
        let text = |c: &str| row.try_get::<String, _>(c);
        let score = text("score")?;
        Ok(Self {
            application_id: text("application_id")?,
            expert: text("expert")?,
            organisation: text("organisation")?,
            round_id: text("round_id")?,
            recused: flag(row.try_get("recused")?),
            recusal_reason: text("recusal_reason")?,
            score: if score.is_empty() { None } else { Some(score.parse().map_err(|_| corrupt("score"))?) },
            rubric: serde_json::from_str(&text("rubric")?).map_err(|_| corrupt("rubric"))?,
            create_time_micros: row.try_get("create_time_micros")?,
            update_time_micros: row.try_get("update_time_micros")?,
        })
    }

    /// The assignment as the API shows it.
    pub fn to_proto(&self) -> Assignment {
        Assignment {
            application: format!("applications/{}", self.application_id),
            expert: self.expert.clone(),
            recused: self.recused,
            recusal_reason: self.recusal_reason.clone(),
            score: self.score.map(|s| s.normalize().to_string()).unwrap_or_default(),
            round: format!("rounds/{}", self.round_id),
        }
    }
}

/// Every assignment of an application, by expert.
pub async fn assignments_of(
    conn: &mut AnyConnection,
    application_id: &str,
) -> Result<Vec<AssignmentRecord>, SelectionError> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM expert_assignment WHERE application_id = $1 ORDER BY expert"
    )))
    .bind(application_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(AssignmentRecord::from_row).collect()
}

async fn load_one(
    conn: &mut AnyConnection,
    application_id: &str,
    expert: &str,
) -> Result<Option<AssignmentRecord>, SelectionError> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM expert_assignment WHERE application_id = $1 AND expert = $2"
    )))
    .bind(application_id)
    .bind(expert)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(AssignmentRecord::from_row).transpose()
}

/// Whether `expert` is assigned to the application and not recused: such an expert reads it.
pub async fn reviews(conn: &mut AnyConnection, application_id: &str, expert: &str) -> Result<bool, SelectionError> {
    Ok(load_one(conn, application_id, expert).await?.is_some_and(|a| !a.recused))
}

async fn store(tx: &mut Tx, record: &AssignmentRecord) -> Result<(), SelectionError> {
    sqlx::query(
        "UPDATE expert_assignment SET recused = $1, recusal_reason = $2, score = $3, rubric = $4, update_time_micros = $5 \
         WHERE application_id = $6 AND expert = $7",
    )
    .bind(flag_value(record.recused))
    .bind(&record.recusal_reason)
    .bind(record.score.map(|s| s.to_string()).unwrap_or_default())
    .bind(serde_json::to_string(&record.rubric).map_err(|e| PlatformError::Corrupt(e.to_string()))?)
    .bind(record.update_time_micros)
    .bind(&record.application_id)
    .bind(&record.expert)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn audit_change(
    tx: &mut Tx,
    state: &State,
    principal: &Principal,
    application_id: &str,
    action: &str,
    detail: serde_json::Value,
) -> Result<(), SelectionError> {
    state.audit(tx, principal, action, &format!("applications/{application_id}"), detail).await
}

/// AssignExperts: officers of the round's county assign experts to a submitted application;
/// an expert of the applicant's own organisation is recused at once (PROJ-SELECTION), and an
/// expert already assigned stays as they are.
pub async fn assign(
    state: &State,
    request: Request<AssignExpertsRequest>,
) -> Result<AssignExpertsResponse, SelectionError> {
    let principal = Principal::of(&request)?;
    let scope = access::officer_scope(&principal)?;
    let m = request.into_inner();
    let mut v = Violations::default();
    let id = v.value("application", convert::resource_id(&m.application, "applications").map(str::to_owned));
    if m.experts.is_empty() {
        v.add("experts", "PROJ-SELECTION", "name at least one expert");
    }
    let mut experts: Vec<(String, String)> = Vec::with_capacity(m.experts.len());
    for (i, e) in m.experts.iter().enumerate() {
        let subject = v.value(&format!("experts[{i}].expert"), convert::text(&e.expert, 200));
        let organisation = if e.organisation.trim().is_empty() {
            Some(String::new())
        } else {
            v.value(
                &format!("experts[{i}].organisation"),
                Uscc::parse_pilot(e.organisation.trim()).map(|c| c.as_str().to_owned()),
            )
        };
        if let (Some(subject), Some(organisation)) = (subject, organisation) {
            if experts.iter().any(|(s, _)| *s == subject) {
                v.add(&format!("experts[{i}].expert"), "PROJ-SELECTION", "each expert is named once");
            } else {
                experts.push((subject, organisation));
            }
        }
    }
    v.finish()?;
    let id = id.expect("every missing value was recorded as a violation, and finish() refused them");
    let key = IdempotencyKey::new(&principal.subject, "AssignExperts", &m.request_id, &m)?;
    let mut write = match idempotency::start(&state.db, key).await? {
        Started::Replayed(response) => return Ok(response),
        Started::Fresh(write) => write,
    };
    let application =
        application::load_record(&mut write.tx, &id).await?.ok_or_else(|| access::missing(&scope, &m.application))?;
    let round = round::load(&mut *write.tx, &application.round_id).await?.ok_or_else(|| corrupt("round"))?;
    access::check_officer_region(&principal, &scope, round.region)?;
    if round.method != EXPERT_REVIEW {
        return Err(SelectionError::state("ROUND_METHOD", "experts are assigned only in a round under expert review"));
    }
    if round.state == "DECIDED" {
        return Err(SelectionError::state("ROUND_STATE", "the round is decided"));
    }
    if application.state != "SUBMITTED" {
        return Err(SelectionError::state(
            "APPLICATION_STATE",
            format!("experts are assigned to submitted applications, not {} ones", application.state.to_lowercase()),
        ));
    }
    let now = now_micros();
    let mut added = Vec::new();
    for (expert, organisation) in experts {
        if load_one(&mut write.tx, &id, &expert).await?.is_some() {
            continue;
        }
        // PROJ-SELECTION: an expert from the applicant's own organisation is recused.
        let own = !organisation.is_empty() && organisation == application.provider_credit_code;
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO expert_assignment ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        )))
        .bind(&id)
        .bind(&expert)
        .bind(&organisation)
        .bind(&round.id)
        .bind(flag_value(own))
        .bind(if own { OWN_ORGANISATION } else { "" })
        .bind("")
        .bind("[]")
        .bind(now)
        .bind(now)
        .execute(&mut *write.tx)
        .await?;
        added.push(serde_json::json!({ "expert": expert, "recused": own }));
    }
    audit_change(
        &mut write.tx,
        state,
        &principal,
        &id,
        "application.assign_experts",
        serde_json::json!({ "added": added }),
    )
    .await?;
    let assignments = assignments_of(&mut write.tx, &id).await?;
    Ok(write
        .commit(AssignExpertsResponse { assignments: assignments.iter().map(AssignmentRecord::to_proto).collect() })
        .await?)
}

/// UnassignExpert: an officer withdraws an expert who has not scored, so that an expert who
/// cannot serve does not hold the decision up; a score once given is evidence and stays.
pub async fn unassign(
    state: &State,
    request: Request<UnassignExpertRequest>,
) -> Result<UnassignExpertResponse, SelectionError> {
    let principal = Principal::of(&request)?;
    let scope = access::officer_scope(&principal)?;
    let m = request.into_inner();
    let mut v = Violations::default();
    let id = v.value("application", convert::resource_id(&m.application, "applications").map(str::to_owned));
    let expert = v.value("expert", convert::text(&m.expert, 200));
    let reason = v.value("reason", convert::text(&m.reason, 500));
    v.finish()?;
    let (Some(id), Some(expert), Some(reason)) = (id, expert, reason) else {
        unreachable!("every missing value was recorded as a violation, and finish() refused them")
    };
    let key = IdempotencyKey::new(&principal.subject, "UnassignExpert", &m.request_id, &m)?;
    let mut write = match idempotency::start(&state.db, key).await? {
        Started::Replayed(response) => return Ok(response),
        Started::Fresh(write) => write,
    };
    let application =
        application::load_record(&mut write.tx, &id).await?.ok_or_else(|| access::missing(&scope, &m.application))?;
    let round = round::load(&mut *write.tx, &application.round_id).await?.ok_or_else(|| corrupt("round"))?;
    access::check_officer_region(&principal, &scope, round.region)?;
    if round.state == "DECIDED" {
        return Err(SelectionError::state("ROUND_STATE", "the round is decided; its assignments no longer change"));
    }
    let assignment = load_one(&mut write.tx, &id, &expert)
        .await?
        .ok_or_else(|| SelectionError::NotFound(format!("the assignment of {expert} to {}", m.application)))?;
    if assignment.score.is_some() {
        return Err(SelectionError::state("ALREADY_SCORED", "a score once given stays with the application"));
    }
    sqlx::query("DELETE FROM expert_assignment WHERE application_id = $1 AND expert = $2")
        .bind(&id)
        .bind(&expert)
        .execute(&mut *write.tx)
        .await?;
    audit_change(
        &mut write.tx,
        state,
        &principal,
        &id,
        "application.unassign_expert",
        serde_json::json!({ "expert": expert, "reason": reason, "was_recused": assignment.recused }),
    )
    .await?;
    let assignments = assignments_of(&mut write.tx, &id).await?;
    Ok(write
        .commit(UnassignExpertResponse { assignments: assignments.iter().map(AssignmentRecord::to_proto).collect() })
        .await?)
}

fn require_expert(principal: &Principal) -> Result<(), SelectionError> {
    if principal.has(Role::Expert) { Ok(()) } else { Err(SelectionError::denied("this call is for experts")) }
}

/// ListAssignments: the calling expert's own assignments.
pub async fn list_assignments(
    state: &State,
    request: Request<ListAssignmentsRequest>,
) -> Result<ListAssignmentsResponse, SelectionError> {
    let principal = Principal::of(&request)?;
    require_expert(&principal)?;
    let m = request.into_inner();
    let page = PageRequest::parse(m.page_size, &m.page_token, "assignments")?;
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM expert_assignment WHERE expert = $1 AND application_id > $2 ORDER BY application_id LIMIT $3"
    )))
    .bind(&principal.subject)
    .bind(&page.after)
    .bind(page.fetch_limit())
    .fetch_all(state.db.pool())
    .await?;
    let mut records = rows.iter().map(AssignmentRecord::from_row).collect::<Result<Vec<_>, _>>()?;
    let next_page_token = page.finish(&mut records, |r| r.application_id.clone());
    Ok(ListAssignmentsResponse {
        assignments: records.iter().map(AssignmentRecord::to_proto).collect(),
        next_page_token,
    })
}

/// Opens an idempotent write on the calling expert's assignment to an application.
async fn open_own<R: prost::Message + Default>(
    state: &State,
    principal: &Principal,
    id: &str,
    key: Option<IdempotencyKey>,
) -> Result<Result<(idempotency::IdempotentTx, AssignmentRecord), R>, SelectionError> {
    let mut write = match idempotency::start(&state.db, key).await? {
        Started::Replayed(response) => return Ok(Err(response)),
        Started::Fresh(write) => write,
    };
    let record = load_one(&mut write.tx, id, &principal.subject)
        .await?
        .ok_or_else(|| SelectionError::denied("the expert is not assigned to this application"))?;
    Ok(Ok((write, record)))
}

/// DeclareConflict: an assigned expert who has not scored declares a conflict of interest and
/// is recused (PROJ-SELECTION).
pub async fn declare_conflict(
    state: &State,
    request: Request<DeclareConflictRequest>,
) -> Result<DeclareConflictResponse, SelectionError> {
    let principal = Principal::of(&request)?;
    require_expert(&principal)?;
    let m = request.into_inner();
    let mut v = Violations::default();
    let id = v.value("application", application_id(&m.application));
    let reason = v.value("reason", convert::text(&m.reason, 500));
    v.finish()?;
    let (Some(id), Some(reason)) = (id, reason) else {
        unreachable!("every missing value was recorded as a violation, and finish() refused them")
    };
    let key = IdempotencyKey::new(&principal.subject, "DeclareConflict", &m.request_id, &m)?;
    let (mut write, mut record) = match open_own::<DeclareConflictResponse>(state, &principal, &id, key).await? {
        Ok(open) => open,
        Err(replayed) => return Ok(replayed),
    };
    if record.recused {
        return Err(SelectionError::state(
            "ALREADY_RECUSED",
            format!("the expert is already recused: {}", record.recusal_reason),
        ));
    }
    if record.score.is_some() {
        return Err(SelectionError::state("ALREADY_SCORED", "a conflict is declared before scoring"));
    }
    let round = round::load(&mut *write.tx, &record.round_id).await?.ok_or_else(|| corrupt("round"))?;
    if round.state == "DECIDED" {
        return Err(SelectionError::state("ROUND_STATE", "the round is decided; its assignments no longer change"));
    }
    record.recused = true;
    record.recusal_reason = format!("declared conflict: {reason}");
    record.update_time_micros = now_micros();
    store(&mut write.tx, &record).await?;
    audit_change(
        &mut write.tx,
        state,
        &principal,
        &id,
        "application.declare_conflict",
        serde_json::json!({ "reason": reason }),
    )
    .await?;
    Ok(write.commit(DeclareConflictResponse { assignment: Some(record.to_proto()) }).await?)
}

/// The rubric of a score, validated: the five criteria, each once, each within its maximum.
fn rubric(lines: &[RubricScore], v: &mut Violations) -> Vec<RubricLine> {
    let mut out: Vec<RubricLine> = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        let criterion = line.criterion.trim().to_uppercase();
        let Some((_, max)) = RUBRIC.iter().find(|(c, _)| *c == criterion) else {
            v.add(
                &format!("rubric[{i}].criterion"),
                "PROJ-SELECTION",
                "the criteria are PLAN, CAPACITY, TEACHERS, EMPLOYMENT and SAFETY",
            );
            continue;
        };
        if out.iter().any(|l| l.criterion == criterion) {
            v.add(&format!("rubric[{i}].criterion"), "PROJ-SELECTION", format!("{criterion} is scored once"));
            continue;
        }
        match parse_points(&line.points, Decimal::from(*max)) {
            Some(points) => out.push(RubricLine { criterion, points }),
            None => v.add(
                &format!("rubric[{i}].points"),
                "PROJ-SELECTION",
                format!("{criterion} takes 0 to {max} points with at most two decimals"),
            ),
        }
    }
    if v.is_empty() && out.len() != RUBRIC.len() {
        let missing: Vec<&str> =
            RUBRIC.iter().map(|(c, _)| *c).filter(|c| !out.iter().any(|l| l.criterion == *c)).collect();
        v.add("rubric", "PROJ-SELECTION", format!("the rubric lacks {}", missing.join(", ")));
    }
    out
}

/// SubmitScore: an assigned expert who is not recused scores a submitted application of a
/// closed round; the total is the sum of the rubric. A score may be given again until the round
/// is decided.
pub async fn submit_score(
    state: &State,
    request: Request<SubmitScoreRequest>,
) -> Result<SubmitScoreResponse, SelectionError> {
    let principal = Principal::of(&request)?;
    require_expert(&principal)?;
    let m = request.into_inner();
    let mut v = Violations::default();
    let id = v.value("application", application_id(&m.application));
    let lines = rubric(&m.rubric, &mut v);
    v.finish()?;
    let id = id.expect("every missing value was recorded as a violation, and finish() refused them");
    let key = IdempotencyKey::new(&principal.subject, "SubmitScore", &m.request_id, &m)?;
    let (mut write, mut record) = match open_own::<SubmitScoreResponse>(state, &principal, &id, key).await? {
        Ok(open) => open,
        Err(replayed) => return Ok(replayed),
    };
    if record.recused {
        return Err(SelectionError::state(
            "EXPERT_RECUSED",
            format!("a recused expert does not score ({})", record.recusal_reason),
        ));
    }
    let round = round::load(&mut *write.tx, &record.round_id).await?.ok_or_else(|| corrupt("round"))?;
    if round.state != "CLOSED" {
        return Err(SelectionError::state(
            "ROUND_STATE",
            format!(
                "experts score once the round is closed and until it is decided; it is {}",
                round.state.to_lowercase()
            ),
        ));
    }
    let application = application::load_record(&mut write.tx, &id).await?.ok_or_else(|| corrupt("application"))?;
    if application.state != "SUBMITTED" {
        return Err(SelectionError::state(
            "APPLICATION_STATE",
            format!("a {} application is not scored", application.state.to_lowercase()),
        ));
    }
    // PROJ-SELECTION: an expert of the applicant's own organisation is recused, whatever the
    // officer typed when assigning: the token's organisation decides.
    if principal.org.as_deref() == Some(application.provider_credit_code.as_str()) {
        return Err(SelectionError::Rule(qiancheng_domain::policy::decision::RuleResult::fail(
            "PROJ-SELECTION",
            "评审专家来自申报单位,应回避",
            "the expert belongs to the applicant's organisation and is recused",
        )));
    }
    let total: Decimal = lines.iter().map(|l| l.points).sum();
    let rescored = record.score.is_some();
    record.score = Some(total);
    record.rubric = lines;
    record.update_time_micros = now_micros();
    store(&mut write.tx, &record).await?;
    audit_change(
        &mut write.tx,
        state,
        &principal,
        &id,
        "application.score",
        serde_json::json!({ "total": total.to_string(), "rescored": rescored,
            "rubric": record.rubric.iter().map(|l| (l.criterion.clone(), l.points.to_string())).collect::<Vec<_>>() }),
    )
    .await?;
    Ok(write.commit(SubmitScoreResponse { assignment: Some(record.to_proto()) }).await?)
}
