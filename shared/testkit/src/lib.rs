//! Test support for the suite: a fresh database per test (a SQLite file in a temporary folder,
//! or a new PostgreSQL database when `QIANCHENG_TEST_DATABASE_URL` is set), a real gRPC server
//! on `127.0.0.1:0` (over TLS when the test's settings name a certificate), and tokens for any
//! role, each calling service's signed with a key of its own as in production.
//!
//! [`backend_tests!`] runs each scenario once per backend. The PostgreSQL run is skipped (and
//! says so) when no URL is configured, unless `QIANCHENG_REQUIRE_POSTGRES=1`, as CI sets it, in
//! which case a missing URL fails the test.

// Skip notices and command-line errors are meant for a person reading the terminal.
#![allow(clippy::print_stderr)]

pub mod bench;
pub mod idp;
pub mod pki;
pub mod selection;
pub mod subsidy;
pub mod supervision;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use qiancheng_domain::policy::PolicySet;
use qiancheng_platform::auth::{Authenticator, Role, TokenMinter};
use qiancheng_platform::client::ServiceCredentials;
use qiancheng_platform::config::Settings;
use qiancheng_platform::db::Db;
use qiancheng_platform::pii::{DataKey, PiiCipher};
use qiancheng_platform::service::{Peer, Peers};
use qiancheng_platform::stream::StreamLimits;
use qiancheng_platform::tls::{ClientTls, ServerTls};
use qiancheng_platform::{ServiceSpec, Shared};
use sqlx::{AssertSqlSafe, Connection as _};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::service::Routes;
use tonic::transport::Channel;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in a temporary folder.
    Sqlite,
    /// A fresh database on the configured PostgreSQL server.
    Postgres,
}

/// The variable naming a PostgreSQL server tests may create databases on.
pub const POSTGRES_URL_VAR: &str = "QIANCHENG_TEST_DATABASE_URL";
/// The variable that makes a missing PostgreSQL URL a failure instead of a skip.
pub const REQUIRE_POSTGRES_VAR: &str = "QIANCHENG_REQUIRE_POSTGRES";

/// A database made for one test and removed after it.
#[derive(Debug)]
pub struct TestDatabase {
    /// The URL a service connects with.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    /// A fresh database on `backend`; `None` when PostgreSQL is not configured (and not required).
    pub async fn create(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("a temporary folder for the test database");
                let path: PathBuf = dir.path().join("test.db");
                Some(Self { url: format!("sqlite://{}?mode=rwc", path.display()), _dir: Some(dir), postgres: None })
            }
            Backend::Postgres => {
                let Some(admin_url) = std::env::var(POSTGRES_URL_VAR).ok().filter(|u| !u.is_empty()) else {
                    assert!(
                        std::env::var(REQUIRE_POSTGRES_VAR).as_deref() != Ok("1"),
                        "{REQUIRE_POSTGRES_VAR}=1 but {POSTGRES_URL_VAR} is not set"
                    );
                    eprintln!("skipped on PostgreSQL: {POSTGRES_URL_VAR} is not set");
                    return None;
                };
                let name = format!("qc_test_{}", ulid::Ulid::new().to_string().to_lowercase());
                let mut admin =
                    sqlx::PgConnection::connect(&admin_url).await.expect("connect to the test PostgreSQL server");
                sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut admin)
                    .await
                    .expect("create the test database");
                let _ = admin.close().await;
                let url = with_database(&admin_url, &name);
                Some(Self { url, _dir: None, postgres: Some((admin_url, name)) })
            }
        }
    }
}

/// `url` with its database replaced by `name`, keeping the scheme, credentials, host and query.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[authority_start..].find('/').map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{name}", &base[..authority_end]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.postgres.take() else { return };
        // Drop runs inside the test's runtime: drop the database from a thread of its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async {
                let mut admin = sqlx::PgConnection::connect(&admin_url).await.ok()?;
                sqlx::query(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                    .execute(&mut admin)
                    .await
                    .ok()?;
                admin.close().await.ok()
            })
        })
        .join();
    }
}

