//! Policy sets (政策参数集): every parameter of `POLICY.md` as one versioned value, identified by
//! its version and the digest of its content.
//!
//! Two sets are built in, both in force from 2025-06-06 to 2027-12-31 (一 "从2025年至2027年底"):
//! `xianning-2025-5/v1`, the first, and `xianning-2025-5/v2`, which makes the corrections listed
//! in POLICY.md "Changes in v2". New decisions use v2 ([`PolicySet::current`]); a decision made
//! under v1 replays under v1 ([`PolicySet::builtin`]). The city publishes a further version as
//! TOML or JSON; every decision records the version it was made under.
//!
//! # Identity
//!
//! A set is identified by its version *and* the SHA-256 digest of its canonical form
//! ([`PolicySet::digest`]: JSON with sorted keys, no spaces, fractions in lowest terms). A set
//! read from text that carries a built-in version string but other parameters is refused
//! ([`Error::PolicySetTampered`]), so a decision can never claim v1 while using other figures.
//!
//! # How v1 and v2 differ, explicitly
//!
//! Where POLICY.md marks an *interpretation*, the set has a parameter for it. Where v2 corrects
//! v1's reading of the plan itself, the set's `rules_edition` (1 or 2) says which text of the
//! rules applies:
//!
//! | parameter | rule | v1 | v2 |
//! |---|---|---|---|
//! | `rules_edition` | see below | 1 | 2 |
//! | `retirement_reform` | ELIG-AGE | none (60 / 55) | men 60 → 63 from 1965-01, women 55 → 58 from 1970-01, one month per four months of birth |
//! | `local_bases` | ELIG-LOCAL | none (rule not in force) | 户籍, residence permit, local employer, key-project employer |
//! | `group_precedence` | ELIG-GROUP | none (the recorded group) | pre-hire, in-service, then the plan's order |
//! | `quota_mode` | PROJ-SELECTION | `STRICT` | `FIT` |
//! | `cert_tiers` | PROJ-BASIS | none (one rate on `tiers`) | 70% / 30% |
//! | `cert_related` | OUT-CERT | `SAME_OCCUPATION` | `SAME_MINOR_GROUP` |
//! | `lump_payment` | OUT-EMP-SERVICE | `SPLIT_EQUALLY` | `COVERS_MINIMUM_WAGES` |
//! | `months_counted_from` | OUT-MONTHS | `CLASS_FIRST_DAY` | `DAY_AFTER_LAST_DAY` |
//! | `rate_denominator` | OUT-RATE | `COMPLETED` | `COMPLETED` |
//! | `uplift_tiers` | SUBS-UPLIFT | none (every tier) | `["UPPER"]` (the 200% tier) |
//! | `cap_tiers` | SUBS-CAP | none (every tier, unlabelled) | every tier, labelled |
//! | `funds.by_group` | SUBS-FUND | in-service → skill-upgrade account | in-service and pre-hire → skill-upgrade account |
//!
//! `rules_edition = 2` applies, beside the parameters: ELIG-AGE counted to the day
//! (DATE-MONTHS); ELIG-LOCAL, PROJ-INSERVICE, CLASS-HOURS and SUBS-MATERIALS in force;
//! ELIG-PREHIRE by the in-service rules with its key-project and production-date conditions;
//! ELIG-OVERLAP stopping only the later-filed class, and one person on two classes of a claim
//! being one trainee; PROV-KIND as an open list with a recorded justification, 年检合格 and
//! recognised public bases; PROJ-BRAND advised, not enforced; PROJ-BASIS and OUT-RATE with two
//! rates by kind, counted from the roster without people who are not 培训对象; CLASS-FILING only
//! inside the plan's period (`valid_from` … `valid_to`); CLASS-COMPLETION by assessment or skill
//! evaluation; OUT-EMP-CONTRACT counting an internship with its contract and accident insurance;
//! OUT-EMP-SERVICE counting a platform match; claim lines listing every rule they were judged by,
//! the outcome rules included; SUBS-NOTICE counted from the next working day; SUBS-RECOVER for
//! subcontracting.
//!
//! Every parameter added with v2 has the v1 behaviour as its default when absent and is left out
//! of the serialised set when it has that default: v1 files still read as v1, and v1's canonical
//! form, TOML and digest are what they were.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::NaiveDate;
use sha2::{Digest as _, Sha256};

use crate::policy::facts::Basis;
use crate::policy::facts::{LocalBasisKind, YearMonth};
use crate::policy::fraction::Fraction;
use crate::{Error, Money, Sex, TargetGroup, add_months};

/// The fund (资金渠道) a subsidy is paid from, SUBS-FUND.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Fund {
    /// 技能提升专账结余资金 (skill-upgrade special account balance).
    SkillUpgradeAccount,
    /// 就业补助资金 (employment subsidy fund).
    EmploymentSubsidyFund,
    /// 失业保险基金 (unemployment insurance fund): 八(二) lets the city draw on it; a value the city
    /// may choose for a group, never a default.
    UnemploymentInsuranceFund,
}

