//! The standards table (补贴标准, SUBS-STANDARD): yuan per trainee by occupation and level, each
//! row with its source and the day it takes effect. Rows are never edited: a new figure is a new
//! row, and the row before ends the day before it. A claim takes the row in force on its class's
//! first day.

use chrono::NaiveDate;
use qiancheng_api::subsidy::*;
use qiancheng_api::{FromProto as _, IntoProto as _, Validate as _};
use qiancheng_domain::{Money, OccupationCode, SkillLevel};
use qiancheng_platform::error::{FieldViolation, Violations};
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::record::{self, Filter};
use qiancheng_platform::{Call, Error, write};

use crate::Subsidy;
use crate::access;
use crate::store::standard::{self as store, Source, StandardRecord};

/// The source of a row on the wire.
fn source_of(source: i32) -> Option<Source> {
    match StandardSource::try_from(source).ok()? {
        StandardSource::Provincial => Some(Source::Provincial),
        StandardSource::CityReference => Some(Source::CityReference),
        StandardSource::GovernmentConsent => Some(Source::GovernmentConsent),
        StandardSource::Unspecified => None,
    }
}

/// A row as the API shows it, ending on `effective_to`.
pub fn shown(record: &StandardRecord, effective_to: Option<NaiveDate>) -> Standard {
    Standard {
        name: record.name(),
        occupation_code: record.occupation_code.as_str().to_owned(),
        occupation_name: record.occupation_name.clone(),
        skill_level: record.skill_level.into_proto(),
        standard_fen: record.standard_fen.fen(),
        source: match Source::from_code(&record.source) {
            Some(Source::Provincial) => StandardSource::Provincial,
            Some(Source::CityReference) => StandardSource::CityReference,
            Some(Source::GovernmentConsent) => StandardSource::GovernmentConsent,
            None => StandardSource::Unspecified,
        } as i32,
        document_number: record.document_number.clone(),
        effective_from: Some(record.effective_from.into_proto()),
        effective_to: effective_to.into_proto(),
        created_by: record.created_by.clone(),
        create_time_micros: record.create_time_micros,
    }
}

/// A new row from `input` (whose declared rules have passed), or every reason it is not one,
/// each field named under `prefix`.
fn new_row(input: &Standard, prefix: &str, created_by: &str) -> Result<StandardRecord, Vec<FieldViolation>> {
    let mut v = Violations::default();
    let field = |f: &str| format!("{prefix}{f}");
    let occupation = v.value(&field("occupation_code"), OccupationCode::parse(input.occupation_code.trim()));
    let level = v.value(&field("skill_level"), SkillLevel::required(input.skill_level));
    let from = v.value(&field("effective_from"), NaiveDate::required(input.effective_from.as_ref()));
    let source = source_of(input.source);
    if source.is_none() {
        v.add(&field("source"), "SUBS-STANDARD", "a standard names its source");
    }
    let document = input.document_number.trim();
    if source.is_some_and(|s| s != Source::Provincial) && document.is_empty() {
        v.add(
            &field("document_number"),
            "SUBS-STANDARD",
            "a standard the city set by reference or with the government's consent names its document number",
        );
    }
    match (v.finish(), occupation, level, from, source) {
        (Ok(()), Some(occupation), Some(level), Some(from), Some(source)) => Ok(StandardRecord {
            id: StandardRecord::id_of(&occupation, level, from),
            occupation_code: occupation,
            occupation_name: input.occupation_name.trim().to_owned(),
            skill_level: level,
            standard_fen: Money::from_fen(input.standard_fen),
            source: source.code().to_owned(),
            document_number: document.to_owned(),
            effective_from: from,
            created_by: created_by.to_owned(),
            create_time_micros: qiancheng_platform::time::now_micros(),
        }),
        (Err(Error::InvalidArgument(violations)), ..) => Err(violations),
        _ => Err(vec![FieldViolation::new(field("occupation_code"), "SUBS-STANDARD", "not a standard")]),
    }
}

/// The refusal of a row that is already in the table.
fn exists(record: &StandardRecord) -> Error {
    Error::exists(
        "STANDARD_EXISTS",
        format!(
            "{} already has a row from {}; rows are never edited, add one with a later effective day",
            record.occupation_code.as_str(),
            record.effective_from
        ),
    )
}

/// The row as shown, with the day it ends among the rows of its occupation.
async fn shown_in_table(tx: &mut qiancheng_platform::db::Tx, record: &StandardRecord) -> Result<Standard, Error> {
    let rows = store::of_occupation(&mut **tx, &record.occupation_code).await?;
    let end = store::with_ends(&rows).into_iter().find(|(r, _)| r.id == record.id).and_then(|(_, end)| end);
    Ok(shown(record, end))
}

/// CreateStandard.
pub async fn create_standard(s: &Subsidy, call: Call<CreateStandardRequest>) -> Result<CreateStandardResponse, Error> {
    access::keep_tables(&call.principal)?;
    let input = call.message.standard.clone().unwrap_or_default();
    let record = new_row(&input, "standard.", &call.principal.subject).map_err(Error::InvalidArgument)?;
    write::run(s, &call, async |change| {
        if record::find::<StandardRecord>(&mut *change.tx, record.id.as_str()).await?.is_some() {
            return Err(exists(&record));
        }
        record::insert(&mut change.tx, &record).await?;
        change.audit(
            "standard.create",
            record.name(),
            serde_json::json!({ "standard_fen": record.standard_fen.fen(), "source": record.source,
                "document_number": record.document_number, "effective_from": record.effective_from }),
        );
        let standard = shown_in_table(&mut change.tx, &record).await?;
        Ok(CreateStandardResponse { standard: Some(standard) })
    })
    .await
}

