//! Finance sign-off and release (七(五) "同级财政部门依规拨付", SUBS-PAY, SUBS-SOD): the finance
//! officer of the same level as the bureau that approved a claim signs it off (each line charged
//! to its fund, SUBS-FUND, waiting for funds when the budget falls short) or returns it with
//! reasons, and releases its payment instruction to the provider's recorded account as selection
//! holds it at release. An instruction has its own id and is paid once: released again it is
//! answered as it stands. Every movement is posted to the ledger as balanced entries, fund →
//! payable at release (payable → bank when the bank pays, [`crate::bank`]).

use std::fmt::Debug;

use chrono::NaiveDate;
use qiancheng_api::FromProto as _;
use qiancheng_api::IntoProto as _;
use qiancheng_api::selection::selection_service_client::SelectionServiceClient;
use qiancheng_api::selection::{CheckStandingRequest, GetProviderRequest};
use qiancheng_api::subsidy::*;
use qiancheng_domain::policy::decision::RuleResult;
use qiancheng_domain::policy::payment::{
    BankAccount, EntrySide, LedgerAccount, OpenReceivable, PaymentFacts, PaymentInstruction as PolicyInstruction,
    PaymentOutcome, subs_pay, subs_pay_account, subs_pay_portions, subs_recover_offsets, subs_sod_finance,
};
use qiancheng_platform::auth::Scope;
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::record::{self, Filter};
use qiancheng_platform::service::Peers;
use qiancheng_platform::{Call, Error, Stamp, write};

use crate::Subsidy;
use crate::claim_view::policy_of;
use crate::fund::{amounts, finance_level, money_read_scope, shortfalls};
use crate::peer::{Answer, SELECTION};
use crate::store::claim::{self as claims, ClaimRecord};
use crate::store::money::{
    self as store, ClaimPaymentRecord, InstructionRecord, Line, ReceivableRecord, SettlementRecord,
};

/// A provider as finance pays it: its recorded account (备案账户) and any disqualification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderAccount {
    /// The recorded account.
    pub account: BankAccount,
    /// The day it was disqualified, if it was (PROV-DISQUALIFIED).
    pub disqualified_on: Option<NaiveDate>,
}

/// What selection says of a provider's standing now (`CheckStanding`, PROV-DISQUALIFIED).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    /// Not disqualified.
    pub good: bool,
    /// When not: selection's rule that failed, in its words.
    pub failed: Option<RuleResult>,
}

/// What the subsidy service asks selection about a provider it pays.
pub trait ProviderPort: Debug + Send + Sync {
    /// The provider with credit code `credit_code`.
    fn provider<'a>(&'a self, credit_code: &'a str) -> Answer<'a, ProviderAccount>;
    /// Whether the provider `credit_code` is in good standing (not disqualified for
    /// subcontracting or fraud), as selection judges it today.
    fn standing<'a>(&'a self, credit_code: &'a str) -> Answer<'a, Standing>;
}

/// Selection over gRPC, with the service's own identity.
#[derive(Debug, Clone)]
pub struct ProviderGrpc(pub Peers);

impl ProviderPort for ProviderGrpc {
    fn provider<'a>(&'a self, credit_code: &'a str) -> Answer<'a, ProviderAccount> {
        Box::pin(async move {
            let peer = self.0.get(SELECTION)?;
            let provider = SelectionServiceClient::new(peer.channel())
                .get_provider(GetProviderRequest { name: format!("providers/{credit_code}") })
                .await
                .map_err(|status| peer.refused(status))?
                .into_inner()
                .provider
                .ok_or_else(|| Error::corrupt("selection answered GetProvider without a provider"))?;
            let account = provider.bank_account.unwrap_or_default();
            Ok(ProviderAccount {
                account: BankAccount { holder: account.holder, bank: account.bank, number: account.number },
                disqualified_on: NaiveDate::from_proto(provider.disqualified_on.as_ref()).ok().flatten(),
            })
        })
    }

