//! Policy set v2: the claim (五, 七(四)(五), 八(二)(三)(四)): OUT-RATE by kind, PROJ-BASIS and
//! SUBS-*, at their boundaries, and the claim's properties.

mod common;

use chrono::DateTime;
use common::*;
use proptest::prelude::*;
use qiancheng_domain::policy::calendar::HolidayCalendar;
use qiancheng_domain::policy::facts::{
    ClassFacts, DateRange, KeyProject, KeyProjectLibrary, OutcomeEvidence, PriorSubsidy,
};
use qiancheng_domain::policy::outcome::Basis;
use qiancheng_domain::policy::payment::{BankAccount, PaymentInstruction, subs_pay_entries_balance, subs_pay_portions};
use qiancheng_domain::policy::subsidy::{
    ClaimMaterial, ProjectBasis, RecoveryCause, Uplift, subs_deadline, subs_materials, subs_notice_allows_payment,
    subs_notice_end, subs_recover, subs_sod,
};
use qiancheng_domain::policy::trace::{StepKind, TraceStep, subs_keep};
use qiancheng_domain::policy::{
    ClaimDecision, ClaimFacts, Fraction, Fund, PaymentFacts, PaymentOutcome, PolicySet, StandardSource, SubsidyLine,
    SubsidyStandard, SubsidyStandardTable, Tier, evaluate_claim, subs_pay,
};
use qiancheng_domain::{Money, SkillLevel, TargetGroup};

fn fen(n: i64) -> Money {
    Money::from_fen(n)
}

fn amounts(dec: &ClaimDecision) -> Vec<i64> {
    dec.outcome.lines.iter().map(|l| l.amount_fen.fen()).collect()
}

fn stops(dec: &ClaimDecision) -> Vec<Option<&str>> {
    dec.outcome.lines.iter().map(|l| l.stopped_by.as_deref()).collect()
}

fn rate_of(dec: &ClaimDecision, basis: Basis) -> (u64, u64) {
    let r = dec.outcome.rates.iter().find(|r| r.basis == basis).expect("a rate of the kind");
    (r.positive, r.completed)
}

fn rule<'a>(line: &'a SubsidyLine, code: &str) -> &'a qiancheng_domain::policy::RuleResult {
    line.rules.iter().find(|r| r.code == code).unwrap_or_else(|| panic!("{code} on the line"))
}

// ---- OUT-RATE ----

#[test]
fn out_rate_a_budget_paid_trainee_who_is_employed_counts_in_neither_term() {
    let mut facts = claim(3, 2);
    let mut budget_paid = roster_entry(9, TargetGroup::OtherEligible, true);
    budget_paid.person.budget_paid = true;
    facts.trainees.push(budget_paid);
    let dec = decide(&facts, 180_000);
    // 2/3 = 66.67%: the 100% tier. Counted as employed she would make 3/4 = 75%, the 200% tier,
    // as v1 did.
    assert_eq!(rate_of(&dec, Basis::Employment), (2, 3));
    assert_eq!(dec.outcome.tier_percent, Some(100));
    assert_eq!(dec.outcome.rates[0].not_plan_trainees, 1);
    assert_eq!(amounts(&dec), [180_000, 180_000, 180_000, 0]);
    assert_eq!(stops(&dec)[3], Some("ELIG-FISCAL"));
    let v1_dec = evaluate_claim(&v1(), &facts, &standards(180_000), &wages()).expect("consistent");
    assert_eq!(v1_dec.outcome.tier_percent, Some(200));
}

#[test]
fn out_rate_people_who_are_not_plan_trainees_are_excluded_whatever_their_evidence() {
    let mut facts = claim(2, 1);
    let mut invalid = roster_entry(10, TargetGroup::RuralMigrant, true);
    invalid.person.id_number = "421202199001011231".to_owned();
    let mut retired = roster_entry(11, TargetGroup::RuralMigrant, true);
    retired.person.id_number = id("19600101", "013");
    let mut not_local = roster_entry(12, TargetGroup::RuralMigrant, true);
    not_local.person.local_basis = None;
    facts.trainees.extend([invalid, retired, not_local]);
    let dec = decide(&facts, 180_000);
    assert_eq!(rate_of(&dec, Basis::Employment), (1, 2));
    assert_eq!(dec.outcome.rates[0].not_plan_trainees, 3);
    assert_eq!(&stops(&dec)[2..], [Some("PERSON-ID"), Some("ELIG-AGE"), Some("ELIG-LOCAL")]);
}

