//! Expert review (专家评审, PROJ-SELECTION): officers assign experts (评审专家) to submitted
//! applications of a round under expert review; an expert of the applicant's own organisation
//! is recused at once, and an expert may declare a conflict of interest and be recused; the
//! others score each application on a five-line rubric once the round is closed, and may score
//! again until it is decided. Experts are known by their token subject.
//!
//! Concurrent writers: every change here takes its round's turn (`store::turn::round`) before
//! it reads the round's state, so nothing is assigned, withdrawn, recused or scored while the
//! round is decided, and two officers assigning experts to one application take turns; the
//! assignment itself is updated and withdrawn optimistically.

use qiancheng_api::selection::*;
use qiancheng_domain::Uscc;
use qiancheng_domain::lifecycle::{ApplicationState, Lifecycle as _, RoundState};
use qiancheng_domain::policy::selection::{RUBRIC, SelectionMethod, proj_selection_points, proj_selection_recusal};
use qiancheng_platform::auth::{Principal, Role};
use qiancheng_platform::error::Violations;
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::record::{self, Filter};
use qiancheng_platform::write::{self, Change};
use qiancheng_platform::{Call, Error, Shared, Stamp};
use rust_decimal::Decimal;

use crate::access;
use crate::store::application::ApplicationRecord;
use crate::store::expert::{AssignmentRecord, RubricLine};
use crate::store::round::RoundRecord;
use crate::store::turn;

/// The reason an expert of the applicant's own organisation is recused with.
pub const OWN_ORGANISATION: &str = "own organisation";

/// The states of a round whose assignments may still change.
const UNDECIDED: [RoundState; 2] = [RoundState::Open, RoundState::Closed];

impl From<&AssignmentRecord> for Assignment {
    /// The assignment as the API shows it.
    fn from(record: &AssignmentRecord) -> Self {
        Assignment {
            application: format!("applications/{}", record.application_id),
            expert: record.expert.clone(),
            recused: record.recused,
            recusal_reason: record.recusal_reason.clone(),
            score: record.score.map(|s| s.normalize().to_string()).unwrap_or_default(),
            round: format!("rounds/{}", record.round_id),
        }
    }
}

/// Every assignment of an application, as the API shows them.
async fn assignments(change: &mut Change, application_id: &str) -> Result<Vec<Assignment>, Error> {
    let of = Filter::new().eq("e.application_id", application_id);
    let records = record::all::<AssignmentRecord>(&mut *change.tx, of, "e.expert").await?;
    Ok(records.iter().map(Assignment::from).collect())
}

/// The application named `name` (`applications/{id}`), or the error a field naming it gets.
fn application_id(name: &str) -> Result<&str, Error> {
    qiancheng_platform::call::id_of(name, "applications", "application")
}

/// Loads, inside `change`, the application `name` of a round the officer acts for, with its
/// round.
async fn load_for_officer(
    change: &mut Change,
    principal: &Principal,
    name: &str,
) -> Result<(ApplicationRecord, RoundRecord), Error> {
    let scope = access::officer_scope(principal)?;
    let found = record::find::<ApplicationRecord>(&mut *change.tx, application_id(name)?).await?;
    let application = found.ok_or_else(|| scope.missing(name))?;
    let round = round_of(change, &application.round_id).await?;
    access::check_officer_region(principal, &scope, round.region)?;
    Ok((application, round))
}

/// The round `id` of a stored application or assignment, read after taking its turn.
async fn round_of(change: &mut Change, id: &str) -> Result<RoundRecord, Error> {
    change.serialize_on(&turn::round(id)).await?;
    let round = record::find::<RoundRecord>(&mut *change.tx, id).await?;
    round.ok_or_else(|| Error::corrupt("the round of an application"))
}

