//! Paying an approved claim (补贴资金拨付): SUBS-PAY, with SUBS-NOTICE and PROV-DISQUALIFIED
//! checked once more on the day of payment.
//!
//! Finance pays a claim by a payment instruction (支付指令). The instruction goes only to the
//! provider's recorded bank account, and only once: a repeated instruction id is recognised and
//! moves nothing, and no claim is paid beyond its approved amount. Every movement is a set of
//! ledger entries whose debits equal their credits, in integer fen. Posting the entries and
//! remembering paid instruction ids is the services' part.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::policy::decision::{Decision, RuleResult};
use crate::policy::set::{Fund, PolicySet};
use crate::policy::subsidy::{ClaimOutcome, subs_notice_allows_payment};
use crate::{Error, Money};

/// A bank account (银行账户): holder, bank and number.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankAccount {
    /// The account holder (户名), the provider's registered name.
    pub holder: String,
    /// The bank and branch (开户行).
    pub bank: String,
    /// The account number (账号); spaces and hyphens are ignored when compared.
    pub number: String,
}

impl BankAccount {
    /// Whether two accounts are the same: same holder and number, ignoring spacing in the number.
    /// The bank name is not compared, its spelling varies while the number does not.
    pub fn same_as(&self, other: &BankAccount) -> bool {
        let number = self.normalized_number();
        !number.is_empty() && number == other.normalized_number() && self.holder.trim() == other.holder.trim()
    }

    /// The account number without spaces or hyphens.
    pub fn normalized_number(&self) -> String {
        self.number.chars().filter(|c| !c.is_whitespace() && *c != '-').collect()
    }
}

/// The part of a payment charged to one fund (SUBS-FUND).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FundPortion {
    /// The fund charged.
    pub fund: Fund,
    /// The amount, in fen.
    pub amount_fen: Money,
}

/// A payment instruction (支付指令) finance issues for an approved claim, SUBS-PAY.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentInstruction {
    /// The instruction's identifier; the same id is paid at most once.
    pub instruction_id: String,
    /// The claim it pays.
    pub claim_id: String,
    /// The account the money goes to.
    pub payee: BankAccount,
    /// The amount per fund.
    pub portions: Vec<FundPortion>,
    /// The day of payment.
    pub pay_on: NaiveDate,
}

impl PaymentInstruction {
    /// The total of the portions, `None` on overflow.
    pub fn total(&self) -> Option<Money> {
        Money::checked_sum(self.portions.iter().map(|p| p.amount_fen))
    }
}

/// What SUBS-PAY needs to know besides the instruction.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentFacts {
    /// The instruction.
    pub instruction: PaymentInstruction,
    /// The provider's recorded account (备案账户).
    pub provider_account: BankAccount,
    /// The claim was approved (审批通过).
    pub claim_approved: bool,
    /// The claim's approved total, in fen.
    pub approved_fen: Money,
    /// What other instructions already paid on the claim, in fen.
    #[serde(default)]
    pub already_paid_fen: Money,
    /// The last day of public notice (SUBS-NOTICE).
    pub notice_end: NaiveDate,
    /// Objections raised during notice and not yet resolved.
    #[serde(default)]
    pub open_objections: u32,
    /// The day the provider was disqualified, if it was (PROV-DISQUALIFIED).
    #[serde(default)]
    pub provider_disqualified_on: Option<NaiveDate>,
}

/// Debit or credit (借方、贷方).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EntrySide {
    /// 借.
    Debit,
    /// 贷.
    Credit,
}

/// An account of the subsidy ledger (补贴资金明细账), SUBS-PAY.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LedgerAccount {
    /// The fund the subsidy is charged to (资金列支), SUBS-FUND.
    Fund {
        /// The fund.
        fund: Fund,
    },
    /// The subsidy paid out to the provider (应付承训机构补贴), at its recorded account.
    ProviderPayable {
        /// The account number the money goes to, without spaces or hyphens.
        account_number: String,
    },
}

