//! Policy set v2: the rules about people (四 培训对象, 三(一)(二), 七(三)): PERSON-ID and ELIG-*,
//! at their boundaries.

mod common;

use common::*;
use qiancheng_domain::policy::eligibility::TraineeStanding;
use qiancheng_domain::policy::eligibility::{
    TraineeContext, elig_age, elig_group_in, elig_local, elig_overlap_in, elig_prehire_in, judge_trainee, person_id,
};
use qiancheng_domain::policy::facts::{
    ClassFacts, DateRange, KeyProject, KeyProjectLibrary, LocalBasis, LocalBasisKind, PriorSubsidy, TraineeFacts,
};
use qiancheng_domain::policy::outcome::Basis;
use qiancheng_domain::policy::{Decision, Fund};
use qiancheng_domain::{IdNumber, Sex, SkillLevel, TargetGroup};

fn judge(t: &TraineeFacts, class: &ClassFacts, key: Option<&KeyProject>) -> Decision<TraineeStanding> {
    let occupation = occ();
    let ctx = TraineeContext {
        class,
        occupation: &occupation,
        level: SkillLevel::Level4,
        key_project: key,
        as_of: d(2026, 3, 1),
    };
    judge_trainee(&v2(), &ctx, t)
}

fn parsed(yyyymmdd: &str, seq: &str) -> IdNumber {
    IdNumber::parse(&id(yyyymmdd, seq)).expect("valid id")
}

fn key_project() -> KeyProject {
    KeyProject {
        enterprise: "咸宁示例新能源有限公司(SAMPLE)".to_owned(),
        library: Some(KeyProjectLibrary::City),
        manufacturing: true,
        expected_production_on: d(2025, 9, 2),
    }
}

// ---- PERSON-ID ----

#[test]
fn person_id_an_invalid_check_character_stops_the_trainee_and_their_age() {
    let mut t = person(1, TargetGroup::RuralMigrant);
    let good = t.id_number.clone();
    let other = if good.ends_with('1') { '2' } else { '1' };
    t.id_number = format!("{}{other}", &good[..17]);
    let dec = judge(&t, &c1(), None);
    assert!(!dec.rule("PERSON-ID").expect("judged").passed);
    assert!(!dec.rule("ELIG-AGE").expect("judged").passed);
    assert!(!dec.outcome.plan_trainee, "an invalid id is not a 培训对象");
    assert!(person_id(&good).0.passed);
}

// ---- ELIG-AGE ----

#[test]
fn elig_age_sixteenth_birthday_on_the_first_day_is_of_working_age() {
    let first = d(2025, 9, 1);
    assert!(elig_age(&v2(), Some(&parsed("20090901", "123")), first).passed);
    assert!(!elig_age(&v2(), Some(&parsed("20090902", "123")), first).passed);
}

#[test]
fn elig_age_retirement_age_rises_by_birth_month_under_the_2025_reform() {
    let p = v2();
    let age = |sex, y, m, day| p.retirement_age_months(sex, d(y, m, day)).expect("a row");
    // Men: 60 before 1965; +1 month per 4 months of birth from January 1965; 63 from 1976-09.
    assert_eq!(age(Sex::Male, 1964, 12, 31), 720);
    assert_eq!(age(Sex::Male, 1965, 1, 1), 721);
    assert_eq!(age(Sex::Male, 1965, 4, 30), 721);
    assert_eq!(age(Sex::Male, 1965, 5, 1), 722);
    assert_eq!(age(Sex::Male, 1976, 8, 31), 720 + 35);
    assert_eq!(age(Sex::Male, 1976, 9, 1), 63 * 12);
    assert_eq!(age(Sex::Male, 1990, 1, 1), 63 * 12);
    // Women (55 → 58): from January 1970, 58 from 1981-09.
    assert_eq!(age(Sex::Female, 1969, 12, 31), 660);
    assert_eq!(age(Sex::Female, 1970, 1, 1), 661);
    assert_eq!(age(Sex::Female, 1981, 8, 31), 660 + 35);
    assert_eq!(age(Sex::Female, 1981, 9, 1), 58 * 12);
    // v1 keeps 60 and 55.
    assert_eq!(v1().retirement_age_months(Sex::Male, d(1976, 9, 1)), Some(720));
}

