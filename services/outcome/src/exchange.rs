//! Department data exchange (七(四); docs/exchange.md): the bureau checks employment against
//! social insurance, tax, market regulation and civil affairs records and its own employment
//! register, and certificates against the skill-evaluation registry. Each department's system
//! (DATA_EXCHANGE, scoped to its department by its token's `org`) pulls query batches that ask
//! only what the verdicts need (EX-MINIMAL) and pushes result batches signed with SM2 over SM3
//! (GM/T 0003, GM/T 0004) under the department's registered key. A result batch is kept whole
//! with its signature in the append-only exchange log; each of its records gets its own result,
//! and an accepted record becomes evidence (`EVIDENCE_SOURCE_EXCHANGE`) that the verdicts read,
//! naming the logged batch it came from in `submitted_by`.
//!
//! A source that offers its own API instead is connected through [`Adapter`]: whatever it
//! answers is stored as a result batch by the same path ([`PushAdapter`] is the push protocol).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::NaiveDate;
use qiancheng_api::convert;
use qiancheng_api::outcome::*;
use qiancheng_domain::policy::facts::{ClassFacts, YearMonth};
use qiancheng_domain::policy::outcome::{Basis, out_months_period};
use qiancheng_domain::{IdNumber, Uscc, add_months, parse_date};
use qiancheng_platform::auth::{Principal, Role};
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::record::{self, Filter};
use qiancheng_platform::write::{self, Change};
use qiancheng_platform::{Call, Error, Stamp};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use sm2::dsa::signature::{Signer as _, Verifier as _};
use sm2::dsa::{Signature, SigningKey, VerifyingKey};

use crate::Outcome;
use crate::documents::Documents;
use crate::roster::Roster;
use crate::store::evidence::EvidenceRecord;
use crate::store::exchange::{
    DepartmentKeyRecord, ExchangeBatchRecord, ExchangePersonRecord, ExchangeRecordRecord, QueryBatchRecord, QueryRecord,
};
use crate::store::trainee::TraineeRecord;
use crate::store::{decode_message, encode_message};

/// The signer id of GM/T 0003 when a department registers none (the standard's default).
pub const DEFAULT_SIGNER_ID: &str = "1234567812345678";
/// The `format` of a query batch file.
pub const QUERY_FORMAT: &str = "qiancheng.exchange.query.v1";
/// The `format` of a result batch file.
pub const RESULT_FORMAT: &str = "qiancheng.exchange.result.v1";
/// The largest result batch accepted (EX-BATCH).
pub const MAX_BATCH_BYTES: usize = 64 * 1024 * 1024;
/// The most records and withdrawals one result batch holds (EX-BATCH).
pub const MAX_BATCH_RECORDS: usize = 100_000;
/// Months after an outcome window closes during which its months are still asked, for
/// contributions and withholding that arrive late for months inside it.
pub const LATE_MONTHS: u32 = 3;
/// The most people one query batch asks about.
pub const MAX_QUERIES: usize = 5_000;
/// A query not answered yet.
pub const NO_ANSWER: &str = "NO_ANSWER";
/// A query answered with a record.
pub const FOUND: &str = "FOUND";
/// A query answered "no record".
pub const NO_RECORD: &str = "NO_RECORD";

// ---------------------------------------------------------------------------------------------
// SM2 over SM3.

/// A department's verifying key from its SEC1 public key in hex and its signer id (EX-KEY).
pub fn verifying_key(public_key_hex: &str, signer_id: &str) -> Result<VerifyingKey, Error> {
    let bad = || Error::invalid("public_key", "EX-KEY", "an SM2 public key: SEC1 uncompressed point, hex, 04 first");
    let bytes = hex::decode(public_key_hex.trim()).map_err(|_| bad())?;
    if bytes.len() != 65 || bytes[0] != 4 {
        return Err(bad());
    }
    VerifyingKey::from_sec1_bytes(signer_id, &bytes).map_err(|_| bad())
}

/// A signature as pushed: r‖s (64 bytes) or DER (`SEQUENCE { INTEGER r, INTEGER s }`).
pub fn parse_signature(bytes: &[u8]) -> Option<Signature> {
    if bytes.len() == 64 {
        return Signature::from_slice(bytes).ok();
    }
    let (r, s) = der_scalars(bytes)?;
    let mut raw = [0u8; 64];
    raw[32 - r.len()..32].copy_from_slice(r);
    raw[64 - s.len()..].copy_from_slice(s);
    Signature::from_slice(&raw).ok()
}

/// The two integers of a DER SM2 signature, without leading zeros, each at most 32 bytes.
fn der_scalars(der: &[u8]) -> Option<(&[u8], &[u8])> {
    fn integer(input: &[u8]) -> Option<(&[u8], &[u8])> {
        let (&tag, rest) = input.split_first()?;
        let (&len, rest) = rest.split_first()?;
        let len = usize::from(len);
        if tag != 0x02 || len > 33 || rest.len() < len || len == 0 {
            return None;
        }
        let (value, rest) = rest.split_at(len);
        let trimmed = if value.len() > 1 && value[0] == 0 { &value[1..] } else { value };
        (trimmed.len() <= 32).then_some((trimmed, rest))
    }
    let (&tag, rest) = der.split_first()?;
    let (&len, body) = rest.split_first()?;
    if tag != 0x30 || usize::from(len) != body.len() {
        return None;
    }
    let (r, rest) = integer(body)?;
    let (s, rest) = integer(rest)?;
    rest.is_empty().then_some((r, s))
}

/// Whether `signature` is the SM2 signature of `content` under `key` (GM/T 0003: SM3 over the
/// signer's Z value and the content).
pub fn verifies(key: &VerifyingKey, content: &[u8], signature: &[u8]) -> bool {
    parse_signature(signature).is_some_and(|sig| key.verify(content, &sig).is_ok())
}

/// Signs `content` with a department's 32-byte private key (hex) under `signer_id`: the
/// signature r‖s and the public key (SEC1 uncompressed, hex). `qiancheng exchange sign` and the
/// tests use it; the suite itself never holds a department's private key.
pub fn sign(private_key_hex: &str, signer_id: &str, content: &[u8]) -> Result<(Vec<u8>, String), Error> {
    let bytes = hex::decode(private_key_hex.trim())
        .map_err(|_| Error::invalid("private_key", "EX-KEY", "an SM2 private key: 32 bytes, hex"))?;
    let key = SigningKey::from_slice(signer_id, &bytes)
        .map_err(|_| Error::invalid("private_key", "EX-KEY", "an SM2 private key: 32 bytes, hex"))?;
    let signature: Signature = key.sign(content);
    Ok((signature.to_vec(), public_key_hex(&key)))
}

/// The public key of a signing key, SEC1 uncompressed, hex.
pub fn public_key_hex(key: &SigningKey) -> String {
    hex::encode(key.verifying_key().to_sec1_bytes())
}

/// The public key (hex) of a private key (hex), under the default signer id.
pub fn public_key_of(private_key_hex: &str) -> Result<String, Error> {
    let bytes = hex::decode(private_key_hex.trim())
        .map_err(|_| Error::invalid("private_key", "EX-KEY", "an SM2 private key: 32 bytes, hex"))?;
    let key = SigningKey::from_slice(DEFAULT_SIGNER_ID, &bytes)
        .map_err(|_| Error::invalid("private_key", "EX-KEY", "an SM2 private key: 32 bytes, hex"))?;
    Ok(public_key_hex(&key))
}

// ---------------------------------------------------------------------------------------------
// Key and signature files (docs/exchange.md, "Files"), for `qiancheng exchange sign` and `push`.