/// One ledger entry (会计分录行): an account, a side and an amount, under one instruction.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerEntry {
    /// The payment instruction the entry belongs to.
    pub instruction_id: String,
    /// The account.
    pub account: LedgerAccount,
    /// Debit or credit.
    pub side: EntrySide,
    /// The amount, in fen, always positive.
    pub amount_fen: Money,
}

/// What SUBS-PAY decided about an instruction.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentOutcome {
    /// Pay: post these balanced entries.
    Pay {
        /// The entries to post.
        entries: Vec<LedgerEntry>,
    },
    /// The instruction was paid before: nothing moves again.
    AlreadyPaid,
    /// Refused: nothing moves; the failed rules say why.
    Refused,
}

/// A payment decision.
pub type PaymentDecision = Decision<PaymentOutcome>;

/// SUBS-FUND, SUBS-PAY: what a claim's lines come to per fund, in fund order; funds with nothing
/// to pay are left out.
pub fn subs_pay_portions(claim: &ClaimOutcome) -> Result<Vec<FundPortion>, Error> {
    let mut by_fund: Vec<FundPortion> = Vec::new();
    for line in claim.lines.iter().filter(|l| l.amount_fen > Money::ZERO) {
        match by_fund.iter_mut().find(|p| p.fund == line.fund) {
            Some(p) => {
                p.amount_fen = p
                    .amount_fen
                    .checked_add(line.amount_fen)
                    .ok_or_else(|| Error::Facts("the fund portion overflows".to_owned()))?;
            }
            None => by_fund.push(FundPortion { fund: line.fund, amount_fen: line.amount_fen }),
        }
    }
    Ok(by_fund)
}

/// SUBS-PAY: the ledger entries a payment produces. Each fund portion debits its fund and credits
/// the provider's payable at the payee account, so the entries balance by construction. A portion
/// that is not positive is an error in the instruction, never a zero entry.
pub fn subs_pay_entries(instruction: &PaymentInstruction) -> Result<Vec<LedgerEntry>, Error> {
    if instruction.portions.is_empty() {
        return Err(Error::Facts(format!("payment instruction {} has no portions", instruction.instruction_id)));
    }
    let mut entries = Vec::with_capacity(instruction.portions.len() * 2);
    for portion in &instruction.portions {
        if portion.amount_fen <= Money::ZERO {
            return Err(Error::Facts(format!(
                "payment instruction {} has a portion of {} yuan, not positive",
                instruction.instruction_id, portion.amount_fen
            )));
        }
        let entry = |account, side| LedgerEntry {
            instruction_id: instruction.instruction_id.clone(),
            account,
            side,
            amount_fen: portion.amount_fen,
        };
        entries.push(entry(LedgerAccount::Fund { fund: portion.fund }, EntrySide::Debit));
        entries.push(entry(
            LedgerAccount::ProviderPayable { account_number: instruction.payee.normalized_number() },
            EntrySide::Credit,
        ));
    }
    Ok(entries)
}

/// SUBS-PAY: a set of entries balances. For every instruction its debits equal its credits, in
/// integer fen; no entry is zero or negative; an empty set moves nothing and does not balance.
pub fn subs_pay_entries_balance(entries: &[LedgerEntry]) -> RuleResult {
    if entries.is_empty() {
        return RuleResult::fail("SUBS-PAY", "无记账分录", "no ledger entries");
    }
    if let Some(bad) = entries.iter().find(|e| e.amount_fen <= Money::ZERO) {
        return RuleResult::fail(
            "SUBS-PAY",
            format!("支付指令{}有金额为{}元的分录", bad.instruction_id, bad.amount_fen),
            format!("instruction {} has an entry of {} yuan, not positive", bad.instruction_id, bad.amount_fen),
        );
    }
    // i128 sums of i64 fen cannot overflow for any slice that fits in memory.
    let mut sums: BTreeMap<&str, (i128, i128)> = BTreeMap::new();
    for e in entries {
        let sum = sums.entry(e.instruction_id.as_str()).or_default();
        match e.side {
            EntrySide::Debit => sum.0 += i128::from(e.amount_fen.fen()),
            EntrySide::Credit => sum.1 += i128::from(e.amount_fen.fen()),
        }
    }
    if let Some((id, (debit, credit))) = sums.iter().find(|(_, (d, c))| d != c) {
        let (debit, credit) = (fen_display(*debit), fen_display(*credit));
        return RuleResult::fail(
            "SUBS-PAY",
            format!("支付指令{id}借方{debit}元与贷方{credit}元不平"),
            format!("instruction {id} does not balance: debits {debit} yuan, credits {credit} yuan"),
        );
    }
    let total = fen_display(sums.values().map(|s| s.0).sum());
    RuleResult::pass(
        "SUBS-PAY",
        format!("{}条分录借贷平衡,合计{total}元", entries.len()),
        format!("{} entries balance, debits equal credits at {total} yuan", entries.len()),
    )
}

