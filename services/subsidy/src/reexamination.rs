//! Re-examination (复核) of a review's decision: a provider may ask once, within
//! `reexamination_days` of the review (QIANCHENG_SUBSIDY_REEXAMINATION_DAYS), for a line excluded
//! at review or a returned claim to be looked at again, with its grounds. An officer of the
//! filing bureau who took no part in the decision decides it (SUBS-SOD: not its reviewer). Upheld,
//! the excluded line is restored (the claim is calculated again and goes back to review for a new
//! notice) or the returned claim goes back to review; dismissed, the decision stands. Either way
//! the provider is told of its right to 行政复议.

use chrono::Days;
use qiancheng_api::IntoProto as _;
use qiancheng_api::subsidy::*;
use qiancheng_domain::policy::subsidy::subs_sod;
use qiancheng_platform::auth::Role;
use qiancheng_platform::explain::Audience;
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::record::{self, Filter};
use qiancheng_platform::{Call, Error, Stamp, write};

use crate::Subsidy;
use crate::access;
use crate::claim_view::{masked, opened, readable, recalculated, shown};
use crate::store::claim::{self as store, Calculation, ClaimRecord};
use crate::store::reexamination::ReexaminationRecord;

/// The provider's further remedy after a re-examination (《中华人民共和国行政复议法》第二十条).
pub const APPEAL_RIGHTS: &str = "对复核结果不服的,可以自知道该决定之日起六十日内依法向有管辖权的行政复议机关申请行政复议。\
     If you disagree with this re-examination, you may apply for administrative reconsideration (行政复议) to the \
     competent body within sixty days of learning of the decision.";

/// The re-examination as the API shows it.
fn shown_reexamination(record: &ReexaminationRecord) -> Reexamination {
    let finding = match record.finding.as_str() {
        "UPHELD" => ObjectionFinding::Upheld,
        "DISMISSED" => ObjectionFinding::Dismissed,
        _ => ObjectionFinding::Unspecified,
    };
    Reexamination {
        name: record.name(),
        claim: format!("claims/{}", record.claim_id),
        trainee: record.trainee.clone(),
        grounds: record.grounds.clone(),
        decision_on: Some(record.decision_on.into_proto()),
        finding: finding as i32,
        finding_note: record.finding_note.clone(),
        requested_by: record.requested_by.clone(),
        decided_by: record.decided_by.clone(),
        appeal_rights: if record.finding.is_empty() { String::new() } else { APPEAL_RIGHTS.to_owned() },
        create_time_micros: record.stamp.create_time_micros,
        update_time_micros: record.stamp.update_time_micros,
        etag: record.stamp.etag(),
    }
}

/// RequestReexamination.
pub async fn request_reexamination(
    s: &Subsidy,
    call: Call<RequestReexaminationRequest>,
) -> Result<RequestReexaminationResponse, Error> {
    let provider = call.principal.own_org(Role::Provider)?.to_owned();
    let m = &call.message;
    let claim = readable(s, &call.principal, &m.claim).await?;
    let trainee = m.trainee.trim().to_owned();
    let today = s.today();
    let record = ReexaminationRecord {
        id: qiancheng_platform::time::new_id(),
        claim_id: claim.id.clone(),
        region: claim.region,
        provider_credit_code: provider,
        trainee: trainee.clone(),
        grounds: m.grounds.trim().to_owned(),
        decision_on: claim.reviewed_on.unwrap_or(today),
        decision_by: claim.reviewed_by.clone(),
        finding: String::new(),
        finding_note: String::new(),
        requested_by: call.principal.subject.clone(),
        decided_by: String::new(),
        stamp: Stamp::new(),
    };
    let days = s.reexamination_days;
    write::run(s, &call, async |change| {
        let current = record::find::<ClaimRecord>(&mut *change.tx, claim.id.as_str())
            .await?
            .ok_or_else(|| Error::NotFound(claim.name()))?;
        // What may be re-examined: a line the standing review excluded, or the claim it returned.
        let concerned = if trainee.is_empty() {
            current.state == store::RETURNED
        } else {
            current.state != store::RETURNED && current.exclusions.iter().any(|e| e.trainee == trainee)
        };
        if !concerned {
            return Err(Error::invalid(
                "trainee",
                "CLAIM_LINE",
                "a re-examination concerns a line the review excluded, or (trainee empty) a returned claim",
            ));
        }
        let (Some(reviewed_on), reviewer) = (current.reviewed_on, current.reviewed_by.clone()) else {
            return Err(Error::corrupt("a reviewed claim without its review day"));
        };
        let last_day = reviewed_on.checked_add_days(Days::new(u64::from(days))).unwrap_or(reviewed_on);
        if today > last_day {
            return Err(Error::precondition(
                "REEXAMINATION_PERIOD",
                format!("a re-examination is asked for within {days} days of the review, by {last_day}"),
            ));
        }
        // Once per excluded line or returned claim of one review.
        let asked = record::first::<ReexaminationRecord>(
            &mut *change.tx,
            Filter::new()
                .eq("x.claim_id", current.id.as_str())
                .eq("x.trainee", trainee.as_str())
                .eq("x.decision_on", reviewed_on.to_string()),
        )
        .await?;
        if let Some(asked) = asked {
            return Err(Error::exists(
                "REEXAMINATION_EXISTS",
                format!("a re-examination of this decision was asked for already: {}", asked.name()),
            ));
        }
        let mut stored = record.clone();
        stored.decision_on = reviewed_on;
        stored.decision_by = reviewer;
        record::insert(&mut change.tx, &stored).await?;
        change.audit(
            "claim.reexamination.request",
            stored.name(),
            serde_json::json!({ "claim": current.name(), "trainee": stored.trainee, "decision_on": reviewed_on }),
        );
        Ok(RequestReexaminationResponse { reexamination: Some(shown_reexamination(&stored)) })
    })
    .await
}

