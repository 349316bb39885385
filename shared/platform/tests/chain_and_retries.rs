//! The audit chain and idempotency records on a real database, SQLite and PostgreSQL.

use std::sync::Arc;

use qiancheng_api::demand::{WithdrawVacancyRequest, WithdrawVacancyResponse};
use qiancheng_platform::audit::{self, AuditEntry};
use qiancheng_platform::auth::{Principal, Role};
use qiancheng_platform::db::Db;
use qiancheng_platform::{Call, Error, Shared, write};
use qiancheng_testkit::{Backend, Keys, TestDatabase, backend_tests};

struct App {
    db: Db,
    _database: TestDatabase,
}

async fn start(backend: Backend) -> Option<App> {
    let database = TestDatabase::create(backend).await?;
    let db = Db::connect(&database.url, None, &sqlx::migrate::Migrator::DEFAULT).await.expect("migrate");
    Some(App { db, _database: database })
}

/// The resource every tampering test writes to: its rows form one chain.
const THING: &str = "things/one";

async fn write_on(db: &Db, resource: &str, n: usize) {
    let (mut tx, _turn) = db.begin_write().await.expect("begin");
    let detail = serde_json::json!({ "n": n });
    let entry = AuditEntry {
        actor: "officer-1",
        action: "test.write",
        resource,
        detail: &detail,
        policy_version: "xianning-2025-5/v1",
    };
    audit::record_many(&mut tx, &[entry]).await.expect("record");
    tx.commit().await.expect("commit");
}

async fn write(db: &Db, n: usize) {
    write_on(db, THING, n).await;
}

fn broken_at(report: &audit::ChainReport) -> Option<(i64, i64)> {
    report.first_broken.as_ref().map(|(chain, seq, _)| (*chain, *seq))
}

async fn an_untouched_chain_verifies(app: &App) {
    let empty = audit::verify(app.db.pool()).await.expect("verify");
    assert_eq!((empty.rows_checked, empty.first_broken), (0, None));
    for n in 0..3 {
        write(&app.db, n).await;
    }
    let report = audit::verify(app.db.pool()).await.expect("verify");
    assert_eq!((report.rows_checked, report.first_broken), (3, None));
}

async fn a_changed_row_is_named(app: &App) {
    for n in 0..4 {
        write(&app.db, n).await;
    }
    sqlx::query("UPDATE audit_log SET detail = '{\"n\":99}' WHERE chain = $1 AND seq = 3")
        .bind(audit::chain_of(THING))
        .execute(app.db.pool())
        .await
        .expect("tamper");
    let report = audit::verify(app.db.pool()).await.expect("verify");
    assert_eq!(broken_at(&report), Some((audit::chain_of(THING), 3)));
}

async fn a_removed_row_is_named(app: &App) {
    for n in 0..4 {
        write(&app.db, n).await;
    }
    sqlx::query("DELETE FROM audit_log WHERE chain = $1 AND seq = 2")
        .bind(audit::chain_of(THING))
        .execute(app.db.pool())
        .await
        .expect("remove");
    let report = audit::verify(app.db.pool()).await.expect("verify");
    let (_, seq, why) = report.first_broken.expect("broken");
    assert_eq!(seq, 2);
    assert!(why.contains("missing"), "{why}");
}

async fn a_truncated_tail_is_named(app: &App) {
    for n in 0..3 {
        write(&app.db, n).await;
    }
    sqlx::query("DELETE FROM audit_log WHERE chain = $1 AND seq = 3")
        .bind(audit::chain_of(THING))
        .execute(app.db.pool())
        .await
        .expect("truncate");
    let report = audit::verify(app.db.pool()).await.expect("verify");
    assert_eq!(broken_at(&report), Some((audit::chain_of(THING), 3)));
}

async fn concurrent_writers_keep_every_chain_intact(app: &App) {
    // Half the writers share one resource (one chain), the others spread over every chain.
    let tasks: Vec<_> = (0..48)
        .map(|n| {
            let db = app.db.clone();
            let resource = if n % 2 == 0 { THING.to_owned() } else { format!("things/{n}") };
            tokio::spawn(async move { write_on(&db, &resource, n).await })
        })
        .collect();
    for task in tasks {
        task.await.expect("writer");
    }
    let report = audit::verify(app.db.pool()).await.expect("verify");
    assert_eq!((report.rows_checked, report.first_broken), (48, None));
}

fn call(caller: &str, reason: &str) -> Call<WithdrawVacancyRequest> {
    let principal = Principal { subject: caller.to_owned(), roles: vec![Role::CityAdmin], region: None, org: None };
    let message = WithdrawVacancyRequest {
        name: "vacancies/x".to_owned(),
        reason: reason.to_owned(),
        request_id: "req-1".to_owned(),
        ..Default::default()
    };
    Call::new(principal, message)
}

fn shared(db: &Db) -> Shared {
    let keys = Keys::new();
    Shared {
        db: db.clone(),
        pii: keys.pii,
        policy: Arc::new(keys.policy),
        peers: Default::default(),
        streams: qiancheng_platform::stream::StreamLimits::new(&keys.settings),
    }
}

async fn audit_rows(db: &Db) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_log").fetch_one(db.pool()).await.expect("count")
}

async fn a_retry_replays_and_a_reused_id_is_refused(app: &App) {
    let shared = shared(&app.db);
    let first = write::run(&shared, &call("officer-1", "a"), async |change| {
        change.audit("test.write", "vacancies/x", serde_json::json!({}));
        Ok(WithdrawVacancyResponse::default())
    })
    .await
    .expect("first call");
    let replayed = write::run(&shared, &call("officer-1", "a"), async |_| -> Result<WithdrawVacancyResponse, Error> {
        panic!("a retry must not run the change again")
    })
    .await
    .expect("the retry replays");
    assert_eq!(replayed, first);
    assert_eq!(audit_rows(&app.db).await, 1, "the retry wrote nothing");
    let reused = write::run(&shared, &call("officer-1", "b"), async |_| Ok(WithdrawVacancyResponse::default())).await;
    assert!(matches!(reused, Err(Error::RequestIdReused)));
    let elsewhere =
        write::run(&shared, &call("officer-2", "b"), async |_| Ok(WithdrawVacancyResponse::default())).await;
    assert!(elsewhere.is_ok(), "ids are scoped by caller");
}

async fn a_failed_change_leaves_nothing_behind(app: &App) {
    let shared = shared(&app.db);
    let failed =
        write::run(&shared, &call("officer-1", "a"), async |change| -> Result<WithdrawVacancyResponse, Error> {
            change.audit("test.write", "vacancies/x", serde_json::json!({}));
            Err(Error::precondition("TEST", "refused"))
        })
        .await;
    assert!(failed.is_err());
    assert_eq!(audit_rows(&app.db).await, 0, "no audit row for a change that did not happen");
    let retried = write::run(&shared, &call("officer-1", "a"), async |_| Ok(WithdrawVacancyResponse::default())).await;
    assert!(retried.is_ok(), "a refused request left no stored response behind");
}

backend_tests!(start =>
    an_untouched_chain_verifies,
    a_changed_row_is_named,
    a_removed_row_is_named,
    a_truncated_tail_is_named,
    concurrent_writers_keep_every_chain_intact,
    a_retry_replays_and_a_reused_id_is_refused,
    a_failed_change_leaves_nothing_behind,
);
