//! Completion (结业) and skill evaluation (技能评价) (二(三) 结果考核, 七(四)): CLASS-ATTENDANCE
//! and CLASS-COMPLETION.
//!
//! The provider records completion-assessment results, then completes the acknowledged class:
//! every trainee on the roster who has not withdrawn is decided by the policy core from the
//! stored attendance (at least `min_attendance` of the class's hours, compared exactly) and the
//! assessment or a skill evaluation passed, under the policy set the class was filed under.
//! Skill-evaluation results (certificates) may come later: a trainee of a completed class who had
//! not completed is decided again when one is recorded that counts. An evaluation counts
//! (EVALUATION_RELATED, decided by the policy core) only in the class's occupation or, as OUT-CERT
//! reads a related occupation, its minor group, at the project's level or above; any other is
//! recorded and shown with the reason it does not count.

use std::collections::{HashMap, HashSet};

use qiancheng_api::convert::{self, FromProto as _};
use qiancheng_api::supervision::*;
use qiancheng_domain::OccupationCode;
use qiancheng_domain::lifecycle::{ClassState, Lifecycle as _, TraineeState};
use qiancheng_domain::policy::PolicySet;
use qiancheng_domain::policy::class::evaluate_completion_in;
use qiancheng_platform::error::Violations;
use qiancheng_platform::explain::Audience;
use qiancheng_platform::time::{new_id, now_micros};
use qiancheng_platform::{Call, Error, write};
use serde_json::json;

use crate::access;
use crate::judge;
use crate::store::StoredDecision;
use crate::store::attendance;
use crate::store::class::{self as classes, ClassRecord};
use crate::store::class_change::{self as feed, ChangeKind};
use crate::store::evaluation::{self as evaluations, CertificateKind, EvaluationRecord};
use crate::store::trainee::{self, Assessment, TraineeRecord};
use crate::{MAX_ROSTER, Supervision};

/// RecordAssessments: completion-assessment results of trainees of a class that still runs.
pub async fn record_assessments(
    s: &Supervision,
    call: Call<RecordAssessmentsRequest>,
) -> Result<RecordAssessmentsResponse, Error> {
    let scope = access::provider_scope(&call.principal)?;
    let m = &call.message;
    let mut v = Violations::default();
    let class_id = v.value("class", convert::resource_id(&m.class, "classes"));
    if m.results.is_empty() || m.results.len() > MAX_ROSTER {
        v.add("results", "ASSESSMENT", format!("give 1 to {MAX_ROSTER} results"));
    }
    let mut results = Vec::new();
    let mut seen = HashSet::new();
    for (i, r) in m.results.iter().take(MAX_ROSTER).enumerate() {
        let passed = match AssessmentResult::try_from(r.result) {
            Ok(AssessmentResult::Passed) => Some(true),
            Ok(AssessmentResult::Failed) => Some(false),
            _ => {
                v.add(&format!("results[{i}].result"), "REQUIRED", "passed or failed");
                None
            }
        };
        match access::child_of(&r.trainee, "trainees", "trainee") {
            Ok((class, trainee)) if Some(class) == class_id && seen.insert(trainee) => {
                results.extend(passed.map(|p| (trainee, p)));
            }
            _ => v.add(&format!("results[{i}].trainee"), "RESOURCE-NAME", "name each trainee of the class once"),
        }
    }
    v.finish()?;
    let class_id = class_id.unwrap_or_default();
    write::run(s, &call, async |change| {
        change.serialize_on(&format!("class/{class_id}")).await?;
        let class = access::class_in(&mut *change.tx, &scope, &m.class, "class").await?;
        class.require_running("take more assessment results")?;
        if class.state == ClassState::Filed {
            return Err(Error::precondition(
                "CLASS_UNACKNOWLEDGED",
                "the class's filing is not acknowledged by the county yet; assessments are recorded after",
            ));
        }
        let mut people: HashMap<String, TraineeRecord> =
            trainee::of_class(&mut *change.tx, &class.id).await?.into_iter().map(|t| (t.id.clone(), t)).collect();
        let mut changed = Vec::new();
        for (trainee_id, passed) in &results {
            let Some(person) = people.get_mut(*trainee_id) else {
                return Err(Error::NotFound(format!("classes/{}/trainees/{trainee_id}", class.id)));
            };
            person.state.require(&[TraineeState::Active], "be assessed")?;
            person.assessment = Some(Assessment::of(*passed));
            person.stamp.touch();
            trainee::update(&mut change.tx, person).await?;
            changed.push(person.clone());
        }
        change.audit_under(
            &class.policy_version,
            "assessment.record",
            class.name(),
            json!({ "results": changed.iter().map(|t| json!({ "trainee": t.id, "passed": t.assessment.map(|a| a == Assessment::Passed) }))
                .collect::<Vec<_>>() }),
        );
        Ok(RecordAssessmentsResponse {
            trainees: changed.iter().map(|t| t.to_proto(Audience::of(&call.principal))).collect(),
        })
    })
    .await
}

