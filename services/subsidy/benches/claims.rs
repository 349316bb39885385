//! `cargo bench -p qiancheng-subsidy --bench claims` (issue #19): a whole claim filed end to end
//! across the services (the claim calculated in the policy core alone is
//! `cargo bench -p qiancheng-domain --bench claim`).
//!
//! FileClaim of the walkthrough's project (23 on the roster, 20 completed, 14 of them employed:
//! 100,000 yuan) against real selection, supervision, outcome and subsidy servers on port 0, each
//! over a fresh database, subsidy asking its peers over gRPC with its own identity (the project,
//! the roster and results, acceptance and verdicts), calculating and storing the claim: p50 and
//! p99 over one claim for each of `QIANCHENG_BENCH_CLAIMS` projects (default 50; below 100
//! claims the p99 is the slowest), each lived through first (its class filed, attended, assessed and completed in supervision, followed by
//! outcome, employment recorded, the project accepted), on SQLite and, when
//! `QIANCHENG_TEST_DATABASE_URL` is set, PostgreSQL. Filed one after the other, as providers
//! file them; one more project's claim is filed first and not timed, as a running service has
//! its connections to its peers open already.
//!
//! What each claim comes to is checked (a wrong figure would make the timing meaningless);
//! nothing timed is asserted.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::*;
use qiancheng_api::subsidy::{Claim, FileClaimRequest};
use qiancheng_testkit::bench::percentile;
use qiancheng_testkit::subsidy::LINE_FEN;

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// A count from the environment, or `default`.
fn scale(var: &str, default: usize) -> usize {
    std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// What one backend measured end to end.
#[derive(Debug, Default)]
struct EndToEnd {
    claims: usize,
    setup: Duration,
    filings: Vec<Duration>,
}

async fn end_to_end(backend: Backend, projects: usize) -> Option<EndToEnd> {
    let suite = start_suite_with_outcome(backend).await?;
    let started = Instant::now();
    standards(&suite).await;
    // Every project approved and its class lived through in supervision, each of other people.
    let mut lived = Vec::with_capacity(projects + 1);
    for p in 0..=projects {
        let (provider, project) = if p == 0 {
            (suite.provider.clone(), suite.project.clone())
        } else {
            suite.approve_another(&format!("{:07}", 1000 + p)).await
        };
        let token = suite.provider_of(&provider);
        let first = u32::try_from(p * 23).expect("small");
        let trainees = run_class_of(&suite, &project, &token, first).await;
        lived.push((token, project, trainees));
    }
    // Outcome follows each class from supervision's feed; 14 of each 20 are employed; accepted.
    for (_, project, trainees) in &lived {
        followed(&suite, project).await;
        record_employment(&suite, &trainees[..14]).await;
        accept(&suite, project).await;
    }
    let setup = started.elapsed();
    suite.clock.set(day(2027, 10, 30));
    let mut filings = Vec::with_capacity(projects);
    for (n, (token, project, _)) in lived.iter().enumerate() {
        let request = FileClaimRequest {
            claim: Some(Claim { project: project.clone(), materials: every_material(), ..Default::default() }),
            request_id: String::new(),
        };
        let mut client = suite.client().await;
        let started = Instant::now();
        let filed = client.file_claim(authed(request, token)).await.expect("filed").into_inner();
        // The first opens subsidy's connections to its peers: not timed.
        if n > 0 {
            filings.push(started.elapsed());
        }
        assert_eq!(filed.claim.expect("claim").total_fen, 20 * LINE_FEN);
    }
    Some(EndToEnd { claims: projects, setup, filings })
}

fn main() {
    let projects = scale("QIANCHENG_BENCH_CLAIMS", 50);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    println!();
    println!("| FileClaim end to end | claims | setup s (not timed) | p50 ms | p99 ms | slowest ms |");
    println!("|---|---|---|---|---|---|");
    for (name, backend) in [("SQLite", Backend::Sqlite), ("PostgreSQL", Backend::Postgres)] {
        match runtime.block_on(end_to_end(backend, projects)) {
            Some(f) => println!(
                "| {name} | {} | {:.1} | {} | {} | {} |",
                f.claims,
                f.setup.as_secs_f64(),
                ms(percentile(&f.filings, 50.0)),
                ms(percentile(&f.filings, 99.0)),
                ms(percentile(&f.filings, 100.0)),
            ),
            None => println!("| {name} | not configured (QIANCHENG_TEST_DATABASE_URL) | | | | |"),
        }
    }
}