    fn standing<'a>(&'a self, credit_code: &'a str) -> Answer<'a, Standing> {
        Box::pin(async move {
            let peer = self.0.get(SELECTION)?;
            let answer = SelectionServiceClient::new(peer.channel())
                .check_standing(CheckStandingRequest {
                    provider: format!("providers/{credit_code}"),
                    project: String::new(),
                })
                .await
                .map_err(|status| peer.refused(status))?
                .into_inner();
            let failed = answer
                .decision
                .iter()
                .flat_map(|d| d.rules.iter())
                .find(|r| !r.passed)
                .map(|r| RuleResult::fail(&r.code, r.reason_zh.clone(), r.reason_en.clone()));
            Ok(Standing { good: answer.good_standing, failed })
        })
    }
}

/// SUBS-RECOVER (八(四)): a provider disqualified in selection (for subcontracting or fraud: the
/// only grounds selection disqualifies on), or with a recovery opened for either cause, has
/// every unreleased claim and instruction frozen: signing off, releasing and re-sending are
/// refused with `FAILED_PRECONDITION PAYMENT_FROZEN`. Checked at sign-off, release and re-send,
/// with selection's standing read then (`CheckStanding`) and the receivables read inside the
/// write.
pub fn unless_frozen(standing: &Standing, receivables: &[ReceivableRecord]) -> Result<(), Error> {
    if !standing.good {
        let why = standing.failed.as_ref().map_or_else(
            || "selection holds it not in good standing".to_owned(),
            |r| format!("{} ({})", r.reason_en, r.code),
        );
        return Err(Error::precondition(
            "PAYMENT_FROZEN",
            format!(
                "the provider is disqualified in selection: {why}; its unreleased claims and instructions are frozen"
            ),
        ));
    }
    if let Some(r) = receivables.iter().find(|r| r.freezes()) {
        return Err(Error::precondition(
            "PAYMENT_FROZEN",
            format!(
                "{} recovers for fraud or subcontracting: the provider's unreleased claims and instructions are frozen",
                r.name()
            ),
        ));
    }
    Ok(())
}

/// Whether a claim is payable: approved by its bureau (review, notice, approval of part one).
/// The one place the payment side reads the claim's state.
pub fn payable(claim: &ClaimRecord) -> bool {
    claim.state == claims::APPROVED
}

/// Whether claim `claim_id`'s payment is released: from then on its amount stands and a rate
/// change is for recovery, not recalculation.
pub async fn released(s: &Subsidy, claim_id: &str) -> Result<bool, Error> {
    Ok(record::find::<ClaimPaymentRecord>(s.db.pool(), claim_id).await?.is_some_and(|p| p.state == store::RELEASED))
}

/// The claim named `name`, or NOT_FOUND.
async fn claim_named(s: &Subsidy, name: &str) -> Result<ClaimRecord, Error> {
    let id = qiancheng_platform::call::id_of(name, "claims", "name")?;
    record::find::<ClaimRecord>(s.db.pool(), id).await?.ok_or_else(|| Error::NotFound(name.to_owned()))
}

fn state_to_wire(state: &str) -> i32 {
    (match state {
        store::WAITING_FUNDS => PaymentState::WaitingFunds,
        store::SIGNED_OFF => PaymentState::SignedOff,
        store::RETURNED => PaymentState::Returned,
        store::RELEASED => PaymentState::Released,
        _ => PaymentState::Unspecified,
    }) as i32
}

/// An instruction's state on the wire.
pub fn instruction_state_to_wire(state: &str) -> i32 {
    (match state {
        store::SENT => InstructionState::Sent,
        store::PAID => InstructionState::Paid,
        store::FAILED => InstructionState::Failed,
        store::RESENT => InstructionState::Resent,
        store::OFFSET => InstructionState::Offset,
        _ => InstructionState::Unspecified,
    }) as i32
}

fn instruction_state_code(wire: i32) -> Option<&'static str> {
    match InstructionState::try_from(wire).ok()? {
        InstructionState::Sent => Some(store::SENT),
        InstructionState::Paid => Some(store::PAID),
        InstructionState::Failed => Some(store::FAILED),
        InstructionState::Resent => Some(store::RESENT),
        InstructionState::Offset => Some(store::OFFSET),
        InstructionState::Unspecified => None,
    }
}

