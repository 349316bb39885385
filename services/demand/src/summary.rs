//! What the demand adds up to: the training-need summary by county, industry, occupation and
//! level that the selection service builds its catalog from (二(二) "用什么、学什么"), the public
//! demand board and statistics by county and industry.

use std::collections::BTreeMap;

use qiancheng_api::demand::*;
use qiancheng_api::{FromProto as _, IntoProto as _, convert};
use qiancheng_domain::{Industry, OccupationCode, RegionCode, SkillLevel};
use qiancheng_platform::auth::Role;
use qiancheng_platform::error::Violations;
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::record::{self, Filter};
use qiancheng_platform::time::now_micros;
use qiancheng_platform::{Call, Error, Shared};

use crate::access::Scope;
use crate::store::vacancy::{self, VacancyRecord};
use crate::store::worker_need::WorkerNeedRecord;

/// Published demand for one county, industry, occupation and level.
pub use crate::store::vacancy::PublishedDemand as Demand;

/// What one worker brings to the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skills {
    /// County the worker lives in.
    pub region: RegionCode,
    /// Occupation and level held.
    pub held: Option<(String, SkillLevel)>,
    /// Occupation the worker wants training in, and the level wanted (any, if none).
    pub training: Option<(String, Option<SkillLevel>)>,
}

/// One row of the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeedRow {
    /// The demand.
    pub demand: Demand,
    /// Qualified workers set against this row.
    pub qualified: i64,
    /// Willing workers set against this row.
    pub willing: i64,
}

impl NeedRow {
    /// The people to train.
    pub fn gap(&self) -> i64 {
        (self.demand.headcount - self.qualified).max(0)
    }
}

/// Sets workers against demand, each worker at most once in the whole summary.
///
/// Rows of one county and occupation are served from the highest level down: a worker who
/// qualifies for a row qualifies for every lower one, so taking any qualifying worker for the
/// hardest row first never leaves a lower row short that could have been filled. Qualified
/// workers fill rows up to their headcount; then workers willing to train (to the row's level or
/// higher) are set against the remaining gaps, and any still left count on the first row they
/// fit, so that every willing worker is counted once.
pub fn summarize(mut demand: Vec<Demand>, workers: &[Skills]) -> Vec<NeedRow> {
    demand.sort_by(|a, b| {
        (a.region, &a.occupation_code, std::cmp::Reverse(a.level), a.industry).cmp(&(
            b.region,
            &b.occupation_code,
            std::cmp::Reverse(b.level),
            b.industry,
        ))
    });
    let mut rows: Vec<NeedRow> = demand.into_iter().map(|d| NeedRow { demand: d, qualified: 0, willing: 0 }).collect();
    let mut used = vec![false; workers.len()];
    for row in &mut rows {
        let d = &row.demand;
        for (i, w) in workers.iter().enumerate() {
            if row.qualified >= d.headcount {
                break;
            }
            let holds = w.held.as_ref().is_some_and(|(code, level)| *code == d.occupation_code && *level >= d.level);
            if !used[i] && w.region == d.region && holds {
                used[i] = true;
                row.qualified += 1;
            }
        }
    }
    let fits = |w: &Skills, d: &Demand| {
        w.region == d.region
            && w.training
                .as_ref()
                .is_some_and(|(code, level)| *code == d.occupation_code && level.is_none_or(|l| l >= d.level))
    };
    for row in &mut rows {
        for (i, w) in workers.iter().enumerate() {
            if row.willing >= row.gap() {
                break;
            }
            if !used[i] && fits(w, &row.demand) {
                used[i] = true;
                row.willing += 1;
            }
        }
    }
    for (i, w) in workers.iter().enumerate() {
        if !used[i]
            && let Some(row) = rows.iter_mut().find(|r| fits(w, &r.demand))
        {
            used[i] = true;
            row.willing += 1;
        }
    }
    rows
}

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

#[cfg(test)]
mod tests {
    use super::*;

    const WELDER: &str = "6-18-02-04";

    fn demand(industry: Industry, level: SkillLevel, headcount: i64) -> Demand {
        Demand {
            region: RegionCode::parse("421221").expect("county"),
            industry,
            occupation_code: WELDER.into(),
            occupation_name: "焊工".into(),
            level,
            headcount,
        }
    }

    fn holder(level: SkillLevel, region: &str) -> Skills {
        Skills {
            region: RegionCode::parse(region).expect("county"),
            held: Some((WELDER.into(), level)),
            training: None,
        }
    }

    fn trainee(level: Option<SkillLevel>) -> Skills {
        Skills {
            region: RegionCode::parse("421221").expect("county"),
            held: None,
            training: Some((WELDER.into(), level)),
        }
    }

    #[test]
    fn each_qualified_worker_counts_once_across_industries() {
        let rows = summarize(
            vec![
                demand(Industry::EquipmentManufacturing, SkillLevel::Level4, 2),
                demand(Industry::NewBuildingMaterials, SkillLevel::Level4, 2),
            ],
            &[holder(SkillLevel::Level3, "421221"), holder(SkillLevel::Level3, "421221")],
        );
        assert_eq!(rows.iter().map(|r| r.qualified).sum::<i64>(), 2);
        assert_eq!(rows.iter().map(NeedRow::gap).sum::<i64>(), 2, "the city still needs two more welders");
    }

    #[test]
    fn higher_levels_are_served_first_and_lower_holders_never_fill_them() {
        let rows = summarize(
            vec![demand(Industry::Other, SkillLevel::Level5, 1), demand(Industry::Other, SkillLevel::Level3, 1)],
            &[holder(SkillLevel::Level5, "421221"), holder(SkillLevel::Level2, "421221")],
        );
        assert_eq!(rows[0].demand.level, SkillLevel::Level3, "the hardest row comes first");
        assert_eq!((rows[0].qualified, rows[1].qualified), (1, 1));
        let other_county =
            summarize(vec![demand(Industry::Other, SkillLevel::Level5, 1)], &[holder(SkillLevel::Level1, "421222")]);
        assert_eq!(other_county[0].qualified, 0);
    }

    #[test]
    fn willing_workers_fill_gaps_and_are_each_counted_once() {
        let rows = summarize(
            vec![
                demand(Industry::Other, SkillLevel::Level4, 1),
                demand(Industry::EquipmentManufacturing, SkillLevel::Level5, 1),
            ],
            &[trainee(Some(SkillLevel::Level5)), trainee(None), trainee(None)],
        );
        // The Level-4 row takes the worker who would train to any level; the Level-5 trainee
        // fills the Level-5 gap; the third worker is counted once, on the first row they fit.
        let level4 = rows.iter().find(|r| r.demand.level == SkillLevel::Level4).expect("row");
        let level5 = rows.iter().find(|r| r.demand.level == SkillLevel::Level5).expect("row");
        assert_eq!((level4.willing, level5.willing), (2, 1));
        assert_eq!(rows.iter().map(|r| r.willing).sum::<i64>(), 3);
    }

    #[test]
    fn a_worker_who_already_qualifies_is_not_also_willing() {
        let both = Skills { training: Some((WELDER.into(), None)), ..holder(SkillLevel::Level4, "421221") };
        let rows = summarize(vec![demand(Industry::Other, SkillLevel::Level5, 3)], &[both]);
        assert_eq!((rows[0].qualified, rows[0].willing, rows[0].gap()), (1, 0, 2));
    }
}
