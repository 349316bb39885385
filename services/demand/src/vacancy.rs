//! Vacancies (岗位需求, one row of 附件1): post, occupation and level, headcount, monthly pay
//! range, requirements, work county, needed-by date and how the vacancy was surveyed.
//!
//! A vacancy is a draft until published on the demand board, then filled or withdrawn
//! ([`VacancyState`]). Every change keeps a revision with the vacancy as it was after it
//! (适时更新发布), who made it and why.

use chrono::NaiveDate;
use qiancheng_api::convert::Shown as _;
use qiancheng_api::demand::*;
use qiancheng_api::{FromProto as _, IntoProto as _, ResponseStream, Rpc as _, convert};
use qiancheng_domain::lifecycle::{Lifecycle as _, VacancyState};
use qiancheng_domain::{Industry, OccupationCode, RegionCode, SkillLevel, Uscc};
use qiancheng_platform::auth::Principal;
use qiancheng_platform::call::id_of;
use qiancheng_platform::error::Violations;
use qiancheng_platform::idempotency::{self, IdempotencyKey};
use qiancheng_platform::mask::UpdateMask;
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::record::{self, Filter};
use qiancheng_platform::stream::ChunkEnd;
use qiancheng_platform::time::new_id;
use qiancheng_platform::write::{self, Change};
use qiancheng_platform::{Call, Error, Shared, Stamp};
use tonic::Streaming;

use crate::access::{self, Scope};
use crate::store::enterprise::{self, EnterpriseRecord};
use crate::store::vacancy::{self, VacancyRecord};

/// Most rows one import stream takes; the stream is not read past it.
pub const MAX_IMPORT_ROWS: usize = 5_000;
/// Rows read from an import stream before they are stored in one transaction. No transaction
/// is open while the stream is read.
pub const IMPORT_CHUNK_ROWS: usize = 200;

/// The editable content of a vacancy, validated.
#[derive(Debug, Clone)]
struct Content {
    occupation_code: OccupationCode,
    work_region: RegionCode,
    needed_by: NaiveDate,
    survey_method: String,
    skill_level: SkillLevel,
}

impl Content {
    /// Writes the content of `input` onto `record`.
    fn apply(self, input: &Vacancy, record: &mut VacancyRecord) {
        record.post = input.post.trim().to_owned();
        record.occupation_code = self.occupation_code.as_str().to_owned();
        record.occupation_name = input.occupation_name.trim().to_owned();
        record.skill_level = self.skill_level;
        record.headcount = i64::from(input.headcount);
        record.pay_min_fen = input.pay_min_fen;
        record.pay_max_fen = input.pay_max_fen;
        record.requirements = input.requirements.trim().to_owned();
        record.work_region = self.work_region;
        record.needed_by = self.needed_by;
        record.survey_method = self.survey_method;
    }
}

/// Validates what the proto's field rules do not (`demand.proto` declares presence, lengths and
/// ranges, the pay range among them; the platform has checked them): the codes, and a new
/// needed-by date (`needed_by_changed`), which must not have passed. `None` when any is bad.
fn validate_content(input: &Vacancy, prefix: &str, needed_by_changed: bool, v: &mut Violations) -> Option<Content> {
    let field = |name: &str| format!("{prefix}{name}");
    let occupation_code = v.value(&field("occupation_code"), OccupationCode::parse(&input.occupation_code));
    let work_region = v.value(&field("work_region_code"), convert::county(&input.work_region_code));
    let needed_by = v.value(&field("needed_by"), NaiveDate::required(input.needed_by.as_ref()));
    let skill_level = v.value(&field("skill_level"), SkillLevel::required(input.skill_level));
    if needed_by_changed && needed_by.is_some_and(|d| d < qiancheng_domain::today_in_china()) {
        v.add(&field("needed_by"), "DEMAND-NEEDED-BY", "the needed-by date has passed");
    }
    let survey_method = SurveyMethod::try_from(input.survey_method)
        .ok()
        .and_then(|m| m.as_str_name().strip_prefix("SURVEY_METHOD_").map(str::to_owned));
    if !v.is_empty() {
        return None;
    }
    Some(Content {
        occupation_code: occupation_code?,
        work_region: work_region?,
        needed_by: needed_by?,
        survey_method: survey_method?,
        skill_level: skill_level?,
    })
}

