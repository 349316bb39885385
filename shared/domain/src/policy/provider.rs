//! Provider eligibility (承训机构资格, 六 实施主体, 八(四)): the PROV-* rules, judged on an
//! application date.
//!
//! Under `rules_edition` 2, PROV-KIND reads the plan's list as open ("主要包括"): another kind
//! of provider needs an officer's recorded justification; a private school needs 年检合格 (its
//! latest annual inspection passed); a public training base needs the competent industry
//! department's recognition as carrying a public service function.

use chrono::{Datelike, NaiveDate};

use crate::policy::decision::{Decision, RuleResult};
use crate::policy::set::PolicySet;
use crate::{RegionCode, Uscc};

/// The kind of provider (承训机构类型), PROV-KIND.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProviderKind {
    /// 高等院校.
    University,
    /// 职业(技工)院校.
    VocationalSchool,
    /// 民办职业培训学校.
    PrivateTrainingSchool,
    /// 用人单位 running skill certification.
    EmployerCertifier,
    /// 行业协会 running skill certification.
    IndustryAssociation,
    /// 公共就业训练机构.
    PublicTrainingInstitution,
    /// 公共实训基地.
    PublicTrainingBase,
    /// 高技能人才培训基地.
    HighSkillTrainingBase,
    /// 技能大师工作室.
    MasterStudio,
    /// 劳务品牌领军企业.
    LabourBrandLeader,
    /// 园区龙头企业.
    ParkLeadingEnterprise,
    /// Another kind than those the plan lists ("主要包括"): under edition 2 with an officer's
    /// recorded justification.
    Other,
}

impl ProviderKind {
    /// The Chinese name.
    pub fn name_zh(self) -> &'static str {
        match self {
            ProviderKind::University => "高等院校",
            ProviderKind::VocationalSchool => "职业(技工)院校",
            ProviderKind::PrivateTrainingSchool => "民办职业培训学校",
            ProviderKind::EmployerCertifier => "开展技能等级认定的用人单位",
            ProviderKind::IndustryAssociation => "开展技能等级认定的行业协会",
            ProviderKind::PublicTrainingInstitution => "公共就业训练机构",
            ProviderKind::PublicTrainingBase => "公共实训基地",
            ProviderKind::HighSkillTrainingBase => "高技能人才培训基地",
            ProviderKind::MasterStudio => "技能大师工作室",
            ProviderKind::LabourBrandLeader => "劳务品牌领军企业",
            ProviderKind::ParkLeadingEnterprise => "园区龙头企业",
            ProviderKind::Other => "其他实施主体",
        }
    }
}

/// What a provider was found doing that disqualifies it (八(四) "发现承训机构转包、分包或弄虚作假
/// 骗取补贴的,取消其承训资格"), PROV-DISQUALIFIED.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Misconduct {
    /// 转包、分包.
    Subcontracting,
    /// 弄虚作假骗取补贴.
    Fraud,
}

/// An officer's recorded override of a pilot credit code whose check character fails.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PilotOverride {
    /// The officer who recorded it.
    pub officer: String,
    /// When.
    pub recorded_on: NaiveDate,
    /// Why.
    pub note: String,
}

/// An officer's recorded justification for a provider of another kind than the plan lists
/// (PROV-KIND, edition 2).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KindJustification {
    /// The officer who recorded it.
    pub officer: String,
    /// When.
    pub recorded_on: NaiveDate,
    /// Why the provider is accepted.
    pub note: String,
}

