//! Policy set v2: the outcome rules (七(四)): OUT-WINDOW, OUT-MONTHS, OUT-CERT and the four
//! employment routes, at their boundaries.

mod common;

use common::*;
use qiancheng_domain::policy::facts::{
    BusinessRegistration, Certificate, CertificateKind, ContractKind, EmploymentContract, OperationMonth,
    OperationProof, OutcomeEvidence, Payment, PaymentChannel, ServiceEngagement, ServiceRoute,
};
use qiancheng_domain::policy::outcome::{
    Basis, Route, evaluate_outcome, out_cert, out_emp_business, out_emp_contract, out_emp_registration,
    out_emp_service, out_months_period, out_window,
};
use qiancheng_domain::{Money, OccupationCode, SkillLevel, TargetGroup};

fn certificate(occupation: &str, issued_on: chrono::NaiveDate) -> OutcomeEvidence {
    OutcomeEvidence {
        certificates: vec![Certificate {
            kind: CertificateKind::SkillLevel,
            number: "S-SAMPLE-1".to_owned(),
            occupation: OccupationCode::parse(occupation).expect("code"),
            level: SkillLevel::Level4,
            issued_on,
        }],
        ..OutcomeEvidence::default()
    }
}

// ---- OUT-WINDOW ----

#[test]
fn out_window_last_day_counts_the_day_after_does_not() {
    let (from, to) = out_window(&v2(), &c1());
    assert_eq!((from, to), (d(2025, 9, 30), d(2026, 3, 30)));
    assert!(out_cert(&v2(), &c1(), &occ(), &certificate("6-31-01-03", to)).passed);
    assert!(!out_cert(&v2(), &c1(), &occ(), &certificate("6-31-01-03", d(2026, 3, 31))).passed);
}

// ---- OUT-MONTHS ----

#[test]
fn out_months_count_from_the_day_after_the_last_day_under_v2() {
    assert_eq!(out_months_period(&v2(), &c1()), (d(2025, 10, 1), d(2026, 3, 30)));
    assert_eq!(out_months_period(&v1(), &c1()), (d(2025, 9, 1), d(2026, 3, 30)));
    // Insurance and wages in the class's own month (September) do not count under v2.
    let during = employed("E", d(2025, 9, 10), &["2025-09", "2025-10", "2025-11"]);
    assert!(!out_emp_contract(&v2(), &c1(), &during).passed);
    assert!(out_emp_contract(&v1(), &c1(), &during).passed);
    // The window's last month (March, partly inside) counts; April does not.
    let late = employed("E", d(2025, 12, 1), &["2026-01", "2026-02", "2026-03"]);
    assert!(out_emp_contract(&v2(), &c1(), &late).passed);
    let later = employed("E", d(2025, 12, 1), &["2026-02", "2026-03", "2026-04"]);
    assert!(!out_emp_contract(&v2(), &c1(), &later).passed);
}

#[test]
fn out_months_a_class_ending_mid_month_counts_that_month() {
    let class = class("C9", d(2025, 9, 1), d(2025, 9, 15));
    // 2025-09-16 starts the period: September is partly inside and counts.
    let ev = employed("E", d(2025, 9, 16), &["2025-09", "2025-10", "2025-11"]);
    assert!(out_emp_contract(&v2(), &class, &ev).passed);
}

// ---- OUT-CERT ----

#[test]
fn out_cert_a_certificate_in_the_same_minor_group_counts() {
    let neighbour = certificate("6-31-01-05", d(2025, 11, 15));
    let r = out_cert(&v2(), &c1(), &occ(), &neighbour);
    assert!(r.passed, "{r:?}");
    assert!(r.reason_zh.contains("小类6-31-01"), "{}", r.reason_zh);
    assert!(!out_cert(&v1(), &c1(), &occ(), &neighbour).passed);
    // Another minor group is not related.
    assert!(!out_cert(&v2(), &c1(), &occ(), &certificate("6-31-02-03", d(2025, 11, 15))).passed);
}

#[test]
fn out_cert_needs_a_level_above_the_one_held() {
    let mut ev = certificate("6-31-01-03", d(2025, 11, 15));
    ev.prior_level = Some(SkillLevel::Level4);
    assert!(!out_cert(&v2(), &c1(), &occ(), &ev).passed);
    ev.prior_level = Some(SkillLevel::Level5);
    assert!(out_cert(&v2(), &c1(), &occ(), &ev).passed);
}

// ---- OUT-EMP-CONTRACT ----

fn internship(signed_on: chrono::NaiveDate, ends_on: Option<chrono::NaiveDate>, insured: bool) -> OutcomeEvidence {
    OutcomeEvidence {
        contracts: vec![EmploymentContract {
            employer: "示例电力公司".to_owned(),
            kind: ContractKind::Internship,
            signed_on,
            accident_insurance: insured,
            ends_on,
        }],
        ..OutcomeEvidence::default()
    }
}

