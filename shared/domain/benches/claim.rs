//! `cargo bench -p qiancheng-domain --bench claim` (issue #19): a 1,000-trainee and a
//! 10,000-trainee claim calculated in the policy core, as FileClaim calls it (`evaluate_claim`
//! under the current policy set, with the standards table and no minimum wages): classes of 100
//! welders of 嘉鱼县, 70% employed, every line 200% of 3,000 yuan capped at 5,000. Printed: p50
//! and the fastest of the runs, and the p50 against the target of 100 ms for 10,000 trainees.
//! The facts are made by `shared/testkit/src/subsidy.rs`, included here so that this bench
//! depends on the policy core alone and builds in release quickly. What each claim comes to is
//! checked (a wrong figure would make the timing meaningless); nothing timed is asserted.

#[path = "../../testkit/src/bench.rs"]
mod bench;
#[allow(dead_code)]
#[path = "../../testkit/src/subsidy.rs"]
mod subsidy;

use bench::percentile;

use std::time::{Duration, Instant};

use qiancheng_domain::policy::{MinimumWageTable, PolicySet, evaluate_claim};

/// The target of issue #19 for a 10,000-trainee claim.
const TARGET: Duration = Duration::from_millis(100);

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// `runs` calculations of a claim of `trainees` trainees.
fn measure(trainees: usize, runs: usize) -> Vec<Duration> {
    let policy = PolicySet::current();
    let facts = subsidy::walkthrough_claim_facts("P-BENCH", trainees);
    let table = subsidy::standards();
    let wages = MinimumWageTable::default();
    let mut samples = Vec::with_capacity(runs);
    // One run first, not timed: the allocator and caches warmed as a running service's are.
    for run in 0..=runs {
        let started = Instant::now();
        let decided = evaluate_claim(&policy, &facts, &table, &wages).expect("consistent facts");
        let took = started.elapsed();
        assert_eq!(decided.outcome.total_fen.fen(), i64::try_from(trainees).expect("small") * subsidy::LINE_FEN);
        if run > 0 {
            samples.push(took);
        }
    }
    samples
}

fn main() {
    let profile = if cfg!(debug_assertions) { "debug" } else { "release" };
    println!();
    println!("| evaluate_claim ({profile}) | runs | p50 ms | fastest ms | against the target (≤ 100 ms for 10,000) |");
    println!("|---|---|---|---|---|");
    for (trainees, runs) in [(1_000, 30), (10_000, 10)] {
        let samples = measure(trainees, runs);
        let p50 = percentile(&samples, 50.0);
        let against = if trainees == 10_000 {
            format!("{:.2}× the target", p50.as_secs_f64() / TARGET.as_secs_f64())
        } else {
            "(the target is for 10,000)".to_owned()
        };
        println!("| {trainees} trainees | {runs} | {} | {} | {against} |", ms(p50), ms(percentile(&samples, 0.0)));
    }
}
