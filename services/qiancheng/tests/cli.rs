//! The `qiancheng` binary as a newcomer and an operator use it: as separate processes, against a
//! SQLite data folder or a PostgreSQL database, talking gRPC over loopback. Every server here
//! listens on port 0 and says which port it got; no test picks a port and hopes it stays free.

mod process;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use qiancheng_api::demand::demand_service_client::DemandServiceClient;
use qiancheng_api::demand::{
    CreateEnterpriseRequest, Enterprise, GetEnterpriseRequest, GetVacancyRequest, ListPublishedVacanciesRequest,
};
use qiancheng_api::selection::selection_service_client::SelectionServiceClient;
use qiancheng_api::types::Industry;
use qiancheng_testkit::{Backend, TestDatabase, authed, fixtures};
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};

use crate::process::Running;

const BIN: &str = env!("CARGO_BIN_EXE_qiancheng");
const DATA_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

fn qiancheng(dir: &Path) -> Command {
    let mut command = Command::new(BIN);
    command
        .current_dir(dir)
        .env_remove("QIANCHENG_DATABASE_URL")
        .env_remove("QIANCHENG_DATA_DIR")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT");
    command
}

async fn health(addr: &str) -> Option<i32> {
    let channel =
        tonic::transport::Endpoint::from_shared(format!("http://{addr}")).expect("uri").connect().await.ok()?;
    let status = HealthClient::new(channel).check(HealthCheckRequest { service: String::new() }).await.ok()?;
    Some(status.into_inner().status)
}

async fn wait_health(addr: &str, wanted: ServingStatus) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while health(addr).await != Some(wanted as i32) {
        assert!(Instant::now() < deadline, "{addr} never became {}", wanted.as_str_name());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn channel(addr: &str) -> tonic::transport::Channel {
    tonic::transport::Endpoint::from_shared(format!("http://{addr}")).expect("uri").connect().await.expect("connect")
}

/// Mints a token with the key in `key_file` (made if missing) and returns it.
fn mint(dir: &Path, key_file: &Path, args: &[&str]) -> String {
    let minted = qiancheng(dir)
        .arg("token")
        .args(args)
        .arg("--key-file")
        .arg(key_file)
        .arg("--create-key")
        .output()
        .expect("mint");
    assert!(minted.status.success(), "{}", String::from_utf8_lossy(&minted.stderr));
    String::from_utf8(minted.stdout).expect("utf-8").trim().to_owned()
}

/// The public half of a key file, as `qiancheng public-key` prints it.
fn public_key(dir: &Path, key_file: &Path) -> String {
    let output = qiancheng(dir).args(["public-key", "--key-file"]).arg(key_file).output().expect("public-key");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("utf-8").trim().to_owned()
}

/// `qiancheng serve <service>` on port 0 with `env`, JSON logs; returns it with the address it
/// says it bound.
async fn serve(dir: &Path, service: &str, env: &[(&str, String)]) -> (Running, String) {
    let mut command = qiancheng(dir);
    command
        .args(["serve", service])
        .env("QIANCHENG_BIND_ADDR", "127.0.0.1:0")
        .env("QIANCHENG_DATA_KEY", DATA_KEY)
        .env("QIANCHENG_LOG_FORMAT", "json");
    for (key, value) in env {
        command.env(key, value);
    }
    let mut running = Running::spawn(&mut command);
    let addr = running.logged("serving", "addr").await;
    assert!(!addr.ends_with(":0"), "serve logs the port it really bound, not {addr}");
    (running, addr)
}

#[tokio::test]
async fn dev_runs_the_suite_prints_endpoints_and_a_token_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut dev = Running::spawn(qiancheng(dir.path()).args(["dev", "--base-port", "0"]));
    dev.wait_for("the Ctrl-C hint", |l| l.starts_with("Press Ctrl-C")).await;
    let lines = dev.lines();
    let endpoint_of = |service: &str| {
        lines
            .iter()
            .find_map(|l| {
                l.trim().strip_prefix(service).map(|rest| rest.split_whitespace().next().expect("addr").to_owned())
            })
            .unwrap_or_else(|| panic!("the {service} endpoint is printed"))
    };
    let endpoint = endpoint_of("demand");
    let admin = endpoint_of("admin").trim_start_matches("http://").trim_end_matches("/metrics").to_owned();
    let token_line = lines.iter().position(|l| l.starts_with("Administrator token")).expect("a token is printed");
    let token = lines[token_line + 1].trim().to_owned();
    wait_health(&endpoint, ServingStatus::Serving).await;

    let mut client = DemandServiceClient::new(channel(&endpoint).await);
    let denied = client.list_published_vacancies(ListPublishedVacanciesRequest::default()).await.expect_err("no token");
    assert_eq!(denied.code(), tonic::Code::Unauthenticated);
    let code = fixtures::uscc("91421202MA4DEW001");
    client
        .create_enterprise(authed(
            CreateEnterpriseRequest {
                enterprise: Some(Enterprise {
                    credit_code: code.clone(),
                    display_name: "咸安开发企业".into(),
                    region_code: "421202".into(),
                    industry: Industry::HealthCare as i32,
                    ..Default::default()
                }),
                request_id: String::new(),
            },
            &token,
        ))
        .await
        .expect("the printed administrator token works");

    // A token minted by `qiancheng token` in the same folder is accepted too.
    let minted =
        qiancheng(dir.path()).args(["token", "--role", "ENTERPRISE", "--org", &code]).output().expect("mint a token");
    assert!(minted.status.success(), "{}", String::from_utf8_lossy(&minted.stderr));
    let enterprise_token = String::from_utf8(minted.stdout).expect("utf-8").trim().to_owned();
    client
        .get_enterprise(authed(GetEnterpriseRequest { name: format!("enterprises/{code}") }, &enterprise_token))
        .await
        .expect("the enterprise reads itself");

    // In another folder there is no key: `token` says so instead of making one nobody trusts.
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let refused = qiancheng(elsewhere.path())
        .args(["token", "--role", "CITY_ADMIN", "--region", "421200"])
        .output()
        .expect("run");
    assert!(!refused.status.success());
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(why.contains("no signing key") && why.contains("qiancheng dev"), "{why}");
    assert!(!elsewhere.path().join("data/dev-signing.key").exists(), "no key was made behind the user's back");

    // The admin port answers for the whole suite.
    let metrics = http_get(&admin, "/metrics").await;
    assert!(metrics.contains("rpc_server_duration_milliseconds_bucket"), "{metrics}");
    assert!(metrics.contains("rpc_method=\"CreateEnterprise\""), "{metrics}");
    assert!(http_get(&admin, "/readyz").await.contains("ready"));

    let health = qiancheng(dir.path()).args(["health", "--addr", &endpoint]).output().expect("health");
    assert!(health.status.success(), "`qiancheng health` reports SERVING");
    assert_eq!(String::from_utf8_lossy(&health.stdout).trim(), "SERVING");

    let status = dev.terminate().await;
    assert!(status.success(), "dev stops cleanly: {status:?}");
    let after = qiancheng(dir.path()).args(["health", "--addr", &endpoint]).output().expect("health");
    assert!(!after.status.success(), "a stopped service is not healthy");
    assert!(dir.path().join("data/demand.db").exists(), "the SQLite file is under ./data");
}

/// A plain HTTP GET on the admin port.
async fn http_get(addr: &str, path: &str) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut socket = tokio::net::TcpStream::connect(addr).await.expect("admin port");
    socket.write_all(format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\n\r\n").as_bytes()).await.expect("write");
    let mut response = String::new();
    socket.read_to_string(&mut response).await.expect("read");
    response
}

#[test]
fn token_refuses_a_county_officer_without_a_county_and_unknown_roles() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output =
        qiancheng(dir.path()).args(["token", "--create-key", "--role", "COUNTY_OFFICER"]).output().expect("run");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("county"));
    let output = qiancheng(dir.path()).args(["token", "--create-key", "--role", "MAYOR"]).output().expect("run");
    assert!(!output.status.success(), "an unknown role is refused");
    let output = qiancheng(dir.path())
        .args(["token", "--create-key", "--role", "CITY_ADMIN", "--region", "421200", "--ttl-hours", "9999"])
        .output()
        .expect("run");
    assert!(!output.status.success(), "a token no server would trust is not minted");
}

