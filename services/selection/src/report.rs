//! Reports of selection: projects and approved headcount by county, industry, occupation and
//! method, and how many of the city's 5+4 key industries (一 工作目标) the projects cover. The
//! check of the service's audit chain (八(三) 全程留痕) is the platform's, as every service's.

use qiancheng_api::selection::*;
use qiancheng_api::{IntoProto as _, convert};
use qiancheng_domain::Industry;
use qiancheng_platform::{Call, Error, Shared};

use crate::access;
use crate::store::project;

/// GetSelectionReport: the city and auditors every county, a county officer their own.
pub async fn get_selection_report(
    s: &Shared,
    call: Call<GetSelectionReportRequest>,
) -> Result<GetSelectionReportResponse, Error> {
    let scope = access::officer_read_scope(&call.principal)?;
    let region =
        convert::region_filter(&call.message.region_code).map_err(|e| Error::invalid_value("region_code", e))?;
    if let Some(region) = region {
        scope.check(region, "")?;
    }
    let mut report = GetSelectionReportResponse::default();
    // The grouping is by training county: each row is inside the caller's scope and filter, or not.
    let wanted = |r: &project::Statistic| {
        scope.admits(r.training_region, "") && region.is_none_or(|wanted| wanted == r.training_region)
    };
    for row in project::statistics(s.db.pool()).await?.into_iter().filter(wanted) {
        report.total_projects += convert::int32(row.projects);
        report.total_approved_headcount += convert::int32(row.headcount);
        report.statistics.push(SelectionStatistic {
            region_code: row.training_region.into_proto(),
            industry: row.industry.into_proto(),
            occupation_code: row.occupation_code,
            method: row.method.into_proto(),
            projects: convert::int32(row.projects),
            approved_headcount: convert::int32(row.headcount),
        });
    }
    let shown = |i: &&Industry| report.statistics.iter().any(|r| r.industry == i.into_proto());
    let (covered, missing): (Vec<&Industry>, _) = Industry::ALL.iter().filter(|i| i.is_key()).partition(shown);
    report.key_industries_covered = convert::int32(i64::try_from(covered.len()).unwrap_or(i64::MAX));
    report.key_industries_missing = missing.into_iter().map(|i| i.into_proto()).collect();
    Ok(report)
}
