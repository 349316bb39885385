//! Enterprises (用人单位) as stored.

use chrono::NaiveDate;
use qiancheng_api::convert::Shown;
use qiancheng_domain::{Industry, RegionCode};
use qiancheng_platform::record::{self, Filter, Record};
use qiancheng_platform::{Error, Stamp, db::Tx};

/// An enterprise as stored.
#[derive(Debug, Clone, Record, Shown)]
#[record(table = "enterprise", key = "credit_code", what = "the enterprise")]
#[shown(message = "qiancheng_api::demand::Enterprise")]
pub struct EnterpriseRecord {
    /// Unified social credit code.
    pub credit_code: String,
    /// Registered name.
    pub display_name: String,
    /// County.
    #[column(name = "region_code", fixed)]
    pub region: RegionCode,
    /// Industry.
    pub industry: Industry,
    /// In the county's key-project library.
    pub key_project: bool,
    /// The key project's name.
    pub key_project_name: String,
    /// Expected start of production.
    pub expected_production_date: Option<NaiveDate>,
    /// Who registered it.
    #[column(fixed, hidden)]
    pub created_by: String,
    /// Revision and times.
    #[column(stamp)]
    pub stamp: Stamp,
}

impl EnterpriseRecord {
    /// The resource name.
    pub fn name(&self) -> String {
        format!("enterprises/{}", self.credit_code)
    }
}

/// The enterprises of `credit_codes` that are registered, by credit code (a query per 500).
pub async fn find_many(
    tx: &mut Tx,
    credit_codes: &[&str],
) -> Result<std::collections::HashMap<String, EnterpriseRecord>, Error> {
    let mut distinct: Vec<&str> = credit_codes.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    let mut found = std::collections::HashMap::new();
    for batch in distinct.chunks(500) {
        let filter = Filter::new().among("enterprise.credit_code", batch.iter().copied());
        for record in record::all::<EnterpriseRecord>(&mut **tx, filter, "").await? {
            found.insert(record.credit_code.clone(), record);
        }
    }
    Ok(found)
}
