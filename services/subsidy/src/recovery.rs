//! Recovery (追回, SUBS-RECOVER, 八(四) "对补贴资金已拨付的依法追回"): an officer of a claim's filing
//! bureau opens a recovery of a released claim with its cause; the policy core decides the
//! amount (fraud and subcontracting: everything paid; a fallen rate: line by line, each line's
//! paid amount less its worth at the new rate after uplift, cap and rounding), fund by fund, and
//! the receivable is charged back to each fund that paid it in the ledger. What earlier
//! receivables of the claim recover is not counted twice.

use qiancheng_api::IntoProto as _;
use qiancheng_api::subsidy::*;
use qiancheng_domain::Money;
use qiancheng_domain::policy::fraction::Fraction;
use qiancheng_domain::policy::payment::{EntrySide, FundPortion};
use qiancheng_domain::policy::subsidy::{ClaimOutcome, RecoveryCause, subs_recover};
use qiancheng_platform::auth::{Principal, Role, Scope};
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::record::{self, Filter};
use qiancheng_platform::{Call, Error, Stamp, write};

use crate::Subsidy;
use crate::access;
use crate::claim_view::policy_of;
use crate::fund::{amounts, finance_level};
use crate::store::claim::ClaimRecord;
use crate::store::money::{self as store, ClaimPaymentRecord, Line, ReceivableRecord};

fn cause_of(m: &OpenRecoveryRequest) -> Result<RecoveryCause, Error> {
    match RecoveryCauseKind::try_from(m.cause).unwrap_or(RecoveryCauseKind::Unspecified) {
        RecoveryCauseKind::Fraud => Ok(RecoveryCause::Fraud),
        RecoveryCauseKind::Subcontracting => Ok(RecoveryCause::Subcontracting),
        RecoveryCauseKind::RateFell => {
            let positive = u64::try_from(m.new_rate_positive).unwrap_or(0);
            let completed = u64::try_from(m.new_rate_completed).unwrap_or(0);
            if completed == 0 || positive > completed {
                return Err(Error::invalid(
                    "new_rate_completed",
                    "SUBS-RECOVER",
                    "a re-verified rate is positive verdicts over completed trainees, completed above zero",
                ));
            }
            let new_rate = Fraction::new(positive, completed)
                .ok_or_else(|| Error::invalid("new_rate_completed", "SUBS-RECOVER", "not a rate"))?;
            Ok(RecoveryCause::RateFell { new_rate })
        }
        RecoveryCauseKind::Unspecified => Err(Error::invalid("cause", "SUBS-RECOVER", "a cause")),
    }
}

fn kind_of(cause: &Option<RecoveryCause>) -> (RecoveryCauseKind, i64, i64) {
    let Some(cause) = cause else { return (RecoveryCauseKind::Unspecified, 0, 0) };
    match cause {
        RecoveryCause::Fraud => (RecoveryCauseKind::Fraud, 0, 0),
        RecoveryCause::Subcontracting => (RecoveryCauseKind::Subcontracting, 0, 0),
        RecoveryCause::RateFell { new_rate } | RecoveryCause::KindRateFell { new_rate, .. } => (
            RecoveryCauseKind::RateFell,
            i64::try_from(new_rate.numerator).unwrap_or(i64::MAX),
            i64::try_from(new_rate.denominator).unwrap_or(i64::MAX),
        ),
    }
}

fn shown(r: &ReceivableRecord) -> Receivable {
    let (cause, positive, completed) = kind_of(&r.cause.0);
    Receivable {
        name: format!("receivables/{}", r.id),
        claim: format!("claims/{}", r.claim_id),
        region_code: r.region.code().to_owned(),
        provider_credit_code: r.provider_credit_code.clone(),
        cause: cause as i32,
        new_rate_positive: positive,
        new_rate_completed: completed,
        note: r.note.clone(),
        portions: amounts(&r.portions),
        amount_fen: r.amount_fen,
        outstanding_fen: r.outstanding_fen,
        rules: r.rules.iter().map(|rule| rule.into_proto()).collect(),
        policy_version: r.policy_version.clone(),
        opened_by: r.opened_by.clone(),
        create_time_micros: r.stamp.create_time_micros,
    }
}

/// The claim's lines of one fund, as a claim of their own.
fn of_fund(outcome: &ClaimOutcome, fund: qiancheng_domain::policy::set::Fund) -> ClaimOutcome {
    let lines: Vec<_> = outcome.lines.iter().filter(|l| l.fund == fund).cloned().collect();
    let total = Money::checked_sum(lines.iter().map(|l| l.amount_fen)).unwrap_or(Money::ZERO);
    ClaimOutcome { lines, total_fen: total, ..outcome.clone() }
}

