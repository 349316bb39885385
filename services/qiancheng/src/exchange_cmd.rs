//! `qiancheng exchange`: the department data exchange as files (docs/exchange.md, "Files"). A
//! department's system, holding a DATA_EXCHANGE token for its department, pulls its pending query
//! batch to a file, answers it with a result batch file, signs that file with its SM2 key file,
//! and pushes file and signature to the outcome service.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Subcommand};
use qiancheng_api::outcome::outcome_service_client::OutcomeServiceClient;
use qiancheng_api::outcome::{
    ListDepartmentKeysRequest, PullQueryBatchRequest, PullQueryBatchResponse, PushResultBatchRequest,
    PushResultBatchResponse,
};
use qiancheng_outcome::exchange::{self, DEFAULT_SIGNER_ID, RESULT_FORMAT, ResultBatchFile};
use qiancheng_platform::config::Settings;
use tonic::transport::Channel;

const AFTER_HELP: &str = "The file formats, the key file and the signature are described in docs/exchange.md \
(\"Query batch\", \"Result batch\", \"Files\").\n\nA department's token: qiancheng token --role DATA_EXCHANGE \
--org CREDIT_CODE (in development; in production the bureau's identity provider issues it).";

/// The department data exchange as files.
#[derive(Debug, Subcommand)]
pub enum ExchangeCommand {
    /// Pull the department's pending query batch from the outcome service and write it to a file
    /// (UTF-8 JSON, qiancheng.exchange.query.v1). The people asked stay pending until a result
    /// batch answers them: a second pull asks nobody twice. Writes nothing, and says so, when
    /// nothing is pending.
    #[command(after_help = AFTER_HELP)]
    Pull {
        #[command(flatten)]
        connection: Connection,
        /// The file to write; it must not exist yet.
        #[arg(long)]
        out: PathBuf,
        /// Idempotency key: pulling again with the same key gives the same batch (for a retry
        /// after a lost answer).
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Sign a result batch file (qiancheng.exchange.result.v1) with the department's SM2 private
    /// key file: SM2 over SM3 (GM/T 0003, GM/T 0004) of the file's exact bytes, as the outcome
    /// service verifies it. Writes the signature (r‖s, 128 hex characters) to FILE.sig and
    /// prints the public key, which must be the one the bureau registered. Works offline.
    #[command(after_help = AFTER_HELP)]
    Sign {
        /// The result batch file.
        file: PathBuf,
        /// The private key file: 64 hex characters, or an unencrypted PEM private key (PKCS#8 or
        /// SEC1) on the SM2 curve. Keep it off shared disks.
        #[arg(long)]
        key_file: PathBuf,
        /// The signer id registered with the key (GM/T 0003's default unless the bureau
        /// registered another).
        #[arg(long, default_value = DEFAULT_SIGNER_ID)]
        signer_id: String,
        /// Where to write the signature (default: FILE.sig); it must not exist yet.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Push a signed result batch file to the outcome service and print what became of each
    /// record. The batch is refused whole if its signature does not verify; pushing the same
    /// batch again stores nothing twice.
    #[command(after_help = AFTER_HELP)]
    Push {
        #[command(flatten)]
        connection: Connection,
        /// The result batch file, exactly as signed.
        file: PathBuf,
        /// The signature file (default: FILE.sig): hex (r‖s or DER) or binary DER.
        #[arg(long)]
        signature: Option<PathBuf>,
        /// The key that signed it, departmentKeys/ID (default: the department's current key).
        #[arg(long)]
        key: Option<String>,
    },
}

/// Where the outcome service is and who calls it.
#[derive(Debug, Args)]
pub struct Connection {
    /// The outcome service's address (host:port; `qiancheng dev` serves it on 50054).
    #[arg(long, env = "QIANCHENG_OUTCOME_ADDR", default_value = "127.0.0.1:50054")]
    addr: String,
    /// The department's DATA_EXCHANGE bearer token.
    #[arg(long, env = "QIANCHENG_TOKEN", hide_env_values = true)]
    token: String,
    /// The name the server's certificate is checked for when the configuration names TLS files
    /// (QIANCHENG_TLS_CERT_FILE or QIANCHENG_TLS_CA_FILE).
    #[arg(long, default_value = "localhost")]
    tls_server_name: String,
    /// Seconds a call may take.
    #[arg(long, default_value_t = 300)]
    timeout_secs: u64,
}

impl Connection {
    async fn client(&self, settings: &Settings) -> Result<OutcomeServiceClient<Channel>, String> {
        let channel = crate::services::connect(
            settings,
            &self.addr,
            &self.tls_server_name,
            Duration::from_secs(self.timeout_secs.max(1)),
        )
        .await?;
        Ok(OutcomeServiceClient::new(channel)
            .max_decoding_message_size(usize::MAX)
            .max_encoding_message_size(usize::MAX))
    }

    fn authed<T>(&self, message: T) -> Result<tonic::Request<T>, String> {
        let mut request = tonic::Request::new(message);
        let value = format!("Bearer {}", self.token.trim())
            .parse()
            .map_err(|_| "the token holds characters a header cannot carry".to_owned())?;
        request.metadata_mut().insert("authorization", value);
        Ok(request)
    }
}

/// A refusal as a person reads it: the rule code (docs/RULES.md) and the service's message.
fn refused(what: &str, status: &tonic::Status) -> String {
    use tonic_types::StatusExt as _;
    let reason = status.get_error_details().error_info().map(|i| i.reason.clone()).unwrap_or_default();
    let hint = match status.code() {
        tonic::Code::Unauthenticated => " (is the token a DATA_EXCHANGE token of this department, still valid?)",
        tonic::Code::PermissionDenied => " (a department's token acts for its own department only)",
        tonic::Code::ResourceExhausted | tonic::Code::OutOfRange => {
            " (the message is larger than the server takes, QIANCHENG_MAX_MESSAGE_BYTES, 4 MiB by default: \
             split the records into several batches)"
        }
        tonic::Code::Unavailable => " (is the outcome service running at this address?)",
        _ => "",
    };
    let reason = if reason.is_empty() { String::new() } else { format!(" [{reason}]") };
    format!("{what}: {:?}{reason}: {}{hint}", status.code(), status.message())
}

fn write_new(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write as _;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            format!("{} exists already: name a new file", path.display())
        } else {
            format!("cannot write {}: {e}", path.display())
        }
    })?;
    file.write_all(bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read the {what} {}: {e}", path.display()))
}

