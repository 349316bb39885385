//! Reporting (七(三) "根据补贴资金渠道录入相关经办信息系统"): a year's payments and recoveries per fund
//! channel as the CSV file docs/reporting.md describes, for the province's systems, with totals by
//! county (the finance level that paid), fund, occupation and month. Each row is one movement of
//! one fund: a payment's portion, an offset or a repayment that settled a receivable, a
//! receivable opened. The file names providers by credit code and claims by id; no person is in it.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike as _, NaiveDate};
use qiancheng_api::subsidy::*;
use qiancheng_domain::RegionCode;
use qiancheng_domain::day_in_china;
use qiancheng_platform::auth::{Role, Scope};
use qiancheng_platform::record::{self, Filter};
use qiancheng_platform::{Call, Error};

use crate::Subsidy;
use crate::fund::{finance_level, fund_of_code, fund_to_wire};
use crate::store::claim::ClaimRecord;
use crate::store::money::{self as store, InstructionRecord, ReceivableRecord};

/// The file's header line.
pub const HEADER: &str =
    "kind,region_code,fund,occupation_code,month,date,document,claim,provider_credit_code,amount_fen";

/// One row of the report: one movement of one fund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    /// PAYMENT, OFFSET, RECOVERY or REPAYMENT.
    pub kind: &'static str,
    /// The finance level.
    pub region: RegionCode,
    /// The fund's code.
    pub fund: String,
    /// The project's occupation code; empty when the claim kept no standard.
    pub occupation: String,
    /// The day of the movement (China).
    pub date: NaiveDate,
    /// The instruction or receivable, by resource name.
    pub document: String,
    /// The claim, by resource name.
    pub claim: String,
    /// The provider's credit code.
    pub provider: String,
    /// In fen, positive.
    pub amount_fen: i64,
}

impl ReportRow {
    fn month(&self) -> String {
        self.date.format("%Y-%m").to_string()
    }
}

