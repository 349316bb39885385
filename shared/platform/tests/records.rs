//! Declared records on a real database, SQLite and PostgreSQL: a record written, read back
//! whole, updated optimistically and listed a page at a time decodes to what was written, on
//! both backends, through both read paths (sqlx's rows, and the connections kept for reads,
//! which on SQLite read the file directly).

use chrono::NaiveDate;
use qiancheng_domain::RegionCode;
use qiancheng_domain::lifecycle::VacancyState;
use qiancheng_platform::auth::Scope;
use qiancheng_platform::db::Db;
use qiancheng_platform::page::PageRequest;
use qiancheng_platform::record::{self, Columns, Filter, Record};
use qiancheng_platform::{Error, Stamp};
use qiancheng_testkit::{Backend, TestDatabase, backend_tests};
use serde::{Deserialize, Serialize};

/// A document kept as JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Teacher {
    name: String,
}

/// A group of columns flattened into the record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Columns)]
struct Declared {
    in_service: bool,
    #[column(name = "held_level")]
    level: Option<qiancheng_domain::SkillLevel>,
}

/// Ciphertext: written once, never read back.
#[derive(Debug, Clone, Default, PartialEq, Eq, Columns)]
struct Sealed {
    secret_cipher: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Record)]
#[record(table = "thing", alias = "t", key = "id", what = "the thing")]
struct Thing {
    id: String,
    #[column(name = "region_code")]
    region: RegionCode,
    title: String,
    hours: u32,
    first_day: NaiveDate,
    stopped_on: Option<NaiveDate>,
    state: VacancyState,
    #[column(json)]
    teachers: Vec<Teacher>,
    #[column(flatten)]
    declared: Declared,
    #[column(fixed)]
    filed_by: String,
    #[column(computed = "(SELECT COUNT(*) FROM thing_part p WHERE p.thing_id = t.id)")]
    parts: i64,
    #[column(flatten, sealed)]
    sealed: Sealed,
    #[column(skip)]
    note: String,
    #[column(stamp)]
    stamp: Stamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Record)]
#[record(table = "thing_event", key = "seq")]
struct Event {
    seq: i64,
    thing_id: String,
}

struct App {
    db: Db,
    _database: TestDatabase,
}

async fn start(backend: Backend) -> Option<App> {
    let database = TestDatabase::create(backend).await?;
    let db = Db::connect(&database.url, None, &sqlx::migrate::Migrator::DEFAULT).await.expect("connect");
    for sql in [
        "CREATE TABLE thing (id TEXT PRIMARY KEY, region_code TEXT NOT NULL, title TEXT NOT NULL, hours BIGINT NOT NULL, \
         first_day TEXT NOT NULL, stopped_on TEXT NOT NULL, state TEXT NOT NULL, teachers TEXT NOT NULL, \
         in_service BIGINT NOT NULL, held_level TEXT NOT NULL, filed_by TEXT NOT NULL, secret_cipher TEXT NOT NULL, \
         revision BIGINT NOT NULL, create_time_micros BIGINT NOT NULL, update_time_micros BIGINT NOT NULL)",
        "CREATE TABLE thing_part (thing_id TEXT NOT NULL)",
        "CREATE TABLE thing_event (seq BIGINT PRIMARY KEY, thing_id TEXT NOT NULL)",
    ] {
        sqlx::query(sql).execute(db.pool()).await.expect("table");
    }
    Some(App { db, _database: database })
}

fn thing(n: usize) -> Thing {
    Thing {
        id: format!("t{n:03}"),
        region: if n.is_multiple_of(2) { RegionCode::Jiayu } else { RegionCode::Chibi },
        title: format!("焊工班 \"{n}\" 'quoted' \\ {{json}}"),
        hours: 100 + u32::try_from(n).expect("small"),
        first_day: NaiveDate::from_ymd_opt(2026, 3, 2).expect("date"),
        stopped_on: None,
        state: VacancyState::Draft,
        teachers: vec![Teacher { name: format!("师{n}") }],
        declared: Declared {
            in_service: n.is_multiple_of(3),
            level: (n.is_multiple_of(2)).then_some(qiancheng_domain::SkillLevel::Level4),
        },
        filed_by: "provider-1".into(),
        parts: 0,
        sealed: Sealed { secret_cipher: "cipher".into() },
        note: String::new(),
        stamp: Stamp::new(),
    }
}

