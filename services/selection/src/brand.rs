//! Brands (培训品牌, 二(四), PROJ-BRAND): a county's training brand, named place (or enterprise) +
//! occupation + 培训, standing for approved projects trained there; the report shows each
//! county's brands and the counties still without one ("一县一品牌"). The plan says a brand "可以"
//! be so named: under policy set v2 a name outside the pattern is accepted with a note, stored and
//! shown with the brand; v1 refused it.

use qiancheng_api::selection::*;
use qiancheng_api::{IntoProto as _, convert};
use qiancheng_domain::RegionCode;
use qiancheng_domain::policy::project::{proj_brand, proj_brand_name, proj_counties_without_brand};
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::record::{self, Filter};
use qiancheng_platform::time::{new_id, now_micros};
use qiancheng_platform::{Call, Error, Shared, write};

use crate::access;
use crate::store::brand::BrandRecord;
use crate::store::project::ProjectRecord;

impl From<&BrandRecord> for Brand {
    /// The brand as the API shows it.
    fn from(record: &BrandRecord) -> Self {
        Brand {
            name: record.name(),
            display_name: record.display_name.clone(),
            occupation_name: record.occupation_name.clone(),
            region_code: record.region.into_proto(),
            projects: record.projects.iter().map(|id| format!("projects/{id}")).collect(),
            create_time_micros: record.create_time_micros,
            note: record.note.clone(),
        }
    }
}

/// RegisterBrand: officers of the county register its brand for approved projects trained there.
pub async fn register_brand(s: &Shared, call: Call<RegisterBrandRequest>) -> Result<RegisterBrandResponse, Error> {
    let scope = access::officer_scope(&call.principal)?;
    let input = call.message.brand.clone().unwrap_or_default();
    let region = convert::county(&input.region_code).map_err(|e| Error::invalid_value("brand.region_code", e))?;
    let (display_name, occupation_name) = (input.display_name.trim(), input.occupation_name.trim());
    // PROJ-BRAND: the note a name outside the pattern is accepted with (v2), or the refusal (v1).
    let rule = proj_brand(&s.policy, display_name, occupation_name);
    if !rule.passed {
        return Err(Error::invalid("brand.display_name", "PROJ-BRAND", rule.reason_en));
    }
    let note = if proj_brand_name(display_name, occupation_name).passed { String::new() } else { rule.reason_zh };
    scope.check(region, "")?;
    let record = BrandRecord {
        id: new_id(),
        display_name: display_name.to_owned(),
        occupation_name: occupation_name.to_owned(),
        region,
        // The proto's rule checked every name.
        projects: input
            .projects
            .iter()
            .filter_map(|p| convert::resource_id(p, "projects").ok())
            .map(str::to_owned)
            .collect(),
        created_by: call.principal.subject.clone(),
        create_time_micros: now_micros(),
        note,
    };
    write::run(s, &call, async |change| {
        // PROJ-BRAND: a brand stands for approved projects trained in its county.
        for (i, id) in record.projects.iter().enumerate() {
            let trained_in = record::find::<ProjectRecord>(&mut *change.tx, id).await?.map(|p| p.training_region);
            if trained_in != Some(region) {
                return Err(Error::invalid(
                    format!("brand.projects[{i}]"),
                    "PROJ-BRAND",
                    format!("projects/{id} is not an approved project trained in {}", region.name()),
                ));
            }
        }
        let same_name = Filter::new().eq("b.display_name", record.display_name.as_str());
        if record::count::<BrandRecord>(&mut *change.tx, same_name).await? > 0 {
            return Err(Error::exists("BRAND_EXISTS", format!("the brand {} exists", record.display_name)));
        }
        record::insert(&mut change.tx, &record).await?;
        change.audit(
            "brand.register",
            record.name(),
            serde_json::json!({ "brand": record.display_name, "region": region.code(), "projects": record.projects,
                "note": record.note }),
        );
        Ok(RegisterBrandResponse { brand: Some(Brand::from(&record)) })
    })
    .await
}

/// ListBrands: any authenticated caller, of a county if asked.
pub async fn list_brands(s: &Shared, call: Call<ListBrandsRequest>) -> Result<ListBrandsResponse, Error> {
    let m = &call.message;
    let region = convert::region_filter(&m.region_code).map_err(|e| Error::invalid_value("region_code", e))?;
    let region = region.map(|r| r.code());
    let page = PageRequest::parse(m.page_size, &m.page_token, &format!("brands|{}", region.unwrap_or_default()))?;
    let filter = Filter::new().eq_given("b.region_code", region);
    let (records, next_page_token) = record::page::<BrandRecord>(&s.db, filter, &page).await?;
    Ok(ListBrandsResponse { brands: records.iter().map(Brand::from).collect(), next_page_token })
}

/// GetBrandReport: each county's brands and the counties with none ("一县一品牌", PROJ-BRAND).
pub async fn get_brand_report(s: &Shared, _call: Call<GetBrandReportRequest>) -> Result<GetBrandReportResponse, Error> {
    let brands = record::list::<BrandRecord>(s.db.pool(), Filter::new(), "b.region_code, b.display_name").await?;
    let counties = RegionCode::counties()
        .into_iter()
        .map(|c| CountyBrands {
            region_code: c.into_proto(),
            brands: brands.iter().filter(|b| b.region == c).map(|b| b.display_name.clone()).collect(),
        })
        .collect();
    let with_brand: Vec<RegionCode> = brands.iter().map(|b| b.region).collect();
    let without = proj_counties_without_brand(&with_brand);
    Ok(GetBrandReportResponse {
        counties,
        counties_without_brand: without.into_iter().map(|c| c.into_proto()).collect(),
    })
}