impl Fund {
    /// The Chinese name.
    pub fn name_zh(self) -> &'static str {
        match self {
            Fund::SkillUpgradeAccount => "技能提升专账结余资金",
            Fund::EmploymentSubsidyFund => "就业补助资金",
            Fund::UnemploymentInsuranceFund => "失业保险基金",
        }
    }

    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            Fund::SkillUpgradeAccount => "SKILL_UPGRADE_ACCOUNT",
            Fund::EmploymentSubsidyFund => "EMPLOYMENT_SUBSIDY_FUND",
            Fund::UnemploymentInsuranceFund => "UNEMPLOYMENT_INSURANCE_FUND",
        }
    }
}

/// Which text of the rules a set applies (规则文本版本): edition 2 makes the corrections of
/// POLICY.md "Changes in v2" that are readings of the plan rather than figures (see the module
/// documentation for the list). Written as the integer 1 or 2.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub enum RulesEdition {
    /// The rules as policy set v1 read them.
    #[default]
    V1,
    /// The rules as POLICY.md describes them for policy set v2.
    V2,
}

impl TryFrom<u32> for RulesEdition {
    type Error = String;
    fn try_from(value: u32) -> Result<Self, String> {
        match value {
            1 => Ok(RulesEdition::V1),
            2 => Ok(RulesEdition::V2),
            other => Err(format!("rules_edition {other} is not known (1 or 2)")),
        }
    }
}

impl From<RulesEdition> for u32 {
    fn from(edition: RulesEdition) -> u32 {
        match edition {
            RulesEdition::V1 => 1,
            RulesEdition::V2 => 2,
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

/// A gradual rise of the retirement age by birth month (渐进式延迟法定退休年龄, 全国人大常委会
/// 2024-09-13), ELIG-AGE: someone of `sex` born in `from_birth_month` or later retires one month
/// later for every `birth_months_per_step` months of birth counted from it (the first step
/// included), at most `max_extra_months` later, on top of their row of `retirement_ages`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RetirementStep {
    /// The sex the step applies to.
    pub sex: Sex,
    /// The first birth month it raises (`1965-01` for men).
    pub from_birth_month: YearMonth,
    /// Months of birth per month of delay (4).
    pub birth_months_per_step: u32,
    /// The most months of delay (36: 60 → 63, 55 → 58).
    pub max_extra_months: u32,
}

impl RetirementStep {
    /// The months of delay for someone born on `birth` (zero before the first birth month).
    pub fn extra_months(&self, birth: NaiveDate) -> u32 {
        let born = YearMonth::of(birth);
        let since =
            (born.year - self.from_birth_month.year) * 12 + born.month as i32 - self.from_birth_month.month as i32;
        let Ok(since) = u32::try_from(since) else { return 0 };
        (since / self.birth_months_per_step.max(1) + 1).min(self.max_extra_months)
    }
}

/// A tier of SUBS-TIER: the upper (200%), middle (100%) or lower (50%) tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Tier {
    /// r ≥ upper threshold (70%).
    Upper,
    /// lower threshold ≤ r < upper threshold (30% … 70%).
    Middle,
    /// r < lower threshold (30%).
    Lower,
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

impl TierTable {
    /// The tier of a rate: thresholds belong to the higher tier (SUBS-TIER).
    pub fn tier_of(&self, rate: Fraction) -> Tier {
        if rate.at_least(self.upper_threshold) {
            Tier::Upper
        } else if rate.at_least(self.lower_threshold) {
            Tier::Middle
        } else {
            Tier::Lower
        }
    }

    /// The percentage of the standard a tier pays.
    pub fn percent_of(&self, tier: Tier) -> u32 {
        match tier {
            Tier::Upper => self.upper_percent,
            Tier::Middle => self.middle_percent,
            Tier::Lower => self.lower_percent,
        }
    }

    fn check(&self, what: &str) -> Result<(), Error> {
        if !self.upper_threshold.is_valid() || !self.lower_threshold.is_valid() {
            return Err(Error::PolicySet(format!("a fraction of {what} has a zero denominator")));
        }
        if self.lower_threshold > self.upper_threshold {
            return Err(Error::PolicySet(format!("the lower threshold of {what} is above the upper one")));
        }
        Ok(())
    }
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

/// How ranked applications share a quota, PROJ-SELECTION and PROJ-QUOTA.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum QuotaMode {
    /// v1: approve in rank order; once one does not fit, no lower-ranked one is approved.
    #[default]
    Strict,
    /// v2: approve every application that still fits the remaining quota, skipping one that
    /// does not.
    Fit,
}

impl QuotaMode {
    /// The stable code (`STRICT`, `FIT`), as a decided round stores it.
    pub fn code(self) -> &'static str {
        match self {
            QuotaMode::Strict => "STRICT",
            QuotaMode::Fit => "FIT",
        }
    }
}

/// Which certificates are in a related occupation (相关), OUT-CERT.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CertRelated {
    /// v1: the project's occupation only.
    #[default]
    SameOccupation,
    /// v2: the same occupation or the same minor group (小类, `X-XX-XX`).
    SameMinorGroup,
}

