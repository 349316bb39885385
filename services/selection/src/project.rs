//! Approved projects (项目): what a decided round approved. A project carries what the classes
//! filed under it and the subsidy claimed for it need: the provider, the training county, the
//! occupation and level of its catalog item, the approved headcount, the round's method, the
//! cross-region consent and how it will be judged (PROJ-BASIS). Projects are made by
//! DecideRound; here they are read.

use qiancheng_api::convert;
use qiancheng_api::selection::*;
use qiancheng_platform::call::id_of;
use qiancheng_platform::error::Violations;
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::{Call, Error, Shared};

use crate::access;
use crate::store::project::{self, ProjectRecord};

/// GetProject: any authenticated caller; a county officer only projects of their county (where
/// they train, or whose round it was) and the city's.
pub async fn get_project(s: &Shared, call: Call<GetProjectRequest>) -> Result<GetProjectResponse, Error> {
    let name = &call.message.name;
    let id = id_of(name, "projects", "name")?;
    let record = project::find(s.db.pool(), id).await?.ok_or_else(|| access::missing_public(&call.principal, name))?;
    access::check_public(&call.principal, &[record.region, record.training_region])?;
    Ok(GetProjectResponse { project: Some(record.to_proto()) })
}

/// ListProjects: any authenticated caller (a county officer: their county's projects and the
/// city's); filters by training county and provider.
pub async fn list_projects(s: &Shared, call: Call<ListProjectsRequest>) -> Result<ListProjectsResponse, Error> {
    let confined = access::confined_county(&call.principal);
    let m = &call.message;
    let mut v = Violations::default();
    let region = v.value("region_code", convert::region_filter(&m.region_code)).flatten();
    let provider = m.provider_credit_code.trim();
    if provider.chars().count() > 18 {
        v.add("provider_credit_code", "PROV-USCC", "a credit code has 18 characters");
    }
    v.finish()?;
    let filter = (region.map_or("", |r| r.code()), provider);
    let page = PageRequest::parse(m.page_size, &m.page_token, &format!("projects|{}|{}", filter.0, filter.1))?;
    let confined = confined.map_or("", |c| c.code());
    let rows = project::list(s.db.pool(), &page.after, filter, confined, page.fetch_limit()).await?;
    let (records, next_page_token) = page.finish_rows(rows, "id", ProjectRecord::from_row)?;
    Ok(ListProjectsResponse { projects: records.iter().map(ProjectRecord::to_proto).collect(), next_page_token })
}