fn fen_display(fen: i128) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// SUBS-PAY: the instruction pays the provider's recorded account.
pub fn subs_pay_account(recorded: &BankAccount, payee: &BankAccount) -> RuleResult {
    if recorded.normalized_number().is_empty() {
        RuleResult::fail("SUBS-PAY", "承训机构无备案收款账户", "the provider has no recorded account")
    } else if recorded.same_as(payee) {
        RuleResult::pass("SUBS-PAY", "支付至承训机构备案账户", "paid to the provider's recorded account")
    } else {
        RuleResult::fail(
            "SUBS-PAY",
            "收款账户与承训机构备案账户不一致,不予支付",
            "the payee is not the provider's recorded account: refused",
        )
    }
}

/// SUBS-PAY: an instruction id is paid once; `paid_ids` are the ids already paid.
pub fn subs_pay_once(instruction_id: &str, paid_ids: &[String]) -> RuleResult {
    if instruction_id.trim().is_empty() {
        RuleResult::fail("SUBS-PAY", "支付指令无编号", "the payment instruction has no id")
    } else if paid_ids.iter().any(|id| id == instruction_id) {
        RuleResult::fail(
            "SUBS-PAY",
            format!("支付指令{instruction_id}已支付,不重复支付"),
            format!("instruction {instruction_id} was already paid: it is not paid again"),
        )
    } else {
        RuleResult::pass(
            "SUBS-PAY",
            format!("支付指令{instruction_id}未曾支付"),
            format!("instruction {instruction_id} has not been paid"),
        )
    }
}

/// SUBS-SOD, finance (七(五) "同级财政部门依规拨付"): a claim approved by the bureau of `filing`
/// (the city, or a county) is signed off and paid by the finance bureau of the same level;
/// `finance` is the level of the finance officer who acts.
pub fn subs_sod_finance(filing: crate::RegionCode, finance: crate::RegionCode) -> RuleResult {
    if filing == finance {
        RuleResult::pass(
            "SUBS-SOD",
            format!("由同级财政部门({})拨付", finance.code()),
            format!("paid by the finance bureau of the same level ({})", finance.code()),
        )
    } else {
        RuleResult::fail(
            "SUBS-SOD",
            format!("补贴由同级财政部门({})拨付,本部门({})不得办理", filing.code(), finance.code()),
            format!(
                "the claim is paid by the finance bureau of its approving bureau's level ({}), not by {}",
                filing.code(),
                finance.code()
            ),
        )
    }
}

/// What a provider still owes on one receivable, as offsetting sees it (SUBS-RECOVER).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenReceivable {
    /// The receivable's id.
    pub receivable_id: String,
    /// The finance bureau (level) whose funds paid the money it recovers.
    pub region: crate::RegionCode,
    /// What is still owed, per fund.
    pub outstanding: Vec<FundPortion>,
}

/// One offset (抵扣): part of a payment kept back against a receivable of the same fund.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Offset {
    /// The receivable it settles.
    pub receivable_id: String,
    /// The fund of both the payment's portion and the receivable.
    pub fund: Fund,
    /// The amount kept back, in fen, always positive.
    pub amount_fen: Money,
}

