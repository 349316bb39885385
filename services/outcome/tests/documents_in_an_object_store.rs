//! Evidence documents in an S3-compatible object store, through the outcome service's client on
//! a real server on port 0, on SQLite and PostgreSQL: a document is put once under Object Lock
//! until the end of its retention period, read back checked against its address (an object
//! replaced behind the service's back is refused, never served), and a store that cannot be
//! reached refuses the upload UNAVAILABLE with nothing stored.
//!
//! The store is the one `QIANCHENG_S3_TEST_ENDPOINT` names (`.ci/run` starts one); without it
//! the tests say so on stderr and pass, unless `QIANCHENG_REQUIRE_S3=1`, when they fail.

use qiancheng_api::outcome::outcome_service_client::OutcomeServiceClient;
use qiancheng_api::outcome::*;
use qiancheng_domain::policy::PolicySet;
use qiancheng_domain::{RegionCode, TargetGroup};
use qiancheng_outcome::store::evidence::EvidenceRecord;
use qiancheng_outcome::store::trainee::TraineeRecord;
use qiancheng_outcome::{Documents, SpecWithDocuments};
use qiancheng_platform::Stamp;
use qiancheng_platform::auth::Role;
use qiancheng_platform::object_store::{ObjectStore, ObjectStoreConfig};
use qiancheng_platform::record;
use qiancheng_testkit::{Backend, TestService, authed, fixtures};
use tonic::Code;

