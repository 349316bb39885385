//! The selection service's storage: one module per resource, each with its record type, its
//! columns, row decoding and queries, and the record as the API shows it. Handlers call these
//! with the transaction they run in (or a connection of the pool, for reads); nothing here
//! checks access, and the only rules here are the ones a record states about itself.

pub mod application;
pub mod brand;
pub mod catalog;
pub mod expert;
pub mod project;
pub mod provider;
pub mod quota;
pub mod round;

use qiancheng_api::selection;
use qiancheng_domain::policy::{Decision, RuleResult};
use qiancheng_platform::Error;
use rust_decimal::Decimal;
use serde::Serialize;

/// The keys concurrent changes take turns on ([`qiancheng_platform::write::Change::serialize_on`]),
/// one per invariant that spans rows. On PostgreSQL writers run concurrently and each row is
/// updated optimistically; a rule that reads several rows and then writes (a quota several rounds
/// draw on, a round's state its applications and assignments depend on) is guarded by taking its
/// key first, before anything it depends on is read.
pub mod turn {
    use qiancheng_domain::RegionCode;

    /// PROJ-QUOTA: a county's (or the city's) quota for a year: deciding a round of it, setting it.
    pub fn quota(region: RegionCode, year: i64) -> String {
        format!("quota/{}/{year}", region.code())
    }

    /// A round's state and everything that depends on it: closing and deciding it, applications
    /// drafted, changed and submitted while it is open, experts assigned, withdrawn, recused and
    /// scoring until it is decided.
    pub fn round(id: &str) -> String {
        format!("round/{id}")
    }

    /// PROV-DISQUALIFIED: a provider's qualification and the applications it makes (a provider
    /// disqualified meanwhile cannot apply).
    pub fn provider(credit_code: &str) -> String {
        format!("provider/{credit_code}")
    }

    /// PROJ-CATALOG: drafting the catalog from demand, which skips what the catalog already
    /// answers.
    pub const DEMAND_DRAFTS: &str = "catalog/drafts-from-demand";
}

pub use qiancheng_platform::db::{BindStamp, Reader};

/// A value kept as JSON text (nested facts read and written whole).
pub fn json<T: Serialize>(value: &T, what: &str) -> Result<String, Error> {
    serde_json::to_string(value).map_err(|e| Error::corrupt(format!("{what}: {e}")))
}

/// A score of 0 to `max` points with at most two decimals, as officers and experts give them
/// (PROJ-SELECTION) and as they are kept.
pub fn parse_points(text: &str, max: Decimal) -> Option<Decimal> {
    let text = text.trim();
    if text.is_empty() || !text.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    let value: Decimal = text.parse().ok()?;
    (value.scale() <= 2 && value >= Decimal::ZERO && value <= max).then_some(value)
}

/// A policy-core rule as the API shows it.
pub fn rule_to_proto(rule: &RuleResult) -> selection::RuleResult {
    selection::RuleResult {
        code: rule.code.clone(),
        passed: rule.passed,
        reason_zh: rule.reason_zh.clone(),
        reason_en: rule.reason_en.clone(),
    }
}

/// A policy-core decision as the API shows it.
pub fn decision_to_proto(decision: &Decision<bool>) -> selection::Decision {
    selection::Decision {
        outcome: decision.outcome,
        policy_version: decision.policy_version.clone(),
        rules: decision.rules.iter().map(rule_to_proto).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_have_at_most_two_decimals_within_the_maximum() {
        assert_eq!(parse_points("29.5", Decimal::from(30)), Some(Decimal::new(295, 1)));
        assert_eq!(parse_points("30", Decimal::from(30)), Some(Decimal::from(30)));
        for bad in ["", "30.01", "1.234", "-1", "1e2", " "] {
            assert_eq!(parse_points(bad, Decimal::from(30)), None, "{bad:?}");
        }
    }
}
