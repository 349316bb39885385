//! Decisions made under `xianning-2025-5/v1` replay unchanged.
//!
//! The expected outputs were written by the policy core as it stood before policy set v2 was
//! added, from two facts files: the documented example and a fixture built around every
//! behaviour v2 changes (an uplift in the 100% tier, a budget-paid trainee counted as employed,
//! months counted from the first day, an internship, a lump payment split equally, a
//! certificate in a neighbouring occupation, a pre-hire trainee judged by employment, one person
//! on two overlapping classes). What `qiancheng policy evaluate` and `explain` print for them
//! must stay byte for byte the same.

use qiancheng_domain::policy::replay::{decision_json, evaluate_claim_json, explain_table};

fn replays_unchanged(facts: &str, expected_json: &str, expected_table: &str) {
    let decision = evaluate_claim_json(facts).expect("the v1 facts are valid");
    assert_eq!(decision.policy_version, "xianning-2025-5/v1");
    let json = decision_json(&decision).expect("serialises");
    assert_eq!(json.trim_end(), expected_json.trim_end(), "the v1 decision JSON changed");
    assert_eq!(explain_table(&decision), expected_table, "the v1 explanation changed");
}

#[test]
fn v1_docs_example_replays_the_decision_it_printed_before() {
    replays_unchanged(
        include_str!("../../../docs/examples/claim-facts.json"),
        include_str!("../../../docs/examples/claim-facts-v1.decision.json"),
        include_str!("../../../docs/examples/claim-facts-v1.explain.txt"),
    );
}

#[test]
fn v1_differences_fixture_replays_the_decision_it_printed_before() {
    replays_unchanged(
        include_str!("fixtures/v1-differences.facts.json"),
        include_str!("fixtures/v1-differences.v1.json"),
        include_str!("fixtures/v1-differences.v1.explain.txt"),
    );
}