/// SUBS-RECOVER: what of a payment by the finance bureau of `region` (its `portions` per fund)
/// is offset against the provider's receivables, given oldest first. A receivable is offset only
/// against a payment of the same finance bureau and only fund by fund: a portion of one fund
/// settles what is owed to that fund, never another fund's or another bureau's debt. Each offset
/// takes the smaller of what is left of the portion and what is still owed, so no receivable
/// falls below zero and no payment below zero; what is not offset is paid. The rule says what was
/// kept back, or that nothing was.
pub fn subs_recover_offsets(
    region: crate::RegionCode,
    portions: &[FundPortion],
    receivables: &[OpenReceivable],
) -> (Vec<Offset>, RuleResult) {
    let mut offsets: Vec<Offset> = Vec::new();
    for portion in portions {
        let mut left = portion.amount_fen.fen().max(0);
        for r in receivables.iter().filter(|r| r.region == region) {
            if left == 0 {
                break;
            }
            let taken: i64 = offsets
                .iter()
                .filter(|o| o.receivable_id == r.receivable_id && o.fund == portion.fund)
                .map(|o| o.amount_fen.fen())
                .sum();
            let owed: i64 =
                r.outstanding.iter().filter(|o| o.fund == portion.fund).map(|o| o.amount_fen.fen()).sum::<i64>()
                    - taken;
            let take = left.min(owed);
            if take > 0 {
                offsets.push(Offset {
                    receivable_id: r.receivable_id.clone(),
                    fund: portion.fund,
                    amount_fen: Money::from_fen(take),
                });
                left -= take;
            }
        }
    }
    let total = fen_display(offsets.iter().map(|o| i128::from(o.amount_fen.fen())).sum());
    let rule = if offsets.is_empty() {
        RuleResult::pass(
            "SUBS-RECOVER",
            format!("承训机构在本级({})同一资金渠道无待追回款,全额拨付", region.code()),
            format!("nothing owed to the same fund of this finance bureau ({}): paid in full", region.code()),
        )
    } else {
        RuleResult::pass(
            "SUBS-RECOVER",
            format!("以本次拨付抵扣同级({})同一资金渠道的待追回款{total}元", region.code()),
            format!(
                "{total} yuan of this payment offset against what is owed to the same funds of this finance bureau ({})",
                region.code()
            ),
        )
    };
    (offsets, rule)
}

/// SUBS-PAY: only an approved claim is paid, and never beyond its approved amount.
fn subs_pay_claim(facts: &PaymentFacts) -> RuleResult {
    let claim = &facts.instruction.claim_id;
    if !facts.claim_approved {
        return RuleResult::fail(
            "SUBS-PAY",
            format!("补贴申请{claim}未审批通过"),
            format!("claim {claim} is not approved"),
        );
    }
    let Some(total) = facts.instruction.total() else {
        return RuleResult::fail("SUBS-PAY", "支付金额溢出", "the payment total overflows");
    };
    let left = facts.approved_fen.checked_sub(facts.already_paid_fen).unwrap_or(Money::ZERO);
    if total <= Money::ZERO {
        RuleResult::fail(
            "SUBS-PAY",
            format!("支付金额{total}元无效"),
            format!("a payment of {total} yuan is not valid"),
        )
    } else if total > left {
        RuleResult::fail(
            "SUBS-PAY",
            format!("支付{total}元超过核定金额{}元中未付的{left}元", facts.approved_fen),
            format!("paying {total} yuan exceeds the {left} yuan left of the approved {} yuan", facts.approved_fen),
        )
    } else {
        RuleResult::pass(
            "SUBS-PAY",
            format!("补贴申请{claim}已审批,支付{total}元未超过未付的{left}元"),
            format!("claim {claim} is approved; {total} yuan is within the {left} yuan left"),
        )
    }
}