/// The callers a test's services know by their own keys: `test` (the test itself calling as a
/// service) and the services of the plan.
pub const SERVICE_CALLERS: &[&str] = &["test", "demand", "selection", "supervision", "outcome", "subsidy"];

/// Keys and settings shared by a test's services.
#[derive(Debug, Clone)]
pub struct Keys {
    /// Signs the test's people's tokens (an issuer key: it may not assert `SERVICE`).
    pub minter: TokenMinter,
    /// Each caller of [`SERVICE_CALLERS`] signs its `SERVICE` tokens with its own key.
    pub service_keys: BTreeMap<&'static str, TokenMinter>,
    /// Encrypts personal data.
    pub pii: PiiCipher,
    /// Settings with defaults.
    pub settings: Settings,
    /// The policy set the test's services decide under.
    pub policy: PolicySet,
}

impl Keys {
    /// A fresh random signing key and a fixed personal-data key (tests compare ciphertexts'
    /// absence, never their value).
    pub fn new() -> Self {
        let generate = || TokenMinter::generate().expect("randomness for a signing key");
        Self {
            minter: generate(),
            service_keys: SERVICE_CALLERS.iter().map(|name| (*name, generate())).collect(),
            pii: PiiCipher::new(&Self::original_data_key()),
            // A data directory of the test's own (documents a service stores), never the
            // working directory.
            settings: Settings {
                data_dir: std::env::temp_dir().join(format!("qiancheng-test-{}", ulid::Ulid::new())),
                ..Settings::default()
            },
            policy: PolicySet::current(),
        }
    }

    /// The fixed original data key (`v1`) of every test.
    fn original_data_key() -> [u8; 32] {
        let mut key = [0u8; 32];
        for (i, b) in key.iter_mut().enumerate() {
            *b = u8::try_from(i).unwrap_or(0) ^ 0x5a;
        }
        key
    }

    /// The same keys with `newer` data keys after the original one, the last sealing new
    /// values: the configuration of a service after a key rotation.
    pub fn with_newer_data_keys(mut self, newer: Vec<DataKey>) -> Self {
        let mut keys = vec![DataKey::original(Self::original_data_key())];
        keys.extend(newer);
        self.pii = PiiCipher::with_keys(keys).expect("distinct test data keys");
        self
    }

    /// The peer `name` at `addr`, called with a `SERVICE` token (subject `service:test`) signed
    /// by the test's key.
    pub fn peer(&self, name: &'static str, addr: SocketAddr) -> Peer {
        self.peer_for("test", name, addr)
    }

    /// The peer `name` at `addr`, called as the suite's service `caller` (`service:<caller>`)
    /// with a token of its own key, as a service calls its peers in production; over TLS when
    /// the settings name a CA file.
    pub fn peer_for(&self, caller: &str, name: &'static str, addr: SocketAddr) -> Peer {
        let credentials = ServiceCredentials::new(self.service_key(caller).clone(), caller);
        let (credentials, url) = match &self.settings.tls_ca_file {
            Some(_) => {
                let tls = ClientTls::from_settings(&self.settings).expect("the test's TLS files");
                (credentials.with_tls(tls), format!("https://{addr}"))
            }
            None => (credentials, format!("http://{addr}")),
        };
        Peer::connect(name, &url, credentials, self.settings.peer_timeout()).expect("a peer URL of a local address")
    }

    /// The own key of the calling service `caller`, one of [`SERVICE_CALLERS`].
    pub fn service_key(&self, caller: &str) -> &TokenMinter {
        self.service_keys
            .get(caller)
            .unwrap_or_else(|| panic!("{caller} is not among the test callers {SERVICE_CALLERS:?}: add it there"))
    }

    /// A token for `role`, with the region and organisation its scope needs; a `SERVICE` token
    /// is the test's own caller (`service:test`), signed with its own key, and names no region or
    /// organisation (a service has neither, and its key asserts nothing else).
    pub fn token(&self, role: Role, region: Option<&str>, org: Option<&str>) -> String {
        if role == Role::Service {
            return self
                .service_key("test")
                .mint("service:test", &[role], None, None, 3600)
                .expect("mint a test token");
        }
        self.minter
            .mint(&format!("test-{}", role.as_str().to_lowercase()), &[role], region, org, 3600)
            .expect("mint a test token")
    }