/// ImportStandards.
pub async fn import_standards(
    s: &Subsidy,
    call: Call<ImportStandardsRequest>,
) -> Result<ImportStandardsResponse, Error> {
    access::keep_tables(&call.principal)?;
    let rows = call.message.rows.clone();
    write::run(s, &call, async |change| {
        let mut results = Vec::with_capacity(rows.len());
        let mut stored_ids = std::collections::HashSet::new();
        for (i, row) in rows.iter().enumerate() {
            let number = i32::try_from(i + 1).unwrap_or(i32::MAX);
            let prefix = format!("rows[{i}].");
            let standard = Standard {
                occupation_code: row.occupation_code.clone(),
                occupation_name: row.occupation_name.clone(),
                skill_level: row.skill_level,
                standard_fen: row.standard_fen,
                source: row.source,
                document_number: row.document_number.clone(),
                effective_from: row.effective_from,
                ..Default::default()
            };
            let mut declared = Vec::new();
            standard.check_at(&prefix, &mut declared);
            let checked =
                if declared.is_empty() { new_row(&standard, &prefix, &call.principal.subject) } else { Err(declared) };
            let refused = |reason: &str, field: &str, message: String| ImportStandardResult {
                row: number,
                ok: false,
                reason: reason.to_owned(),
                field: field.to_owned(),
                message,
                ..Default::default()
            };
            let record = match checked {
                Ok(record) => record,
                Err(violations) => {
                    let first = violations.into_iter().next();
                    let (rule, field, description) =
                        first.map(|v| (v.rule, v.field, v.description)).unwrap_or_default();
                    results.push(refused(&rule, &field, description));
                    continue;
                }
            };
            let stored = stored_ids.contains(&record.id)
                || record::find::<StandardRecord>(&mut *change.tx, record.id.as_str()).await?.is_some();
            if stored {
                results.push(refused(
                    "STANDARD_EXISTS",
                    &format!("{prefix}effective_from"),
                    exists(&record).to_string(),
                ));
                continue;
            }
            record::insert(&mut change.tx, &record).await?;
            stored_ids.insert(record.id.clone());
            results.push(ImportStandardResult {
                row: number,
                ok: true,
                standard_name: record.name(),
                ..Default::default()
            });
        }
        let stored = i32::try_from(stored_ids.len()).unwrap_or(i32::MAX);
        let refused = i32::try_from(results.len()).unwrap_or(i32::MAX) - stored;
        change.audit("standard.import", "standards", serde_json::json!({ "stored": stored, "refused": refused }));
        Ok(ImportStandardsResponse { results, stored, refused })
    })
    .await
}

/// ListStandards.
pub async fn list_standards(s: &Subsidy, call: Call<ListStandardsRequest>) -> Result<ListStandardsResponse, Error> {
    let m = &call.message;
    let occupation = match m.occupation_code.trim() {
        "" => None,
        code => Some(OccupationCode::parse(code).map_err(|e| Error::invalid_value("occupation_code", e))?),
    };
    let page = PageRequest::parse(
        m.page_size,
        &m.page_token,
        &format!("standards|{}", occupation.as_ref().map(OccupationCode::as_str).unwrap_or_default()),
    )?;
    let filter = Filter::new().eq_given("st.occupation_code", occupation.as_ref().map(OccupationCode::as_str));
    let (records, next_page_token) = record::page::<StandardRecord>(&s.db, filter, &page).await?;
    let mut standards = Vec::with_capacity(records.len());
    for record in &records {
        let rows = store::of_occupation(s.db.pool(), &record.occupation_code).await?;
        let end = store::with_ends(&rows).into_iter().find(|(r, _)| r.id == record.id).and_then(|(_, end)| end);
        standards.push(shown(record, end));
    }
    Ok(ListStandardsResponse { standards, next_page_token })
}

/// GetStandardInForce.
pub async fn get_standard_in_force(
    s: &Subsidy,
    call: Call<GetStandardInForceRequest>,
) -> Result<GetStandardInForceResponse, Error> {
    let m = &call.message;
    let mut v = Violations::default();
    let occupation = v.value("occupation_code", OccupationCode::parse(m.occupation_code.trim()));
    let level = v.value("skill_level", SkillLevel::required(m.skill_level));
    let on = v.value("on", NaiveDate::required(m.on.as_ref()));
    v.finish()?;
    let (Some(occupation), Some(level), Some(on)) = (occupation, level, on) else {
        unreachable!("every missing value was recorded as a violation, and finish() refused them")
    };
    let rows = store::of_occupation(s.db.pool(), &occupation).await?;
    let found = store::with_ends(&rows)
        .into_iter()
        .find(|(r, end)| r.skill_level == level && r.effective_from <= on && end.is_none_or(|end| on <= end));
    match found {
        Some((record, end)) => Ok(GetStandardInForceResponse { standard: Some(shown(record, end)) }),
        None => Err(Error::Refused(qiancheng_domain::policy::RuleResult::fail(
            "SUBS-STANDARD",
            format!("{on}无{}{}的补贴标准,不予补贴", occupation.as_str(), level.code()),
            format!("no standard for {} at {} in force on {on}: no subsidy", occupation.as_str(), level.code()),
        ))),
    }
}