fn signature_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}

/// A result batch file as the service will read it, so that a mistake is told before signing.
fn result_file(content: &[u8], path: &Path) -> Result<ResultBatchFile, String> {
    let file: ResultBatchFile = serde_json::from_slice(content).map_err(|e| {
        format!("{} is not a result batch file (docs/exchange.md, \"Result batch\"): {e}", path.display())
    })?;
    if file.format != RESULT_FORMAT {
        return Err(format!("{}: \"format\" is {:?}, not {RESULT_FORMAT:?}", path.display(), file.format));
    }
    if file.batch_id.trim().is_empty() {
        return Err(format!("{}: \"batch_id\" is empty", path.display()));
    }
    Ok(file)
}

/// Runs an exchange command that needs no service (sign).
pub fn sign(file: &Path, key_file: &Path, signer_id: &str, out: Option<PathBuf>) -> Result<(), String> {
    let content = read(file, "result batch file")?;
    let batch = result_file(&content, file)?;
    let key_text = std::fs::read_to_string(key_file)
        .map_err(|e| format!("cannot read the key file {}: {e}", key_file.display()))?;
    let key =
        exchange::signing_key_from_file(&key_text, signer_id).map_err(|e| format!("{}: {e}", key_file.display()))?;
    let out = out.unwrap_or_else(|| signature_path(file));
    write_new(&out, format!("{}\n", exchange::sign_with(&key, &content)).as_bytes())?;
    println!(
        "signed {} ({} bytes; batch {}, {} records, {} withdrawals) for department {} ({})",
        file.display(),
        content.len(),
        batch.batch_id,
        batch.records.len(),
        batch.withdrawals.len(),
        batch.department,
        batch.source
    );
    println!("signature: {}", out.display());
    println!("public key: {}", exchange::public_key_hex(&key));
    println!("signer id: {signer_id}");
    Ok(())
}

