//! Funds and budgets (SUBS-FUND, 七(五) "按照培训对象类别…列支"): the finance bureau of each level
//! (the city, a county) records its yearly budget per fund; each claim line is charged to the
//! fund of its trainee's group (the policy core decided it with the line), and an approved claim
//! its level's budget cannot cover waits for funds with the shortfall shown. Recording a budget
//! signs off the claims waiting at that level, oldest first, while it covers them, except those of
//! a provider frozen by a recovery for fraud or subcontracting (SUBS-RECOVER).

use qiancheng_api::subsidy::*;
use qiancheng_domain::policy::payment::FundPortion;
use qiancheng_domain::policy::set::Fund;
use qiancheng_domain::{Money, RegionCode};
use qiancheng_platform::auth::{Principal, Role, Scope};
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::record::{self, Filter};
use qiancheng_platform::{Call, Error, Stamp, write};

use crate::Subsidy;
use crate::store::money::{self as store, ClaimPaymentRecord, FundBudgetRecord};

/// Every fund, in the order budgets list them.
pub const FUNDS: [Fund; 3] = [Fund::EmploymentSubsidyFund, Fund::SkillUpgradeAccount, Fund::UnemploymentInsuranceFund];

/// A fund on the wire.
pub fn fund_of(wire: i32) -> Option<Fund> {
    match FundChannel::try_from(wire).ok()? {
        FundChannel::EmploymentSubsidyFund => Some(Fund::EmploymentSubsidyFund),
        FundChannel::SkillUpgradeAccount => Some(Fund::SkillUpgradeAccount),
        FundChannel::UnemploymentInsuranceFund => Some(Fund::UnemploymentInsuranceFund),
        FundChannel::Unspecified => None,
    }
}

/// A fund as the wire shows it.
pub fn fund_to_wire(fund: Fund) -> i32 {
    (match fund {
        Fund::EmploymentSubsidyFund => FundChannel::EmploymentSubsidyFund,
        Fund::SkillUpgradeAccount => FundChannel::SkillUpgradeAccount,
        Fund::UnemploymentInsuranceFund => FundChannel::UnemploymentInsuranceFund,
    }) as i32
}

/// A fund by its stored code.
pub fn fund_of_code(code: &str) -> Option<Fund> {
    FUNDS.into_iter().find(|f| f.code() == code)
}

/// Amounts per fund on the wire.
pub fn amounts(portions: &[FundPortion]) -> Vec<FundAmount> {
    portions.iter().map(|p| FundAmount { fund: fund_to_wire(p.fund), amount_fen: p.amount_fen.fen() }).collect()
}

/// The level a finance officer acts for: the region their token names (the city or a county).
pub fn finance_level(principal: &Principal) -> Result<RegionCode, Error> {
    principal.require_any(&[Role::FinanceOfficer])?;
    principal.region.ok_or_else(|| Error::denied("a finance officer's token names their level (the city or a county)"))
}

/// Whose budgets, payments and instructions the caller reads: a finance officer their level's,
/// a provider its own, the city and auditors every level's.
pub fn money_read_scope(principal: &Principal) -> Result<Scope, Error> {
    if principal.has_any(&[Role::CityAdmin, Role::Auditor]) {
        return Ok(Scope::All);
    }
    if principal.has(Role::FinanceOfficer) {
        return finance_level(principal).map(Scope::Region);
    }
    Scope::of(principal, &[], Some(Role::Provider)).filter(|s| matches!(s, Scope::Org(_))).ok_or_else(|| {
        Error::denied("payments are read by finance of their level, their provider, the city and auditors")
    })
}

/// What the payments that hold a level's budget commit of `fund`, in fen.
pub fn committed(payments: &[ClaimPaymentRecord], fund: Fund) -> i64 {
    payments
        .iter()
        .filter(|p| p.commits())
        .flat_map(|p| p.portions.iter())
        .filter(|p| p.fund == fund)
        .map(|p| p.amount_fen.fen())
        .sum()
}

/// SUBS-FUND: what each fund lacks to cover `portions`, given the level's budgets and what is
/// committed; empty when the budgets cover every portion. A fund without a budget has none.
pub fn shortfalls(
    budgets: &[FundBudgetRecord],
    payments: &[ClaimPaymentRecord],
    portions: &[FundPortion],
) -> Vec<FundPortion> {
    portions
        .iter()
        .filter_map(|p| {
            let budget = budgets.iter().find(|b| b.fund == p.fund.code()).map_or(0, |b| b.budget_fen);
            let available = (budget - committed(payments, p.fund)).max(0);
            let lack = p.amount_fen.fen() - available;
            (lack > 0).then(|| FundPortion { fund: p.fund, amount_fen: Money::from_fen(lack) })
        })
        .collect()
}

