//! Policy set v2: providers, projects and selection (六, 二(二)(四), 七(一)(二)(四)): PROV-*,
//! PROJ-*, and the round decision, at their boundaries.

mod common;

use chrono::NaiveDate;
use common::*;
use proptest::prelude::*;
use qiancheng_domain::policy::RuleResult;
use qiancheng_domain::policy::project::{
    ApplicationParts, CatalogItem, InServiceBasis, ProjectBasis, TrainingMode, proj_basis, proj_brand, proj_brand_name,
    proj_catalog, proj_counties_without_brand, proj_cross_region, proj_inservice, proj_plan,
};
use qiancheng_domain::policy::provider::{
    KindFacts, KindJustification, PilotOverride, ProviderFacts, ProviderKind, evaluate_provider_eligibility,
    prov_clean, prov_disqualified, prov_kind_in, prov_legal, prov_local, prov_uscc,
};
use qiancheng_domain::policy::selection::{
    ExpertScore, QuotaReduction, RoundCandidate, RoundFacts, decide_round, proj_quota_year, proj_selection_score,
};
use qiancheng_domain::policy::{QuotaMode, RulesEdition};
use qiancheng_domain::{Industry, RegionCode, SkillLevel, TargetGroup};
use rust_decimal::Decimal;

fn uscc(first17: &str) -> String {
    const CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    const W: [usize; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
    let sum: usize =
        first17.bytes().zip(W).map(|(b, w)| CHARS.iter().position(|c| *c == b).expect("charset") * w).sum();
    let check = (31 - sum % 31) % 31;
    format!("{first17}{}", CHARS[check] as char)
}

fn provider(kind: ProviderKind) -> ProviderFacts {
    ProviderFacts {
        name: "咸宁示例职业培训学校(SAMPLE)".to_owned(),
        uscc: uscc("52421202MJ1234567"),
        pilot_override: None,
        pays_tax_locally: true,
        independent_legal_person: true,
        violations: vec![],
        kind,
        kind_facts: KindFacts::default(),
        disqualified_on: None,
    }
}

fn applied() -> NaiveDate {
    d(2025, 7, 1)
}

// ---- PROV-USCC, PROV-LOCAL, PROV-LEGAL, PROV-CLEAN, PROV-DISQUALIFIED ----

#[test]
fn prov_uscc_a_pilot_code_failing_its_check_needs_an_officers_override() {
    let mut p = provider(ProviderKind::PublicTrainingInstitution);
    assert!(prov_uscc(&p).0.passed);
    let good = p.uscc.clone();
    p.uscc = format!("{}{}", &good[..17], if good.ends_with('0') { '1' } else { '0' });
    assert!(!prov_uscc(&p).0.passed);
    p.pilot_override = Some(PilotOverride {
        officer: "officer-1".to_owned(),
        recorded_on: d(2025, 6, 30),
        note: "试点代码".to_owned(),
    });
    assert!(prov_uscc(&p).0.passed);
}

#[test]
fn prov_local_registered_outside_xianning_is_refused() {
    let mut p = provider(ProviderKind::PublicTrainingInstitution);
    let (_, code) = prov_uscc(&p);
    assert!(prov_local(&p, code.as_ref()).passed);
    p.uscc = uscc("52420100MJ1234567");
    let (_, code) = prov_uscc(&p);
    assert!(!prov_local(&p, code.as_ref()).passed);
}

#[test]
fn prov_legal_needs_an_independent_legal_person() {
    let mut p = provider(ProviderKind::PublicTrainingInstitution);
    assert!(prov_legal(&p).passed);
    p.independent_legal_person = false;
    assert!(!prov_legal(&p).passed);
}

#[test]
fn prov_clean_a_violation_three_years_to_the_day_before_still_counts() {
    let mut p = provider(ProviderKind::PublicTrainingInstitution);
    p.violations = vec![d(2022, 7, 1)];
    assert!(!prov_clean(&v2(), &p, applied()).passed);
    p.violations = vec![d(2022, 6, 30)];
    assert!(prov_clean(&v2(), &p, applied()).passed);
}

#[test]
fn prov_disqualified_from_the_day_it_was_found() {
    let mut p = provider(ProviderKind::PublicTrainingInstitution);
    p.disqualified_on = Some(applied());
    assert!(!prov_disqualified(&p, applied()).passed);
    p.disqualified_on = Some(d(2025, 7, 2));
    assert!(prov_disqualified(&p, applied()).passed);
}

// ---- PROV-KIND ----

#[test]
fn prov_kind_another_kind_needs_an_officers_recorded_justification() {
    let mut p = provider(ProviderKind::Other);
    assert!(!prov_kind_in(&v2(), &p, applied()).passed);
    p.kind_facts.other_kind_justification = Some(KindJustification {
        officer: "officer-1".to_owned(),
        recorded_on: d(2025, 6, 30),
        note: "市级技能竞赛集训基地,具备实训条件(SAMPLE)".to_owned(),
    });
    let r = prov_kind_in(&v2(), &p, applied());
    assert!(r.passed, "{r:?}");
    assert!(r.reason_zh.contains("主要包括"));
    // v1's list was closed.
    assert!(!prov_kind_in(&v1(), &p, applied()).passed);
    assert_eq!(evaluate_provider_eligibility(&v2(), &p, applied()).first_failure(), None);
}

#[test]
fn prov_kind_a_private_school_needs_its_annual_inspection_passed_and_three_years_of_training() {
    let mut p = provider(ProviderKind::PrivateTrainingSchool);
    p.kind_facts.subsidised_training_years = vec![2022, 2023, 2024];
    assert!(!prov_kind_in(&v2(), &p, applied()).passed);
    p.kind_facts.annual_inspection_passed = true;
    assert!(prov_kind_in(&v2(), &p, applied()).passed);
    // The year before the three is missing: refused.
    p.kind_facts.subsidised_training_years = vec![2021, 2023, 2024];
    assert!(!prov_kind_in(&v2(), &p, applied()).passed);
    // v1 asked for every annual inspection.
    p.kind_facts.subsidised_training_years = vec![2022, 2023, 2024];
    assert!(!prov_kind_in(&v1(), &p, applied()).passed);
    p.kind_facts.passed_all_annual_inspections = true;
    assert!(prov_kind_in(&v1(), &p, applied()).passed);
}

#[test]
fn prov_kind_a_public_training_base_needs_its_recognition() {
    let mut p = provider(ProviderKind::PublicTrainingBase);
    assert!(!prov_kind_in(&v2(), &p, applied()).passed);
    assert!(prov_kind_in(&v1(), &p, applied()).passed);
    p.kind_facts.public_function_recognition = Some("咸经信函〔2025〕示例号(SAMPLE)".to_owned());
    assert!(prov_kind_in(&v2(), &p, applied()).passed);
    // A public employment training institution of any level needs nothing more.
    assert!(prov_kind_in(&v2(), &provider(ProviderKind::PublicTrainingInstitution), applied()).passed);
}

// ---- PROJ-CATALOG, PROJ-PLAN, PROJ-CROSS-REGION ----

fn item() -> CatalogItem {
    CatalogItem {
        occupation: occ(),
        occupation_name: "电工".to_owned(),
        level: SkillLevel::Level4,
        headcount: 40,
        skill_requirements: "低压电工作业".to_owned(),
        content: "电工基础".to_owned(),
        hours: 120,
        mode: TrainingMode::Offline,
        demand: "园区企业用工(SAMPLE)".to_owned(),
    }
}

#[test]
fn proj_catalog_every_field_is_stated() {
    assert!(proj_catalog(&item()).passed);
    let mut no_hours = item();
    no_hours.hours = 0;
    assert!(!proj_catalog(&no_hours).passed);
}

#[test]
fn proj_plan_needs_its_four_parts_and_safety_in_the_teaching_plan() {
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
    assert!(!proj_plan(&parts).passed);
}

#[test]
fn proj_cross_region_needs_the_other_county_bureaus_consent() {
    assert!(!proj_cross_region(RegionCode::Jiayu, RegionCode::Chibi, false).passed);
    assert!(proj_cross_region(RegionCode::Jiayu, RegionCode::Chibi, true).passed);
    assert!(proj_cross_region(RegionCode::CITY, RegionCode::Chibi, false).passed);
}

// ---- PROJ-BRAND ----

#[test]
fn proj_brand_a_name_outside_the_pattern_is_accepted_with_a_note() {
    let r = proj_brand(&v2(), "石匠培训", "石匠");
    assert!(r.passed, "{r:?}");
    assert!(r.reason_zh.contains("备注"), "{}", r.reason_zh);
    assert!(r.reason_en.starts_with("accepted with a note"));
    // Well formed: no note.
    let r = proj_brand(&v2(), "通山石匠培训", "石匠");
    assert!(r.passed && !r.reason_zh.contains("备注"));
    // v1 enforced the pattern.
    assert!(!proj_brand(&v1(), "石匠培训", "石匠").passed);
    assert!(!proj_brand_name("石匠培训", "石匠").passed);
}

#[test]
fn proj_brand_reports_the_counties_without_a_brand() {
    let left = proj_counties_without_brand(&[RegionCode::Tongshan, RegionCode::Chibi]);
    assert_eq!(left.len(), 4);
}

// ---- PROJ-BASIS, PROJ-INSERVICE ----

#[test]
fn proj_basis_in_service_and_pre_hire_trainees_are_judged_by_certificate_under_v2() {
    assert_eq!(proj_basis(&[TargetGroup::InServiceWorker]), ProjectBasis::CertificateRate);
    assert_eq!(proj_basis(&[TargetGroup::RuralMigrant]), ProjectBasis::EmploymentRate);
    assert_eq!(proj_basis(&[TargetGroup::InServiceWorker, TargetGroup::RuralMigrant]), ProjectBasis::Mixed);
    use qiancheng_domain::policy::outcome::Basis;
    assert_eq!(v2().basis_for(TargetGroup::ProjectEnterpriseRecruit), Basis::Certificate);
    assert_eq!(v1().basis_for(TargetGroup::ProjectEnterpriseRecruit), Basis::Employment);
    // The certificate rate has its own tiers under v2.
    assert!(v2().cert_tiers.is_some() && v1().cert_tiers.is_none());
}

#[test]
fn proj_inservice_an_in_service_project_records_its_key_industry_and_urgent_occupation() {
    let basis = InServiceBasis {
        industry: Industry::EquipmentManufacturing,
        urgent_occupation_reference: Some("咸宁市急需紧缺工种目录(2025, SAMPLE)".to_owned()),
    };
    assert!(proj_inservice(&v2(), true, Some(&basis)).passed);
    assert!(!proj_inservice(&v2(), true, None).passed);
    let other = InServiceBasis { industry: Industry::Other, ..basis.clone() };
    assert!(!proj_inservice(&v2(), true, Some(&other)).passed);
    let not_urgent = InServiceBasis { urgent_occupation_reference: Some("  ".to_owned()), ..basis };
    assert!(!proj_inservice(&v2(), true, Some(&not_urgent)).passed);
    // Projects for other trainees, and v1, pass.
    assert!(proj_inservice(&v2(), false, None).passed);
    assert!(proj_inservice(&v1(), true, None).passed);
}

// ---- PROJ-SELECTION ----

fn score(expert: &str, organisation: &str, points: i64) -> ExpertScore {
    ExpertScore {
        expert: expert.to_owned(),
        organisation: organisation.to_owned(),
        conflict_declared: false,
        score: Decimal::from(points),
    }
}

#[test]
fn proj_selection_five_scores_drop_the_highest_and_lowest_four_do_not() {
    let four = [score("a", "x", 60), score("b", "y", 80), score("c", "z", 90), score("d", "w", 100)];
    assert_eq!(proj_selection_score(&v2(), "me", &four).outcome, Some(Decimal::new(825, 1)));
    let mut five = four.to_vec();
    five.push(score("e", "v", 70));
    assert_eq!(proj_selection_score(&v2(), "me", &five).outcome, Some(Decimal::from(80)));
    // Recusal leaves two: no score.
    let recused = [score("a", "x", 60), score("b", "me", 100), score("c", "y", 70)];
    assert_eq!(proj_selection_score(&v2(), "me", &recused).outcome, None);
}

fn candidate(id: &str, score: Option<i64>, headcount: u32, submitted: i64) -> RoundCandidate {
    RoundCandidate {
        application_id: id.to_owned(),
        score: score.map(Decimal::from),
        headcount,
        submitted_micros: submitted,
        rules: vec![RuleResult::pass("PROJ-SELECTION", "评议得分", "officers' score")],
        expert_scores: vec![],
    }
}

fn approved(policy: &qiancheng_domain::policy::PolicySet, facts: &RoundFacts) -> Vec<(String, u32)> {
    let dec = decide_round(policy, facts).expect("consistent");
    dec.outcome.ranking.iter().map(|r| (r.application_id.clone(), r.approved_headcount)).collect()
}

#[test]
fn proj_selection_fit_approves_every_application_that_still_fits() {
    let facts = RoundFacts {
        candidates: vec![
            candidate("a", Some(90), 60, 1),
            candidate("b", Some(80), 50, 2),
            candidate("c", Some(70), 40, 3),
        ],
        quota_left: 100,
        reductions: vec![],
    };
    // Fit (v2): b does not fit (50 > 40 left) and is skipped; c fits exactly.
    assert_eq!(approved(&v2(), &facts), [("a".to_owned(), 60), ("b".to_owned(), 0), ("c".to_owned(), 40)]);
    let dec = decide_round(&v2(), &facts).expect("consistent");
    assert_eq!(dec.outcome.quota_mode, QuotaMode::Fit);
    assert_eq!(dec.outcome.approved_headcount, 100);
    assert!(dec.outcome.ranking[1].rules.last().expect("quota").reason_en.contains("skipped"));
    // Strict (v1): nothing after b.
    assert_eq!(approved(&v1(), &facts), [("a".to_owned(), 60), ("b".to_owned(), 0), ("c".to_owned(), 0)]);
}

#[test]
fn proj_selection_an_officer_reduces_the_marginal_application_with_a_reason() {
    let mut facts = RoundFacts {
        candidates: vec![
            candidate("a", Some(90), 60, 1),
            candidate("b", Some(80), 50, 2),
            candidate("c", Some(70), 40, 3),
        ],
        quota_left: 100,
        reductions: vec![QuotaReduction {
            application_id: "b".to_owned(),
            headcount: 40,
            reason: "名额不足,按剩余名额核减(SAMPLE)".to_owned(),
            officer: "officer-1".to_owned(),
        }],
    };
    let dec = decide_round(&v2(), &facts).expect("consistent");
    let b = &dec.outcome.ranking[1];
    assert!(b.approved && b.approved_headcount == 40 && b.reduction.is_some());
    assert!(b.rules.last().expect("quota").reason_zh.contains("核减为40人"));
    // c no longer fits.
    assert_eq!(approved(&v2(), &facts)[2], ("c".to_owned(), 0));
    assert_eq!(dec.outcome.approved_headcount, 100);
    // A reduction must reduce, give a reason, and is not a v1 notion.
    facts.reductions[0].headcount = 50;
    assert!(decide_round(&v2(), &facts).is_err());
    facts.reductions[0].headcount = 40;
    facts.reductions[0].reason = " ".to_owned();
    assert!(decide_round(&v2(), &facts).is_err());
    facts.reductions[0].reason = "核减".to_owned();
    assert!(decide_round(&v1(), &facts).is_err());
}

#[test]
fn proj_selection_ranks_by_score_then_submission_then_id_unscored_last() {
    let mut unscored = candidate("z", None, 1, 0);
    unscored.rules =
        vec![RuleResult::fail("PROJ-SELECTION", "有效评审专家不足3名", "fewer than 3 experts after recusal")];
    let facts = RoundFacts {
        candidates: vec![
            unscored,
            candidate("c", Some(80), 1, 5),
            candidate("b", Some(80), 1, 5),
            candidate("a", Some(80), 1, 6),
            candidate("d", Some(95), 1, 9),
        ],
        quota_left: 10,
        reductions: vec![],
    };
    let dec = decide_round(&v2(), &facts).expect("consistent");
    let order: Vec<&str> = dec.outcome.ranking.iter().map(|r| r.application_id.as_str()).collect();
    assert_eq!(order, ["d", "b", "c", "a", "z"]);
    let z = &dec.outcome.ranking[4];
    assert!(!z.approved && z.rules.iter().all(|r| r.code != "PROJ-QUOTA"), "an unscored one takes nothing");
}

#[test]
fn proj_selection_a_candidate_failing_a_gathered_rule_is_not_approved_and_takes_nothing() {
    let mut refused = candidate("a", Some(99), 10, 1);
    refused.rules.push(RuleResult::fail("PROV-DISQUALIFIED", "已取消资格", "disqualified"));
    let facts =
        RoundFacts { candidates: vec![refused, candidate("b", Some(50), 10, 2)], quota_left: 10, reductions: vec![] };
    assert_eq!(approved(&v1(), &facts), [("a".to_owned(), 0), ("b".to_owned(), 10)]);
}

// ---- PROJ-QUOTA ----

#[test]
fn proj_quota_approved_headcount_never_exceeds_the_quota() {
    assert!(proj_quota_year(100, 100).passed);
    assert!(!proj_quota_year(100, 101).passed);
    let facts = RoundFacts {
        candidates: vec![candidate("a", Some(90), 100, 1), candidate("b", Some(80), 1, 2)],
        quota_left: 100,
        reductions: vec![],
    };
    let dec = decide_round(&v2(), &facts).expect("consistent");
    assert_eq!(dec.outcome.approved_headcount, 100);
    assert!(dec.all_passed());
}

/// The round decision before v2, verbatim: rank, keep the scored candidates whose rules all
/// passed, then share the quota strictly in rank order (`proj_quota` as it was).
fn todays_strict_decision(candidates: &[RoundCandidate], quota: u32) -> Vec<(String, bool, Vec<RuleResult>)> {
    let mut sorted: Vec<RoundCandidate> = candidates.to_vec();
    sorted.sort_by(qiancheng_domain::policy::selection::rank_order);
    let in_quota: Vec<(String, u32)> = sorted
        .iter()
        .filter(|c| c.score.is_some() && c.rules.iter().all(|r| r.passed))
        .map(|c| (c.application_id.clone(), c.headcount))
        .collect();
    let mut left = quota;
    let mut exhausted = false;
    let allocations: Vec<(String, RuleResult)> = in_quota
        .iter()
        .map(|(id, headcount)| {
            let fits = !exhausted && *headcount <= left;
            if fits {
                left -= headcount;
            } else {
                exhausted = true;
            }
            let rule = if fits {
                RuleResult::pass(
                    "PROJ-QUOTA",
                    format!("批准{headcount}人,剩余名额{left}人"),
                    format!("approved {headcount} trainees, {left} left in the quota"),
                )
            } else {
                RuleResult::fail(
                    "PROJ-QUOTA",
                    format!("名额不足(申请{headcount}人,剩余{left}人)"),
                    format!("quota exhausted ({headcount} asked, {left} left)"),
                )
            };
            (id.clone(), rule)
        })
        .collect();
    sorted
        .into_iter()
        .map(|c| {
            let mut rules = c.rules.clone();
            if let Some((_, rule)) = allocations.iter().find(|(id, _)| *id == c.application_id) {
                rules.push(rule.clone());
            }
            let approved =
                c.score.is_some() && rules.iter().all(|r| r.passed) && rules.iter().any(|r| r.code == "PROJ-QUOTA");
            (c.application_id, approved, rules)
        })
        .collect()
}

proptest! {
    #[test]
    fn proj_quota_strict_mode_reproduces_the_decision_before_v2(
        raw in proptest::collection::vec((proptest::option::of(0i64..5), 1u32..40, 0i64..4, any::<bool>()), 0..12),
        quota in 0u32..120,
    ) {
        let candidates: Vec<RoundCandidate> = raw
            .iter()
            .enumerate()
            .map(|(i, (score, headcount, submitted, refused))| {
                let mut c = candidate(&format!("app-{i:02}"), score.map(|s| s * 10), *headcount, *submitted);
                if *refused {
                    c.rules.push(RuleResult::fail("PROJ-CROSS-REGION", "未取得同意", "no consent"));
                }
                c
            })
            .collect();
        let mut strict = v2();
        strict.quota_mode = QuotaMode::Strict;
        let facts = RoundFacts { candidates: candidates.clone(), quota_left: quota, reductions: vec![] };
        for policy in [v1(), strict] {
            let dec = decide_round(&policy, &facts).expect("consistent");
            let got: Vec<(String, bool, Vec<RuleResult>)> =
                dec.outcome.ranking.iter().map(|r| (r.application_id.clone(), r.approved, r.rules.clone())).collect();
            prop_assert_eq!(got, todays_strict_decision(&candidates, quota));
            prop_assert!(dec.outcome.approved_headcount <= u64::from(quota));
        }
    }

    #[test]
    fn proj_quota_fit_never_exceeds_the_quota_and_approves_at_least_as_many_as_strict(
        raw in proptest::collection::vec((1u32..40, 0i64..100), 0..12),
        quota in 0u32..120,
    ) {
        let candidates: Vec<RoundCandidate> = raw
            .iter()
            .enumerate()
            .map(|(i, (headcount, points))| candidate(&format!("app-{i:02}"), Some(*points), *headcount, i as i64))
            .collect();
        let facts = RoundFacts { candidates, quota_left: quota, reductions: vec![] };
        let fit = decide_round(&v2(), &facts).expect("consistent").outcome;
        let strict = decide_round(&v1(), &facts).expect("consistent").outcome;
        prop_assert!(fit.approved_headcount <= u64::from(quota));
        prop_assert!(fit.approved_headcount >= strict.approved_headcount);
        // Every application fit skipped would not have fitted in what was left at its turn.
        let mut left = quota;
        for r in &fit.ranking {
            if r.approved { left -= r.approved_headcount; } else { prop_assert!(r.headcount > left); }
        }
    }
}

#[test]
fn policy_set_v2_is_edition_2_with_fit_quotas() {
    assert_eq!(v2().rules_edition, RulesEdition::V2);
    assert_eq!(v2().quota_mode, QuotaMode::Fit);
    assert_eq!(v1().quota_mode, QuotaMode::Strict);
}
