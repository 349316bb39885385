//! Money as stored (SUBS-FUND, SUBS-PAY): the finance bureaus' yearly budgets per fund, what
//! finance did with each approved claim, the payment instructions, and the double-entry ledger
//! whose every movement balances, checked inside the transaction that writes it.

use chrono::NaiveDate;
use qiancheng_domain::RegionCode;
use qiancheng_domain::policy::payment::{EntrySide, FundPortion};
use qiancheng_platform::db::{Reader, Tx};
use qiancheng_platform::record::{self, Filter, Record};
use qiancheng_platform::{Error, Stamp};

/// A claim's payment waits for funds: its level's budget does not cover it.
pub const WAITING_FUNDS: &str = "WAITING_FUNDS";
/// Signed off and charged to the budget, ready to release.
pub const SIGNED_OFF: &str = "SIGNED_OFF";
/// Returned by finance with reasons.
pub const RETURNED: &str = "RETURNED";
/// Its instruction is released.
pub const RELEASED: &str = "RELEASED";

/// An instruction released, its bank result not yet back.
pub const SENT: &str = "SENT";
/// Paid by the bank.
pub const PAID: &str = "PAID";
/// Failed at the bank.
pub const FAILED: &str = "FAILED";
/// Failed, then re-sent as another instruction.
pub const RESENT: &str = "RESENT";
/// Settled in full by offsets against the provider's receivables: nothing goes to the bank.
pub const OFFSET: &str = "OFFSET";

/// A finance bureau's yearly budget of one fund.
#[derive(Debug, Clone, PartialEq, Eq, Record)]
#[record(table = "fund_budget", alias = "fb", what = "the fund budget")]
pub struct FundBudgetRecord {
    /// `{region}_{year}_{fund}`.
    pub id: String,
    /// The level.
    #[column(name = "region_code", fixed)]
    pub region: RegionCode,
    /// The year.
    #[column(fixed)]
    pub year: i32,
    /// The fund's code (`Fund::code`).
    #[column(fixed)]
    pub fund: String,
    /// The figure, in fen.
    pub budget_fen: i64,
    /// Who recorded the figure.
    pub recorded_by: String,
    /// Revision and times.
    #[column(stamp)]
    pub stamp: Stamp,
}

impl FundBudgetRecord {
    /// The key of `region`'s budget of `fund` in `year`.
    pub fn id_of(region: RegionCode, year: i32, fund: &str) -> String {
        format!("{}_{year}_{fund}", region.code())
    }
}

/// What finance did with an approved claim.
#[derive(Debug, Clone, PartialEq, Eq, Record)]
#[record(table = "claim_payment", alias = "cp", key = "claim_id", what = "the claim's payment")]
pub struct ClaimPaymentRecord {
    /// The claim's id.
    pub claim_id: String,
    /// The finance bureau's level: the claim's filing bureau.
    #[column(name = "region_code", fixed)]
    pub region: RegionCode,
    /// The provider.
    #[column(fixed)]
    pub provider_credit_code: String,
    /// Where it stands.
    pub state: String,
    /// The budget year charged.
    pub budget_year: i32,
    /// What the lines come to per fund.
    #[column(json)]
    pub portions: Vec<FundPortion>,
    /// While waiting: what each fund lacks.
    #[column(json)]
    pub shortfalls: Vec<FundPortion>,
    /// The total, in fen.
    pub total_fen: i64,
    /// Why finance returned it.
    #[column(json)]
    pub return_reasons: Vec<String>,
    /// The account selection held at sign-off: holder.
    pub payee_holder: String,
    /// Its bank.
    pub payee_bank: String,
    /// Its number.
    pub payee_number: String,
    /// Who signed it off (or returned it).
    pub signed_off_by: String,
    /// When.
    pub signed_off_on: Option<NaiveDate>,
    /// Who released it.
    pub released_by: String,
    /// Since when it waits for funds (its place in the queue).
    pub waiting_since_micros: i64,
    /// Revision and times.
    #[column(stamp)]
    pub stamp: Stamp,
}

impl ClaimPaymentRecord {
    /// The claim's resource name.
    pub fn claim(&self) -> String {
        format!("claims/{}", self.claim_id)
    }
    /// Whether it holds its budget (signed off or released).
    pub fn commits(&self) -> bool {
        self.state == SIGNED_OFF || self.state == RELEASED
    }
}

