//! What the demand adds up to: the training-need summary by county, industry, occupation and
//! level that the selection service builds its catalog from (二(二) "用什么、学什么"), the public
//! demand board and statistics by county and industry.

use std::collections::BTreeMap;

use qiancheng_api::demand::*;
use qiancheng_api::{FromProto as _, IntoProto as _, convert};
use qiancheng_domain::demand::{Skills, summarize};
use qiancheng_domain::{Industry, OccupationCode, RegionCode};
use qiancheng_platform::auth::Role;
use qiancheng_platform::error::Violations;
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::record::{self, Filter};
use qiancheng_platform::time::now_micros;
use qiancheng_platform::{Call, Error, Shared};

use crate::access::Scope;
use crate::store::vacancy::{self, VacancyRecord};
use crate::store::worker_need::WorkerNeedRecord;

/// What a worker's need brings to the summary: the level held in an occupation, and the
/// training wanted.
fn skills(worker: &WorkerNeedRecord) -> Skills {
    Skills {
        region: worker.region,
        held: worker.held_occupation_code.clone().zip(worker.held_skill_level).map(|(c, l)| (c.as_str().to_owned(), l)),
        training: worker
            .training_occupation_code
            .as_ref()
            .filter(|_| worker.wants_training)
            .map(|c| (c.as_str().to_owned(), worker.training_skill_level)),
    }
}

/// SummarizeTrainingNeeds.
pub async fn summarize_training_needs(
    s: &Shared,
    call: Call<SummarizeTrainingNeedsRequest>,
) -> Result<SummarizeTrainingNeedsResponse, Error> {
    let principal = &call.principal;
    let scope = Scope::of(principal, &[Role::CityAdmin, Role::Auditor, Role::Service], None)
        .ok_or_else(|| Error::denied("training-need summaries are for officers, auditors and the suite's services"))?;
    let m = &call.message;
    let mut v = Violations::default();
    let region = v.value("region_code", convert::region_filter(&m.region_code)).flatten();
    let industry = v.value("industry", Industry::from_proto(m.industry)).flatten();
    v.finish()?;
    let demand = vacancy::published_demand(s.db.pool()).await?;
    let counted = Filter::new().and("(worker_need.held_occupation_code <> '' OR worker_need.wants_training = 1)", []);
    let workers: Vec<Skills> =
        record::list::<WorkerNeedRecord>(s.db.pool(), counted, "").await?.iter().map(skills).collect();
    let mut needs: Vec<TrainingNeed> = summarize(demand, &workers)
        .into_iter()
        .filter(|r| {
            let d = &r.demand;
            scope.admits(d.region, "")
                && region.is_none_or(|f| f == d.region)
                && industry.is_none_or(|f| f == d.industry)
        })
        .map(|r| TrainingNeed {
            region_code: r.demand.region.into_proto(),
            industry: r.demand.industry.into_proto(),
            occupation_code: r.demand.occupation_code.clone(),
            occupation_name: r.demand.occupation_name.clone(),
            skill_level: r.demand.level.into_proto(),
            headcount_wanted: convert::int32(r.demand.headcount),
            workers_qualified: convert::int32(r.qualified),
            gap: convert::int32(r.gap()),
            workers_willing: convert::int32(r.willing),
        })
        .collect();
    needs.sort_by(|a, b| {
        (&a.region_code, a.industry, &a.occupation_code, a.skill_level).cmp(&(
            &b.region_code,
            b.industry,
            &b.occupation_code,
            b.skill_level,
        ))
    });
    Ok(SummarizeTrainingNeedsResponse { needs, as_of_micros: now_micros() })
}

/// ListPublishedVacancies: the public board, readable by every authenticated caller.
pub async fn list_published_vacancies(
    s: &Shared,
    call: Call<ListPublishedVacanciesRequest>,
) -> Result<ListPublishedVacanciesResponse, Error> {
    let m = &call.message;
    let mut v = Violations::default();
    let region = v.value("region_code", convert::region_filter(&m.region_code)).flatten();
    let industry = v.value("industry", Industry::from_proto(m.industry)).flatten();
    let occupation = v.value("occupation_code", convert::optional_occupation(&m.occupation_code)).flatten();
    v.finish()?;
    let filters =
        [region.map(|r| r.code()), industry.map(|i| i.code()), occupation.as_ref().map(OccupationCode::as_str)];
    let fingerprint = format!("board|{}", filters.map(Option::unwrap_or_default).join("|"));
    let page = PageRequest::parse(m.page_size, &m.page_token, &fingerprint)?;
    let board = Filter::new()
        .eq("v.state", "PUBLISHED")
        .eq_given("v.work_region_code", filters[0])
        .eq_given("e.industry", filters[1])
        .eq_given("v.occupation_code", filters[2]);
    let (records, next_page_token) = record::page::<VacancyRecord>(&s.db, board, &page).await?;
    Ok(ListPublishedVacanciesResponse {
        vacancies: records.iter().map(PublishedVacancy::from).collect(),
        next_page_token,
    })
}

/// GetDemandStatistics: published demand by work county and industry.
pub async fn get_demand_statistics(
    s: &Shared,
    _call: Call<GetDemandStatisticsRequest>,
) -> Result<GetDemandStatisticsResponse, Error> {
    let mut by_key: BTreeMap<(RegionCode, Industry), (i64, i64)> = BTreeMap::new();
    for count in vacancy::published_by_county_and_industry(s.db.pool()).await? {
        by_key.insert((count.region, count.industry), (count.vacancies, count.headcount));
    }
    let willing_filter = Filter::new().eq("worker_need.wants_training", 1);
    let willing = record::count::<WorkerNeedRecord>(s.db.pool(), willing_filter).await?;
    Ok(GetDemandStatisticsResponse {
        total_vacancies: convert::int32(by_key.values().map(|(n, _)| n).sum()),
        total_headcount: convert::int32(by_key.values().map(|(_, h)| h).sum()),
        statistics: by_key
            .into_iter()
            .map(|((region, industry), (vacancies, headcount))| DemandStatistic {
                region_code: region.into_proto(),
                industry: industry.into_proto(),
                vacancies: convert::int32(vacancies),
                headcount: convert::int32(headcount),
            })
            .collect(),
        workers_willing_to_train: convert::int32(willing),
    })
}
