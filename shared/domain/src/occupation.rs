//! Occupation codes (职业编码) of the 2022 occupation classification (职业分类大典), PROJ-CATALOG.

use crate::error::{ValueError, serde_as_str};

/// An occupation code in the form `X-XX-XX-XX`, the first digit a major group 1–8.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OccupationCode(String);

impl OccupationCode {
    /// Parse `X-XX-XX-XX` (surrounding spaces trimmed).
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let s = raw.trim();
        let b = s.as_bytes();
        let shape_ok = b.len() == 10
            && b.iter().enumerate().all(|(i, c)| match i {
                1 | 4 | 7 => *c == b'-',
                _ => c.is_ascii_digit(),
            });
        if !shape_ok {
            return Err(ValueError::new(
                "OCCUPATION-CODE",
                format!("{} is not of the form x-xx-xx-xx", crate::quote(s)),
            ));
        }
        if !(b'1'..=b'8').contains(&b[0]) {
            return Err(ValueError::new("OCCUPATION-CODE", "the major group must be 1 to 8"));
        }
        Ok(Self(s.to_owned()))
    }

    /// The code, `X-XX-XX-XX`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The minor group (小类), the first three parts `X-XX-XX` (OUT-CERT: a related occupation).
    pub fn minor_group(&self) -> &str {
        // The code is ASCII `X-XX-XX-XX`, so the first seven bytes are the minor group.
        &self.0[..7]
    }

    /// Whether `other` is in the same minor group (小类).
    pub fn same_minor_group(&self, other: &OccupationCode) -> bool {
        self.minor_group() == other.minor_group()
    }
}

impl std::fmt::Display for OccupationCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

serde_as_str!(OccupationCode, as_str);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn occupation_code_shape() {
        assert_eq!(OccupationCode::parse(" 4-10-01-05 ").expect("valid").as_str(), "4-10-01-05");
        for bad in ["9-10-01-05", "0-10-01-05", "4-1-01-05", "4100105", "4-10-01-0A", ""] {
            assert_eq!(OccupationCode::parse(bad).expect_err(bad).rule, "OCCUPATION-CODE");
        }
    }

    #[test]
    fn out_cert_minor_group_is_the_first_three_parts() {
        let electrician = OccupationCode::parse("6-31-01-03").expect("valid");
        assert_eq!(electrician.minor_group(), "6-31-01");
        assert!(electrician.same_minor_group(&OccupationCode::parse("6-31-01-05").expect("valid")));
        assert!(!electrician.same_minor_group(&OccupationCode::parse("6-31-02-03").expect("valid")));
    }
}