/// What the PROV-KIND conditions need to know; only the fields of the provider's kind matter.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KindFacts {
    /// Schools: a major related to the project's occupation.
    #[serde(default)]
    pub related_major: bool,
    /// Schools: the county bureau's subsidised-training qualification.
    #[serde(default)]
    pub subsidised_training_qualification: bool,
    /// Private schools: passed every annual inspection.
    #[serde(default)]
    pub passed_all_annual_inspections: bool,
    /// Private schools: years in which it ran subsidised training.
    #[serde(default)]
    pub subsidised_training_years: Vec<i32>,
    /// Employers and associations: runs skill certification and is in good standing.
    #[serde(default)]
    pub certification_in_good_standing: bool,
    /// Bases, studios and leading enterprises: a staff training centre with its own venue.
    #[serde(default)]
    pub own_venue: bool,
    /// … its own training equipment.
    #[serde(default)]
    pub own_equipment: bool,
    /// … and its own teachers.
    #[serde(default)]
    pub own_teachers: bool,
    /// Private schools: passed its latest annual inspection (年检合格, edition 2).
    #[serde(default)]
    pub annual_inspection_passed: bool,
    /// Public training bases: the competent industry department's recognition as carrying a
    /// public service function, its document or reference (edition 2).
    #[serde(default)]
    pub public_function_recognition: Option<String>,
    /// Another kind of provider: the officer's recorded justification (edition 2).
    #[serde(default)]
    pub other_kind_justification: Option<KindJustification>,
}

/// A provider as the PROV-* rules see it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProviderFacts {
    /// Name.
    pub name: String,
    /// The unified social credit code as recorded.
    pub uscc: String,
    /// An officer's override for a pilot code failing its check.
    #[serde(default)]
    pub pilot_override: Option<PilotOverride>,
    /// Pays tax in 咸宁.
    pub pays_tax_locally: bool,
    /// An independent legal person (独立法人).
    pub independent_legal_person: bool,
    /// Dates of training violations on record.
    #[serde(default)]
    pub violations: Vec<NaiveDate>,
    /// Kind.
    pub kind: ProviderKind,
    /// Conditions of its kind.
    #[serde(default)]
    pub kind_facts: KindFacts,
    /// The day it was found subcontracting or cheating, if ever.
    #[serde(default)]
    pub disqualified_on: Option<NaiveDate>,
}

/// PROV-USCC: a valid credit code, or a pilot code with an officer's recorded override.
pub fn prov_uscc(provider: &ProviderFacts) -> (RuleResult, Option<Uscc>) {
    match Uscc::parse_pilot(&provider.uscc) {
        Ok(code) if code.check_passed() => {
            (RuleResult::pass("PROV-USCC", "统一社会信用代码有效", "the credit code is valid"), Some(code))
        }
        Ok(code) => match &provider.pilot_override {
            Some(o) => (
                RuleResult::pass(
                    "PROV-USCC",
                    format!("试点代码校验位不符,已由{}于{}记录人工确认", o.officer, o.recorded_on),
                    format!("pilot code failing its check, overridden by {} on {}", o.officer, o.recorded_on),
                ),
                Some(code),
            ),
            None => (
                RuleResult::fail(
                    "PROV-USCC",
                    "统一社会信用代码校验位不符,且无经办人确认记录",
                    "the credit code fails its check and no officer override is recorded",
                ),
                Some(code),
            ),
        },
        Err(e) => (
            RuleResult::fail(
                "PROV-USCC",
                "统一社会信用代码格式无效",
                format!("the credit code is malformed: {}", e.reason),
            ),
            None,
        ),
    }
}

/// PROV-LOCAL: registered in 咸宁 (region 4212xx) and paying tax there.
pub fn prov_local(provider: &ProviderFacts, code: Option<&Uscc>) -> RuleResult {
    let registered_locally = code.is_some_and(|c| RegionCode::is_local_admin_code(c.registration_region()));
    if registered_locally && provider.pays_tax_locally {
        RuleResult::pass("PROV-LOCAL", "在咸宁注册并纳税", "registered and paying tax in xianning")
    } else if !registered_locally {
        RuleResult::fail("PROV-LOCAL", "登记注册地不在咸宁", "not registered in xianning")
    } else {
        RuleResult::fail("PROV-LOCAL", "未在咸宁纳税", "not paying tax in xianning")
    }
}

