//! Policy sets (政策参数集): every parameter of `POLICY.md` as one versioned value.
//!
//! The first set is `xianning-2025-5/v1`, in force from 2025-06-06 to 2027-12-31. The city
//! changes a parameter by publishing a new version (from TOML or JSON); every decision records
//! the version it was made under.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::policy::fraction::Fraction;
use crate::{Error, Money, Sex, TargetGroup};

/// The fund (资金渠道) a subsidy is paid from, SUBS-FUND.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Fund {
    /// 技能提升专账结余资金 (skill-upgrade special account balance).
    SkillUpgradeAccount,
    /// 就业补助资金 (employment subsidy fund).
    EmploymentSubsidyFund,
}

impl Fund {
    /// The Chinese name.
    pub fn name_zh(self) -> &'static str {
        match self {
            Fund::SkillUpgradeAccount => "技能提升专账结余资金",
            Fund::EmploymentSubsidyFund => "就业补助资金",
        }
    }

    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            Fund::SkillUpgradeAccount => "SKILL_UPGRADE_ACCOUNT",
            Fund::EmploymentSubsidyFund => "EMPLOYMENT_SUBSIDY_FUND",
        }
    }
}

/// One row of the statutory retirement-age table (法定退休年龄), ELIG-AGE. Rows are tried in
/// order; the first whose sex matches and whose birth range contains the birth date applies.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RetirementAge {
    /// The sex the row applies to.
    pub sex: Sex,
    /// First birth date the row covers, open if absent.
    #[serde(default)]
    pub born_from: Option<NaiveDate>,
    /// Last birth date the row covers, open if absent.
    #[serde(default)]
    pub born_to: Option<NaiveDate>,
    /// Retirement age in whole years.
    pub years: u32,
    /// Extra months on top of `years` (the 2025 reform raises ages by months per cohort).
    #[serde(default)]
    pub months: u32,
}

/// The three subsidy tiers by project rate, SUBS-TIER.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TierTable {
    /// A rate at or above this gets `upper_percent` (70%).
    pub upper_threshold: Fraction,
    /// A rate at or above this (and below the upper threshold) gets `middle_percent` (30%).
    pub lower_threshold: Fraction,
    /// Percent of the standard in the upper tier (200).
    pub upper_percent: u32,
    /// Percent of the standard in the middle tier (100).
    pub middle_percent: u32,
    /// Percent of the standard in the lower tier (50).
    pub lower_percent: u32,
}

/// Which fund pays for which target group, SUBS-FUND.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FundMapping {
    /// The fund for groups not listed.
    pub default: Fund,
    /// Groups paid from another fund than the default.
    #[serde(default)]
    pub by_group: BTreeMap<TargetGroup, Fund>,
}

/// Every parameter of the plan's rules, versioned (`xianning-2025-5/v1`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PolicySet {
    /// The version recorded on every decision.
    pub version: String,
    /// First day the set is in force.
    pub valid_from: NaiveDate,
    /// Last day the set is in force.
    pub valid_to: NaiveDate,
    /// ELIG-AGE: minimum age on the class's first day (16).
    pub min_age: u32,
    /// ELIG-AGE: retirement age by sex and birth cohort (male 60, female 55).
    pub retirement_ages: Vec<RetirementAge>,
    /// ELIG-ONCE: subsidised at most once per occupation and level (true).
    pub once_per_occupation_level: bool,
    /// ELIG-REALNAME: days after the first day a trainee may still be added (0).
    pub roster_change_days_after_start: u32,
    /// CLASS-FILING: days before the first day a class must be filed (1).
    pub filing_lead_days: u32,
    /// CLASS-ATTENDANCE: minimum share of hours attended (80%).
    pub min_attendance: Fraction,
    /// PROJ-SELECTION: minimum experts per application after recusal (3).
    pub min_experts: u32,
    /// PROJ-SELECTION: with at least this many scores the highest and lowest are dropped (5).
    pub trim_scores_from: u32,
    /// OUT-WINDOW: months after the last class day the outcome window runs (6).
    pub outcome_window_months: u32,
    /// OUT-EMP-CONTRACT: months of social insurance and wages (3).
    pub contract_months: u32,
    /// OUT-EMP-BUSINESS: months of real operation (3).
    pub business_months: u32,
    /// OUT-EMP-SERVICE: months of service and of payment (6).
    pub service_months: u32,
    /// PROV-CLEAN: years before the application with no violation (3).
    pub clean_record_years: u32,
    /// SUBS-DEADLINE: months after the last class ends to file the claim (6).
    pub claim_months: u32,
    /// SUBS-NOTICE: working days of public notice (5).
    pub notice_working_days: u32,
    /// SUBS-TIER: thresholds and percentages.
    pub tiers: TierTable,
    /// SUBS-CAP: the most any trainee's line can be (5000 yuan).
    pub cap_fen: Money,
    /// SUBS-FUND: which fund pays for which group.
    pub funds: FundMapping,
}

