//! The monthly minimum-wage table (月最低工资标准, OUT-EMP-SERVICE), kept by the city: one entry
//! per region and first day, for counties of 咸宁 and for regions elsewhere where trainees are
//! sent to work. Each change makes a new table version and recomputes the verdicts that rest on
//! service engagements.

use qiancheng_api::outcome::*;
use qiancheng_api::{FromProto as _, convert};
use qiancheng_domain::policy::WageRegion;
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::record::{self, Filter};
use qiancheng_platform::{Call, Error, write};

use crate::Outcome;
use crate::store::evidence::EvidenceRecord;
use crate::store::wage::MinimumWageRecord;

impl From<&MinimumWageRecord> for MinimumWage {
    /// The entry as the API shows it.
    fn from(r: &MinimumWageRecord) -> Self {
        MinimumWage {
            region_code: r.region_code.clone(),
            effective_date: Some(convert::date_to_proto(r.effective_date)),
            monthly_fen: r.monthly_fen,
            version: r.version,
            source: r.source.clone(),
        }
    }
}

/// SetMinimumWage.
pub async fn set_minimum_wage(s: &Outcome, call: Call<SetMinimumWageRequest>) -> Result<SetMinimumWageResponse, Error> {
    let m = &call.message;
    let region = WageRegion::parse(&m.region_code).map_err(|e| Error::invalid_value("region_code", e))?;
    let effective_date = chrono::NaiveDate::from_proto(m.effective_date.as_ref())
        .map_err(|e| Error::invalid_value("effective_date", e))?
        .ok_or_else(|| Error::invalid("effective_date", "REQUIRED", "effective_date is required"))?;
    write::run(s, &call, async |change| {
        change.serialize_on("outcome/minimum_wage").await?;
        let version = crate::judge::wage_table(&mut *change.tx).await?.1 + 1;
        let record = MinimumWageRecord {
            id: format!("{}/{effective_date}", region.code()),
            region_code: region.code().to_owned(),
            effective_date,
            monthly_fen: m.monthly_fen,
            version,
            source: m.source.trim().to_owned(),
            recorded_by: call.principal.subject.clone(),
            create_time_micros: qiancheng_platform::time::now_micros(),
        };
        if let Some(stale) = record::find::<MinimumWageRecord>(&mut *change.tx, record.id.as_str()).await? {
            record::delete(&mut change.tx, &stale).await?;
        }
        record::insert(&mut change.tx, &record).await?;
        change.audit(
            "set_minimum_wage",
            format!("minimumWages/{}", record.id),
            serde_json::json!({ "monthly_fen": m.monthly_fen, "version": version, "source": record.source }),
        );
        // The verdicts that rest on service engagements are judged again under the new table.
        let engaged = record::all::<EvidenceRecord>(
            &mut *change.tx,
            Filter::new().eq("evidence.kind", EvidenceKind::Service.as_str_name()),
            "id",
        )
        .await?;
        let mut projects: Vec<String> = engaged.into_iter().map(|e| e.project_id).collect();
        projects.sort();
        projects.dedup();
        let cause = format!("minimum-wage table version {version}");
        for project in projects {
            crate::judge::recompute_project(change, s, &project, &cause).await?;
        }
        Ok(SetMinimumWageResponse { minimum_wage: Some(MinimumWage::from(&record)), version })
    })
    .await
}

/// ListMinimumWages.
pub async fn list_minimum_wages(
    s: &Outcome,
    call: Call<ListMinimumWagesRequest>,
) -> Result<ListMinimumWagesResponse, Error> {
    let m = &call.message;
    let page = PageRequest::parse(m.page_size, &m.page_token, &format!("minimumWages|{}", m.region_code))?;
    let filter = Filter::new().eq_given("minimum_wage.region_code", Some(m.region_code.trim()));
    let (records, next_page_token) = record::page::<MinimumWageRecord>(&s.db, filter, &page).await?;
    let version = crate::judge::wage_table(s.db.pool()).await?.1;
    Ok(ListMinimumWagesResponse {
        minimum_wages: records.iter().map(MinimumWage::from).collect(),
        next_page_token,
        version,
    })
}