/// An instruction as the API shows it; the account number in full for finance and auditors'
/// reconciliation, as selection shows it to finance.
pub fn shown_instruction(r: &InstructionRecord) -> qiancheng_api::subsidy::PaymentInstruction {
    qiancheng_api::subsidy::PaymentInstruction {
        name: r.name(),
        claim: format!("claims/{}", r.claim_id),
        region_code: r.region.code().to_owned(),
        provider_credit_code: r.provider_credit_code.clone(),
        payee: Some(PayeeAccount {
            holder: r.payee_holder.clone(),
            bank: r.payee_bank.clone(),
            number: r.payee_number.clone(),
        }),
        portions: amounts(&r.portions),
        amount_fen: r.amount_fen,
        pay_on: Some(r.pay_on.into_proto()),
        state: instruction_state_to_wire(&r.state),
        bank_reference: r.bank_reference.clone(),
        failure_reason: r.failure_reason.clone(),
        resent_as: if r.resent_as.is_empty() { String::new() } else { format!("paymentInstructions/{}", r.resent_as) },
        released_by: r.released_by.clone(),
        create_time_micros: r.stamp.create_time_micros,
        offset_fen: r.offset_fen,
    }
}

fn shown(p: &ClaimPaymentRecord, instructions: &[InstructionRecord]) -> ClaimPayment {
    ClaimPayment {
        claim: p.claim(),
        region_code: p.region.code().to_owned(),
        provider_credit_code: p.provider_credit_code.clone(),
        state: state_to_wire(&p.state),
        budget_year: p.budget_year,
        portions: amounts(&p.portions),
        shortfalls: amounts(&p.shortfalls),
        total_fen: p.total_fen,
        return_reasons: p.return_reasons.clone(),
        signed_off_by: p.signed_off_by.clone(),
        instructions: instructions.iter().map(shown_instruction).collect(),
    }
}

/// Refuses a claim its caller's finance level does not pay (SUBS-SOD).
fn same_level(claim: &ClaimRecord, level: qiancheng_domain::RegionCode) -> Result<(), Error> {
    Error::unless_passed(subs_sod_finance(claim.region, level))
}

