//! Payments that never happen twice, however the subsidy process dies (issue #20, SUBS-PAY): the
//! subsidy service runs as its own `qiancheng serve subsidy` process with selection as another,
//! each on a fresh database, as in production. 240 approved claims are signed off and released
//! while the subsidy process is killed with SIGKILL at random moments and started again on the
//! same address and database; every release that failed is sent again with its own request id
//! until it is answered, then every instruction is sent again, with its request id and with a
//! new one, under more kills. It ends with one instruction a claim (none paid twice), every
//! claim released (none lost) and the ledger balanced, one movement a release. Then the bank
//! times out (the payment file goes out again: the same instructions under the same ids) and
//! answers twice (the same result file again, and another answer for the same instructions):
//! each payment is applied once. Then selection goes down: ReleasePayment and FileClaim answer
//! UNAVAILABLE naming it, and nothing is stored.
//!
//! The approved claims are written straight into subsidy's database (each a 20-trainee claim
//! calculated by the policy core, stored as FileClaim stores one, reviewed, on notice and
//! approved): living 240 projects through supervision and outcome would take far longer than
//! the faults need. `QIANCHENG_CRASH_SEED` replays a run's kill times (each run prints its seed).

mod process;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::Days;
use qiancheng_api::selection::selection_service_client::SelectionServiceClient;
use qiancheng_api::subsidy::subsidy_service_client::SubsidyServiceClient;
use qiancheng_api::subsidy::*;
use qiancheng_domain::policy::{MinimumWageTable, PolicySet, evaluate_claim};
use qiancheng_platform::Stamp;
use qiancheng_platform::auth::{Role, TokenMinter};
use qiancheng_platform::db::Db;
use qiancheng_platform::pii::PiiCipher;
use qiancheng_platform::record;
use qiancheng_subsidy::claim_view::{StoredSnapshot, masked};
use qiancheng_subsidy::store::claim::{self as claims, Calculation, ClaimRecord};
use qiancheng_testkit::selection::{ProjectToApprove, approve_project, set_quotas};
use qiancheng_testkit::subsidy::{COUNTY, LINE_FEN, claim_facts, standard};
use qiancheng_testkit::{Backend, TestDatabase, authed, reason};
use tonic::Code;
use tonic::transport::{Channel, Endpoint};

use crate::process::Running;

const BIN: &str = env!("CARGO_BIN_EXE_qiancheng");
const DATA_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
/// Approved claims released under the kills.
const CLAIMS: usize = 240;
/// Trainees of each claim: 20 lines of 5,000 yuan.
const TRAINEES: usize = 20;
/// Releases in flight.
const IN_FLIGHT: usize = 4;
/// Each call to a peer is given this deadline.
const PEER_DEADLINE: Duration = Duration::from_secs(3);

