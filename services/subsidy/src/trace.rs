//! The trace of a payment (全程留痕, 八(三), SUBS-KEEP): from a payment instruction an auditor
//! walks back to the claim and its steps, the policy version, the rate and tier, each line's
//! rules, the trainee's outcome verdict as the claim's sealed snapshot holds it, and the evidence
//! items in outcome the verdict rested on (`evidence/{id}`; outcome's GetEvidence shows each, its
//! document, and for a department's record the signed exchange batch it came from). Each line
//! says where the chain leaves this service. ID numbers are shown masked, names not at all.

use qiancheng_api::IntoProto as _;
use qiancheng_api::subsidy::*;
use qiancheng_domain::policy::subsidy::{ClaimOutcome, SubsidyLine};
use qiancheng_platform::auth::Role;
use qiancheng_platform::explain::Audience;
use qiancheng_platform::record::{self, Filter};
use qiancheng_platform::{Call, Error};

use crate::Subsidy;
use crate::claim_view::opened;
use crate::fund::fund_to_wire;
use crate::payment::shown_instruction;
use crate::store::claim::ClaimRecord;
use crate::store::money::{ClaimPaymentRecord, InstructionRecord, LedgerRecord};

/// A value's stored code (its serde name).
fn code_of<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn step(step: &str, by: &str, on: Option<chrono::NaiveDate>) -> Option<TraceStep> {
    (!by.is_empty()).then(|| TraceStep { step: step.to_owned(), by: by.to_owned(), on: on.into_proto() })
}

/// The rate a line was paid by: its own kind's (edition 2), or the project's.
fn rate_of(outcome: &ClaimOutcome, line: &SubsidyLine) -> (i64, i64, i32) {
    let to_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let tier = |p: Option<u32>| p.map_or(0, |p| i32::try_from(p).unwrap_or(i32::MAX));
    if let Some(kind) = line.basis.and_then(|b| outcome.rates.iter().find(|r| r.basis == b)) {
        return (to_i64(kind.positive), to_i64(kind.completed), tier(kind.tier_percent));
    }
    outcome.rate.map_or((0, 0, 0), |r| (to_i64(r.numerator), to_i64(r.denominator), tier(outcome.tier_percent)))
}

