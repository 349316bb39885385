//! Safe retries (AIP-155): a mutating request may carry a `request_id`. The first response to it
//! is stored in the same transaction as the change; a retry with the same id and the same request
//! gets that response back and changes nothing; the same id with a different request is refused
//! with `REQUEST_ID_REUSED`. Ids are scoped by caller and method.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest as _, Sha256};
use sqlx::Row as _;

use crate::db::Tx;
use crate::error::{FieldViolation, PlatformError};

/// The identity of one idempotent request.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    caller: String,
    method: &'static str,
    request_id: String,
    request_hash: String,
}

impl IdempotencyKey {
    /// The key of `request` under `request_id`, or `None` when the caller gave no id.
    pub fn new<M: prost::Message>(
        caller: &str,
        method: &'static str,
        request_id: &str,
        request: &M,
    ) -> Result<Option<Self>, PlatformError> {
        if request_id.is_empty() {
            return Ok(None);
        }
        if request_id.len() > 128 {
            return Err(PlatformError::invalid(FieldViolation::new(
                "request_id",
                "REQUEST_ID",
                "request_id must be at most 128 characters",
            )));
        }
        Ok(Some(Self {
            caller: caller.to_owned(),
            method,
            request_id: request_id.to_owned(),
            request_hash: hex::encode(Sha256::digest(request.encode_to_vec())),
        }))
    }
}

/// The stored response to `key`, if the request was already served; an error if the id was
/// used for a different request.
pub async fn replay<R: prost::Message + Default>(
    tx: &mut Tx,
    key: Option<&IdempotencyKey>,
) -> Result<Option<R>, PlatformError> {
    let Some(key) = key else { return Ok(None) };
    let row = sqlx::query(
        "SELECT request_hash, response FROM idempotency WHERE caller = $1 AND method = $2 AND request_id = $3",
    )
    .bind(&key.caller)
    .bind(key.method)
    .bind(&key.request_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let hash: String = row.try_get("request_hash")?;
    if hash != key.request_hash {
        return Err(PlatformError::RequestIdReused);
    }
    let response: String = row.try_get("response")?;
    let bytes = STANDARD.decode(response).map_err(|_| PlatformError::Corrupt("idempotency response".to_owned()))?;
    R::decode(bytes.as_slice()).map(Some).map_err(|_| PlatformError::Corrupt("idempotency response".to_owned()))
}

/// Stores `response` as the answer to `key`, inside the transaction of the change.
pub async fn remember<R: prost::Message>(
    tx: &mut Tx,
    key: Option<&IdempotencyKey>,
    response: &R,
) -> Result<(), PlatformError> {
    let Some(key) = key else { return Ok(()) };
    sqlx::query(
        "INSERT INTO idempotency (caller, method, request_id, request_hash, response, created_micros) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&key.caller)
    .bind(key.method)
    .bind(&key.request_id)
    .bind(&key.request_hash)
    .bind(STANDARD.encode(response.encode_to_vec()))
    .bind(crate::time::now_micros())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A write transaction that will remember its response under the request's idempotency key.
#[derive(Debug)]
pub struct IdempotentTx {
    /// The transaction of the change.
    pub tx: Tx,
    key: Option<IdempotencyKey>,
}

/// How an idempotent write starts: either the request was served before, or a fresh
/// transaction is open for it.
#[derive(Debug)]
pub enum Started<R> {
    /// The stored first response; nothing is to be changed.
    Replayed(R),
    /// A fresh write.
    Fresh(IdempotentTx),
}

/// Opens a write transaction for a request with an optional idempotency `key`.
pub async fn start<R: prost::Message + Default>(
    db: &crate::db::Db,
    key: Option<IdempotencyKey>,
) -> Result<Started<R>, PlatformError> {
    let mut tx = db.begin_write().await?;
    if let Some(response) = replay::<R>(&mut tx, key.as_ref()).await? {
        tx.rollback().await?;
        return Ok(Started::Replayed(response));
    }
    Ok(Started::Fresh(IdempotentTx { tx, key }))
}

impl IdempotentTx {
    /// Remembers `response` for the key and commits the change with it.
    pub async fn commit<R: prost::Message>(mut self, response: R) -> Result<R, PlatformError> {
        remember(&mut self.tx, self.key.as_ref(), &response).await?;
        self.tx.commit().await?;
        Ok(response)
    }
}