async fn store(app: &App, things: &[Thing]) {
    let (mut tx, _turn) = app.db.begin_write().await.expect("begin");
    record::insert_many(&mut tx, things).await.expect("insert");
    tx.commit().await.expect("commit");
}

async fn a_record_reads_back_as_it_was_written(app: &App) {
    let written = thing(1);
    {
        let (mut tx, _turn) = app.db.begin_write().await.expect("begin");
        record::insert(&mut tx, &written).await.expect("insert");
        sqlx::query("INSERT INTO thing_part (thing_id) VALUES ('t001'), ('t001')")
            .execute(&mut *tx)
            .await
            .expect("parts");
        tx.commit().await.expect("commit");
    }
    let read = record::find::<Thing>(app.db.pool(), "t001").await.expect("read").expect("found");
    assert_eq!(read, Thing { parts: 2, sealed: Sealed::default(), ..written.clone() }, "sealed columns are not read");
    let cipher: String =
        sqlx::query_scalar("SELECT secret_cipher FROM thing").fetch_one(app.db.pool()).await.expect("raw");
    assert_eq!(cipher, "cipher", "but they are written");
    assert!(record::find::<Thing>(app.db.pool(), "nothing").await.expect("read").is_none());
}

async fn an_update_is_optimistic_and_leaves_fixed_columns_alone(app: &App) {
    store(app, &[thing(2)]).await;
    let mut first = record::find::<Thing>(app.db.pool(), "t002").await.expect("read").expect("found");
    let mut second = first.clone();
    first.state = VacancyState::Published;
    first.stopped_on = NaiveDate::from_ymd_opt(2026, 4, 1);
    first.filed_by = "someone else".into();
    first.stamp.touch();
    {
        let (mut tx, _turn) = app.db.begin_write().await.expect("begin");
        record::update(&mut tx, &first).await.expect("update");
        tx.commit().await.expect("commit");
    }
    second.title = "a concurrent change".into();
    second.stamp.touch();
    {
        let (mut tx, _turn) = app.db.begin_write().await.expect("begin");
        assert!(matches!(record::update(&mut tx, &second).await, Err(Error::Conflict(_))), "stale revision");
    }
    let read = record::find::<Thing>(app.db.pool(), "t002").await.expect("read").expect("found");
    assert_eq!((read.state, read.stopped_on, read.stamp.revision), (VacancyState::Published, first.stopped_on, 2));
    assert_eq!(read.filed_by, "provider-1", "a fixed column is written once");
}

async fn a_delete_is_optimistic_too(app: &App) {
    store(app, &[thing(4), thing(5)]).await;
    let mut stale = record::find::<Thing>(app.db.pool(), "t004").await.expect("read").expect("found");
    let mut changed = stale.clone();
    changed.title = "changed meanwhile".into();
    changed.stamp.touch();
    {
        let (mut tx, _turn) = app.db.begin_write().await.expect("begin");
        record::update(&mut tx, &changed).await.expect("update");
        tx.commit().await.expect("commit");
    }
    {
        let (mut tx, _turn) = app.db.begin_write().await.expect("begin");
        assert!(matches!(record::delete(&mut tx, &stale).await, Err(Error::Conflict(_))), "changed since it was read");
    }
    stale = record::find::<Thing>(app.db.pool(), "t004").await.expect("read").expect("still there");
    {
        let (mut tx, _turn) = app.db.begin_write().await.expect("begin");
        record::delete(&mut tx, &stale).await.expect("delete");
        tx.commit().await.expect("commit");
    }
    assert!(record::find::<Thing>(app.db.pool(), "t004").await.expect("read").is_none());
    assert!(record::find::<Thing>(app.db.pool(), "t005").await.expect("read").is_some(), "only the one");
}

