//! Tables as data: subsidy standards (补贴标准) and monthly minimum wages (最低工资标准).
//!
//! Neither table is available as verified data, so code takes them as input. An administrator
//! fills them; every figure in this crate's tests is a labelled sample.

use chrono::NaiveDate;

use crate::{Error, Money, OccupationCode, RegionCode, SkillLevel};

/// Where a subsidy standard comes from, SUBS-STANDARD.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StandardSource {
    /// 《湖北省就业创业培训补贴标准参照表》.
    Provincial,
    /// A standard the city set by reference or with the government's consent.
    Local {
        /// The approving document number (文号).
        document_number: String,
    },
}

/// One standard: occupation × level → yuan per trainee, with its effective dates.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SubsidyStandard {
    /// The occupation.
    pub occupation: OccupationCode,
    /// The skill level.
    pub level: SkillLevel,
    /// The standard per trainee, in fen.
    pub standard_fen: Money,
    /// First day in force.
    pub effective_from: NaiveDate,
    /// Last day in force, open if absent.
    #[serde(default)]
    pub effective_to: Option<NaiveDate>,
    /// Where the figure comes from.
    pub source: StandardSource,
}

impl SubsidyStandard {
    fn in_force_on(&self, date: NaiveDate) -> bool {
        self.effective_from <= date && self.effective_to.is_none_or(|to| date <= to)
    }

    fn overlaps(&self, other: &SubsidyStandard) -> bool {
        let end = |s: &SubsidyStandard| s.effective_to.unwrap_or(NaiveDate::MAX);
        self.occupation == other.occupation
            && self.level == other.level
            && self.effective_from <= end(other)
            && other.effective_from <= end(self)
    }
}

/// The subsidy standard table (补贴标准表), SUBS-STANDARD.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "Vec<SubsidyStandard>", into = "Vec<SubsidyStandard>")]
pub struct SubsidyStandardTable {
    entries: Vec<SubsidyStandard>,
}

impl SubsidyStandardTable {
    /// A table from its entries; two entries for the same occupation and level may not overlap
    /// in time, so a lookup never has to choose.
    pub fn new(entries: Vec<SubsidyStandard>) -> Result<Self, Error> {
        for (i, a) in entries.iter().enumerate() {
            if a.effective_to.is_some_and(|to| to < a.effective_from) {
                return Err(Error::Table(format!("standard for {} {} ends before it starts", a.occupation, a.level)));
            }
            if entries[i + 1..].iter().any(|b| a.overlaps(b)) {
                return Err(Error::Table(format!("two standards for {} {} overlap in time", a.occupation, a.level)));
            }
        }
        Ok(Self { entries })
    }

    /// The standard in force on `date` for `occupation` at `level`.
    pub fn lookup(&self, occupation: &OccupationCode, level: SkillLevel, date: NaiveDate) -> Option<&SubsidyStandard> {
        self.entries.iter().find(|s| &s.occupation == occupation && s.level == level && s.in_force_on(date))
    }

    /// The entries.
    pub fn entries(&self) -> &[SubsidyStandard] {
        &self.entries
    }
}

impl TryFrom<Vec<SubsidyStandard>> for SubsidyStandardTable {
    type Error = Error;
    fn try_from(entries: Vec<SubsidyStandard>) -> Result<Self, Error> {
        Self::new(entries)
    }
}

impl From<SubsidyStandardTable> for Vec<SubsidyStandard> {
    fn from(table: SubsidyStandardTable) -> Self {
        table.entries
    }
}

/// A county-level region of China by its six-digit GB/T 2260 code (`421202`, or `420106` for
/// 武汉市武昌区): where work is done, whose minimum wage applies (OUT-EMP-SERVICE). A trainee
/// sent to work outside 咸宁 is paid against the minimum wage of where they work, so the region is
/// not limited to 咸宁's; 咸宁's own are [`RegionCode`]s.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WageRegion(String);

impl WageRegion {
    /// Parse a six-digit code, or the Chinese name of a region of 咸宁.
    pub fn parse(raw: &str) -> Result<Self, crate::ValueError> {
        let s = raw.trim();
        if s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit()) && !s.starts_with('0') {
            return Ok(Self(s.to_owned()));
        }
        RegionCode::parse(s).map(Self::from).map_err(|_| {
            crate::ValueError::new("REGION-CODE", format!("{} is not a six-digit region code", crate::quote(s)))
        })
    }

    /// The six-digit code.
    pub fn code(&self) -> &str {
        &self.0
    }

    /// The prefecture-level region it belongs to (`421202` → `421200`), whose figure applies
    /// where the county has none of its own; itself for a prefecture.
    pub fn prefecture(&self) -> Self {
        Self(format!("{}00", &self.0[..4]))
    }
}

impl From<RegionCode> for WageRegion {
    fn from(region: RegionCode) -> Self {
        Self(region.code().to_owned())
    }
}

impl std::fmt::Display for WageRegion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for WageRegion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for WageRegion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        WageRegion::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// One monthly minimum wage: a region's figure from a date on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MinimumWage {
    /// The county-level region (of 咸宁 or elsewhere), or a prefecture (`421200` for 咸宁市) for
    /// a figure that applies to each of its counties without its own.
    pub region: WageRegion,
    /// First day in force; in force until the region's next entry.
    pub effective_from: NaiveDate,
    /// The monthly minimum wage in fen.
    pub monthly_fen: Money,
}

/// The monthly minimum wage table (月最低工资标准), per county with effective dates.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "Vec<MinimumWage>", into = "Vec<MinimumWage>")]
pub struct MinimumWageTable {
    entries: Vec<MinimumWage>,
}

