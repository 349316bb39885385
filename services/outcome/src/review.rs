//! Officers' review of provider evidence (七(四)): a county officer accepts a PENDING item (it
//! counts from that day) or rejects it with a reason. A re-examination (复核) may be asked once
//! per item (OUT-REEXAM): by the trainee's provider of a rejection, or by an officer of an
//! acceptance; an officer other than the reviewer and the asker decides it, and an overturned
//! acceptance stops counting from that day.

use qiancheng_api::outcome::*;
use qiancheng_platform::auth::Role;
use qiancheng_platform::write::Change;
use qiancheng_platform::{Call, Error, record, write};

use crate::Outcome;
use crate::access::{self, Scope};
use crate::store::evidence::EvidenceRecord;
use crate::store::{decode_message, encode_message};

fn state_of(r: &EvidenceRecord) -> EvidenceState {
    EvidenceState::from_str_name(&r.state).unwrap_or_default()
}

fn review_of(r: &EvidenceRecord) -> Option<Review> {
    (!r.review.is_empty()).then(|| decode_message::<Review>(&r.review, "a review").ok()).flatten()
}

fn reexamination_of(r: &EvidenceRecord) -> Option<Reexamination> {
    (!r.reexamination.is_empty())
        .then(|| decode_message::<Reexamination>(&r.reexamination, "a re-examination").ok())
        .flatten()
}

/// Reviews a PENDING item the officer may reach.
async fn review(
    s: &Outcome,
    change: &mut Change,
    subject: &str,
    scope: &Scope,
    (name, etag): (&str, &str),
    accepted: bool,
    reason: &str,
) -> Result<EvidenceRecord, Error> {
    let mut item = access::reachable_evidence(&mut *change.tx, scope, name, "name").await?;
    item.stamp.check(etag)?;
    if state_of(&item) != EvidenceState::Pending {
        return Err(Error::precondition("OUT-EVIDENCE-STATE", "only a pending item is accepted or rejected"));
    }
    let now = qiancheng_platform::time::now_micros();
    item.review = encode_message(&Review {
        accepted,
        reason: reason.trim().to_owned(),
        reviewed_by: subject.to_owned(),
        reviewed_micros: now,
    });
    if accepted {
        item.state = EvidenceState::Accepted.as_str_name().to_owned();
        item.counts_from = Some(s.today());
    } else {
        item.state = EvidenceState::Rejected.as_str_name().to_owned();
    }
    item.stamp.touch();
    record::update(&mut change.tx, &item).await?;
    change.audit(
        if accepted { "accept_evidence" } else { "reject_evidence" },
        item.name(),
        serde_json::json!({ "reason": reason.trim() }),
    );
    Ok(item)
}

/// AcceptEvidence.
pub async fn accept_evidence(s: &Outcome, call: Call<AcceptEvidenceRequest>) -> Result<AcceptEvidenceResponse, Error> {
    let scope = access::officer_scope(&call.principal)?;
    let m = &call.message;
    write::run(s, &call, async |change| {
        let item = review(s, change, &call.principal.subject, &scope, (&m.name, &m.etag), true, &m.reason).await?;
        crate::judge::recompute_trainee(change, s, &item.trainee_id, &item.name()).await?;
        let verdict = crate::judge::current(&mut *change.tx, &item.trainee_id).await?;
        Ok(AcceptEvidenceResponse { evidence: Some(Evidence::from(&item)), verdict })
    })
    .await
}

/// RejectEvidence.
pub async fn reject_evidence(s: &Outcome, call: Call<RejectEvidenceRequest>) -> Result<RejectEvidenceResponse, Error> {
    let scope = access::officer_scope(&call.principal)?;
    let m = &call.message;
    write::run(s, &call, async |change| {
        let item = review(s, change, &call.principal.subject, &scope, (&m.name, &m.etag), false, &m.reason).await?;
        Ok(RejectEvidenceResponse { evidence: Some(Evidence::from(&item)) })
    })
    .await
}

