//! The field rules a proto declares (`qiancheng.type.v1.field`), checked at run time.
//!
//! `shared/api/build.rs` generates, for every message of the suite, an implementation of
//! [`Validate`] that calls these checks for each field that declares rules and descends into the
//! nested messages that (somewhere below) declare any. The platform runs it on every request
//! before the handler sees it; a handler then works with values it knows are present, in range
//! and of the right length, and keeps only the checks that involve more than one field or a rule
//! of the plan.
//!
//! A request that updates a resource under an `update_mask` is not checked inside the resource:
//! the handler checks the merged resource instead (`Validate::check_at`), since a field left out
//! of the mask may be empty in the request.

use qiancheng_domain::ValueError;

/// One bad field of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// The request field, as a path (`vacancy.headcount`).
    pub field: String,
    /// The stable rule code the value breaks (docs/RULES.md).
    pub rule: String,
    /// What is wrong, for a person to read.
    pub description: String,
}

impl FieldViolation {
    /// A violation of `rule` by `field`.
    pub fn new(field: impl Into<String>, rule: impl Into<String>, description: impl Into<String>) -> Self {
        Self { field: field.into(), rule: rule.into(), description: description.into() }
    }

    /// A domain value that failed to parse, attached to the request field it came from.
    pub fn from_value(field: impl Into<String>, error: ValueError) -> Self {
        Self::new(field, error.rule, error.reason)
    }
}

/// A message whose fields declare rules.
pub trait Validate {
    /// Appends a violation for every field under `prefix` (`""`, or `vacancy.` inside a
    /// request) that breaks its declared rules.
    fn check_at(&self, prefix: &str, out: &mut Vec<FieldViolation>);

    /// Every violation of the message's declared rules.
    fn violations(&self) -> Vec<FieldViolation> {
        let mut out = Vec::new();
        self.check_at("", &mut out);
        out
    }
}

impl<T> Validate for tonic::Streaming<T> {
    /// The messages of a stream are checked one by one as they are read.
    fn check_at(&self, _prefix: &str, _out: &mut Vec<FieldViolation>) {}
}

/// The rules of one field, as the build read them from its options.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rules {
    /// The value must be there.
    pub required: bool,
    /// At most this many characters (0: no limit of its own).
    pub max_length: usize,
    /// The least number.
    pub min: Option<i64>,
    /// The greatest number.
    pub max: Option<i64>,
    /// At most this many items (0: no limit of its own).
    pub max_items: usize,
    /// The code every violation of the field carries, when the proto names one.
    pub rule: Option<&'static str>,
    /// The collection a resource name belongs to.
    pub resource: Option<&'static str>,
}

