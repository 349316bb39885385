//! `qiancheng`: the suite's one binary.
//!
//! `dev` runs every service in one process on the embedded default (SQLite files under
//! `./data`), `serve` runs one service from configuration, `token` mints a development token,
//! `migrate` applies a service's migrations, `backup` copies a SQLite database online, `reencrypt` moves a service's personal data to the
//! newest data key, `data-key` makes one, `exchange` pulls, signs and pushes a department's
//! exchange batches as files, and `policy` replays a subsidy decision from facts.

// Skip notices and command-line errors are meant for a person reading the terminal.
#![allow(clippy::print_stderr)]

mod application_form;
mod claim_form;
mod exchange_cmd;
mod export;
mod forms;
mod load;
mod policy_cmd;
mod public;
mod roster_form;
mod services;
mod workbook;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use qiancheng_platform::auth::{Authenticator, Role, SERVICE_SUBJECT_PREFIX, TokenMinter};
use qiancheng_platform::config::{Settings, VARIABLES};

fn variables_help() -> String {
    let mut text = String::from("Configuration (environment variables):\n");
    for (name, meaning) in VARIABLES {
        text.push_str(&format!("  {name}\n      {meaning}\n"));
    }
    text
}

/// Qiancheng (前程): the 技能照亮前程 project-based training programme of 咸宁市, end to end.
#[derive(Debug, Parser)]
#[command(name = "qiancheng", version, about, after_help = variables_help())]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every service in one process on SQLite under the data folder, print each endpoint and
    /// an administrator token, and stop cleanly on Ctrl-C.
    Dev {
        /// Address the services listen on.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Port of the first service; each other keeps its place after it (demand 50051,
        /// selection 50052, supervision 50053, outcome 50054, subsidy 50055). 0 picks free ports.
        /// The admin port (metrics, health) is 9464, or a free one with 0; QIANCHENG_ADMIN_ADDR
        /// sets another, so that a second `dev` can run beside the first.
        #[arg(long, default_value_t = 50051)]
        base_port: u16,
    },
    /// Run one service from configuration: the variables listed by `qiancheng --help` (bind
    /// address, database URL, token keys, data key, peers, limits, telemetry).
    #[command(after_help = variables_help())]
    Serve {
        /// The service to run.
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(services::names()))]
        service: String,
    },
    /// Mint a development token signed with the development key: a person's token, or with
    /// --role SERVICE and a service's own --key-file, that service's token.
    Token {
        /// A role the token holds (repeat for several).
        #[arg(long = "role", required = true, value_parser = parse_role)]
        roles: Vec<Role>,
        /// Region code (the city 421200, or a county such as 421221); county officers need one.
        #[arg(long)]
        region: Option<String>,
        /// Organisation credit code; providers and enterprises need one.
        #[arg(long)]
        org: Option<String>,
        /// Who the token speaks for (default dev-user; for a SERVICE token, service:NAME where NAME
        /// is the key file's name without its extension, selection.key → service:selection).
        #[arg(long)]
        subject: Option<String>,
        /// Hours the token is valid.
        #[arg(long, default_value_t = 12)]
        ttl_hours: i64,
        /// The signing key (default: DATA_DIR/dev-signing.key, the key `qiancheng dev` made in
        /// this folder).
        #[arg(long)]
        key_file: Option<PathBuf>,
        /// Make a new key at the key file's path if there is none (tokens signed by a new key
        /// are refused by servers that trust another).
        #[arg(long)]
        create_key: bool,
    },
    /// Print the base64 public key of a signing key file, as QIANCHENG_AUTH_PUBLIC_KEYS and
    /// QIANCHENG_SERVICE_PUBLIC_KEYS take it.
    PublicKey {
        /// The key file (default: DATA_DIR/dev-signing.key).
        #[arg(long)]
        key_file: Option<PathBuf>,
    },
    /// Move a service's sealed personal data and lookup hashes to the newest data key (the last
    /// of QIANCHENG_DATA_KEYS) while the service runs, in batches, printing progress. Safe to
    /// stop (Ctrl-C, SIGTERM or a kill) and to run again: it resumes after the last batch it
    /// committed. When no row is left under another key it marks the database settled on the
    /// newest key, and services then look people up by that key's hash alone
    /// (docs/CRYPTOGRAPHY.md).
    Reencrypt {
        /// The service whose database to move.
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(services::names()))]
        service: String,
        /// Rows moved per transaction.
        #[arg(long, default_value_t = 500)]
        batch_size: usize,
        /// Pause after each batch, in milliseconds, so that a busy service's writers get turns.
        #[arg(long, default_value_t = 0)]
        pause_ms: u64,
        /// Stop after this many batches (run again to go on).
        #[arg(long)]
        max_batches: Option<usize>,
    },
    /// Print a new random data key as a QIANCHENG_DATA_KEYS entry (ID:PROFILE:BASE64); add it
    /// last to make it the key new values are sealed under.
    DataKey {
        /// The key's id (lower-case letters, digits, '.', '-'), such as 2026-gm.
        #[arg(long)]
        id: String,
        /// standard (AES-256-GCM, HMAC-SHA-256) or gm (SM4-GCM, HMAC-SM3).
        #[arg(long, default_value = "gm")]
        profile: String,
    },
    /// Write an online, consistent copy of a service's SQLite database to a new file while the
    /// service runs (SQLite's VACUUM INTO). PostgreSQL databases are backed up with pg_dump
    /// (docs/OPERATIONS.md, "Backup and restore").
    Backup {
        /// The service whose database to copy.
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(services::names()))]
        service: String,
        /// The file to write; it must not exist yet.
        #[arg(long)]
        to: PathBuf,
    },
    /// Apply a service's database migrations and exit.
    Migrate {
        /// The service whose database to migrate.
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(services::names()))]
        service: String,
    },
    /// Ask a running service whether it is serving (gRPC health); exit 0 only when it is.
    /// Container health checks use it.
    Health {
        /// The service's address.
        #[arg(long, default_value = "127.0.0.1:50051")]
        addr: String,
        /// The gRPC service to ask about; empty asks about the server as a whole.
        #[arg(long, default_value = "")]
        service: String,
        /// The name the server's certificate is checked for when the configuration names TLS
        /// files (QIANCHENG_TLS_CERT_FILE or QIANCHENG_TLS_CA_FILE): the port is then asked
        /// over TLS, presenting this service's certificate.
        #[arg(long, default_value = "localhost")]
        tls_server_name: String,
    },
    /// Measure the request path: start `serve demand` as a child process on a fresh database,
    /// seed it, drive chosen RPCs over raw gRPC at a given concurrency and print calls/s, p50,
    /// p99 and memory beside a Health/Check baseline and the plain-sqlx ceiling of the writes
    /// (docs/PERFORMANCE.md). Build with --release for figures worth reading.
    Load(load::LoadArgs),
    /// Import the plan's forms from spreadsheets (附件1 岗位需求表 into demand, a class's 花名册 into
    /// supervision), writing a result workbook with a result per row; or write a form's template
    /// (docs/forms.md).
    Import {
        #[command(subcommand)]
        command: forms::ImportCommand,
    },
    /// Export the plan's records as the offices keep them: a provider's application as 附件2
    /// 项目备案表 or 附件3 申报书, a class's 培训台账 from supervision's stream, a subsidy claim as 附件4
    /// 补贴申请表, each as an Excel workbook (docs/forms.md).
    Export {
        #[command(subcommand)]
        command: export::ExportCommand,
    },
    /// Serve the public pages (公示 of subsidy claims with an objection form, the vacancy board,
    /// the public outcome figures) as plain HTML over HTTP, reading the services through their
    /// gRPC APIs only (docs/public-pages.md).
    Public(public::PublicArgs),
    /// Exchange data with the outcome service as a department does, through files: pull a query
    /// batch, sign a result batch with the department's SM2 key, push it (docs/exchange.md).
    Exchange {
        #[command(subcommand)]
        command: exchange_cmd::ExchangeCommand,
    },
    /// Replay subsidy decisions from a facts file (see docs/policy-facts.md).
    Policy {
        #[command(subcommand)]
        command: policy_cmd::PolicyCommand,
    },
}

