//! Completion (结业) (二(三) 结果考核, 七(四)): CLASS-ATTENDANCE and CLASS-COMPLETION.
//!
//! The provider records completion-assessment results, then completes the acknowledged class:
//! every trainee on the roster who has not withdrawn is decided by the policy core from the
//! stored attendance (at least `min_attendance` of the class's hours, compared exactly) and the
//! assessment or a skill evaluation passed, under the policy set the class was filed under.
//! Skill-evaluation results may come later ([`crate::evaluation`]).

use std::collections::{HashMap, HashSet};

use qiancheng_api::convert;
use qiancheng_api::supervision::*;
use qiancheng_domain::lifecycle::{ClassState, Lifecycle as _, TraineeState};
use qiancheng_platform::error::Violations;
use qiancheng_platform::explain::Audience;
use qiancheng_platform::{Call, Error, write};
use serde_json::json;

use crate::access;
use crate::judge;
use crate::store::StoredDecision;
use crate::store::attendance;
use crate::store::class as classes;
use crate::store::class_change::{self as feed, ChangeKind};
use crate::store::evaluation as evaluations;
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
            judge::decide_completion(&policy, &class, &mut person, attended, evaluated)?;
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