/// A department's signing key from its key file: the private key as 64 hex characters (what
/// Python `gmssl` takes; blank lines and lines starting with `#` are ignored), or PEM: PKCS#8
/// (`BEGIN PRIVATE KEY`, as `openssl genpkey -algorithm SM2` writes it) or SEC1
/// (`BEGIN EC PRIVATE KEY`) on the SM2 curve. Encrypted PEM is not read: decrypt it first.
pub fn signing_key_from_file(text: &str, signer_id: &str) -> Result<SigningKey, String> {
    use sm2::pkcs8::DecodePrivateKey as _;
    let secret = if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        return Err("the key file is an encrypted PEM: decrypt it first (openssl pkcs8 -in KEY -out PLAIN)".to_owned());
    } else if text.contains("-----BEGIN PRIVATE KEY-----") {
        sm2::SecretKey::from_pkcs8_pem(text.trim())
            .map_err(|e| format!("the key file is not an SM2 private key in PKCS#8 PEM: {e}"))?
    } else if text.contains("-----BEGIN EC PRIVATE KEY-----") {
        sm2::SecretKey::from_sec1_pem(text.trim())
            .map_err(|e| format!("the key file is not an SM2 private key in SEC1 PEM: {e}"))?
    } else {
        let hex_text: String =
            text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect::<Vec<_>>().concat();
        let bytes = hex::decode(&hex_text)
            .ok()
            .filter(|b| b.len() == 32)
            .ok_or("the key file holds neither 64 hex characters (an SM2 private key) nor a PEM private key")?;
        sm2::SecretKey::from_slice(&bytes).map_err(|_| "the key file's 32 bytes are not an SM2 private key")?
    };
    SigningKey::new(signer_id, &secret).map_err(|e| format!("the key cannot sign under signer id {signer_id:?}: {e}"))
}

/// Signs a result batch file's exact bytes: the signature r‖s, as a signature file holds it (hex,
/// 128 characters, one line).
pub fn sign_with(key: &SigningKey, content: &[u8]) -> String {
    let signature: Signature = key.sign(content);
    hex::encode(signature.to_bytes())
}

/// The signature in a signature file: hex (r‖s, or DER as hex), whitespace ignored; otherwise the
/// raw bytes (DER, as `openssl pkeyutl -sign` or GmSSL's `sm2sign` write it).
pub fn signature_from_file(bytes: &[u8]) -> Vec<u8> {
    let text: Option<String> =
        std::str::from_utf8(bytes).ok().map(|t| t.chars().filter(|c| !c.is_whitespace()).collect());
    match text.and_then(|t| hex::decode(t).ok()).filter(|b| !b.is_empty()) {
        Some(decoded) => decoded,
        None => bytes.to_vec(),
    }
}

// ---------------------------------------------------------------------------------------------
// Batch files (docs/exchange.md).

/// A query batch file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct QueryBatchFile {
    /// [`QUERY_FORMAT`].
    pub format: String,
    /// `queryBatches/{id}`.
    pub query_batch: String,
    /// The department asked (credit code).
    pub department: String,
    /// Its source (`SOCIAL_INSURANCE`).
    pub source: String,
    /// The queries.
    pub queries: Vec<QueryLine>,
}

/// One query: a person and what is asked about them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct QueryLine {
    /// The query's id, named back by the records that answer it.
    pub query: String,
    /// The person's ID number.
    pub id_number: String,
    /// Monthly sources: the months asked, `YYYY-MM`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub months: Vec<String>,
    /// Registration sources: registrations in force at any time from this day…
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub from: String,
    /// … to this day.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub to: String,
}

/// A result batch file: what a department signs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ResultBatchFile {
    /// [`RESULT_FORMAT`].
    pub format: String,
    /// The department's id of the batch, unique per department.
    pub batch_id: String,
    /// The department (credit code); the key's.
    pub department: String,
    /// Its source; the key's.
    pub source: String,
    /// The records.
    #[serde(default)]
    pub records: Vec<ResultLine>,
    /// Records of earlier batches withdrawn (a correction is a withdrawal and a new record).
    #[serde(default)]
    pub withdrawals: Vec<WithdrawalLine>,
}

/// One record of a result batch.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ResultLine {
    /// Unique in the batch.
    pub record_id: String,
    /// The query answered.
    pub query: String,
    /// The person's ID number, as asked.
    pub id_number: String,
    /// `FOUND` or `NO_RECORD`.
    pub result: String,
    /// Social insurance, tax: the employer's credit code.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub employer_credit_code: String,
    /// Social insurance, tax: the month, `YYYY-MM`, one of those asked.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub month: String,
    /// Social insurance: the contribution base; tax: the wages withheld on, in fen.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub amount_fen: i64,
    /// Market regulation, civil affairs: the business's credit code.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub credit_code: String,
    /// `ENTERPRISE`, `INDIVIDUAL`, `PARTNERSHIP`, `PRIVATE_NON_ENTERPRISE`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub business_kind: String,
    /// `LEGAL_REPRESENTATIVE`, `OPERATOR`, `EXECUTIVE_PARTNER`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub role: String,
    /// The registration date, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub registered_on: String,
    /// Employment register: `EMPLOYMENT` (就业登记 with an employer, named in
    /// `employer_credit_code`) or `FLEXIBLE` (灵活就业登记, no employer).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub registration_kind: String,
    /// Employment register: the day the registration ended (注销), `YYYY-MM-DD`; empty while it
    /// is in force.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ended_on: String,
    /// Skill-evaluation registry: the certificate number.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub certificate_number: String,
    /// Skill-evaluation registry: `VOCATIONAL_QUALIFICATION`, `SKILL_LEVEL` or `OTHER`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub certificate_kind: String,
    /// Skill-evaluation registry: the occupation (国家职业分类 code, `6-18-02-04`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub occupation_code: String,
    /// Skill-evaluation registry: the level, 1 (一级/高级技师) to 5 (五级/初级工).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub level: i64,
    /// Skill-evaluation registry: the day the certificate was issued, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub issued_on: String,
    /// Skill-evaluation registry: the issuing body.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub issuer: String,
}

fn is_zero(value: &i64) -> bool {
    *value == 0
}

/// A withdrawal of an earlier record of the same department.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WithdrawalLine {
    /// The batch id of the record withdrawn.
    pub batch_id: String,
    /// Its record id.
    pub record_id: String,
}

/// The name a source has in batch files (`SOCIAL_INSURANCE`).
pub fn source_label(source: ExchangeSource) -> &'static str {
    source.as_str_name().strip_prefix("EXCHANGE_SOURCE_").unwrap_or("UNSPECIFIED")
}

fn source_of_label(label: &str) -> ExchangeSource {
    ExchangeSource::from_str_name(&format!("EXCHANGE_SOURCE_{label}")).unwrap_or_default()
}

/// Whether a source answers per month (social insurance, tax) rather than by registration.
fn monthly(source: ExchangeSource) -> bool {
    matches!(source, ExchangeSource::SocialInsurance | ExchangeSource::Tax)
}

/// Whether a source is asked about a trainee judged on `basis` (EX-MINIMAL, docs/exchange.md):
/// the skill-evaluation registry only about those judged on a certificate, every other source
/// only about those judged on employment.
pub fn asked(source: ExchangeSource, basis: Basis) -> bool {
    match source {
        ExchangeSource::Unspecified => false,
        ExchangeSource::SkillRegistry => basis == Basis::Certificate,
        _ => basis == Basis::Employment,
    }
}

// ---------------------------------------------------------------------------------------------
// Adapters.

/// A connection to a source: the push protocol, or a department's own API whose answers are
/// stored as result batches by the same path.
pub trait Adapter: Send + Sync + std::fmt::Debug {
    /// The signed result batch answering `query`, if the source has one now: its content and
    /// signature, exactly as the source signed them.
    fn answer(&self, query: &QueryBatchFile) -> Option<(Vec<u8>, Vec<u8>)>;
}

/// The push protocol: the department's system pulls and pushes by itself, so the suite has
/// nothing to fetch.
#[derive(Debug, Clone, Copy, Default)]
pub struct PushAdapter;

impl Adapter for PushAdapter {
    fn answer(&self, _query: &QueryBatchFile) -> Option<(Vec<u8>, Vec<u8>)> {
        None
    }
}

// ---------------------------------------------------------------------------------------------
// Conversions and access.

impl From<&DepartmentKeyRecord> for DepartmentKey {
    fn from(r: &DepartmentKeyRecord) -> Self {
        DepartmentKey {
            name: r.name(),
            department: r.department.clone(),
            source: ExchangeSource::from_str_name(&r.source).unwrap_or_default() as i32,
            public_key: r.public_key.clone(),
            signer_id: r.signer_id.clone(),
            current: r.retire_time_micros == 0,
            create_time_micros: r.stamp.create_time_micros,
            retire_time_micros: r.retire_time_micros,
        }
    }
}