fn two_classes() -> (ClassFacts, ClassFacts) {
    let mut c1 = c1(); // 2025-09-01 … 09-30, filed 2025-08-25
    c1.filed_on = Some(d(2025, 8, 25));
    let mut c2 = class("C2", d(2025, 9, 15), d(2025, 10, 15));
    c2.filed_on = Some(d(2025, 8, 20));
    (c1, c2)
}

#[test]
fn out_rate_one_person_on_two_overlapping_classes_counts_once_in_the_class_filed_first() {
    let (c1, c2) = two_classes();
    let mut facts = claim(2, 1);
    facts.classes = vec![c1, c2];
    let mut again = facts.trainees[0].clone();
    again.class_id = "C2".to_owned();
    facts.trainees.push(again);
    let dec = decide(&facts, 180_000);
    // C2 was filed first, so the person is its trainee; the C1 entry is not a second one.
    assert_eq!(rate_of(&dec, Basis::Employment), (1, 2));
    assert_eq!(dec.outcome.rates[0].counted_elsewhere, 1);
    assert_eq!(stops(&dec), [Some("ELIG-OVERLAP"), None, None]);
    assert_eq!(amounts(&dec), [0, 180_000, 180_000]);
    assert!(rule(&dec.outcome.lines[0], "ELIG-OVERLAP").reason_zh.contains("一人只算一名学员"));
    // v1 paid the same person twice and counted them twice (2/3).
    let v1_dec = evaluate_claim(&v1(), &facts, &standards(180_000), &wages()).expect("consistent");
    assert_eq!(v1_dec.outcome.rate.map(|r| (r.numerator, r.denominator)), Some((2, 3)));
    assert_eq!(v1_dec.outcome.lines.iter().filter(|l| l.amount_fen > Money::ZERO).count(), 3);
}

#[test]
fn out_rate_one_person_on_two_classes_of_one_claim_that_do_not_overlap_is_one_trainee() {
    let mut facts = claim(1, 1);
    let mut c3 = class("C3", d(2025, 11, 1), d(2025, 11, 30));
    c3.filed_on = Some(d(2025, 10, 20));
    facts.classes.push(c3);
    let mut again = facts.trainees[0].clone();
    again.class_id = "C3".to_owned();
    facts.trainees.push(again);
    let dec = decide(&facts, 180_000);
    assert_eq!(stops(&dec), [None, Some("ELIG-ONCE")]);
    assert_eq!(rate_of(&dec, Basis::Employment), (1, 1));
    // Not having completed the first class, the person is the trainee of the later one.
    facts.trainees[0].attended_hours = 10;
    let dec = decide(&facts, 180_000);
    assert_eq!(stops(&dec), [Some("CLASS-ATTENDANCE"), None]);
    // Counted once, in C3: its months start in December, so October's job no longer counts.
    assert_eq!(rate_of(&dec, Basis::Employment), (0, 1));
}

#[test]
fn out_rate_two_rates_by_kind_are_never_blended() {
    let mut facts = claim(2, 1);
    for n in [20, 21] {
        let mut worker = roster_entry(n, TargetGroup::InServiceWorker, false);
        worker.evidence = certified();
        facts.trainees.push(worker);
    }
    let dec = decide(&facts, 180_000);
    assert_eq!(dec.outcome.basis, ProjectBasis::Mixed);
    assert_eq!((dec.outcome.rate, dec.outcome.tier_percent), (None, None));
    assert_eq!(rate_of(&dec, Basis::Employment), (1, 2));
    assert_eq!(rate_of(&dec, Basis::Certificate), (2, 2));
    // Employment 50% → 100%; certificate 100% → 200%. Blended (3/4) would pay everyone 200%.
    assert_eq!(amounts(&dec), [180_000, 180_000, 360_000, 360_000]);
    assert_eq!(dec.outcome.lines[2].basis, Some(Basis::Certificate));
    let v1_dec = evaluate_claim(&v1(), &facts, &standards(180_000), &wages()).expect("consistent");
    assert_eq!(v1_dec.outcome.tier_percent, Some(200));
}

