//! Policy set v2: the dates rules (DATE-*), and the check that every rule code (`policy::RULE_CODES`, docs/RULES.md) has
//! its tests under v2 and its row in `docs/policy-facts.md`.

mod common;

use common::*;
use qiancheng_domain::policy::calendar::HolidayCalendar;
use qiancheng_domain::policy::set::{RULE_CODES, RULE_CODES_NEW_IN_V2};
use qiancheng_domain::{Error, add_months, in_window, today_in_china};

/// The v2 test files; each rule code has at least one test named after it in one of them.
const V2_TESTS: [&str; 7] = [
    include_str!("v2_people.rs"),
    include_str!("v2_projects.rs"),
    include_str!("v2_classes.rs"),
    include_str!("v2_outcomes.rs"),
    include_str!("v2_subsidy.rs"),
    include_str!("v2_codes.rs"),
    include_str!("v2_replay.rs"),
];

const POLICY_FACTS_DOC: &str = include_str!("../../../docs/policy-facts.md");

// ---- DATE-TZ, DATE-MONTHS, DATE-WORKDAYS ----

#[test]
fn date_tz_today_is_a_civil_date_in_china() {
    let today = today_in_china();
    let utc = chrono::Utc::now().date_naive();
    assert!((today - utc).num_days().abs() <= 1);
}

#[test]
fn date_months_six_months_after_august_31_is_february_28() {
    assert_eq!(add_months(d(2025, 8, 31), 6), d(2026, 2, 28));
    assert_eq!(add_months(d(2025, 9, 30), 6), d(2026, 3, 30));
    assert!(in_window(d(2026, 3, 30), d(2025, 9, 30), d(2026, 3, 30)));
    assert!(!in_window(d(2026, 3, 31), d(2025, 9, 30), d(2026, 3, 30)));
}

#[test]
fn date_workdays_make_up_saturdays_work_holidays_rest_and_an_uncovered_year_is_an_error() {
    let cal = HolidayCalendar::bundled();
    assert!(cal.is_working_day(d(2026, 2, 14)).expect("covered"));
    assert!(!cal.is_working_day(d(2026, 2, 23)).expect("covered"));
    assert!(matches!(cal.is_working_day(d(2027, 12, 31)), Err(Error::YearNotCovered { year: 2027 })));
    // A later year is data, loaded without a code change.
    let later = HolidayCalendar::from_csv_str("date,kind,name\n2027-10-01,holiday,国庆节\n").expect("loads");
    assert!(!later.is_working_day(d(2027, 10, 1)).expect("covered"));
}

// ---- Every code ----

fn snake(code: &str) -> String {
    code.to_ascii_lowercase().replace('-', "_")
}

#[test]
fn rule_codes_are_the_55_of_policy_md_and_four_are_new_in_v2() {
    assert_eq!(RULE_CODES.len(), 55);
    let mut sorted = RULE_CODES.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), 55, "no code twice");
    for code in RULE_CODES_NEW_IN_V2 {
        assert!(RULE_CODES.contains(&code));
    }
}

#[test]
fn rule_codes_each_have_a_v2_test_named_after_them() {
    let missing: Vec<&str> = RULE_CODES
        .iter()
        .copied()
        .filter(|code| {
            let prefix = format!("fn {}_", snake(code));
            !V2_TESTS.iter().any(|file| file.contains(&prefix))
        })
        .collect();
    assert!(missing.is_empty(), "codes without a v2 test named after them: {missing:?}");
}

#[test]
fn rule_codes_each_have_a_row_in_the_policy_facts_document() {
    let listed: Vec<&str> = POLICY_FACTS_DOC
        .lines()
        .filter_map(|line| line.strip_prefix("| `")?.split('`').next())
        .filter(|code| code.chars().all(|c| c.is_ascii_uppercase() || c == '-'))
        .collect();
    assert_eq!(listed, RULE_CODES, "docs/policy-facts.md lists `policy::RULE_CODES` in their order");
}
