//! `cargo bench -p qiancheng-subsidy --bench payments` (issue #20): payments released per second,
//! on SQLite and, when `QIANCHENG_TEST_DATABASE_URL` is set, on PostgreSQL.
//!
//! The walkthrough's claim (20 lines of 5,000 yuan) is filed, reviewed and approved through the
//! API against real selection and supervision servers. Building hundreds of whole claims that
//! way (a project, a class lived through, a notice each) would take minutes a backend, so the
//! approved claim is then copied straight into subsidy's database as `QIANCHENG_BENCH_PAYMENTS`
//! (default 300) approved claims of other projects of the same provider: the same stored
//! snapshot, calculation, notice and approval, each with an id of its own. Finance records a
//! budget that covers them all and signs each off through the API (SignOffClaim reads the
//! provider's account from selection), then releases them through the API, one call after the
//! other as one finance officer would and then 8 in flight: ReleasePayment reads the account
//! from selection again, decides SUBS-PAY in the policy core, posts the ledger movement (fund →
//! payable) and checks inside the transaction that it and the whole ledger balance, stores the
//! instruction and its audit row. Printed: releases per second, p50 and p99 of a release, and
//! sign-offs per second. At the end the ledger is verified (balanced, one movement a release);
//! nothing timed is asserted.

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use qiancheng_api::subsidy::subsidy_service_client::SubsidyServiceClient;
use qiancheng_api::subsidy::*;
use qiancheng_platform::Stamp;
use qiancheng_platform::auth::Role;
use qiancheng_platform::record;
use qiancheng_subsidy::store::claim::ClaimRecord;
use qiancheng_testkit::bench::percentile;
use tonic::transport::Channel;

/// Releases in flight in the concurrent pass.
const IN_FLIGHT: usize = 8;

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// What one pass of releases measured.
#[derive(Debug, Default)]
struct Pass {
    releases: usize,
    wall: Duration,
    calls: Vec<Duration>,
}

/// What one backend measured.
#[derive(Debug, Default)]
struct Figures {
    sign_offs: usize,
    sign_off_wall: Duration,
    one_at_a_time: Pass,
    concurrent: Pass,
    movements: i64,
    balanced: bool,
}

/// `copies` approved claims copied from the walkthrough's, each of a project of its own.
async fn seed(suite: &Suite, name: &str, copies: usize) -> Vec<String> {
    let id = name.trim_start_matches("claims/");
    let approved = record::find::<ClaimRecord>(suite.subsidy.db.pool(), id).await.expect("read").expect("the claim");
    let mut names = Vec::with_capacity(copies);
    let all: Vec<ClaimRecord> = (0..copies)
        .map(|k| {
            let mut copy = approved.clone();
            copy.id = qiancheng_platform::time::new_id();
            copy.project_id = format!("bench{k:06}");
            copy.stamp = Stamp::new();
            names.push(copy.name());
            copy
        })
        .collect();
    for chunk in all.chunks(100) {
        let (mut tx, _turn) = suite.subsidy.db.begin_write().await.expect("a transaction");
        record::insert_many(&mut tx, chunk).await.expect("claims");
        tx.commit().await.expect("committed");
    }
    names
}

async fn release(mut client: SubsidyServiceClient<Channel>, token: &str, name: &str) -> Duration {
    let request = ReleasePaymentRequest { name: name.to_owned(), request_id: format!("release-{name}") };
    let started = Instant::now();
    let released = client.release_payment(authed(request, token)).await.expect("released").into_inner();
    let took = started.elapsed();
    assert!(released.released_now, "released once");
    took
}

