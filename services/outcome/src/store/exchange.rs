//! The department data exchange as stored (migration 0150): keys, the people it may ask about,
//! query batches and queries, the append-only exchange log and the records accepted from it.

use qiancheng_platform::Stamp;
use qiancheng_platform::record::Record;

/// A department's SM2 public key.
#[derive(Debug, Clone, Record)]
#[record(table = "department_key", key = "id", what = "the department key")]
pub struct DepartmentKeyRecord {
    /// Id.
    pub id: String,
    /// The department's credit code.
    #[column(fixed)]
    pub department: String,
    /// Its source (`EXCHANGE_SOURCE_TAX`).
    #[column(fixed)]
    pub source: String,
    /// SEC1 uncompressed point, lowercase hex.
    #[column(fixed)]
    pub public_key: String,
    /// The GM/T 0003 signer id.
    #[column(fixed)]
    pub signer_id: String,
    /// When a newer key retired it; 0 while current.
    pub retire_time_micros: i64,
    /// Who registered it.
    #[column(fixed)]
    pub registered_by: String,
    /// Revision and times.
    #[column(stamp)]
    pub stamp: Stamp,
}

impl DepartmentKeyRecord {
    /// The resource name.
    pub fn name(&self) -> String {
        format!("departmentKeys/{}", self.id)
    }
}

/// A watched trainee's ID number, sealed, for query batches.
#[derive(Debug, Clone, Record)]
#[record(table = "exchange_person", key = "trainee_id", what = "the person")]
pub struct ExchangePersonRecord {
    /// The trainee's id.
    pub trainee_id: String,
    /// The ID number, sealed with the data key.
    pub id_number_sealed: String,
    /// Its keyed hash.
    pub id_number_hash: String,
    /// When it was written.
    pub update_time_micros: i64,
}

/// A query batch handed to a department.
#[derive(Debug, Clone, Record)]
#[record(table = "exchange_query_batch", key = "id", what = "the query batch")]
pub struct QueryBatchRecord {
    /// Id.
    pub id: String,
    /// The department's credit code.
    pub department: String,
    /// Its source.
    pub source: String,
    /// Queries in it.
    pub query_count: i64,
    /// The batch file, sealed.
    pub content_sealed: String,
    /// When it was made.
    pub create_time_micros: i64,
}

/// One query: a person and the months asked, and its answer.
#[derive(Debug, Clone, Record)]
#[record(table = "exchange_query", key = "id", what = "the query")]
pub struct QueryRecord {
    /// Id (the `query` a result record names).
    pub id: String,
    /// The batch it went out in.
    pub query_batch_id: String,
    /// The department asked.
    pub department: String,
    /// Its source.
    pub source: String,
    /// The trainee asked about.
    pub trainee_id: String,
    /// The months asked, `YYYY-MM` comma-separated.
    pub months: String,
    /// `NO_ANSWER`, `FOUND` or `NO_RECORD`.
    pub answer: String,
    /// When it was made.
    pub create_time_micros: i64,
    /// When it was answered.
    pub update_time_micros: i64,
}

impl QueryRecord {
    /// The months asked.
    pub fn month_list(&self) -> Vec<&str> {
        self.months.split(',').filter(|m| !m.is_empty()).collect()
    }
}

/// A result batch as logged: whole, sealed, with its signature.
#[derive(Debug, Clone, Record)]
#[record(table = "exchange_batch", key = "id", what = "the exchange batch")]
pub struct ExchangeBatchRecord {
    /// Id.
    pub id: String,
    /// The department's credit code.
    pub department: String,
    /// Its source.
    pub source: String,
    /// The department's batch id.
    pub batch_id: String,
    /// The key that verified it.
    pub key_id: String,
    /// The content exactly as signed (base64), sealed.
    pub content_sealed: String,
    /// SHA-256 of the content, hex.
    pub content_sha256: String,
    /// The signature as pushed, hex.
    pub signature: String,
    /// Records in it.
    pub record_count: i64,
    /// Records accepted.
    pub accepted_count: i64,
    /// The per-record results (`ExchangeRecordResult`s, protobuf, base64).
    pub results: String,
    /// Who pushed it.
    pub received_by: String,
    /// When it was stored.
    pub create_time_micros: i64,
}

impl ExchangeBatchRecord {
    /// The resource name.
    pub fn name(&self) -> String {
        format!("exchangeBatches/{}", self.id)
    }
}

/// An accepted record of a result batch.
#[derive(Debug, Clone, Record)]
#[record(table = "exchange_record", key = "id", what = "the exchange record")]
pub struct ExchangeRecordRecord {
    /// Id.
    pub id: String,
    /// The logged batch.
    #[column(fixed)]
    pub exchange_batch_id: String,
    /// The department.
    #[column(fixed)]
    pub department: String,
    /// The department's batch id.
    #[column(fixed)]
    pub batch_id: String,
    /// The record's id in its batch.
    #[column(fixed)]
    pub record_id: String,
    /// The query it answers.
    #[column(fixed)]
    pub query_id: String,
    /// The trainee.
    #[column(fixed)]
    pub trainee_id: String,
    /// It found something (else: "no record").
    #[column(fixed)]
    pub found: bool,
    /// What it is about: the month (`2026-03`) of a monthly source, a business's credit code.
    #[column(fixed)]
    pub subject: String,
    /// The evidence it became; empty for "no record".
    #[column(fixed)]
    pub evidence_id: String,
    /// The logged batch that withdrew it; empty while it stands.
    pub withdrawn_by: String,
    /// Revision and times.
    #[column(stamp)]
    pub stamp: Stamp,
}
