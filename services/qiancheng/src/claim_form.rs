//! `qiancheng export claim`: a subsidy claim as 附件4 补贴申请表, an Excel workbook written from
//! subsidy's `GetClaim` (the claim and its lines, as the caller's role may read them: names
//! masked, no ID number).
//!
//! Money is fen on the wire and yuan in the workbook: each amount is written as the number of
//! yuan its fen make (`fen / 100`, never summed or scaled in floating point) with a two-decimal
//! number format, so a reader's sum of the lines is the claim's total to the fen. The first sheet
//! says what the file is, when it was made and under which policy version the claim was
//! calculated.

use std::path::Path;

use qiancheng_api::subsidy::subsidy_service_client::SubsidyServiceClient;
use qiancheng_api::subsidy::{Claim, ClaimLine, ClaimMaterial, ClaimState, GetClaimRequest};
use qiancheng_api::types::RuleResult;
use qiancheng_domain::policy::set::Fund;
use rust_xlsxwriter::{Format, Workbook, XlsxError};

use crate::workbook::{Value, name_in, write_headers, write_pairs};

/// The lines' columns and widths.
const LINES: &[(&str, f64)] = &[
    ("序号", 6.0),
    ("姓名", 10.0),
    ("班级", 30.0),
    ("学员", 44.0),
    ("人员类别", 20.0),
    ("是否结业", 9.0),
    ("资金渠道", 22.0),
    ("补贴标准(元)", 14.0),
    ("提标比例(%)", 11.0),
    ("补贴比例(%)", 11.0),
    ("补贴金额(元)", 14.0),
    ("未予补贴原因", 40.0),
];

/// Writes the claim `name` read from subsidy at `addr` with `token` to `file`; returns the number
/// of lines and the total in fen.
pub async fn export(name: &str, file: &Path, addr: &str, token: &str) -> Result<(usize, i64), String> {
    let subsidy = crate::workbook::Caller::connect("subsidy", addr, token).await?;
    let mut client = SubsidyServiceClient::new(subsidy.channel.clone()).max_decoding_message_size(64 * 1024 * 1024);
    let claim = client
        .get_claim(subsidy.request(GetClaimRequest { name: name.to_owned() }))
        .await
        .map_err(|s| format!("subsidy refused the claim ({:?}): {}", s.code(), s.message()))?
        .into_inner()
        .claim
        .ok_or("subsidy answered without the claim")?;
    write(&claim, file).map_err(|e| e.to_string())?;
    Ok((claim.lines.len(), claim.total_fen))
}

/// Yuan as a number of the worksheet: the fen divided once, so the number is the nearest to the
/// exact amount and two decimals show it exactly.
fn yuan(fen: i64) -> f64 {
    fen as f64 / 100.0
}

/// A claim's states as the form names them.
const STATE_NAMES: &[(ClaimState, &str)] = &[
    (ClaimState::Filed, "已申报,待审核"),
    (ClaimState::Returned, "已退回补正"),
    (ClaimState::OnNotice, "公示中"),
    (ClaimState::Approved, "已审批"),
];

/// A claim's materials as the form names them.
const MATERIAL_NAMES: &[(ClaimMaterial, &str)] = &[
    (ClaimMaterial::Annex4, "补贴申请表(附件4)"),
    (ClaimMaterial::Ledger, "培训台账"),
    (ClaimMaterial::CertificateEvidence, "取证佐证资料"),
    (ClaimMaterial::EmploymentEvidence, "就业佐证资料"),
];

/// A fund by its Chinese name (SUBS-FUND), or its code as sent when this build does not know it.
pub fn fund_name(code: &str) -> String {
    [Fund::SkillUpgradeAccount, Fund::EmploymentSubsidyFund, Fund::UnemploymentInsuranceFund]
        .into_iter()
        .find(|f| f.code() == code)
        .map_or_else(|| code.to_owned(), |f| f.name_zh().to_owned())
}

/// A target group by its Chinese name.
pub fn group_name(group: i32) -> String {
    qiancheng_api::convert::target_group(group).map(|g| g.name_zh().to_owned()).unwrap_or_default()
}

/// The rule that stopped a line, with its reason when the line carries it.
fn stopped_text(line: &ClaimLine) -> String {
    if line.stopped_by.is_empty() {
        return String::new();
    }
    match line.rules.iter().find(|r: &&RuleResult| r.code == line.stopped_by && !r.passed) {
        Some(rule) if !rule.reason_zh.is_empty() => format!("{} {}", rule.code, rule.reason_zh),
        _ => line.stopped_by.clone(),
    }
}

