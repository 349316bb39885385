//! The department data exchange through the outcome service's client, on a real server on port
//! 0, once on SQLite and once on PostgreSQL: keys and their rotation, query batches asking only
//! what is needed, signed result batches verified whole, records validated one by one, evidence
//! that moves verdicts and rates, withdrawals, the auditor's export, and each department seeing
//! only its own batches.

use chrono::{Datelike as _, NaiveDate};
use qiancheng_api::outcome::outcome_service_client::OutcomeServiceClient;
use qiancheng_api::outcome::*;
use qiancheng_domain::policy::PolicySet;
use qiancheng_domain::{RegionCode, TargetGroup};
use qiancheng_outcome::Spec;
use qiancheng_outcome::exchange::{self, DEFAULT_SIGNER_ID, ResultBatchFile, ResultLine, WithdrawalLine};
use qiancheng_outcome::store::exchange::ExchangePersonRecord;
use qiancheng_outcome::store::trainee::TraineeRecord;
use qiancheng_platform::Stamp;
use qiancheng_platform::auth::Role;
use qiancheng_platform::record;
use qiancheng_testkit::{Backend, TestService, authed, backend_tests, fixtures, reason};
use tonic::Code;
use tonic::transport::Channel;

/// The social-insurance department's private key (a test key).
const SI_KEY: &str = "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8";
/// Its next key, after a rotation.
const SI_NEXT_KEY: &str = "1649ab77c2a2d1e3b5f9f1a7c8e2d4b6a8c0e2f4a6b8c0d2e4f6a8b0c2d4e6f8";
/// The tax department's private key.
const TAX_KEY: &str = "59276e27d506861a16680f3ad9c02dccef3cc1fa3cdbe4ce6d54b80deac1bc21";
/// The employment register's private key.
const REGISTER_KEY: &str = "7d3c5f1e9a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e2f4a6b8c0d2e4f6a8b0c2d";
/// The skill-evaluation registry's private key.
const REGISTRY_KEY: &str = "0e4a6c8e1b3d5f7091a2c4e6f8b0d2f4a6c8e0b2d4f6a8c0e2b4d6f8a0c2e4b6";

struct App {
    service: TestService,
    social_insurance: String,
    tax: String,
    employer: String,
    trainee: TraineeRecord,
    id_number: String,
    other_id_number: String,
}

async fn start(backend: Backend) -> Option<App> {
    let service = TestService::start(&Spec, backend).await?;
    let social_insurance = fixtures::uscc("11421200MB0000011");
    let tax = fixtures::uscc("11421200MB0000022");
    let employer = fixtures::uscc("91421221MA0000033");
    let id_number = fixtures::id_number("42122119900101001");
    let other_id_number = fixtures::id_number("42122119910202002");
    let today = qiancheng_domain::today_in_china();
    // The class ended about five months ago: its window is open, its months are still asked.
    let last_day = today.checked_sub_days(chrono::Days::new(140))?;
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
    Some(App { service, social_insurance, tax, employer, trainee, id_number, other_id_number })
}

