//! What a foreign client and a hostile one found (issue 8), one scenario per finding, through
//! the generated client (or raw bytes where the client would refuse to send them) on a real
//! server on port 0, once on SQLite and once on PostgreSQL (when `QIANCHENG_TEST_DATABASE_URL`
//! is set). Scenarios that need other settings (small messages, a short idle timeout, a short
//! request timeout, their own signing keys) live in modules of their own.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use qiancheng_api::demand::demand_service_client::DemandServiceClient;
use qiancheng_api::demand::*;
use qiancheng_api::types::{Date, Industry};
use qiancheng_demand::Spec;
use qiancheng_platform::auth::Role;
use qiancheng_platform::db::Backend as DbBackend;
use qiancheng_platform::service::Peers;
use qiancheng_testkit::{Backend, Keys, TestService, authed, backend_tests, bad_fields, fixtures, raw_call, reason};
use sqlx::{AssertSqlSafe, Column as _, Row as _};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;
use tonic_types::StatusExt as _;

mod common;

use common::*;

/// Generous bound on anything that waits on the network: a hang fails the test, a slow machine
/// does not.
const PATIENCE: Duration = Duration::from_secs(60);

async fn within<F: Future>(what: F) -> F::Output {
    tokio::time::timeout(PATIENCE, what).await.expect("finished in time")
}

impl App {
    fn provider(&self) -> String {
        self.keys.token(Role::Provider, None, Some(&fixtures::uscc("52421221MJ0000001")))
    }
    fn auditor(&self) -> String {
        self.keys.token(Role::Auditor, None, None)
    }
    /// A token of `role` for the caller `subject` (tokens of [`Keys::token`] share one subject
    /// per role).
    fn token_of(&self, subject: &str, role: Role, region: Option<&str>, org: Option<&str>) -> String {
        self.keys.minter.mint(subject, &[role], region, org, 3600).expect("mint a token")
    }
    /// A token of `role` with the scope that role needs.
    fn token_for(&self, role: Role) -> String {
        match role {
            Role::CityAdmin => self.admin(),
            Role::CountyOfficer => self.officer(COUNTY),
            Role::Provider => self.provider(),
            Role::Enterprise => self.enterprise(&fixtures::uscc("91421221MA4RLE001")),
            other => self.keys.token(other, None, None),
        }
    }

    /// Records a worker's need as `token`.
    async fn record_need(
        &self,
        input: WorkerNeedInput,
        request_id: &str,
        token: &str,
    ) -> Result<WorkerNeed, tonic::Status> {
        self.client()
            .await
            .create_worker_need(authed(
                CreateWorkerNeedRequest { worker_need: Some(input), request_id: request_id.into() },
                token,
            ))
            .await
            .map(|r| r.into_inner().worker_need.expect("need"))
    }

    /// Runs a StreamVacancyImport to its end and returns every acknowledgement.
    async fn stream_import(
        &self,
        rows: impl tokio_stream::Stream<Item = StreamVacancyImportRequest> + Send + 'static,
        token: &str,
    ) -> Result<Vec<StreamVacancyImportResponse>, tonic::Status> {
        match self.stream_import_to_end(rows, token).await {
            (acks, None) => Ok(acks),
            (_, Some(status)) => Err(status),
        }
    }

    /// Runs a StreamVacancyImport of `rows` and returns every acknowledgement received, with the
    /// status the stream ended with when it was not OK.
    async fn stream_import_to_end(
        &self,
        rows: impl tokio_stream::Stream<Item = StreamVacancyImportRequest> + Send + 'static,
        token: &str,
    ) -> (Vec<StreamVacancyImportResponse>, Option<tonic::Status>) {
        let mut acks = match self.client().await.stream_vacancy_import(authed(rows, token)).await {
            Ok(acks) => acks.into_inner(),
            Err(status) => return (Vec::new(), Some(status)),
        };
        let mut all = Vec::new();
        loop {
            match acks.message().await {
                Ok(Some(ack)) => all.push(ack),
                Ok(None) => return (all, None),
                Err(status) => return (all, Some(status)),
            }
        }
    }

    /// Runs an ImportVacancies of `rows`.
    async fn import(
        &self,
        rows: impl tokio_stream::Stream<Item = ImportVacanciesRequest> + Send + 'static,
        token: &str,
    ) -> Result<ImportVacanciesResponse, tonic::Status> {
        self.client().await.import_vacancies(authed(rows, token)).await.map(tonic::Response::into_inner)
    }

    /// Sends `body` as it is, as the one message of a call of `path`, and returns the messages
    /// answered, as they came.
    async fn call_raw(&self, path: &'static str, token: &str, body: Vec<u8>) -> Result<Vec<Vec<u8>>, tonic::Status> {
        match self.call_raw_stream(path, token, vec![body]).await {
            (answers, None) => Ok(answers),
            (_, Some(status)) => Err(status),
        }
    }

    /// Sends `bodies` as they are, as the messages of a call of `path`, and returns the messages
    /// answered, as they came, with the status the call ended with when it was not OK.
    async fn call_raw_stream(
        &self,
        path: &'static str,
        token: &str,
        bodies: Vec<Vec<u8>>,
    ) -> (Vec<Vec<u8>>, Option<tonic::Status>) {
        raw_call(self.server.channel().await, path, token, bodies).await
    }

    async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(self.db.pool())
            .await
            .expect("count rows")
    }

    async fn audit_actions(&self) -> Vec<String> {
        sqlx::query_scalar("SELECT action FROM audit_log ORDER BY seq").fetch_all(self.db.pool()).await.expect("audit")
    }

    /// Every value stored in every table, as `(table, column, value)`. A value that cannot be
    /// read fails the test: nothing is skipped.
    async fn every_stored_value(&self) -> Vec<(String, String, Stored)> {
        let pool = self.db.pool();
        let mut values = Vec::new();
        match self.db.backend() {
            DbBackend::Sqlite => {
                let tables: Vec<String> =
                    sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
                        .fetch_all(pool)
                        .await
                        .expect("tables");
                for table in tables {
                    // `+column` is the value as stored, whatever the column was declared as (the
                    // `Any` driver refuses some declared types, such as DATETIME).
                    let columns: Vec<String> =
                        sqlx::query_scalar(AssertSqlSafe(format!("SELECT name FROM pragma_table_info('{table}')")))
                            .fetch_all(pool)
                            .await
                            .expect("columns");
                    let select: Vec<String> = columns.iter().map(|c| format!("+\"{c}\" AS \"{c}\"")).collect();
                    let rows = sqlx::query(AssertSqlSafe(format!("SELECT {} FROM \"{table}\"", select.join(", "))))
                        .fetch_all(pool)
                        .await
                        .unwrap_or_else(|e| panic!("the rows of {table} cannot be read: {e}"));
                    for row in rows {
                        for (i, column) in row.columns().iter().enumerate() {
                            let value = Stored::of(&row, i).unwrap_or_else(|| {
                                panic!("{table}.{} holds a value that does not decode", column.name())
                            });
                            values.push((table.clone(), column.name().to_owned(), value));
                        }
                    }
                }
            }
            DbBackend::Postgres => {
                let tables: Vec<String> = sqlx::query_scalar(
                    "SELECT CAST(tablename AS TEXT) FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1",
                )
                .fetch_all(pool)
                .await
                .expect("tables");
                for table in tables {
                    // Every column of every type, as JSON text.
                    let rows: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!(
                        "SELECT CAST(row_to_json(t) AS TEXT) FROM \"{table}\" t"
                    )))
                    .fetch_all(pool)
                    .await
                    .unwrap_or_else(|e| panic!("the rows of {table} cannot be read: {e}"));
                    for row in rows {
                        let object: serde_json::Map<String, serde_json::Value> =
                            serde_json::from_str(&row).unwrap_or_else(|e| panic!("a row of {table} is not JSON: {e}"));
                        for (column, value) in object {
                            let value = match value {
                                serde_json::Value::Null => Stored::Null,
                                serde_json::Value::String(text) => Stored::Text(text),
                                other => Stored::Text(other.to_string()),
                            };
                            values.push((table.clone(), column, value));
                        }
                    }
                }
            }
        }
        assert!(values.iter().any(|(t, _, _)| t == "idempotency"), "the scan sees the idempotency table");
        values
    }
}

/// A stored value, read whatever its type.
#[derive(Debug, Clone)]
enum Stored {
    Null,
    Text(String),
    Bytes(Vec<u8>),
}

impl Stored {
    fn of(row: &sqlx::any::AnyRow, i: usize) -> Option<Self> {
        let text = |v: Option<String>| v.map_or(Stored::Null, Stored::Text);
        if let Ok(v) = row.try_get::<Option<String>, _>(i) {
            return Some(text(v));
        }
        if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
            return Some(text(v.map(|n| n.to_string())));
        }
        if let Ok(v) = row.try_get::<Option<f64>, _>(i) {
            return Some(text(v.map(|n| n.to_string())));
        }
        if let Ok(v) = row.try_get::<Option<bool>, _>(i) {
            return Some(text(v.map(|b| b.to_string())));
        }
        if let Ok(v) = row.try_get::<Option<Vec<u8>>, _>(i) {
            return Some(v.map_or(Stored::Null, Stored::Bytes));
        }
        None
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Stored::Null => &[],
            Stored::Text(text) => text.as_bytes(),
            Stored::Bytes(bytes) => bytes,
        }
    }

    fn text(&self) -> &str {
        match self {
            Stored::Text(text) => text,
            _ => "",
        }
    }
}

