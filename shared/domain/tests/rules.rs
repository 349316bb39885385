//! Every rule code (docs/RULES.md) around claims and outcomes, with its boundary cases, and the
//! property tests of the subsidy claim.

use chrono::NaiveDate;
use proptest::prelude::*;
use qiancheng_domain::policy::facts::{
    BusinessRegistration, Certificate, CertificateKind, ClassFacts, ContractKind, EmployerMonth, EmploymentContract,
    OperationMonth, OperationProof, OutcomeEvidence, Payment, PaymentChannel, PriorSubsidy, ServiceEngagement,
    ServiceRoute, TraineeFacts, YearMonth,
};
use qiancheng_domain::policy::outcome::{
    Route, evaluate_outcome, out_cert, out_emp_business, out_emp_contract, out_emp_registration, out_emp_service,
    out_window,
};
use qiancheng_domain::policy::payment::{
    BankAccount, EntrySide, FundPortion, PaymentInstruction, subs_pay_entries, subs_pay_entries_balance,
    subs_pay_portions,
};
use qiancheng_domain::policy::subsidy::{
    ClaimTrainee, ProjectBasis, ProjectFacts, RecoveryCause, Uplift, subs_deadline, subs_line_amount,
    subs_notice_allows_payment, subs_notice_end, subs_recover, subs_tier,
};
use qiancheng_domain::policy::{
    ClaimDecision, ClaimFacts, Fraction, Fund, HolidayCalendar, MinimumWage, MinimumWageTable, PaymentFacts,
    PaymentOutcome, PolicySet, StandardSource, SubsidyStandard, SubsidyStandardTable, evaluate_claim, subs_pay,
};
use qiancheng_domain::{Money, OccupationCode, RegionCode, SkillLevel, TargetGroup};

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).expect("date")
}

fn ym(s: &str) -> YearMonth {
    YearMonth::parse(s).expect("month")
}

fn occ() -> OccupationCode {
    OccupationCode::parse("6-31-01-03").expect("code")
}

fn policy() -> PolicySet {
    PolicySet::xianning_2025_5_v1()
}

/// A valid ID number born on 1990-01-01 plus `n` days, so every trainee differs.
fn id_number(n: u32) -> String {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let birth = d(1990, 1, 1) + chrono::Days::new(u64::from(n));
    let first17 = format!("421202{}{:03}", birth.format("%Y%m%d"), n % 1000);
    let sum: u32 = first17.bytes().zip(W).map(|(b, w)| u32::from(b - b'0') * w).sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{first17}{check}")
}

fn class() -> ClassFacts {
    ClassFacts {
        id: "C1".to_owned(),
        region: RegionCode::Xianan,
        first_day: d(2025, 9, 1),
        last_day: d(2025, 9, 30),
        hours: 100,
        filed_on: None,
        prehire: false,
    }
}

fn standards(fen: i64) -> SubsidyStandardTable {
    SubsidyStandardTable::new(vec![SubsidyStandard {
        occupation: occ(),
        level: SkillLevel::Level4,
        standard_fen: Money::from_fen(fen), // SAMPLE figure, not an official standard
        effective_from: d(2025, 1, 1),
        effective_to: None,
        source: StandardSource::Provincial,
    }])
    .expect("valid")
}

fn wages() -> MinimumWageTable {
    // SAMPLE: which Hubei tier 咸安区 is in was not found; 2210 and 2130 are tier figures.
    MinimumWageTable::new(vec![
        MinimumWage {
            region: RegionCode::CITY.into(),
            effective_from: d(2021, 12, 1),
            monthly_fen: Money::from_fen(221_000),
        },
        MinimumWage {
            region: RegionCode::Xianan.into(),
            effective_from: d(2025, 12, 1),
            monthly_fen: Money::from_fen(213_000),
        },
    ])
    .expect("valid")
}

fn employed_evidence() -> OutcomeEvidence {
    let months = ["2025-10", "2025-11", "2025-12"];
    let em = |m: &str| EmployerMonth { employer: "E".to_owned(), month: ym(m) };
    OutcomeEvidence {
        contracts: vec![EmploymentContract {
            employer: "E".to_owned(),
            kind: ContractKind::Labour,
            signed_on: d(2025, 10, 1),
            accident_insurance: false,
            ends_on: None,
        }],
        insurance_months: months.iter().map(|m| em(m)).collect(),
        wage_months: months.iter().map(|m| em(m)).collect(),
        ..OutcomeEvidence::default()
    }
}

