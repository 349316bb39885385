//! A provider's standing in selection as supervision acts on it (PROV-DISQUALIFIED, PROV-CLEAN),
//! with the real selection service beside supervision on servers on port 0, once on SQLite and
//! once on PostgreSQL (when `QIANCHENG_TEST_DATABASE_URL` is set): a disqualification stops the
//! provider's running classes and terminates their trainees, learnt on a gated write or by the
//! periodic sweep; a serious finding that does not disqualify reaches selection as a violation.

mod common;

use std::time::Duration;

use common::*;
use qiancheng_api::selection as sel;
use qiancheng_api::supervision::*;
use qiancheng_testkit::{Backend, authed, backend_tests};
use tonic::Code;

async fn start(backend: Backend) -> Option<App> {
    common::start(backend).await
}

/// Supervision sweeping every 100 ms.
async fn start_sweeping(backend: Backend) -> Option<App> {
    common::start_configured(backend, |keys| keys.settings.standing_sweep_interval_ms = 100).await
}

/// Two acknowledged classes of the project with three people each and a session on 2 March.
async fn two_running_classes(app: &App) -> [(Class, Vec<Trainee>, Vec<Session>); 2] {
    let mut classes = Vec::new();
    for from in [0, 10] {
        let class = app.filed((2027, 3, 1), (2027, 4, 30), people(from, 3)).await;
        app.acknowledge(&class.name).await;
        let sessions = app.sessions(&class.name, &[(day(2027, 3, 2), 4)]).await;
        let trainees = app.trainees(&class.name).await;
        classes.push((class, trainees, sessions));
    }
    classes.try_into().expect("two classes")
}

async fn disqualify(app: &App) {
    app.selection_client()
        .await
        .disqualify_provider(authed(
            sel::DisqualifyProviderRequest {
                provider: format!("providers/{}", app.provider),
                misconduct: sel::MisconductKind::Subcontracting as i32,
                finding: "整班转包给无资质机构".into(),
                ..Default::default()
            },
            &app.officer(COUNTY),
        ))
        .await
        .expect("disqualified");
}

/// Every class is stopped for PROV-DISQUALIFIED and every trainee terminated with that reason.
async fn assert_stopped_for_disqualification(app: &App, classes: &[(Class, Vec<Trainee>, Vec<Session>)]) {
    for (class, _, _) in classes {
        let now = app.class(&class.name).await;
        assert_eq!(now.state, ClassState::Stopped as i32, "{}", now.name);
        assert!(now.stop_reason.starts_with("PROV-DISQUALIFIED"), "{}", now.stop_reason);
        assert_eq!(now.stopped_on, Some(date(2026, 12, 1)), "the day on supervision's clock");
        for t in app.trainees(&class.name).await {
            assert_eq!(t.state, TraineeState::Withdrawn as i32);
            assert!(t.termination_reason.starts_with("PROV-DISQUALIFIED"), "{}", t.termination_reason);
            assert!(t.terminated_on.is_some());
        }
    }
    // Outcome and subsidy learn of each stop from the change feed.
    let changes = app
        .client()
        .await
        .list_class_changes(authed(ListClassChangesRequest { after: 0, page_size: 1000 }, &app.auditor()))
        .await
        .expect("the feed")
        .into_inner()
        .changes;
    for (class, _, _) in classes {
        assert!(
            changes.iter().any(|c| c.class == class.name && c.kind == ClassChangeKind::ClassStopped as i32),
            "{} is stopped in the feed",
            class.name
        );
    }
}

async fn a_disqualified_provider_finds_its_running_classes_stopped_at_its_next_write(app: &App) {
    let classes = two_running_classes(app).await;
    disqualify(app).await;
    // The provider's next check-in is refused, with the rule, and both classes stop.
    let (class, trainees, sessions) = &classes[0];
    let events = vec![check_in("e1", &sessions[0].name, &trainees[0].name, at(2027, 3, 2, 8))];
    let acks = app.stream(vec![StreamAttendanceRequest { class: class.name.clone(), events }]).await;
    let result = &acks[0].results[0];
    assert_eq!((result.status, result.reason.as_str()), (CheckInStatus::Refused as i32, "PROV-DISQUALIFIED"));
    assert_stopped_for_disqualification(app, &classes).await;
    // Completion is refused with the rule too.
    let completed = app
        .client()
        .await
        .complete_class(authed(
            CompleteClassRequest { name: classes[1].0.name.clone(), ..Default::default() },
            &app.provider_token(),
        ))
        .await;
    assert_eq!(refusal(completed), (Code::FailedPrecondition, "PROV-DISQUALIFIED".to_owned()));
    // Nothing of the refused chunk was stored.
    let ledger = app.ledger(&class.name, &app.auditor()).await.expect("ledger");
    assert!(ledger.iter().filter_map(|p| p.trainee.as_ref()).all(|t| t.attended_hours == 0));
}

async fn the_sweep_stops_a_disqualified_providers_classes_with_no_write(app: &App) {
    let classes = two_running_classes(app).await;
    disqualify(app).await;
    let mut waited = Duration::ZERO;
    while app.class(&classes[1].0.name).await.state != ClassState::Stopped as i32 {
        assert!(waited < Duration::from_secs(20), "the sweep stopped nothing");
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += Duration::from_millis(50);
    }
    assert_stopped_for_disqualification(app, &classes).await;
}