/// OpenRecovery.
pub async fn open_recovery(s: &Subsidy, call: Call<OpenRecoveryRequest>) -> Result<OpenRecoveryResponse, Error> {
    let m = &call.message;
    let id = qiancheng_platform::call::id_of(&m.claim, "claims", "claim")?.to_owned();
    let claim =
        record::find::<ClaimRecord>(s.db.pool(), id.as_str()).await?.ok_or_else(|| Error::NotFound(m.claim.clone()))?;
    access::decide_claim(&call.principal, claim.region)?;
    let cause = cause_of(m)?;
    let policy = policy_of(&claim)?;
    let outcome = claim.outcome.0.clone().ok_or_else(|| Error::corrupt("a released claim without its calculation"))?;
    let officer = call.principal.subject.clone();
    let note = m.note.trim().to_owned();
    write::run(s, &call, async |change| {
        let payment = record::find::<ClaimPaymentRecord>(&mut *change.tx, id.as_str()).await?;
        let Some(payment) = payment.filter(|p| p.state == store::RELEASED) else {
            return Err(Error::precondition("CLAIM_STATE", "only a released claim is recovered"));
        };
        let earlier =
            record::all::<ReceivableRecord>(&mut *change.tx, Filter::new().eq("rv.claim_id", id.as_str()), "rv.id")
                .await?;
        let mut portions = Vec::new();
        let mut rules = Vec::new();
        for paid in &payment.portions {
            let decision = subs_recover(&policy, &of_fund(&outcome, paid.fund), &cause);
            if let Some(failed) = decision.first_failure() {
                return Err(Error::Refused(failed.clone()));
            }
            rules.extend(decision.rules.iter().cloned());
            let before: i64 = earlier
                .iter()
                .flat_map(|r| r.portions.iter())
                .filter(|p| p.fund == paid.fund)
                .map(|p| p.amount_fen.fen())
                .sum();
            let left = (decision.outcome.fen().min(paid.amount_fen.fen()) - before).max(0);
            if left > 0 {
                portions.push(FundPortion { fund: paid.fund, amount_fen: Money::from_fen(left) });
            }
        }
        let amount: i64 = portions.iter().map(|p| p.amount_fen.fen()).sum();
        if amount == 0 {
            return Err(Error::precondition(
                "SUBS-RECOVER",
                "nothing is left to recover: the claim's earlier receivables cover what this cause recovers",
            ));
        }
        let receivable = ReceivableRecord {
            id: format!("{}-R{}", claim.id, earlier.len() + 1),
            claim_id: claim.id.clone(),
            region: payment.region,
            provider_credit_code: claim.provider_credit_code.clone(),
            cause: store::Cause(Some(cause.clone())),
            note: note.clone(),
            portions: portions.clone(),
            amount_fen: amount,
            outstanding_fen: amount,
            state: store::OPEN.to_owned(),
            rules,
            policy_version: claim.policy_version.clone(),
            opened_by: officer.clone(),
            stamp: Stamp::new(),
        };
        // The receivable: owed by the provider, returned to each fund that paid it.
        let mut lines = vec![Line {
            account: store::receivable_account(&receivable.provider_credit_code),
            side: EntrySide::Debit,
            amount_fen: amount,
        }];
        lines.extend(portions.iter().map(|p| Line {
            account: store::fund_account(payment.region, p.fund.code()),
            side: EntrySide::Credit,
            amount_fen: p.amount_fen.fen(),
        }));
        store::post(&mut change.tx, &format!("{}-open", receivable.id), "", "RECOVERY", &lines, &officer).await?;
        record::insert(&mut change.tx, &receivable).await?;
        change.audit_under(
            &claim.policy_version,
            "recovery.open",
            format!("receivables/{}", receivable.id),
            serde_json::json!({ "claim": claim.name(), "cause": receivable.cause, "note": note,
                "portions": receivable.portions, "amount_fen": amount, "rules": receivable.rules }),
        );
        Ok(OpenRecoveryResponse { receivable: Some(shown(&receivable)) })
    })
    .await
}

/// Whose receivables the caller reads.
fn receivable_scope(principal: &Principal) -> Result<Scope, Error> {
    if principal.has(Role::FinanceOfficer) && !principal.has_any(&[Role::CityAdmin, Role::Auditor]) {
        return finance_level(principal).map(Scope::Region);
    }
    Scope::of(principal, &[Role::CityAdmin, Role::Auditor], Some(Role::Provider)).ok_or_else(|| {
        Error::denied(
            "receivables are read by their level's officers and finance, their provider, the city and auditors",
        )
    })
}

/// ListReceivables.
pub async fn list_receivables(
    s: &Subsidy,
    call: Call<ListReceivablesRequest>,
) -> Result<ListReceivablesResponse, Error> {
    let scope = receivable_scope(&call.principal)?;
    let m = &call.message;
    let page = PageRequest::parse(m.page_size, &m.page_token, "receivables")?;
    let filter = Filter::new().within(&scope, "rv.region_code", Some("rv.provider_credit_code"));
    let (records, next_page_token) = record::page::<ReceivableRecord>(&s.db, filter, &page).await?;
    Ok(ListReceivablesResponse { receivables: records.iter().map(shown).collect(), next_page_token })
}