fn trainee(n: u32, group: TargetGroup, employed: bool) -> ClaimTrainee {
    ClaimTrainee {
        class_id: "C1".to_owned(),
        person: TraineeFacts {
            name: format!("学员{n}"),
            id_number: id_number(n),
            group,
            budget_paid: false,
            roster_added_on: Some(d(2025, 8, 25)),
            other_classes: vec![],
            prior_subsidies: vec![],
            contract_signed_on: None,
            local_basis: None,
            supported_groups: vec![],
            employed_on_first_day: false,
        },
        attended_hours: 100,
        assessment_passed: true,
        skill_evaluation_passed: false,
        evidence: if employed { employed_evidence() } else { OutcomeEvidence::default() },
        uplifts: vec![],
        verdict: None,
    }
}

/// A claim with `employed` of `total` trainees employed.
fn claim(total: u32, employed: u32) -> ClaimFacts {
    ClaimFacts {
        project: ProjectFacts {
            id: "P1".to_owned(),
            name: "示例项目".to_owned(),
            occupation: occ(),
            level: SkillLevel::Level4,
            provider_disqualified_on: None,
            key_project: None,
        },
        classes: vec![class()],
        trainees: (0..total).map(|n| trainee(n, TargetGroup::RuralMigrant, n < employed)).collect(),
        filed_on: d(2026, 3, 1),
        materials: vec![],
    }
}

fn eval(facts: &ClaimFacts, standard_fen: i64) -> ClaimDecision {
    evaluate_claim(&policy(), facts, &standards(standard_fen), &wages()).expect("consistent facts")
}

// ---- SUBS-TIER ----

#[test]
fn subs_tier_exactly_70_percent_is_200_percent() {
    assert_eq!(subs_tier(&policy(), Fraction::percent(70)), 200);
    let dec = eval(&claim(10, 7), 100_000);
    assert_eq!(dec.outcome.tier_percent, Some(200));
    assert_eq!(dec.outcome.lines[0].amount_fen, Money::from_fen(200_000));
}

#[test]
fn subs_tier_69_99_percent_is_100_percent() {
    let rate = Fraction::new(6999, 10_000).expect("rate");
    assert_eq!(subs_tier(&policy(), rate), 100);
    let dec = eval(&claim(3, 2), 100_000); // 66.67%
    assert_eq!(dec.outcome.tier_percent, Some(100));
}

#[test]
fn subs_tier_exactly_30_percent_is_100_percent() {
    assert_eq!(subs_tier(&policy(), Fraction::percent(30)), 100);
    let dec = eval(&claim(10, 3), 100_000);
    assert_eq!(dec.outcome.tier_percent, Some(100));
    assert_eq!(dec.outcome.lines[0].amount_fen, Money::from_fen(100_000));
}

#[test]
fn subs_tier_29_99_percent_is_50_percent() {
    assert_eq!(subs_tier(&policy(), Fraction::new(2999, 10_000).expect("rate")), 50);
    let dec = eval(&claim(10, 2), 100_000);
    assert_eq!(dec.outcome.tier_percent, Some(50));
    assert_eq!(dec.outcome.lines[0].amount_fen, Money::from_fen(50_000));
}

// ---- SUBS-UPLIFT, SUBS-CAP, SUBS-ROUND ----

#[test]
fn subs_uplift_highest_wins_not_product() {
    let mut facts = claim(10, 7); // 200% tier
    facts.trainees[0].uplifts = vec![Uplift { name: "示例上浮(SAMPLE)".to_owned(), percent: 150 }];
    facts.trainees[1].uplifts =
        vec![Uplift { name: "A".to_owned(), percent: 150 }, Uplift { name: "B".to_owned(), percent: 220 }];
    let dec = eval(&facts, 100_000);
    // 200% beside 150%: 200%, never 300%.
    assert_eq!(dec.outcome.lines[0].multiplier_percent, 200);
    assert_eq!(dec.outcome.lines[0].amount_fen, Money::from_fen(200_000));
    // 150% and 220% beside 200%: 220%, never 150% × 220% × 200%.
    assert_eq!(dec.outcome.lines[1].multiplier_percent, 220);
    assert_eq!(dec.outcome.lines[1].amount_fen, Money::from_fen(220_000));
}

#[test]
fn subs_uplift_beats_low_tier() {
    let mut facts = claim(10, 1); // 50% tier
    facts.trainees[0].uplifts = vec![Uplift { name: "A".to_owned(), percent: 120 }];
    let dec = eval(&facts, 100_000);
    assert_eq!(dec.outcome.lines[0].amount_fen, Money::from_fen(120_000));
    assert_eq!(dec.outcome.lines[1].amount_fen, Money::from_fen(50_000));
}

