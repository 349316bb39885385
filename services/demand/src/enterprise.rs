//! Enterprises (用人单位) that file demand: credit code, name, county, industry, and whether they
//! belong to a project in the county's key-project library (三(一)) with its expected start of
//! production.

use chrono::NaiveDate;
use qiancheng_api::convert::Shown as _;
use qiancheng_api::demand::*;
use qiancheng_api::{FromProto as _, convert};
use qiancheng_domain::{Industry, RegionCode, Uscc};
use qiancheng_platform::call::id_of;
use qiancheng_platform::error::Violations;
use qiancheng_platform::mask::UpdateMask;
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::record::{self, Filter};
use qiancheng_platform::{Call, Error, Shared, Stamp, write};

use crate::access::{self, Scope};
use crate::store::enterprise::EnterpriseRecord;

/// The editable fields of an enterprise, validated beyond what the proto declares: the county,
/// and the key project's name only beside `key_project` (三(一)).
fn validate_fields(e: &Enterprise, v: &mut Violations) -> (Option<RegionCode>, Option<Industry>, Option<NaiveDate>) {
    let key_project_name = e.key_project_name.trim();
    if e.key_project && key_project_name.is_empty() {
        v.add("enterprise.key_project_name", "REQUIRED", "a key-project enterprise names its key project");
    }
    if !e.key_project && !key_project_name.is_empty() {
        v.add("enterprise.key_project", "DEMAND-KEY-PROJECT", "a key project name needs key_project set");
    }
    (
        v.value("enterprise.region_code", convert::county(&e.region_code)),
        v.value("enterprise.industry", Industry::required(e.industry)),
        v.value("enterprise.expected_production_date", NaiveDate::from_proto(e.expected_production_date.as_ref()))
            .flatten(),
    )
}

impl From<&EnterpriseRecord> for Enterprise {
    /// The enterprise as the API shows it.
    fn from(record: &EnterpriseRecord) -> Self {
        Enterprise { name: record.name(), ..record.shown() }
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
    let (region, industry, expected_production_date) = validate_fields(&input, &mut v);
    v.finish()?;
    let (Some(credit_code), Some(region), Some(industry)) = (credit_code, region, industry) else {
        unreachable!("every missing value was recorded as a violation, and finish() refused them")
    };
    scope.check(region, credit_code.as_str())?;
    let record = EnterpriseRecord {
        credit_code: credit_code.as_str().to_owned(),
        display_name: input.display_name.trim().to_owned(),
        region,
        industry,
        key_project: input.key_project,
        key_project_name: input.key_project_name.trim().to_owned(),
        expected_production_date,
        created_by: call.principal.subject.clone(),
        stamp: Stamp::new(),
    };
    write::run(s, &call, async |change| {
        if record::find::<EnterpriseRecord>(&mut *change.tx, record.credit_code.as_str()).await?.is_some() {
            return Err(Error::exists("ENTERPRISE_EXISTS", format!("{} is already registered", record.name())));
        }
        record::insert(&mut change.tx, &record).await?;
        change.audit(
            "enterprise.create",
            record.name(),
            serde_json::json!({ "region": record.region.code(), "industry": record.industry.code(),
                "key_project": record.key_project }),
        );
        Ok(CreateEnterpriseResponse { enterprise: Some(Enterprise::from(&record)) })
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
    let found = record::find::<EnterpriseRecord>(s.db.pool(), credit_code).await?;
    let found = found.ok_or_else(|| scope.missing(&call.message.name))?;
    scope.check(found.region, &found.credit_code)?;
    Ok(GetEnterpriseResponse { enterprise: Some(Enterprise::from(&found)) })
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
    let region = region.map(|r| r.code());
    let page = PageRequest::parse(m.page_size, &m.page_token, &format!("enterprises|{}", region.unwrap_or_default()))?;
    let filter = Filter::new().eq_given("enterprise.region_code", region).within(
        &scope,
        "enterprise.region_code",
        Some("enterprise.credit_code"),
    );
    let (records, next_page_token) = record::page::<EnterpriseRecord>(&s.db, filter, &page).await?;
    Ok(ListEnterprisesResponse { enterprises: records.iter().map(Enterprise::from).collect(), next_page_token })
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
        let found = record::find::<EnterpriseRecord>(&mut *change.tx, credit_code.as_str()).await?;
        let mut found = found.ok_or_else(|| scope.missing(&input.name))?;
        scope.check(found.region, &found.credit_code)?;
        found.stamp.check(&input.etag)?;
        // Apply the masked fields onto the stored enterprise, then validate the result as a whole.
        let mut merged = Enterprise::from(&found);
        mask.merge(&mut merged, &input);
        let mut v = Violations::default();
        v.declared(&merged, "enterprise.");
        let (_, industry, expected_production_date) = validate_fields(&merged, &mut v);
        v.finish()?;
        found.display_name = merged.display_name.trim().to_owned();
        found.industry = industry.unwrap_or(found.industry);
        found.key_project = merged.key_project;
        found.key_project_name = merged.key_project_name.trim().to_owned();
        found.expected_production_date = expected_production_date;
        found.stamp.touch();
        record::update(&mut change.tx, &found).await?;
        change.audit("enterprise.update", found.name(), serde_json::json!({ "fields": mask.paths() }));
        Ok(UpdateEnterpriseResponse { enterprise: Some(Enterprise::from(&found)) })
    })
    .await
}
