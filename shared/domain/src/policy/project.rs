//! Projects (项目): PROJ-CATALOG, PROJ-PLAN, PROJ-CROSS-REGION, PROJ-BRAND, PROJ-INSERVICE and
//! PROJ-BASIS.
//!
//! These rules judge facts a service gathered (二(二), 二(四), 七(一)(二), 七(四)); storing catalog
//! versions and brands is the services' part. The class rules (CLASS-*) live in
//! [`crate::policy::class`] and SUBS-SOD in [`crate::policy::subsidy`]; they are re-exported here
//! for callers of their old paths.

use crate::policy::decision::RuleResult;
use crate::policy::set::PolicySet;
use crate::{Industry, OccupationCode, RegionCode, SkillLevel, TargetGroup};

pub use crate::policy::class::{
    ClassFiling, ClassLedger, FindingKind, FindingSeverity, InspectionFinding, InspectionOutcome, LedgerRow,
    RosterEntry, SkillEvaluationRecord, class_filing, class_headcount, class_hours, class_inspection, class_ledger,
};
pub use crate::policy::subsidy::subs_sod;

/// Training mode (培训方式), PROJ-CATALOG.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TrainingMode {
    /// 线下.
    Offline,
    /// 线上.
    Online,
    /// 线上线下结合.
    Mixed,
}

impl TrainingMode {
    /// The Chinese name.
    pub fn name_zh(self) -> &'static str {
        match self {
            TrainingMode::Offline => "线下",
            TrainingMode::Online => "线上",
            TrainingMode::Mixed => "线上线下结合",
        }
    }

    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            TrainingMode::Offline => "OFFLINE",
            TrainingMode::Online => "ONLINE",
            TrainingMode::Mixed => "MIXED",
        }
    }
}

/// A catalog item (项目化培训清单条目) as published, PROJ-CATALOG.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CatalogItem {
    /// Occupation code.
    pub occupation: OccupationCode,
    /// Occupation name.
    pub occupation_name: String,
    /// Skill level.
    pub level: SkillLevel,
    /// Headcount employers need.
    pub headcount: u32,
    /// Skill requirements.
    pub skill_requirements: String,
    /// Training content.
    pub content: String,
    /// Hours.
    pub hours: u32,
    /// Mode.
    pub mode: TrainingMode,
    /// The demand it answers.
    pub demand: String,
}

/// PROJ-CATALOG: every field of a catalog item is stated.
pub fn proj_catalog(item: &CatalogItem) -> RuleResult {
    let mut missing = Vec::new();
    if item.occupation_name.trim().is_empty() {
        missing.push("occupation_name");
    }
    if item.headcount == 0 {
        missing.push("headcount");
    }
    if item.skill_requirements.trim().is_empty() {
        missing.push("skill_requirements");
    }
    if item.content.trim().is_empty() {
        missing.push("content");
    }
    if item.hours == 0 {
        missing.push("hours");
    }
    if item.demand.trim().is_empty() {
        missing.push("demand");
    }
    if missing.is_empty() {
        RuleResult::pass("PROJ-CATALOG", "清单条目要素齐全", "the catalog item states every field")
    } else {
        RuleResult::fail(
            "PROJ-CATALOG",
            format!("清单条目缺少:{}", missing.join("、")),
            format!("the catalog item lacks {}", missing.join(", ")),
        )
    }
}

/// The parts of an application's plan (一项目一方案), PROJ-PLAN.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ApplicationParts {
    /// 附件2 filing form attached.
    pub filing_form: bool,
    /// 附件3 application form attached.
    pub application_form: bool,
    /// Teaching plan.
    pub teaching_plan: bool,
    /// The teaching plan covers safety knowledge and safe operation (二(三)).
    pub safety_in_teaching_plan: bool,
    /// Training mode.
    pub training_mode: bool,
    /// Assessment method.
    pub assessment_method: bool,
    /// Measures leading to skills and jobs.
    pub employment_measures: bool,
}

