//! Training brands (培训品牌, PROJ-BRAND) as stored: a county's brand, the approved projects it
//! stands for, and the note on a name outside the advised pattern.

use qiancheng_domain::RegionCode;
use qiancheng_platform::record::Record;

/// A brand as stored.
#[derive(Debug, Clone, PartialEq, Eq, Record)]
#[record(table = "brand", alias = "b", what = "the brand")]
pub struct BrandRecord {
    /// Id (ULID).
    pub id: String,
    /// The brand (嘉鱼焊工培训).
    pub display_name: String,
    /// The occupation it names.
    pub occupation_name: String,
    /// Its county.
    #[column(name = "region_code")]
    pub region: RegionCode,
    /// The ids of the projects it stands for.
    #[column(json)]
    pub projects: Vec<String>,
    /// Who registered it.
    #[column(fixed)]
    pub created_by: String,
    /// Registered, microseconds.
    pub create_time_micros: i64,
    /// PROJ-BRAND: the note on a name outside the advised pattern; empty when it follows it.
    pub note: String,
}

impl BrandRecord {
    /// The resource name.
    pub fn name(&self) -> String {
        format!("brands/{}", self.id)
    }
}