/// A payment instruction as stored.
#[derive(Debug, Clone, PartialEq, Eq, Record)]
#[record(table = "payment_instruction", alias = "pi", what = "the payment instruction")]
pub struct InstructionRecord {
    /// The instruction id the bank sees.
    pub id: String,
    /// The claim.
    #[column(fixed)]
    pub claim_id: String,
    /// The finance bureau's level.
    #[column(name = "region_code", fixed)]
    pub region: RegionCode,
    /// The provider.
    #[column(fixed)]
    pub provider_credit_code: String,
    /// The payee's holder.
    #[column(fixed)]
    pub payee_holder: String,
    /// The payee's bank.
    #[column(fixed)]
    pub payee_bank: String,
    /// The payee's number.
    #[column(fixed)]
    pub payee_number: String,
    /// Per fund.
    #[column(json, fixed)]
    pub portions: Vec<FundPortion>,
    /// What the bank pays, in fen: the portions' total less `offset_fen`.
    #[column(fixed)]
    pub amount_fen: i64,
    /// What was kept back against the provider's receivables (SUBS-RECOVER), in fen.
    #[column(fixed)]
    pub offset_fen: i64,
    /// The day released.
    #[column(fixed)]
    pub pay_on: NaiveDate,
    /// Where it stands.
    pub state: String,
    /// The bank's reference, once paid.
    pub bank_reference: String,
    /// The bank's reason, when failed.
    pub failure_reason: String,
    /// The instruction it was re-sent as.
    pub resent_as: String,
    /// Who released it.
    #[column(fixed)]
    pub released_by: String,
    /// Revision and times.
    #[column(stamp)]
    pub stamp: Stamp,
}

impl InstructionRecord {
    /// A new instruction `id` of a claim (`claim_id`, `region`, `provider_credit_code`) to
    /// `payee`, released by `officer` on `pay_on`: `amount_fen` of the `portions` goes to the
    /// bank and `offset_fen` was kept back; offset in full, nothing goes to the bank.
    pub fn released(
        id: String,
        (claim_id, region, provider_credit_code): (&str, RegionCode, &str),
        payee: &qiancheng_domain::policy::payment::BankAccount,
        (portions, amount_fen, offset_fen): (Vec<FundPortion>, i64, i64),
        (pay_on, officer): (NaiveDate, &str),
    ) -> Self {
        Self {
            id,
            claim_id: claim_id.to_owned(),
            region,
            provider_credit_code: provider_credit_code.to_owned(),
            payee_holder: payee.holder.clone(),
            payee_bank: payee.bank.clone(),
            payee_number: payee.normalized_number(),
            portions,
            amount_fen,
            offset_fen,
            pay_on,
            state: if amount_fen == 0 { OFFSET } else { SENT }.to_owned(),
            bank_reference: String::new(),
            failure_reason: String::new(),
            resent_as: String::new(),
            released_by: officer.to_owned(),
            stamp: Stamp::new(),
        }
    }

    /// The resource name.
    pub fn name(&self) -> String {
        format!("paymentInstructions/{}", self.id)
    }
}

/// One line of the ledger as stored.
#[derive(Debug, Clone, PartialEq, Eq, Record)]
#[record(table = "ledger_entry", alias = "le", what = "the ledger entry")]
pub struct LedgerRecord {
    /// `{movement}-{n}`.
    pub id: String,
    /// The movement the line belongs to; each movement balances.
    #[column(fixed)]
    pub movement_id: String,
    /// The instruction it concerns.
    #[column(fixed)]
    pub instruction_id: String,
    /// RELEASE, BANK_PAID, BANK_FAILED, RESEND.
    #[column(fixed)]
    pub kind: String,
    /// `FUND:{region}:{fund}`, `PAYABLE:{number}` or `BANK:{region}`.
    #[column(fixed)]
    pub account: String,
    /// DEBIT or CREDIT.
    #[column(fixed)]
    pub side: String,
    /// Always positive, in fen.
    #[column(fixed)]
    pub amount_fen: i64,
    /// Who moved it.
    #[column(fixed)]
    pub recorded_by: String,
    /// When.
    #[column(fixed)]
    pub create_time_micros: i64,
}