#[test]
fn subs_cap_line_over_5000() {
    let dec = eval(&claim(10, 7), 260_000); // 2600 × 200% = 5200
    let line = &dec.outcome.lines[0];
    assert_eq!(line.amount_fen, Money::from_fen(500_000));
    assert!(line.rules.iter().any(|r| r.code == "SUBS-CAP" && r.reason_en.contains("capped")));
    let dec = eval(&claim(10, 7), 250_000); // exactly 5000
    assert_eq!(dec.outcome.lines[0].amount_fen, Money::from_fen(500_000));
}

#[test]
fn subs_round_half_fen_rounds_up() {
    // 1234.55 × 50% = 617.275 → 617.28.
    assert_eq!(subs_line_amount(&policy(), Money::from_fen(123_455), 50).0, Money::from_fen(61_728));
    // 1234.53 × 50% = 617.265 → 617.27; 1234.51 × 50% = 617.255 → 617.26.
    assert_eq!(subs_line_amount(&policy(), Money::from_fen(123_453), 50).0, Money::from_fen(61_727));
    let dec = eval(&claim(10, 0), 123_455);
    assert_eq!(dec.outcome.lines[0].amount_fen, Money::from_fen(61_728));
    // SUBS-ROUND: the total is the sum of rounded lines, not a rounded sum.
    assert_eq!(dec.outcome.total_fen, Money::from_fen(61_728 * 10));
}

// ---- SUBS-DEADLINE ----

#[test]
fn subs_deadline_last_day_is_in_time() {
    assert!(subs_deadline(&policy(), d(2025, 9, 30), d(2026, 3, 30)).passed);
    let mut facts = claim(2, 2);
    facts.filed_on = d(2026, 3, 30);
    assert!(eval(&facts, 100_000).outcome.total_fen > Money::ZERO);
}

#[test]
fn subs_deadline_one_day_late() {
    assert!(!subs_deadline(&policy(), d(2025, 9, 30), d(2026, 3, 31)).passed);
    let mut facts = claim(2, 2);
    facts.filed_on = d(2026, 3, 31);
    let dec = eval(&facts, 100_000);
    assert_eq!(dec.outcome.total_fen, Money::ZERO);
    for line in &dec.outcome.lines {
        assert_eq!(line.amount_fen, Money::ZERO);
        assert_eq!(line.stopped_by.as_deref(), Some("SUBS-DEADLINE"));
    }
}

#[test]
fn subs_deadline_month_end_clamps() {
    // Last class ends 2025-08-31: six months later is 2026-02-28 (DATE-MONTHS).
    assert!(subs_deadline(&policy(), d(2025, 8, 31), d(2026, 2, 28)).passed);
    assert!(!subs_deadline(&policy(), d(2025, 8, 31), d(2026, 3, 1)).passed);
}

// ---- SUBS-NOTICE ----

#[test]
fn subs_notice_across_spring_festival_2026() {
    let cal = HolidayCalendar::bundled();
    // Thu 02-12 (1), Fri 02-13 (2), Sat 02-14 make-up day (3), 02-15..23 holiday,
    // Tue 02-24 (4), Wed 02-25 (5).
    assert_eq!(subs_notice_end(&policy(), &cal, d(2026, 2, 12)).expect("covered"), d(2026, 2, 25));
    // Thu 02-26 (1), Fri 02-27 (2), Sat 02-28 make-up day (3), Mon 03-02 (4), Tue 03-03 (5).
    assert_eq!(subs_notice_end(&policy(), &cal, d(2026, 2, 26)).expect("covered"), d(2026, 3, 3));
    // Published on the first holiday day: counting starts with the first working day after,
    // 02-24 (1) .. 02-27 (4), and the make-up Saturday 02-28 is the fifth.
    assert_eq!(subs_notice_end(&policy(), &cal, d(2026, 2, 15)).expect("covered"), d(2026, 2, 28));
}

#[test]
fn subs_notice_uncovered_year_is_an_error() {
    let cal = HolidayCalendar::bundled();
    assert!(subs_notice_end(&policy(), &cal, d(2026, 12, 28)).is_err());
}

#[test]
fn subs_notice_payment_waits_for_end_and_objections() {
    let end = d(2026, 2, 25);
    assert!(!subs_notice_allows_payment(end, end, 0));
    assert!(subs_notice_allows_payment(end, d(2026, 2, 26), 0));
    assert!(!subs_notice_allows_payment(end, d(2026, 2, 26), 1));
}