#[test]
fn out_rate_a_kind_with_no_completed_trainee_has_no_rate_and_only_its_lines_go_unpaid() {
    let mut facts = claim(2, 2);
    let mut worker = roster_entry(20, TargetGroup::InServiceWorker, false);
    worker.attended_hours = 10;
    facts.trainees.push(worker);
    let dec = decide(&facts, 180_000);
    let cert = dec.outcome.rates.iter().find(|r| r.basis == Basis::Certificate).expect("certificate kind");
    assert_eq!((cert.rate, cert.completed), (None, 0));
    assert!(dec.rules.iter().any(|r| r.code == "OUT-RATE" && !r.passed));
    assert_eq!(amounts(&dec), [360_000, 360_000, 0]);
}

#[test]
fn out_rate_elig_once_and_a_missing_contract_stay_in_both_terms() {
    let mut facts = claim(2, 1);
    facts.trainees[0].person.prior_subsidies = vec![PriorSubsidy { occupation: occ(), level: SkillLevel::Level4 }];
    let dec = decide(&facts, 180_000);
    assert_eq!(rate_of(&dec, Basis::Employment), (1, 2));
    assert_eq!(stops(&dec), [Some("ELIG-ONCE"), None]);
}

// ---- PROJ-BASIS, ELIG-PREHIRE in a claim ----

fn prehire_claim() -> ClaimFacts {
    let mut facts = claim(0, 0);
    facts.classes[0].prehire = true;
    facts.project.key_project = Some(KeyProject {
        enterprise: "咸宁示例新能源有限公司(SAMPLE)".to_owned(),
        library: Some(KeyProjectLibrary::County),
        manufacturing: true,
        expected_production_on: d(2025, 12, 1),
    });
    for n in 0..2 {
        let mut t = roster_entry(n, TargetGroup::ProjectEnterpriseRecruit, true);
        t.person.contract_signed_on = Some(d(2025, 10, 8));
        t.evidence.certificates = certified().certificates;
        facts.trainees.push(t);
    }
    facts.trainees[1].evidence.certificates.clear();
    facts
}

#[test]
fn proj_basis_pre_hire_trainees_are_judged_by_certificate_and_paid_from_the_skill_upgrade_account() {
    let dec = decide(&prehire_claim(), 180_000);
    assert_eq!(dec.outcome.basis, ProjectBasis::CertificateRate);
    assert_eq!(rate_of(&dec, Basis::Certificate), (1, 2));
    assert!(dec.outcome.lines.iter().all(|l| l.fund == Fund::SkillUpgradeAccount));
    assert!(dec.outcome.lines.iter().all(|l| l.group == TargetGroup::ProjectEnterpriseRecruit));
    // The employed one without a certificate is negative: employment does not count for them.
    assert_eq!(dec.outcome.lines[1].verdict.as_ref().map(|v| v.positive), Some(false));
}

#[test]
fn elig_prehire_a_trainee_without_a_contract_stays_in_the_rate_but_is_not_paid() {
    let mut facts = prehire_claim();
    facts.trainees[0].person.contract_signed_on = None;
    let dec = decide(&facts, 180_000);
    assert_eq!(rate_of(&dec, Basis::Certificate), (1, 2));
    assert_eq!(stops(&dec), [Some("ELIG-PREHIRE"), None]);
}

// ---- SUBS-TIER ----

#[test]
fn subs_tier_exactly_70_percent_is_the_200_percent_tier() {
    let dec = decide(&claim(10, 7), 100_000);
    assert_eq!(dec.outcome.tier_percent, Some(200));
    assert_eq!(dec.outcome.lines[9].amount_fen, fen(200_000));
}

#[test]
fn subs_tier_two_thirds_is_below_70_percent_and_pays_100_percent() {
    assert_eq!(decide(&claim(3, 2), 100_000).outcome.tier_percent, Some(100));
}

#[test]
fn subs_tier_exactly_30_percent_is_the_100_percent_tier_below_is_50() {
    assert_eq!(decide(&claim(10, 3), 100_000).outcome.tier_percent, Some(100));
    let dec = decide(&claim(10, 2), 100_000);
    assert_eq!(dec.outcome.tier_percent, Some(50));
    assert_eq!(dec.outcome.lines[0].amount_fen, fen(50_000));
}

