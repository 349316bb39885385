//! The audit chain (八(三) 全程留痕, SUBS-KEEP): every state change writes one row in the same
//! transaction as the change: who, when, what, on which resource, under which policy version,
//! with the details. Each row carries the SHA-256 of its content and of the row before it, so
//! that changing, removing or reordering a row breaks the chain from that row on, and
//! [`verify`] names the first broken row.

use sha2::{Digest as _, Sha256};
use sqlx::{AnyPool, Row as _};

use crate::db::Tx;
use crate::error::Error;

/// What a state change records.
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    /// Who (token subject).
    pub actor: &'a str,
    /// What was done (`vacancy.publish`).
    pub action: &'a str,
    /// On which resource (`vacancies/01h…`).
    pub resource: &'a str,
    /// Details as JSON; never plaintext personal data.
    pub detail: serde_json::Value,
    /// The policy-set version in force.
    pub policy_version: &'a str,
}

/// The hash of a row: its content chained to the hash of the row before.
#[allow(clippy::too_many_arguments)]
fn row_hash(
    prev_hash: &str,
    seq: i64,
    at_micros: i64,
    actor: &str,
    action: &str,
    resource: &str,
    detail: &str,
    policy_version: &str,
) -> String {
    let mut hasher = Sha256::new();
    for part in [prev_hash, &seq.to_string(), &at_micros.to_string(), actor, action, resource, policy_version, detail] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// Appends `entry` to the chain inside `tx` and returns its sequence number.
pub async fn record(tx: &mut Tx, entry: AuditEntry<'_>) -> Result<i64, Error> {
    let head = sqlx::query("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
        .fetch_one(&mut **tx)
        .await?;
    let seq: i64 = head.try_get("seq")?;
    let prev_hash: String = head.try_get("hash")?;
    let at = crate::time::now_micros();
    let detail = entry.detail.to_string();
    let hash = row_hash(&prev_hash, seq, at, entry.actor, entry.action, entry.resource, &detail, entry.policy_version);
    sqlx::query(
        "INSERT INTO audit_log (seq, at_micros, actor, action, resource, detail, policy_version, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(seq)
    .bind(at)
    .bind(entry.actor)
    .bind(entry.action)
    .bind(entry.resource)
    .bind(&detail)
    .bind(entry.policy_version)
    .bind(&prev_hash)
    .bind(&hash)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1").bind(&hash).execute(&mut **tx).await?;
    Ok(seq)
}

/// The result of a verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    /// Rows checked.
    pub rows_checked: i64,
    /// The first broken row's sequence number, with why; `None` when intact.
    pub first_broken: Option<(i64, String)>,
}

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Walks the chain in order, a page at a time, and names the first broken row.
///
/// The head is read first: rows up to its sequence number were committed with it, so writes
/// that land while the check runs are neither checked nor mistaken for a gap.
pub async fn verify(pool: &AnyPool) -> Result<ChainReport, Error> {
    let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1").fetch_one(pool).await?;
    let head_seq: i64 = head.try_get("seq")?;
    let head_hash: String = head.try_get("hash")?;
    let mut expected_seq = 1i64;
    let mut prev_hash = GENESIS.to_owned();
    let mut checked = 0i64;
    while expected_seq <= head_seq {
        let rows = sqlx::query(
            "SELECT seq, at_micros, actor, action, resource, detail, policy_version, prev_hash, hash \
             FROM audit_log WHERE seq >= $1 AND seq <= $2 ORDER BY seq LIMIT 1000",
        )
        .bind(expected_seq)
        .bind(head_seq)
        .fetch_all(pool)
        .await?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            let seq: i64 = row.try_get("seq")?;
            checked += 1;
            if seq != expected_seq {
                return Ok(broken(checked, expected_seq, format!("row {expected_seq} is missing")));
            }
            let stored_prev: String = row.try_get("prev_hash")?;
            if stored_prev != prev_hash {
                return Ok(broken(checked, seq, "does not follow the row before it".to_owned()));
            }
            let hash: String = row.try_get("hash")?;
            let actual = row_hash(
                &stored_prev,
                seq,
                row.try_get("at_micros")?,
                &row.try_get::<String, _>("actor")?,
                &row.try_get::<String, _>("action")?,
                &row.try_get::<String, _>("resource")?,
                &row.try_get::<String, _>("detail")?,
                &row.try_get::<String, _>("policy_version")?,
            );
            if actual != hash {
                return Ok(broken(checked, seq, "its content does not match its hash".to_owned()));
            }
            prev_hash = hash;
            expected_seq += 1;
        }
    }
    if expected_seq <= head_seq {
        return Ok(broken(checked, expected_seq, format!("rows {expected_seq} to {head_seq} are missing")));
    }
    if head_hash != prev_hash {
        return Ok(broken(checked, head_seq, "the chain head does not match the last row".to_owned()));
    }
    Ok(ChainReport { rows_checked: checked, first_broken: None })
}

fn broken(checked: i64, seq: i64, why: String) -> ChainReport {
    ChainReport { rows_checked: checked, first_broken: Some((seq, why)) }
}

impl ChainReport {
    /// The report as the shared protobuf message.
    pub fn to_proto(&self) -> qiancheng_api::types::AuditChainReport {
        qiancheng_api::types::AuditChainReport {
            rows_checked: self.rows_checked,
            intact: self.first_broken.is_none(),
            first_broken_seq: self.first_broken.as_ref().map_or(0, |(seq, _)| *seq),
            problem: self.first_broken.as_ref().map(|(_, why)| why.clone()).unwrap_or_default(),
        }
    }
}