/// PROJ-PLAN: the filing, the application and a plan with all four parts, safety included.
pub fn proj_plan(parts: &ApplicationParts) -> RuleResult {
    let checks = [
        (parts.filing_form, "附件2备案表", "the filing form (annex 2)"),
        (parts.application_form, "附件3申报表", "the application form (annex 3)"),
        (parts.teaching_plan, "教学计划", "the teaching plan"),
        (parts.safety_in_teaching_plan, "安全知识与安全操作技能", "safety in the teaching plan"),
        (parts.training_mode, "培训方式", "the training mode"),
        (parts.assessment_method, "考核方式", "the assessment method"),
        (parts.employment_measures, "促进取证就业措施", "measures leading to skills and jobs"),
    ];
    let missing: Vec<_> = checks.iter().filter(|(ok, _, _)| !ok).collect();
    if missing.is_empty() {
        RuleResult::pass("PROJ-PLAN", "申报材料与实施方案齐全", "the application and its plan are complete")
    } else {
        RuleResult::fail(
            "PROJ-PLAN",
            format!("缺少:{}", missing.iter().map(|m| m.1).collect::<Vec<_>>().join("、")),
            format!("missing {}", missing.iter().map(|m| m.2).collect::<Vec<_>>().join(", ")),
        )
    }
}

/// PROJ-CROSS-REGION: training in another county than the provider's needs that county
/// bureau's recorded consent.
pub fn proj_cross_region(
    provider_county: RegionCode,
    training_county: RegionCode,
    consent_recorded: bool,
) -> RuleResult {
    if provider_county.contains(training_county) || consent_recorded {
        RuleResult::pass(
            "PROJ-CROSS-REGION",
            "无需或已取得跨区承训同意",
            "no cross-region consent needed, or it is recorded",
        )
    } else {
        RuleResult::fail(
            "PROJ-CROSS-REGION",
            format!("在{}跨区承训,未取得该地人社部门同意", training_county.name()),
            format!("training in {} without that county bureau's consent", training_county.code()),
        )
    }
}

/// PROJ-BRAND: a brand name is a place or enterprise, an occupation, then 培训.
pub fn proj_brand_name(name: &str, occupation_name: &str) -> RuleResult {
    let name = name.trim();
    let well_formed = name.ends_with("培训")
        && !occupation_name.is_empty()
        && name
            .strip_suffix("培训")
            .and_then(|rest| rest.strip_suffix(occupation_name))
            .is_some_and(|place| !place.is_empty());
    if well_formed {
        RuleResult::pass("PROJ-BRAND", format!("品牌名称“{name}”规范"), "the brand name is place + occupation + 培训")
    } else {
        RuleResult::fail(
            "PROJ-BRAND",
            format!("品牌名称“{name}”应为地名(企业名)+职业+培训"),
            "a brand name is place (or enterprise) + occupation + 培训",
        )
    }
}

/// PROJ-BRAND under `policy`: edition 1 enforces the pattern ([`proj_brand_name`]); edition 2
/// reads "可以…命名" as advice: a name outside the pattern is accepted with a note, which the
/// result's reason carries.
pub fn proj_brand(policy: &PolicySet, name: &str, occupation_name: &str) -> RuleResult {
    let checked = proj_brand_name(name, occupation_name);
    if checked.passed || !policy.v2_rules() {
        return checked;
    }
    let name = name.trim();
    RuleResult::pass(
        "PROJ-BRAND",
        format!("品牌名称“{name}”予以接受;备注:建议按地名(企业名)+职业+培训命名"),
        "accepted with a note: a brand name is advised to be place (or enterprise) + occupation + 培训",
    )
}

/// PROJ-BRAND: the counties with no brand yet (each should have one during 2025–2027).
pub fn proj_counties_without_brand(counties_with_brand: &[RegionCode]) -> Vec<RegionCode> {
    RegionCode::counties().into_iter().filter(|c| !counties_with_brand.contains(c)).collect()
}

/// How a project is judged (PROJ-BASIS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProjectBasis {
    /// Every counted trainee is an in-service worker: the certificate rate.
    CertificateRate,
    /// No counted trainee is an in-service worker: the employment rate.
    EmploymentRate,
    /// Both kinds: each trainee is judged on their own basis.
    Mixed,
}

/// What a catalog item for in-service workers records as its basis, PROJ-INSERVICE (七(四)
/// "聚焦重点产业和急需紧缺工种").
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InServiceBasis {
    /// The key industry the item serves (one of the plan's 5 + 4).
    pub industry: Industry,
    /// The list or document that names the occupation urgently needed (急需紧缺工种), if one does.
    #[serde(default)]
    pub urgent_occupation_reference: Option<String>,
}