impl From<&VacancyRecord> for Vacancy {
    /// The vacancy as the API shows it.
    fn from(record: &VacancyRecord) -> Self {
        Vacancy::from(record.clone())
    }
}

impl From<VacancyRecord> for Vacancy {
    /// The vacancy as the API shows it, its texts moved from the record (a page of them is
    /// shown with no copy of each text).
    fn from(record: VacancyRecord) -> Self {
        Vacancy {
            name: record.name(),
            survey_method: SurveyMethod::from_str_name(&format!("SURVEY_METHOD_{}", record.survey_method))
                .map_or(0, |m| m as i32),
            revision: record.stamp.revision_i32(),
            ..record.into_shown()
        }
    }
}

impl From<&VacancyRecord> for PublishedVacancy {
    /// The vacancy as the public board shows it: no enterprise contact, no internal fields.
    fn from(record: &VacancyRecord) -> Self {
        PublishedVacancy {
            name: record.name(),
            enterprise_name: record.enterprise_name.clone(),
            post: record.post.clone(),
            occupation_code: record.occupation_code.clone(),
            occupation_name: record.occupation_name.clone(),
            skill_level: record.skill_level.into_proto(),
            headcount: convert::int32(record.headcount),
            pay_min_fen: record.pay_min_fen,
            pay_max_fen: record.pay_max_fen,
            requirements: record.requirements.clone(),
            work_region_code: record.work_region.into_proto(),
            needed_by: Some(record.needed_by.into_proto()),
            industry: record.industry.into_proto(),
        }
    }
}

/// Keeps each of `records` as it now is as its revision and notes the audit entry of `action`.
async fn record_changes(
    change: &mut Change,
    records: &[VacancyRecord],
    action: &str,
    reason: &str,
) -> Result<(), Error> {
    let actor = change.actor().to_owned();
    vacancy::insert_revisions(&mut change.tx, records, action, reason, &actor).await?;
    for record in records {
        change.audit(
            &format!("vacancy.{action}"),
            record.name(),
            serde_json::json!({ "revision": record.stamp.revision, "state": record.state.code(), "reason": reason }),
        );
    }
    Ok(())
}

/// Checks a new vacancy in memory (fields under `prefix`): its declared field rules (again, for
/// an import row, which arrives in a stream), its content and whose it is. An enterprise filing
/// for another learns nothing about it (permission before existence).
fn check_new(scope: &Scope, input: &Vacancy, prefix: &str) -> Result<(Uscc, Content), Error> {
    let mut v = Violations::default();
    v.declared(input, prefix);
    let credit_code = v.value(&format!("{prefix}enterprise_credit_code"), Uscc::parse(&input.enterprise_credit_code));
    let content = validate_content(input, prefix, true, &mut v);
    v.finish()?;
    let (Some(credit_code), Some(content)) = (credit_code, content) else {
        unreachable!("every missing value was recorded as a violation, and finish() refused them")
    };
    if matches!(scope, Scope::Org(own) if own != credit_code.as_str()) {
        return Err(Error::denied("an enterprise files only its own vacancies"));
    }
    Ok((credit_code, content))
}

/// The new draft of `owner` with `content`, once the caller may file for it.
fn draft(
    scope: &Scope,
    owner: Option<&EnterpriseRecord>,
    (input, content): (&Vacancy, Content),
) -> Result<VacancyRecord, Error> {
    let owner = owner.ok_or_else(|| {
        Error::precondition(
            "ENTERPRISE_NOT_REGISTERED",
            "the enterprise the vacancy names is not registered; create it first",
        )
    })?;
    scope.check(owner.region, &owner.credit_code)?;
    let mut record = VacancyRecord {
        id: new_id(),
        enterprise_credit_code: owner.credit_code.clone(),
        enterprise_name: owner.display_name.clone(),
        region: owner.region,
        industry: owner.industry,
        post: String::new(),
        occupation_code: String::new(),
        occupation_name: String::new(),
        skill_level: content.skill_level,
        headcount: 0,
        pay_min_fen: 0,
        pay_max_fen: 0,
        requirements: String::new(),
        work_region: content.work_region,
        needed_by: content.needed_by,
        survey_method: String::new(),
        state: VacancyState::Draft,
        stamp: Stamp::new(),
    };
    content.apply(input, &mut record);
    Ok(record)
}