    /// What a test's services trust, as a served service would: the issuer key for people, each
    /// caller's own key for its `SERVICE` calls, and the certificates the settings let stand in
    /// for tokens.
    pub fn authenticator(&self) -> Authenticator {
        let mut auth = self
            .minter
            .authenticator()
            .with_leeway(self.settings.auth_leeway_secs)
            .with_max_lifetime(self.settings.auth_max_token_lifetime_secs)
            .with_certificate_services(self.settings.tls_client_services.iter().cloned());
        for (name, key) in &self.service_keys {
            auth = auth.with_service_key(name, key.verifying_key());
        }
        auth
    }
}

impl Default for Keys {
    fn default() -> Self {
        Self::new()
    }
}

/// A real server on `127.0.0.1:0`, stopped when dropped.
#[derive(Debug)]
pub struct RunningServer {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl RunningServer {
    /// Serves `routes` with the suite's server builder, trusting tokens of `auth`; readiness
    /// follows `db` when given; over TLS when `settings` name a certificate.
    pub async fn start(
        service_name: &'static str,
        routes: Routes,
        settings: &Settings,
        auth: Authenticator,
        db: Option<Db>,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let addr = listener.local_addr().expect("local address");
        let (stop, stopped) = oneshot::channel::<()>();
        let tls = ServerTls::from_settings(settings).expect("the test's TLS files");
        let settings = settings.clone();
        let task = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(error) = qiancheng_platform::server::serve(
                qiancheng_platform::server::ServerConfig {
                    service_name,
                    settings: &settings,
                    auth,
                    db,
                    readiness: Default::default(),
                    tls,
                },
                routes,
                listener,
                shutdown,
            )
            .await
            {
                eprintln!("test server stopped: {error}");
            }
        });
        Self { addr, stop: Some(stop), task: Some(task) }
    }

    /// A channel to the server.
    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr))
            .expect("a valid URI")
            .connect()
            .await
            .expect("connect to the test server")
    }

    /// Stops the server and waits for calls in flight to drain.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// One service of the suite on a real server on `127.0.0.1:0` over a fresh database.
#[derive(Debug)]
pub struct TestService {
    /// The server.
    pub server: RunningServer,
    /// The service's database, for checks of what was stored.
    pub db: Db,
    /// The keys its tokens are signed with.
    pub keys: Keys,
    /// Its personal-data cipher, which knows whether its database has settled on the newest
    /// data key ([`qiancheng_platform::rekey::observe`]).
    pub pii: PiiCipher,
    database: TestDatabase,
}

impl TestService {
    /// Starts `spec` on `backend` with fresh keys and no peers; `None` when the backend is not
    /// configured.
    pub async fn start(spec: &dyn ServiceSpec, backend: Backend) -> Option<Self> {
        Self::start_with(spec, backend, Keys::new(), Peers::default()).await
    }

    /// Starts `spec` on `backend` with `keys` and `peers`.
    pub async fn start_with(spec: &dyn ServiceSpec, backend: Backend, keys: Keys, peers: Peers) -> Option<Self> {
        let database = TestDatabase::create(backend).await?;
        Some(Self::serve(spec, database, keys, peers).await)
    }

    /// Stops the service and starts `spec` again on the same database with `keys` and `peers`,
    /// as an operator's restart with a new configuration (another data key) would.
    pub async fn restart(self, spec: &dyn ServiceSpec, keys: Keys, peers: Peers) -> Self {
        let Self { server, db, database, .. } = self;
        server.stop().await;
        db.close().await;
        Self::serve(spec, database, keys, peers).await
    }

