//! Classes (班次) and their supervision (二(二)(三), 七(三)): CLASS-FILING, CLASS-HOURS,
//! CLASS-HEADCOUNT, CLASS-ATTENDANCE, CLASS-COMPLETION, CLASS-INSPECTION and CLASS-LEDGER.
//!
//! A class is filed (开班备案) under an approved project, runs with a real-name roster, is
//! inspected, and ends with completion results recorded in its ledger (培训台账). These rules judge
//! the facts a service gathered; storing filings, inspections and ledgers is the services' part.

use chrono::NaiveDate;

use crate::policy::decision::{Decision, RuleResult};
use crate::policy::project::{CatalogItem, TrainingMode};
use crate::policy::set::CertRelated;
use crate::policy::set::PolicySet;
use crate::{OccupationCode, SkillLevel};

/// What CLASS-FILING needs to know about a class being filed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClassFiling {
    /// The day it is filed.
    pub filed_on: NaiveDate,
    /// First day of training.
    pub first_day: NaiveDate,
    /// Last day of training.
    pub last_day: NaiveDate,
    /// The project is approved.
    pub project_approved: bool,
    /// The provider is qualified (PROV-*) and not disqualified.
    pub provider_qualified: bool,
    /// Theory hours.
    pub theory_hours: u32,
    /// Practice hours.
    pub practice_hours: u32,
    /// A venue is stated.
    pub venue_stated: bool,
    /// Teachers are named.
    pub teachers_named: bool,
    /// Trainees on the real-name roster.
    pub roster_size: u32,
    /// The training mode (培训方式), CLASS-HOURS; absent when not stated.
    #[serde(default)]
    pub mode: Option<TrainingMode>,
}

/// CLASS-FILING: filed at least `filing_lead_days` before the first day, under an approved
/// project of a qualified provider, with dates, hours, venue, teachers and roster. Under
/// `rules_edition` 2 a class whose first day falls outside the plan's period (一 "从2025年至2027年
/// 底", the set's `valid_from` … `valid_to`) cannot be filed.
pub fn class_filing(policy: &PolicySet, filing: &ClassFiling) -> RuleResult {
    let latest = filing
        .first_day
        .checked_sub_days(chrono::Days::new(u64::from(policy.filing_lead_days)))
        .unwrap_or(NaiveDate::MIN);
    let outside_period = policy.v2_rules() && !policy.in_force_on(filing.first_day);
    let problem: Option<(String, String)> = if outside_period {
        Some((
            format!("开班首日{}不在方案实施期{}至{}内", filing.first_day, policy.valid_from, policy.valid_to),
            format!(
                "the first day {} is outside the plan's period {} to {}",
                filing.first_day, policy.valid_from, policy.valid_to
            ),
        ))
    } else if filing.filed_on > latest {
        Some((
            format!("应于开班前{}日({latest}前)备案", policy.filing_lead_days),
            format!("must be filed {} day(s) before the first day, by {latest}", policy.filing_lead_days),
        ))
    } else if filing.last_day < filing.first_day {
        Some(("结束日期早于开班日期".to_owned(), "the last day is before the first day".to_owned()))
    } else if !filing.project_approved {
        Some(("项目未获批准".to_owned(), "the project is not approved".to_owned()))
    } else if !filing.provider_qualified {
        Some(("承训机构不具备资格".to_owned(), "the provider is not qualified".to_owned()))
    } else if filing.theory_hours + filing.practice_hours == 0 {
        Some(("未填写理论及实操学时".to_owned(), "no theory or practice hours".to_owned()))
    } else if !filing.venue_stated || !filing.teachers_named {
        Some(("未填写培训场地或师资".to_owned(), "no venue or teachers".to_owned()))
    } else if filing.roster_size == 0 {
        Some(("无实名制花名册".to_owned(), "no real-name roster".to_owned()))
    } else {
        None
    };
    match problem {
        Some((zh, en)) => RuleResult::fail("CLASS-FILING", zh, en),
        None => RuleResult::pass("CLASS-FILING", "开班备案符合要求", "the class filing is complete and in time"),
    }
}