/// PROV-LEGAL: an independent legal person.
pub fn prov_legal(provider: &ProviderFacts) -> RuleResult {
    if provider.independent_legal_person {
        RuleResult::pass("PROV-LEGAL", "具有独立法人资格", "an independent legal person")
    } else {
        RuleResult::fail("PROV-LEGAL", "不具有独立法人资格", "not an independent legal person")
    }
}

/// PROV-CLEAN: no training violation in the `clean_record_years` years before the application
/// date (both ends included).
pub fn prov_clean(policy: &PolicySet, provider: &ProviderFacts, applied_on: NaiveDate) -> RuleResult {
    let since =
        applied_on.checked_sub_months(chrono::Months::new(policy.clean_record_years * 12)).unwrap_or(NaiveDate::MIN);
    match provider.violations.iter().find(|v| since <= **v && **v <= applied_on) {
        Some(v) => RuleResult::fail(
            "PROV-CLEAN",
            format!("{v}有培训违规记录(申报前{}年内)", policy.clean_record_years),
            format!("a training violation on {v}, within {} years before the application", policy.clean_record_years),
        ),
        None => RuleResult::pass(
            "PROV-CLEAN",
            format!("申报前{}年内无培训违规记录", policy.clean_record_years),
            format!("no violation in the {} years before the application", policy.clean_record_years),
        ),
    }
}

/// PROV-KIND (edition 1): the conditions of the provider's kind, from a closed list.
pub fn prov_kind(provider: &ProviderFacts, applied_on: NaiveDate) -> RuleResult {
    let f = &provider.kind_facts;
    let missing: Option<(&str, &str)> = match provider.kind {
        ProviderKind::University | ProviderKind::VocationalSchool => {
            if !f.related_major {
                Some(("无与项目职业相关的专业", "no major related to the project's occupation"))
            } else if !f.subsidised_training_qualification {
                Some(("无县级人社部门补贴性培训资质", "no county subsidised-training qualification"))
            } else {
                None
            }
        }
        ProviderKind::PrivateTrainingSchool => {
            let year = applied_on.year();
            if !f.passed_all_annual_inspections {
                Some(("未通过历年年检", "has not passed every annual inspection"))
            } else if !(1..=3).all(|back| f.subsidised_training_years.contains(&(year - back))) {
                Some(("近三年未连续开展补贴性培训", "did not run subsidised training in each of the last three years"))
            } else {
                None
            }
        }
        ProviderKind::EmployerCertifier | ProviderKind::IndustryAssociation => (!f.certification_in_good_standing)
            .then_some(("技能等级认定工作不规范", "skill certification not in good standing")),
        ProviderKind::PublicTrainingInstitution | ProviderKind::PublicTrainingBase => None,
        ProviderKind::HighSkillTrainingBase
        | ProviderKind::MasterStudio
        | ProviderKind::LabourBrandLeader
        | ProviderKind::ParkLeadingEnterprise => (!(f.own_venue && f.own_equipment && f.own_teachers)).then_some((
            "无具备独立场地、培训设备和师资的职工培训中心",
            "no staff training centre with its own venue, equipment and teachers",
        )),
        ProviderKind::Other => Some(("不属于方案所列的实施主体", "not one of the kinds of provider the plan lists")),
    };
    match missing {
        Some((zh, en)) => RuleResult::fail("PROV-KIND", format!("{}:{zh}", provider.kind.name_zh()), en.to_owned()),
        None => RuleResult::pass(
            "PROV-KIND",
            format!("{}:条件符合", provider.kind.name_zh()),
            "meets the conditions of its kind",
        ),
    }
}