// ---- SUBS-RECOVER ----

#[test]
fn subs_recover_fraud_recovers_everything_paid() {
    let dec = eval(&claim(10, 7), 100_000);
    let rec = subs_recover(&policy(), &dec.outcome, &RecoveryCause::Fraud);
    assert_eq!(rec.outcome, dec.outcome.total_fen);
    assert_eq!(rec.outcome, Money::from_fen(2_000_000));
}

#[test]
fn subs_recover_rate_fall_recovers_tier_difference() {
    let mut facts = claim(10, 7);
    facts.trainees[0].uplifts = vec![Uplift { name: "A".to_owned(), percent: 150 }];
    let dec = eval(&facts, 100_000); // 200% each: 2000 yuan × 10
    let fell = RecoveryCause::RateFell { new_rate: Fraction::new(6, 10).expect("rate") };
    let rec = subs_recover(&policy(), &dec.outcome, &fell);
    // Nine lines fall from 200% to 100% (1000 yuan each); the uplifted one to 150% (500).
    assert_eq!(rec.outcome, Money::from_fen(9 * 100_000 + 50_000));
    let same = RecoveryCause::RateFell { new_rate: Fraction::percent(70) };
    assert_eq!(subs_recover(&policy(), &dec.outcome, &same).outcome, Money::ZERO);
}

// ---- SUBS-ELIGIBLE, SUBS-STANDARD, SUBS-FUND, OUT-RATE, PROJ-BASIS, PROV-DISQUALIFIED ----

#[test]
fn subs_eligible_zero_lines_carry_the_stopping_rule() {
    let mut facts = claim(6, 6);
    facts.trainees[0].person.budget_paid = true;
    facts.trainees[1].attended_hours = 79;
    facts.trainees[2].assessment_passed = false;
    facts.trainees[3].person.prior_subsidies = vec![PriorSubsidy { occupation: occ(), level: SkillLevel::Level4 }];
    facts.trainees[4].person.group = TargetGroup::ProjectEnterpriseRecruit;
    facts.trainees[5].person.id_number = "421202199001011231".to_owned();
    let dec = eval(&facts, 100_000);
    let stops: Vec<_> = dec.outcome.lines.iter().map(|l| l.stopped_by.as_deref()).collect();
    assert_eq!(
        stops,
        [
            Some("ELIG-FISCAL"),
            Some("CLASS-ATTENDANCE"),
            Some("CLASS-COMPLETION"),
            Some("ELIG-ONCE"),
            Some("ELIG-PREHIRE"),
            Some("PERSON-ID"),
        ]
    );
    assert!(dec.outcome.lines.iter().all(|l| l.amount_fen == Money::ZERO));
    assert!(dec.outcome.lines.iter().all(|l| { l.rules.iter().any(|r| r.code == "SUBS-ELIGIBLE" && !r.passed) }));
}

#[test]
fn subs_standard_missing_gives_zero_with_reason() {
    let facts = claim(2, 2);
    let empty = SubsidyStandardTable::default();
    let dec = evaluate_claim(&policy(), &facts, &empty, &wages()).expect("consistent");
    assert_eq!(dec.outcome.total_fen, Money::ZERO);
    assert_eq!(dec.outcome.lines[0].stopped_by.as_deref(), Some("SUBS-STANDARD"));
}

#[test]
fn subs_standard_local_standard_names_its_document() {
    let table = SubsidyStandardTable::new(vec![SubsidyStandard {
        occupation: occ(),
        level: SkillLevel::Level4,
        standard_fen: Money::from_fen(90_000), // SAMPLE figure, not an official standard
        effective_from: d(2025, 9, 1),
        effective_to: None,
        source: StandardSource::Local { document_number: "咸人社函〔2025〕示例号".to_owned() },
    }])
    .expect("valid");
    let dec = evaluate_claim(&policy(), &claim(1, 1), &table, &wages()).expect("consistent");
    let line = &dec.outcome.lines[0];
    assert_eq!(line.amount_fen, Money::from_fen(180_000));
    assert!(line.rules.iter().any(|r| r.code == "SUBS-STANDARD" && r.reason_zh.contains("咸人社函〔2025〕示例号")));
}