fn trainee_named(id: &str, last_day: NaiveDate) -> TraineeRecord {
    let policy = PolicySet::current();
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
        policy_version: policy.version.clone(),
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

impl App {
    async fn client(&self) -> OutcomeServiceClient<Channel> {
        OutcomeServiceClient::new(self.service.channel().await)
    }
    fn admin(&self) -> String {
        self.service.token(Role::CityAdmin, Some("421200"), None)
    }
    fn auditor(&self) -> String {
        self.service.token(Role::Auditor, Some("421200"), None)
    }
    fn department(&self, department: &str) -> String {
        self.service.token(Role::DataExchange, None, Some(department))
    }

    async fn register(&self, department: &str, source: ExchangeSource, private: &str) -> DepartmentKey {
        let request = RegisterDepartmentKeyRequest {
            department: department.to_owned(),
            source: source as i32,
            public_key: exchange::public_key_of(private).expect("a key"),
            ..Default::default()
        };
        self.client()
            .await
            .register_department_key(authed(request, &self.admin()))
            .await
            .expect("registered")
            .into_inner()
            .key
            .expect("a key")
    }

    async fn pull(&self, department: &str) -> PullQueryBatchResponse {
        self.client()
            .await
            .pull_query_batch(authed(PullQueryBatchRequest::default(), &self.department(department)))
            .await
            .expect("pulled")
            .into_inner()
    }

    async fn push(
        &self,
        department: &str,
        key: &DepartmentKey,
        content: &[u8],
        signature: &[u8],
    ) -> Result<PushResultBatchResponse, tonic::Status> {
        let request = PushResultBatchRequest {
            content: content.to_vec(),
            signature: signature.to_vec(),
            key: key.name.clone(),
            ..Default::default()
        };
        self.client()
            .await
            .push_result_batch(authed(request, &self.department(department)))
            .await
            .map(|r| r.into_inner())
    }

    async fn verdict(&self) -> Verdict {
        self.verdict_of(&self.trainee.id).await
    }

    async fn verdict_of(&self, trainee_id: &str) -> Verdict {
        let request = GetVerdictRequest { name: format!("verdicts/{trainee_id}") };
        self.client()
            .await
            .get_verdict(authed(request, &self.admin()))
            .await
            .expect("a verdict")
            .into_inner()
            .verdict
            .expect("a verdict")
    }

    async fn batch_rows(&self) -> i64 {
        record::count::<qiancheng_outcome::store::exchange::ExchangeBatchRecord>(
            self.service.db.pool(),
            record::Filter::new(),
        )
        .await
        .expect("counted")
    }

    /// A labour contract with the employer, recorded by the bureau.
    async fn contract(&self) {
        let today = qiancheng_domain::today_in_china();
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
            document_content: format!("contract {today}").into_bytes(),
            ..Default::default()
        };
        let request =
            RecordEvidenceRequest { evidence: Some(input), note: "from the employer".to_owned(), ..Default::default() };
        self.client().await.record_evidence(authed(request, &self.admin())).await.expect("recorded");
    }
}

fn sign(private: &str, content: &[u8]) -> Vec<u8> {
    exchange::sign(private, DEFAULT_SIGNER_ID, content).expect("signed").0
}