impl PolicySet {
    /// The version string of the built-in first set.
    pub const XIANNING_2025_5_V1: &'static str = "xianning-2025-5/v1";

    /// The first policy set, `xianning-2025-5/v1`, with the defaults of `POLICY.md`.
    pub fn xianning_2025_5_v1() -> Self {
        let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("a fixed valid date");
        Self {
            version: Self::XIANNING_2025_5_V1.to_owned(),
            valid_from: date(2025, 6, 6),
            valid_to: date(2027, 12, 31),
            min_age: 16,
            retirement_ages: vec![
                RetirementAge { sex: Sex::Male, born_from: None, born_to: None, years: 60, months: 0 },
                RetirementAge { sex: Sex::Female, born_from: None, born_to: None, years: 55, months: 0 },
            ],
            once_per_occupation_level: true,
            roster_change_days_after_start: 0,
            filing_lead_days: 1,
            min_attendance: Fraction::percent(80),
            min_experts: 3,
            trim_scores_from: 5,
            outcome_window_months: 6,
            contract_months: 3,
            business_months: 3,
            service_months: 6,
            clean_record_years: 3,
            claim_months: 6,
            notice_working_days: 5,
            tiers: TierTable {
                upper_threshold: Fraction::percent(70),
                lower_threshold: Fraction::percent(30),
                upper_percent: 200,
                middle_percent: 100,
                lower_percent: 50,
            },
            cap_fen: Money::from_fen(500_000),
            funds: FundMapping {
                default: Fund::EmploymentSubsidyFund,
                by_group: BTreeMap::from([(TargetGroup::InServiceWorker, Fund::SkillUpgradeAccount)]),
            },
        }
    }

    /// Read a policy set from TOML and check it.
    pub fn from_toml_str(s: &str) -> Result<Self, Error> {
        let set: Self = toml::from_str(s).map_err(Error::PolicySetToml)?;
        set.validate()?;
        Ok(set)
    }

    /// Read a policy set from JSON and check it.
    pub fn from_json_str(s: &str) -> Result<Self, Error> {
        let set: Self = serde_json::from_str(s).map_err(Error::Json)?;
        set.validate()?;
        Ok(set)
    }

