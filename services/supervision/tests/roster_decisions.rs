//! A roster change's eligibility decisions (issue 16, defect 10): approving an addition keeps the
//! decision made at the proposal beside the one made at the approval, and ListRosterChanges shows
//! both; on real servers on port 0 (supervision, and selection as its peer), once on SQLite and
//! once on PostgreSQL (when `QIANCHENG_TEST_DATABASE_URL` is set).

mod common;

use common::*;
use qiancheng_api::supervision::*;
use qiancheng_api::types::Decision;
use qiancheng_testkit::{Backend, authed, backend_tests};

async fn start(backend: Backend) -> Option<App> {
    common::start(backend).await
}

async fn propose(app: &App, class: &str, add: Option<TraineeInput>, remove: &str) -> RosterChange {
    app.client()
        .await
        .change_roster(authed(
            ChangeRosterRequest {
                class: class.into(),
                add,
                remove: remove.into(),
                reason: "补录学员".into(),
                request_id: String::new(),
            },
            &app.provider_token(),
        ))
        .await
        .expect("proposed")
        .into_inner()
        .change
        .expect("change")
}

async fn decide(app: &App, change: &RosterChange, approve: bool) -> RosterChange {
    app.client()
        .await
        .decide_roster_change(authed(
            DecideRosterChangeRequest {
                name: change.name.clone(),
                etag: change.etag.clone(),
                approve,
                note: "核实".into(),
                request_id: String::new(),
            },
            &app.officer(COUNTY),
        ))
        .await
        .expect("decided")
        .into_inner()
        .change
        .expect("change")
}

async fn listed(app: &App, class: &str) -> Vec<RosterChange> {
    app.client()
        .await
        .list_roster_changes(authed(
            ListRosterChangesRequest { class: class.into(), page_size: 50, ..Default::default() },
            &app.auditor(),
        ))
        .await
        .expect("listed")
        .into_inner()
        .changes
}

async fn approving_an_addition_keeps_the_proposals_decision_beside_the_approvals(app: &App) {
    let class = app.filed((2027, 3, 1), (2027, 4, 30), people(0, 3)).await;
    app.acknowledge(&class.name).await;
    // Before the first day an addition applies at once: its decision is the proposal's alone.
    let early = propose(app, &class.name, Some(person(10)), "").await;
    assert_eq!(early.state, RosterChangeState::Applied as i32);
    assert!(early.eligibility_at_proposal.as_ref().is_some_and(|d| d.outcome));
    assert!(early.eligibility_at_approval.is_none());

    // From the first day an addition waits; the officer approves it a day later.
    app.set_today(2027, 3, 1);
    let pending = propose(app, &class.name, Some(person(11)), "").await;
    assert_eq!(pending.state, RosterChangeState::Pending as i32);
    let at_proposal = pending.eligibility_at_proposal.clone().expect("the proposal's decision");
    // Judged as a filing's entry is; ELIG-REALNAME says what a late addition is for the subsidy.
    assert!(at_proposal.rules.iter().any(|r| r.code == "ELIG-AGE" && r.passed), "{at_proposal:?}");
    assert!(at_proposal.rules.iter().any(|r| r.code == "ELIG-REALNAME"), "{at_proposal:?}");
    assert!(pending.eligibility_at_approval.is_none());
    app.set_today(2027, 3, 2);
    let approved = decide(app, &pending, true).await;
    assert_eq!(approved.state, RosterChangeState::Applied as i32);
    assert_eq!(approved.eligibility_at_proposal.as_ref(), Some(&at_proposal), "the proposal's decision is kept");
    let at_approval = approved.eligibility_at_approval.clone().expect("the approval's decision");
    assert!(at_approval.rules.iter().any(|r| r.code == "ELIG-AGE" && r.passed), "{at_approval:?}");
    assert!(at_approval.decided_micros >= at_proposal.decided_micros);
    assert_ne!(at_approval, at_proposal, "two decisions, each of its own moment");

    // A rejected addition keeps its proposal's decision only; a removal has none.
    let rejected = decide(app, &propose(app, &class.name, Some(person(12)), "").await, false).await;
    assert_eq!(rejected.state, RosterChangeState::Rejected as i32);
    assert!(rejected.eligibility_at_proposal.is_some() && rejected.eligibility_at_approval.is_none());
    let trainees = app.trainees(&class.name).await;
    let removal = propose(app, &class.name, None, &trainees[0].name).await;
    assert!(removal.eligibility_at_proposal.is_none() && removal.eligibility_at_approval.is_none());

    // ListRosterChanges shows both, as the calls answered them: the same decisions, rule by rule,
    // told to an auditor without the retirement date ELIG-AGE names to the officer (it reveals the
    // birth date of a person whose ID number an auditor sees masked).
    let all = listed(app, &class.name).await;
    let verdicts = |d: &Option<Decision>| {
        d.as_ref().map(|d| {
            (d.outcome, d.decided_micros, d.rules.iter().map(|r| (r.code.clone(), r.passed)).collect::<Vec<_>>())
        })
    };
    let shown = all.iter().find(|c| c.name == approved.name).expect("listed");
    assert_eq!(verdicts(&shown.eligibility_at_proposal), verdicts(&approved.eligibility_at_proposal));
    assert_eq!(verdicts(&shown.eligibility_at_approval), verdicts(&approved.eligibility_at_approval));
    let age = |d: &Option<Decision>| {
        d.as_ref()
            .and_then(|d| d.rules.iter().find(|r| r.code == "ELIG-AGE"))
            .map(|r| r.reason_en.clone())
            .unwrap_or_default()
    };
    assert!(age(&approved.eligibility_at_approval).contains("is reached on"), "the officer reads the date");
    assert!(!age(&shown.eligibility_at_approval).contains('-'), "{}", age(&shown.eligibility_at_approval));
    let shown = all.iter().find(|c| c.name == early.name).expect("listed");
    assert_eq!(verdicts(&shown.eligibility_at_proposal), verdicts(&early.eligibility_at_proposal));
    assert!(all.iter().find(|c| c.name == removal.name).is_some_and(|c| c.eligibility_at_proposal.is_none()));
}

backend_tests!(start =>
    approving_an_addition_keeps_the_proposals_decision_beside_the_approvals,
);
