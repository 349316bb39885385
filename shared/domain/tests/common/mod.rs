//! Fixtures shared by the policy set v2 tests. Every name, ID number and figure is made up; the
//! subsidy standard and the minimum wages are SAMPLE figures, not official ones.

#![allow(dead_code)]

use chrono::NaiveDate;
use qiancheng_domain::policy::PolicySet;
use qiancheng_domain::policy::facts::{ClassFacts, LocalBasis, LocalBasisKind, TraineeFacts, YearMonth};
use qiancheng_domain::{OccupationCode, RegionCode, TargetGroup};

pub fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).expect("date")
}

pub fn ym(s: &str) -> YearMonth {
    YearMonth::parse(s).expect("month")
}

pub fn v1() -> PolicySet {
    PolicySet::xianning_2025_5_v1()
}

pub fn v2() -> PolicySet {
    PolicySet::xianning_2025_5_v2()
}

/// 电工 (SAMPLE project occupation).
pub fn occ() -> OccupationCode {
    OccupationCode::parse("6-31-01-03").expect("code")
}

/// A valid ID number with address code `area`, birth date `yyyymmdd` and sequence `seq` (three
/// digits; the last one odd for a man, even for a woman).
pub fn id_in(area: &str, yyyymmdd: &str, seq: &str) -> String {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let first17 = format!("{area}{yyyymmdd}{seq}");
    let sum: u32 = first17.bytes().zip(W).map(|(b, w)| u32::from(b - b'0') * w).sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{first17}{check}")
}

/// A valid 咸安区 ID number.
pub fn id(yyyymmdd: &str, seq: &str) -> String {
    id_in("421202", yyyymmdd, seq)
}

/// A valid ID number for the `n`th trainee, born on 1990-01-01 plus `n` days.
pub fn id_n(n: u32) -> String {
    let birth = d(1990, 1, 1) + chrono::Days::new(u64::from(n));
    id(&birth.format("%Y%m%d").to_string(), &format!("{:03}", n % 1000))
}

/// A class in 咸安区, filed a week before it starts.
pub fn class(id: &str, first: NaiveDate, last: NaiveDate) -> ClassFacts {
    ClassFacts {
        id: id.to_owned(),
        region: RegionCode::Xianan,
        first_day: first,
        last_day: last,
        hours: 100,
        filed_on: Some(first - chrono::Days::new(7)),
        prehire: false,
    }
}

/// Class C1, 2025-09-01 to 2025-09-30.
pub fn c1() -> ClassFacts {
    class("C1", d(2025, 9, 1), d(2025, 9, 30))
}

/// A 我市 worker (户籍) of `group` on the roster before the class starts.
pub fn person(n: u32, group: TargetGroup) -> TraineeFacts {
    TraineeFacts {
        name: format!("学员{n}"),
        id_number: id_n(n),
        group,
        budget_paid: false,
        roster_added_on: Some(d(2025, 8, 25)),
        other_classes: vec![],
        prior_subsidies: vec![],
        contract_signed_on: None,
        local_basis: Some(LocalBasis {
            kind: LocalBasisKind::HouseholdRegistration,
            evidence: "户口簿(SAMPLE)".to_owned(),
        }),
        supported_groups: vec![],
        employed_on_first_day: false,
    }
}

