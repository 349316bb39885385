//! Resident ID numbers (居民身份证号码, GB 11643), rule PERSON-ID.
//!
//! An [`IdNumber`] is parsed once at the edge; behind it birth date and sex are read from the
//! number, never re-parsed. Its `Debug` prints the masked form so logs never hold a full number.

use chrono::{Datelike, NaiveDate};

use crate::error::{ValueError, serde_as_str};

const RULE: &str = "PERSON-ID";
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS: &[u8; 11] = b"10X98765432";
/// Province-level codes of GB/T 2260 (first two digits of the address code).
const PROVINCES: [u32; 34] = [
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63,
    64, 65, 71, 81, 82,
];

/// Sex (性别) as read from the 17th digit of an ID number: odd is male.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Sex {
    /// 男
    Male,
    /// 女
    Female,
}

/// A valid 18-character resident ID number (居民身份证号码), PERSON-ID.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdNumber(String);

impl IdNumber {
    /// Parse an ID number: 18 characters (surrounding spaces trimmed, a lower-case `x` accepted),
    /// a valid check character, a real birth date and an address code in a real province.
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let s = raw.trim().to_ascii_uppercase();
        let bytes = s.as_bytes();
        if bytes.len() != 18 || !s.is_ascii() {
            return Err(ValueError::new(RULE, "an id number has 18 characters"));
        }
        if !bytes[..17].iter().all(u8::is_ascii_digit) {
            return Err(ValueError::new(RULE, "the first 17 characters must be digits"));
        }
        if !(bytes[17].is_ascii_digit() || bytes[17] == b'X') {
            return Err(ValueError::new(RULE, "the check character must be a digit or x"));
        }
        let province = u32::from(bytes[0] - b'0') * 10 + u32::from(bytes[1] - b'0');
        if !PROVINCES.contains(&province) {
            return Err(ValueError::new(RULE, "the address code names no province"));
        }
        if birth_date_of(&s).is_none() {
            return Err(ValueError::new(RULE, "the birth date is not a real date"));
        }
        if check_char(&bytes[..17]) != bytes[17] {
            return Err(ValueError::new(RULE, "the check character does not match"));
        }
        Ok(Self(s))
    }

    /// The number, with an upper-case `X` if it has one.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The birth date encoded in characters 7–14.
    pub fn birth_date(&self) -> NaiveDate {
        birth_date_of(&self.0).unwrap_or(NaiveDate::MIN)
    }

    /// The sex encoded in the 17th character (odd = male).
    pub fn sex(&self) -> Sex {
        let digit = self.0.as_bytes()[16] - b'0';
        if digit % 2 == 1 { Sex::Male } else { Sex::Female }
    }

    /// The masked form for display and logs: first 6, eight `*`, last 4 (`421202********1234`).
    pub fn masked(&self) -> String {
        format!("{}********{}", &self.0[..6], &self.0[14..])
    }

    /// Completed years of age on `date` (ELIG-AGE). Someone born on 29 February becomes a year
    /// older on 1 March in a non-leap year.
    pub fn age_on(&self, date: NaiveDate) -> u32 {
        completed_years(self.birth_date(), date)
    }
}

/// Completed years between `birth` and `date`, zero if `date` is before `birth`.
pub(crate) fn completed_years(birth: NaiveDate, date: NaiveDate) -> u32 {
    if date < birth {
        return 0;
    }
    let mut years = date.year() - birth.year();
    if (date.month(), date.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    u32::try_from(years).unwrap_or(0)
}

/// The GB 11643 check character for the first 17 digits.
pub(crate) fn check_char(first17: &[u8]) -> u8 {
    let sum: u32 = first17.iter().zip(WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
    CHECK_CHARS[(sum % 11) as usize]
}

fn birth_date_of(s: &str) -> Option<NaiveDate> {
    let year: i32 = s.get(6..10)?.parse().ok()?;
    let month: u32 = s.get(10..12)?.parse().ok()?;
    let day: u32 = s.get(12..14)?.parse().ok()?;
    if year < 1900 {
        return None;
    }
    NaiveDate::from_ymd_opt(year, month, day)
}

impl std::fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("IdNumber").field(&self.masked()).finish()
    }
}

