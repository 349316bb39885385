//! `cargo bench -p qiancheng-outcome --bench exchange` (issue #18): a signed result batch of
//! 50,000 social-insurance records verified and stored through PushResultBatch, on SQLite and,
//! when `QIANCHENG_TEST_DATABASE_URL` is set, on PostgreSQL: records per second, and the share
//! of the time spent verifying the signature (the same `exchange::verifies` the service calls,
//! timed alone on the same bytes). Stored means: the batch kept whole in the exchange log, every
//! record checked and kept, 50,000 items of evidence, the queries answered, and the verdicts and
//! rates of every project it touches recomputed, in one transaction.
//!
//! 50,000 records of this shape are about 12 MB: more than one gRPC message under the server's
//! default limit (QIANCHENG_MAX_MESSAGE_BYTES, 4 MiB). The benchmark prints the most records of
//! this shape one push carries under the default limit, checked against a server running with
//! it (that many go through, one more is refused by the transport), and measures the 50,000 on
//! a server whose limit an operator raised to 64 MiB (the batch limit, EX-BATCH).
//!
//! 10,000 trainees in 100 projects, each asked 5 months: 2 pulls of 5,000 queries, one batch of
//! 50,000 records. `QIANCHENG_BENCH_RECORDS` changes the batch size (a multiple of 5). Real
//! servers on port 0 over fresh databases, as the tests run them. Nothing is asserted.

mod common;

use std::time::{Duration, Instant};

use prost::Message as _;
use qiancheng_api::outcome::outcome_service_client::OutcomeServiceClient;
use qiancheng_api::outcome::*;
use qiancheng_outcome::exchange::{
    self, DEFAULT_SIGNER_ID, QueryBatchFile, RESULT_FORMAT, ResultBatchFile, ResultLine,
};
use qiancheng_platform::auth::Role;
use qiancheng_testkit::{Backend, TestService, authed, fixtures};
use tonic::transport::Channel;

const KEY: &str = "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8";
/// Months answered per person.
const MONTHS: usize = 5;
/// The server's default message limit.
const DEFAULT_LIMIT: usize = 4 * 1024 * 1024;

#[derive(Debug, Default)]
struct Figures {
    records: usize,
    bytes: usize,
    push: Duration,
    verify: Duration,
    accepted: i32,
}

fn department() -> String {
    fixtures::uscc("11421200MB0000011")
}

fn employer() -> String {
    fixtures::uscc("91421221MA0000033")
}

async fn client(service: &TestService) -> OutcomeServiceClient<Channel> {
    OutcomeServiceClient::new(service.channel().await)
        .max_decoding_message_size(usize::MAX)
        .max_encoding_message_size(usize::MAX)
}

async fn register(service: &TestService) -> String {
    let request = RegisterDepartmentKeyRequest {
        department: department(),
        source: ExchangeSource::SocialInsurance as i32,
        public_key: exchange::public_key_of(KEY).expect("a key"),
        ..Default::default()
    };
    let admin = service.token(Role::CityAdmin, Some("421200"), None);
    client(service)
        .await
        .register_department_key(authed(request, &admin))
        .await
        .expect("registered")
        .into_inner()
        .key
        .expect("a key")
        .name
}

fn record(i: usize, query: &str, id_number: &str, month: &str) -> ResultLine {
    ResultLine {
        record_id: format!("{i:06}"),
        query: query.to_owned(),
        id_number: id_number.to_owned(),
        result: "FOUND".to_owned(),
        employer_credit_code: employer(),
        month: month.to_owned(),
        amount_fen: 450_000,
        ..Default::default()
    }
}

fn batch(batch_id: &str, records: Vec<ResultLine>) -> Vec<u8> {
    let file = ResultBatchFile {
        format: RESULT_FORMAT.to_owned(),
        batch_id: batch_id.to_owned(),
        department: department(),
        source: "SOCIAL_INSURANCE".to_owned(),
        records,
        withdrawals: Vec::new(),
    };
    serde_json::to_vec(&file).expect("json")
}

fn push_request(content: Vec<u8>, key: &str) -> PushResultBatchRequest {
    let signature = exchange::sign(KEY, DEFAULT_SIGNER_ID, &content).expect("signed").0;
    PushResultBatchRequest { content, signature, key: key.to_owned(), ..Default::default() }
}

/// Records of the benchmark's shape (a query id, an ID number, an employer, a month) for
/// `count` records, none of them asked: for sizing and for the limit check.
fn unasked(count: usize) -> Vec<ResultLine> {
    (0..count).map(|i| record(i, "01JF0000000000000000000000", &common::id_number(i / MONTHS), "2026-07")).collect()
}

/// The most records of this shape one PushResultBatch message carries under `limit` bytes.
fn most_records_under(limit: usize) -> usize {
    let fits = |n: usize| {
        push_request(batch("SI-LIMIT", unasked(n)), "departmentKeys/01JF0000000000000000000000").encoded_len() <= limit
    };
    let (mut low, mut high) = (0, 1);
    while fits(high) {
        low = high;
        high *= 2;
    }
    while high - low > 1 {
        let mid = (low + high) / 2;
        if fits(mid) { low = mid } else { high = mid }
    }
    low
}