/// DecideReexamination.
pub async fn decide_reexamination(
    s: &Subsidy,
    call: Call<DecideReexaminationRequest>,
) -> Result<DecideReexaminationResponse, Error> {
    let m = &call.message;
    let bad_name =
        || Error::invalid("name", "RESOURCE-NAME", "a re-examination is named claims/{claim}/reexaminations/{id}");
    let (claim_name, id) = m.name.split_once("/reexaminations/").ok_or_else(bad_name)?;
    let claim_id = qiancheng_platform::call::id_of(claim_name, "claims", "name")?;
    let id = qiancheng_platform::call::id_of(&format!("reexaminations/{id}"), "reexaminations", "name")?.to_owned();
    let claim = record::find::<ClaimRecord>(s.db.pool(), claim_id)
        .await?
        .ok_or_else(|| Error::NotFound(claim_name.to_owned()))?;
    access::decide_claim(&call.principal, claim.region)?;
    let finding = match ObjectionFinding::try_from(m.finding).unwrap_or(ObjectionFinding::Unspecified) {
        ObjectionFinding::Upheld => "UPHELD",
        ObjectionFinding::Dismissed => "DISMISSED",
        ObjectionFinding::Unspecified => return Err(Error::invalid("finding", "REQUIRED", "UPHELD or DISMISSED")),
    };
    let snapshot = opened(s, &claim)?;
    let officer = call.principal.subject.clone();
    let note = m.finding_note.trim().to_owned();
    write::run(s, &call, async |change| {
        let mut asked = record::find::<ReexaminationRecord>(&mut *change.tx, id.as_str())
            .await?
            .filter(|x| x.claim_id == claim.id)
            .ok_or_else(|| Error::NotFound(call.message.name.clone()))?;
        if !call.message.etag.is_empty() {
            asked.stamp.check(&call.message.etag)?;
        }
        // SUBS-SOD: decided by an officer who took no part in the decision.
        Error::unless_passed(subs_sod(&asked.decision_by, &officer))?;
        if !asked.finding.is_empty() {
            return Err(Error::precondition(
                "REEXAMINATION_DECIDED",
                format!("the re-examination was decided already ({})", asked.finding.to_lowercase()),
            ));
        }
        asked.finding = finding.to_owned();
        asked.finding_note = note.clone();
        asked.decided_by = officer.clone();
        asked.stamp.touch();
        record::update(&mut change.tx, &asked).await?;
        change.audit(
            "claim.reexamination.decide",
            asked.name(),
            serde_json::json!({ "finding": finding, "note": note, "trainee": asked.trainee }),
        );
        let mut current = record::find::<ClaimRecord>(&mut *change.tx, claim.id.as_str())
            .await?
            .ok_or_else(|| Error::NotFound(claim.name()))?;
        let still_standing = current.reviewed_on == Some(asked.decision_on) && current.reviewed_by == asked.decision_by;
        if finding == "UPHELD" && still_standing {
            let previous_total = current.total_fen;
            if !asked.trainee.is_empty() {
                // The line is restored: calculated again without its exclusion.
                current.exclusions.retain(|e| e.trainee != asked.trainee);
                let decision = recalculated(&current, &snapshot, &current.exclusions)?;
                current.total_fen = decision.outcome.total_fen.fen();
                current.outcome = Calculation(Some(masked(decision.outcome)));
            }
            current.back_to_review();
            current.stamp.touch();
            record::update(&mut change.tx, &current).await?;
            change.audit_under(
                &current.policy_version,
                "claim.review.reopen",
                current.name(),
                serde_json::json!({ "reexamination": asked.name(), "previous_total_fen": previous_total,
                    "total_fen": current.total_fen }),
            );
        }
        Ok(DecideReexaminationResponse {
            reexamination: Some(shown_reexamination(&asked)),
            claim: Some(shown(&current, &snapshot.trainees, true, Audience::of(&call.principal))),
        })
    })
    .await
}

/// ListReexaminations.
pub async fn list_reexaminations(
    s: &Subsidy,
    call: Call<ListReexaminationsRequest>,
) -> Result<ListReexaminationsResponse, Error> {
    let m = &call.message;
    let claim = readable(s, &call.principal, &m.claim).await?;
    let page = PageRequest::parse(m.page_size, &m.page_token, &format!("reexaminations|{}", claim.id))?;
    let filter = Filter::new().eq("x.claim_id", claim.id.as_str());
    let (records, next_page_token) = record::page::<ReexaminationRecord>(&s.db, filter, &page).await?;
    Ok(ListReexaminationsResponse {
        reexaminations: records.iter().map(shown_reexamination).collect(),
        next_page_token,
    })
}