/// PROV-KIND under `policy`: [`prov_kind`] for edition 1. Edition 2 reads the plan's list as
/// open: another kind passes with an officer's recorded justification; a private school needs
/// 年检合格 and subsidised training in each of the last three years; a public training base
/// needs its recognition; the other kinds keep their conditions.
pub fn prov_kind_in(policy: &PolicySet, provider: &ProviderFacts, applied_on: NaiveDate) -> RuleResult {
    if !policy.v2_rules() {
        return prov_kind(provider, applied_on);
    }
    let f = &provider.kind_facts;
    let kind_zh = provider.kind.name_zh();
    match provider.kind {
        ProviderKind::Other => {
            return match f.other_kind_justification.as_ref().filter(|j| !j.note.trim().is_empty()) {
                Some(j) => RuleResult::pass(
                    "PROV-KIND",
                    format!("方案所列实施主体之外(主要包括),{}于{}记录理由:{}", j.officer, j.recorded_on, j.note),
                    format!(
                        "another kind than the plan lists (主要包括), justified by {} on {}: {}",
                        j.officer, j.recorded_on, j.note
                    ),
                ),
                None => RuleResult::fail(
                    "PROV-KIND",
                    "方案所列实施主体之外,需经办人记录理由",
                    "another kind than the plan lists needs an officer's recorded justification",
                ),
            };
        }
        ProviderKind::PrivateTrainingSchool => {
            let year = applied_on.year();
            if !f.annual_inspection_passed {
                return RuleResult::fail(
                    "PROV-KIND",
                    format!("{kind_zh}:年检不合格或未年检"),
                    "has not passed its annual inspection (年检合格)",
                );
            }
            if !(1..=3).all(|back| f.subsidised_training_years.contains(&(year - back))) {
                return RuleResult::fail(
                    "PROV-KIND",
                    format!("{kind_zh}:近三年未每年开展补贴性培训"),
                    "did not run subsidised training in each of the last three years",
                );
            }
        }
        ProviderKind::PublicTrainingBase => {
            return match f.public_function_recognition.as_ref().filter(|r| !r.trim().is_empty()) {
                Some(r) => RuleResult::pass(
                    "PROV-KIND",
                    format!("{kind_zh}:经行业主管部门认定承担政府公共服务职能({r})"),
                    format!("recognised by the competent industry department as a public service ({r})"),
                ),
                None => RuleResult::fail(
                    "PROV-KIND",
                    format!("{kind_zh}:未经行业主管部门认定承担政府公共服务职能"),
                    "not recognised by the competent industry department as carrying a public service function",
                ),
            };
        }
        _ => return prov_kind(provider, applied_on),
    }
    RuleResult::pass("PROV-KIND", format!("{kind_zh}:条件符合"), "meets the conditions of its kind")
}

/// PROV-DISQUALIFIED: a provider found subcontracting or cheating on or before `date` has lost
/// its qualification.
pub fn prov_disqualified(provider: &ProviderFacts, date: NaiveDate) -> RuleResult {
    match provider.disqualified_on {
        Some(on) if on <= date => RuleResult::fail(
            "PROV-DISQUALIFIED",
            format!("{on}因转包、分包或弄虚作假被取消资格"),
            format!("disqualified on {on} for subcontracting or cheating"),
        ),
        _ => RuleResult::pass("PROV-DISQUALIFIED", "未被取消资格", "not disqualified"),
    }
}