#[test]
fn subs_tier_the_certificate_rate_uses_its_own_table() {
    let mut city = v2();
    city.version = "xianning-2025-5/v2-city-sample".to_owned();
    city.cert_tiers.as_mut().expect("v2 has cert_tiers").upper_threshold = Fraction::percent(80);
    city.validate().expect("valid");
    let mut facts = claim(4, 3); // employment 3/4 = 75%
    for n in 10..14 {
        let mut w = roster_entry(n, TargetGroup::InServiceWorker, false);
        w.evidence = if n < 13 { certified() } else { OutcomeEvidence::default() };
        facts.trainees.push(w); // certificate 3/4 = 75%
    }
    let dec = evaluate_claim(&city, &facts, &standards(100_000), &wages()).expect("consistent");
    let percent = |b: Basis| dec.outcome.rates.iter().find(|r| r.basis == b).and_then(|r| r.tier_percent);
    assert_eq!(percent(Basis::Employment), Some(200));
    assert_eq!(percent(Basis::Certificate), Some(100));
}

// ---- SUBS-UPLIFT ----

#[test]
fn subs_uplift_in_the_100_percent_tier_the_tier_alone_applies() {
    let mut facts = claim(10, 5); // 50%: the 100% tier
    facts.trainees[0].uplifts = vec![Uplift { name: "示例上浮(SAMPLE)".to_owned(), percent: 150 }];
    let dec = decide(&facts, 180_000);
    let line = &dec.outcome.lines[0];
    assert_eq!((line.multiplier_percent, line.amount_fen), (100, fen(180_000)));
    assert!(rule(line, "SUBS-UPLIFT").reason_zh.contains("仅适用于200%档"));
    // v1 let the uplift raise the line to 150%.
    let v1_dec = evaluate_claim(&v1(), &facts, &standards(180_000), &wages()).expect("consistent");
    assert_eq!(v1_dec.outcome.lines[0].amount_fen, fen(270_000));
}

#[test]
fn subs_uplift_in_the_200_percent_tier_the_highest_single_multiplier_wins() {
    let mut facts = claim(10, 7);
    facts.trainees[0].uplifts =
        vec![Uplift { name: "A".to_owned(), percent: 150 }, Uplift { name: "B".to_owned(), percent: 220 }];
    facts.trainees[1].uplifts = vec![Uplift { name: "A".to_owned(), percent: 150 }];
    let dec = decide(&facts, 100_000);
    assert_eq!(dec.outcome.lines[0].multiplier_percent, 220);
    assert_eq!(dec.outcome.lines[1].multiplier_percent, 200);
}

// ---- SUBS-CAP, SUBS-ROUND ----

#[test]
fn subs_cap_5000_yuan_applies_in_every_tier_and_is_labelled() {
    // 6000 yuan × 100% is capped too, so the 100% tier never pays more than the 200% one.
    let dec = decide(&claim(10, 5), 600_000);
    let line = &dec.outcome.lines[0];
    assert_eq!(line.amount_fen, fen(500_000));
    let cap = rule(line, "SUBS-CAP");
    assert!(cap.reason_zh.contains("封顶") && cap.reason_zh.contains("cap_tiers"), "{}", cap.reason_zh);
    // Exactly 5000 is within the cap.
    let dec = decide(&claim(10, 7), 250_000);
    assert_eq!(dec.outcome.lines[0].amount_fen, fen(500_000));
    assert!(rule(&dec.outcome.lines[0], "SUBS-CAP").reason_zh.starts_with("未超过"));
    assert!(v2().cap_tiers.as_ref().is_some_and(|t| t == &[Tier::Upper, Tier::Middle, Tier::Lower]));
}

#[test]
fn subs_round_half_a_fen_rounds_up_once_per_line() {
    // 1234.55 × 50% = 617.275 → 617.28; the total is the sum of rounded lines.
    let dec = decide(&claim(10, 0), 123_455);
    assert_eq!(dec.outcome.lines[0].amount_fen, fen(61_728));
    assert_eq!(dec.outcome.total_fen, fen(61_728 * 10));
}

// ---- SUBS-STANDARD ----

#[test]
fn subs_standard_missing_gives_zero_lines_naming_it() {
    let dec = evaluate_claim(&v2(), &claim(2, 2), &SubsidyStandardTable::default(), &wages()).expect("consistent");
    assert_eq!(stops(&dec), [Some("SUBS-STANDARD"), Some("SUBS-STANDARD")]);
}

