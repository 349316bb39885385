//! `qiancheng policy`: replays a subsidy claim from a facts file, as an auditor would, with the
//! policy core the services use (facts format: `docs/policy-facts.md`).

use std::path::PathBuf;

use clap::Subcommand;
use qiancheng_domain::policy::replay;
use qiancheng_domain::policy::set::PolicySet;

/// What `qiancheng policy` does.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Evaluate the claim in FACTS and print the decision as JSON.
    Evaluate {
        /// The facts file (JSON); `-` reads standard input.
        facts: PathBuf,
    },
    /// Evaluate the claim in FACTS and print the decision as a readable table.
    Explain {
        /// The facts file (JSON); `-` reads standard input.
        facts: PathBuf,
    },
    /// Print the built-in policy set (xianning-2025-5/v1) as TOML: the starting point of a new
    /// version the city publishes.
    ShowSet,
    /// Check a policy-set file (TOML, or JSON when the name ends in .json) before it is
    /// published: every parameter present and consistent. Prints its version and validity.
    CheckSet {
        /// The policy-set file.
        file: PathBuf,
    },
}

fn read(path: &PathBuf) -> Result<String, String> {
    if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(|e| format!("cannot read standard input: {e}"))
    } else {
        std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    }
}

/// Runs a policy command.
pub fn run(command: PolicyCommand) -> Result<(), String> {
    match command {
        PolicyCommand::Evaluate { facts } => {
            let decision = replay::evaluate_claim_json(&read(&facts)?).map_err(|e| e.to_string())?;
            println!("{}", replay::decision_json(&decision).map_err(|e| e.to_string())?);
        }
        PolicyCommand::Explain { facts } => {
            let decision = replay::evaluate_claim_json(&read(&facts)?).map_err(|e| e.to_string())?;
            print!("{}", replay::explain_table(&decision));
        }
        PolicyCommand::ShowSet => {
            let set = PolicySet::xianning_2025_5_v1();
            print!("{}", toml::to_string(&set).map_err(|e| format!("cannot write the policy set: {e}"))?);
        }
        PolicyCommand::CheckSet { file } => {
            let text = read(&file)?;
            let set = if file.extension().is_some_and(|e| e == "json") {
                PolicySet::from_json_str(&text)
            } else {
                PolicySet::from_toml_str(&text)
            }
            .map_err(|e| format!("{}: {e}", file.display()))?;
            println!("{}: policy set {} in force {} to {}", file.display(), set.version, set.valid_from, set.valid_to);
        }
    }
    Ok(())
}