async fn pages_come_whole_in_key_order_on_both_read_paths(app: &App) {
    let things: Vec<Thing> = (10..133).map(thing).collect();
    store(app, &things).await;
    // Sealed columns are written, never read back.
    let things: Vec<Thing> = things.into_iter().map(|t| Thing { sealed: Sealed::default(), ..t }).collect();
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let request = PageRequest::parse(50, &token, "things").expect("page");
        let (page, next) = record::page::<Thing>(&app.db, Filter::new(), &request).await.expect("page");
        assert!(page.len() <= 50);
        seen.extend(page);
        if next.is_empty() {
            break;
        }
        token = next;
    }
    assert!(seen == things, "every record, whole, in key order, nothing twice");
    let whole = record::all::<Thing>(app.db.pool(), Filter::new(), "").await.expect("all");
    assert!(whole == things, "rows and pages decode alike");
    let request = PageRequest::parse(500, "", "things|421221").expect("page");
    let jiayu = Filter::new().within(&Scope::Region(RegionCode::Jiayu), "t.region_code", None);
    let (page, next) = record::page::<Thing>(&app.db, jiayu.clone(), &request).await.expect("page");
    assert!(next.is_empty());
    assert_eq!(page.len(), things.iter().filter(|t| t.region == RegionCode::Jiayu).count());
    assert_eq!(
        record::count::<Thing>(app.db.pool(), jiayu).await.expect("count"),
        i64::try_from(page.len()).expect("fits")
    );
    let empty = Filter::new().eq("t.title", "nothing");
    let (page, next) = record::page::<Thing>(&app.db, empty, &request).await.expect("empty page");
    assert!(page.is_empty() && next.is_empty());
}

async fn a_corrupt_row_is_left_out_of_its_page_and_the_token_moves_past_it(app: &App) {
    store(app, &[thing(1), thing(2), thing(3)]).await;
    sqlx::query("UPDATE thing SET state = 'NOT_A_STATE' WHERE id = 't002'")
        .execute(app.db.pool())
        .await
        .expect("corrupt");
    let request = PageRequest::parse(2, "", "things").expect("page");
    let (page, next) = record::page::<Thing>(&app.db, Filter::new(), &request).await.expect("page");
    assert_eq!(page.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(), ["t001"]);
    let request = PageRequest::parse(2, &next, "things").expect("next");
    let (page, _) = record::page::<Thing>(&app.db, Filter::new(), &request).await.expect("page");
    assert_eq!(page.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(), ["t003"]);
    assert!(matches!(record::find::<Thing>(app.db.pool(), "t002").await, Err(Error::Corrupt(_))));
}

async fn integer_keys_page_as_numbers(app: &App) {
    let events: Vec<Event> = (1..=12).map(|n| Event { seq: n * 10, thing_id: format!("t{n}") }).collect();
    let (mut tx, _turn) = app.db.begin_write().await.expect("begin");
    record::insert_many(&mut tx, &events).await.expect("insert");
    tx.commit().await.expect("commit");
    let first = PageRequest::parse(5, "", "events").expect("page");
    let (page, next) = record::page::<Event>(&app.db, Filter::new(), &first).await.expect("page");
    assert_eq!(page.last().map(|e| e.seq), Some(50));
    let second = PageRequest::parse(5, &next, "events").expect("page");
    let (page, _) = record::page::<Event>(&app.db, Filter::new(), &second).await.expect("page");
    assert_eq!(page.first().map(|e| e.seq), Some(60), "100 sorts after 90 as a number, not as text");
    assert_eq!(Event::KEY, "seq");
}