/// Decides one trainee's completion (CLASS-ATTENDANCE, CLASS-COMPLETION) and sets their state.
fn decide(
    policy: &PolicySet,
    class: &ClassRecord,
    person: &mut TraineeRecord,
    attended: i64,
    evaluated: bool,
) -> Result<(), Error> {
    let attended = u32::try_from(attended.max(0)).unwrap_or(u32::MAX);
    let decision = evaluate_completion_in(policy, class.hours(), attended, person.passed_assessment(), evaluated);
    person.completion = Some(StoredDecision::of(&decision, decision.outcome, &class.policy_digest));
    let next = if decision.outcome { TraineeState::Completed } else { TraineeState::NotCompleted };
    if person.state != next {
        person.state = person.state.to(next)?;
    }
    person.stamp.touch();
    Ok(())
}

/// CompleteClass: completes an acknowledged class, deciding every trainee on its roster.
pub async fn complete_class(s: &Supervision, call: Call<CompleteClassRequest>) -> Result<CompleteClassResponse, Error> {
    let scope = access::provider_scope(&call.principal)?;
    let m = &call.message;
    let today = s.today();
    // PROV-DISQUALIFIED: a disqualified provider completes nothing, and its classes stop.
    let provider = access::provider_org(&call.principal)?;
    crate::standing::gate(s, &provider, crate::standing::WhenUnreachable::Refuse).await?;
    write::run(s, &call, async |change| {
        let class_id = access::id_of(&m.name, "classes", "name")?;
        change.serialize_on(&format!("class/{class_id}")).await?;
        let mut class = access::class_in(&mut *change.tx, &scope, &m.name, "name").await?;
        class.stamp.check(&m.etag)?;
        class.state = class.state.to(ClassState::Completed)?;
        // A class completes (结业) when its training is over: on its last day at the earliest.
        if today < class.last_day {
            return Err(Error::precondition(
                "COMPLETION_EARLY",
                format!("the class runs until {}; it completes on that day or later", class.last_day),
            ));
        }
        let policy = judge::policy_of_class(&s.policy, &class.policy_version, &class.policy_digest)?;
        let totals = attendance::totals(&mut *change.tx, &class.id).await?;
        // EVALUATION_RELATED: only an evaluation in the class's occupation or its minor group, at
        // the project's level or above, completes; the others stay recorded and do not count.
        let evaluated: HashSet<String> = evaluations::of_class(&mut *change.tx, &class.id)
            .await?
            .into_iter()
            .filter(|e| e.counts(&policy, &class.occupation, class.level).passed)
            .map(|e| e.trainee_id)
            .collect();
        let mut decided = Vec::new();
        for mut person in trainee::of_class(&mut *change.tx, &class.id).await? {
            if person.state != TraineeState::Active {
                continue;
            }
            let attended = totals.get(&person.id).copied().unwrap_or(0);
            let evaluated = evaluated.contains(&person.id);
            decide(&policy, &class, &mut person, attended, evaluated)?;
            trainee::update(&mut change.tx, &person).await?;
            decided.push(person);
        }
        class.completed_on = Some(today);
        class.stamp.touch();
        classes::update(&mut change.tx, &class).await?;
        let actor = call.principal.subject.clone();
        feed::note(change, ChangeKind::ClassCompleted, &class, None, today, &actor).await?;
        let completed: Vec<&str> =
            decided.iter().filter(|t| t.state == TraineeState::Completed).map(|t| t.id.as_str()).collect();
        let not_completed: Vec<serde_json::Value> = decided
            .iter()
            .filter(|t| t.state != TraineeState::Completed)
            .map(|t| {
                let rule = t.completion.as_ref().and_then(StoredDecision::first_failure).map(|r| r.code.clone());
                json!({ "trainee": t.id, "rule": rule })
            })
            .collect();
        change.audit_under(
            &class.policy_version,
            "class.complete",
            class.name(),
            json!({ "completed_on": today.to_string(), "completed": completed, "not_completed": not_completed }),
        );
        Ok(CompleteClassResponse {
            class: Some(class.to_proto()),
            trainees: decided.iter().map(|t| t.to_proto(Audience::of(&call.principal))).collect(),
        })
    })
    .await
}

