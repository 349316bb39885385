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
}

impl RuleResult {
    /// A passed rule.
    pub fn pass(code: &str, reason_zh: impl Into<String>, reason_en: impl Into<String>) -> Self {
        Self { code: code.to_owned(), passed: true, reason_zh: reason_zh.into(), reason_en: reason_en.into() }
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
