//! Conversions between protobuf fields of `qiancheng.type.v1` and domain values, made once at
//! the edge of every service: a field that does not parse becomes a `ValueError` carrying the
//! rule code, which the service attaches to the request field it came from.

use crate::types;
use chrono::{Datelike as _, NaiveDate};
use qiancheng_domain::{Industry, OccupationCode, RegionCode, SkillLevel, TargetGroup, ValueError};

/// A proto date as a civil date; `None` when absent.
pub fn date(value: Option<&types::Date>) -> Result<Option<NaiveDate>, ValueError> {
    value
        .map(|d| {
            // types.proto: years 1..9999. A later year is refused here, at the edge, so that no
            // stored date is ever one the database or a client cannot read back.
            if !(1..=9999).contains(&d.year) {
                return Err(ValueError::new("DATE", "the year must be 1 to 9999"));
            }
            u32::try_from(d.month)
                .ok()
                .zip(u32::try_from(d.day).ok())
                .and_then(|(m, day)| NaiveDate::from_ymd_opt(d.year, m, day))
                .ok_or_else(|| ValueError::new("DATE", format!("{}-{}-{} is not a date", d.year, d.month, d.day)))
        })
        .transpose()
}

/// A civil date as a proto date.
pub fn date_to_proto(date: NaiveDate) -> types::Date {
    types::Date { year: date.year(), month: date.month() as i32, day: date.day() as i32 }
}

/// A required proto date.
pub fn required_date(value: Option<&types::Date>) -> Result<NaiveDate, ValueError> {
    date(value)?.ok_or_else(|| ValueError::new("REQUIRED", "a date is required"))
}

/// A proto skill level; `None` for UNSPECIFIED.
pub fn skill_level(value: i32) -> Result<Option<SkillLevel>, ValueError> {
    if value == 0 {
        return Ok(None);
    }
    SkillLevel::ALL
        .into_iter()
        .find(|l| i32::from(l.number()) == value)
        .map(Some)
        .ok_or_else(|| ValueError::new("SKILL-LEVEL", format!("{value} is not a skill level")))
}

/// A required proto skill level.
pub fn required_skill_level(value: i32) -> Result<SkillLevel, ValueError> {
    skill_level(value)?.ok_or_else(|| ValueError::new("SKILL-LEVEL", "a skill level is required"))
}

/// A skill level as its proto value.
pub fn skill_level_to_proto(level: Option<SkillLevel>) -> i32 {
    level.map_or(0, |l| i32::from(l.number()))
}

/// A required proto target group.
pub fn target_group(value: i32) -> Result<TargetGroup, ValueError> {
    types::TargetGroup::try_from(value)
        .ok()
        .filter(|g| *g != types::TargetGroup::Unspecified)
        .and_then(|g| g.as_str_name().strip_prefix("TARGET_GROUP_").map(TargetGroup::parse))
        .unwrap_or_else(|| Err(ValueError::new("ELIG-GROUP", "a target group is required")))
}

/// A target group as its proto value.
pub fn target_group_to_proto(group: TargetGroup) -> i32 {
    types::TargetGroup::from_str_name(&format!("TARGET_GROUP_{}", group.code())).map_or(0, |g| g as i32)
}

/// A required proto industry.
pub fn industry(value: i32) -> Result<Industry, ValueError> {
    optional_industry(value)?.ok_or_else(|| ValueError::new("INDUSTRY", "an industry is required"))
}

/// A proto industry; `None` for UNSPECIFIED.
pub fn optional_industry(value: i32) -> Result<Option<Industry>, ValueError> {
    match types::Industry::try_from(value) {
        Ok(types::Industry::Unspecified) => Ok(None),
        Ok(i) => i.as_str_name().strip_prefix("INDUSTRY_").map(Industry::parse).transpose(),
        Err(_) => Err(ValueError::new("INDUSTRY", format!("{value} is not an industry"))),
    }
}

/// An industry as its proto value.
pub fn industry_to_proto(industry: Industry) -> i32 {
    types::Industry::from_str_name(&format!("INDUSTRY_{}", industry.code())).map_or(0, |i| i as i32)
}

/// A county (not the city) of Xianning.
pub fn county(value: &str) -> Result<RegionCode, ValueError> {
    let region = RegionCode::parse(value)?;
    if region.is_city() {
        return Err(ValueError::new("REGION-CODE", "a county is required, not the city"));
    }
    Ok(region)
}

