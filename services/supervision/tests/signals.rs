//! Integrity signals (docs/integrity.md) through the generated client on real servers on port 0
//! (supervision, and selection as its peer), once on SQLite and once on PostgreSQL (when
//! `QIANCHENG_TEST_DATABASE_URL` is set): raised by the write paths as events arrive, listed by
//! severity to the officers of the class's county, dismissed with a reason or confirmed by an
//! inspection, and computed again for a class.

mod common;

use common::*;
use qiancheng_api::supervision::*;
use qiancheng_testkit::{Backend, authed, backend_tests};
use tonic::Code;

async fn start(backend: Backend) -> Option<App> {
    common::start(backend).await
}

const SECOND: i64 = 1_000_000;

/// A class of the project (2027-03-01 to 04-30) with `people`, acknowledged, with sessions of 4
/// hours on `days` of March; its trainees in the order filed.
async fn running(app: &App, people: Vec<TraineeInput>, days: &[u32]) -> (Class, Vec<Trainee>, Vec<Session>) {
    let class = app.filed((2027, 3, 1), (2027, 4, 30), people).await;
    app.acknowledge(&class.name).await;
    let days: Vec<_> = days.iter().map(|d| (day(2027, 3, *d), 4)).collect();
    let sessions = app.sessions(&class.name, &days).await;
    let mut trainees = app.trainees(&class.name).await;
    trainees.sort_by_key(|t| t.person.clone().map(|p| p.id_number).unwrap_or_default());
    (class, trainees, sessions)
}

/// Check-ins of `trainees` at `session` on `device`, from `first` a step apart.
fn burst(prefix: &str, session: &Session, trainees: &[Trainee], device: &str, first: i64, step: i64) -> Vec<CheckIn> {
    trainees
        .iter()
        .enumerate()
        .map(|(i, t)| CheckIn {
            device: device.into(),
            ..check_in(&format!("{prefix}-{i}"), &session.name, &t.name, first + i64::try_from(i).expect("i") * step)
        })
        .collect()
}

async fn list(app: &App, token: &str, request: ListSignalsRequest) -> Result<ListSignalsResponse, tonic::Status> {
    app.client().await.list_signals(authed(request, token)).await.map(tonic::Response::into_inner)
}

async fn signals_of(app: &App, class: &str) -> Vec<Signal> {
    let request = ListSignalsRequest { class: class.into(), page_size: 100, ..Default::default() };
    list(app, &app.officer(COUNTY), request).await.expect("listed").signals
}

async fn dismiss(app: &App, token: &str, signal: &Signal, reason: &str) -> Result<Signal, tonic::Status> {
    let request = DismissSignalRequest {
        name: signal.name.clone(),
        etag: signal.etag.clone(),
        reason: reason.into(),
        request_id: String::new(),
    };
    app.client().await.dismiss_signal(authed(request, token)).await.map(|r| r.into_inner().signal.expect("signal"))
}