/// CreateVacancy.
pub async fn create_vacancy(s: &Shared, call: Call<CreateVacancyRequest>) -> Result<CreateVacancyResponse, Error> {
    let scope = access::enterprise_write_scope(&call.principal)?;
    let input = call.message.vacancy.clone().unwrap_or_default();
    let (credit_code, content) = check_new(&scope, &input, "vacancy.")?;
    write::run(s, &call, async |change| {
        let owner = record::find::<EnterpriseRecord>(&mut *change.tx, credit_code.as_str()).await?;
        let created = draft(&scope, owner.as_ref(), (&input, content))?;
        record::insert(&mut change.tx, &created).await?;
        record_changes(change, std::slice::from_ref(&created), "create", "").await?;
        Ok(CreateVacancyResponse { vacancy: Some(Vacancy::from(&created)) })
    })
    .await
}

/// GetVacancy.
pub async fn get_vacancy(s: &Shared, call: Call<GetVacancyRequest>) -> Result<GetVacancyResponse, Error> {
    let record = access::readable_vacancy(&s.db, &call.principal, &call.message.name, "name").await?;
    Ok(GetVacancyResponse { vacancy: Some(Vacancy::from(record)) })
}

/// ListVacancies.
pub async fn list_vacancies(s: &Shared, call: Call<ListVacanciesRequest>) -> Result<ListVacanciesResponse, Error> {
    let scope = access::enterprise_read_scope(&call.principal)?;
    let m = &call.message;
    let mut v = Violations::default();
    let region = v.value("region_code", convert::region_filter(&m.region_code)).flatten();
    let industry = v.value("industry", Industry::from_proto(m.industry)).flatten();
    let state = v.value("state", VacancyState::from_proto(m.state)).flatten();
    v.finish()?;
    let (state, region, industry) = (state.map(|s| s.code()), region.map(|r| r.code()), industry.map(|i| i.code()));
    let filter = Filter::new()
        .eq_given("v.state", state)
        .eq_given("v.region_code", region)
        .eq_given("e.industry", industry)
        .eq_given("v.enterprise_credit_code", Some(m.enterprise_credit_code.as_str()))
        .within(&scope, "v.region_code", Some("v.enterprise_credit_code"));
    let fingerprint = format!("vacancies|{state:?}|{region:?}|{industry:?}|{}", m.enterprise_credit_code);
    let page = PageRequest::parse(m.page_size, &m.page_token, &fingerprint)?;
    let (records, next_page_token) = record::page::<VacancyRecord>(&s.db, filter, &page).await?;
    Ok(ListVacanciesResponse { vacancies: records.into_iter().map(Vacancy::from).collect(), next_page_token })
}

/// Loads a vacancy the caller may change inside `change`, checking its etag.
async fn load_for_change(
    change: &mut Change,
    principal: &Principal,
    name: &str,
    etag: &str,
) -> Result<VacancyRecord, Error> {
    let scope = access::enterprise_write_scope(principal)?;
    let id = id_of(name, "vacancies", "name")?;
    let record = record::find::<VacancyRecord>(&mut *change.tx, id).await?.ok_or_else(|| scope.missing(name))?;
    scope.check(record.region, &record.enterprise_credit_code)?;
    record.stamp.check(etag)?;
    Ok(record)
}