/// An optional county filter; empty, or the city, means every county.
pub fn region_filter(value: &str) -> Result<Option<RegionCode>, ValueError> {
    if value.is_empty() { Ok(None) } else { RegionCode::parse(value).map(|r| (!r.is_city()).then_some(r)) }
}

/// An optional occupation code; empty means none.
pub fn optional_occupation(value: &str) -> Result<Option<OccupationCode>, ValueError> {
    if value.trim().is_empty() { Ok(None) } else { OccupationCode::parse(value).map(Some) }
}

/// A required text of at most `max` characters.
pub fn text(value: &str, max: usize) -> Result<String, ValueError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ValueError::new("REQUIRED", "a value is required"));
    }
    optional_text(value, max)
}

/// An optional text of at most `max` characters.
pub fn optional_text(value: &str, max: usize) -> Result<String, ValueError> {
    let value = value.trim();
    if value.chars().count() > max {
        return Err(ValueError::new("TEXT-LENGTH", format!("at most {max} characters")));
    }
    Ok(value.to_owned())
}

/// A stored count as the wire's `int32`, clamped at its maximum.
pub fn int32(value: i64) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

/// The longest id a resource name may carry (ids are ULIDs or credit codes; 64 leaves room).
pub const MAX_RESOURCE_ID_CHARS: usize = 64;

/// Whether `id` may be the id of a resource of the suite: 1 to 64 ASCII letters, digits, `-` or `_`.
pub fn is_resource_id(id: &str) -> bool {
    (1..=MAX_RESOURCE_ID_CHARS).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The id inside a resource name `{collection}/{id}`: 1 to 64 ASCII letters, digits, `-` or `_`.
/// Anything else cannot name a resource of the suite, so it is refused before any lookup.
pub fn resource_id<'a>(name: &'a str, collection: &str) -> Result<&'a str, ValueError> {
    name.strip_prefix(collection).and_then(|rest| rest.strip_prefix('/')).filter(|id| is_resource_id(id)).ok_or_else(
        || {
            ValueError::new(
                "RESOURCE-NAME",
                format!(
                    "must look like {collection}/{{id}}, the id 1 to {MAX_RESOURCE_ID_CHARS} letters, digits, - or _"
                ),
            )
        },
    )
}

/// Converts a lifecycle state to and from its proto enum, whose values are named
/// `{prefix}{code}` (`ROUND_STATE_OPEN`); a filter that is not a state is refused with `rule`.
#[macro_export]
macro_rules! proto_states {
    ($state:ty, $proto:ty, $prefix:literal, $rule:literal, $what:literal) => {
        /// A state as its proto value.
        pub fn state_to_proto(state: $state) -> i32 {
            use $crate::__domain::lifecycle::Lifecycle as _;
            <$proto>::from_str_name(&format!(concat!($prefix, "{}"), state.code())).map_or(0, |s| s as i32)
        }

        /// A proto state filter as a state; `None` for UNSPECIFIED (any state).
        pub fn state_from_proto(value: i32) -> Result<Option<$state>, $crate::__domain::ValueError> {
            use $crate::__domain::lifecycle::Lifecycle as _;
            let bad = || $crate::__domain::ValueError::new($rule, $what);
            match <$proto>::try_from(value).map_err(|_| bad())? {
                <$proto>::Unspecified => Ok(None),
                known => known.as_str_name().strip_prefix($prefix).and_then(<$state>::parse).map(Some).ok_or_else(bad),
            }
        }
    };
}

/// A domain value as the wire shows it: a civil date as `qiancheng.type.v1.Date`, a county as
/// its code, a coded enum as its proto enum's number. Written once here, so that no handler
/// spells a conversion by hand.
pub trait IntoProto<P> {
    /// The value on the wire.
    fn into_proto(self) -> P;
}

/// A stored record, or a group of its columns, shown in message `M`: `#[derive(Shown)]`
/// (qiancheng-record) sets each message field the record has under the same name, through
/// [`IntoProto`], so that a column shown by the API is spelt in the migration, the record and the
/// proto and nowhere else.
pub trait Shown<M> {
    /// Sets the fields of `message` the record has.
    fn show_into(&self, message: &mut M);

    /// Moves the record's fields into `message` (a page of records is shown with no copy of each
    /// text).
    fn move_into(self, message: &mut M)
    where
        Self: Sized;