async fn sync_checkins_raise_a_signal_the_officer_dismisses_with_a_reason(app: &App) {
    // The scenario: 30 trainees check in within 5 seconds on one device.
    let (class, trainees, sessions) = running(app, people(0, 30), &[2, 3]).await;
    app.set_today(2027, 3, 2);
    let at8 = at(2027, 3, 2, 8);
    let events = burst("sync", &sessions[0], &trainees, "gate-1", at8, SECOND / 6);
    let acks = app.stream(vec![StreamAttendanceRequest { class: class.name.clone(), events }]).await;
    assert_eq!(acks.last().expect("an ack").stored, 30);
    // A queue at a steady pace, one every 20 seconds, raises nothing more.
    app.set_today(2027, 3, 3);
    let events = burst("queue", &sessions[1], &trainees, "gate-1", at(2027, 3, 3, 8), 20 * SECOND);
    app.stream(vec![StreamAttendanceRequest { class: class.name.clone(), events }]).await;

    let found = signals_of(app, &class.name).await;
    assert_eq!(found.len(), 1, "{found:?}");
    let signal = &found[0];
    assert_eq!(signal.code, "SYNC-CHECKIN");
    assert_eq!(signal.class, class.name);
    assert_eq!(signal.severity, SignalSeverity::High as i32);
    assert_eq!(signal.state, SignalState::Open as i32);
    let mut ids: Vec<&str> = signal.evidence.iter().map(|e| e.id.as_str()).collect();
    ids.sort_unstable();
    let mut expected: Vec<String> = (0..30).map(|i| format!("sync-{i}")).collect();
    expected.sort_unstable();
    assert_eq!(ids, expected, "the signal rests on every event id of the burst");
    assert!(signal.evidence.iter().all(|e| e.kind == "CHECK_IN" && e.at_micros >= at8));
    assert!(signal.parameters.iter().any(|p| p.name == "sync_min_trainees" && p.value == 10));
    // No personal data: no ID number, name or phone of anyone on the roster.
    let shown = format!("{signal:?}");
    for t in &trainees {
        let person = t.person.clone().expect("person");
        assert!(!shown.contains(&person.id_number) && !shown.contains(&person.phone));
    }

    // Who sees it: the county's officers, the city and auditors; another county's officer
    // nothing; providers are refused.
    let auditor = list(app, &app.auditor(), ListSignalsRequest::default()).await.expect("listed");
    assert!(auditor.signals.iter().any(|s| s.name == signal.name));
    let elsewhere = list(app, &app.officer(OTHER_COUNTY), ListSignalsRequest::default()).await.expect("listed");
    assert!(elsewhere.signals.is_empty());
    let provider = list(app, &app.provider_token(), ListSignalsRequest::default()).await;
    assert_eq!(provider.expect_err("refused").code(), Code::PermissionDenied);
    let bad_code = ListSignalsRequest { code: "NOT-A-CODE".into(), ..Default::default() };
    assert_eq!(refusal(list(app, &app.officer(COUNTY), bad_code).await), (Code::InvalidArgument, "SIGNAL-CODE".into()));

    // The officer dismisses it with a reason; another county's officer may not; no reason is
    // no dismissal; a dismissed signal is not dismissed again.
    assert_eq!(
        dismiss(app, &app.officer(OTHER_COUNTY), signal, "不是本县").await.expect_err("refused").code(),
        Code::PermissionDenied
    );
    assert_eq!(
        dismiss(app, &app.officer(COUNTY), signal, "").await.expect_err("refused").code(),
        Code::InvalidArgument
    );
    let reason = "闸机为批量上传,时间为上传时间,已核对纸质签到表";
    let dismissed = dismiss(app, &app.officer(COUNTY), signal, reason).await.expect("dismissed");
    assert_eq!(dismissed.state, SignalState::Dismissed as i32);
    assert_eq!(dismissed.state_note, reason);
    assert!(!dismissed.decided_by.is_empty());
    assert_eq!(
        refusal(dismiss(app, &app.officer(COUNTY), &dismissed, "again").await),
        (Code::FailedPrecondition, "SIGNAL-STATE".into())
    );
    let open = ListSignalsRequest { state: SignalState::Open as i32, ..Default::default() };
    assert!(list(app, &app.officer(COUNTY), open).await.expect("listed").signals.is_empty());

    // Computing the class's signals again leaves the decision as it was.
    app.client()
        .await
        .recompute_signals(authed(
            RecomputeSignalsRequest { class: class.name.clone(), request_id: String::new() },
            &app.admin(),
        ))
        .await
        .expect("recomputed");
    let again = signals_of(app, &class.name).await;
    assert_eq!(again[0].state, SignalState::Dismissed as i32);
}

