//! `cargo bench -p qiancheng-outcome --bench verdicts` (issue #17): verdicts and rates for many
//! trainees from their evidence, and one verdict recompute after one new item, on SQLite and,
//! when `QIANCHENG_TEST_DATABASE_URL` is set, on PostgreSQL.
//!
//! - Verdicts and rates: SetMinimumWage, which judges again every verdict resting on a service
//!   engagement and writes each project's rates, in one transaction; every trainee here has one,
//!   so it decides every verdict (read the evidence, call the policy core, store the verdict and
//!   its history, write the rates and the rate change feed). Timed twice: the first decision of
//!   every verdict (all written), and a second pass where nothing changes (all compared).
//! - One recompute: RecordEvidence of one item by an officer (the item, its document, the
//!   trainee's verdict and the project's rates): p50 and p99.
//!
//! Scale: `QIANCHENG_BENCH_TRAINEES` (default 10,000) trainees, 100 to a project, 10 items of
//! evidence each (a labour contract, 4 months of insurance, 4 months of wages, a service
//! engagement), so 100,000 items by default; the province scale is 100,000 trainees and
//! 1,000,000 items: the work is per project and per trainee, so it grows linearly (the figures
//! printed include the extrapolation). Real servers on port 0 over fresh databases, as the tests
//! run them. Nothing is asserted.

mod common;

use std::time::{Duration, Instant};

use chrono::{Datelike as _, NaiveDate};
use qiancheng_api::convert::date_to_proto;
use qiancheng_api::outcome::outcome_service_client::OutcomeServiceClient;
use qiancheng_api::outcome::*;
use qiancheng_domain::policy::facts::YearMonth;
use qiancheng_outcome::Documents;
use qiancheng_outcome::store::encode_message;
use qiancheng_outcome::store::evidence::EvidenceRecord;
use qiancheng_outcome::store::trainee::TraineeRecord;
use qiancheng_outcome::store::verdict::VerdictRecord;
use qiancheng_platform::Stamp;
use qiancheng_platform::auth::Role;
use qiancheng_platform::record;
use qiancheng_testkit::bench::percentile;
use qiancheng_testkit::{Backend, TestService, authed, fixtures};
use tonic::transport::Channel;

/// Single-item recomputes timed.
const RECOMPUTES: usize = 40;

#[derive(Debug, Default)]
struct Figures {
    trainees: usize,
    items: usize,
    positive: usize,
    first: Duration,
    again: Duration,
    one: Vec<Duration>,
}

async fn client(service: &TestService) -> OutcomeServiceClient<Channel> {
    OutcomeServiceClient::new(service.channel().await)
}

fn month(day: NaiveDate, after: u32) -> String {
    YearMonth::of(qiancheng_domain::add_months(day, after)).to_string()
}

/// The evidence of one trainee: a labour contract, 4 months of insurance and of wages from the
/// same employer (2 for every third trainee, who is then not employed by route ①), and a
/// service engagement.
fn evidence_of(t: &TraineeRecord, k: usize, today: NaiveDate) -> Vec<EvidenceRecord> {
    let employer = fixtures::uscc("91421221MA0000033");
    let last = t.class_last_day;
    let months = if k.is_multiple_of(3) { 2 } else { 4 };
    let mut inputs = vec![EvidenceInput {
        trainee: t.name(),
        kind: EvidenceKind::Contract as i32,
        contract: Some(ContractEvidence {
            employer_credit_code: employer.clone(),
            kind: ContractKind::Labour as i32,
            signed_on: Some(date_to_proto(last + chrono::Days::new(10))),
            ..Default::default()
        }),
        ..Default::default()
    }];
    for m in 1..=4 {
        let label = if m <= months { month(last, m) } else { month(last, 20) };
        inputs.push(EvidenceInput {
            trainee: t.name(),
            kind: EvidenceKind::Insurance as i32,
            insurance: Some(InsuranceEvidence {
                employer_credit_code: employer.clone(),
                months: vec![label.clone()],
                ..Default::default()
            }),
            ..Default::default()
        });
        inputs.push(EvidenceInput {
            trainee: t.name(),
            kind: EvidenceKind::Wages as i32,
            wages: Some(WageEvidence {
                employer_credit_code: employer.clone(),
                payer_relation: PayerRelation::EmployerAccount as i32,
                months: vec![label],
                amount_fen: 450_000,
            }),
            ..Default::default()
        });
    }
    inputs.push(EvidenceInput {
        trainee: t.name(),
        kind: EvidenceKind::Service as i32,
        service: Some(ServiceEvidence {
            route: ServiceRoute::ServiceAgreement as i32,
            counterparty: "咸宁某家政服务部".to_owned(),
            start_on: Some(date_to_proto(last + chrono::Days::new(5))),
            end_on: Some(date_to_proto(last + chrono::Days::new(150))),
            work_region_code: common::COUNTY.to_owned(),
            ..Default::default()
        }),
        ..Default::default()
    });
    inputs
        .into_iter()
        .map(|input| EvidenceRecord {
            id: ulid::Ulid::new().to_string(),
            trainee_id: t.id.clone(),
            project_id: t.project_id.clone(),
            class_id: t.class_id.clone(),
            provider_credit_code: t.provider_credit_code.clone(),
            region: t.region,
            kind: EvidenceKind::try_from(input.kind).unwrap_or_default().as_str_name().to_owned(),
            state: EvidenceState::Accepted.as_str_name().to_owned(),
            source: EvidenceSource::Officer.as_str_name().to_owned(),
            detail: encode_message(&input),
            certificate_number: String::new(),
            engagement_id: String::new(),
            document_sha256: String::new(),
            media_type: String::new(),
            size_bytes: 0,
            retain_until: Documents::retain_until(today),
            review: String::new(),
            reexamination: String::new(),
            submitted_by: "bench".to_owned(),
            counts_from: Some(last),
            counts_until: None,
            stamp: Stamp::new(),
        })
        .collect()
}

