//! Catalog items (培训项目目录条目, PROJ-CATALOG) as stored: every version of an item is a row,
//! tied to the first by its lineage, each with its own [`CatalogItemState`].

use qiancheng_api::convert::Shown;
use qiancheng_domain::lifecycle::CatalogItemState;
use qiancheng_domain::policy::RuleResult;
use qiancheng_domain::policy::project::{CatalogItem as PolicyItem, InServiceBasis, TrainingMode, proj_catalog};
use qiancheng_domain::{Industry, OccupationCode, RegionCode, SkillLevel};
use qiancheng_platform::Stamp;
use qiancheng_platform::record::Record;

/// A catalog item as stored; a version's content never changes, only its state.
#[derive(Debug, Clone, PartialEq, Eq, Record, Shown)]
#[record(table = "catalog_item", alias = "c", what = "the catalog item")]
#[shown(message = "qiancheng_api::selection::CatalogItem")]
pub struct CatalogItemRecord {
    /// Id (ULID).
    #[column(hidden)]
    pub id: String,
    /// Id of the first version.
    pub lineage: String,
    /// Version within the lineage, from 1.
    pub version: i64,
    /// County or city.
    #[column(name = "region_code")]
    pub region: RegionCode,
    /// Industry.
    pub industry: Industry,
    /// Occupation code.
    pub occupation_code: String,
    /// Occupation name.
    pub occupation_name: String,
    /// Level.
    #[column(name = "skill_level")]
    pub level: SkillLevel,
    /// Headcount.
    pub headcount: i64,
    /// Skill requirements.
    pub skill_requirements: String,
    /// Content.
    pub content: String,
    /// Hours.
    pub hours: i64,
    /// Mode, if chosen.
    pub mode: Option<TrainingMode>,
    /// The demand it answers.
    #[column(json)]
    pub answers: Vec<String>,
    /// Where the item is in its lifecycle.
    pub state: CatalogItemState,
    /// PROJ-INSERVICE: the list or document naming the occupation as urgently needed; empty if
    /// none.
    pub urgent_occupation_reference: String,
    /// Who made this version.
    #[column(fixed, hidden)]
    pub created_by: String,
    /// Revision and times.
    #[column(stamp)]
    pub stamp: Stamp,
}

impl CatalogItemRecord {
    /// The resource name.
    pub fn name(&self) -> String {
        format!("catalogItems/{}", self.id)
    }

    /// PROJ-CATALOG: whether the item states everything a published item must.
    pub fn publishable(&self) -> RuleResult {
        let Ok(occupation) = OccupationCode::parse(&self.occupation_code) else {
            return RuleResult::fail(
                "PROJ-CATALOG",
                "清单条目缺少有效的职业编码",
                "the catalog item lacks a valid occupation code",
            );
        };
        let Some(mode) = self.mode else {
            return RuleResult::fail(
                "PROJ-CATALOG",
                "清单条目缺少培训方式",
                "the catalog item lacks its training mode",
            );
        };
        proj_catalog(&PolicyItem {
            occupation,
            occupation_name: self.occupation_name.clone(),
            level: self.level,
            headcount: u32::try_from(self.headcount).unwrap_or(0),
            skill_requirements: self.skill_requirements.clone(),
            content: self.content.clone(),
            hours: u32::try_from(self.hours).unwrap_or(0),
            mode,
            demand: self.answers.join("; "),
        })
    }

    /// PROJ-INSERVICE: the basis the item records for in-service projects (its industry and the
    /// reference naming the occupation urgently needed); `None` when it records no reference.
    pub fn in_service_basis(&self) -> Option<InServiceBasis> {
        let reference = self.urgent_occupation_reference.trim();
        (!reference.is_empty()).then(|| InServiceBasis {
            industry: self.industry,
            urgent_occupation_reference: Some(reference.to_owned()),
        })
    }

    /// PROJ-CATALOG: `None` while the item is in the published catalog, else why an application
    /// on it goes no further.
    pub fn no_longer_published(&self) -> Option<RuleResult> {
        (self.state != CatalogItemState::Published).then(|| {
            RuleResult::fail(
                "PROJ-CATALOG",
                format!("培训项目目录条目{}已不在公布目录中", self.name()),
                format!("{} is no longer in the published catalog", self.name()),
            )
        })
    }
}
