//! The selection service's storage: one module per resource, each with its records, declared
//! once (`#[derive(Record)]`), and the queries the platform's `record` functions do not already
//! give. Handlers call these with the transaction they run in (or a connection of the pool, for
//! reads); nothing here checks access or shows a record to the API, and the only rules here are
//! the ones a record states about itself.

pub mod application;
pub mod brand;
pub mod catalog;
pub mod expert;
pub mod project;
pub mod provider;
pub mod quota;
pub mod round;

/// The keys concurrent changes take turns on ([`qiancheng_platform::write::Change::serialize_on`]),
/// one per invariant that spans rows. On PostgreSQL writers run concurrently and each row is
/// updated optimistically; a rule that reads several rows and then writes (a quota several rounds
/// draw on, a round's state its applications and assignments depend on) is guarded by taking its
/// key first, before anything it depends on is read.
pub mod turn {
    use qiancheng_domain::RegionCode;

    /// PROJ-QUOTA: a county's (or the city's) quota for a year: deciding a round of it, setting it.
    pub fn quota(region: RegionCode, year: i64) -> String {
        format!("quota/{}/{year}", region.code())
    }

    /// A round's state and everything that depends on it: closing and deciding it, applications
    /// drafted, changed and submitted while it is open, experts assigned, withdrawn, recused and
    /// scoring until it is decided.
    pub fn round(id: &str) -> String {
        format!("round/{id}")
    }

    /// PROV-DISQUALIFIED: a provider's qualification and the applications it makes (a provider
    /// disqualified meanwhile cannot apply).
    pub fn provider(credit_code: &str) -> String {
        format!("provider/{credit_code}")
    }

    /// PROJ-CATALOG: drafting the catalog from demand, which skips what the catalog already
    /// answers.
    pub const DEMAND_DRAFTS: &str = "catalog/drafts-from-demand";
}
