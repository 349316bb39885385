//! The 国密 profile as an operator meets it on a running roster (docs/CRYPTOGRAPHY.md): a class
//! is filed while personal data is sealed under the original key (AES-256-GCM, HMAC-SHA-256);
//! the service is restarted with an SM4-GCM / HMAC-SM3 key added; new trainees are sealed with
//! SM4 while the old rows stay readable; and a re-encryption stopped halfway and run again leaves
//! every row under SM4. Throughout, the lookups by keyed hash (ROSTER_DUPLICATE, ELIG-OVERLAP,
//! check-in by ID number, the contract's person hash) find people whichever key their row is under.

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::AtomicBool;

use common::*;
use qiancheng_api::supervision::*;
use qiancheng_platform::ServiceSpec as _;
use qiancheng_platform::pii::{DataKey, Profile};
use qiancheng_platform::rekey::{self, Options, Outcome};
use qiancheng_platform::service::Peers;
use qiancheng_supervision::SpecWithClock;
use qiancheng_testkit::{Backend, authed, backend_tests};
use sqlx::Row as _;
use tonic::Code;

/// The added key.
const GM_KEY: &str = "2026-gm";

/// The suite after the rotation: supervision serving with the 国密 key added, a class filed with
/// people 0–5 before it (their rows under the original key), acknowledged, with a session for
/// each round of checks.
struct Rotated {
    app: App,
    class: Class,
    sessions: Vec<Session>,
}

impl std::ops::Deref for Rotated {
    type Target = App;
    fn deref(&self) -> &App {
        &self.app
    }
}

async fn start(backend: Backend) -> Option<Rotated> {
    let app = common::start(backend).await?;
    let class = app.filed((2027, 3, 1), (2027, 4, 30), people(0, 6)).await;
    app.acknowledge(&class.name).await;
    let days = [(day(2027, 3, 2), 4), (day(2027, 3, 3), 4), (day(2027, 3, 4), 4)];
    let sessions = app.sessions(&class.name, &days).await;
    let App { supervision, selection, clock, provider, project } = app;
    let gm = DataKey::new(GM_KEY, Profile::Gm, [0x42; 32]).expect("a valid key");
    let keys = supervision.keys.clone().with_newer_data_keys(vec![gm]);
    let peers = Peers::new([keys.peer_for("supervision", "selection", selection.server.addr)]);
    let supervision = supervision.restart(&SpecWithClock(clock.clone()), keys, peers).await;
    Some(Rotated { app: App { supervision, selection, clock, provider, project }, class, sessions })
}

/// How many trainee rows are sealed and hashed under the original key and under the 国密 key
/// (every column of a row under the same key).
async fn rows_by_key(app: &App) -> (usize, usize) {
    let rows = sqlx::query("SELECT id_number_cipher, name_cipher, phone_cipher, person_hash FROM trainee")
        .fetch_all(app.db.pool())
        .await
        .expect("trainees");
    let (mut original, mut gm) = (0, 0);
    for row in &rows {
        let ciphers: Vec<String> =
            ["id_number_cipher", "name_cipher", "phone_cipher"].iter().map(|c| row.get::<String, _>(*c)).collect();
        let hash: String = row.get("person_hash");
        if ciphers.iter().all(|c| c.starts_with("v1:")) && hash.len() == 64 && !hash.contains(':') {
            original += 1;
        } else if ciphers.iter().all(|c| c.starts_with(&format!("sm4-gcm:{GM_KEY}:")))
            && hash.starts_with(&format!("hmac-sm3:{GM_KEY}:"))
        {
            gm += 1;
        } else {
            panic!("a row is under no one key: {ciphers:?} {hash}");
        }
    }
    (original, gm)
}

/// The whole ID numbers the city reads in the class's ledger.
async fn ledger_numbers(app: &App, class: &str) -> BTreeSet<String> {
    let parts = app.ledger(class, &app.admin()).await.expect("the ledger is read");
    parts.iter().filter_map(|p| p.trainee.as_ref()).map(|t| t.person.clone().expect("person").id_number).collect()
}

/// The ID numbers of people `n`.
fn numbers(n: impl IntoIterator<Item = u32>) -> BTreeSet<String> {
    n.into_iter().map(|n| id_born("19900101", n)).collect()
}

/// Adds `input` to `class` as its provider.
async fn add(app: &App, class: &str, input: TraineeInput) -> Result<ChangeRosterResponse, tonic::Status> {
    app.client()
        .await
        .change_roster(authed(
            ChangeRosterRequest {
                class: class.into(), add: Some(input), reason: "补录".into(), ..Default::default()
            },
            &app.provider_token(),
        ))
        .await
        .map(tonic::Response::into_inner)
}

