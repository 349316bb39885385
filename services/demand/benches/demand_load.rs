//! A load benchmark of the demand service through its gRPC client, on a real server on
//! loopback. It prints its figures and asserts nothing about them (machines are shared and
//! noisy): `cargo bench -p qiancheng-demand --bench demand_load`. With
//! `QIANCHENG_TEST_DATABASE_URL` set it runs on PostgreSQL as well as SQLite.
//!
//! Scenarios: sequential CreateVacancy latency (p50/p95/p99), concurrent CreateVacancy
//! throughput, a 5000-row ImportVacancies stream, MatchVacancies over the published board, and
//! SummarizeTrainingNeeds over every worker's need, plus the process's peak resident memory.
#![allow(clippy::print_stdout, clippy::unwrap_used, missing_docs)]

use std::time::{Duration, Instant};

use qiancheng_api::demand::demand_service_client::DemandServiceClient;
use qiancheng_api::demand::*;
use qiancheng_api::types::{Date, Industry, SkillLevel, TargetGroup};
use qiancheng_demand::{Demand, MIGRATOR, SERVICE_NAME, State};
use qiancheng_platform::auth::Role;
use qiancheng_platform::db::Db;
use qiancheng_testkit::{Backend, Keys, RunningServer, TestDatabase, authed, fixtures};
use tonic::transport::Channel;

const COUNTIES: [&str; 6] = ["421202", "421221", "421222", "421223", "421224", "421281"];
const OCCUPATIONS: [&str; 8] =
    ["6-18-02-04", "6-18-01-01", "4-10-01-01", "4-10-01-02", "6-05-01-01", "6-28-01-10", "4-14-01-01", "6-31-01-03"];