fn shown(record: &FundBudgetRecord, payments: &[ClaimPaymentRecord]) -> FundBudget {
    let fund = fund_of_code(&record.fund);
    let committed = fund.map_or(0, |f| committed(payments, f));
    FundBudget {
        name: format!("fundBudgets/{}", record.id),
        region_code: record.region.code().to_owned(),
        year: record.year,
        fund: fund.map_or(0, fund_to_wire),
        budget_fen: record.budget_fen,
        committed_fen: committed,
        available_fen: (record.budget_fen - committed).max(0),
        recorded_by: record.recorded_by.clone(),
        update_time_micros: record.stamp.update_time_micros,
    }
}

/// SetFundBudget.
pub async fn set_fund_budget(s: &Subsidy, call: Call<SetFundBudgetRequest>) -> Result<SetFundBudgetResponse, Error> {
    let level = finance_level(&call.principal)?;
    let input = call.message.budget.clone().unwrap_or_default();
    let fund = fund_of(input.fund).ok_or_else(|| Error::invalid("budget.fund", "SUBS-FUND", "a fund"))?;
    let officer = call.principal.subject.clone();
    write::run(s, &call, async |change| {
        let id = FundBudgetRecord::id_of(level, input.year, fund.code());
        let record = match record::find::<FundBudgetRecord>(&mut *change.tx, id.as_str()).await? {
            Some(mut found) => {
                found.budget_fen = input.budget_fen;
                found.recorded_by = officer.clone();
                found.stamp.touch();
                record::update(&mut change.tx, &found).await?;
                found
            }
            None => {
                let created = FundBudgetRecord {
                    id,
                    region: level,
                    year: input.year,
                    fund: fund.code().to_owned(),
                    budget_fen: input.budget_fen,
                    recorded_by: officer.clone(),
                    stamp: Stamp::new(),
                };
                record::insert(&mut change.tx, &created).await?;
                created
            }
        };
        change.audit(
            "fund.budget.set",
            format!("fundBudgets/{}", record.id),
            serde_json::json!({ "region": level.code(), "year": input.year, "fund": fund.code(),
                "budget_fen": input.budget_fen }),
        );
        // Claims waiting at this level, oldest first, while the budgets cover them.
        let budgets = store::budgets_of(&mut *change.tx, level, input.year).await?;
        let mut payments = store::payments_of(&mut *change.tx, level, input.year).await?;
        let mut signed_off = Vec::new();
        for i in 0..payments.len() {
            if payments[i].state != store::WAITING_FUNDS {
                continue;
            }
            let lacking = shortfalls(&budgets, &payments, &payments[i].portions);
            if !lacking.is_empty() {
                continue;
            }
            // SUBS-RECOVER: a provider with a recovery for fraud or subcontracting stays frozen;
            // its claim keeps waiting (selection's standing is asked again at release).
            let receivables = store::receivables_of(&mut *change.tx, &payments[i].provider_credit_code).await?;
            if receivables.iter().any(store::ReceivableRecord::freezes) {
                continue;
            }
            let p = &mut payments[i];
            p.state = store::SIGNED_OFF.to_owned();
            p.shortfalls = Vec::new();
            p.stamp.touch();
            record::update(&mut change.tx, &*p).await?;
            change.audit(
                "claim.payment.funded",
                p.claim(),
                serde_json::json!({ "budget": format!("fundBudgets/{}", record.id), "total_fen": p.total_fen }),
            );
            signed_off.push(p.claim());
        }
        Ok(SetFundBudgetResponse { budget: Some(shown(&record, &payments)), signed_off })
    })
    .await
}

/// ListFundBudgets.
pub async fn list_fund_budgets(
    s: &Subsidy,
    call: Call<ListFundBudgetsRequest>,
) -> Result<ListFundBudgetsResponse, Error> {
    let scope = money_read_scope(&call.principal)?;
    if matches!(scope, Scope::Org(_)) {
        return Err(Error::denied("budgets are read by finance, the city and auditors"));
    }
    let m = &call.message;
    let page = PageRequest::parse(m.page_size, &m.page_token, &format!("fundBudgets|{}", m.year))?;
    let filter = Filter::new().eq_given("fb.year", (m.year != 0).then_some(i64::from(m.year))).within(
        &scope,
        "fb.region_code",
        None,
    );
    let (records, next_page_token) = record::page::<FundBudgetRecord>(&s.db, filter, &page).await?;
    let mut budgets = Vec::with_capacity(records.len());
    for r in &records {
        let payments = store::payments_of(s.db.pool(), r.region, r.year).await?;
        budgets.push(shown(r, &payments));
    }
    Ok(ListFundBudgetsResponse { budgets, next_page_token })
}
