//! `cargo bench -p qiancheng-supervision`: what a province's volume asks of supervision (about
//! 1 million trainees a year; a big class has 100 trainees and 60 sessions; sign-in devices
//! upload in bursts at session start), on SQLite and, when `QIANCHENG_TEST_DATABASE_URL` is set,
//! on PostgreSQL, printed side by side in one table:
//!
//! - check-in events per second through StreamAttendance (chunks of 1,000 events of 100-trainee,
//!   60-session classes, each chunk committed and acknowledged), against the same rows inserted
//!   by plain sqlx, 1,000 rows a transaction, in the multi-row INSERTs the service writes
//!   (`db::insert_many`, at most 1,000 parameters a statement), into the same kind of database
//!   (the ceiling; the target is 50% of it or better), the best of two passes of each;
//! - filing a class of 100 trainees (CreateClass with selection asked over gRPC and every entry
//!   judged): p50 and p99;
//! - exporting the ledger of a 100-trainee, 60-session class (GetLedger, the whole stream): p50
//!   and p99.
//!
//! Real servers on port 0 over fresh databases, as the tests run them. Nothing is asserted.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use chrono::Datelike as _;

use common::{App, at, class_of, person_born};
use qiancheng_api::supervision::*;
use qiancheng_platform::db::Db;
use qiancheng_testkit::bench::percentile;
use qiancheng_testkit::{Backend, TestDatabase, authed};

/// Classes whose attendance goes through the stream in one pass.
const INTAKE_CLASSES: usize = 5;
/// Passes of the attendance measure.
const PASSES: usize = 2;
/// Trainees of a big class.
const TRAINEES: u32 = 100;
/// Sessions of a big class.
const SESSIONS: u64 = 60;
/// Check-ins a chunk (one request message) carries.
const CHUNK: usize = 1_000;
/// Filings timed.
const FILINGS: usize = 60;
/// Ledger exports timed.
const EXPORTS: usize = 20;

/// What one backend measured.
#[derive(Debug, Default)]
struct Figures {
    stream_per_second: f64,
    ceiling_per_second: f64,
    filing: Vec<Duration>,
    export: Vec<Duration>,
}

/// A person of the benchmark: `k` from 0, each a different ID number.
fn person(k: u32) -> TraineeInput {
    let birth = common::day(1985, 1, 1) + chrono::Days::new(u64::from(k / 800));
    person_born(&birth.format("%Y%m%d").to_string(), k % 800)
}

/// A class of 100 trainees from person `from`, filed, with its trainees.
async fn big_class(app: &App, project: &str, token: &str, from: u32) -> (CreateClassResponse, Duration) {
    let roster = (from..from + TRAINEES).map(person).collect();
    let request = CreateClassRequest {
        class: Some(class_of(project, (2027, 3, 1), (2027, 4, 30))),
        roster,
        request_id: String::new(),
    };
    let started = Instant::now();
    let filed = app.client().await.create_class(authed(request, token)).await.expect("filed").into_inner();
    (filed, started.elapsed())
}

async fn measure(backend: Backend) -> Option<Figures> {
    let app = common::start(backend).await?;
    let (provider, project) = app.approved_project("0000B01", 100_000, 100).await;
    let token = app.provider_of(&provider);
    let mut figures = Figures::default();
    let mut next = 0;

    // Filing a 100-trainee class.
    for _ in 0..FILINGS {
        let (_, took) = big_class(&app, &project, &token, next).await;
        next += TRAINEES;
        figures.filing.push(took);
    }

    // Attendance, in two passes of fresh classes: 60 sessions of every intake class, each trainee
    // at each, in chunks of 1,000; then the very same rows by plain batched INSERTs. The best of
    // each is kept, so the machine's noise favours neither.
    let mut ledger_class = String::new();
    for pass in 0..PASSES {
        let mut chunks = Vec::new();
        for c in 0..INTAKE_CLASSES {
            let (filed, _) = big_class(&app, &project, &token, next).await;
            next += TRAINEES;
            let class = filed.class.expect("class").name;
            app.acknowledge(&class).await;
            let days: Vec<_> = (0..SESSIONS).map(|i| common::day(2027, 3, 1) + chrono::Days::new(i)).collect();
            let request = CreateSessionsRequest {
                class: class.clone(),
                sessions: days
                    .iter()
                    .map(|d| Session {
                        held_on: Some(qiancheng_api::convert::date_to_proto(*d)),
                        hours: 1,
                        kind: SessionKind::Practice as i32,
                        ..Default::default()
                    })
                    .collect(),
                request_id: String::new(),
            };
            let sessions = app
                .client()
                .await
                .create_sessions(authed(request, &token))
                .await
                .expect("sessions")
                .into_inner()
                .sessions;
            let mut events = Vec::new();
            for (session, d) in sessions.iter().zip(&days) {
                let when = at(d.year(), d.month(), d.day(), 8);
                for trainee in &filed.trainees {
                    let event = format!("{pass}/{c}/{}", events.len());
                    events.push(common::check_in(&event, &session.name, &trainee.name, when));
                }
            }
            for events in events.chunks(CHUNK) {
                chunks.push(StreamAttendanceRequest { class: class.clone(), events: events.to_vec() });
            }
            ledger_class = class;
        }
        let rows = same_rows(&chunks);
        // The devices upload after the sessions were held; the next pass files its classes
        // before their first day again.
        app.set_today(2027, 4, 30);
        let started = Instant::now();
        let acks = app.stream_as(&token, chunks).await.expect("the stream is answered");
        let took = started.elapsed();
        app.set_today(common::TODAY.0, common::TODAY.1, common::TODAY.2);
        let stored = acks.last().map_or(0, |a| a.stored);
        if usize::try_from(stored).unwrap_or(0) != rows.len() {
            println!("warning: {stored} of {} check-ins stored on {backend:?}", rows.len());
        }
        figures.stream_per_second = figures.stream_per_second.max(rows.len() as f64 / took.as_secs_f64());
        figures.ceiling_per_second = figures.ceiling_per_second.max(ceiling(backend, &rows).await);
    }

    // Exporting the ledger of a 100-trainee, 60-session class.
    for _ in 0..EXPORTS {
        let started = Instant::now();
        let parts = app.ledger(&ledger_class, &app.admin()).await.expect("ledger");
        figures.export.push(started.elapsed());
        let rows = parts.iter().filter(|p| p.trainee.is_some()).count();
        if rows != TRAINEES as usize {
            println!("warning: a ledger with {rows} trainees, not {TRAINEES}, on {backend:?} ({} parts)", parts.len());
        }
    }
    Some(figures)
}

