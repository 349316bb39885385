//! The outcome service tried as a new user would, with the real selection and supervision
//! services beside it (each on its own server and database): a project is approved in
//! selection; a class of 25 is filed in supervision, of whom a budget-paid person (ELIG-FISCAL)
//! and a person on an earlier overlapping class (ELIG-OVERLAP) are kept off the roster, so 23 are
//! on it; one attends under 80% of the hours, one fails the assessment and one withdraws, so 20
//! count. The class completes and outcome picks it up by following supervision's change feed,
//! without being told. Evidence arrives by every route, from the provider (accepted by an
//! officer) and from officers; the rate reads 14/20; an acceptance turned down on
//! re-examination by a third officer makes it 13/20, which appears in the rate change feed;
//! the project is accepted; the public figures show it without personal data.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use qiancheng_api::outcome::outcome_service_client::OutcomeServiceClient;
use qiancheng_api::outcome::*;
use qiancheng_api::selection::selection_service_client::SelectionServiceClient;
use qiancheng_api::selection::{self as sel};
use qiancheng_api::supervision::supervision_service_client::SupervisionServiceClient;
use qiancheng_api::supervision::{self as sup};
use qiancheng_api::types::{Date, TargetGroup};
use qiancheng_outcome::{Clock, FeedPort, PeerFeed, SpecWith};
use qiancheng_platform::auth::Role;
use qiancheng_platform::service::Peers;
use qiancheng_supervision::SpecWithClock;
use qiancheng_testkit::selection::{ProjectToApprove, approve_project};
use qiancheng_testkit::{Backend, Keys, TestService, authed, backend_tests, fixtures, refusal};
use tonic::Code;
use tonic::transport::Channel;

const COUNTY: &str = "421221";
const OTHER_COUNTY: &str = "421222";
const CITY: &str = "421200";

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a date")
}

fn date(y: i32, m: i32, d: i32) -> Option<Date> {
    Some(Date { year: y, month: m, day: d })
}

/// The three services, their clocks, the provider and the approved project.
struct App {
    selection: TestService,
    supervision: TestService,
    outcome: TestService,
    supervision_clock: qiancheng_supervision::Clock,
    outcome_clock: Clock,
    provider: String,
    project: String,
}

async fn start(backend: Backend) -> Option<App> {
    let keys = Keys::new();
    let selection =
        TestService::start_with(&qiancheng_selection::Spec, backend, keys.clone(), Peers::default()).await?;
    let supervision_clock = qiancheng_supervision::Clock::fixed(day(2026, 12, 1));
    let peers = Peers::new([keys.peer_for("supervision", "selection", selection.server.addr)]);
    let supervision =
        TestService::start_with(&SpecWithClock(supervision_clock.clone()), backend, keys.clone(), peers).await?;
    let peers = Peers::new([
        keys.peer_for("outcome", "supervision", supervision.server.addr),
        keys.peer_for("outcome", "selection", selection.server.addr),
    ]);
    let feed: Arc<dyn FeedPort> = Arc::new(PeerFeed::new(peers.clone()));
    let outcome_clock = Clock::fixed(day(2027, 11, 1));
    let spec = SpecWith { clock: outcome_clock.clone(), feed: Some((feed, Duration::from_millis(100))) };
    let outcome = TestService::start_with(&spec, backend, keys, peers).await?;
    let mut app = App {
        selection,
        supervision,
        outcome,
        supervision_clock,
        outcome_clock,
        provider: String::new(),
        project: String::new(),
    };
    let admin = app.admin();
    let mut selection = SelectionServiceClient::new(app.selection.channel().await);
    for region in [CITY, COUNTY] {
        let quota = sel::Quota {
            region_code: region.into(),
            year: 2099,
            trainees: 1_000_000,
            basis: "就业补助资金预算与省厅培训任务".into(),
            ..Default::default()
        };
        selection
            .set_quota(authed(sel::SetQuotaRequest { quota: Some(quota), request_id: String::new() }, &admin))
            .await
            .expect("quota set");
    }
    let officer = app.officer("officer-a", COUNTY);
    let project = ProjectToApprove {
        county: COUNTY,
        seed: "0000017",
        headcount: 60,
        hours: 100,
        deadline: Date { year: 2099, month: 12, day: 31 },
    };
    let keys = app.outcome.keys.clone();
    let (provider, project) =
        approve_project(&mut selection, &officer, |code| keys.token(Role::Provider, None, Some(code)), project).await;
    app.provider = provider;
    app.project = project;
    Some(app)
}

impl App {
    fn admin(&self) -> String {
        self.outcome.keys.token(Role::CityAdmin, Some(CITY), None)
    }
    /// A county officer with a subject of their own.
    fn officer(&self, subject: &str, county: &str) -> String {
        self.outcome.keys.minter.mint(subject, &[Role::CountyOfficer], Some(county), None, 3600).expect("a token")
    }
    fn provider_token(&self) -> String {
        self.outcome.keys.token(Role::Provider, None, Some(&self.provider))
    }
    async fn outcome(&self) -> OutcomeServiceClient<Channel> {
        OutcomeServiceClient::new(self.outcome.channel().await)
    }
    async fn supervision(&self) -> SupervisionServiceClient<Channel> {
        SupervisionServiceClient::new(self.supervision.channel().await)
    }
}

