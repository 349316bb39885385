//! 咸宁市 and its six county-level divisions (县市区), GB/T 2260 codes.
//!
//! The set is closed: these are the only regions the programme runs in. Development zones and
//! parks are areas inside a county, not regions.

use crate::error::{ValueError, serde_as_str};

/// A region of the programme: the city (市) or one of its six county-level divisions (县市区).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RegionCode {
    /// 421200 咸宁市 (the city).
    Xianning,
    /// 421202 咸安区.
    Xianan,
    /// 421221 嘉鱼县.
    Jiayu,
    /// 421222 通城县.
    Tongcheng,
    /// 421223 崇阳县.
    Chongyang,
    /// 421224 通山县.
    Tongshan,
    /// 421281 赤壁市.
    Chibi,
}

impl RegionCode {
    /// The city, 咸宁市.
    pub const CITY: RegionCode = RegionCode::Xianning;
    /// Every region, the city first.
    pub const ALL: [RegionCode; 7] = [
        RegionCode::Xianning,
        RegionCode::Xianan,
        RegionCode::Jiayu,
        RegionCode::Tongcheng,
        RegionCode::Chongyang,
        RegionCode::Tongshan,
        RegionCode::Chibi,
    ];

    /// The six county-level divisions.
    pub fn counties() -> [RegionCode; 6] {
        [
            RegionCode::Xianan,
            RegionCode::Jiayu,
            RegionCode::Tongcheng,
            RegionCode::Chongyang,
            RegionCode::Tongshan,
            RegionCode::Chibi,
        ]
    }

    /// Parse a 6-digit code (`421202`) or a Chinese name (`咸安区`).
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let s = raw.trim();
        Self::ALL
            .into_iter()
            .find(|r| r.code() == s || r.name() == s)
            .ok_or_else(|| ValueError::new("REGION-CODE", format!("{} is not a region of 咸宁市", crate::quote(s))))
    }

    /// The GB/T 2260 code.
    pub fn code(self) -> &'static str {
        match self {
            RegionCode::Xianning => "421200",
            RegionCode::Xianan => "421202",
            RegionCode::Jiayu => "421221",
            RegionCode::Tongcheng => "421222",
            RegionCode::Chongyang => "421223",
            RegionCode::Tongshan => "421224",
            RegionCode::Chibi => "421281",
        }
    }

    /// The Chinese name.
    pub fn name(self) -> &'static str {
        match self {
            RegionCode::Xianning => "咸宁市",
            RegionCode::Xianan => "咸安区",
            RegionCode::Jiayu => "嘉鱼县",
            RegionCode::Tongcheng => "通城县",
            RegionCode::Chongyang => "崇阳县",
            RegionCode::Tongshan => "通山县",
            RegionCode::Chibi => "赤壁市",
        }
    }

    /// Whether this is the city rather than a county.
    pub fn is_city(self) -> bool {
        self == RegionCode::CITY
    }

    /// Whether `other` lies in this region: the city contains every region, a county itself.
    pub fn contains(self, other: RegionCode) -> bool {
        self.is_city() || self == other
    }

    /// Whether a 6-digit administrative code lies in 咸宁 (4212xx), PROV-LOCAL.
    pub fn is_local_admin_code(code: &str) -> bool {
        code.len() == 6 && code.starts_with("4212") && code.bytes().all(|b| b.is_ascii_digit())
    }
}

impl std::fmt::Display for RegionCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

serde_as_str!(RegionCode, code);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_code_parses_code_and_name() {
        assert_eq!(RegionCode::parse("421281").expect("code"), RegionCode::Chibi);
        assert_eq!(RegionCode::parse("通山县").expect("name"), RegionCode::Tongshan);
        assert_eq!(RegionCode::parse("420100").expect_err("wuhan").rule, "REGION-CODE");
    }

    #[test]
    fn region_code_matches_reference_csv() {
        let csv = include_str!("../data/xianning-regions.csv");
        let rows: Vec<_> = csv.lines().skip(1).filter(|l| !l.is_empty()).collect();
        assert_eq!(rows.len(), 7);
        for row in rows {
            let cols: Vec<_> = row.split(',').collect();
            let region = RegionCode::parse(cols[0]).expect("listed");
            assert_eq!(region.name(), cols[1]);
        }
    }

    #[test]
    fn region_code_containment() {
        assert!(RegionCode::CITY.contains(RegionCode::Jiayu));
        assert!(RegionCode::Jiayu.contains(RegionCode::Jiayu));
        assert!(!RegionCode::Jiayu.contains(RegionCode::Chibi));
        assert!(!RegionCode::Jiayu.contains(RegionCode::CITY));
        assert_eq!(RegionCode::counties().len(), 6);
    }

    #[test]
    fn region_code_serde_as_code() {
        let json = serde_json::to_string(&RegionCode::Xianan).expect("ser");
        assert_eq!(json, "\"421202\"");
        assert_eq!(serde_json::from_str::<RegionCode>(&json).expect("de"), RegionCode::Xianan);
    }
}