/// SUBS-PAY: decide a payment instruction. It is paid only to the provider's recorded account
/// (`subs_pay_account`), once per instruction id given the ids already paid (`subs_pay_once`), for
/// an approved claim within its approved amount, after notice ended with no open objection
/// (SUBS-NOTICE), to a provider not disqualified (PROV-DISQUALIFIED), and only with entries that
/// balance (`subs_pay_entries_balance`). A repeated instruction is `AlreadyPaid` whatever else
/// holds, so a retry never moves money twice.
pub fn subs_pay(policy: &PolicySet, facts: &PaymentFacts, paid_ids: &[String]) -> PaymentDecision {
    let instruction = &facts.instruction;
    let once = subs_pay_once(&instruction.instruction_id, paid_ids);
    let already_paid = paid_ids.contains(&instruction.instruction_id);
    let pay_on = instruction.pay_on;
    let notice = if subs_notice_allows_payment(facts.notice_end, pay_on, facts.open_objections as usize) {
        RuleResult::pass(
            "SUBS-NOTICE",
            format!("公示于{}结束且无未处理异议", facts.notice_end),
            format!("notice ended on {} with no open objection", facts.notice_end),
        )
    } else if pay_on <= facts.notice_end {
        RuleResult::fail(
            "SUBS-NOTICE",
            format!("公示至{}结束,{pay_on}不得支付", facts.notice_end),
            format!("notice runs until {}: no payment on {pay_on}", facts.notice_end),
        )
    } else {
        RuleResult::fail(
            "SUBS-NOTICE",
            format!("尚有{}项异议未处理,暂缓支付", facts.open_objections),
            format!("{} objection(s) still open: payment waits", facts.open_objections),
        )
    };
    let disqualified = match facts.provider_disqualified_on {
        Some(on) if on <= pay_on => RuleResult::fail(
            "PROV-DISQUALIFIED",
            format!("承训机构{on}被取消资格,未拨付补贴不予拨付"),
            format!("the provider was disqualified on {on}: unpaid subsidies are refused"),
        ),
        _ => RuleResult::pass("PROV-DISQUALIFIED", "承训机构未被取消资格", "the provider is not disqualified"),
    };
    let mut rules = vec![
        once,
        subs_pay_account(&facts.provider_account, &instruction.payee),
        subs_pay_claim(facts),
        notice,
        disqualified,
    ];
    let outcome = if already_paid {
        PaymentOutcome::AlreadyPaid
    } else if rules.iter().any(|r| !r.passed) {
        PaymentOutcome::Refused
    } else {
        match subs_pay_entries(instruction) {
            Ok(entries) => {
                let balance = subs_pay_entries_balance(&entries);
                let balanced = balance.passed;
                rules.push(balance);
                if balanced { PaymentOutcome::Pay { entries } } else { PaymentOutcome::Refused }
            }
            Err(e) => {
                rules.push(RuleResult::fail("SUBS-PAY", format!("支付指令无法记账:{e}"), e.to_string()));
                PaymentOutcome::Refused
            }
        }
    };
    Decision { outcome, policy_version: policy.version.clone(), rules }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    fn account() -> BankAccount {
        BankAccount {
            holder: "咸宁市某职业培训学校".to_owned(),
            bank: "中国工商银行咸宁分行".to_owned(),
            number: "1817 0001 0920 0012 345".to_owned(),
        }
    }

    fn facts() -> PaymentFacts {
        PaymentFacts {
            instruction: PaymentInstruction {
                instruction_id: "PAY-2026-0001".to_owned(),
                claim_id: "CLAIM-1".to_owned(),
                payee: BankAccount { number: "1817-0001-0920-0012-345".to_owned(), ..account() },
                portions: vec![
                    FundPortion { fund: Fund::EmploymentSubsidyFund, amount_fen: Money::from_fen(360_000) },
                    FundPortion { fund: Fund::SkillUpgradeAccount, amount_fen: Money::from_fen(180_001) },
                ],
                pay_on: d(2026, 4, 9),
            },
            provider_account: account(),
            claim_approved: true,
            approved_fen: Money::from_fen(540_001),
            already_paid_fen: Money::ZERO,
            notice_end: d(2026, 4, 8),
            open_objections: 0,
            provider_disqualified_on: None,
        }
    }

    fn entries_of(dec: &PaymentDecision) -> &[LedgerEntry] {
        match &dec.outcome {
            PaymentOutcome::Pay { entries } => entries,
            other => panic!("expected payment, got {other:?}: {:?}", dec.first_failure()),
        }
    }

    #[test]
    fn subs_pay_valid_instruction_pays_balanced_entries() {
        let p = PolicySet::xianning_2025_5_v1();
        let dec = subs_pay(&p, &facts(), &[]);
        assert!(dec.all_passed());
        let entries = entries_of(&dec);
        assert_eq!(entries.len(), 4);
        assert_eq!(entries[0].account, LedgerAccount::Fund { fund: Fund::EmploymentSubsidyFund });
        assert_eq!(entries[0].side, EntrySide::Debit);
        assert_eq!(entries[1].side, EntrySide::Credit);
        assert!(
            matches!(&entries[1].account, LedgerAccount::ProviderPayable { account_number } if account_number == "1817000109200012345")
        );
        assert_eq!(dec.policy_version, p.version);
    }

    #[test]
    fn subs_pay_same_instruction_twice_never_pays_twice() {
        let p = PolicySet::xianning_2025_5_v1();
        let f = facts();
        let first = subs_pay(&p, &f, &[]);
        assert!(matches!(first.outcome, PaymentOutcome::Pay { .. }));
        let paid = vec!["PAY-2026-0000".to_owned(), f.instruction.instruction_id.clone()];
        let again = subs_pay(&p, &f, &paid);
        assert_eq!(again.outcome, PaymentOutcome::AlreadyPaid);
        let rule = again.first_failure().expect("refused");
        assert_eq!(rule.code, "SUBS-PAY");
        assert!(rule.reason_zh.contains("不重复支付"));
        // A repeat of a paid instruction stays a repeat even when something else changed since.
        let mut changed = f.clone();
        changed.open_objections = 1;
        assert_eq!(subs_pay(&p, &changed, &paid).outcome, PaymentOutcome::AlreadyPaid);
    }

    #[test]
    fn subs_pay_second_instruction_cannot_exceed_approved_amount() {
        let p = PolicySet::xianning_2025_5_v1();
        let mut f = facts();
        f.instruction.instruction_id = "PAY-2026-0002".to_owned();
        f.already_paid_fen = Money::from_fen(540_001);
        let dec = subs_pay(&p, &f, &["PAY-2026-0001".to_owned()]);
        assert_eq!(dec.outcome, PaymentOutcome::Refused);
        assert!(dec.first_failure().expect("refused").reason_en.contains("exceeds"));
        // Exactly what is left is paid; one fen more is not.
        f.already_paid_fen = Money::ZERO;
        f.approved_fen = Money::from_fen(540_001);
        assert!(matches!(subs_pay(&p, &f, &[]).outcome, PaymentOutcome::Pay { .. }));
        f.approved_fen = Money::from_fen(540_000);
        assert_eq!(subs_pay(&p, &f, &[]).outcome, PaymentOutcome::Refused);
    }

    #[test]
    fn subs_pay_wrong_account_refused() {
        let p = PolicySet::xianning_2025_5_v1();
        let mut f = facts();
        f.instruction.payee.number = "6222 0000 0000 0000 000".to_owned();
        let dec = subs_pay(&p, &f, &[]);
        assert_eq!(dec.outcome, PaymentOutcome::Refused);
        let rule = dec.first_failure().expect("refused");
        assert_eq!(rule.code, "SUBS-PAY");
        assert!(rule.reason_zh.contains("备案账户"));
        // The right number under another holder is still the wrong account.
        let mut other_holder = facts();
        other_holder.instruction.payee.holder = "某某劳务公司".to_owned();
        assert_eq!(subs_pay(&p, &other_holder, &[]).outcome, PaymentOutcome::Refused);
        // No recorded account, no payment.
        let mut none = facts();
        none.provider_account.number = String::new();
        assert_eq!(subs_pay(&p, &none, &[]).outcome, PaymentOutcome::Refused);
    }

    #[test]
    fn subs_sod_finance_same_level_only() {
        let county = crate::RegionCode::parse("421221").expect("county");
        assert!(subs_sod_finance(county, county).passed);
        let r = subs_sod_finance(county, crate::RegionCode::CITY);
        assert!(!r.passed);
        assert_eq!(r.code, "SUBS-SOD");
        assert!(!subs_sod_finance(crate::RegionCode::CITY, county).passed);
    }

    #[test]
    fn subs_pay_unapproved_claim_refused() {
        let p = PolicySet::xianning_2025_5_v1();
        let mut f = facts();
        f.claim_approved = false;
        assert_eq!(subs_pay(&p, &f, &[]).outcome, PaymentOutcome::Refused);
    }

    #[test]
    fn subs_pay_last_day_of_notice_refused_day_after_paid() {
        let p = PolicySet::xianning_2025_5_v1();
        let mut f = facts();
        f.instruction.pay_on = f.notice_end;
        let dec = subs_pay(&p, &f, &[]);
        assert_eq!(dec.outcome, PaymentOutcome::Refused);
        assert_eq!(dec.first_failure().expect("refused").code, "SUBS-NOTICE");
        f.instruction.pay_on = d(2026, 4, 9);
        f.open_objections = 1;
        assert_eq!(subs_pay(&p, &f, &[]).outcome, PaymentOutcome::Refused);
        f.open_objections = 0;
        assert!(matches!(subs_pay(&p, &f, &[]).outcome, PaymentOutcome::Pay { .. }));
    }

    #[test]
    fn subs_pay_disqualified_provider_refused() {
        let p = PolicySet::xianning_2025_5_v1();
        let mut f = facts();
        f.provider_disqualified_on = Some(f.instruction.pay_on);
        let dec = subs_pay(&p, &f, &[]);
        assert_eq!(dec.outcome, PaymentOutcome::Refused);
        assert_eq!(dec.first_failure().expect("refused").code, "PROV-DISQUALIFIED");
    }

    #[test]
    fn subs_pay_entries_balance() {
        // The test shares the rule's name, so the rule is called by its path.
        let entries = subs_pay_entries(&facts().instruction).expect("entries");
        let r = super::subs_pay_entries_balance(&entries);
        assert!(r.passed, "{r:?}");
        assert!(r.reason_zh.contains("5400.01"));
        let mut off_by_a_fen = entries.clone();
        off_by_a_fen[1].amount_fen = Money::from_fen(359_999);
        let r = super::subs_pay_entries_balance(&off_by_a_fen);
        assert!(!r.passed);
        assert!(r.reason_en.contains("debits 5400.01 yuan, credits 5400.00 yuan"), "{}", r.reason_en);
        assert!(!super::subs_pay_entries_balance(&[]).passed);
        // Balancing in total is not enough: each instruction balances on its own.
        let mut crossed = entries;
        crossed[1].instruction_id = "PAY-OTHER".to_owned();
        let r = super::subs_pay_entries_balance(&crossed);
        assert!(!r.passed);
        assert!(r.reason_en.contains("PAY-2026-0001"), "{}", r.reason_en);
    }

    #[test]
    fn subs_pay_entries_refuse_non_positive_portions() {
        let mut instruction = facts().instruction;
        instruction.portions[1].amount_fen = Money::ZERO;
        assert!(subs_pay_entries(&instruction).is_err());
        instruction.portions.clear();
        assert!(subs_pay_entries(&instruction).is_err());
        let zero = LedgerEntry {
            instruction_id: "X".to_owned(),
            account: LedgerAccount::Fund { fund: Fund::EmploymentSubsidyFund },
            side: EntrySide::Debit,
            amount_fen: Money::ZERO,
        };
        assert!(
            !super::subs_pay_entries_balance(&[zero.clone(), LedgerEntry { side: EntrySide::Credit, ..zero }]).passed
        );
    }

    fn owed(id: &str, region: crate::RegionCode, fund: Fund, fen: i64) -> OpenReceivable {
        OpenReceivable {
            receivable_id: id.to_owned(),
            region,
            outstanding: vec![FundPortion { fund, amount_fen: Money::from_fen(fen) }],
        }
    }

    #[test]
    fn subs_recover_offset_exactly_the_payment_leaves_nothing_to_pay() {
        let county = crate::RegionCode::parse("421221").expect("county");
        let pay = [FundPortion { fund: Fund::EmploymentSubsidyFund, amount_fen: Money::from_fen(400_000) }];
        let (offsets, rule) =
            subs_recover_offsets(county, &pay, &[owed("R1", county, Fund::EmploymentSubsidyFund, 400_000)]);
        assert!(rule.passed);
        assert_eq!(offsets.len(), 1);
        assert_eq!(offsets[0].amount_fen, Money::from_fen(400_000));
        assert!(rule.reason_zh.contains("4000.00"), "{}", rule.reason_zh);
    }

    #[test]
    fn subs_recover_offset_one_fen_more_than_the_payment_leaves_a_fen_owed() {
        let county = crate::RegionCode::parse("421221").expect("county");
        let pay = [FundPortion { fund: Fund::EmploymentSubsidyFund, amount_fen: Money::from_fen(400_000) }];
        let (offsets, _) =
            subs_recover_offsets(county, &pay, &[owed("R1", county, Fund::EmploymentSubsidyFund, 400_001)]);
        assert_eq!(offsets.iter().map(|o| o.amount_fen.fen()).sum::<i64>(), 400_000);
        // One fen less than the payment: the receivable is settled and one fen is paid.
        let (offsets, _) =
            subs_recover_offsets(county, &pay, &[owed("R1", county, Fund::EmploymentSubsidyFund, 399_999)]);
        assert_eq!(offsets.iter().map(|o| o.amount_fen.fen()).sum::<i64>(), 399_999);
    }

    #[test]
    fn subs_recover_offset_never_across_funds_or_bureaus() {
        let county = crate::RegionCode::parse("421221").expect("county");
        let other = crate::RegionCode::parse("421222").expect("county");
        let pay = [FundPortion { fund: Fund::EmploymentSubsidyFund, amount_fen: Money::from_fen(400_000) }];
        let receivables = [
            owed("R1", county, Fund::SkillUpgradeAccount, 100_000),
            owed("R2", other, Fund::EmploymentSubsidyFund, 100_000),
            owed("R3", crate::RegionCode::CITY, Fund::EmploymentSubsidyFund, 100_000),
        ];
        let (offsets, rule) = subs_recover_offsets(county, &pay, &receivables);
        assert!(offsets.is_empty());
        assert!(rule.reason_en.contains("paid in full"));
    }

    #[test]
    fn subs_recover_offsets_take_the_oldest_first_fund_by_fund() {
        let county = crate::RegionCode::parse("421221").expect("county");
        let pay = [
            FundPortion { fund: Fund::EmploymentSubsidyFund, amount_fen: Money::from_fen(300) },
            FundPortion { fund: Fund::SkillUpgradeAccount, amount_fen: Money::from_fen(50) },
        ];
        let both = OpenReceivable {
            receivable_id: "R2".to_owned(),
            region: county,
            outstanding: vec![
                FundPortion { fund: Fund::EmploymentSubsidyFund, amount_fen: Money::from_fen(500) },
                FundPortion { fund: Fund::SkillUpgradeAccount, amount_fen: Money::from_fen(80) },
            ],
        };
        let (offsets, _) =
            subs_recover_offsets(county, &pay, &[owed("R1", county, Fund::EmploymentSubsidyFund, 200), both]);
        let got: Vec<(&str, Fund, i64)> =
            offsets.iter().map(|o| (o.receivable_id.as_str(), o.fund, o.amount_fen.fen())).collect();
        assert_eq!(
            got,
            vec![
                ("R1", Fund::EmploymentSubsidyFund, 200),
                ("R2", Fund::EmploymentSubsidyFund, 100),
                ("R2", Fund::SkillUpgradeAccount, 50)
            ]
        );
    }

    #[test]
    fn subs_pay_decision_json_round_trips() {
        let p = PolicySet::xianning_2025_5_v1();
        let dec = subs_pay(&p, &facts(), &[]);
        let json = serde_json::to_string(&dec).expect("ser");
        assert!(json.contains("\"kind\":\"PAY\""));
        assert_eq!(serde_json::from_str::<PaymentDecision>(&json).expect("de"), dec);
        let f = facts();
        assert_eq!(serde_json::from_str::<PaymentFacts>(&serde_json::to_string(&f).expect("ser")).expect("de"), f);
    }
}