/// GetPaymentTrace.
pub async fn get_payment_trace(
    s: &Subsidy,
    call: Call<GetPaymentTraceRequest>,
) -> Result<GetPaymentTraceResponse, Error> {
    call.principal.require_any(&[Role::Auditor, Role::CityAdmin])?;
    let m = &call.message;
    let id = qiancheng_platform::call::id_of(&m.instruction, "paymentInstructions", "instruction")?;
    let instruction = record::find::<InstructionRecord>(s.db.pool(), id)
        .await?
        .ok_or_else(|| Error::NotFound(m.instruction.clone()))?;
    let claim = record::find::<ClaimRecord>(s.db.pool(), instruction.claim_id.as_str())
        .await?
        .ok_or_else(|| Error::corrupt("an instruction of a claim that does not exist"))?;
    let payment = record::find::<ClaimPaymentRecord>(s.db.pool(), claim.id.as_str()).await?;
    let outcome = claim.outcome.0.as_ref().ok_or_else(|| Error::corrupt("a paid claim without its calculation"))?;
    let wanted = usize::try_from(m.line).unwrap_or(0);
    if wanted > outcome.lines.len() {
        return Err(Error::invalid(
            "line",
            "RANGE",
            format!("the claim has {} lines; 0 traces every one", outcome.lines.len()),
        ));
    }
    // The sealed snapshot, for the verdicts outcome gave; only the verdicts and roster entries
    // leave this function, never a name or an ID number.
    let snapshot = opened(s, &claim)?;
    let audience = Audience::of(&call.principal);
    let lines = outcome
        .lines
        .iter()
        .enumerate()
        .filter(|(i, _)| wanted == 0 || *i + 1 == wanted)
        .map(|(i, line)| {
            let trainee = snapshot.trainees.get(i).cloned().unwrap_or_default();
            let facts = snapshot.facts.trainees.get(i).filter(|t| t.class_id == line.class_id);
            let decided = facts.and_then(|t| t.verdict.as_ref());
            let (rate_positive, rate_completed, tier_percent) = rate_of(outcome, line);
            let trainee_id = trainee.rsplit('/').next().unwrap_or_default().to_owned();
            let verdict = if trainee_id.is_empty() { String::new() } else { format!("verdicts/{trainee_id}") };
            let evidence = snapshot.verdict_evidence.get(&trainee).cloned().unwrap_or_default();
            let (verdict_source, chain_ends) = match (&line.verdict, decided) {
                (Some(_), Some(_)) if !evidence.is_empty() => (
                    "OUTCOME",
                    format!(
                        "outcome's verdict rested on {} evidence item(s), listed: outcome's GetEvidence shows each, \
                         its document, and for a department's record the signed exchange batch it came from \
                         (submitted_by); {verdict} holds the verdict's history",
                        evidence.len()
                    ),
                ),
                (Some(_), Some(_)) => (
                    "OUTCOME",
                    format!(
                        "the snapshot keeps outcome's verdict (route and rules) but no evidence ids (none were named, or \
                         the claim was gathered before they were kept): read them in outcome's {verdict} as it stood \
                         at the snapshot"
                    ),
                ),
                (Some(_), None) => (
                    "SNAPSHOT_EVIDENCE",
                    "outcome had decided no verdict when the claim was filed: the policy core judged the evidence \
                     the snapshot holds (contracts, insurance and wage months, certificates), which carries no \
                     evidence ids"
                        .to_owned(),
                ),
                (None, _) => (
                    "",
                    format!(
                        "the trainee is not counted in the rate{}: no verdict is behind the line",
                        line.stopped_by.as_ref().map(|r| format!(" (stopped by {r})")).unwrap_or_default()
                    ),
                ),
            };
            TracedLine {
                line: i32::try_from(i + 1).unwrap_or(i32::MAX),
                trainee,
                id_number_masked: line.id_number_masked.clone(),
                fund: fund_to_wire(line.fund),
                standard_fen: line.standard_fen.map_or(0, |m| m.fen()),
                uplift_percent: line.uplift_percent.map_or(0, |p| i32::try_from(p).unwrap_or(i32::MAX)),
                multiplier_percent: i32::try_from(line.multiplier_percent).unwrap_or(i32::MAX),
                amount_fen: line.amount_fen.fen(),
                rules: line.rules.iter().map(|r| audience.rule(r).into_proto()).collect(),
                rate_positive,
                rate_completed,
                tier_percent,
                verdict_found: line.verdict.is_some(),
                verdict_positive: line.verdict.as_ref().is_some_and(|v| v.positive),
                verdict_basis: line.verdict.as_ref().map(|v| code_of(&v.basis)).unwrap_or_default(),
                verdict_route: line.verdict.as_ref().and_then(|v| v.route.as_ref()).map(code_of).unwrap_or_default(),
                verdict_source: verdict_source.to_owned(),
                verdict_rules: decided
                    .map(|d| d.rules.iter().map(|r| audience.rule(r).into_proto()).collect())
                    .unwrap_or_default(),
                verdict,
                chain_ends,
                evidence,
            }
        })
        .collect();
    let ledger = record::all::<LedgerRecord>(
        s.db.pool(),
        Filter::new().eq("le.instruction_id", instruction.id.as_str()),
        "le.create_time_micros, le.id",
    )
    .await?
    .into_iter()
    .map(|l| TracedLedgerLine {
        movement: l.movement_id,
        kind: l.kind,
        account: l.account,
        side: l.side,
        amount_fen: l.amount_fen,
        recorded_by: l.recorded_by,
        create_time_micros: l.create_time_micros,
    })
    .collect();
    let steps = [
        step("FILED", &claim.created_by, Some(claim.filed_on)),
        step("REVIEWED", &claim.reviewed_by, claim.reviewed_on),
        step("APPROVED", &claim.approved_by, claim.approved_on),
        payment.as_ref().and_then(|p| step("SIGNED_OFF", &p.signed_off_by, p.signed_off_on)),
        step("RELEASED", &instruction.released_by, Some(instruction.pay_on)),
    ]
    .into_iter()
    .flatten()
    .collect();
    Ok(GetPaymentTraceResponse {
        instruction: Some(shown_instruction(&instruction)),
        claim: claim.name(),
        project: claim.project(),
        policy_version: claim.policy_version.clone(),
        policy_digest: claim.policy_digest.clone(),
        steps,
        lines,
        ledger,
        snapshot_micros: claim.snapshot_micros,
    })
}
