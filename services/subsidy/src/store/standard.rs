//! Rows of the standards table (补贴标准, SUBS-STANDARD) as stored: never updated.

use chrono::NaiveDate;
use qiancheng_domain::policy::tables::{StandardSource, SubsidyStandard, SubsidyStandardTable};
use qiancheng_domain::{Money, OccupationCode, SkillLevel};
use qiancheng_platform::Error;
use qiancheng_platform::db::Reader;
use qiancheng_platform::record::{self, Filter, Record};

/// Where a row's figure comes from, by its stored code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// 《湖北省就业创业培训补贴标准参照表》.
    Provincial,
    /// Set by the city by reference (参照执行).
    CityReference,
    /// Set with the consent of the government of that level (本级人民政府).
    GovernmentConsent,
}

impl Source {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Source::Provincial => "PROVINCIAL",
            Source::CityReference => "CITY_REFERENCE",
            Source::GovernmentConsent => "GOVERNMENT_CONSENT",
        }
    }

    /// The source of a stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        [Source::Provincial, Source::CityReference, Source::GovernmentConsent].into_iter().find(|s| s.code() == code)
    }
}

/// A row of the standards table as stored.
#[derive(Debug, Clone, PartialEq, Eq, Record)]
#[record(table = "subsidy_standard", alias = "st", what = "the standard")]
pub struct StandardRecord {
    /// `{occupation}_{level}_{effective_from}`: one row per occupation, level and first day.
    pub id: String,
    /// The occupation.
    #[column(fixed)]
    pub occupation_code: OccupationCode,
    /// The occupation's name as the table prints it.
    #[column(fixed)]
    pub occupation_name: String,
    /// The skill level.
    #[column(fixed)]
    pub skill_level: SkillLevel,
    /// Yuan per trainee.
    #[column(fixed)]
    pub standard_fen: Money,
    /// [`Source`] by its code.
    #[column(fixed)]
    pub source: String,
    /// The document number, empty for the provincial table.
    #[column(fixed)]
    pub document_number: String,
    /// The first day in force.
    #[column(fixed)]
    pub effective_from: NaiveDate,
    /// Who added it.
    #[column(fixed)]
    pub created_by: String,
    /// When.
    #[column(fixed)]
    pub create_time_micros: i64,
}

impl StandardRecord {
    /// The key of the row of `occupation` at `level` from `effective_from`.
    pub fn id_of(occupation: &OccupationCode, level: SkillLevel, effective_from: NaiveDate) -> String {
        format!("{}_{}_{effective_from}", occupation.as_str(), level.code())
    }

    /// The resource name.
    pub fn name(&self) -> String {
        format!("standards/{}", self.id)
    }

    /// The row as the policy core takes it, ending on `effective_to`.
    pub fn to_policy(&self, effective_to: Option<NaiveDate>) -> SubsidyStandard {
        SubsidyStandard {
            occupation: self.occupation_code.clone(),
            level: self.skill_level,
            standard_fen: self.standard_fen,
            effective_from: self.effective_from,
            effective_to,
            source: match Source::from_code(&self.source) {
                Some(Source::Provincial) | None => StandardSource::Provincial,
                Some(_) => StandardSource::Local { document_number: self.document_number.clone() },
            },
        }
    }
}

/// Each row with the day it ends: the day before the next row of its occupation and level.
pub fn with_ends(rows: &[StandardRecord]) -> Vec<(&StandardRecord, Option<NaiveDate>)> {
    rows.iter()
        .map(|row| {
            let next = rows
                .iter()
                .filter(|r| {
                    r.occupation_code == row.occupation_code
                        && r.skill_level == row.skill_level
                        && r.effective_from > row.effective_from
                })
                .map(|r| r.effective_from)
                .min();
            (row, next.and_then(|d| d.pred_opt()))
        })
        .collect()
}

/// Every row of `occupation` (every level), oldest first.
pub async fn of_occupation<'c>(
    executor: impl Reader<'c>,
    occupation: &OccupationCode,
) -> Result<Vec<StandardRecord>, Error> {
    let filter = Filter::new().eq("st.occupation_code", occupation.as_str());
    record::all::<StandardRecord>(executor, filter, "st.id").await
}

/// The table of `occupation` as the policy core takes it.
pub fn table(rows: &[StandardRecord]) -> Result<SubsidyStandardTable, Error> {
    let entries = with_ends(rows).into_iter().map(|(row, end)| row.to_policy(end)).collect();
    SubsidyStandardTable::new(entries).map_err(|e| Error::corrupt(format!("the standards table: {e}")))
}
