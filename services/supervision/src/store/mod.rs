//! The supervision service's storage: one module per resource, each with its record type, its
//! columns, row decoding and queries. Handlers call these with the transaction they run in (or
//! the pool, for reads); nothing here decides a rule or checks access.
//!
//! Decisions are stored as JSON beside what they decided ([`StoredDecision`]), with the policy
//! set's version and digest, so that an auditor can replay them (SUBS-KEEP).

pub mod attendance;
pub mod change_decision;
pub mod class;
pub mod class_change;
pub mod class_return;
pub mod evaluation;
pub mod evidence;
pub mod inspection;
pub mod roster_change;
pub mod session;
pub mod signal;
pub mod standing;
pub mod trainee;

use qiancheng_api::convert::IntoProto as _;
use qiancheng_api::types;
use qiancheng_domain::policy::{Decision, RuleResult};
use qiancheng_platform::Error;
use qiancheng_platform::explain::Audience;
use serde::{Deserialize, Serialize};

/// A decision as stored: its outcome, the policy set it was made under (version and digest),
/// every rule evaluated, and when.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredDecision {
    /// Whether the decision is positive.
    pub outcome: bool,
    /// The policy-set version.
    pub policy_version: String,
    /// The policy set's content digest.
    pub policy_digest: String,
    /// Every rule evaluated, in order.
    pub rules: Vec<RuleResult>,
    /// When it was decided, microseconds since the epoch.
    pub decided_micros: i64,
}

impl StoredDecision {
    /// `decision` with the positive `outcome` it reached, under the set of `digest`, now.
    pub fn of<T>(decision: &Decision<T>, outcome: bool, digest: &str) -> Self {
        Self {
            outcome,
            policy_version: decision.policy_version.clone(),
            policy_digest: digest.to_owned(),
            rules: decision.rules.clone(),
            decided_micros: qiancheng_platform::time::now_micros(),
        }
    }

    /// The first rule that failed, if any.
    pub fn first_failure(&self) -> Option<&RuleResult> {
        self.rules.iter().find(|r| !r.passed)
    }

    /// The decision as stored text.
    pub fn json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A stored decision from column `column`; the empty text is none.
    pub fn from_text(text: &str, column: &str) -> Result<Option<Self>, Error> {
        if text.is_empty() {
            return Ok(None);
        }
        serde_json::from_str(text).map(Some).map_err(|_| Error::corrupt(column.to_owned()))
    }

    /// The decision as the API shows it to `audience` (a reason about another class or a birth
    /// date only to those who may know it, `qiancheng_platform::explain`).
    pub fn to_proto(&self, audience: Audience) -> types::Decision {
        types::Decision {
            outcome: self.outcome,
            policy_version: self.policy_version.clone(),
            policy_digest: self.policy_digest.clone(),
            rules: self.rules.iter().map(|r| (&audience.rule(r)).into_proto()).collect(),
            decided_micros: self.decided_micros,
        }
    }
}

pub use qiancheng_api::convert::int32;