    /// Check the set is consistent: dates in order, fractions with non-zero denominators,
    /// thresholds ordered, a retirement age for each sex, a positive cap, and expert-review
    /// parameters a mean can be taken under.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |m: &str| Err(Error::PolicySet(m.to_owned()));
        if self.version.trim().is_empty() {
            return bad("version is empty");
        }
        if self.valid_to < self.valid_from {
            return bad("valid_to is before valid_from");
        }
        if !self.min_attendance.is_valid()
            || !self.tiers.upper_threshold.is_valid()
            || !self.tiers.lower_threshold.is_valid()
        {
            return bad("a fraction has a zero denominator");
        }
        if self.tiers.lower_threshold > self.tiers.upper_threshold {
            return bad("the lower tier threshold is above the upper one");
        }
        for sex in [Sex::Male, Sex::Female] {
            if !self.retirement_ages.iter().any(|r| r.sex == sex) {
                return bad("retirement_ages has no row for one sex");
            }
        }
        if self.cap_fen <= Money::ZERO {
            return bad("cap_fen must be positive");
        }
        // PROJ-SELECTION: a mean needs a score, and dropping the highest and the lowest needs a
        // third to be left.
        if self.min_experts == 0 {
            return bad("min_experts must be at least 1");
        }
        if self.trim_scores_from < 3 {
            return bad("trim_scores_from must be at least 3");
        }
        Ok(())
    }

    /// Whether `date` is inside the set's validity.
    pub fn in_force_on(&self, date: NaiveDate) -> bool {
        self.valid_from <= date && date <= self.valid_to
    }

    /// The retirement age in months for someone of `sex` born on `birth` (ELIG-AGE); `None`
    /// when no row matches.
    pub fn retirement_age_months(&self, sex: Sex, birth: NaiveDate) -> Option<u32> {
        self.retirement_ages
            .iter()
            .find(|r| r.sex == sex && r.born_from.is_none_or(|f| f <= birth) && r.born_to.is_none_or(|t| birth <= t))
            .map(|r| r.years * 12 + r.months)
    }

    /// The fund that pays for `group` (SUBS-FUND).
    pub fn fund_for(&self, group: TargetGroup) -> Fund {
        self.funds.by_group.get(&group).copied().unwrap_or(self.funds.default)
    }

    /// The tier percentage for a project rate (SUBS-TIER): thresholds belong to the higher tier.
    pub fn tier_percent(&self, rate: Fraction) -> u32 {
        if rate.at_least(self.tiers.upper_threshold) {
            self.tiers.upper_percent
        } else if rate.at_least(self.tiers.lower_threshold) {
            self.tiers.middle_percent
        } else {
            self.tiers.lower_percent
        }
    }
}

impl Default for PolicySet {
    fn default() -> Self {
        Self::xianning_2025_5_v1()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proj_selection_parameters_that_cannot_give_a_mean_are_refused() {
        let mut set = PolicySet::xianning_2025_5_v1();
        set.min_experts = 0;
        assert!(set.validate().is_err());
        let mut set = PolicySet::xianning_2025_5_v1();
        set.trim_scores_from = 2;
        assert!(set.validate().is_err());
        set.trim_scores_from = 3;
        assert!(set.validate().is_ok());
    }

    #[test]
    fn policy_set_v1_defaults() {
        let set = PolicySet::xianning_2025_5_v1();
        set.validate().expect("valid");
        assert_eq!(set.version, "xianning-2025-5/v1");
        assert_eq!(set.cap_fen, Money::from_fen(500_000));
        assert_eq!(set.fund_for(TargetGroup::InServiceWorker), Fund::SkillUpgradeAccount);
        assert_eq!(set.fund_for(TargetGroup::RuralMigrant), Fund::EmploymentSubsidyFund);
        let birth = NaiveDate::from_ymd_opt(1970, 1, 1).expect("date");
        assert_eq!(set.retirement_age_months(Sex::Male, birth), Some(720));
        assert_eq!(set.retirement_age_months(Sex::Female, birth), Some(660));
    }

    #[test]
    fn policy_set_round_trips_toml_and_json() {
        let set = PolicySet::xianning_2025_5_v1();
        let toml_text = toml::to_string(&set).expect("toml");
        assert_eq!(PolicySet::from_toml_str(&toml_text).expect("reads"), set);
        let json = serde_json::to_string(&set).expect("json");
        assert_eq!(PolicySet::from_json_str(&json).expect("reads"), set);
    }

    #[test]
    fn policy_set_bundled_toml_equals_built_in() {
        let text = include_str!("../../data/xianning-2025-5-v1.toml");
        assert_eq!(PolicySet::from_toml_str(text).expect("reads"), PolicySet::xianning_2025_5_v1());
    }

    #[test]
    fn policy_set_refuses_inconsistent_values() {
        let mut set = PolicySet::xianning_2025_5_v1();
        set.tiers.lower_threshold = Fraction::percent(80);
        let json = serde_json::to_string(&set).expect("json");
        assert!(matches!(PolicySet::from_json_str(&json), Err(Error::PolicySet(_))));
    }

    #[test]
    fn subs_fund_mapping_is_a_parameter() {
        let mut set = PolicySet::xianning_2025_5_v1();
        set.funds.by_group.insert(TargetGroup::PovertyAlleviated, Fund::SkillUpgradeAccount);
        assert_eq!(set.fund_for(TargetGroup::PovertyAlleviated), Fund::SkillUpgradeAccount);
    }
}
