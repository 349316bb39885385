//! `qiancheng policy`: replays a subsidy claim from a facts file, as an auditor would, with the
//! policy core the services use (facts format: `docs/policy-facts.md`), and shows and checks
//! policy sets. The facts name the policy-set version they were decided under, and the replay
//! uses that version; a set is identified by its version and the digest of its content, which
//! `show-set` and `check-set` print.

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
    /// Print a built-in policy set as TOML, after a `# digest: sha256:…` comment: the set new
    /// decisions are made under (xianning-2025-5/v2) unless --version names another; the
    /// starting point of a new version the city publishes.
    ShowSet {
        /// The built-in version to print (xianning-2025-5/v1 or xianning-2025-5/v2).
        #[arg(long, value_name = "VERSION")]
        version: Option<String>,
    },
    /// Check a policy-set file (TOML, or JSON when the name ends in .json) before it is
    /// published: every parameter present and consistent, and a built-in version only with its
    /// exact parameters. Prints its version, validity, digest and whether it is built in.
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
        PolicyCommand::ShowSet { version } => {
            let set = match version {
                None => PolicySet::current(),
                Some(version) => PolicySet::builtin(&version).ok_or_else(|| {
                    format!(
                        "policy set {version} is not built in (built in: {})",
                        PolicySet::BUILT_IN_VERSIONS.join(", ")
                    )
                })?,
            };
            let text = toml::to_string(&set).map_err(|e| format!("cannot write the policy set: {e}"))?;
            print!("# digest: {}\n{text}", set.digest());
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
            println!("digest: {}", set.digest());
            // A built-in version passed the check only with its exact parameters.
            if PolicySet::builtin(&set.version).is_some() {
                println!("built in: yes");
            } else {
                println!("built in: no (the built-in versions are {})", PolicySet::BUILT_IN_VERSIONS.join(", "));
            }
        }
    }
    Ok(())
}