/// Runs an exchange command that calls the outcome service (pull, push).
pub async fn run(settings: &Settings, command: ExchangeCommand) -> Result<(), String> {
    match command {
        ExchangeCommand::Sign { file, key_file, signer_id, out } => sign(&file, &key_file, &signer_id, out),
        ExchangeCommand::Pull { connection, out, request_id } => pull(settings, &connection, &out, request_id).await,
        ExchangeCommand::Push { connection, file, signature, key } => {
            push(settings, &connection, &file, signature, key).await
        }
    }
}

async fn pull(
    settings: &Settings,
    connection: &Connection,
    out: &Path,
    request_id: Option<String>,
) -> Result<(), String> {
    if out.exists() {
        return Err(format!("{} exists already: name a new file", out.display()));
    }
    let mut client = connection.client(settings).await?;
    let request = PullQueryBatchRequest { request_id: request_id.unwrap_or_default() };
    let PullQueryBatchResponse { name, content, query_count } = client
        .pull_query_batch(connection.authed(request)?)
        .await
        .map_err(|e| refused("the pull was refused", &e))?
        .into_inner();
    if name.is_empty() {
        println!("nothing pending: no query batch written");
        return Ok(());
    }
    write_new(out, &content)?;
    println!("{name}: {query_count} queries written to {}", out.display());
    Ok(())
}

async fn push(
    settings: &Settings,
    connection: &Connection,
    file: &Path,
    signature: Option<PathBuf>,
    key: Option<String>,
) -> Result<(), String> {
    let content = read(file, "result batch file")?;
    let batch = result_file(&content, file)?;
    let signature_file = signature.unwrap_or_else(|| signature_path(file));
    let signature = exchange::signature_from_file(&read(&signature_file, "signature file")?);
    let mut client = connection.client(settings).await?;
    let key = match key {
        Some(key) => key,
        None => {
            let request = ListDepartmentKeysRequest {
                department: batch.department.clone(),
                page_size: 500,
                ..Default::default()
            };
            let keys = client
                .list_department_keys(connection.authed(request)?)
                .await
                .map_err(|e| refused("cannot read the department's keys", &e))?
                .into_inner()
                .keys;
            keys.into_iter().rfind(|k| k.current).map(|k| k.name).ok_or_else(|| {
                format!("department {} has no registered key: the bureau registers it first", batch.department)
            })?
        }
    };
    let request = PushResultBatchRequest { content, signature, key: key.clone(), ..Default::default() };
    let PushResultBatchResponse { batch: logged, results, stored_before } = client
        .push_result_batch(connection.authed(request)?)
        .await
        .map_err(|e| refused("the batch was refused", &e))?
        .into_inner();
    let logged = logged.unwrap_or_default();
    if stored_before {
        println!(
            "{}: batch {} was stored before with the same bytes; nothing stored again",
            logged.name, logged.batch_id
        );
    } else {
        println!("{}: batch {} stored, verified under {key}", logged.name, logged.batch_id);
    }
    let accepted = results.iter().filter(|r| r.accepted).count();
    println!("{accepted} of {} records and withdrawals accepted", results.len());
    for r in results.iter().filter(|r| !r.accepted) {
        println!("refused {}: {}", r.record_id, r.rule);
    }
    Ok(())
}