/// What the service logs on this test's thread (where a `#[tokio::test]` runs the server too)
/// while the capture lives, at the level production runs at. One subscriber serves the whole
/// test binary and writes each event to the capture of the thread that emitted it, so that
/// tests running side by side never see each other's lines.
#[derive(Debug, Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

thread_local! {
    static CAPTURE: std::cell::RefCell<Option<Logs>> = const { std::cell::RefCell::new(None) };
}

/// Writes an event to the capture of the emitting thread, if it has one.
#[derive(Debug)]
struct ThreadWriter;

impl std::io::Write for ThreadWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CAPTURE.with(|capture| {
            if let Some(logs) = &*capture.borrow() {
                logs.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(buf);
            }
        });
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Ends a capture when dropped.
#[derive(Debug)]
struct Capturing;

impl Drop for Capturing {
    fn drop(&mut self) {
        CAPTURE.with(|capture| capture.borrow_mut().take());
    }
}

impl Logs {
    fn capture() -> (Self, Capturing) {
        static INSTALL: std::sync::Once = std::sync::Once::new();
        INSTALL.call_once(|| {
            let subscriber = tracing_subscriber::fmt()
                .with_writer(|| ThreadWriter)
                .with_ansi(false)
                .with_max_level(tracing::Level::INFO)
                .finish();
            tracing::subscriber::set_global_default(subscriber).expect("the only subscriber of the test binary");
        });
        let logs = Logs::default();
        CAPTURE.with(|capture| *capture.borrow_mut() = Some(logs.clone()));
        (logs, Capturing)
    }
    fn bytes(&self) -> Vec<u8> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

fn import_row(vacancy: Vacancy, row_ref: &str, request_id: &str) -> ImportVacanciesRequest {
    ImportVacanciesRequest { vacancy: Some(vacancy), row_ref: row_ref.into(), request_id: request_id.into() }
}

fn stream_row(vacancy: Vacancy, row_ref: &str, request_id: &str) -> StreamVacancyImportRequest {
    StreamVacancyImportRequest { vacancy: Some(vacancy), row_ref: row_ref.into(), request_id: request_id.into() }
}

/// Asserts `status` is `INVALID_ARGUMENT` for `rule`, naming `field` (and only it).
#[track_caller]
fn assert_invalid(status: &tonic::Status, rule: &str, field: &str) {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert_eq!(reason(status), rule, "{status:?}");
    assert_eq!(bad_fields(status), [field], "{status:?}");
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

fn id_of(name: &str) -> &str {
    name.rsplit('/').next().expect("a resource name")
}

// 1. Dates out of range are refused at the edge, and one corrupt row never takes a list down.

async fn a_vacancy_needed_by_an_impossible_date_is_refused_and_nothing_is_stored(app: &App) {
    let code = app.enterprise_in("DAT101", COUNTY).await;
    let impossible =
        [(10_000, 1, 1), (0, 1, 1), (2030, 13, 1), (2030, 1, 32), (-1, 1, 1), (i32::MAX, 1, 1), (2030, 2, 30)];
    for (year, month, day) in impossible {
        let mut vacancy = welder(&code);
        vacancy.needed_by = Some(Date { year, month, day });
        let error = app.file(vacancy, &app.admin()).await.expect_err("an impossible date");
        assert_invalid(&error, "DATE", "vacancy.needed_by");
    }
    assert_eq!(app.count("vacancy").await, 0, "nothing was stored");

    let draft = app.file(welder(&code), &app.admin()).await.expect("a possible date");
    let error = app
        .client()
        .await
        .update_vacancy(authed(
            UpdateVacancyRequest {
                vacancy: Some(Vacancy {
                    name: draft.name.clone(),
                    needed_by: Some(Date { year: 10_000, month: 1, day: 1 }),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask { paths: vec!["needed_by".into()] }),
                ..Default::default()
            },
            &app.admin(),
        ))
        .await
        .expect_err("an update to year 10000");
    assert_invalid(&error, "DATE", "vacancy.needed_by");

    let mut far = welder(&code);
    far.needed_by = Some(Date { year: 10_000, month: 1, day: 1 });
    let imported = within(app.import(tokio_stream::iter(vec![import_row(far, "A2", "")]), &app.admin()))
        .await
        .expect("the import runs");
    assert_eq!((imported.imported, imported.rejected), (0, 1));
    assert_eq!(
        (imported.results[0].reason.as_str(), imported.results[0].field.as_str()),
        ("DATE", "vacancy.needed_by")
    );

    let error = app
        .client()
        .await
        .create_enterprise(authed(
            CreateEnterpriseRequest {
                enterprise: Some(Enterprise {
                    credit_code: fixtures::uscc("91421221MA4DAT102"),
                    display_name: "远期项目有限公司".into(),
                    region_code: COUNTY.into(),
                    industry: Industry::Other as i32,
                    key_project: true,
                    key_project_name: "远期项目".into(),
                    expected_production_date: Some(Date { year: 10_000, month: 1, day: 1 }),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
            &app.admin(),
        ))
        .await
        .expect_err("a production date in year 10000");
    assert_invalid(&error, "DATE", "enterprise.expected_production_date");

    let stored: Vec<String> =
        sqlx::query_scalar("SELECT needed_by FROM vacancy").fetch_all(app.db.pool()).await.expect("dates");
    assert_eq!(stored, ["2030-03-01"], "only the possible vacancy is stored, unchanged");
    assert_eq!(app.count("enterprise").await, 1);
}

async fn one_corrupt_stored_row_does_not_take_the_lists_down(app: &App) {
    let code = app.enterprise_in("CRR103", COUNTY).await;
    let first = app.published(&code).await;
    let corrupt = app.published(&code).await;
    let third = app.published(&code).await;
    let corrupted = sqlx::query("UPDATE vacancy SET needed_by = '+10000-01-01' WHERE id = $1")
        .bind(id_of(&corrupt.name))
        .execute(app.db.pool())
        .await
        .expect("corrupt one row");
    assert_eq!(corrupted.rows_affected(), 1);
    let mut expected = vec![first.name.clone(), third.name.clone()];
    expected.sort();
    let mut client = app.client().await;
    client
        .get_vacancy(authed(GetVacancyRequest { name: corrupt.name.clone() }, &app.admin()))
        .await
        .expect_err("the corrupt row itself does not read back");

    for token in [app.admin(), app.enterprise(&code), app.officer(COUNTY)] {
        let listed = client
            .list_vacancies(authed(ListVacanciesRequest::default(), &token))
            .await
            .expect("the list answers despite the corrupt row")
            .into_inner();
        let mut names: Vec<String> = listed.vacancies.into_iter().map(|v| v.name).collect();
        names.sort();
        assert_eq!(names, expected, "the corrupt row is left out, the others are listed");
    }

    let board = client
        .list_published_vacancies(authed(ListPublishedVacanciesRequest::default(), &app.provider()))
        .await
        .expect("the public board answers despite the corrupt row")
        .into_inner();
    let mut names: Vec<String> = board.vacancies.into_iter().map(|v| v.name).collect();
    names.sort();
    assert_eq!(names, expected);

    // A page at a time, the pages still chain past the corrupt row to the end.
    let mut paged = Vec::new();
    let mut token = String::new();
    for _ in 0..10 {
        let page = client
            .list_published_vacancies(authed(
                ListPublishedVacanciesRequest { page_size: 1, page_token: token.clone(), ..Default::default() },
                &app.provider(),
            ))
            .await
            .expect("every page answers")
            .into_inner();
        paged.extend(page.vacancies.into_iter().map(|v| v.name));
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert!(token.is_empty(), "the pages reach the end");
    paged.sort();
    assert_eq!(paged, expected);

    // A worker's matches are a list too.
    let need = app
        .record_need(worker(&fixtures::id_number("42122119900307123"), COUNTY), "", &app.admin())
        .await
        .expect("recorded");
    let matches = client
        .match_vacancies(authed(MatchVacanciesRequest { worker_need: need.name, page_size: 0 }, &app.admin()))
        .await
        .expect("matching answers despite the corrupt row")
        .into_inner()
        .matches;
    assert_eq!(matches.len(), 2);

    let untouched = client
        .get_vacancy(authed(GetVacancyRequest { name: first.name.clone() }, &app.admin()))
        .await
        .expect("the other rows read as before");
    assert_eq!(untouched.into_inner().vacancy.expect("vacancy").needed_by, first.needed_by);
}

// 2. Bulk intake acknowledges what it committed, holds no transaction while it waits, has an
//    idle timeout instead of a total one, and is bounded per caller.

async fn a_streamed_import_acknowledges_each_committed_chunk_and_a_resumed_one_stores_nothing_twice(app: &App) {
    let code = app.enterprise_in("ACK201", COUNTY).await;
    let token = app.enterprise(&code);
    let rows = |range: std::ops::RangeInclusive<i32>| {
        let code = code.clone();
        tokio_stream::iter(
            range
                .map(move |i| stream_row(welder(&code), &format!("R{i}"), &format!("ack-201/{i}")))
                .collect::<Vec<_>>(),
        )
    };
    let acks = within(app.stream_import(rows(1..=450), &token)).await.expect("the import runs");
    assert_eq!(acks.iter().map(|a| a.committed_through_row).collect::<Vec<_>>(), [200, 400, 450]);
    assert_eq!(acks.iter().map(|a| a.results.len()).collect::<Vec<_>>(), [200, 200, 50]);
    assert_eq!(acks.iter().map(|a| a.imported).collect::<Vec<_>>(), [200, 400, 450], "running totals");
    let last = acks.last().expect("an acknowledgement");
    assert_eq!((last.imported, last.rejected, last.replayed), (450, 0, 0));
    let results: Vec<&ImportRowResult> = acks.iter().flat_map(|a| &a.results).collect();
    assert!(
        results.iter().enumerate().all(|(i, r)| r.row == i32::try_from(i + 1).expect("small") && r.ok && !r.replayed)
    );
    assert_eq!(app.count("vacancy").await, 450);

    // The connection dropped after the acknowledgement of row 400: the client resumes from row
    // 401 with the same request ids, and goes on with ten new rows.
    let resumed = within(app.stream_import(rows(401..=460), &token)).await.expect("the resumed import runs");
    let last = resumed.last().expect("an acknowledgement");
    assert_eq!(last.committed_through_row, 60);
    assert_eq!((last.imported, last.rejected, last.replayed), (10, 0, 50), "replays are counted as replays");
    let again: Vec<&ImportRowResult> = resumed.iter().flat_map(|a| &a.results).collect();
    for (first, replay) in results[400..].iter().zip(&again[..50]) {
        assert!(replay.ok && replay.replayed, "{replay:?}");
        assert_eq!(replay.row_ref, first.row_ref);
        assert_eq!(replay.vacancy_name, first.vacancy_name, "a replay names the vacancy stored the first time");
    }
    assert!(again[50..].iter().all(|r| r.ok && !r.replayed));
    assert_eq!(app.count("vacancy").await, 460, "nothing was stored twice");
}

async fn a_caller_runs_a_bounded_number_of_imports_at_once_and_others_are_not_affected(app: &App) {
    let code = app.enterprise_in("LMT202", COUNTY).await;
    let importer = app.token_of("importer-a", Role::Enterprise, None, Some(&code));
    let other = app.token_of("importer-b", Role::Enterprise, None, Some(&code));
    let mut client = app.client().await;

    // Two streams of one caller, each paused after its first row, are admitted (the default
    // limit is two).
    let mut open = Vec::new();
    for i in 0..2 {
        let (rows, paused) = mpsc::channel(4);
        rows.send(stream_row(welder(&code), &format!("P{i}"), &format!("limit-202/a{i}"))).await.expect("queued");
        let acks = within(client.stream_vacancy_import(authed(ReceiverStream::new(paused), &importer)))
            .await
            .expect("admitted")
            .into_inner();
        open.push((rows, acks));
    }

    let (_third_rows, paused) = mpsc::channel::<StreamVacancyImportRequest>(4);
    let third = within(client.stream_vacancy_import(authed(ReceiverStream::new(paused), &importer)))
        .await
        .expect_err("a third stream at once");
    assert_eq!(third.code(), Code::ResourceExhausted, "{third:?}");
    assert_eq!(reason(&third), "STREAM_LIMIT");
    let row = import_row(welder(&code), "X", "limit-202/x");
    let fourth = within(app.import(tokio_stream::iter(vec![row]), &importer)).await.expect_err("ImportVacancies too");
    assert_eq!(fourth.code(), Code::ResourceExhausted, "{fourth:?}");
    assert_eq!(reason(&fourth), "STREAM_LIMIT");

    let row = stream_row(welder(&code), "B", "limit-202/b");
    let acks = within(app.stream_import(tokio_stream::iter(vec![row]), &other)).await.expect("another caller imports");
    assert_eq!(acks.last().map(|a| a.imported), Some(1));

    // A finished stream frees its place.
    for (rows, mut acks) in open {
        drop(rows);
        let mut last = None;
        while let Some(ack) = within(acks.message()).await.expect("acknowledgements") {
            last = Some(ack);
        }
        assert_eq!(last.map(|a| a.imported), Some(1));
    }
    let row = stream_row(welder(&code), "A", "limit-202/a2");
    let acks = within(app.stream_import(tokio_stream::iter(vec![row]), &importer))
        .await
        .expect("the caller imports again once its streams are done");
    assert_eq!(acks.last().map(|a| a.imported), Some(1));
    assert_eq!(app.count("vacancy").await, 4, "refused streams stored nothing");
}

async fn a_paused_import_does_not_hold_up_other_writers(app: &App) {
    let code = app.enterprise_in("PAU203", COUNTY).await;
    let token = app.enterprise(&code);

    let (stream_rows, paused) = mpsc::channel(4);
    stream_rows.send(stream_row(welder(&code), "S1", "pause-203/s1")).await.expect("queued");
    let mut acks = within(app.client().await.stream_vacancy_import(authed(ReceiverStream::new(paused), &token)))
        .await
        .expect("started")
        .into_inner();
    let (import_rows, paused) = mpsc::channel(4);
    import_rows.send(import_row(welder(&code), "I1", "pause-203/i1")).await.expect("queued");
    let mut importer = app.client().await;
    let import_token = token.clone();
    let import =
        tokio::spawn(
            async move { importer.import_vacancies(authed(ReceiverStream::new(paused), &import_token)).await },
        );
    // Let both imports read their first row and wait for the next.
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Another caller writes while both imports wait on their clients.
    let officer = app.token_of("another-officer", Role::CountyOfficer, Some(COUNTY), None);
    let registered = tokio::time::timeout(
        Duration::from_secs(3),
        app.client().await.create_enterprise(authed(
            CreateEnterpriseRequest {
                enterprise: Some(Enterprise {
                    credit_code: fixtures::uscc("91421221MA4PAU204"),
                    display_name: "不等人有限公司".into(),
                    region_code: COUNTY.into(),
                    industry: Industry::Other as i32,
                    ..Default::default()
                }),
                request_id: String::new(),
            },
            &officer,
        )),
    )
    .await
    .expect("a write is not held up by paused imports");
    registered.expect("registered");
    let filed = tokio::time::timeout(Duration::from_secs(3), app.file(welder(&code), &officer))
        .await
        .expect("a vacancy is not held up by paused imports");
    filed.expect("filed");

    drop(stream_rows);
    drop(import_rows);
    let mut last = None;
    while let Some(ack) = within(acks.message()).await.expect("acknowledgements") {
        last = Some(ack);
    }
    assert_eq!(last.map(|a| (a.imported, a.committed_through_row)), Some((1, 1)));
    let imported = within(import).await.expect("the import task").expect("the import answers").into_inner();
    assert_eq!(imported.imported, 1);
    assert_eq!(app.count("vacancy").await, 3);
}

/// Messages of at most 4 KB.
mod small_messages {
    use super::*;

    async fn start(backend: Backend) -> Option<App> {
        start_with(backend, |s| s.max_message_bytes = 4096).await
    }

    async fn an_import_cut_short_by_an_oversized_row_still_answers_with_the_rows_stored_before(app: &App) {
        let code = app.enterprise_in("BGE205", COUNTY).await;
        let token = app.enterprise(&code);
        let mut oversized = welder(&code);
        oversized.requirements = "长".repeat(3000);
        let good = 5;

        let mut rows: Vec<ImportVacanciesRequest> =
            (1..=good).map(|i| import_row(welder(&code), &format!("A{i}"), &format!("big-205/a{i}"))).collect();
        rows.push(import_row(oversized.clone(), "A6", "big-205/a6"));
        rows.push(import_row(welder(&code), "A7", "big-205/a7"));
        let response = within(app.import(tokio_stream::iter(rows), &token)).await.expect("the import answers OK");
        assert_eq!(response.results.len(), good + 1, "{response:?}");
        assert!(response.results[..good].iter().all(|r| r.ok && r.vacancy_name.starts_with("vacancies/")));
        let last = response.results.last().expect("a last result");
        assert!(!last.ok);
        assert_eq!((last.row, last.reason.as_str()), (6, "IMPORT-STREAM"));
        assert_eq!((response.imported, response.rejected), (5, 0));
        assert_eq!(app.count("vacancy").await, 5, "exactly the rows reported stored are stored");

        let mut rows: Vec<StreamVacancyImportRequest> =
            (1..=good).map(|i| stream_row(welder(&code), &format!("B{i}"), &format!("big-205/b{i}"))).collect();
        rows.push(stream_row(oversized, "B6", "big-205/b6"));
        let (acks, ended) = within(app.stream_import_to_end(tokio_stream::iter(rows), &token)).await;
        let last = acks.last().expect("the rows before are acknowledged");
        assert_eq!((last.committed_through_row, last.imported), (5, 5));
        let results: Vec<&ImportRowResult> = acks.iter().flat_map(|a| &a.results).collect();
        assert_eq!(results.len(), good);
        assert!(results.iter().all(|r| r.ok));
        let ended = ended.expect("the stream ends with a status once the rows before are acknowledged");
        assert_eq!((ended.code(), reason(&ended).as_str()), (Code::Aborted, "STREAM_ENDED"), "{ended:?}");
        assert!(ended.message().contains("committed_through_row"), "{}", ended.message());
        assert_eq!(app.count("vacancy").await, 10);
    }

    backend_tests!(start => an_import_cut_short_by_an_oversized_row_still_answers_with_the_rows_stored_before);
}

/// Streams idle for 300 ms are ended.
mod quiet_streams {
    use super::*;

    async fn start(backend: Backend) -> Option<App> {
        start_with(backend, |s| s.stream_idle_timeout_ms = 300).await
    }

    async fn an_import_that_goes_quiet_is_ended_and_told_what_was_stored(app: &App) {
        let code = app.enterprise_in("DLE206", COUNTY).await;
        let token = app.enterprise(&code);

        // Three rows, then a second of silence with the stream still open.
        let (rows, quiet) = mpsc::channel(8);
        for i in 1..=3 {
            rows.send(stream_row(welder(&code), &format!("S{i}"), &format!("idle-206/s{i}"))).await.expect("queued");
        }
        let pause = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            drop(rows);
        });
        let (acks, ended) = within(app.stream_import_to_end(ReceiverStream::new(quiet), &token)).await;
        let last = acks.last().expect("an acknowledgement");
        assert_eq!((last.committed_through_row, last.imported), (3, 3));
        let results: Vec<&ImportRowResult> = acks.iter().flat_map(|a| &a.results).collect();
        assert_eq!(results.len(), 3, "{results:?}");
        assert!(results.iter().all(|r| r.ok));
        let ended = ended.expect("an idle stream is ended with a status");
        assert_eq!((ended.code(), reason(&ended).as_str()), (Code::Aborted, "STREAM_ENDED"), "{ended:?}");
        pause.await.expect("the pause ends");

        let (rows, quiet) = mpsc::channel(8);
        for i in 1..=3 {
            rows.send(import_row(welder(&code), &format!("I{i}"), &format!("idle-206/i{i}"))).await.expect("queued");
        }
        let pause = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            drop(rows);
        });
        let response = within(app.import(ReceiverStream::new(quiet), &token)).await.expect("the import answers");
        assert_eq!((response.imported, response.results.len()), (3, 4));
        assert_eq!(response.results[3].reason, "IMPORT-STREAM");
        pause.await.expect("the pause ends");
        assert_eq!(app.count("vacancy").await, 6);
    }

    backend_tests!(start => an_import_that_goes_quiet_is_ended_and_told_what_was_stored);
}

/// A short request timeout, and an idle timeout well above the pace of the rows.
mod slow_streams {
    use super::*;

    async fn start(backend: Backend) -> Option<App> {
        start_with(backend, |s| {
            s.request_timeout_ms = 2_000;
            s.stream_idle_timeout_ms = 3_000;
        })
        .await
    }

    async fn a_slow_import_outlives_the_request_timeout(app: &App) {
        let code = app.enterprise_in("LWP207", COUNTY).await;
        let token = app.enterprise(&code);
        let rows = 12;

        let (stream_rows, stream_rx) = mpsc::channel(16);
        let (import_rows, import_rx) = mpsc::channel(16);
        let sender_code = code.clone();
        let sender = tokio::spawn(async move {
            for i in 1..=rows {
                tokio::time::sleep(Duration::from_millis(300)).await;
                let row_ref = format!("R{i}");
                stream_rows
                    .send(stream_row(welder(&sender_code), &row_ref, &format!("slow-207/s{i}")))
                    .await
                    .expect("queued");
                import_rows
                    .send(import_row(welder(&sender_code), &row_ref, &format!("slow-207/i{i}")))
                    .await
                    .expect("queued");
            }
        });
        let (acks, imported) = tokio::join!(
            within(app.stream_import(ReceiverStream::new(stream_rx), &token)),
            within(app.import(ReceiverStream::new(import_rx), &token)),
        );
        sender.await.expect("the rows were sent");
        let acks = acks.expect("a slow stream is not cut off");
        let last = acks.last().expect("an acknowledgement");
        assert_eq!((last.committed_through_row, last.imported, last.rejected), (12, 12, 0));
        assert!(acks.iter().flat_map(|a| &a.results).all(|r| r.ok), "no IMPORT-STREAM result: {acks:?}");
        let imported = imported.expect("a slow import is not cut off");
        assert_eq!((imported.imported, imported.rejected), (12, 0), "{imported:?}");
        assert_eq!(app.count("vacancy").await, 24);
    }

    backend_tests!(start => a_slow_import_outlives_the_request_timeout);
}

// 3. Errors never echo a bad value in full, nor log it.

async fn a_huge_bad_value_comes_back_as_a_short_error_whose_details_decode(app: &App) {
    let (logs, _capturing) = Logs::capture();
    let huge = "4".repeat(1 << 20);
    for (region_code, rule) in [(huge.clone(), "TEXT"), ("4".repeat(5_000), "REGION-CODE")] {
        let error = app
            .client()
            .await
            .create_enterprise(authed(
                CreateEnterpriseRequest {
                    enterprise: Some(Enterprise {
                        credit_code: fixtures::uscc("91421221MA4HUG301"),
                        display_name: "超长地区有限公司".into(),
                        region_code,
                        industry: Industry::Other as i32,
                        ..Default::default()
                    }),
                    request_id: String::new(),
                },
                &app.admin(),
            ))
            .await
            .expect_err("a region code of a megabyte");
        assert_invalid(&error, rule, "enterprise.region_code");
        assert!(error.message().len() < 1024, "a short message: {} bytes", error.message().len());
        assert!(error.details().len() < 1024, "short details: {} bytes", error.details().len());
        assert!(!error.message().contains("44444444"), "{}", error.message());
        assert!(!contains(error.details(), b"44444444"));
    }
    assert_eq!(app.count("enterprise").await, 0);
    let logged = logs.bytes();
    assert!(!logged.is_empty(), "the capture sees the service's log");
    assert!(logged.len() < 16 * 1024, "the probes logged {} bytes", logged.len());
    assert!(!contains(&logged, b"44444444"), "the value is not logged");
}

async fn an_id_number_typed_into_a_code_field_is_not_echoed_or_logged(app: &App) {
    let (logs, _capturing) = Logs::capture();
    let id = fixtures::id_number("11010119900307123");
    let code = app.enterprise_in("DNR302", COUNTY).await;
    let mut client = app.client().await;
    let mut refusals = Vec::new();
    for (credit_code, region_code) in
        [(id.clone(), COUNTY.to_owned()), (fixtures::uscc("91421221MA4DNR303"), id.clone())]
    {
        let error = client
            .create_enterprise(authed(
                CreateEnterpriseRequest {
                    enterprise: Some(Enterprise {
                        credit_code,
                        display_name: "身份证误填有限公司".into(),
                        region_code,
                        industry: Industry::Other as i32,
                        ..Default::default()
                    }),
                    request_id: String::new(),
                },
                &app.admin(),
            ))
            .await
            .expect_err("an ID number is not a code");
        assert_eq!(error.code(), Code::InvalidArgument);
        refusals.push(error);
    }
    assert_eq!(bad_fields(&refusals[0]), ["enterprise.credit_code"]);
    for field in ["enterprise_credit_code", "occupation_code", "work_region_code"] {
        let mut vacancy = welder(&code);
        match field {
            "enterprise_credit_code" => vacancy.enterprise_credit_code = id.clone(),
            "occupation_code" => vacancy.occupation_code = id.clone(),
            _ => vacancy.work_region_code = id.clone(),
        }
        let error = app.file(vacancy, &app.admin()).await.expect_err("an ID number is not a code");
        assert_eq!(error.code(), Code::InvalidArgument);
        assert_eq!(bad_fields(&error), [format!("vacancy.{field}")]);
        refusals.push(error);
    }
    // Any eight characters of the number in a row would be too many.
    let pieces: Vec<&[u8]> = id.as_bytes().windows(8).collect();
    for error in &refusals {
        for piece in &pieces {
            assert!(!contains(error.message().as_bytes(), piece), "the message quotes the number: {}", error.message());
            assert!(!contains(error.details(), piece), "the details quote the number");
        }
        assert!(error.get_error_details().error_info().is_some(), "the details decode");
    }
    let logged = logs.bytes();
    assert!(!logged.is_empty(), "the capture sees the service's log");
    for piece in &pieces {
        assert!(!contains(&logged, piece), "the log holds the number: {}", String::from_utf8_lossy(&logged));
    }
    assert_eq!(app.count("vacancy").await, 0);
}

async fn an_overlong_text_is_refused_by_its_length(app: &App) {
    let code = app.enterprise_in("LEN304", COUNTY).await;
    for (length, rule) in [(20_000, "TEXT"), (101, "TEXT-LENGTH")] {
        let mut vacancy = welder(&code);
        vacancy.post = "焊".repeat(length);
        let error = app.file(vacancy, &app.admin()).await.expect_err("a post too long");
        assert_invalid(&error, rule, "vacancy.post");
        assert!(error.message().len() < 1024);
    }
    let mut vacancy = welder(&code);
    vacancy.post = "焊".repeat(100);
    app.file(vacancy, &app.admin()).await.expect("a post of 100 characters is fine");
    assert_eq!(app.count("vacancy").await, 1);
}

// 4. Control characters are refused, the same on both backends.

async fn control_characters_are_refused_the_same_on_both_backends(app: &App) {
    let code = app.enterprise_in("NUL401", COUNTY).await;
    let mut client = app.client().await;
    for post in ["a\u{0}b", "a\u{7}b", "\u{1b}[31m红", "a\u{7f}", "a\u{85}b"] {
        let mut vacancy = welder(&code);
        vacancy.post = post.into();
        let error = app.file(vacancy, &app.admin()).await.expect_err("a control character");
        assert_invalid(&error, "TEXT", "vacancy.post");
    }
    let error = client
        .create_vacancy(authed(
            CreateVacancyRequest { vacancy: Some(welder(&code)), request_id: "retry\u{0}1".into() },
            &app.admin(),
        ))
        .await
        .expect_err("a NUL in the request id");
    assert_invalid(&error, "TEXT", "request_id");
    let error = client
        .list_vacancies(authed(
            ListVacanciesRequest { enterprise_credit_code: format!("{code}\u{0}"), ..Default::default() },
            &app.admin(),
        ))
        .await
        .expect_err("a NUL in a filter");
    assert_invalid(&error, "TEXT", "enterprise_credit_code");
    let error = client
        .list_vacancies(authed(
            ListVacanciesRequest { page_token: "abc\u{0}def".into(), ..Default::default() },
            &app.admin(),
        ))
        .await
        .expect_err("a NUL in a page token");
    assert_invalid(&error, "TEXT", "page_token");
    let error = client
        .list_published_vacancies(authed(
            ListPublishedVacanciesRequest { page_token: "\u{0}".into(), ..Default::default() },
            &app.provider(),
        ))
        .await
        .expect_err("a NUL in a page token of the board");
    assert_invalid(&error, "TEXT", "page_token");
    let mut person = worker(&fixtures::id_number("42122119900307123"), COUNTY);
    person.person_name = "张\u{0}三".into();
    let error = app.record_need(person, "", &app.admin()).await.expect_err("a NUL in a name");
    assert_invalid(&error, "TEXT", "worker_need.person_name");
    let error = client
        .update_vacancy(authed(
            UpdateVacancyRequest {
                vacancy: Some(Vacancy { name: "vacancies/x".into(), ..Default::default() }),
                update_mask: Some(prost_types::FieldMask { paths: vec!["post\u{0}".into()] }),
                ..Default::default()
            },
            &app.admin(),
        ))
        .await
        .expect_err("a NUL in an update mask");
    assert_invalid(&error, "TEXT", "update_mask.paths[0]");

    let mut nul = welder(&code);
    nul.post = "a\u{0}b".into();
    let imported =
        within(app.import(tokio_stream::iter(vec![import_row(nul.clone(), "A2", "nul-401/a2")]), &app.admin()))
            .await
            .expect("the import runs");
    assert_eq!((imported.imported, imported.rejected), (0, 1));
    assert_eq!((imported.results[0].reason.as_str(), imported.results[0].field.as_str()), ("TEXT", "vacancy.post"));
    let acks = within(app.stream_import(tokio_stream::iter(vec![stream_row(nul, "B2", "nul-401/b2")]), &app.admin()))
        .await
        .expect("the stream runs");
    let result = &acks.last().expect("an acknowledgement").results[0];
    assert_eq!((result.ok, result.reason.as_str(), result.field.as_str()), (false, "TEXT", "vacancy.post"));
    assert_eq!(app.count("vacancy").await, 0, "nothing was stored");
    assert_eq!(app.count("worker_need").await, 0);

    // Line breaks and tabs are text.
    let mut lines = welder(&code);
    lines.requirements = "持证优先\n能倒班\t夜班补贴".into();
    let stored = app.file(lines, &app.admin()).await.expect("line breaks and tabs are accepted");
    assert_eq!(stored.requirements, "持证优先\n能倒班\t夜班补贴");
}

// 5. A request that does not decode is the caller's fault.

async fn a_request_that_does_not_decode_is_invalid_argument_not_internal(app: &App) {
    const GET_VACANCY: &str = "/qiancheng.demand.v1.DemandService/GetVacancy";
    const CREATE_VACANCY: &str = "/qiancheng.demand.v1.DemandService/CreateVacancy";
    let malformed: [(&str, Vec<u8>); 4] = [
        ("invalid UTF-8 in a string", vec![0x0a, 0x04, b'v', 0xff, 0xfe, b'/']),
        ("a wrong wire type", vec![0x08, 0x96, 0x01]),
        ("a truncated field", vec![0x0a, 0x20, b'v', b'a']),
        ("field number zero", vec![0x00, 0x01]),
    ];
    for path in [GET_VACANCY, CREATE_VACANCY] {
        for (what, body) in &malformed {
            let error = app.call_raw(path, &app.admin(), body.clone()).await.expect_err(what);
            assert_eq!(error.code(), Code::InvalidArgument, "{what} on {path}: {error:?}");
            assert_eq!(reason(&error), "MALFORMED_REQUEST", "{what} on {path}");
            assert!(error.message().len() < 1024);
        }
    }
    assert_eq!(app.count("vacancy").await, 0);
    assert!(app.audit_actions().await.is_empty(), "nothing was written");

    // In a stream, the rows before a message that does not decode are stored and acknowledged,
    // and the stream ends as a unary call would: INVALID_ARGUMENT, MALFORMED_REQUEST.
    const STREAM_IMPORT: &str = "/qiancheng.demand.v1.DemandService/StreamVacancyImport";
    let code = app.enterprise_in("MFR405", COUNTY).await;
    let good = prost::Message::encode_to_vec(&stream_row(welder(&code), "G1", "malformed-405/g1"));
    for (what, body) in &malformed {
        let (answers, ended) =
            app.call_raw_stream(STREAM_IMPORT, &app.enterprise(&code), vec![good.clone(), body.clone()]).await;
        let ended = ended.unwrap_or_else(|| panic!("{what} in a stream ends it with a status"));
        assert_eq!((ended.code(), reason(&ended).as_str()), (Code::InvalidArgument, "MALFORMED_REQUEST"), "{what}");
        let acks: Vec<StreamVacancyImportResponse> =
            answers.iter().map(|a| prost::Message::decode(a.as_slice()).expect("an acknowledgement decodes")).collect();
        let last = acks.last().expect("the good row is acknowledged");
        assert_eq!((last.committed_through_row, last.imported + last.replayed), (1, 1), "{what}");
    }
    assert_eq!(app.count("vacancy").await, 1, "the good row once, replayed after");

    // The same path with a valid message is served: the refusal was the bytes.
    let valid = prost::Message::encode_to_vec(&GetVacancyRequest { name: "vacancies/none".into() });
    let error = app.call_raw(GET_VACANCY, &app.admin(), valid).await.expect_err("no such vacancy");
    assert_eq!(error.code(), Code::NotFound);
}

// 6. Roles are enforced from the proto declaration, and tokens are trusted narrowly.

async fn every_demand_rpc_admits_exactly_the_roles_its_proto_declares(app: &App) {
    let rpcs: Vec<&qiancheng_api::RpcInfo> = qiancheng_api::RPCS.iter().filter(|r| r.service == SERVICE_NAME).collect();
    let methods: Vec<&str> = rpcs.iter().map(|r| r.method).collect();
    assert!(methods.contains(&"StreamVacancyImport") && methods.contains(&"CreateEnterprise"), "{methods:?}");
    for rpc in &rpcs {
        assert!(!rpc.roles.is_empty(), "{} declares its roles", rpc.method);
        for role in Role::ALL {
            let token = app.token_for(role);
            let declared = rpc.roles.iter().any(|r| Role::from_proto(*r) == Some(role));
            let gate_refusal = format!("{} is for", rpc.method);
            if declared {
                // An empty request: whatever the handler makes of it, the gate let it through.
                if let Err(status) = app.call_raw(rpc.path, &token, Vec::new()).await {
                    assert!(
                        !(status.code() == Code::PermissionDenied && status.message().starts_with(&gate_refusal)),
                        "{} refused {role}, which it declares: {status:?}",
                        rpc.method
                    );
                    assert_ne!(status.code(), Code::Internal, "{} as {role}: {status:?}", rpc.method);
                    assert_ne!(status.code(), Code::Unauthenticated, "{} as {role}: {status:?}", rpc.method);
                }
            } else {
                // Bytes that would not even decode: the gate refuses before anything is read.
                let status = app
                    .call_raw(rpc.path, &token, vec![0xff, 0xff, 0xff, 0xff])
                    .await
                    .expect_err("a role the RPC does not declare");
                assert_eq!(status.code(), Code::PermissionDenied, "{} as {role}: {status:?}", rpc.method);
                assert_eq!(reason(&status), "PERMISSION_DENIED");
                assert!(status.message().starts_with(&gate_refusal), "{}", status.message());
            }
        }
    }
    assert!(app.audit_actions().await.is_empty(), "no call of the matrix changed anything");
}

/// Tokens signed with a key whose private half the test holds, so it can sign any claims.
mod tokens {
    use super::*;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use qiancheng_platform::auth::TokenMinter;

    const SEED: [u8; 32] = [7; 32];

    async fn start(backend: Backend) -> Option<App> {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("issuer.key");
        std::fs::write(&path, STANDARD.encode(SEED)).expect("write the key");
        let mut keys = Keys::new();
        keys.minter = TokenMinter::load(&path).expect("load the key");
        TestService::start_with(&Spec, backend, keys, Peers::default()).await.map(App)
    }

    fn signed(iat: i64, exp: i64) -> String {
        let claims = serde_json::json!({
            "sub": "probe", "roles": ["CITY_ADMIN"], "region": CITY, "iat": iat, "exp": exp, "iss": "qiancheng",
        });
        let key = ed25519_dalek::SigningKey::from_bytes(&SEED);
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"EdDSA","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).expect("json"));
        let content = format!("{header}.{payload}");
        let signature = ed25519_dalek::Signer::sign(&key, content.as_bytes());
        format!("{content}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }

    async fn a_token_living_too_long_or_issued_in_the_future_is_unauthenticated(app: &App) {
        let now = chrono::Utc::now().timestamp();
        let year = 365 * 86_400;
        let end_of_9999 = 253_402_300_799;
        let call = |token: String| async move {
            app.client().await.list_published_vacancies(authed(ListPublishedVacanciesRequest::default(), &token)).await
        };
        call(signed(now, now + 3600)).await.expect("a token of an hour, signed the same way, is trusted");
        call(signed(now + 30, now + 3600)).await.expect("a clock a little ahead is tolerated");
        let minted =
            app.keys.minter.mint("probe", &[Role::CityAdmin], Some(CITY), None, end_of_9999 - now).expect("mint");
        for (what, token) in [
            ("an expiry in year 9999", signed(now, end_of_9999)),
            ("an expiry in year 9999, minted", minted),
            ("an issue time a year ahead", signed(now + year, now + year + 3600)),
            ("a lifetime just over 36 hours", signed(now, now + 36 * 3600 + 1)),
        ] {
            let error = call(token).await.expect_err(what);
            assert_eq!(error.code(), Code::Unauthenticated, "{what}: {error:?}");
            assert_eq!(reason(&error), "UNAUTHENTICATED", "{what}");
        }
    }

    backend_tests!(start => a_token_living_too_long_or_issued_in_the_future_is_unauthenticated);
}

/// A server configured as `serve` configures it: issuer keys, and the selection service's own
/// key, which may assert only that service.
mod service_keys {
    use super::*;
    use qiancheng_platform::Shared;
    use qiancheng_platform::auth::{Authenticator, TokenMinter};
    use qiancheng_platform::db::Db;
    use qiancheng_platform::service::ServiceSpec as _;
    use qiancheng_platform::stream::StreamLimits;
    use qiancheng_testkit::{RunningServer, TestDatabase};

    struct Keyed {
        server: RunningServer,
        issuer: TokenMinter,
        selection: TokenMinter,
        _database: TestDatabase,
    }

    async fn start(backend: Backend) -> Option<Keyed> {
        let database = TestDatabase::create(backend).await?;
        let db = Db::connect(&database.url, None, Spec.migrator()).await.expect("connect and migrate");
        let keys = Keys::new();
        let selection = TokenMinter::generate().expect("a key");
        let mut settings = keys.settings.clone();
        settings.auth_public_keys = vec![keys.minter.public_key_base64()];
        settings.service_public_keys.insert("selection".into(), selection.public_key_base64());
        let auth = Authenticator::from_settings(&settings).expect("the configured keys");
        let shared = Shared {
            db: db.clone(),
            pii: keys.pii.clone(),
            policy: Arc::new(keys.policy.clone()),
            peers: Peers::default(),
            streams: StreamLimits::new(&settings),
        };
        let routes = Spec.routes(shared, &settings);
        let server = RunningServer::start(Spec.grpc_name(), routes, &settings, auth, Some(db)).await;
        Some(Keyed { server, issuer: keys.minter, selection, _database: database })
    }

    async fn a_service_key_signs_only_its_own_service_calls(app: &Keyed) {
        let mut client = DemandServiceClient::new(app.server.channel().await);
        let mint = |key: &TokenMinter, subject: &str, role: Role, region: Option<&str>| {
            key.mint(subject, &[role], region, None, 60).expect("mint")
        };
        let own = mint(&app.selection, "service:selection", Role::Service, None);
        client
            .summarize_training_needs(authed(SummarizeTrainingNeedsRequest::default(), &own))
            .await
            .expect("the selection service reads the summary with its own key");
        let admin = mint(&app.issuer, "admin", Role::CityAdmin, Some(CITY));
        client
            .list_vacancies(authed(ListVacanciesRequest::default(), &admin))
            .await
            .expect("the issuer's key asserts any role");
        for (what, token) in [
            ("a city administrator", mint(&app.selection, "admin", Role::CityAdmin, Some(CITY))),
            ("another service", mint(&app.selection, "service:subsidy", Role::Service, None)),
            ("its service with a region", mint(&app.selection, "service:selection", Role::Service, Some(CITY))),
        ] {
            let error = client
                .list_published_vacancies(authed(ListPublishedVacanciesRequest::default(), &token))
                .await
                .expect_err(what);
            assert_eq!(error.code(), Code::Unauthenticated, "the selection key minting {what}: {error:?}");
        }
    }

    backend_tests!(start => a_service_key_signs_only_its_own_service_calls);
}

// 7. Smaller findings.

async fn an_oversized_token_is_unauthenticated_with_a_reason_not_a_transport_error(app: &App) {
    // 20 KB passes hyper's default header limit of 16 KiB, which answered a bare HTTP 431.
    let huge = format!("{}.{}", app.admin(), "x".repeat(20 * 1024));
    let refused = app
        .client()
        .await
        .list_vacancies(authed(ListVacanciesRequest::default(), &huge))
        .await
        .expect_err("an oversized token");
    assert_eq!((refused.code(), reason(&refused).as_str()), (Code::Unauthenticated, "UNAUTHENTICATED"));
    assert!(refused.message().contains("longer than"), "{}", refused.message());
}

async fn pay_above_a_sane_maximum_is_refused(app: &App) {
    let code = app.enterprise_in("PAY701", COUNTY).await;
    let mut highest = welder(&code);
    highest.pay_max_fen = 10_000_000;
    let kept = app.file(highest, &app.admin()).await.expect("100,000 yuan a month is the highest pay taken");
    for (pay_min_fen, pay_max_fen) in [(450_000, i64::MAX), (i64::MAX, i64::MAX), (450_000, 10_000_001)] {
        let mut vacancy = welder(&code);
        vacancy.pay_min_fen = pay_min_fen;
        vacancy.pay_max_fen = pay_max_fen;
        let error = app.file(vacancy, &app.admin()).await.expect_err("absurd pay");
        assert_eq!(error.code(), Code::InvalidArgument, "{error:?}");
        assert_eq!(reason(&error), "DEMAND-PAY");
        assert!(bad_fields(&error).iter().all(|f| f.starts_with("vacancy.pay_")), "{error:?}");
    }
    let error = app
        .client()
        .await
        .update_vacancy(authed(
            UpdateVacancyRequest {
                vacancy: Some(Vacancy { name: kept.name.clone(), pay_max_fen: i64::MAX, ..Default::default() }),
                update_mask: Some(prost_types::FieldMask { paths: vec!["pay_max_fen".into()] }),
                ..Default::default()
            },
            &app.admin(),
        ))
        .await
        .expect_err("an update to absurd pay");
    assert_invalid(&error, "DEMAND-PAY", "vacancy.pay_max_fen");
    let mut greedy = worker(&fixtures::id_number("42122119900307123"), COUNTY);
    greedy.wanted_pay_min_fen = i64::MAX;
    let error = app.record_need(greedy, "", &app.admin()).await.expect_err("an absurd wish");
    assert_invalid(&error, "DEMAND-PAY", "worker_need.wanted_pay_min_fen");

    let stored: Vec<i64> =
        sqlx::query_scalar("SELECT pay_max_fen FROM vacancy").fetch_all(app.db.pool()).await.expect("pay");
    assert_eq!(stored, [10_000_000]);
    assert_eq!(app.count("worker_need").await, 0);
}

async fn request_ids_are_stored_only_as_keyed_hashes(app: &App) {
    let code = app.enterprise_in("RDD702", COUNTY).await;
    let request_id = "身份证421221199003071234";
    let create = || async {
        app.client()
            .await
            .create_vacancy(authed(
                CreateVacancyRequest { vacancy: Some(welder(&code)), request_id: request_id.into() },
                &app.admin(),
            ))
            .await
            .expect("filed")
            .into_inner()
            .vacancy
            .expect("vacancy")
    };
    let first = create().await;
    let retried = create().await;
    assert_eq!(retried.name, first.name, "the hashed id still finds the first response");
    assert_eq!(app.count("vacancy").await, 1);
    assert_eq!(app.count("idempotency").await, 1);

    let values = app.every_stored_value().await;
    for (table, column, value) in &values {
        for secret in [request_id, "421221199003071234", "身份证"] {
            assert!(!contains(value.bytes(), secret.as_bytes()), "{table}.{column} holds {secret}");
        }
    }
}

async fn one_bad_field_is_named_once_even_when_it_breaks_two_rules(app: &App) {
    // A key project's name that is too long is both too long and, unreadable, missing.
    let error = app
        .client()
        .await
        .create_enterprise(authed(
            CreateEnterpriseRequest {
                enterprise: Some(Enterprise {
                    credit_code: fixtures::uscc("91421221MA4NEE703"),
                    display_name: "重点项目有限公司".into(),
                    region_code: COUNTY.into(),
                    industry: Industry::Other as i32,
                    key_project: true,
                    key_project_name: "项".repeat(201),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
            &app.admin(),
        ))
        .await
        .expect_err("too long");
    assert_invalid(&error, "TEXT-LENGTH", "enterprise.key_project_name");

    // A held level with a held occupation that does not parse: a bad code, and a level without
    // its occupation.
    let mut person = worker(&fixtures::id_number("42122119900307123"), COUNTY);
    person.held_occupation_code = "6-18".into();
    person.phone = "123".into();
    let error = app.record_need(person, "", &app.admin()).await.expect_err("two bad fields");
    assert_eq!(error.code(), Code::InvalidArgument);
    let fields = bad_fields(&error);
    assert_eq!(fields.iter().filter(|f| *f == "worker_need.held_occupation_code").count(), 1, "{fields:?}");
    assert_eq!(fields.iter().filter(|f| *f == "worker_need.phone").count(), 1, "{fields:?}");
    assert_eq!(fields.len(), 2, "{fields:?}");
}

async fn an_officer_learns_only_that_a_person_is_recorded_elsewhere_and_the_lookup_is_audited(app: &App) {
    let id = fixtures::id_number("42122219900307123");
    let existing =
        app.record_need(worker(&id, OTHER_COUNTY), "", &app.officer(OTHER_COUNTY)).await.expect("recorded in 通城");
    let officer = app.officer(COUNTY);
    let error = app.record_need(worker(&id, COUNTY), "", &officer).await.expect_err("the person is recorded");
    assert_eq!(error.code(), Code::AlreadyExists);
    assert_eq!(reason(&error), "WORKER_NEED_EXISTS");
    let told = [error.message().as_bytes(), error.details()];
    for secret in ["workerNeeds/", id_of(&existing.name), OTHER_COUNTY, "通城", "421222"] {
        for part in told {
            assert!(!contains(part, secret.as_bytes()), "the refusal names {secret}: {}", error.message());
        }
    }
    for piece in id.as_bytes().windows(8) {
        assert!(!contains(error.message().as_bytes(), piece) && !contains(error.details(), piece));
    }

    let refused: Vec<(String, String)> =
        sqlx::query("SELECT actor, detail FROM audit_log WHERE action = 'worker_need.duplicate_refused'")
            .fetch_all(app.db.pool())
            .await
            .expect("audit")
            .iter()
            .map(|r| (r.get("actor"), r.get("detail")))
            .collect();
    assert_eq!(refused.len(), 1, "the lookup left a trace");
    assert_eq!(refused[0].0, "test-county_officer");
    assert!(!refused[0].1.contains(&id), "the trace holds no plain ID number");

    // The officer whose county holds the record is told where it is.
    let error = app.record_need(worker(&id, OTHER_COUNTY), "", &app.officer(OTHER_COUNTY)).await.expect_err("recorded");
    assert_eq!(reason(&error), "WORKER_NEED_EXISTS");
    assert!(error.message().contains(&existing.name), "{}", error.message());

    let report = app
        .client()
        .await
        .verify_audit_chain(authed(VerifyAuditChainRequest {}, &app.auditor()))
        .await
        .expect("verify")
        .into_inner()
        .report
        .expect("report");
    assert!(report.intact, "the lookups' trace is part of the chain");
    assert_eq!(app.count("worker_need").await, 1);
}

#[cfg(unix)]
#[tokio::test]
async fn the_sqlite_file_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let app = start(Backend::Sqlite).await.expect("SQLite is always available");
    app.enterprise_in("MDE704", COUNTY).await;
    let path = app
        .database_url()
        .strip_prefix("sqlite://")
        .and_then(|u| u.split('?').next())
        .expect("a SQLite file")
        .to_owned();
    let mut checked = 0;
    for file in [path.clone(), format!("{path}-wal"), format!("{path}-shm")] {
        if let Ok(metadata) = std::fs::metadata(&file) {
            assert_eq!(metadata.permissions().mode() & 0o777, 0o600, "{file}");
            checked += 1;
        }
    }
    assert!(checked >= 2, "the database and its write-ahead log were checked");
}

// 8. RPCs that no test called.

async fn an_enterprise_is_updated_by_mask_or_replaced_whole_and_a_stale_etag_is_aborted(app: &App) {
    let code = fixtures::uscc("91421221MA4UPD801");
    let mut client = app.client().await;
    let token = app.enterprise(&code);
    let created = client
        .create_enterprise(authed(
            CreateEnterpriseRequest {
                enterprise: Some(Enterprise {
                    credit_code: code.clone(),
                    display_name: "嘉鱼旧名有限公司".into(),
                    region_code: COUNTY.into(),
                    industry: Industry::EquipmentManufacturing as i32,
                    key_project: true,
                    key_project_name: "嘉鱼重型装备产业园".into(),
                    expected_production_date: Some(Date { year: 2027, month: 6, day: 1 }),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
            &token,
        ))
        .await
        .expect("registered")
        .into_inner()
        .enterprise
        .expect("enterprise");

    let renamed = client
        .update_enterprise(authed(
            UpdateEnterpriseRequest {
                enterprise: Some(Enterprise {
                    name: created.name.clone(),
                    etag: created.etag.clone(),
                    display_name: "嘉鱼新名有限公司".into(),
                    industry: Industry::Other as i32,
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask { paths: vec!["display_name".into()] }),
                request_id: String::new(),
            },
            &token,
        ))
        .await
        .expect("renamed")
        .into_inner()
        .enterprise
        .expect("enterprise");
    assert_eq!(renamed.display_name, "嘉鱼新名有限公司");
    assert_eq!(renamed.industry, Industry::EquipmentManufacturing as i32, "fields outside the mask are kept");
    assert!(renamed.key_project && renamed.expected_production_date == created.expected_production_date);
    assert_ne!(renamed.etag, created.etag);

    let stale = client
        .update_enterprise(authed(
            UpdateEnterpriseRequest {
                enterprise: Some(Enterprise {
                    name: created.name.clone(),
                    etag: created.etag.clone(),
                    display_name: "过期修改".into(),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask { paths: vec!["display_name".into()] }),
                request_id: String::new(),
            },
            &token,
        ))
        .await
        .expect_err("a stale etag");
    assert_eq!(stale.code(), Code::Aborted);
    assert_eq!(reason(&stale), "ETAG_MISMATCH");

    let fixed_field = client
        .update_enterprise(authed(
            UpdateEnterpriseRequest {
                enterprise: Some(Enterprise { name: created.name.clone(), ..Default::default() }),
                update_mask: Some(prost_types::FieldMask { paths: vec!["region_code".into()] }),
                request_id: String::new(),
            },
            &token,
        ))
        .await
        .expect_err("the county cannot change");
    assert_invalid(&fixed_field, "UPDATE-MASK", "update_mask");

    // Without a mask, every editable field takes the request's value.
    let replaced = client
        .update_enterprise(authed(
            UpdateEnterpriseRequest {
                enterprise: Some(Enterprise {
                    name: created.name.clone(),
                    etag: renamed.etag.clone(),
                    display_name: "嘉鱼整体替换有限公司".into(),
                    industry: Industry::Other as i32,
                    key_project: false,
                    ..Default::default()
                }),
                update_mask: None,
                request_id: String::new(),
            },
            &token,
        ))
        .await
        .expect("replaced whole")
        .into_inner()
        .enterprise
        .expect("enterprise");
    assert_eq!(replaced.display_name, "嘉鱼整体替换有限公司");
    assert_eq!(replaced.industry, Industry::Other as i32);
    assert!(
        !replaced.key_project && replaced.key_project_name.is_empty() && replaced.expected_production_date.is_none()
    );
    assert_eq!((replaced.credit_code.as_str(), replaced.region_code.as_str()), (code.as_str(), COUNTY));

    let read = client
        .get_enterprise(authed(GetEnterpriseRequest { name: created.name.clone() }, &app.auditor()))
        .await
        .expect("read")
        .into_inner()
        .enterprise
        .expect("enterprise");
    assert_eq!(read, replaced, "what is read is what was stored");
    assert_eq!(app.audit_actions().await, ["enterprise.create", "enterprise.update", "enterprise.update"]);
}

async fn a_worker_need_is_read_and_updated_masked(app: &App) {
    let id = fixtures::id_number("42122119900307123");
    let officer = app.officer(COUNTY);
    let need = app.record_need(worker(&id, COUNTY), "", &officer).await.expect("recorded");
    let mut client = app.client().await;
    let masked = |need: &WorkerNeed| {
        let person = need.person.as_ref().expect("person");
        (person.id_number.clone(), person.name.clone(), person.phone.clone())
    };
    let expected = (format!("{}********{}", &id[..6], &id[14..]), "张*丰".to_owned(), "138****1234".to_owned());

    for token in [officer.clone(), app.admin(), app.auditor()] {
        let read = client
            .get_worker_need(authed(GetWorkerNeedRequest { name: need.name.clone() }, &token))
            .await
            .expect("read")
            .into_inner()
            .worker_need
            .expect("need");
        assert_eq!(read, need);
        assert_eq!(masked(&read), expected);
    }
    for token in [app.officer(OTHER_COUNTY), app.enterprise(&fixtures::uscc("91421221MA4WNR802"))] {
        let error = client
            .get_worker_need(authed(GetWorkerNeedRequest { name: need.name.clone() }, &token))
            .await
            .expect_err("not theirs");
        assert_eq!(error.code(), Code::PermissionDenied);
    }

    let updated = client
        .update_worker_need(authed(
            UpdateWorkerNeedRequest {
                name: need.name.clone(),
                etag: need.etag.clone(),
                worker_need: Some(WorkerNeedInput {
                    wanted_pay_min_fen: 600_000,
                    wanted_occupation_name: "不应改变".into(),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask { paths: vec!["wanted_pay_min_fen".into()] }),
                request_id: String::new(),
            },
            &officer,
        ))
        .await
        .expect("updated")
        .into_inner()
        .worker_need
        .expect("need");
    assert_eq!(updated.wanted_pay_min_fen, 600_000);
    assert_eq!(updated.wanted_occupation_name, "焊工", "fields outside the mask are kept");
    assert_eq!(masked(&updated), expected, "the person is shown masked");
    assert_ne!(updated.etag, need.etag);

    let stale = client
        .update_worker_need(authed(
            UpdateWorkerNeedRequest {
                name: need.name.clone(),
                etag: need.etag.clone(),
                worker_need: Some(WorkerNeedInput { wanted_pay_min_fen: 1, ..Default::default() }),
                update_mask: Some(prost_types::FieldMask { paths: vec!["wanted_pay_min_fen".into()] }),
                request_id: String::new(),
            },
            &officer,
        ))
        .await
        .expect_err("a stale etag");
    assert_eq!((stale.code(), reason(&stale).as_str()), (Code::Aborted, "ETAG_MISMATCH"));

    let moved = client
        .update_worker_need(authed(
            UpdateWorkerNeedRequest {
                name: need.name.clone(),
                etag: updated.etag.clone(),
                worker_need: Some(WorkerNeedInput { region_code: OTHER_COUNTY.into(), ..Default::default() }),
                update_mask: Some(prost_types::FieldMask { paths: vec!["region_code".into()] }),
                request_id: String::new(),
            },
            &officer,
        ))
        .await
        .expect_err("an officer cannot move a worker out of their county");
    assert_eq!(moved.code(), Code::PermissionDenied);
    let read = client
        .get_worker_need(authed(GetWorkerNeedRequest { name: need.name.clone() }, &officer))
        .await
        .expect("read")
        .into_inner()
        .worker_need
        .expect("need");
    assert_eq!(read, updated, "refused updates changed nothing");
}

async fn a_published_vacancy_is_filled_and_leaves_the_board(app: &App) {
    let code = app.enterprise_in("FLL803", COUNTY).await;
    let filled_one = app.published(&code).await;
    let open_one = app.published(&code).await;
    let token = app.enterprise(&code);
    let mut client = app.client().await;
    let filled = client
        .fill_vacancy(authed(
            FillVacancyRequest {
                name: filled_one.name.clone(),
                etag: filled_one.etag.clone(),
                request_id: String::new(),
            },
            &token,
        ))
        .await
        .expect("filled")
        .into_inner()
        .vacancy
        .expect("vacancy");
    assert_eq!(filled.state, VacancyState::Filled as i32);
    assert_eq!(filled.revision, filled_one.revision + 1);

    let board = client
        .list_published_vacancies(authed(ListPublishedVacanciesRequest::default(), &app.provider()))
        .await
        .expect("board")
        .into_inner()
        .vacancies;
    assert_eq!(board.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(), [open_one.name.as_str()]);
    let stats = client
        .get_demand_statistics(authed(GetDemandStatisticsRequest {}, &app.provider()))
        .await
        .expect("statistics")
        .into_inner();
    assert_eq!((stats.total_vacancies, stats.total_headcount), (1, 12));
    let revisions = client
        .list_vacancy_revisions(authed(
            ListVacancyRevisionsRequest { name: filled.name.clone(), ..Default::default() },
            &token,
        ))
        .await
        .expect("history")
        .into_inner()
        .revisions;
    assert_eq!(revisions.iter().map(|r| r.action.as_str()).collect::<Vec<_>>(), ["fill", "publish", "create"]);

    let again = client
        .fill_vacancy(authed(FillVacancyRequest { name: filled.name.clone(), ..Default::default() }, &token))
        .await
        .expect_err("filled already");
    assert_eq!((again.code(), reason(&again).as_str()), (Code::FailedPrecondition, "VACANCY_STATE"));
}

async fn worker_needs_page_to_the_end_without_duplicates(app: &App) {
    let mut recorded = Vec::new();
    for i in 0..5 {
        let mut input = worker(&fixtures::id_number(&format!("4212211990030712{i}")), COUNTY);
        input.wants_training = i % 2 == 0;
        if !input.wants_training {
            input.training_occupation_code = String::new();
            input.training_skill_level = 0;
        }
        recorded.push(app.record_need(input, "", &app.admin()).await.expect("recorded").name);
    }
    recorded.sort();
    let mut client = app.client().await;
    let mut pages = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_worker_needs(authed(
                ListWorkerNeedsRequest { page_size: 2, page_token: token.clone(), ..Default::default() },
                &app.officer(COUNTY),
            ))
            .await
            .expect("a page")
            .into_inner();
        pages.push(page.worker_needs.iter().map(|n| n.name.clone()).collect::<Vec<_>>());
        assert!(page.worker_needs.iter().all(|n| n.person.as_ref().is_some_and(|p| p.id_number.contains("********"))));
        token = page.next_page_token;
        if token.is_empty() || pages.len() > 5 {
            break;
        }
    }
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
    let mut listed: Vec<String> = pages.concat();
    listed.sort();
    listed.dedup();
    assert_eq!(listed, recorded, "every need once");

    let training = client
        .list_worker_needs(authed(
            ListWorkerNeedsRequest { wants_training_only: true, ..Default::default() },
            &app.admin(),
        ))
        .await
        .expect("filtered")
        .into_inner();
    assert_eq!(training.worker_needs.len(), 3);
    assert!(training.worker_needs.iter().all(|n| n.wants_training));

    let first = client
        .list_worker_needs(authed(ListWorkerNeedsRequest { page_size: 2, ..Default::default() }, &app.admin()))
        .await
        .expect("a page")
        .into_inner();
    let error = client
        .list_worker_needs(authed(
            ListWorkerNeedsRequest {
                page_size: 2,
                page_token: first.next_page_token,
                wants_training_only: true,
                ..Default::default()
            },
            &app.admin(),
        ))
        .await
        .expect_err("a token of other filters");
    assert_invalid(&error, "PAGE", "page_token");
    let elsewhere = client
        .list_worker_needs(authed(ListWorkerNeedsRequest::default(), &app.officer(OTHER_COUNTY)))
        .await
        .expect("another county's officer")
        .into_inner();
    assert!(elsewhere.worker_needs.is_empty());
}

// 9. No plaintext personal data at rest, stored responses included.

async fn no_personal_data_is_stored_in_plain_text_anywhere_including_stored_responses(app: &App) {
    let people = [
        (fixtures::id_number("42122119900307123"), "张三丰", "13807151234"),
        (fixtures::id_number("42122119850101456"), "李四光", "13907152345"),
    ];
    let officer = app.officer(COUNTY);
    let mut names = Vec::new();
    for (i, (id, name, phone)) in people.iter().enumerate() {
        let mut input = worker(id, COUNTY);
        input.person_name = (*name).into();
        input.phone = (*phone).into();
        let need = app.record_need(input.clone(), &format!("need-{i}"), &officer).await.expect("recorded");
        let replay = app.record_need(input, &format!("need-{i}"), &officer).await.expect("replayed");
        assert_eq!(replay.name, need.name, "the stored response answers the retry");
        names.push(need);
    }
    app.client()
        .await
        .update_worker_need(authed(
            UpdateWorkerNeedRequest {
                name: names[0].name.clone(),
                etag: names[0].etag.clone(),
                worker_need: Some(WorkerNeedInput { wanted_pay_min_fen: 550_000, ..Default::default() }),
                update_mask: Some(prost_types::FieldMask { paths: vec!["wanted_pay_min_fen".into()] }),
                request_id: "update-0".into(),
            },
            &officer,
        ))
        .await
        .expect("updated");
    let duplicate = app.record_need(worker(&people[0].0, COUNTY), "", &app.admin()).await.expect_err("recorded once");
    assert_eq!(reason(&duplicate), "WORKER_NEED_EXISTS");

    let values = app.every_stored_value().await;
    let mut responses = 0;
    for (table, column, value) in &values {
        let mut searched = vec![value.bytes().to_vec()];
        if table == "idempotency" && column == "response" {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(value.text())
                .unwrap_or_else(|e| panic!("a stored response is not base64: {e}"));
            assert!(!decoded.is_empty(), "a stored response holds the answer");
            searched.push(decoded);
            responses += 1;
        }
        for bytes in &searched {
            for (id, name, phone) in &people {
                for secret in [id.as_str(), name, phone] {
                    assert!(!contains(bytes, secret.as_bytes()), "{table}.{column} holds {secret} in plain text");
                }
            }
        }
    }
    assert_eq!(responses, 3, "two creations and an update are stored to answer retries");
    let masked =
        values.iter().any(|(t, c, v)| t == "worker_need" && c == "id_number_masked" && v.text().contains("****"));
    assert!(masked, "the scan read the worker_need rows");

    // On SQLite, the files themselves never hold the data either.
    if let Some(path) = app.database_url().strip_prefix("sqlite://").and_then(|u| u.split('?').next()) {
        for file in [path.to_owned(), format!("{path}-wal")] {
            let bytes = std::fs::read(&file).unwrap_or_default();
            for (id, name, phone) in &people {
                for secret in [id.as_str(), name, phone] {
                    assert!(!contains(&bytes, secret.as_bytes()), "{file} holds {secret}");
                }
            }
        }
    }
}

backend_tests!(start =>
    a_vacancy_needed_by_an_impossible_date_is_refused_and_nothing_is_stored,
    one_corrupt_stored_row_does_not_take_the_lists_down,
    a_streamed_import_acknowledges_each_committed_chunk_and_a_resumed_one_stores_nothing_twice,
    a_caller_runs_a_bounded_number_of_imports_at_once_and_others_are_not_affected,
    a_paused_import_does_not_hold_up_other_writers,
    a_huge_bad_value_comes_back_as_a_short_error_whose_details_decode,
    an_id_number_typed_into_a_code_field_is_not_echoed_or_logged,
    an_overlong_text_is_refused_by_its_length,
    control_characters_are_refused_the_same_on_both_backends,
    a_request_that_does_not_decode_is_invalid_argument_not_internal,
    every_demand_rpc_admits_exactly_the_roles_its_proto_declares,
    an_oversized_token_is_unauthenticated_with_a_reason_not_a_transport_error,
    pay_above_a_sane_maximum_is_refused,
    request_ids_are_stored_only_as_keyed_hashes,
    one_bad_field_is_named_once_even_when_it_breaks_two_rules,
    an_officer_learns_only_that_a_person_is_recorded_elsewhere_and_the_lookup_is_audited,
    an_enterprise_is_updated_by_mask_or_replaced_whole_and_a_stale_etag_is_aborted,
    a_worker_need_is_read_and_updated_masked,
    a_published_vacancy_is_filled_and_leaves_the_board,
    worker_needs_page_to_the_end_without_duplicates,
    no_personal_data_is_stored_in_plain_text_anywhere_including_stored_responses,
);
