//! Enterprises (用人单位) that file demand: credit code, name, county, industry, and whether they
//! belong to a project in the county's key-project library (三(一)) with its expected start of
//! production.

use chrono::NaiveDate;
use qiancheng_api::convert;
use qiancheng_api::demand::*;
use qiancheng_domain::{Industry, RegionCode, Uscc};
use qiancheng_platform::call::id_of;
use qiancheng_platform::error::Violations;
use qiancheng_platform::mask::UpdateMask;
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::{Call, Error, Shared, Stamp, write};

use crate::access::{self, Scope};
use crate::store::enterprise::{self, EnterpriseRecord};

/// The editable fields of an enterprise, validated.
struct EnterpriseFields {
    display_name: Option<String>,
    region: Option<RegionCode>,
    industry: Option<Industry>,
    key_project: bool,
    key_project_name: String,
    expected_production_date: Option<NaiveDate>,
}

fn validate_fields(e: &Enterprise, v: &mut Violations) -> EnterpriseFields {
    let key_project_name = v.value("enterprise.key_project_name", convert::optional_text(&e.key_project_name, 200));
    let expected = v.value("enterprise.expected_production_date", convert::date(e.expected_production_date.as_ref()));
    if e.key_project && key_project_name.as_deref().is_none_or(str::is_empty) {
        v.add("enterprise.key_project_name", "REQUIRED", "a key-project enterprise names its key project");
    }
    if !e.key_project && key_project_name.as_deref().is_some_and(|n| !n.is_empty()) {
        v.add("enterprise.key_project", "DEMAND-KEY-PROJECT", "a key project name needs key_project set");
    }
    EnterpriseFields {
        display_name: v.value("enterprise.display_name", convert::text(&e.display_name, 200)),
        region: v.value("enterprise.region_code", convert::county(&e.region_code)),
        industry: v.value("enterprise.industry", convert::industry(e.industry)),
        key_project: e.key_project,
        key_project_name: key_project_name.unwrap_or_default(),
        expected_production_date: expected.flatten(),
    }
}

/// CreateEnterprise.
pub async fn create_enterprise(
    s: &Shared,
    call: Call<CreateEnterpriseRequest>,
) -> Result<CreateEnterpriseResponse, Error> {
    let scope = access::enterprise_write_scope(&call.principal)?;
    let input = call.message.enterprise.clone().unwrap_or_default();
    let mut v = Violations::default();
    let credit_code = v.value("enterprise.credit_code", Uscc::parse(&input.credit_code));
    let fields = validate_fields(&input, &mut v);
    v.finish()?;
    let (Some(credit_code), Some(display_name), Some(region), Some(industry)) =
        (credit_code, fields.display_name, fields.region, fields.industry)
    else {
        unreachable!("every missing value was recorded as a violation, and finish() refused them")
    };
    scope.check(region, credit_code.as_str())?;
    let record = EnterpriseRecord {
        credit_code: credit_code.as_str().to_owned(),
        display_name,
        region,
        industry,
        key_project: fields.key_project,
        key_project_name: fields.key_project_name,
        expected_production_date: fields.expected_production_date,
        stamp: Stamp::new(),
    };
    write::run(s, &call, async |change| {
        if enterprise::find(&mut *change.tx, &record.credit_code).await?.is_some() {
            return Err(Error::exists("ENTERPRISE_EXISTS", format!("{} is already registered", record.name())));
        }
        enterprise::insert(&mut change.tx, &record, &call.principal.subject).await?;
        change.audit(
            "enterprise.create",
            record.name(),
            serde_json::json!({ "region": record.region.code(), "industry": record.industry.code(),
                "key_project": record.key_project }),
        );
        Ok(CreateEnterpriseResponse { enterprise: Some(record.to_proto()) })
    })
    .await
}

/// GetEnterprise.
pub async fn get_enterprise(s: &Shared, call: Call<GetEnterpriseRequest>) -> Result<GetEnterpriseResponse, Error> {
    let scope = access::enterprise_read_scope(&call.principal)?;
    let credit_code = id_of(&call.message.name, "enterprises", "name")?;
    // Permission before existence: an enterprise asking for another's credit code learns nothing.
    if matches!(&scope, Scope::Org(own) if own != credit_code) {
        return Err(Error::denied("an enterprise sees only itself"));
    }
    let record = enterprise::find(s.db.pool(), credit_code).await?.ok_or_else(|| scope.missing(&call.message.name))?;
    scope.check(record.region, &record.credit_code)?;
    Ok(GetEnterpriseResponse { enterprise: Some(record.to_proto()) })
}

/// ListEnterprises.
pub async fn list_enterprises(
    s: &Shared,
    call: Call<ListEnterprisesRequest>,
) -> Result<ListEnterprisesResponse, Error> {
    let scope = access::enterprise_read_scope(&call.principal)?;
    let m = &call.message;
    let mut v = Violations::default();
    let region = v.value("region_code", convert::region_filter(&m.region_code)).flatten();
    v.finish()?;
    let page =
        PageRequest::parse(m.page_size, &m.page_token, &format!("enterprises|{}", region.map_or("", |r| r.code())))?;
    let rows = enterprise::list(s.db.pool(), &page.after, region, scope.sql(), page.fetch_limit()).await?;
    let (records, next_page_token) = page.finish_rows(rows, "credit_code", EnterpriseRecord::from_row)?;
    Ok(ListEnterprisesResponse {
        enterprises: records.iter().map(EnterpriseRecord::to_proto).collect(),
        next_page_token,
    })
}

/// UpdateEnterprise.
pub async fn update_enterprise(
    s: &Shared,
    call: Call<UpdateEnterpriseRequest>,
) -> Result<UpdateEnterpriseResponse, Error> {
    let scope = access::enterprise_write_scope(&call.principal)?;
    let input = call.message.enterprise.clone().unwrap_or_default();
    let credit_code = id_of(&input.name, "enterprises", "enterprise.name")?.to_owned();
    let mask = UpdateMask::parse(
        call.message.update_mask.as_ref(),
        &["display_name", "industry", "key_project", "key_project_name", "expected_production_date"],
    )?;
    write::run(s, &call, async |change| {
        let mut record =
            enterprise::find(&mut *change.tx, &credit_code).await?.ok_or_else(|| scope.missing(&input.name))?;
        scope.check(record.region, &record.credit_code)?;
        record.stamp.check(&input.etag)?;
        // Apply the masked fields onto the stored enterprise, then validate the result as a whole.
        let mut merged = record.to_proto();
        for path in mask.paths() {
            match path.as_str() {
                "display_name" => merged.display_name = input.display_name.clone(),
                "industry" => merged.industry = input.industry,
                "key_project" => merged.key_project = input.key_project,
                "key_project_name" => merged.key_project_name = input.key_project_name.clone(),
                _ => merged.expected_production_date = input.expected_production_date,
            }
        }
        let mut v = Violations::default();
        let fields = validate_fields(&merged, &mut v);
        v.finish()?;
        record.display_name = fields.display_name.unwrap_or(record.display_name);
        record.industry = fields.industry.unwrap_or(record.industry);
        record.key_project = fields.key_project;
        record.key_project_name = fields.key_project_name;
        record.expected_production_date = fields.expected_production_date;
        record.stamp.touch();
        enterprise::update(&mut change.tx, &record).await?;
        change.audit("enterprise.update", record.name(), serde_json::json!({ "fields": mask.paths() }));
        Ok(UpdateEnterpriseResponse { enterprise: Some(record.to_proto()) })
    })
    .await
}