#[test]
fn subs_standard_in_force_on_first_day_not_claim_day() {
    let table = SubsidyStandardTable::new(vec![SubsidyStandard {
        occupation: occ(),
        level: SkillLevel::Level4,
        standard_fen: Money::from_fen(90_000), // SAMPLE figure, not an official standard
        effective_from: d(2025, 9, 2),
        effective_to: None,
        source: StandardSource::Provincial,
    }])
    .expect("valid");
    let dec = evaluate_claim(&policy(), &claim(1, 1), &table, &wages()).expect("consistent");
    assert_eq!(dec.outcome.lines[0].stopped_by.as_deref(), Some("SUBS-STANDARD"));
}

#[test]
fn subs_fund_in_service_from_skill_upgrade_account() {
    let mut facts = claim(2, 2);
    facts.trainees[0].person.group = TargetGroup::InServiceWorker;
    let dec = eval(&facts, 100_000);
    assert_eq!(dec.outcome.lines[0].fund, Fund::SkillUpgradeAccount);
    assert_eq!(dec.outcome.lines[1].fund, Fund::EmploymentSubsidyFund);
}

#[test]
fn out_rate_no_completed_trainee_no_subsidy() {
    let mut facts = claim(2, 2);
    for t in &mut facts.trainees {
        t.attended_hours = 10;
    }
    let dec = eval(&facts, 100_000);
    assert_eq!(dec.outcome.rate, None);
    assert_eq!(dec.outcome.total_fen, Money::ZERO);
    assert!(!dec.rule("OUT-RATE").expect("evaluated").passed);
}

#[test]
fn out_rate_counts_all_classes_of_the_project() {
    let mut facts = claim(4, 2);
    let mut c2 = class();
    c2.id = "C2".to_owned();
    c2.first_day = d(2025, 10, 9);
    c2.last_day = d(2025, 10, 31);
    facts.classes.push(c2);
    facts.trainees[2].class_id = "C2".to_owned();
    facts.trainees[3].class_id = "C2".to_owned();
    facts.trainees[2].evidence = employed_evidence();
    let dec = eval(&facts, 100_000);
    let rate = dec.outcome.rate.expect("rate");
    assert_eq!((rate.numerator, rate.denominator), (3, 4));
    assert_eq!(dec.outcome.tier_percent, Some(200));
}

#[test]
fn proj_basis_in_service_uses_certificate_rate() {
    let mut facts = claim(2, 2);
    for t in &mut facts.trainees {
        t.person.group = TargetGroup::InServiceWorker;
    }
    // Employment evidence does not count for in-service workers; a certificate does.
    facts.trainees[0].evidence.certificates = vec![Certificate {
        kind: CertificateKind::SkillLevel,
        number: "S-1".to_owned(),
        occupation: occ(),
        level: SkillLevel::Level4,
        issued_on: d(2025, 11, 1),
    }];
    let dec = eval(&facts, 100_000);
    assert_eq!(dec.outcome.basis, ProjectBasis::CertificateRate);
    let rate = dec.outcome.rate.expect("rate");
    assert_eq!((rate.numerator, rate.denominator), (1, 2));
}

#[test]
fn prov_disqualified_refuses_unpaid_subsidies() {
    let mut facts = claim(2, 2);
    facts.project.provider_disqualified_on = Some(d(2026, 1, 1));
    let dec = eval(&facts, 100_000);
    assert_eq!(dec.outcome.total_fen, Money::ZERO);
    assert_eq!(dec.outcome.lines[0].stopped_by.as_deref(), Some("PROV-DISQUALIFIED"));
}

#[test]
fn claim_with_unknown_class_is_an_error() {
    let mut facts = claim(1, 1);
    facts.trainees[0].class_id = "nope".to_owned();
    assert!(evaluate_claim(&policy(), &facts, &standards(1), &wages()).is_err());
}

// ---- OUT-WINDOW, OUT-CERT ----

fn cert_on(date: NaiveDate, level: SkillLevel) -> OutcomeEvidence {
    OutcomeEvidence {
        certificates: vec![Certificate {
            kind: CertificateKind::SkillLevel,
            number: "S-1".to_owned(),
            occupation: occ(),
            level,
            issued_on: date,
        }],
        ..OutcomeEvidence::default()
    }
}

#[test]
fn out_window_last_day() {
    let (from, to) = out_window(&policy(), &class());
    assert_eq!((from, to), (d(2025, 9, 30), d(2026, 3, 30)));
    assert!(out_cert(&policy(), &class(), &occ(), &cert_on(to, SkillLevel::Level4)).passed);
    assert!(out_cert(&policy(), &class(), &occ(), &cert_on(from, SkillLevel::Level4)).passed);
}