impl std::fmt::Display for IdNumber {
    /// Display is masked too: the full number is only available through [`IdNumber::as_str`].
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.masked())
    }
}

serde_as_str!(IdNumber, as_str);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn with_check(first17: &str) -> String {
        let c = check_char(first17.as_bytes()) as char;
        format!("{first17}{c}")
    }

    #[test]
    fn person_id_valid_number_parses() {
        let id = IdNumber::parse(&with_check("42120219900307123")).expect("valid");
        assert_eq!(id.birth_date(), NaiveDate::from_ymd_opt(1990, 3, 7).expect("date"));
        assert_eq!(id.sex(), Sex::Male);
        assert_eq!(id.masked(), format!("421202********{}", &id.as_str()[14..]));
    }

    #[test]
    fn person_id_known_x_check_lowercase_normalised() {
        // 11010519491231002X is the standard's worked example.
        let id = IdNumber::parse(" 11010519491231002x ").expect("valid");
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(id.sex(), Sex::Female);
    }

    #[test]
    fn person_id_refuses_bad_length_date_province_and_check() {
        for bad in [
            "4212021990030712",
            &with_check("42120219900230123"),
            &with_check("99120219900307123"),
            &with_check("42120218990307123"),
        ] {
            let err = IdNumber::parse(bad).expect_err(bad);
            assert_eq!(err.rule, "PERSON-ID");
        }
        let mut good = with_check("42120219900307123").into_bytes();
        good[17] = if good[17] == b'1' { b'2' } else { b'1' };
        let bad = String::from_utf8(good).expect("ascii");
        assert!(IdNumber::parse(&bad).is_err());
    }

    #[test]
    fn person_id_debug_is_masked() {
        let id = IdNumber::parse(&with_check("42120219900307123")).expect("valid");
        let debug = format!("{id:?}");
        assert!(!debug.contains(id.as_str()));
        assert!(debug.contains("421202********"));
    }

    #[test]
    fn elig_age_leap_day_birthday_turns_on_march_first() {
        let id = IdNumber::parse(&with_check("42120220080229123")).expect("valid");
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("date");
        assert_eq!(id.age_on(d(2025, 2, 28)), 16);
        assert_eq!(id.age_on(d(2024, 2, 28)), 15);
        assert_eq!(id.age_on(d(2024, 2, 29)), 16);
        assert_eq!(id.age_on(d(2023, 2, 28)), 14);
        assert_eq!(id.age_on(d(2023, 3, 1)), 15);
    }

    #[test]
    fn person_id_serde_round_trip_and_validates() {
        let id = IdNumber::parse(&with_check("42120219900307123")).expect("valid");
        let json = serde_json::to_string(&id).expect("ser");
        assert_eq!(json, format!("\"{}\"", id.as_str()));
        let back: IdNumber = serde_json::from_str(&json).expect("de");
        assert_eq!(back, id);
        assert!(serde_json::from_str::<IdNumber>("\"421202199003071230\"").is_err());
    }

    fn valid_first17() -> impl Strategy<Value = String> {
        (proptest::sample::select(PROVINCES.to_vec()), 0u32..10000, 1900i32..2025, 1u32..13, 1u32..29, 0u32..1000)
            .prop_map(|(p, area, y, m, d, seq)| format!("{p:02}{area:04}{y:04}{m:02}{d:02}{seq:03}"))
    }

    proptest! {
        #[test]
        fn person_id_computed_check_round_trips(first17 in valid_first17()) {
            let full = with_check(&first17);
            let id = IdNumber::parse(&full).expect("valid");
            prop_assert_eq!(id.as_str(), full.as_str());
        }

        #[test]
        fn person_id_one_character_mutation_is_refused(
            first17 in valid_first17(), pos in 0usize..18, delta in 1u8..10,
        ) {
            let mut bytes = with_check(&first17).into_bytes();
            if pos == 17 {
                let idx = CHECK_CHARS.iter().position(|c| *c == bytes[17]).expect("check char");
                bytes[17] = CHECK_CHARS[(idx + usize::from(delta)) % 11];
            } else {
                bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
            }
            let mutated = String::from_utf8(bytes).expect("ascii");
            prop_assert!(IdNumber::parse(&mutated).is_err());
        }
    }
}
