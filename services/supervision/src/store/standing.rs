//! What the provider-standing gate and sweep read: the classes of a provider that may still
//! run, and the providers that have one.

use qiancheng_platform::Error;
use qiancheng_platform::db::{Reader, Tx};

/// The ids of a provider's classes that have neither stopped nor completed.
pub async fn open_classes_of(tx: &mut Tx, provider: &str) -> Result<Vec<String>, Error> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM training_class WHERE provider_credit_code = $1 AND state NOT IN ('STOPPED', 'COMPLETED') \
         ORDER BY id",
    )
    .bind(provider)
    .fetch_all(&mut **tx)
    .await?)
}

/// Every provider with a class that has neither stopped nor completed.
pub async fn providers_with_open_classes<'c>(executor: impl Reader<'c>) -> Result<Vec<String>, Error> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT provider_credit_code FROM training_class WHERE state NOT IN ('STOPPED', 'COMPLETED') \
         ORDER BY provider_credit_code",
    )
    .fetch_all(executor)
    .await?)
}
