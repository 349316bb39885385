//! The audit chains (八(三) 全程留痕, SUBS-KEEP): every state change writes one row in the same
//! transaction as the change: who, when, what, on which resource, under which policy version,
//! with the details. Each row carries the SHA-256 of its content and of the row before it in its
//! chain, so that changing, removing or reordering a row breaks its chain from that row on, and
//! [`verify`] names the first broken row.
//!
//! There are [`CHAINS`] chains. A row goes to the chain of its resource ([`chain_of`]), so one
//! resource's history is one chain, and writers on different resources append to different
//! chains: a writer locks only its chain's head, and only at the end of its transaction, so
//! writes proceed concurrently while every chain stays a single verifiable line.

use sha2::{Digest as _, Sha256};
use sqlx::{AnyPool, Row as _};

use crate::auth::Role;
use crate::call::Call;
use crate::db::Tx;
use crate::error::Error;
use crate::service::Shared;

/// How many chains there are (fixed by the platform's migrations).
pub const CHAINS: i64 = 16;

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
    pub detail: &'a serde_json::Value,
    /// The policy-set version in force.
    pub policy_version: &'a str,
}

/// The 64-bit FNV-1a hash of `text`: a stable spread of names over chains and lock ids.
pub fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, b| (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// The chain a resource's rows go to: 1 + (64-bit FNV-1a of the resource name mod [`CHAINS`]).
pub fn chain_of(resource: &str) -> i64 {
    1 + i64::try_from(fnv1a(resource) % u64::try_from(CHAINS).unwrap_or(1)).unwrap_or(0)
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

/// A row about to be appended.
struct Row<'a> {
    chain: i64,
    seq: i64,
    at: i64,
    entry: &'a AuditEntry<'a>,
    detail: String,
    prev_hash: String,
    hash: String,
}

/// Appends `entries`, each to its resource's chain, inside `tx`, and returns their sequence
/// numbers in the order given. Each chain used is advanced once for all its entries, in
/// ascending chain order, and its rows go in with multi-row inserts: a bulk change costs a few
/// round trips, not a few per entry. The heads stay locked until the transaction ends, so a
/// change records its entries last, and writers never wait for each other's chains in a cycle.
pub async fn record_many(tx: &mut Tx, entries: &[AuditEntry<'_>]) -> Result<Vec<i64>, Error> {
    let mut by_chain: std::collections::BTreeMap<i64, Vec<usize>> = std::collections::BTreeMap::new();
    for (i, entry) in entries.iter().enumerate() {
        by_chain.entry(chain_of(entry.resource)).or_default().push(i);
    }
    let at = crate::time::now_micros();
    let mut seqs = vec![0i64; entries.len()];
    for (chain, indices) in by_chain {
        let count = i64::try_from(indices.len()).unwrap_or(i64::MAX);
        let head = sqlx::query("UPDATE audit_head SET seq = seq + $1 WHERE id = $2 RETURNING seq, hash")
            .bind(count)
            .bind(chain)
            .fetch_one(&mut **tx)
            .await?;
        let last: i64 = head.try_get("seq")?;
        let mut prev_hash: String = head.try_get("hash")?;
        let mut rows = Vec::with_capacity(indices.len());
        for (k, i) in indices.iter().enumerate() {
            let entry = &entries[*i];
            let seq = last - count + 1 + i64::try_from(k).unwrap_or(0);
            let detail = entry.detail.to_string();
            let hash =
                row_hash(&prev_hash, seq, at, entry.actor, entry.action, entry.resource, &detail, entry.policy_version);
            seqs[*i] = seq;
            rows.push(Row {
                chain,
                seq,
                at,
                entry,
                detail,
                prev_hash: std::mem::replace(&mut prev_hash, hash.clone()),
                hash,
            });
        }
        crate::db::insert_many(
            tx,
            "audit_log",
            "chain, seq, at_micros, actor, action, resource, detail, policy_version, prev_hash, hash",
            10,
            &rows,
            |query, row| {
                query
                    .bind(row.chain)
                    .bind(row.seq)
                    .bind(row.at)
                    .bind(row.entry.actor)
                    .bind(row.entry.action)
                    .bind(row.entry.resource)
                    .bind(row.detail.as_str())
                    .bind(row.entry.policy_version)
                    .bind(row.prev_hash.as_str())
                    .bind(row.hash.as_str())
            },
        )
        .await?;
        sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = $2")
            .bind(&prev_hash)
            .bind(chain)
            .execute(&mut **tx)
            .await?;
        crate::telemetry::metrics::instruments()
            .audit_length
            .record(u64::try_from(last).unwrap_or(0), &[opentelemetry::KeyValue::new("chain", chain)]);
    }
    Ok(seqs)
}

/// The result of a verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    /// Rows checked, over every chain.
    pub rows_checked: i64,
    /// The first broken row, as (chain, sequence number, why); `None` when every chain is intact.
    pub first_broken: Option<(i64, i64, String)>,
}

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Walks every chain in order, a page at a time, and names the first broken row.
///
/// Each chain's head is read first: rows up to its sequence number were committed with it, so
/// writes that land while the check runs are neither checked nor mistaken for a gap.
pub async fn verify(pool: &AnyPool) -> Result<ChainReport, Error> {
    let heads = sqlx::query("SELECT id, seq, hash FROM audit_head ORDER BY id").fetch_all(pool).await?;
    let mut checked = 0i64;
    for head in heads {
        let chain: i64 = head.try_get("id")?;
        let head_seq: i64 = head.try_get("seq")?;
        let head_hash: String = head.try_get("hash")?;
        if let Some((seq, why)) = verify_chain(pool, chain, head_seq, &head_hash, &mut checked).await? {
            crate::telemetry::metrics::instruments().audit_broken.add(1, &[]);
            tracing::error!(chain, seq, why = %why, "the audit chain is broken");
            return Ok(ChainReport { rows_checked: checked, first_broken: Some((chain, seq, why)) });
        }
    }
    Ok(ChainReport { rows_checked: checked, first_broken: None })
}

async fn verify_chain(
    pool: &AnyPool,
    chain: i64,
    head_seq: i64,
    head_hash: &str,
    checked: &mut i64,
) -> Result<Option<(i64, String)>, Error> {
    let mut expected_seq = 1i64;
    let mut prev_hash = GENESIS.to_owned();
    while expected_seq <= head_seq {
        let rows = sqlx::query(
            "SELECT seq, at_micros, actor, action, resource, detail, policy_version, prev_hash, hash \
             FROM audit_log WHERE chain = $1 AND seq >= $2 AND seq <= $3 ORDER BY seq LIMIT 1000",
        )
        .bind(chain)
        .bind(expected_seq)
        .bind(head_seq)
        .fetch_all(pool)
        .await?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            let seq: i64 = row.try_get("seq")?;
            *checked += 1;
            if seq != expected_seq {
                return Ok(Some((expected_seq, format!("row {expected_seq} is missing"))));
            }
            let stored_prev: String = row.try_get("prev_hash")?;
            if stored_prev != prev_hash {
                return Ok(Some((seq, "does not follow the row before it".to_owned())));
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
                return Ok(Some((seq, "its content does not match its hash".to_owned())));
            }
            prev_hash = hash;
            expected_seq += 1;
        }
    }
    if expected_seq <= head_seq {
        return Ok(Some((expected_seq, format!("rows {expected_seq} to {head_seq} are missing"))));
    }
    if head_hash != prev_hash {
        return Ok(Some((head_seq, "the chain head does not match the last row".to_owned())));
    }
    Ok(None)
}