/// SignOffClaim.
pub async fn sign_off_claim(s: &Subsidy, call: Call<SignOffClaimRequest>) -> Result<SignOffClaimResponse, Error> {
    let level = finance_level(&call.principal)?;
    let m = &call.message;
    let found = claim_named(s, &m.name).await?;
    same_level(&found, level)?;
    let decision = SignOffDecision::try_from(m.decision).unwrap_or(SignOffDecision::Unspecified);
    let reasons: Vec<String> = m.return_reasons.iter().map(|r| r.trim().to_owned()).filter(|r| !r.is_empty()).collect();
    match decision {
        SignOffDecision::Unspecified => return Err(Error::invalid("decision", "REQUIRED", "SIGN_OFF or RETURN")),
        SignOffDecision::Return if reasons.is_empty() => {
            return Err(Error::invalid("return_reasons", "REQUIRED", "a returned claim says why"));
        }
        SignOffDecision::SignOff if !reasons.is_empty() => {
            return Err(Error::invalid("return_reasons", "CLAIM_STATE", "a claim signed off is not returned"));
        }
        _ => {}
    }
    // SUBS-FUND: the lines' amounts per fund, as the policy core charged each line.
    let outcome =
        found.outcome.0.as_ref().ok_or_else(|| Error::corrupt("an approved claim without its calculation"))?;
    let portions = subs_pay_portions(outcome).map_err(|e| Error::corrupt(format!("the claim's portions: {e}")))?;
    let total: i64 = portions.iter().map(|p| p.amount_fen.fen()).sum();
    if total != found.total_fen {
        return Err(Error::corrupt("a claim whose portions do not add up to its total"));
    }
    // The account selection holds now, and the provider's standing, read before the transaction.
    let (provider, standing) = match decision {
        SignOffDecision::SignOff => (
            Some(s.ports.providers.provider(&found.provider_credit_code).await?),
            Some(s.ports.providers.standing(&found.provider_credit_code).await?),
        ),
        _ => (None, None),
    };
    let today = s.today();
    let year = chrono::Datelike::year(&today);
    let officer = call.principal.subject.clone();
    write::run(s, &call, async |change| {
        let claim = record::find::<ClaimRecord>(&mut *change.tx, found.id.as_str())
            .await?
            .ok_or_else(|| Error::NotFound(found.name()))?;
        if !payable(&claim) || claim.stamp.revision != found.stamp.revision {
            return Err(Error::precondition(
                "CLAIM_STATE",
                format!("finance signs off an approved claim; this one is {}", claim.state.to_lowercase()),
            ));
        }
        let existing = record::find::<ClaimPaymentRecord>(&mut *change.tx, claim.id.as_str()).await?;
        // A payment returned, or signed off for an amount the claim no longer has (recalculated
        // after a rate change and approved again), is signed off anew.
        if let Some(e) = &existing
            && e.state != store::RETURNED
            && (e.state == store::RELEASED || e.total_fen == claim.total_fen)
        {
            return Err(Error::precondition(
                "CLAIM_STATE",
                format!("the claim's payment is {} already", e.state.to_lowercase()),
            ));
        }
        let now = qiancheng_platform::time::now_micros();
        let mut record = ClaimPaymentRecord {
            claim_id: claim.id.clone(),
            region: claim.region,
            provider_credit_code: claim.provider_credit_code.clone(),
            state: store::RETURNED.to_owned(),
            budget_year: year,
            portions: portions.clone(),
            shortfalls: Vec::new(),
            total_fen: total,
            return_reasons: reasons.clone(),
            payee_holder: String::new(),
            payee_bank: String::new(),
            payee_number: String::new(),
            signed_off_by: officer.clone(),
            signed_off_on: Some(today),
            released_by: String::new(),
            waiting_since_micros: now,
            stamp: existing.as_ref().map_or_else(Stamp::new, |e| e.stamp),
        };
        if let Some(standing) = &standing {
            let receivables = store::receivables_of(&mut *change.tx, &claim.provider_credit_code).await?;
            unless_frozen(standing, &receivables)?;
        }
        if let Some(provider) = &provider {
            record.payee_holder = provider.account.holder.clone();
            record.payee_bank = provider.account.bank.clone();
            record.payee_number = provider.account.normalized_number();
            let budgets = store::budgets_of(&mut *change.tx, claim.region, year).await?;
            let payments = store::payments_of(&mut *change.tx, claim.region, year).await?;
            let lacking = shortfalls(&budgets, &payments, &portions);
            record.state = if lacking.is_empty() { store::SIGNED_OFF } else { store::WAITING_FUNDS }.to_owned();
            record.shortfalls = lacking;
        }
        if existing.is_some() {
            record.stamp.touch();
            record::update(&mut change.tx, &record).await?;
        } else {
            record::insert(&mut change.tx, &record).await?;
        }
        let action = match record.state.as_str() {
            store::SIGNED_OFF => "claim.payment.sign_off",
            store::WAITING_FUNDS => "claim.payment.wait_for_funds",
            _ => "claim.payment.return",
        };
        change.audit_under(
            &claim.policy_version,
            action,
            record.claim(),
            serde_json::json!({ "level": claim.region.code(), "approved_by": claim.approved_by,
                "portions": record.portions, "shortfalls": record.shortfalls, "total_fen": total,
                "return_reasons": record.return_reasons, "budget_year": year }),
        );
        Ok(SignOffClaimResponse { payment: Some(shown(&record, &[])) })
    })
    .await
}

/// The policy's account of a ledger line, at `region`.
fn account_of(region: qiancheng_domain::RegionCode, account: &LedgerAccount) -> String {
    match account {
        LedgerAccount::Fund { fund } => store::fund_account(region, fund.code()),
        LedgerAccount::ProviderPayable { account_number } => store::payable_account(account_number),
    }
}

