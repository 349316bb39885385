//! Reports of selection: projects and approved headcount by county, industry, occupation and
//! method, and how many of the city's 5+4 key industries (一 工作目标) the projects cover.

use qiancheng_api::convert;
use qiancheng_api::selection::*;
use qiancheng_domain::{Industry, RegionCode};
use qiancheng_platform::PlatformError;
use qiancheng_platform::auth::Scope;
use qiancheng_platform::auth::{Principal, Role};
use sqlx::Row as _;
use tonic::Request;

use crate::State;
use crate::access;
use crate::error::SelectionError;

fn count(n: i64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// GetSelectionReport.
pub async fn selection_report(
    state: &State,
    request: Request<GetSelectionReportRequest>,
) -> Result<GetSelectionReportResponse, SelectionError> {
    let principal = Principal::of(&request)?;
    let scope = if principal.has_any(&[Role::CityAdmin, Role::Auditor]) {
        Scope::All
    } else {
        access::officer_scope(&principal)?
    };
    let m = request.into_inner();
    let region =
        convert::region_filter(&m.region_code).map_err(|e| SelectionError::invalid("region_code", e.rule, e.reason))?;
    if let Some(region) = region {
        access::check(&scope, region, "")?;
    }
    let (scope_kind, scope_value) = scope.sql();
    let rows = sqlx::query(
        "SELECT training_region_code, industry, occupation_code, method, COUNT(*) AS projects, \
         CAST(SUM(approved_headcount) AS BIGINT) AS headcount FROM project \
         WHERE ($1 = '' OR training_region_code = $1) \
         AND ($2 = 'ALL' OR ($2 = 'REGION' AND training_region_code = $3)) \
         GROUP BY training_region_code, industry, occupation_code, method \
         ORDER BY training_region_code, industry, occupation_code, method",
    )
    .bind(region.map_or("", |r| r.code()))
    .bind(scope_kind)
    .bind(scope_value)
    .fetch_all(state.db.pool())
    .await?;
    let corrupt = |what: &str| SelectionError::from(PlatformError::Corrupt(format!("project {what}")));
    let mut report = GetSelectionReportResponse::default();
    let mut covered: Vec<Industry> = Vec::new();
    for row in &rows {
        let industry = Industry::parse(&row.try_get::<String, _>("industry")?).map_err(|_| corrupt("industry"))?;
        let training_region =
            RegionCode::parse(&row.try_get::<String, _>("training_region_code")?).map_err(|_| corrupt("region"))?;
        let method =
            SelectionMethod::from_str_name(&format!("SELECTION_METHOD_{}", row.try_get::<String, _>("method")?))
                .ok_or_else(|| corrupt("method"))?;
        let projects: i64 = row.try_get("projects")?;
        let headcount: i64 = row.try_get("headcount")?;
        report.total_projects += count(projects);
        report.total_approved_headcount += count(headcount);
        if industry.is_key() && !covered.contains(&industry) {
            covered.push(industry);
        }
        report.statistics.push(SelectionStatistic {
            region_code: training_region.code().to_owned(),
            industry: convert::industry_to_proto(industry),
            occupation_code: row.try_get("occupation_code")?,
            method: method as i32,
            projects: count(projects),
            approved_headcount: count(headcount),
        });
    }
    report.key_industries_covered = count(i64::try_from(covered.len()).unwrap_or(i64::MAX));
    report.key_industries_missing = Industry::ALL
        .iter()
        .filter(|i| i.is_key() && !covered.contains(i))
        .map(|i| convert::industry_to_proto(*i))
        .collect();
    Ok(report)
}