/// One attendance row as the service stores a check-in: class, event, session, trainee, instant.
type Row = (String, String, String, String, i64);

/// The rows the check-ins of `chunks` become.
fn same_rows(chunks: &[StreamAttendanceRequest]) -> Vec<Row> {
    let id = |name: &str| name.rsplit('/').next().unwrap_or_default().to_owned();
    chunks
        .iter()
        .flat_map(|c| {
            c.events
                .iter()
                .map(|e| (id(&c.class), e.event_id.clone(), id(&e.session), id(&e.trainee), e.checked_in_micros))
        })
        .collect()
}

/// The same rows inserted by plain batched sqlx INSERTs of `CHUNK` rows, one transaction each,
/// into a table of the same columns and keys on a fresh database of the same kind, through the
/// same driver and pool settings: rows per second.
async fn ceiling(backend: Backend, rows: &[Row]) -> f64 {
    let database = TestDatabase::create(backend).await.expect("the backend is configured");
    let nothing: &'static sqlx::migrate::Migrator =
        Box::leak(Box::new(sqlx::migrate::Migrator::with_migrations(Vec::new())));
    let db = Db::connect(&database.url, None, nothing).await.expect("connect");
    for statement in [
        "CREATE TABLE attendance (class_id TEXT NOT NULL, event_id TEXT NOT NULL, session_id TEXT NOT NULL, \
         trainee_id TEXT NOT NULL, checked_in_micros BIGINT NOT NULL, device TEXT NOT NULL, reported_hours BIGINT \
         NOT NULL, hours BIGINT NOT NULL, event_hash TEXT NOT NULL, source TEXT NOT NULL, recorded_by TEXT NOT NULL, \
         received_micros BIGINT NOT NULL, PRIMARY KEY (class_id, event_id))",
        "CREATE UNIQUE INDEX attendance_session_trainee ON attendance (session_id, trainee_id)",
        "CREATE INDEX attendance_trainee ON attendance (trainee_id)",
    ] {
        sqlx::query(statement).execute(db.pool()).await.expect("the table");
    }
    const COLUMNS: &str = "class_id, event_id, session_id, trainee_id, checked_in_micros, device, reported_hours, \
        hours, event_hash, source, recorded_by, received_micros";
    let hash = "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef";
    let started = Instant::now();
    for chunk in rows.chunks(CHUNK) {
        let mut tx = db.pool().begin().await.expect("begin");
        qiancheng_platform::db::insert_many(&mut tx, "attendance", COLUMNS, 12, chunk, |query, row| {
            let (class, event, session, trainee, micros) = row;
            query
                .bind(class)
                .bind(event)
                .bind(session)
                .bind(trainee)
                .bind(*micros)
                .bind("gate-1")
                .bind(1i64)
                .bind(1i64)
                .bind(hash)
                .bind("DEVICE")
                .bind("test-provider")
                .bind(*micros)
        })
        .await
        .expect("insert");
        tx.commit().await.expect("commit");
    }
    rows.len() as f64 / started.elapsed().as_secs_f64()
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    let sqlite = runtime.block_on(measure(Backend::Sqlite));
    let postgres = if std::env::var(qiancheng_testkit::POSTGRES_URL_VAR).is_ok_and(|u| !u.is_empty()) {
        runtime.block_on(measure(Backend::Postgres))
    } else {
        None
    };
    type Show = fn(&Figures) -> String;
    let column = |f: &Option<Figures>, show: Show| f.as_ref().map_or("not configured".to_owned(), show);
    let rows: [(&str, Show); 7] = [
        ("StreamAttendance, check-ins/s (chunks of 1,000, 100 × 60 per class)", |f| {
            format!("{:.0}", f.stream_per_second)
        }),
        ("plain batched INSERT of the same rows, rows/s (the ceiling)", |f| format!("{:.0}", f.ceiling_per_second)),
        ("StreamAttendance / ceiling (target ≥ 50%)", |f| {
            format!("{:.0}%", 100.0 * f.stream_per_second / f.ceiling_per_second.max(1e-9))
        }),
        ("CreateClass, 100 trainees: p50 ms", |f| ms(percentile(&f.filing, 50.0))),
        ("CreateClass, 100 trainees: p99 ms", |f| ms(percentile(&f.filing, 99.0))),
        ("GetLedger, 100 trainees × 60 sessions: p50 ms", |f| ms(percentile(&f.export, 50.0))),
        ("GetLedger, 100 trainees × 60 sessions: p99 ms", |f| ms(percentile(&f.export, 99.0))),
    ];
    println!();
    println!(
        "| supervision ({FILINGS} filings, {PASSES} × {INTAKE_CLASSES} classes of check-ins, {EXPORTS} exports) | SQLite | PostgreSQL |"
    );
    println!("|---|---|---|");
    for (name, show) in rows {
        println!("| {name} | {} | {} |", column(&sqlite, show), column(&postgres, show));
    }
}