#[test]
fn out_window_day_after() {
    assert!(!out_cert(&policy(), &class(), &occ(), &cert_on(d(2026, 3, 31), SkillLevel::Level4)).passed);
    assert!(!out_cert(&policy(), &class(), &occ(), &cert_on(d(2025, 9, 29), SkillLevel::Level4)).passed);
}

#[test]
fn out_window_month_end_clamps() {
    let mut c = class();
    c.first_day = d(2025, 8, 1);
    c.last_day = d(2025, 8, 31);
    assert_eq!(out_window(&policy(), &c).1, d(2026, 2, 28));
}

#[test]
fn out_cert_needs_higher_level_same_occupation_real_certificate() {
    let mut ev = cert_on(d(2025, 11, 1), SkillLevel::Level4);
    ev.prior_level = Some(SkillLevel::Level4);
    assert!(!out_cert(&policy(), &class(), &occ(), &ev).passed);
    ev.prior_level = Some(SkillLevel::Level5);
    assert!(out_cert(&policy(), &class(), &occ(), &ev).passed);
    ev.certificates[0].occupation = OccupationCode::parse("4-10-01-05").expect("code");
    assert!(!out_cert(&policy(), &class(), &occ(), &ev).passed);
    let mut other = cert_on(d(2025, 11, 1), SkillLevel::Level4);
    other.certificates[0].kind = CertificateKind::Other;
    assert!(!out_cert(&policy(), &class(), &occ(), &other).passed);
}

// ---- OUT-EMP-CONTRACT, OUT-MONTHS ----

#[test]
fn out_emp_contract_three_months_of_insurance_and_wages() {
    let ev = employed_evidence();
    assert!(out_emp_contract(&policy(), &class(), &ev).passed);
    let mut short = ev.clone();
    short.wage_months.pop();
    assert!(!out_emp_contract(&policy(), &class(), &short).passed);
    let mut other_employer = ev.clone();
    other_employer.insurance_months[0].employer = "F".to_owned();
    assert!(!out_emp_contract(&policy(), &class(), &other_employer).passed);
}

#[test]
fn out_emp_contract_internship_needs_accident_insurance() {
    let mut ev = employed_evidence();
    ev.contracts[0].kind = ContractKind::Internship;
    assert!(!out_emp_contract(&policy(), &class(), &ev).passed);
    ev.contracts[0].accident_insurance = true;
    assert!(out_emp_contract(&policy(), &class(), &ev).passed);
}

#[test]
fn out_months_count_from_first_day_to_window_end() {
    let mut ev = employed_evidence();
    // Months before the class's first month do not count; the first month does (pre-hire).
    for (i, m) in ["2025-07", "2025-08", "2025-09"].iter().enumerate() {
        ev.insurance_months[i].month = ym(m);
        ev.wage_months[i].month = ym(m);
    }
    assert!(!out_emp_contract(&policy(), &class(), &ev).passed);
    for (i, m) in ["2025-09", "2026-02", "2026-03"].iter().enumerate() {
        ev.insurance_months[i].month = ym(m);
        ev.wage_months[i].month = ym(m);
    }
    assert!(out_emp_contract(&policy(), &class(), &ev).passed);
    ev.insurance_months[2].month = ym("2026-04");
    assert!(!out_emp_contract(&policy(), &class(), &ev).passed);
}

// ---- OUT-EMP-BUSINESS ----

#[test]
fn out_emp_business_registered_during_or_after_training() {
    let op = |m: &str| OperationMonth { month: ym(m), proof: OperationProof::Invoice };
    let mut ev = OutcomeEvidence {
        businesses: vec![BusinessRegistration {
            registered_on: d(2025, 9, 1),
            legal_representative_is_trainee: true,
            operation: vec![op("2025-10"), op("2025-11"), op("2025-12")],
        }],
        ..OutcomeEvidence::default()
    };
    assert!(out_emp_business(&policy(), &class(), &ev).passed);
    ev.businesses[0].registered_on = d(2025, 8, 31);
    assert!(!out_emp_business(&policy(), &class(), &ev).passed);
    ev.businesses[0].registered_on = d(2025, 9, 15);
    ev.businesses[0].legal_representative_is_trainee = false;
    assert!(!out_emp_business(&policy(), &class(), &ev).passed);
    ev.businesses[0].legal_representative_is_trainee = true;
    ev.businesses[0].operation.pop();
    assert!(!out_emp_business(&policy(), &class(), &ev).passed);
}

// ---- OUT-EMP-SERVICE, OUT-EMP-REGISTRATION ----

