//! Matching both ways (人岗精准匹配, 二(一)): for a worker, published vacancies ranked with the
//! reasons for each score; for a vacancy, the workers who fit.
//!
//! The score is a pure function of a vacancy and a worker's need, out of 100:
//! occupation 40, level 25, pay 20, county 15. Each criterion says why it earned what it did.

use qiancheng_api::demand::*;
use qiancheng_platform::record::{self, Filter};
use qiancheng_platform::{Call, Error, Shared};

use crate::access;
use crate::store::vacancy::VacancyRecord;
use crate::store::worker_need::WorkerNeedRecord;

/// Points for the occupation.
pub const OCCUPATION_POINTS: i32 = 40;
/// Points for the skill level.
pub const LEVEL_POINTS: i32 = 25;
/// Points for the pay.
pub const PAY_POINTS: i32 = 20;
/// Points for the county.
pub const COUNTY_POINTS: i32 = 15;

/// A score with its reasons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Score {
    /// 0..=100.
    pub total: i32,
    /// One reason per criterion.
    pub reasons: Vec<MatchReason>,
}

fn reason(criterion: &str, points: i32, max_points: i32, explanation: String) -> MatchReason {
    MatchReason { criterion: criterion.to_owned(), points, max_points, explanation }
}

/// The major and middle group of an occupation code (`6-18` of `6-18-01-01`).
fn group_of(code: &str) -> &str {
    code.get(..4).unwrap_or(code)
}

/// Scores how well `vacancy` fits `worker`.
pub fn score(vacancy: &VacancyRecord, worker: &WorkerNeedRecord) -> Score {
    let occupation = vacancy.occupation_code.as_str();
    let wanted = worker.wanted_occupation_code.as_ref().map(|c| c.as_str());
    let held = worker.held_occupation_code.as_ref().map(|c| c.as_str());
    let training = worker.training_occupation_code.as_ref().map(|c| c.as_str());

    let occupation_reason = if wanted == Some(occupation) || held == Some(occupation) {
        reason(
            "OCCUPATION",
            OCCUPATION_POINTS,
            OCCUPATION_POINTS,
            format!("wants or holds {occupation} {}", vacancy.occupation_name),
        )
    } else if training == Some(occupation) {
        reason(
            "OCCUPATION",
            30,
            OCCUPATION_POINTS,
            format!("wants training in {occupation} {}", vacancy.occupation_name),
        )
    } else if [wanted, held, training].into_iter().flatten().any(|c| group_of(c) == group_of(occupation)) {
        reason("OCCUPATION", 20, OCCUPATION_POINTS, format!("a related occupation in group {}", group_of(occupation)))
    } else {
        reason("OCCUPATION", 0, OCCUPATION_POINTS, format!("no wish or skill in {occupation}"))
    };

    let level_reason = match (held == Some(occupation), worker.held_skill_level) {
        (true, Some(level)) if level >= vacancy.skill_level => {
            reason("LEVEL", LEVEL_POINTS, LEVEL_POINTS, format!("holds {} or higher", vacancy.skill_level.name_zh()))
        }
        (true, Some(level)) if level.number() == vacancy.skill_level.number() + 1 => reason(
            "LEVEL",
            10,
            LEVEL_POINTS,
            format!("holds {}, one level below {}: trainable", level.name_zh(), vacancy.skill_level.name_zh()),
        ),
        _ => reason("LEVEL", 0, LEVEL_POINTS, format!("needs training to {}", vacancy.skill_level.name_zh())),
    };

    let pay_reason = if worker.wanted_pay_min_fen <= vacancy.pay_max_fen {
        reason("PAY", PAY_POINTS, PAY_POINTS, "the pay range reaches the pay wanted".to_owned())
    } else if worker.wanted_pay_min_fen.saturating_mul(9) <= vacancy.pay_max_fen.saturating_mul(10) {
        reason("PAY", 10, PAY_POINTS, "the pay range is within 10% of the pay wanted".to_owned())
    } else {
        reason("PAY", 0, PAY_POINTS, "the pay range is below the pay wanted".to_owned())
    };

    let county_reason = if worker.region == vacancy.work_region {
        reason(
            "COUNTY",
            COUNTY_POINTS,
            COUNTY_POINTS,
            format!("works in the worker's county {}", vacancy.work_region.name()),
        )
    } else {
        reason(
            "COUNTY",
            0,
            COUNTY_POINTS,
            format!("works in {}, the worker lives in {}", vacancy.work_region.name(), worker.region.name()),
        )
    };

    let reasons = vec![occupation_reason, level_reason, pay_reason, county_reason];
    Score { total: reasons.iter().map(|r| r.points).sum(), reasons }
}