impl From<&ExchangeBatchRecord> for ExchangeBatch {
    fn from(r: &ExchangeBatchRecord) -> Self {
        ExchangeBatch {
            name: r.name(),
            batch_id: r.batch_id.clone(),
            department: r.department.clone(),
            source: ExchangeSource::from_str_name(&r.source).unwrap_or_default() as i32,
            key: format!("departmentKeys/{}", r.key_id),
            content_sha256: r.content_sha256.clone(),
            record_count: i32::try_from(r.record_count).unwrap_or(i32::MAX),
            accepted_count: i32::try_from(r.accepted_count).unwrap_or(i32::MAX),
            create_time_micros: r.create_time_micros,
        }
    }
}

/// The department a DATA_EXCHANGE caller acts for (its token's organisation).
fn own_department(principal: &Principal) -> Result<&str, Error> {
    principal.own_org(Role::DataExchange)
}

/// The department a caller may read: its own for DATA_EXCHANGE; any for the bureau and auditors.
fn readable_department(principal: &Principal, department: &str) -> Result<Option<String>, Error> {
    if principal.has_any(&[Role::CityAdmin, Role::Auditor]) {
        return Ok(Some(department.trim().to_owned()).filter(|d| !d.is_empty()));
    }
    let own = own_department(principal)?;
    if !department.trim().is_empty() && department.trim() != own {
        return Err(Error::denied("a department's system sees only its own department's exchange"));
    }
    Ok(Some(own.to_owned()))
}

/// The department's current key, if it has one.
async fn current_key(
    executor: impl qiancheng_platform::db::Reader<'_>,
    department: &str,
) -> Result<Option<DepartmentKeyRecord>, Error> {
    let keys = record::all::<DepartmentKeyRecord>(
        executor,
        Filter::new().eq("department_key.department", department).eq("department_key.retire_time_micros", 0_i64),
        "id",
    )
    .await?;
    Ok(keys.into_iter().last())
}

// ---------------------------------------------------------------------------------------------
// Keys.

/// RegisterDepartmentKey.
pub async fn register_department_key(
    s: &Outcome,
    call: Call<RegisterDepartmentKeyRequest>,
) -> Result<RegisterDepartmentKeyResponse, Error> {
    let m = &call.message;
    let department = Uscc::parse(&m.department)
        .map_err(|_| Error::invalid("department", "EX-DEPARTMENT", "a department's unified social credit code"))?
        .as_str()
        .to_owned();
    let source = ExchangeSource::try_from(m.source).unwrap_or_default();
    let signer_id = if m.signer_id.trim().is_empty() { DEFAULT_SIGNER_ID } else { m.signer_id.trim() }.to_owned();
    let key = verifying_key(&m.public_key, &signer_id)?;
    let public_key = hex::encode(key.to_sec1_bytes());
    write::run(s, &call, async |change| {
        let keys = record::all::<DepartmentKeyRecord>(
            &mut *change.tx,
            Filter::new().eq("department_key.department", department.as_str()),
            "id",
        )
        .await?;
        if keys.iter().any(|k| k.source != source.as_str_name()) {
            return Err(Error::invalid(
                "source",
                "EX-DEPARTMENT",
                "a department keeps the source it was registered with",
            ));
        }
        if keys.iter().any(|k| k.public_key == public_key) {
            return Err(Error::exists("EX-KEY", "this key is registered already; a rotation brings a new key"));
        }
        let now = qiancheng_platform::time::now_micros();
        for mut old in keys.into_iter().filter(|k| k.retire_time_micros == 0) {
            old.retire_time_micros = now;
            old.stamp.touch();
            record::update(&mut change.tx, &old).await?;
            change.audit("retire_department_key", old.name(), serde_json::json!({ "department": department }));
        }
        let record = DepartmentKeyRecord {
            id: ulid::Ulid::new().to_string(),
            department: department.clone(),
            source: source.as_str_name().to_owned(),
            public_key: public_key.clone(),
            signer_id: signer_id.clone(),
            retire_time_micros: 0,
            registered_by: call.principal.subject.clone(),
            stamp: Stamp::new(),
        };
        record::insert(&mut change.tx, &record).await?;
        change.audit(
            "register_department_key",
            record.name(),
            serde_json::json!({ "department": department, "source": record.source }),
        );
        Ok(RegisterDepartmentKeyResponse { key: Some(DepartmentKey::from(&record)) })
    })
    .await
}

/// ListDepartmentKeys.
pub async fn list_department_keys(
    s: &Outcome,
    call: Call<ListDepartmentKeysRequest>,
) -> Result<ListDepartmentKeysResponse, Error> {
    let m = &call.message;
    let department = readable_department(&call.principal, &m.department)?.unwrap_or_default();
    let page = PageRequest::parse(m.page_size, &m.page_token, &format!("departmentKeys|{department}"))?;
    let filter = Filter::new().eq("department_key.department", department.as_str());
    let (records, next_page_token) = record::page::<DepartmentKeyRecord>(&s.db, filter, &page).await?;
    Ok(ListDepartmentKeysResponse { keys: records.iter().map(DepartmentKey::from).collect(), next_page_token })
}

// ---------------------------------------------------------------------------------------------
// People and query batches.

/// Keeps the ID numbers of a project's roster, sealed, for the queries of the exchange (called
/// by the follower when it refreshes a project).
pub async fn remember_people(change: &mut Change, outcome: &Outcome, roster: &Roster) -> Result<(), Error> {
    let now = qiancheng_platform::time::now_micros();
    for t in &roster.trainees {
        let Some(person) = t.person.as_ref() else { continue };
        let Ok(id_number) = IdNumber::parse(&person.id_number) else { continue };
        let trainee_id = t.name.rsplit_once("trainees/").map_or_else(|| t.name.clone(), |(_, id)| id.to_owned());
        let hash = outcome.pii.lookup_hash(id_number.as_str());
        let existing = record::find::<ExchangePersonRecord>(&mut *change.tx, trainee_id.as_str()).await?;
        if existing.as_ref().is_some_and(|e| e.id_number_hash == hash) {
            continue;
        }
        let record = ExchangePersonRecord {
            trainee_id,
            id_number_sealed: outcome.pii.encrypt(id_number.as_str())?,
            id_number_hash: hash,
            update_time_micros: now,
        };
        if existing.is_some() {
            record::update(&mut change.tx, &record).await?;
        } else {
            record::insert(&mut change.tx, &record).await?;
        }
    }
    Ok(())
}

/// What a source is asked about one trainee (EX-MINIMAL): for monthly sources the months that
/// OUT-MONTHS counts (from the day its policy counts from to the end of the window), up to the
/// current month, less those already found; for registration sources the window's days. None
/// when nothing is left to ask or the window closed more than [`LATE_MONTHS`] ago.
pub fn minimal_query(
    policy: &qiancheng_domain::policy::PolicySet,
    trainee: &TraineeRecord,
    source: ExchangeSource,
    found_months: &BTreeSet<String>,
    today: NaiveDate,
) -> Option<(Vec<String>, NaiveDate, NaiveDate)> {
    if !trainee.counted()
        || !trainee.class_completed
        || trainee.class_last_day > today
        || !asked(source, policy.basis_for(trainee.judged_group))
    {
        return None;
    }
    let class = ClassFacts {
        id: trainee.class_id.clone(),
        region: trainee.region,
        first_day: trainee.class_first_day,
        last_day: trainee.class_last_day,
        hours: 0,
        filed_on: Some(trainee.class_filed_on),
        prehire: trainee.prehire,
    };
    let (from, to) = out_months_period(policy, &class);
    if add_months(to, LATE_MONTHS) < today {
        return None;
    }
    if !monthly(source) {
        return Some((Vec::new(), trainee.class_last_day, to));
    }
    let mut months = Vec::new();
    let mut month = YearMonth::of(from);
    while month.first_day() <= to.min(today) {
        let label = month.to_string();
        if !found_months.contains(&label) {
            months.push(label);
        }
        month = YearMonth::of(add_months(month.first_day(), 1));
    }
    (!months.is_empty()).then_some((months, from, to))
}

