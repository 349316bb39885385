//! The audit chain and idempotency records on a real database, SQLite and PostgreSQL.

use qiancheng_platform::PlatformError;
use qiancheng_platform::audit::{self, AuditEntry};
use qiancheng_platform::db::Db;
use qiancheng_platform::idempotency::{self, IdempotencyKey, Started};
use qiancheng_testkit::{Backend, TestDatabase, backend_tests};

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

async fn a_retry_replays_and_a_reused_id_is_refused(app: &App) {
    let request = prost_types::Duration { seconds: 1, nanos: 0 };
    let response = prost_types::Timestamp { seconds: 42, nanos: 7 };
    let key = || IdempotencyKey::new("officer-1", "Test", "req-1", &request).expect("key");
    match idempotency::start::<prost_types::Timestamp>(&app.db, key()).await.expect("start") {
        Started::Fresh(write) => {
            write.commit(response).await.expect("commit");
        }
        Started::Replayed(_) => panic!("nothing to replay yet"),
    }
    match idempotency::start::<prost_types::Timestamp>(&app.db, key()).await.expect("start") {
        Started::Replayed(first) => assert_eq!(first, response),
        Started::Fresh(_) => panic!("the retry must replay"),
    }
    let other = prost_types::Duration { seconds: 2, nanos: 0 };
    let reused = IdempotencyKey::new("officer-1", "Test", "req-1", &other).expect("key");
    let error = idempotency::start::<prost_types::Timestamp>(&app.db, reused).await.expect_err("reused");
    assert!(matches!(error, PlatformError::RequestIdReused));
    let elsewhere = IdempotencyKey::new("officer-2", "Test", "req-1", &other).expect("key");
    assert!(
        matches!(idempotency::start::<prost_types::Timestamp>(&app.db, elsewhere).await, Ok(Started::Fresh(_))),
        "ids are scoped by caller"
    );
}

backend_tests!(start =>
    an_untouched_chain_verifies,
    a_changed_row_is_named,
    a_removed_row_is_named,
    a_truncated_tail_is_named,
    concurrent_writers_keep_one_chain,
    a_retry_replays_and_a_reused_id_is_refused,
);
