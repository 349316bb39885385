//! Brands (培训品牌, 二(四), PROJ-BRAND): a county's training brand, named place (or enterprise) +
//! occupation + 培训, standing for approved projects trained there; the report shows each
//! county's brands and the counties still without one ("一县一品牌"). The plan says a brand "可以"
//! be so named: under policy set v2 a name outside the pattern is accepted with a note, stored and
//! shown with the brand; v1 refused it.

use qiancheng_api::convert;
use qiancheng_api::selection::*;
use qiancheng_domain::RegionCode;
use qiancheng_domain::policy::project::{proj_brand, proj_brand_name, proj_counties_without_brand};
use qiancheng_platform::error::Violations;
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::time::{new_id, now_micros};
use qiancheng_platform::{Call, Error, Shared, write};

use crate::access;
use crate::store::brand::{self, BrandRecord};
use crate::store::project;

/// Most projects one brand names.
pub const MAX_PROJECTS: usize = 100;

/// RegisterBrand: officers of the county register its brand for approved projects trained there.
pub async fn register_brand(s: &Shared, call: Call<RegisterBrandRequest>) -> Result<RegisterBrandResponse, Error> {
    let scope = access::officer_scope(&call.principal)?;
    let input = call.message.brand.clone().unwrap_or_default();
    let mut v = Violations::default();
    let display_name = v.value("brand.display_name", convert::text(&input.display_name, 100));
    let occupation_name = v.value("brand.occupation_name", convert::text(&input.occupation_name, 50));
    let region = v.value("brand.region_code", convert::county(&input.region_code));
    // PROJ-BRAND: the note a name outside the pattern is accepted with (v2), or the refusal (v1).
    let mut note = String::new();
    if let (Some(name), Some(occupation)) = (&display_name, &occupation_name) {
        let rule = proj_brand(&s.policy, name, occupation);
        if !rule.passed {
            v.add("brand.display_name", "PROJ-BRAND", rule.reason_en);
        } else if !proj_brand_name(name, occupation).passed {
            note = rule.reason_zh;
        }
    }
    let mut projects = Vec::new();
    for (i, project) in input.projects.iter().enumerate() {
        if let Some(id) = v.value(&format!("brand.projects[{i}]"), convert::resource_id(project, "projects")) {
            projects.push(id.to_owned());
        }
    }
    if input.projects.is_empty() || input.projects.len() > MAX_PROJECTS {
        v.add("brand.projects", "PROJ-BRAND", format!("a brand stands for 1 to {MAX_PROJECTS} approved projects"));
    }
    v.finish()?;
    let (Some(display_name), Some(occupation_name), Some(region)) = (display_name, occupation_name, region) else {
        unreachable!("every missing value was recorded as a violation, and finish() refused them")
    };
    scope.check(region, "")?;
    let record = BrandRecord {
        id: new_id(),
        display_name,
        occupation_name,
        region,
        projects,
        create_time_micros: now_micros(),
        note,
    };
    write::run(s, &call, async |change| {
        // PROJ-BRAND: a brand stands for approved projects trained in its county.
        for (i, id) in record.projects.iter().enumerate() {
            let trained_in = project::find(&mut *change.tx, id).await?.map(|p| p.training_region);
            if trained_in != Some(region) {
                return Err(Error::invalid(
                    format!("brand.projects[{i}]"),
                    "PROJ-BRAND",
                    format!("projects/{id} is not an approved project trained in {}", region.name()),
                ));
            }
        }
        if brand::name_taken(&mut change.tx, &record.display_name).await? {
            return Err(Error::exists("BRAND_EXISTS", format!("the brand {} exists", record.display_name)));
        }
        brand::insert(&mut change.tx, &record, &call.principal.subject).await?;
        change.audit(
            "brand.register",
            record.name(),
            serde_json::json!({ "brand": record.display_name, "region": region.code(), "projects": record.projects,
                "note": record.note }),
        );
        Ok(RegisterBrandResponse { brand: Some(record.to_proto()) })
    })
    .await
}

/// ListBrands: any authenticated caller, of a county if asked.
pub async fn list_brands(s: &Shared, call: Call<ListBrandsRequest>) -> Result<ListBrandsResponse, Error> {
    let m = &call.message;
    let region = convert::region_filter(&m.region_code).map_err(|e| Error::invalid_value("region_code", e))?;
    let region = region.map_or("", |r| r.code());
    let page = PageRequest::parse(m.page_size, &m.page_token, &format!("brands|{region}"))?;
    let rows = brand::list(s.db.pool(), &page.after, region, page.fetch_limit()).await?;
    let (records, next_page_token) = page.finish_rows(rows, "id", BrandRecord::from_row)?;
    Ok(ListBrandsResponse { brands: records.iter().map(BrandRecord::to_proto).collect(), next_page_token })
}

/// GetBrandReport: each county's brands and the counties with none ("一县一品牌", PROJ-BRAND).
pub async fn get_brand_report(s: &Shared, _call: Call<GetBrandReportRequest>) -> Result<GetBrandReportResponse, Error> {
    let brands = brand::names_by_county(s.db.pool()).await?;
    let counties = RegionCode::counties()
        .into_iter()
        .map(|c| CountyBrands {
            region_code: c.code().to_owned(),
            brands: brands.iter().filter(|(r, _)| *r == c).map(|(_, name)| name.clone()).collect(),
        })
        .collect();
    let with_brand: Vec<RegionCode> = brands.iter().map(|(r, _)| *r).collect();
    Ok(GetBrandReportResponse {
        counties,
        counties_without_brand: proj_counties_without_brand(&with_brand)
            .into_iter()
            .map(|c| c.code().to_owned())
            .collect(),
    })
}
