//! Brands (培训品牌, 二(四), PROJ-BRAND): a county's training brand, named place (or enterprise) +
//! occupation + 培训, standing for approved projects; the report shows each county's brands and
//! the counties still without one ("一县一品牌").

use qiancheng_api::convert;
use qiancheng_api::selection::*;
use qiancheng_domain::RegionCode;
use qiancheng_domain::policy::project::{proj_brand_name, proj_counties_without_brand};
use qiancheng_platform::PlatformError;
use qiancheng_platform::auth::Principal;
use qiancheng_platform::error::Violations;
use qiancheng_platform::idempotency::{self, IdempotencyKey, Started};
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::time::{new_id, now_micros};
use sqlx::Row as _;
use sqlx::any::AnyRow;
use tonic::Request;

use crate::State;
use crate::access;
use crate::error::SelectionError;

/// Most projects one brand names.
pub const MAX_PROJECTS: usize = 100;

fn corrupt(what: &str) -> SelectionError {
    PlatformError::Corrupt(format!("brand {what}")).into()
}

fn from_row(row: &AnyRow) -> Result<Brand, SelectionError> {
    let projects: Vec<String> =
        serde_json::from_str(&row.try_get::<String, _>("projects")?).map_err(|_| corrupt("projects"))?;
    Ok(Brand {
        name: format!("brands/{}", row.try_get::<String, _>("id")?),
        display_name: row.try_get("display_name")?,
        occupation_name: row.try_get("occupation_name")?,
        region_code: row.try_get("region_code")?,
        projects: projects.into_iter().map(|id| format!("projects/{id}")).collect(),
        create_time_micros: row.try_get("create_time_micros")?,
    })
}

/// RegisterBrand.
pub async fn register(
    state: &State,
    request: Request<RegisterBrandRequest>,
) -> Result<RegisterBrandResponse, SelectionError> {
    let principal = Principal::of(&request)?;
    let scope = access::officer_scope(&principal)?;
    let m = request.into_inner();
    let input = m.brand.clone().unwrap_or_default();
    let mut v = Violations::default();
    let display_name = v.value("brand.display_name", convert::text(&input.display_name, 100));
    let occupation_name = v.value("brand.occupation_name", convert::text(&input.occupation_name, 50));
    let region = v.value("brand.region_code", convert::county(&input.region_code));
    if let (Some(name), Some(occupation)) = (&display_name, &occupation_name) {
        let rule = proj_brand_name(name, occupation);
        if !rule.passed {
            v.add("brand.display_name", "PROJ-BRAND", rule.reason_en);
        }
    }
    let mut project_ids = Vec::new();
    for (i, project) in input.projects.iter().enumerate() {
        if let Some(id) = v.value(&format!("brand.projects[{i}]"), convert::resource_id(project, "projects")) {
            project_ids.push(id.to_owned());
        }
    }
    if input.projects.is_empty() || input.projects.len() > MAX_PROJECTS {
        v.add("brand.projects", "PROJ-BRAND", format!("a brand stands for 1 to {MAX_PROJECTS} approved projects"));
    }
    v.finish()?;
    let (Some(display_name), Some(occupation_name), Some(region)) = (display_name, occupation_name, region) else {
        unreachable!("every missing value was recorded as a violation, and finish() refused them")
    };
    access::check(&scope, region, "")?;
    let key = IdempotencyKey::new(&principal.subject, "RegisterBrand", &m.request_id, &m)?;
    let mut write = match idempotency::start(&state.db, key).await? {
        Started::Replayed(response) => return Ok(response),
        Started::Fresh(write) => write,
    };
    for (i, id) in project_ids.iter().enumerate() {
        let training_region: Option<String> =
            sqlx::query_scalar("SELECT training_region_code FROM project WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *write.tx)
                .await?;
        if training_region.as_deref() != Some(region.code()) {
            return Err(SelectionError::invalid(
                format!("brand.projects[{i}]"),
                "PROJ-BRAND",
                format!("projects/{id} is not an approved project trained in {}", region.name()),
            ));
        }
    }
    let taken: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM brand WHERE display_name = $1")
        .bind(&display_name)
        .fetch_one(&mut *write.tx)
        .await?;
    if taken > 0 {
        return Err(SelectionError::AlreadyExists {
            reason: "BRAND_EXISTS",
            message: format!("the brand {display_name} exists"),
        });
    }
    let id = new_id();
    let now = now_micros();
    sqlx::query(
        "INSERT INTO brand (id, display_name, occupation_name, region_code, projects, created_by, create_time_micros) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(&display_name)
    .bind(&occupation_name)
    .bind(region.code())
    .bind(serde_json::to_string(&project_ids).map_err(|e| PlatformError::Corrupt(e.to_string()))?)
    .bind(&principal.subject)
    .bind(now)
    .execute(&mut *write.tx)
    .await?;
    let name = format!("brands/{id}");
    let detail = serde_json::json!({ "brand": display_name, "region": region.code(), "projects": project_ids });
    state.audit(&mut write.tx, &principal, "brand.register", &name, detail).await?;
    let brand = Brand {
        name,
        display_name,
        occupation_name,
        region_code: region.code().to_owned(),
        projects: project_ids.iter().map(|id| format!("projects/{id}")).collect(),
        create_time_micros: now,
    };
    Ok(write.commit(RegisterBrandResponse { brand: Some(brand) }).await?)
}

/// ListBrands.
pub async fn list(state: &State, request: Request<ListBrandsRequest>) -> Result<ListBrandsResponse, SelectionError> {
    Principal::of(&request)?;
    let m = request.into_inner();
    let region =
        convert::region_filter(&m.region_code).map_err(|e| SelectionError::invalid("region_code", e.rule, e.reason))?;
    let page = PageRequest::parse(m.page_size, &m.page_token, &format!("brands|{}", region.map_or("", |r| r.code())))?;
    let rows = sqlx::query(
        "SELECT id, display_name, occupation_name, region_code, projects, create_time_micros FROM brand \
         WHERE id > $1 AND ($2 = '' OR region_code = $2) ORDER BY id LIMIT $3",
    )
    .bind(&page.after)
    .bind(region.map_or("", |r| r.code()))
    .bind(page.fetch_limit())
    .fetch_all(state.db.pool())
    .await?;
    let mut brands = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    let next_page_token = page.finish(&mut brands, |b| b.name.trim_start_matches("brands/").to_owned());
    Ok(ListBrandsResponse { brands, next_page_token })
}

/// GetBrandReport.
pub async fn report(
    state: &State,
    request: Request<GetBrandReportRequest>,
) -> Result<GetBrandReportResponse, SelectionError> {
    Principal::of(&request)?;
    let rows = sqlx::query("SELECT region_code, display_name FROM brand ORDER BY region_code, display_name")
        .fetch_all(state.db.pool())
        .await?;
    let mut counties: Vec<CountyBrands> = RegionCode::counties()
        .into_iter()
        .map(|c| CountyBrands { region_code: c.code().to_owned(), brands: Vec::new() })
        .collect();
    let mut with_brand = Vec::new();
    for row in &rows {
        let region = RegionCode::parse(&row.try_get::<String, _>("region_code")?).map_err(|_| corrupt("region"))?;
        if let Some(county) = counties.iter_mut().find(|c| c.region_code == region.code()) {
            county.brands.push(row.try_get("display_name")?);
        }
        with_brand.push(region);
    }
    Ok(GetBrandReportResponse {
        counties,
        counties_without_brand: proj_counties_without_brand(&with_brand)
            .into_iter()
            .map(|c| c.code().to_owned())
            .collect(),
    })
}