#[test]
fn subs_standard_a_local_standard_names_its_document_and_is_taken_on_the_first_day() {
    let table = SubsidyStandardTable::new(vec![SubsidyStandard {
        occupation: occ(),
        level: SkillLevel::Level4,
        standard_fen: fen(90_000), // SAMPLE figure, not an official standard
        effective_from: d(2025, 9, 1),
        effective_to: None,
        source: StandardSource::Local { document_number: "咸人社函〔2025〕示例号".to_owned() },
    }])
    .expect("valid");
    let dec = evaluate_claim(&v2(), &claim(1, 1), &table, &wages()).expect("consistent");
    assert_eq!(dec.outcome.lines[0].amount_fen, fen(180_000));
    assert!(rule(&dec.outcome.lines[0], "SUBS-STANDARD").reason_zh.contains("咸人社函〔2025〕示例号"));
}

// ---- SUBS-ELIGIBLE ----

#[test]
fn subs_eligible_every_unpaid_trainee_has_a_zero_line_naming_the_rule_that_stopped_it() {
    let mut facts = claim(9, 9);
    let t = &mut facts.trainees;
    t[0].person.budget_paid = true;
    t[1].attended_hours = 79;
    t[2].assessment_passed = false;
    t[3].person.prior_subsidies = vec![PriorSubsidy { occupation: occ(), level: SkillLevel::Level4 }];
    t[4].person.id_number = "421202199001011231".to_owned();
    t[5].person.local_basis = None;
    t[6].person.other_classes = vec![DateRange { from: d(2025, 9, 20), to: d(2025, 10, 20), filed_on: None }];
    t[7].person.roster_added_on = None;
    let dec = decide(&facts, 100_000);
    assert_eq!(
        stops(&dec),
        [
            Some("ELIG-FISCAL"),
            Some("CLASS-ATTENDANCE"),
            Some("CLASS-COMPLETION"),
            Some("ELIG-ONCE"),
            Some("PERSON-ID"),
            Some("ELIG-LOCAL"),
            Some("ELIG-OVERLAP"),
            Some("ELIG-REALNAME"),
            None,
        ]
    );
    for line in &dec.outcome.lines[..8] {
        assert_eq!(line.amount_fen, Money::ZERO);
        assert!(!rule(line, "SUBS-ELIGIBLE").passed);
    }
}

#[test]
fn subs_eligible_a_skill_evaluation_completes_the_class_without_the_assessment() {
    let mut facts = claim(1, 1);
    facts.trainees[0].assessment_passed = false;
    facts.trainees[0].skill_evaluation_passed = true;
    assert_eq!(stops(&decide(&facts, 100_000)), [None]);
}

#[test]
fn subs_eligible_each_line_lists_every_rule_it_was_judged_by_with_the_outcome_rule() {
    let mut facts = claim(2, 1);
    let mut worker = roster_entry(20, TargetGroup::InServiceWorker, false);
    worker.evidence = certified();
    facts.trainees.push(worker);
    let dec = decide(&facts, 100_000);
    let employed = &dec.outcome.lines[0];
    let contract = rule(employed, "OUT-EMP-CONTRACT");
    assert!(contract.passed && contract.reason_zh.contains("示例机电公司"), "{contract:?}");
    for code in ["OUT-WINDOW", "OUT-MONTHS", "OUT-EMP-BUSINESS", "OUT-EMP-SERVICE", "OUT-EMP-REGISTRATION", "OUT-RATE"]
    {
        rule(employed, code);
    }
    let unemployed = &dec.outcome.lines[1];
    assert!(!rule(unemployed, "OUT-EMP-CONTRACT").passed, "a failed route is listed, and does not stop the line");
    assert_eq!(unemployed.stopped_by, None);
    let worker = &dec.outcome.lines[2];
    assert!(rule(worker, "OUT-CERT").passed);
    assert!(worker.rules.iter().all(|r| !r.code.starts_with("OUT-EMP")));
    for code in ["PERSON-ID", "ELIG-LOCAL", "ELIG-GROUP", "CLASS-COMPLETION", "SUBS-TIER", "SUBS-CAP", "SUBS-FUND"] {
        rule(worker, code);
    }
}

// ---- SUBS-DEADLINE ----