/// The workbook: 说明, 补贴明细 (a line per trainee and the total), 补贴比例, and the claim's rules
/// and exclusions.
pub fn write(claim: &Claim, file: &Path) -> Result<(), XlsxError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let header = crate::workbook::header_format();
    let money = Format::new().set_num_format("#,##0.00");
    let money_bold = Format::new().set_num_format("#,##0.00").set_bold();

    let cover = book.add_worksheet().set_name("说明")?;
    cover.set_column_width(0, 28)?;
    cover.set_column_width(1, 80)?;
    let materials: Vec<&str> =
        claim.materials.iter().map(|m| name_in(*m, MATERIAL_NAMES)).filter(|m| !m.is_empty()).collect();
    let made = crate::workbook::made_at();
    let texts = [
        ("文件", "咸宁市“技能照亮前程”项目化培训补贴申请表(附件4)".to_owned()),
        ("申请", claim.name.clone()),
        ("项目", claim.project.clone()),
        ("承训机构(统一社会信用代码)", claim.provider_credit_code.clone()),
        ("受理机构(县市区)", claim.region_code.clone()),
        ("状态", name_in(claim.state, STATE_NAMES).to_owned()),
        ("政策版本", format!("{}(摘要 {})", claim.policy_version, claim.policy_digest)),
        ("申报材料", materials.join("、")),
        (
            "补贴人数",
            format!(
                "{} 人,其中补贴金额大于零 {} 人",
                claim.lines.len(),
                claim.lines.iter().filter(|l| l.amount_fen > 0).count()
            ),
        ),
        ("个人信息", "姓名按调阅者角色遮蔽,不含身份证号码".to_owned()),
        ("生成时间", made),
    ];
    let mut at = write_pairs(cover, 0, texts.into_iter().map(|(key, text)| (key, Value::Text(text))).collect())?;
    for (key, day) in [
        ("申报日期", claim.filed_on.as_ref()),
        ("项目验收日期", claim.project_accepted_on.as_ref()),
        ("审核日期", claim.reviewed_on.as_ref()),
        ("公示开始", claim.notice.as_ref().and_then(|n| n.published_on.as_ref())),
        ("公示截止", claim.notice.as_ref().and_then(|n| n.ends_on.as_ref())),
        ("审批日期", claim.approved_on.as_ref()),
    ] {
        if day.is_some_and(|d| d.year > 0) {
            at = write_pairs(cover, at, vec![(key, Value::Day(day.cloned()))])?;
        }
    }
    cover.write_string_with_format(at, 0, "补贴合计(元)", &bold)?;
    cover.write_number_with_format(at, 1, yuan(claim.total_fen), &money_bold)?;

    let lines = book.add_worksheet().set_name("补贴明细")?;
    write_headers(lines, LINES, &header)?;
    let mut row = 1u32;
    for (i, line) in claim.lines.iter().enumerate() {
        lines.write_number(row, 0, (i + 1) as f64)?;
        lines.write_string(row, 1, line.person.as_ref().map(|p| p.name.as_str()).unwrap_or_default())?;
        lines.write_string(row, 2, &line.class)?;
        lines.write_string(row, 3, &line.trainee)?;
        lines.write_string(row, 4, group_name(line.group))?;
        lines.write_string(row, 5, if line.completed { "是" } else { "否" })?;
        lines.write_string(row, 6, fund_name(&line.fund))?;
        lines.write_number_with_format(row, 7, yuan(line.standard_fen), &money)?;
        lines.write_number(row, 8, f64::from(line.uplift_percent))?;
        lines.write_number(row, 9, f64::from(line.multiplier_percent))?;
        lines.write_number_with_format(row, 10, yuan(line.amount_fen), &money)?;
        lines.write_string(row, 11, stopped_text(line))?;
        row += 1;
    }
    // The total as subsidy summed it (the fen of the lines), not a formula a reader's program
    // may not evaluate.
    lines.write_string_with_format(row, 1, "合计", &bold)?;
    lines.write_number_with_format(row, 10, yuan(claim.total_fen), &money_bold)?;
    lines.set_freeze_panes(1, 0)?;

    let rates = book.add_worksheet().set_name("补贴比例")?;
    write_headers(
        rates,
        &[("类别", 14.0), ("结业人数", 10.0), ("达标人数", 10.0), ("达标率(%)", 10.0), ("补贴比例(%)", 12.0)],
        &header,
    )?;
    let share = Format::new().set_num_format("0.00");
    for (i, rate) in claim.rates.iter().enumerate() {
        let at = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let kind = match rate.basis.as_str() {
            "CERTIFICATE" => "取证",
            "EMPLOYMENT" => "就业",
            other => other,
        };
        rates.write_string(at, 0, kind)?;
        rates.write_number(at, 1, rate.completed as f64)?;
        rates.write_number(at, 2, rate.positive as f64)?;
        if rate.completed > 0 {
            rates.write_number_with_format(at, 3, rate.positive as f64 * 100.0 / rate.completed as f64, &share)?;
        }
        rates.write_number(at, 4, f64::from(rate.tier_percent))?;
    }

    let rules = book.add_worksheet().set_name("审核与规则")?;
    write_headers(rules, &[("项目", 16.0), ("规则/学员", 44.0), ("结果", 10.0), ("说明", 70.0)], &header)?;
    let mut at = 1u32;
    for rule in &claim.rules {
        rules.write_string(at, 0, "申请规则")?;
        rules.write_string(at, 1, &rule.code)?;
        rules.write_string(at, 2, if rule.passed { "通过" } else { "未通过" })?;
        rules.write_string(at, 3, &rule.reason_zh)?;
        at += 1;
    }
    for exclusion in &claim.exclusions {
        rules.write_string(at, 0, "核减")?;
        rules.write_string(at, 1, &exclusion.trainee)?;
        rules.write_string(at, 2, "核减")?;
        rules.write_string(at, 3, format!("{}({})", exclusion.reason, exclusion.excluded_by))?;
        at += 1;
    }
    for reason in &claim.return_reasons {
        rules.write_string(at, 0, "退回原因")?;
        rules.write_string(at, 3, reason)?;
        at += 1;
    }
    crate::workbook::printable(&mut book);
    book.save(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_written_from_fen_read_back_to_the_same_fen() {
        for fen in [0i64, 1, 7, 10, 99, 12_345, 500_000, 12_345_678_901, -4_321] {
            assert_eq!((yuan(fen) * 100.0).round() as i64, fen, "{fen}");
        }
    }

    #[test]
    fn funds_and_groups_are_named_in_chinese() {
        assert_eq!(fund_name("EMPLOYMENT_SUBSIDY_FUND"), "就业补助资金");
        assert_eq!(fund_name("SOMETHING_NEW"), "SOMETHING_NEW");
        assert_eq!(group_name(qiancheng_api::types::TargetGroup::RuralMigrant as i32), "农村转移就业劳动者");
    }
}
