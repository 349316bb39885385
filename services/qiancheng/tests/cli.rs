//! The `qiancheng` binary as a newcomer and an operator use it: as separate processes, against a
//! SQLite data folder or a PostgreSQL database, talking gRPC over loopback.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use qiancheng_api::demand::demand_service_client::DemandServiceClient;
use qiancheng_api::demand::{CreateEnterpriseRequest, Enterprise, GetEnterpriseRequest, ListPublishedVacanciesRequest};
use qiancheng_api::selection::selection_service_client::SelectionServiceClient;
use qiancheng_api::selection::{DraftCatalogFromDemandRequest, TrainingMode};
use qiancheng_api::types::Industry;
use qiancheng_testkit::{Backend, TestDatabase, authed, fixtures};
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};

const BIN: &str = env!("CARGO_BIN_EXE_qiancheng");

fn qiancheng(dir: &Path) -> Command {
    let mut command = Command::new(BIN);
    command.current_dir(dir).env_remove("QIANCHENG_DATABASE_URL").env_remove("QIANCHENG_DATA_DIR");
    command
}

/// A child process that is stopped with SIGTERM (as an orchestrator would) when dropped.
struct Running(Child);

impl Running {
    /// Sends SIGTERM and waits for the exit without blocking the test's runtime, so that the
    /// test's own client connections can answer the server's GOAWAY and close.
    async fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.0.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "the process did not stop on SIGTERM");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Reads the child's standard output until `done` says enough, returning the lines read.
fn read_until(child: &mut Child, done: impl Fn(&[String]) -> bool) -> Vec<String> {
    let stdout = child.stdout.take().expect("piped stdout");
    let mut reader = BufReader::new(stdout).lines();
    let mut lines = Vec::new();
    for line in reader.by_ref() {
        lines.push(line.expect("utf-8 output"));
        if done(&lines) {
            break;
        }
    }
    // Keep reading in the background so the child never writes into a closed pipe.
    std::thread::spawn(move || reader.for_each(drop));
    lines
}

async fn wait_serving(addr: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(channel) =
            tonic::transport::Endpoint::from_shared(format!("http://{addr}")).expect("uri").connect().await
        {
            let status = HealthClient::new(channel).check(HealthCheckRequest { service: String::new() }).await;
            if status.is_ok_and(|s| s.into_inner().status == ServingStatus::Serving as i32) {
                return;
            }
        }
        assert!(Instant::now() < deadline, "{addr} never became SERVING");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn dev_runs_the_suite_prints_endpoints_and_a_token_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Running(
        qiancheng(dir.path()).args(["dev", "--base-port", "0"]).stdout(Stdio::piped()).spawn().expect("start dev"),
    );
    let lines = read_until(&mut child.0, |lines| lines.iter().any(|l| l.starts_with("Press Ctrl-C")));
    let endpoint = lines
        .iter()
        .find_map(|l| {
            l.trim().strip_prefix("demand").map(|rest| rest.split_whitespace().next().expect("addr").to_owned())
        })
        .expect("the demand endpoint is printed");
    let token_line = lines.iter().position(|l| l.starts_with("Administrator token")).expect("a token is printed");
    let token = lines[token_line + 1].trim().to_owned();
    wait_serving(&endpoint).await;

    let channel = tonic::transport::Endpoint::from_shared(format!("http://{endpoint}"))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    let mut client = DemandServiceClient::new(channel);
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

    // A token minted by `qiancheng token` with the same data folder is accepted too.
    let minted =
        qiancheng(dir.path()).args(["token", "--role", "ENTERPRISE", "--org", &code]).output().expect("mint a token");
    assert!(minted.status.success(), "{}", String::from_utf8_lossy(&minted.stderr));
    let enterprise_token = String::from_utf8(minted.stdout).expect("utf-8").trim().to_owned();
    client
        .get_enterprise(authed(GetEnterpriseRequest { name: format!("enterprises/{code}") }, &enterprise_token))
        .await
        .expect("the enterprise reads itself");

    let health = qiancheng(dir.path()).args(["health", "--addr", &endpoint]).output().expect("health");
    assert!(health.status.success(), "`qiancheng health` reports SERVING");
    assert_eq!(String::from_utf8_lossy(&health.stdout).trim(), "SERVING");

    let status = child.terminate().await;
    assert!(status.success(), "dev stops cleanly: {status:?}");
    let after = qiancheng(dir.path()).args(["health", "--addr", &endpoint]).output().expect("health");
    assert!(!after.status.success(), "a stopped service is not healthy");
    assert!(dir.path().join("data/demand.db").exists(), "the SQLite file is under ./data");
}