/// Against a server with the default limit: the most records that fit go through the transport
/// (and are refused one by one as not asked), one more is refused whole by the transport.
async fn check_default_limit(backend: Backend, most: usize) -> (String, String) {
    let service = common::start(backend, DEFAULT_LIMIT).await.expect("the backend is configured");
    let key = register(&service).await;
    let token = service.token(Role::DataExchange, None, Some(&department()));
    let mut out = Vec::new();
    for n in [most, most + 1] {
        let request = push_request(batch(&format!("SI-LIMIT-{n}"), unasked(n)), &key);
        let size = request.encoded_len();
        let answer = client(&service).await.push_result_batch(authed(request, &token)).await;
        out.push(match answer {
            Ok(r) => format!(
                "{n} records ({size} bytes): through, {} refused EX-NOT-ASKED",
                r.into_inner().results.iter().filter(|r| r.rule == "EX-NOT-ASKED").count()
            ),
            Err(e) => format!("{n} records ({size} bytes): refused, {:?}: {}", e.code(), e.message()),
        });
    }
    (out.remove(0), out.remove(0))
}

async fn measure(backend: Backend, records: usize) -> Figures {
    let people = records / MONTHS;
    let service = common::start(backend, 64 * 1024 * 1024).await.expect("the backend is configured");
    // The classes ended about five months ago: at least five months of each window are asked.
    let last_day = qiancheng_domain::today_in_china() - chrono::Days::new(150);
    common::insert_trainees(&service, people, 100, last_day, true).await;
    let key = register(&service).await;
    let token = service.token(Role::DataExchange, None, Some(&department()));

    let mut lines = Vec::with_capacity(records);
    loop {
        let pulled = client(&service)
            .await
            .pull_query_batch(authed(PullQueryBatchRequest::default(), &token))
            .await
            .expect("pulled")
            .into_inner();
        if pulled.query_count == 0 {
            break;
        }
        let file: QueryBatchFile = serde_json::from_slice(&pulled.content).expect("a query batch");
        for q in &file.queries {
            for month in q.months.iter().take(MONTHS) {
                lines.push(record(lines.len(), &q.query, &q.id_number, month));
            }
        }
    }
    lines.truncate(records);
    let content = batch("SI-BENCH-0001", lines);
    let request = push_request(content.clone(), &key);
    let verifying =
        exchange::verifying_key(&exchange::public_key_of(KEY).expect("a key"), DEFAULT_SIGNER_ID).expect("a key");
    let mut verify = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        assert!(exchange::verifies(&verifying, &content, &request.signature));
        verify.push(started.elapsed());
    }
    verify.sort();
    let started = Instant::now();
    let pushed = client(&service).await.push_result_batch(authed(request, &token)).await.expect("pushed").into_inner();
    let push = started.elapsed();
    Figures {
        records: pushed.results.len(),
        bytes: content.len(),
        push,
        verify: verify[1],
        accepted: pushed.batch.map_or(0, |b| b.accepted_count),
    }
}

fn main() {
    let records = common::scale("QIANCHENG_BENCH_RECORDS", 50_000);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    let most = most_records_under(DEFAULT_LIMIT);
    let one = push_request(batch("SI-LIMIT", unasked(1000)), "departmentKeys/01JF0000000000000000000000");
    println!(
        "PushResultBatch under the default 4 MiB ({DEFAULT_LIMIT} bytes) message limit: at most {most} records of this \
         shape (about {} bytes each in the message)",
        one.encoded_len() / 1000
    );
    let (fits, refused) = runtime.block_on(check_default_limit(Backend::Sqlite, most));
    println!("  checked against a server with the default limit: {fits}; {refused}");

    let mut figures = vec![("SQLite", runtime.block_on(measure(Backend::Sqlite, records)))];
    if common::postgres_configured() {
        figures.push(("PostgreSQL", runtime.block_on(measure(Backend::Postgres, records))));
    }
    println!();
    println!(
        "| PushResultBatch, one signed batch (server limit raised to 64 MiB) | records | bytes | accepted | push s | records/s | verify ms | verify share |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (name, f) in &figures {
        println!(
            "| {name} | {} | {} | {} | {:.2} | {:.0} | {} | {:.1}% |",
            f.records,
            f.bytes,
            f.accepted,
            f.push.as_secs_f64(),
            f.records as f64 / f.push.as_secs_f64(),
            common::ms(f.verify),
            100.0 * f.verify.as_secs_f64() / f.push.as_secs_f64()
        );
    }
    if !common::postgres_configured() {
        println!("| PostgreSQL | not configured (QIANCHENG_TEST_DATABASE_URL) | | | | | | |");
    }
}