/// PullQueryBatch.
pub async fn pull_query_batch(s: &Outcome, call: Call<PullQueryBatchRequest>) -> Result<PullQueryBatchResponse, Error> {
    let department = own_department(&call.principal)?.to_owned();
    let key = current_key(s.db.pool(), &department)
        .await?
        .ok_or_else(|| Error::precondition("EX-DEPARTMENT", "the department has no registered key"))?;
    let source = ExchangeSource::from_str_name(&key.source).unwrap_or_default();
    if let Some(done) = write::served(s, &call).await? {
        return Ok(done);
    }
    let today = s.today();
    write::run(s, &call, async |change| {
        change.serialize_on(&format!("exchange-query/{department}")).await?;
        if source == ExchangeSource::Unspecified {
            return Ok(PullQueryBatchResponse::default());
        }
        let people: HashMap<String, ExchangePersonRecord> =
            record::all::<ExchangePersonRecord>(&mut *change.tx, Filter::new(), "trainee_id")
                .await?
                .into_iter()
                .map(|p| (p.trainee_id.clone(), p))
                .collect();
        let waiting: BTreeSet<String> = record::all::<QueryRecord>(
            &mut *change.tx,
            Filter::new().eq("exchange_query.department", department.as_str()).eq("exchange_query.answer", NO_ANSWER),
            "id",
        )
        .await?
        .into_iter()
        .map(|q| q.trainee_id)
        .collect();
        let mut found: HashMap<String, BTreeSet<String>> = HashMap::new();
        for r in record::all::<ExchangeRecordRecord>(
            &mut *change.tx,
            Filter::new().eq("exchange_record.department", department.as_str()).eq("exchange_record.withdrawn_by", ""),
            "id",
        )
        .await?
        .into_iter()
        .filter(|r| r.found)
        {
            found.entry(r.trainee_id).or_default().insert(r.subject);
        }
        let trainees = record::all::<TraineeRecord>(&mut *change.tx, Filter::new(), "id").await?;
        let mut policies: HashMap<String, Option<qiancheng_domain::policy::PolicySet>> = HashMap::new();
        let batch_id = ulid::Ulid::new().to_string();
        let now = qiancheng_platform::time::now_micros();
        let mut file = QueryBatchFile {
            format: QUERY_FORMAT.to_owned(),
            query_batch: format!("queryBatches/{batch_id}"),
            department: department.clone(),
            source: source_label(source).to_owned(),
            queries: Vec::new(),
        };
        let mut queries = Vec::new();
        for trainee in &trainees {
            if file.queries.len() >= MAX_QUERIES || waiting.contains(&trainee.id) {
                continue;
            }
            let Some(person) = people.get(&trainee.id) else { continue };
            if !policies.contains_key(&trainee.project_id) {
                let policy = crate::judge::project_policy(&mut *change.tx, &trainee.project_id).await?;
                policies.insert(trainee.project_id.clone(), policy);
            }
            let Some(Some(policy)) = policies.get(&trainee.project_id) else { continue };
            let none = BTreeSet::new();
            let found_months = found.get(&trainee.id).unwrap_or(&none);
            let Some((months, from, to)) = minimal_query(policy, trainee, source, found_months, today) else {
                continue;
            };
            let id = ulid::Ulid::new().to_string();
            file.queries.push(QueryLine {
                query: id.clone(),
                id_number: s.pii.decrypt(&person.id_number_sealed)?,
                months: months.clone(),
                from: if monthly(source) { String::new() } else { from.to_string() },
                to: if monthly(source) { String::new() } else { to.to_string() },
            });
            queries.push(QueryRecord {
                id,
                query_batch_id: batch_id.clone(),
                department: department.clone(),
                source: source.as_str_name().to_owned(),
                trainee_id: trainee.id.clone(),
                months: months.join(","),
                answer: NO_ANSWER.to_owned(),
                create_time_micros: now,
                update_time_micros: now,
            });
        }
        if queries.is_empty() {
            return Ok(PullQueryBatchResponse::default());
        }
        let content = serde_json::to_vec_pretty(&file).map_err(|_| Error::corrupt("a query batch"))?;
        let record = QueryBatchRecord {
            id: batch_id.clone(),
            department: department.clone(),
            source: source.as_str_name().to_owned(),
            query_count: i64::try_from(queries.len()).unwrap_or(i64::MAX),
            content_sealed: s.pii.encrypt(&STANDARD.encode(&content))?,
            create_time_micros: now,
        };
        record::insert(&mut change.tx, &record).await?;
        record::insert_many(&mut change.tx, &queries).await?;
        change.audit(
            "pull_query_batch",
            file.query_batch.clone(),
            serde_json::json!({ "department": department, "queries": queries.len() }),
        );
        Ok(PullQueryBatchResponse {
            name: file.query_batch.clone(),
            content,
            query_count: i32::try_from(queries.len()).unwrap_or(i32::MAX),
        })
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Answers, as verdicts show them.

fn answer_state(answer: &str) -> ExchangeAnswerState {
    match answer {
        FOUND => ExchangeAnswerState::Found,
        NO_RECORD => ExchangeAnswerState::NoRecord,
        _ => ExchangeAnswerState::NoAnswer,
    }
}

/// A source's name in Chinese, for reasons.
fn source_zh(source: ExchangeSource) -> &'static str {
    match source {
        ExchangeSource::SocialInsurance => "社会保险",
        ExchangeSource::Tax => "税务",
        ExchangeSource::MarketRegulation => "市场监管",
        ExchangeSource::CivilAffairs => "民政",
        ExchangeSource::EmploymentRegister => "就业登记",
        ExchangeSource::SkillRegistry => "技能评价",
        ExchangeSource::Unspecified => "部门",
    }
}

/// What one department answered about one trainee, from its queries about them, oldest first.
fn answer_of(queries: &[&QueryRecord]) -> Option<ExchangeAnswer> {
    let latest = queries.last()?;
    let earlier = queries.len().checked_sub(2).and_then(|i| queries.get(i)).map(|q| answer_state(&q.answer));
    let source = ExchangeSource::from_str_name(&latest.source).unwrap_or_default();
    let state = answer_state(&latest.answer);
    let months = latest.month_list();
    let asked = if months.is_empty() { String::new() } else { format!("（{}）", months.join("、")) };
    let asked_en = if months.is_empty() { String::new() } else { format!(" ({})", months.join(", ")) };
    let (zh, en) = match state {
        ExchangeAnswerState::Found => (
            format!("{}部门答复有记录{asked}，已作为证据", source_zh(source)),
            format!("{} answered with records{asked_en}, kept as evidence", source_label(source)),
        ),
        ExchangeAnswerState::NoRecord => (
            format!("{}部门以签名批次明确答复：无记录{asked}", source_zh(source)),
            format!("{} answered in a signed batch: no record{asked_en}", source_label(source)),
        ),
        _ => (
            format!("已向{}部门查询{asked}，尚无答复（既未答复有记录，也未答复无记录）", source_zh(source)),
            format!(
                "{} was asked{asked_en} and has not answered yet: neither records nor \"no record\"",
                source_label(source)
            ),
        ),
    };
    Some(ExchangeAnswer {
        source: source as i32,
        department: latest.department.clone(),
        state: state as i32,
        months: months.iter().map(|m| (*m).to_owned()).collect(),
        asked_micros: latest.create_time_micros,
        answered_micros: if state == ExchangeAnswerState::NoAnswer { 0 } else { latest.update_time_micros },
        earlier: earlier.map_or(0, |e| e as i32),
        reason_zh: zh,
        reason_en: en,
    })
}

/// What each department asked about each of `trainee_ids` answered, per trainee, one per
/// department, in the order of the sources: "no record" said explicitly, or no answer yet.
pub async fn answers_of(
    pool: &sqlx::AnyPool,
    trainee_ids: &[&str],
) -> Result<HashMap<String, Vec<ExchangeAnswer>>, Error> {
    let mut queries: Vec<QueryRecord> = Vec::new();
    for chunk in trainee_ids.chunks(500) {
        let filter = Filter::new().among("exchange_query.trainee_id", chunk.iter().copied());
        queries.extend(record::all::<QueryRecord>(pool, filter, "id").await?);
    }
    let mut by_trainee: BTreeMap<(&str, &str), Vec<&QueryRecord>> = BTreeMap::new();
    for q in &queries {
        by_trainee.entry((q.trainee_id.as_str(), q.department.as_str())).or_default().push(q);
    }
    let mut answers: HashMap<String, Vec<ExchangeAnswer>> = HashMap::new();
    for ((trainee, _), mut asked) in by_trainee {
        asked.sort_by_key(|q| (q.create_time_micros, q.id.as_str()));
        if let Some(answer) = answer_of(&asked) {
            answers.entry(trainee.to_owned()).or_default().push(answer);
        }
    }
    for list in answers.values_mut() {
        list.sort_by_key(|a| (a.source, a.department.clone()));
    }
    Ok(answers)
}

// ---------------------------------------------------------------------------------------------
// Result batches.

fn refused(record_id: &str, rule: &str) -> ExchangeRecordResult {
    ExchangeRecordResult {
        record_id: record_id.to_owned(),
        accepted: false,
        rule: rule.to_owned(),
        ..Default::default()
    }
}

/// A record checked against the rules of its source and the query it answers: the evidence it
/// says, if it found something, and what it is about (month or credit code).
fn check_record(
    line: &ResultLine,
    source: ExchangeSource,
    query: &QueryRecord,
) -> Result<(Option<EvidenceInput>, String), &'static str> {
    let found = match line.result.as_str() {
        FOUND => true,
        NO_RECORD => false,
        _ => return Err("EX-RESULT"),
    };
    if !found {
        return Ok((None, String::new()));
    }
    let trainee = format!("trainees/{}", query.trainee_id);
    if monthly(source) {
        let employer = Uscc::parse(&line.employer_credit_code).map_err(|_| "EX-CREDIT-CODE")?;
        let month = YearMonth::parse(&line.month).map_err(|_| "EX-MONTH")?.to_string();
        if !query.month_list().contains(&month.as_str()) {
            return Err("EX-NOT-ASKED");
        }
        if !(1..=100_000_000).contains(&line.amount_fen) {
            return Err("EX-AMOUNT");
        }
        let employer = employer.as_str().to_owned();
        let input = if source == ExchangeSource::SocialInsurance {
            EvidenceInput {
                trainee,
                kind: EvidenceKind::Insurance as i32,
                insurance: Some(InsuranceEvidence {
                    employer_credit_code: employer,
                    months: vec![month.clone()],
                    ..Default::default()
                }),
                ..Default::default()
            }
        } else {
            EvidenceInput {
                trainee,
                kind: EvidenceKind::Wages as i32,
                wages: Some(WageEvidence {
                    employer_credit_code: employer,
                    // Withholding is declared by the employer for the wages it paid.
                    payer_relation: PayerRelation::EmployerAccount as i32,
                    months: vec![month.clone()],
                    amount_fen: line.amount_fen,
                }),
                ..Default::default()
            }
        };
        return Ok((Some(input), month));
    }
    match source {
        ExchangeSource::EmploymentRegister => return registration_of(line, trainee),
        ExchangeSource::SkillRegistry => return certificate_of(line, trainee),
        _ => {}
    }
    let code = Uscc::parse(&line.credit_code).map_err(|_| "EX-CREDIT-CODE")?.as_str().to_owned();
    let kind = BusinessKind::from_str_name(&format!("BUSINESS_KIND_{}", line.business_kind))
        .filter(|k| *k != BusinessKind::Unspecified)
        .ok_or("EX-RESULT")?;
    let role = BusinessRole::from_str_name(&format!("BUSINESS_ROLE_{}", line.role))
        .filter(|r| !matches!(r, BusinessRole::Unspecified | BusinessRole::Other))
        .ok_or("EX-RESULT")?;
    let registered_on = parse_date(&line.registered_on).map_err(|_| "EX-DATE")?;
    let input = EvidenceInput {
        trainee,
        kind: EvidenceKind::Business as i32,
        business: Some(BusinessEvidence {
            credit_code: code.clone(),
            kind: kind as i32,
            trainee_role: role as i32,
            registered_on: Some(convert::date_to_proto(registered_on)),
        }),
        ..Default::default()
    };
    Ok((Some(input), code))
}

/// An employment register's record (route ④, OUT-EMP-REGISTRATION): a registration judged as
/// an engagement from the day it was registered to the day it ended, or to the day it was
/// answered while it is in force (a later answer extends it). Its payments still come as
/// evidence of their own, as route ③ asks.
fn registration_of(line: &ResultLine, trainee: String) -> Result<(Option<EvidenceInput>, String), &'static str> {
    let counterparty = match line.registration_kind.as_str() {
        "EMPLOYMENT" => Uscc::parse(&line.employer_credit_code).map_err(|_| "EX-CREDIT-CODE")?.as_str().to_owned(),
        "FLEXIBLE" if line.employer_credit_code.is_empty() => "灵活就业登记".to_owned(),
        _ => return Err("EX-RESULT"),
    };
    let start = parse_date(&line.registered_on).map_err(|_| "EX-DATE")?;
    let end = if line.ended_on.is_empty() {
        qiancheng_domain::today_in_china()
    } else {
        parse_date(&line.ended_on).map_err(|_| "EX-DATE")?
    };
    if end < start {
        return Err("EX-DATE");
    }
    let input = EvidenceInput {
        trainee,
        kind: EvidenceKind::Service as i32,
        service: Some(ServiceEvidence {
            route: ServiceRoute::EmploymentRegistration as i32,
            counterparty: counterparty.clone(),
            start_on: Some(convert::date_to_proto(start)),
            end_on: Some(convert::date_to_proto(end)),
            ..Default::default()
        }),
        ..Default::default()
    };
    Ok((Some(input), format!("{counterparty}/{start}")))
}

