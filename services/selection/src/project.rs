//! Approved projects (项目): what a decided round approved. A project carries what the classes
//! filed under it and the subsidy claimed for it need: the provider, the training county, the
//! occupation and level of its catalog item, the approved headcount, the round's method, the
//! cross-region consent and how it will be judged (PROJ-BASIS). Projects are made by
//! DecideRound; here they are read.

use qiancheng_api::convert;
use qiancheng_api::convert::Shown as _;
use qiancheng_api::selection::*;
use qiancheng_platform::call::id_of;
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::record::{self, Filter};
use qiancheng_platform::{Call, Error, Shared};

use crate::access;
use crate::store::project::ProjectRecord;

impl From<&ProjectRecord> for Project {
    /// The project as the API shows it.
    fn from(record: &ProjectRecord) -> Self {
        Project {
            name: record.name(),
            application: format!("applications/{}", record.application_id),
            round: format!("rounds/{}", record.round_id),
            catalog_item: format!("catalogItems/{}", record.catalog_item_id),
            ..record.shown()
        }
    }
}

/// GetProject: any authenticated caller; a county officer only projects of their county (where
/// they train, or whose round it was) and the city's.
pub async fn get_project(s: &Shared, call: Call<GetProjectRequest>) -> Result<GetProjectResponse, Error> {
    let name = &call.message.name;
    let found = record::find::<ProjectRecord>(s.db.pool(), id_of(name, "projects", "name")?).await?;
    let record = found.ok_or_else(|| access::missing_public(&call.principal, name))?;
    access::check_public(&call.principal, &[record.region, record.training_region])?;
    Ok(GetProjectResponse { project: Some(Project::from(&record)) })
}

/// ListProjects: any authenticated caller (a county officer: their county's projects and the
/// city's); filters by training county and provider.
pub async fn list_projects(s: &Shared, call: Call<ListProjectsRequest>) -> Result<ListProjectsResponse, Error> {
    let m = &call.message;
    let region = convert::region_filter(&m.region_code).map_err(|e| Error::invalid_value("region_code", e))?;
    let (region, provider) = (region.map(|r| r.code()), m.provider_credit_code.trim());
    let query = format!("projects|{}|{provider}", region.unwrap_or_default());
    let page = PageRequest::parse(m.page_size, &m.page_token, &query)?;
    let filter =
        Filter::new().eq_given("pr.training_region_code", region).eq_given("pr.provider_credit_code", Some(provider));
    let filter = access::public_within(&call.principal, filter, &["pr.training_region_code", "pr.region_code"]);
    let (records, next_page_token) = record::page::<ProjectRecord>(&s.db, filter, &page).await?;
    Ok(ListProjectsResponse { projects: records.iter().map(Project::from).collect(), next_page_token })
}