fn limit(page_size: i32) -> usize {
    match page_size {
        n if n <= 0 => 20,
        n => usize::try_from(n.min(100)).unwrap_or(100),
    }
}

/// MatchVacancies. Only vacancies in an occupation group the worker wants, holds or would train
/// in can earn occupation points, so only those are read and scored.
pub async fn match_vacancies(s: &Shared, call: Call<MatchVacanciesRequest>) -> Result<MatchVacanciesResponse, Error> {
    let m = &call.message;
    let worker = access::readable_worker_need(s.db.pool(), &call.principal, &m.worker_need, "worker_need").await?;
    let groups: Vec<&str> =
        [&worker.wanted_occupation_code, &worker.held_occupation_code, &worker.training_occupation_code]
            .into_iter()
            .flatten()
            .map(|c| group_of(c.as_str()))
            .collect();
    if groups.is_empty() {
        return Ok(MatchVacanciesResponse::default());
    }
    let published = Filter::new().eq("v.state", "PUBLISHED").among("substr(v.occupation_code, 1, 4)", groups);
    let vacancies = record::list::<VacancyRecord>(s.db.pool(), published, "").await?;
    let mut matches: Vec<(Score, VacancyRecord)> = vacancies.into_iter().map(|v| (score(&v, &worker), v)).collect();
    matches.retain(|(s, _)| s.reasons[0].points > 0);
    // Best first; equal scores by the earliest needed-by date, then by id, so the order is stable.
    matches.sort_by(|(a, va), (b, vb)| {
        b.total.cmp(&a.total).then(va.needed_by.cmp(&vb.needed_by)).then(va.id.cmp(&vb.id))
    });
    matches.truncate(limit(m.page_size));
    Ok(MatchVacanciesResponse {
        matches: matches
            .into_iter()
            .map(|(s, v)| VacancyMatch { vacancy: Some(Vacancy::from(&v)), score: s.total, reasons: s.reasons })
            .collect(),
    })
}

