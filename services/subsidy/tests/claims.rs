//! Claims over the subsidy service's API, on SQLite and PostgreSQL, with the real selection and
//! supervision services as its peers and the outcome service's answers recorded by the test: the
//! walkthrough's project (23 on the roster, 20 completed, 14 of them employed: 70%, a standard of
//! 3,000 yuan) is claimed at 200% capped at 5,000 yuan a trainee, its zero lines naming their
//! rules; a claim one day past the deadline is refused; the export replays to the same fen.

mod common;

use common::*;
use qiancheng_api::subsidy::*;
use qiancheng_subsidy::peer::OutcomeFacts;
use tonic::Code;

async fn file(suite: &Suite, token: &str) -> Result<Claim, tonic::Status> {
    suite
        .client()
        .await
        .file_claim(authed(
            FileClaimRequest {
                claim: Some(Claim {
                    project: suite.project.clone(),
                    materials: every_material(),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
            token,
        ))
        .await
        .map(|r| r.into_inner().claim.expect("claim"))
}

async fn the_walkthrough_project_is_claimed_at_200_percent_capped_at_5000_yuan_and_replays(suite: &Suite) {
    claimable(suite).await;

    // SUBS-DEADLINE: six months after the last class's end (2027-10-30) is the last day.
    suite.clock.set(day(2027, 10, 31));
    let late = file(suite, &suite.provider_token()).await.expect_err("one day late");
    assert_eq!((late.code(), reason(&late)), (Code::FailedPrecondition, "SUBS-DEADLINE".to_owned()));
    // Another provider cannot claim for the project.
    suite.clock.set(day(2027, 10, 30));
    let other = file(suite, &suite.provider_of(&qiancheng_testkit::fixtures::uscc("52421221MJ0000009"))).await;
    assert_eq!(other.expect_err("not its project").code(), Code::PermissionDenied);

    let claim = file(suite, &suite.provider_token()).await.expect("filed on the last day");
    assert_eq!(claim.region_code, COUNTY);
    assert_eq!(claim.filed_on, Some(date(2027, 10, 30)));
    assert_eq!(claim.policy_version, "xianning-2025-5/v2");
    assert_eq!(claim.project_accepted_on, Some(date(2027, 9, 1)));
    assert_eq!(claim.lines.len(), 23);
    let rate = &claim.rates[0];
    assert_eq!((rate.positive, rate.completed, rate.tier_percent), (14, 20, 200));
    // 200% of 3,000 yuan is 6,000: capped at 5,000 a trainee, employed or not.
    let paid: Vec<&ClaimLine> = claim.lines.iter().filter(|l| l.amount_fen > 0).collect();
    assert_eq!(paid.len(), 20);
    assert!(paid.iter().all(|l| l.amount_fen == 500_000 && l.multiplier_percent == 200));
    assert!(paid.iter().all(|l| l.rules.iter().any(|r| r.code == "SUBS-CAP" && r.reason_en.contains("capped"))));
    assert_eq!(claim.total_fen, 20 * 500_000);
    // The zero lines name the rule that stopped them.
    let zero: Vec<&str> = claim.lines.iter().filter(|l| l.amount_fen == 0).map(|l| l.stopped_by.as_str()).collect();
    assert_eq!(zero, vec!["CLASS-ATTENDANCE"; 3]);
    // Names masked, ID numbers hidden, trainees named by their roster entry.
    for line in &claim.lines {
        let person = line.person.clone().expect("person");
        assert!(person.name.contains('*') && person.id_number.is_empty(), "{person:?}");
        assert!(line.trainee.starts_with("classes/"));
    }

    // One claim per project: filing again is refused, nothing stored.
    let again = file(suite, &suite.provider_token()).await.expect_err("claimed already");
    assert_eq!((again.code(), reason(&again)), (Code::AlreadyExists, "CLAIM_EXISTS".to_owned()));

    // What each role reads.
    let read = |token: String| {
        let name = claim.name.clone();
        async move { suite.client().await.get_claim(authed(GetClaimRequest { name }, &token)).await }
    };
    assert_eq!(
        read(suite.officer(COUNTY)).await.expect("the bureau reads it").into_inner().claim.expect("c").total_fen,
        20 * 500_000
    );
    read(suite.admin()).await.expect("the city reads every county's");
    read(suite.auditor()).await.expect("auditors read everything");
    read(suite.provider_token()).await.expect("the provider reads its own");
    assert_eq!(read(suite.officer(OTHER_COUNTY)).await.expect_err("another county").code(), Code::PermissionDenied);
    let listed = suite
        .client()
        .await
        .list_claims(authed(
            ListClaimsRequest::default(),
            &suite.provider_of(&qiancheng_testkit::fixtures::uscc("52421221MJ0000009")),
        ))
        .await
        .expect("listed")
        .into_inner();
    assert!(listed.claims.is_empty(), "another provider sees none");
    let own = suite
        .client()
        .await
        .list_claims(authed(ListClaimsRequest::default(), &suite.provider_token()))
        .await
        .expect("listed")
        .into_inner();
    assert_eq!(own.claims.len(), 1, "the provider's own, once");

    // The export replays to the same fen without the services.
    let facts = suite
        .client()
        .await
        .get_claim_facts(authed(GetClaimFactsRequest { name: claim.name.clone() }, &suite.auditor()))
        .await
        .expect("exported")
        .into_inner();
    let replayed = qiancheng_domain::policy::replay::evaluate_claim_json(&facts.facts_json).expect("replays");
    assert_eq!(replayed.outcome.total_fen.fen(), facts.total_fen);
    assert_eq!(facts.total_fen, claim.total_fen);
    let amounts: Vec<i64> = replayed.outcome.lines.iter().map(|l| l.amount_fen.fen()).collect();
    assert_eq!(amounts, claim.lines.iter().map(|l| l.amount_fen).collect::<Vec<_>>());
    let denied = suite
        .client()
        .await
        .get_claim_facts(authed(GetClaimFactsRequest { name: claim.name.clone() }, &suite.provider_token()))
        .await
        .expect_err("ID numbers are not for the provider");
    assert_eq!(denied.code(), Code::PermissionDenied);
}

async fn review(
    suite: &Suite,
    token: &str,
    name: &str,
    decision: ReviewDecision,
    exclusions: Vec<LineExclusion>,
    return_reasons: Vec<String>,
) -> Result<Claim, tonic::Status> {
    suite
        .client()
        .await
        .review_claim(authed(
            ReviewClaimRequest {
                name: name.to_owned(),
                decision: decision as i32,
                exclusions,
                return_reasons,
                ..Default::default()
            },
            token,
        ))
        .await
        .map(|r| r.into_inner().claim.expect("claim"))
}

async fn resubmit(suite: &Suite, name: &str, materials: Vec<i32>) -> Claim {
    suite
        .client()
        .await
        .resubmit_claim(authed(
            ResubmitClaimRequest { name: name.to_owned(), materials, ..Default::default() },
            &suite.provider_token(),
        ))
        .await
        .expect("refiled")
        .into_inner()
        .claim
        .expect("claim")
}

/// An objection from the public: no token at all.
async fn object(suite: &Suite, claim: &str, n: u32) -> Result<SubmitObjectionResponse, tonic::Status> {
    suite
        .client()
        .await
        .submit_objection(tonic::Request::new(SubmitObjectionRequest {
            claim: claim.to_owned(),
            contact: format!("1390000{n:04}"),
            text: format!("第{n}号学员未实际参训"),
            request_id: format!("public-{n}"),
        }))
        .await
        .map(tonic::Response::into_inner)
}

async fn approve(suite: &Suite, token: &str, name: &str) -> Result<Claim, tonic::Status> {
    suite
        .client()
        .await
        .approve_claim(authed(ApproveClaimRequest { name: name.to_owned(), ..Default::default() }, token))
        .await
        .map(|r| r.into_inner().claim.expect("claim"))
}

async fn resolve(
    suite: &Suite,
    token: &str,
    name: &str,
    finding: ObjectionFinding,
) -> Result<ResolveObjectionResponse, tonic::Status> {
    suite
        .client()
        .await
        .resolve_objection(authed(
            ResolveObjectionRequest {
                name: name.to_owned(),
                finding: finding as i32,
                finding_note: "经核查培训签到与视频记录".into(),
                ..Default::default()
            },
            token,
        ))
        .await
        .map(tonic::Response::into_inner)
}

fn refusal(status: &tonic::Status) -> (Code, String) {
    (status.code(), reason(status))
}

async fn a_claim_is_reviewed_put_on_notice_objected_to_and_approved_by_another_officer(suite: &Suite) {
    let trainees = run_class(suite).await;
    standards(suite).await;
    let evidence: std::collections::BTreeMap<_, _> =
        trainees.iter().take(14).map(|t| (t.clone(), employed())).collect();
    // Outcome has not recorded the project's acceptance yet.
    suite.outcomes.record(
        &suite.project,
        OutcomeFacts { evidence: evidence.clone().into_iter().collect(), ..OutcomeFacts::default() },
    );
    let reviewer = suite.officer(COUNTY);
    let approver = suite.officer_named("officer-b", COUNTY);

    // Friday 2027-10-29, the day before the deadline: filed with 附件4 only.
    suite.clock.set(day(2027, 10, 29));
    let filed = suite
        .client()
        .await
        .file_claim(authed(
            FileClaimRequest {
                claim: Some(Claim {
                    project: suite.project.clone(),
                    materials: vec![ClaimMaterial::Annex4 as i32],
                    ..Default::default()
                }),
                request_id: String::new(),
            },
            &suite.provider_token(),
        ))
        .await
        .expect("filed")
        .into_inner()
        .claim
        .expect("claim");
    let name = filed.name.clone();
    assert_eq!(filed.state, ClaimState::Filed as i32);

    // No acceptance, no review; another county and the city cannot decide the county's claim.
    let early =
        review(suite, &reviewer, &name, ReviewDecision::Accept, vec![], vec![]).await.expect_err("no acceptance");
    assert_eq!(refusal(&early), (Code::FailedPrecondition, "CLAIM_NOT_ACCEPTED".to_owned()));
    for token in [suite.officer(OTHER_COUNTY), suite.admin()] {
        let other = review(suite, &token, &name, ReviewDecision::Accept, vec![], vec![]).await.expect_err("SUBS-SOD");
        assert_eq!(refusal(&other), (Code::FailedPrecondition, "SUBS-SOD".to_owned()));
    }
    let provider_refused = review(suite, &suite.provider_token(), &name, ReviewDecision::Accept, vec![], vec![]).await;
    assert_eq!(provider_refused.expect_err("not an officer").code(), Code::PermissionDenied);

    // Returned with a reason; the provider refiles once outcome holds the acceptance.
    let returned =
        review(suite, &reviewer, &name, ReviewDecision::Return, vec![], vec!["项目尚未综合评估和验收".into()])
            .await
            .expect("returned");
    assert_eq!(returned.state, ClaimState::Returned as i32);
    assert_eq!(returned.return_reasons, vec!["项目尚未综合评估和验收".to_owned()]);
    suite.outcomes.record(
        &suite.project,
        OutcomeFacts {
            accepted_on: Some(day(2027, 9, 1)),
            evidence: evidence.into_iter().collect(),
            ..OutcomeFacts::default()
        },
    );
    let refiled = resubmit(suite, &name, vec![ClaimMaterial::Annex4 as i32]).await;
    assert_eq!((refiled.state, refiled.project_accepted_on), (ClaimState::Filed as i32, Some(date(2027, 9, 1))));
    assert_eq!(refiled.filed_on, Some(date(2027, 10, 29)), "the deadline counts from the first filing");
    // SUBS-MATERIALS: the ledger and the employment evidence are missing.
    let lacking = review(suite, &reviewer, &name, ReviewDecision::Accept, vec![], vec![]).await.expect_err("materials");
    assert_eq!(refusal(&lacking), (Code::FailedPrecondition, "SUBS-MATERIALS".to_owned()));
    review(suite, &reviewer, &name, ReviewDecision::Return, vec![], vec!["缺少培训台账和就业佐证资料".into()])
        .await
        .expect("returned again");
    resubmit(suite, &name, every_material()).await;

    // Accepted with one line excluded: on notice from Friday, five working days from Monday.
    let excluded = trainees[0].clone();
    let bad_line = review(
        suite,
        &reviewer,
        &name,
        ReviewDecision::Accept,
        vec![LineExclusion { trainee: "classes/X/trainees/Y".into(), reason: "x".into(), ..Default::default() }],
        vec![],
    )
    .await
    .expect_err("not a line of the claim");
    assert_eq!(bad_line.code(), Code::InvalidArgument);
    assert_eq!(bad_fields(&bad_line), vec!["exclusions[0].trainee".to_owned()]);
    let reviewed = review(
        suite,
        &reviewer,
        &name,
        ReviewDecision::Accept,
        vec![LineExclusion {
            trainee: excluded.clone(),
            reason: "同期参加其他补贴性培训".into(),
            ..Default::default()
        }],
        vec![],
    )
    .await
    .expect("accepted");
    assert_eq!(reviewed.state, ClaimState::OnNotice as i32);
    assert_eq!(reviewed.total_fen, 19 * 500_000);
    let notice = reviewed.notice.clone().expect("a notice");
    assert_eq!(
        (notice.published_on, notice.ends_on, notice.working_days),
        (Some(date(2027, 10, 29)), Some(date(2027, 11, 5)), 5)
    );
    let line = reviewed.lines.iter().find(|l| l.trainee == excluded).expect("the excluded line");
    assert_eq!((line.amount_fen, line.stopped_by.as_str()), (0, "CLAIM_LINE_EXCLUDED"));
    assert_eq!(reviewed.exclusions.len(), 1);
    assert_eq!(reviewed.reviewed_by, "test-county_officer");

    // The export carries the exclusion and replays to the same fen.
    let facts = suite
        .client()
        .await
        .get_claim_facts(authed(GetClaimFactsRequest { name: name.clone() }, &suite.auditor()))
        .await
        .expect("exported")
        .into_inner();
    assert!(facts.facts_json.contains("\"exclusions\""));
    let replayed = qiancheng_domain::policy::replay::evaluate_claim_json(&facts.facts_json).expect("replays");
    assert_eq!((replayed.outcome.total_fen.fen(), facts.total_fen), (19 * 500_000, 19 * 500_000));

    // The public notice, read without an account: names masked, no ID number.
    let notices = suite
        .client()
        .await
        .list_claim_notices(tonic::Request::new(ListClaimNoticesRequest::default()))
        .await
        .expect("public")
        .into_inner();
    assert_eq!(notices.claims.len(), 1);
    let shown = &notices.claims[0];
    assert_eq!((shown.claim.as_str(), shown.total_fen, shown.lines.len()), (name.as_str(), 19 * 500_000, 23));
    assert!(shown.lines.iter().all(|l| l.masked_name.contains('*')), "{:?}", shown.lines);
    let how = shown.notice.clone().expect("window").how_to_object;
    assert!(how.contains("本公示页面") && how.contains("嘉鱼县人力资源和社会保障局"), "{how}");
    let bad_token = suite
        .client()
        .await
        .list_claim_notices(authed(ListClaimNoticesRequest::default(), "not.a.token"))
        .await
        .expect_err("a token given must be valid");
    assert_eq!(bad_token.code(), Code::Unauthenticated);

    // Monday: an objection from the public, upheld: back to review, calculated again.
    suite.clock.set(day(2027, 11, 1));
    let first = object(suite, &name, 1).await.expect("objected");
    assert_eq!(first.notice_ends_on, Some(date(2027, 11, 5)));
    let upheld = resolve(suite, &reviewer, &first.name, ObjectionFinding::Upheld).await.expect("upheld");
    let back = upheld.claim.expect("claim");
    assert_eq!((back.state, back.total_fen, back.notice.is_none()), (ClaimState::Filed as i32, 20 * 500_000, true));
    assert!(back.exclusions.is_empty());
    let closed = object(suite, &name, 2).await.expect_err("not on notice");
    assert_eq!(refusal(&closed), (Code::FailedPrecondition, "SUBS-NOTICE".to_owned()));
    let again = resolve(suite, &reviewer, &first.name, ObjectionFinding::Dismissed).await.expect_err("resolved");
    assert_eq!(refusal(&again), (Code::FailedPrecondition, "OBJECTION_RESOLVED".to_owned()));

    // Reviewed again: a new notice from Monday ends the next Monday, across the weekend.
    let renewed = review(suite, &reviewer, &name, ReviewDecision::Accept, vec![], vec![]).await.expect("reviewed");
    let notice = renewed.notice.expect("a new notice");
    assert_eq!((notice.published_on, notice.ends_on), (Some(date(2027, 11, 1)), Some(date(2027, 11, 8))));
    suite.clock.set(day(2027, 11, 2));
    let second = object(suite, &name, 3).await.expect("objected");
    // A retry with the same request_id is answered as before and stores nothing more.
    assert_eq!(object(suite, &name, 3).await.expect("retried").name, second.name);
    let by_phone = suite
        .client()
        .await
        .record_objection(authed(
            RecordObjectionRequest {
                claim: name.clone(),
                channel: ObjectionChannel::Phone as i32,
                contact: "0715-8123456".into(),
                text: "来电反映第5号学员已在职".into(),
                request_id: String::new(),
            },
            &approver,
        ))
        .await
        .expect("recorded")
        .into_inner()
        .objection
        .expect("objection");

    // Approval waits for the end of the notice and for every objection.
    suite.clock.set(day(2027, 11, 8));
    let during = approve(suite, &approver, &name).await.expect_err("notice runs");
    assert_eq!(refusal(&during), (Code::FailedPrecondition, "SUBS-NOTICE".to_owned()));
    suite.clock.set(day(2027, 11, 9));
    let late = object(suite, &name, 4).await.expect_err("the notice ended");
    assert_eq!(refusal(&late), (Code::FailedPrecondition, "SUBS-NOTICE".to_owned()));
    let open = approve(suite, &approver, &name).await.expect_err("objections open");
    assert_eq!(refusal(&open), (Code::FailedPrecondition, "SUBS-NOTICE".to_owned()));
    for objection in [&second.name, &by_phone.name] {
        let dismissed = resolve(suite, &approver, objection, ObjectionFinding::Dismissed).await.expect("dismissed");
        assert_eq!(dismissed.claim.expect("claim").state, ClaimState::OnNotice as i32);
    }

    // SUBS-SOD: not the reviewer, not another county; another officer of the county approves.
    let own = approve(suite, &reviewer, &name).await.expect_err("the reviewer");
    assert_eq!(refusal(&own), (Code::FailedPrecondition, "SUBS-SOD".to_owned()));
    let foreign =
        approve(suite, &suite.officer_named("officer-c", OTHER_COUNTY), &name).await.expect_err("another county");
    assert_eq!(refusal(&foreign), (Code::FailedPrecondition, "SUBS-SOD".to_owned()));
    let approved = approve(suite, &approver, &name).await.expect("approved");
    assert_eq!((approved.state, approved.approved_by.as_str()), (ClaimState::Approved as i32, "officer-b"));
    assert_eq!((approved.approved_on, approved.total_fen), (Some(date(2027, 11, 9)), 20 * 500_000));

    // The objections as officers and auditors read them, contacts opened.
    let listed = suite
        .client()
        .await
        .list_objections(authed(ListObjectionsRequest { claim: name.clone(), ..Default::default() }, &suite.auditor()))
        .await
        .expect("listed")
        .into_inner()
        .objections;
    assert_eq!(listed.len(), 3);
    assert!(listed.iter().any(|o| o.contact == "13900000001" && o.finding == ObjectionFinding::Upheld as i32));
    assert!(
        listed
            .iter()
            .any(|o| o.channel == ObjectionChannel::Phone as i32 && o.finding == ObjectionFinding::Dismissed as i32)
    );
    assert!(listed.iter().all(|o| o.recorded_by == "public" || o.recorded_by == "officer-b"));
    // The contact is sealed at rest.
    let stored: Vec<String> = sqlx::query_scalar("SELECT contact_cipher FROM claim_objection")
        .fetch_all(suite.subsidy.db.pool())
        .await
        .expect("read");
    assert!(stored.iter().all(|c| !c.contains("1390000")), "{stored:?}");

    // The public RPC is rate-limited per peer: eleven calls in a row cannot all pass two windows.
    let mut limited = 0;
    for n in 10..21 {
        if let Err(status) = object(suite, &name, n).await
            && reason(&status) == "RATE_LIMITED"
        {
            assert_eq!(status.code(), Code::ResourceExhausted);
            limited += 1;
        }
    }
    assert!(limited > 0, "no call was rate-limited");
}

async fn a_rate_change_before_release_recalculates_the_claim_and_sends_it_back_to_review(suite: &Suite) {
    let trainees = run_class(suite).await;
    standards(suite).await;
    let outcome_with = |count: usize| OutcomeFacts {
        accepted_on: Some(day(2027, 9, 1)),
        evidence: trainees.iter().take(count).map(|t| (t.clone(), employed())).collect(),
        ..OutcomeFacts::default()
    };
    suite.outcomes.record(&suite.project, outcome_with(14));
    suite.clock.set(day(2027, 10, 29));
    let claim = file(suite, &suite.provider_token()).await.expect("filed");
    let reviewed = review(suite, &suite.officer(COUNTY), &claim.name, ReviewDecision::Accept, vec![], vec![])
        .await
        .expect("on notice");
    assert_eq!((reviewed.state, reviewed.total_fen), (ClaimState::OnNotice as i32, 20 * 500_000));

    // Outcome re-verifies one employment away: 13/20 = 65%, the 100% tier, 3,000 yuan a trainee.
    suite.outcomes.record(&suite.project, outcome_with(13));
    suite.outcomes.announce_rate_change(&suite.project);
    let mut followed = None;
    for _ in 0..200 {
        let read = suite
            .client()
            .await
            .get_claim(authed(GetClaimRequest { name: claim.name.clone() }, &suite.auditor()))
            .await
            .expect("read")
            .into_inner()
            .claim
            .expect("claim");
        if read.state == ClaimState::Filed as i32 {
            followed = Some(read);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let followed = followed.expect("the follower sent the claim back to review");
    assert_eq!(followed.total_fen, 20 * 300_000);
    assert_eq!(followed.rates[0].tier_percent, 100);
    assert!(followed.notice.is_none() && followed.reviewed_by.is_empty());
    // A new review puts it on a new notice.
    let again = review(suite, &suite.officer(COUNTY), &claim.name, ReviewDecision::Accept, vec![], vec![])
        .await
        .expect("reviewed again");
    assert_eq!((again.state, again.total_fen), (ClaimState::OnNotice as i32, 20 * 300_000));
}

async fn reexamine(suite: &Suite, claim: &str, trainee: &str) -> Result<Reexamination, tonic::Status> {
    suite
        .client()
        .await
        .request_reexamination(authed(
            RequestReexaminationRequest {
                claim: claim.to_owned(),
                trainee: trainee.to_owned(),
                grounds: "学员已提供补充考勤记录".into(),
                request_id: String::new(),
            },
            &suite.provider_token(),
        ))
        .await
        .map(|r| r.into_inner().reexamination.expect("reexamination"))
}

async fn decide(
    suite: &Suite,
    token: &str,
    name: &str,
    finding: ObjectionFinding,
) -> Result<DecideReexaminationResponse, tonic::Status> {
    suite
        .client()
        .await
        .decide_reexamination(authed(
            DecideReexaminationRequest {
                name: name.to_owned(),
                finding: finding as i32,
                finding_note: "复核意见".into(),
                ..Default::default()
            },
            token,
        ))
        .await
        .map(tonic::Response::into_inner)
}

async fn an_excluded_line_and_a_return_are_reexamined_once_within_the_period_by_an_officer_who_took_no_part(
    suite: &Suite,
) {
    let trainees = run_class(suite).await;
    standards(suite).await;
    suite.outcomes.record(
        &suite.project,
        OutcomeFacts {
            accepted_on: Some(day(2027, 9, 1)),
            evidence: trainees.iter().take(14).map(|t| (t.clone(), employed())).collect(),
            ..OutcomeFacts::default()
        },
    );
    let (reviewer, other) = (suite.officer(COUNTY), suite.officer_named("officer-b", COUNTY));
    suite.clock.set(day(2027, 10, 29));
    let claim = file(suite, &suite.provider_token()).await.expect("filed");
    let excluded = trainees[0].clone();
    review(
        suite,
        &reviewer,
        &claim.name,
        ReviewDecision::Accept,
        vec![LineExclusion { trainee: excluded.clone(), reason: "考勤存疑".into(), ..Default::default() }],
        vec![],
    )
    .await
    .expect("accepted with a line excluded");

    // Only an excluded line, and once.
    let not_excluded = reexamine(suite, &claim.name, &trainees[1]).await.expect_err("not excluded");
    assert_eq!(not_excluded.code(), Code::InvalidArgument);
    let asked = reexamine(suite, &claim.name, &excluded).await.expect("asked");
    assert_eq!((asked.decision_on, asked.appeal_rights.as_str()), (Some(date(2027, 10, 29)), ""));
    let twice = reexamine(suite, &claim.name, &excluded).await.expect_err("once");
    assert_eq!(refusal(&twice), (Code::AlreadyExists, "REEXAMINATION_EXISTS".to_owned()));

    // Decided by an officer who took no part; upheld, the line is restored and the claim reviewed again.
    let own = decide(suite, &reviewer, &asked.name, ObjectionFinding::Upheld).await.expect_err("the reviewer");
    assert_eq!(refusal(&own), (Code::FailedPrecondition, "SUBS-SOD".to_owned()));
    let upheld = decide(suite, &other, &asked.name, ObjectionFinding::Upheld).await.expect("upheld");
    let told = upheld.reexamination.expect("reexamination");
    assert!(told.appeal_rights.contains("行政复议"), "{}", told.appeal_rights);
    let back = upheld.claim.expect("claim");
    assert_eq!((back.state, back.total_fen, back.exclusions.len()), (ClaimState::Filed as i32, 20 * 500_000, 0));

    // A return, re-examined within fifteen days of the review, not after.
    suite.clock.set(day(2027, 11, 1));
    review(suite, &reviewer, &claim.name, ReviewDecision::Return, vec![], vec!["台账与花名册不一致".into()])
        .await
        .expect("returned");
    suite.clock.set(day(2027, 11, 17));
    let late = reexamine(suite, &claim.name, "").await.expect_err("after the period");
    assert_eq!(refusal(&late), (Code::FailedPrecondition, "REEXAMINATION_PERIOD".to_owned()));
    suite.clock.set(day(2027, 11, 16));
    let asked = reexamine(suite, &claim.name, "").await.expect("the last day of the period");
    let dismissed = decide(suite, &other, &asked.name, ObjectionFinding::Dismissed).await.expect("dismissed");
    assert_eq!(dismissed.claim.expect("claim").state, ClaimState::Returned as i32);
    assert!(dismissed.reexamination.expect("r").appeal_rights.contains("行政复议"));
    let listed = suite
        .client()
        .await
        .list_reexaminations(authed(
            ListReexaminationsRequest { claim: claim.name.clone(), ..Default::default() },
            &suite.provider_token(),
        ))
        .await
        .expect("the provider reads its own")
        .into_inner()
        .reexaminations;
    assert_eq!(listed.len(), 2);
}

qiancheng_testkit::backend_tests!(start_suite =>
    the_walkthrough_project_is_claimed_at_200_percent_capped_at_5000_yuan_and_replays,
    a_claim_is_reviewed_put_on_notice_objected_to_and_approved_by_another_officer,
    a_rate_change_before_release_recalculates_the_claim_and_sends_it_back_to_review,
    an_excluded_line_and_a_return_are_reexamined_once_within_the_period_by_an_officer_who_took_no_part,
);

/// The same walkthrough with the real outcome service beside supervision: outcome follows the
/// completed class from supervision's change feed, officers record the evidence of 14 of the 20
/// who completed, the project is accepted, and subsidy reads acceptance and verdicts over gRPC
/// with its own identity: outcome's 14/20 sets the 200% tier.
mod with_outcome {
    use super::*;
    use qiancheng_api::outcome::{Basis, GetProjectRatesRequest};

    async fn a_real_rate_from_outcome_sets_the_tier(suite: &Suite) {
        let trainees = run_class(suite).await;
        standards(suite).await;
        followed(suite, &suite.project).await;
        record_employment(suite, &trainees[..14]).await;
        let rates = outcome_client(suite)
            .await
            .get_project_rates(authed(
                GetProjectRatesRequest { project: suite.project.clone(), as_of: Some(date(2027, 10, 30)) },
                &suite.admin(),
            ))
            .await
            .expect("rates")
            .into_inner();
        let employment = rates.rates.iter().find(|r| r.basis == Basis::Employment as i32).expect("employment rate");
        assert_eq!((employment.numerator, employment.denominator), (14, 20));
        accept(suite, &suite.project).await;

        // Nothing is recorded in the test's outcomes: everything comes from the outcome service.
        suite.clock.set(day(2027, 10, 30));
        let claim = file(suite, &suite.provider_token()).await.expect("filed");
        assert_eq!(claim.project_accepted_on, Some(date(2027, 10, 30)));
        let rate = &claim.rates[0];
        assert_eq!((rate.positive, rate.completed, rate.tier_percent), (14, 20, 200));
        assert_eq!(claim.total_fen, 20 * 500_000);
        let facts = suite
            .client()
            .await
            .get_claim_facts(authed(GetClaimFactsRequest { name: claim.name.clone() }, &suite.auditor()))
            .await
            .expect("exported")
            .into_inner();
        let replayed = qiancheng_domain::policy::replay::evaluate_claim_json(&facts.facts_json).expect("replays");
        assert_eq!(replayed.outcome.total_fen.fen(), claim.total_fen, "outcome's verdicts travel with the facts");
    }

    qiancheng_testkit::backend_tests!(start_suite_with_outcome => a_real_rate_from_outcome_sets_the_tier);

    /// Outcome goes down after the project was accepted: the provider's claim is refused
    /// UNAVAILABLE naming outcome (the reason PEER_UNAVAILABLE), and nothing is stored; once
    /// outcome is back the same claim is filed. (Selection down during FileClaim and
    /// ReleasePayment is tried against `serve` processes in services/qiancheng/tests/subsidy_crash.rs.)
    async fn a_claim_filed_while_outcome_is_down_is_refused_unavailable_and_nothing_is_stored(backend: Backend) {
        let Some(mut suite) = start_suite_with_outcome(backend).await else { return };
        let trainees = run_class(&suite).await;
        standards(&suite).await;
        followed(&suite, &suite.project).await;
        record_employment(&suite, &trainees[..14]).await;
        accept(&suite, &suite.project).await;
        let outcome = suite.outcome.take().expect("outcome runs");
        // Stopped; a stop that waits on a call of the follower is cut short by the drop.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), outcome.server.stop()).await;

        suite.clock.set(day(2027, 10, 30));
        let refused = file(&suite, &suite.provider_token()).await.expect_err("outcome is down");
        assert_eq!(
            (refused.code(), reason(&refused)),
            (Code::Unavailable, "PEER_UNAVAILABLE".to_owned()),
            "{refused:?}"
        );
        assert!(refused.message().contains("outcome"), "the status names outcome: {}", refused.message());
        let listed = suite
            .client()
            .await
            .list_claims(authed(ListClaimsRequest::default(), &suite.auditor()))
            .await
            .expect("listed")
            .into_inner();
        assert!(listed.claims.is_empty(), "nothing stored");
    }

    #[tokio::test]
    async fn a_claim_filed_while_outcome_is_down_is_refused_unavailable_and_nothing_is_stored_on_sqlite() {
        a_claim_filed_while_outcome_is_down_is_refused_unavailable_and_nothing_is_stored(Backend::Sqlite).await;
    }

    #[tokio::test]
    async fn a_claim_filed_while_outcome_is_down_is_refused_unavailable_and_nothing_is_stored_on_postgres() {
        a_claim_filed_while_outcome_is_down_is_refused_unavailable_and_nothing_is_stored(Backend::Postgres).await;
    }
}