fn parse_role(text: &str) -> Result<Role, String> {
    text.parse()
}

/// The allocator: a read of a page makes and frees a few thousand small values on every call,
/// which the system allocator served slowest of the request path (docs/PERFORMANCE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Policy { command } => policy_cmd::run(command),
        Command::Token { roles, region, org, subject, ttl_hours, key_file, create_key } => {
            token(&roles, region.as_deref(), org.as_deref(), subject, ttl_hours, key_file, create_key)
        }
        Command::PublicKey { key_file } => public_key(key_file),
        Command::DataKey { id, profile } => data_key(&id, &profile),
        Command::Exchange { command: exchange_cmd::ExchangeCommand::Sign { file, key_file, signer_id, out } } => {
            exchange_cmd::sign(&file, &key_file, &signer_id, out)
        }
        command => run_async(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("qiancheng: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The signing key at `key_file` (or the configured development key), made only when asked.
fn signing_key(key_file: Option<PathBuf>, create: bool) -> Result<TokenMinter, String> {
    let settings = Settings::load().map_err(|e| e.report())?;
    let path = key_file.unwrap_or_else(|| settings.signing_key_file());
    if create {
        return TokenMinter::load_or_create(&path).map_err(|e| e.report());
    }
    if !path.exists() {
        return Err(format!(
            "no signing key at {}: run `qiancheng dev` in this folder first (it makes one), pass --key-file, \
             or --create-key for a new one",
            path.display()
        ));
    }
    TokenMinter::load(&path).map_err(|e| e.report())
}

fn data_key(id: &str, profile: &str) -> Result<(), String> {
    use qiancheng_platform::pii::{DataKey, Profile};
    let profile = Profile::parse(profile).ok_or_else(|| format!("{profile} is not a profile: standard or gm"))?;
    println!("{}", DataKey::generate(id, profile).map_err(|e| e.report())?.to_entry());
    Ok(())
}

fn public_key(key_file: Option<PathBuf>) -> Result<(), String> {
    println!("{}", signing_key(key_file, false)?.public_key_base64());
    Ok(())
}

fn token(
    roles: &[Role],
    region: Option<&str>,
    org: Option<&str>,
    subject: Option<String>,
    ttl_hours: i64,
    key_file: Option<PathBuf>,
    create_key: bool,
) -> Result<(), String> {
    // A SERVICE identity comes only from that service's own key (docs/OPERATIONS.md, "Identity and TLS").
    let service = roles.contains(&Role::Service);
    if service && roles.len() > 1 {
        return Err("a SERVICE token holds SERVICE alone: a service's key asserts nothing else".to_owned());
    }
    let service_key = match (&key_file, service) {
        (None, true) => {
            return Err("the development key signs people's tokens only: a SERVICE token is signed by that \
                        service's own key (--key-file, whose public half goes in the callee's \
                        QIANCHENG_SERVICE_PUBLIC_KEYS)"
                .to_owned());
        }
        (Some(path), true) => path.file_stem().map(|s| s.to_string_lossy().to_lowercase()),
        (_, false) => None,
    };
    let subject = match (subject, &service_key) {
        (Some(subject), _) => subject,
        (None, Some(name)) => format!("{SERVICE_SUBJECT_PREFIX}{name}"),
        (None, None) => "dev-user".to_owned(),
    };
    let minter = signing_key(key_file, create_key)?;
    let token = minter.mint(&subject, roles, region, org, ttl_hours * 3600).map_err(|e| e.to_string())?;
    // The token is checked as a server trusting this key would check it, so a bad region or
    // missing organisation is reported now rather than at the first call.
    let check = match subject.strip_prefix(SERVICE_SUBJECT_PREFIX).filter(|_| service) {
        Some(name) => Authenticator::new(Vec::new()).with_service_key(name, minter.verifying_key()),
        None if service => return Err(format!("a SERVICE token's subject is {SERVICE_SUBJECT_PREFIX}NAME")),
        None => minter.authenticator(),
    };
    check.verify(&token, chrono_now()).map_err(|e| format!("the token would be refused: {e}"))?;
    println!("{token}");
    Ok(())
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn run_async(command: Command) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async move {
        let settings = Settings::load().map_err(|e| e.report())?;
        match command {
            Command::Dev { host, base_port } => services::dev(settings, &host, base_port).await,
            Command::Serve { service } => services::serve(settings, &service).await,
            Command::Migrate { service } => services::migrate(settings, &service).await,
            Command::Backup { service, to } => services::backup(settings, &service, &to).await,
            Command::Reencrypt { service, batch_size, pause_ms, max_batches } => {
                let options = qiancheng_platform::rekey::Options {
                    batch_size,
                    pause: std::time::Duration::from_millis(pause_ms),
                    max_batches,
                    ..Default::default()
                };
                services::reencrypt(settings, &service, options).await
            }
            Command::Health { addr, service, tls_server_name } => {
                return services::health(&settings, &addr, &service, &tls_server_name).await;
            }
            Command::Load(args) => return load::run(args).await,
            Command::Public(args) => {
                // The pages log the services they cannot reach, as the services log their faults.
                let _telemetry =
                    qiancheng_platform::telemetry::init("public", &settings.log_format).map_err(|e| e.report())?;
                return public::run(args).await;
            }
            Command::Import { command } => return forms::run(command).await,
            Command::Export { command } => return export::run(command).await,
            Command::Exchange { command } => return exchange_cmd::run(&settings, command).await,
            Command::Policy { .. } | Command::Token { .. } | Command::PublicKey { .. } | Command::DataKey { .. } => {
                Ok(())
            }
        }
        .map_err(|e| e.report())
    })
}