    /// The message with the record's fields set and the rest at their defaults, for the record's
    /// own conversion to complete (`Session { name: record.name(), ..record.shown() }`).
    fn shown(&self) -> M
    where
        M: Default,
    {
        let mut message = M::default();
        self.show_into(&mut message);
        message
    }

    /// The message made of the record's fields, moved, the rest at their defaults.
    fn into_shown(self) -> M
    where
        M: Default,
        Self: Sized,
    {
        let mut message = M::default();
        self.move_into(&mut message);
        message
    }
}

pub use qiancheng_record::Shown;

/// Values the wire carries as they are.
macro_rules! as_is {
    ($($ty:ty),*) => {
        $(impl IntoProto<$ty> for $ty {
            fn into_proto(self) -> $ty {
                self
            }
        })*
    };
}

as_is!(String, bool, i64, i32);

impl IntoProto<i32> for i64 {
    fn into_proto(self) -> i32 {
        int32(self)
    }
}

impl IntoProto<i32> for u32 {
    fn into_proto(self) -> i32 {
        int32(i64::from(self))
    }
}

impl IntoProto<Option<types::Date>> for NaiveDate {
    fn into_proto(self) -> Option<types::Date> {
        Some(date_to_proto(self))
    }
}

impl<T: IntoProto<P>, P> IntoProto<Vec<P>> for Vec<T> {
    fn into_proto(self) -> Vec<P> {
        self.into_iter().map(IntoProto::into_proto).collect()
    }
}

/// A domain value read from the wire, refused with a rule code when it is not one.
pub trait FromProto<P>: Sized {
    /// The value; `None` when the wire carries its empty or zero value.
    fn from_proto(value: P) -> Result<Option<Self>, ValueError>;

    /// The value, which must be there.
    fn required(value: P) -> Result<Self, ValueError>;
}

impl IntoProto<types::Date> for NaiveDate {
    fn into_proto(self) -> types::Date {
        date_to_proto(self)
    }
}

impl IntoProto<Option<types::Date>> for Option<NaiveDate> {
    fn into_proto(self) -> Option<types::Date> {
        self.map(date_to_proto)
    }
}

impl FromProto<Option<&types::Date>> for NaiveDate {
    fn from_proto(value: Option<&types::Date>) -> Result<Option<Self>, ValueError> {
        date(value)
    }
    fn required(value: Option<&types::Date>) -> Result<Self, ValueError> {
        required_date(value)
    }
}

impl IntoProto<String> for RegionCode {
    fn into_proto(self) -> String {
        self.code().to_owned()
    }
}

impl IntoProto<String> for &OccupationCode {
    fn into_proto(self) -> String {
        self.as_str().to_owned()
    }
}

impl IntoProto<String> for Option<OccupationCode> {
    fn into_proto(self) -> String {
        self.as_ref().map(IntoProto::into_proto).unwrap_or_default()
    }
}

impl IntoProto<String> for OccupationCode {
    fn into_proto(self) -> String {
        (&self).into_proto()
    }
}

impl IntoProto<types::RuleResult> for &qiancheng_domain::policy::RuleResult {
    fn into_proto(self) -> types::RuleResult {
        types::RuleResult {
            code: self.code.clone(),
            passed: self.passed,
            reason_zh: self.reason_zh.clone(),
            reason_en: self.reason_en.clone(),
        }
    }
}

/// A decision as the selection service shows it (its own message: see `selection.proto`).
impl IntoProto<crate::selection::Decision> for &qiancheng_domain::policy::Decision<bool> {
    fn into_proto(self) -> crate::selection::Decision {
        crate::selection::Decision {
            outcome: self.outcome,
            policy_version: self.policy_version.clone(),
            rules: self.rules.iter().map(IntoProto::into_proto).collect(),
        }
    }
}

/// A proto enum a coded domain enum is shown as: its value names are the domain codes behind a
/// prefix (`TRAINING_MODE_` + `OFFLINE`).
pub trait ProtoEnumOf<D> {
    /// The prefix of every value's name.
    const PREFIX: &'static str;
    /// The rule code of a value that is not one.
    const RULE: &'static str;
    /// What the values are, for messages (`a training mode`).
    const WHAT: &'static str;
}