/// PROJ-INSERVICE (edition 2): a project for in-service workers trains for a key industry and an
/// urgently needed occupation, and its catalog item records that basis. Projects for other
/// trainees pass. Not a rule of edition 1: it passes saying so.
pub fn proj_inservice(policy: &PolicySet, for_in_service: bool, basis: Option<&InServiceBasis>) -> RuleResult {
    if let Some(passed) = policy.not_enforced("PROJ-INSERVICE") {
        return passed;
    }
    if !for_in_service {
        return RuleResult::pass("PROJ-INSERVICE", "非在岗职工培训项目", "not a project for in-service workers");
    }
    let Some(basis) = basis else {
        return RuleResult::fail(
            "PROJ-INSERVICE",
            "在岗职工培训项目的清单条目未记录重点产业和急需紧缺工种依据",
            "the catalog item of an in-service project records no key industry and urgently needed occupation",
        );
    };
    if !basis.industry.is_key() {
        return RuleResult::fail(
            "PROJ-INSERVICE",
            "在岗职工培训项目应聚焦重点产业,清单条目所列产业不是重点产业",
            "an in-service project serves a key industry; the catalog item's industry is not one",
        );
    }
    match basis.urgent_occupation_reference.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        Some(reference) => RuleResult::pass(
            "PROJ-INSERVICE",
            format!("重点产业{},急需紧缺工种({reference})", basis.industry.name_zh()),
            format!("key industry {}, an urgently needed occupation ({reference})", basis.industry.code()),
        ),
        None => RuleResult::fail(
            "PROJ-INSERVICE",
            "清单条目未记录该职业为急需紧缺工种的依据",
            "the catalog item records no basis for the occupation being urgently needed",
        ),
    }
}

/// PROJ-BASIS: certificates when every counted trainee is an in-service worker, employment when
/// none is.
pub fn proj_basis(groups: &[TargetGroup]) -> ProjectBasis {
    let in_service = groups.iter().filter(|g| g.is_in_service()).count();
    if in_service == 0 {
        ProjectBasis::EmploymentRate
    } else if in_service == groups.len() {
        ProjectBasis::CertificateRate
    } else {
        ProjectBasis::Mixed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proj_catalog_every_field_stated() {
        let mut item = CatalogItem {
            occupation: OccupationCode::parse("6-31-01-03").expect("code"),
            occupation_name: "电工".to_owned(),
            level: SkillLevel::Level4,
            headcount: 40,
            skill_requirements: "低压电工作业".to_owned(),
            content: "电工基础".to_owned(),
            hours: 120,
            mode: TrainingMode::Offline,
            demand: "园区企业用工".to_owned(),
        };
        assert!(proj_catalog(&item).passed);
        item.hours = 0;
        assert!(!proj_catalog(&item).passed);
    }

    #[test]
    fn proj_plan_needs_four_parts_and_safety() {
        let mut parts = ApplicationParts {
            filing_form: true,
            application_form: true,
            teaching_plan: true,
            safety_in_teaching_plan: true,
            training_mode: true,
            assessment_method: true,
            employment_measures: true,
        };
        assert!(proj_plan(&parts).passed);
        parts.safety_in_teaching_plan = false;
        let r = proj_plan(&parts);
        assert!(!r.passed);
        assert!(r.reason_zh.contains("安全"));
    }

    #[test]
    fn proj_cross_region_needs_consent() {
        assert!(proj_cross_region(RegionCode::Jiayu, RegionCode::Jiayu, false).passed);
        assert!(!proj_cross_region(RegionCode::Jiayu, RegionCode::Chibi, false).passed);
        assert!(proj_cross_region(RegionCode::Jiayu, RegionCode::Chibi, true).passed);
    }

    #[test]
    fn proj_brand_name_and_counties_without_brand() {
        assert!(proj_brand_name("通山石匠培训", "石匠").passed);
        assert!(!proj_brand_name("石匠培训", "石匠").passed);
        assert!(!proj_brand_name("通山石匠", "石匠").passed);
        let left = proj_counties_without_brand(&[RegionCode::Tongshan, RegionCode::Chibi]);
        assert_eq!(left.len(), 4);
        assert!(!left.contains(&RegionCode::Tongshan));
    }
}