/// A skill-evaluation registry's record: a certificate, judged by OUT-CERT like any other; its
/// number is its subject, one record per number (OUT-CERT-DUPLICATE).
fn certificate_of(line: &ResultLine, trainee: String) -> Result<(Option<EvidenceInput>, String), &'static str> {
    let number = line.certificate_number.trim();
    if number.is_empty() || number.chars().count() > 64 {
        return Err("EX-CERTIFICATE");
    }
    let kind = CertificateKind::from_str_name(&format!("CERTIFICATE_KIND_{}", line.certificate_kind))
        .filter(|k| *k != CertificateKind::Unspecified)
        .ok_or("EX-CERTIFICATE")?;
    let level = i32::try_from(line.level)
        .ok()
        .and_then(|l| qiancheng_api::types::SkillLevel::try_from(l).ok())
        .filter(|l| *l != qiancheng_api::types::SkillLevel::Unspecified)
        .ok_or("EX-CERTIFICATE")?;
    let occupation =
        qiancheng_domain::OccupationCode::parse(&line.occupation_code).map_err(|_| "EX-CERTIFICATE")?.to_string();
    let issued_on = parse_date(&line.issued_on).map_err(|_| "EX-DATE")?;
    if line.issuer.chars().count() > 100 {
        return Err("EX-CERTIFICATE");
    }
    let input = EvidenceInput {
        trainee,
        kind: EvidenceKind::Certificate as i32,
        certificate: Some(CertificateEvidence {
            number: number.to_owned(),
            kind: kind as i32,
            occupation_code: occupation,
            level: level as i32,
            issued_on: Some(convert::date_to_proto(issued_on)),
            issuer: line.issuer.trim().to_owned(),
        }),
        ..Default::default()
    };
    Ok((Some(input), number.to_owned()))
}

/// The evidence already holding a certificate number, stored or about to be stored by this
/// batch: its id and its trainee.
async fn known_certificate(
    tx: impl qiancheng_platform::db::Reader<'_>,
    pending: &[EvidenceRecord],
    number: &str,
) -> Result<Option<(String, String)>, Error> {
    if let Some(e) = pending.iter().find(|e| e.certificate_number == number) {
        return Ok(Some((e.id.clone(), e.trainee_id.clone())));
    }
    let stored = crate::store::evidence::holding_certificate(tx, number).await?;
    Ok(stored.map(|e| (e.id, e.trainee_id)))
}