/// CLASS-HOURS (edition 2, 二(二) "培训时长"): the class's hours, theory plus practice, are at
/// least the hours of the catalog item it trains for, and its mode is the item's mode. Not a rule
/// of edition 1: it passes saying so.
pub fn class_hours(policy: &PolicySet, filing: &ClassFiling, item: &CatalogItem) -> RuleResult {
    if let Some(passed) = policy.not_enforced("CLASS-HOURS") {
        return passed;
    }
    let hours = u64::from(filing.theory_hours) + u64::from(filing.practice_hours);
    if hours < u64::from(item.hours) {
        return RuleResult::fail(
            "CLASS-HOURS",
            format!(
                "理论{}学时加实操{}学时共{hours}学时,少于清单条目的{}学时",
                filing.theory_hours, filing.practice_hours, item.hours
            ),
            format!(
                "{} theory and {} practice hours make {hours}, fewer than the catalog item's {}",
                filing.theory_hours, filing.practice_hours, item.hours
            ),
        );
    }
    match filing.mode {
        Some(mode) if mode == item.mode => RuleResult::pass(
            "CLASS-HOURS",
            format!("共{hours}学时,不少于清单条目的{}学时,培训方式一致", item.hours),
            format!("{hours} hours, at least the catalog item's {}, in its mode", item.hours),
        ),
        Some(mode) => RuleResult::fail(
            "CLASS-HOURS",
            format!("培训方式{}与清单条目的{}不一致", mode.name_zh(), item.mode.name_zh()),
            format!("the mode {} is not the catalog item's {}", mode.code(), item.mode.code()),
        ),
        None => RuleResult::fail("CLASS-HOURS", "未填写培训方式", "no training mode stated"),
    }
}

/// Judge a class filing: CLASS-FILING and, under edition 2 with the catalog item it trains for,
/// CLASS-HOURS.
pub fn evaluate_class_filing(policy: &PolicySet, filing: &ClassFiling, item: &CatalogItem) -> Decision<bool> {
    let mut rules = vec![class_filing(policy, filing)];
    if policy.enforces("CLASS-HOURS") {
        rules.push(class_hours(policy, filing, item));
    }
    Decision { outcome: rules.iter().all(|r| r.passed), policy_version: policy.version.clone(), rules }
}

/// CLASS-HEADCOUNT: the project's classes together never exceed its approved headcount.
pub fn class_headcount(approved: u32, existing_classes: &[u32], new_class: u32) -> RuleResult {
    let used: u64 = existing_classes.iter().map(|n| u64::from(*n)).sum();
    let total = used + u64::from(new_class);
    if total <= u64::from(approved) {
        RuleResult::pass(
            "CLASS-HEADCOUNT",
            format!("各班合计{total}人,未超过批准的{approved}人"),
            format!("{total} trainees over all classes, within the approved {approved}"),
        )
    } else {
        RuleResult::fail(
            "CLASS-HEADCOUNT",
            format!("各班合计{total}人,超过批准的{approved}人"),
            format!("{total} trainees over all classes, above the approved {approved}"),
        )
    }
}

/// CLASS-ATTENDANCE: attended at least `min_attendance` of the class hours, compared exactly by
/// cross-multiplication (80 of 100 hours passes, 79 does not).
pub fn class_attendance(policy: &PolicySet, class_hours: u32, attended_hours: u32) -> RuleResult {
    let min = policy.min_attendance;
    let left = u128::from(attended_hours) * u128::from(min.denominator);
    let right = u128::from(class_hours) * u128::from(min.numerator);
    if class_hours > 0 && left >= right {
        RuleResult::pass(
            "CLASS-ATTENDANCE",
            format!("出勤{attended_hours}/{class_hours}学时,达到{}", min.percent_display()),
            format!("attended {attended_hours} of {class_hours} hours, at least {}", min.percent_display()),
        )
    } else {
        RuleResult::fail(
            "CLASS-ATTENDANCE",
            format!("出勤{attended_hours}/{class_hours}学时,不足{}", min.percent_display()),
            format!("attended {attended_hours} of {class_hours} hours, below {}", min.percent_display()),
        )
    }
}

/// CLASS-COMPLETION: the completion assessment (结业考核) was passed.
pub fn class_completion(assessment_passed: bool) -> RuleResult {
    if assessment_passed {
        RuleResult::pass("CLASS-COMPLETION", "结业考核合格", "passed the completion assessment")
    } else {
        RuleResult::fail("CLASS-COMPLETION", "结业考核未通过", "did not pass the completion assessment")
    }
}