#[test]
fn out_emp_contract_an_internship_with_accident_insurance_is_employment_time() {
    // Three months of internship (October to December) with its contract and accident insurance.
    let ev = internship(d(2025, 10, 1), Some(d(2025, 12, 31)), true);
    let r = out_emp_contract(&v2(), &c1(), &ev);
    assert!(r.passed, "{r:?}");
    assert!(r.reason_zh.contains("实习或见习3个月"), "{}", r.reason_zh);
    // Two months are not enough; without accident insurance it does not count; v1 asked for
    // insurance and wages besides.
    assert!(!out_emp_contract(&v2(), &c1(), &internship(d(2025, 10, 1), Some(d(2025, 11, 30)), true)).passed);
    assert!(!out_emp_contract(&v2(), &c1(), &internship(d(2025, 10, 1), Some(d(2025, 12, 31)), false)).passed);
    assert!(!out_emp_contract(&v1(), &c1(), &ev).passed);
}

#[test]
fn out_emp_contract_internship_months_add_to_the_same_employers_insurance_and_wages() {
    let mut ev = employed("示例电力公司", d(2026, 1, 1), &["2026-01", "2026-02"]);
    ev.contracts.extend(internship(d(2025, 12, 1), Some(d(2025, 12, 31)), true).contracts);
    assert!(out_emp_contract(&v2(), &c1(), &ev).passed);
    // With another employer's internship the months do not add up.
    ev.contracts[1].employer = "另一单位".to_owned();
    assert!(!out_emp_contract(&v2(), &c1(), &ev).passed);
}

#[test]
fn out_emp_contract_three_months_of_insurance_and_wages_from_one_employer() {
    let ev = employed("E", d(2025, 10, 1), &["2025-10", "2025-11", "2025-12"]);
    assert!(out_emp_contract(&v2(), &c1(), &ev).passed);
    let mut short = ev.clone();
    short.wage_months.pop();
    assert!(!out_emp_contract(&v2(), &c1(), &short).passed);
}

// ---- OUT-EMP-BUSINESS ----

#[test]
fn out_emp_business_registered_during_training_counts_its_months_after_it() {
    let op = |m: &str| OperationMonth { month: ym(m), proof: OperationProof::TaxPaid };
    let mut ev = OutcomeEvidence {
        businesses: vec![BusinessRegistration {
            registered_on: d(2025, 9, 1),
            legal_representative_is_trainee: true,
            operation: vec![op("2025-10"), op("2025-11"), op("2025-12")],
        }],
        ..OutcomeEvidence::default()
    };
    assert!(out_emp_business(&v2(), &c1(), &ev).passed);
    // Registered the day before training: not during or after it.
    ev.businesses[0].registered_on = d(2025, 8, 31);
    assert!(!out_emp_business(&v2(), &c1(), &ev).passed);
    // Operation in the class's own month does not count under v2.
    ev.businesses[0].registered_on = d(2025, 9, 1);
    ev.businesses[0].operation = vec![op("2025-09"), op("2025-10"), op("2025-11")];
    assert!(!out_emp_business(&v2(), &c1(), &ev).passed);
    assert!(out_emp_business(&v1(), &c1(), &ev).passed);
}

// ---- OUT-EMP-SERVICE, OUT-EMP-REGISTRATION ----

fn pay(paid_on: chrono::NaiveDate, fen: i64, notes: &[&str]) -> Payment {
    Payment {
        paid_on,
        amount_fen: Money::from_fen(fen),
        channel: PaymentChannel::Bank,
        note_months: notes.iter().map(|m| ym(m)).collect(),
    }
}

fn service(route: ServiceRoute, payments: Vec<Payment>) -> OutcomeEvidence {
    OutcomeEvidence {
        services: vec![ServiceEngagement {
            route,
            counterparty: "雇主某".to_owned(),
            start: d(2025, 10, 1),
            end: d(2026, 3, 31),
            payments,
            work_region: None,
        }],
        ..OutcomeEvidence::default()
    }
}

/// October 2210, a lump for November (2210), December and January (2130 each) of `lump` fen,
/// then February and March 2130 each.
fn with_lump(lump: i64) -> Vec<Payment> {
    vec![
        pay(d(2025, 10, 31), 221_000, &[]),
        pay(d(2026, 1, 5), lump, &["2025-11", "2025-12", "2026-01"]),
        pay(d(2026, 2, 28), 213_000, &[]),
        pay(d(2026, 3, 25), 213_000, &[]),
    ]
}

#[test]
fn out_emp_service_a_lump_payment_covering_the_named_months_minimum_wages_counts() {
    // 2210 + 2130 + 2130 = 6470 yuan exactly: every named month counts under v2. v1 split it
    // equally (2156.67 each), below November's 2210.
    let ev = service(ServiceRoute::ServiceAgreement, with_lump(647_000));
    assert!(out_emp_service(&v2(), &c1(), &ev, &wages()).passed);
    assert!(!out_emp_service(&v1(), &c1(), &ev, &wages()).passed);
    // One fen short, and none of the three months counts.
    let ev = service(ServiceRoute::ServiceAgreement, with_lump(646_999));
    assert!(!out_emp_service(&v2(), &c1(), &ev, &wages()).passed);
}