impl MinimumWageTable {
    /// A table from its entries; a region may not have two entries from the same date.
    pub fn new(entries: Vec<MinimumWage>) -> Result<Self, Error> {
        for (i, a) in entries.iter().enumerate() {
            if entries[i + 1..].iter().any(|b| a.region == b.region && a.effective_from == b.effective_from) {
                return Err(Error::Table(format!("two minimum wages for {} from {}", a.region, a.effective_from)));
            }
        }
        Ok(Self { entries })
    }

    /// The monthly minimum wage in `region` on `date`: the region's latest entry in force,
    /// falling back to its prefecture's (the city's, for a county of 咸宁).
    pub fn lookup(&self, region: impl Into<WageRegion>, date: NaiveDate) -> Option<Money> {
        let region = region.into();
        let latest = |r: &WageRegion| {
            self.entries
                .iter()
                .filter(|w| &w.region == r && w.effective_from <= date)
                .max_by_key(|w| w.effective_from)
                .map(|w| w.monthly_fen)
        };
        latest(&region).or_else(|| latest(&region.prefecture()))
    }
}

impl TryFrom<Vec<MinimumWage>> for MinimumWageTable {
    type Error = Error;
    fn try_from(entries: Vec<MinimumWage>) -> Result<Self, Error> {
        Self::new(entries)
    }
}

impl From<MinimumWageTable> for Vec<MinimumWage> {
    fn from(table: MinimumWageTable) -> Self {
        table.entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    fn occ() -> OccupationCode {
        OccupationCode::parse("4-10-01-05").expect("code")
    }

    #[test]
    fn subs_standard_lookup_by_effective_date() {
        let table = SubsidyStandardTable::new(vec![
            SubsidyStandard {
                occupation: occ(),
                level: SkillLevel::Level4,
                standard_fen: Money::from_fen(150_000), // SAMPLE figure, not an official standard
                effective_from: d(2025, 1, 1),
                effective_to: Some(d(2025, 12, 31)),
                source: StandardSource::Provincial,
            },
            SubsidyStandard {
                occupation: occ(),
                level: SkillLevel::Level4,
                standard_fen: Money::from_fen(160_000), // SAMPLE figure, not an official standard
                effective_from: d(2026, 1, 1),
                effective_to: None,
                source: StandardSource::Local { document_number: "SAMPLE〔2025〕1号".to_owned() },
            },
        ])
        .expect("valid");
        let s = |date| table.lookup(&occ(), SkillLevel::Level4, date).map(|s| s.standard_fen);
        assert_eq!(s(d(2025, 12, 31)), Some(Money::from_fen(150_000)));
        assert_eq!(s(d(2026, 1, 1)), Some(Money::from_fen(160_000)));
        assert_eq!(s(d(2024, 12, 31)), None);
        assert!(table.lookup(&occ(), SkillLevel::Level3, d(2025, 6, 6)).is_none());
        let json = serde_json::to_string(&table).expect("ser");
        assert_eq!(serde_json::from_str::<SubsidyStandardTable>(&json).expect("de"), table);
    }

    #[test]
    fn subs_standard_overlapping_entries_refused() {
        let entry = SubsidyStandard {
            occupation: occ(),
            level: SkillLevel::Level4,
            standard_fen: Money::from_fen(100_000), // SAMPLE figure, not an official standard
            effective_from: d(2025, 1, 1),
            effective_to: None,
            source: StandardSource::Provincial,
        };
        assert!(SubsidyStandardTable::new(vec![entry.clone(), entry]).is_err());
    }

    #[test]
    fn minimum_wage_by_county_and_date_with_city_fallback() {
        // The 2210 and 2130 figures are Hubei tiers; which tier each county is in is a SAMPLE.
        let table = MinimumWageTable::new(vec![
            MinimumWage {
                region: RegionCode::CITY.into(),
                effective_from: d(2021, 12, 1),
                monthly_fen: Money::from_fen(221_000),
            },
            MinimumWage {
                region: RegionCode::Chibi.into(),
                effective_from: d(2025, 12, 1),
                monthly_fen: Money::from_fen(213_000),
            },
        ])
        .expect("valid");
        assert_eq!(table.lookup(RegionCode::Chibi, d(2025, 11, 30)), Some(Money::from_fen(221_000)));
        assert_eq!(table.lookup(RegionCode::Chibi, d(2025, 12, 1)), Some(Money::from_fen(213_000)));
        assert_eq!(table.lookup(RegionCode::Jiayu, d(2026, 1, 1)), Some(Money::from_fen(221_000)));
        assert_eq!(table.lookup(RegionCode::Jiayu, d(2020, 1, 1)), None);
    }

    #[test]
    fn minimum_wage_of_a_region_outside_xianning_falls_back_to_its_prefecture_only() {
        let wuhan = WageRegion::parse("420100").expect("code");
        let wuchang = WageRegion::parse("420106").expect("code");
        let table = MinimumWageTable::new(vec![
            MinimumWage {
                region: RegionCode::CITY.into(),
                effective_from: d(2021, 12, 1),
                monthly_fen: Money::from_fen(221_000),
            },
            MinimumWage { region: wuhan, effective_from: d(2025, 1, 1), monthly_fen: Money::from_fen(250_000) },
        ])
        .expect("valid");
        assert_eq!(table.lookup(wuchang.clone(), d(2025, 6, 1)), Some(Money::from_fen(250_000)));
        assert_eq!(table.lookup(wuchang, d(2024, 6, 1)), None, "never 咸宁's figure for work elsewhere");
        assert_eq!(table.lookup(WageRegion::parse("310101").expect("code"), d(2025, 6, 1)), None);
        assert!(WageRegion::parse("42120").is_err() && WageRegion::parse("abcdef").is_err());
        assert_eq!(WageRegion::parse("咸安区").expect("a name of 咸宁").code(), "421202");
    }
}