/// How a lump service payment whose note names months is judged, OUT-EMP-SERVICE.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LumpPayment {
    /// v1: split equally over the named months, each share against its month's minimum wage.
    #[default]
    SplitEqually,
    /// v2: counts for every named month if it covers the sum of those months' minimum wages.
    CoversMinimumWages,
}

/// From when months of insurance, wages, operation or payment count, OUT-MONTHS.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MonthsCountedFrom {
    /// v1: from the class's first day.
    #[default]
    ClassFirstDay,
    /// v2: from the day after the class's last day ("培训后6个月内").
    DayAfterLastDay,
}

/// The denominator of a project rate, OUT-RATE.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RateDenominator {
    /// The completed trainees of the kind (the plan names no denominator).
    #[default]
    Completed,
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// Every parameter of the plan's rules, versioned (`xianning-2025-5/v1`, `xianning-2025-5/v2`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PolicySet {
    /// The version recorded on every decision.
    pub version: String,
    /// First day the set is in force (and, under edition 2, of the plan's period, CLASS-FILING).
    pub valid_from: NaiveDate,
    /// Last day the set is in force (and, under edition 2, of the plan's period, CLASS-FILING).
    pub valid_to: NaiveDate,
    /// Which text of the rules applies (1 = v1, 2 = v2); 1 when absent.
    #[serde(default, skip_serializing_if = "is_default")]
    pub rules_edition: RulesEdition,
    /// ELIG-AGE: minimum age on the class's first day (16).
    pub min_age: u32,
    /// ELIG-AGE: retirement age by sex and birth cohort (male 60, female 55).
    pub retirement_ages: Vec<RetirementAge>,
    /// ELIG-AGE: the 2025 reform's gradual rise by birth month, on top of `retirement_ages`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retirement_reform: Vec<RetirementStep>,
    /// ELIG-LOCAL: the recorded bases accepted for a 我市 worker; empty when the rule is not in
    /// force (v1).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub local_bases: Vec<LocalBasisKind>,
    /// ELIG-GROUP: the order in which a trainee's group is chosen; empty = the recorded group (v1).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_precedence: Vec<TargetGroup>,
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
    /// PROJ-SELECTION, PROJ-QUOTA: how ranked applications share the quota (v1 strict, v2 fit).
    #[serde(default, skip_serializing_if = "is_default")]
    pub quota_mode: QuotaMode,
    /// OUT-WINDOW: months after the last class day the outcome window runs (6).
    pub outcome_window_months: u32,
    /// OUT-MONTHS: from when months count (v1 the first day, v2 the day after the last day).
    #[serde(default, skip_serializing_if = "is_default")]
    pub months_counted_from: MonthsCountedFrom,
    /// OUT-EMP-CONTRACT: months of social insurance and wages (3).
    pub contract_months: u32,
    /// OUT-EMP-BUSINESS: months of real operation (3).
    pub business_months: u32,
    /// OUT-EMP-SERVICE: months of service and of payment (6).
    pub service_months: u32,
    /// OUT-EMP-SERVICE: how a lump payment naming months is judged.
    #[serde(default, skip_serializing_if = "is_default")]
    pub lump_payment: LumpPayment,
    /// OUT-CERT: which occupations are related.
    #[serde(default, skip_serializing_if = "is_default")]
    pub cert_related: CertRelated,
    /// OUT-RATE: the rate's denominator (completed trainees).
    #[serde(default, skip_serializing_if = "is_default")]
    pub rate_denominator: RateDenominator,
    /// PROV-CLEAN: years before the application with no violation (3).
    pub clean_record_years: u32,
    /// SUBS-DEADLINE: months after the last class ends to file the claim (6).
    pub claim_months: u32,
    /// SUBS-NOTICE: working days of public notice (5).
    pub notice_working_days: u32,
    /// SUBS-TIER: thresholds and percentages (of the employment rate under edition 2).
    pub tiers: TierTable,
    /// PROJ-BASIS: the tiers of the certificate rate (edition 2); absent = `tiers` (v1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_tiers: Option<TierTable>,
    /// SUBS-UPLIFT: the tiers in which another uplift can raise a line; absent = every tier (v1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uplift_tiers: Option<Vec<Tier>>,
    /// SUBS-CAP: the most any trainee's line can be (5000 yuan).
    pub cap_fen: Money,
    /// SUBS-CAP: the tiers the cap applies in; absent = every tier, unlabelled (v1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap_tiers: Option<Vec<Tier>>,
    /// SUBS-FUND: which fund pays for which group.
    pub funds: FundMapping,
}