#[test]
fn token_refuses_a_county_officer_without_a_county() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = qiancheng(dir.path()).args(["token", "--role", "COUNTY_OFFICER"]).output().expect("run");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("county"));
    let output = qiancheng(dir.path()).args(["token", "--role", "MAYOR"]).output().expect("run");
    assert!(!output.status.success(), "an unknown role is refused");
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

async fn serve_as_its_own_process(backend: Backend) {
    let Some(database) = TestDatabase::create(backend).await else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let key_file = dir.path().join("signing.key");
    let minted = qiancheng(dir.path())
        .args(["token", "--role", "CITY_ADMIN", "--region", "421200", "--key-file"])
        .arg(&key_file)
        .output()
        .expect("mint");
    assert!(minted.status.success());
    let token = String::from_utf8(minted.stdout).expect("utf-8").trim().to_owned();
    let seed = std::fs::read_to_string(&key_file).expect("key file");
    let public_key = public_key_of(&seed);

    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
    let addr = listener.local_addr().expect("addr").to_string();
    drop(listener);
    let mut child = Running(
        qiancheng(dir.path())
            .args(["serve", "demand"])
            .env("QIANCHENG_BIND_ADDR", &addr)
            .env("QIANCHENG_DATABASE_URL", &database.url)
            .env("QIANCHENG_AUTH_PUBLIC_KEYS", &public_key)
            .env("QIANCHENG_DATA_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
            .env("QIANCHENG_LOG_FORMAT", "json")
            .stdout(Stdio::null())
            .spawn()
            .expect("serve"),
    );
    wait_serving(&addr).await;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    let board = DemandServiceClient::new(channel)
        .list_published_vacancies(authed(ListPublishedVacanciesRequest::default(), &token))
        .await
        .expect("an authenticated call");
    assert!(board.into_inner().vacancies.is_empty());
    assert!(child.terminate().await.success(), "serve drains and exits cleanly on SIGTERM");
}

/// The public key of a development signing key, as `QIANCHENG_AUTH_PUBLIC_KEYS` takes it.
fn public_key_of(seed_base64: &str) -> String {
    let path = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(path.path(), seed_base64).expect("write");
    qiancheng_platform::auth::TokenMinter::load(path.path()).expect("a signing key").public_key_base64()
}

/// A free loopback address for a service to listen on.
fn free_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
    listener.local_addr().expect("addr").to_string()
}

/// Mints a token with the key in `key_file` (made if missing) and returns it.
fn mint(dir: &Path, key_file: &Path, args: &[&str]) -> String {
    let minted = qiancheng(dir).arg("token").args(args).arg("--key-file").arg(key_file).output().expect("mint");
    assert!(minted.status.success(), "{}", String::from_utf8_lossy(&minted.stderr));
    String::from_utf8(minted.stdout).expect("utf-8").trim().to_owned()
}