/// CLASS-COMPLETION under `policy`: edition 1 needs the completion assessment
/// ([`class_completion`]); edition 2 the assessment *or* a skill evaluation passed
/// ("结业考核或技能评价", either one).
pub fn class_completion_in(policy: &PolicySet, assessment_passed: bool, skill_evaluation_passed: bool) -> RuleResult {
    if !policy.v2_rules() {
        return class_completion(assessment_passed);
    }
    match (assessment_passed, skill_evaluation_passed) {
        (true, true) => RuleResult::pass(
            "CLASS-COMPLETION",
            "结业考核与技能评价均合格",
            "passed the completion assessment and the skill evaluation",
        ),
        (true, false) => RuleResult::pass("CLASS-COMPLETION", "结业考核合格", "passed the completion assessment"),
        (false, true) => RuleResult::pass(
            "CLASS-COMPLETION",
            "技能评价合格(结业考核或技能评价其一即可)",
            "passed the skill evaluation (the assessment or a skill evaluation, either one)",
        ),
        (false, false) => RuleResult::fail(
            "CLASS-COMPLETION",
            "结业考核与技能评价均未通过",
            "passed neither the completion assessment nor a skill evaluation",
        ),
    }
}

/// EVALUATION_RELATED: whether a skill evaluation (技能评价) counts for CLASS-COMPLETION of a class
/// training `occupation` at `level`. Under edition 2 it counts when it is in a related occupation
/// as OUT-CERT reads one (`cert_related`: the class's own occupation, or the same minor group
/// 小类 `X-XX-XX`) and at the project's level or above (a higher skill level compares greater).
/// Under edition 1 no skill evaluation completes a class: the assessment is needed. An
/// evaluation that does not count is still recorded and shown with this reason.
pub fn evaluation_related(
    policy: &PolicySet,
    occupation: &OccupationCode,
    level: SkillLevel,
    evaluation_occupation: &OccupationCode,
    evaluation_level: SkillLevel,
) -> RuleResult {
    if !policy.v2_rules() {
        return RuleResult::fail(
            "EVALUATION_RELATED",
            "本政策版本下技能评价不能代替结业考核",
            "under this policy version a skill evaluation does not complete a class; the assessment is needed",
        );
    }
    let (related_zh, related_en) = if evaluation_occupation == occupation {
        (format!("与班次职业{occupation}相同"), format!("is the class's occupation {occupation}"))
    } else if policy.cert_related == CertRelated::SameMinorGroup && evaluation_occupation.same_minor_group(occupation) {
        (
            format!("与班次职业{occupation}同属小类{}", occupation.minor_group()),
            format!("is in the minor group {} of the class's occupation {occupation}", occupation.minor_group()),
        )
    } else {
        let (zh, en) = match policy.cert_related {
            CertRelated::SameOccupation => ("不是班次职业".to_owned(), "is not the class's occupation".to_owned()),
            CertRelated::SameMinorGroup => (
                format!("与班次职业不同属小类{}", occupation.minor_group()),
                format!("is outside the minor group {} of the class's occupation", occupation.minor_group()),
            ),
        };
        return RuleResult::fail(
            "EVALUATION_RELATED",
            format!("技能评价职业{evaluation_occupation}{zh}{occupation},不计入结业"),
            format!(
                "the evaluation's occupation {evaluation_occupation} {en} {occupation}; it does not count for \
                 completion"
            ),
        );
    };
    if evaluation_level < level {
        return RuleResult::fail(
            "EVALUATION_RELATED",
            format!("技能评价等级{}低于项目等级{},不计入结业", evaluation_level.name_zh(), level.name_zh()),
            format!(
                "the evaluation's level {} is below the project's level {}; it does not count for completion",
                evaluation_level.code(),
                level.code()
            ),
        );
    }
    RuleResult::pass(
        "EVALUATION_RELATED",
        format!(
            "技能评价职业{evaluation_occupation}{related_zh},等级{}不低于项目等级{},计入结业",
            evaluation_level.name_zh(),
            level.name_zh()
        ),
        format!(
            "the evaluation's occupation {evaluation_occupation} {related_en}, and its level {} is at least the \
             project's level {}; it counts for completion",
            evaluation_level.code(),
            level.code()
        ),
    )
}

/// Whether a trainee completed the class: attendance and the assessment.
pub fn evaluate_completion(
    policy: &PolicySet,
    class_hours: u32,
    attended_hours: u32,
    assessment_passed: bool,
) -> Decision<bool> {
    evaluate_completion_in(policy, class_hours, attended_hours, assessment_passed, false)
}

/// Whether a trainee completed the class: attendance, and the assessment or (edition 2) a skill
/// evaluation.
pub fn evaluate_completion_in(
    policy: &PolicySet,
    class_hours: u32,
    attended_hours: u32,
    assessment_passed: bool,
    skill_evaluation_passed: bool,
) -> Decision<bool> {
    let rules = vec![
        class_attendance(policy, class_hours, attended_hours),
        class_completion_in(policy, assessment_passed, skill_evaluation_passed),
    ];
    Decision { outcome: rules.iter().all(|r| r.passed), policy_version: policy.version.clone(), rules }
}