/// UpdateVacancy.
pub async fn update_vacancy(s: &Shared, call: Call<UpdateVacancyRequest>) -> Result<UpdateVacancyResponse, Error> {
    access::enterprise_write_scope(&call.principal)?;
    let input = call.message.vacancy.clone().unwrap_or_default();
    let mask = UpdateMask::parse(
        call.message.update_mask.as_ref(),
        &[
            "post",
            "occupation_code",
            "occupation_name",
            "skill_level",
            "headcount",
            "pay_min_fen",
            "pay_max_fen",
            "requirements",
            "work_region_code",
            "needed_by",
            "survey_method",
        ],
    )?;
    let reason = call.message.reason.trim().to_owned();
    write::run(s, &call, async |change| {
        let mut record = load_for_change(change, &call.principal, &input.name, &input.etag).await?;
        if !matches!(record.state, VacancyState::Draft | VacancyState::Published) {
            return Err(Error::precondition(
                "VACANCY_STATE",
                format!("a {} vacancy cannot change", record.state.words()),
            ));
        }
        let mut merged = Vacancy::from(&record);
        mask.merge(&mut merged, &input);
        let mut v = Violations::default();
        v.declared(&merged, "vacancy.");
        let content = validate_content(&merged, "vacancy.", mask.names("needed_by"), &mut v);
        v.finish()?;
        content.expect("a bad field was refused above").apply(&merged, &mut record);
        record.stamp.touch();
        record::update(&mut change.tx, &record).await?;
        record_changes(change, std::slice::from_ref(&record), "update", &reason).await?;
        Ok(UpdateVacancyResponse { vacancy: Some(Vacancy::from(&record)) })
    })
    .await
}

/// Moves the vacancy `name` to `to` inside `change`, keeping a revision; returns it as the API
/// shows it.
async fn transition(
    change: &mut Change,
    principal: &Principal,
    (name, etag): (&str, &str),
    to: VacancyState,
    (action, reason): (&str, &str),
) -> Result<Vacancy, Error> {
    let mut record = load_for_change(change, principal, name, etag).await?;
    record.state = record.state.to(to)?;
    record.stamp.touch();
    record::update(&mut change.tx, &record).await?;
    record_changes(change, std::slice::from_ref(&record), action, reason).await?;
    Ok(Vacancy::from(&record))
}

/// PublishVacancy.
pub async fn publish_vacancy(s: &Shared, call: Call<PublishVacancyRequest>) -> Result<PublishVacancyResponse, Error> {
    let m = &call.message;
    write::run(s, &call, async |change| {
        let target = (m.name.as_str(), m.etag.as_str());
        let vacancy = transition(change, &call.principal, target, VacancyState::Published, ("publish", "")).await?;
        Ok(PublishVacancyResponse { vacancy: Some(vacancy) })
    })
    .await
}

/// FillVacancy.
pub async fn fill_vacancy(s: &Shared, call: Call<FillVacancyRequest>) -> Result<FillVacancyResponse, Error> {
    let m = &call.message;
    write::run(s, &call, async |change| {
        let target = (m.name.as_str(), m.etag.as_str());
        let vacancy = transition(change, &call.principal, target, VacancyState::Filled, ("fill", "")).await?;
        Ok(FillVacancyResponse { vacancy: Some(vacancy) })
    })
    .await
}

/// WithdrawVacancy.
pub async fn withdraw_vacancy(
    s: &Shared,
    call: Call<WithdrawVacancyRequest>,
) -> Result<WithdrawVacancyResponse, Error> {
    let m = &call.message;
    let reason = m.reason.trim();
    write::run(s, &call, async |change| {
        let target = (m.name.as_str(), m.etag.as_str());
        let vacancy =
            transition(change, &call.principal, target, VacancyState::Withdrawn, ("withdraw", reason)).await?;
        Ok(WithdrawVacancyResponse { vacancy: Some(vacancy) })
    })
    .await
}

/// ListVacancyRevisions.
pub async fn list_vacancy_revisions(
    s: &Shared,
    call: Call<ListVacancyRevisionsRequest>,
) -> Result<ListVacancyRevisionsResponse, Error> {
    let m = &call.message;
    let record = access::readable_vacancy(&s.db, &call.principal, &m.name, "name").await?;
    let page = PageRequest::parse(m.page_size, &m.page_token, &format!("revisions|{}", record.id))?;
    // Newest first: the page key is the revision number, counted down.
    let before = if page.after.is_empty() {
        i64::MAX
    } else {
        page.after.parse().map_err(|_| Error::invalid("page_token", "PAGE", "not a token of this list"))?
    };
    let stored = vacancy::revisions(s.db.pool(), &record.id, before, page.fetch_limit()).await?;
    let mut revisions: Vec<VacancyRevision> = stored
        .iter()
        .map(|r| VacancyRevision {
            revision: convert::int32(r.revision),
            vacancy: r.snapshot.as_ref().map(Vacancy::from),
            actor: r.actor.clone(),
            action: r.action.clone(),
            reason: r.reason.clone(),
            time_micros: r.time_micros,
        })
        .collect();
    let next_page_token = page.finish(&mut revisions, |r| r.revision.to_string());
    Ok(ListVacancyRevisionsResponse { revisions, next_page_token })
}

