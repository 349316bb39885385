//! `qiancheng load`: the request path measured side by side, from a separate process.
//!
//! It starts `qiancheng serve demand` as a child process on a fresh database (a SQLite file, or
//! a new database on the PostgreSQL server of `--database-url`), seeds realistic data through
//! the API, and drives chosen RPCs over raw gRPC frames at a given concurrency (connections ×
//! streams, as `h2load -c -m` does), printing calls/s, p50 and p99 and the server's resident
//! memory. `grpc.health.v1.Health/Check` on the same server in the same run is the baseline,
//! and each call's ratio to it is printed beside it. For writes the ceiling is plain sqlx on a
//! fresh database of the same kind: the same rows and their audit entries inserted one
//! transaction a row (for CreateVacancy), or in multi-row batches (for the bulk import); for reads
//! it is plain sqlx on the service's own database, from this process: the vacancy's row (with
//! its enterprise's name and industry) by id, and a page of 50 rows decoded into the values the
//! service would show.
//! Nothing is asserted: the figures are for a person to read (`docs/PERFORMANCE.md`).

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Args;
use prost::Message as _;
use qiancheng_api::codec::RawCodec;
use qiancheng_api::demand::*;
use qiancheng_api::types::{Date, Industry, SkillLevel};
use qiancheng_platform::auth::{Role, TokenMinter};
use sqlx::{AssertSqlSafe, Connection as _};
use tokio::io::AsyncBufReadExt as _;
use tonic::transport::Channel;

/// What `qiancheng load` runs.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// PostgreSQL server URL (`postgres://user@host/db`) to make a fresh database on; SQLite
    /// when absent.
    #[arg(long)]
    database_url: Option<String>,
    /// Connections to the server.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Calls in flight on each connection.
    #[arg(long, default_value_t = 4)]
    streams: usize,
    /// Calls of each read scenario.
    #[arg(long, default_value_t = 20_000)]
    calls: usize,
    /// Calls of each write scenario.
    #[arg(long, default_value_t = 4_000)]
    writes: usize,
    /// Rows of the bulk import.
    #[arg(long, default_value_t = 5_000)]
    import_rows: usize,
    /// Vacancies seeded before the reads.
    #[arg(long, default_value_t = 1_000)]
    seed: usize,
    /// Scenarios to run (health, get, get-missing, list, create, import); all by default.
    #[arg(long = "scenario", value_delimiter = ',')]
    scenarios: Vec<String>,
    /// Another `qiancheng` binary to put under load (an earlier build, for a before/after
    /// comparison); this binary by default.
    #[arg(long)]
    server_binary: Option<PathBuf>,
}

/// One measured run.
#[derive(Debug, Clone)]
struct Figures {
    name: String,
    calls: usize,
    failures: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Figures {
    fn per_second(&self) -> f64 {
        self.calls as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
    fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let index = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[index.min(self.latencies.len() - 1)]
    }
}

/// One unary call with raw bytes.
async fn call(channel: Channel, path: &'static str, token: &str, body: Bytes) -> Result<Bytes, tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    let mut request = tonic::Request::new(body);
    if !token.is_empty() {
        let value = format!("Bearer {token}").parse().map_err(|_| tonic::Status::internal("token"))?;
        request.metadata_mut().insert("authorization", value);
    }
    let path = http::uri::PathAndQuery::from_static(path);
    grpc.unary(request, path, RawCodec).await.map(tonic::Response::into_inner)
}

/// Drives `calls` calls of `make(i)` at `connections × streams` in flight and measures them.
async fn drive(
    name: &str,
    channels: &[Channel],
    streams: usize,
    calls: usize,
    path: &'static str,
    token: &str,
    make: Arc<dyn Fn(usize) -> Bytes + Send + Sync>,
) -> Figures {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for channel in channels {
        for _ in 0..streams {
            let (channel, next, make, token) = (channel.clone(), next.clone(), make.clone(), token.to_owned());
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut failures = 0usize;
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= calls {
                        break;
                    }
                    let body = make(i);
                    let t = Instant::now();
                    let outcome = call(channel.clone(), path, &token, body).await;
                    latencies.push(t.elapsed());
                    if outcome.is_err() {
                        failures += 1;
                    }
                }
                (latencies, failures)
            }));
        }
    }
    let mut latencies = Vec::with_capacity(calls);
    let mut failures = 0;
    for task in tasks {
        if let Ok((l, f)) = task.await {
            latencies.extend(l);
            failures += f;
        }
    }
    let elapsed = started.elapsed();
    latencies.sort();
    Figures { name: name.to_owned(), calls, failures, elapsed, latencies }
}