async fn a_confirmed_signal_is_linked_to_the_next_inspection_which_finds_a_ghost_session(app: &App) {
    let (class, trainees, sessions) = running(app, people(0, 12), &[2, 4]).await;
    // Twelve check-ins in twelve seconds at 08:00 on the 2nd: SYNC-CHECKIN, MEDIUM.
    app.set_today(2027, 3, 2);
    let events = burst("b", &sessions[0], &trainees, "gate-9", at(2027, 3, 2, 8), SECOND);
    app.stream(vec![StreamAttendanceRequest { class: class.name.clone(), events }]).await;
    let signal = signals_of(app, &class.name).await.into_iter().next().expect("a signal");
    assert_eq!((signal.code.as_str(), signal.severity), ("SYNC-CHECKIN", SignalSeverity::Medium as i32));

    // Confirmed with no inspection yet: one is due.
    let confirm = |inspection: &str, signal: &Signal| ConfirmSignalRequest {
        name: signal.name.clone(),
        etag: signal.etag.clone(),
        inspection: inspection.into(),
        note: "暗访核实".into(),
        request_id: String::new(),
    };
    let due = app
        .client()
        .await
        .confirm_signal(authed(confirm("", &signal), &app.officer(COUNTY)))
        .await
        .expect("confirmed")
        .into_inner()
        .signal
        .expect("signal");
    assert_eq!(due.state, SignalState::InspectionDue as i32);

    // An unannounced inspection on the 2nd counts nobody present, where twelve checked in.
    let inspection = Inspection {
        kind: InspectionKind::Unannounced as i32,
        inspected_on: Some(date(2027, 3, 2)),
        people_present: 0,
        venue_ok: false,
        content_ok: false,
        severity: FindingSeverity::Minor as i32,
        finding: FindingKind::Attendance as i32,
        note: "现场无人".into(),
        ..Default::default()
    };
    let recorded = app
        .client()
        .await
        .record_inspection(authed(
            RecordInspectionRequest {
                class: class.name.clone(),
                inspection: Some(inspection),
                request_id: String::new(),
            },
            &app.officer(COUNTY),
        ))
        .await
        .expect("recorded")
        .into_inner()
        .inspection
        .expect("inspection");
    let found = signals_of(app, &class.name).await;
    let confirmed = found.iter().find(|s| s.name == signal.name).expect("still listed");
    assert_eq!(confirmed.state, SignalState::Confirmed as i32);
    assert_eq!(confirmed.inspection, recorded.name);
    let ghost = found.iter().find(|s| s.code == "GHOST-SESSION").expect("GHOST-SESSION");
    assert_eq!(ghost.severity, SignalSeverity::High as i32);
    assert_eq!(found[0].code, "GHOST-SESSION", "highest severity first");
    assert_eq!(ghost.evidence.iter().filter(|e| e.kind == "CHECK_IN").count(), 12);
    assert!(ghost.evidence.iter().any(|e| e.kind == "INSPECTION" && e.id == recorded.name));

    // Confirming by an inspection already recorded links it at once.
    let confirmed_now = app
        .client()
        .await
        .confirm_signal(authed(confirm(&recorded.name, ghost), &app.officer(COUNTY)))
        .await
        .expect("confirmed")
        .into_inner()
        .signal
        .expect("signal");
    assert_eq!(
        (confirmed_now.state, confirmed_now.inspection.as_str()),
        (SignalState::Confirmed as i32, recorded.name.as_str())
    );
    // A stale etag is refused.
    assert_eq!(dismiss(app, &app.officer(COUNTY), ghost, "x").await.expect_err("refused").code(), Code::Aborted);
}