    /// Serves `spec` over `database`.
    async fn serve(spec: &dyn ServiceSpec, database: TestDatabase, keys: Keys, peers: Peers) -> Self {
        let db = Db::connect(&database.url, None, spec.migrator()).await.expect("connect and migrate");
        let pii = keys.pii.for_database();
        qiancheng_platform::rekey::observe(&db, &pii).await.expect("the database's data key is configured");
        let shared = Shared {
            db: db.clone(),
            pii: pii.clone(),
            policy: Arc::new(keys.policy.clone()),
            peers,
            streams: StreamLimits::new(&keys.settings),
        };
        let routes = spec.routes(shared, &keys.settings);
        let server =
            RunningServer::start(spec.grpc_name(), routes, &keys.settings, keys.authenticator(), Some(db.clone()))
                .await;
        Self { server, db, keys, pii, database }
    }

    /// A channel to the service.
    pub async fn channel(&self) -> Channel {
        self.server.channel().await
    }

    /// The database URL, for tests that open their own connection.
    pub fn database_url(&self) -> &str {
        &self.database.url
    }

    /// A token for `role` signed with the service's keys.
    pub fn token(&self, role: Role, region: Option<&str>, org: Option<&str>) -> String {
        self.keys.token(role, region, org)
    }
}

/// The `ErrorInfo.reason` of a refused call (the rule or platform code), empty if none.
pub fn reason(status: &tonic::Status) -> String {
    tonic_types::StatusExt::get_error_details(status).error_info().map(|i| i.reason.clone()).unwrap_or_default()
}

/// A caller holding `roles`, working in `region` for organisation `org`, as the gate would
/// admit it: for unit tests of access rules.
pub fn principal(roles: &[Role], region: Option<&str>, org: Option<&str>) -> qiancheng_platform::auth::Principal {
    qiancheng_platform::auth::Principal {
        subject: "t".into(),
        roles: roles.to_vec(),
        region: region.map(|r| qiancheng_domain::RegionCode::parse(r).expect("a region")),
        org: org.map(str::to_owned),
    }
}

/// Sends `bodies` as they are (well formed or not) as the messages of a call of `path` with
/// `token`, and returns the messages answered, as they came, with the status the call ended with
/// when it was not OK: what a hostile client sees of any RPC.
pub async fn raw_call(
    channel: Channel,
    path: &'static str,
    token: &str,
    bodies: Vec<Vec<u8>>,
) -> (Vec<Vec<u8>>, Option<tonic::Status>) {
    let mut grpc = tonic::client::Grpc::new(channel);
    if let Err(e) = grpc.ready().await {
        return (Vec::new(), Some(tonic::Status::unavailable(e.to_string())));
    }
    let path = tonic::codegen::http::uri::PathAndQuery::from_static(path);
    let bodies = tokio_stream::iter(bodies.into_iter().map(prost::bytes::Bytes::from));
    let mut answers = match grpc.streaming(authed(bodies, token), path, qiancheng_api::codec::RawCodec).await {
        Ok(answers) => answers.into_inner(),
        Err(status) => return (Vec::new(), Some(status)),
    };
    let mut all = Vec::new();
    loop {
        match answers.message().await {
            Ok(Some(answer)) => all.push(answer.to_vec()),
            Ok(None) => return (all, None),
            Err(status) => return (all, Some(status)),
        }
    }
}

/// The code and rule code of a call that must be refused.
pub fn refusal<T: std::fmt::Debug>(result: Result<T, tonic::Status>) -> (tonic::Code, String) {
    let status = result.expect_err("the call is refused");
    (status.code(), reason(&status))
}

/// The fields a refused call's `BadRequest` names, in order.
pub fn bad_fields(status: &tonic::Status) -> Vec<String> {
    tonic_types::StatusExt::get_error_details(status)
        .bad_request()
        .map(|b| b.field_violations.iter().map(|f| f.field.clone()).collect())
        .unwrap_or_default()
}

/// A request carrying `token` as its bearer token.
pub fn authed<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().expect("a token is valid metadata"));
    request
}

/// Runs each named scenario on SQLite and on PostgreSQL. `$start` makes the test's app for a
/// backend (returning `None` when the backend is not configured); each scenario takes `&App`.
#[macro_export]
macro_rules! backend_tests {
    ($start:ident => $($name:ident),+ $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let app = super::$start($crate::Backend::Sqlite).await.expect("SQLite is always available");
                    super::$name(&app).await;
                }
            )+
        }
        mod on_postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(app) = super::$start($crate::Backend::Postgres).await else { return };
                    super::$name(&app).await;
                }
            )+
        }
    };
}