fn vacancy(code: &str, i: usize) -> Vacancy {
    const COUNTIES: [&str; 6] = ["421202", "421221", "421222", "421223", "421224", "421281"];
    const OCCUPATIONS: [&str; 4] = ["6-18-02-04", "6-18-01-01", "4-10-01-01", "6-05-01-01"];
    Vacancy {
        enterprise_credit_code: code.to_owned(),
        post: format!("岗位{i}"),
        occupation_code: OCCUPATIONS[i % OCCUPATIONS.len()].to_owned(),
        occupation_name: "焊工".to_owned(),
        skill_level: [SkillLevel::SkillLevel5, SkillLevel::SkillLevel4, SkillLevel::SkillLevel3][i % 3] as i32,
        headcount: i32::try_from(1 + i % 20).unwrap_or(1),
        pay_min_fen: 300_000,
        pay_max_fen: 300_000 + i64::try_from(i % 50).unwrap_or(0) * 10_000,
        requirements: "持证优先".to_owned(),
        work_region_code: COUNTIES[i % COUNTIES.len()].to_owned(),
        needed_by: Some(Date { year: 2030, month: 1, day: 1 }),
        survey_method: SurveyMethod::OnlinePlatform as i32,
        ..Default::default()
    }
}

/// A valid credit code from its first 17 characters.
fn uscc(first17: &str) -> String {
    "0123456789ABCDEFGHJKLMNPQRTUWXY"
        .chars()
        .map(|c| format!("{first17}{c}"))
        .find(|code| qiancheng_domain::Uscc::parse(code).is_ok())
        .unwrap_or_default()
}

/// The server under load: a child process.
struct Server {
    child: tokio::process::Child,
    addr: String,
}

