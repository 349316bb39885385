//! A soak of the suite as the production topology runs it (not a CI test): `qiancheng serve`
//! demand, selection and supervision as separate processes, each on a fresh database of its own
//! (PostgreSQL by default), under a steady mixed load of reads, writes and calls that cross
//! services, for 30 minutes. Every minute it prints each service's resident memory and the p50
//! and p99 of the calls it answered in that minute; at the end, the first and last minutes side by
//! side. Both should stay flat: memory that grows minute after minute is a leak, a p99 that
//! grows is a queue or a table scan that grows with the data.
//!
//! ```sh
//! cargo bench -p qiancheng --bench soak                         # 30 minutes, PostgreSQL
//! cargo bench -p qiancheng --bench soak -- --minutes 10 --rate 40 --backend sqlite
//! ```
//!
//! PostgreSQL is the server of `QIANCHENG_TEST_DATABASE_URL` (as for the tests). `--rate` is
//! calls per second per service. Traffic goes to loopback only, and the run ends by itself.

// The figures are for a person at the terminal.
#![allow(clippy::print_stderr)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use qiancheng_api::demand::demand_service_client::DemandServiceClient;
use qiancheng_api::demand::{GetVacancyRequest, ListPublishedVacanciesRequest};
use qiancheng_api::selection::selection_service_client::SelectionServiceClient;
use qiancheng_api::selection::{GetProviderRequest, ListCatalogItemsRequest};
use qiancheng_api::supervision::supervision_service_client::SupervisionServiceClient;
use qiancheng_api::supervision::{Class, CreateClassRequest, GetClassRequest, ListTraineesRequest};
use qiancheng_platform::auth::{Role, TokenMinter};
use qiancheng_testkit::selection::{ProjectToApprove, approve_project, set_quotas};
use qiancheng_testkit::supervision::person;
use qiancheng_testkit::{Backend, TestDatabase, authed, fixtures};
use tokio::io::AsyncBufReadExt as _;
use tonic::transport::Channel;

const BIN: &str = env!("CARGO_BIN_EXE_qiancheng");
const DATA_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const COUNTY: &str = "421221";

/// What the run is told on its command line.
struct Args {
    minutes: u64,
    rate: u64,
    backend: Backend,
}

fn args() -> Args {
    let mut args = Args { minutes: 30, rate: 40, backend: Backend::Postgres };
    let given: Vec<String> = std::env::args().skip(1).collect();
    let mut words = given.iter();
    while let Some(word) = words.next() {
        match word.as_str() {
            "--minutes" => args.minutes = words.next().and_then(|m| m.parse().ok()).expect("--minutes N"),
            "--rate" => args.rate = words.next().and_then(|r| r.parse().ok()).expect("--rate N"),
            "--backend" => {
                args.backend = match words.next().map(String::as_str) {
                    Some("sqlite") => Backend::Sqlite,
                    Some("postgres") => Backend::Postgres,
                    other => panic!("--backend sqlite or postgres, not {other:?}"),
                }
            }
            // `cargo bench` passes --bench; anything else is a mistake worth saying.
            "--bench" => {}
            other => panic!("unknown argument {other}: --minutes N, --rate N, --backend sqlite|postgres"),
        }
    }
    args
}

/// A `qiancheng serve` child process and the address it bound.
struct Served {
    child: tokio::process::Child,
    addr: String,
}

impl Served {
    /// Its resident memory in KiB (`VmRSS`).
    fn rss_kib(&self) -> u64 {
        let Some(pid) = self.child.id() else { return 0 };
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|status| {
                status.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            })
            .unwrap_or(0)
    }
}