#[test]
fn help_lists_what_serve_reads_and_dev_names_each_service_s_port() {
    let dir = tempfile::tempdir().expect("tempdir");
    let serve_help = qiancheng(dir.path()).args(["serve", "--help"]).output().expect("help");
    let text = String::from_utf8_lossy(&serve_help.stdout);
    for variable in [
        "QIANCHENG_AUTH_PUBLIC_KEYS",
        "QIANCHENG_DATA_KEY",
        "QIANCHENG_PEER_<NAME>_URL",
        "QIANCHENG_ADMIN_ADDR",
        "QIANCHENG_AUTH_LEEWAY_SECS",
        "QIANCHENG_OIDC_JWKS",
        "QIANCHENG_OIDC_ROLE_MAP",
        "QIANCHENG_TLS_CERT_FILE",
        "QIANCHENG_TLS_CLIENT_AUTH",
        "QIANCHENG_TLS_CLIENT_SERVICES",
    ] {
        assert!(text.contains(variable), "serve --help names {variable}:\n{text}");
    }
    let dev_help = qiancheng(dir.path()).args(["dev", "--help"]).output().expect("help");
    let text = String::from_utf8_lossy(&dev_help.stdout);
    for port in ["demand 50051", "outcome 50054", "subsidy 50055"] {
        assert!(text.contains(port), "dev --help names the port of each service ({port}):\n{text}");
    }
}

#[test]
fn public_key_prints_the_key_a_server_trusts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("k.key");
    mint(dir.path(), &key, &["--role", "SERVICE"]);
    let printed = public_key(dir.path(), &key);
    let loaded = qiancheng_platform::auth::TokenMinter::load(&key).expect("key").public_key_base64();
    assert_eq!(printed, loaded);
    let missing = qiancheng(dir.path()).args(["public-key", "--key-file", "nowhere.key"]).output().expect("run");
    assert!(!missing.status.success());
}

#[test]
fn serve_refuses_to_start_without_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = qiancheng(dir.path())
        .args(["serve", "demand"])
        .env_remove("QIANCHENG_AUTH_PUBLIC_KEYS")
        .env_remove("QIANCHENG_DATA_KEY")
        .output()
        .expect("run");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("QIANCHENG_AUTH_PUBLIC_KEYS"));
}

#[test]
fn serve_says_in_one_line_why_it_cannot_reach_its_database_and_never_says_serving() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("issuer.key");
    mint(dir.path(), &key, &["--role", "CITY_ADMIN", "--region", "421200"]);
    let output = qiancheng(dir.path())
        .args(["serve", "demand"])
        .env("QIANCHENG_BIND_ADDR", "127.0.0.1:0")
        .env("QIANCHENG_DATABASE_URL", "postgres://nobody@127.0.0.1:9/none?connect_timeout=2")
        .env("QIANCHENG_DB_MAX_CONNECTIONS", "1")
        .env("QIANCHENG_AUTH_PUBLIC_KEYS", public_key(dir.path(), &key))
        .env("QIANCHENG_DATA_KEY", DATA_KEY)
        .env("QIANCHENG_LOG_FORMAT", "json")
        .output()
        .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let reason: Vec<&str> = stderr.lines().filter(|l| l.starts_with("qiancheng:")).collect();
    assert_eq!(reason.len(), 1, "one line says why: {stderr}");
    assert!(reason[0].contains("cannot open the demand database") && reason[0].contains("127.0.0.1:9"), "{stderr}");
    assert!(!String::from_utf8_lossy(&output.stdout).contains("\"serving\""), "it never claimed to serve");
}

async fn serve_as_its_own_process(backend: Backend) {
    let Some(database) = TestDatabase::create(backend).await else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("signing.key");
    let token = mint(dir.path(), &key, &["--role", "CITY_ADMIN", "--region", "421200"]);
    let (mut demand, addr) = serve(
        dir.path(),
        "demand",
        &[
            ("QIANCHENG_DATABASE_URL", database.url.clone()),
            ("QIANCHENG_AUTH_PUBLIC_KEYS", public_key(dir.path(), &key)),
        ],
    )
    .await;
    wait_health(&addr, ServingStatus::Serving).await;
    let board = DemandServiceClient::new(channel(&addr).await)
        .list_published_vacancies(authed(ListPublishedVacanciesRequest::default(), &token))
        .await
        .expect("an authenticated call");
    assert!(board.into_inner().vacancies.is_empty());
    assert!(demand.terminate().await.success(), "serve drains and exits cleanly on SIGTERM");
}

#[tokio::test]
async fn serve_runs_one_service_as_its_own_process_on_sqlite() {
    serve_as_its_own_process(Backend::Sqlite).await;
}

#[tokio::test]
async fn serve_runs_one_service_as_its_own_process_on_postgres() {
    serve_as_its_own_process(Backend::Postgres).await;
}

/// The production topology on one machine: demand and selection as separate `serve` processes,
/// each on its own database, selection calling demand with a token it signs with its own key,
/// which demand trusts for selection's SERVICE calls only.
async fn two_services_as_their_own_processes(backend: Backend) {
    let (Some(demand_db), Some(selection_db)) =
        (TestDatabase::create(backend).await, TestDatabase::create(backend).await)
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let issuer_key = dir.path().join("issuer.key");
    let selection_key = dir.path().join("selection.key");
    let officer = mint(dir.path(), &issuer_key, &["--role", "COUNTY_OFFICER", "--region", "421221"]);
    let forged_admin = mint(dir.path(), &selection_key, &["--role", "CITY_ADMIN", "--region", "421200"]);
    let issuer_public = public_key(dir.path(), &issuer_key);
    let selection_public = public_key(dir.path(), &selection_key);

    let (mut demand, demand_addr) = serve(
        dir.path(),
        "demand",
        &[
            ("QIANCHENG_DATABASE_URL", demand_db.url.clone()),
            ("QIANCHENG_AUTH_PUBLIC_KEYS", issuer_public.clone()),
            ("QIANCHENG_SERVICE_PUBLIC_KEYS", format!("selection={selection_public}")),
        ],
    )
    .await;
    let (mut selection, selection_addr) = serve(
        dir.path(),
        "selection",
        &[
            ("QIANCHENG_DATABASE_URL", selection_db.url.clone()),
            ("QIANCHENG_AUTH_PUBLIC_KEYS", issuer_public),
            ("QIANCHENG_PEER_DEMAND_URL", format!("http://{demand_addr}")),
            ("QIANCHENG_SERVICE_SIGNING_KEY_FILE", selection_key.display().to_string()),
        ],
    )
    .await;
    wait_health(&demand_addr, ServingStatus::Serving).await;
    wait_health(&selection_addr, ServingStatus::Serving).await;

    fixtures::publish_welding_demand(channel(&demand_addr).await, &officer, "91421221MA4K7Y2G3", "421221", 8).await;
    let drafts = SelectionServiceClient::new(channel(&selection_addr).await)
        .draft_catalog_from_demand(authed(qiancheng_testkit::selection::welding_draft(), &officer))
        .await
        .expect("selection reads demand's summary with its own service token")
        .into_inner();
    assert_eq!(drafts.catalog_items.iter().map(|i| i.headcount).collect::<Vec<_>>(), [8]);

    // Selection's key signs selection's own calls, never a city administrator's.
    let refused = DemandServiceClient::new(channel(&demand_addr).await)
        .list_published_vacancies(authed(ListPublishedVacanciesRequest::default(), &forged_admin))
        .await
        .expect_err("a service key cannot mint a person's role");
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);

    assert!(selection.terminate().await.success());
    assert!(demand.terminate().await.success());
}

#[tokio::test]
async fn two_services_run_as_their_own_processes_on_sqlite() {
    two_services_as_their_own_processes(Backend::Sqlite).await;
}

#[tokio::test]
async fn two_services_run_as_their_own_processes_on_postgres() {
    two_services_as_their_own_processes(Backend::Postgres).await;
}

#[test]
fn selection_refuses_a_peer_without_a_signing_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("issuer.key");
    mint(dir.path(), &key, &["--role", "CITY_ADMIN", "--region", "421200"]);
    let output = qiancheng(dir.path())
        .args(["serve", "selection"])
        .env("QIANCHENG_AUTH_PUBLIC_KEYS", public_key(dir.path(), &key))
        .env("QIANCHENG_DATA_KEY", DATA_KEY)
        .env("QIANCHENG_PEER_DEMAND_URL", "http://127.0.0.1:9")
        .env_remove("QIANCHENG_SERVICE_SIGNING_KEY_FILE")
        .output()
        .expect("run");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("QIANCHENG_SERVICE_SIGNING_KEY_FILE"));
}

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/examples").join(name)
}