impl Server {
    /// Starts `qiancheng serve demand` on `database_url` and waits for the address it bound.
    /// Another binary (an earlier build) gets a port chosen here, and is waited for by its
    /// health check.
    async fn start(database_url: &str, minter: &TokenMinter, binary: Option<&std::path::Path>) -> Result<Self, String> {
        let exe = match binary {
            Some(path) => path.to_path_buf(),
            None => std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?,
        };
        let bind = if binary.is_some() {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
            probe.local_addr().map_err(|e| e.to_string())?.to_string()
        } else {
            "127.0.0.1:0".to_owned()
        };
        let mut data_key = [0u8; 32];
        getrandom::getrandom(&mut data_key).map_err(|e| e.to_string())?;
        let mut child = tokio::process::Command::new(exe)
            .args(["serve", "demand"])
            .env("QIANCHENG_BIND_ADDR", &bind)
            .env("QIANCHENG_DATABASE_URL", database_url)
            .env("QIANCHENG_AUTH_PUBLIC_KEYS", minter.public_key_base64())
            .env("QIANCHENG_DATA_KEY", base64_encode(&data_key))
            .env("QIANCHENG_LOG_FORMAT", "json")
            .env("QIANCHENG_CONCURRENCY_LIMIT", "4096")
            .env("RUST_LOG", "warn,qiancheng_qiancheng=info,qiancheng::services=info")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start the server: {e}"))?;
        let stdout = child.stdout.take().ok_or("no server output")?;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        if binary.is_some() {
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let health = tonic_health::pb::HealthCheckRequest { service: String::new() };
                if let Ok(channel) =
                    Channel::from_shared(format!("http://{bind}")).map_err(|e| e.to_string())?.connect().await
                    && tonic_health::pb::health_client::HealthClient::new(channel).check(health).await.is_ok()
                {
                    return Ok(Self { child, addr: bind });
                }
                if Instant::now() > deadline {
                    return Err("the server did not become healthy".to_owned());
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        let addr = tokio::time::timeout(Duration::from_secs(60), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Ok(value) = serde_json::from_str::<serde_json::Value>(&line)
                    && value.get("message").and_then(|m| m.as_str()) == Some("serving")
                    && let Some(addr) = value.get("addr").and_then(|a| a.as_str())
                {
                    return Some(addr.to_owned());
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .ok_or("the server did not say where it serves")?;
        // Keep reading its output so that it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Self { child, addr })
    }

    /// The server's resident memory now and at its peak, KiB.
    fn memory_kib(&self) -> (u64, u64) {
        let Some(pid) = self.child.id() else { return (0, 0) };
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A fresh database of the kind asked for; the SQLite file lives in `dir`, the name of a
/// PostgreSQL database made is added to `made`.
async fn fresh_database(
    server_url: Option<&str>,
    dir: &std::path::Path,
    name: &str,
    made: &mut Vec<String>,
) -> Result<String, String> {
    match server_url {
        None => Ok(format!("sqlite://{}?mode=rwc", dir.join(format!("{name}.db")).display())),
        Some(url) => {
            let db = format!("qc_load_{name}_{}", ulid::Ulid::new().to_string().to_lowercase());
            let mut admin = sqlx::PgConnection::connect(url).await.map_err(|e| format!("{e}"))?;
            sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {db}")))
                .execute(&mut admin)
                .await
                .map_err(|e| format!("{e}"))?;
            made.push(db.clone());
            let base = url.rsplit_once('/').map_or(url, |(base, _)| base);
            Ok(format!("{base}/{db}"))
        }
    }
}

/// Runs the harness and prints its table; the PostgreSQL databases it made are dropped after,
/// whether it finished or failed.
pub async fn run(args: LoadArgs) -> Result<(), String> {
    let mut made = Vec::new();
    let result = measure(&args, &mut made).await;
    if let Some(url) = args.database_url.as_deref() {
        match sqlx::PgConnection::connect(url).await {
            Ok(mut admin) => {
                for db in &made {
                    let dropped = sqlx::query(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")))
                        .execute(&mut admin);
                    if let Err(error) = dropped.await {
                        eprintln!("qiancheng load: could not drop the database {db}: {error}");
                    }
                }
            }
            Err(error) => eprintln!("qiancheng load: could not drop the databases {made:?}: {error}"),
        }
    }
    result
}

/// Measures every scenario asked for and prints the tables.
async fn measure(args: &LoadArgs, made: &mut Vec<String>) -> Result<(), String> {
    let all = ["health", "get", "get-missing", "list", "create", "import"];
    let wanted: Vec<&str> =
        if args.scenarios.is_empty() { all.to_vec() } else { args.scenarios.iter().map(String::as_str).collect() };
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let backend = if args.database_url.is_some() { "PostgreSQL" } else { "SQLite" };
    let minter = TokenMinter::generate().map_err(|e| e.to_string())?;
    let admin = minter.mint("load-admin", &[Role::CityAdmin], Some("421200"), None, 3600).map_err(|e| e.to_string())?;
    let url = fresh_database(args.database_url.as_deref(), dir.path(), "service", made).await?;
    let server = Server::start(&url, &minter, args.server_binary.as_deref()).await?;
    let mut channels = Vec::new();
    for _ in 0..args.connections.max(1) {
        let channel = Channel::from_shared(format!("http://{}", server.addr))
            .map_err(|e| e.to_string())?
            .tcp_nodelay(true)
            .connect()
            .await
            .map_err(|e| format!("cannot reach the server: {e}"))?;
        channels.push(channel);
    }
    let in_flight = args.connections.max(1) * args.streams.max(1);
    println!(
        "qiancheng load: demand on {backend}, {} connections × {} streams = {in_flight} calls in flight",
        args.connections, args.streams
    );

    // Seed: an enterprise and published vacancies.
    let credit_code = uscc("91421221MA4L0AD01");
    let enterprise = CreateEnterpriseRequest {
        enterprise: Some(Enterprise {
            credit_code: credit_code.clone(),
            display_name: "咸宁负载测试装备有限公司".to_owned(),
            region_code: "421221".to_owned(),
            industry: Industry::EquipmentManufacturing as i32,
            ..Default::default()
        }),
        request_id: String::new(),
    };
    call(
        channels[0].clone(),
        "/qiancheng.demand.v1.DemandService/CreateEnterprise",
        &admin,
        enterprise.encode_to_vec().into(),
    )
    .await
    .map_err(|e| format!("seeding the enterprise: {}", e.message()))?;
    let mut names = Vec::with_capacity(args.seed);
    for i in 0..args.seed {
        let request = CreateVacancyRequest { vacancy: Some(vacancy(&credit_code, i)), request_id: String::new() };
        let reply = call(
            channels[i % channels.len()].clone(),
            "/qiancheng.demand.v1.DemandService/CreateVacancy",
            &admin,
            request.encode_to_vec().into(),
        )
        .await
        .map_err(|e| format!("seeding vacancies: {}", e.message()))?;
        let name =
            CreateVacancyResponse::decode(reply).ok().and_then(|r| r.vacancy).map(|v| v.name).unwrap_or_default();
        let publish = PublishVacancyRequest { name: name.clone(), ..Default::default() };
        call(
            channels[0].clone(),
            "/qiancheng.demand.v1.DemandService/PublishVacancy",
            &admin,
            publish.encode_to_vec().into(),
        )
        .await
        .map_err(|e| format!("publishing: {}", e.message()))?;
        names.push(name);
    }
    println!("seeded 1 enterprise and {} published vacancies", names.len());

    let mut rows: Vec<(Figures, Option<&str>)> = Vec::new();
    let health: Bytes = tonic_health::pb::HealthCheckRequest { service: String::new() }.encode_to_vec().into();
    let baseline = drive(
        "grpc.health.v1.Health/Check",
        &channels,
        args.streams,
        args.calls,
        "/grpc.health.v1.Health/Check",
        "",
        Arc::new(move |_| health.clone()),
    )
    .await;
    for scenario in &wanted {
        let names = Arc::new(names.clone());
        let figures = match *scenario {
            "get" => {
                let names = names.clone();
                drive(
                    "GetVacancy (found)",
                    &channels,
                    args.streams,
                    args.calls,
                    "/qiancheng.demand.v1.DemandService/GetVacancy",
                    &admin,
                    Arc::new(move |i| {
                        GetVacancyRequest { name: names[i % names.len()].clone() }.encode_to_vec().into()
                    }),
                )
                .await
            }
            "get-missing" => {
                drive(
                    "GetVacancy (not found)",
                    &channels,
                    args.streams,
                    args.calls,
                    "/qiancheng.demand.v1.DemandService/GetVacancy",
                    &admin,
                    Arc::new(|i| GetVacancyRequest { name: format!("vacancies/missing{i}") }.encode_to_vec().into()),
                )
                .await
            }
            "list" => {
                drive(
                    "ListVacancies (50 a page)",
                    &channels,
                    args.streams,
                    args.calls / 4,
                    "/qiancheng.demand.v1.DemandService/ListVacancies",
                    &admin,
                    Arc::new(|_| ListVacanciesRequest { page_size: 50, ..Default::default() }.encode_to_vec().into()),
                )
                .await
            }
            "create" => {
                let code = credit_code.clone();
                drive(
                    "CreateVacancy",
                    &channels,
                    args.streams,
                    args.writes,
                    "/qiancheng.demand.v1.DemandService/CreateVacancy",
                    &admin,
                    Arc::new(move |i| {
                        CreateVacancyRequest { vacancy: Some(vacancy(&code, i)), request_id: format!("load-{i}") }
                            .encode_to_vec()
                            .into()
                    }),
                )
                .await
            }
            "import" => import(&channels[0], &admin, &credit_code, args.import_rows).await,
            _ => continue,
        };
        let target = match *scenario {
            "get" | "get-missing" => Some("≥ 60% of Health/Check, p99 ≤ 2×"),
            "list" => Some("≥ 20% of Health/Check on SQLite, ≥ 10% on PostgreSQL"),
            _ => None,
        };
        rows.push((figures, target));
    }
    let (rss, peak) = server.memory_kib();

    println!();
    println!(
        "| call | calls | failed | calls/s | p50 ms | p99 ms | vs Health/Check calls/s | p99 vs Health/Check | target |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---|");
    let line = |f: &Figures, target: Option<&str>| {
        println!(
            "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.0}% | {:.1}× | {} |",
            f.name,
            f.calls,
            f.failures,
            f.per_second(),
            f.percentile(0.5).as_secs_f64() * 1000.0,
            f.percentile(0.99).as_secs_f64() * 1000.0,
            100.0 * f.per_second() / baseline.per_second(),
            f.percentile(0.99).as_secs_f64() / baseline.percentile(0.99).as_secs_f64().max(1e-9),
            target.unwrap_or(""),
        );
    };
    line(&baseline, Some("baseline"));
    for (figures, target) in &rows {
        line(figures, *target);
    }
    println!("\nserver memory: {} MiB resident now, {} MiB at its peak", rss / 1024, peak / 1024);

    // Read ceilings: plain sqlx on the service's own database, from this process.
    let reads: Vec<&Figures> = rows
        .iter()
        .map(|(f, _)| f)
        .filter(|f| f.name.starts_with("GetVacancy (found)") || f.name.starts_with("ListVacancies"))
        .collect();
    if !reads.is_empty() {
        let ids: Vec<String> = names.iter().filter_map(|n| n.strip_prefix("vacancies/").map(str::to_owned)).collect();
        let reader = ceiling::Reader::open(&url).await?;
        println!("\n| read | ours calls/s | plain sqlx ceiling | ours ÷ ceiling | target |");
        println!("|---|---:|---:|---:|---|");
        for ours in reads {
            let (what, plain, target) = if ours.name.starts_with("GetVacancy") {
                ("GetVacancy vs SELECT one row by id", reader.point_reads(&ids, in_flight, args.calls).await?, "≥ 70%")
            } else {
                ("ListVacancies vs SELECT a page of 50 rows", reader.pages(in_flight, args.calls / 4).await?, "≥ 50%")
            };
            println!(
                "| {what}, {in_flight} readers | {:.0} | {:.0} | {:.0}% | {target} |",
                ours.per_second(),
                plain,
                100.0 * ours.per_second() / plain
            );
        }
    }

    // Ceilings: plain sqlx on a fresh database of the same kind.
    if wanted.contains(&"create") || wanted.contains(&"import") {
        let ceiling_url = fresh_database(args.database_url.as_deref(), dir.path(), "ceiling", made).await?;
        let ceiling = ceiling::Ceiling::open(&ceiling_url, &credit_code).await?;
        println!("\n| write | ours calls/s or rows/s | plain sqlx ceiling | ours ÷ ceiling | target |");
        println!("|---|---:|---:|---:|---|");
        if let Some((ours, _)) = rows.iter().find(|(f, _)| f.name == "CreateVacancy") {
            let plain = ceiling.one_row_per_transaction(in_flight, args.writes).await?;
            println!(
                "| CreateVacancy vs INSERT row + audit row, one transaction each, {in_flight} writers | {:.0} | {:.0} | {:.0}% | ≥ 50% |",
                ours.per_second(),
                plain,
                100.0 * ours.per_second() / plain
            );
        }
        if let Some((ours, _)) = rows.iter().find(|(f, _)| f.name.starts_with("ImportVacancies")) {
            let plain = ceiling.batched(args.import_rows).await?;
            let ours_rows = args.import_rows as f64 / ours.elapsed.as_secs_f64().max(1e-9);
            println!(
                "| ImportVacancies {} rows vs batched INSERTs of the rows, their revisions, audit and idempotency rows | {:.0} | {:.0} | {:.0}% | ≥ 50% |",
                args.import_rows,
                ours_rows,
                plain,
                100.0 * ours_rows / plain
            );
        }
    }
    Ok(())
}

/// Imports `rows` vacancies through ImportVacancies (one client stream, answered once) and
/// measures the whole stream.
async fn import(channel: &Channel, token: &str, credit_code: &str, rows: usize) -> Figures {
    use qiancheng_api::demand::demand_service_client::DemandServiceClient;
    let mut client = DemandServiceClient::new(channel.clone()).max_decoding_message_size(64 << 20);
    let requests: Vec<ImportVacanciesRequest> = (0..rows)
        .map(|i| ImportVacanciesRequest {
            vacancy: Some(vacancy(credit_code, i)),
            row_ref: format!("R{i}"),
            request_id: format!("import-{i}"),
        })
        .collect();
    let mut request = tonic::Request::new(tokio_stream::iter(requests));
    if let Ok(value) = format!("Bearer {token}").parse() {
        request.metadata_mut().insert("authorization", value);
    }
    let started = Instant::now();
    let failures = match client.import_vacancies(request).await {
        Ok(response) => rows.saturating_sub(usize::try_from(response.into_inner().imported).unwrap_or(0)),
        Err(_) => rows,
    };
    let elapsed = started.elapsed();
    Figures {
        name: format!("ImportVacancies ({rows} rows, one stream)"),
        calls: 1,
        failures,
        elapsed,
        latencies: vec![elapsed],
    }
}

mod ceiling {
    //! Plain sqlx, the ceiling of the write path: the rows the service would write, without
    //! validation, idempotency lookups, audit chaining or the gRPC path.

    use std::sync::Arc;
    use std::time::Instant;

    use sqlx::AnyPool;
    use sqlx::any::AnyPoolOptions;

    pub struct Ceiling {
        pool: AnyPool,
        credit_code: String,
    }

    impl Ceiling {
        /// A fresh database with the demand service's tables and one enterprise.
        pub async fn open(url: &str, credit_code: &str) -> Result<Self, String> {
            let db = qiancheng_platform::db::Db::connect(url, None, &qiancheng_demand::MIGRATOR)
                .await
                .map_err(|e| e.report())?;
            db.close().await;
            sqlx::any::install_default_drivers();
            let pool = AnyPoolOptions::new()
                .max_connections(16)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        if conn.backend_name() == "SQLite" {
                            sqlx::Executor::execute(&mut *conn, "PRAGMA journal_mode = WAL").await?;
                            sqlx::Executor::execute(&mut *conn, "PRAGMA busy_timeout = 10000").await?;
                        }
                        Ok(())
                    })
                })
                .connect(url)
                .await
                .map_err(|e| e.to_string())?;
            sqlx::query(
                "INSERT INTO enterprise (credit_code, display_name, region_code, industry, key_project, \
                 key_project_name, expected_production_date, revision, create_time_micros, update_time_micros, created_by) \
                 VALUES ($1, 'x', '421221', 'EQUIPMENT_MANUFACTURING', 0, '', NULL, 1, 0, 0, 'load')",
            )
            .bind(credit_code)
            .execute(&pool)
            .await
            .map_err(|e| e.to_string())?;
            Ok(Self { pool, credit_code: credit_code.to_owned() })
        }

        /// Rows a second: each vacancy row and one audit row in a transaction of their own, from
        /// `writers` writers at once.
        pub async fn one_row_per_transaction(&self, writers: usize, rows: usize) -> Result<f64, String> {
            let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let started = Instant::now();
            let mut tasks = Vec::new();
            for writer in 0..writers {
                let (pool, next, code) = (self.pool.clone(), next.clone(), self.credit_code.clone());
                tasks.push(tokio::spawn(async move {
                    let mut seq = 0i64;
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= rows {
                            return Ok::<(), sqlx::Error>(());
                        }
                        seq += 1;
                        let mut tx = pool.begin().await?;
                        insert_vacancy(&mut tx, &code, i).await?;
                        // A chain of its own per writer, so that the ceiling waits on nothing.
                        insert_audit(&mut tx, 1000 + i64::try_from(writer).unwrap_or(0), seq, i).await?;
                        tx.commit().await?;
                    }
                }));
            }
            for task in tasks {
                task.await.map_err(|e| e.to_string())?.map_err(|e| e.to_string())?;
            }
            Ok(rows as f64 / started.elapsed().as_secs_f64())
        }

        /// Rows a second: the rows, their revisions, audit and idempotency rows inserted with
        /// multi-row INSERTs (1,000 parameters a statement), one transaction per 200 rows.
        pub async fn batched(&self, rows: usize) -> Result<f64, String> {
            use qiancheng_platform::db::insert_many;
            let started = Instant::now();
            let mut seq = 0i64;
            let snapshot = "{\"snapshot\":\"the row as created: about 600 bytes of JSON in the service\"}".repeat(8);
            for chunk in (0..rows).collect::<Vec<_>>().chunks(200) {
                let ids: Vec<String> = chunk.iter().map(|i| format!("b{i:08}")).collect();
                let posts: Vec<String> = chunk.iter().map(|i| format!("岗位{i}")).collect();
                let resources: Vec<String> = ids.iter().map(|id| format!("vacancies/{id}")).collect();
                let keys: Vec<String> = chunk.iter().map(|i| format!("{i:064}")).collect();
                let seqs: Vec<i64> = chunk
                    .iter()
                    .map(|_| {
                        seq += 1;
                        seq
                    })
                    .collect();
                let hash = "0".repeat(64);
                let mut tx = self.pool.begin().await.map_err(|e| e.to_string())?;
                let code = self.credit_code.as_str();
                let columns = "id, enterprise_credit_code, region_code, post, occupation_code, occupation_name, \
                    skill_level, headcount, pay_min_fen, pay_max_fen, requirements, work_region_code, needed_by, \
                    survey_method, state, revision, create_time_micros, update_time_micros";
                let vacancies: Vec<(&String, &String)> = ids.iter().zip(&posts).collect();
                insert_many(&mut tx, "vacancy", columns, 18, &vacancies, |q, (id, post)| {
                    q.bind(id.as_str())
                        .bind(code)
                        .bind("421221")
                        .bind(post.as_str())
                        .bind("6-18-02-04")
                        .bind("焊工")
                        .bind("FOUR")
                        .bind(10_i64)
                        .bind(300_000_i64)
                        .bind(400_000_i64)
                        .bind("持证优先")
                        .bind("421221")
                        .bind("2030-01-01")
                        .bind("ONLINE_PLATFORM")
                        .bind("DRAFT")
                        .bind(1_i64)
                        .bind(0_i64)
                        .bind(0_i64)
                })
                .await
                .map_err(|e| e.report())?;
                insert_many(
                    &mut tx,
                    "vacancy_revision",
                    "vacancy_id, revision, action, reason, actor, snapshot, time_micros",
                    7,
                    &ids,
                    |q, id| {
                        q.bind(id.as_str())
                            .bind(1_i64)
                            .bind("create")
                            .bind("")
                            .bind("load")
                            .bind(snapshot.as_str())
                            .bind(0_i64)
                    },
                )
                .await
                .map_err(|e| e.report())?;
                let audit: Vec<(&String, &i64)> = resources.iter().zip(&seqs).collect();
                insert_many(
                    &mut tx,
                    "audit_log",
                    "chain, seq, at_micros, actor, action, resource, detail, policy_version, prev_hash, hash",
                    10,
                    &audit,
                    |q, (resource, seq)| {
                        q.bind(2000_i64)
                            .bind(**seq)
                            .bind(0_i64)
                            .bind("load")
                            .bind("vacancy.create")
                            .bind(resource.as_str())
                            .bind("{\"revision\":1}")
                            .bind("xianning-2025-5/v2")
                            .bind(hash.as_str())
                            .bind(hash.as_str())
                    },
                )
                .await
                .map_err(|e| e.report())?;
                insert_many(
                    &mut tx,
                    "idempotency",
                    "caller, method, request_id, request_hash, response, created_micros",
                    6,
                    &keys,
                    |q, key| {
                        q.bind("load")
                            .bind("ImportVacancies")
                            .bind(key.as_str())
                            .bind(hash.as_str())
                            .bind(snapshot.as_str())
                            .bind(0_i64)
                    },
                )
                .await
                .map_err(|e| e.report())?;
                tx.commit().await.map_err(|e| e.to_string())?;
            }
            Ok(rows as f64 / started.elapsed().as_secs_f64())
        }
    }

    /// Plain sqlx reading the service's database: the ceiling of the read path.
    pub struct Reader {
        pool: AnyPool,
    }

    /// What a vacancy read selects: its row and its enterprise's name and industry.
    const VACANCY: &str = "SELECT v.id, v.enterprise_credit_code, e.display_name, v.region_code, e.industry, v.post, \
        v.occupation_code, v.occupation_name, v.skill_level, v.headcount, v.pay_min_fen, v.pay_max_fen, v.requirements, \
        v.work_region_code, v.needed_by, v.survey_method, v.state, v.revision, v.create_time_micros, v.update_time_micros \
        FROM vacancy v JOIN enterprise e ON e.credit_code = v.enterprise_credit_code";

    /// A row as values, the way any reader would take it (text and integers, no domain types).
    fn take(row: &sqlx::any::AnyRow) -> Result<(String, i64), sqlx::Error> {
        use sqlx::Row as _;
        let mut text = String::new();
        let mut sum = 0i64;
        for at in [0usize, 1, 2, 3, 4, 5, 6, 7, 8, 12, 13, 14, 15, 16] {
            text.push_str(row.try_get::<&str, _>(at)?);
        }
        for at in [9usize, 10, 11, 17, 18, 19] {
            sum = sum.wrapping_add(row.try_get::<i64, _>(at)?);
        }
        Ok((text, sum))
    }

    impl Reader {
        /// A pool on the service's database.
        pub async fn open(url: &str) -> Result<Self, String> {
            sqlx::any::install_default_drivers();
            let pool = AnyPoolOptions::new().max_connections(16).connect(url).await.map_err(|e| e.to_string())?;
            Ok(Self { pool })
        }

        async fn run(
            &self,
            readers: usize,
            calls: usize,
            read: impl Fn(AnyPool, usize) -> futures_like::BoxRead + Send + Sync + 'static,
        ) -> Result<f64, String> {
            let read = Arc::new(read);
            let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let started = Instant::now();
            let mut tasks = Vec::new();
            for _ in 0..readers {
                let (pool, next, read) = (self.pool.clone(), next.clone(), read.clone());
                tasks.push(tokio::spawn(async move {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= calls {
                            return Ok::<(), sqlx::Error>(());
                        }
                        read(pool.clone(), i).await?;
                    }
                }));
            }
            for task in tasks {
                task.await.map_err(|e| e.to_string())?.map_err(|e| e.to_string())?;
            }
            Ok(calls as f64 / started.elapsed().as_secs_f64())
        }

        /// Reads a second: one vacancy by id, `readers` at once.
        pub async fn point_reads(&self, ids: &[String], readers: usize, calls: usize) -> Result<f64, String> {
            let ids = Arc::new(ids.to_vec());
            self.run(readers, calls, move |pool, i| {
                let id = ids[i % ids.len().max(1)].clone();
                Box::pin(async move {
                    let sql = format!("{VACANCY} WHERE v.id = $1");
                    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_one(&pool).await?;
                    take(&row).map(|_| ())
                })
            })
            .await
        }

        /// Pages a second: the first 51 vacancies by id (a page of 50 and one to know there is
        /// more), every row taken, `readers` at once.
        pub async fn pages(&self, readers: usize, calls: usize) -> Result<f64, String> {
            self.run(readers, calls, |pool, _| {
                Box::pin(async move {
                    let sql = format!("{VACANCY} ORDER BY v.id LIMIT 51");
                    for row in sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&pool).await? {
                        take(&row)?;
                    }
                    Ok(())
                })
            })
            .await
        }
    }