/// A CSV field: quoted when it holds a comma, a quote or a line break.
fn csv(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

/// The report file of `rows` (docs/reporting.md).
pub fn report_file(rows: &[ReportRow]) -> String {
    let mut out = format!("{HEADER}\n");
    for r in rows {
        let fields = [
            r.kind.to_owned(),
            r.region.code().to_owned(),
            r.fund.clone(),
            r.occupation.clone(),
            r.month(),
            r.date.to_string(),
            r.document.clone(),
            r.claim.clone(),
            r.provider.clone(),
            r.amount_fen.to_string(),
        ];
        out.push_str(&fields.iter().map(|f| csv(f)).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

/// What a total is keyed by: kind, county, fund, occupation and month.
type TotalKey<'a> = (&'a str, &'a str, &'a str, &'a str, String);

/// The totals of `rows` by kind, county, fund, occupation and month, in that order.
pub fn totals(rows: &[ReportRow]) -> Vec<FundReportTotal> {
    let mut sums: BTreeMap<TotalKey<'_>, (i32, i64)> = BTreeMap::new();
    for r in rows {
        let sum = sums.entry((r.kind, r.region.code(), &r.fund, &r.occupation, r.month())).or_default();
        sum.0 += 1;
        sum.1 += r.amount_fen;
    }
    sums.into_iter()
        .map(|((kind, region, fund, occupation, month), (count, amount_fen))| FundReportTotal {
            kind: kind.to_owned(),
            region_code: region.to_owned(),
            fund: fund_of_code(fund).map_or(0, fund_to_wire),
            occupation_code: occupation.to_owned(),
            month,
            count,
            amount_fen,
        })
        .collect()
}

/// GetFundReport.
pub async fn get_fund_report(s: &Subsidy, call: Call<GetFundReportRequest>) -> Result<GetFundReportResponse, Error> {
    let scope =
        if call.principal.has(Role::Auditor) { Scope::All } else { Scope::Region(finance_level(&call.principal)?) };
    let year = call.message.year;
    let instructions = record::all::<InstructionRecord>(
        s.db.pool(),
        Filter::new().within(&scope, "pi.region_code", None),
        "pi.create_time_micros, pi.id",
    )
    .await?;
    let receivables = record::all::<ReceivableRecord>(
        s.db.pool(),
        Filter::new().within(&scope, "rv.region_code", None),
        "rv.create_time_micros, rv.id",
    )
    .await?;
    let ids: Vec<String> = receivables.iter().map(|r| r.id.clone()).collect();
    let settlements = store::settlements_of(s.db.pool(), &ids).await?;
    // Each claim's occupation, from the standards it was calculated with.
    let mut occupations: HashMap<String, String> = HashMap::new();
    for claim_id in instructions.iter().map(|i| &i.claim_id).chain(receivables.iter().map(|r| &r.claim_id)) {
        if occupations.contains_key(claim_id) {
            continue;
        }
        let occupation = record::find::<ClaimRecord>(s.db.pool(), claim_id.as_str())
            .await?
            .and_then(|c| c.standards.first().map(|st| st.occupation.as_str().to_owned()))
            .unwrap_or_default();
        occupations.insert(claim_id.clone(), occupation);
    }
    let occupation = |claim_id: &str| occupations.get(claim_id).cloned().unwrap_or_default();
    let mut rows = Vec::new();
    // A re-sent instruction's portions are carried by its replacement: counted once.
    for i in instructions.iter().filter(|i| i.state != store::RESENT) {
        for p in &i.portions {
            rows.push(ReportRow {
                kind: "PAYMENT",
                region: i.region,
                fund: p.fund.code().to_owned(),
                occupation: occupation(&i.claim_id),
                date: i.pay_on,
                document: i.name(),
                claim: format!("claims/{}", i.claim_id),
                provider: i.provider_credit_code.clone(),
                amount_fen: p.amount_fen.fen(),
            });
        }
    }
    for r in &receivables {
        let opened = day_in_china(r.stamp.create_time_micros).unwrap_or_default();
        for p in &r.portions {
            rows.push(ReportRow {
                kind: "RECOVERY",
                region: r.region,
                fund: p.fund.code().to_owned(),
                occupation: occupation(&r.claim_id),
                date: opened,
                document: r.name(),
                claim: format!("claims/{}", r.claim_id),
                provider: r.provider_credit_code.clone(),
                amount_fen: p.amount_fen.fen(),
            });
        }
        for st in settlements.iter().filter(|st| st.receivable_id == r.id) {
            rows.push(ReportRow {
                kind: if st.kind == store::REPAYMENT { "REPAYMENT" } else { "OFFSET" },
                region: r.region,
                fund: st.fund.clone(),
                occupation: occupation(&r.claim_id),
                date: day_in_china(st.create_time_micros).unwrap_or_default(),
                document: r.name(),
                claim: format!("claims/{}", r.claim_id),
                provider: r.provider_credit_code.clone(),
                amount_fen: st.amount_fen,
            });
        }
    }
    rows.retain(|r| year == 0 || r.date.year() == year);
    rows.sort_by(|a, b| (a.date, a.kind, &a.document, &a.fund).cmp(&(b.date, b.kind, &b.document, &b.fund)));
    Ok(GetFundReportResponse {
        content: report_file(&rows).into_bytes(),
        rows: i32::try_from(rows.len()).unwrap_or(i32::MAX),
        totals: totals(&rows),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kind: &'static str, amount_fen: i64, day: u32) -> ReportRow {
        ReportRow {
            kind,
            region: RegionCode::parse("421221").expect("county"),
            fund: "EMPLOYMENT_SUBSIDY_FUND".into(),
            occupation: "6-18-02-04".into(),
            date: NaiveDate::from_ymd_opt(2027, 11, day).expect("day"),
            document: "paymentInstructions/C-1".into(),
            claim: "claims/C".into(),
            provider: "52421221MJ0000001X".into(),
            amount_fen,
        }
    }

    #[test]
    fn totals_equal_the_sum_of_their_rows_by_kind_and_month() {
        let rows = [row("PAYMENT", 100, 1), row("PAYMENT", 250, 30), row("OFFSET", 7, 2)];
        let t = totals(&rows);
        assert_eq!(t.len(), 2);
        let payment = t.iter().find(|t| t.kind == "PAYMENT").expect("payments");
        assert_eq!((payment.count, payment.amount_fen, payment.month.as_str()), (2, 350, "2027-11"));
        let file = report_file(&rows);
        assert!(file.starts_with(HEADER));
        assert_eq!(file.lines().count(), 4);
        assert_eq!(
            file.lines().nth(1),
            Some(
                "PAYMENT,421221,EMPLOYMENT_SUBSIDY_FUND,6-18-02-04,2027-11,2027-11-01,paymentInstructions/C-1,claims/C,52421221MJ0000001X,100"
            )
        );
    }

    #[test]
    fn a_field_with_a_comma_or_quote_is_quoted() {
        assert_eq!(csv("a,b"), "\"a,b\"");
        assert_eq!(csv("say \"x\""), "\"say \"\"x\"\"\"");
        assert_eq!(csv("plain"), "plain");
    }
}