/// AssignExperts: officers of the round's county assign experts to a submitted application;
/// an expert of the applicant's own organisation is recused at once (PROJ-SELECTION), and an
/// expert already assigned stays as they are.
pub async fn assign_experts(s: &Shared, call: Call<AssignExpertsRequest>) -> Result<AssignExpertsResponse, Error> {
    access::officer_scope(&call.principal)?;
    let m = &call.message;
    let mut v = Violations::default();
    let mut experts: Vec<(String, String)> = Vec::with_capacity(m.experts.len());
    for (i, e) in m.experts.iter().enumerate() {
        let subject = e.expert.trim().to_owned();
        let organisation = if e.organisation.trim().is_empty() {
            Some(String::new())
        } else {
            let code = Uscc::parse_pilot(e.organisation.trim()).map(|c| c.as_str().to_owned());
            v.value(&format!("experts[{i}].organisation"), code)
        };
        if experts.iter().any(|(s, _)| *s == subject) {
            v.add(&format!("experts[{i}].expert"), "PROJ-SELECTION", "each expert is named once");
        } else if let Some(organisation) = organisation {
            experts.push((subject, organisation));
        }
    }
    v.finish()?;
    write::run(s, &call, async |change| {
        let (application, round) = load_for_officer(change, &call.principal, &m.application).await?;
        if round.method != SelectionMethod::ExpertReview {
            return Err(Error::precondition(
                "ROUND_METHOD",
                "experts are assigned only in a round under expert review",
            ));
        }
        round.state.require(&UNDECIDED, "take expert assignments; it is decided")?;
        application.state.require(&[ApplicationState::Submitted], "be assigned experts; only submitted ones")?;
        let mut added = Vec::new();
        for (expert, organisation) in experts {
            let id = AssignmentRecord::id_of(&application.id, &expert);
            if record::find::<AssignmentRecord>(&mut *change.tx, id.as_str()).await?.is_some() {
                continue;
            }
            // PROJ-SELECTION: an expert from the applicant's own organisation is recused.
            let own = !proj_selection_recusal(&organisation, &application.provider_credit_code).passed;
            let record = AssignmentRecord {
                id,
                application_id: application.id.clone(),
                expert,
                organisation,
                round_id: round.id.clone(),
                recused: own,
                recusal_reason: if own { OWN_ORGANISATION.to_owned() } else { String::new() },
                score: None,
                rubric: Vec::new(),
                stamp: Stamp::new(),
            };
            record::insert(&mut change.tx, &record).await?;
            added.push(serde_json::json!({ "expert": record.expert, "recused": own }));
        }
        change.audit("application.assign_experts", application.name(), serde_json::json!({ "added": added }));
        Ok(AssignExpertsResponse { assignments: assignments(change, &application.id).await? })
    })
    .await
}

/// UnassignExpert: an officer withdraws an expert who has not scored, so that an expert who
/// cannot serve does not hold the decision up; a score once given is evidence and stays.
pub async fn unassign_expert(s: &Shared, call: Call<UnassignExpertRequest>) -> Result<UnassignExpertResponse, Error> {
    let m = &call.message;
    let (expert, reason) = (m.expert.trim(), m.reason.trim());
    write::run(s, &call, async |change| {
        let (application, round) = load_for_officer(change, &call.principal, &m.application).await?;
        round.state.require(&UNDECIDED, "change its assignments; it is decided")?;
        let id = AssignmentRecord::id_of(&application.id, expert);
        let assignment = record::find::<AssignmentRecord>(&mut *change.tx, id).await?;
        let assignment =
            assignment.ok_or_else(|| Error::NotFound(format!("the assignment of {expert} to {}", m.application)))?;
        if assignment.score.is_some() {
            return Err(Error::precondition("ALREADY_SCORED", "a score once given stays with the application"));
        }
        record::delete(&mut change.tx, &assignment).await?;
        change.audit(
            "application.unassign_expert",
            application.name(),
            serde_json::json!({ "expert": expert, "reason": reason, "was_recused": assignment.recused }),
        );
        Ok(UnassignExpertResponse { assignments: assignments(change, &application.id).await? })
    })
    .await
}

/// ListAssignments: the calling expert's own assignments.
pub async fn list_assignments(
    s: &Shared,
    call: Call<ListAssignmentsRequest>,
) -> Result<ListAssignmentsResponse, Error> {
    call.principal.require_any(&[Role::Expert])?;
    let m = &call.message;
    let page = PageRequest::parse(m.page_size, &m.page_token, "assignments")?;
    let own = Filter::new().eq("e.expert", call.principal.subject.as_str());
    let (records, next_page_token) = record::page::<AssignmentRecord>(&s.db, own, &page).await?;
    Ok(ListAssignmentsResponse { assignments: records.iter().map(Assignment::from).collect(), next_page_token })
}