#[test]
fn subs_deadline_six_months_after_the_last_class_ends_is_in_time_the_day_after_is_not() {
    assert!(subs_deadline(&v2(), d(2025, 9, 30), d(2026, 3, 30)).passed);
    let mut facts = claim(2, 2);
    facts.filed_on = d(2026, 3, 31);
    let dec = decide(&facts, 100_000);
    assert_eq!(stops(&dec), [Some("SUBS-DEADLINE"), Some("SUBS-DEADLINE")]);
}

// ---- SUBS-MATERIALS ----

#[test]
fn subs_materials_a_claim_without_its_ledger_cannot_pass_review() {
    let mut facts = claim(2, 2);
    facts.materials.retain(|m| *m != ClaimMaterial::Ledger);
    let dec = decide(&facts, 100_000);
    assert_eq!(stops(&dec), [Some("SUBS-MATERIALS"), Some("SUBS-MATERIALS")]);
    assert!(dec.rule("SUBS-MATERIALS").expect("judged").reason_zh.contains("培训台账"));
    // v1 had no such rule.
    let v1_dec = evaluate_claim(&v1(), &facts, &standards(100_000), &wages()).expect("consistent");
    assert!(v1_dec.outcome.total_fen > Money::ZERO);
}

#[test]
fn subs_materials_certificate_evidence_is_required_only_with_certificate_trainees() {
    let listed = [ClaimMaterial::Annex4, ClaimMaterial::Ledger, ClaimMaterial::EmploymentEvidence];
    assert!(subs_materials(&v2(), &listed, &[Basis::Employment]).passed);
    assert!(!subs_materials(&v2(), &listed, &[Basis::Employment, Basis::Certificate]).passed);
    assert!(subs_materials(&v1(), &[], &[Basis::Employment]).passed);
}

// ---- SUBS-NOTICE ----

#[test]
fn subs_notice_is_counted_from_the_working_day_after_publication_across_the_spring_festival() {
    let cal = HolidayCalendar::bundled();
    // Published Thu 2026-02-12: Fri 02-13 (1), make-up Sat 02-14 (2), holidays to 02-23,
    // Tue 02-24 (3), Wed 02-25 (4), Thu 02-26 (5). v1 counted the 12th and ended on the 25th.
    assert_eq!(subs_notice_end(&v2(), &cal, d(2026, 2, 12)).expect("covered"), d(2026, 2, 26));
    assert_eq!(subs_notice_end(&v1(), &cal, d(2026, 2, 12)).expect("covered"), d(2026, 2, 25));
    // Published on a holiday: the first working day after it is the first of the five.
    assert_eq!(subs_notice_end(&v2(), &cal, d(2026, 2, 15)).expect("covered"), d(2026, 2, 28));
    // An ordinary week: published Monday 2026-03-02, the notice ends Monday 03-09.
    assert_eq!(subs_notice_end(&v2(), &cal, d(2026, 3, 2)).expect("covered"), d(2026, 3, 9));
}

#[test]
fn subs_notice_payment_waits_until_the_day_after_the_end_with_no_open_objection() {
    let end = d(2026, 2, 26);
    assert!(!subs_notice_allows_payment(end, end, 0));
    assert!(subs_notice_allows_payment(end, d(2026, 2, 27), 0));
    assert!(!subs_notice_allows_payment(end, d(2026, 2, 27), 1));
}

// ---- SUBS-SOD ----

#[test]
fn subs_sod_the_reviewer_cannot_approve_the_same_claim() {
    assert!(!subs_sod("officer-1", "officer-1").passed);
    assert!(subs_sod("officer-1", "officer-2").passed);
}

// ---- SUBS-FUND ----

#[test]
fn subs_fund_the_unemployment_insurance_fund_is_a_choice_for_a_group_never_the_default() {
    let mut city = v2();
    city.version = "xianning-2025-5/v2-city-sample".to_owned();
    city.funds.by_group.insert(TargetGroup::RegisteredUnemployed, Fund::UnemploymentInsuranceFund);
    city.validate().expect("valid");
    assert_eq!(city.fund_for(TargetGroup::RegisteredUnemployed), Fund::UnemploymentInsuranceFund);
    assert_eq!(city.fund_for(TargetGroup::RuralMigrant), Fund::EmploymentSubsidyFund);
    assert!(TargetGroup::ALL.iter().all(|g| v2().fund_for(*g) != Fund::UnemploymentInsuranceFund));
    city.funds.default = Fund::UnemploymentInsuranceFund;
    assert!(city.validate().is_err());
}

