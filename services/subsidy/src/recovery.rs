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
use qiancheng_domain::policy::payment::{EntrySide, FundPortion, subs_sod_finance};
use qiancheng_domain::policy::subsidy::{ClaimOutcome, RecoveryCause, subs_recover};
use qiancheng_platform::auth::{Principal, Role, Scope};
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::record::{self, Filter};
use qiancheng_platform::{Call, Error, Stamp, write};

use crate::Subsidy;
use crate::access;
use crate::claim_view::policy_of;
use crate::fund::{amounts, finance_level, fund_of_code, fund_to_wire};
use crate::store::claim::ClaimRecord;
use crate::store::money::{self as store, ClaimPaymentRecord, Line, ReceivableRecord, SettlementRecord};

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

fn shown_settlement(s: &SettlementRecord) -> Settlement {
    Settlement {
        kind: (match s.kind.as_str() {
            store::REPAYMENT => SettlementKind::Repayment,
            store::OFFSET_SETTLEMENT => SettlementKind::Offset,
            _ => SettlementKind::Unspecified,
        }) as i32,
        fund: fund_of_code(&s.fund).map_or(0, fund_to_wire),
        amount_fen: s.amount_fen,
        instruction: if s.instruction_id.is_empty() {
            String::new()
        } else {
            format!("paymentInstructions/{}", s.instruction_id)
        },
        bank_reference: s.bank_reference.clone(),
        note: s.note.clone(),
        recorded_by: s.recorded_by.clone(),
        create_time_micros: s.create_time_micros,
    }
}

/// A receivable as the API shows it, with its settlements (those of other receivables ignored).
fn shown(r: &ReceivableRecord, settlements: &[SettlementRecord]) -> Receivable {
    let (cause, positive, completed) = kind_of(&r.cause.0);
    let own: Vec<&SettlementRecord> = settlements.iter().filter(|s| s.receivable_id == r.id).collect();
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
        state: (match r.state.as_str() {
            store::OPEN => ReceivableState::Open,
            store::SETTLED => ReceivableState::Settled,
            _ => ReceivableState::Unspecified,
        }) as i32,
        outstanding: amounts(&r.outstanding(settlements)),
        settlements: own.into_iter().map(shown_settlement).collect(),
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
    let officer = call.principal.subject.clone();
    let note = m.note.trim().to_owned();
    write::run(s, &call, async |change| {
        let receivable = open_in(change, &claim, &cause, &note, &officer).await?;
        Ok(OpenRecoveryResponse { receivable: Some(shown(&receivable, &[])) })
    })
    .await
}