async fn a_serious_finding_that_is_not_fraud_is_a_violation_prov_clean_reads(app: &App) {
    let classes = two_running_classes(app).await;
    app.set_today(2027, 3, 2);
    let spot = Inspection {
        kind: InspectionKind::Unannounced as i32,
        inspected_on: Some(date(2027, 3, 2)),
        people_present: 1,
        venue_ok: true,
        content_ok: true,
        severity: FindingSeverity::Serious as i32,
        finding: FindingKind::Attendance as i32,
        note: "虚报人数: 花名册3人, 实到1人".into(),
        ..Default::default()
    };
    let record = |spot: Inspection| async {
        app.client()
            .await
            .record_inspection(authed(
                RecordInspectionRequest {
                    class: classes[0].0.name.clone(),
                    inspection: Some(spot),
                    request_id: "spot-check-1".into(),
                },
                &app.officer(COUNTY),
            ))
            .await
            .expect("recorded")
            .into_inner()
    };
    let inspection = record(spot.clone()).await.inspection.expect("inspection");
    assert_eq!(inspection.outcome, InspectionOutcome::Stop as i32);
    assert_eq!(inspection.referral, ReferralState::Accepted as i32, "{}", inspection.referral_message);
    // Selection has the violation, and PROV-CLEAN fails on it; the provider is not disqualified,
    // so its other class runs on.
    let provider = app
        .selection_client()
        .await
        .get_provider(authed(sel::GetProviderRequest { name: format!("providers/{}", app.provider) }, &app.admin()))
        .await
        .expect("read")
        .into_inner()
        .provider
        .expect("provider");
    assert_eq!(provider.violations.len(), 1);
    assert!(provider.violations[0].description.contains("虚报人数"));
    assert_eq!(provider.violations[0].recorded_by, "service:supervision");
    let eligibility = app
        .selection_client()
        .await
        .evaluate_provider_eligibility(authed(
            sel::EvaluateProviderEligibilityRequest {
                provider: format!("providers/{}", app.provider),
                ..Default::default()
            },
            &app.admin(),
        ))
        .await
        .expect("evaluated")
        .into_inner()
        .decision
        .expect("decision");
    assert!(eligibility.rules.iter().any(|r| r.code == "PROV-CLEAN" && !r.passed), "{eligibility:?}");
    assert_eq!(app.class(&classes[1].0.name).await.state, ClassState::Acknowledged as i32);
    // Recording it again with the same request id tells selection nothing twice.
    let again = record(spot).await.inspection.expect("inspection");
    assert_eq!(again.name, inspection.name);
    let provider_again = app
        .selection_client()
        .await
        .get_provider(authed(sel::GetProviderRequest { name: format!("providers/{}", app.provider) }, &app.admin()))
        .await
        .expect("read")
        .into_inner()
        .provider
        .expect("provider");
    assert_eq!(provider_again.violations.len(), 1);
    // Only supervision records violations as a service.
    let other_service = app
        .selection_client()
        .await
        .record_violation(authed(
            sel::RecordViolationRequest {
                provider: format!("providers/{}", app.provider),
                occurred_on: Some(date(2026, 11, 1)),
                description: "x".into(),
                request_id: String::new(),
            },
            &app.service(),
        ))
        .await;
    assert_eq!(other_service.expect_err("refused").code(), Code::PermissionDenied);
}

backend_tests!(start =>
    a_disqualified_provider_finds_its_running_classes_stopped_at_its_next_write,
    a_serious_finding_that_is_not_fraud_is_a_violation_prov_clean_reads,
    a_fraud_referral_selection_accepts_stops_the_providers_other_classes,
);

mod sweeping {
    use super::*;

    backend_tests!(start_sweeping =>
        the_sweep_stops_a_disqualified_providers_classes_with_no_write,
    );
}

async fn a_fraud_referral_selection_accepts_stops_the_providers_other_classes(app: &App) {
    let classes = two_running_classes(app).await;
    app.set_today(2027, 3, 2);
    let fraud = Inspection {
        kind: InspectionKind::Unannounced as i32,
        inspected_on: Some(date(2027, 3, 2)),
        people_present: 1,
        venue_ok: true,
        content_ok: true,
        severity: FindingSeverity::Serious as i32,
        finding: FindingKind::Fraud as i32,
        note: "冒名顶替签到".into(),
        ..Default::default()
    };
    let recorded = app
        .client()
        .await
        .record_inspection(authed(
            RecordInspectionRequest {
                class: classes[0].0.name.clone(),
                inspection: Some(fraud),
                request_id: "fraud-1".into(),
            },
            &app.officer(COUNTY),
        ))
        .await
        .expect("recorded")
        .into_inner();
    assert_eq!(recorded.inspection.expect("inspection").referral, ReferralState::Accepted as i32);
    // The inspected class stopped for the finding; the other for the disqualification.
    assert!(app.class(&classes[0].0.name).await.stop_reason.starts_with("CLASS-INSPECTION"));
    let other = app.class(&classes[1].0.name).await;
    assert_eq!(other.state, ClassState::Stopped as i32);
    assert!(other.stop_reason.starts_with("PROV-DISQUALIFIED"), "{}", other.stop_reason);
    assert!(
        app.trainees(&classes[1].0.name)
            .await
            .iter()
            .all(|t| t.state == TraineeState::Withdrawn as i32 && t.termination_reason.starts_with("PROV-DISQUALIFIED"))
    );
}