async fn shared_devices_phones_and_roster_churn_are_observed(app: &App) {
    // Three people of two classes give one phone number.
    let mut first_people = people(0, 12);
    let mut second_people = people(20, 12);
    first_people[0].phone = "13900000000".into();
    first_people[1].phone = "13900000000".into();
    second_people[0].phone = "13900000000".into();
    let (first, first_trainees, first_sessions) = running(app, first_people, &[2]).await;
    let (second, second_trainees, second_sessions) = running(app, second_people, &[2]).await;
    let phone = signals_of(app, &first.name).await;
    let phone = phone.iter().find(|s| s.code == "PHONE-SHARED").expect("PHONE-SHARED");
    assert_eq!(phone.evidence.len(), 3);
    assert!(phone.evidence.iter().all(|e| e.kind == "TRAINEE"));
    assert!(!format!("{phone:?}").contains("13900000000"));
    assert!(signals_of(app, &second.name).await.iter().any(|s| s.code == "PHONE-SHARED"));

    // One device checks in both classes' trainees, 40 minutes apart, a minute between people.
    app.set_today(2027, 3, 2);
    let events = burst("d1", &first_sessions[0], &first_trainees[..3], "tablet-7", at(2027, 3, 2, 8), 60 * SECOND);
    app.stream(vec![StreamAttendanceRequest { class: first.name.clone(), events }]).await;
    let events = burst(
        "d2",
        &second_sessions[0],
        &second_trainees[..3],
        "tablet-7",
        at(2027, 3, 2, 8) + 40 * 60 * SECOND,
        60 * SECOND,
    );
    app.stream(vec![StreamAttendanceRequest { class: second.name.clone(), events }]).await;
    for class in [&first, &second] {
        let found = signals_of(app, &class.name).await;
        let shared = found.iter().find(|s| s.code == "DEVICE-SHARED").expect("DEVICE-SHARED");
        assert_eq!(shared.severity, SignalSeverity::Medium as i32, "one provider");
        assert!(shared.evidence.iter().any(|e| e.class == first.name));
        assert!(shared.evidence.iter().any(|e| e.class == second.name));
    }

    // Five removals proposed from the first day: ROSTER-CHURN.
    for t in &first_trainees[5..10] {
        app.client()
            .await
            .change_roster(authed(
                ChangeRosterRequest {
                    class: first.name.clone(),
                    remove: t.name.clone(),
                    reason: "学员退出".into(),
                    ..Default::default()
                },
                &app.provider_token(),
            ))
            .await
            .expect("proposed");
    }
    let churn = signals_of(app, &first.name).await;
    let churn = churn.iter().find(|s| s.code == "ROSTER-CHURN").expect("ROSTER-CHURN");
    assert_eq!(churn.evidence.len(), 5);
    assert!(churn.evidence.iter().all(|e| e.kind == "ROSTER_CHANGE"));

    // The backfill computes the same signals again and decides nothing anew.
    let recomputed = app
        .client()
        .await
        .recompute_signals(authed(
            RecomputeSignalsRequest { class: first.name.clone(), request_id: String::new() },
            &app.officer(COUNTY),
        ))
        .await
        .expect("recomputed")
        .into_inner()
        .signals;
    let mut codes: Vec<&str> = recomputed.iter().map(|s| s.code.as_str()).collect();
    codes.sort_unstable();
    assert_eq!(codes, ["DEVICE-SHARED", "PHONE-SHARED", "ROSTER-CHURN"]);
    assert_eq!(signals_of(app, &first.name).await.len(), 3);
    // Providers may not recompute; another county's officer may not either.
    for token in [app.provider_token(), app.officer(OTHER_COUNTY)] {
        let refused = app
            .client()
            .await
            .recompute_signals(authed(
                RecomputeSignalsRequest { class: first.name.clone(), request_id: String::new() },
                &token,
            ))
            .await;
        assert_eq!(refused.expect_err("refused").code(), Code::PermissionDenied);
    }
}

async fn perfect_attendance_is_observed_where_the_county_attends_less(app: &App) {
    let days = [2, 3, 4, 5, 8];
    let (peer, peer_trainees, peer_sessions) = running(app, people(0, 10), &days).await;
    let (class, trainees, sessions) = running(app, people(20, 10), &days).await;
    app.set_today(2027, 3, 8);
    let at_day = |session: &Session| {
        let d = session.held_on.expect("day");
        at(d.year, u32::try_from(d.month).expect("m"), u32::try_from(d.day).expect("d"), 8)
    };
    // The county's other class: half of its trainees miss the first session.
    for (i, session) in peer_sessions.iter().enumerate() {
        let who = if i == 0 { &peer_trainees[..5] } else { &peer_trainees[..] };
        let events = burst(&format!("p{i}"), session, who, "gate-p", at_day(session), 60 * SECOND);
        app.stream(vec![StreamAttendanceRequest { class: peer.name.clone(), events }]).await;
    }
    assert!(signals_of(app, &peer.name).await.is_empty());
    // Everyone at every session, one a minute: nothing until the fifth session, then LOW.
    for (i, session) in sessions.iter().enumerate() {
        assert!(signals_of(app, &class.name).await.is_empty(), "nothing before the fifth session");
        let events = burst(&format!("c{i}"), session, &trainees, "gate-c", at_day(session), 60 * SECOND);
        app.stream(vec![StreamAttendanceRequest { class: class.name.clone(), events }]).await;
    }
    let found = signals_of(app, &class.name).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].code.as_str(), found[0].severity), ("PERFECT-ATTENDANCE", SignalSeverity::Low as i32));
    assert_eq!(found[0].evidence.iter().filter(|e| e.kind == "SESSION").count(), 5);
}

backend_tests!(start =>
    sync_checkins_raise_a_signal_the_officer_dismisses_with_a_reason,
    a_confirmed_signal_is_linked_to_the_next_inspection_which_finds_a_ghost_session,
    shared_devices_phones_and_roster_churn_are_observed,
    perfect_attendance_is_observed_where_the_county_attends_less,
);