fn pay(date: NaiveDate, fen: i64, notes: &[&str]) -> Payment {
    Payment {
        paid_on: date,
        amount_fen: Money::from_fen(fen),
        channel: PaymentChannel::Wechat,
        note_months: notes.iter().map(|m| ym(m)).collect(),
    }
}

fn service(route: ServiceRoute, payments: Vec<Payment>) -> OutcomeEvidence {
    OutcomeEvidence {
        services: vec![ServiceEngagement {
            route,
            counterparty: "雇主".to_owned(),
            start: d(2025, 10, 1),
            end: d(2026, 3, 31),
            payments,
            work_region: None,
        }],
        ..OutcomeEvidence::default()
    }
}

fn six_monthly() -> Vec<Payment> {
    vec![
        pay(d(2025, 10, 31), 221_000, &[]),
        pay(d(2025, 11, 30), 221_000, &[]),
        pay(d(2025, 12, 31), 213_000, &[]),
        pay(d(2026, 1, 31), 213_000, &[]),
        pay(d(2026, 2, 28), 213_000, &[]),
        pay(d(2026, 3, 30), 213_000, &[]),
    ]
}

#[test]
fn out_emp_service_six_months_at_minimum_wage() {
    let ev = service(ServiceRoute::ServiceAgreement, six_monthly());
    assert!(out_emp_service(&policy(), &class(), &ev, &wages()).passed);
    // One fen below the November minimum wage (2210 before 2025-12-01) breaks the month.
    let mut low = six_monthly();
    low[1].amount_fen = Money::from_fen(220_999);
    let ev = service(ServiceRoute::ServiceAgreement, low);
    assert!(!out_emp_service(&policy(), &class(), &ev, &wages()).passed);
    // Cash never counts.
    let mut cash = six_monthly();
    cash[0].channel = PaymentChannel::Other;
    assert!(!out_emp_service(&policy(), &class(), &service(ServiceRoute::ServiceAgreement, cash), &wages()).passed);
}

#[test]
fn out_emp_service_lump_payment_counts_only_with_named_months() {
    let mut payments = six_monthly();
    payments.truncate(2);
    // 4 × 2130 paid at once in March without a note: counts for March only.
    payments.push(pay(d(2026, 3, 30), 852_000, &[]));
    let ev = service(ServiceRoute::ServiceAgreement, payments.clone());
    assert!(!out_emp_service(&policy(), &class(), &ev, &wages()).passed);
    // The same payment naming the four months counts for each.
    payments[2].note_months = ["2025-12", "2026-01", "2026-02", "2026-03"].iter().map(|m| ym(m)).collect();
    let ev = service(ServiceRoute::ServiceAgreement, payments);
    assert!(out_emp_service(&policy(), &class(), &ev, &wages()).passed);
}

#[test]
fn out_emp_service_needs_six_months_of_service() {
    let mut ev = service(ServiceRoute::ServiceAgreement, six_monthly());
    ev.services[0].end = d(2026, 3, 30);
    assert!(!out_emp_service(&policy(), &class(), &ev, &wages()).passed);
}

#[test]
fn out_emp_registration_judged_as_service() {
    let ev = service(ServiceRoute::EmploymentRegistration, six_monthly());
    assert!(out_emp_registration(&policy(), &class(), &ev, &wages()).passed);
    assert!(!out_emp_service(&policy(), &class(), &ev, &wages()).passed);
    let ev = service(ServiceRoute::AgencyContract, six_monthly());
    let dec = evaluate_outcome(&policy(), &class(), &occ(), TargetGroup::RuralMigrant, &ev, &wages());
    assert!(dec.outcome.positive);
    assert_eq!(dec.outcome.route, Some(Route::Registration));
}

// ---- SUBS-PAY ----

fn provider_account() -> BankAccount {
    BankAccount {
        holder: "咸宁市示例职业培训学校".to_owned(),
        bank: "示例银行咸宁分行".to_owned(),
        number: "4212 0000 0000 0001".to_owned(),
    }
}

