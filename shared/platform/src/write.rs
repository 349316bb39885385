//! The one idempotent write every mutating RPC goes through (AIP-155 retries, 八(三) 全程留痕):
//!
//! 1. the request's idempotency key is made from the caller, the generated method name and its
//!    `request_id`;
//! 2. a write transaction opens; if the request was served before, its stored response is
//!    returned and nothing changes (the same id with another request is `REQUEST_ID_REUSED`);
//! 3. the handler's change runs inside the transaction and notes its audit entries;
//! 4. the audit entries, then the response under the key, are written in the same transaction,
//!    and it commits. Any error before the commit rolls everything back.
//!
//! ```text
//! write::run(shared, &call, async |change| {
//!     let mut vacancy = store::vacancy::load(&mut change.tx, &id).await?;
//!     vacancy.stamp.check(&call.message.etag)?;
//!     vacancy.state = vacancy.state.to(VacancyState::Published)?;
//!     vacancy.stamp.touch();
//!     store::vacancy::update(&mut change.tx, &vacancy).await?;
//!     change.audit("vacancy.publish", vacancy.name(), json!({ "revision": vacancy.stamp.revision }));
//!     Ok(PublishVacancyResponse { vacancy: Some(vacancy.to_proto()) })
//! })
//! .await
//! ```

use qiancheng_api::Rpc;
use tracing::Instrument as _;

use crate::audit::{self, AuditEntry};
use crate::call::Call;
use crate::db::{Backend, Tx, WriteTurn};
use crate::error::Error;
use crate::idempotency::{self, IdempotencyKey};
use crate::service::Shared;

/// An audit entry noted by a change, written when the change commits.
#[derive(Debug, Clone)]
struct Noted {
    action: String,
    resource: String,
    detail: serde_json::Value,
    policy_version: Option<String>,
}

/// A change in progress: its transaction and the audit entries it has noted.
#[derive(Debug)]
pub struct Change {
    /// The transaction the change runs in; store functions take it.
    pub tx: Tx,
    backend: Backend,
    _turn: WriteTurn,
    actor: String,
    policy_version: String,
    noted: Vec<Noted>,
}

impl Change {
    /// Notes an audit entry for this change, under the policy set in force.
    pub fn audit(&mut self, action: &str, resource: impl Into<String>, detail: serde_json::Value) {
        self.noted.push(Noted { action: action.to_owned(), resource: resource.into(), detail, policy_version: None });
    }

    /// Notes an audit entry decided under another policy-set version than the one in force (a
    /// decision about a class filed under an earlier version).
    pub fn audit_under(&mut self, version: &str, action: &str, resource: impl Into<String>, detail: serde_json::Value) {
        self.noted.push(Noted {
            action: action.to_owned(),
            resource: resource.into(),
            detail,
            policy_version: Some(version.to_owned()),
        });
    }

    /// Who makes the change.
    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// Opens a change outside [`run`], for bulk intake where each item carries its own
    /// idempotency key and a chunk of items commits together.
    pub async fn open(shared: &Shared, actor: &str) -> Result<Self, Error> {
        let (tx, turn) = shared.db.begin_write().await?;
        Ok(Self {
            tx,
            backend: shared.db.backend(),
            _turn: turn,
            actor: actor.to_owned(),
            policy_version: shared.policy.version.clone(),
            noted: Vec::new(),
        })
    }

    /// Makes concurrent changes that name the same `key` (`quota/421221/2026`) take turns for
    /// the rest of this transaction: the guard of an invariant that spans rows, such as a quota
    /// several decisions draw on. (On SQLite writers take turns already.)
    pub async fn serialize_on(&mut self, key: &str) -> Result<(), Error> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(lock_id(key)).execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    /// Writes the noted audit entries and commits.
    pub async fn commit(mut self) -> Result<(), Error> {
        self.record_audit().await?;
        self.tx.commit().await?;
        Ok(())
    }

    /// Runs `step` inside a savepoint: when it fails, what it wrote and the audit entries it
    /// noted are undone, and the change goes on.
    pub async fn savepoint<T>(&mut self, step: impl AsyncFnOnce(&mut Change) -> Result<T, Error>) -> Result<T, Error> {
        let noted = self.noted.len();
        sqlx::query("SAVEPOINT item").execute(&mut *self.tx).await?;
        match step(self).await {
            Ok(value) => {
                sqlx::query("RELEASE SAVEPOINT item").execute(&mut *self.tx).await?;
                Ok(value)
            }
            Err(error) => {
                sqlx::query("ROLLBACK TO SAVEPOINT item").execute(&mut *self.tx).await?;
                sqlx::query("RELEASE SAVEPOINT item").execute(&mut *self.tx).await?;
                self.noted.truncate(noted);
                Err(error)
            }
        }
    }

