//! Review and approval of claims (审核, 审批; 七(五) "经审核公示无异议后"): an officer of the filing
//! bureau (SUBS-SOD) reviews a filed claim. Accepting it may exclude lines, each with a reason
//! (the line goes to zero naming CLAIM_LINE_EXCLUDED, and the exclusion joins the facts export so
//! a replay gives the same fen); it needs the project's acceptance recorded in outcome and every
//! proof the claim must carry (SUBS-MATERIALS), and puts the claim on public notice for
//! `notice_working_days` working days counted from the next working day (SUBS-NOTICE,
//! DATE-WORKDAYS). Returning it sends it to its provider with reasons. Another officer of the
//! same bureau approves it once the notice has ended and every objection is resolved.

use qiancheng_api::subsidy::*;
use qiancheng_domain::policy::subsidy::{subs_notice_allows_payment, subs_sod};
use qiancheng_platform::explain::Audience;
use qiancheng_platform::record::{self, Filter};
use qiancheng_platform::{Call, Error, write};

use crate::Subsidy;
use crate::access;
use crate::claim_view::{masked, notice_end, opened, policy_of, recalculated, shown};
use crate::store::claim::{self as store, Calculation, ClaimRecord, Exclusion};
use crate::store::objection::ObjectionRecord;

/// The claim named `name`, whatever the caller's read scope: deciding it is checked by
/// [`access::decide_claim`], which names SUBS-SOD when the caller's bureau is not its own.
async fn decided(s: &Subsidy, name: &str) -> Result<ClaimRecord, Error> {
    let id = qiancheng_platform::call::id_of(name, "claims", "name")?;
    record::find::<ClaimRecord>(s.db.pool(), id).await?.ok_or_else(|| Error::NotFound(name.to_owned()))
}

/// Refuses a claim that is not in `state`, saying where it is.
fn require_state(record: &ClaimRecord, state: &str, doing: &str) -> Result<(), Error> {
    if record.state == state {
        return Ok(());
    }
    Err(Error::precondition(
        "CLAIM_STATE",
        format!("{doing} needs a claim that is {}; this one is {}", state.to_lowercase(), record.state.to_lowercase()),
    ))
}

/// ReviewClaim.
pub async fn review_claim(s: &Subsidy, call: Call<ReviewClaimRequest>) -> Result<ReviewClaimResponse, Error> {
    let m = &call.message;
    let found = decided(s, &m.name).await?;
    access::decide_claim(&call.principal, found.region)?;
    let snapshot = opened(s, &found)?;
    let today = s.today();
    let officer = call.principal.subject.clone();
    let decision = ReviewDecision::try_from(m.decision).unwrap_or(ReviewDecision::Unspecified);
    // What the review makes of the claim, decided before the transaction.
    let mut changed = found.clone();
    changed.reviewed_by = officer.clone();
    changed.reviewed_on = Some(today);
    let action;
    match decision {
        ReviewDecision::Accept => {
            if !m.return_reasons.is_empty() {
                return Err(Error::invalid("return_reasons", "CLAIM_LINE", "an accepted claim is not returned"));
            }
            // 综合评估和验收: a claim is reviewed only once outcome holds the project's acceptance.
            if found.project_accepted_on.is_none() {
                return Err(Error::precondition(
                    "CLAIM_NOT_ACCEPTED",
                    "the project's 综合评估和验收 was not recorded in outcome when the claim was filed: return it, \
                     and the provider refiles once outcome records the acceptance",
                ));
            }
            let mut exclusions: Vec<Exclusion> = Vec::new();
            for (i, e) in m.exclusions.iter().enumerate() {
                if !snapshot.trainees.contains(&e.trainee) {
                    return Err(Error::invalid(
                        format!("exclusions[{i}].trainee"),
                        "CLAIM_LINE",
                        "not a trainee with a line on the claim",
                    ));
                }
                if exclusions.iter().any(|x| x.trainee == e.trainee) {
                    return Err(Error::invalid(
                        format!("exclusions[{i}].trainee"),
                        "CLAIM_LINE",
                        "a line is excluded once",
                    ));
                }
                exclusions.push(Exclusion {
                    trainee: e.trainee.clone(),
                    reason: e.reason.trim().to_owned(),
                    excluded_by: officer.clone(),
                });
            }
            let calculation = recalculated(&found, &snapshot, &exclusions)?;
            // SUBS-MATERIALS: a claim lacking a proof it must carry cannot pass review.
            if let Some(materials) = calculation.rules.iter().find(|r| r.code == "SUBS-MATERIALS" && !r.passed) {
                return Err(Error::Refused(materials.clone()));
            }
            // SUBS-NOTICE: on notice from today, counted from the next working day.
            let policy = policy_of(&found)?;
            let ends_on = notice_end(&s.calendar, &policy, today)?;
            changed.state = store::ON_NOTICE.to_owned();
            changed.exclusions = exclusions;
            changed.return_reasons = Vec::new();
            changed.total_fen = calculation.outcome.total_fen.fen();
            changed.outcome = Calculation(Some(masked(calculation.outcome)));
            changed.notice_published_on = Some(today);
            changed.notice_ends_on = Some(ends_on);
            action = "claim.review.accept";
        }
        ReviewDecision::Return => {
            let reasons: Vec<String> =
                m.return_reasons.iter().map(|r| r.trim().to_owned()).filter(|r| !r.is_empty()).collect();
            if reasons.is_empty() {
                return Err(Error::invalid("return_reasons", "REQUIRED", "a returned claim says why"));
            }
            if !m.exclusions.is_empty() {
                return Err(Error::invalid("exclusions", "CLAIM_LINE", "a returned claim has no lines excluded"));
            }
            changed.state = store::RETURNED.to_owned();
            changed.return_reasons = reasons;
            action = "claim.review.return";
        }
        ReviewDecision::Unspecified => {
            return Err(Error::invalid("decision", "REQUIRED", "ACCEPT or RETURN"));
        }
    }
    let names = snapshot.trainees.clone();
    write::run(s, &call, async |change| {
        let mut record = record::find::<ClaimRecord>(&mut *change.tx, found.id.as_str())
            .await?
            .ok_or_else(|| Error::NotFound(found.name()))?;
        if !call.message.etag.is_empty() {
            record.stamp.check(&call.message.etag)?;
        }
        require_state(&record, store::FILED, "review")?;
        if record.stamp.revision != found.stamp.revision {
            return Err(Error::Conflict("the claim changed while it was reviewed; read it again".to_owned()));
        }
        let previous_total = record.total_fen;
        let stamp = record.stamp;
        record = changed.clone();
        record.stamp = stamp;
        record.stamp.touch();
        record::update(&mut change.tx, &record).await?;
        change.audit_under(
            &record.policy_version,
            action,
            record.name(),
            serde_json::json!({ "state": record.state, "previous_total_fen": previous_total,
                "total_fen": record.total_fen, "exclusions": record.exclusions,
                "return_reasons": record.return_reasons,
                "notice": { "published_on": record.notice_published_on, "ends_on": record.notice_ends_on } }),
        );
        Ok(ReviewClaimResponse { claim: Some(shown(&record, &names, true, Audience::of(&call.principal))) })
    })
    .await
}