/// How serious an inspection finding is (检查发现问题的严重程度), CLASS-INSPECTION.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FindingSeverity {
    /// Nothing found.
    None,
    /// A problem the provider corrects while the class goes on.
    Minor,
    /// A problem serious enough to stop the class (情节严重).
    Serious,
}

/// What an inspection found, CLASS-INSPECTION.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FindingKind {
    /// 转包、分包: the training handed on to another organisation or person (八(四)).
    Subcontracting,
    /// 弄虚作假: cheating to obtain subsidies (八(四)).
    Fraud,
    /// Safety (安全) of the venue, equipment or operation.
    Safety,
    /// Attendance (考勤) not kept or not matching the roster.
    Attendance,
    /// Anything else.
    Other,
}

impl FindingKind {
    /// The Chinese name.
    pub fn name_zh(self) -> &'static str {
        match self {
            FindingKind::Subcontracting => "转包、分包",
            FindingKind::Fraud => "弄虚作假",
            FindingKind::Safety => "安全问题",
            FindingKind::Attendance => "考勤问题",
            FindingKind::Other => "其他问题",
        }
    }

    /// The English name.
    pub fn name_en(self) -> &'static str {
        match self {
            FindingKind::Subcontracting => "subcontracting",
            FindingKind::Fraud => "fraud",
            FindingKind::Safety => "a safety problem",
            FindingKind::Attendance => "an attendance problem",
            FindingKind::Other => "another problem",
        }
    }

    /// Whether a serious finding of this kind costs the provider its qualification
    /// (PROV-DISQUALIFIED, 八(四)).
    pub fn disqualifies(self) -> bool {
        matches!(self, FindingKind::Subcontracting | FindingKind::Fraud)
    }
}

/// An officer's inspection finding (检查记录) on a class, CLASS-INSPECTION.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InspectionFinding {
    /// The class inspected.
    pub class_id: String,
    /// The day of the inspection.
    pub inspected_on: NaiveDate,
    /// The officer who inspected.
    pub officer: String,
    /// How serious the finding is.
    pub severity: FindingSeverity,
    /// What was found (ignored when the severity is `None`).
    pub kind: FindingKind,
    /// The officer's note.
    #[serde(default)]
    pub note: String,
}

/// What happens to a class after an inspection, CLASS-INSPECTION.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InspectionOutcome {
    /// The class goes on.
    Continue,
    /// The class goes on and the provider corrects the finding (限期整改).
    Correct,
    /// The class stops (终止培训).
    Stop,
    /// The class stops and the provider is referred for PROV-DISQUALIFIED (取消承办资质).
    StopAndDisqualify,
}

/// CLASS-INSPECTION: what an inspection finding means for the class. No finding lets it go on;
/// a minor finding lets it go on with a correction; a serious finding stops it, and a serious
/// subcontracting or fraud finding also refers the provider for PROV-DISQUALIFIED (八(四)).
///
/// *interpretation*: the plan names only subcontracting and fraud as grounds to stop training;
/// other serious findings (an unsafe venue) stop the class too, without disqualification.
pub fn class_inspection(policy: &PolicySet, finding: &InspectionFinding) -> Decision<InspectionOutcome> {
    let (zh, en) = (finding.kind.name_zh(), finding.kind.name_en());
    let on = finding.inspected_on;
    let (outcome, rules) = match finding.severity {
        FindingSeverity::None => (
            InspectionOutcome::Continue,
            vec![RuleResult::pass(
                "CLASS-INSPECTION",
                format!("{on}检查未发现问题,培训继续"),
                format!("inspected on {on}: nothing found, the class goes on"),
            )],
        ),
        FindingSeverity::Minor => (
            InspectionOutcome::Correct,
            vec![RuleResult::pass(
                "CLASS-INSPECTION",
                format!("{on}检查发现{zh}(情节轻微),限期整改,培训继续"),
                format!("inspected on {on}: minor {en}, the provider corrects it and the class goes on"),
            )],
        ),
        // CLASS-INSPECTION, 八(四): serious subcontracting or fraud stops training and costs the
        // provider its qualification.
        FindingSeverity::Serious if finding.kind.disqualifies() => (
            InspectionOutcome::StopAndDisqualify,
            vec![
                RuleResult::fail(
                    "CLASS-INSPECTION",
                    format!("{on}检查发现{zh}(情节严重),终止培训"),
                    format!("inspected on {on}: serious {en}, the class stops"),
                ),
                RuleResult::fail(
                    "PROV-DISQUALIFIED",
                    format!("因{zh}提请取消承训机构承办资质"),
                    format!("the provider is referred for disqualification for {en}"),
                ),
            ],
        ),
        FindingSeverity::Serious => (
            InspectionOutcome::Stop,
            vec![RuleResult::fail(
                "CLASS-INSPECTION",
                format!("{on}检查发现{zh}(情节严重),终止培训"),
                format!("inspected on {on}: serious {en}, the class stops"),
            )],
        ),
    };
    Decision { outcome, policy_version: policy.version.clone(), rules }
}