/// `qiancheng serve <service>` in `dir` with `env`, JSON logs; returns it with the address it
/// bound.
async fn serve(dir: &Path, service: &str, env: &[(&'static str, String)]) -> (Running, String) {
    let mut command = Command::new(BIN);
    command
        .args(["serve", service])
        .current_dir(dir)
        .env_remove("QIANCHENG_DATABASE_URL")
        .env_remove("QIANCHENG_DATA_DIR")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env("QIANCHENG_DATA_KEY", DATA_KEY)
        .env("QIANCHENG_LOG_FORMAT", "json")
        .env("RUST_LOG", "warn,qiancheng=info");
    for (key, value) in env {
        command.env(key, value);
    }
    let mut running = Running::spawn(&mut command);
    let addr = running.logged("serving", "addr").await;
    (running, addr)
}

/// A channel that connects when first used and again after its server came back.
fn channel(addr: &str) -> Channel {
    Endpoint::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(20))
        .connect_lazy()
}

/// A small, seeded generator of kill times (xorshift64*).
struct Dice(u64);

impl Dice {
    fn between(&mut self, low: u64, high: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        low + self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % (high - low)
    }
}

/// Selection and subsidy as their own processes, their databases, tokens.
struct Suite {
    dir: tempfile::TempDir,
    databases: Vec<TestDatabase>,
    selection: Option<Running>,
    subsidy: Running,
    subsidy_addr: String,
    subsidy_env: Vec<(&'static str, String)>,
    issuer: TokenMinter,
    provider: String,
    project: String,
}

impl Suite {
    async fn start(backend: Backend) -> Option<Self> {
        let databases = vec![TestDatabase::create(backend).await?, TestDatabase::create(backend).await?];
        let dir = tempfile::tempdir().expect("tempdir");
        let key = |name: &str| TokenMinter::load_or_create(&dir.path().join(format!("{name}.key"))).expect("a key");
        let issuer = key("issuer");
        let subsidy_key = key("subsidy");
        let common = |url: &str| {
            vec![
                ("QIANCHENG_DATABASE_URL", url.to_owned()),
                ("QIANCHENG_AUTH_PUBLIC_KEYS", issuer.public_key_base64()),
                ("QIANCHENG_PEER_TIMEOUT_MS", PEER_DEADLINE.as_millis().to_string()),
                ("QIANCHENG_BIND_ADDR", "127.0.0.1:0".to_owned()),
            ]
        };
        let mut selection_env = common(&databases[0].url);
        selection_env.push(("QIANCHENG_SERVICE_PUBLIC_KEYS", format!("subsidy={}", subsidy_key.public_key_base64())));
        let (selection, selection_addr) = serve(dir.path(), "selection", &selection_env).await;

        // An approved project of 嘉鱼县 in selection, its provider's account recorded there.
        let token = |role, region: Option<&str>, org: Option<&str>| {
            issuer.mint("crash-test", &[role], region, org, 3600).expect("a token")
        };
        let mut client = SelectionServiceClient::new(channel(&selection_addr));
        set_quotas(&mut client, &token(Role::CityAdmin, Some("421200"), None), &["421200", COUNTY], 2099, 1000).await;
        let approve = ProjectToApprove {
            county: COUNTY,
            seed: "0000020",
            headcount: 30,
            hours: 100,
            deadline: qiancheng_api::types::Date { year: 2099, month: 12, day: 31 },
        };
        let officer = token(Role::CountyOfficer, Some(COUNTY), None);
        let (provider, project) =
            approve_project(&mut client, &officer, |code| token(Role::Provider, None, Some(code)), approve).await;

        // Subsidy calls selection with its own key; supervision and outcome are not configured.
        let mut subsidy_env = common(&databases[1].url);
        subsidy_env.push(("QIANCHENG_SERVICE_SIGNING_KEY_FILE", dir.path().join("subsidy.key").display().to_string()));
        subsidy_env.push(("QIANCHENG_PEER_SELECTION_URL", format!("http://{selection_addr}")));
        let (subsidy, subsidy_addr) = serve(dir.path(), "subsidy", &subsidy_env).await;
        // Started again, it listens where it listened before.
        for (key, value) in &mut subsidy_env {
            if *key == "QIANCHENG_BIND_ADDR" {
                value.clone_from(&subsidy_addr);
            }
        }
        Some(Self {
            dir,
            databases,
            selection: Some(selection),
            subsidy,
            subsidy_addr,
            subsidy_env,
            issuer,
            provider,
            project,
        })
    }

    fn token(&self, role: Role, region: Option<&str>) -> String {
        self.issuer.mint("crash-test", &[role], region, None, 3600).expect("a token")
    }

    fn finance(&self) -> String {
        self.token(Role::FinanceOfficer, Some(COUNTY))
    }

    fn client(&self) -> SubsidyServiceClient<Channel> {
        SubsidyServiceClient::new(channel(&self.subsidy_addr))
    }

    /// SIGKILL the subsidy process and start it again on its address and database.
    async fn crash_and_restart(&mut self) {
        self.subsidy.kill();
        let (subsidy, addr) = serve(self.dir.path(), "subsidy", &self.subsidy_env).await;
        assert_eq!(addr, self.subsidy_addr, "started again where it listened");
        self.subsidy = subsidy;
    }

    /// Writes `n` approved claims of the provider into subsidy's database, as FileClaim,
    /// ReviewClaim and ApproveClaim would have stored them, on days before today: filed 150 days
    /// after their classes ended, on notice for 20 days, approved.
    async fn seed_approved_claims(&self, n: usize) -> Vec<String> {
        let db = Db::connect(&self.databases[1].url, None, &qiancheng_subsidy::MIGRATOR).await.expect("connect");
        let pii = PiiCipher::from_config(Some(DATA_KEY), None).expect("the data key").for_database();
        let policy = PolicySet::current();
        let today = qiancheng_domain::today_in_china();
        let last_day = today - Days::new(300);
        let filed_on = last_day + Days::new(150);
        let mut records = Vec::with_capacity(n);
        for k in 0..n {
            let project_id = format!("crash{k:05}");
            let facts = claim_facts(&project_id, TRAINEES, last_day, filed_on);
            let decided =
                evaluate_claim(&policy, &facts, &qiancheng_testkit::subsidy::standards(), &MinimumWageTable::default())
                    .expect("consistent facts");
            let trainees: Vec<String> = (0..TRAINEES)
                .map(|t| format!("classes/{}/trainees/T{k:05}{t:03}", facts.trainees[t].class_id))
                .collect();
            let none = std::collections::BTreeMap::new();
            let snapshot =
                serde_json::to_string(&StoredSnapshot { facts: &facts, trainees: &trainees, verdict_evidence: &none })
                    .expect("json");
            records.push(ClaimRecord {
                id: qiancheng_platform::time::new_id(),
                project_id,
                project_title: "焊工项目化培训".to_owned(),
                provider_credit_code: self.provider.clone(),
                region: qiancheng_domain::RegionCode::parse(COUNTY).expect("a county"),
                state: claims::APPROVED.to_owned(),
                filed_on,
                materials: facts.materials.clone(),
                policy_version: policy.version.clone(),
                policy_digest: policy.digest(),
                snapshot_micros: 0,
                project_accepted_on: Some(filed_on - Days::new(30)),
                facts_cipher: pii.encrypt(&snapshot).expect("sealed"),
                standards: vec![standard()],
                total_fen: decided.outcome.total_fen.fen(),
                outcome: Calculation(Some(masked(decided.outcome))),
                created_by: "provider".to_owned(),
                exclusions: Vec::new(),
                return_reasons: Vec::new(),
                reviewed_by: "officer-a".to_owned(),
                reviewed_on: Some(filed_on + Days::new(5)),
                notice_published_on: Some(filed_on + Days::new(5)),
                notice_ends_on: Some(filed_on + Days::new(25)),
                approved_by: "officer-b".to_owned(),
                approved_on: Some(filed_on + Days::new(30)),
                stamp: Stamp::new(),
            });
        }
        for chunk in records.chunks(60) {
            let (mut tx, _turn) = db.begin_write().await.expect("a transaction");
            record::insert_many(&mut tx, chunk).await.expect("claims");
            tx.commit().await.expect("committed");
        }
        db.close().await;
        records.iter().map(ClaimRecord::name).collect()
    }
}

/// Each claim with the instruction it was answered and whether it was released by that call; how
/// often a call was sent again.
type Releases = (Vec<(String, String, bool)>, usize);

/// Releases `names` with IN_FLIGHT calls in flight, each with the request id `request_id(name)`,
/// sending a call again until it is answered while the killer works; returns each claim's
/// instruction as answered, and how often a call was sent again.
fn release_all(suite: &Suite, names: &[String], request_id: fn(&str) -> String) -> tokio::task::JoinHandle<Releases> {
    let names: Arc<Vec<String>> = Arc::new(names.to_vec());
    let next = Arc::new(AtomicUsize::new(0));
    let (addr, finance) = (suite.subsidy_addr.clone(), suite.finance());
    tokio::spawn(async move {
        let mut workers = Vec::new();
        for _ in 0..IN_FLIGHT {
            let (names, next, addr, finance) = (names.clone(), next.clone(), addr.clone(), finance.clone());
            workers.push(tokio::spawn(async move {
                let mut answered = Vec::new();
                let mut again = 0;
                let mut client = SubsidyServiceClient::new(channel(&addr));
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(name) = names.get(k) else { return (answered, again) };
                    let request = ReleasePaymentRequest { name: name.clone(), request_id: request_id(name) };
                    let deadline = Instant::now() + Duration::from_secs(90);
                    loop {
                        match client.release_payment(authed(request.clone(), &finance)).await {
                            Ok(r) => {
                                let r = r.into_inner();
                                let instruction = r.instruction.expect("an instruction");
                                answered.push((name.clone(), instruction.name, r.released_now));
                                break;
                            }
                            // The process is gone or starting: the call goes again, unchanged.
                            Err(status)
                                if matches!(
                                    status.code(),
                                    Code::Unavailable
                                        | Code::Unknown
                                        | Code::Cancelled
                                        | Code::DeadlineExceeded
                                        | Code::Internal
                                ) =>
                            {
                                assert!(Instant::now() < deadline, "{name} never released: {status:?}");
                                again += 1;
                                tokio::time::sleep(Duration::from_millis(50)).await;
                                client = SubsidyServiceClient::new(channel(&addr));
                            }
                            Err(status) => panic!("{name} refused: {status:?}"),
                        }
                    }
                }
            }));
        }
        let mut all = Vec::new();
        let mut again = 0;
        for worker in workers {
            let (answered, n) = worker.await.expect("a worker");
            all.extend(answered);
            again += n;
        }
        (all, again)
    })
}

/// Kills and restarts subsidy at random moments until `work` is done; returns what it returned
/// and the number of kills.
async fn under_kills<T>(suite: &mut Suite, dice: &mut Dice, mut work: tokio::task::JoinHandle<T>) -> (T, usize) {
    let mut kills = 0;
    loop {
        let wait = Duration::from_millis(dice.between(100, 700));
        tokio::select! {
            done = &mut work => return (done.expect("the work"), kills),
            () = tokio::time::sleep(wait) => {
                suite.crash_and_restart().await;
                kills += 1;
            }
        }
    }
}

async fn all_instructions(suite: &Suite) -> Vec<PaymentInstruction> {
    let auditor = suite.token(Role::Auditor, None);
    let mut all = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = suite
            .client()
            .list_payment_instructions(authed(
                ListPaymentInstructionsRequest { page_size: 500, page_token: page_token.clone(), ..Default::default() },
                &auditor,
            ))
            .await
            .expect("listed")
            .into_inner();
        all.extend(page.instructions);
        if page.next_page_token.is_empty() {
            return all;
        }
        page_token = page.next_page_token;
    }
}