/// The rule codes of POLICY.md, in its order (55 codes, policy set v2).
pub const RULE_CODES: [&str; 55] = [
    "DATE-TZ",
    "DATE-MONTHS",
    "DATE-WORKDAYS",
    "PERSON-ID",
    "ELIG-AGE",
    "ELIG-FISCAL",
    "ELIG-LOCAL",
    "ELIG-GROUP",
    "ELIG-OVERLAP",
    "ELIG-ONCE",
    "ELIG-REALNAME",
    "ELIG-PREHIRE",
    "PROV-USCC",
    "PROV-LOCAL",
    "PROV-LEGAL",
    "PROV-CLEAN",
    "PROV-KIND",
    "PROV-DISQUALIFIED",
    "PROJ-CATALOG",
    "PROJ-PLAN",
    "PROJ-SELECTION",
    "PROJ-QUOTA",
    "PROJ-CROSS-REGION",
    "PROJ-BRAND",
    "PROJ-BASIS",
    "PROJ-INSERVICE",
    "CLASS-FILING",
    "CLASS-HOURS",
    "CLASS-HEADCOUNT",
    "CLASS-ATTENDANCE",
    "CLASS-COMPLETION",
    "CLASS-INSPECTION",
    "CLASS-LEDGER",
    "OUT-WINDOW",
    "OUT-CERT",
    "OUT-EMP-CONTRACT",
    "OUT-EMP-BUSINESS",
    "OUT-EMP-SERVICE",
    "OUT-EMP-REGISTRATION",
    "OUT-MONTHS",
    "OUT-RATE",
    "SUBS-STANDARD",
    "SUBS-TIER",
    "SUBS-UPLIFT",
    "SUBS-CAP",
    "SUBS-ROUND",
    "SUBS-ELIGIBLE",
    "SUBS-DEADLINE",
    "SUBS-MATERIALS",
    "SUBS-NOTICE",
    "SUBS-SOD",
    "SUBS-FUND",
    "SUBS-PAY",
    "SUBS-RECOVER",
    "SUBS-KEEP",
];

/// The rule codes policy set v2 added; they are not in force under edition 1.
pub const RULE_CODES_NEW_IN_V2: [&str; 4] = ["ELIG-LOCAL", "PROJ-INSERVICE", "CLASS-HOURS", "SUBS-MATERIALS"];