/// A trainee on a class's real-name roster (实名制花名册), ELIG-REALNAME.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RosterEntry {
    /// The resident ID number as recorded; the ledger is matched on it.
    pub id_number: String,
    /// The name, for the explanation.
    pub name: String,
}

/// A skill-evaluation result (技能评价结果) recorded for a trainee, CLASS-COMPLETION.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkillEvaluationRecord {
    /// Certificate number.
    pub certificate_number: String,
    /// Level.
    pub level: SkillLevel,
    /// The issuing body.
    pub issuer: String,
    /// Issue date.
    pub issued_on: NaiveDate,
}

/// One trainee's row of a class's training ledger (培训台账), CLASS-LEDGER.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerRow {
    /// The resident ID number, as on the roster.
    pub id_number: String,
    /// Hours attended over the whole class, once totalled.
    #[serde(default)]
    pub attended_hours: Option<u32>,
    /// The completion result (结业考核结果): passed or not, once known.
    #[serde(default)]
    pub completion_passed: Option<bool>,
    /// The trainee took a skill evaluation.
    #[serde(default)]
    pub skill_evaluation_taken: bool,
    /// The skill-evaluation result, when one was taken.
    #[serde(default)]
    pub skill_evaluation: Option<SkillEvaluationRecord>,
}

/// A class's training ledger (培训台账) with its real-name roster, CLASS-LEDGER.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassLedger {
    /// The class.
    pub class_id: String,
    /// The real-name roster.
    pub roster: Vec<RosterEntry>,
    /// The ledger's rows.
    pub rows: Vec<LedgerRow>,
}

/// How many gaps CLASS-LEDGER names before summing up the rest.
const LEDGER_GAPS_NAMED: usize = 5;

/// CLASS-LEDGER: the ledger is complete. Every trainee on the real-name roster has a row with an
/// attendance total and a completion result, and a full skill-evaluation record where one was
/// taken; no row is for someone off the roster. The first gaps are named.
pub fn class_ledger(ledger: &ClassLedger) -> RuleResult {
    if ledger.roster.is_empty() {
        return RuleResult::fail(
            "CLASS-LEDGER",
            format!("班次{}无实名制花名册,台账无从核对", ledger.class_id),
            format!("class {} has no real-name roster to check the ledger against", ledger.class_id),
        );
    }
    let mut gaps: Vec<(String, String)> = Vec::new();
    for trainee in &ledger.roster {
        let who = &trainee.name;
        let Some(row) = ledger.rows.iter().find(|r| r.id_number == trainee.id_number) else {
            gaps.push((format!("{who}无台账记录"), format!("{who} has no ledger row")));
            continue;
        };
        if row.attended_hours.is_none() {
            gaps.push((format!("{who}缺出勤学时"), format!("{who} lacks an attendance total")));
        }
        if row.completion_passed.is_none() {
            gaps.push((format!("{who}缺结业考核结果"), format!("{who} lacks a completion result")));
        }
        // CLASS-COMPLETION: a skill evaluation taken is recorded with number, level, issuer, date.
        let record_complete = row
            .skill_evaluation
            .as_ref()
            .is_some_and(|e| !e.certificate_number.trim().is_empty() && !e.issuer.trim().is_empty());
        if row.skill_evaluation_taken && !record_complete {
            gaps.push((format!("{who}缺技能评价结果"), format!("{who} lacks a skill-evaluation record")));
        }
    }
    // ELIG-REALNAME: a row for someone off the roster does not belong in the ledger.
    for row in ledger.rows.iter().filter(|r| !ledger.roster.iter().any(|t| t.id_number == r.id_number)) {
        let masked = mask_id(&row.id_number);
        gaps.push((format!("{masked}不在实名制花名册"), format!("{masked} is not on the real-name roster")));
    }
    if gaps.is_empty() {
        return RuleResult::pass(
            "CLASS-LEDGER",
            format!("班次{}台账完整,{}名学员均有出勤与结业记录", ledger.class_id, ledger.roster.len()),
            format!(
                "the ledger of class {} is complete: {} trainees with attendance and completion",
                ledger.class_id,
                ledger.roster.len()
            ),
        );
    }
    let more = gaps.len().saturating_sub(LEDGER_GAPS_NAMED);
    let named = &gaps[..gaps.len().min(LEDGER_GAPS_NAMED)];
    let (more_zh, more_en) =
        if more > 0 { (format!("等,另有{more}处"), format!("; and {more} more")) } else { Default::default() };
    RuleResult::fail(
        "CLASS-LEDGER",
        format!(
            "班次{}台账不完整:{}{more_zh}",
            ledger.class_id,
            named.iter().map(|g| g.0.as_str()).collect::<Vec<_>>().join("、")
        ),
        format!(
            "the ledger of class {} is incomplete: {}{more_en}",
            ledger.class_id,
            named.iter().map(|g| g.1.as_str()).collect::<Vec<_>>().join("; ")
        ),
    )
}