/// Checks every lookup by keyed hash against people `0..6` (filed under the original key) and
/// `10`, `11` (added under the 国密 key), whichever key their rows are under now; check-ins go to
/// session `round`.
async fn lookups_find_everyone(app: &Rotated, round: usize) {
    // ROSTER_DUPLICATE: the person is on this roster already.
    for n in [0, 5, 10, 11] {
        let again = add(app, &app.class.name, person(n)).await;
        assert_eq!(refusal(again), (Code::AlreadyExists, "ROSTER_DUPLICATE".to_owned()), "{round}: person {n}");
    }
    // ELIG-OVERLAP: a class of overlapping dates cannot take anyone of the first (it is filed
    // with a newcomer alone).
    let overlapping = class_of(&app.project, (2027, 4, 1), (2027, 5, 30));
    let newcomer = 30 + u32::try_from(round).expect("round");
    let roster = [0, 1, 2, 3, 4, 5, 10, 11, newcomer].into_iter().map(person).collect();
    let filed = app.file(overlapping, roster).await.expect("answered");
    let refused: Vec<&str> = filed.refused.iter().map(|r| r.reason.as_str()).collect();
    assert_eq!(refused, ["ELIG-OVERLAP"; 8], "{round}");
    assert_eq!(filed.trainees.len(), 1, "{round}");
    // Check-ins by ID number find the person on the roster, sent on the evening of the session.
    app.set_today(2027, 3, 2 + u32::try_from(round).expect("round"));
    let events = [3, 11]
        .iter()
        .map(|n| CheckIn {
            event_id: format!("{round}-{n}"),
            session: app.sessions[round].name.clone(),
            id_number: id_born("19900101", *n),
            checked_in_micros: at(2027, 3, 2 + u32::try_from(round).expect("round"), 8),
            device: "gate-1".into(),
            ..Default::default()
        })
        .collect();
    let acks = app.stream(vec![StreamAttendanceRequest { class: app.class.name.clone(), events }]).await;
    let statuses: Vec<i32> = acks.iter().flat_map(|a| a.results.iter().map(|r| r.status)).collect();
    assert_eq!(statuses, [CheckInStatus::Stored as i32; 2], "{round}: {acks:?}");
    // The contract's person hash is the newest key's for everyone, moved or not.
    let listed = app
        .client()
        .await
        .list_project_trainees(authed(
            ListProjectTraineesRequest { project: app.project.clone(), page_size: 100, page_token: String::new() },
            &app.service_named("outcome"),
        ))
        .await
        .expect("listed")
        .into_inner();
    let hashes: BTreeSet<&str> =
        listed.trainees.iter().filter(|t| t.class == app.class.name).map(|t| t.person_hash.as_str()).collect();
    assert_eq!(hashes.len(), 8, "{round}: one hash per person");
    assert!(hashes.iter().all(|h| h.starts_with(&format!("hmac-sm3:{GM_KEY}:"))), "{round}: {hashes:?}");
    // Every row opens.
    assert_eq!(ledger_numbers(app, &app.class.name).await, numbers([0, 1, 2, 3, 4, 5, 10, 11]), "{round}");
}

async fn new_rows_are_sealed_with_sm4_while_the_old_aes_rows_stay_readable(app: &Rotated) {
    assert_eq!(rows_by_key(app).await, (6, 0), "the class was filed under the original key");
    for n in [10, 11] {
        add(app, &app.class.name, person(n)).await.expect("added before the first day");
    }
    assert_eq!(rows_by_key(app).await, (6, 2), "new trainees are sealed with SM4 and hashed with HMAC-SM3");
    assert_eq!(ledger_numbers(app, &app.class.name).await, numbers([0, 1, 2, 3, 4, 5, 10, 11]));
    lookups_find_everyone(app, 0).await;
    assert!(!app.supervision.pii.is_settled(), "no move has run: lookups consult both keys");
}

async fn a_reencryption_stopped_halfway_and_run_again_leaves_every_row_under_sm4(app: &Rotated) {
    for n in [10, 11] {
        add(app, &app.class.name, person(n)).await.expect("added before the first day");
    }
    // The command's own keyring, as a separate process has it.
    let pii = app.supervision.keys.pii.clone();
    let tables = qiancheng_supervision::Spec.sealed_tables();
    let never = AtomicBool::new(false);
    let halfway = Options { batch_size: 2, max_batches: Some(2), ..Options::default() };
    let mut seen = Vec::new();
    let stopped = rekey::reencrypt(&app.db, &pii, tables, &halfway, &never, |p| seen.push(p.clone())).await;
    assert_eq!(stopped.expect("ran"), Outcome::Stopped { moved: 4 }, "two batches of two rows, oldest first");
    assert_eq!(seen.last().map(|p| (p.moved, p.remaining_at_start, p.total)), Some((4, 6, 8)), "progress is shown");
    assert_eq!(rows_by_key(app).await, (2, 6), "stopped halfway");
    assert_eq!(rekey::settled_key(&app.db).await.expect("read"), None, "not settled halfway");
    lookups_find_everyone(app, 1).await;

    // Run again: it goes on after the last batch it committed.
    let rest = Options { batch_size: 2, ..Options::default() };
    let done = rekey::reencrypt(&app.db, &pii, tables, &rest, &never, |_| {}).await.expect("ran");
    assert_eq!(done, Outcome::Settled { key: GM_KEY.to_owned(), moved: 2 }, "only the rows left are moved");
    assert_eq!(
        rows_by_key(app).await,
        (0, 9),
        "every row (the halfway round's newcomer too) is under SM4 and HMAC-SM3"
    );
    assert_eq!(rekey::settled_key(&app.db).await.expect("read").as_deref(), Some(GM_KEY));
    rekey::observe(&app.db, &app.supervision.pii).await.expect("the service reads the settled key");
    assert!(app.supervision.pii.is_settled(), "the service now looks people up by the 国密 hash alone");
    lookups_find_everyone(app, 2).await;

    // A third run finds nothing to move; the audit chain holds the settlement.
    let again = rekey::reencrypt(&app.db, &pii, tables, &rest, &never, |_| {}).await.expect("ran");
    assert_eq!(again, Outcome::Settled { key: GM_KEY.to_owned(), moved: 0 });
    let report = qiancheng_platform::audit::verify(app.db.pool()).await.expect("verified");
    assert_eq!(report.first_broken, None);
    let settled: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'pii.reencrypt.settled'")
        .fetch_one(app.db.pool())
        .await
        .expect("count");
    assert_eq!(settled, 2, "each settlement is audited");
}

backend_tests!(start =>
    new_rows_are_sealed_with_sm4_while_the_old_aes_rows_stay_readable,
    a_reencryption_stopped_halfway_and_run_again_leaves_every_row_under_sm4,
);