#[test]
fn elig_age_retirement_on_the_birth_month_boundary() {
    let first = d(2025, 6, 15);
    // Born 1965-04-30 (60 years 1 month): retired on 2025-05-30, before the first day.
    let april = IdNumber::parse(&id("19650430", "013")).expect("id");
    assert_eq!(april.sex(), Sex::Male);
    let r = elig_age(&v2(), Some(&april), first);
    assert!(!r.passed, "{r:?}");
    assert!(r.reason_zh.contains("60岁1个月") && r.reason_zh.contains("2025-05-30"), "{}", r.reason_zh);
    // Born 1965-05-01 (60 years 2 months): retires on 2025-07-01, after the first day.
    let may = IdNumber::parse(&id("19650501", "013")).expect("id");
    let r = elig_age(&v2(), Some(&may), first);
    assert!(r.passed, "{r:?}");
    assert!(r.reason_en.contains("60 years 2 months") && r.reason_en.contains("2025-07-01"), "{}", r.reason_en);
    // Under v1 both men are 60 and retired.
    assert!(!elig_age(&v1(), Some(&may), first).passed);
}

#[test]
fn elig_age_retirement_day_itself_is_not_of_working_age() {
    // Born 1965-06-10 (60 years 2 months): reaches it on 2025-08-10.
    let man = IdNumber::parse(&id("19650610", "013")).expect("id");
    assert!(elig_age(&v2(), Some(&man), d(2025, 8, 9)).passed);
    assert!(!elig_age(&v2(), Some(&man), d(2025, 8, 10)).passed);
}

#[test]
fn elig_age_counts_to_the_day_on_a_clamped_month_end() {
    // A woman born 1970-11-30 retires at 55 years 3 months: 663 months after birth is
    // 2026-02-28 (DATE-MONTHS clamps 02-30). v1 counted completed months and let her in that day.
    let woman = IdNumber::parse(&id("19701130", "024")).expect("id");
    assert_eq!(woman.sex(), Sex::Female);
    assert!(elig_age(&v2(), Some(&woman), d(2026, 2, 27)).passed);
    let r = elig_age(&v2(), Some(&woman), d(2026, 2, 28));
    assert!(!r.passed);
    assert!(r.reason_zh.contains("55岁3个月"), "{}", r.reason_zh);
}

// ---- ELIG-FISCAL ----

#[test]
fn elig_fiscal_budget_paid_trainee_is_not_a_plan_trainee() {
    let mut t = person(1, TargetGroup::OtherEligible);
    t.budget_paid = true;
    let dec = judge(&t, &c1(), None);
    assert_eq!(dec.first_failure().expect("fails").code, "ELIG-FISCAL");
    assert!(!dec.outcome.plan_trainee);
    assert!(!dec.outcome.eligible);
}

// ---- ELIG-LOCAL ----

#[test]
fn elig_local_a_recorded_basis_makes_a_local_worker() {
    for kind in LocalBasisKind::ALL {
        let mut t = person(1, TargetGroup::RuralMigrant);
        t.local_basis = Some(LocalBasis { kind, evidence: String::new() });
        let r = elig_local(&v2(), &t, None);
        assert!(r.passed, "{kind:?}: {r:?}");
    }
}

#[test]
fn elig_local_the_id_address_code_is_a_hint_never_proof() {
    let mut t = person(1, TargetGroup::RuralMigrant);
    t.local_basis = None;
    let id = IdNumber::parse(&t.id_number).expect("id");
    // A 421202 number without a recorded basis is refused, naming the hint.
    let r = elig_local(&v2(), &t, Some(&id));
    assert!(!r.passed);
    assert!(r.reason_zh.contains("421202") && r.reason_zh.contains("仅作提示"), "{}", r.reason_zh);
    // A number issued outside 咸宁 with a residence permit is a local worker.
    t.id_number = id_in("420106", "19900101", "123");
    t.local_basis =
        Some(LocalBasis { kind: LocalBasisKind::ResidencePermit, evidence: "居住证(SAMPLE)".to_owned() });
    let other = IdNumber::parse(&t.id_number).expect("id");
    let r = elig_local(&v2(), &t, Some(&other));
    assert!(r.passed, "{r:?}");
    assert!(r.reason_zh.contains("不属咸宁"), "{}", r.reason_zh);
    // The former 咸宁地区 code 4223xx is a hint too.
    t.id_number = id_in("422301", "19700101", "123");
    let old = IdNumber::parse(&t.id_number).expect("id");
    assert!(elig_local(&v2(), &t, Some(&old)).reason_zh.contains("属咸宁"));
}

#[test]
fn elig_local_without_a_basis_is_not_a_plan_trainee() {
    let mut t = person(1, TargetGroup::RuralMigrant);
    t.local_basis = None;
    let dec = judge(&t, &c1(), None);
    assert_eq!(dec.first_failure().expect("fails").code, "ELIG-LOCAL");
    assert!(!dec.outcome.plan_trainee);
}