/// The test store's settings, a bucket of its own per run and backend; `None` (said on stderr)
/// when no store is configured.
#[allow(clippy::print_stderr)]
fn store_config(backend: Backend, object_lock: bool) -> Option<ObjectStoreConfig> {
    let Ok(endpoint) = std::env::var("QIANCHENG_S3_TEST_ENDPOINT") else {
        assert!(
            std::env::var("QIANCHENG_REQUIRE_S3").as_deref() != Ok("1"),
            "QIANCHENG_REQUIRE_S3=1 but QIANCHENG_S3_TEST_ENDPOINT is not set"
        );
        eprintln!("skipped: QIANCHENG_S3_TEST_ENDPOINT names no S3-compatible store");
        return None;
    };
    let bucket = format!("qiancheng-{}-{}", format!("{backend:?}").to_lowercase(), ulid::Ulid::new()).to_lowercase();
    let env = [
        ("ENDPOINT", endpoint),
        ("BUCKET", bucket),
        ("ACCESS_KEY_ID", std::env::var("QIANCHENG_S3_TEST_ACCESS_KEY_ID").unwrap_or_else(|_| "test".to_owned())),
        (
            "SECRET_ACCESS_KEY",
            std::env::var("QIANCHENG_S3_TEST_SECRET_ACCESS_KEY").unwrap_or_else(|_| "test".to_owned()),
        ),
        ("OBJECT_LOCK", if object_lock { "1" } else { "0" }.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (format!("QIANCHENG_OUTCOME_DOCUMENTS_S3_{k}"), v))
    .collect();
    Some(ObjectStoreConfig::from_env("QIANCHENG_OUTCOME_DOCUMENTS", &env).expect("valid settings").expect("a store"))
}

struct App {
    service: TestService,
    store: ObjectStore,
    trainee: TraineeRecord,
    backend: Backend,
}

async fn start_with(backend: Backend, config: ObjectStoreConfig) -> Option<App> {
    let store = ObjectStore::new(config).expect("a store");
    let spec = SpecWithDocuments { documents: Documents::in_object_store(store.clone()) };
    let service = TestService::start(&spec, backend).await?;
    let today = qiancheng_domain::today_in_china();
    let last_day = today.checked_sub_days(chrono::Days::new(30))?;
    let trainee = TraineeRecord {
        id: "t1".to_owned(),
        roster_entry: "classes/c1/trainees/t1".to_owned(),
        class_id: "c1".to_owned(),
        project_id: "p1".to_owned(),
        provider_credit_code: fixtures::uscc("52421221MJ0000044"),
        region: RegionCode::parse("421221").expect("a county"),
        person_hash: "hash-t1".to_owned(),
        id_number_masked: "4212**********001*".to_owned(),
        name_masked: "张*".to_owned(),
        judged_group: TargetGroup::OtherEligible,
        prior_level: None,
        class_first_day: last_day.checked_sub_days(chrono::Days::new(30))?,
        class_last_day: last_day,
        class_filed_on: last_day.checked_sub_days(chrono::Days::new(40))?,
        class_completed: true,
        policy_version: PolicySet::current().version.clone(),
        policy_digest: String::new(),
        completed: true,
        plan_trainee: true,
        excluded_by: String::new(),
        prehire: false,
        prehire_enterprise: String::new(),
        occupation_code: "6-18-02-04".to_owned(),
        stamp: Stamp::new(),
    };
    let (mut tx, _turn) = service.db.begin_write().await.ok()?;
    record::insert(&mut tx, &trainee).await.ok()?;
    tx.commit().await.ok()?;
    Some(App { service, store, trainee, backend })
}

async fn start(backend: Backend) -> Option<App> {
    let config = store_config(backend, true)?;
    let app = start_with(backend, config).await?;
    app.store.create_bucket().await.expect("a bucket with Object Lock");
    Some(app)
}

impl App {
    async fn client(&self) -> OutcomeServiceClient<tonic::transport::Channel> {
        OutcomeServiceClient::new(self.service.channel().await)
    }

    fn officer(&self) -> String {
        self.service.token(Role::CountyOfficer, Some("421221"), None)
    }

    async fn record(&self, content: &[u8]) -> Result<Evidence, tonic::Status> {
        let input = EvidenceInput {
            trainee: format!("trainees/{}", self.trainee.id),
            kind: EvidenceKind::Contract as i32,
            contract: Some(ContractEvidence {
                employer_credit_code: fixtures::uscc("91421221MA0000033"),
                kind: ContractKind::Labour as i32,
                signed_on: Some(qiancheng_api::convert::date_to_proto(self.trainee.class_last_day)),
                ..Default::default()
            }),
            media_type: "application/pdf".to_owned(),
            document_content: content.to_vec(),
            ..Default::default()
        };
        let request =
            RecordEvidenceRequest { evidence: Some(input), note: "from the employer".to_owned(), ..Default::default() };
        let response = self.client().await.record_evidence(authed(request, &self.officer())).await?;
        Ok(response.into_inner().evidence.expect("an item"))
    }

    async fn document(&self, evidence: &str) -> Result<GetEvidenceDocumentResponse, tonic::Status> {
        let request = GetEvidenceDocumentRequest { name: evidence.to_owned() };
        Ok(self.client().await.get_evidence_document(authed(request, &self.officer())).await?.into_inner())
    }
}

/// A document is put once, under its address, and read back whole.
async fn documents_are_kept_in_the_object_store_once_and_read_back_checked(app: &App) {
    let content = b"%PDF-1.7 labour contract of t1".to_vec();
    let address = Documents::address(&content);
    let key = format!("{}/{address}", &address[..2]);
    assert!(!app.store.exists(&key).await.expect("asked"), "nothing before the upload");

    let first = app.record(&content).await.expect("recorded");
    let document = first.document.clone().expect("a document");
    assert_eq!(document.sha256, address);
    assert!(app.store.exists(&key).await.expect("asked"), "the object is under its address");
    assert_eq!(app.store.get(&key).await.expect("read").as_deref(), Some(content.as_slice()));
    let read = app.document(&first.name).await.expect("read back");
    assert_eq!(read.content, content);

    // The same content again is a second item resting on the same object.
    let second = app.record(&content).await.expect("recorded again");
    assert_ne!(second.name, first.name);
    assert_eq!(second.document.expect("a document").sha256, address);

    // An object replaced behind the service's back no longer matches its address: refused,
    // never served.
    let retain_until = qiancheng_domain::today_in_china();
    app.store.put(&key, b"forged", retain_until).await.expect("a new version put directly");
    let error = app.document(&first.name).await.expect_err("a forged document");
    assert_ne!(error.code(), Code::Ok);
    assert!(!String::from_utf8_lossy(error.message().as_bytes()).contains("forged"));
}

/// A store that cannot be reached refuses the upload UNAVAILABLE, and nothing is stored.
async fn an_unreachable_store_refuses_the_upload_and_nothing_is_stored(app: &App) {
    let mut config = store_config(Backend::Sqlite, false).expect("configured, as the scenario runs");
    // A port nobody listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = listener.local_addr().expect("an address").port();
    drop(listener);
    config.endpoint = format!("http://127.0.0.1:{port}").parse().expect("a URL");
    let store = ObjectStore::new(config).expect("a store");
    let spec = SpecWithDocuments { documents: Documents::in_object_store(store) };
    let Some(down) = TestService::start(&spec, app.backend).await else { return };
    let (mut tx, _turn) = down.db.begin_write().await.expect("a write");
    record::insert(&mut tx, &app.trainee).await.expect("the trainee");
    tx.commit().await.expect("committed");
    let unreachable =
        App { service: down, store: app.store.clone(), trainee: app.trainee.clone(), backend: app.backend };
    let error = unreachable.record(b"a contract").await.expect_err("the store is down");
    assert_eq!(error.code(), Code::Unavailable, "{error:?}");
    assert!(error.message().contains("documents"), "{}", error.message());
    let stored =
        record::count::<EvidenceRecord>(unreachable.service.db.pool(), record::Filter::new()).await.expect("counted");
    assert_eq!(stored, 0, "nothing stored");
}

/// `backend_tests!` with a skip when no store is configured (the macro's SQLite half expects a
/// start that always succeeds).
macro_rules! store_tests {
    ($($name:ident),+ $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(app) = super::start(super::Backend::Sqlite).await else { return };
                    super::$name(&app).await;
                }
            )+
        }
        mod on_postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(app) = super::start(super::Backend::Postgres).await else { return };
                    super::$name(&app).await;
                }
            )+
        }
    };
}

store_tests!(
    documents_are_kept_in_the_object_store_once_and_read_back_checked,
    an_unreachable_store_refuses_the_upload_and_nothing_is_stored,
);