/// A result batch verified and parsed, before it is stored.
#[derive(Debug)]
pub struct VerifiedBatch {
    /// The key that verified it.
    pub key: DepartmentKeyRecord,
    /// The file.
    pub file: ResultBatchFile,
    /// SHA-256 of the content, hex.
    pub sha256: String,
}

/// Verifies a pushed batch against the named key of the caller's department and parses it
/// (EX-SIGNATURE first, on the bytes as pushed; then EX-BATCH). Nothing is stored.
pub async fn verify_batch(
    s: &Outcome,
    department: &str,
    key_name: &str,
    content: &[u8],
    signature: &[u8],
) -> Result<VerifiedBatch, Error> {
    if content.is_empty() || content.len() > MAX_BATCH_BYTES {
        return Err(Error::invalid("content", "EX-BATCH", "a result batch of 1 byte to 64 MiB"));
    }
    if signature.is_empty() {
        return Err(Error::invalid("signature", "EX-SIGNATURE", "the batch's SM2 signature is required"));
    }
    let key_id = qiancheng_platform::call::id_of(key_name, "departmentKeys", "key")?;
    let key = record::find::<DepartmentKeyRecord>(s.db.pool(), key_id)
        .await?
        .filter(|k| k.department == department)
        .ok_or_else(|| Error::NotFound(format!("{key_name} is not a key of the caller's department")))?;
    if key.retire_time_micros != 0 {
        return Err(Error::precondition(
            "EX-KEY-RETIRED",
            "a retired key verifies what it signed but signs no new batch",
        ));
    }
    let verifying = verifying_key(&key.public_key, &key.signer_id).map_err(|_| Error::corrupt("a department key"))?;
    if !verifies(&verifying, content, signature) {
        return Err(Error::invalid(
            "signature",
            "EX-SIGNATURE",
            "the signature does not verify the batch under the key: the batch is refused whole",
        ));
    }
    Ok(VerifiedBatch { file: parse_batch(&key, content)?, key, sha256: hex::encode(Sha256::digest(content)) })
}

/// Parses a verified batch's content (EX-BATCH).
fn parse_batch(key: &DepartmentKeyRecord, content: &[u8]) -> Result<ResultBatchFile, Error> {
    let bad = |why: &str| Error::invalid("content", "EX-BATCH", why.to_owned());
    let file: ResultBatchFile =
        serde_json::from_slice(content).map_err(|_| bad("a result batch file (docs/exchange.md), UTF-8 JSON"))?;
    if file.format != RESULT_FORMAT {
        return Err(bad("the format is qiancheng.exchange.result.v1"));
    }
    let batch_id = file.batch_id.trim();
    if batch_id.is_empty() || batch_id.chars().count() > 64 {
        return Err(bad("a batch id of 1 to 64 characters"));
    }
    if file.department != key.department || key.source != source_of_label(&file.source).as_str_name() {
        return Err(bad("the batch names the key's department and source"));
    }
    if file.records.len() + file.withdrawals.len() > MAX_BATCH_RECORDS {
        return Err(bad("at most 100000 records and withdrawals"));
    }
    Ok(file)
}