async fn reads_on_kept_connections_see_each_commit_and_survive_an_abandoned_read(app: &App) {
    assert!(record::get::<Thing>(&app.db, "t007").await.expect("read").is_none());
    store(app, &[thing(7)]).await;
    let kept = record::get::<Thing>(&app.db, "t007").await.expect("read").expect("committed, so seen");
    let found = record::find::<Thing>(app.db.pool(), "t007").await.expect("read").expect("found");
    assert_eq!(kept, found, "both reads decode alike");
    let mut changed = kept.clone();
    changed.title = "改过".into();
    changed.stamp.touch();
    let (mut tx, _turn) = app.db.begin_write().await.expect("begin");
    record::update(&mut tx, &changed).await.expect("update");
    tx.commit().await.expect("commit");
    let read = record::get::<Thing>(&app.db, "t007").await.expect("read").expect("found");
    assert_eq!(read.title, "改过", "a kept connection sees the latest commit");
    // Reads abandoned half-way (a call cancelled or timed out) leave no connection behind in a
    // half-read state: the next reads are whole.
    for _ in 0..20 {
        let _ = tokio::time::timeout(std::time::Duration::ZERO, record::get::<Thing>(&app.db, "t007")).await;
        let request = PageRequest::parse(50, "", "things").expect("page");
        let _ = tokio::time::timeout(
            std::time::Duration::from_micros(50),
            record::page::<Thing>(&app.db, Filter::new(), &request),
        )
        .await;
    }
    let reads: Vec<_> = (0..40)
        .map(|_| {
            let db = app.db.clone();
            tokio::spawn(async move { record::get::<Thing>(&db, "t007").await })
        })
        .collect();
    for read in reads {
        assert_eq!(read.await.expect("task").expect("read").expect("found").title, "改过", "many reads at once");
    }
    app.db.close().await;
    assert!(record::get::<Thing>(&app.db, "t007").await.is_err(), "a closed database reads nothing");
}

async fn reads_on_kept_connections_take_each_stored_type_and_bind_parameters_by_number(app: &App) {
    use qiancheng_platform::record::{Bind, Cells};
    for sql in [
        "CREATE TABLE mixed (k TEXT PRIMARY KEY, small INTEGER, big BIGINT, note TEXT)",
        "INSERT INTO mixed (k, small, big, note) VALUES ('a', 7, 9000000000, '12'), ('b', NULL, -1, 'x'), ('c', 1, 0, '')",
    ] {
        sqlx::query(sql).execute(app.db.pool()).await.expect("table");
    }
    // `$2` comes before `$1` in the text: each takes the value of its number.
    let sql = "SELECT k, small, big, note FROM mixed WHERE big <> $2 AND k >= $1 ORDER BY k";
    let read = |row: &dyn Cells| {
        let text = |at| row.text(at).expect("text").map(|t| t.into_owned());
        (text(0), row.int(1).expect("int"), row.int(2).expect("int"), text(3))
    };
    let rows = app.db.rows(sql, &[Bind::from("a"), Bind::from(0)], read).await.expect("read");
    assert_eq!(
        rows,
        [
            (Some("a".into()), Some(7), Some(9_000_000_000), Some("12".into())),
            (Some("b".into()), None, Some(-1), Some("x".into())),
        ]
    );
    let broken = app.db.rows("SELECT nothing FROM nowhere", &[], |row| row.int(0)).await;
    assert!(broken.is_err(), "a query that fails is an error");
    assert!(record::get::<Thing>(&app.db, "t404").await.expect("the next read is whole").is_none());
}

backend_tests!(
    start =>
    reads_on_kept_connections_take_each_stored_type_and_bind_parameters_by_number,
    a_record_reads_back_as_it_was_written,
    an_update_is_optimistic_and_leaves_fixed_columns_alone,
    a_delete_is_optimistic_too,
    pages_come_whole_in_key_order_on_both_read_paths,
    a_corrupt_row_is_left_out_of_its_page_and_the_token_moves_past_it,
    integer_keys_page_as_numbers,
    reads_on_kept_connections_see_each_commit_and_survive_an_abandoned_read,
);