/// Minimum wages: 2210 yuan city-wide before 2025-12-01, 2130 in 咸安区 from then. The figures
/// are Hubei tiers; which tier 咸安区 is in is a SAMPLE.
pub fn wages() -> qiancheng_domain::policy::MinimumWageTable {
    use qiancheng_domain::Money;
    use qiancheng_domain::policy::MinimumWage;
    qiancheng_domain::policy::MinimumWageTable::new(vec![
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

/// A labour contract with `employer` signed on `signed_on`, with insurance and wages in `months`.
pub fn employed(
    employer: &str,
    signed_on: NaiveDate,
    months: &[&str],
) -> qiancheng_domain::policy::facts::OutcomeEvidence {
    use qiancheng_domain::policy::facts::{ContractKind, EmployerMonth, EmploymentContract, OutcomeEvidence};
    let em = |m: &&str| EmployerMonth { employer: employer.to_owned(), month: ym(m) };
    OutcomeEvidence {
        contracts: vec![EmploymentContract {
            employer: employer.to_owned(),
            kind: ContractKind::Labour,
            signed_on,
            accident_insurance: false,
            ends_on: None,
        }],
        insurance_months: months.iter().map(em).collect(),
        wage_months: months.iter().map(em).collect(),
        ..OutcomeEvidence::default()
    }
}

/// One SAMPLE standard for 电工 四级 of `fen`, in force from 2025-01-01.
pub fn standards(fen: i64) -> qiancheng_domain::policy::SubsidyStandardTable {
    use qiancheng_domain::policy::{StandardSource, SubsidyStandard, SubsidyStandardTable};
    use qiancheng_domain::{Money, SkillLevel};
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

/// A trainee of class C1 of `group` who completed it, employed by route ① when `employed`.
pub fn roster_entry(n: u32, group: TargetGroup, employed: bool) -> qiancheng_domain::policy::subsidy::ClaimTrainee {
    use qiancheng_domain::policy::facts::OutcomeEvidence;
    qiancheng_domain::policy::subsidy::ClaimTrainee {
        class_id: "C1".to_owned(),
        person: person(n, group),
        attended_hours: 100,
        assessment_passed: true,
        skill_evaluation_passed: false,
        evidence: if employed {
            self::employed("示例机电公司", d(2025, 10, 1), &["2025-10", "2025-11", "2025-12"])
        } else {
            OutcomeEvidence::default()
        },
        uplifts: vec![],
        verdict: None,
    }
}

/// A claim for 电工 四级 over class C1, filed 2026-03-01 with every proof, whose roster has
/// `employed` of `total` rural migrants employed.
pub fn claim(total: u32, employed: u32) -> qiancheng_domain::policy::ClaimFacts {
    use qiancheng_domain::policy::subsidy::{ClaimMaterial, ProjectFacts};
    qiancheng_domain::policy::ClaimFacts {
        project: ProjectFacts {
            id: "P1".to_owned(),
            name: "示例项目(SAMPLE)".to_owned(),
            occupation: occ(),
            level: qiancheng_domain::SkillLevel::Level4,
            provider_disqualified_on: None,
            key_project: None,
        },
        classes: vec![c1()],
        trainees: (0..total).map(|n| roster_entry(n, TargetGroup::RuralMigrant, n < employed)).collect(),
        filed_on: d(2026, 3, 1),
        materials: vec![
            ClaimMaterial::Annex4,
            ClaimMaterial::Ledger,
            ClaimMaterial::CertificateEvidence,
            ClaimMaterial::EmploymentEvidence,
        ],
    }
}

/// The claim decided under v2 with a standard of `standard_fen`.
pub fn decide(
    facts: &qiancheng_domain::policy::ClaimFacts,
    standard_fen: i64,
) -> qiancheng_domain::policy::ClaimDecision {
    qiancheng_domain::policy::evaluate_claim(&v2(), facts, &standards(standard_fen), &wages())
        .expect("consistent facts")
}

/// A certificate in the project's occupation issued inside C1's window.
pub fn certified() -> qiancheng_domain::policy::facts::OutcomeEvidence {
    use qiancheng_domain::policy::facts::{Certificate, CertificateKind, OutcomeEvidence};
    OutcomeEvidence {
        certificates: vec![Certificate {
            kind: CertificateKind::SkillLevel,
            number: "S-SAMPLE-1".to_owned(),
            occupation: occ(),
            level: qiancheng_domain::SkillLevel::Level4,
            issued_on: d(2025, 11, 1),
        }],
        ..OutcomeEvidence::default()
    }
}