impl ChainReport {
    /// The report as the shared protobuf message.
    pub fn to_proto(&self) -> qiancheng_api::types::AuditChainReport {
        qiancheng_api::types::AuditChainReport {
            rows_checked: self.rows_checked,
            intact: self.first_broken.is_none(),
            first_broken_seq: self.first_broken.as_ref().map_or(0, |(_, seq, _)| *seq),
            first_broken_chain: self.first_broken.as_ref().map_or(0, |(chain, _, _)| *chain),
            problem: self.first_broken.as_ref().map(|(_, _, why)| why.clone()).unwrap_or_default(),
        }
    }
}

/// VerifyAuditChain, as every service serves it: the city and auditors (the roles its proto
/// declares) check the service's audit chain, and learn the first broken row. One handler for
/// every service: each re-exports it among its handlers.
pub async fn verify_audit_chain<S, M>(service: &S, call: Call<M>) -> Result<M::Response, Error>
where
    S: std::ops::Deref<Target = Shared>,
    M: qiancheng_api::Rpc,
    M::Response: From<qiancheng_api::types::AuditChainReport>,
{
    call.principal.require_any(&[Role::CityAdmin, Role::Auditor])?;
    let report = verify(service.db.pool()).await?;
    Ok(M::Response::from(report.to_proto()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resource_always_goes_to_the_same_chain_and_every_chain_is_used() {
        assert_eq!(chain_of("vacancies/01"), chain_of("vacancies/01"));
        let chains: std::collections::BTreeSet<i64> = (0..400).map(|n| chain_of(&format!("things/{n}"))).collect();
        assert_eq!(chains.len(), usize::try_from(CHAINS).unwrap_or(0));
        assert!(chains.iter().all(|c| (1..=CHAINS).contains(c)));
    }
}