/// Loads, inside `change`, the calling expert's assignment to application `name`, with its round.
async fn load_own(
    change: &mut Change,
    principal: &Principal,
    name: &str,
) -> Result<(AssignmentRecord, RoundRecord), Error> {
    let id = AssignmentRecord::id_of(application_id(name)?, &principal.subject);
    let found = record::find::<AssignmentRecord>(&mut *change.tx, id).await?;
    let record = found.ok_or_else(|| Error::denied("the expert is not assigned to this application"))?;
    let round = round_of(change, &record.round_id).await?;
    Ok((record, round))
}

/// Stores the expert's changed assignment and notes the audit entry of `action`.
async fn record_change(
    change: &mut Change,
    record: &mut AssignmentRecord,
    action: &str,
    detail: serde_json::Value,
) -> Result<Assignment, Error> {
    record.stamp.touch();
    record::update(&mut change.tx, record).await?;
    change.audit(action, format!("applications/{}", record.application_id), detail);
    Ok(Assignment::from(&*record))
}

/// DeclareConflict: an assigned expert who has not scored declares a conflict of interest and
/// is recused (PROJ-SELECTION).
pub async fn declare_conflict(
    s: &Shared,
    call: Call<DeclareConflictRequest>,
) -> Result<DeclareConflictResponse, Error> {
    call.principal.require_any(&[Role::Expert])?;
    let m = &call.message;
    let reason = m.reason.trim();
    write::run(s, &call, async |change| {
        let (mut record, round) = load_own(change, &call.principal, &m.application).await?;
        if record.recused {
            return Err(Error::precondition(
                "ALREADY_RECUSED",
                format!("the expert is already recused: {}", record.recusal_reason),
            ));
        }
        if record.score.is_some() {
            return Err(Error::precondition("ALREADY_SCORED", "a conflict is declared before scoring"));
        }
        round.state.require(&UNDECIDED, "change its assignments; it is decided")?;
        record.recused = true;
        record.recusal_reason = format!("declared conflict: {reason}");
        let detail = serde_json::json!({ "reason": reason });
        let assignment = record_change(change, &mut record, "application.declare_conflict", detail).await?;
        Ok(DeclareConflictResponse { assignment: Some(assignment) })
    })
    .await
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
        match proj_selection_points(&line.points, Decimal::from(*max)) {
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
pub async fn submit_score(s: &Shared, call: Call<SubmitScoreRequest>) -> Result<SubmitScoreResponse, Error> {
    call.principal.require_any(&[Role::Expert])?;
    let m = &call.message;
    let mut v = Violations::default();
    let lines = rubric(&m.rubric, &mut v);
    v.finish()?;
    write::run(s, &call, async |change| {
        let (mut record, round) = load_own(change, &call.principal, &m.application).await?;
        if record.recused {
            return Err(Error::precondition(
                "EXPERT_RECUSED",
                format!("a recused expert does not score ({})", record.recusal_reason),
            ));
        }
        round
            .state
            .require(&[RoundState::Closed], "be scored; experts score once it is closed, until it is decided")?;
        let application = record::find::<ApplicationRecord>(&mut *change.tx, record.application_id.as_str()).await?;
        let application = application.ok_or_else(|| Error::corrupt("an assignment's application"))?;
        application.state.require(&[ApplicationState::Submitted], "be scored; only submitted ones")?;
        // PROJ-SELECTION: an expert of the applicant's own organisation is recused, whatever the
        // officer typed when assigning: the token's organisation decides.
        let organisation = call.principal.org.as_deref().unwrap_or_default();
        Error::unless_passed(proj_selection_recusal(organisation, &application.provider_credit_code))?;
        let total: Decimal = lines.iter().map(|l| l.points).sum();
        let rescored = record.score.is_some();
        record.score = Some(total);
        record.rubric = lines;
        let detail = serde_json::json!({ "total": total.to_string(), "rescored": rescored,
            "rubric": record.rubric.iter().map(|l| (l.criterion.clone(), l.points.to_string())).collect::<Vec<_>>() });
        let assignment = record_change(change, &mut record, "application.score", detail).await?;
        Ok(SubmitScoreResponse { assignment: Some(assignment) })
    })
    .await
}