/// The fund's ledger account of a level.
pub fn fund_account(region: RegionCode, fund: &str) -> String {
    format!("FUND:{}:{fund}", region.code())
}

/// The provider's payable at an account number (spaces and hyphens removed).
pub fn payable_account(number: &str) -> String {
    format!("PAYABLE:{number}")
}

/// The level's bank account (money that has left for the bank).
pub fn bank_account(region: RegionCode) -> String {
    format!("BANK:{}", region.code())
}

/// A line of a movement to post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The account.
    pub account: String,
    /// Debit or credit.
    pub side: EntrySide,
    /// In fen.
    pub amount_fen: i64,
}

fn side_code(side: EntrySide) -> &'static str {
    match side {
        EntrySide::Debit => "DEBIT",
        EntrySide::Credit => "CREDIT",
    }
}

/// Debits less credits of `filter`'s rows, summed by the database.
async fn signed_sum(tx: &mut Tx, condition: &str, value: Option<&str>) -> Result<i64, Error> {
    let sql = format!(
        "SELECT CAST(COALESCE(SUM(CASE WHEN side = 'DEBIT' THEN amount_fen ELSE -amount_fen END), 0) AS BIGINT) \
         FROM ledger_entry{condition}"
    );
    let query = sqlx::query(sqlx::AssertSqlSafe(sql));
    let query = match value {
        Some(v) => query.bind(v.to_owned()),
        None => query,
    };
    let row = query.fetch_one(&mut **tx).await?;
    Ok(sqlx::Row::try_get::<i64, _>(&row, 0)?)
}

/// Posts movement `movement_id` (SUBS-PAY) and checks, inside the transaction, that it balances
/// and that the whole ledger still does: an unbalanced movement is refused with
/// `LEDGER_UNBALANCED` and, the error ending the transaction, nothing of it is stored.
pub async fn post(
    tx: &mut Tx,
    movement_id: &str,
    instruction_id: &str,
    kind: &str,
    lines: &[Line],
    actor: &str,
) -> Result<(), Error> {
    if lines.is_empty() || lines.iter().any(|l| l.amount_fen <= 0) {
        return Err(Error::precondition(
            "LEDGER_UNBALANCED",
            format!("movement {movement_id} has no lines or a line that is not positive"),
        ));
    }
    let now = qiancheng_platform::time::now_micros();
    let rows: Vec<LedgerRecord> = lines
        .iter()
        .enumerate()
        .map(|(n, l)| LedgerRecord {
            id: format!("{movement_id}-{n}"),
            movement_id: movement_id.to_owned(),
            instruction_id: instruction_id.to_owned(),
            kind: kind.to_owned(),
            account: l.account.clone(),
            side: side_code(l.side).to_owned(),
            amount_fen: l.amount_fen,
            recorded_by: actor.to_owned(),
            create_time_micros: now,
        })
        .collect();
    record::insert_many(tx, &rows).await?;
    let movement = signed_sum(tx, " WHERE movement_id = $1", Some(movement_id)).await?;
    let whole = signed_sum(tx, "", None).await?;
    if movement != 0 || whole != 0 {
        return Err(Error::precondition(
            "LEDGER_UNBALANCED",
            format!(
                "movement {movement_id} leaves debits less credits at {movement} fen (the ledger at {whole} fen): \
                 nothing is posted"
            ),
        ));
    }
    Ok(())
}

/// The ledger's movements that do not balance, the count of movements, and every account's
/// balance (debits less credits), by account.
pub async fn verify<'c>(executor: impl Reader<'c>) -> Result<(Vec<String>, i64, Vec<(String, i64)>), Error> {
    let rows = record::all::<LedgerRecord>(executor, Filter::new(), "le.id").await?;
    let mut movements: std::collections::BTreeMap<&str, i64> = std::collections::BTreeMap::new();
    let mut accounts: std::collections::BTreeMap<&str, i64> = std::collections::BTreeMap::new();
    for r in &rows {
        let signed = if r.side == "DEBIT" { r.amount_fen } else { -r.amount_fen };
        *movements.entry(r.movement_id.as_str()).or_default() += signed;
        *accounts.entry(r.account.as_str()).or_default() += signed;
    }
    let unbalanced = movements.iter().filter(|(_, s)| **s != 0).map(|(m, _)| (*m).to_owned()).collect();
    let count = i64::try_from(movements.len()).unwrap_or(i64::MAX);
    Ok((unbalanced, count, accounts.into_iter().map(|(a, s)| (a.to_owned(), s)).collect()))
}

