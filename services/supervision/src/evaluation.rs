//! Skill evaluation (技能评价, 七(四)): a trainee's certificate, recorded once (issuer and number).
//! A trainee of a completed class who had not completed is decided again when one is recorded
//! that counts. An evaluation counts (EVALUATION_RELATED, decided by the policy core) only in the
//! class's occupation or, as OUT-CERT reads a related occupation, its minor group, at the
//! project's level or above; any other is recorded and shown with the reason it does not count.

use qiancheng_api::convert::{self, FromProto as _};
use qiancheng_api::supervision::*;
use qiancheng_domain::OccupationCode;
use qiancheng_domain::lifecycle::{ClassState, Lifecycle as _, TraineeState};
use qiancheng_platform::error::Violations;
use qiancheng_platform::explain::Audience;
use qiancheng_platform::time::{new_id, now_micros};
use qiancheng_platform::{Call, Error, write};
use serde_json::json;

use crate::store::attendance;
use crate::store::class_change::{self as feed, ChangeKind};
use crate::store::evaluation::{self as evaluations, CertificateKind, EvaluationRecord};
use crate::store::trainee;
use crate::{Supervision, access, judge};

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
    let number = input.certificate_number.trim().to_owned();
    let kind = v.value("evaluation.kind", CertificateKind::required(input.kind));
    let occupation = v.value("evaluation.occupation_code", OccupationCode::parse(&input.occupation_code));
    let level = v.value("evaluation.skill_level", convert::required_skill_level(input.skill_level));
    let issuer = input.issuer.trim().to_owned();
    let issued_on = v.value("evaluation.issued_on", convert::required_date(input.issued_on.as_ref()));
    if issued_on.is_some_and(|d| d > today) {
        v.add("evaluation.issued_on", "EVALUATION_DATE", "a certificate cannot be issued in the future");
    }
    v.finish()?;
    let (Some(kind), Some(occupation), Some(level), Some(issued_on)) = (kind, occupation, level, issued_on) else {
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
            judge::decide_completion(&policy, &class, &mut person, attended, true)?;
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
