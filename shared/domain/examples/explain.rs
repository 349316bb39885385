//! Print the explanation table of a facts file, or with `--json` its decision as JSON:
//! `cargo run -p qiancheng-domain --example explain -- [--json] docs/examples/claim-facts-v2.json`.
//! The facts name the policy set they are decided under (`docs/policy-facts.md`).

use std::process::ExitCode;

#[allow(clippy::print_stderr)]
fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|a| a == "--json");
    let Some(path) = args.iter().find(|a| *a != "--json") else {
        eprintln!("usage: explain [--json] <facts.json>");
        return ExitCode::FAILURE;
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cannot read {path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let decision = match qiancheng_domain::policy::replay::evaluate_claim_json(&text) {
        Ok(decision) => decision,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if json {
        match qiancheng_domain::policy::replay::decision_json(&decision) {
            Ok(out) => println!("{out}"),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        println!("{}", qiancheng_domain::policy::replay::explain_table(&decision));
    }
    ExitCode::SUCCESS
}