/// One row of an import, whichever RPC brought it.
struct ImportRow {
    row: i32,
    vacancy: Vacancy,
    row_ref: String,
    request_id: String,
}

impl From<ImportVacanciesRequest> for ImportRow {
    fn from(m: ImportVacanciesRequest) -> Self {
        Self { row: 0, vacancy: m.vacancy.unwrap_or_default(), row_ref: m.row_ref, request_id: m.request_id }
    }
}

impl From<StreamVacancyImportRequest> for ImportRow {
    fn from(m: StreamVacancyImportRequest) -> Self {
        Self { row: 0, vacancy: m.vacancy.unwrap_or_default(), row_ref: m.row_ref, request_id: m.request_id }
    }
}

/// What an import has done so far.
#[derive(Debug, Default)]
struct Tally {
    rows: i32,
    imported: i32,
    rejected: i32,
    replayed: i32,
}

/// Reads the next chunk of an import (no transaction open while waiting for the client) and
/// numbers its rows; past [`MAX_IMPORT_ROWS`] the rows are not read, and a result says so.
async fn next_chunk<T: Into<ImportRow>>(
    s: &Shared,
    stream: &mut Streaming<T>,
    tally: &mut Tally,
) -> (Vec<ImportRow>, Vec<ImportRowResult>, ChunkEnd) {
    let room = MAX_IMPORT_ROWS.saturating_sub(usize::try_from(tally.rows).unwrap_or(usize::MAX));
    let (items, mut end) = s.streams.read_chunk(stream, IMPORT_CHUNK_ROWS.min(room + 1)).await;
    let mut rows = Vec::with_capacity(items.len());
    let mut refused = Vec::new();
    for item in items {
        tally.rows += 1;
        if usize::try_from(tally.rows).unwrap_or(usize::MAX) > MAX_IMPORT_ROWS {
            tally.rejected += 1;
            refused.push(ImportRowResult {
                row: tally.rows,
                reason: "IMPORT-LIMIT".to_owned(),
                field: "vacancy".to_owned(),
                message: format!("an import takes at most {MAX_IMPORT_ROWS} rows; rows from here on were not read"),
                ..Default::default()
            });
            end = ChunkEnd::Finished;
            break;
        }
        let mut row: ImportRow = item.into();
        row.row = tally.rows;
        rows.push(row);
    }
    (rows, refused, end)
}

/// The result closing an import whose stream ended early (`end`): what was stored before stays
/// stored. The words are the decoder's or the transport's, never a row's values.
fn ended_early(tally: &Tally, end: &ChunkEnd) -> Option<ImportRowResult> {
    let (reason, why) = match end {
        ChunkEnd::More | ChunkEnd::Finished => return None,
        ChunkEnd::Malformed(why) => ("MALFORMED_REQUEST", why),
        ChunkEnd::Broken(why) => ("IMPORT-STREAM", why),
    };
    Some(ImportRowResult {
        row: tally.rows + 1,
        reason: reason.to_owned(),
        field: "stream".to_owned(),
        message: format!("the stream ended early ({why}); every row before this one is settled"),
        ..Default::default()
    })
}