async fn measure(backend: Backend, copies: usize) -> Option<Figures> {
    let suite = start_suite(backend).await?;
    let (name, _) = claim_on_notice(&suite).await;
    approve(&suite, &name).await;
    let names = seed(&suite, &name, copies).await;
    let finance = suite.keys.token(Role::FinanceOfficer, Some(COUNTY), None);
    let budget = FundBudget {
        year: 2027,
        fund: FundChannel::EmploymentSubsidyFund as i32,
        budget_fen: i64::try_from(copies + 1).expect("small") * 20 * 500_000,
        ..Default::default()
    };
    suite
        .client()
        .await
        .set_fund_budget(authed(SetFundBudgetRequest { budget: Some(budget), request_id: String::new() }, &finance))
        .await
        .expect("budget recorded");

    let started = Instant::now();
    for name in &names {
        let request = SignOffClaimRequest {
            name: name.clone(),
            decision: SignOffDecision::SignOff as i32,
            return_reasons: vec![],
            request_id: format!("sign-{name}"),
        };
        let signed = suite.client().await.sign_off_claim(authed(request, &finance)).await.expect("signed off");
        assert_eq!(signed.into_inner().payment.expect("payment").state, PaymentState::SignedOff as i32);
    }
    let sign_off_wall = started.elapsed();

    // One finance officer, one release after the other, over one connection.
    let half = names.len() / 2;
    let client = suite.client().await;
    let started = Instant::now();
    let mut calls = Vec::with_capacity(half);
    for name in &names[..half] {
        calls.push(release(client.clone(), &finance, name).await);
    }
    let one_at_a_time = Pass { releases: half, wall: started.elapsed(), calls };

    // The rest with IN_FLIGHT releases in flight.
    let rest: Arc<Vec<String>> = Arc::new(names[half..].to_vec());
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..IN_FLIGHT {
        let (rest, next, client, finance) = (rest.clone(), next.clone(), client.clone(), finance.clone());
        workers.push(tokio::spawn(async move {
            let mut calls = Vec::new();
            loop {
                let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(name) = rest.get(k) else { return calls };
                calls.push(release(client.clone(), &finance, name).await);
            }
        }));
    }
    let mut calls = Vec::with_capacity(rest.len());
    for worker in workers {
        calls.extend(worker.await.expect("a worker"));
    }
    let concurrent = Pass { releases: rest.len(), wall: started.elapsed(), calls };

    let verified = suite
        .client()
        .await
        .verify_ledger(authed(VerifyLedgerRequest {}, &suite.auditor()))
        .await
        .expect("verified")
        .into_inner();
    assert!(verified.balanced, "{:?}", verified.unbalanced_movements);
    assert_eq!(verified.movements, i64::try_from(names.len()).expect("small"), "one movement a release");
    Some(Figures {
        sign_offs: names.len(),
        sign_off_wall,
        one_at_a_time,
        concurrent,
        movements: verified.movements,
        balanced: verified.balanced,
    })
}

fn main() {
    let copies = std::env::var("QIANCHENG_BENCH_PAYMENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    println!();
    println!(
        "| ReleasePayment | claims | one at a time: releases/s | p50 ms | p99 ms | {IN_FLIGHT} in flight: releases/s | p50 ms | p99 ms | SignOffClaim/s | ledger movements | balanced |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for (name, backend) in [("SQLite", Backend::Sqlite), ("PostgreSQL", Backend::Postgres)] {
        match runtime.block_on(measure(backend, copies)) {
            Some(f) => {
                let rate = |p: &Pass| p.releases as f64 / p.wall.as_secs_f64();
                println!(
                    "| {name} | {} | {:.0} | {} | {} | {:.0} | {} | {} | {:.0} | {} | {} |",
                    f.sign_offs,
                    rate(&f.one_at_a_time),
                    ms(percentile(&f.one_at_a_time.calls, 50.0)),
                    ms(percentile(&f.one_at_a_time.calls, 99.0)),
                    rate(&f.concurrent),
                    ms(percentile(&f.concurrent.calls, 50.0)),
                    ms(percentile(&f.concurrent.calls, 99.0)),
                    f.sign_offs as f64 / f.sign_off_wall.as_secs_f64(),
                    f.movements,
                    f.balanced,
                );
            }
            None => println!("| {name} | not configured (QIANCHENG_TEST_DATABASE_URL) | | | | | | | | | |"),
        }
    }
}
