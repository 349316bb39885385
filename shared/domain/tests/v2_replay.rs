//! Policy set v2 against v1 on the same claim: the fixture built around every behaviour v2
//! changes, replayed under v1 (unchanged, `v1_replay.rs`) and marked v2 with the facts v2 adds.

use qiancheng_domain::Money;
use qiancheng_domain::policy::ClaimDecision;
use qiancheng_domain::policy::outcome::Basis;
use qiancheng_domain::policy::replay::evaluate_claim_json;
use serde_json::{Value, json};

const FIXTURE: &str = include_str!("fixtures/v1-differences.facts.json");

/// The fixture marked v2: each trainee's ELIG-LOCAL basis, the classes' filing days, the proofs
/// the claim carries and the internship's end, which v2 reads and v1 did not.
fn marked_v2() -> String {
    let mut facts: Value = serde_json::from_str(FIXTURE).expect("json");
    facts["policy_version"] = json!("xianning-2025-5/v2");
    facts["materials"] = json!(["ANNEX_4", "LEDGER", "CERTIFICATE_EVIDENCE", "EMPLOYMENT_EVIDENCE"]);
    facts["classes"][0]["filed_on"] = json!("2025-08-20");
    facts["classes"][1]["filed_on"] = json!("2025-09-05");
    for t in facts["trainees"].as_array_mut().expect("trainees") {
        t["person"]["local_basis"] = json!({ "kind": "HOUSEHOLD_REGISTRATION", "evidence": "户口簿(SAMPLE)" });
    }
    facts["trainees"][3]["evidence"]["contracts"][0]["ends_on"] = json!("2025-12-31");
    facts.to_string()
}

fn line<'a>(dec: &'a ClaimDecision, name: &str, class: &str) -> &'a qiancheng_domain::policy::SubsidyLine {
    dec.outcome.lines.iter().find(|l| l.trainee_name == name && l.class_id == class).expect("a line")
}

#[test]
fn replay_the_same_claim_under_v1_and_v2_differs_rule_by_rule() {
    let v1 = evaluate_claim_json(FIXTURE).expect("v1 facts");
    let v2 = evaluate_claim_json(&marked_v2()).expect("v2 facts");
    assert_eq!(v2.policy_version, "xianning-2025-5/v2");

    // OUT-RATE: v1 one rate 5/10 over the claimant's list, the budget-paid 乙 and the double-enrolled
    // 甲 counted; v2 two rates, 乙 excluded, 甲 once.
    assert_eq!(v1.outcome.rate.map(|r| (r.numerator, r.denominator)), Some((5, 10)));
    let employment = v2.outcome.rates.iter().find(|r| r.basis == Basis::Employment).expect("employment");
    assert_eq!((employment.positive, employment.completed), (5, 7));
    assert_eq!((employment.not_plan_trainees, employment.counted_elsewhere), (1, 1));
    let certificate = v2.outcome.rates.iter().find(|r| r.basis == Basis::Certificate).expect("certificate");
    assert_eq!((certificate.positive, certificate.completed), (1, 1));

    // OUT-MONTHS: 丙's September insurance and wages no longer count.
    assert!(line(&v1, "学员丙", "C1").verdict.as_ref().is_some_and(|v| v.positive));
    assert!(!line(&v2, "学员丙", "C1").verdict.as_ref().is_some_and(|v| v.positive));
    // OUT-EMP-CONTRACT: 丁's internship with accident insurance is employment time.
    assert!(!line(&v1, "学员丁", "C1").verdict.as_ref().is_some_and(|v| v.positive));
    assert!(line(&v2, "学员丁", "C1").verdict.as_ref().is_some_and(|v| v.positive));
    // OUT-EMP-SERVICE: 戊's lump payment covers the named months' minimum wages.
    assert!(!line(&v1, "学员戊", "C1").verdict.as_ref().is_some_and(|v| v.positive));
    assert!(line(&v2, "学员戊", "C1").verdict.as_ref().is_some_and(|v| v.positive));
    // OUT-CERT: 己's certificate in the same minor group counts.
    assert!(!line(&v1, "学员己", "C1").verdict.as_ref().is_some_and(|v| v.positive));
    assert!(line(&v2, "学员己", "C1").verdict.as_ref().is_some_and(|v| v.positive));
    // ELIG-OVERLAP: 甲 on two overlapping classes is paid once under v2, twice under v1.
    assert_eq!(line(&v1, "学员甲", "C2").amount_fen, Money::from_fen(216_000));
    assert_eq!(line(&v2, "学员甲", "C2").stopped_by.as_deref(), Some("ELIG-OVERLAP"));
    // SUBS-UPLIFT: v1 raised 甲 and 癸 in the 100% tier; in v2 the claim reaches the 200% tier.
    assert_eq!(line(&v1, "学员癸", "C2").multiplier_percent, 150);
    assert_eq!(line(&v2, "学员癸", "C2").multiplier_percent, 200);
    // Every v2 line lists the outcome rule that judged it.
    assert!(line(&v2, "学员丙", "C1").rules.iter().any(|r| r.code == "OUT-EMP-CONTRACT" && !r.passed));
    assert!(line(&v1, "学员丙", "C1").rules.iter().all(|r| r.code != "OUT-EMP-CONTRACT"));
    assert_eq!(v1.outcome.total_fen, Money::from_fen(1_782_000));
    assert_eq!(v2.outcome.total_fen, Money::from_fen(2_880_000));
}

#[test]
fn replay_v1_facts_marked_v2_without_the_facts_v2_needs_pay_nothing() {
    // Marking v1 facts v2 alone is a v2 decision: no proofs listed (SUBS-MATERIALS) and no
    // ELIG-LOCAL basis, so every line is zero with its reason.
    let facts = FIXTURE.replacen("xianning-2025-5/v1", "xianning-2025-5/v2", 1);
    let dec = evaluate_claim_json(&facts).expect("valid facts");
    assert_eq!(dec.outcome.total_fen, Money::ZERO);
    assert!(dec.outcome.lines.iter().all(|l| l.stopped_by.as_deref() == Some("SUBS-MATERIALS")));
    assert!(dec.outcome.lines.iter().all(|l| l.rules.iter().any(|r| r.code == "ELIG-LOCAL" && !r.passed)));
}
