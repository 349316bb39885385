//! Project rates (PROJ-BASIS, OUT-RATE): by kind, exact fractions over every class of the
//! project, counted from the real-name roster, each person once, leaving out people who are not
//! 培训对象 and those who did not complete. The current rates are kept, and each change of them is
//! written to the rate change feed in the same transaction as the change that caused it. A rate
//! on another day is computed from the evidence that counted on that day. Public figures are
//! the same rates grouped, without personal data, a cell of fewer than 5 trainees suppressed.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use qiancheng_api::outcome::*;
use qiancheng_api::{FromProto as _, IntoProto as _, convert};
use qiancheng_domain::policy::PolicySet;
use qiancheng_domain::policy::outcome::Basis as CoreBasis;
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::record::{self, Filter};
use qiancheng_platform::write::Change;
use qiancheng_platform::{Call, Error};

use crate::store::evidence::EvidenceRecord;
use crate::store::rate::{ProjectRateRecord, RateChangeRecord, next_sequence};
use crate::store::trainee::TraineeRecord;
use crate::store::verdict::VerdictRecord;
use crate::verdict::{basis_to_proto, judge, project_policy, wage_table};
use crate::{Outcome, access};

/// The smallest cell the public figures show (OUT-PUBLIC-MIN-CELL).
pub const MIN_PUBLIC_CELL: i64 = 5;

fn basis_code(basis: CoreBasis) -> &'static str {
    match basis {
        CoreBasis::Employment => "EMPLOYMENT",
        CoreBasis::Certificate => "CERTIFICATE",
    }
}

fn basis_of_code(code: &str) -> Basis {
    if code == "CERTIFICATE" { Basis::Certificate } else { Basis::Employment }
}

/// Counted trainees and positive verdicts by kind: `(basis, numerator, denominator)`, kinds with
/// nobody counted left out.
pub fn tally(
    policy: &PolicySet,
    trainees: &[TraineeRecord],
    positive: impl Fn(&TraineeRecord) -> bool,
) -> Vec<(CoreBasis, i64, i64)> {
    let mut by: BTreeMap<&'static str, (CoreBasis, i64, i64)> = BTreeMap::new();
    for t in trainees.iter().filter(|t| t.counted()) {
        let basis = policy.basis_for(t.judged_group);
        let entry = by.entry(basis_code(basis)).or_insert((basis, 0, 0));
        entry.2 += 1;
        if positive(t) {
            entry.1 += 1;
        }
    }
    let mut rates: Vec<(CoreBasis, i64, i64)> = by.into_values().collect();
    rates.sort_by_key(|(b, _, _)| if *b == CoreBasis::Employment { 0 } else { 1 });
    rates
}

/// Recomputes a project's current rates from its stored verdicts; each rate that changed is
/// stored and written to the feed in this transaction (writers of the feed take turns).
pub async fn write_rates(change: &mut Change, policy: &PolicySet, project_id: &str, cause: &str) -> Result<(), Error> {
    change.serialize_on("outcome/rate_change").await?;
    let trainees =
        record::all::<TraineeRecord>(&mut *change.tx, Filter::new().eq("watched_trainee.project_id", project_id), "id")
            .await?;
    let positive: std::collections::HashSet<String> = record::all::<VerdictRecord>(
        &mut *change.tx,
        Filter::new().eq("verdict.project_id", project_id).eq("verdict.positive", 1_i64),
        "trainee_id",
    )
    .await?
    .into_iter()
    .map(|v| v.trainee_id)
    .collect();
    let fresh = tally(policy, &trainees, |t| positive.contains(&t.id));
    let stored: HashMap<String, ProjectRateRecord> = record::all::<ProjectRateRecord>(
        &mut *change.tx,
        Filter::new().eq("project_rate.project_id", project_id),
        "id",
    )
    .await?
    .into_iter()
    .map(|r| (r.basis.clone(), r))
    .collect();
    let mut kinds: Vec<(String, i64, i64)> =
        fresh.iter().map(|(b, n, d)| (basis_code(*b).to_owned(), *n, *d)).collect();
    // A kind nobody counts in any more drops to 0/0.
    for basis in stored.keys() {
        if !kinds.iter().any(|(b, _, _)| b == basis) {
            kinds.push((basis.clone(), 0, 0));
        }
    }
    for (basis, numerator, denominator) in kinds {
        let before = stored.get(&basis);
        if before.is_some_and(|r| r.numerator == numerator && r.denominator == denominator) {
            continue;
        }
        let sequence = next_sequence(&mut change.tx).await?;
        let row = RateChangeRecord {
            sequence,
            project_id: project_id.to_owned(),
            basis: basis.clone(),
            numerator,
            denominator,
            previous_numerator: before.map_or(0, |r| r.numerator),
            previous_denominator: before.map_or(0, |r| r.denominator),
            policy_version: policy.version.clone(),
            cause: cause.to_owned(),
            changed_micros: qiancheng_platform::time::now_micros(),
        };
        record::insert(&mut change.tx, &row).await?;
        let current = ProjectRateRecord {
            id: format!("{project_id}/{basis}"),
            project_id: project_id.to_owned(),
            basis: basis.clone(),
            numerator,
            denominator,
            change_sequence: sequence,
        };
        if before.is_some() {
            sqlx_update_rate(change, &current).await?;
        } else {
            record::insert(&mut change.tx, &current).await?;
        }
        change.audit_under(
            &policy.version,
            "rate",
            format!("projects/{project_id}"),
            serde_json::json!({ "basis": basis, "numerator": numerator, "denominator": denominator, "sequence": sequence }),
        );
    }
    Ok(())
}