/// Person `n` of 咸宁, born 1990.
fn person(n: u32) -> sup::TraineeInput {
    sup::TraineeInput {
        person_name: format!("学员{n}号"),
        id_number: fixtures::id_number(&format!("42120219900101{:03}", 100 + n)),
        phone: format!("138{n:08}"),
        target_group: TargetGroup::RuralMigrant as i32,
        local_basis: sup::LocalBasis::HouseholdRegistration as i32,
        local_basis_evidence: "户口簿".into(),
        ..Default::default()
    }
}

fn class(project: &str, first: Option<Date>, last: Option<Date>) -> sup::Class {
    sup::Class {
        project: project.into(),
        title: "嘉鱼焊工培训".into(),
        first_day: first,
        last_day: last,
        theory_hours: 40,
        practice_hours: 60,
        mode: qiancheng_api::types::TrainingMode::Offline as i32,
        venue: "嘉鱼县实训基地".into(),
        teachers: vec![sup::Teacher { name: "王师傅".into(), qualification: "焊工一级/高级技师".into() }],
        ..Default::default()
    }
}

/// Files, runs and completes the class in supervision; returns its 23 trainees in roster order
/// (person 0 first).
async fn run_the_class(app: &App) -> Vec<sup::Trainee> {
    let provider = app.provider_token();
    let officer = app.officer("officer-a", COUNTY);
    let mut supervision = app.supervision().await;
    // An earlier class of person 31, overlapping the next one; it is stopped later.
    let earlier = supervision
        .create_class(authed(
            sup::CreateClassRequest {
                class: Some(class(&app.project, date(2027, 3, 1), date(2027, 3, 31))),
                roster: vec![person(31)],
                request_id: String::new(),
            },
            &provider,
        ))
        .await
        .expect("the earlier class is filed")
        .into_inner()
        .class
        .expect("a class");
    // 23 people, a budget-paid one and person 31.
    let mut roster: Vec<sup::TraineeInput> = (0..23).map(person).collect();
    roster.push(sup::TraineeInput { budget_paid: true, ..person(30) });
    roster.push(person(31));
    let filed = supervision
        .create_class(authed(
            sup::CreateClassRequest {
                class: Some(class(&app.project, date(2027, 3, 1), date(2027, 4, 30))),
                roster,
                request_id: String::new(),
            },
            &provider,
        ))
        .await
        .expect("the class is filed")
        .into_inner();
    let mut refused: Vec<String> = filed.refused.iter().map(|r| r.reason.clone()).collect();
    refused.sort();
    assert_eq!(refused, ["ELIG-FISCAL", "ELIG-OVERLAP"], "supervision keeps them off the roster");
    assert_eq!(filed.trainees.len(), 23, "23 on the roster");
    let class = filed.class.expect("a class");
    supervision
        .acknowledge_class(authed(
            sup::AcknowledgeClassRequest { name: class.name.clone(), ..Default::default() },
            &officer,
        ))
        .await
        .expect("acknowledged");
    // Fifty sessions of two hours from 1 March: the 40 theory hours filed, then the 60 practice.
    let sessions: Vec<sup::Session> = (0..50)
        .map(|i| sup::Session {
            held_on: Some(qiancheng_api::convert::date_to_proto(day(2027, 3, 1) + chrono::Days::new(i))),
            hours: 2,
            kind: if i < 20 { sup::SessionKind::Theory } else { sup::SessionKind::Practice } as i32,
            topic: if i < 20 { "焊接理论" } else { "焊接实操" }.into(),
            ..Default::default()
        })
        .collect();
    let sessions = supervision
        .create_sessions(authed(
            sup::CreateSessionsRequest { class: class.name.clone(), sessions, request_id: String::new() },
            &provider,
        ))
        .await
        .expect("sessions")
        .into_inner()
        .sessions;
    let mut trainees = filed.trainees.clone();
    trainees.sort_by_key(|t| t.person.clone().map(|p| p.phone).unwrap_or_default());
    // The class has run: its days have come on supervision's clock, so its check-ins are taken.
    app.supervision_clock.set(day(2027, 4, 30));
    // Person 0 misses eleven sessions: 78 of 100 hours.
    let mut events = Vec::new();
    for (n, trainee) in trainees.iter().enumerate() {
        for (i, session) in sessions.iter().enumerate() {
            if n == 0 && i < 11 {
                continue;
            }
            let held = session.held_on.expect("a day");
            let when = day(held.year, u32::try_from(held.month).expect("month"), u32::try_from(held.day).expect("day"))
                .and_hms_opt(0, 0, 0)
                .expect("midnight")
                .and_utc()
                .timestamp_micros();
            events.push(sup::CheckIn {
                event_id: format!("{n}-{i}"),
                session: session.name.clone(),
                trainee: trainee.name.clone(),
                checked_in_micros: when,
                device: "gate-1".into(),
                ..Default::default()
            });
        }
    }
    let chunks: Vec<sup::StreamAttendanceRequest> = events
        .chunks(500)
        .map(|c| sup::StreamAttendanceRequest { class: class.name.clone(), events: c.to_vec() })
        .collect();
    let mut acks = supervision
        .stream_attendance(authed(tokio_stream::iter(chunks), &provider))
        .await
        .expect("stream")
        .into_inner();
    while acks.message().await.expect("acks").is_some() {}
    // Person 1 fails the assessment; the others pass.
    let results = trainees
        .iter()
        .enumerate()
        .map(|(n, t)| sup::TraineeAssessment {
            trainee: t.name.clone(),
            result: if n == 1 { sup::AssessmentResult::Failed } else { sup::AssessmentResult::Passed } as i32,
        })
        .collect();
    supervision
        .record_assessments(authed(
            sup::RecordAssessmentsRequest { class: class.name.clone(), results, request_id: String::new() },
            &provider,
        ))
        .await
        .expect("assessed");
    // Person 2 withdraws.
    supervision
        .terminate_trainee(authed(
            sup::TerminateTraineeRequest {
                name: trainees[2].name.clone(),
                reason: "离训".into(),
                ..Default::default()
            },
            &provider,
        ))
        .await
        .expect("withdrawn");
    supervision
        .complete_class(authed(sup::CompleteClassRequest { name: class.name.clone(), ..Default::default() }, &provider))
        .await
        .expect("completed");
    supervision
        .stop_class(authed(
            sup::StopClassRequest { name: earlier.name.clone(), reason: "学员不足".into(), ..Default::default() },
            &provider,
        ))
        .await
        .expect("the earlier class is stopped");
    trainees
}