async fn set_wage(service: &TestService, admin: &str, monthly_fen: i64) -> Duration {
    let today = qiancheng_domain::today_in_china();
    let request = SetMinimumWageRequest {
        region_code: common::COUNTY.to_owned(),
        effective_date: Some(date_to_proto(NaiveDate::from_ymd_opt(today.year() - 3, 1, 1).expect("a day"))),
        monthly_fen,
        source: "bench".to_owned(),
        ..Default::default()
    };
    let started = Instant::now();
    client(service).await.set_minimum_wage(authed(request, admin)).await.expect("set");
    started.elapsed()
}

async fn measure(backend: Backend, trainees: usize) -> Figures {
    let service = common::start(backend, 4 * 1024 * 1024).await.expect("the backend is configured");
    let today = qiancheng_domain::today_in_china();
    // The windows closed a little while ago: every month of them is counted.
    let last_day = today - chrono::Days::new(200);
    let people = common::insert_trainees(&service, trainees, 100, last_day, false).await;
    let mut items = 0;
    for chunk in people.chunks(500) {
        let rows: Vec<EvidenceRecord> = chunk.iter().enumerate().flat_map(|(i, t)| evidence_of(t, i, today)).collect();
        items += rows.len();
        let (mut tx, _turn) = service.db.begin_write().await.expect("a transaction");
        record::insert_many(&mut tx, &rows).await.expect("evidence");
        tx.commit().await.expect("committed");
    }
    let admin = service.token(Role::CityAdmin, Some("421200"), None);
    let first = set_wage(&service, &admin, 200_000).await;
    let again = set_wage(&service, &admin, 200_100).await;
    let positive = record::all::<VerdictRecord>(service.db.pool(), record::Filter::new(), "trainee_id")
        .await
        .expect("verdicts")
        .iter()
        .filter(|v| v.positive)
        .count();

    // One new item for one trainee at a time: the verdict and its project's rates.
    let mut one = Vec::with_capacity(RECOMPUTES);
    for i in 0..RECOMPUTES {
        let t = &people[(i * 7919) % people.len()];
        let input = EvidenceInput {
            trainee: t.name(),
            kind: EvidenceKind::Insurance as i32,
            insurance: Some(InsuranceEvidence {
                employer_credit_code: fixtures::uscc("91421221MA0000033"),
                months: vec![month(t.class_last_day, 4)],
                ..Default::default()
            }),
            media_type: "application/pdf".to_owned(),
            document_content: format!("insurance certificate {i}").into_bytes(),
            ..Default::default()
        };
        let request = RecordEvidenceRequest { evidence: Some(input), note: "bench".to_owned(), ..Default::default() };
        let started = Instant::now();
        client(&service).await.record_evidence(authed(request, &admin)).await.expect("recorded");
        one.push(started.elapsed());
    }
    Figures { trainees, items, positive, first, again, one }
}

fn main() {
    let trainees = common::scale("QIANCHENG_BENCH_TRAINEES", 10_000);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    let mut figures = vec![("SQLite", runtime.block_on(measure(Backend::Sqlite, trainees)))];
    if common::postgres_configured() {
        figures.push(("PostgreSQL", runtime.block_on(measure(Backend::Postgres, trainees))));
    }
    println!();
    println!(
        "| outcome verdicts | trainees | items | positive | all verdicts + rates, first s | again (unchanged) s | trainees/s | ×{} → 100,000 trainees / 1,000,000 items s (target ≤ 10) | one new item p50 ms | p99 ms |",
        100_000 / trainees.max(1)
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for (name, f) in &figures {
        let scale = 100_000.0 / f.trainees.max(1) as f64;
        println!(
            "| {name} | {} | {} | {} | {:.2} | {:.2} | {:.0} | {:.1} | {} | {} |",
            f.trainees,
            f.items,
            f.positive,
            f.first.as_secs_f64(),
            f.again.as_secs_f64(),
            f.trainees as f64 / f.first.as_secs_f64(),
            f.first.as_secs_f64() * scale,
            common::ms(percentile(&f.one, 50.0)),
            common::ms(percentile(&f.one, 99.0)),
        );
    }
    if !common::postgres_configured() {
        println!("| PostgreSQL | not configured (QIANCHENG_TEST_DATABASE_URL) | | | | | | | | |");
    }
}