/// Fixtures: valid identifiers built from their first 17 characters, the check character found
/// by the domain's own validator so tests never carry a second copy of the algorithm, and demand
/// filed through the demand service's own API.
pub mod fixtures {
    use qiancheng_api::demand::demand_service_client::DemandServiceClient;
    use qiancheng_api::demand::{
        CreateEnterpriseRequest, CreateVacancyRequest, Enterprise, PublishVacancyRequest, SurveyMethod, Vacancy,
    };
    use qiancheng_api::types::{Date, Industry, SkillLevel};
    use qiancheng_domain::{IdNumber, Uscc};
    use tonic::transport::Channel;

    /// Files demand in the demand service as `token` would: an equipment-manufacturing enterprise
    /// of `county` (credit code from `enterprise_first17`) and its published vacancy for
    /// `headcount` welders (6-18-02-04, 四级). Returns the vacancy's name.
    pub async fn publish_welding_demand(
        channel: Channel,
        token: &str,
        enterprise_first17: &str,
        county: &str,
        headcount: i32,
    ) -> String {
        let mut demand = DemandServiceClient::new(channel);
        let credit_code = uscc(enterprise_first17);
        demand
            .create_enterprise(super::authed(
                CreateEnterpriseRequest {
                    enterprise: Some(Enterprise {
                        credit_code: credit_code.clone(),
                        display_name: "嘉鱼重工装备有限公司".into(),
                        region_code: county.into(),
                        industry: Industry::EquipmentManufacturing as i32,
                        ..Default::default()
                    }),
                    request_id: String::new(),
                },
                token,
            ))
            .await
            .expect("the enterprise is registered");
        let vacancy = demand
            .create_vacancy(super::authed(
                CreateVacancyRequest {
                    vacancy: Some(Vacancy {
                        enterprise_credit_code: credit_code,
                        post: "焊接操作工".into(),
                        occupation_code: "6-18-02-04".into(),
                        occupation_name: "焊工".into(),
                        skill_level: SkillLevel::SkillLevel4 as i32,
                        headcount,
                        pay_min_fen: 450_000,
                        pay_max_fen: 650_000,
                        work_region_code: county.into(),
                        needed_by: Some(Date { year: 2030, month: 3, day: 1 }),
                        survey_method: SurveyMethod::DoorToDoor as i32,
                        ..Default::default()
                    }),
                    request_id: String::new(),
                },
                token,
            ))
            .await
            .expect("the vacancy is filed")
            .into_inner()
            .vacancy
            .expect("a vacancy");
        demand
            .publish_vacancy(super::authed(
                PublishVacancyRequest { name: vacancy.name.clone(), ..Default::default() },
                token,
            ))
            .await
            .expect("the vacancy is published");
        vacancy.name
    }

    /// A valid unified social credit code starting with `first17`.
    pub fn uscc(first17: &str) -> String {
        "0123456789ABCDEFGHJKLMNPQRTUWXY"
            .chars()
            .map(|c| format!("{first17}{c}"))
            .find(|code| Uscc::parse(code).is_ok())
            .expect("some check character completes the code")
    }

    /// A valid resident ID number starting with `first17`.
    pub fn id_number(first17: &str) -> String {
        "0123456789X"
            .chars()
            .map(|c| format!("{first17}{c}"))
            .find(|id| IdNumber::parse(id).is_ok())
            .expect("some check character completes the number")
    }

    /// The same code with its check character changed, so that it fails the check.
    pub fn with_wrong_check(valid: &str) -> String {
        let (body, last) = valid.split_at(valid.len() - 1);
        let replacement = if last == "1" { "2" } else { "1" };
        format!("{body}{replacement}")
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn test_database_urls_keep_host_credentials_and_options() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(with_database("postgresql://u:p@db:5432", "t1"), "postgresql://u:p@db:5432/t1");
        assert_eq!(with_database("postgres://u@db/test?sslmode=disable", "t1"), "postgres://u@db/t1?sslmode=disable");
    }
}