    /// Writes the noted audit entries into the transaction ([`audit::record_many`]: each chain
    /// advanced once, in ascending chain order, so that writers never wait for each other's
    /// chains in a cycle).
    async fn record_audit(&mut self) -> Result<(), Error> {
        let noted = std::mem::take(&mut self.noted);
        if noted.is_empty() {
            return Ok(());
        }
        let entries: Vec<AuditEntry<'_>> = noted
            .iter()
            .map(|n| AuditEntry {
                actor: &self.actor,
                action: &n.action,
                resource: &n.resource,
                detail: &n.detail,
                policy_version: n.policy_version.as_deref().unwrap_or(&self.policy_version),
            })
            .collect();
        audit::record_many(&mut self.tx, &entries).await?;
        for n in &noted {
            crate::telemetry::metrics::count_change(&n.action);
        }
        Ok(())
    }
}

/// A 64-bit lock id for `key`.
fn lock_id(key: &str) -> i64 {
    i64::from_ne_bytes(audit::fnv1a(key).to_ne_bytes())
}

/// Records one audit entry in a transaction of its own: for a lookup that must leave a trace
/// even though the call it served was refused (and so rolled back).
pub async fn audit_alone(
    shared: &Shared,
    actor: &str,
    action: &str,
    resource: &str,
    detail: serde_json::Value,
) -> Result<(), Error> {
    let mut change = Change::open(shared, actor).await?;
    change.audit(action, resource, detail);
    change.commit().await
}

/// The stored response of the first call with `call`'s `request_id`, if it was served before
/// (read from the pool, no transaction): for a handler that would otherwise do slow work, such
/// as asking a peer, before [`run`] replays it anyway.
pub async fn served<M: Rpc>(shared: &Shared, call: &Call<M>) -> Result<Option<M::Response>, Error> {
    let key = IdempotencyKey::of(&shared.pii, &call.principal.subject, &call.message)?;
    idempotency::replay(shared.db.pool(), key.as_ref()).await
}

/// Runs `change` for `call` as one idempotent, audited transaction (see the module docs) and
/// returns its response, or the stored response of the first call with the same `request_id`.
pub async fn run<M, F>(shared: &Shared, call: &Call<M>, change: F) -> Result<M::Response, Error>
where
    M: Rpc,
    F: AsyncFnOnce(&mut Change) -> Result<M::Response, Error>,
{
    let key = IdempotencyKey::of(&shared.pii, &call.principal.subject, &call.message)?;
    match attempt(shared, call, key.as_ref(), change).await {
        // The same request_id raced in twice: the first to commit stored its response, which the
        // second now answers with (or refuses, for another request under the same id).
        Err(error) if key.is_some() && crate::db::is_unique_violation(&error) => {
            let (mut tx, _turn) = shared.db.begin_write().await?;
            match idempotency::replay::<M::Response>(&mut *tx, key.as_ref()).await? {
                Some(response) => Ok(response),
                None => Err(Error::Conflict("a concurrent change came first; read again and retry".to_owned())),
            }
        }
        Err(error) if crate::db::is_unique_violation(&error) => {
            Err(Error::Conflict("a concurrent change created it first; read again and retry".to_owned()))
        }
        other => other,
    }
}

/// One attempt at [`run`].
async fn attempt<M, F>(
    shared: &Shared,
    call: &Call<M>,
    key: Option<&IdempotencyKey>,
    change: F,
) -> Result<M::Response, Error>
where
    M: Rpc,
    F: AsyncFnOnce(&mut Change) -> Result<M::Response, Error>,
{
    let span = tracing::info_span!(
        "db.transaction",
        otel.name = %format!("write {}", M::METHOD),
        otel.kind = "client",
        db.system = shared.db.backend().system_name(),
    );
    async move {
        let mut open = Change::open(shared, &call.principal.subject).await?;
        if let Some(response) = idempotency::replay::<M::Response>(&mut *open.tx, key).await? {
            open.tx.rollback().await?;
            crate::telemetry::metrics::count_replay(M::METHOD);
            return Ok(response);
        }
        let response = change(&mut open).await?;
        idempotency::remember(&mut open.tx, key, &response).await?;
        // The audit entries go last: they lock their chains' heads until the commit.
        open.commit().await?;
        Ok(response)
    }
    .instrument(span)
    .await
}
