//! Safe retries (AIP-155): a mutating request may carry a `request_id`. The first response to it
//! is stored in the same transaction as the change; a retry with the same id and the same request
//! gets that response back and changes nothing; the same id with a different request is refused
//! with `REQUEST_ID_REUSED`. Ids are scoped by caller and method.
//!
//! Clients put what they like in a request id (a person's ID number has been seen): it is never
//! stored as given, only as a keyed hash (HMAC under the newest data key), like other personal
//! data. Since the id itself is not kept, re-encryption cannot re-hash it: a retry is looked up
//! under the hash of every configured key, so an id first used before a key was added is still
//! recognised while the older key stays configured (`docs/CRYPTOGRAPHY.md`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use qiancheng_api::Rpc;
use sha2::{Digest as _, Sha256};
use sqlx::Row as _;

use crate::db::Tx;
use crate::error::Error;
use crate::pii::PiiCipher;

/// Longest `request_id` taken.
pub const MAX_REQUEST_ID_CHARS: usize = 128;

/// The identity of one idempotent request.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    caller: String,
    method: &'static str,
    request_id: String,
    /// The id's hash under each older configured key, newest first.
    earlier_ids: Vec<String>,
    request_hash: String,
}

impl IdempotencyKey {
    /// The key of a call of `M` by `caller`, or `None` when the request carries no id.
    pub fn of<M: Rpc>(pii: &PiiCipher, caller: &str, request: &M) -> Result<Option<Self>, Error> {
        Self::new(pii, caller, M::METHOD, request.request_id(), request)
    }

    /// The key of one item of a stream of `method` (each item with its own id), or `None` when
    /// the item carries no id.
    pub fn new<T: prost::Message>(
        pii: &PiiCipher,
        caller: &str,
        method: &'static str,
        request_id: &str,
        request: &T,
    ) -> Result<Option<Self>, Error> {
        if request_id.is_empty() {
            return Ok(None);
        }
        if request_id.chars().count() > MAX_REQUEST_ID_CHARS {
            return Err(Error::invalid(
                "request_id",
                "REQUEST_ID",
                format!("request_id must be at most {MAX_REQUEST_ID_CHARS} characters"),
            ));
        }
        let mut ids = pii.every_hash(&format!("request_id\u{0}{request_id}"));
        let request_id = ids.remove(0);
        Ok(Some(Self {
            caller: caller.to_owned(),
            method,
            request_id,
            earlier_ids: ids,
            request_hash: hex::encode(Sha256::digest(request.encode_to_vec())),
        }))
    }
}

impl IdempotencyKey {
    /// The id as stored (its keyed hash).
    pub fn stored_id(&self) -> &str {
        &self.request_id
    }

    /// The id as stored under the newest key, then under each older key.
    fn ids(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.request_id.as_str()).chain(self.earlier_ids.iter().map(String::as_str))
    }

    /// Whether `other` is the same request under the same id.
    pub fn same_request(&self, other: &IdempotencyKey) -> bool {
        self.request_hash == other.request_hash
    }
}

/// The stored responses of `keys` (all of one caller and method) that were served before, by
/// stored id ([`IdempotencyKey::stored_id`], whichever key's hash it was found under); an id used
/// before for another request maps to `REQUEST_ID_REUSED`. One query for a whole chunk of a bulk
/// intake.
pub async fn replay_many<R: prost::Message + Default>(
    tx: &mut Tx,
    keys: &[&IdempotencyKey],
) -> Result<std::collections::HashMap<String, Result<R, Error>>, Error> {
    let mut found = std::collections::HashMap::new();
    let Some(first) = keys.first() else { return Ok(found) };
    let per_key = 1 + first.earlier_ids.len();
    for batch in keys.chunks((500 / per_key).max(1)) {
        let asked: std::collections::HashMap<&str, &IdempotencyKey> =
            batch.iter().flat_map(|k| k.ids().map(move |id| (id, *k))).collect();
        let sql = format!(
            "SELECT request_id, request_hash, response FROM idempotency WHERE caller = $1 AND method = $2 \
             AND request_id IN ({})",
            crate::db::placeholders(3, asked.len())
        );
        let query = asked
            .keys()
            .fold(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&first.caller).bind(first.method), |q, id| q.bind(*id));
        for row in query.fetch_all(&mut **tx).await? {
            let id: String = row.try_get("request_id")?;
            let Some(key) = asked.get(id.as_str()) else { continue };
            let answer = stored_answer(&row, key);
            found.insert(key.request_id.clone(), answer);
        }
    }
    Ok(found)
}

/// Stores the responses to `served` (key and response) in multi-row inserts.
pub async fn remember_many<R: prost::Message>(tx: &mut Tx, served: &[(&IdempotencyKey, &R)]) -> Result<(), Error> {
    let now = crate::time::now_micros();
    let rows: Vec<(&IdempotencyKey, String)> =
        served.iter().map(|(key, response)| (*key, STANDARD.encode(response.encode_to_vec()))).collect();
    crate::db::insert_many(
        tx,
        "idempotency",
        "caller, method, request_id, request_hash, response, created_micros",
        6,
        &rows,
        |query, (key, response)| {
            query
                .bind(key.caller.as_str())
                .bind(key.method)
                .bind(key.request_id.as_str())
                .bind(key.request_hash.as_str())
                .bind(response.as_str())
                .bind(now)
        },
    )
    .await
}

/// The stored response to `key`, if the request was already served; an error if the id was
/// used for a different request.
pub async fn replay<'c, R: prost::Message + Default>(
    executor: impl crate::db::Reader<'c>,
    key: Option<&IdempotencyKey>,
) -> Result<Option<R>, Error> {
    let Some(key) = key else { return Ok(None) };
    let ids: Vec<&str> = key.ids().collect();
    let sql = format!(
        "SELECT request_hash, response FROM idempotency WHERE caller = $1 AND method = $2 AND request_id IN ({})",
        crate::db::placeholders(3, ids.len())
    );
    let query =
        ids.iter().fold(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&key.caller).bind(key.method), |q, id| q.bind(*id));
    let row = query.fetch_optional(executor).await?;
    row.map(|row| stored_answer(&row, key)).transpose()
}

/// The response stored in `row` for `key`: `REQUEST_ID_REUSED` when the id was used for
/// another request.
fn stored_answer<R: prost::Message + Default>(row: &sqlx::any::AnyRow, key: &IdempotencyKey) -> Result<R, Error> {
    let hash: String = row.try_get("request_hash")?;
    if hash != key.request_hash {
        return Err(Error::RequestIdReused);
    }
    let response: String = row.try_get("response")?;
    STANDARD
        .decode(response)
        .ok()
        .and_then(|bytes| R::decode(bytes.as_slice()).ok())
        .ok_or_else(|| Error::corrupt("idempotency response"))
}

/// Stores `response` as the answer to `key`, inside the transaction of the change.
pub async fn remember<R: prost::Message>(tx: &mut Tx, key: Option<&IdempotencyKey>, response: &R) -> Result<(), Error> {
    let Some(key) = key else { return Ok(()) };
    remember_many(tx, &[(key, response)]).await
}