/// Stores a verified batch: the exchange log entry, each record's result, the evidence of the
/// records found, the withdrawals, and the recomputed verdicts and rates. A batch id stored
/// before with the same bytes stores nothing (`stored_before`); with other bytes it is refused
/// (EX-BATCH-REPLAY).
pub async fn store_batch(
    change: &mut Change,
    s: &Outcome,
    batch: &VerifiedBatch,
    content: &[u8],
    signature: &[u8],
    received_by: &str,
) -> Result<PushResultBatchResponse, Error> {
    let VerifiedBatch { key, file, sha256 } = batch;
    let department = key.department.as_str();
    change.serialize_on(&format!("exchange-batch/{department}")).await?;
    let before = record::first::<ExchangeBatchRecord>(
        &mut *change.tx,
        Filter::new().eq("exchange_batch.department", department).eq("exchange_batch.batch_id", file.batch_id.trim()),
    )
    .await?;
    if let Some(before) = before {
        if &before.content_sha256 != sha256 {
            return Err(Error::exists("EX-BATCH-REPLAY", "this batch id holds other bytes already"));
        }
        let results: PushResultBatchResponse = decode_message(&before.results, "an exchange batch's results")?;
        return Ok(PushResultBatchResponse {
            batch: Some(ExchangeBatch::from(&before)),
            stored_before: true,
            ..results
        });
    }
    let source = ExchangeSource::from_str_name(&key.source).unwrap_or_default();
    let today = s.today();
    let now = qiancheng_platform::time::now_micros();
    let log_id = ulid::Ulid::new().to_string();
    let log_name = format!("exchangeBatches/{log_id}");
    let query_ids: BTreeSet<&str> = file.records.iter().map(|r| r.query.as_str()).collect();
    let mut queries: HashMap<String, QueryRecord> = HashMap::new();
    for chunk in query_ids.into_iter().collect::<Vec<_>>().chunks(500) {
        let filter =
            Filter::new().among("exchange_query.id", chunk.iter().copied()).eq("exchange_query.department", department);
        for q in record::all::<QueryRecord>(&mut *change.tx, filter, "id").await? {
            queries.insert(q.id.clone(), q);
        }
    }
    let trainee_ids: BTreeSet<String> = queries.values().map(|q| q.trainee_id.clone()).collect();
    let mut people: HashMap<String, ExchangePersonRecord> = HashMap::new();
    let mut trainees: HashMap<String, TraineeRecord> = HashMap::new();
    for chunk in trainee_ids.iter().collect::<Vec<_>>().chunks(500) {
        let filter = Filter::new().among("exchange_person.trainee_id", chunk.iter().map(|t| t.as_str()));
        for p in record::all::<ExchangePersonRecord>(&mut *change.tx, filter, "trainee_id").await? {
            people.insert(p.trainee_id.clone(), p);
        }
        let filter = Filter::new().among("watched_trainee.id", chunk.iter().map(|t| t.as_str()));
        for t in record::all::<TraineeRecord>(&mut *change.tx, filter, "id").await? {
            trainees.insert(t.id.clone(), t);
        }
    }
    let mut results = Vec::with_capacity(file.records.len() + file.withdrawals.len());
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut evidence = Vec::new();
    let mut accepted_records = Vec::new();
    let mut answers: BTreeMap<String, &'static str> = BTreeMap::new();
    let mut touched: BTreeSet<String> = BTreeSet::new();
    for line in &file.records {
        let record_id = line.record_id.trim();
        if record_id.is_empty() || record_id.chars().count() > 64 || !seen.insert(record_id) {
            results.push(refused(record_id, "EX-RECORD-ID"));
            continue;
        }
        let Ok(id_number) = IdNumber::parse(&line.id_number) else {
            results.push(refused(record_id, "EX-ID-NUMBER"));
            continue;
        };
        // A record about a person, month or query never asked of this department.
        let Some(query) = queries.get(line.query.as_str()) else {
            results.push(refused(record_id, "EX-NOT-ASKED"));
            continue;
        };
        let asked_person = people
            .get(&query.trainee_id)
            .is_some_and(|p| s.pii.lookup_hashes(id_number.as_str()).contains(&p.id_number_hash));
        let Some(trainee) = trainees.get(&query.trainee_id).filter(|_| asked_person) else {
            results.push(refused(record_id, "EX-NOT-ASKED"));
            continue;
        };
        let (input, subject) = match check_record(line, source, query) {
            Ok(checked) => checked,
            Err(rule) => {
                results.push(refused(record_id, rule));
                continue;
            }
        };
        let row_id = ulid::Ulid::new().to_string();
        let mut evidence_id = String::new();
        let certificate_number = input.as_ref().and_then(|i| i.certificate.as_ref()).map(|c| c.number.clone());
        // A certificate is one record per number (OUT-CERT-DUPLICATE): the registry confirming
        // a number known already for the same trainee names that record; for another trainee
        // it is refused.
        let known = match &certificate_number {
            Some(number) => known_certificate(&mut *change.tx, &evidence, number).await?,
            None => None,
        };
        if let Some((known_id, holder)) = known {
            if holder != trainee.id {
                results.push(refused(record_id, "OUT-CERT-DUPLICATE"));
                continue;
            }
            evidence_id = known_id;
            answers.insert(query.id.clone(), FOUND);
            touched.insert(trainee.project_id.clone());
        } else if let Some(input) = input {
            evidence_id = row_id.clone();
            evidence.push(EvidenceRecord {
                id: row_id.clone(),
                trainee_id: trainee.id.clone(),
                project_id: trainee.project_id.clone(),
                class_id: trainee.class_id.clone(),
                provider_credit_code: trainee.provider_credit_code.clone(),
                region: trainee.region,
                kind: EvidenceKind::try_from(input.kind).unwrap_or_default().as_str_name().to_owned(),
                state: EvidenceState::Accepted.as_str_name().to_owned(),
                source: EvidenceSource::Exchange.as_str_name().to_owned(),
                detail: encode_message(&input),
                certificate_number: certificate_number.unwrap_or_default(),
                engagement_id: String::new(),
                document_sha256: String::new(),
                media_type: String::new(),
                size_bytes: 0,
                retain_until: Documents::retain_until(today),
                review: String::new(),
                reexamination: String::new(),
                submitted_by: log_name.clone(),
                counts_from: Some(today),
                counts_until: None,
                stamp: Stamp::new(),
            });
            answers.insert(query.id.clone(), FOUND);
            touched.insert(trainee.project_id.clone());
        } else {
            answers.entry(query.id.clone()).or_insert(NO_RECORD);
        }
        accepted_records.push(ExchangeRecordRecord {
            id: row_id,
            exchange_batch_id: log_id.clone(),
            department: department.to_owned(),
            batch_id: file.batch_id.trim().to_owned(),
            record_id: record_id.to_owned(),
            query_id: query.id.clone(),
            trainee_id: trainee.id.clone(),
            found: !evidence_id.is_empty(),
            subject,
            evidence_id: evidence_id.clone(),
            withdrawn_by: String::new(),
            stamp: Stamp::new(),
        });
        results.push(ExchangeRecordResult {
            record_id: record_id.to_owned(),
            accepted: true,
            evidence: if evidence_id.is_empty() { String::new() } else { format!("evidence/{evidence_id}") },
            ..Default::default()
        });
    }
    for w in &file.withdrawals {
        let named = format!("{}/{}", w.batch_id.trim(), w.record_id.trim());
        let target = record::first::<ExchangeRecordRecord>(
            &mut *change.tx,
            Filter::new()
                .eq("exchange_record.department", department)
                .eq("exchange_record.batch_id", w.batch_id.trim())
                .eq("exchange_record.record_id", w.record_id.trim()),
        )
        .await?;
        let Some(mut target) = target.filter(|t| t.withdrawn_by.is_empty()) else {
            results.push(ExchangeRecordResult {
                record_id: named.clone(),
                accepted: false,
                rule: "EX-WITHDRAWAL".to_owned(),
                withdrawn: named,
                ..Default::default()
            });
            continue;
        };
        target.withdrawn_by = log_id.clone();
        target.stamp.touch();
        record::update(&mut change.tx, &target).await?;
        if let Some(mut item) = record::find::<EvidenceRecord>(&mut *change.tx, target.evidence_id.as_str()).await? {
            item.counts_until = Some(today);
            item.stamp.touch();
            record::update(&mut change.tx, &item).await?;
            touched.insert(item.project_id.clone());
            change.audit("withdraw_evidence", item.name(), serde_json::json!({ "batch": log_name }));
        }
        results.push(ExchangeRecordResult {
            record_id: named.clone(),
            accepted: true,
            withdrawn: named,
            ..Default::default()
        });
    }
    let accepted = results.iter().filter(|r| r.accepted).count();
    let batch = ExchangeBatchRecord {
        id: log_id.clone(),
        department: department.to_owned(),
        source: key.source.clone(),
        batch_id: file.batch_id.trim().to_owned(),
        key_id: key.id.clone(),
        content_sealed: s.pii.encrypt(&STANDARD.encode(content))?,
        content_sha256: sha256.clone(),
        signature: hex::encode(signature),
        record_count: i64::try_from(file.records.len() + file.withdrawals.len()).unwrap_or(i64::MAX),
        accepted_count: i64::try_from(accepted).unwrap_or(i64::MAX),
        results: encode_message(&PushResultBatchResponse { results: results.clone(), ..Default::default() }),
        received_by: received_by.to_owned(),
        create_time_micros: now,
    };
    record::insert(&mut change.tx, &batch).await?;
    record::insert_many(&mut change.tx, &evidence).await?;
    record::insert_many(&mut change.tx, &accepted_records).await?;
    for (query_id, answer) in answers {
        if let Some(mut q) = queries.remove(&query_id).filter(|q| q.answer != FOUND) {
            q.answer = answer.to_owned();
            q.update_time_micros = now;
            record::update(&mut change.tx, &q).await?;
        }
    }
    change.audit(
        "push_result_batch",
        log_name.clone(),
        serde_json::json!({
            "department": department,
            "batch_id": batch.batch_id,
            "sha256": sha256,
            "records": batch.record_count,
            "accepted": accepted,
        }),
    );
    for project in &touched {
        crate::judge::recompute_project(change, s, project, &log_name).await?;
    }
    Ok(PushResultBatchResponse { batch: Some(ExchangeBatch::from(&batch)), results, stored_before: false })
}

/// PushResultBatch.
pub async fn push_result_batch(
    s: &Outcome,
    call: Call<PushResultBatchRequest>,
) -> Result<PushResultBatchResponse, Error> {
    let department = own_department(&call.principal)?.to_owned();
    let m = &call.message;
    let batch = verify_batch(s, &department, &m.key, &m.content, &m.signature).await?;
    write::run(s, &call, async |change| {
        store_batch(change, s, &batch, &m.content, &m.signature, &call.principal.subject).await
    })
    .await
}

/// ListExchangeBatches.
pub async fn list_exchange_batches(
    s: &Outcome,
    call: Call<ListExchangeBatchesRequest>,
) -> Result<ListExchangeBatchesResponse, Error> {
    let m = &call.message;
    let department = readable_department(&call.principal, &m.department)?;
    let page = PageRequest::parse(
        m.page_size,
        &m.page_token,
        &format!("exchangeBatches|{}", department.as_deref().unwrap_or("")),
    )?;
    let filter = Filter::new().eq_given("exchange_batch.department", department);
    let (records, next_page_token) = record::page::<ExchangeBatchRecord>(&s.db, filter, &page).await?;
    Ok(ListExchangeBatchesResponse { batches: records.iter().map(ExchangeBatch::from).collect(), next_page_token })
}

