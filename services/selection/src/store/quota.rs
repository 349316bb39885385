//! Yearly quotas (名额, PROJ-QUOTA) as stored, each read with what the decided rounds of its
//! region and year have approved against it.

use qiancheng_domain::RegionCode;
use qiancheng_platform::record::Record;

/// A region's quota for a year, with what decided rounds have approved against it.
#[derive(Debug, Clone, PartialEq, Eq, Record)]
#[record(table = "quota", alias = "q", what = "the quota")]
pub struct QuotaRecord {
    /// The region and year, as [`QuotaRecord::id_of`] joins them (`421221-2026`).
    pub id: String,
    /// County or city.
    #[column(name = "region_code")]
    pub region: RegionCode,
    /// Calendar year.
    pub year: i64,
    /// Trainees that may be approved.
    pub trainees: i64,
    /// What the figure rests on.
    pub basis: String,
    /// Who set it last.
    pub set_by: String,
    /// Changed, microseconds.
    pub update_time_micros: i64,
    /// Approved so far: the headcount of the decided rounds of the region whose deadline falls
    /// in the year.
    #[column(computed = "(SELECT CAST(COALESCE(SUM(r.approved_headcount), 0) AS BIGINT) FROM selection_round r \
        WHERE r.region_code = q.region_code AND r.state = 'DECIDED' AND substr(r.deadline, 1, 4) = CAST(q.year AS TEXT))")]
    pub approved: i64,
}

impl QuotaRecord {
    /// The key of the quota of `region` for `year` (`421221-2026`), also its resource id.
    pub fn id_of(region: RegionCode, year: i64) -> String {
        format!("{}-{year}", region.code())
    }

    /// What is left to approve.
    pub fn remaining(&self) -> i64 {
        (self.trainees - self.approved).max(0)
    }
}
