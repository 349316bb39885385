//! What the demand adds up to: the training-need summary by county, industry, occupation and
//! level that the selection service builds its catalog from (二(二) "用什么、学什么"), the public
//! demand board, statistics by county and industry, and the audit-chain check.

use std::collections::BTreeMap;

use qiancheng_api::demand::*;
use qiancheng_domain::{Industry, RegionCode, SkillLevel};
use qiancheng_platform::auth::{Principal, Role};
use qiancheng_platform::error::Violations;
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::time::now_micros;
use sqlx::AssertSqlSafe;
use tonic::Request;

use crate::State;
use crate::access::Scope;
use crate::convert;
use crate::error::DemandError;
use crate::vacancy::{self, VacancyRecord};
use crate::worker_need::{self, WorkerNeedRecord};

/// One row of the summary, keyed by county, industry, occupation and level.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NeedRow {
    /// Occupation name, from the first vacancy seen.
    pub occupation_name: String,
    /// Headcount wanted by published vacancies.
    pub headcount_wanted: i64,
    /// Workers of the county holding the occupation at the level or higher.
    pub workers_qualified: i64,
    /// Workers of the county who want training in the occupation.
    pub workers_willing: i64,
}

impl NeedRow {
    /// The people to train: wanted minus those already qualified, never below zero.
    pub fn gap(&self) -> i64 {
        (self.headcount_wanted - self.workers_qualified).max(0)
    }
}

/// The summary's key: work county, industry, occupation code, level.
pub type NeedKey = (RegionCode, Industry, String, SkillLevel);

/// Adds up published `vacancies` against the `workers` of each county.
pub fn summarize(vacancies: &[VacancyRecord], workers: &[WorkerNeedRecord]) -> BTreeMap<NeedKey, NeedRow> {
    let mut rows: BTreeMap<NeedKey, NeedRow> = BTreeMap::new();
    for v in vacancies.iter().filter(|v| v.state == "PUBLISHED") {
        let row = rows.entry((v.work_region, v.industry, v.occupation_code.clone(), v.skill_level)).or_default();
        if row.occupation_name.is_empty() {
            row.occupation_name = v.occupation_name.clone();
        }
        row.headcount_wanted += v.headcount;
    }
    for ((region, _, occupation, level), row) in &mut rows {
        for w in workers.iter().filter(|w| w.region == *region) {
            let holds = w.held_occupation_code.as_ref().is_some_and(|c| c.as_str() == occupation)
                && w.held_skill_level.is_some_and(|held| held >= *level);
            if holds {
                row.workers_qualified += 1;
            }
            if w.wants_training && w.training_occupation_code.as_ref().is_some_and(|c| c.as_str() == occupation) {
                row.workers_willing += 1;
            }
        }
    }
    rows
}

fn count(n: i64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// SummarizeTrainingNeeds.
pub async fn summarize_training_needs(
    state: &State,
    request: Request<SummarizeTrainingNeedsRequest>,
) -> Result<SummarizeTrainingNeedsResponse, DemandError> {
    let principal = Principal::of(&request)?;
    let scope = if principal.has_any(&[Role::CityAdmin, Role::Auditor, Role::Service]) {
        Scope::All
    } else if principal.has(Role::CountyOfficer) {
        crate::access::worker_read_scope(&principal)?
    } else {
        return Err(DemandError::denied("training-need summaries are for officers, auditors and the suite's services"));
    };
    let m = request.into_inner();
    let mut v = Violations::default();
    let region = v.value("region_code", convert::optional_region(&m.region_code)).flatten();
    let industry = v.value("industry", convert::optional_industry(m.industry)).flatten();
    v.finish()?;
    let vacancies = vacancy::all_in_state(state, "PUBLISHED").await?;
    let workers = worker_need::all(state).await?;
    let needs = summarize(&vacancies, &workers)
        .into_iter()
        .filter(|((r, i, _, _), _)| {
            scope.admits(*r, "") && region.is_none_or(|f| f.contains(*r)) && industry.is_none_or(|f| f == *i)
        })
        .map(|((r, i, occupation, level), row)| TrainingNeed {
            region_code: r.code().to_owned(),
            industry: convert::industry_to_proto(i),
            occupation_code: occupation,
            occupation_name: row.occupation_name.clone(),
            skill_level: convert::skill_level_to_proto(Some(level)),
            headcount_wanted: count(row.headcount_wanted),
            workers_qualified: count(row.workers_qualified),
            gap: count(row.gap()),
            workers_willing: count(row.workers_willing),
        })
        .collect();
    Ok(SummarizeTrainingNeedsResponse { needs, as_of_micros: now_micros() })
}

/// ListPublishedVacancies: the public board, readable by every authenticated caller.
pub async fn list_published(
    state: &State,
    request: Request<ListPublishedVacanciesRequest>,
) -> Result<ListPublishedVacanciesResponse, DemandError> {
    Principal::of(&request)?;
    let m = request.into_inner();
    let page = PageRequest::parse(m.page_size, &m.page_token)?;
    let mut v = Violations::default();
    let region = v.value("region_code", convert::optional_region(&m.region_code)).flatten();
    let industry = v.value("industry", convert::optional_industry(m.industry)).flatten();
    let occupation = v.value("occupation_code", convert::optional_occupation(&m.occupation_code)).flatten();
    v.finish()?;
    let rows = sqlx::query(AssertSqlSafe(format!(
        "{} WHERE v.state = 'PUBLISHED' AND v.id > $1 AND ($2 = '' OR v.work_region_code = $2) \
         AND ($3 = '' OR v.industry = $3) AND ($4 = '' OR v.occupation_code = $4) ORDER BY v.id LIMIT $5",
        vacancy_select()
    )))
    .bind(&page.after)
    .bind(region.filter(|r| !r.is_city()).map_or("", |r| r.code()))
    .bind(industry.map_or("", |i| i.code()))
    .bind(occupation.as_ref().map_or("", |o| o.as_str()))
    .bind(page.fetch_limit())
    .fetch_all(state.db.pool())
    .await?;
    let mut records = rows.iter().map(VacancyRecord::from_row).collect::<Result<Vec<_>, _>>()?;
    let next_page_token = page.finish(&mut records, |r| r.id.clone());
    Ok(ListPublishedVacanciesResponse {
        vacancies: records.iter().map(VacancyRecord::to_published).collect(),
        next_page_token,
    })
}

fn vacancy_select() -> &'static str {
    "SELECT v.id, v.enterprise_credit_code, e.display_name AS enterprise_name, v.region_code, \
    v.industry, v.post, v.occupation_code, v.occupation_name, v.skill_level, v.headcount, v.pay_min_fen, \
    v.pay_max_fen, v.requirements, v.work_region_code, v.needed_by, v.survey_method, v.state, v.revision, \
    v.create_time_micros, v.update_time_micros FROM vacancy v JOIN enterprise e ON e.credit_code = v.enterprise_credit_code"
}

