//! Policy set v2: the rules about classes (二(二)(三), 七(三)): CLASS-*, at their boundaries.

mod common;

use common::*;
use qiancheng_domain::policy::class::{
    ClassFiling, ClassLedger, FindingKind, FindingSeverity, InspectionFinding, InspectionOutcome, LedgerRow,
    RosterEntry, class_attendance, class_completion_in, class_filing, class_headcount, class_hours, class_inspection,
    class_ledger, evaluate_class_filing, evaluate_completion_in,
};
use qiancheng_domain::policy::project::{CatalogItem, TrainingMode};
use qiancheng_domain::{OccupationCode, SkillLevel};

fn filing(first_day: chrono::NaiveDate) -> ClassFiling {
    ClassFiling {
        filed_on: first_day - chrono::Days::new(1),
        first_day,
        last_day: first_day + chrono::Days::new(29),
        project_approved: true,
        provider_qualified: true,
        theory_hours: 40,
        practice_hours: 80,
        venue_stated: true,
        teachers_named: true,
        roster_size: 30,
        mode: Some(TrainingMode::Offline),
    }
}

fn item() -> CatalogItem {
    CatalogItem {
        occupation: OccupationCode::parse("6-31-01-03").expect("code"),
        occupation_name: "电工".to_owned(),
        level: SkillLevel::Level4,
        headcount: 40,
        skill_requirements: "低压电工作业".to_owned(),
        content: "电工基础、安全操作".to_owned(),
        hours: 120,
        mode: TrainingMode::Offline,
        demand: "园区企业用工(SAMPLE)".to_owned(),
    }
}

// ---- CLASS-FILING ----

#[test]
fn class_filing_first_day_on_the_last_day_of_the_plan_is_filed_the_day_after_is_not() {
    assert!(class_filing(&v2(), &filing(d(2027, 12, 31))).passed);
    let r = class_filing(&v2(), &filing(d(2028, 1, 1)));
    assert!(!r.passed);
    assert!(r.reason_zh.contains("方案实施期2025-06-06至2027-12-31"), "{}", r.reason_zh);
    // v1 had no such bound.
    assert!(class_filing(&v1(), &filing(d(2028, 1, 1))).passed);
}

#[test]
fn class_filing_first_day_on_the_plans_first_day_is_filed_the_day_before_is_not() {
    assert!(class_filing(&v2(), &filing(d(2025, 6, 6))).passed);
    assert!(!class_filing(&v2(), &filing(d(2025, 6, 5))).passed);
}

#[test]
fn class_filing_the_day_before_the_first_day_is_the_last_chance() {
    let mut f = filing(d(2025, 9, 1));
    assert!(class_filing(&v2(), &f).passed);
    f.filed_on = d(2025, 9, 1);
    assert!(!class_filing(&v2(), &f).passed);
}

// ---- CLASS-HOURS ----

#[test]
fn class_hours_exactly_the_catalog_items_hours_pass_one_fewer_fails() {
    let mut f = filing(d(2025, 9, 1));
    assert!(class_hours(&v2(), &f, &item()).passed);
    f.practice_hours = 79;
    let r = class_hours(&v2(), &f, &item());
    assert!(!r.passed);
    assert!(r.reason_zh.contains("少于清单条目的120学时"), "{}", r.reason_zh);
}

#[test]
fn class_hours_mode_must_be_the_catalog_items() {
    let mut f = filing(d(2025, 9, 1));
    f.mode = Some(TrainingMode::Online);
    assert!(!class_hours(&v2(), &f, &item()).passed);
    f.mode = None;
    assert!(!class_hours(&v2(), &f, &item()).passed);
}

#[test]
fn class_hours_is_checked_with_the_filing_under_v2_only() {
    let mut f = filing(d(2025, 9, 1));
    f.theory_hours = 10;
    let dec = evaluate_class_filing(&v2(), &f, &item());
    assert!(!dec.outcome);
    assert_eq!(dec.first_failure().expect("fails").code, "CLASS-HOURS");
    let dec = evaluate_class_filing(&v1(), &f, &item());
    assert!(dec.outcome && dec.rule("CLASS-HOURS").is_none());
    assert!(class_hours(&v1(), &f, &item()).passed);
}

// ---- CLASS-HEADCOUNT ----

#[test]
fn class_headcount_exactly_the_approved_headcount_passes() {
    assert!(class_headcount(100, &[40, 30], 30).passed);
    assert!(!class_headcount(100, &[40, 30], 31).passed);
}

// ---- CLASS-ATTENDANCE ----

#[test]
fn class_attendance_exactly_80_percent_completes_one_hour_less_does_not() {
    assert!(class_attendance(&v2(), 100, 80).passed);
    assert!(!class_attendance(&v2(), 100, 79).passed);
    assert!(class_attendance(&v2(), 70, 56).passed);
    assert!(!class_attendance(&v2(), 70, 55).passed);
}

// ---- CLASS-COMPLETION ----

#[test]
fn class_completion_assessment_or_skill_evaluation_either_one() {
    assert!(class_completion_in(&v2(), true, false).passed);
    let by_evaluation = class_completion_in(&v2(), false, true);
    assert!(by_evaluation.passed);
    assert!(by_evaluation.reason_zh.contains("技能评价合格"));
    assert!(!class_completion_in(&v2(), false, false).passed);
    // v1 required the assessment.
    assert!(!class_completion_in(&v1(), false, true).passed);
    assert!(evaluate_completion_in(&v2(), 100, 80, false, true).outcome);
    assert!(!evaluate_completion_in(&v2(), 100, 79, false, true).outcome);
}

// ---- CLASS-INSPECTION ----

#[test]
fn class_inspection_serious_subcontracting_stops_the_class_and_refers_the_provider() {
    let finding = InspectionFinding {
        class_id: "C1".to_owned(),
        inspected_on: d(2025, 9, 10),
        officer: "officer-1".to_owned(),
        severity: FindingSeverity::Serious,
        kind: FindingKind::Subcontracting,
        note: String::new(),
    };
    let dec = class_inspection(&v2(), &finding);
    assert_eq!(dec.outcome, InspectionOutcome::StopAndDisqualify);
    assert_eq!(dec.policy_version, "xianning-2025-5/v2");
    let minor = InspectionFinding { severity: FindingSeverity::Minor, ..finding };
    assert_eq!(class_inspection(&v2(), &minor).outcome, InspectionOutcome::Correct);
}

// ---- CLASS-LEDGER ----

#[test]
fn class_ledger_records_a_skill_evaluation_as_a_completion_result() {
    let roster = vec![RosterEntry { id_number: id_n(1), name: "学员1".to_owned() }];
    let row = LedgerRow {
        id_number: id_n(1),
        attended_hours: Some(90),
        completion_passed: Some(false),
        skill_evaluation_taken: true,
        skill_evaluation: None,
    };
    let mut ledger = ClassLedger { class_id: "C1".to_owned(), roster, rows: vec![row] };
    let r = class_ledger(&ledger);
    assert!(!r.passed);
    assert!(r.reason_zh.contains("学员1缺技能评价结果"), "{}", r.reason_zh);
    ledger.rows[0].skill_evaluation = Some(qiancheng_domain::policy::class::SkillEvaluationRecord {
        certificate_number: "S-SAMPLE-1".to_owned(),
        level: SkillLevel::Level4,
        issuer: "咸宁市示例评价机构".to_owned(),
        issued_on: d(2025, 10, 15),
    });
    assert!(class_ledger(&ledger).passed);
}