/// ReleasePayment.
pub async fn release_payment(s: &Subsidy, call: Call<ReleasePaymentRequest>) -> Result<ReleasePaymentResponse, Error> {
    let level = finance_level(&call.principal)?;
    let found = claim_named(s, &call.message.name).await?;
    same_level(&found, level)?;
    let policy = policy_of(&found)?;
    // The account as selection holds it at release, and the provider's standing, read before
    // the transaction.
    let provider = s.ports.providers.provider(&found.provider_credit_code).await?;
    let standing = s.ports.providers.standing(&found.provider_credit_code).await?;
    let today = s.today();
    let officer = call.principal.subject.clone();
    write::run(s, &call, async |change| {
        let claim = record::find::<ClaimRecord>(&mut *change.tx, found.id.as_str())
            .await?
            .ok_or_else(|| Error::NotFound(found.name()))?;
        let payment = record::find::<ClaimPaymentRecord>(&mut *change.tx, claim.id.as_str()).await?;
        let instructions = store::instructions_of(&mut *change.tx, &claim.id).await?;
        if payment.as_ref().is_some_and(|p| p.state == store::RELEASED) {
            // Released before: the instruction as it stands, nothing moves.
            let live = instructions
                .iter()
                .rev()
                .find(|i| i.state != store::RESENT)
                .ok_or_else(|| Error::corrupt("a released claim without an instruction"))?;
            return Ok(ReleasePaymentResponse { instruction: Some(shown_instruction(live)), released_now: false });
        }
        // SUBS-RECOVER: a frozen provider is not paid, whatever its claim's state.
        let receivables = store::receivables_of(&mut *change.tx, &claim.provider_credit_code).await?;
        unless_frozen(&standing, &receivables)?;
        let mut payment =
            payment.ok_or_else(|| Error::precondition("CLAIM_STATE", "finance has not signed the claim off"))?;
        if !payable(&claim) || payment.total_fen != claim.total_fen {
            return Err(Error::precondition(
                "CLAIM_STATE",
                "the claim changed since it was signed off (recalculated, or back in review): sign it off again once \
                 it is approved",
            ));
        }
        if payment.state != store::SIGNED_OFF {
            return Err(Error::precondition(
                "CLAIM_STATE",
                format!(
                    "a payment is released once signed off and funded; this one is {}",
                    payment.state.to_lowercase()
                ),
            ));
        }
        // SUBS-PAY: the account signed off is the one selection holds now.
        let signed = BankAccount {
            holder: payment.payee_holder.clone(),
            bank: payment.payee_bank.clone(),
            number: payment.payee_number.clone(),
        };
        Error::unless_passed(subs_pay_account(&provider.account, &signed))?;
        let instruction = PolicyInstruction {
            instruction_id: format!("{}-{}", claim.id, instructions.len() + 1),
            claim_id: claim.id.clone(),
            payee: signed.clone(),
            portions: payment.portions.clone(),
            pay_on: today,
        };
        let paid_ids: Vec<String> = instructions.iter().map(|i| i.id.clone()).collect();
        let already_paid: i64 = instructions
            .iter()
            .filter(|i| i.state == store::SENT || i.state == store::PAID || i.state == store::OFFSET)
            .map(|i| i.amount_fen + i.offset_fen)
            .sum();
        let facts = PaymentFacts {
            instruction: instruction.clone(),
            provider_account: provider.account.clone(),
            claim_approved: payable(&claim),
            approved_fen: qiancheng_domain::Money::from_fen(claim.total_fen),
            already_paid_fen: qiancheng_domain::Money::from_fen(already_paid),
            notice_end: claim
                .notice_ends_on
                .ok_or_else(|| Error::precondition("CLAIM_STATE", "the claim was never on notice"))?,
            open_objections: 0,
            provider_disqualified_on: provider.disqualified_on,
        };
        let decision = subs_pay(&policy, &facts, &paid_ids);
        let entries = match decision.outcome {
            PaymentOutcome::Pay { entries } => entries,
            PaymentOutcome::AlreadyPaid | PaymentOutcome::Refused => {
                let rule = decision.first_failure().cloned().unwrap_or_else(|| {
                    qiancheng_domain::policy::decision::RuleResult::fail("SUBS-PAY", "不予支付", "refused")
                });
                return Err(Error::Refused(rule));
            }
        };
        let lines: Vec<Line> = entries
            .iter()
            .map(|e| Line {
                account: account_of(claim.region, &e.account),
                side: e.side,
                amount_fen: e.amount_fen.fen(),
            })
            .collect();
        store::post(
            &mut change.tx,
            &format!("{}-release", instruction.instruction_id),
            &instruction.instruction_id,
            "RELEASE",
            &lines,
            &officer,
        )
        .await?;
        let total = instruction.total().map_or(0, |m| m.fen());
        // SUBS-RECOVER: what the provider owes the same funds of this bureau is kept back.
        let offsets = offset(change, &claim, &instruction, &receivables, &signed, &officer).await?;
        let offset_fen: i64 = offsets.iter().map(|o| o.amount_fen.fen()).sum();
        let stored = InstructionRecord::released(
            instruction.instruction_id.clone(),
            (&claim.id, claim.region, &claim.provider_credit_code),
            &signed,
            (instruction.portions.clone(), total - offset_fen, offset_fen),
            (today, &officer),
        );
        record::insert(&mut change.tx, &stored).await?;
        payment.state = store::RELEASED.to_owned();
        payment.released_by = officer.clone();
        payment.stamp.touch();
        record::update(&mut change.tx, &payment).await?;
        change.audit_under(
            &claim.policy_version,
            "payment.release",
            stored.name(),
            serde_json::json!({ "claim": claim.name(), "amount_fen": stored.amount_fen, "portions": stored.portions,
                "offset_fen": offset_fen, "offsets": offsets, "payee_number": stored.payee_number,
                "rules": decision.rules, "ledger": lines.len() }),
        );
        Ok(ReleasePaymentResponse { instruction: Some(shown_instruction(&stored)), released_now: true })
    })
    .await
}