impl PolicySet {
    /// The version string of the built-in first set.
    pub const XIANNING_2025_5_V1: &'static str = "xianning-2025-5/v1";
    /// The version string of the built-in second set, the one for new decisions.
    pub const XIANNING_2025_5_V2: &'static str = "xianning-2025-5/v2";
    /// The built-in versions, oldest first.
    pub const BUILT_IN_VERSIONS: [&'static str; 2] = [Self::XIANNING_2025_5_V1, Self::XIANNING_2025_5_V2];

    /// The first policy set, `xianning-2025-5/v1`: decisions made under it replay under it.
    pub fn xianning_2025_5_v1() -> Self {
        let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("a fixed valid date");
        Self {
            version: Self::XIANNING_2025_5_V1.to_owned(),
            valid_from: date(2025, 6, 6),
            valid_to: date(2027, 12, 31),
            rules_edition: RulesEdition::V1,
            min_age: 16,
            retirement_ages: vec![
                RetirementAge { sex: Sex::Male, born_from: None, born_to: None, years: 60, months: 0 },
                RetirementAge { sex: Sex::Female, born_from: None, born_to: None, years: 55, months: 0 },
            ],
            retirement_reform: Vec::new(),
            local_bases: Vec::new(),
            group_precedence: Vec::new(),
            once_per_occupation_level: true,
            roster_change_days_after_start: 0,
            filing_lead_days: 1,
            min_attendance: Fraction::percent(80),
            min_experts: 3,
            trim_scores_from: 5,
            quota_mode: QuotaMode::Strict,
            outcome_window_months: 6,
            months_counted_from: MonthsCountedFrom::ClassFirstDay,
            contract_months: 3,
            business_months: 3,
            service_months: 6,
            lump_payment: LumpPayment::SplitEqually,
            cert_related: CertRelated::SameOccupation,
            rate_denominator: RateDenominator::Completed,
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
            cert_tiers: None,
            uplift_tiers: None,
            cap_fen: Money::from_fen(500_000),
            cap_tiers: None,
            funds: FundMapping {
                default: Fund::EmploymentSubsidyFund,
                by_group: BTreeMap::from([(TargetGroup::InServiceWorker, Fund::SkillUpgradeAccount)]),
            },
        }
    }

    /// The second policy set, `xianning-2025-5/v2`: v1 with every correction of POLICY.md
    /// "Changes in v2" (see the module documentation).
    pub fn xianning_2025_5_v2() -> Self {
        let month = |y, m| YearMonth { year: y, month: m };
        let v1 = Self::xianning_2025_5_v1();
        Self {
            version: Self::XIANNING_2025_5_V2.to_owned(),
            rules_edition: RulesEdition::V2,
            // ELIG-AGE: 全国人大常委会关于实施渐进式延迟法定退休年龄的决定 (2024-09-13). Women whose age was
            // 50 follow a faster schedule (one month per two, up to 55); the roster does not say
            // which female schedule applies, so the 55 → 58 schedule bounds every woman
            // (*interpretation*: no woman who may still be working is refused).
            retirement_reform: vec![
                RetirementStep {
                    sex: Sex::Male,
                    from_birth_month: month(1965, 1),
                    birth_months_per_step: 4,
                    max_extra_months: 36,
                },
                RetirementStep {
                    sex: Sex::Female,
                    from_birth_month: month(1970, 1),
                    birth_months_per_step: 4,
                    max_extra_months: 36,
                },
            ],
            local_bases: LocalBasisKind::ALL.to_vec(),
            // ELIG-GROUP: pre-hire, in-service, then the plan's order (四).
            group_precedence: vec![
                TargetGroup::ProjectEnterpriseRecruit,
                TargetGroup::InServiceWorker,
                TargetGroup::PovertyAlleviated,
                TargetGroup::RuralMigrant,
                TargetGroup::GraduatingStudent,
                TargetGroup::RegisteredUnemployed,
                TargetGroup::EmploymentDifficulty,
                TargetGroup::UnemployedGraduate,
                TargetGroup::KeyIndustryReserve,
                TargetGroup::OtherEligible,
            ],
            quota_mode: QuotaMode::Fit,
            months_counted_from: MonthsCountedFrom::DayAfterLastDay,
            lump_payment: LumpPayment::CoversMinimumWages,
            cert_related: CertRelated::SameMinorGroup,
            cert_tiers: Some(v1.tiers.clone()),
            uplift_tiers: Some(vec![Tier::Upper]),
            cap_tiers: Some(vec![Tier::Upper, Tier::Middle, Tier::Lower]),
            funds: FundMapping {
                default: Fund::EmploymentSubsidyFund,
                by_group: BTreeMap::from([
                    (TargetGroup::InServiceWorker, Fund::SkillUpgradeAccount),
                    (TargetGroup::ProjectEnterpriseRecruit, Fund::SkillUpgradeAccount),
                ]),
            },
            ..v1
        }
    }

    /// The set new decisions are made under: `xianning-2025-5/v2`.
    pub fn current() -> Self {
        Self::xianning_2025_5_v2()
    }

    /// The built-in set of `version`, `None` when no set of that version is built in.
    pub fn builtin(version: &str) -> Option<Self> {
        match version.trim() {
            Self::XIANNING_2025_5_V1 => Some(Self::xianning_2025_5_v1()),
            Self::XIANNING_2025_5_V2 => Some(Self::xianning_2025_5_v2()),
            _ => None,
        }
    }

    /// The set a recorded decision names: the built-in set of `version`, checked against the
    /// `digest` recorded beside it when there is one. Later decisions about a class (outcomes,
    /// claims, payments, recoveries) are made under the version recorded when it was filed.
    pub fn recorded(version: &str, digest: Option<&str>) -> Result<Self, Error> {
        let set = Self::builtin(version).ok_or_else(|| Error::UnknownPolicyVersion {
            version: version.to_owned(),
            known: Self::BUILT_IN_VERSIONS.join(", "),
        })?;
        match digest {
            Some(d) if d != set.digest() => Err(Error::PolicySetTampered {
                version: set.version.clone(),
                expected: set.digest(),
                found: d.to_owned(),
            }),
            _ => Ok(set),
        }
    }

    /// Read a policy set from TOML, check it, and refuse a built-in version with other parameters.
    pub fn from_toml_str(s: &str) -> Result<Self, Error> {
        let set: Self = toml::from_str(s).map_err(Error::PolicySetToml)?;
        set.validate()?;
        set.check_builtin_identity()?;
        Ok(set)
    }

    /// Read a policy set from JSON, check it, and refuse a built-in version with other parameters.
    pub fn from_json_str(s: &str) -> Result<Self, Error> {
        let set: Self = serde_json::from_str(s).map_err(Error::Json)?;
        set.validate()?;
        set.check_builtin_identity()?;
        Ok(set)
    }

    /// The canonical form the digest is taken of: JSON with object keys sorted, no spaces, and
    /// every fraction (`{"denominator", "numerator"}`) in lowest terms, so 70/100 and 7/10 are one
    /// parameter value.
    pub fn canonical_json(&self) -> Result<String, Error> {
        let value = serde_json::to_value(self).map_err(Error::Json)?;
        let mut out = String::new();
        write_canonical(&value, &mut out)?;
        Ok(out)
    }

    /// The content digest, `sha256:` and 64 hex digits of the canonical form: with the version, it
    /// identifies the set a decision was made under.
    pub fn digest(&self) -> String {
        // Serialising plain data to a JSON value cannot fail; an empty form would still digest.
        let canonical = self.canonical_json().unwrap_or_default();
        format!("sha256:{}", hex::encode(Sha256::digest(canonical.as_bytes())))
    }

    /// Refuse a set that carries a built-in version string but not the built-in parameters.
    pub fn check_builtin_identity(&self) -> Result<(), Error> {
        let Some(builtin) = Self::builtin(&self.version) else {
            return Ok(());
        };
        let (expected, found) = (builtin.digest(), self.digest());
        if expected == found {
            Ok(())
        } else {
            Err(Error::PolicySetTampered { version: builtin.version, expected, found })
        }
    }

    /// Check the set is consistent: dates in order, fractions with non-zero denominators,
    /// thresholds ordered, a retirement age for each sex, a positive cap, expert-review
    /// parameters a mean can be taken under, and the v2 parameters complete and in their edition.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |m: &str| Err(Error::PolicySet(m.to_owned()));
        if self.version.trim().is_empty() {
            return bad("version is empty");
        }
        if self.valid_to < self.valid_from {
            return bad("valid_to is before valid_from");
        }
        if !self.min_attendance.is_valid() {
            return bad("a fraction has a zero denominator");
        }
        self.tiers.check("tiers")?;
        for sex in [Sex::Male, Sex::Female] {
            if !self.retirement_ages.iter().any(|r| r.sex == sex) {
                return bad("retirement_ages has no row for one sex");
            }
            if self.retirement_reform.iter().filter(|r| r.sex == sex).count() > 1 {
                return bad("retirement_reform has more than one step for one sex");
            }
        }
        if self.retirement_reform.iter().any(|r| r.birth_months_per_step == 0) {
            return bad("retirement_reform: birth_months_per_step must be at least 1");
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
        // SUBS-FUND: the unemployment insurance fund is a choice for a group, never the default.
        if self.funds.default == Fund::UnemploymentInsuranceFund {
            return bad("funds.default cannot be the unemployment insurance fund: the city may choose it per group");
        }
        if has_duplicates(&self.local_bases) {
            return bad("local_bases names a basis twice");
        }
        if !self.group_precedence.is_empty()
            && (self.group_precedence.len() != TargetGroup::ALL.len() || has_duplicates(&self.group_precedence))
        {
            return bad("group_precedence must name each of the ten target groups once");
        }
        for (name, tiers) in [("uplift_tiers", &self.uplift_tiers), ("cap_tiers", &self.cap_tiers)] {
            if tiers.as_ref().is_some_and(|t| has_duplicates(t)) {
                return Err(Error::PolicySet(format!("{name} names a tier twice")));
            }
        }
        // SUBS-CAP: 五 states the cap in the 200% clause; it applies there whatever else.
        if self.cap_tiers.as_ref().is_some_and(|t| !t.contains(&Tier::Upper)) {
            return bad("cap_tiers must include the upper (200%) tier");
        }
        if let Some(cert) = &self.cert_tiers {
            cert.check("cert_tiers")?;
        }
        match self.rules_edition {
            RulesEdition::V1 => {
                if self.cert_tiers.is_some() {
                    return bad("cert_tiers needs rules_edition 2: edition 1 has one rate");
                }
                if !self.local_bases.is_empty() {
                    return bad("local_bases needs rules_edition 2: ELIG-LOCAL is not a rule of edition 1");
                }
                if !self.group_precedence.is_empty() {
                    return bad("group_precedence needs rules_edition 2: edition 1 takes the recorded group");
                }
            }
            RulesEdition::V2 => {
                if self.local_bases.is_empty() {
                    return bad("rules_edition 2 needs local_bases (ELIG-LOCAL)");
                }
                if self.group_precedence.is_empty() {
                    return bad("rules_edition 2 needs group_precedence (ELIG-GROUP)");
                }
            }
        }
        Ok(())
    }

    /// Whether the set applies the rules as v2 reads them (`rules_edition` 2 or later).
    pub fn v2_rules(&self) -> bool {
        self.rules_edition >= RulesEdition::V2
    }

    /// Whether `code` is a rule of this set: every code of POLICY.md, but the four added in v2
    /// only under edition 2.
    pub fn enforces(&self, code: &str) -> bool {
        RULE_CODES.contains(&code) && (self.v2_rules() || !RULE_CODES_NEW_IN_V2.contains(&code))
    }

    /// The passing result of rule `code` under a set that does not enforce it, saying so; `None`
    /// when the set enforces it and the rule must be decided.
    pub fn not_enforced(&self, code: &str) -> Option<crate::policy::decision::RuleResult> {
        (!self.enforces(code)).then(|| {
            crate::policy::decision::RuleResult::pass(
                code,
                format!("政策版本{}无此规则", self.version),
                format!("not a rule of policy set {}", self.version),
            )
        })
    }

    /// Whether `date` is inside the set's validity.
    pub fn in_force_on(&self, date: NaiveDate) -> bool {
        self.valid_from <= date && date <= self.valid_to
    }

    /// The retirement age in months for someone of `sex` born on `birth` (ELIG-AGE): their row of
    /// `retirement_ages` plus the reform's delay for their birth month; `None` when no row matches.
    pub fn retirement_age_months(&self, sex: Sex, birth: NaiveDate) -> Option<u32> {
        let base = self
            .retirement_ages
            .iter()
            .find(|r| r.sex == sex && r.born_from.is_none_or(|f| f <= birth) && r.born_to.is_none_or(|t| birth <= t))
            .map(|r| r.years * 12 + r.months)?;
        let extra = self.retirement_reform.iter().find(|r| r.sex == sex).map_or(0, |r| r.extra_months(birth));
        Some(base + extra)
    }

    /// The day someone of `sex` born on `birth` reaches the retirement age (ELIG-AGE, edition 2):
    /// that many years and months after birth (DATE-MONTHS).
    pub fn retirement_date(&self, sex: Sex, birth: NaiveDate) -> Option<NaiveDate> {
        self.retirement_age_months(sex, birth).map(|m| add_months(birth, m))
    }

    /// The fund that pays for `group` (SUBS-FUND).
    pub fn fund_for(&self, group: TargetGroup) -> Fund {
        self.funds.by_group.get(&group).copied().unwrap_or(self.funds.default)
    }

    /// What a trainee of `group` is judged by (PROJ-BASIS): certificates for in-service workers,
    /// and under edition 2 for pre-hire trainees too (三(一) "按照在岗职工有关政策").
    pub fn basis_for(&self, group: TargetGroup) -> Basis {
        let certificate = group == TargetGroup::InServiceWorker
            || (self.v2_rules() && group == TargetGroup::ProjectEnterpriseRecruit);
        if certificate { Basis::Certificate } else { Basis::Employment }
    }

    /// The tier table of a basis (SUBS-TIER, PROJ-BASIS): `cert_tiers` for the certificate rate
    /// when the set has them, `tiers` otherwise.
    pub fn tiers_for(&self, basis: Basis) -> &TierTable {
        match (basis, &self.cert_tiers) {
            (Basis::Certificate, Some(cert)) => cert,
            _ => &self.tiers,
        }
    }

    /// The tier percentage for a project rate (SUBS-TIER): thresholds belong to the higher tier.
    pub fn tier_percent(&self, rate: Fraction) -> u32 {
        self.tiers.percent_of(self.tiers.tier_of(rate))
    }

    /// Whether another uplift can raise a line in `tier` (SUBS-UPLIFT).
    pub fn uplift_applies_in(&self, tier: Tier) -> bool {
        self.uplift_tiers.as_ref().is_none_or(|t| t.contains(&tier))
    }

    /// Whether the cap applies to a line in `tier` (SUBS-CAP).
    pub fn cap_applies_in(&self, tier: Tier) -> bool {
        self.cap_tiers.as_ref().is_none_or(|t| t.contains(&tier))
    }
}

impl Default for PolicySet {
    /// The set for new decisions, [`PolicySet::current`].
    fn default() -> Self {
        Self::current()
    }
}

fn has_duplicates<T: PartialEq>(items: &[T]) -> bool {
    items.iter().enumerate().any(|(i, a)| items[i + 1..].contains(a))
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Writes `value` in the canonical form of [`PolicySet::canonical_json`].
fn write_canonical(value: &serde_json::Value, out: &mut String) -> Result<(), Error> {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            // A fraction in lowest terms: 70/100 is 7/10.
            if let (2, Some(n), Some(d)) = (
                map.len(),
                map.get("numerator").and_then(Value::as_u64),
                map.get("denominator").and_then(Value::as_u64),
            ) {
                let g = gcd(n, d).max(1);
                // Writing to a String cannot fail.
                let _ = write!(out, "{{\"denominator\":{},\"numerator\":{}}}", d / g, n / g);
                return Ok(());
            }
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(key).map_err(Error::Json)?);
                out.push(':');
                write_canonical(&map[key], out)?;
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out)?;
            }
            out.push(']');
        }
        scalar => out.push_str(&serde_json::to_string(scalar).map_err(Error::Json)?),
    }
    Ok(())
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
        for set in [PolicySet::xianning_2025_5_v1(), PolicySet::xianning_2025_5_v2()] {
            let toml_text = toml::to_string(&set).expect("toml");
            assert_eq!(PolicySet::from_toml_str(&toml_text).expect("reads"), set);
            let json = serde_json::to_string(&set).expect("json");
            assert_eq!(PolicySet::from_json_str(&json).expect("reads"), set);
        }
    }

    #[test]
    fn policy_set_bundled_toml_equals_built_in() {
        let text = include_str!("../../data/xianning-2025-5-v1.toml");
        assert_eq!(PolicySet::from_toml_str(text).expect("reads"), PolicySet::xianning_2025_5_v1());
        let text = include_str!("../../data/xianning-2025-5-v2.toml");
        assert_eq!(PolicySet::from_toml_str(text).expect("reads"), PolicySet::xianning_2025_5_v2());
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

    #[test]
    fn policy_set_v1_serialises_without_any_v2_parameter() {
        // v1's canonical form, and so its TOML and digest, are what they were before v2.
        let json = PolicySet::xianning_2025_5_v1().canonical_json().expect("json");
        for v2_only in [
            "rules_edition",
            "retirement_reform",
            "local_bases",
            "group_precedence",
            "quota_mode",
            "months_counted_from",
            "lump_payment",
            "cert_related",
            "rate_denominator",
            "cert_tiers",
            "uplift_tiers",
            "cap_tiers",
        ] {
            assert!(!json.contains(v2_only), "{v2_only} in {json}");
        }
        assert!(PolicySet::xianning_2025_5_v2().canonical_json().expect("json").contains("\"rules_edition\":2"));
    }

    #[test]
    fn policy_set_digest_is_stable_and_sees_every_parameter() {
        let v1 = PolicySet::xianning_2025_5_v1();
        let v2 = PolicySet::xianning_2025_5_v2();
        assert!(v1.digest().starts_with("sha256:") && v1.digest().len() == 7 + 64);
        assert_eq!(v1.digest(), PolicySet::xianning_2025_5_v1().digest());
        assert_ne!(v1.digest(), v2.digest());
        let mut changed = v2.clone();
        changed.cap_fen = Money::from_fen(500_001);
        assert_ne!(changed.digest(), v2.digest());
        // 70/100 and 7/10 are one value.
        let mut same = v2.clone();
        same.tiers.upper_threshold = Fraction::new(7, 10).expect("fraction");
        assert_eq!(same.digest(), v2.digest());
    }

    #[test]
    fn policy_set_built_in_digests_never_change() {
        // Decisions recorded these digests: a change to a built-in set's parameters or to the
        // canonical form would make them unverifiable. A new figure is a new version.
        assert_eq!(
            PolicySet::xianning_2025_5_v1().digest(),
            "sha256:0d3c9249b5f311994f9edaac789f8d7142d73c9531bbb729e3f3ee0779d4d85b"
        );
        assert_eq!(
            PolicySet::xianning_2025_5_v2().digest(),
            "sha256:4f1dec9bc964afff0c41019972ddf5235c749a1792111a0da59e8da4c45496e9"
        );
    }

    #[test]
    fn policy_set_with_a_built_in_version_and_other_parameters_is_refused() {
        let mut set = PolicySet::xianning_2025_5_v1();
        set.tiers.upper_percent = 150;
        let json = serde_json::to_string(&set).expect("json");
        let err = PolicySet::from_json_str(&json).expect_err("tampered");
        assert!(matches!(err, Error::PolicySetTampered { .. }), "{err}");
        assert!(err.to_string().contains("xianning-2025-5/v1"), "{err}");
        set.version = "xianning-2025-5/v1-city-draft".to_owned();
        let json = serde_json::to_string(&set).expect("json");
        assert_eq!(PolicySet::from_json_str(&json).expect("another version").tiers.upper_percent, 150);
    }

    #[test]
    fn policy_set_built_ins_by_version_and_current_is_v2() {
        assert_eq!(PolicySet::current(), PolicySet::xianning_2025_5_v2());
        assert_eq!(PolicySet::default(), PolicySet::current());
        for version in PolicySet::BUILT_IN_VERSIONS {
            let set = PolicySet::builtin(version).expect("built in");
            assert_eq!(set.version, version);
            set.validate().expect("valid");
            assert_eq!(PolicySet::recorded(version, Some(&set.digest())).expect("recorded"), set);
        }
        assert!(PolicySet::builtin("xianning-2025-5/v9").is_none());
        assert!(matches!(PolicySet::recorded("xianning-2025-5/v9", None), Err(Error::UnknownPolicyVersion { .. })));
        let v1_digest = PolicySet::xianning_2025_5_v1().digest();
        assert!(matches!(
            PolicySet::recorded(PolicySet::XIANNING_2025_5_V2, Some(&v1_digest)),
            Err(Error::PolicySetTampered { .. })
        ));
    }

    #[test]
    fn policy_set_v2_parameters_are_checked() {
        let mut set = PolicySet::xianning_2025_5_v2();
        set.funds.default = Fund::UnemploymentInsuranceFund;
        assert!(set.validate().is_err());
        let mut set = PolicySet::xianning_2025_5_v2();
        set.group_precedence.pop();
        assert!(set.validate().is_err());
        let mut set = PolicySet::xianning_2025_5_v2();
        set.local_bases.clear();
        assert!(set.validate().is_err());
        let mut set = PolicySet::xianning_2025_5_v2();
        set.cap_tiers = Some(vec![Tier::Middle]);
        assert!(set.validate().is_err());
        let mut set = PolicySet::xianning_2025_5_v1();
        set.cert_tiers = Some(set.tiers.clone());
        assert!(set.validate().is_err());
        let mut set = PolicySet::xianning_2025_5_v1();
        set.group_precedence = PolicySet::xianning_2025_5_v2().group_precedence;
        assert!(set.validate().is_err());
        assert!(serde_json::from_str::<RulesEdition>("3").is_err());
    }

    #[test]
    fn policy_set_enforces_the_new_codes_only_under_edition_2() {
        let v1 = PolicySet::xianning_2025_5_v1();
        let v2 = PolicySet::xianning_2025_5_v2();
        for code in RULE_CODES_NEW_IN_V2 {
            assert!(!v1.enforces(code) && v2.enforces(code), "{code}");
        }
        assert!(v1.enforces("SUBS-TIER") && v2.enforces("SUBS-TIER"));
        assert!(!v2.enforces("SUBS-NOTHING"));
        assert_eq!(RULE_CODES.iter().filter(|c| v2.enforces(c)).count(), 55);
        assert_eq!(RULE_CODES.iter().filter(|c| v1.enforces(c)).count(), 51);
    }
}