#[test]
fn policy_evaluate_and_explain_replay_the_documented_examples_under_their_own_versions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let evaluate = |file: &Path| {
        let output = qiancheng(dir.path()).args(["policy", "evaluate"]).arg(file).output().expect("evaluate");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        serde_json::from_slice::<serde_json::Value>(&output.stdout).expect("the decision is JSON")
    };
    let v1 = evaluate(&example("claim-facts.json"));
    assert_eq!(v1["policy_version"], "xianning-2025-5/v1");
    assert_eq!(v1["outcome"]["total_fen"], 1_580_000, "the total docs/policy-facts.md states for v1");
    let v2 = evaluate(&example("claim-facts-v2.json"));
    assert_eq!(v2["policy_version"], "xianning-2025-5/v2");
    assert_eq!(v2["outcome"]["total_fen"], 1_440_000, "the total docs/policy-facts.md states for v2");

    let output =
        qiancheng(dir.path()).args(["policy", "explain"]).arg(example("claim-facts.json")).output().expect("explain");
    assert!(output.status.success());
    let table = String::from_utf8(output.stdout).expect("utf-8");
    for expected in ["SUBS-TIER", "SUBS-CAP", "ELIG-FISCAL", "15800.00"] {
        assert!(table.contains(expected), "the table mentions {expected}:\n{table}");
    }

    // A policy object that carries v1's version string with other figures is refused.
    let mut tampered: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(example("claim-facts.json")).expect("example")).expect("json");
    if let Some(policy) = tampered.get_mut("policy").and_then(|p| p.as_object_mut()) {
        policy.insert("min_age".into(), serde_json::json!(15));
    } else {
        tampered["policy"] = serde_json::json!({ "version": "xianning-2025-5/v1", "min_age": 15 });
    }
    let file = dir.path().join("tampered.json");
    std::fs::write(&file, tampered.to_string()).expect("write");
    let output = qiancheng(dir.path()).args(["policy", "evaluate"]).arg(&file).output().expect("evaluate");
    assert!(!output.status.success(), "a tampered policy set is refused, not replayed");
    assert!(!String::from_utf8_lossy(&output.stderr).trim().is_empty(), "with a reason");

    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, r#"{"unknown_field": 1}"#).expect("write");
    let output = qiancheng(dir.path()).args(["policy", "evaluate"]).arg(&broken).output().expect("evaluate");
    assert!(!output.status.success(), "bad facts are an error, not a decision");
}

#[test]
fn the_built_in_policy_set_round_trips_through_show_set_and_check_set() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shown = qiancheng(dir.path()).args(["policy", "show-set"]).output().expect("show");
    assert!(shown.status.success(), "{}", String::from_utf8_lossy(&shown.stderr));
    let file = dir.path().join("set.toml");
    std::fs::write(&file, &shown.stdout).expect("write");
    let checked = qiancheng(dir.path()).args(["policy", "check-set"]).arg(&file).output().expect("check");
    assert!(checked.status.success(), "{}", String::from_utf8_lossy(&checked.stderr));
    let text = String::from_utf8(checked.stdout).expect("utf-8");
    assert!(
        text.contains("xianning-2025-5/v2") && text.contains("2025-06-06") && text.contains("2027-12-31"),
        "the current set is v2: {text}"
    );

    let broken = String::from_utf8(shown.stdout)
        .expect("utf-8")
        .replace("valid_to = \"2027-12-31\"", "valid_to = \"2024-01-01\"");
    std::fs::write(&file, broken).expect("write");
    let refused = qiancheng(dir.path()).args(["policy", "check-set"]).arg(&file).output().expect("check");
    assert!(!refused.status.success(), "a set that ends before it starts is refused");
}

/// An OTLP/gRPC receiver in the test process: what the services export, kept for inspection.
mod collector {
    use std::sync::{Arc, Mutex};

    use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
        MetricsService, MetricsServiceServer,
    };
    use opentelemetry_proto::tonic::collector::metrics::v1::{
        ExportMetricsServiceRequest, ExportMetricsServiceResponse,
    };
    use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
    use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};

    #[derive(Debug, Clone, Default)]
    pub struct Received {
        pub traces: Arc<Mutex<Vec<ExportTraceServiceRequest>>>,
        pub metrics: Arc<Mutex<Vec<ExportMetricsServiceRequest>>>,
    }

    #[tonic::async_trait]
    impl TraceService for Received {
        async fn export(
            &self,
            request: tonic::Request<ExportTraceServiceRequest>,
        ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
            self.traces.lock().expect("lock").push(request.into_inner());
            Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
        }
    }

    #[tonic::async_trait]
    impl MetricsService for Received {
        async fn export(
            &self,
            request: tonic::Request<ExportMetricsServiceRequest>,
        ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
            self.metrics.lock().expect("lock").push(request.into_inner());
            Ok(tonic::Response::new(ExportMetricsServiceResponse::default()))
        }
    }

    /// Starts the receiver on port 0; returns what it receives and its address.
    pub async fn start() -> (Received, std::net::SocketAddr) {
        let received = Received::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(received.clone()))
            .add_service(MetricsServiceServer::new(received.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener));
        tokio::spawn(server);
        (received, addr)
    }
}

/// A span as the test reads it.
#[derive(Debug, Clone)]
struct SeenSpan {
    service: String,
    name: String,
    kind: i32,
    trace_id: String,
    span_id: String,
    parent_span_id: String,
    status_code: i32,
    attributes: std::collections::BTreeMap<String, String>,
}

fn spans(received: &collector::Received) -> Vec<SeenSpan> {
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    let text = |v: &Option<opentelemetry_proto::tonic::common::v1::AnyValue>| match v
        .as_ref()
        .and_then(|v| v.value.as_ref())
    {
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    };
    let mut out = Vec::new();
    for request in received.traces.lock().expect("lock").iter() {
        for resource in &request.resource_spans {
            let service = resource
                .resource
                .as_ref()
                .and_then(|r| r.attributes.iter().find(|a| a.key == "service.name"))
                .map(|a| text(&a.value))
                .unwrap_or_default();
            for scope in &resource.scope_spans {
                for span in &scope.spans {
                    out.push(SeenSpan {
                        service: service.clone(),
                        name: span.name.clone(),
                        kind: span.kind,
                        trace_id: hex::encode(&span.trace_id),
                        span_id: hex::encode(&span.span_id),
                        parent_span_id: hex::encode(&span.parent_span_id),
                        status_code: span.status.as_ref().map_or(0, |s| s.code),
                        attributes: span.attributes.iter().map(|a| (a.key.clone(), text(&a.value))).collect(),
                    });
                }
            }
        }
    }
    out
}

