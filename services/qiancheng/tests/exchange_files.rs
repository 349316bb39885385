//! The department data exchange as files, with the `qiancheng` binary as its own process against
//! a real outcome server on port 0, on SQLite and on PostgreSQL: the social-insurance and tax
//! departments each `exchange pull` their query batch to a file, answer it with a result batch
//! file, `exchange sign` it with their key file and `exchange push` it; the trainee's verdict
//! turns employed, and the verdicts tell "no record" from "no answer" per source.

use std::path::Path;
use std::process::Output;

use tokio::process::Command;

use chrono::NaiveDate;
use qiancheng_api::outcome::outcome_service_client::OutcomeServiceClient;
use qiancheng_api::outcome::*;
use qiancheng_domain::policy::PolicySet;
use qiancheng_domain::{RegionCode, TargetGroup};
use qiancheng_outcome::exchange::{self, QueryBatchFile, RESULT_FORMAT, ResultBatchFile, ResultLine};
use qiancheng_outcome::store::exchange::ExchangePersonRecord;
use qiancheng_outcome::store::trainee::TraineeRecord;
use qiancheng_platform::Stamp;
use qiancheng_platform::auth::Role;
use qiancheng_platform::record;
use qiancheng_testkit::{Backend, TestService, authed, backend_tests, fixtures};
use tonic::transport::Channel;

const BIN: &str = env!("CARGO_BIN_EXE_qiancheng");
/// The social-insurance department's private key (a test key), as its key file holds it.
const SI_KEY: &str = "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8";
/// The tax department's private key.
const TAX_KEY: &str = "59276e27d506861a16680f3ad9c02dccef3cc1fa3cdbe4ce6d54b80deac1bc21";

struct App {
    service: TestService,
    dir: tempfile::TempDir,
    social_insurance: String,
    tax: String,
    employer: String,
    trainee: TraineeRecord,
    other: TraineeRecord,
    id_number: String,
    other_id_number: String,
}

fn trainee_named(id: &str, last_day: NaiveDate) -> TraineeRecord {
    TraineeRecord {
        id: id.to_owned(),
        roster_entry: format!("classes/c1/trainees/{id}"),
        class_id: "c1".to_owned(),
        project_id: "p1".to_owned(),
        provider_credit_code: fixtures::uscc("52421221MJ0000044"),
        region: RegionCode::parse("421221").expect("a county"),
        person_hash: format!("hash-{id}"),
        id_number_masked: "4212**********001*".to_owned(),
        name_masked: "张*".to_owned(),
        judged_group: TargetGroup::OtherEligible,
        prior_level: None,
        class_first_day: last_day.checked_sub_days(chrono::Days::new(30)).expect("a day"),
        class_last_day: last_day,
        class_filed_on: last_day.checked_sub_days(chrono::Days::new(40)).expect("a day"),
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
    }
}

async fn start(backend: Backend) -> Option<App> {
    let service = TestService::start(&qiancheng_outcome::Spec, backend).await?;
    let id_number = fixtures::id_number("42122119900101001");
    let other_id_number = fixtures::id_number("42122119910202002");
    // The class ended about five months ago: its window is open, its months are still asked.
    let last_day = qiancheng_domain::today_in_china().checked_sub_days(chrono::Days::new(140))?;
    let trainee = trainee_named("t1", last_day);
    let other = trainee_named("t2", last_day);
    let (mut tx, _turn) = service.db.begin_write().await.ok()?;
    for (t, id) in [(&trainee, &id_number), (&other, &other_id_number)] {
        record::insert(&mut tx, t).await.ok()?;
        let person = ExchangePersonRecord {
            trainee_id: t.id.clone(),
            id_number_sealed: service.pii.encrypt(id).ok()?,
            id_number_hash: service.pii.lookup_hash(id),
            update_time_micros: 0,
        };
        record::insert(&mut tx, &person).await.ok()?;
    }
    tx.commit().await.ok()?;
    Some(App {
        service,
        dir: tempfile::tempdir().ok()?,
        social_insurance: fixtures::uscc("11421200MB0000011"),
        tax: fixtures::uscc("11421200MB0000022"),
        employer: fixtures::uscc("91421221MA0000033"),
        trainee,
        other,
        id_number,
        other_id_number,
    })
}

impl App {
    async fn client(&self) -> OutcomeServiceClient<Channel> {
        OutcomeServiceClient::new(self.service.channel().await)
    }