#[test]
fn elig_local_is_not_a_rule_of_v1() {
    let mut t = person(1, TargetGroup::RuralMigrant);
    t.local_basis = None;
    assert!(elig_local(&v1(), &t, None).passed);
    let occupation = occ();
    let class = c1();
    let ctx = TraineeContext {
        class: &class,
        occupation: &occupation,
        level: SkillLevel::Level4,
        key_project: None,
        as_of: d(2026, 3, 1),
    };
    assert!(judge_trainee(&v1(), &ctx, &t).rule("ELIG-LOCAL").is_none());
}

// ---- ELIG-GROUP ----

#[test]
fn elig_group_a_labour_contract_on_the_first_day_makes_an_in_service_worker() {
    let mut t = person(1, TargetGroup::RuralMigrant);
    t.employed_on_first_day = true;
    let (rule, group) = elig_group_in(&v2(), &t, &c1(), None);
    assert_eq!(group, TargetGroup::InServiceWorker);
    assert!(rule.reason_zh.contains("记录的类别为农村转移就业劳动者"), "{}", rule.reason_zh);
    assert_eq!(v2().basis_for(group), Basis::Certificate);
    assert_eq!(v2().fund_for(group), Fund::SkillUpgradeAccount);
}

#[test]
fn elig_group_the_first_listed_group_the_records_support_wins() {
    let mut t = person(1, TargetGroup::RegisteredUnemployed);
    t.supported_groups = vec![TargetGroup::UnemployedGraduate, TargetGroup::PovertyAlleviated];
    assert_eq!(elig_group_in(&v2(), &t, &c1(), None).1, TargetGroup::PovertyAlleviated);
    t.supported_groups.clear();
    assert_eq!(elig_group_in(&v2(), &t, &c1(), None).1, TargetGroup::RegisteredUnemployed);
    // v1: the recorded group, whatever else the records say.
    t.employed_on_first_day = true;
    assert_eq!(elig_group_in(&v1(), &t, &c1(), None).1, TargetGroup::RegisteredUnemployed);
}

#[test]
fn elig_group_a_pre_hire_class_makes_its_trainees_pre_hire_and_fixes_basis_and_fund() {
    let mut class = c1();
    class.prehire = true;
    let t = person(1, TargetGroup::RuralMigrant);
    let (_, group) = elig_group_in(&v2(), &t, &class, Some(&key_project()));
    assert_eq!(group, TargetGroup::ProjectEnterpriseRecruit);
    assert_eq!(v2().basis_for(group), Basis::Certificate);
    assert_eq!(v2().fund_for(group), Fund::SkillUpgradeAccount);
    // v1 judged pre-hire trainees by employment and paid them from the employment fund.
    assert_eq!(v1().basis_for(group), Basis::Employment);
    assert_eq!(v1().fund_for(group), Fund::EmploymentSubsidyFund);
}

#[test]
fn elig_group_a_recorded_pre_hire_group_without_a_pre_hire_class_takes_the_next_group() {
    let mut t = person(1, TargetGroup::ProjectEnterpriseRecruit);
    assert_eq!(elig_group_in(&v2(), &t, &c1(), None).1, TargetGroup::OtherEligible);
    t.supported_groups = vec![TargetGroup::RuralMigrant];
    assert_eq!(elig_group_in(&v2(), &t, &c1(), None).1, TargetGroup::RuralMigrant);
}

// ---- ELIG-OVERLAP ----

#[test]
fn elig_overlap_only_a_class_filed_earlier_stops_the_trainee() {
    let class = c1(); // filed 2025-08-25
    let mut t = person(1, TargetGroup::RuralMigrant);
    let other = |filed| DateRange { from: d(2025, 9, 30), to: d(2025, 10, 15), filed_on: filed };
    t.other_classes = vec![other(Some(d(2025, 8, 24)))];
    assert!(!elig_overlap_in(&v2(), &t, &class).passed);
    // Filed the same day: this class cannot be shown to be first.
    t.other_classes = vec![other(Some(d(2025, 8, 25)))];
    assert!(!elig_overlap_in(&v2(), &t, &class).passed);
    t.other_classes = vec![other(Some(d(2025, 8, 26)))];
    assert!(elig_overlap_in(&v2(), &t, &class).passed);
    // An unknown filing day counts as earlier.
    t.other_classes = vec![other(None)];
    assert!(!elig_overlap_in(&v2(), &t, &class).passed);
    // The day after the last day does not overlap.
    t.other_classes = vec![DateRange { from: d(2025, 10, 1), to: d(2025, 10, 15), filed_on: None }];
    assert!(elig_overlap_in(&v2(), &t, &class).passed);
    // v1: any overlapping class stops the trainee, whenever filed.
    t.other_classes = vec![other(Some(d(2025, 8, 26)))];
    assert!(!elig_overlap_in(&v1(), &t, &class).passed);
}

