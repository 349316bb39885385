//! Matching both ways (人岗精准匹配, 二(一)): for a worker, published vacancies ranked with the
//! reasons for each score; for a vacancy, the workers who fit.
//!
//! The score is the domain's (`qiancheng_domain::demand::score`): out of 100, occupation 40,
//! level 25, pay 20, county 15, each criterion saying why it earned what it did.

use qiancheng_api::demand::*;
use qiancheng_domain::demand::{Posting, Score, Seeker, occupation_group, score};
use qiancheng_platform::record::{self, Filter};
use qiancheng_platform::{Call, Error, Shared};

use crate::access;
use crate::store::vacancy::VacancyRecord;
use crate::store::worker_need::WorkerNeedRecord;

/// What a vacancy offers to matching.
fn posting(v: &VacancyRecord) -> Posting<'_> {
    Posting {
        occupation_code: &v.occupation_code,
        occupation_name: &v.occupation_name,
        level: v.skill_level,
        pay_max_fen: v.pay_max_fen,
        work_region: v.work_region,
    }
}

/// What a worker brings to matching.
fn seeker(w: &WorkerNeedRecord) -> Seeker<'_> {
    Seeker {
        wanted: w.wanted_occupation_code.as_ref().map(|c| c.as_str()),
        held: w.held_occupation_code.as_ref().map(|c| (c.as_str(), w.held_skill_level)),
        training: w.training_occupation_code.as_ref().map(|c| c.as_str()),
        pay_min_fen: w.wanted_pay_min_fen,
        region: w.region,
    }
}

fn reasons(score: Score) -> Vec<MatchReason> {
    score
        .reasons
        .into_iter()
        .map(|r| MatchReason {
            criterion: r.criterion.to_owned(),
            points: r.points,
            max_points: r.max_points,
            explanation: r.explanation,
        })
        .collect()
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
            .map(|c| occupation_group(c.as_str()))
            .collect();
    if groups.is_empty() {
        return Ok(MatchVacanciesResponse::default());
    }
    let published = Filter::new().eq("v.state", "PUBLISHED").among("substr(v.occupation_code, 1, 4)", groups);
    let vacancies = record::list::<VacancyRecord>(s.db.pool(), published, "").await?;
    let mut matches: Vec<(Score, VacancyRecord)> =
        vacancies.into_iter().map(|v| (score(&posting(&v), &seeker(&worker)), v)).collect();
    matches.retain(|(s, _)| s.is_match());
    // Best first; equal scores by the earliest needed-by date, then by id, so the order is stable.
    matches.sort_by(|(a, va), (b, vb)| {
        b.total.cmp(&a.total).then(va.needed_by.cmp(&vb.needed_by)).then(va.id.cmp(&vb.id))
    });
    matches.truncate(limit(m.page_size));
    Ok(MatchVacanciesResponse {
        matches: matches
            .into_iter()
            .map(|(s, v)| VacancyMatch { vacancy: Some(Vacancy::from(&v)), score: s.total, reasons: reasons(s) })
            .collect(),
    })
}

/// MatchWorkers: workers' records are for officers and auditors, within their scope; an
/// enterprise is refused even for its own vacancy.
pub async fn match_workers(s: &Shared, call: Call<MatchWorkersRequest>) -> Result<MatchWorkersResponse, Error> {
    let worker_scope = access::worker_read_scope(&call.principal)?;
    let m = &call.message;
    let vacancy = access::readable_vacancy(&s.db, &call.principal, &m.vacancy, "vacancy").await?;
    let group = occupation_group(&vacancy.occupation_code);
    let in_group = Filter::new()
        .and(
            "(substr(worker_need.wanted_occupation_code, 1, 4) = ? OR substr(worker_need.held_occupation_code, 1, 4) = ? \
             OR substr(worker_need.training_occupation_code, 1, 4) = ?)",
            [group.into(), group.into(), group.into()],
        )
        .within(&worker_scope, "worker_need.region_code", None);
    let workers = record::list::<WorkerNeedRecord>(s.db.pool(), in_group, "").await?;
    let mut matches: Vec<(Score, WorkerNeedRecord)> =
        workers.into_iter().map(|w| (score(&posting(&vacancy), &seeker(&w)), w)).collect();
    matches.retain(|(s, _)| s.is_match());
    matches.sort_by(|(a, wa), (b, wb)| b.total.cmp(&a.total).then(wa.id.cmp(&wb.id)));
    matches.truncate(limit(m.page_size));
    Ok(MatchWorkersResponse {
        matches: matches
            .into_iter()
            .map(|(s, w)| WorkerMatch { worker_need: Some(WorkerNeed::from(&w)), score: s.total, reasons: reasons(s) })
            .collect(),
    })
}