/// The instructions of claim `claim_id`, oldest first.
pub async fn instructions_of<'c>(executor: impl Reader<'c>, claim_id: &str) -> Result<Vec<InstructionRecord>, Error> {
    record::all::<InstructionRecord>(
        executor,
        Filter::new().eq("pi.claim_id", claim_id),
        "pi.create_time_micros, pi.id",
    )
    .await
}

/// The payments of `region` committing its `year`'s budget, and those waiting for funds.
pub async fn payments_of<'c>(
    executor: impl Reader<'c>,
    region: RegionCode,
    year: i32,
) -> Result<Vec<ClaimPaymentRecord>, Error> {
    record::all::<ClaimPaymentRecord>(
        executor,
        Filter::new().eq("cp.region_code", region.code()).eq("cp.budget_year", i64::from(year)),
        "cp.waiting_since_micros, cp.claim_id",
    )
    .await
}

/// The budgets of `region` in `year`.
pub async fn budgets_of<'c>(
    executor: impl Reader<'c>,
    region: RegionCode,
    year: i32,
) -> Result<Vec<FundBudgetRecord>, Error> {
    record::all::<FundBudgetRecord>(
        executor,
        Filter::new().eq("fb.region_code", region.code()).eq("fb.year", i64::from(year)),
        "fb.id",
    )
    .await
}

/// A bank result line applied, by the line's own key (instruction, outcome, reference or
/// reason): the same line again is recognised and moves nothing.
#[derive(Debug, Clone, PartialEq, Eq, Record)]
#[record(table = "bank_result", alias = "br", what = "the bank result")]
pub struct BankResultRecord {
    /// `{instruction}|{outcome}|{reference or reason}`.
    pub id: String,
    /// The instruction.
    #[column(fixed)]
    pub instruction_id: String,
    /// PAID or FAILED.
    #[column(fixed)]
    pub outcome: String,
    /// SHA-256 of the file it came in, hex.
    #[column(fixed)]
    pub file_digest: String,
    /// When applied.
    #[column(fixed)]
    pub create_time_micros: i64,
}

/// A receivable open until settled.
pub const OPEN: &str = "OPEN";
/// A receivable repaid or offset in full.
pub const SETTLED: &str = "SETTLED";
/// A settlement: the provider repaid into the level's bank.
pub const REPAYMENT: &str = "REPAYMENT";
/// A settlement: kept back from a later payment of the same finance bureau and fund.
pub const OFFSET_SETTLEMENT: &str = "OFFSET";

/// A receivable (应收追回款, SUBS-RECOVER) as stored.
#[derive(Debug, Clone, PartialEq, Eq, Record)]
#[record(table = "receivable", alias = "rv", what = "the receivable")]
pub struct ReceivableRecord {
    /// `{claim}-R{n}`.
    pub id: String,
    /// The claim paid.
    #[column(fixed)]
    pub claim_id: String,
    /// The finance level that paid it.
    #[column(name = "region_code", fixed)]
    pub region: RegionCode,
    /// The provider who owes it.
    #[column(fixed)]
    pub provider_credit_code: String,
    /// The cause, as the policy core names it.
    #[column(json, fixed)]
    pub cause: Cause,
    /// The officer's note of what was found.
    #[column(fixed)]
    pub note: String,
    /// Per fund, what returns to it.
    #[column(json, fixed)]
    pub portions: Vec<FundPortion>,
    /// The amount, in fen.
    #[column(fixed)]
    pub amount_fen: i64,
    /// What is still owed, in fen.
    pub outstanding_fen: i64,
    /// OPEN until settled.
    pub state: String,
    /// The rules of the decision.
    #[column(json, fixed)]
    pub rules: Vec<qiancheng_domain::policy::decision::RuleResult>,
    /// The claim's policy set.
    #[column(fixed)]
    pub policy_version: String,
    /// Who opened it.
    #[column(fixed)]
    pub opened_by: String,
    /// Revision and times.
    #[column(stamp)]
    pub stamp: Stamp,
}