/// ApproveClaim.
pub async fn approve_claim(s: &Subsidy, call: Call<ApproveClaimRequest>) -> Result<ApproveClaimResponse, Error> {
    let found = decided(s, &call.message.name).await?;
    access::decide_claim(&call.principal, found.region)?;
    let snapshot = opened(s, &found)?;
    let today = s.today();
    let approver = call.principal.subject.clone();
    write::run(s, &call, async |change| {
        let mut record = record::find::<ClaimRecord>(&mut *change.tx, found.id.as_str())
            .await?
            .ok_or_else(|| Error::NotFound(found.name()))?;
        if !call.message.etag.is_empty() {
            record.stamp.check(&call.message.etag)?;
        }
        require_state(&record, store::ON_NOTICE, "approval")?;
        // SUBS-SOD: the officer who reviewed the claim does not approve it.
        Error::unless_passed(subs_sod(&record.reviewed_by, &approver))?;
        // SUBS-NOTICE: after the notice's last day, with every objection resolved.
        let ends_on = record.notice_ends_on.ok_or_else(|| Error::corrupt("a claim on notice without its end"))?;
        let open = record::count::<ObjectionRecord>(
            &mut *change.tx,
            Filter::new().eq("o.claim_id", record.id.as_str()).eq("o.finding", ""),
        )
        .await?;
        let open = usize::try_from(open).unwrap_or(usize::MAX);
        if !subs_notice_allows_payment(ends_on, today, open) {
            let why = if today <= ends_on {
                format!("the notice runs until {ends_on}; approval comes after it")
            } else {
                format!("{open} objection(s) are not resolved")
            };
            return Err(Error::precondition("SUBS-NOTICE", why));
        }
        record.state = store::APPROVED.to_owned();
        record.approved_by = approver.clone();
        record.approved_on = Some(today);
        record.stamp.touch();
        record::update(&mut change.tx, &record).await?;
        change.audit_under(
            &record.policy_version,
            "claim.approve",
            record.name(),
            serde_json::json!({ "total_fen": record.total_fen, "reviewed_by": record.reviewed_by,
                "notice_ends_on": ends_on, "approved_on": today }),
        );
        Ok(ApproveClaimResponse {
            claim: Some(shown(&record, &snapshot.trainees, true, Audience::of(&call.principal))),
        })
    })
    .await
}
