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

async fn write(db: &Db, n: usize) {
    let mut tx = db.begin_write().await.expect("begin");
    audit::record(
        &mut tx,
        AuditEntry {
            actor: "officer-1",
            action: "test.write",
            resource: &format!("things/{n}"),
            detail: serde_json::json!({ "n": n }),
            policy_version: "xianning-2025-5/v1",
        },
    )
    .await
    .expect("record");
    tx.commit().await.expect("commit");
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
    sqlx::query("UPDATE audit_log SET detail = '{\"n\":99}' WHERE seq = 3")
        .execute(app.db.pool())
        .await
        .expect("tamper");
    let report = audit::verify(app.db.pool()).await.expect("verify");
    assert_eq!(report.first_broken.map(|(seq, _)| seq), Some(3));
}

async fn a_removed_row_is_named(app: &App) {
    for n in 0..4 {
        write(&app.db, n).await;
    }
    sqlx::query("DELETE FROM audit_log WHERE seq = 2").execute(app.db.pool()).await.expect("remove");
    let report = audit::verify(app.db.pool()).await.expect("verify");
    let (seq, why) = report.first_broken.expect("broken");
    assert_eq!(seq, 2);
    assert!(why.contains("missing"), "{why}");
}

async fn a_truncated_tail_is_named(app: &App) {
    for n in 0..3 {
        write(&app.db, n).await;
    }
    sqlx::query("DELETE FROM audit_log WHERE seq = 3").execute(app.db.pool()).await.expect("truncate");
    let report = audit::verify(app.db.pool()).await.expect("verify");
    assert_eq!(report.first_broken.map(|(seq, _)| seq), Some(3));
}

async fn concurrent_writers_keep_one_chain(app: &App) {
    let tasks: Vec<_> = (0..24)
        .map(|n| {
            let db = app.db.clone();
            tokio::spawn(async move { write(&db, n).await })
        })
        .collect();
    for task in tasks {
        task.await.expect("writer");
    }
    let report = audit::verify(app.db.pool()).await.expect("verify");
    assert_eq!((report.rows_checked, report.first_broken), (24, None));
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
    Shared { db: db.clone(), pii: keys.pii, policy: Arc::new(keys.policy), peers: Default::default() }
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
    let failed = write::run(&shared, &call("officer-1", "a"), async |change| -> Result<WithdrawVacancyResponse, Error> {
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
    concurrent_writers_keep_one_chain,
    a_retry_replays_and_a_reused_id_is_refused,
    a_failed_change_leaves_nothing_behind,
);