fn query_file(pulled: &PullQueryBatchResponse) -> exchange::QueryBatchFile {
    serde_json::from_slice(&pulled.content).expect("a query batch file")
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

fn batch(app: &App, department: &str, source: &str, batch_id: &str, records: Vec<ResultLine>) -> ResultBatchFile {
    let _ = app;
    ResultBatchFile {
        format: exchange::RESULT_FORMAT.to_owned(),
        batch_id: batch_id.to_owned(),
        department: department.to_owned(),
        source: source.to_owned(),
        records,
        withdrawals: Vec::new(),
    }
}

fn bytes(file: &ResultBatchFile) -> Vec<u8> {
    serde_json::to_vec(file).expect("json")
}

/// The whole protocol: keys, pulls asking only what is needed, signed pushes, records one by
/// one, verdicts and the rate feed, the same batch twice, a flipped byte, a withdrawal.
async fn signed_results_move_verdicts_and_rates(app: &App) {
    let si = app.register(&app.social_insurance, ExchangeSource::SocialInsurance, SI_KEY).await;
    let tax = app.register(&app.tax, ExchangeSource::Tax, TAX_KEY).await;
    assert!(si.current && si.signer_id == DEFAULT_SIGNER_ID);
    app.contract().await;
    assert!(!app.verdict().await.positive, "a contract alone is no employment");

    // EX-MINIMAL: each trainee once, the months OUT-MONTHS counts up to this month, nothing else.
    let pulled = app.pull(&app.social_insurance).await;
    assert_eq!(pulled.query_count, 2);
    let file = query_file(&pulled);
    assert_eq!(file.source, "SOCIAL_INSURANCE");
    let mine = file.queries.iter().find(|q| q.id_number == app.id_number).expect("asked about the trainee");
    let today = qiancheng_domain::today_in_china();
    let this_month = format!("{:04}-{:02}", today.year(), today.month());
    assert!(mine.months.len() >= 4 && mine.months.len() <= 7, "{:?}", mine.months);
    assert_eq!(mine.months.last(), Some(&this_month), "no month after this one is asked");
    assert!(mine.from.is_empty(), "a monthly source is asked months, not days");
    assert!(!String::from_utf8_lossy(&pulled.content).contains("张"), "names are never sent");
    let again = app.pull(&app.social_insurance).await;
    assert_eq!(again.query_count, 0, "people waiting for an answer are not asked twice");
    let waiting = app.verdict().await.exchange;
    assert_eq!(
        waiting.iter().map(|a| (a.source(), a.state(), a.answered_micros)).collect::<Vec<_>>(),
        vec![(ExchangeSource::SocialInsurance, ExchangeAnswerState::NoAnswer, 0)],
        "asked and not answered: no answer"
    );
    let other = file.queries.iter().find(|q| q.id_number == app.other_id_number).expect("the other trainee");

    let months: Vec<String> = mine.months.iter().take(3).cloned().collect();
    let mut records: Vec<ResultLine> = months
        .iter()
        .enumerate()
        .map(|(i, m)| found(&format!("r{i}"), &mine.query, &app.id_number, &app.employer, m))
        .collect();
    records.push(found("bad-id", &mine.query, &fixtures::with_wrong_check(&app.id_number), &app.employer, &months[0]));
    records.push(found("not-asked-month", &mine.query, &app.id_number, &app.employer, "2001-01"));
    records.push(found("not-asked-person", &mine.query, &app.other_id_number, &app.employer, &months[0]));
    records.push(found("no-query", "01J0000000000000000000000Q", &app.id_number, &app.employer, &months[0]));
    records.push(found(
        "bad-code",
        &mine.query,
        &app.id_number,
        &fixtures::with_wrong_check(&app.employer),
        &months[0],
    ));
    records.push(found("bad-month", &mine.query, &app.id_number, &app.employer, "2026-13"));
    let mut zero = found("bad-amount", &mine.query, &app.id_number, &app.employer, &months[0]);
    zero.amount_fen = 0;
    records.push(zero);
    records.push(ResultLine {
        record_id: "none".to_owned(),
        query: other.query.clone(),
        id_number: app.other_id_number.clone(),
        result: "NO_RECORD".to_owned(),
        ..Default::default()
    });
    records.push(found("r0", &mine.query, &app.id_number, &app.employer, &months[0]));
    let file = batch(app, &app.social_insurance, "SOCIAL_INSURANCE", "SI-0001", records);
    let content = bytes(&file);
    let signature = sign(SI_KEY, &content);

    // One flipped byte: refused whole, nothing stored.
    let mut flipped = content.clone();
    flipped[10] ^= 0x01;
    let error = app.push(&app.social_insurance, &si, &flipped, &signature).await.expect_err("a bad signature");
    assert_eq!((error.code(), reason(&error)), (Code::InvalidArgument, "EX-SIGNATURE".to_owned()));
    assert_eq!(app.batch_rows().await, 0);

    let pushed = app.push(&app.social_insurance, &si, &content, &signature).await.expect("pushed");
    assert!(!pushed.stored_before);
    let rule_of = |id: &str| {
        pushed.results.iter().find(|r| r.record_id == id).map(|r| (r.accepted, r.rule.clone())).expect("a result")
    };
    for i in 0..3 {
        assert_eq!(rule_of(&format!("r{i}")), (true, String::new()));
    }
    assert_eq!(rule_of("bad-id"), (false, "EX-ID-NUMBER".to_owned()));
    assert_eq!(rule_of("not-asked-month"), (false, "EX-NOT-ASKED".to_owned()));
    assert_eq!(rule_of("not-asked-person"), (false, "EX-NOT-ASKED".to_owned()));
    assert_eq!(rule_of("no-query"), (false, "EX-NOT-ASKED".to_owned()));
    assert_eq!(rule_of("bad-code"), (false, "EX-CREDIT-CODE".to_owned()));
    assert_eq!(rule_of("bad-month"), (false, "EX-MONTH".to_owned()));
    assert_eq!(rule_of("bad-amount"), (false, "EX-AMOUNT".to_owned()));
    assert_eq!(rule_of("none"), (true, String::new()), "an explicit no-record is kept");
    let other_verdict = app
        .client()
        .await
        .get_verdict(authed(GetVerdictRequest { name: "verdicts/t2".to_owned() }, &app.admin()))
        .await
        .expect("a verdict")
        .into_inner()
        .verdict
        .expect("a verdict");
    let said = other_verdict.exchange.first().cloned().expect("an answer");
    assert_eq!((said.state(), said.earlier()), (ExchangeAnswerState::NoRecord, ExchangeAnswerState::Unspecified));
    assert!(said.answered_micros > 0 && said.reason_zh.contains("无记录"), "{said:?}");
    assert_eq!(
        app.verdict().await.exchange.iter().map(|a| a.state()).collect::<Vec<_>>(),
        vec![ExchangeAnswerState::Found]
    );
    assert_eq!(pushed.results.last().map(|r| r.rule.as_str()), Some("EX-RECORD-ID"), "a record id once per batch");
    let batch_info = pushed.batch.clone().expect("a batch");
    assert_eq!(batch_info.accepted_count, 4);
    assert!(!batch_info.name.contains(&app.id_number));

    // The same batch again stores nothing; other bytes under the same id are refused.
    let twice = app.push(&app.social_insurance, &si, &content, &signature).await.expect("pushed again");
    assert!(twice.stored_before);
    assert_eq!(twice.batch.map(|b| b.name), Some(batch_info.name.clone()));
    assert_eq!(app.batch_rows().await, 1);
    let mut other_file = file.clone();
    other_file.records.truncate(1);
    let other_bytes = bytes(&other_file);
    let error =
        app.push(&app.social_insurance, &si, &other_bytes, &sign(SI_KEY, &other_bytes)).await.expect_err("other bytes");
    assert_eq!((error.code(), reason(&error)), (Code::AlreadyExists, "EX-BATCH-REPLAY".to_owned()));

    // Insurance alone is not enough; the tax department's withholding completes route ①.
    assert!(!app.verdict().await.positive);
    let pulled = app.pull(&app.tax).await;
    let tax_query = query_file(&pulled);
    let mine = tax_query.queries.iter().find(|q| q.id_number == app.id_number).expect("asked");
    let records = months
        .iter()
        .enumerate()
        .map(|(i, m)| found(&format!("w{i}"), &mine.query, &app.id_number, &app.employer, m))
        .collect();
    let file = batch(app, &app.tax, "TAX", "TAX-0001", records);
    let content = bytes(&file);
    let pushed = app.push(&app.tax, &tax, &content, &sign(TAX_KEY, &content)).await.expect("pushed");
    assert_eq!(pushed.results.iter().filter(|r| r.accepted).count(), 3);
    let verdict = app.verdict().await;
    assert!(verdict.positive, "{:?}", verdict.routes);
    let item = verdict.evidence.first().cloned().expect("evidence used");
    let evidence = app
        .client()
        .await
        .get_evidence(authed(GetEvidenceRequest { name: item }, &app.admin()))
        .await
        .expect("evidence")
        .into_inner()
        .evidence
        .expect("evidence");
    assert!(
        evidence.source == EvidenceSource::Officer as i32
            || (evidence.source == EvidenceSource::Exchange as i32
                && evidence.submitted_by.starts_with("exchangeBatches/")),
        "a department's record names the signed batch it rests on"
    );
    let feed = app
        .client()
        .await
        .list_rate_changes(authed(
            ListRateChangesRequest { project: "projects/p1".to_owned(), ..Default::default() },
            &app.admin(),
        ))
        .await
        .expect("the feed")
        .into_inner();
    let employed = feed.changes.iter().rfind(|c| c.basis == Basis::Employment as i32).expect("a change");
    assert_eq!((employed.numerator, employed.denominator), (1, 2));

    // A signed withdrawal of one insurance month: the trainee is not employed any more.
    let mut withdrawal = batch(app, &app.social_insurance, "SOCIAL_INSURANCE", "SI-0002", Vec::new());
    withdrawal.withdrawals.push(WithdrawalLine { batch_id: "SI-0001".to_owned(), record_id: "r1".to_owned() });
    withdrawal.withdrawals.push(WithdrawalLine { batch_id: "SI-0001".to_owned(), record_id: "never".to_owned() });
    let content = bytes(&withdrawal);
    let pushed = app.push(&app.social_insurance, &si, &content, &sign(SI_KEY, &content)).await.expect("withdrawn");
    assert!(pushed.results[0].accepted);
    assert_eq!(pushed.results[1].rule, "EX-WITHDRAWAL");
    assert!(!app.verdict().await.positive);
    let feed = app
        .client()
        .await
        .list_rate_changes(authed(
            ListRateChangesRequest { project: "projects/p1".to_owned(), ..Default::default() },
            &app.admin(),
        ))
        .await
        .expect("the feed")
        .into_inner();
    let employed = feed.changes.iter().rfind(|c| c.basis == Basis::Employment as i32).expect("a change");
    assert_eq!((employed.numerator, employed.previous_numerator), (0, 1));
}

/// Keys rotate; a retired key signs nothing new but still verifies its batches in the
/// auditor's export; departments see only their own; the export is the auditor's alone.
async fn keys_rotate_and_departments_see_only_their_own(app: &App) {
    let si = app.register(&app.social_insurance, ExchangeSource::SocialInsurance, SI_KEY).await;
    let tax = app.register(&app.tax, ExchangeSource::Tax, TAX_KEY).await;
    let pulled = app.pull(&app.social_insurance).await;
    let query = query_file(&pulled);
    let mine = query.queries.iter().find(|q| q.id_number == app.id_number).expect("asked");
    let file = batch(
        app,
        &app.social_insurance,
        "SOCIAL_INSURANCE",
        "SI-0001",
        vec![found("r0", &mine.query, &app.id_number, &app.employer, &mine.months[0])],
    );
    let content = bytes(&file);
    let pushed = app.push(&app.social_insurance, &si, &content, &sign(SI_KEY, &content)).await.expect("pushed");
    let logged = pushed.batch.expect("a batch").name;

    // Another department: no batches of others, no keys of others, no pushing under them.
    let mut client = app.client().await;
    let listed = client
        .list_exchange_batches(authed(ListExchangeBatchesRequest::default(), &app.department(&app.tax)))
        .await
        .expect("listed")
        .into_inner();
    assert!(listed.batches.is_empty());
    let asking = ListExchangeBatchesRequest { department: app.social_insurance.clone(), ..Default::default() };
    let error = client.list_exchange_batches(authed(asking, &app.department(&app.tax))).await.expect_err("not its own");
    assert_eq!(error.code(), Code::PermissionDenied);
    let keys = ListDepartmentKeysRequest { department: app.social_insurance.clone(), ..Default::default() };
    let error = client.list_department_keys(authed(keys, &app.department(&app.tax))).await.expect_err("not its own");
    assert_eq!(error.code(), Code::PermissionDenied);
    let error = app.push(&app.tax, &si, &content, &sign(SI_KEY, &content)).await.expect_err("another's key");
    assert_eq!(error.code(), Code::NotFound);
    let own = client
        .list_exchange_batches(authed(ListExchangeBatchesRequest::default(), &app.department(&app.social_insurance)))
        .await
        .expect("listed")
        .into_inner();
    assert_eq!(own.batches.len(), 1);
    let _ = tax;

    // Rotation: the old key signs nothing new, and still verifies what it signed.
    let next = app.register(&app.social_insurance, ExchangeSource::SocialInsurance, SI_NEXT_KEY).await;
    let keys = client
        .list_department_keys(authed(
            ListDepartmentKeysRequest { department: app.social_insurance.clone(), ..Default::default() },
            &app.department(&app.social_insurance),
        ))
        .await
        .expect("listed")
        .into_inner()
        .keys;
    assert_eq!(keys.iter().map(|k| k.current).collect::<Vec<_>>(), vec![false, true]);
    let file = batch(app, &app.social_insurance, "SOCIAL_INSURANCE", "SI-0002", Vec::new());
    let content = bytes(&file);
    let error = app.push(&app.social_insurance, &si, &content, &sign(SI_KEY, &content)).await.expect_err("retired");
    assert_eq!((error.code(), reason(&error)), (Code::FailedPrecondition, "EX-KEY-RETIRED".to_owned()));
    app.push(&app.social_insurance, &next, &content, &sign(SI_NEXT_KEY, &content)).await.expect("the new key signs");
    let wrong = RegisterDepartmentKeyRequest {
        department: app.social_insurance.clone(),
        source: ExchangeSource::Tax as i32,
        public_key: exchange::public_key_of(TAX_KEY).expect("a key"),
        ..Default::default()
    };
    let error = client.register_department_key(authed(wrong, &app.admin())).await.expect_err("another source");
    assert_eq!(reason(&error), "EX-DEPARTMENT");

    // The export: whole batches, verifiable with the key that signed them, auditors only.
    let export = ExportExchangeBatchesRequest {
        names: vec![logged.clone()],
        purpose: "annual audit".to_owned(),
        ..Default::default()
    };
    let error = client.export_exchange_batches(authed(export.clone(), &app.admin())).await.expect_err("not an auditor");
    assert_eq!(error.code(), Code::PermissionDenied);
    let exported = client
        .export_exchange_batches(authed(export, &app.auditor()))
        .await
        .expect("exported")
        .into_inner()
        .batches
        .remove(0);
    let key = exported.key.expect("a key");
    assert!(!key.current);
    let verifying = exchange::verifying_key(&key.public_key, &key.signer_id).expect("a key");
    assert!(exchange::verifies(&verifying, &exported.content, &exported.signature));
    let mut tampered = exported.content.clone();
    tampered[0] ^= 1;
    assert!(!exchange::verifies(&verifying, &tampered, &exported.signature));
    let audited: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'export_exchange_batch'")
        .fetch_one(app.service.db.pool())
        .await
        .expect("counted");
    assert_eq!(audited, 1, "every export is audited");
}

/// Field rules and key checks refuse bad registrations and pushes before anything is stored.
async fn bad_keys_and_batches_are_refused(app: &App) {
    let mut client = app.client().await;
    let bad = RegisterDepartmentKeyRequest {
        department: fixtures::with_wrong_check(&app.social_insurance),
        source: ExchangeSource::SocialInsurance as i32,
        public_key: exchange::public_key_of(SI_KEY).expect("a key"),
        ..Default::default()
    };
    let error = client.register_department_key(authed(bad, &app.admin())).await.expect_err("bad code");
    assert_eq!(reason(&error), "EX-DEPARTMENT");
    let bad = RegisterDepartmentKeyRequest {
        department: app.social_insurance.clone(),
        source: ExchangeSource::SocialInsurance as i32,
        public_key: "04".repeat(65),
        ..Default::default()
    };
    let error = client.register_department_key(authed(bad, &app.admin())).await.expect_err("off the curve");
    assert_eq!(reason(&error), "EX-KEY");
    let error = client
        .pull_query_batch(authed(PullQueryBatchRequest::default(), &app.department(&app.social_insurance)))
        .await
        .expect_err("no key yet");
    assert_eq!((error.code(), reason(&error)), (Code::FailedPrecondition, "EX-DEPARTMENT".to_owned()));
    let si = app.register(&app.social_insurance, ExchangeSource::SocialInsurance, SI_KEY).await;
    let error = app.push(&app.social_insurance, &si, b"not json", &sign(SI_KEY, b"not json")).await.expect_err("json");
    assert_eq!(reason(&error), "EX-BATCH");
    let wrong_source = bytes(&batch(app, &app.social_insurance, "TAX", "X", Vec::new()));
    let error =
        app.push(&app.social_insurance, &si, &wrong_source, &sign(SI_KEY, &wrong_source)).await.expect_err("source");
    assert_eq!(reason(&error), "EX-BATCH");
    let empty = bytes(&batch(app, &app.social_insurance, "SOCIAL_INSURANCE", "X", Vec::new()));
    let error = app.push(&app.social_insurance, &si, &empty, &[]).await.expect_err("unsigned");
    assert_eq!(reason(&error), "EX-SIGNATURE");
    let error = app.push(&app.social_insurance, &si, &[], &sign(SI_KEY, &empty)).await.expect_err("empty");
    assert_eq!(reason(&error), "EX-BATCH");
    let error = client
        .push_result_batch(authed(
            PushResultBatchRequest {
                content: empty.clone(),
                signature: sign(SI_KEY, &empty),
                key: si.name.clone(),
                ..Default::default()
            },
            &app.admin(),
        ))
        .await
        .expect_err("only a department pushes");
    assert_eq!(error.code(), Code::PermissionDenied);
    assert_eq!(app.batch_rows().await, 0);
}

/// The employment register and the skill-evaluation registry: each asked only about the people
/// its answer can move (PROJ-BASIS); a registration becomes a route ④ engagement, a certificate
/// moves an in-service worker's verdict, and one certificate number is one record.
async fn the_employment_register_and_the_skill_registry_answer_for_their_own(app: &App) {
    // Two in-service workers on the same class, judged on a certificate.
    let worker_id_number = fixtures::id_number("42122119850303003");
    let second_id_number = fixtures::id_number("42122119860404004");
    let mut worker = trainee_named("t3", app.trainee.class_last_day);
    worker.judged_group = TargetGroup::InServiceWorker;
    let mut second = trainee_named("t4", app.trainee.class_last_day);
    second.judged_group = TargetGroup::InServiceWorker;
    {
        let (mut tx, _turn) = app.service.db.begin_write().await.expect("a write");
        for (t, id) in [(&worker, &worker_id_number), (&second, &second_id_number)] {
            record::insert(&mut tx, t).await.expect("a worker");
            let person = ExchangePersonRecord {
                trainee_id: t.id.clone(),
                id_number_sealed: app.service.pii.encrypt(id).expect("sealed"),
                id_number_hash: app.service.pii.lookup_hash(id),
                update_time_micros: 0,
            };
            record::insert(&mut tx, &person).await.expect("the person");
        }
        tx.commit().await.expect("committed");
    }
    let register = fixtures::uscc("11421200MB0000055");
    let registry = fixtures::uscc("11421200MB0000066");
    let register_key = app.register(&register, ExchangeSource::EmploymentRegister, REGISTER_KEY).await;
    let registry_key = app.register(&registry, ExchangeSource::SkillRegistry, REGISTRY_KEY).await;
    let si_key = app.register(&app.social_insurance, ExchangeSource::SocialInsurance, SI_KEY).await;
    assert!(si_key.current);

    // Who is asked follows the basis: the register and social insurance about the two judged on
    // employment, the registry about the worker only; registrations and certificates by days.
    let asked = |pulled: &PullQueryBatchResponse| -> Vec<String> {
        let mut ids: Vec<String> = query_file(pulled).queries.iter().map(|q| q.id_number.clone()).collect();
        ids.sort();
        ids
    };
    let mut employed = vec![app.id_number.clone(), app.other_id_number.clone()];
    employed.sort();
    let register_pull = app.pull(&register).await;
    assert_eq!(asked(&register_pull), employed);
    assert_eq!(asked(&app.pull(&app.social_insurance).await), employed, "the worker is not asked about wages");
    let registry_pull = app.pull(&registry).await;
    let mut workers = vec![worker_id_number.clone(), second_id_number.clone()];
    workers.sort();
    assert_eq!(asked(&registry_pull), workers, "only the workers are asked about certificates");
    let registry_file = query_file(&registry_pull);
    let certificate_query = registry_file.queries.iter().find(|q| q.id_number == worker_id_number).expect("asked");
    let second_query = registry_file.queries.iter().find(|q| q.id_number == second_id_number).expect("asked");
    assert_eq!(certificate_query.from, worker.class_last_day.to_string(), "asked from the class's last day");
    assert!(certificate_query.months.is_empty());

    // The register: a flexible-employment registration becomes a route ④ engagement; one with
    // an employer needs the employer's code; a registration ending before it began is refused.
    let register_file = query_file(&register_pull);
    let mine = register_file.queries.iter().find(|q| q.id_number == app.id_number).expect("asked");
    let start = app.trainee.class_last_day.succ_opt().expect("a day").to_string();
    let registration = |record_id: &str, kind: &str, employer: &str, ended_on: &str| ResultLine {
        record_id: record_id.to_owned(),
        query: mine.query.clone(),
        id_number: app.id_number.clone(),
        result: "FOUND".to_owned(),
        registration_kind: kind.to_owned(),
        employer_credit_code: employer.to_owned(),
        registered_on: start.clone(),
        ended_on: ended_on.to_owned(),
        ..Default::default()
    };
    let records = vec![
        registration("flexible", "FLEXIBLE", "", ""),
        registration("no-employer", "EMPLOYMENT", "", ""),
        registration("bad-kind", "GIG", "", ""),
        registration("backwards", "FLEXIBLE", "", "2001-01-01"),
        registration("with-employer", "EMPLOYMENT", &app.employer, ""),
    ];
    let content = bytes(&batch(app, &register, "EMPLOYMENT_REGISTER", "REG-1", records));
    let pushed = app.push(&register, &register_key, &content, &sign(REGISTER_KEY, &content)).await.expect("pushed");
    let results: Vec<(&str, bool, &str)> =
        pushed.results.iter().map(|r| (r.record_id.as_str(), r.accepted, r.rule.as_str())).collect();
    assert_eq!(
        results,
        vec![
            ("flexible", true, ""),
            ("no-employer", false, "EX-CREDIT-CODE"),
            ("bad-kind", false, "EX-RESULT"),
            ("backwards", false, "EX-DATE"),
            ("with-employer", true, ""),
        ]
    );
    let engagement = pushed.results[0].evidence.clone();
    let item = app
        .client()
        .await
        .get_evidence(authed(GetEvidenceRequest { name: engagement.clone() }, &app.admin()))
        .await
        .expect("the engagement")
        .into_inner()
        .evidence
        .expect("an item");
    let service = item.service.expect("an engagement");
    assert_eq!(service.route(), ServiceRoute::EmploymentRegistration);
    assert_eq!(service.counterparty, "灵活就业登记");
    assert_eq!(service.start_on.map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)), Some(start.clone()));
    let verdict = app.verdict().await;
    assert!(!verdict.positive, "a registration without six months of pay is no employment");
    let registration_route = verdict.routes.iter().find(|r| r.rule == "OUT-EMP-REGISTRATION").expect("route ④ tried");
    assert!(!registration_route.passed);

    // The registry: a certificate in the class's minor group issued in the window makes the
    // worker's verdict positive; a bad one is refused; the same number again names the same item.
    let issued = worker.class_last_day.checked_add_days(chrono::Days::new(10)).expect("a day").to_string();
    let certificate = |record_id: &str, number: &str, occupation: &str, level: i64| ResultLine {
        record_id: record_id.to_owned(),
        query: certificate_query.query.clone(),
        id_number: worker_id_number.clone(),
        result: "FOUND".to_owned(),
        certificate_number: number.to_owned(),
        certificate_kind: "SKILL_LEVEL".to_owned(),
        occupation_code: occupation.to_owned(),
        level,
        issued_on: issued.clone(),
        issuer: "咸宁市职业技能鉴定中心".to_owned(),
        ..Default::default()
    };
    assert!(!app.verdict_of(&worker.id).await.positive);
    let records = vec![
        certificate("c1", "Y421200000001", "6-18-02-05", 4),
        certificate("no-level", "Y421200000002", "6-18-02-05", 0),
        certificate("bad-occupation", "Y421200000003", "6-18-2-05", 4),
        certificate("c1-again", "Y421200000001", "6-18-02-05", 4),
        ResultLine {
            query: second_query.query.clone(),
            id_number: second_id_number.clone(),
            ..certificate("another-holder", "Y421200000001", "6-18-02-05", 4)
        },
    ];
    let content = bytes(&batch(app, &registry, "SKILL_REGISTRY", "CERT-1", records));
    let pushed = app.push(&registry, &registry_key, &content, &sign(REGISTRY_KEY, &content)).await.expect("pushed");
    let results: Vec<(&str, bool, &str)> =
        pushed.results.iter().map(|r| (r.record_id.as_str(), r.accepted, r.rule.as_str())).collect();
    assert_eq!(
        results,
        vec![
            ("c1", true, ""),
            ("no-level", false, "EX-CERTIFICATE"),
            ("bad-occupation", false, "EX-CERTIFICATE"),
            ("c1-again", true, ""),
            ("another-holder", false, "OUT-CERT-DUPLICATE"),
        ]
    );
    assert_eq!(pushed.results[0].evidence, pushed.results[3].evidence, "one certificate number, one record");
    let verdict = app.verdict_of(&worker.id).await;
    assert!(verdict.positive, "{:?}", verdict.routes);
    assert_eq!(verdict.route(), Route::Certificate);
    assert!(
        verdict
            .exchange
            .iter()
            .any(|a| a.source() == ExchangeSource::SkillRegistry && a.state() == ExchangeAnswerState::Found),
        "the verdict shows the registry answered"
    );

    // A withdrawal by the registry stops the certificate counting.
    let withdrawal = ResultBatchFile {
        withdrawals: vec![WithdrawalLine { batch_id: "CERT-1".to_owned(), record_id: "c1".to_owned() }],
        ..batch(app, &registry, "SKILL_REGISTRY", "CERT-3", Vec::new())
    };
    let content = bytes(&withdrawal);
    app.push(&registry, &registry_key, &content, &sign(REGISTRY_KEY, &content)).await.expect("withdrawn");
    assert!(!app.verdict_of(&worker.id).await.positive, "a withdrawn certificate counts no more");
}

backend_tests!(start =>
    signed_results_move_verdicts_and_rates,
    the_employment_register_and_the_skill_registry_answer_for_their_own,
    keys_rotate_and_departments_see_only_their_own,
    bad_keys_and_batches_are_refused,
);