/// ImportVacancies: rows are read a chunk of [`IMPORT_CHUNK_ROWS`] at a time and each chunk is
/// stored in one transaction, each row inside a savepoint of its own, so a bad row is reported
/// and rolled back while the good rows are kept. With a request id per row, a retried import
/// stores nothing twice. A broken stream still gets the results of every row stored before.
pub async fn import_vacancies(
    s: &Shared,
    call: Call<Streaming<ImportVacanciesRequest>>,
) -> Result<ImportVacanciesResponse, Error> {
    let scope = access::enterprise_write_scope(&call.principal)?;
    let _permit = s.streams.admit(&call.principal.subject)?;
    let mut stream = call.message;
    let mut tally = Tally::default();
    let mut results = Vec::new();
    loop {
        let (rows, refused, end) = next_chunk(s, &mut stream, &mut tally).await;
        results.extend(store_chunk(s, &call.principal, &scope, rows, &mut tally).await?);
        results.extend(refused);
        if end != ChunkEnd::More {
            results.extend(ended_early(&tally, &end));
            break;
        }
    }
    Ok(ImportVacanciesResponse {
        results,
        imported: tally.imported,
        rejected: tally.rejected,
        replayed: tally.replayed,
    })
}

/// StreamVacancyImport: as ImportVacancies, acknowledging each chunk once it is committed.
pub async fn stream_vacancy_import(
    s: &Shared,
    call: Call<Streaming<StreamVacancyImportRequest>>,
) -> Result<ResponseStream<StreamVacancyImportResponse>, Error> {
    let scope = access::enterprise_write_scope(&call.principal)?;
    let s = s.clone();
    s.streams.clone().acknowledging(call, |principal, mut stream, acks| async move {
        let mut tally = Tally::default();
        loop {
            let (rows, refused, end) = next_chunk(&s, &mut stream, &mut tally).await;
            let mut results = store_chunk(&s, &principal, &scope, rows, &mut tally).await?;
            results.extend(refused);
            let ack = StreamVacancyImportResponse {
                committed_through_row: tally.rows,
                results,
                imported: tally.imported,
                rejected: tally.rejected,
                replayed: tally.replayed,
            };
            // A client that stopped listening ends the import; what is committed stays.
            if !acks.send(ack).await || end == ChunkEnd::Finished {
                return Ok(());
            }
            // A stream that broke, or sent a message that does not decode, ends with its status
            // once what came before is acknowledged.
            if let Some(error) = end.into_error(
                "every row through the last acknowledged committed_through_row is settled; send the rest again \
                 with the same request ids",
            ) {
                return Err(error);
            }
        }
    })
}

/// An import row that passed its checks in memory.
struct CheckedRow {
    index: usize,
    credit_code: Uscc,
    content: Content,
    key: Option<IdempotencyKey>,
}

/// Checks one import row in memory: its text, its reference, its idempotency key and content.
fn check_row(
    s: &Shared,
    principal: &Principal,
    scope: &Scope,
    row: &ImportRow,
) -> Result<(Uscc, Content, Option<IdempotencyKey>), Error> {
    if row.row_ref.chars().count() > 64 {
        return Err(Error::invalid("row_ref", "TEXT-LENGTH", "at most 64 characters"));
    }
    let mut v = Violations::default();
    for (field, text) in [("row_ref", row.row_ref.as_str()), ("request_id", row.request_id.as_str())] {
        if !qiancheng_platform::call::acceptable_text(text) {
            v.add(field, "TEXT", "text must have no control characters");
        }
    }
    if let Some(field) = qiancheng_api::Texts::first_bad_text(&row.vacancy, &qiancheng_platform::call::acceptable_text)
    {
        v.add(&format!("vacancy.{field}"), "TEXT", "text must have no control characters");
    }
    v.finish()?;
    let key = IdempotencyKey::new(&s.pii, &principal.subject, "ImportVacancies", &row.request_id, &row.vacancy)?;
    let (credit_code, content) = check_new(scope, &row.vacancy, "vacancy.")?;
    Ok((credit_code, content, key))
}