/// GetDemandStatistics: published demand by work county and industry.
pub async fn statistics(
    state: &State,
    request: Request<GetDemandStatisticsRequest>,
) -> Result<GetDemandStatisticsResponse, DemandError> {
    Principal::of(&request)?;
    let mut by_key: BTreeMap<(RegionCode, Industry), (i64, i64)> = BTreeMap::new();
    for v in vacancy::all_in_state(state, "PUBLISHED").await? {
        let entry = by_key.entry((v.work_region, v.industry)).or_default();
        entry.0 += 1;
        entry.1 += v.headcount;
    }
    let willing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM worker_need WHERE wants_training = 1")
        .fetch_one(state.db.pool())
        .await?;
    Ok(GetDemandStatisticsResponse {
        total_vacancies: count(by_key.values().map(|(n, _)| n).sum()),
        total_headcount: count(by_key.values().map(|(_, h)| h).sum()),
        statistics: by_key
            .into_iter()
            .map(|((region, industry), (vacancies, headcount))| DemandStatistic {
                region_code: region.code().to_owned(),
                industry: convert::industry_to_proto(industry),
                vacancies: count(vacancies),
                headcount: count(headcount),
            })
            .collect(),
        workers_willing_to_train: count(willing),
    })
}

/// VerifyAuditChain.
pub async fn verify_audit_chain(
    state: &State,
    request: Request<VerifyAuditChainRequest>,
) -> Result<VerifyAuditChainResponse, DemandError> {
    Principal::of(&request)?.require_any(&[Role::CityAdmin, Role::Auditor])?;
    let report = qiancheng_platform::audit::verify(state.db.pool()).await?;
    Ok(VerifyAuditChainResponse { report: Some(report.to_proto()) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::tests::{vacancy, worker};

    #[test]
    fn the_gap_is_wanted_minus_qualified_and_never_negative() {
        let vacancies = vec![
            vacancy("6-18-02-04", SkillLevel::Level4, 600_000, "421221"),
            VacancyRecord {
                id: "second".into(),
                headcount: 5,
                ..vacancy("6-18-02-04", SkillLevel::Level4, 600_000, "421221")
            },
        ];
        let workers = vec![
            worker(Some(("6-18-02-04", SkillLevel::Level3)), None, 0, "421221"),
            worker(Some(("6-18-02-04", SkillLevel::Level5)), Some("6-18-02-04"), 1, "421221"),
            worker(Some(("6-18-02-04", SkillLevel::Level1)), None, 2, "421222"),
        ];
        let rows = summarize(&vacancies, &workers);
        assert_eq!(rows.len(), 1);
        let row = rows.values().next().expect("one row");
        assert_eq!(row.headcount_wanted, 15);
        assert_eq!(row.workers_qualified, 1, "higher level counts; lower level and other counties do not");
        assert_eq!(row.workers_willing, 1);
        assert_eq!(row.gap(), 14);
        let many = vec![worker(Some(("6-18-02-04", SkillLevel::Level4)), None, 0, "421221"); 20];
        assert_eq!(summarize(&vacancies, &many).values().next().expect("row").gap(), 0);
    }

    #[test]
    fn drafts_are_not_demand() {
        let draft = VacancyRecord { state: "DRAFT".into(), ..vacancy("6-18-02-04", SkillLevel::Level4, 1, "421221") };
        assert!(summarize(&[draft], &[]).is_empty());
    }
}