/// The production topology on one machine: demand and selection as separate `serve` processes,
/// each on its own database, selection calling demand with a token it signs with its own key,
/// which demand trusts beside the token issuer's.
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
    mint(dir.path(), &selection_key, &["--role", "SERVICE"]);
    let issuer_public = public_key_of(&std::fs::read_to_string(&issuer_key).expect("key"));
    let selection_public = public_key_of(&std::fs::read_to_string(&selection_key).expect("key"));
    let data_key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

    let demand_addr = free_addr();
    let mut demand = Running(
        qiancheng(dir.path())
            .args(["serve", "demand"])
            .env("QIANCHENG_BIND_ADDR", &demand_addr)
            .env("QIANCHENG_DATABASE_URL", &demand_db.url)
            .env("QIANCHENG_AUTH_PUBLIC_KEYS", format!("{issuer_public},{selection_public}"))
            .env("QIANCHENG_DATA_KEY", data_key)
            .stdout(Stdio::null())
            .spawn()
            .expect("serve demand"),
    );
    let selection_addr = free_addr();
    let mut selection = Running(
        qiancheng(dir.path())
            .args(["serve", "selection"])
            .env("QIANCHENG_BIND_ADDR", &selection_addr)
            .env("QIANCHENG_DATABASE_URL", &selection_db.url)
            .env("QIANCHENG_AUTH_PUBLIC_KEYS", &issuer_public)
            .env("QIANCHENG_DATA_KEY", data_key)
            .env("QIANCHENG_PEER_DEMAND_URL", format!("http://{demand_addr}"))
            .env("QIANCHENG_SERVICE_SIGNING_KEY_FILE", &selection_key)
            .stdout(Stdio::null())
            .spawn()
            .expect("serve selection"),
    );
    wait_serving(&demand_addr).await;
    wait_serving(&selection_addr).await;

    let demand_channel = tonic::transport::Endpoint::from_shared(format!("http://{demand_addr}"))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    fixtures::publish_welding_demand(demand_channel, &officer, "91421221MA4K7Y2G3", "421221", 8).await;
    let selection_channel = tonic::transport::Endpoint::from_shared(format!("http://{selection_addr}"))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    let drafts = SelectionServiceClient::new(selection_channel)
        .draft_catalog_from_demand(authed(
            DraftCatalogFromDemandRequest {
                content: "焊接安全与实操".into(),
                hours: 80,
                mode: TrainingMode::Offline as i32,
                ..Default::default()
            },
            &officer,
        ))
        .await
        .expect("selection reads demand's summary with its own service token")
        .into_inner();
    assert_eq!(drafts.catalog_items.iter().map(|i| i.headcount).collect::<Vec<_>>(), [8]);

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
        .env("QIANCHENG_AUTH_PUBLIC_KEYS", public_key_of(&std::fs::read_to_string(&key).expect("key")))
        .env("QIANCHENG_DATA_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
        .env("QIANCHENG_PEER_DEMAND_URL", "http://127.0.0.1:9")
        .env_remove("QIANCHENG_SERVICE_SIGNING_KEY_FILE")
        .output()
        .expect("run");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("QIANCHENG_SERVICE_SIGNING_KEY_FILE"));
}

#[tokio::test]
async fn serve_runs_one_service_as_its_own_process_on_sqlite() {
    serve_as_its_own_process(Backend::Sqlite).await;
}

#[tokio::test]
async fn serve_runs_one_service_as_its_own_process_on_postgres() {
    serve_as_its_own_process(Backend::Postgres).await;
}

#[test]
fn policy_evaluate_and_explain_replay_the_documented_example() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/examples/claim-facts.json");
    let dir = tempfile::tempdir().expect("tempdir");
    let output = qiancheng(dir.path()).args(["policy", "evaluate"]).arg(&example).output().expect("evaluate");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let decision: serde_json::Value = serde_json::from_slice(&output.stdout).expect("the decision is JSON");
    assert_eq!(decision["policy_version"], "xianning-2025-5/v1");
    assert_eq!(decision["outcome"]["total_fen"], 1_580_000, "the total docs/policy-facts.md states");

    let output = qiancheng(dir.path()).args(["policy", "explain"]).arg(&example).output().expect("explain");
    assert!(output.status.success());
    let table = String::from_utf8(output.stdout).expect("utf-8");
    for expected in ["SUBS-TIER", "SUBS-CAP", "ELIG-FISCAL", "15800.00"] {
        assert!(table.contains(expected), "the table mentions {expected}:\n{table}");
    }

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
        text.contains("xianning-2025-5/v1") && text.contains("2025-06-06") && text.contains("2027-12-31"),
        "{text}"
    );

    let broken = String::from_utf8(shown.stdout)
        .expect("utf-8")
        .replace("valid_to = \"2027-12-31\"", "valid_to = \"2024-01-01\"");
    std::fs::write(&file, broken).expect("write");
    let refused = qiancheng(dir.path()).args(["policy", "check-set"]).arg(&file).output().expect("check");
    assert!(!refused.status.success(), "a set that ends before it starts is refused");
}