/// Opens a receivable of the released `claim` for `cause` in `change`: per fund, what the cause
/// recovers less what the claim's earlier receivables recover, charged back to each fund that
/// paid it. `CLAIM_STATE` when the claim is not released; `SUBS-RECOVER` when nothing is left.
async fn open_in(
    change: &mut write::Change,
    claim: &ClaimRecord,
    cause: &RecoveryCause,
    note: &str,
    opened_by: &str,
) -> Result<ReceivableRecord, Error> {
    let policy = policy_of(claim)?;
    let outcome = claim.outcome.0.clone().ok_or_else(|| Error::corrupt("a released claim without its calculation"))?;
    let id = claim.id.as_str();
    let payment = record::find::<ClaimPaymentRecord>(&mut *change.tx, id).await?;
    let Some(payment) = payment.filter(|p| p.state == store::RELEASED) else {
        return Err(Error::precondition("CLAIM_STATE", "only a released claim is recovered"));
    };
    let earlier =
        record::all::<ReceivableRecord>(&mut *change.tx, Filter::new().eq("rv.claim_id", id), "rv.id").await?;
    let mut portions = Vec::new();
    let mut rules = Vec::new();
    for paid in &payment.portions {
        let decision = subs_recover(&policy, &of_fund(&outcome, paid.fund), cause);
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
        note: note.to_owned(),
        portions: portions.clone(),
        amount_fen: amount,
        outstanding_fen: amount,
        state: store::OPEN.to_owned(),
        rules,
        policy_version: claim.policy_version.clone(),
        opened_by: opened_by.to_owned(),
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
    store::post(&mut change.tx, &format!("{}-open", receivable.id), "", "RECOVERY", &lines, opened_by).await?;
    record::insert(&mut change.tx, &receivable).await?;
    change.audit_under(
        &claim.policy_version,
        "recovery.open",
        format!("receivables/{}", receivable.id),
        serde_json::json!({ "claim": claim.name(), "cause": receivable.cause, "note": note,
            "portions": receivable.portions, "amount_fen": amount, "rules": receivable.rules }),
    );
    Ok(receivable)
}

/// The causes a re-verified calculation `fresh` of a paid claim `paid` gives: the rate of the
/// claim (edition 1, or one kind) or of each kind (edition 2) that fell.
fn fallen(paid: &ClaimOutcome, fresh: &ClaimOutcome) -> Vec<RecoveryCause> {
    if paid.rates.is_empty() || fresh.rates.is_empty() {
        return match (paid.rate, fresh.rate) {
            (Some(before), Some(now)) if now < before => vec![RecoveryCause::RateFell { new_rate: now }],
            _ => Vec::new(),
        };
    }
    fresh
        .rates
        .iter()
        .filter_map(|now| {
            let new_rate = now.rate?;
            let before = paid.rates.iter().find(|r| r.basis == now.basis)?.rate?;
            (new_rate < before).then_some(RecoveryCause::KindRateFell { basis: now.basis, new_rate })
        })
        .collect()
}

/// A released claim whose project's rate outcome announced again (SUBS-RECOVER, "a rate that
/// falls after payment"): calculated again from today's records; each rate that fell opens a
/// receivable of each line's difference at the new rate, by the service, in one transaction. A
/// rise is not paid (the policy set's default; RULES.md). Following the same change again opens
/// nothing more, as what earlier receivables recover is not counted twice. Returns the
/// receivables opened.
pub async fn follow_fallen_rate(s: &Subsidy, claim: &ClaimRecord, fresh: &ClaimOutcome) -> Result<Vec<String>, Error> {
    let Some(paid) = claim.outcome.0.as_ref() else { return Ok(Vec::new()) };
    let causes = fallen(paid, fresh);
    if causes.is_empty() {
        return Ok(Vec::new());
    }
    let mut change = write::Change::open(s, "service:subsidy").await?;
    let mut opened = Vec::new();
    for cause in &causes {
        let note = "outcome re-verified the project's rate after payment";
        match open_in(&mut change, claim, cause, note, "service:subsidy").await {
            Ok(receivable) => opened.push(format!("receivables/{}", receivable.id)),
            Err(Error::FailedPrecondition { .. }) => {}
            Err(error) => return Err(error),
        }
    }
    change.commit().await?;
    Ok(opened)
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
    let ids: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
    let settlements = store::settlements_of(s.db.pool(), &ids).await?;
    Ok(ListReceivablesResponse {
        receivables: records.iter().map(|r| shown(r, &settlements)).collect(),
        next_page_token,
    })
}

/// Who records a repayment of a receivable of the level `region`: an officer of the claim's
/// filing bureau (SUBS-SOD), or finance of the level that paid it.
fn may_settle(principal: &Principal, region: qiancheng_domain::RegionCode) -> Result<(), Error> {
    if principal.has(Role::FinanceOfficer) && !principal.has_any(&[Role::CityAdmin, Role::CountyOfficer]) {
        return Error::unless_passed(subs_sod_finance(region, finance_level(principal)?));
    }
    access::decide_claim(principal, region).map(|_| ())
}

/// RecordRepayment.
pub async fn record_repayment(
    s: &Subsidy,
    call: Call<RecordRepaymentRequest>,
) -> Result<RecordRepaymentResponse, Error> {
    let m = &call.message;
    let id = qiancheng_platform::call::id_of(&m.receivable, "receivables", "receivable")?.to_owned();
    // Permission before existence: NOT_FOUND only to the city, which reaches every receivable.
    let found = match record::find::<ReceivableRecord>(s.db.pool(), id.as_str()).await? {
        Some(found) => found,
        None if call.principal.has(Role::CityAdmin) => return Err(Error::NotFound(m.receivable.clone())),
        None => {
            return Err(Error::denied("a repayment is recorded by the bureau or finance of the receivable's level"));
        }
    };
    may_settle(&call.principal, found.region)?;
    let reference = m.bank_reference.trim().to_owned();
    let note = m.note.trim().to_owned();
    let amount = m.amount_fen;
    let officer = call.principal.subject.clone();
    write::run(s, &call, async |change| {
        let mut receivable = record::find::<ReceivableRecord>(&mut *change.tx, id.as_str())
            .await?
            .ok_or_else(|| Error::NotFound(m.receivable.clone()))?;
        if receivable.state != store::OPEN {
            return Err(Error::precondition(
                "RECEIVABLE_STATE",
                format!("{} is settled: nothing is owed on it", receivable.name()),
            ));
        }
        let mut settlements = store::settlements_of(&mut *change.tx, std::slice::from_ref(&receivable.id)).await?;
        if settlements.iter().any(|s| s.kind == store::REPAYMENT && s.bank_reference == reference) {
            return Err(Error::exists(
                "REPAYMENT_EXISTS",
                format!("a repayment with this bank reference is recorded for {} already", receivable.name()),
            ));
        }
        let outstanding = receivable.outstanding(&settlements);
        let owed: i64 = outstanding.iter().map(|p| p.amount_fen.fen()).sum();
        if owed != receivable.outstanding_fen {
            return Err(Error::corrupt("a receivable whose settlements do not add up to what it owes"));
        }
        // SUBS-RECOVER: never below zero.
        if amount > owed {
            return Err(Error::precondition(
                "SUBS-RECOVER",
                format!("a repayment of {amount} fen is more than the {owed} fen {} still owes", receivable.name()),
            ));
        }
        // Fund by fund in the receivable's order, each to what it is owed.
        let now = qiancheng_platform::time::now_micros();
        let mut left = amount;
        let mut repaid = Vec::new();
        for portion in &outstanding {
            let take = left.min(portion.amount_fen.fen());
            if take == 0 {
                break;
            }
            left -= take;
            let settlement = SettlementRecord {
                id: format!("{}-S{}", receivable.id, settlements.len() + 1),
                receivable_id: receivable.id.clone(),
                kind: store::REPAYMENT.to_owned(),
                fund: portion.fund.code().to_owned(),
                amount_fen: take,
                instruction_id: String::new(),
                bank_reference: reference.clone(),
                note: note.clone(),
                recorded_by: officer.clone(),
                create_time_micros: now,
            };
            record::insert(&mut change.tx, &settlement).await?;
            repaid.push(FundPortion { fund: portion.fund, amount_fen: Money::from_fen(take) });
            settlements.push(settlement);
        }
        // The ledger: the provider's transfer reaches the level's bank and clears its receivable
        // (each fund was credited when the receivable was opened).
        let lines = [
            Line { account: store::bank_account(receivable.region), side: EntrySide::Debit, amount_fen: amount },
            Line {
                account: store::receivable_account(&receivable.provider_credit_code),
                side: EntrySide::Credit,
                amount_fen: amount,
            },
        ];
        let movement = format!("{}-S{}-repayment", receivable.id, settlements.len());
        store::post(&mut change.tx, &movement, "", "REPAYMENT", &lines, &officer).await?;
        receivable.settle(amount)?;
        record::update(&mut change.tx, &receivable).await?;
        change.audit_under(
            &receivable.policy_version,
            "receivable.repayment",
            receivable.name(),
            serde_json::json!({ "amount_fen": amount, "portions": repaid, "bank_reference": reference,
                "note": note, "outstanding_fen": receivable.outstanding_fen, "state": receivable.state }),
        );
        Ok(RecordRepaymentResponse { receivable: Some(shown(&receivable, &settlements)) })
    })
    .await
}