/// MatchWorkers: workers' records are for officers and auditors, within their scope; an
/// enterprise is refused even for its own vacancy.
pub async fn match_workers(s: &Shared, call: Call<MatchWorkersRequest>) -> Result<MatchWorkersResponse, Error> {
    let worker_scope = access::worker_read_scope(&call.principal)?;
    let m = &call.message;
    let vacancy = access::readable_vacancy(s.db.pool(), &call.principal, &m.vacancy, "vacancy").await?;
    let group = group_of(&vacancy.occupation_code);
    let in_group = Filter::new()
        .and(
            "(substr(worker_need.wanted_occupation_code, 1, 4) = ? OR substr(worker_need.held_occupation_code, 1, 4) = ? \
             OR substr(worker_need.training_occupation_code, 1, 4) = ?)",
            [group.into(), group.into(), group.into()],
        )
        .within(&worker_scope, "worker_need.region_code", None);
    let workers = record::list::<WorkerNeedRecord>(s.db.pool(), in_group, "").await?;
    let mut matches: Vec<(Score, WorkerNeedRecord)> = workers.into_iter().map(|w| (score(&vacancy, &w), w)).collect();
    matches.retain(|(s, _)| s.reasons[0].points > 0);
    matches.sort_by(|(a, wa), (b, wb)| b.total.cmp(&a.total).then(wa.id.cmp(&wb.id)));
    matches.truncate(limit(m.page_size));
    Ok(MatchWorkersResponse {
        matches: matches
            .into_iter()
            .map(|(s, w)| WorkerMatch { worker_need: Some(WorkerNeed::from(&w)), score: s.total, reasons: s.reasons })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use qiancheng_domain::{Industry, OccupationCode, RegionCode, SkillLevel, TargetGroup};

    fn vacancy(occupation: &str, level: SkillLevel, pay_max_fen: i64, region: &str) -> VacancyRecord {
        VacancyRecord {
            id: format!("v-{occupation}-{region}"),
            enterprise_credit_code: "E".into(),
            enterprise_name: "E".into(),
            region: RegionCode::parse(region).expect("region"),
            industry: Industry::EquipmentManufacturing,
            post: "焊工".into(),
            occupation_code: occupation.into(),
            occupation_name: "焊工".into(),
            skill_level: level,
            headcount: 10,
            pay_min_fen: pay_max_fen / 2,
            pay_max_fen,
            requirements: String::new(),
            work_region: RegionCode::parse(region).expect("region"),
            needed_by: NaiveDate::from_ymd_opt(2027, 1, 1).expect("date"),
            survey_method: "DOOR_TO_DOOR".into(),
            state: qiancheng_domain::lifecycle::VacancyState::Published,
            stamp: qiancheng_platform::Stamp { revision: 2, create_time_micros: 0, update_time_micros: 0 },
        }
    }

    fn worker(held: Option<(&str, SkillLevel)>, training: Option<&str>, pay: i64, region: &str) -> WorkerNeedRecord {
        WorkerNeedRecord {
            id: format!("w-{region}-{pay}"),
            id_number_masked: "421202********0012".into(),
            name_masked: "张*".into(),
            phone_masked: "138****0000".into(),
            region: RegionCode::parse(region).expect("region"),
            target_group: TargetGroup::RuralMigrant,
            wanted_industry: None,
            wanted_occupation_code: None,
            wanted_occupation_name: String::new(),
            wanted_pay_min_fen: pay,
            held_occupation_code: held.map(|(c, _)| OccupationCode::parse(c).expect("code")),
            held_skill_level: held.map(|(_, l)| l),
            wants_training: training.is_some(),
            training_occupation_code: training.map(|c| OccupationCode::parse(c).expect("code")),
            training_skill_level: None,
            created_by: "officer".into(),
            person: Default::default(),
            stamp: qiancheng_platform::Stamp { revision: 1, create_time_micros: 0, update_time_micros: 0 },
        }
    }

    #[test]
    fn a_qualified_local_worker_scores_full_marks_with_four_reasons() {
        let v = vacancy("6-18-02-04", SkillLevel::Level4, 600_000, "421221");
        let w = worker(Some(("6-18-02-04", SkillLevel::Level3)), None, 500_000, "421221");
        let s = score(&v, &w);
        assert_eq!(s.total, 100);
        assert_eq!(
            s.reasons.iter().map(|r| r.criterion.as_str()).collect::<Vec<_>>(),
            ["OCCUPATION", "LEVEL", "PAY", "COUNTY"]
        );
    }

    #[test]
    fn one_level_below_is_trainable_and_scores_less() {
        let v = vacancy("6-18-02-04", SkillLevel::Level4, 600_000, "421221");
        let w = worker(Some(("6-18-02-04", SkillLevel::Level5)), None, 500_000, "421222");
        let s = score(&v, &w);
        assert_eq!(s.reasons[1].points, 10);
        assert_eq!(s.reasons[3].points, 0);
        assert_eq!(s.total, 40 + 10 + 20);
    }

    #[test]
    fn pay_within_ten_percent_earns_half_and_below_earns_none() {
        let v = vacancy("6-18-02-04", SkillLevel::Level5, 450_000, "421221");
        assert_eq!(score(&v, &worker(None, Some("6-18-02-04"), 500_000, "421221")).reasons[2].points, 10);
        assert_eq!(score(&v, &worker(None, Some("6-18-02-04"), 500_001, "421221")).reasons[2].points, 0);
        assert_eq!(score(&v, &worker(None, Some("6-18-02-04"), 450_000, "421221")).reasons[2].points, 20);
    }

    #[test]
    fn an_unrelated_occupation_earns_no_occupation_points() {
        let v = vacancy("6-18-02-04", SkillLevel::Level5, 450_000, "421221");
        let s = score(&v, &worker(Some(("4-10-01-01", SkillLevel::Level3)), None, 0, "421221"));
        assert_eq!(s.reasons[0].points, 0);
        let related = score(&v, &worker(Some(("6-18-01-01", SkillLevel::Level3)), None, 0, "421221"));
        assert_eq!(related.reasons[0].points, 20);
    }
}