/// Run every PROV-* rule for an application made on `applied_on`.
pub fn evaluate_provider_eligibility(
    policy: &PolicySet,
    provider: &ProviderFacts,
    applied_on: NaiveDate,
) -> Decision<bool> {
    let (uscc_rule, code) = prov_uscc(provider);
    let rules = vec![
        uscc_rule,
        prov_local(provider, code.as_ref()),
        prov_legal(provider),
        prov_clean(policy, provider, applied_on),
        prov_kind_in(policy, provider, applied_on),
        prov_disqualified(provider, applied_on),
    ];
    Decision { outcome: rules.iter().all(|r| r.passed), policy_version: policy.version.clone(), rules }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    fn code(first17: &str) -> String {
        let c = crate::uscc::check_char(first17.as_bytes()).expect("charset") as char;
        format!("{first17}{c}")
    }

    fn provider() -> ProviderFacts {
        ProviderFacts {
            name: "咸宁示例职业培训学校".to_owned(),
            uscc: code("52421202MJ1234567"),
            pilot_override: None,
            pays_tax_locally: true,
            independent_legal_person: true,
            violations: vec![],
            kind: ProviderKind::PublicTrainingInstitution,
            kind_facts: KindFacts::default(),
            disqualified_on: None,
        }
    }

    fn eval(p: &ProviderFacts) -> Decision<bool> {
        evaluate_provider_eligibility(&PolicySet::xianning_2025_5_v1(), p, d(2025, 7, 1))
    }

    #[test]
    fn prov_uscc_pilot_needs_officer_override() {
        let mut p = provider();
        let good = p.uscc.clone();
        let other = if good.ends_with('0') { '1' } else { '0' };
        p.uscc = format!("{}{other}", &good[..17]);
        assert_eq!(eval(&p).first_failure().expect("fails").code, "PROV-USCC");
        p.pilot_override = Some(PilotOverride {
            officer: "officer-1".to_owned(),
            recorded_on: d(2025, 6, 30),
            note: "早期试点代码".to_owned(),
        });
        let dec = eval(&p);
        assert!(dec.outcome);
        assert!(dec.rule("PROV-USCC").expect("evaluated").reason_en.contains("overridden"));
    }

    #[test]
    fn prov_local_region_and_tax() {
        let mut p = provider();
        assert!(eval(&p).outcome);
        p.uscc = code("52420100MJ1234567");
        assert_eq!(eval(&p).first_failure().expect("fails").code, "PROV-LOCAL");
        p = provider();
        p.pays_tax_locally = false;
        assert_eq!(eval(&p).first_failure().expect("fails").code, "PROV-LOCAL");
    }

    #[test]
    fn prov_legal_required() {
        let mut p = provider();
        p.independent_legal_person = false;
        assert_eq!(eval(&p).first_failure().expect("fails").code, "PROV-LEGAL");
    }

    #[test]
    fn prov_clean_three_years_boundary() {
        let mut p = provider();
        p.violations = vec![d(2022, 7, 1)];
        assert_eq!(eval(&p).first_failure().expect("fails").code, "PROV-CLEAN");
        p.violations = vec![d(2022, 6, 30)];
        assert!(eval(&p).outcome);
    }

    #[test]
    fn prov_kind_each_kind_has_its_conditions() {
        let mut p = provider();
        p.kind = ProviderKind::VocationalSchool;
        assert_eq!(eval(&p).first_failure().expect("fails").code, "PROV-KIND");
        p.kind_facts.related_major = true;
        p.kind_facts.subsidised_training_qualification = true;
        assert!(eval(&p).outcome);

        p.kind = ProviderKind::PrivateTrainingSchool;
        p.kind_facts.passed_all_annual_inspections = true;
        p.kind_facts.subsidised_training_years = vec![2022, 2024];
        assert_eq!(eval(&p).first_failure().expect("fails").code, "PROV-KIND");
        p.kind_facts.subsidised_training_years = vec![2022, 2023, 2024];
        assert!(eval(&p).outcome);

        p.kind = ProviderKind::IndustryAssociation;
        assert!(!eval(&p).outcome);
        p.kind_facts.certification_in_good_standing = true;
        assert!(eval(&p).outcome);

        p.kind = ProviderKind::MasterStudio;
        p.kind_facts.own_venue = true;
        p.kind_facts.own_equipment = true;
        assert!(!eval(&p).outcome);
        p.kind_facts.own_teachers = true;
        assert!(eval(&p).outcome);
    }

    #[test]
    fn prov_disqualified_from_the_day_found() {
        let mut p = provider();
        p.disqualified_on = Some(d(2025, 7, 1));
        assert_eq!(eval(&p).first_failure().expect("fails").code, "PROV-DISQUALIFIED");
        p.disqualified_on = Some(d(2025, 7, 2));
        assert!(eval(&p).outcome);
    }
}