#[test]
fn out_emp_service_a_match_made_online_or_offline_counts_under_v2() {
    let ev = service(ServiceRoute::PlatformMatch, with_lump(647_000));
    assert!(out_emp_service(&v2(), &c1(), &ev, &wages()).passed);
    assert!(!out_emp_service(&v1(), &c1(), &ev, &wages()).passed);
    let dec = evaluate_outcome(&v2(), &c1(), &occ(), TargetGroup::RuralMigrant, &ev, &wages());
    assert_eq!(dec.outcome.route, Some(Route::Service));
}

#[test]
fn out_emp_service_a_month_one_fen_below_the_minimum_wage_does_not_count() {
    let mut payments = with_lump(647_000);
    payments[0].amount_fen = Money::from_fen(220_999);
    assert!(!out_emp_service(&v2(), &c1(), &service(ServiceRoute::ServiceAgreement, payments), &wages()).passed);
}

#[test]
fn out_emp_registration_is_judged_as_route_three() {
    let ev = service(ServiceRoute::EmploymentRegistration, with_lump(647_000));
    assert!(out_emp_registration(&v2(), &c1(), &ev, &wages()).passed);
    assert!(!out_emp_service(&v2(), &c1(), &ev, &wages()).passed);
}

#[test]
fn out_emp_routes_are_all_listed_in_the_verdict() {
    let ev = employed("E", d(2025, 10, 1), &["2025-10", "2025-11", "2025-12"]);
    let dec = evaluate_outcome(&v2(), &c1(), &occ(), TargetGroup::RuralMigrant, &ev, &wages());
    let codes: Vec<&str> = dec.rules.iter().map(|r| r.code.as_str()).collect();
    assert_eq!(
        codes,
        ["OUT-WINDOW", "OUT-MONTHS", "OUT-EMP-CONTRACT", "OUT-EMP-BUSINESS", "OUT-EMP-SERVICE", "OUT-EMP-REGISTRATION"]
    );
    assert!(dec.outcome.positive);
    // A pre-hire trainee is judged by certificate under v2, by employment under v1.
    let dec = evaluate_outcome(&v2(), &c1(), &occ(), TargetGroup::ProjectEnterpriseRecruit, &ev, &wages());
    assert_eq!(dec.outcome.basis, Basis::Certificate);
    assert!(!dec.outcome.positive);
    let dec = evaluate_outcome(&v1(), &c1(), &occ(), TargetGroup::ProjectEnterpriseRecruit, &ev, &wages());
    assert_eq!(dec.outcome.basis, Basis::Employment);
}

#[test]
fn out_emp_service_is_judged_against_the_minimum_wage_where_the_work_is_done() {
    use qiancheng_domain::policy::{MinimumWage, MinimumWageTable, WageRegion};
    // c1 runs in 咸安区; the work is done in 武汉市武昌区, whose SAMPLE figure is 2500 yuan.
    let wuchang = WageRegion::parse("420106").expect("code");
    let mut entries: Vec<MinimumWage> = wages().into();
    entries.push(MinimumWage {
        region: WageRegion::parse("420100").expect("code"),
        effective_from: d(2021, 1, 1),
        monthly_fen: Money::from_fen(250_000),
    });
    let table = MinimumWageTable::new(entries).expect("valid");
    let paid_at_home_minimum = || {
        let mut ev = service(ServiceRoute::ServiceAgreement, with_lump(647_000));
        ev.services[0].work_region = Some(wuchang.clone());
        ev
    };
    // Enough at 咸宁's minimum wage, not at the minimum wage of where the work is done.
    assert!(out_emp_service(&v2(), &c1(), &service(ServiceRoute::ServiceAgreement, with_lump(647_000)), &table).passed);
    assert!(!out_emp_service(&v2(), &c1(), &paid_at_home_minimum(), &table).passed);
    // Paid 2500 yuan a month there, it counts.
    let mut ev = paid_at_home_minimum();
    ev.services[0].payments = ["2025-10-31", "2025-11-30", "2025-12-31", "2026-01-31", "2026-02-28", "2026-03-25"]
        .iter()
        .map(|day| pay(day.parse().expect("day"), 250_000, &[]))
        .collect();
    assert!(out_emp_service(&v2(), &c1(), &ev, &table).passed);
    // A region with no figure of its own or of its prefecture: no minimum wage, no month.
    ev.services[0].work_region = Some(WageRegion::parse("310101").expect("code"));
    let result = out_emp_service(&v2(), &c1(), &ev, &table);
    assert!(!result.passed && result.reason_en.contains("no minimum wage on record"));
}
