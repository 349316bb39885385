//! Mainland mobile phone numbers (手机号码).

use crate::error::{ValueError, serde_as_str};

/// A mainland mobile number: 11 digits, starting `1` with a second digit 3–9. Debug is masked.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parse 11 digits (surrounding spaces trimmed).
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let s = raw.trim();
        let b = s.as_bytes();
        if b.len() != 11 || !b.iter().all(u8::is_ascii_digit) {
            return Err(ValueError::new("PHONE", "a mobile number has 11 digits"));
        }
        if b[0] != b'1' || !(b'3'..=b'9').contains(&b[1]) {
            return Err(ValueError::new("PHONE", "a mobile number starts with 13 to 19"));
        }
        Ok(Self(s.to_owned()))
    }

    /// The 11 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The masked form, `138****5678`.
    pub fn masked(&self) -> String {
        format!("{}****{}", &self.0[..3], &self.0[7..])
    }
}

impl std::fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("PhoneNumber").field(&self.masked()).finish()
    }
}

serde_as_str!(PhoneNumber, as_str);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_parses_and_masks() {
        let p = PhoneNumber::parse("13812345678").expect("valid");
        assert_eq!(p.masked(), "138****5678");
        assert!(!format!("{p:?}").contains("13812345678"));
        for bad in ["1381234567", "12812345678", "23812345678", "1381234567a"] {
            assert_eq!(PhoneNumber::parse(bad).expect_err(bad).rule, "PHONE");
        }
    }
}