async fn ledger(suite: &Suite) -> VerifyLedgerResponse {
    suite
        .client()
        .verify_ledger(authed(VerifyLedgerRequest {}, &suite.token(Role::Auditor, None)))
        .await
        .expect("verified")
        .into_inner()
}

fn balance(verified: &VerifyLedgerResponse, account: &str) -> i64 {
    verified.balances.iter().find(|b| b.account == account).map_or(0, |b| b.balance_fen)
}

async fn import(suite: &Suite, content: &str) -> ImportBankResultsResponse {
    suite
        .client()
        .import_bank_results(authed(
            ImportBankResultsRequest { content: content.as_bytes().to_vec(), request_id: String::new() },
            &suite.finance(),
        ))
        .await
        .expect("imported")
        .into_inner()
}

async fn payments_survive_the_subsidy_process_killed_at_random(backend: Backend) {
    let Some(mut suite) = Suite::start(backend).await else { return };
    let started = Instant::now();
    let seed = std::env::var("QIANCHENG_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        u64::try_from(std::time::UNIX_EPOCH.elapsed().expect("time").as_nanos() % 1_000_000_007).expect("small") | 1
    });
    println!("QIANCHENG_CRASH_SEED={seed}");
    let mut dice = Dice(seed);
    let names = suite.seed_approved_claims(CLAIMS + 1).await;
    let (names, spare) = (names[..CLAIMS].to_vec(), names[CLAIMS].clone());
    let claim_fen = i64::try_from(TRAINEES).expect("small") * LINE_FEN;
    let total = i64::try_from(CLAIMS).expect("small") * claim_fen;

    // Finance budgets for them all and signs each off (no kills yet).
    let year = chrono::Datelike::year(&qiancheng_domain::today_in_china());
    let budget = FundBudget {
        year,
        fund: FundChannel::EmploymentSubsidyFund as i32,
        budget_fen: total + claim_fen,
        ..Default::default()
    };
    suite
        .client()
        .set_fund_budget(authed(
            SetFundBudgetRequest { budget: Some(budget), request_id: String::new() },
            &suite.finance(),
        ))
        .await
        .expect("budget recorded");
    for name in names.iter().chain([&spare]) {
        let request = SignOffClaimRequest {
            name: name.clone(),
            decision: SignOffDecision::SignOff as i32,
            return_reasons: vec![],
            request_id: format!("sign-{name}"),
        };
        let signed = suite.client().sign_off_claim(authed(request, &suite.finance())).await.expect("signed off");
        assert_eq!(signed.into_inner().payment.expect("payment").state, PaymentState::SignedOff as i32);
    }

    // Released under kills, each call sent again with its own request id until answered.
    let work = release_all(&suite, &names, |name| format!("release-{name}"));
    let ((first, again), kills) = under_kills(&mut suite, &mut dice, work).await;
    assert_eq!(first.len(), CLAIMS);
    let answered: std::collections::BTreeMap<String, String> =
        first.iter().map(|(claim, instruction, _)| (claim.clone(), instruction.clone())).collect();
    // Twice more, under more kills: the same request ids (the stored answer), then new ones
    // (finance lost them): the same instruction each time, nothing released now.
    let work = release_all(&suite, &names, |name| format!("release-{name}"));
    let ((replayed, again_2), kills_2) = under_kills(&mut suite, &mut dice, work).await;
    let work = release_all(&suite, &names, |name| format!("again-{name}"));
    let ((retried, again_3), kills_3) = under_kills(&mut suite, &mut dice, work).await;
    for (claim, instruction, _) in replayed.iter().chain(&retried) {
        assert_eq!(&answered[claim], instruction, "{claim}: the same instruction however often released");
    }
    assert!(retried.iter().all(|(_, _, now)| !now), "a release with a new request id moves nothing");
    println!(
        "{backend:?}: {CLAIMS} releases x3 passes, {} kills, {} calls sent again, in {:.1} s",
        kills + kills_2 + kills_3,
        again + again_2 + again_3,
        started.elapsed().as_secs_f64()
    );
    assert!(kills + kills_2 + kills_3 >= 10, "the process was killed many times while it released");

    // None paid twice, none lost, the ledger balanced: one movement a release.
    let instructions = all_instructions(&suite).await;
    let mut by_claim = std::collections::BTreeMap::<String, usize>::new();
    for i in &instructions {
        *by_claim.entry(i.claim.clone()).or_default() += 1;
        assert_eq!(i.amount_fen, claim_fen);
        assert_eq!(i.state, InstructionState::Sent as i32);
    }
    assert_eq!(instructions.len(), CLAIMS, "one instruction a claim");
    assert!(by_claim.values().all(|n| *n == 1), "no claim paid twice");
    for name in &names {
        assert!(by_claim.contains_key(name), "{name} released");
        let payment = suite
            .client()
            .get_claim_payment(authed(GetClaimPaymentRequest { name: name.clone() }, &suite.finance()))
            .await
            .expect("read")
            .into_inner()
            .payment
            .expect("payment");
        assert_eq!((payment.state, payment.instructions.len()), (PaymentState::Released as i32, 1), "{name}");
    }
    let verified = ledger(&suite).await;
    assert!(verified.balanced, "{:?}", verified.unbalanced_movements);
    assert_eq!(verified.movements, i64::try_from(CLAIMS).expect("small"));
    assert_eq!(balance(&verified, &format!("FUND:{COUNTY}:EMPLOYMENT_SUBSIDY_FUND")), total);
    assert_eq!(balance(&verified, "PAYABLE:6228480012345678"), -total);

    // The bank does not answer in time and the payment file goes out again: the same
    // instructions under the same ids, so the bank can recognise what it has seen.
    let export = || async {
        suite
            .client()
            .get_bank_payment_file(authed(GetBankPaymentFileRequest {}, &suite.finance()))
            .await
            .expect("exported")
            .into_inner()
    };
    let exported = export().await;
    assert_eq!((exported.count, exported.total_fen), (i32::try_from(CLAIMS).expect("small"), total));
    assert_eq!(export().await.content, exported.content, "the same file, the same instruction ids");
    // Then it answers twice: the same result file again, then another answer for the same
    // instructions (other references). Each payment is applied once.
    let results = |reference: &str| {
        let mut file = format!("QCRES|1|{COUNTY}\n");
        for i in &instructions {
            let id = i.name.trim_start_matches("paymentInstructions/");
            file.push_str(&format!("{id}|PAID|{claim_fen}|{reference}-{id}\n"));
        }
        file
    };
    let first = import(&suite, &results("BANK-A")).await;
    assert_eq!((first.applied, first.reported), (i32::try_from(CLAIMS).expect("small"), 0));
    let again = import(&suite, &results("BANK-A")).await;
    assert_eq!(again.applied, 0, "the same file again applies nothing");
    assert!(again.results.iter().all(|r| r.outcome == BankLineOutcome::AppliedBefore as i32));
    let other = import(&suite, &results("BANK-B")).await;
    assert_eq!(other.applied, 0, "another answer for a paid instruction is reported, never applied");
    assert!(other.results.iter().all(|r| r.outcome == BankLineOutcome::Settled as i32));
    let verified = ledger(&suite).await;
    assert!(verified.balanced);
    assert_eq!(verified.movements, 2 * i64::try_from(CLAIMS).expect("small"));
    assert_eq!(balance(&verified, &format!("BANK:{COUNTY}")), -total);
    assert_eq!(balance(&verified, "PAYABLE:6228480012345678"), 0);

    // Selection goes down: the spare claim's release and a new claim's filing need it. Each
    // answers UNAVAILABLE naming selection, within the peer deadline, and stores nothing.
    if let Some(mut selection) = suite.selection.take() {
        selection.kill();
    }
    let asked = Instant::now();
    let refused = suite
        .client()
        .release_payment(authed(
            ReleasePaymentRequest { name: spare.clone(), request_id: String::new() },
            &suite.finance(),
        ))
        .await
        .expect_err("selection is down");
    assert_eq!((refused.code(), reason(&refused).as_str()), (Code::Unavailable, "PEER_UNAVAILABLE"), "{refused:?}");
    assert!(refused.message().contains("selection"), "{}", refused.message());
    assert!(asked.elapsed() < PEER_DEADLINE + Duration::from_secs(2));
    let provider =
        suite.issuer.mint("crash-test", &[Role::Provider], None, Some(&suite.provider), 3600).expect("a token");
    let file = FileClaimRequest {
        claim: Some(Claim {
            project: suite.project.clone(),
            materials: vec![ClaimMaterial::Annex4 as i32, ClaimMaterial::Ledger as i32],
            ..Default::default()
        }),
        request_id: String::new(),
    };
    let not_filed = suite.client().file_claim(authed(file, &provider)).await.expect_err("selection is down");
    assert_eq!((not_filed.code(), reason(&not_filed).as_str()), (Code::Unavailable, "PEER_UNAVAILABLE"));
    assert!(not_filed.message().contains("selection"), "{}", not_filed.message());
    assert_eq!(all_instructions(&suite).await.len(), CLAIMS, "no instruction stored");
    assert_eq!(ledger(&suite).await.movements, 2 * i64::try_from(CLAIMS).expect("small"), "nothing posted");
    let listed = suite
        .client()
        .list_claims(authed(ListClaimsRequest { page_size: 500, ..Default::default() }, &provider))
        .await
        .expect("listed")
        .into_inner();
    assert_eq!(listed.claims.len(), CLAIMS + 1, "no claim stored");
    let spare_payment = suite
        .client()
        .get_claim_payment(authed(GetClaimPaymentRequest { name: spare }, &suite.finance()))
        .await
        .expect("read")
        .into_inner()
        .payment
        .expect("payment");
    assert_eq!(spare_payment.state, PaymentState::SignedOff as i32, "still waiting to be released");
    println!("{backend:?}: done in {:.1} s", started.elapsed().as_secs_f64());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_survive_the_subsidy_process_killed_at_random_on_sqlite() {
    payments_survive_the_subsidy_process_killed_at_random(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_survive_the_subsidy_process_killed_at_random_on_postgres() {
    payments_survive_the_subsidy_process_killed_at_random(Backend::Postgres).await;
}