// ---- SUBS-PAY ----

fn account() -> BankAccount {
    BankAccount {
        holder: "咸宁市示例职业培训学校".to_owned(),
        bank: "示例银行咸宁分行".to_owned(),
        number: "4212 0000 0000 0001".to_owned(),
    }
}

#[test]
fn subs_pay_a_mixed_claim_is_paid_once_per_fund_with_balanced_entries() {
    let mut facts = claim(2, 2);
    let mut worker = roster_entry(20, TargetGroup::InServiceWorker, false);
    worker.evidence = certified();
    facts.trainees.push(worker);
    let dec = decide(&facts, 100_000);
    let portions = subs_pay_portions(&dec.outcome).expect("portions");
    assert_eq!(portions.len(), 2);
    let payment = PaymentFacts {
        instruction: PaymentInstruction {
            instruction_id: "PAY-P1-1".to_owned(),
            claim_id: "P1".to_owned(),
            payee: account(),
            portions,
            pay_on: d(2026, 4, 1),
        },
        provider_account: account(),
        claim_approved: true,
        approved_fen: dec.outcome.total_fen,
        already_paid_fen: Money::ZERO,
        notice_end: d(2026, 3, 31),
        open_objections: 0,
        provider_disqualified_on: None,
    };
    let paid = subs_pay(&v2(), &payment, &[]);
    let PaymentOutcome::Pay { entries } = &paid.outcome else { panic!("not paid: {:?}", paid.first_failure()) };
    assert!(subs_pay_entries_balance(entries).passed);
    assert_eq!(subs_pay(&v2(), &payment, &["PAY-P1-1".to_owned()]).outcome, PaymentOutcome::AlreadyPaid);
}

// ---- SUBS-RECOVER ----

#[test]
fn subs_recover_subcontracting_found_after_payment_recovers_everything_paid() {
    let dec = decide(&claim(10, 7), 100_000);
    let rec = subs_recover(&v2(), &dec.outcome, &RecoveryCause::Subcontracting);
    assert_eq!(rec.outcome, dec.outcome.total_fen);
    assert!(rec.rules[0].reason_zh.contains("转包、分包"));
    // v1 named no recovery for subcontracting.
    let rec = subs_recover(&v1(), &dec.outcome, &RecoveryCause::Subcontracting);
    assert_eq!(rec.outcome, Money::ZERO);
    assert!(!rec.all_passed());
    assert_eq!(subs_recover(&v2(), &dec.outcome, &RecoveryCause::Fraud).outcome, dec.outcome.total_fen);
}

#[test]
fn subs_recover_a_fallen_rate_takes_back_the_uplift_outside_the_200_percent_tier() {
    let mut facts = claim(10, 7);
    facts.trainees[0].uplifts = vec![Uplift { name: "A".to_owned(), percent: 250 }];
    let dec = decide(&facts, 180_000); // 4500 for the uplifted line, 3600 for nine others
    assert_eq!(dec.outcome.lines[0].amount_fen, fen(450_000));
    let fell = RecoveryCause::RateFell { new_rate: Fraction::new(6, 10).expect("rate") };
    // Now in the 100% tier: 1800 each, the uplift no longer applies: 2700 + 9 × 1800.
    assert_eq!(subs_recover(&v2(), &dec.outcome, &fell).outcome, fen(270_000 + 9 * 180_000));
}