/// RecordSkillEvaluation: a trainee's certificate; a trainee of a completed class who had not
/// completed is decided again (CLASS-COMPLETION: the assessment or a skill evaluation).
pub async fn record_skill_evaluation(
    s: &Supervision,
    call: Call<RecordSkillEvaluationRequest>,
) -> Result<RecordSkillEvaluationResponse, Error> {
    let scope = access::provider_scope(&call.principal)?;
    let m = &call.message;
    let (class_id, trainee_id) = access::child_of(&m.trainee, "trainees", "trainee")?;
    let input = m.evaluation.clone().unwrap_or_default();
    let today = s.today();
    let mut v = Violations::default();
    let number = v.value("evaluation.certificate_number", convert::text(&input.certificate_number, 64));
    let kind = v.value("evaluation.kind", CertificateKind::required(input.kind));
    let occupation = v.value("evaluation.occupation_code", OccupationCode::parse(&input.occupation_code));
    let level = v.value("evaluation.skill_level", convert::required_skill_level(input.skill_level));
    let issuer = v.value("evaluation.issuer", convert::text(&input.issuer, 100));
    let issued_on = v.value("evaluation.issued_on", convert::required_date(input.issued_on.as_ref()));
    if issued_on.is_some_and(|d| d > today) {
        v.add("evaluation.issued_on", "EVALUATION_DATE", "a certificate cannot be issued in the future");
    }
    v.finish()?;
    let (Some(number), Some(kind), Some(occupation), Some(level), Some(issuer), Some(issued_on)) =
        (number, kind, occupation, level, issuer, issued_on)
    else {
        return Err(Error::invalid("evaluation", "REQUIRED", "the evaluation is incomplete"));
    };
    let actor = call.principal.subject.clone();
    write::run(s, &call, async |change| {
        change.serialize_on(&format!("class/{class_id}")).await?;
        let class = access::class_by_id(&mut *change.tx, &scope, class_id, &format!("classes/{class_id}")).await?;
        if class.state == ClassState::Stopped {
            return Err(Error::precondition("CLASS_STATE", "a stopped class has no results"));
        }
        if issued_on < class.first_day {
            return Err(Error::invalid(
                "evaluation.issued_on",
                "EVALUATION_DATE",
                format!("a certificate of the class is issued on or after its first day, {}", class.first_day),
            ));
        }
        let mut person = trainee::find(&mut *change.tx, &class.id, trainee_id)
            .await?
            .ok_or_else(|| Error::NotFound(m.trainee.clone()))?;
        person.state.require(
            &[TraineeState::Active, TraineeState::Completed, TraineeState::NotCompleted],
            "have a skill-evaluation result",
        )?;
        if evaluations::certificate_known(&mut change.tx, &issuer, &number).await? {
            return Err(Error::exists("CERTIFICATE_EXISTS", "this certificate of this issuer is recorded already"));
        }
        let record = EvaluationRecord {
            id: new_id(),
            class_id: class.id.clone(),
            trainee_id: person.id.clone(),
            certificate_number: number.clone(),
            kind,
            occupation,
            level,
            issuer: issuer.clone(),
            issued_on,
            recorded_by: actor.clone(),
            create_time_micros: now_micros(),
        };
        let policy = judge::policy_of_class(&s.policy, &class.policy_version, &class.policy_digest)?;
        let counts = record.counts(&policy, &class.occupation, class.level);
        evaluations::insert(&mut change.tx, &record).await?;
        // Decided again only on an evaluation that counts (EVALUATION_RELATED); one in another
        // occupation or below the project's level is recorded and changes nothing.
        if counts.passed && class.state == ClassState::Completed && person.state == TraineeState::NotCompleted {
            let attended = attendance::totals_of(&mut *change.tx, &[&person.id]).await?.get(&person.id).copied();
            let attended = attended.unwrap_or(0);
            decide(&policy, &class, &mut person, attended, true)?;
            trainee::update(&mut change.tx, &person).await?;
        }
        feed::note(change, ChangeKind::SkillEvaluationRecorded, &class, Some(&person.id), today, &actor).await?;
        change.audit_under(
            &class.policy_version,
            "evaluation.record",
            record.name(),
            json!({ "trainee": person.name(), "kind": record.kind.code(), "occupation": record.occupation.as_str(),
                "level": record.level.code(), "issuer": issuer, "issued_on": issued_on.to_string(),
                "trainee_state": person.state.code(), "counts": counts.passed, "counts_code": counts.code }),
        );
        Ok(RecordSkillEvaluationResponse {
            evaluation: Some(record.to_proto(&counts)),
            trainee: Some(person.to_proto(Audience::of(&call.principal))),
        })
    })
    .await
}