/// RequestReexamination.
pub async fn request_reexamination(
    s: &Outcome,
    call: Call<RequestReexaminationRequest>,
) -> Result<RequestReexaminationResponse, Error> {
    let p = &call.principal;
    let (scope, of_state) = if p.has_any(&[Role::CityAdmin, Role::CountyOfficer]) {
        (access::officer_scope(p)?, EvidenceState::Accepted)
    } else {
        (Scope::Org(p.own_org(Role::Provider)?.to_owned()), EvidenceState::Rejected)
    };
    let m = &call.message;
    write::run(s, &call, async |change| {
        let mut item = access::reachable_evidence(&mut *change.tx, &scope, &m.name, "name").await?;
        if reexamination_of(&item).is_some() || !item.reexamination.is_empty() {
            return Err(Error::precondition("OUT-REEXAM", "an item is re-examined once"));
        }
        if state_of(&item) != of_state || review_of(&item).is_none() {
            let why = if of_state == EvidenceState::Rejected {
                "a provider asks for the re-examination of a rejection"
            } else {
                "an officer asks for the re-examination of an acceptance"
            };
            return Err(Error::precondition("OUT-REEXAM", why));
        }
        item.reexamination = encode_message(&Reexamination {
            reason: m.reason.trim().to_owned(),
            requested_by: p.subject.clone(),
            requested_micros: qiancheng_platform::time::now_micros(),
            ..Reexamination::default()
        });
        item.stamp.touch();
        record::update(&mut change.tx, &item).await?;
        change.audit("request_reexamination", item.name(), serde_json::json!({ "reason": m.reason.trim() }));
        Ok(RequestReexaminationResponse { evidence: Some(Evidence::from(&item)) })
    })
    .await
}

/// DecideReexamination.
pub async fn decide_reexamination(
    s: &Outcome,
    call: Call<DecideReexaminationRequest>,
) -> Result<DecideReexaminationResponse, Error> {
    let scope = access::officer_scope(&call.principal)?;
    let m = &call.message;
    let result = ReexaminationResult::try_from(m.result).unwrap_or_default();
    write::run(s, &call, async |change| {
        let mut item = access::reachable_evidence(&mut *change.tx, &scope, &m.name, "name").await?;
        let Some(mut reexamination) = reexamination_of(&item).filter(|r| r.result == 0) else {
            return Err(Error::precondition("OUT-REEXAM", "the item has no open re-examination"));
        };
        let reviewer = review_of(&item).map(|r| r.reviewed_by).unwrap_or_default();
        let me = &call.principal.subject;
        if *me == reviewer || *me == reexamination.requested_by {
            return Err(Error::precondition(
                "OUT-REEXAM",
                "a re-examination is decided by an officer other than the reviewer and the one who asked",
            ));
        }
        let today = s.today();
        if result == ReexaminationResult::Overturned {
            match state_of(&item) {
                EvidenceState::Accepted => {
                    item.state = EvidenceState::Rejected.as_str_name().to_owned();
                    item.counts_until = Some(today);
                }
                _ => {
                    item.state = EvidenceState::Accepted.as_str_name().to_owned();
                    item.counts_from = Some(today);
                    item.counts_until = None;
                }
            }
        }
        reexamination.result = result as i32;
        reexamination.decision_reason = m.reason.trim().to_owned();
        reexamination.decided_by = me.clone();
        reexamination.decided_micros = qiancheng_platform::time::now_micros();
        item.reexamination = encode_message(&reexamination);
        item.stamp.touch();
        record::update(&mut change.tx, &item).await?;
        change.audit(
            "decide_reexamination",
            item.name(),
            serde_json::json!({ "result": result.as_str_name(), "reason": m.reason.trim() }),
        );
        crate::judge::recompute_trainee(change, s, &item.trainee_id, &format!("{} re-examined", item.name())).await?;
        let verdict = crate::judge::current(&mut *change.tx, &item.trainee_id).await?;
        Ok(DecideReexaminationResponse { evidence: Some(Evidence::from(&item)), verdict })
    })
    .await
}
