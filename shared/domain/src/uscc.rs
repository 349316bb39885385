//! Unified social credit codes (统一社会信用代码, GB 32100), rule PROV-USCC.
//!
//! Strict parsing refuses a code whose check character fails. Some early pilot codes fail the
//! check although they were issued: [`Uscc::parse_pilot`] accepts them as well-formed codes with
//! [`Uscc::check_passed`] false, and the provider rule then requires an officer's recorded
//! override rather than letting them pass silently.

use crate::error::ValueError;

const RULE: &str = "PROV-USCC";
/// The 31 characters of GB 32100 (no I, O, S, V, Z).
pub(crate) const CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const WEIGHTS: [usize; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/// A unified social credit code (统一社会信用代码) of 18 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uscc {
    code: String,
    check_passed: bool,
}

impl Uscc {
    /// Parse a code strictly: well-formed and with a valid check character.
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let code = Self::parse_pilot(raw)?;
        if code.check_passed { Ok(code) } else { Err(ValueError::new(RULE, "the check character does not match")) }
    }

    /// Parse a well-formed code whose check character may fail (an early pilot code). The
    /// result says whether the check passed; a failed check needs an officer's override.
    pub fn parse_pilot(raw: &str) -> Result<Self, ValueError> {
        let code = raw.trim().to_ascii_uppercase();
        let bytes = code.as_bytes();
        if bytes.len() != 18 || !code.is_ascii() {
            return Err(ValueError::new(RULE, "a credit code has 18 characters"));
        }
        if bytes.iter().any(|b| !CHARSET.contains(b)) {
            return Err(ValueError::new(RULE, "a character is not in the gb 32100 set"));
        }
        if !bytes[2..8].iter().all(u8::is_ascii_digit) {
            return Err(ValueError::new(RULE, "characters 3 to 8 must be the 6-digit registration region"));
        }
        let check_passed = check_char(&bytes[..17]) == Some(bytes[17]);
        // A resident ID number has 18 characters too; taken as a "pilot" credit code whose check
        // fails, it would put a person's ID into resource names and the audit log.
        if !check_passed && crate::IdNumber::parse(&code).is_ok() {
            return Err(ValueError::new(RULE, "this is a resident ID number, not a credit code"));
        }
        Ok(Self { code, check_passed })
    }

    /// The code, upper case.
    pub fn as_str(&self) -> &str {
        &self.code
    }

    /// Whether the check character is valid (always true for [`Uscc::parse`]).
    pub fn check_passed(&self) -> bool {
        self.check_passed
    }

    /// The 6-digit administrative code of the registration region (characters 3–8).
    pub fn registration_region(&self) -> &str {
        &self.code[2..8]
    }
}

/// The GB 32100 check character for the first 17 characters, `None` if one is outside the set.
pub(crate) fn check_char(first17: &[u8]) -> Option<u8> {
    let mut sum = 0usize;
    for (b, w) in first17.iter().zip(WEIGHTS) {
        sum += CHARSET.iter().position(|c| c == b)? * w;
    }
    let check = (31 - sum % 31) % 31;
    Some(CHARSET[check])
}

impl std::fmt::Display for Uscc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.code)
    }
}

impl serde::Serialize for Uscc {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.code)
    }
}

impl<'de> serde::Deserialize<'de> for Uscc {
    /// Deserializing accepts pilot codes too (stored codes may be overridden pilots); the
    /// check result is recomputed, never trusted from the wire.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Uscc::parse_pilot(&raw).map_err(serde::de::Error::custom)
    }
}

impl std::str::FromStr for Uscc {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uscc::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn with_check(first17: &str) -> String {
        let c = check_char(first17.as_bytes()).expect("charset") as char;
        format!("{first17}{c}")
    }

    #[test]
    fn prov_uscc_a_resident_id_number_is_not_a_pilot_code() {
        let id = "0123456789X"
            .chars()
            .map(|c| format!("42122119900307123{c}"))
            .find(|id| crate::IdNumber::parse(id).is_ok())
            .expect("a valid ID number");
        assert!(Uscc::parse_pilot(&id).is_err());
    }

    #[test]
    fn prov_uscc_known_code_parses() {
        // A published code (国家市场监督管理总局's own) used as the standard's example.
        let code = Uscc::parse("91350100M000100Y43").expect("valid");
        assert!(code.check_passed());
        assert_eq!(code.registration_region(), "350100");
    }

    #[test]
    fn prov_uscc_strict_refuses_bad_check_pilot_accepts_it() {
        let good = with_check("91421202MA4ABCDE1");
        let last = good.as_bytes()[17];
        let other = if last == b'0' { '1' } else { '0' };
        let bad = format!("{}{other}", &good[..17]);
        let err = Uscc::parse(&bad).expect_err("check fails");
        assert_eq!(err.rule, "PROV-USCC");
        let pilot = Uscc::parse_pilot(&bad).expect("well-formed");
        assert!(!pilot.check_passed());
        assert_eq!(pilot.registration_region(), "421202");
    }

    #[test]
    fn prov_uscc_refuses_letters_outside_set_and_length() {
        assert!(Uscc::parse_pilot("91421202MA4ABCDEI1").is_err());
        assert!(Uscc::parse_pilot("9142120").is_err());
        assert!(Uscc::parse_pilot("91A21202MA4ABCDE11").is_err());
    }

    #[test]
    fn prov_uscc_lowercase_normalised_and_serde() {
        let good = with_check("91421202MA4ABCDE1");
        let code = Uscc::parse(&good.to_ascii_lowercase()).expect("valid");
        assert_eq!(code.as_str(), good);
        let json = serde_json::to_string(&code).expect("ser");
        assert_eq!(serde_json::from_str::<Uscc>(&json).expect("de"), code);
    }

    fn valid_first17() -> impl Strategy<Value = String> {
        let ch = proptest::sample::select(CHARSET.to_vec());
        (ch.clone(), ch.clone(), 0u32..1_000_000, proptest::collection::vec(ch, 9)).prop_map(|(a, b, region, org)| {
            let org: String = org.into_iter().map(char::from).collect();
            format!("{}{}{region:06}{org}", a as char, b as char)
        })
    }

    proptest! {
        #[test]
        fn prov_uscc_computed_check_round_trips(first17 in valid_first17()) {
            let full = with_check(&first17);
            let code = Uscc::parse(&full).expect("valid");
            prop_assert_eq!(code.as_str(), full.as_str());
        }

        #[test]
        fn prov_uscc_one_character_mutation_is_refused(
            first17 in valid_first17(), pos in 0usize..18, delta in 1usize..31,
        ) {
            let mut bytes = with_check(&first17).into_bytes();
            let idx = CHARSET.iter().position(|c| *c == bytes[pos]).expect("in set");
            bytes[pos] = CHARSET[(idx + delta) % 31];
            let mutated = String::from_utf8(bytes).expect("ascii");
            prop_assert!(Uscc::parse(&mutated).is_err());
        }
    }
}