fn mask_id(raw: &str) -> String {
    match crate::IdNumber::parse(raw) {
        Ok(id) => id.masked(),
        Err(_) => {
            let keep: String = raw.chars().take(6).collect();
            format!("{keep}******")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    #[test]
    fn class_attendance_exactly_80_percent_passes() {
        let p = PolicySet::xianning_2025_5_v1();
        assert!(class_attendance(&p, 100, 80).passed);
        assert!(!class_attendance(&p, 100, 79).passed);
        // 56 of 70 is exactly 80%; 55 of 70 is 78.57%.
        assert!(class_attendance(&p, 70, 56).passed);
        assert!(!class_attendance(&p, 70, 55).passed);
        assert!(!class_attendance(&p, 0, 0).passed);
    }

    #[test]
    fn class_completion_needs_assessment_and_attendance() {
        let p = PolicySet::xianning_2025_5_v1();
        assert!(evaluate_completion(&p, 100, 100, true).outcome);
        let failed = evaluate_completion(&p, 100, 100, false);
        assert_eq!(failed.first_failure().expect("fails").code, "CLASS-COMPLETION");
    }

    fn occupation(code: &str) -> OccupationCode {
        OccupationCode::parse(code).expect("occupation")
    }

    /// The class trains 6-31-01-03 at level 4 (中级工).
    fn related(policy: &PolicySet, code: &str, level: SkillLevel) -> RuleResult {
        evaluation_related(policy, &occupation("6-31-01-03"), SkillLevel::Level4, &occupation(code), level)
    }

    #[test]
    fn evaluation_related_same_occupation_at_the_project_level_counts() {
        let p = PolicySet::xianning_2025_5_v2();
        let r = related(&p, "6-31-01-03", SkillLevel::Level4);
        assert!(r.passed, "{}", r.reason_en);
        assert_eq!(r.code, "EVALUATION_RELATED");
        assert!(r.reason_en.contains("is the class's occupation 6-31-01-03"), "{}", r.reason_en);
    }

    #[test]
    fn evaluation_related_same_minor_group_counts_under_v2() {
        let p = PolicySet::xianning_2025_5_v2();
        let r = related(&p, "6-31-01-05", SkillLevel::Level4);
        assert!(r.passed, "{}", r.reason_en);
        assert!(r.reason_zh.contains("同属小类6-31-01"), "{}", r.reason_zh);
    }

    #[test]
    fn evaluation_related_another_minor_group_does_not_count() {
        let p = PolicySet::xianning_2025_5_v2();
        let r = related(&p, "6-31-02-03", SkillLevel::Level1);
        assert!(!r.passed);
        assert!(r.reason_en.contains("outside the minor group 6-31-01"), "{}", r.reason_en);
        assert!(r.reason_zh.contains("不计入结业"), "{}", r.reason_zh);
    }

    #[test]
    fn evaluation_related_a_level_above_counts_and_one_below_does_not() {
        let p = PolicySet::xianning_2025_5_v2();
        assert!(related(&p, "6-31-01-03", SkillLevel::Level3).passed);
        assert!(related(&p, "6-31-01-05", SkillLevel::Level1).passed);
        let below = related(&p, "6-31-01-03", SkillLevel::Level5);
        assert!(!below.passed);
        assert!(below.reason_en.contains("LEVEL_5 is below the project's level LEVEL_4"), "{}", below.reason_en);
    }

    #[test]
    fn evaluation_related_follows_cert_related_and_the_edition() {
        let mut p = PolicySet::xianning_2025_5_v2();
        p.cert_related = CertRelated::SameOccupation;
        assert!(!related(&p, "6-31-01-05", SkillLevel::Level4).passed);
        assert!(related(&p, "6-31-01-03", SkillLevel::Level4).passed);
        let v1 = PolicySet::xianning_2025_5_v1();
        assert!(!related(&v1, "6-31-01-03", SkillLevel::Level4).passed, "v1 completes by the assessment only");
    }

    fn filing() -> ClassFiling {
        ClassFiling {
            filed_on: d(2025, 8, 31),
            first_day: d(2025, 9, 1),
            last_day: d(2025, 9, 30),
            project_approved: true,
            provider_qualified: true,
            theory_hours: 40,
            practice_hours: 60,
            venue_stated: true,
            teachers_named: true,
            roster_size: 30,
            mode: Some(TrainingMode::Offline),
        }
    }

    #[test]
    fn class_filing_day_before_first_day_is_last_chance() {
        let p = PolicySet::xianning_2025_5_v1();
        assert!(class_filing(&p, &filing()).passed);
        let mut late = filing();
        late.filed_on = d(2025, 9, 1);
        assert!(!class_filing(&p, &late).passed);
        let mut unapproved = filing();
        unapproved.project_approved = false;
        assert!(!class_filing(&p, &unapproved).passed);
    }

    #[test]
    fn class_headcount_exactly_approved_passes() {
        assert!(class_headcount(100, &[40, 30], 30).passed);
        assert!(!class_headcount(100, &[40, 30], 31).passed);
    }

    fn finding(severity: FindingSeverity, kind: FindingKind) -> InspectionFinding {
        InspectionFinding {
            class_id: "C1".to_owned(),
            inspected_on: d(2025, 9, 10),
            officer: "officer-1".to_owned(),
            severity,
            kind,
            note: String::new(),
        }
    }

    #[test]
    fn class_inspection_no_finding_continues() {
        let p = PolicySet::xianning_2025_5_v1();
        let dec = class_inspection(&p, &finding(FindingSeverity::None, FindingKind::Fraud));
        assert_eq!(dec.outcome, InspectionOutcome::Continue);
        assert!(dec.all_passed());
        assert_eq!(dec.policy_version, p.version);
    }

    #[test]
    fn class_inspection_minor_finding_continues_with_correction() {
        let p = PolicySet::xianning_2025_5_v1();
        for kind in [FindingKind::Attendance, FindingKind::Fraud, FindingKind::Subcontracting] {
            let dec = class_inspection(&p, &finding(FindingSeverity::Minor, kind));
            assert_eq!(dec.outcome, InspectionOutcome::Correct);
            assert!(dec.all_passed());
            assert!(dec.rule("PROV-DISQUALIFIED").is_none());
            assert!(dec.rules[0].reason_zh.contains("整改"));
        }
    }

    #[test]
    fn class_inspection_serious_fraud_stops_class() {
        let p = PolicySet::xianning_2025_5_v1();
        let dec = class_inspection(&p, &finding(FindingSeverity::Serious, FindingKind::Fraud));
        assert_eq!(dec.outcome, InspectionOutcome::StopAndDisqualify);
        assert_eq!(dec.first_failure().expect("fails").code, "CLASS-INSPECTION");
        let referral = dec.rule("PROV-DISQUALIFIED").expect("referred");
        assert!(!referral.passed);
        assert!(referral.reason_zh.contains("弄虚作假"));
    }

    #[test]
    fn class_inspection_serious_subcontracting_refers_for_disqualification() {
        let p = PolicySet::xianning_2025_5_v1();
        let dec = class_inspection(&p, &finding(FindingSeverity::Serious, FindingKind::Subcontracting));
        assert_eq!(dec.outcome, InspectionOutcome::StopAndDisqualify);
        assert!(dec.rule("PROV-DISQUALIFIED").is_some_and(|r| r.reason_zh.contains("转包")));
    }

    #[test]
    fn class_inspection_serious_safety_stops_without_disqualification() {
        let p = PolicySet::xianning_2025_5_v1();
        let dec = class_inspection(&p, &finding(FindingSeverity::Serious, FindingKind::Safety));
        assert_eq!(dec.outcome, InspectionOutcome::Stop);
        assert!(!dec.all_passed());
        assert!(dec.rule("PROV-DISQUALIFIED").is_none());
    }

    #[test]
    fn class_inspection_finding_json_round_trips() {
        let f = finding(FindingSeverity::Serious, FindingKind::Subcontracting);
        let json = serde_json::to_string(&f).expect("ser");
        assert!(json.contains("\"SERIOUS\"") && json.contains("\"SUBCONTRACTING\""));
        assert_eq!(serde_json::from_str::<InspectionFinding>(&json).expect("de"), f);
    }

    fn roster_entry(n: u32, name: &str) -> RosterEntry {
        RosterEntry { id_number: format!("42120219900101{n:04}"), name: name.to_owned() }
    }

    fn full_row(entry: &RosterEntry) -> LedgerRow {
        LedgerRow {
            id_number: entry.id_number.clone(),
            attended_hours: Some(90),
            completion_passed: Some(true),
            skill_evaluation_taken: false,
            skill_evaluation: None,
        }
    }

    fn ledger() -> ClassLedger {
        let roster = vec![roster_entry(1, "张三"), roster_entry(2, "李四"), roster_entry(3, "王五")];
        let rows = roster.iter().map(full_row).collect();
        ClassLedger { class_id: "C1".to_owned(), roster, rows }
    }

    #[test]
    fn class_ledger_complete_passes() {
        let r = class_ledger(&ledger());
        assert!(r.passed, "{r:?}");
        // A failed completion is still a recorded result.
        let mut l = ledger();
        l.rows[1].completion_passed = Some(false);
        l.rows[2].attended_hours = Some(0);
        assert!(class_ledger(&l).passed);
    }

    #[test]
    fn class_ledger_missing_result_names_trainee() {
        let mut l = ledger();
        l.rows[1].completion_passed = None;
        let r = class_ledger(&l);
        assert!(!r.passed);
        assert_eq!(r.code, "CLASS-LEDGER");
        assert!(r.reason_zh.contains("李四缺结业考核结果"), "{}", r.reason_zh);
        assert!(r.reason_en.contains("李四 lacks a completion result"), "{}", r.reason_en);
        assert!(!r.reason_zh.contains("张三"));
    }

    #[test]
    fn class_ledger_missing_attendance_or_row_names_trainee() {
        let mut l = ledger();
        l.rows[0].attended_hours = None;
        l.rows.remove(2);
        let r = class_ledger(&l);
        assert!(!r.passed);
        assert!(r.reason_zh.contains("张三缺出勤学时"));
        assert!(r.reason_zh.contains("王五无台账记录"));
    }

    #[test]
    fn class_ledger_skill_evaluation_taken_needs_record() {
        let mut l = ledger();
        l.rows[0].skill_evaluation_taken = true;
        let r = class_ledger(&l);
        assert!(!r.passed);
        assert!(r.reason_zh.contains("张三缺技能评价结果"));
        l.rows[0].skill_evaluation = Some(SkillEvaluationRecord {
            certificate_number: "S000001".to_owned(),
            level: SkillLevel::Level4,
            issuer: "咸宁市职业技能鉴定中心".to_owned(),
            issued_on: d(2025, 10, 15),
        });
        assert!(class_ledger(&l).passed);
        l.rows[0].skill_evaluation.as_mut().expect("record").issuer = " ".to_owned();
        assert!(!class_ledger(&l).passed);
    }

    #[test]
    fn class_ledger_row_off_roster_fails_and_empty_roster_fails() {
        let mut l = ledger();
        l.rows.push(full_row(&roster_entry(9, "赵六")));
        let r = class_ledger(&l);
        assert!(!r.passed);
        assert!(r.reason_zh.contains("不在实名制花名册"));
        let empty = ClassLedger { class_id: "C2".to_owned(), roster: Vec::new(), rows: Vec::new() };
        assert!(!class_ledger(&empty).passed);
    }

    #[test]
    fn class_ledger_names_first_five_gaps_then_counts() {
        let roster: Vec<RosterEntry> = (1..=8).map(|n| roster_entry(n, &format!("学员{n}"))).collect();
        let l = ClassLedger { class_id: "C3".to_owned(), roster, rows: Vec::new() };
        let r = class_ledger(&l);
        assert!(!r.passed);
        assert!(r.reason_zh.contains("学员5无台账记录"));
        assert!(!r.reason_zh.contains("学员6"));
        assert!(r.reason_zh.contains("另有3处"));
        assert!(r.reason_en.ends_with("and 3 more"));
    }
}