#[test]
fn subs_recover_a_fallen_rate_recovers_line_by_line_after_the_cap_not_the_tier_difference() {
    // Standard 3000 yuan, rate 14/20 = 70%: 200% is 6000, capped at 5000 a line.
    let dec = decide(&claim(20, 14), 300_000);
    assert_eq!(dec.outcome.lines[0].amount_fen, fen(500_000));
    let paid_lines = dec.outcome.lines.iter().filter(|l| l.amount_fen > Money::ZERO).count() as i64;
    // Re-verified at 13/20 = 65%: each line is worth 3000 at 100%; 2000 a line comes back, not
    // the tier difference of 3000.
    let fell = RecoveryCause::RateFell { new_rate: Fraction::new(13, 20).expect("rate") };
    assert_eq!(subs_recover(&v2(), &dec.outcome, &fell).outcome, fen(paid_lines * 200_000));
    // At the boundary, 14/20 again, nothing comes back.
    let same = RecoveryCause::RateFell { new_rate: Fraction::new(14, 20).expect("rate") };
    assert_eq!(subs_recover(&v2(), &dec.outcome, &same).outcome, Money::ZERO);
    // A standard of 2500 yuan: 200% is exactly the cap, so the line loses the whole tier difference.
    let dec = decide(&claim(20, 14), 250_000);
    assert_eq!(dec.outcome.lines[0].amount_fen, fen(500_000));
    assert_eq!(subs_recover(&v2(), &dec.outcome, &fell).outcome, fen(paid_lines * 250_000));
}

#[test]
fn subs_recover_a_fallen_certificate_rate_recovers_only_its_lines() {
    let mut facts = claim(2, 2);
    for n in [20, 21] {
        let mut worker = roster_entry(n, TargetGroup::InServiceWorker, false);
        worker.evidence = certified();
        facts.trainees.push(worker);
    }
    let dec = decide(&facts, 180_000); // everyone 3600
    let fell = RecoveryCause::KindRateFell { basis: Basis::Certificate, new_rate: Fraction::new(1, 2).expect("rate") };
    assert_eq!(subs_recover(&v2(), &dec.outcome, &fell).outcome, fen(2 * 180_000));
}

// ---- SUBS-KEEP ----

#[test]
fn subs_keep_a_step_under_v2_is_complete_with_its_version_and_evidence() {
    let step = TraceStep {
        kind: StepKind::Approval,
        subject: "CLAIM-1".to_owned(),
        actor: "officer-2".to_owned(),
        at: Some(DateTime::parse_from_rfc3339("2026-03-30T10:15:00+08:00").expect("time")),
        policy_version: PolicySet::XIANNING_2025_5_V2.to_owned(),
        evidence: vec!["doc:annex-4/CLAIM-1".to_owned()],
    };
    assert!(subs_keep(&step, &PolicySet::BUILT_IN_VERSIONS).passed);
    let mut unknown = step;
    unknown.policy_version = "xianning-2025-5/v3".to_owned();
    assert!(!subs_keep(&unknown, &PolicySet::BUILT_IN_VERSIONS).passed);
}

// ---- Properties ----

proptest! {
    #[test]
    fn subs_more_employed_trainees_never_lower_a_v2_claim(
        total in 1u32..15, employed in 0u32..15, extra in 1u32..5, standard in 1i64..400_000,
    ) {
        let employed = employed.min(total);
        let more = (employed + extra).min(total);
        prop_assert!(decide(&claim(total, more), standard).outcome.total_fen
            >= decide(&claim(total, employed), standard).outcome.total_fen);
    }

    #[test]
    fn subs_no_v2_line_exceeds_the_cap_and_the_total_is_the_sum_of_lines(
        total in 1u32..12, employed in 0u32..12, standard in 1i64..2_000_000, uplift in 0u32..600,
        workers in 0u32..4, certified_workers in 0u32..4,
    ) {
        let mut facts = claim(total, employed.min(total));
        facts.trainees[0].uplifts = vec![Uplift { name: "A".to_owned(), percent: uplift }];
        for n in 0..workers {
            let mut w = roster_entry(100 + n, TargetGroup::InServiceWorker, false);
            if n < certified_workers { w.evidence = certified(); }
            facts.trainees.push(w);
        }
        let dec = decide(&facts, standard);
        let mut sum = 0i64;
        for line in &dec.outcome.lines {
            prop_assert!(line.amount_fen <= fen(500_000) && line.amount_fen >= Money::ZERO);
            // SUBS-UPLIFT: outside the 200% tier no line pays above its tier.
            let tier = dec.outcome.rates.iter().find(|r| Some(r.basis) == line.basis).and_then(|r| r.tier_percent);
            if tier != Some(200) { prop_assert!(line.multiplier_percent <= 100); }
            sum += line.amount_fen.fen();
        }
        prop_assert_eq!(dec.outcome.total_fen.fen(), sum);
        let json = serde_json::to_string(&dec).expect("ser");
        prop_assert_eq!(serde_json::from_str::<ClaimDecision>(&json).expect("de"), dec);
    }
}
