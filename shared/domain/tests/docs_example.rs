//! The facts examples of `docs/policy-facts.md` evaluate to the decisions the document states:
//! `claim-facts-v2.json` under policy set v2, and `claim-facts.json`, a decision made under v1,
//! under v1 as it was made. Replay refuses facts that do not name their set, and a policy object
//! that names a built-in version with other parameters.

use qiancheng_domain::policy::PolicySet;
use qiancheng_domain::policy::outcome::Basis;
use qiancheng_domain::policy::project::ProjectBasis;
use qiancheng_domain::policy::replay::{ReplayFacts, evaluate_claim_json, evaluate_replay, explain_table};
use qiancheng_domain::{Error, Money};

const EXAMPLE: &str = include_str!("../../../docs/examples/claim-facts.json");
const EXAMPLE_V2: &str = include_str!("../../../docs/examples/claim-facts-v2.json");

#[test]
fn docs_v2_example_gives_the_documented_decision() {
    let decision = evaluate_claim_json(EXAMPLE_V2).expect("the v2 example is valid facts");
    let o = &decision.outcome;
    assert_eq!(decision.policy_version, "xianning-2025-5/v2");
    assert_eq!(o.basis, ProjectBasis::Mixed);
    let rate = |b: Basis| o.rates.iter().find(|r| r.basis == b).expect("a rate");
    let employment = rate(Basis::Employment);
    assert_eq!((employment.positive, employment.completed, employment.not_plan_trainees), (4, 6, 1));
    assert_eq!(employment.tier_percent, Some(100));
    let certificate = rate(Basis::Certificate);
    assert_eq!((certificate.positive, certificate.completed), (1, 1));
    assert_eq!(certificate.tier_percent, Some(200));
    let lines: Vec<(&str, i64, Option<&str>)> =
        o.lines.iter().map(|l| (l.trainee_name.as_str(), l.amount_fen.fen(), l.stopped_by.as_deref())).collect();
    assert_eq!(
        lines,
        [
            ("张伟", 180_000, None),
            // An uplift of 300% in the 100% tier: the tier alone applies (SUBS-UPLIFT).
            ("李娜", 180_000, None),
            // Budget-paid and employed: in neither term of the rate (OUT-RATE, ELIG-FISCAL).
            ("陈静", 0, Some("ELIG-FISCAL")),
            ("王强", 180_000, None),
            ("赵敏", 180_000, None),
            ("刘洋", 0, Some("CLASS-ATTENDANCE")),
            ("周婷", 0, Some("ELIG-REALNAME")),
            ("孙丽", 180_000, None),
            ("吴刚", 180_000, None),
            ("郑磊", 360_000, None),
        ]
    );
    let li_na = &o.lines[1];
    assert_eq!((li_na.uplift_percent, li_na.multiplier_percent), (Some(300), 100));
    let chen_jing = &o.lines[2];
    assert!(chen_jing.verdict.is_none(), "not counted in the rate");
    let zheng_lei = &o.lines[9];
    assert_eq!(zheng_lei.group, qiancheng_domain::TargetGroup::InServiceWorker);
    assert_eq!(zheng_lei.fund, qiancheng_domain::policy::Fund::SkillUpgradeAccount);
    assert_eq!(o.total_fen, Money::from_fen(1_440_000));
    assert_eq!(o.total_fen.to_string(), "14400.00");
}

#[test]
fn docs_v2_example_explain_table_shows_both_rates_and_every_outcome_rule() {
    let table = explain_table(&evaluate_claim_json(EXAMPLE_V2).expect("valid"));
    assert!(table.contains("就业率 employment rate: 4/6 (66.67%) | 档次 tier: 100%"), "{table}");
    assert!(table.contains("取证率 certificate rate: 1/1 (100.00%) | 档次 tier: 200%"), "{table}");
    assert!(table.contains("14400.00"));
    assert!(table.contains("[PASS] OUT-EMP-CONTRACT"));
    assert!(table.contains("[FAIL] OUT-EMP-CONTRACT"));
    assert!(table.contains("[PASS] OUT-CERT"));
    assert!(table.contains("仅适用于200%档"));
}

#[test]
fn docs_v2_example_decision_json_round_trips() {
    let decision = evaluate_claim_json(EXAMPLE_V2).expect("valid");
    let json = serde_json::to_string(&decision).expect("ser");
    let back: qiancheng_domain::policy::ClaimDecision = serde_json::from_str(&json).expect("de");
    assert_eq!(back, decision);
}

#[test]
fn replay_uses_the_built_in_set_a_version_names() {
    let facts: ReplayFacts = serde_json::from_str(EXAMPLE_V2).expect("valid");
    assert_eq!(facts.policy_set().expect("built in"), PolicySet::xianning_2025_5_v2());
    let facts: ReplayFacts = serde_json::from_str(EXAMPLE).expect("valid");
    assert_eq!(facts.policy_set().expect("built in"), PolicySet::xianning_2025_5_v1());
}

#[test]
fn replay_refuses_a_policy_object_that_names_a_built_in_version_with_other_parameters() {
    let mut facts: ReplayFacts = serde_json::from_str(EXAMPLE).expect("valid");
    let mut tampered = PolicySet::xianning_2025_5_v1();
    tampered.tiers.upper_percent = 300;
    facts.policy = Some(tampered);
    let err = evaluate_replay(&facts).expect_err("refused");
    assert!(matches!(err, Error::PolicySetTampered { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains("xianning-2025-5/v1") && message.contains("differ"), "{message}");
    // The built-in set itself, given whole, is accepted.
    facts.policy = Some(PolicySet::xianning_2025_5_v1());
    assert_eq!(evaluate_replay(&facts).expect("the same set").outcome.total_fen, Money::from_fen(1_580_000));
}

#[test]
fn replay_refuses_facts_that_name_no_policy_set_or_another_digest() {
    let mut facts: ReplayFacts = serde_json::from_str(EXAMPLE).expect("valid");
    facts.policy_version = None;
    let err = evaluate_replay(&facts).expect_err("no set named");
    assert!(err.to_string().contains("name no policy set"), "{err}");
    facts.policy_version = Some(PolicySet::XIANNING_2025_5_V1.to_owned());
    facts.policy_digest = Some(PolicySet::xianning_2025_5_v2().digest());
    assert!(matches!(evaluate_replay(&facts), Err(Error::PolicySetTampered { .. })));
    facts.policy_digest = Some(PolicySet::xianning_2025_5_v1().digest());
    assert!(evaluate_replay(&facts).is_ok());
    // A version and a policy object that disagree.
    facts.policy_digest = None;
    facts.policy = Some(PolicySet::xianning_2025_5_v2());
    assert!(evaluate_replay(&facts).is_err());
}

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
