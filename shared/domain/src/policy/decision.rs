//! Decisions (决定) that explain themselves: outcome, policy-set version and every rule evaluated.
//!
//! A decision is stored beside whatever it decided (SUBS-KEEP, see [`crate::policy::trace`]) and
//! replayed for an audit; its JSON round trip is lossless.

/// The result of one rule for one subject: code, pass or fail, and why in Chinese and English.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RuleResult {
    /// The rule code (`SUBS-TIER`, docs/RULES.md).
    pub code: String,
    /// Whether the rule let the subject through.
    pub passed: bool,
    /// The reason in Chinese.
    pub reason_zh: String,
    /// The reason in English.
    pub reason_en: String,
    /// The reason's other form, for an audience that may not know what this one discloses
    /// ([`Discloses`]); none when the reason tells nothing beyond the subject's own record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withheld: Option<Box<Withheld>>,
}

/// What a rule's reason tells beyond the record it judges. An audience that may not know it is
/// shown the reason's withheld form instead (the platform's `explain::Audience` decides who).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Discloses {
    /// Another class the person is on: its dates, its provider (ELIG-OVERLAP). Officers see it;
    /// the provider of this class does not learn another provider's classes.
    OtherClass,
    /// The person's birth date, or a date it follows from (ELIG-AGE's retirement date and 16th
    /// birthday). Only those who see the person's ID number whole see it.
    BirthDate,
}

/// A reason as shown to an audience that may not know what the full one [`Discloses`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Withheld {
    /// What the full reason discloses.
    pub discloses: Discloses,
    /// The reason without it, in Chinese.
    pub reason_zh: String,
    /// The reason without it, in English.
    pub reason_en: String,
}

impl RuleResult {
    /// A passed rule.
    pub fn pass(code: &str, reason_zh: impl Into<String>, reason_en: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            passed: true,
            reason_zh: reason_zh.into(),
            reason_en: reason_en.into(),
            withheld: None,
        }
    }

    /// A rule's result as carried from elsewhere (another service's answer): no withheld form.
    pub fn carried(code: &str, passed: bool, reason_zh: &str, reason_en: &str) -> Self {
        Self { passed, ..Self::pass(code, reason_zh, reason_en) }
    }

    /// This result, whose reason discloses `discloses`, with the reason shown instead to an
    /// audience that may not know it.
    #[must_use]
    pub fn withholding(self, discloses: Discloses, reason_zh: impl Into<String>, reason_en: impl Into<String>) -> Self {
        let withheld = Withheld { discloses, reason_zh: reason_zh.into(), reason_en: reason_en.into() };
        Self { withheld: Some(Box::new(withheld)), ..self }
    }

    /// The result as shown to an audience that may know what `may_know` admits: the full
    /// reason, or its withheld form (which then carries nothing further).
    pub fn shown(&self, may_know: impl Fn(Discloses) -> bool) -> Self {
        match &self.withheld {
            Some(w) if !may_know(w.discloses) => {
                Self { reason_zh: w.reason_zh.clone(), reason_en: w.reason_en.clone(), withheld: None, ..self.clone() }
            }
            _ => self.clone(),
        }
    }

    /// A failed rule.
    pub fn fail(code: &str, reason_zh: impl Into<String>, reason_en: impl Into<String>) -> Self {
        Self { passed: false, ..Self::pass(code, reason_zh, reason_en) }
    }
}

/// A decision: its outcome, the policy-set version it was made under and the rules evaluated.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Decision<T> {
    /// What was decided.
    pub outcome: T,
    /// The policy-set version (`xianning-2025-5/v1`).
    pub policy_version: String,
    /// Every rule evaluated, in order.
    pub rules: Vec<RuleResult>,
}

impl<T> Decision<T> {
    /// Whether every rule passed.
    pub fn all_passed(&self) -> bool {
        self.rules.iter().all(|r| r.passed)
    }

    /// The first rule that failed, if any.
    pub fn first_failure(&self) -> Option<&RuleResult> {
        self.rules.iter().find(|r| !r.passed)
    }

    /// The result of the rule with `code`, if it was evaluated.
    pub fn rule(&self, code: &str) -> Option<&RuleResult> {
        self.rules.iter().find(|r| r.code == code)
    }
}
