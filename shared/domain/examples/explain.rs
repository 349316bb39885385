//! Print the decision and the explanation table of a facts file: `cargo run -p qiancheng-domain
//! --example explain -- docs/examples/claim-facts.json`.

use std::process::ExitCode;

#[allow(clippy::print_stderr)]
fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: explain <facts.json>");
        return ExitCode::FAILURE;
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cannot read {path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    match qiancheng_domain::policy::replay::evaluate_claim_json(&text) {
        Ok(decision) => {
            println!("{}", qiancheng_domain::policy::replay::explain_table(&decision));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
