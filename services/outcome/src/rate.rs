//! Project rates as the API shows them (PROJ-BASIS, OUT-RATE): a project's rates on a day, the
//! rate change feed subsidy reads with a cursor, and the public figures (rates grouped, without
//! personal data, a cell of fewer than 5 trainees suppressed). They are computed and kept by
//! [`crate::judge`].

use std::collections::BTreeMap;

use chrono::NaiveDate;
use qiancheng_api::outcome::*;
use qiancheng_api::{FromProto as _, convert};
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::record::{self, Filter};
use qiancheng_platform::{Call, Error};

use crate::judge::rates_on;
use crate::store::rate::RateChangeRecord;
use crate::store::trainee::TraineeRecord;
use crate::{Outcome, access};

/// The smallest cell the public figures show (OUT-PUBLIC-MIN-CELL).
pub const MIN_PUBLIC_CELL: i64 = 5;

fn basis_of_code(code: &str) -> Basis {
    if code == "CERTIFICATE" { Basis::Certificate } else { Basis::Employment }
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
        .map(|((key, basis), (numerator, denominator))| figure_cell(key, basis, numerator, denominator))
        .filter(|c| page.after.is_empty() || format!("{}|{}", c.key, c.basis) > page.after)
        .take(usize::try_from(page.fetch_limit()).unwrap_or(usize::MAX))
        .collect();
    let next_page_token = page.finish(&mut all, |c| format!("{}|{}", c.key, c.basis));
    Ok(ListPublicFiguresResponse { cells: all, next_page_token })
}

/// A cell of the public figures: withheld when fewer than [`MIN_PUBLIC_CELL`] trainees count
/// (OUT-PUBLIC-MIN-CELL).
fn figure_cell(key: String, basis: i32, numerator: i64, denominator: i64) -> FigureCell {
    let suppressed = denominator < MIN_PUBLIC_CELL;
    FigureCell {
        key,
        basis,
        numerator: if suppressed { 0 } else { numerator },
        denominator: if suppressed { 0 } else { denominator },
        suppressed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_of_fewer_than_five_trainees_is_withheld() {
        let four = figure_cell("421221".into(), Basis::Employment as i32, 3, 4);
        assert!(four.suppressed && four.numerator == 0 && four.denominator == 0);
        let five = figure_cell("421221".into(), Basis::Employment as i32, 3, 5);
        assert!(!five.suppressed && five.numerator == 3 && five.denominator == 5);
    }
}