/// Stores the rows of one chunk of an import in one transaction and returns their results.
/// Rows are checked in memory first; then the chunk's replays and owners are read with one
/// query each, and the new vacancies, their revisions, audit entries and idempotency records go
/// in with multi-row inserts. A refused row gets its result and leaves nothing behind.
async fn store_chunk(
    s: &Shared,
    principal: &Principal,
    scope: &Scope,
    rows: Vec<ImportRow>,
    tally: &mut Tally,
) -> Result<Vec<ImportRowResult>, Error> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut results: Vec<ImportRowResult> = rows
        .iter()
        .map(|r| ImportRowResult { row: r.row, row_ref: r.row_ref.chars().take(64).collect(), ..Default::default() })
        .collect();
    let mut refuse = |result: &mut ImportRowResult, error: Error| {
        (result.reason, result.field, result.message) = describe(error);
        tally.rejected += 1;
    };
    let mut checked = Vec::with_capacity(rows.len());
    for (index, row) in rows.iter().enumerate() {
        match check_row(s, principal, scope, row) {
            Ok((credit_code, content, key)) => checked.push(CheckedRow { index, credit_code, content, key }),
            Err(error) => refuse(&mut results[index], error),
        }
    }
    let mut change = write::Change::open(s, &principal.subject).await?;
    let keys: Vec<&IdempotencyKey> = checked.iter().filter_map(|c| c.key.as_ref()).collect();
    let served = idempotency::replay_many::<CreateVacancyResponse>(&mut change.tx, &keys).await?;
    let codes: Vec<&str> = checked.iter().map(|c| c.credit_code.as_str()).collect();
    let owners = enterprise::find_many(&mut change.tx, &codes).await?;
    let mut fresh: Vec<VacancyRecord> = Vec::new();
    let mut fresh_keys: Vec<(usize, IdempotencyKey)> = Vec::new();
    let mut replayed = Vec::new();
    for c in checked {
        if let Some(key) = &c.key {
            if let Some(answer) = served.get(key.stored_id()) {
                match answer {
                    Ok(first) => {
                        replayed.push((c.index, first.vacancy.as_ref().map(|v| v.name.clone()).unwrap_or_default()))
                    }
                    Err(_) => refuse(&mut results[c.index], Error::RequestIdReused),
                }
                continue;
            }
            // The same id twice in one chunk: the second is a replay of the first.
            if let Some((at, first)) = fresh_keys.iter().find(|(_, k)| k.stored_id() == key.stored_id()) {
                if first.same_request(key) {
                    replayed.push((c.index, fresh[*at].name()));
                } else {
                    refuse(&mut results[c.index], Error::RequestIdReused);
                }
                continue;
            }
        }
        match draft(scope, owners.get(c.credit_code.as_str()), (&rows[c.index].vacancy, c.content)) {
            Ok(record) => {
                results[c.index].ok = true;
                results[c.index].vacancy_name = record.name();
                if let Some(key) = c.key {
                    fresh_keys.push((fresh.len(), key));
                }
                fresh.push(record);
            }
            Err(error) => refuse(&mut results[c.index], error),
        }
    }
    for (index, name) in replayed {
        results[index].ok = true;
        results[index].replayed = true;
        results[index].vacancy_name = name;
        tally.replayed += 1;
    }
    tally.imported += i32::try_from(fresh.len()).unwrap_or(i32::MAX);
    record::insert_many(&mut change.tx, &fresh).await?;
    record_changes(&mut change, &fresh, "create", "").await?;
    let responses: Vec<(IdempotencyKey, CreateVacancyResponse)> = fresh_keys
        .into_iter()
        .map(|(at, key)| (key, CreateVacancyResponse { vacancy: Some(Vacancy::from(&fresh[at])) }))
        .collect();
    let pairs: Vec<(&IdempotencyKey, &CreateVacancyResponse)> = responses.iter().map(|(k, r)| (k, r)).collect();
    idempotency::remember_many(&mut change.tx, &pairs).await?;
    change.commit().await?;
    Ok(results)
}

/// The reason, field and message of a refused import row, as a client would see them.
fn describe(error: Error) -> (String, String, String) {
    match error {
        Error::InvalidArgument(violations) => violations
            .first()
            .map(|v| (v.rule.clone(), v.field.clone(), format!("{}: {} ({})", v.field, v.description, v.rule)))
            .unwrap_or_default(),
        other => {
            let status = other.to_status(ImportVacanciesRequest::PACKAGE, ImportVacanciesRequest::METHOD);
            let details = tonic_types::StatusExt::get_error_details(&status);
            (
                details.error_info().map(|i| i.reason.clone()).unwrap_or_default(),
                String::new(),
                status.message().to_owned(),
            )
        }
    }
}