/// Starts `qiancheng serve <service>` with `env` and waits for it to say where it serves; its
/// later output is read and dropped so that it never blocks on a full pipe.
async fn serve(dir: &Path, service: &str, env: &[(&str, String)]) -> Served {
    let mut command = tokio::process::Command::new(BIN);
    command
        .args(["serve", service])
        .current_dir(dir)
        .env("QIANCHENG_BIND_ADDR", "127.0.0.1:0")
        .env("QIANCHENG_DATA_KEY", DATA_KEY)
        .env("QIANCHENG_LOG_FORMAT", "json")
        .env("RUST_LOG", "warn,qiancheng=info")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .stdout(Stdio::piped())
        .kill_on_drop(true);
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().expect("start qiancheng serve");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let addr = loop {
        let line = lines.next_line().await.expect("read").unwrap_or_else(|| panic!("{service} ended before serving"));
        let value: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        if value["message"] == "serving" {
            break value["addr"].as_str().expect("addr").to_owned();
        }
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Served { child, addr }
}

async fn channel(addr: &str) -> Channel {
    tonic::transport::Endpoint::from_shared(format!("http://{addr}")).expect("a URI").connect().await.expect("connect")
}

/// The calls one service answered in the current minute.
#[derive(Default)]
struct Minute {
    latencies: Vec<Duration>,
    failures: u64,
    /// The first failure of the minute, shown beside the figures.
    first_failure: Option<String>,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// One minute's figures of one service.
#[derive(Clone, Copy)]
struct Figures {
    rss_kib: u64,
    calls: usize,
    failures: u64,
    p50: Duration,
    p99: Duration,
}

/// What the load calls, ready to go: addresses, tokens and seeded names.
#[derive(Clone)]
struct Targets {
    demand: String,
    selection: String,
    supervision: String,
    officer: String,
    provider_token: String,
    vacancy: String,
    provider: String,
    project: String,
    class: String,
}

/// The mix for `service`, call number `n`: mostly reads, some writes, and for selection and
/// supervision calls that cross to their peer.
async fn call(service: &str, n: u64, t: &Targets, channels: &Channels) -> Result<(), tonic::Status> {
    match service {
        "demand" => {
            let mut client = DemandServiceClient::new(channels.demand.clone());
            if n % 5 == 4 {
                client
                    .list_published_vacancies(authed(
                        ListPublishedVacanciesRequest { page_size: 20, ..Default::default() },
                        &t.officer,
                    ))
                    .await?;
            } else {
                client.get_vacancy(authed(GetVacancyRequest { name: t.vacancy.clone() }, &t.officer)).await?;
            }
        }
        "selection" => {
            let mut client = SelectionServiceClient::new(channels.selection.clone());
            match n % 10 {
                // Crosses to demand, and writes drafts.
                0 => {
                    client
                        .draft_catalog_from_demand(authed(qiancheng_testkit::selection::welding_draft(), &t.officer))
                        .await?;
                }
                1 | 2 => {
                    client
                        .list_catalog_items(authed(
                            ListCatalogItemsRequest { page_size: 20, ..Default::default() },
                            &t.officer,
                        ))
                        .await?;
                }
                _ => {
                    client
                        .get_provider(authed(
                            GetProviderRequest { name: format!("providers/{}", t.provider) },
                            &t.officer,
                        ))
                        .await?;
                }
            }
        }
        _ => {
            let mut client = SupervisionServiceClient::new(channels.supervision.clone());
            match n % 10 {
                // Crosses to selection, and files a class of one new person.
                0 => {
                    client
                        .create_class(authed(
                            CreateClassRequest {
                                class: Some(class(&t.project, n / 10 + 1)),
                                roster: vec![person(n / 10)],
                                request_id: String::new(),
                            },
                            &t.provider_token,
                        ))
                        .await?;
                }
                1 | 2 => {
                    client
                        .list_trainees(authed(
                            ListTraineesRequest { class: t.class.clone(), page_size: 50, ..Default::default() },
                            &t.officer,
                        ))
                        .await?;
                }
                _ => {
                    client.get_class(authed(GetClassRequest { name: t.class.clone() }, &t.officer)).await?;
                }
            }
        }
    }
    Ok(())
}

/// Channels to the three services, one each, shared by the workers (HTTP/2 carries the calls
/// side by side).
#[derive(Clone)]
struct Channels {
    demand: Channel,
    selection: Channel,
    supervision: Channel,
}

/// Class number `n` of the soak, starting 60 to 160 days from today (inside the plan's period,
/// which ends 2027-12-31; each class's one person is new, so classes may share dates).
fn class(project: &str, n: u64) -> Class {
    let first = qiancheng_domain::today_in_china() + chrono::Days::new(60 + n % 100);
    qiancheng_testkit::supervision::class(project, &format!("焊工培训第{n}期"), first, 2)
}

/// Seeds what the load reads: demand's published vacancy, an approved project and its provider,
/// and a filed class.
async fn seed(served: &BTreeMap<&str, Served>, issuer: &TokenMinter) -> Targets {
    let token = |role: Role, region: Option<&str>, org: Option<&str>| {
        issuer.mint("soak", &[role], region, org, 6 * 3600).expect("token")
    };
    let officer = token(Role::CountyOfficer, Some(COUNTY), None);
    let admin = token(Role::CityAdmin, Some("421200"), None);
    let vacancy = fixtures::publish_welding_demand(
        channel(&served["demand"].addr).await,
        &officer,
        "91421221MA4K7Y2G3",
        COUNTY,
        8,
    )
    .await;
    let mut selection = SelectionServiceClient::new(channel(&served["selection"].addr).await);
    set_quotas(&mut selection, &admin, &["421200", COUNTY], 2099, 1_000_000).await;
    let project = ProjectToApprove {
        county: COUNTY,
        seed: "0000042",
        headcount: 100_000,
        hours: 100,
        deadline: qiancheng_api::types::Date { year: 2099, month: 12, day: 31 },
    };
    let (provider, project) =
        approve_project(&mut selection, &officer, |code| token(Role::Provider, None, Some(code)), project).await;
    let provider_token = token(Role::Provider, None, Some(&provider));
    let filed = SupervisionServiceClient::new(channel(&served["supervision"].addr).await)
        .create_class(authed(
            CreateClassRequest {
                class: Some(class(&project, 0)),
                roster: (2_000_000..2_000_030).map(person).collect(),
                request_id: String::new(),
            },
            &provider_token,
        ))
        .await
        .expect("a class is filed")
        .into_inner();
    Targets {
        demand: served["demand"].addr.clone(),
        selection: served["selection"].addr.clone(),
        supervision: served["supervision"].addr.clone(),
        officer,
        provider_token,
        vacancy,
        provider,
        project,
        class: filed.class.expect("class").name,
    }
}

fn main() {
    let args = args();
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime").block_on(soak(args));
}

async fn soak(args: Args) {
    let dir = tempfile::tempdir().expect("tempdir");
    let issuer = TokenMinter::generate().expect("a key");
    let key_of = |service: &str| {
        let path = dir.path().join(format!("{service}.key"));
        (TokenMinter::load_or_create(&path).expect("a service key").public_key_base64(), path.display().to_string())
    };
    let (selection_public, selection_key) = key_of("selection");
    let (supervision_public, supervision_key) = key_of("supervision");
    let mut databases = Vec::new();
    for _ in 0..3 {
        databases.push(TestDatabase::create(args.backend).await.expect("the backend is configured"));
    }
    let common = |database: &TestDatabase| {
        vec![
            ("QIANCHENG_DATABASE_URL", database.url.clone()),
            ("QIANCHENG_AUTH_PUBLIC_KEYS", issuer.public_key_base64()),
            ("QIANCHENG_ADMIN_ADDR", "127.0.0.1:0".to_owned()),
        ]
    };
    let mut served = BTreeMap::new();
    let mut env = common(&databases[0]);
    env.push(("QIANCHENG_SERVICE_PUBLIC_KEYS", format!("selection={selection_public}")));
    served.insert("demand", serve(dir.path(), "demand", &env).await);
    let mut env = common(&databases[1]);
    env.push(("QIANCHENG_PEER_DEMAND_URL", format!("http://{}", served["demand"].addr)));
    env.push(("QIANCHENG_SERVICE_SIGNING_KEY_FILE", selection_key));
    env.push(("QIANCHENG_SERVICE_PUBLIC_KEYS", format!("supervision={supervision_public}")));
    served.insert("selection", serve(dir.path(), "selection", &env).await);
    let mut env = common(&databases[2]);
    env.push(("QIANCHENG_PEER_SELECTION_URL", format!("http://{}", served["selection"].addr)));
    env.push(("QIANCHENG_SERVICE_SIGNING_KEY_FILE", supervision_key));
    served.insert("supervision", serve(dir.path(), "supervision", &env).await);

    let targets = seed(&served, &issuer).await;
    let channels = Channels {
        demand: channel(&targets.demand).await,
        selection: channel(&targets.selection).await,
        supervision: channel(&targets.supervision).await,
    };
    eprintln!(
        "soak: demand, selection and supervision as separate processes on {}, {} calls/s each, {} minutes",
        if args.backend == Backend::Postgres { "PostgreSQL" } else { "SQLite" },
        args.rate,
        args.minutes
    );
    eprintln!("(selection's DraftCatalogFromDemand crosses to demand, supervision's CreateClass to selection)");

    let minutes: BTreeMap<&'static str, Arc<Mutex<Minute>>> = ["demand", "selection", "supervision"]
        .into_iter()
        .map(|s| (s, Arc::new(Mutex::new(Minute::default()))))
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let workers_per_service = 4u64;
    let interval = Duration::from_secs_f64(workers_per_service as f64 / args.rate.max(1) as f64);
    let mut tasks = Vec::new();
    for (service, minute) in &minutes {
        let counter = Arc::new(AtomicU64::new(0));
        for _ in 0..workers_per_service {
            let (service, minute, stop, counter) = (*service, minute.clone(), stop.clone(), counter.clone());
            let (targets, channels) = (targets.clone(), channels.clone());
            tasks.push(tokio::spawn(async move {
                let mut next = tokio::time::Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    let started = Instant::now();
                    let result = call(service, n, &targets, &channels).await;
                    let took = started.elapsed();
                    {
                        let mut minute = minute.lock().expect("lock");
                        minute.latencies.push(took);
                        if let Err(status) = result {
                            minute.failures += 1;
                            minute
                                .first_failure
                                .get_or_insert_with(|| format!("{:?}: {}", status.code(), status.message()));
                        }
                    }
                    next += interval;
                    tokio::time::sleep_until(next).await;
                }
            }));
        }
    }

    let mut history: BTreeMap<&str, Vec<Figures>> = BTreeMap::new();
    let started = Instant::now();
    for minute_number in 1..=args.minutes {
        tokio::time::sleep_until(tokio::time::Instant::from_std(started + Duration::from_secs(60 * minute_number)))
            .await;
        let mut line = format!("minute {minute_number:>2}:");
        for (service, minute) in &minutes {
            let taken = std::mem::take(&mut *minute.lock().expect("lock"));
            let mut sorted = taken.latencies;
            sorted.sort_unstable();
            let figures = Figures {
                rss_kib: served[service].rss_kib(),
                calls: sorted.len(),
                failures: taken.failures,
                p50: percentile(&sorted, 0.50),
                p99: percentile(&sorted, 0.99),
            };
            line.push_str(&format!(
                "  {service} rss {:.1} MiB p50 {:.1} ms p99 {:.1} ms ({} calls, {} failed)",
                figures.rss_kib as f64 / 1024.0,
                figures.p50.as_secs_f64() * 1000.0,
                figures.p99.as_secs_f64() * 1000.0,
                figures.calls,
                figures.failures
            ));
            history.entry(service).or_default().push(figures);
            if let Some(failure) = taken.first_failure {
                line.push_str(&format!(" [{service}: {failure}]"));
            }
        }
        eprintln!("{line}");
    }
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        let _ = task.await;
    }
    eprintln!("\nservice       rss first → last (max)      p99 first → last (max)        calls  failed");
    for (service, figures) in &history {
        let (Some(first), Some(last)) = (figures.first(), figures.last()) else { continue };
        let max_rss = figures.iter().map(|f| f.rss_kib).max().unwrap_or(0);
        let max_p99 = figures.iter().map(|f| f.p99).max().unwrap_or_default();
        eprintln!(
            "{service:<12} {:>6.1} → {:>6.1} ({:>6.1}) MiB   {:>6.1} → {:>6.1} ({:>6.1}) ms   {:>7}  {:>6}",
            first.rss_kib as f64 / 1024.0,
            last.rss_kib as f64 / 1024.0,
            max_rss as f64 / 1024.0,
            first.p99.as_secs_f64() * 1000.0,
            last.p99.as_secs_f64() * 1000.0,
            max_p99.as_secs_f64() * 1000.0,
            figures.iter().map(|f| f.calls).sum::<usize>(),
            figures.iter().map(|f| f.failures).sum::<u64>(),
        );
    }
    for (_, mut served) in served {
        let _ = served.child.kill().await;
    }
}