/// Outcome's name of a supervision roster entry.
fn watched(trainee: &sup::Trainee) -> String {
    format!("trainees/{}", trainee.name.rsplit('/').next().expect("an id"))
}

/// Waits until outcome has followed the completed class (it is never told).
async fn followed(app: &App, trainees: &[sup::Trainee]) -> Vec<Trainee> {
    let admin = app.admin();
    for _ in 0..300 {
        let listed = app
            .outcome()
            .await
            .list_trainees(authed(
                ListTraineesRequest { project: app.project.clone(), page_size: 100, ..Default::default() },
                &admin,
            ))
            .await
            .expect("trainees")
            .into_inner()
            .trainees;
        let first = listed.iter().find(|t| t.name == watched(&trainees[0]));
        let stopped = listed.iter().filter(|t| t.excluded_by == "CLASS-COMPLETION").count();
        if listed.len() == 24 && first.is_some_and(|t| t.excluded_by == "CLASS-ATTENDANCE") && stopped == 3 {
            return listed;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let listed = app
        .outcome()
        .await
        .list_trainees(authed(
            ListTraineesRequest { project: app.project.clone(), page_size: 100, ..Default::default() },
            &admin,
        ))
        .await
        .expect("trainees")
        .into_inner()
        .trainees;
    let seen: Vec<(String, bool)> = listed.iter().map(|t| (t.excluded_by.clone(), t.counted)).collect();
    panic!("outcome did not follow supervision's change feed: {} watched, {seen:?}", listed.len());
}

fn org(n: u32) -> String {
    fixtures::uscc(&format!("91421221MA4K7Y{n:03}"))
}

fn months(ms: &[u32]) -> Vec<String> {
    ms.iter().map(|m| format!("2027-{m:02}")).collect()
}

/// An item of evidence for `trainee` with a document.
fn item(trainee: &str, kind: EvidenceKind) -> EvidenceInput {
    EvidenceInput {
        trainee: trainee.into(),
        kind: kind as i32,
        media_type: "application/pdf".into(),
        document_content: format!("scan of {kind:?} for {trainee}").into_bytes(),
        ..Default::default()
    }
}

fn contract(trainee: &str, employer: &str) -> EvidenceInput {
    EvidenceInput {
        contract: Some(ContractEvidence {
            employer_credit_code: employer.into(),
            kind: ContractKind::Labour as i32,
            signed_on: date(2027, 5, 1),
            ..Default::default()
        }),
        ..item(trainee, EvidenceKind::Contract)
    }
}

fn insurance(trainee: &str, employer: &str, ms: &[u32]) -> EvidenceInput {
    EvidenceInput {
        insurance: Some(InsuranceEvidence {
            employer_credit_code: employer.into(),
            months: months(ms),
            region_code: COUNTY.into(),
            ..Default::default()
        }),
        ..item(trainee, EvidenceKind::Insurance)
    }
}

fn wages(trainee: &str, employer: &str, relation: PayerRelation) -> EvidenceInput {
    EvidenceInput {
        wages: Some(WageEvidence {
            employer_credit_code: employer.into(),
            payer_relation: relation as i32,
            months: months(&[5, 6, 7]),
            amount_fen: 900_000,
        }),
        ..item(trainee, EvidenceKind::Wages)
    }
}

fn service(trainee: &str, route: ServiceRoute, work_region: &str) -> EvidenceInput {
    EvidenceInput {
        service: Some(ServiceEvidence {
            route: route as i32,
            counterparty: "某餐饮店".into(),
            start_on: date(2027, 5, 1),
            end_on: date(2027, 10, 31),
            work_region_code: work_region.into(),
            platform: String::new(),
        }),
        ..item(trainee, EvidenceKind::Service)
    }
}

fn payment(trainee: &str, engagement: &str, paid_on: Option<Date>, fen: i64, note: &[u32]) -> EvidenceInput {
    EvidenceInput {
        service_payment: Some(ServicePaymentEvidence {
            engagement: engagement.into(),
            channel: PaymentChannel::Bank as i32,
            payer: "某餐饮店".into(),
            paid_on,
            amount_fen: fen,
            note_months: months(note),
        }),
        ..item(trainee, EvidenceKind::ServicePayment)
    }
}

const PAY_DAYS: [(i32, i32); 6] = [(5, 31), (6, 30), (7, 31), (8, 31), (9, 30), (10, 30)];

impl App {
    /// An officer records `input`: it counts at once.
    async fn record(&self, input: EvidenceInput) -> Evidence {
        self.outcome()
            .await
            .record_evidence(authed(
                RecordEvidenceRequest {
                    evidence: Some(input), note: "社保系统查询".into(), request_id: String::new()
                },
                &self.officer("officer-a", COUNTY),
            ))
            .await
            .expect("recorded")
            .into_inner()
            .evidence
            .expect("evidence")
    }

    /// The provider submits `input` and officer A accepts it.
    async fn submitted_and_accepted(&self, input: EvidenceInput) -> Evidence {
        let submitted = self
            .outcome()
            .await
            .submit_evidence(authed(
                SubmitEvidenceRequest { evidence: Some(input), request_id: String::new() },
                &self.provider_token(),
            ))
            .await
            .expect("submitted")
            .into_inner()
            .evidence
            .expect("evidence");
        assert_eq!(submitted.state, EvidenceState::Pending as i32);
        self.outcome()
            .await
            .accept_evidence(authed(
                AcceptEvidenceRequest { name: submitted.name, reason: "材料齐全".into(), ..Default::default() },
                &self.officer("officer-a", COUNTY),
            ))
            .await
            .expect("accepted")
            .into_inner()
            .evidence
            .expect("evidence")
    }

    /// A service engagement with six monthly payments of `fen`.
    async fn paid_service(&self, trainee: &str, route: ServiceRoute, work_region: &str, fen: i64) {
        let engagement = self.record(service(trainee, route, work_region)).await;
        for (m, d) in PAY_DAYS {
            self.record(payment(trainee, &engagement.name, date(2027, m, d), fen, &[])).await;
        }
    }

    async fn rates(&self) -> GetProjectRatesResponse {
        self.outcome()
            .await
            .get_project_rates(authed(
                GetProjectRatesRequest { project: self.project.clone(), as_of: None },
                &self.admin(),
            ))
            .await
            .expect("rates")
            .into_inner()
    }
}

fn employment(rates: &GetProjectRatesResponse) -> (i64, i64) {
    let rate = rates.rates.iter().find(|r| r.basis == Basis::Employment as i32).expect("an employment rate");
    (rate.numerator, rate.denominator)
}

async fn a_class_is_followed_judged_by_every_route_re_examined_and_accepted(app: &App) {
    let admin = app.admin();
    for (region, from, fen) in [(CITY, date(2021, 12, 1), 221_000), ("420100", date(2021, 1, 1), 250_000)] {
        app.outcome()
            .await
            .set_minimum_wage(authed(
                SetMinimumWageRequest {
                    region_code: region.into(),
                    effective_date: from,
                    monthly_fen: fen,
                    source: "SAMPLE figure".into(),
                    request_id: String::new(),
                },
                &admin,
            ))
            .await
            .expect("minimum wage set");
    }
    let trainees = run_the_class(app).await;
    let listed = followed(app, &trainees).await;
    let t: Vec<String> = trainees.iter().map(watched).collect();
    let counted = listed.iter().filter(|w| w.counted).count();
    assert_eq!(counted, 20, "23 on the roster, less attendance, assessment and withdrawal");
    let excluded = |n: usize| listed.iter().find(|w| w.name == t[n]).expect("watched").excluded_by.clone();
    assert_eq!(
        (excluded(0).as_str(), excluded(1).as_str(), excluded(2).as_str()),
        ("CLASS-ATTENDANCE", "CLASS-COMPLETION", "CLASS-COMPLETION")
    );
    let window = listed.iter().find(|w| w.name == t[3]).expect("watched");
    assert_eq!((window.window_first_date, window.window_last_date), (date(2027, 4, 30), date(2027, 10, 30)));
    assert!(listed.iter().all(|w| w.person.as_ref().is_some_and(|p| p.id_number.contains('*'))), "masked");

    // ① a contract, three months of insurance and three of wages from the same employer.
    for input in [contract(&t[3], &org(3)), insurance(&t[3], &org(3), &[5, 6, 7])] {
        app.submitted_and_accepted(input).await;
    }
    app.submitted_and_accepted(wages(&t[3], &org(3), PayerRelation::EmployerAccount)).await;
    // Only two months of insurance.
    app.record(contract(&t[4], &org(4))).await;
    app.record(insurance(&t[4], &org(4), &[5, 6])).await;
    app.record(wages(&t[4], &org(4), PayerRelation::EmployerAccount)).await;
    // Insurance from employer A, wages from B.
    app.record(contract(&t[5], &org(50))).await;
    app.record(insurance(&t[5], &org(50), &[5, 6, 7])).await;
    app.record(wages(&t[5], &org(51), PayerRelation::EmployerAccount)).await;
    // An internship with accident insurance counts as employment time.
    app.record(EvidenceInput {
        contract: Some(ContractEvidence {
            employer_credit_code: org(6),
            kind: ContractKind::Internship as i32,
            signed_on: date(2027, 5, 1),
            ends_on: date(2027, 10, 30),
            accident_insurance: true,
            dispatched: false,
        }),
        ..item(&t[6], EvidenceKind::Contract)
    })
    .await;
    // ② a business registered the day before the class began does not count; one registered
    // during the class does.
    for (n, registered) in [(7, date(2027, 2, 28)), (8, date(2027, 4, 1))] {
        let code = org(70 + u32::try_from(n).expect("n"));
        app.record(EvidenceInput {
            business: Some(BusinessEvidence {
                credit_code: code.clone(),
                kind: BusinessKind::Individual as i32,
                trainee_role: BusinessRole::Operator as i32,
                registered_on: registered,
            }),
            ..item(&t[n], EvidenceKind::Business)
        })
        .await;
        app.record(EvidenceInput {
            operation: Some(OperationEvidence {
                credit_code: code,
                proof: OperationProof::BankFlow as i32,
                months: months(&[5, 6, 7]),
            }),
            ..item(&t[n], EvidenceKind::Operation)
        })
        .await;
    }
    // ③ a lump payment without a note of its months counts for its own month only.
    let engagement = app.record(service(&t[9], ServiceRoute::ServiceAgreement, "")).await;
    app.record(payment(&t[9], &engagement.name, date(2027, 5, 31), 6 * 221_000, &[])).await;
    // Paid the minimum wage of the class's county, below that of the county where the work is
    // done (武汉市武昌区).
    app.paid_service(&t[10], ServiceRoute::ServiceAgreement, "420106", 221_000).await;
    // ③ and ④ paid every month.
    app.paid_service(&t[11], ServiceRoute::ServiceAgreement, "", 221_000).await;
    app.paid_service(&t[12], ServiceRoute::PlatformMatch, "", 221_000).await;
    app.paid_service(&t[13], ServiceRoute::EmploymentRegistration, "", 221_000).await;
    app.paid_service(&t[14], ServiceRoute::AgencyContract, "", 221_000).await;
    // 劳务派遣: the dispatching firm is the employer.
    app.record(EvidenceInput {
        contract: Some(ContractEvidence {
            employer_credit_code: org(15),
            kind: ContractKind::Labour as i32,
            signed_on: date(2027, 5, 1),
            dispatched: true,
            ..Default::default()
        }),
        ..item(&t[15], EvidenceKind::Contract)
    })
    .await;
    app.record(insurance(&t[15], &org(15), &[5, 6, 7])).await;
    app.record(wages(&t[15], &org(15), PayerRelation::DispatchFirm)).await;
    // 代缴: an agency pays the insurance on the employer's behalf; the legal representative pays
    // the wages.
    app.record(contract(&t[16], &org(16))).await;
    app.record(EvidenceInput {
        insurance: Some(InsuranceEvidence {
            employer_credit_code: org(16),
            months: months(&[5, 6, 7]),
            region_code: "420106".into(),
            agency_paid: true,
            agency_credit_code: org(160),
        }),
        ..item(&t[16], EvidenceKind::Insurance)
    })
    .await;
    app.record(wages(&t[16], &org(16), PayerRelation::LegalRepresentative)).await;
    // Finance staff pay the wages; three more employed the plain way, one of them by the
    // provider's upload.
    for n in [17, 18, 19, 20] {
        app.record(contract(&t[n], &org(n as u32))).await;
        app.record(insurance(&t[n], &org(n as u32), &[5, 6, 7])).await;
        let relation = if n == 17 { PayerRelation::FinanceStaff } else { PayerRelation::EmployerAccount };
        app.record(wages(&t[n], &org(n as u32), relation)).await;
    }
    app.record(contract(&t[21], &org(21))).await;
    app.record(insurance(&t[21], &org(21), &[5, 6, 7])).await;
    let doubtful = app.submitted_and_accepted(wages(&t[21], &org(21), PayerRelation::EmployerAccount)).await;
    // Person 22 has nothing.

    let verdict = |n: usize| {
        let name = t[n].replace("trainees/", "verdicts/");
        let admin = admin.clone();
        async move {
            app.outcome()
                .await
                .get_verdict(authed(GetVerdictRequest { name }, &admin))
                .await
                .expect("a verdict")
                .into_inner()
                .verdict
                .expect("verdict")
        }
    };
    let employed = verdict(3).await;
    assert!(employed.positive);
    assert_eq!(employed.route, Route::Contract as i32);
    assert_eq!(employed.evidence.len(), 3, "the contract, the insurance and the wages");
    assert_eq!(employed.routes.len(), 4, "every route tried, with its reason");
    assert_eq!(employed.policy_version, "xianning-2025-5/v2");
    let expect = [
        (4, false, Route::Unspecified),
        (5, false, Route::Unspecified),
        (6, true, Route::Contract),
        (7, false, Route::Unspecified),
        (8, true, Route::Business),
        (9, false, Route::Unspecified),
        (10, false, Route::Unspecified),
        (11, true, Route::Service),
        (12, true, Route::Service),
        (13, true, Route::Registration),
        (14, true, Route::Registration),
        (15, true, Route::Contract),
        (16, true, Route::Contract),
        (17, true, Route::Contract),
        (21, true, Route::Contract),
        (22, false, Route::Unspecified),
    ];
    for (n, positive, route) in expect {
        let v = verdict(n).await;
        assert_eq!((v.positive, v.route), (positive, route as i32), "person {n}: {:?}", v.routes);
    }
    let short = verdict(10).await;
    let service_rule = short.routes.iter().find(|r| r.rule == "OUT-EMP-SERVICE").expect("route ③ tried");
    assert!(service_rule.reason_en.contains("best 0"), "{}", service_rule.reason_en);

    // The rate reads 14/20.
    assert_eq!(employment(&app.rates().await), (14, 20));

    // A day later, officer B asks for a re-examination of the acceptance of person 21's wages; officer A
    // (who accepted) and B (who asked) may not decide it; officer C overturns it.
    app.outcome_clock.set(day(2027, 11, 2));
    let reexamine = app
        .outcome()
        .await
        .request_reexamination(authed(
            RequestReexaminationRequest {
                name: doubtful.name.clone(),
                reason: "抽查发现工资流水存疑".into(),
                request_id: String::new(),
            },
            &app.officer("officer-b", COUNTY),
        ))
        .await
        .expect("asked")
        .into_inner();
    assert!(reexamine.evidence.expect("evidence").reexamination.is_some());
    let decide = |subject: &'static str| {
        let name = doubtful.name.clone();
        let token = app.officer(subject, COUNTY);
        async move {
            app.outcome()
                .await
                .decide_reexamination(authed(
                    DecideReexaminationRequest {
                        name,
                        result: ReexaminationResult::Overturned as i32,
                        reason: "工资非用人单位账户发放".into(),
                        request_id: String::new(),
                    },
                    &token,
                ))
                .await
                .map(tonic::Response::into_inner)
        }
    };
    for subject in ["officer-a", "officer-b"] {
        assert_eq!(refusal(decide(subject).await), (Code::FailedPrecondition, "OUT-REEXAM".to_owned()));
    }
    let decided = decide("officer-c").await.expect("decided by a third officer");
    assert_eq!(decided.evidence.expect("evidence").state, EvidenceState::Rejected as i32);
    assert!(!decided.verdict.expect("verdict").positive);
    assert_eq!(employment(&app.rates().await), (13, 20));
    // The rate on the day before still reads 14/20 (the item counted then), and on the day the
    // evidence was accepted, not before.
    let before = app
        .outcome()
        .await
        .get_project_rates(authed(
            GetProjectRatesRequest { project: app.project.clone(), as_of: date(2027, 11, 1) },
            &admin,
        ))
        .await
        .expect("rates")
        .into_inner();
    assert_eq!(employment(&before), (14, 20));
    let earlier = app
        .outcome()
        .await
        .get_project_rates(authed(
            GetProjectRatesRequest { project: app.project.clone(), as_of: date(2027, 10, 31) },
            &admin,
        ))
        .await
        .expect("rates")
        .into_inner();
    assert_eq!(employment(&earlier), (0, 20));
    // Subsidy reads the change in the feed.
    let service = app.outcome.keys.token(Role::Service, None, None);
    let feed = app
        .outcome()
        .await
        .list_rate_changes(authed(
            ListRateChangesRequest { after: 0, page_size: 1000, project: String::new() },
            &service,
        ))
        .await
        .expect("the feed")
        .into_inner();
    let last = feed.changes.last().expect("changes");
    assert_eq!(
        (last.numerator, last.denominator, last.previous_numerator, last.previous_denominator),
        (13, 20, 14, 20)
    );
    assert_eq!(feed.next_after, last.sequence);
    let again = app
        .outcome()
        .await
        .list_rate_changes(authed(
            ListRateChangesRequest { after: feed.next_after, page_size: 10, project: String::new() },
            &service,
        ))
        .await
        .expect("the feed")
        .into_inner();
    assert!(again.changes.is_empty() && again.next_after == feed.next_after && !again.more);
    // The verdict's history keeps both revisions.
    let history = app
        .outcome()
        .await
        .list_verdict_history(authed(
            ListVerdictHistoryRequest { name: t[21].replace("trainees/", "verdicts/"), ..Default::default() },
            &admin,
        ))
        .await
        .expect("history")
        .into_inner()
        .verdicts;
    assert!(history.len() >= 2 && !history[0].positive && history.iter().any(|v| v.positive));

    // The project is accepted.
    let accepted = app
        .outcome()
        .await
        .record_acceptance(authed(
            RecordAcceptanceRequest {
                project: app.project.clone(),
                accepted: true,
                decided_on: date(2027, 11, 2),
                ..Default::default()
            },
            &app.officer("officer-a", COUNTY),
        ))
        .await
        .expect("accepted")
        .into_inner()
        .acceptance
        .expect("acceptance");
    assert!(accepted.accepted);
    assert_eq!(accepted.rates.first().map(|r| (r.numerator, r.denominator)), Some((13, 20)));
    let project_id = app.project.trim_start_matches("projects/");
    let read = app
        .outcome()
        .await
        .get_acceptance(authed(GetAcceptanceRequest { name: format!("acceptances/{project_id}") }, &service))
        .await
        .expect("subsidy reads the acceptance")
        .into_inner();
    assert_eq!(read.acceptance.expect("acceptance").etag, accepted.etag);

    // Public figures: by county, no personal data; the cell has 20 trainees and shows.
    let figures = app
        .outcome()
        .await
        .list_public_figures(authed(
            ListPublicFiguresRequest { dimension: FigureDimension::County as i32, ..Default::default() },
            &app.outcome.keys.token(Role::Enterprise, None, Some(&org(900))),
        ))
        .await
        .expect("figures")
        .into_inner()
        .cells;
    assert_eq!(figures.len(), 1);
    assert_eq!(
        (figures[0].key.as_str(), figures[0].numerator, figures[0].denominator, figures[0].suppressed),
        (COUNTY, 13, 20, false)
    );

    // Access: another provider and another county's officer see none of it; the document reads
    // back by its address.
    let other = app.outcome.keys.token(Role::Provider, None, Some(&org(901)));
    let denied = app
        .outcome()
        .await
        .get_evidence(authed(GetEvidenceRequest { name: doubtful.name.clone() }, &other))
        .await
        .expect_err("another provider");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let listed = app
        .outcome()
        .await
        .list_evidence(authed(ListEvidenceRequest::default(), &app.officer("officer-x", OTHER_COUNTY)))
        .await
        .expect("listed")
        .into_inner();
    assert!(listed.evidence.is_empty());
    let document = app
        .outcome()
        .await
        .get_evidence_document(authed(
            GetEvidenceDocumentRequest { name: doubtful.name.clone() },
            &app.provider_token(),
        ))
        .await
        .expect("the document")
        .into_inner();
    let address = document.document.expect("document").sha256;
    assert_eq!(address.len(), 64);
    assert_eq!(qiancheng_outcome::Documents::address(&document.content), address);
}

async fn a_provider_asks_once_for_a_re_examination_and_a_certificate_is_one_record(app: &App) {
    let trainees = run_the_class(app).await;
    followed(app, &trainees).await;
    let t22 = watched(&trainees[22]);
    let provider = app.provider_token();
    let submitted = app
        .outcome()
        .await
        .submit_evidence(authed(
            SubmitEvidenceRequest { evidence: Some(contract(&t22, &org(22))), request_id: String::new() },
            &provider,
        ))
        .await
        .expect("submitted")
        .into_inner()
        .evidence
        .expect("evidence");
    // A rejection needs a reason.
    let reject = |reason: &str| {
        let request =
            RejectEvidenceRequest { name: submitted.name.clone(), reason: reason.into(), ..Default::default() };
        let token = app.officer("officer-a", COUNTY);
        async move { app.outcome().await.reject_evidence(authed(request, &token)).await }
    };
    assert_eq!(refusal(reject("").await), (Code::InvalidArgument, "OUT-REVIEW-REASON".to_owned()));
    let rejected = reject("合同未签字").await.expect("rejected").into_inner().evidence.expect("evidence");
    assert_eq!(rejected.state, EvidenceState::Rejected as i32);
    // An officer of another county may not review it, and it is not pending any more.
    let accept = app
        .outcome()
        .await
        .accept_evidence(authed(
            AcceptEvidenceRequest { name: submitted.name.clone(), ..Default::default() },
            &app.officer("officer-a", COUNTY),
        ))
        .await;
    assert_eq!(refusal(accept), (Code::FailedPrecondition, "OUT-EVIDENCE-STATE".to_owned()));
    let ask = || {
        let request = RequestReexaminationRequest {
            name: submitted.name.clone(),
            reason: "已补签".into(),
            request_id: String::new(),
        };
        let provider = provider.clone();
        async move { app.outcome().await.request_reexamination(authed(request, &provider)).await }
    };
    ask().await.expect("asked once");
    assert_eq!(refusal(ask().await), (Code::FailedPrecondition, "OUT-REEXAM".to_owned()));
    let upheld = app
        .outcome()
        .await
        .decide_reexamination(authed(
            DecideReexaminationRequest {
                name: submitted.name.clone(),
                result: ReexaminationResult::Upheld as i32,
                reason: "仍未签字".into(),
                request_id: String::new(),
            },
            &app.officer("officer-b", COUNTY),
        ))
        .await
        .expect("decided")
        .into_inner();
    assert_eq!(upheld.evidence.expect("evidence").state, EvidenceState::Rejected as i32);
    // One record per certificate number.
    let certificate = || EvidenceInput {
        certificate: Some(CertificateEvidence {
            number: "S000017202700001".into(),
            kind: CertificateKind::SkillLevel as i32,
            occupation_code: "6-18-02-04".into(),
            level: qiancheng_api::types::SkillLevel::SkillLevel4 as i32,
            issued_on: date(2027, 6, 1),
            issuer: "评价机构".into(),
        }),
        ..item(&t22, EvidenceKind::Certificate)
    };
    app.record(certificate()).await;
    let again = app
        .outcome()
        .await
        .submit_evidence(authed(
            SubmitEvidenceRequest { evidence: Some(certificate()), request_id: String::new() },
            &provider,
        ))
        .await;
    assert_eq!(refusal(again), (Code::AlreadyExists, "OUT-CERT-DUPLICATE".to_owned()));
    // An item with the detail of another kind is refused naming the field.
    let mixed = EvidenceInput { kind: EvidenceKind::Wages as i32, ..contract(&t22, &org(22)) };
    let refused = app
        .outcome()
        .await
        .submit_evidence(authed(SubmitEvidenceRequest { evidence: Some(mixed), request_id: String::new() }, &provider))
        .await
        .expect_err("mixed kinds");
    assert_eq!(qiancheng_testkit::reason(&refused), "OUT-EVIDENCE-KIND");
    // A pre-hire contract reaches subsidy once accepted.
    app.record(EvidenceInput {
        prehire_contract: Some(PrehireContractEvidence {
            enterprise_credit_code: org(99),
            signed_on: date(2027, 5, 2),
        }),
        ..item(&t22, EvidenceKind::PrehireContract)
    })
    .await;
    let contracts = app
        .outcome()
        .await
        .list_prehire_contracts(authed(
            ListPrehireContractsRequest { project: app.project.clone(), ..Default::default() },
            &app.outcome.keys.token(Role::Service, None, None),
        ))
        .await
        .expect("listed")
        .into_inner()
        .contracts;
    assert_eq!(contracts.len(), 1);
    assert_eq!(contracts[0].signed_on, date(2027, 5, 2));
}

async fn trainees_verdicts_wages_and_the_audit_chain_read_as_each_role_may(app: &App) {
    let trainees = run_the_class(app).await;
    followed(app, &trainees).await;
    let t3 = watched(&trainees[3]);
    app.record(contract(&t3, &org(3))).await;
    // An auditor reads the trainee with the ID number masked; another provider does not.
    let auditor = app.outcome.keys.token(Role::Auditor, None, None);
    let read = app
        .outcome()
        .await
        .get_trainee(authed(GetTraineeRequest { name: t3.clone() }, &auditor))
        .await
        .expect("the auditor reads")
        .into_inner()
        .trainee
        .expect("trainee");
    let person = read.person.expect("person");
    assert!(person.id_number.contains("****") && !person.name.contains("学员3号"), "{person:?}");
    assert_eq!(
        (read.basis, read.counted, read.policy_version.as_str()),
        (Basis::Employment as i32, true, "xianning-2025-5/v2")
    );
    let other = app.outcome.keys.token(Role::Provider, None, Some(&org(901)));
    let denied = app.outcome().await.get_trainee(authed(GetTraineeRequest { name: t3.clone() }, &other)).await;
    assert_eq!(denied.expect_err("another provider").code(), Code::PermissionDenied);
    // Verdicts: the provider lists its own, another provider none.
    let list = |token: String| {
        let project = app.project.clone();
        async move {
            app.outcome()
                .await
                .list_verdicts(authed(ListVerdictsRequest { project, page_size: 500, ..Default::default() }, &token))
                .await
                .expect("listed")
                .into_inner()
                .verdicts
        }
    };
    let own = list(app.provider_token()).await;
    assert_eq!(own.len(), 24, "a verdict for everyone on the project's rosters");
    assert!(own.iter().all(|v| !v.positive && v.decision.as_ref().is_some_and(|d| !d.rules.is_empty())));
    assert!(list(other).await.is_empty());
    // The minimum-wage table is versioned and holds regions outside 咸宁.
    let admin = app.admin();
    let mut version = 0;
    for (region, fen) in [(CITY, 221_000), ("440305", 236_000)] {
        let set = app
            .outcome()
            .await
            .set_minimum_wage(authed(
                SetMinimumWageRequest {
                    region_code: region.into(),
                    effective_date: date(2025, 1, 1),
                    monthly_fen: fen,
                    source: "SAMPLE figure".into(),
                    request_id: String::new(),
                },
                &admin,
            ))
            .await
            .expect("set")
            .into_inner();
        assert!(set.version > version);
        version = set.version;
    }
    let bad = app
        .outcome()
        .await
        .set_minimum_wage(authed(
            SetMinimumWageRequest {
                region_code: "12345".into(),
                effective_date: date(2025, 1, 1),
                monthly_fen: 1,
                source: "SAMPLE".into(),
                request_id: String::new(),
            },
            &admin,
        ))
        .await;
    assert_eq!(refusal(bad), (Code::InvalidArgument, "REGION-CODE".to_owned()));
    let wages = app
        .outcome()
        .await
        .list_minimum_wages(authed(ListMinimumWagesRequest::default(), &app.provider_token()))
        .await
        .expect("listed")
        .into_inner();
    assert_eq!(wages.version, version);
    assert!(wages.minimum_wages.iter().any(|w| w.region_code == "440305" && w.monthly_fen == 236_000));
    // Only the city keeps the table.
    let refused = app
        .outcome()
        .await
        .set_minimum_wage(authed(
            SetMinimumWageRequest {
                region_code: COUNTY.into(),
                effective_date: date(2025, 1, 1),
                monthly_fen: 200_000,
                source: "SAMPLE".into(),
                request_id: String::new(),
            },
            &app.officer("officer-a", COUNTY),
        ))
        .await;
    assert_eq!(refused.expect_err("a county officer").code(), Code::PermissionDenied);
    // Every change left an intact audit chain.
    let report = app
        .outcome()
        .await
        .verify_audit_chain(authed(VerifyAuditChainRequest {}, &auditor))
        .await
        .expect("verified")
        .into_inner()
        .report
        .expect("report");
    assert!(report.intact && report.rows_checked > 24, "{report:?}");
}

backend_tests!(start =>
    a_class_is_followed_judged_by_every_route_re_examined_and_accepted,
    a_provider_asks_once_for_a_re_examination_and_a_certificate_is_one_record,
    trainees_verdicts_wages_and_the_audit_chain_read_as_each_role_may,
);