impl Rules {
    fn reason_or(&self, default: &'static str) -> &'static str {
        self.rule.unwrap_or(default)
    }
}

fn push(out: &mut Vec<FieldViolation>, prefix: &str, name: &str, rule: &str, description: String) {
    out.push(FieldViolation::new(format!("{prefix}{name}"), rule, description));
}

/// A string field.
pub fn text(value: &str, rules: &Rules, prefix: &str, name: &str, out: &mut Vec<FieldViolation>) {
    if let Some(collection) = rules.resource {
        // An empty optional name is no name; a given one must look like one.
        if (rules.required || !value.is_empty()) && crate::convert::resource_id(value, collection).is_err() {
            let why = format!(
                "must look like {collection}/{{id}}, the id 1 to {} letters, digits, - or _",
                crate::convert::MAX_RESOURCE_ID_CHARS
            );
            push(out, prefix, name, rules.reason_or("RESOURCE-NAME"), why);
        }
        return;
    }
    let trimmed = value.trim();
    if rules.required && trimmed.is_empty() {
        push(out, prefix, name, rules.reason_or("REQUIRED"), "a value is required".to_owned());
    } else if rules.max_length > 0 && trimmed.chars().count() > rules.max_length {
        push(out, prefix, name, rules.reason_or("TEXT-LENGTH"), format!("at most {} characters", rules.max_length));
    }
}

/// A number field.
pub fn number(value: i64, rules: &Rules, prefix: &str, name: &str, out: &mut Vec<FieldViolation>) {
    let below = rules.min.is_some_and(|min| value < min);
    let above = rules.max.is_some_and(|max| value > max);
    if below || above || (rules.required && value == 0) {
        let why = match (rules.min, rules.max) {
            (Some(min), Some(max)) => format!("must be {min} to {max}"),
            (Some(min), None) => format!("must be at least {min}"),
            (None, Some(max)) => format!("must be at most {max}"),
            (None, None) => "a value is required".to_owned(),
        };
        let rule = if below || above { rules.reason_or("RANGE") } else { rules.reason_or("REQUIRED") };
        push(out, prefix, name, rule, why);
    }
}

/// An enum field: `known` says whether the value is one the enum defines.
pub fn enumerated(value: i32, known: bool, rules: &Rules, prefix: &str, name: &str, out: &mut Vec<FieldViolation>) {
    if !known {
        push(out, prefix, name, rules.reason_or("ENUM"), format!("{value} is not one of the field's values"));
    } else if rules.required && value == 0 {
        push(out, prefix, name, rules.reason_or("REQUIRED"), "a value is required".to_owned());
    }
}

/// A message field: present, when required.
pub fn present(present: bool, rules: &Rules, prefix: &str, name: &str, out: &mut Vec<FieldViolation>) {
    if rules.required && !present {
        push(out, prefix, name, rules.reason_or("REQUIRED"), "a value is required".to_owned());
    }
}

/// A repeated field: at least one item when required, at most `max_items`.
pub fn items(count: usize, rules: &Rules, prefix: &str, name: &str, out: &mut Vec<FieldViolation>) {
    if rules.required && count == 0 {
        push(out, prefix, name, rules.reason_or("REQUIRED"), "at least one item is required".to_owned());
    } else if rules.max_items > 0 && count > rules.max_items {
        push(out, prefix, name, rules.reason_or("TOO-MANY"), format!("at most {} items", rules.max_items));
    }
}

/// `prefix` + `name` + `.`: where a nested message's fields are named.
pub fn nested(prefix: &str, name: &str) -> String {
    format!("{prefix}{name}.")
}

/// `prefix` + `name[i].`: where the fields of a repeated message's item are named.
pub fn item(prefix: &str, name: &str, index: usize) -> String {
    format!("{prefix}{name}[{index}].")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(check: impl FnOnce(&mut Vec<FieldViolation>)) -> Vec<(String, String)> {
        let mut out = Vec::new();
        check(&mut out);
        out.into_iter().map(|v| (v.field, v.rule)).collect()
    }

    #[test]
    fn text_is_required_and_bounded_by_characters_not_bytes() {
        let rules = Rules { required: true, max_length: 3, ..Rules::default() };
        assert_eq!(run(|o| text("  ", &rules, "v.", "post", o)), [("v.post".into(), "REQUIRED".into())]);
        assert!(run(|o| text(" 焊工甲 ", &rules, "", "post", o)).is_empty(), "three characters, nine bytes");
        assert_eq!(run(|o| text("焊工甲乙", &rules, "", "post", o)), [("post".into(), "TEXT-LENGTH".into())]);
    }

    #[test]
    fn numbers_are_checked_at_both_ends_under_the_field_rule() {
        let rules = Rules { min: Some(1), max: Some(10), rule: Some("DEMAND-HEADCOUNT"), ..Rules::default() };
        for (value, bad) in [(0, true), (1, false), (10, false), (11, true)] {
            assert_eq!(!run(|o| number(value, &rules, "", "headcount", o)).is_empty(), bad, "{value}");
        }
        assert_eq!(run(|o| number(11, &rules, "", "headcount", o))[0].1, "DEMAND-HEADCOUNT");
    }

    #[test]
    fn enums_resource_names_and_items() {
        let required = Rules { required: true, ..Rules::default() };
        assert_eq!(run(|o| enumerated(0, true, &required, "", "mode", o))[0].1, "REQUIRED");
        assert_eq!(run(|o| enumerated(99, false, &Rules::default(), "", "mode", o))[0].1, "ENUM");
        let name = Rules { resource: Some("classes"), ..Rules::default() };
        assert!(run(|o| text("", &name, "", "class", o)).is_empty(), "optional and absent");
        assert_eq!(run(|o| text("classes/a b", &name, "", "class", o))[0].1, "RESOURCE-NAME");
        let two = Rules { max_items: 2, ..Rules::default() };
        assert_eq!(run(|o| items(3, &two, "", "teachers", o))[0].1, "TOO-MANY");
    }
}