#[test]
fn subs_pay_claim_paid_per_fund_once_with_balanced_entries() {
    let mut facts = claim(4, 4);
    facts.trainees[0].person.group = TargetGroup::InServiceWorker;
    let dec = eval(&facts, 100_000);
    let portions = subs_pay_portions(&dec.outcome).expect("portions");
    // SUBS-FUND: the in-service worker's line comes from the skill-upgrade account.
    assert_eq!(portions.len(), 2);
    assert_eq!(Money::checked_sum(portions.iter().map(|p| p.amount_fen)), Some(dec.outcome.total_fen));
    assert!(portions.iter().any(|p| p.fund == Fund::SkillUpgradeAccount));
    let payment = PaymentFacts {
        instruction: PaymentInstruction {
            instruction_id: "PAY-P1-1".to_owned(),
            claim_id: "P1".to_owned(),
            payee: provider_account(),
            portions,
            pay_on: d(2026, 4, 1),
        },
        provider_account: provider_account(),
        claim_approved: true,
        approved_fen: dec.outcome.total_fen,
        already_paid_fen: Money::ZERO,
        notice_end: d(2026, 3, 31),
        open_objections: 0,
        provider_disqualified_on: None,
    };
    let paid = subs_pay(&policy(), &payment, &[]);
    let PaymentOutcome::Pay { entries } = &paid.outcome else { panic!("not paid: {:?}", paid.first_failure()) };
    assert!(subs_pay_entries_balance(entries).passed);
    let debits: i64 = entries.iter().filter(|e| e.side == EntrySide::Debit).map(|e| e.amount_fen.fen()).sum();
    assert_eq!(debits, dec.outcome.total_fen.fen());
    let again = subs_pay(&policy(), &payment, &["PAY-P1-1".to_owned()]);
    assert_eq!(again.outcome, PaymentOutcome::AlreadyPaid);
}

#[test]
fn subs_pay_refused_claim_has_no_portions() {
    let mut facts = claim(2, 2);
    facts.project.provider_disqualified_on = Some(d(2025, 9, 15));
    let dec = eval(&facts, 100_000);
    assert_eq!(subs_pay_portions(&dec.outcome).expect("portions"), Vec::new());
}

// ---- Properties ----

proptest! {
    #[test]
    fn subs_more_employed_trainees_never_lower_a_claim(
        total in 1u32..15, employed in 0u32..15, extra in 1u32..5, standard in 1i64..400_000,
    ) {
        let employed = employed.min(total);
        let more = (employed + extra).min(total);
        let before = eval(&claim(total, employed), standard).outcome.total_fen;
        let after = eval(&claim(total, more), standard).outcome.total_fen;
        prop_assert!(after >= before);
    }

    #[test]
    fn subs_no_line_exceeds_the_cap_and_total_is_sum_of_lines(
        total in 1u32..12, employed in 0u32..12, standard in 1i64..2_000_000, uplift in 0u32..600,
    ) {
        let mut facts = claim(total, employed.min(total));
        facts.trainees[0].uplifts = vec![Uplift { name: "A".to_owned(), percent: uplift }];
        let dec = eval(&facts, standard);
        let mut sum = 0i64;
        for line in &dec.outcome.lines {
            prop_assert!(line.amount_fen <= Money::from_fen(500_000));
            prop_assert!(line.amount_fen >= Money::ZERO);
            sum += line.amount_fen.fen();
        }
        prop_assert_eq!(dec.outcome.total_fen.fen(), sum);
    }

    #[test]
    fn subs_pay_entries_always_balance(amounts in proptest::collection::vec((1i64..1_000_000_000, any::<bool>()), 1..6)) {
        let portions: Vec<FundPortion> = amounts
            .iter()
            .map(|(fen, skill)| FundPortion {
                fund: if *skill { Fund::SkillUpgradeAccount } else { Fund::EmploymentSubsidyFund },
                amount_fen: Money::from_fen(*fen),
            })
            .collect();
        let instruction = PaymentInstruction {
            instruction_id: "PAY".to_owned(),
            claim_id: "P1".to_owned(),
            payee: provider_account(),
            portions,
            pay_on: d(2026, 4, 1),
        };
        let entries = subs_pay_entries(&instruction).expect("entries");
        prop_assert!(subs_pay_entries_balance(&entries).passed);
        let credits: i64 = entries.iter().filter(|e| e.side == EntrySide::Credit).map(|e| e.amount_fen.fen()).sum();
        prop_assert_eq!(Some(Money::from_fen(credits)), instruction.total());
    }

    #[test]
    fn decision_json_round_trip_is_identity(
        total in 1u32..8, employed in 0u32..8, standard in 1i64..400_000, late in any::<bool>(),
    ) {
        let mut facts = claim(total, employed.min(total));
        if late {
            facts.filed_on = d(2026, 4, 1);
        }
        let dec = eval(&facts, standard);
        let json = serde_json::to_string(&dec).expect("ser");
        let back: ClaimDecision = serde_json::from_str(&json).expect("de");
        prop_assert_eq!(back, dec);
    }
}