/// ExportExchangeBatches.
pub async fn export_exchange_batches(
    s: &Outcome,
    call: Call<ExportExchangeBatchesRequest>,
) -> Result<ExportExchangeBatchesResponse, Error> {
    if !call.principal.has(Role::Auditor) {
        return Err(Error::denied("only auditors export signed batches"));
    }
    let m = &call.message;
    let mut ids = Vec::with_capacity(m.names.len());
    for (i, name) in m.names.iter().enumerate() {
        ids.push(qiancheng_platform::call::id_of(name, "exchangeBatches", &format!("names[{i}]"))?.to_owned());
    }
    write::run(s, &call, async |change| {
        let mut batches = Vec::with_capacity(ids.len());
        for (id, name) in ids.iter().zip(&m.names) {
            let batch = record::find::<ExchangeBatchRecord>(&mut *change.tx, id.as_str())
                .await?
                .ok_or_else(|| Error::NotFound(format!("{name} is not in the exchange log")))?;
            let key = record::find::<DepartmentKeyRecord>(&mut *change.tx, batch.key_id.as_str())
                .await?
                .ok_or_else(|| Error::corrupt("the key of a logged batch"))?;
            let content = STANDARD
                .decode(s.pii.decrypt(&batch.content_sealed)?)
                .map_err(|_| Error::corrupt("a logged batch's content"))?;
            let signature = hex::decode(&batch.signature).map_err(|_| Error::corrupt("a logged batch's signature"))?;
            change.audit(
                "export_exchange_batch",
                batch.name(),
                serde_json::json!({ "purpose": m.purpose.trim(), "sha256": batch.content_sha256 }),
            );
            batches.push(SignedExchangeBatch {
                batch: Some(ExchangeBatch::from(&batch)),
                content,
                signature,
                key: Some(DepartmentKey::from(&key)),
            });
        }
        Ok(ExportExchangeBatchesResponse { batches })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRIVATE: &str = "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8";

    #[test]
    fn a_signature_verifies_its_content_and_nothing_else() {
        let (signature, public) = sign(PRIVATE, DEFAULT_SIGNER_ID, b"batch").expect("signs");
        let key = verifying_key(&public, DEFAULT_SIGNER_ID).expect("a key");
        assert!(verifies(&key, b"batch", &signature));
        assert!(!verifies(&key, b"batcH", &signature), "one flipped byte");
        let other = verifying_key(&public, "another signer").expect("a key");
        assert!(!verifies(&other, b"batch", &signature), "the signer id is part of what is signed");
        assert!(!verifies(&key, b"batch", &signature[..63]));
    }

    #[test]
    fn a_der_signature_is_read_like_r_and_s() {
        let (signature, public) = sign(PRIVATE, DEFAULT_SIGNER_ID, b"batch").expect("signs");
        let key = verifying_key(&public, DEFAULT_SIGNER_ID).expect("a key");
        let integer = |bytes: &[u8]| {
            let mut v = bytes.to_vec();
            while v.len() > 1 && v[0] == 0 {
                v.remove(0);
            }
            if v[0] & 0x80 != 0 {
                v.insert(0, 0);
            }
            let mut out = vec![0x02, u8::try_from(v.len()).expect("short")];
            out.extend(v);
            out
        };
        let mut body = integer(&signature[..32]);
        body.extend(integer(&signature[32..]));
        let mut der = vec![0x30, u8::try_from(body.len()).expect("short")];
        der.extend(body);
        assert!(verifies(&key, b"batch", &der));
        der[3] ^= 1;
        assert!(!verifies(&key, b"batch", &der));
    }

    /// A batch signed by Python `gmssl` (scripts/exchange_interop.py make): its key, content and
    /// signature (r‖s), as gmssl wrote them.
    const GMSSL_PRIVATE: &str = "b1cbf4d1a5ae7b5a8d1c2f4e6a8b0c2d4e6f8a0b2c4d6e8f0a2b4c6d8e0f2a46";
    const GMSSL_PUBLIC: &str = "04701b69f5dc0b779f36a8bcb1730aab74d0f2d0920dea462013635de871dc5d8a077a1eb8c912e119dd1d1cccc0ed2cad9b7801f0292a9d3055aaaa09a98e0915";
    const GMSSL_CONTENT: &str = "7b22666f726d6174223a20227169616e6368656e672e65786368616e67652e726573756c742e7631222c202262617463685f6964223a2022474d53534c2d30303031222c20226465706172746d656e74223a202231313432313230304d423030303030313158222c2022736f75726365223a2022534f4349414c5f494e535552414e4345222c20227265636f726473223a205b5d7d";
    const GMSSL_SIGNATURE: &str = "b81fb4c7b43754cca178fd302516c2b1745f60540e11ff9d84d59b798d174b51300677418b29f99ed0779f241ce68783426893b0023e48e1cee47b0bcc6ee4fa";

    #[test]
    fn gmssl_signatures_verify_and_gmssl_verifies_ours() {
        assert_eq!(public_key_of(GMSSL_PRIVATE).expect("a key"), GMSSL_PUBLIC, "the same key pair as gmssl's");
        let key = verifying_key(GMSSL_PUBLIC, DEFAULT_SIGNER_ID).expect("gmssl's key");
        let content = hex::decode(GMSSL_CONTENT).expect("hex");
        let signature = hex::decode(GMSSL_SIGNATURE).expect("hex");
        assert!(verifies(&key, &content, &signature), "a gmssl signature verifies in the suite");
        let mut flipped = content.clone();
        flipped[5] ^= 1;
        assert!(!verifies(&key, &flipped, &signature));
        // The other way: the suite signs, scripts/exchange_interop.py check verifies with gmssl.
        let (ours, public) = sign(GMSSL_PRIVATE, DEFAULT_SIGNER_ID, &content).expect("signed");
        assert!(verifies(&key, &content, &ours));
        if let Ok(path) = std::env::var("QIANCHENG_EXCHANGE_INTEROP_OUT") {
            let fixture = serde_json::json!({
                "public_key": public,
                "content": hex::encode(&content),
                "signature": hex::encode(&ours),
            });
            std::fs::write(path, fixture.to_string()).expect("written");
        }
    }

    /// A key made by OpenSSL 3 (`openssl genpkey -algorithm SM2`), its public key, and its DER
    /// signature of `batch` (`openssl pkeyutl -sign -rawin -digest sm3 -pkeyopt
    /// distid:1234567812345678`: OpenSSL 3.0 signs under an empty signer id unless told).
    const OPENSSL_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqBHM9VAYItBG0wawIBAQQg+I4VFWYSEZDz9etm
9PbZgvltxgtVlZbmB9Y/ITWYfQShRANCAAQ8t0qYzBLVtfcmk0leCKy4D5s5/Q9h
AV6FozYA1fiJ58tNe1wpuQvUf9SYto+r5kCed0J7DTXCxsoXvFa9yWLa
-----END PRIVATE KEY-----
";
    const OPENSSL_PUBLIC: &str = "043cb74a98cc12d5b5f72693495e08acb80f9b39fd0f61015e85a33600d5f889e7cb4d7b5c29b90bd47fd498b68fabe6409e77427b0d35c2c6ca17bc56bdc962da";
    const OPENSSL_SIGNATURE: &str = "304402206ca8b4c72688b3de977abd0dccb0947ff36d1e12f3917539e0ae6c771b197903022031ce40c9af34dcd1f24663ee03b131b830ca7b83c317bcc1343e8d22633c0b04";

    #[test]
    fn key_files_are_hex_or_pem_and_signature_files_hex_or_der() {
        let from_hex = signing_key_from_file(&format!("# the tax department\n{PRIVATE}\n"), DEFAULT_SIGNER_ID)
            .expect("a hex key file");
        assert_eq!(public_key_hex(&from_hex), public_key_of(PRIVATE).expect("a key"));
        let signature = signature_from_file(format!("{}\n", sign_with(&from_hex, b"batch")).as_bytes());
        let key = verifying_key(&public_key_of(PRIVATE).expect("a key"), DEFAULT_SIGNER_ID).expect("a key");
        assert!(verifies(&key, b"batch", &signature));

        let from_pem = signing_key_from_file(OPENSSL_PEM, DEFAULT_SIGNER_ID).expect("OpenSSL's PKCS#8");
        assert_eq!(public_key_hex(&from_pem), OPENSSL_PUBLIC);
        let openssl = verifying_key(OPENSSL_PUBLIC, DEFAULT_SIGNER_ID).expect("a key");
        let der = hex::decode(OPENSSL_SIGNATURE).expect("hex");
        assert_eq!(signature_from_file(&der), der, "binary DER is read as is");
        assert_eq!(signature_from_file(OPENSSL_SIGNATURE.as_bytes()), der, "DER as hex");
        assert!(verifies(&openssl, b"batch", &signature_from_file(&der)), "OpenSSL's signature verifies");
        assert!(verifies(&openssl, b"batch", &hex::decode(sign_with(&from_pem, b"batch")).expect("hex")));

        for bad in ["", "abcd", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"] {
            assert!(signing_key_from_file(bad, DEFAULT_SIGNER_ID).is_err(), "{bad:?}");
        }
        let encrypted = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        assert!(signing_key_from_file(encrypted, DEFAULT_SIGNER_ID).expect_err("encrypted").contains("decrypt"));
    }

    #[test]
    fn keys_are_checked() {
        assert!(verifying_key("04", DEFAULT_SIGNER_ID).is_err());
        let public = public_key_of(PRIVATE).expect("a key");
        assert_eq!(public.len(), 130);
        assert!(verifying_key(&public, DEFAULT_SIGNER_ID).is_ok());
        let mut off_curve = public.clone();
        off_curve.replace_range(128..130, if public.ends_with("00") { "01" } else { "00" });
        assert!(verifying_key(&off_curve, DEFAULT_SIGNER_ID).is_err());
    }
}
