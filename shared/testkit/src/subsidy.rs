//! Claims of any size as the policy core reads them, for the benches and tests that need many
//! trainees or many claims without living each class through the services: a welding project of
//! 嘉鱼县 (6-18-02-04, 四级), classes of 100 household-registered rural migrant workers who all
//! attended and passed, 70% of them employed by route ① (a labour contract and three months of
//! insurance and wages with one employer), so every line is 200% of a 3,000-yuan standard capped
//! at 5,000 yuan, as in the walkthrough. Every name and ID number is made up.
//!
//! It depends on the policy core alone, so that the policy core's own bench
//! (`shared/domain/benches/claim.rs`) includes this file and builds in release in a minute.

use chrono::{Days, NaiveDate};
use qiancheng_domain::policy::facts::{
    ClassFacts, ContractKind, EmployerMonth, EmploymentContract, LocalBasis, LocalBasisKind, OutcomeEvidence,
    TraineeFacts, YearMonth,
};
use qiancheng_domain::policy::subsidy::{ClaimFacts, ClaimMaterial, ClaimTrainee, ProjectFacts};
use qiancheng_domain::policy::tables::{StandardSource, SubsidyStandard, SubsidyStandardTable};
use qiancheng_domain::{IdNumber, Money, OccupationCode, RegionCode, SkillLevel, TargetGroup};

/// The county the classes train in (嘉鱼县).
pub const COUNTY: &str = "421221";
/// Trainees on a class.
pub const CLASS_SIZE: usize = 100;
/// The standard of the welder, level 4, in fen (3,000 yuan).
pub const STANDARD_FEN: i64 = 300_000;
/// What each line comes to, in fen: 200% of the standard capped at 5,000 yuan.
pub const LINE_FEN: i64 = 500_000;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a date")
}

/// The welder's occupation.
pub fn welder() -> OccupationCode {
    OccupationCode::parse("6-18-02-04").expect("a valid occupation code")
}

/// The standard of the welder, level 4: 3,000 yuan from 2025.
pub fn standard() -> SubsidyStandard {
    SubsidyStandard {
        occupation: welder(),
        level: SkillLevel::Level4,
        standard_fen: Money::from_fen(STANDARD_FEN),
        effective_from: day(2025, 1, 1),
        effective_to: None,
        source: StandardSource::Provincial,
    }
}

/// The standards table of [`standard`].
pub fn standards() -> SubsidyStandardTable {
    SubsidyStandardTable::new(vec![standard()]).expect("a valid standards table")
}

/// The ID number whose first 17 characters are `first17`, its check character found by the
/// domain's own validator.
fn id_number(first17: &str) -> String {
    "0123456789X"
        .chars()
        .map(|c| format!("{first17}{c}"))
        .find(|id| IdNumber::parse(id).is_ok())
        .expect("some check character completes the number")
}

/// Employed after a class that ended on `last_day`: a labour contract ten days later and the
/// three months after it of insurance and wages with the same employer (OUT-EMP-CONTRACT).
fn employed(last_day: NaiveDate) -> OutcomeEvidence {
    let months = (1..4).map(|m| EmployerMonth {
        employer: "嘉鱼重工".into(),
        month: YearMonth::of(qiancheng_domain::add_months(last_day, m)),
    });
    OutcomeEvidence {
        contracts: vec![EmploymentContract {
            employer: "嘉鱼重工".into(),
            kind: ContractKind::Labour,
            signed_on: last_day + Days::new(10),
            accident_insurance: false,
            ends_on: None,
        }],
        insurance_months: months.clone().collect(),
        wage_months: months.collect(),
        ..Default::default()
    }
}

/// Trainee `k` of a class that ended on `last_day`: each `k` below three million a different
/// person, born on a day of the 1980s.
fn trainee(k: usize, class_id: &str, last_day: NaiveDate) -> ClaimTrainee {
    let birth = day(1980, 1, 1) + Days::new(u64::try_from(k / 900).expect("a small number"));
    ClaimTrainee {
        class_id: class_id.to_owned(),
        person: TraineeFacts {
            name: format!("学员{k}"),
            id_number: id_number(&format!("{COUNTY}{}{:03}", birth.format("%Y%m%d"), 100 + k % 900)),
            group: TargetGroup::RuralMigrant,
            budget_paid: false,
            roster_added_on: Some(last_day - Days::new(70)),
            other_classes: Vec::new(),
            prior_subsidies: Vec::new(),
            contract_signed_on: None,
            local_basis: Some(LocalBasis { kind: LocalBasisKind::HouseholdRegistration, evidence: "户口簿".into() }),
            supported_groups: Vec::new(),
            employed_on_first_day: false,
        },
        attended_hours: 100,
        assessment_passed: true,
        skill_evaluation_passed: false,
        // 7 of every 10 employed: 70%, the 200% tier.
        evidence: if k % 10 < 7 { employed(last_day) } else { OutcomeEvidence::default() },
        uplifts: Vec::new(),
        verdict: None,
    }
}

/// A claim for project `project_id` of `trainees` trainees in classes of [`CLASS_SIZE`] of 100
/// hours that ran for 60 days to `last_day`, filed on `filed_on` with every proof.
pub fn claim_facts(project_id: &str, trainees: usize, last_day: NaiveDate, filed_on: NaiveDate) -> ClaimFacts {
    let region = RegionCode::parse(COUNTY).expect("a county");
    let classes: Vec<ClassFacts> = (0..trainees.div_ceil(CLASS_SIZE))
        .map(|c| ClassFacts {
            id: format!("C{c:05}"),
            region,
            first_day: last_day - Days::new(60),
            last_day,
            hours: 100,
            filed_on: Some(last_day - Days::new(68)),
            prehire: false,
        })
        .collect();
    ClaimFacts {
        project: ProjectFacts {
            id: project_id.to_owned(),
            name: format!("projects/{project_id}"),
            occupation: welder(),
            level: SkillLevel::Level4,
            provider_disqualified_on: None,
            key_project: None,
        },
        trainees: (0..trainees).map(|k| trainee(k, &classes[k / CLASS_SIZE].id, last_day)).collect(),
        classes,
        filed_on,
        materials: vec![ClaimMaterial::Annex4, ClaimMaterial::Ledger, ClaimMaterial::EmploymentEvidence],
    }
}

/// The walkthrough's dates: classes to 2027-04-30, the claim filed on 2027-10-29.
pub fn walkthrough_claim_facts(project_id: &str, trainees: usize) -> ClaimFacts {
    claim_facts(project_id, trainees, day(2027, 4, 30), day(2027, 10, 29))
}

// Paths in full: the policy core's bench includes this file, where `#[test]` items are left out.
#[cfg(test)]
mod tests {
    #[test]
    fn every_line_of_a_generated_claim_is_200_percent_capped_at_5000_yuan() {
        let facts = super::walkthrough_claim_facts("P1", 250);
        assert_eq!(facts.classes.len(), 3);
        let decided = qiancheng_domain::policy::evaluate_claim(
            &qiancheng_domain::policy::PolicySet::current(),
            &facts,
            &super::standards(),
            &qiancheng_domain::policy::MinimumWageTable::default(),
        )
        .expect("consistent facts");
        assert_eq!(decided.outcome.lines.len(), 250);
        let line = super::LINE_FEN;
        assert!(decided.outcome.lines.iter().all(|l| l.amount_fen.fen() == line), "{:?}", decided.outcome.rates);
        assert_eq!(decided.outcome.total_fen.fen(), 250 * line);
    }
}