    fn admin(&self) -> String {
        self.service.token(Role::CityAdmin, Some("421200"), None)
    }

    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    /// `qiancheng exchange ARGS` as the department `department` runs it, token in the environment.
    async fn exchange(&self, department: Option<&str>, args: &[&str]) -> Output {
        let mut command = Command::new(BIN);
        command
            .current_dir(self.dir.path())
            .arg("exchange")
            .args(args)
            .env_remove("QIANCHENG_TOKEN")
            .env_remove("QIANCHENG_TLS_CERT_FILE")
            .env_remove("QIANCHENG_TLS_CA_FILE")
            .env("QIANCHENG_OUTCOME_ADDR", self.service.server.addr.to_string());
        if let Some(department) = department {
            command.env("QIANCHENG_TOKEN", self.service.token(Role::DataExchange, None, Some(department)));
        }
        command.output().await.expect("run qiancheng")
    }

    async fn succeeds(&self, department: Option<&str>, args: &[&str]) -> String {
        let output = self.exchange(department, args).await;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "qiancheng exchange {args:?} failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    }

    async fn fails(&self, department: Option<&str>, args: &[&str]) -> String {
        let output = self.exchange(department, args).await;
        assert!(!output.status.success(), "qiancheng exchange {args:?} should fail");
        String::from_utf8_lossy(&output.stderr).into_owned()
    }

    async fn register(&self, department: &str, source: ExchangeSource, private: &str) {
        let request = RegisterDepartmentKeyRequest {
            department: department.to_owned(),
            source: source as i32,
            public_key: exchange::public_key_of(private).expect("a key"),
            ..Default::default()
        };
        self.client().await.register_department_key(authed(request, &self.admin())).await.expect("registered");
    }

    async fn verdict(&self, trainee: &TraineeRecord) -> Verdict {
        let request = GetVerdictRequest { name: format!("verdicts/{}", trainee.id) };
        self.client()
            .await
            .get_verdict(authed(request, &self.admin()))
            .await
            .expect("a verdict")
            .into_inner()
            .verdict
            .expect("a verdict")
    }

    /// The answer state per source a verdict shows.
    async fn answers(&self, trainee: &TraineeRecord) -> Vec<(ExchangeSource, ExchangeAnswerState)> {
        self.verdict(trainee).await.exchange.iter().map(|a| (a.source(), a.state())).collect()
    }

    /// A labour contract with the employer, recorded by the bureau.
    async fn contract(&self) {
        let input = EvidenceInput {
            trainee: self.trainee.name(),
            kind: EvidenceKind::Contract as i32,
            contract: Some(ContractEvidence {
                employer_credit_code: self.employer.clone(),
                kind: ContractKind::Labour as i32,
                signed_on: Some(qiancheng_api::convert::date_to_proto(self.trainee.class_last_day)),
                ..Default::default()
            }),
            media_type: "application/pdf".to_owned(),
            document_content: b"contract".to_vec(),
            ..Default::default()
        };
        let request =
            RecordEvidenceRequest { evidence: Some(input), note: "from the employer".to_owned(), ..Default::default() };
        self.client().await.record_evidence(authed(request, &self.admin())).await.expect("recorded");
    }

    /// Pulls `department`'s query batch with the binary and reads the file it wrote.
    async fn pull(&self, department: &str, file: &str) -> QueryBatchFile {
        let out = self.path(file);
        let printed = self.succeeds(Some(department), &["pull", "--out", out.to_str().expect("a path")]).await;
        assert!(printed.contains("queries written"), "{printed}");
        serde_json::from_slice(&std::fs::read(&out).expect("the query file")).expect("a query batch file")
    }

    /// Writes a key file and a result batch file, signs it and pushes it with the binary.
    async fn sign_and_push(&self, department: &str, private: &str, name: &str, file: &ResultBatchFile) -> String {
        let key_file = self.path(&format!("{name}.key"));
        std::fs::write(&key_file, format!("# {department}\n{private}\n")).expect("key file");
        let result = self.path(&format!("{name}.json"));
        std::fs::write(&result, serde_json::to_vec_pretty(file).expect("json")).expect("result file");
        let signed = self
            .succeeds(
                None,
                &["sign", result.to_str().expect("a path"), "--key-file", key_file.to_str().expect("a path")],
            )
            .await;
        assert!(signed.contains(&exchange::public_key_of(private).expect("a key")), "{signed}");
        assert!(Path::new(&format!("{}.sig", result.display())).exists());
        self.succeeds(Some(department), &["push", result.to_str().expect("a path")]).await
    }
}

fn found(record_id: &str, query: &str, id_number: &str, employer: &str, month: &str) -> ResultLine {
    ResultLine {
        record_id: record_id.to_owned(),
        query: query.to_owned(),
        id_number: id_number.to_owned(),
        result: "FOUND".to_owned(),
        employer_credit_code: employer.to_owned(),
        month: month.to_owned(),
        amount_fen: 450_000,
        ..Default::default()
    }
}

fn result_batch(department: &str, source: &str, batch_id: &str, records: Vec<ResultLine>) -> ResultBatchFile {
    ResultBatchFile {
        format: RESULT_FORMAT.to_owned(),
        batch_id: batch_id.to_owned(),
        department: department.to_owned(),
        source: source.to_owned(),
        records,
        withdrawals: Vec::new(),
    }
}

/// pull → sign → push for social insurance and tax: the verdict turns employed, and before and
/// after, the verdicts tell "no answer" from "no record" per source.
async fn pull_sign_push_changes_the_verdicts(app: &App) {
    app.register(&app.social_insurance, ExchangeSource::SocialInsurance, SI_KEY).await;
    app.register(&app.tax, ExchangeSource::Tax, TAX_KEY).await;
    app.contract().await;
    assert!(!app.verdict(&app.trainee).await.positive, "a contract alone is no employment");
    assert!(app.verdict(&app.trainee).await.exchange.is_empty(), "nobody asked yet");

    // Social insurance pulls: the trainee and the other trainee are asked, nobody has answered.
    let asked = app.pull(&app.social_insurance, "si-query.json").await;
    assert_eq!(asked.source, "SOCIAL_INSURANCE");
    let mine = asked.queries.iter().find(|q| q.id_number == app.id_number).expect("asked about the trainee");
    let other = asked.queries.iter().find(|q| q.id_number == app.other_id_number).expect("the other");
    assert_eq!(app.answers(&app.trainee).await, vec![(ExchangeSource::SocialInsurance, ExchangeAnswerState::NoAnswer)]);
    let waiting = app.verdict(&app.trainee).await.exchange.remove(0);
    assert_eq!(waiting.months, mine.months);
    assert_eq!(waiting.answered_micros, 0);
    assert!(waiting.reason_en.contains("not answered yet"), "{}", waiting.reason_en);
    let nothing = app.path("nothing.json");
    let printed =
        app.succeeds(Some(&app.social_insurance), &["pull", "--out", nothing.to_str().expect("a path")]).await;
    assert!(printed.contains("nothing pending"), "{printed}");
    assert!(!nothing.exists(), "nothing is written when nothing is pending");

    // It answers: three months for the trainee, "no record" for the other.
    let months: Vec<String> = mine.months.iter().take(3).cloned().collect();
    let mut records: Vec<ResultLine> = months
        .iter()
        .enumerate()
        .map(|(i, m)| found(&format!("r{i}"), &mine.query, &app.id_number, &app.employer, m))
        .collect();
    records.push(ResultLine {
        record_id: "none".to_owned(),
        query: other.query.clone(),
        id_number: app.other_id_number.clone(),
        result: "NO_RECORD".to_owned(),
        ..Default::default()
    });
    records.push(found("bad-month", &mine.query, &app.id_number, &app.employer, "2001-01"));
    let file = result_batch(&app.social_insurance, "SOCIAL_INSURANCE", "SI-FILE-0001", records);
    let pushed = app.sign_and_push(&app.social_insurance, SI_KEY, "si-result", &file).await;
    assert!(pushed.contains("batch SI-FILE-0001 stored"), "{pushed}");
    assert!(pushed.contains("4 of 5 records and withdrawals accepted"), "{pushed}");
    assert!(pushed.contains("refused bad-month: EX-NOT-ASKED"), "{pushed}");
    // The same files again: stored once.
    let result = app.path("si-result.json");
    let again = app.succeeds(Some(&app.social_insurance), &["push", result.to_str().expect("a path")]).await;
    assert!(again.contains("stored before"), "{again}");

    assert_eq!(app.answers(&app.trainee).await, vec![(ExchangeSource::SocialInsurance, ExchangeAnswerState::Found)]);
    let said = app.verdict(&app.other).await.exchange;
    assert_eq!(said.iter().map(|a| a.state()).collect::<Vec<_>>(), vec![ExchangeAnswerState::NoRecord]);
    assert!(said[0].answered_micros > 0 && said[0].reason_en.contains("no record"), "{:?}", said[0]);
    assert!(!app.verdict(&app.trainee).await.positive, "insurance alone is not employment");

    // Tax pulls and answers for the trainee only: the other's tax query stays unanswered.
    let asked = app.pull(&app.tax, "tax-query.json").await;
    let mine = asked.queries.iter().find(|q| q.id_number == app.id_number).expect("asked");
    let records = months
        .iter()
        .enumerate()
        .map(|(i, m)| found(&format!("w{i}"), &mine.query, &app.id_number, &app.employer, m))
        .collect();
    let file = result_batch(&app.tax, "TAX", "TAX-FILE-0001", records);
    let pushed = app.sign_and_push(&app.tax, TAX_KEY, "tax-result", &file).await;
    assert!(pushed.contains("3 of 3 records and withdrawals accepted"), "{pushed}");

    let verdict = app.verdict(&app.trainee).await;
    assert!(verdict.positive, "contract, three months of insurance and wages: {:?}", verdict.routes);
    assert_eq!(
        app.answers(&app.trainee).await,
        vec![
            (ExchangeSource::SocialInsurance, ExchangeAnswerState::Found),
            (ExchangeSource::Tax, ExchangeAnswerState::Found)
        ]
    );
    // The other trainee: social insurance said "no record", tax has not answered.
    assert_eq!(
        app.answers(&app.other).await,
        vec![
            (ExchangeSource::SocialInsurance, ExchangeAnswerState::NoRecord),
            (ExchangeSource::Tax, ExchangeAnswerState::NoAnswer)
        ]
    );
    let listed = app
        .client()
        .await
        .list_verdicts(authed(
            ListVerdictsRequest { project: "projects/p1".to_owned(), ..Default::default() },
            &app.admin(),
        ))
        .await
        .expect("listed")
        .into_inner()
        .verdicts;
    let other = listed.iter().find(|v| v.trainee == app.other.name()).expect("the other's verdict");
    assert_eq!(other.exchange.len(), 2, "ListVerdicts shows the answers too");
}

/// Mistakes are told plainly: a flipped byte refuses the batch whole, a file that is not a
/// result batch is not signed, a token of another department cannot push, files are not
/// overwritten, and a missing token is named.
async fn mistakes_are_told_plainly(app: &App) {
    app.register(&app.social_insurance, ExchangeSource::SocialInsurance, SI_KEY).await;
    let key_file = app.path("si.key");
    std::fs::write(&key_file, SI_KEY).expect("key file");
    let key = key_file.to_str().expect("a path");

    let error = app.fails(None, &["pull", "--out", "q.json"]).await;
    assert!(error.contains("--token"), "{error}");

    let not_a_batch = app.path("notes.json");
    std::fs::write(&not_a_batch, br#"{"hello": 1}"#).expect("written");
    let error = app.fails(None, &["sign", not_a_batch.to_str().expect("a path"), "--key-file", key]).await;
    assert!(error.contains("not a result batch file"), "{error}");

    let bad_key = app.path("bad.key");
    std::fs::write(&bad_key, "not a key").expect("written");
    let file = result_batch(&app.social_insurance, "SOCIAL_INSURANCE", "SI-FILE-0009", Vec::new());
    let result = app.path("r.json");
    std::fs::write(&result, serde_json::to_vec(&file).expect("json")).expect("written");
    let path = result.to_str().expect("a path");
    let error = app.fails(None, &["sign", path, "--key-file", bad_key.to_str().expect("a path")]).await;
    assert!(error.contains("neither 64 hex characters"), "{error}");

    app.succeeds(None, &["sign", path, "--key-file", key]).await;
    let error = app.fails(None, &["sign", path, "--key-file", key]).await;
    assert!(error.contains("exists already"), "a signature is never overwritten: {error}");

    // One flipped byte after signing: refused whole.
    let bytes = std::fs::read(&result).expect("read");
    let at = bytes.windows(12).position(|w| w == b"SI-FILE-0009").expect("the batch id") + 11;
    let mut flipped = bytes.clone();
    flipped[at] ^= 0x01;
    std::fs::write(&result, &flipped).expect("written");
    let error = app.fails(Some(&app.social_insurance), &["push", path]).await;
    assert!(error.contains("EX-SIGNATURE"), "{error}");
    std::fs::write(&result, &bytes).expect("written");

    let error = app.fails(Some(&app.tax), &["push", path]).await;
    assert!(error.contains("PermissionDenied") || error.contains("no registered key"), "{error}");
    app.succeeds(Some(&app.social_insurance), &["push", path]).await;
}

backend_tests!(start =>
    pull_sign_push_changes_the_verdicts,
    mistakes_are_told_plainly,
);

#[test]
fn each_exchange_command_explains_itself() {
    for command in ["pull", "sign", "push"] {
        let output =
            std::process::Command::new(BIN).args(["exchange", command, "--help"]).output().expect("run qiancheng");
        let help = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success());
        assert!(help.contains("docs/exchange.md"), "{command}: {help}");
    }
}