/// A current rate is replaced (it has no stamp: the feed is its history).
async fn sqlx_update_rate(change: &mut Change, rate: &ProjectRateRecord) -> Result<(), Error> {
    let stale = record::find::<ProjectRateRecord>(&mut *change.tx, rate.id.as_str()).await?;
    if let Some(stale) = stale {
        record::delete(&mut change.tx, &stale).await?;
    }
    record::insert(&mut change.tx, rate).await
}

/// A project's rates on `day`, computed from the evidence that counted on that day.
pub async fn rates_on(s: &Outcome, project_id: &str, day: NaiveDate) -> Result<Option<GetProjectRatesResponse>, Error> {
    let pool = s.db.pool();
    let Some(policy) = project_policy(pool, project_id).await? else { return Ok(None) };
    let wages = wage_table(pool).await?;
    let trainees =
        record::all::<TraineeRecord>(pool, Filter::new().eq("watched_trainee.project_id", project_id), "id").await?;
    let mut items_of: HashMap<String, Vec<EvidenceRecord>> = HashMap::new();
    for item in record::all::<EvidenceRecord>(pool, Filter::new().eq("evidence.project_id", project_id), "id").await? {
        items_of.entry(item.trainee_id.clone()).or_default().push(item);
    }
    let mut positive = std::collections::HashSet::new();
    for t in trainees.iter().filter(|t| t.counted()) {
        let verdict = judge(&policy, &wages, t, items_of.get(&t.id).map_or(&[][..], Vec::as_slice), day)?;
        if verdict.positive {
            positive.insert(t.id.clone());
        }
    }
    let rates = tally(&policy, &trainees, |t| positive.contains(&t.id))
        .into_iter()
        .map(|(b, numerator, denominator)| Rate { basis: basis_to_proto(b) as i32, numerator, denominator })
        .collect();
    let mut classes: BTreeMap<String, RateClass> = BTreeMap::new();
    let mut excluded: BTreeMap<String, i64> = BTreeMap::new();
    let mut last_window = None;
    for t in &trainees {
        let window_last = qiancheng_domain::add_months(t.class_last_day, policy.outcome_window_months);
        last_window = last_window.max(Some(window_last));
        classes.entry(t.class_id.clone()).or_insert_with(|| RateClass {
            class: format!("classes/{}", t.class_id),
            policy_version: t.policy_version.clone(),
            other_policy_version: t.policy_version != policy.version,
            window_last_date: Some(convert::date_to_proto(window_last)),
        });
        if !t.counted() {
            *excluded.entry(t.excluded_by.clone()).or_default() += 1;
        }
    }
    let change_sequence =
        record::all::<ProjectRateRecord>(pool, Filter::new().eq("project_rate.project_id", project_id), "id")
            .await?
            .iter()
            .map(|r| r.change_sequence)
            .max()
            .unwrap_or(0);
    Ok(Some(GetProjectRatesResponse {
        project: format!("projects/{project_id}"),
        as_of: Some(convert::date_to_proto(day)),
        rates,
        policy_version: policy.version.clone(),
        classes: classes.into_values().collect(),
        excluded: excluded.into_iter().map(|(rule, count)| Exclusion { rule, count }).collect(),
        last_window_date: last_window.into_proto(),
        change_sequence,
    }))
}

fn day_of(s: &Outcome, as_of: Option<&qiancheng_api::types::Date>) -> Result<NaiveDate, Error> {
    Ok(NaiveDate::from_proto(as_of).map_err(|e| Error::invalid_value("as_of", e))?.unwrap_or_else(|| s.today()))
}