    mod futures_like {
        /// One read of the ceiling.
        pub type BoxRead = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), sqlx::Error>> + Send>>;
    }

    async fn insert_vacancy(
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        code: &str,
        i: usize,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO vacancy (id, enterprise_credit_code, region_code, post, occupation_code, occupation_name, \
             skill_level, headcount, pay_min_fen, pay_max_fen, requirements, work_region_code, needed_by, survey_method, \
             state, revision, create_time_micros, update_time_micros) \
             VALUES ($1, $2, '421221', $3, '6-18-02-04', '焊工', 'FOUR', 10, 300000, 400000, '持证优先', '421221', \
             '2030-01-01', 'ONLINE_PLATFORM', 'DRAFT', 1, 0, 0)",
        )
        .bind(format!("c{i:08}"))
        .bind(code)
        .bind(format!("岗位{i}"))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn insert_audit(
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        chain: i64,
        seq: i64,
        i: usize,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO audit_log (chain, seq, at_micros, actor, action, resource, detail, policy_version, prev_hash, hash) \
             VALUES ($1, $2, 0, 'load', 'vacancy.create', $3, '{\"revision\":1}', 'xianning-2025-5/v2', $4, $4)",
        )
        .bind(chain)
        .bind(seq)
        .bind(format!("vacancies/c{i:08}"))
        .bind("0".repeat(64))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}