/// Against two `serve` processes and a local OTLP receiver, as an ops engineer would look: a
/// call that crosses services is one trace with named server and client spans and status codes;
/// a refused call is an error span with its reason; the error rate of a method is computable from
/// the metrics; every log line of the call carries its trace id; the admin port answers.
#[tokio::test]
async fn telemetry_follows_the_conventions_across_two_serve_processes() {
    const SPAN_KIND_SERVER: i32 = 2;
    const SPAN_KIND_CLIENT: i32 = 3;
    const STATUS_ERROR: i32 = 2;
    let (received, collector) = collector::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let issuer_key = dir.path().join("issuer.key");
    let selection_key = dir.path().join("selection.key");
    let officer = mint(dir.path(), &issuer_key, &["--role", "COUNTY_OFFICER", "--region", "421221"]);
    mint(dir.path(), &selection_key, &["--role", "SERVICE"]);
    let issuer_public = public_key(dir.path(), &issuer_key);
    let selection_public = public_key(dir.path(), &selection_key);
    let otlp = format!("http://{collector}");
    let common = |name: &str, db: &str| {
        vec![
            ("QIANCHENG_DATABASE_URL", format!("sqlite://{}?mode=rwc", dir.path().join(db).display())),
            ("QIANCHENG_AUTH_PUBLIC_KEYS", issuer_public.clone()),
            ("QIANCHENG_ADMIN_ADDR", "127.0.0.1:0".to_owned()),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.clone()),
            ("OTEL_SERVICE_NAME", format!("qiancheng-{name}")),
            ("RUST_LOG", "info".to_owned()),
        ]
    };
    let mut demand_env = common("demand", "demand.db");
    demand_env.push(("QIANCHENG_SERVICE_PUBLIC_KEYS", format!("selection={selection_public}")));
    let (mut demand, demand_addr) = serve(dir.path(), "demand", &demand_env).await;
    let demand_admin = demand.logged("admin port: /metrics /livez /readyz", "admin").await;
    let mut selection_env = common("selection", "selection.db");
    selection_env.push(("QIANCHENG_PEER_DEMAND_URL", format!("http://{demand_addr}")));
    selection_env.push(("QIANCHENG_SERVICE_SIGNING_KEY_FILE", selection_key.display().to_string()));
    let (mut selection, selection_addr) = serve(dir.path(), "selection", &selection_env).await;
    wait_health(&demand_addr, ServingStatus::Serving).await;
    wait_health(&selection_addr, ServingStatus::Serving).await;

    fixtures::publish_welding_demand(channel(&demand_addr).await, &officer, "91421221MA4K7Y2G3", "421221", 8).await;
    SelectionServiceClient::new(channel(&selection_addr).await)
        .draft_catalog_from_demand(authed(qiancheng_testkit::selection::welding_draft(), &officer))
        .await
        .expect("a call that crosses services");
    let refused = DemandServiceClient::new(channel(&demand_addr).await)
        .get_vacancy(authed(GetVacancyRequest { name: "not-a-name".into() }, &officer))
        .await
        .expect_err("a malformed name is refused");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);

    let metrics = http_get(&demand_admin, "/metrics").await;
    assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
    assert!(
        metrics.contains("rpc_method=\"GetVacancy\"") && metrics.contains("rpc_grpc_status_code=\"3\""),
        "the error rate of a method is computable from the scrape:\n{metrics}"
    );
    assert!(http_get(&demand_admin, "/livez").await.starts_with("HTTP/1.1 200"));

    // SIGTERM flushes the spans and a last metrics batch.
    assert!(selection.terminate().await.success());
    assert!(demand.terminate().await.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    while spans(&received).iter().all(|s| !s.name.ends_with("/SummarizeTrainingNeeds"))
        || received.metrics.lock().expect("lock").is_empty()
    {
        assert!(Instant::now() < deadline, "spans and metrics arrive at the collector");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let seen = spans(&received);
    let find = |name: &str, kind: i32| {
        seen.iter()
            .find(|s| s.name == name && s.kind == kind)
            .unwrap_or_else(|| {
                panic!("a span {name} of kind {kind}: {:#?}", seen.iter().map(|s| &s.name).collect::<Vec<_>>())
            })
            .clone()
    };
    let entry = find("qiancheng.selection.v1.SelectionService/DraftCatalogFromDemand", SPAN_KIND_SERVER);
    let client = find("qiancheng.demand.v1.DemandService/SummarizeTrainingNeeds", SPAN_KIND_CLIENT);
    let callee = find("qiancheng.demand.v1.DemandService/SummarizeTrainingNeeds", SPAN_KIND_SERVER);
    assert_eq!(entry.service, "qiancheng-selection");
    assert_eq!(callee.service, "qiancheng-demand");
    assert_eq!(
        (client.trace_id.as_str(), callee.trace_id.as_str()),
        (entry.trace_id.as_str(), entry.trace_id.as_str()),
        "one trace"
    );
    assert_eq!(callee.parent_span_id, client.span_id, "demand's span is a child of selection's client span");
    assert!(!client.parent_span_id.is_empty(), "the client span has a parent in selection");
    for span in [&entry, &client, &callee] {
        assert_eq!(span.attributes.get("rpc.system").map(String::as_str), Some("grpc"), "{span:?}");
        assert_eq!(span.attributes.get("rpc.grpc.status_code").map(String::as_str), Some("0"), "{span:?}");
        assert!(span.attributes.contains_key("rpc.service") && span.attributes.contains_key("rpc.method"), "{span:?}");
        for internal in ["code.file.path", "code.filepath", "thread.id", "busy_ns", "idle_ns"] {
            assert!(!span.attributes.contains_key(internal), "no tracing internals ({internal}) in {span:?}");
        }
    }
    let failed = find("qiancheng.demand.v1.DemandService/GetVacancy", SPAN_KIND_SERVER);
    assert_eq!(failed.status_code, STATUS_ERROR, "a refused call is an error span");
    assert_eq!(failed.attributes.get("rpc.grpc.status_code").map(String::as_str), Some("3"));
    assert_eq!(failed.attributes.get("error.reason").map(String::as_str), Some("RESOURCE-NAME"), "{failed:?}");
    let publish = find("qiancheng.demand.v1.DemandService/PublishVacancy", SPAN_KIND_SERVER);
    let transaction = find("write PublishVacancy", SPAN_KIND_CLIENT);
    assert_eq!(transaction.trace_id, publish.trace_id, "a span around each write transaction, in its call's trace");
    assert_eq!(transaction.attributes.get("db.system").map(String::as_str), Some("sqlite"));

    // Metrics carry service, method and status code.
    let exported = format!("{:?}", received.metrics.lock().expect("lock"));
    for label in ["rpc.server.duration", "rpc.client.duration", "rpc.grpc.status_code", "rpc.method"] {
        assert!(exported.contains(label), "the exported metrics carry {label}");
    }

    // Every log line of the refused call carries its trace id, and one access line says it.
    let logs = demand.lines();
    let access: Vec<&String> =
        logs.iter().filter(|l| l.contains(&failed.trace_id) && l.contains("\"message\":\"call\"")).collect();
    assert_eq!(access.len(), 1, "one access line for the call:\n{}", logs.join("\n"));
    let line: serde_json::Value = serde_json::from_str(access[0]).expect("json");
    assert_eq!(line["status"], "INVALID_ARGUMENT");
    assert_eq!(line["reason"], "RESOURCE-NAME");
    assert_eq!(line["span_id"], failed.span_id);
    assert!(
        logs.iter().all(|l| !l.contains("\"message\":\"call\"") || l.contains("trace_id")),
        "access lines carry trace ids"
    );
}

/// A TCP proxy that can drop its connections and refuse new ones, to take a database away.
struct Proxy {
    addr: std::net::SocketAddr,
    open: Arc<std::sync::atomic::AtomicBool>,
}

impl Proxy {
    async fn start(target: &'static str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let open = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let flag = open.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else { continue };
                if !flag.load(std::sync::atomic::Ordering::SeqCst) {
                    continue;
                }
                let flag = flag.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await else { return };
                    let copy = tokio::io::copy_bidirectional(&mut inbound, &mut outbound);
                    let closed = async {
                        while flag.load(std::sync::atomic::Ordering::SeqCst) {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    };
                    tokio::select! { _ = copy => {}, () = closed => {} }
                });
            }
        });
        Self { addr, open }
    }

    fn set_open(&self, open: bool) {
        self.open.store(open, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A service whose database goes away reports NOT_SERVING (health and /readyz), and SERVING
/// again when it comes back, without a restart.
#[tokio::test]
async fn a_service_whose_database_goes_away_is_not_ready_and_recovers_without_a_restart() {
    let Some(database) = TestDatabase::create(Backend::Postgres).await else { return };
    let proxy = Proxy::start("127.0.0.1:5432").await;
    let url = database.url.replacen("127.0.0.1:5432", &proxy.addr.to_string(), 1);
    assert_ne!(url, database.url, "the test database is reached through the proxy");
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("issuer.key");
    mint(dir.path(), &key, &["--role", "CITY_ADMIN", "--region", "421200"]);
    let (mut demand, addr) = serve(
        dir.path(),
        "demand",
        &[
            ("QIANCHENG_DATABASE_URL", url),
            ("QIANCHENG_AUTH_PUBLIC_KEYS", public_key(dir.path(), &key)),
            ("QIANCHENG_READINESS_INTERVAL_MS", "200".to_owned()),
            ("QIANCHENG_ADMIN_ADDR", "127.0.0.1:0".to_owned()),
        ],
    )
    .await;
    let admin = demand.logged("admin port: /metrics /livez /readyz", "admin").await;
    wait_health(&addr, ServingStatus::Serving).await;
    proxy.set_open(false);
    wait_health(&addr, ServingStatus::NotServing).await;
    assert!(http_get(&admin, "/readyz").await.starts_with("HTTP/1.1 503"));
    assert!(http_get(&admin, "/livez").await.starts_with("HTTP/1.1 200"), "alive, though not ready");
    proxy.set_open(true);
    wait_health(&addr, ServingStatus::Serving).await;
    assert!(http_get(&admin, "/readyz").await.starts_with("HTTP/1.1 200"));
    assert!(demand.terminate().await.success());
}

/// The suite as separate processes: demand, selection (calling demand) and supervision (calling
/// selection), each with its own database, keys and log.
struct Suite {
    dir: tempfile::TempDir,
    _databases: Vec<TestDatabase>,
    envs: std::collections::BTreeMap<&'static str, Vec<(&'static str, String)>>,
    running: std::collections::BTreeMap<&'static str, (Running, String)>,
    issuer: qiancheng_platform::auth::TokenMinter,
}

/// Each call to a peer is given this deadline; a caller whose peer is gone answers within it.
const PEER_DEADLINE: Duration = Duration::from_secs(3);

impl Suite {
    /// Starts the three services on `backend`; `None` when the backend is not configured.
    async fn start(backend: Backend) -> Option<Self> {
        let mut databases = Vec::new();
        for _ in 0..3 {
            databases.push(TestDatabase::create(backend).await?);
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let key = |name: &str| dir.path().join(format!("{name}.key"));
        mint(dir.path(), &key("issuer"), &["--role", "CITY_ADMIN", "--region", "421200"]);
        for service in ["selection", "supervision"] {
            mint(dir.path(), &key(service), &["--role", "SERVICE"]);
        }
        let issuer = qiancheng_platform::auth::TokenMinter::load(&key("issuer")).expect("issuer key");
        let common = |url: &str| {
            vec![
                ("QIANCHENG_DATABASE_URL", url.to_owned()),
                ("QIANCHENG_AUTH_PUBLIC_KEYS", public_key(dir.path(), &key("issuer"))),
                ("QIANCHENG_PEER_TIMEOUT_MS", PEER_DEADLINE.as_millis().to_string()),
            ]
        };
        let mut envs = std::collections::BTreeMap::new();
        let mut demand = common(&databases[0].url);
        demand.push((
            "QIANCHENG_SERVICE_PUBLIC_KEYS",
            format!("selection={}", public_key(dir.path(), &key("selection"))),
        ));
        envs.insert("demand", demand);
        let mut selection = common(&databases[1].url);
        selection.push(("QIANCHENG_SERVICE_SIGNING_KEY_FILE", key("selection").display().to_string()));
        selection.push((
            "QIANCHENG_SERVICE_PUBLIC_KEYS",
            format!("supervision={}", public_key(dir.path(), &key("supervision"))),
        ));
        envs.insert("selection", selection);
        let mut supervision = common(&databases[2].url);
        supervision.push(("QIANCHENG_SERVICE_SIGNING_KEY_FILE", key("supervision").display().to_string()));
        envs.insert("supervision", supervision);
        let mut suite = Self { dir, _databases: databases, envs, running: Default::default(), issuer };
        // Each caller learns where its peer listens from the port the peer really bound.
        suite.launch("demand", "127.0.0.1:0").await;
        let demand = suite.addr("demand");
        suite
            .envs
            .get_mut("selection")
            .expect("selection")
            .push(("QIANCHENG_PEER_DEMAND_URL", format!("http://{demand}")));
        suite.launch("selection", "127.0.0.1:0").await;
        let selection = suite.addr("selection");
        suite
            .envs
            .get_mut("supervision")
            .expect("supervision")
            .push(("QIANCHENG_PEER_SELECTION_URL", format!("http://{selection}")));
        suite.launch("supervision", "127.0.0.1:0").await;
        Some(suite)
    }

    /// Starts `service` listening on `bind` and waits until it serves.
    async fn launch(&mut self, service: &'static str, bind: &str) {
        let mut env = self.envs[service].clone();
        env.push(("QIANCHENG_BIND_ADDR", bind.to_owned()));
        let (running, addr) = serve(self.dir.path(), service, &env).await;
        wait_health(&addr, ServingStatus::Serving).await;
        self.running.insert(service, (running, addr));
    }

    fn addr(&self, service: &str) -> String {
        self.running.get(service).map(|(_, addr)| addr.clone()).unwrap_or_else(|| panic!("{service} runs"))
    }

    /// Kills `service` with SIGKILL (no draining, as a crash or an evicted pod), and returns the
    /// address it listened on.
    fn kill(&mut self, service: &str) -> String {
        let (mut running, addr) = self.running.remove(service).unwrap_or_else(|| panic!("{service} runs"));
        running.kill();
        addr
    }

    fn token(&self, role: qiancheng_platform::auth::Role, region: Option<&str>, org: Option<&str>) -> String {
        self.issuer.mint("ops-test", &[role], region, org, 3600).expect("token")
    }
}

/// A call that needs a peer that is gone: `UNAVAILABLE`, reason `PEER_UNAVAILABLE`, the peer
/// named, within the peer deadline.
fn assert_fails_fast<T: std::fmt::Debug>(result: Result<T, tonic::Status>, peer: &str, took: Duration) {
    let status = result.expect_err("the call needs the stopped peer");
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert_eq!(qiancheng_testkit::reason(&status), "PEER_UNAVAILABLE", "{status:?}");
    assert!(status.message().contains(peer), "the reason names {peer}: {}", status.message());
    assert!(took < PEER_DEADLINE + Duration::from_secs(1), "answered in {took:?}, within the peer deadline");
}

/// Retries `call` until it succeeds (a peer that came back is reconnected to by the caller's
/// channel without a restart), for at most 30 seconds.
async fn eventually<T, F: std::future::Future<Output = Result<T, tonic::Status>>>(
    what: &str,
    mut call: impl FnMut() -> F,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match call().await {
            Ok(value) => return value,
            Err(status) => {
                assert!(Instant::now() < deadline, "{what} never succeeded again: {status:?}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// Failure of one service at a time: SIGKILL one process and the others keep serving what does
/// not need it, its callers answer `UNAVAILABLE` naming it within the peer deadline, and when it
/// comes back (same address, same database) calls succeed again with no one restarted.
async fn one_service_fails_at_a_time(backend: Backend) {
    use qiancheng_api::selection::GetProviderRequest;
    use qiancheng_api::supervision::supervision_service_client::SupervisionServiceClient;
    use qiancheng_api::supervision::{CreateClassRequest, GetClassRequest};
    use qiancheng_platform::auth::Role;
    let Some(mut suite) = Suite::start(backend).await else { return };
    let county = "421221";
    let officer = suite.token(Role::CountyOfficer, Some(county), None);
    let admin = suite.token(Role::CityAdmin, Some("421200"), None);
    fixtures::publish_welding_demand(channel(&suite.addr("demand")).await, &officer, "91421221MA4K7Y2G3", county, 8)
        .await;
    let selection = |addr: String| async move { SelectionServiceClient::new(channel(&addr).await) };
    let regions = ["421200", county];
    qiancheng_testkit::selection::set_quotas(
        &mut selection(suite.addr("selection")).await,
        &admin,
        &regions,
        2099,
        1000,
    )
    .await;
    let approve = qiancheng_testkit::selection::ProjectToApprove {
        county,
        seed: "0000009",
        headcount: 60,
        hours: 100,
        deadline: qiancheng_api::types::Date { year: 2099, month: 12, day: 31 },
    };
    let (provider, project) = qiancheng_testkit::selection::approve_project(
        &mut selection(suite.addr("selection")).await,
        &officer,
        |code| suite.token(Role::Provider, None, Some(code)),
        approve,
    )
    .await;
    let provider_token = suite.token(Role::Provider, None, Some(&provider));

    // The calls that cross services, and one of each service's own.
    let draft = |addr: String| {
        let officer = officer.clone();
        async move {
            let started = Instant::now();
            let result = SelectionServiceClient::new(channel(&addr).await)
                .draft_catalog_from_demand(authed(qiancheng_testkit::selection::welding_draft(), &officer))
                .await;
            (result, started.elapsed())
        }
    };
    let first_day = qiancheng_domain::today_in_china() + chrono::Days::new(60);
    let next_person = std::sync::atomic::AtomicU64::new(0);
    let file = |addr: String| {
        let n = next_person.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // Each class later than the one before, so its one person overlaps no other class.
        let class =
            qiancheng_testkit::supervision::class(&project, "焊工培训", first_day + chrono::Days::new(n * 60), 50);
        let roster = vec![qiancheng_testkit::supervision::person(n)];
        let token = provider_token.clone();
        async move {
            let started = Instant::now();
            let result = SupervisionServiceClient::new(channel(&addr).await)
                .create_class(authed(
                    CreateClassRequest { class: Some(class), roster, request_id: String::new() },
                    &token,
                ))
                .await;
            (result, started.elapsed())
        }
    };
    let (drafted, _) = draft(suite.addr("selection")).await;
    drafted.expect("selection reads demand");
    let (filed, _) = file(suite.addr("supervision")).await;
    let class = filed.expect("supervision asks selection").into_inner().class.expect("class");

    // Demand goes down.
    let demand_addr = suite.kill("demand");
    let (drafted, took) = draft(suite.addr("selection")).await;
    assert_fails_fast(drafted, "demand", took);
    selection(suite.addr("selection"))
        .await
        .get_provider(authed(GetProviderRequest { name: format!("providers/{provider}") }, &officer))
        .await
        .expect("selection serves what does not need demand");
    let (filed, _) = file(suite.addr("supervision")).await;
    filed.expect("supervision and selection do not need demand to file a class");
    wait_health(&suite.addr("selection"), ServingStatus::Serving).await;

    // Demand comes back on its address and database; selection reaches it again unrestarted.
    suite.launch("demand", &demand_addr).await;
    eventually("selection's call to demand", || async { draft(suite.addr("selection")).await.0 }).await;

    // Selection goes down: supervision's filing needs it, its reads do not; demand is untouched.
    let selection_addr = suite.kill("selection");
    let (filed, took) = file(suite.addr("supervision")).await;
    assert_fails_fast(filed, "selection", took);
    SupervisionServiceClient::new(channel(&suite.addr("supervision")).await)
        .get_class(authed(GetClassRequest { name: class.name.clone() }, &admin))
        .await
        .expect("supervision serves what does not need selection");
    DemandServiceClient::new(channel(&suite.addr("demand")).await)
        .list_published_vacancies(authed(ListPublishedVacanciesRequest::default(), &officer))
        .await
        .expect("demand does not need selection");

    suite.launch("selection", &selection_addr).await;
    eventually("supervision's call to selection", || async { file(suite.addr("supervision")).await.0 }).await;
    for (_, (mut running, _)) in std::mem::take(&mut suite.running) {
        assert!(running.terminate().await.success());
    }
}

#[tokio::test]
async fn one_service_killed_leaves_the_others_serving_and_its_callers_fail_fast_until_it_returns_on_postgres() {
    one_service_fails_at_a_time(Backend::Postgres).await;
}

#[tokio::test]
async fn one_service_killed_leaves_the_others_serving_and_its_callers_fail_fast_until_it_returns_on_sqlite() {
    one_service_fails_at_a_time(Backend::Sqlite).await;
}

/// A worker's need for person `n` of county 嘉鱼 (421221), the fields the rules require.
fn worker_need(n: u32) -> qiancheng_api::demand::WorkerNeedInput {
    qiancheng_api::demand::WorkerNeedInput {
        person_name: format!("劳动者{n}"),
        id_number: fixtures::id_number(&format!("42122119850101{:03}", 100 + n)),
        phone: format!("139{n:08}"),
        region_code: "421221".into(),
        target_group: qiancheng_api::types::TargetGroup::RuralMigrant as i32,
        ..Default::default()
    }
}

/// Records person `n`'s need as `token`.
async fn create_worker_need(addr: &str, token: &str, n: u32) -> Result<(), tonic::Status> {
    DemandServiceClient::new(channel(addr).await)
        .create_worker_need(authed(
            qiancheng_api::demand::CreateWorkerNeedRequest {
                worker_need: Some(worker_need(n)),
                request_id: String::new(),
            },
            token,
        ))
        .await
        .map(drop)
}

/// Counts demand's worker_need rows sealed under the original key and under `key` (every column
/// of a row under one key, or the test fails).
async fn worker_rows_by_key(url: &str, key: &str) -> (usize, usize) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.expect("connect");
    let rows = sqlx::query("SELECT id_number_cipher, name_cipher, phone_cipher, id_number_hash FROM worker_need")
        .fetch_all(&pool)
        .await
        .expect("rows");
    pool.close().await;
    let (mut original, mut newest) = (0, 0);
    for row in rows {
        use sqlx::Row as _;
        let values: Vec<String> = (0..4).map(|i| row.get::<String, _>(i)).collect();
        if values[..3].iter().all(|c| c.starts_with("v1:")) && !values[3].contains(':') {
            original += 1;
        } else if values[..3].iter().all(|c| c.starts_with(&format!("sm4-gcm:{key}:")))
            && values[3].starts_with(&format!("hmac-sm3:{key}:"))
        {
            newest += 1;
        } else {
            panic!("a row is under no one key: {values:?}");
        }
    }
    (original, newest)
}

/// The 国密 profile from the command line, on demand's worker_need: new needs are sealed with
/// SM4 once a gm key is added, `qiancheng reencrypt demand` killed (SIGKILL) halfway and run
/// again moves every row, duplicates are refused throughout, and a person recorded twice under
/// two keys (as a replica without the new key could do) stops the move until it is resolved.
async fn reencrypt_from_the_command_line(backend: Backend) {
    let Some(database) = TestDatabase::create(backend).await else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("issuer.key");
    let admin = mint(dir.path(), &key, &["--role", "CITY_ADMIN", "--region", "421200"]);
    let made =
        qiancheng(dir.path()).args(["data-key", "--id", "2026-gm", "--profile", "gm"]).output().expect("data-key");
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let gm = String::from_utf8(made.stdout).expect("utf-8").trim().to_owned();
    assert!(gm.starts_with("2026-gm:gm:"), "{gm}");
    let env = |keys: Option<&str>| {
        let mut env = vec![
            ("QIANCHENG_DATABASE_URL", database.url.clone()),
            ("QIANCHENG_AUTH_PUBLIC_KEYS", public_key(dir.path(), &key)),
        ];
        if let Some(keys) = keys {
            env.push(("QIANCHENG_DATA_KEYS", keys.to_owned()));
        }
        env
    };
    let reencrypt = |args: &[&str]| {
        let mut command = qiancheng(dir.path());
        command.args(["reencrypt", "demand"]).args(args).env("QIANCHENG_DATA_KEY", DATA_KEY);
        for (name, value) in env(Some(&gm)) {
            command.env(name, value);
        }
        command
    };

    // Twelve needs under the original key, then four under the 国密 key.
    let (mut before, addr) = serve(dir.path(), "demand", &env(None)).await;
    for n in 0..12 {
        create_worker_need(&addr, &admin, n).await.expect("recorded");
    }
    assert!(before.terminate().await.success());
    let (mut demand, addr) = serve(dir.path(), "demand", &env(Some(&gm))).await;
    for n in 12..16 {
        create_worker_need(&addr, &admin, n).await.expect("recorded");
    }
    assert_eq!(worker_rows_by_key(&database.url, "2026-gm").await, (12, 4), "new needs are sealed with SM4");
    let duplicates_refused = |when: &'static str| {
        let (addr, admin) = (addr.clone(), admin.clone());
        async move {
            for n in [0, 7, 11, 15] {
                let again = create_worker_need(&addr, &admin, n).await.expect_err("one person, one record");
                assert_eq!(qiancheng_testkit::reason(&again), "WORKER_NEED_EXISTS", "{when}: person {n}");
            }
        }
    };
    duplicates_refused("mixed").await;

    // Killed after its first batches, the move leaves some rows moved and every row readable.
    let mut moving = Running::spawn(&mut reencrypt(&["--batch-size", "2", "--pause-ms", "300"]));
    moving.wait_for("a batch moved", |l| l.contains("worker_need: moving: 4 moved")).await;
    moving.kill();
    let (original, newest) = worker_rows_by_key(&database.url, "2026-gm").await;
    assert!(original < 12 && original > 0 && original + newest == 16, "stopped halfway: {original} left");
    duplicates_refused("halfway").await;

    // One person recorded twice across keys: the copy holds the new hash of a row not moved yet.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&database.url).await.expect("connect");
    let (unmoved, sealed): (String, String) = sqlx::query_as(
        "SELECT id, id_number_cipher FROM worker_need WHERE id_number_hash NOT LIKE '%:%' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .expect("an unmoved row");
    let pii = qiancheng_platform::pii::PiiCipher::from_config(Some(DATA_KEY), Some(&gm)).expect("keys");
    let new_hash = pii.lookup_hash(&pii.decrypt(&sealed).expect("opens"));
    let copy = format!("{unmoved}-copy");
    let columns: Vec<String> = {
        use sqlx::{Column as _, Row as _};
        let row = sqlx::query("SELECT * FROM worker_need WHERE id = $1").bind(&unmoved).fetch_one(&pool).await;
        row.expect("the row").columns().iter().map(|c| c.name().to_owned()).collect()
    };
    let values: Vec<&str> = columns
        .iter()
        .map(|c| match c.as_str() {
            "id" => "$1",
            "id_number_hash" => "$2",
            other => other,
        })
        .collect();
    let duplicate = format!(
        "INSERT INTO worker_need ({}) SELECT {} FROM worker_need WHERE id = $3",
        columns.join(", "),
        values.join(", ")
    );
    sqlx::query(sqlx::AssertSqlSafe(duplicate))
        .bind(&copy)
        .bind(&new_hash)
        .bind(&unmoved)
        .execute(&pool)
        .await
        .expect("a second record of one person");
    let stuck = reencrypt(&[]).output().expect("reencrypt");
    assert!(!stuck.status.success(), "the move is not complete while one person is recorded twice");
    let why = String::from_utf8_lossy(&stuck.stderr);
    assert!(why.contains(&format!("worker_need row {unmoved}")) && why.contains("recorded twice"), "{why}");
    sqlx::query("DELETE FROM worker_need WHERE id = $1").bind(&copy).execute(&pool).await.expect("resolved");

    // Run again: every row under SM4, the database settled on the key, lookups still right.
    let done = reencrypt(&[]).output().expect("reencrypt");
    let said = String::from_utf8_lossy(&done.stdout);
    assert!(done.status.success(), "{said}{}", String::from_utf8_lossy(&done.stderr));
    assert!(said.contains("settled"), "{said}");
    assert_eq!(worker_rows_by_key(&database.url, "2026-gm").await, (0, 16));
    let settled: String =
        sqlx::query_scalar("SELECT key_id FROM pii_settled_key").fetch_one(&pool).await.expect("settled");
    assert_eq!(settled, "2026-gm");
    pool.close().await;
    duplicates_refused("settled").await;
    assert!(demand.terminate().await.success());

    // A configuration without the key the database settled on cannot serve it.
    let output = qiancheng(dir.path())
        .args(["serve", "demand"])
        .env("QIANCHENG_BIND_ADDR", "127.0.0.1:0")
        .env("QIANCHENG_DATA_KEY", DATA_KEY)
        .envs(env(None))
        .output()
        .expect("run");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("2026-gm"), "{}", String::from_utf8_lossy(&output.stderr));
}

#[tokio::test]
async fn reencrypt_killed_halfway_and_run_again_moves_every_row_to_sm4_on_sqlite() {
    reencrypt_from_the_command_line(Backend::Sqlite).await;
}

#[tokio::test]
async fn reencrypt_killed_halfway_and_run_again_moves_every_row_to_sm4_on_postgres() {
    reencrypt_from_the_command_line(Backend::Postgres).await;
}

/// Backup and restore as docs/OPERATIONS.md tells it: a backup taken while demand takes writes
/// (`qiancheng backup` on SQLite, `pg_dump --format=custom` on PostgreSQL), restored into a fresh
/// database (a copy of the file, `pg_restore`), serves with its audit chain intact and every write
/// acknowledged before the backup began.
async fn backup_under_writes(backend: Backend) {
    let Some(database) = TestDatabase::create(backend).await else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("issuer.key");
    let admin = mint(dir.path(), &key, &["--role", "CITY_ADMIN", "--region", "421200"]);
    let env = |url: &str| {
        vec![("QIANCHENG_DATABASE_URL", url.to_owned()), ("QIANCHENG_AUTH_PUBLIC_KEYS", public_key(dir.path(), &key))]
    };
    let (mut demand, addr) = serve(dir.path(), "demand", &env(&database.url)).await;
    wait_health(&addr, ServingStatus::Serving).await;

    // A writer registers enterprises one after another and notes each acknowledged one.
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (acknowledged, stop, admin) = (acknowledged.clone(), stop.clone(), admin.clone());
        let mut client = DemandServiceClient::new(channel(&addr).await);
        tokio::spawn(async move {
            for i in 0u32.. {
                if stop.load(std::sync::atomic::Ordering::Relaxed) || i > 100_000 {
                    break;
                }
                let code = fixtures::uscc(&format!("91421221{i:09}"));
                let created = client
                    .create_enterprise(authed(
                        CreateEnterpriseRequest {
                            enterprise: Some(Enterprise {
                                credit_code: code.clone(),
                                display_name: format!("备份测试企业{i}"),
                                region_code: "421221".into(),
                                industry: Industry::EquipmentManufacturing as i32,
                                ..Default::default()
                            }),
                            request_id: String::new(),
                        },
                        &admin,
                    ))
                    .await;
                if created.is_ok() {
                    acknowledged.lock().expect("lock").push(code);
                }
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while acknowledged.lock().expect("lock").len() < 20 {
        assert!(Instant::now() < deadline, "the writer writes");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before: Vec<String> = acknowledged.lock().expect("lock").clone();
    let (backed_up, restored) = match backend {
        Backend::Sqlite => {
            let file = dir.path().join("demand-backup.db");
            let output = qiancheng(dir.path())
                .args(["backup", "demand", "--to"])
                .arg(&file)
                .env("QIANCHENG_DATABASE_URL", &database.url)
                .output()
                .expect("backup");
            let restored = dir.path().join("restored/demand.db");
            std::fs::create_dir_all(restored.parent().expect("folder")).expect("folder");
            std::fs::copy(&file, &restored).expect("restore the copy");
            (output, (format!("sqlite://{}?mode=rwc", restored.display()), None))
        }
        Backend::Postgres => {
            let file = dir.path().join("demand.dump");
            let output = Command::new("pg_dump")
                .arg("--format=custom")
                .arg("--file")
                .arg(&file)
                .arg(format!("--dbname={}", database.url))
                .output()
                .expect("pg_dump");
            let fresh = TestDatabase::create(Backend::Postgres).await.expect("a fresh database");
            let restore = Command::new("pg_restore")
                .args(["--no-owner", "--exit-on-error"])
                .arg(format!("--dbname={}", fresh.url))
                .arg(&file)
                .output()
                .expect("pg_restore");
            assert!(restore.status.success(), "{}", String::from_utf8_lossy(&restore.stderr));
            (output, (fresh.url.clone(), Some(fresh)))
        }
    };
    assert!(backed_up.status.success(), "{}", String::from_utf8_lossy(&backed_up.stderr));
    // The writer never stopped: more writes are acknowledged after the backup, too.
    let after_backup = acknowledged.lock().expect("lock").len();
    while acknowledged.lock().expect("lock").len() < after_backup + 5 {
        assert!(Instant::now() < deadline, "the writer goes on writing while and after the backup is taken");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.await.expect("the writer ends");
    assert!(demand.terminate().await.success());

    let (restored_url, _fresh) = restored;
    let (mut restored, addr) = serve(dir.path(), "demand", &env(&restored_url)).await;
    wait_health(&addr, ServingStatus::Serving).await;
    let mut client = DemandServiceClient::new(channel(&addr).await);
    let report = client
        .verify_audit_chain(authed(qiancheng_api::demand::VerifyAuditChainRequest {}, &admin))
        .await
        .expect("verified")
        .into_inner()
        .report
        .expect("report");
    assert!(report.intact, "the restored audit chain is intact: {report:?}");
    assert!(report.rows_checked >= i64::try_from(before.len()).expect("count"), "{report:?}");
    for code in &before {
        client
            .get_enterprise(authed(GetEnterpriseRequest { name: format!("enterprises/{code}") }, &admin))
            .await
            .unwrap_or_else(|e| panic!("{code}, acknowledged before the backup, is restored: {e:?}"));
    }
    assert!(restored.terminate().await.success());
}

// The writer runs on a thread of its own while the backup's process is awaited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_writes_restores_with_an_intact_chain_and_every_acknowledged_write_on_sqlite() {
    backup_under_writes(Backend::Sqlite).await;
}

// The writer runs on a thread of its own while the backup's process is awaited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_writes_restores_with_an_intact_chain_and_every_acknowledged_write_on_postgres() {
    backup_under_writes(Backend::Postgres).await;
}

/// `qiancheng dev` signs each service's calls with that service's own key: the development key,
/// which signs people's tokens, cannot speak for a service. Tried as a new user would: a token
/// of the development key for `service:demand` with role SERVICE reading supervision's trainees.
#[tokio::test]
async fn dev_refuses_a_service_token_signed_with_the_development_key() {
    use qiancheng_api::supervision::ListProjectTraineesRequest;
    use qiancheng_api::supervision::supervision_service_client::SupervisionServiceClient;
    use qiancheng_platform::auth::{Role, TokenMinter};
    let dir = tempfile::tempdir().expect("tempdir");
    let mut dev = Running::spawn(qiancheng(dir.path()).args(["dev", "--base-port", "0"]));
    let line = dev.wait_for("the supervision endpoint", |l| l.trim_start().starts_with("supervision ")).await;
    let endpoint = line.split_whitespace().nth(1).expect("an address").to_owned();
    dev.wait_for("the Ctrl-C hint", |l| l.starts_with("Press Ctrl-C")).await;
    wait_health(&endpoint, ServingStatus::Serving).await;

    let dev_key = TokenMinter::load(&dir.path().join("data/dev-signing.key")).expect("the key dev made");
    let forged = dev_key.mint("service:demand", &[Role::Service], None, None, 600).expect("mint");
    let refused = SupervisionServiceClient::new(channel(&endpoint).await)
        .list_project_trainees(authed(
            ListProjectTraineesRequest { project: "projects/p1".into(), ..Default::default() },
            &forged,
        ))
        .await
        .expect_err("the development key speaks for no service");
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    assert!(refused.message().contains("SERVICE identity comes only from"), "{}", refused.message());

    // `qiancheng token` will not mint it either, and says why.
    let output = qiancheng(dir.path())
        .args(["token", "--role", "SERVICE", "--subject", "service:demand"])
        .output()
        .expect("run");
    assert!(!output.status.success(), "a SERVICE token of the development key is not minted");
    assert!(String::from_utf8_lossy(&output.stderr).contains("own key"), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(dev.terminate().await.success());
}

/// The province's identity provider, as its operators would wire it: an RS256 key published in
/// a JWKS at a URL, tokens with the province's own claim names mapped by configuration alone,
/// and a key rotated at the provider trusted without restarting the service.
async fn serve_trusts_the_identity_provider_and_a_rotated_key(backend: Backend) {
    use qiancheng_testkit::idp::{IdpKey, JwksServer, Route, jwks, now};
    let Some(database) = TestDatabase::create(backend).await else { return };
    const ISSUER: &str = "https://tyrz.hubei.gov.cn/idp";
    let idp = JwksServer::start().await;
    let first = IdpKey::rs256("hb-2025-01", 0);
    idp.set("/oauth2/jwks", Route::Body(jwks(&[&first])));
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut demand, addr) = serve(
        dir.path(),
        "demand",
        &[
            ("QIANCHENG_DATABASE_URL", database.url.clone()),
            ("QIANCHENG_OIDC_ISSUER", ISSUER.to_owned()),
            ("QIANCHENG_OIDC_AUDIENCE", "qiancheng".to_owned()),
            ("QIANCHENG_OIDC_JWKS", idp.url("/oauth2/jwks")),
            ("QIANCHENG_OIDC_JWKS_MIN_REFRESH_SECS", "0".to_owned()),
            ("QIANCHENG_OIDC_JWKS_REFRESH_SECS", "1".to_owned()),
            ("QIANCHENG_OIDC_SUBJECT_CLAIM", "user_id".to_owned()),
            ("QIANCHENG_OIDC_ROLES_CLAIM", "role_codes".to_owned()),
            ("QIANCHENG_OIDC_REGION_CLAIM", "xzqhdm".to_owned()),
            ("QIANCHENG_OIDC_ROLE_MAP", "RSJ_XQ=COUNTY_OFFICER,RSJ_SJ=CITY_ADMIN".to_owned()),
        ],
    )
    .await;
    wait_health(&addr, ServingStatus::Serving).await;
    let province = |key: &IdpKey, user: u64, roles: &str| {
        key.sign(&serde_json::json!({
            "iss": ISSUER, "aud": "qiancheng", "iat": now(), "exp": now() + 1800,
            "user_id": user, "role_codes": roles, "xzqhdm": "421221000000",
        }))
    };

    // A county officer of the province files demand with the provider's token.
    let officer = province(&first, 4_200_117, "RSJ_XQ,GR_YH");
    fixtures::publish_welding_demand(channel(&addr).await, &officer, "91421221MA4K7Y2G3", "421221", 6).await;
    let mut client = DemandServiceClient::new(channel(&addr).await);
    let board = client
        .list_published_vacancies(authed(ListPublishedVacanciesRequest::default(), &officer))
        .await
        .expect("the provider's token is accepted and mapped");
    assert_eq!(board.into_inner().vacancies.len(), 1);

    // The provider rotates: a new key is published, then the old one withdrawn.
    let second = IdpKey::rs256("hb-2025-02", 1);
    idp.set("/oauth2/jwks", Route::Body(jwks(&[&first, &second])));
    let rotated = province(&second, 4_200_118, "RSJ_SJ");
    client
        .list_vacancies(authed(qiancheng_api::demand::ListVacanciesRequest::default(), &rotated))
        .await
        .expect("a token of the rotated key is trusted without a restart");
    // A key withdrawn at the provider is dropped at the next scheduled reading (every second
    // here), its tokens refused from then on.
    idp.set("/oauth2/jwks", Route::Body(jwks(&[&second])));
    let withdrawn = province(&first, 4_200_119, "RSJ_SJ");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let answer =
            client.list_vacancies(authed(qiancheng_api::demand::ListVacanciesRequest::default(), &withdrawn)).await;
        match answer {
            Err(refused) => {
                assert_eq!(refused.code(), tonic::Code::Unauthenticated, "{refused:?}");
                break;
            }
            Ok(_) => assert!(Instant::now() < deadline, "a withdrawn key is dropped without a restart"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Whoever holds the provider still cannot speak for a service of the suite.
    let service = second.sign(&serde_json::json!({
        "iss": ISSUER, "aud": "qiancheng", "iat": now(), "exp": now() + 600,
        "user_id": "service:selection", "role_codes": "SERVICE",
    }));
    let refused = client
        .summarize_training_needs(authed(qiancheng_api::demand::SummarizeTrainingNeedsRequest::default(), &service))
        .await
        .expect_err("the provider asserting SERVICE");
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    assert!(idp.hits("/oauth2/jwks") >= 3, "read at start, for the new key id, and on schedule");
    assert!(demand.terminate().await.success());
}

#[tokio::test]
async fn serve_trusts_the_identity_provider_and_a_rotated_key_on_sqlite() {
    serve_trusts_the_identity_provider_and_a_rotated_key(Backend::Sqlite).await;
}

#[tokio::test]
async fn serve_trusts_the_identity_provider_and_a_rotated_key_on_postgres() {
    serve_trusts_the_identity_provider_and_a_rotated_key(Backend::Postgres).await;
}

/// A channel over TLS to `addr` (a port on 127.0.0.1) trusting `ca`, presenting `identity`.
async fn tls_channel(
    addr: &str,
    ca: &qiancheng_testkit::pki::TestCa,
    identity: Option<&qiancheng_testkit::pki::Issued>,
) -> Result<tonic::transport::Channel, tonic::transport::Error> {
    use tonic::transport::{Certificate, ClientTlsConfig, Identity};
    let port = addr.rsplit(':').next().expect("a port");
    let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca.pem())).domain_name("localhost");
    if let Some(issued) = identity {
        tls = tls.identity(Identity::from_pem(&issued.cert_pem, &issued.key_pem));
    }
    tonic::transport::Endpoint::from_shared(format!("https://localhost:{port}"))?
        .tls_config(tls)?
        .timeout(Duration::from_secs(5))
        .connect()
        .await
}

/// The production topology over mutual TLS: demand and selection as `serve` processes with
/// certificates of the suite's CA; demand asks every client for one, and lets selection's stand
/// in for its service token, so selection runs with no signing key. A client without a
/// certificate is refused; `qiancheng health` asks over TLS with the service's own files.
async fn two_serve_processes_over_mutual_tls(backend: Backend) {
    use qiancheng_testkit::pki::{TestCa, TlsFiles};
    let (Some(demand_db), Some(selection_db)) =
        (TestDatabase::create(backend).await, TestDatabase::create(backend).await)
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = TestCa::new("Xianning HRSS test CA");
    let demand_files = TlsFiles::write(dir.path(), "demand", &ca.issue(Some("demand"), "demand.qiancheng"), &ca);
    let selection_files =
        TlsFiles::write(dir.path(), "selection", &ca.issue(Some("selection"), "selection.qiancheng"), &ca);
    let issuer_key = dir.path().join("issuer.key");
    let officer = mint(dir.path(), &issuer_key, &["--role", "COUNTY_OFFICER", "--region", "421221"]);
    let tls_env = |files: &TlsFiles, client_auth: &str| {
        vec![
            ("QIANCHENG_TLS_CERT_FILE", files.cert.display().to_string()),
            ("QIANCHENG_TLS_KEY_FILE", files.key.display().to_string()),
            ("QIANCHENG_TLS_CA_FILE", files.ca.display().to_string()),
            ("QIANCHENG_TLS_CLIENT_AUTH", client_auth.to_owned()),
            ("QIANCHENG_AUTH_PUBLIC_KEYS", public_key(dir.path(), &issuer_key)),
        ]
    };
    let mut demand_env = tls_env(&demand_files, "required");
    demand_env.push(("QIANCHENG_DATABASE_URL", demand_db.url.clone()));
    demand_env.push(("QIANCHENG_TLS_CLIENT_SERVICES", "selection".to_owned()));
    let (mut demand, demand_addr) = serve(dir.path(), "demand", &demand_env).await;
    let demand_port = demand_addr.rsplit(':').next().expect("port").to_owned();
    let mut selection_env = tls_env(&selection_files, "optional");
    selection_env.push(("QIANCHENG_DATABASE_URL", selection_db.url.clone()));
    selection_env.push(("QIANCHENG_PEER_DEMAND_URL", format!("https://localhost:{demand_port}")));
    let (mut selection, selection_addr) = serve(dir.path(), "selection", &selection_env).await;

    // `qiancheng health` in demand's environment asks over mutual TLS.
    let mut health = qiancheng(dir.path());
    health.args(["health", "--addr", &demand_addr]);
    for (key, value) in tls_env(&demand_files, "required") {
        health.env(key, value);
    }
    let answered = health.output().expect("health");
    assert!(answered.status.success(), "{}", String::from_utf8_lossy(&answered.stderr));
    assert_eq!(String::from_utf8_lossy(&answered.stdout).trim(), "SERVING");

    let gateway = ca.issue(None, "gateway.qiancheng");
    let to_demand = tls_channel(&demand_addr, &ca, Some(&gateway)).await.expect("mutual TLS with the suite's CA");
    fixtures::publish_welding_demand(to_demand, &officer, "91421221MA4K7Y2G3", "421221", 8).await;
    let to_selection = tls_channel(&selection_addr, &ca, None).await.expect("TLS");
    let drafts = SelectionServiceClient::new(to_selection)
        .draft_catalog_from_demand(authed(qiancheng_testkit::selection::welding_draft(), &officer))
        .await
        .expect("selection reaches demand over mutual TLS with its certificate")
        .into_inner();
    assert_eq!(drafts.catalog_items.iter().map(|i| i.headcount).collect::<Vec<_>>(), [8]);

    // A client without a certificate, or with one of another CA, never reaches the service.
    let foreign = TestCa::new("another CA").issue(Some("selection"), "selection.qiancheng");
    for (what, identity) in [("no certificate", None), ("another CA's certificate", Some(&foreign))] {
        let reached = match tls_channel(&demand_addr, &ca, identity).await {
            Err(_) => false,
            Ok(channel) => DemandServiceClient::new(channel)
                .list_published_vacancies(authed(ListPublishedVacanciesRequest::default(), &officer))
                .await
                .is_ok(),
        };
        assert!(!reached, "a client with {what} is refused");
    }
    assert!(selection.terminate().await.success());
    assert!(demand.terminate().await.success());
}

#[tokio::test]
async fn two_serve_processes_talk_over_mutual_tls_on_sqlite() {
    two_serve_processes_over_mutual_tls(Backend::Sqlite).await;
}

#[tokio::test]
async fn two_serve_processes_talk_over_mutual_tls_on_postgres() {
    two_serve_processes_over_mutual_tls(Backend::Postgres).await;
}