/// A coded domain enum as the number of its proto enum `P`.
pub fn enum_to_proto<D: qiancheng_domain::Code, P: ProtoEnumOf<D> + ProtoEnumName>(value: D) -> i32 {
    P::number_of(&format!("{}{}", P::PREFIX, value.code_of())).unwrap_or(0)
}

/// A proto enum number as a coded domain enum; `None` for the zero value, refused with the
/// pair's rule code when it names no domain value.
pub fn enum_from_proto<D: qiancheng_domain::Code, P: ProtoEnumOf<D> + ProtoEnumName>(
    value: i32,
) -> Result<Option<D>, ValueError> {
    if value == 0 {
        return Ok(None);
    }
    P::name_of(value)
        .and_then(|name| name.strip_prefix(P::PREFIX))
        .and_then(D::from_code)
        .map(Some)
        .ok_or_else(|| ValueError::new(P::RULE, format!("{value} is not {}", P::WHAT)))
}

/// The names and numbers of a generated proto enum (implemented by the build for every one).
pub trait ProtoEnumName {
    /// The number of the value named `name`.
    fn number_of(name: &str) -> Option<i32>;
    /// The name of the value numbered `value`.
    fn name_of(value: i32) -> Option<&'static str>;
}

/// Pairs a coded domain enum with its proto enum: `IntoProto<i32>` and `FromProto<i32>` for the
/// domain enum (and its `Option`), by value names `{prefix}{code}`, refusing a number that is not
/// a value with `rule`.
#[macro_export]
macro_rules! proto_enum {
    ($domain:ty => $proto:ty, $prefix:literal, $rule:literal, $what:literal) => {
        $crate::proto_enum!(local $domain => $proto, $prefix, $rule, $what);
        impl $crate::convert::IntoProto<i32> for Option<$domain> {
            fn into_proto(self) -> i32 {
                self.map_or(0, |v| $crate::convert::enum_to_proto::<$domain, $proto>(v))
            }
        }
    };
    // A service's own enum: its `Option` is not the service's type, so it has no conversion here.
    (local $domain:ty => $proto:ty, $prefix:literal, $rule:literal, $what:literal) => {
        impl $crate::convert::ProtoEnumOf<$domain> for $proto {
            const PREFIX: &'static str = $prefix;
            const RULE: &'static str = $rule;
            const WHAT: &'static str = $what;
        }
        impl $crate::convert::IntoProto<i32> for $domain {
            fn into_proto(self) -> i32 {
                $crate::convert::enum_to_proto::<$domain, $proto>(self)
            }
        }
        impl $crate::convert::FromProto<i32> for $domain {
            fn from_proto(value: i32) -> Result<Option<Self>, $crate::__domain::ValueError> {
                $crate::convert::enum_from_proto::<$domain, $proto>(value)
            }
            fn required(value: i32) -> Result<Self, $crate::__domain::ValueError> {
                Self::from_proto(value)?
                    .ok_or_else(|| $crate::__domain::ValueError::new($rule, concat!($what, " is required")))
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip_through_their_proto_values() {
        for group in TargetGroup::ALL {
            assert_eq!(target_group(target_group_to_proto(*group)), Ok(*group));
        }
        for industry_value in Industry::ALL {
            assert_eq!(industry(industry_to_proto(*industry_value)), Ok(*industry_value));
        }
        for level in SkillLevel::ALL {
            assert_eq!(skill_level(skill_level_to_proto(Some(level))), Ok(Some(level)));
        }
        assert!(target_group(0).is_err());
        assert!(industry(99).is_err());
        assert!(skill_level(6).is_err());
    }

    #[test]
    fn dates_and_names_are_checked() {
        assert!(date(Some(&types::Date { year: 2026, month: 2, day: 30 })).is_err());
        assert_eq!(resource_id("vacancies/abc", "vacancies"), Ok("abc"));
        assert_eq!(resource_id("vacancies/01J-x_9", "vacancies"), Ok("01J-x_9"));
        assert!(resource_id("classes/' OR '1'='1", "classes").is_err());
        assert!(resource_id("classes/a.b", "classes").is_err());
        assert!(resource_id(&format!("classes/{}", "A".repeat(64)), "classes").is_ok());
        assert!(resource_id(&format!("classes/{}", "A".repeat(65)), "classes").is_err());
        assert!(resource_id("enterprises/abc", "vacancies").is_err());
        assert!(county("421200").is_err());
        assert!(county("421221").is_ok());
    }
}