/// GetProjectRates.
pub async fn get_project_rates(
    s: &Outcome,
    call: Call<GetProjectRatesRequest>,
) -> Result<GetProjectRatesResponse, Error> {
    let scope = access::read_scope(&call.principal)?;
    let m = &call.message;
    let project_id = convert::resource_id(&m.project, "projects").map_err(|e| Error::invalid_value("project", e))?;
    let day = day_of(s, m.as_of.as_ref())?;
    let any =
        record::take::<TraineeRecord>(s.db.pool(), Filter::new().eq("watched_trainee.project_id", project_id), "id", 1)
            .await?;
    let Some(first) = any.first() else { return Err(scope.missing(&m.project)) };
    scope.check(first.region, &first.provider_credit_code)?;
    rates_on(s, project_id, day).await?.ok_or_else(|| scope.missing(&m.project))
}

fn rate_change_of(r: &RateChangeRecord) -> RateChange {
    RateChange {
        sequence: r.sequence,
        project: format!("projects/{}", r.project_id),
        basis: basis_of_code(&r.basis) as i32,
        numerator: r.numerator,
        denominator: r.denominator,
        previous_numerator: r.previous_numerator,
        previous_denominator: r.previous_denominator,
        policy_version: r.policy_version.clone(),
        cause: r.cause.clone(),
        changed_micros: r.changed_micros,
    }
}

/// The most changes one read of the rate change feed returns, and how many by default.
const FEED_MAX: i64 = 1000;
const FEED_DEFAULT: i64 = 100;

/// ListRateChanges: the feed after `after`, in feed order.
pub async fn list_rate_changes(
    s: &Outcome,
    call: Call<ListRateChangesRequest>,
) -> Result<ListRateChangesResponse, Error> {
    access::read_scope(&call.principal)?;
    let m = &call.message;
    let after = m.after.max(0);
    let size = match i64::from(m.page_size) {
        n if n <= 0 => FEED_DEFAULT,
        n => n.min(FEED_MAX),
    };
    let project = (!m.project.is_empty())
        .then(|| convert::resource_id(&m.project, "projects").map_err(|e| Error::invalid_value("project", e)))
        .transpose()?;
    let mut rows = record::take::<RateChangeRecord>(
        s.db.pool(),
        Filter::new().and("rate_change.sequence > ?", [after.into()]).eq_given("rate_change.project_id", project),
        "sequence",
        size + 1,
    )
    .await?;
    let limit = usize::try_from(size).unwrap_or(usize::MAX);
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next_after = rows.last().map_or(after, |r| r.sequence);
    Ok(ListRateChangesResponse { changes: rows.iter().map(rate_change_of).collect(), next_after, more })
}

/// ListPublicFigures: every project's rates on the day, grouped; a cell of fewer than
/// MIN_PUBLIC_CELL trainees is suppressed.
pub async fn list_public_figures(
    s: &Outcome,
    call: Call<ListPublicFiguresRequest>,
) -> Result<ListPublicFiguresResponse, Error> {
    let m = &call.message;
    let dimension = FigureDimension::try_from(m.dimension)
        .ok()
        .filter(|d| *d != FigureDimension::Unspecified)
        .ok_or_else(|| Error::invalid("dimension", "ENUM", "dimension is one of the figure dimensions"))?;
    let day = day_of(s, m.as_of.as_ref())?;
    let page = PageRequest::parse(m.page_size, &m.page_token, &format!("figures|{}|{day}", m.dimension))?;
    let projects: Vec<TraineeRecord> = record::all::<TraineeRecord>(
        s.db.pool(),
        Filter::new().and("watched_trainee.id IN (SELECT MIN(w.id) FROM watched_trainee w GROUP BY w.project_id)", []),
        "id",
    )
    .await?;
    let mut cells: BTreeMap<(String, i32), (i64, i64)> = BTreeMap::new();
    for p in &projects {
        let Some(rates) = rates_on(s, &p.project_id, day).await? else { continue };
        let key = match dimension {
            FigureDimension::Project => format!("projects/{}", p.project_id),
            FigureDimension::Provider => p.provider_credit_code.clone(),
            FigureDimension::County => p.region.code().to_owned(),
            _ => p.occupation_code.clone(),
        };
        for r in rates.rates {
            let cell = cells.entry((key.clone(), r.basis)).or_default();
            cell.0 += r.numerator;
            cell.1 += r.denominator;
        }
    }
    let mut all: Vec<FigureCell> = cells
        .into_iter()
        .map(|((key, basis), (numerator, denominator))| {
            let suppressed = denominator < MIN_PUBLIC_CELL;
            FigureCell {
                key,
                basis,
                numerator: if suppressed { 0 } else { numerator },
                denominator: if suppressed { 0 } else { denominator },
                suppressed,
            }
        })
        .filter(|c| page.after.is_empty() || format!("{}|{}", c.key, c.basis) > page.after)
        .take(usize::try_from(page.fetch_limit()).unwrap_or(usize::MAX))
        .collect();
    let next_page_token = page.finish(&mut all, |c| format!("{}|{}", c.key, c.basis));
    Ok(ListPublicFiguresResponse { cells: all, next_page_token })
}