// ---- ELIG-ONCE ----

#[test]
fn elig_once_same_occupation_and_level_is_refused_another_level_is_not() {
    let mut t = person(1, TargetGroup::RuralMigrant);
    t.prior_subsidies = vec![PriorSubsidy { occupation: occ(), level: SkillLevel::Level4 }];
    let dec = judge(&t, &c1(), None);
    assert_eq!(dec.first_failure().expect("fails").code, "ELIG-ONCE");
    assert!(dec.outcome.plan_trainee, "ELIG-ONCE does not make someone not a 培训对象");
    t.prior_subsidies = vec![PriorSubsidy { occupation: occ(), level: SkillLevel::Level3 }];
    assert!(judge(&t, &c1(), None).outcome.eligible);
}

// ---- ELIG-REALNAME ----

#[test]
fn elig_realname_added_on_the_first_day_is_refused_the_day_before_is_not() {
    let mut t = person(1, TargetGroup::RuralMigrant);
    t.roster_added_on = Some(d(2025, 8, 31));
    assert!(judge(&t, &c1(), None).outcome.eligible);
    t.roster_added_on = Some(d(2025, 9, 1));
    assert_eq!(judge(&t, &c1(), None).first_failure().expect("fails").code, "ELIG-REALNAME");
}

// ---- ELIG-PREHIRE ----

#[test]
fn elig_prehire_class_starting_the_day_before_production_qualifies_on_the_day_does_not() {
    let mut class = c1(); // first day 2025-09-01
    class.prehire = true;
    let mut t = person(1, TargetGroup::ProjectEnterpriseRecruit);
    t.contract_signed_on = Some(d(2025, 10, 10));
    let mut key = key_project(); // production 2025-09-02
    let dec = judge(&t, &class, Some(&key));
    assert_eq!(dec.outcome.group, TargetGroup::ProjectEnterpriseRecruit);
    assert!(dec.outcome.eligible, "{:?}", dec.first_failure());
    key.expected_production_on = d(2025, 9, 1);
    let dec = judge(&t, &class, Some(&key));
    assert_ne!(dec.outcome.group, TargetGroup::ProjectEnterpriseRecruit);
    let rule = dec.rule("ELIG-PREHIRE").expect("judged");
    assert!(rule.passed, "takes the next group, not stopped");
    assert!(rule.reason_zh.contains("不早于预计投产日期"), "{}", rule.reason_zh);
}

#[test]
fn elig_prehire_needs_a_key_project_library_and_a_manufacturing_project() {
    let mut class = c1();
    class.prehire = true;
    let t = person(1, TargetGroup::ProjectEnterpriseRecruit);
    let mut key = key_project();
    key.library = None;
    assert_ne!(elig_group_in(&v2(), &t, &class, Some(&key)).1, TargetGroup::ProjectEnterpriseRecruit);
    let mut key = key_project();
    key.manufacturing = false;
    assert_ne!(elig_group_in(&v2(), &t, &class, Some(&key)).1, TargetGroup::ProjectEnterpriseRecruit);
    assert_ne!(elig_group_in(&v2(), &t, &class, None).1, TargetGroup::ProjectEnterpriseRecruit);
    let mut key = key_project();
    key.library = Some(KeyProjectLibrary::County);
    assert_eq!(elig_group_in(&v2(), &t, &class, Some(&key)).1, TargetGroup::ProjectEnterpriseRecruit);
}

#[test]
fn elig_prehire_contract_signed_on_the_claim_day_counts_the_day_after_does_not() {
    let mut class = c1();
    class.prehire = true;
    let mut t = person(1, TargetGroup::ProjectEnterpriseRecruit);
    let key = key_project();
    let claim_day = d(2026, 3, 1);
    let group = TargetGroup::ProjectEnterpriseRecruit;
    t.contract_signed_on = Some(claim_day);
    assert!(elig_prehire_in(&v2(), &t, group, &class, Some(&key), claim_day).passed);
    t.contract_signed_on = Some(d(2026, 3, 2));
    assert!(!elig_prehire_in(&v2(), &t, group, &class, Some(&key), claim_day).passed);
    t.contract_signed_on = None;
    let dec = judge(&t, &class, Some(&key));
    assert_eq!(dec.first_failure().expect("fails").code, "ELIG-PREHIRE");
    assert!(dec.outcome.plan_trainee, "a missing contract keeps the trainee in the rate");
}