/// SUBS-RECOVER: keeps back from `instruction` what its provider owes the same funds of the same
/// finance bureau (oldest receivable first, `subs_recover_offsets`): posts the offset as its own
/// balanced movement (the provider's payable to its receivable), records each offset as a
/// settlement of its receivable and lowers what the receivable owes, settling it at zero. Runs
/// inside the release's write, so a retried release (answered as it stands) never offsets twice.
async fn offset(
    change: &mut write::Change,
    claim: &ClaimRecord,
    instruction: &PolicyInstruction,
    receivables: &[ReceivableRecord],
    payee: &BankAccount,
    officer: &str,
) -> Result<Vec<qiancheng_domain::policy::payment::Offset>, Error> {
    let open: Vec<&ReceivableRecord> =
        receivables.iter().filter(|r| r.state == store::OPEN && r.region == claim.region).collect();
    let ids: Vec<String> = open.iter().map(|r| r.id.clone()).collect();
    let mut settlements = store::settlements_of(&mut *change.tx, &ids).await?;
    let owed: Vec<OpenReceivable> = open
        .iter()
        .map(|r| OpenReceivable {
            receivable_id: r.id.clone(),
            region: r.region,
            outstanding: r.outstanding(&settlements),
        })
        .collect();
    let (offsets, rule) = subs_recover_offsets(claim.region, &instruction.portions, &owed);
    if offsets.is_empty() {
        return Ok(offsets);
    }
    let total: i64 = offsets.iter().map(|o| o.amount_fen.fen()).sum();
    let mut lines = vec![Line {
        account: store::payable_account(&payee.normalized_number()),
        side: EntrySide::Debit,
        amount_fen: total,
    }];
    lines.extend(offsets.iter().map(|o| Line {
        account: store::receivable_account(&claim.provider_credit_code),
        side: EntrySide::Credit,
        amount_fen: o.amount_fen.fen(),
    }));
    let id = &instruction.instruction_id;
    store::post(&mut change.tx, &format!("{id}-offset"), id, "OFFSET", &lines, officer).await?;
    let now = qiancheng_platform::time::now_micros();
    for o in &offsets {
        let mut receivable = open
            .iter()
            .find(|r| r.id == o.receivable_id)
            .map(|r| (*r).clone())
            .ok_or_else(|| Error::corrupt("an offset against a receivable not read"))?;
        let n = settlements.iter().filter(|s| s.receivable_id == receivable.id).count() + 1;
        let settlement = SettlementRecord {
            id: format!("{}-S{n}", receivable.id),
            receivable_id: receivable.id.clone(),
            kind: store::OFFSET_SETTLEMENT.to_owned(),
            fund: o.fund.code().to_owned(),
            amount_fen: o.amount_fen.fen(),
            instruction_id: id.clone(),
            bank_reference: String::new(),
            note: format!("offset against the payment of {}", claim.name()),
            recorded_by: officer.to_owned(),
            create_time_micros: now,
        };
        record::insert(&mut change.tx, &settlement).await?;
        settlements.push(settlement);
        // Re-read: an earlier offset of this release may have lowered it already.
        let stored = record::find::<ReceivableRecord>(&mut *change.tx, receivable.id.as_str())
            .await?
            .ok_or_else(|| Error::corrupt("a receivable vanished while offset"))?;
        receivable.stamp = stored.stamp;
        receivable.outstanding_fen = stored.outstanding_fen;
        receivable.settle(o.amount_fen.fen())?;
        record::update(&mut change.tx, &receivable).await?;
        change.audit_under(
            &receivable.policy_version,
            "receivable.offset",
            receivable.name(),
            serde_json::json!({ "instruction": format!("paymentInstructions/{id}"), "claim": claim.name(),
                "fund": o.fund.code(), "amount_fen": o.amount_fen.fen(),
                "outstanding_fen": receivable.outstanding_fen, "state": receivable.state, "rule": rule }),
        );
    }
    Ok(offsets)
}