impl ReceivableRecord {
    /// Lowers what is owed by `amount_fen` (a repayment or an offset), settled at zero; never below
    /// zero (a caller checks the amount first; going below is a fault).
    pub fn settle(&mut self, amount_fen: i64) -> Result<(), qiancheng_platform::Error> {
        let outstanding = self.outstanding_fen - amount_fen;
        if outstanding < 0 {
            return Err(qiancheng_platform::Error::corrupt("a settlement beyond what a receivable owes"));
        }
        self.outstanding_fen = outstanding;
        if outstanding == 0 {
            self.state = SETTLED.to_owned();
        }
        self.stamp.touch();
        Ok(())
    }

    /// The resource name.
    pub fn name(&self) -> String {
        format!("receivables/{}", self.id)
    }

    /// What is still owed per fund, given the receivable's settlements: each fund's portion less
    /// what was repaid or offset of it, funds settled in full left out.
    pub fn outstanding(&self, settlements: &[SettlementRecord]) -> Vec<FundPortion> {
        self.portions
            .iter()
            .filter_map(|p| {
                let settled: i64 = settlements
                    .iter()
                    .filter(|s| s.receivable_id == self.id && s.fund == p.fund.code())
                    .map(|s| s.amount_fen)
                    .sum();
                let left = p.amount_fen.fen() - settled;
                (left > 0).then(|| FundPortion { fund: p.fund, amount_fen: qiancheng_domain::Money::from_fen(left) })
            })
            .collect()
    }

    /// Whether the cause freezes the provider's unreleased claims and instructions (SUBS-RECOVER,
    /// 八(四)): fraud or subcontracting.
    pub fn freezes(&self) -> bool {
        use qiancheng_domain::policy::subsidy::RecoveryCause;
        matches!(self.cause.0, Some(RecoveryCause::Fraud | RecoveryCause::Subcontracting))
    }
}

/// One step that lowered what a receivable owes of one fund (SUBS-RECOVER): a repayment into
/// the level's bank, or an offset against a later payment.
#[derive(Debug, Clone, PartialEq, Eq, Record)]
#[record(table = "receivable_settlement", alias = "rs", what = "the settlement")]
pub struct SettlementRecord {
    /// `{receivable}-S{n}`.
    pub id: String,
    /// The receivable.
    #[column(fixed)]
    pub receivable_id: String,
    /// REPAYMENT or OFFSET.
    #[column(fixed)]
    pub kind: String,
    /// The fund's code (`Fund::code`) whose debt it lowers.
    #[column(fixed)]
    pub fund: String,
    /// The amount, in fen, positive.
    #[column(fixed)]
    pub amount_fen: i64,
    /// OFFSET: the instruction whose payment it was kept back from.
    #[column(fixed)]
    pub instruction_id: String,
    /// REPAYMENT: the bank's reference of the provider's transfer.
    #[column(fixed)]
    pub bank_reference: String,
    /// Its cause, as recorded.
    #[column(fixed)]
    pub note: String,
    /// Who recorded it (for an offset, who released the payment).
    #[column(fixed)]
    pub recorded_by: String,
    /// When.
    #[column(fixed)]
    pub create_time_micros: i64,
}

/// The settlements of the receivables `ids`, oldest first.
pub async fn settlements_of<'c>(executor: impl Reader<'c>, ids: &[String]) -> Result<Vec<SettlementRecord>, Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    record::all::<SettlementRecord>(
        executor,
        Filter::new().among("rs.receivable_id", ids.iter().map(String::as_str)),
        "rs.create_time_micros, rs.id",
    )
    .await
}

/// The receivables of `provider`, oldest first.
pub async fn receivables_of<'c>(executor: impl Reader<'c>, provider: &str) -> Result<Vec<ReceivableRecord>, Error> {
    record::all::<ReceivableRecord>(
        executor,
        Filter::new().eq("rv.provider_credit_code", provider),
        "rv.create_time_micros, rv.id",
    )
    .await
}

/// The provider's receivable account.
pub fn receivable_account(provider: &str) -> String {
    format!("RECEIVABLE:{provider}")
}

/// A recovery's cause as stored (a document of the policy core's `RecoveryCause`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Cause(pub Option<qiancheng_domain::policy::subsidy::RecoveryCause>);