fn vacancy(code: &str, i: usize) -> Vacancy {
    Vacancy {
        enterprise_credit_code: code.into(),
        post: format!("岗位{i}"),
        occupation_code: OCCUPATIONS[i % OCCUPATIONS.len()].into(),
        occupation_name: "工种".into(),
        skill_level: [SkillLevel::SkillLevel5, SkillLevel::SkillLevel4, SkillLevel::SkillLevel3][i % 3] as i32,
        headcount: i32::try_from(1 + i % 20).unwrap(),
        pay_min_fen: 300_000,
        pay_max_fen: 300_000 + i64::try_from(i % 50).unwrap() * 10_000,
        requirements: String::new(),
        work_region_code: COUNTIES[i % COUNTIES.len()].into(),
        needed_by: Some(Date { year: 2030, month: 1, day: 1 }),
        survey_method: SurveyMethod::OnlinePlatform as i32,
        ..Default::default()
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()
}

async fn run(backend: Backend) {
    let Some(database) = TestDatabase::create(backend).await else {
        println!("{backend:?}: skipped (no database configured)");
        return;
    };
    let keys = Keys::new();
    let db = Db::connect(&database.url, None, &MIGRATOR).await.unwrap();
    let service =
        Demand::new(State { db: db.clone(), pii: keys.pii.clone(), policy_version: "xianning-2025-5/v1".into() });
    let server = RunningServer::start(
        SERVICE_NAME,
        service.routes(&keys.minter.authenticator(), &keys.settings),
        &keys.settings,
    )
    .await;
    let channel: Channel = server.channel().await;
    let mut client = DemandServiceClient::new(channel.clone());
    let admin = keys.token(Role::CityAdmin, Some("421200"), None);
    println!("== {backend:?}");

    let mut enterprises = Vec::new();
    for (i, county) in COUNTIES.iter().enumerate() {
        let code = fixtures::uscc(&format!("91{county}MA4BK{i:04}"));
        client
            .create_enterprise(authed(
                CreateEnterpriseRequest {
                    enterprise: Some(Enterprise {
                        credit_code: code.clone(),
                        display_name: format!("企业{i}"),
                        region_code: (*county).into(),
                        industry: Industry::EquipmentManufacturing as i32,
                        ..Default::default()
                    }),
                    request_id: String::new(),
                },
                &admin,
            ))
            .await
            .unwrap();
        enterprises.push(code);
    }

    // Sequential creates: the latency a clerk at a form sees.
    let mut latencies = Vec::new();
    for i in 0..500 {
        let started = Instant::now();
        client
            .create_vacancy(authed(
                CreateVacancyRequest {
                    vacancy: Some(vacancy(&enterprises[i % enterprises.len()], i)),
                    request_id: format!("seq-{i}"),
                },
                &admin,
            ))
            .await
            .unwrap();
        latencies.push(started.elapsed());
    }
    latencies.sort();
    println!(
        "CreateVacancy sequential x500: p50 {:?}  p95 {:?}  p99 {:?}",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.95),
        percentile(&latencies, 0.99)
    );

    // Concurrent creates: 16 clients, 1000 calls.
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..16 {
        let mut client = DemandServiceClient::new(channel.clone());
        let (admin, enterprises) = (admin.clone(), enterprises.clone());
        tasks.push(tokio::spawn(async move {
            for n in 0..63 {
                let i = 1000 + worker * 100 + n;
                client
                    .create_vacancy(authed(
                        CreateVacancyRequest {
                            vacancy: Some(vacancy(&enterprises[i % enterprises.len()], i)),
                            request_id: String::new(),
                        },
                        &admin,
                    ))
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = started.elapsed();
    println!("CreateVacancy 16 clients x63: {:.0} calls/s ({elapsed:?})", 1008.0 / elapsed.as_secs_f64());

    // A 5000-row import, as a county uploading its survey.
    let rows: Vec<ImportVacanciesRequest> = (0..5000)
        .map(|i| ImportVacanciesRequest {
            vacancy: Some(vacancy(&enterprises[i % enterprises.len()], i)),
            row_ref: format!("R{i}"),
            request_id: format!("import/{i}"),
        })
        .collect();
    let started = Instant::now();
    let imported = client.import_vacancies(authed(tokio_stream::iter(rows), &admin)).await.unwrap().into_inner();
    let elapsed = started.elapsed();
    println!(
        "ImportVacancies 5000 rows: {} stored in {elapsed:?} ({:.0} rows/s)",
        imported.imported,
        5000.0 / elapsed.as_secs_f64()
    );

    // Publish 2000 vacancies for the board and the summary.
    let list = client
        .list_vacancies(authed(ListVacanciesRequest { page_size: 500, ..Default::default() }, &admin))
        .await
        .unwrap()
        .into_inner();
    let mut names: Vec<String> = list.vacancies.into_iter().map(|v| v.name).collect();
    let mut token = list.next_page_token;
    while names.len() < 2000 && !token.is_empty() {
        let page = client
            .list_vacancies(authed(
                ListVacanciesRequest { page_size: 500, page_token: token, ..Default::default() },
                &admin,
            ))
            .await
            .unwrap()
            .into_inner();
        names.extend(page.vacancies.into_iter().map(|v| v.name));
        token = page.next_page_token;
    }
    for name in &names {
        client
            .publish_vacancy(authed(PublishVacancyRequest { name: name.clone(), ..Default::default() }, &admin))
            .await
            .unwrap();
    }

    // 3000 workers' needs (each encrypted and hashed).
    let started = Instant::now();
    let mut first_need = String::new();
    for i in 0..3000u32 {
        let county = COUNTIES[i as usize % COUNTIES.len()];
        let id = fixtures::id_number(&format!("{county}1990{:02}{:02}{:03}", 1 + i / 1000, 1 + i % 28, i % 1000));
        let need = client
            .create_worker_need(authed(
                CreateWorkerNeedRequest {
                    worker_need: Some(WorkerNeedInput {
                        person_name: "王小明".into(),
                        id_number: id,
                        phone: format!("138{:08}", i),
                        region_code: county.into(),
                        target_group: TargetGroup::RuralMigrant as i32,
                        wanted_occupation_code: OCCUPATIONS[i as usize % OCCUPATIONS.len()].into(),
                        wanted_pay_min_fen: 350_000,
                        held_occupation_code: OCCUPATIONS[(i as usize + 1) % OCCUPATIONS.len()].into(),
                        held_skill_level: SkillLevel::SkillLevel4 as i32,
                        wants_training: i % 2 == 0,
                        training_occupation_code: if i % 2 == 0 {
                            OCCUPATIONS[i as usize % OCCUPATIONS.len()].into()
                        } else {
                            String::new()
                        },
                        ..Default::default()
                    }),
                    request_id: String::new(),
                },
                &admin,
            ))
            .await;
        if let Ok(need) = need
            && first_need.is_empty()
        {
            first_need = need.into_inner().worker_need.unwrap().name;
        }
    }
    println!("CreateWorkerNeed x3000 (encrypt + keyed hash each): {:?}", started.elapsed());

    let mut latencies = Vec::new();
    for _ in 0..50 {
        let started = Instant::now();
        client
            .match_vacancies(authed(MatchVacanciesRequest { worker_need: first_need.clone(), page_size: 20 }, &admin))
            .await
            .unwrap();
        latencies.push(started.elapsed());
    }
    latencies.sort();
    println!(
        "MatchVacancies over {} published: p50 {:?}  p95 {:?}",
        names.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.95)
    );

    let mut latencies = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        client.summarize_training_needs(authed(SummarizeTrainingNeedsRequest::default(), &admin)).await.unwrap();
        latencies.push(started.elapsed());
    }
    latencies.sort();
    println!(
        "SummarizeTrainingNeeds (3000 workers): p50 {:?}  p95 {:?}",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.95)
    );

    let started = Instant::now();
    let report = client
        .verify_audit_chain(authed(VerifyAuditChainRequest {}, &admin))
        .await
        .unwrap()
        .into_inner()
        .report
        .unwrap();
    println!("VerifyAuditChain: {} rows in {:?}, intact {}", report.rows_checked, started.elapsed(), report.intact);
    if let Some(kib) = peak_rss_kib() {
        println!("peak resident memory of the process so far: {} MiB", kib / 1024);
    }
    server.stop().await;
}

#[tokio::main]
async fn main() {
    run(Backend::Sqlite).await;
    run(Backend::Postgres).await;
}
