//! The facts example of `docs/policy-facts.md` evaluates to the decision the document states.

use qiancheng_domain::Money;
use qiancheng_domain::policy::replay::{evaluate_claim_json, explain_table};

const EXAMPLE: &str = include_str!("../../../docs/examples/claim-facts.json");

#[test]
fn docs_example_gives_the_documented_decision() {
    let decision = evaluate_claim_json(EXAMPLE).expect("the example is valid facts");
    let o = &decision.outcome;
    assert_eq!(decision.policy_version, "xianning-2025-5/v1");
    let rate = o.rate.expect("some trainees completed");
    assert_eq!((rate.numerator, rate.denominator), (4, 5));
    assert_eq!(o.tier_percent, Some(200));
    let lines: Vec<(&str, i64, Option<&str>)> =
        o.lines.iter().map(|l| (l.trainee_name.as_str(), l.amount_fen.fen(), l.stopped_by.as_deref())).collect();
    assert_eq!(
        lines,
        [
            ("张伟", 360_000, None),
            ("李娜", 500_000, None),
            ("陈静", 0, Some("ELIG-FISCAL")),
            ("王强", 360_000, None),
            ("赵敏", 360_000, None),
            ("刘洋", 0, Some("CLASS-ATTENDANCE")),
            ("周婷", 0, Some("ELIG-REALNAME")),
        ]
    );
    assert_eq!(o.total_fen, Money::from_fen(1_580_000));
    assert_eq!(o.total_fen.to_string(), "15800.00");
}

#[test]
fn docs_example_explain_table_names_every_trainee_and_reason() {
    let decision = evaluate_claim_json(EXAMPLE).expect("valid");
    let table = explain_table(&decision);
    for name in ["张伟", "李娜", "陈静", "王强", "赵敏", "刘洋", "周婷"] {
        assert!(table.contains(name), "{name} missing");
    }
    assert!(table.contains("15800.00"));
    assert!(table.contains("[FAIL] ELIG-FISCAL"));
    assert!(table.contains("财政供养人员不享受培训补贴"));
    assert!(table.contains("personnel paid from the public budget are excluded"));
    // No full ID number is printed.
    assert!(!table.contains("42120219900315101X"));
}

#[test]
fn docs_example_decision_json_round_trips() {
    let decision = evaluate_claim_json(EXAMPLE).expect("valid");
    let json = serde_json::to_string(&decision).expect("ser");
    let back: qiancheng_domain::policy::ClaimDecision = serde_json::from_str(&json).expect("de");
    assert_eq!(back, decision);
}

#[test]
fn replay_refuses_unknown_fields_and_unknown_policy_versions() {
    let misspelt = EXAMPLE.replacen("\"filed_on\"", "\"filed_at\"", 1);
    assert!(evaluate_claim_json(&misspelt).is_err());
    let unknown = EXAMPLE.replacen("xianning-2025-5/v1", "xianning-2025-5/v9", 1);
    assert!(evaluate_claim_json(&unknown).is_err());
    assert!(evaluate_claim_json("{").is_err());
}

#[test]
fn replay_uses_an_inline_policy_set() {
    let mut facts: qiancheng_domain::policy::replay::ReplayFacts = serde_json::from_str(EXAMPLE).expect("valid");
    let mut set = qiancheng_domain::policy::PolicySet::xianning_2025_5_v1();
    set.version = "xianning-2025-5/v2-sample".to_owned();
    set.tiers.upper_percent = 150;
    facts.policy_version = None;
    facts.policy = Some(set);
    let decision = qiancheng_domain::policy::replay::evaluate_replay(&facts).expect("valid");
    assert_eq!(decision.policy_version, "xianning-2025-5/v2-sample");
    assert_eq!(decision.outcome.lines[0].amount_fen, Money::from_fen(270_000));
}