/// GetClaimPayment.
pub async fn get_claim_payment(
    s: &Subsidy,
    call: Call<GetClaimPaymentRequest>,
) -> Result<GetClaimPaymentResponse, Error> {
    let scope = money_read_scope(&call.principal)?;
    let id = qiancheng_platform::call::id_of(&call.message.name, "claims", "name")?;
    // Permission before existence: NOT_FOUND only to callers who see every payment.
    let payment = match record::find::<ClaimPaymentRecord>(s.db.pool(), id).await? {
        Some(p) if scope.admits(p.region, &p.provider_credit_code) => p,
        None if scope == Scope::All => return Err(Error::NotFound(call.message.name.clone())),
        _ => {
            return Err(Error::denied(
                "the payments of claims are read by finance of their level, their provider, the city and auditors",
            ));
        }
    };
    let instructions = store::instructions_of(s.db.pool(), id).await?;
    Ok(GetClaimPaymentResponse { payment: Some(shown(&payment, &instructions)) })
}

/// ListPaymentInstructions.
pub async fn list_payment_instructions(
    s: &Subsidy,
    call: Call<ListPaymentInstructionsRequest>,
) -> Result<ListPaymentInstructionsResponse, Error> {
    let scope = money_read_scope(&call.principal)?;
    let m = &call.message;
    let state = instruction_state_code(m.state);
    let page =
        PageRequest::parse(m.page_size, &m.page_token, &format!("paymentInstructions|{}", state.unwrap_or_default()))?;
    let filter =
        Filter::new().eq_given("pi.state", state).within(&scope, "pi.region_code", Some("pi.provider_credit_code"));
    let (records, next_page_token) = record::page::<InstructionRecord>(&s.db, filter, &page).await?;
    Ok(ListPaymentInstructionsResponse {
        instructions: records.iter().map(shown_instruction).collect(),
        next_page_token,
    })
}

/// VerifyLedger.
pub async fn verify_ledger(s: &Subsidy, call: Call<VerifyLedgerRequest>) -> Result<VerifyLedgerResponse, Error> {
    call.principal
        .require_any(&[qiancheng_platform::auth::Role::FinanceOfficer, qiancheng_platform::auth::Role::Auditor])?;
    let (unbalanced, movements, balances) = store::verify(s.db.pool()).await?;
    Ok(VerifyLedgerResponse {
        balanced: unbalanced.is_empty(),
        movements,
        unbalanced_movements: unbalanced,
        balances: balances.into_iter().map(|(account, balance_fen)| LedgerBalance { account, balance_fen }).collect(),
    })
}
