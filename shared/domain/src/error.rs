//! Errors of the domain crate.
//!
//! [`ValueError`] is what a value type returns when a string at the edge is not a valid value; it
//! carries the rule code (docs/RULES.md), or a value code such as `PHONE`, so a service can put it
//! into `ErrorInfo.reason` unchanged. [`Error`] is the one error enum for everything else the
//! crate can refuse: policy sets, calendars, tables and replay facts.

/// A string that is not a valid domain value, with the rule code that refused it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{rule}: {reason}")]
pub struct ValueError {
    /// The stable rule code (`PERSON-ID`, `PROV-USCC`, `MONEY`, …).
    pub rule: &'static str,
    /// Why the value was refused, lowercase, without trailing punctuation.
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn a_quoted_value_is_short_and_masked() {
        assert_eq!(quote("421221199001011234"), "\"42**…\"");
        assert_eq!(quote("ABC"), "\"ABC\"");
        assert_eq!(quote("a\u{0}b"), "\"a?b\"");
        assert_eq!(quote(&"x".repeat(1_000_000)), "\"xxxx…\"");
    }
}

impl ValueError {
    /// A value error for `rule` with `reason`.
    pub fn new(rule: &'static str, reason: impl Into<String>) -> Self {
        Self { rule, reason: reason.into() }
    }
}

/// A short, masked piece of a bad value, for an error message: at most its first four
/// characters, digits after the second masked, control characters shown as `?`, and `…` when
/// there was more. A value that may be personal data (an ID number typed into a code field) or
/// absurdly long never comes back whole.
pub fn quote(raw: &str) -> String {
    let mut shown: String = raw
        .chars()
        .take(4)
        .enumerate()
        .map(|(i, c)| {
            if c.is_control() {
                '?'
            } else if i >= 2 && c.is_ascii_digit() {
                '*'
            } else {
                c
            }
        })
        .collect();
    if raw.chars().nth(4).is_some() {
        shown.push('…');
    }
    format!("\"{shown}\"")
}

/// Everything else the domain crate can refuse.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A value inside facts, a table or a policy set is invalid.
    #[error(transparent)]
    Value(#[from] ValueError),
    /// A policy set is internally inconsistent.
    #[error("invalid policy set: {0}")]
    PolicySet(String),
    /// A policy set carries the version string of a built-in set but other parameters: a decision
    /// could claim that version while using other figures, so it is refused.
    #[error(
        "policy set {version} is built in, but these parameters differ from it (digest {found}, built-in {expected}): \
         a set naming a built-in version must carry exactly its parameters; give a new version to other figures"
    )]
    PolicySetTampered {
        /// The built-in version named.
        version: String,
        /// The digest of the built-in set.
        expected: String,
        /// The digest of the set given.
        found: String,
    },
    /// A policy-set version that is not built in and whose parameters were not given.
    #[error("policy set {version} is not known (built in: {known})")]
    UnknownPolicyVersion {
        /// The version asked for.
        version: String,
        /// The built-in versions.
        known: String,
    },
    /// A policy set in TOML could not be read.
    #[error("cannot read policy set toml")]
    PolicySetToml(#[source] toml::de::Error),
    /// JSON (a policy set, facts or a decision) could not be read.
    #[error("cannot read json: {0}")]
    Json(#[source] serde_json::Error),
    /// A line of the holiday calendar is malformed.
    #[error("holiday calendar line {line}: {reason}")]
    CalendarLine {
        /// 1-based line number in the CSV.
        line: usize,
        /// What is wrong with the line.
        reason: String,
    },
    /// DATE-WORKDAYS: a date falls in a year the calendar does not cover.
    #[error("year {year} is not covered by the holiday calendar (DATE-WORKDAYS)")]
    YearNotCovered {
        /// The uncovered year.
        year: i32,
    },
    /// A table (subsidy standards, minimum wages) is malformed or ambiguous.
    #[error("invalid table: {0}")]
    Table(String),
    /// Replay facts are inconsistent (for example a roster names an unknown class).
    #[error("invalid facts: {0}")]
    Facts(String),
}

/// Serialize and deserialize a type as the string its `as_str`/`code` returns and its `parse`
/// accepts, so deserializing validates exactly as parsing at the edge does.
macro_rules! serde_as_str {
    ($ty:ty, $to_str:ident) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.$to_str())
            }
        }
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                <$ty>::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
        impl std::str::FromStr for $ty {
            type Err = $crate::ValueError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                <$ty>::parse(s)
            }
        }
    };
}
pub(crate) use serde_as_str;
