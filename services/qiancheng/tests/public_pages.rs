//! `qiancheng public` as a reader meets it: the binary as its own process on port 0, reading real
//! subsidy, demand and outcome servers (on SQLite and on PostgreSQL) through their gRPC APIs
//! only. The walkthrough's claim is reviewed and put on notice; the notice page shows it with
//! masked names, amounts in yuan and the window by working days, no full ID number or name
//! anywhere in the HTML; its objection link leads to a form that posts to the server, and the
//! objection posted is recorded by subsidy. The board and the figures pages read their services.

#[allow(dead_code)]
mod common;
#[allow(unused_imports)]
#[path = "../../subsidy/tests/common/mod.rs"]
mod subsidy;

use std::process::Stdio;

use qiancheng_api::subsidy::{Claim, LineExclusion, ListObjectionsRequest, ReviewClaimRequest, ReviewDecision};
use qiancheng_platform::auth::Role;
use qiancheng_platform::service::Peers;
use qiancheng_testkit::{TestService, backend_tests};
use subsidy::{COUNTY, Suite, authed, claimable, day, file_and_put_on_notice, file_with_every_material, start_suite};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_qiancheng");

/// The suite, demand and outcome beside it, and the public pages running on them.
struct App {
    suite: Suite,
    demand: TestService,
    _outcome: TestService,
    _pages: Child,
    pages: String,
}

async fn start(backend: qiancheng_testkit::Backend) -> Option<App> {
    let suite = start_suite(backend).await?;
    let demand =
        TestService::start_with(&qiancheng_demand::Spec, backend, suite.keys.clone(), Peers::default()).await?;
    let outcome =
        TestService::start_with(&qiancheng_outcome::Spec, backend, suite.keys.clone(), Peers::default()).await?;
    let mut pages = Command::new(BIN)
        // Two claims or vacancies a page, so that three make two pages.
        .args(["public", "--listen", "127.0.0.1:0", "--page-size", "2"])
        .env("QIANCHENG_PUBLIC_SUBSIDY_URL", format!("http://{}", suite.subsidy.server.addr))
        .env("QIANCHENG_PUBLIC_DEMAND_URL", format!("http://{}", demand.server.addr))
        .env("QIANCHENG_PUBLIC_OUTCOME_URL", format!("http://{}", outcome.server.addr))
        // The pages read the board and the figures with a service identity.
        .env("QIANCHENG_PUBLIC_TOKEN", suite.keys.token(Role::Service, None, None))
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the public pages");
    let mut lines = BufReader::new(pages.stdout.take().expect("stdout")).lines();
    let first = lines.next_line().await.expect("stdout").expect("the address line");
    let pages_at = first.trim().strip_prefix("public pages on http://")?.trim_end_matches('/').to_owned();
    Some(App { suite, demand, _outcome: outcome, _pages: pages, pages: pages_at })
}

impl App {
    /// One request to the pages: the status line and the body.
    async fn fetch(&self, method: &str, path: &str, form: Option<&str>) -> (String, String) {
        let mut socket = tokio::net::TcpStream::connect(&self.pages).await.expect("connect to the pages");
        let body = form.unwrap_or_default();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/x-www-form-urlencoded\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{body}",
            self.pages,
            body.len()
        );
        socket.write_all(request.as_bytes()).await.expect("send");
        let mut answer = Vec::new();
        socket.read_to_end(&mut answer).await.expect("read");
        let answer = String::from_utf8(answer).expect("utf-8");
        let (head, body) = answer.split_once("\r\n\r\n").expect("a head and a body");
        (head.lines().next().unwrap_or_default().to_owned(), body.to_owned())
    }
}

/// Whether `html` holds anything shaped like a full resident ID number: 17 digits and a check
/// character.
fn has_full_id_number(html: &str) -> bool {
    let bytes = html.as_bytes();
    bytes.windows(18).any(|w| w[..17].iter().all(u8::is_ascii_digit) && (w[17].is_ascii_digit() || w[17] == b'X'))
}

/// Files the walkthrough's claim on Friday 2027-10-29 and has the county accept it: on notice.
async fn claim_on_notice(suite: &Suite) -> Claim {
    claimable(suite).await;
    file_and_put_on_notice(suite, day(2027, 10, 29)).await
}

async fn a_reader_sees_the_notice_and_objects(app: &App) {
    let claim = claim_on_notice(&app.suite).await;
    let notice = claim.notice.clone().expect("a notice");
    // The notice runs from the next working day: read it on its first day.
    let first = notice.published_on.expect("published");
    app.suite.clock.set(day(first.year, u32::try_from(first.month).expect("m"), u32::try_from(first.day).expect("d")));

    let (status, html) = app.fetch("GET", "/notices", None).await;
    assert_eq!(status, "HTTP/1.1 200 OK", "{html}");
    assert!(html.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"));
    assert!(!html.contains("<script"), "no JavaScript");
    assert!(html.contains("培训补贴公示"), "{html}");
    let id = claim.name.rsplit('/').next().expect("an id");
    assert!(html.contains(id), "the claim is on the page: {html}");
    let ends = notice.ends_on.expect("an end");
    let window = format!("{} 个工作日,至{}年{}月{}日止", notice.working_days, ends.year, ends.month, ends.day);
    assert!(html.contains(&window), "the window by working days ({window}): {html}");
    let total = format!("{} 元", qiancheng_domain::Money::from_fen(claim.total_fen));
    assert!(html.contains(&total), "the total in yuan ({total})");
    assert!(html.contains("*"), "names masked");
    for n in 0..23 {
        let person = subsidy::person(n);
        assert!(!html.contains(&person.person_name), "{} appears in full", person.person_name);
    }
    assert!(!has_full_id_number(&html), "a full ID number appears in the notice page");

    // The same page in headless Chromium on a phone's screen: what the reader sees holds the
    // window and masked names and no full name or ID number, it fits the screen's width, and its
    // objection link leads to the form for this claim.
    // (On a thread of its own: the servers this test runs share the test's runtime.)
    let base = format!("http://{}", app.pages);
    let seen = tokio::task::spawn_blocking(move || common::chromium(&base, "notice-page-phone"))
        .await
        .expect("the browser's thread");
    if let Some(seen) = seen {
        let text = seen["text"].as_str().expect("the page's text");
        assert!(text.contains("培训补贴公示") && text.contains(&window), "{text}");
        assert!(text.contains('*'), "names masked as read");
        for n in 0..23 {
            assert!(!text.contains(&subsidy::person(n).person_name), "a full name is shown");
        }
        assert!(!has_full_id_number(seen["html"].as_str().expect("the page's HTML")), "a full ID in the rendered page");
        assert_eq!(seen["fits_width"], true, "the page fits a phone's width");
        let url = seen["objection_url"].as_str().expect("where the link led");
        assert!(url.ends_with(&format!("/objection?claim={}", claim.name)), "{url}");
        assert_eq!(seen["objection_forms"], 1, "the objection form is there");
    }

    // The objection link leads to a form that posts to this server, for this claim.
    let link = format!("/objection?claim={}", claim.name);
    assert!(html.contains(&format!("href=\"{link}\"")), "{html}");
    let (status, form) = app.fetch("GET", &link, None).await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(form.contains("<form method=\"post\" action=\"/objection\">"), "{form}");
    assert!(form.contains(&format!("name=\"claim\" value=\"{}\"", claim.name)), "{form}");

    let body = format!(
        "claim={}&contact=13900001111&text=%E7%AC%AC3%E5%8F%B7%E5%AD%A6%E5%91%98%E6%9C%AA%E5%8F%82%E8%AE%AD",
        claim.name.replace('/', "%2F")
    );
    let (status, answer) = app.fetch("POST", "/objection", Some(&body)).await;
    assert_eq!(status, "HTTP/1.1 200 OK", "{answer}");
    assert!(answer.contains("异议已提交") && answer.contains(&format!("{}/objections/", claim.name)), "{answer}");
    let recorded = app
        .suite
        .client()
        .await
        .list_objections(authed(
            ListObjectionsRequest { claim: claim.name.clone(), ..Default::default() },
            &app.suite.officer(COUNTY),
        ))
        .await
        .expect("objections listed")
        .into_inner()
        .objections;
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].text, "第3号学员未参训");
    assert_eq!(recorded[0].contact, "13900001111");

    // An empty objection is refused by the page itself; markup sent in is shown as text.
    let (status, _) = app.fetch("POST", "/objection", Some(&format!("claim={}&contact=&text=", claim.name))).await;
    assert_eq!(status, "HTTP/1.1 400 Bad Request");
    let (_, form) = app.fetch("GET", "/objection?claim=%3Cscript%3Ealert(1)%3C/script%3E", None).await;
    assert!(!form.contains("<script>") && form.contains("&lt;script&gt;"), "{form}");
}

/// The notice names the project by the title its provider filed (附件2), not `projects/…`; a zero
/// line reads why in plain Chinese with the rule's code beside it, and an officer's words of an
/// exclusion (which may name the person) never reach the page.
async fn the_notice_reads_the_title_and_plain_reasons(app: &App) {
    let suite = &app.suite;
    claimable(suite).await;
    let filed = file_with_every_material(suite, day(2027, 10, 29)).await;
    let paid = filed.lines.iter().find(|l| l.amount_fen > 0).expect("a paid line");
    let zero = filed.lines.iter().filter(|l| l.amount_fen == 0).count();
    assert!(zero > 0, "the walkthrough's claim has lines a rule stopped");
    // The officer's reason names the person in full, as officers might write it.
    let (name, id_number) = (subsidy::person(0).person_name, subsidy::person(0).id_number);
    let claim = suite
        .client()
        .await
        .review_claim(authed(
            ReviewClaimRequest {
                name: filed.name.clone(),
                decision: ReviewDecision::Accept as i32,
                exclusions: vec![LineExclusion {
                    trainee: paid.trainee.clone(),
                    reason: format!("{name}({id_number})经核实未实际参训"),
                    ..Default::default()
                }],
                ..Default::default()
            },
            &suite.officer(COUNTY),
        ))
        .await
        .expect("accepted with an exclusion, on notice")
        .into_inner()
        .claim
        .expect("claim");
    let first = claim.notice.clone().and_then(|n| n.published_on).expect("published");
    suite.clock.set(day(first.year, u32::try_from(first.month).expect("m"), u32::try_from(first.day).expect("d")));

    let (status, html) = app.fetch("GET", "/notices", None).await;
    assert_eq!(status, "HTTP/1.1 200 OK", "{html}");
    // The title as the application filed it (the testkit's filing), not the resource name.
    assert!(html.contains("项目:焊工项目化培训<br>"), "the project's title: {html}");
    assert!(!html.contains(&format!("项目:{}", claim.project)), "not the resource name: {html}");

    // Every zero line reads a plain reason; the excluded one reads the fixed sentence with its code.
    assert!(html.contains("经审核核减,不予补贴") && html.contains("CLAIM_LINE_EXCLUDED"), "{html}");
    let stopped: Vec<&str> = claim.lines.iter().filter(|l| l.amount_fen == 0).map(|l| l.stopped_by.as_str()).collect();
    assert_eq!(stopped.len(), zero + 1, "{stopped:?}");
    for code in &stopped {
        assert!(!code.is_empty(), "a zero line names its rule");
        assert!(html.contains(&format!("(规则 {code})")), "the code {code} beside its reason: {html}");
    }
    assert!(!html.contains("不符合补贴条件,详见所依据的规则"), "every stopping code has a plain reason: {html}");
    assert!(!html.contains("未实际参训"), "the officer's words are not shown");
    assert!(!html.contains(&name), "no unmasked name: {html}");
    assert!(!has_full_id_number(&html), "no full ID number: {html}");
}

async fn the_board_and_the_figures_read_their_services(app: &App) {
    let (status, html) = app.fetch("GET", "/vacancies", None).await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(html.contains("目前没有发布的岗位"), "demand answered with an empty board: {html}");
    let (status, html) = app.fetch("GET", "/figures", None).await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(html.contains("不足 5 人的不公布") && !html.contains("暂时无法读取"), "outcome answered: {html}");
    let (status, _) = app.fetch("GET", "/nowhere", None).await;
    assert_eq!(status, "HTTP/1.1 404 Not Found");
}

async fn the_board_and_the_notices_are_paged(app: &App) {
    let officer = app.suite.officer(COUNTY);
    for seed in ["91421221MA4PAGE01", "91421221MA4PAGE02", "91421221MA4PAGE03"] {
        qiancheng_testkit::fixtures::publish_welding_demand(app.demand.channel().await, &officer, seed, COUNTY, 5)
            .await;
    }
    let rows = |html: &str| html.matches("<tr><td>").count();
    let (status, first) = app.fetch("GET", "/vacancies", None).await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(rows(&first), 2, "two vacancies a page: {first}");
    assert!(first.contains("<a href=\"/vacancies?page=2\" rel=\"next\">下一页</a>"), "{first}");
    assert!(!first.contains("rel=\"prev\""), "no page before the first");
    let (status, second) = app.fetch("GET", "/vacancies?page=2", None).await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(rows(&second), 1, "the third vacancy: {second}");
    assert!(second.contains("<a href=\"/vacancies?page=1\" rel=\"prev\">上一页</a>"), "{second}");
    assert!(second.contains("第 2 页") && !second.contains("rel=\"next\""), "{second}");
    let (_, beyond) = app.fetch("GET", "/vacancies?page=9", None).await;
    assert!(beyond.contains("本页没有更多岗位") && beyond.contains("rel=\"prev\""), "{beyond}");
    let (_, odd) = app.fetch("GET", "/vacancies?page=x", None).await;
    assert_eq!(rows(&odd), 2, "an unreadable page number is the first page");

    // No claim is on notice: the first page says so, with no links; a later page leads back.
    let (status, notices) = app.fetch("GET", "/notices", None).await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(notices.contains("目前没有正在公示的补贴申请") && !notices.contains("class=\"pages\""), "{notices}");
    let (_, later) = app.fetch("GET", "/notices?page=2", None).await;
    assert!(later.contains("本页没有更多公示") && later.contains("href=\"/notices?page=1\""), "{later}");
}

backend_tests!(start =>
    a_reader_sees_the_notice_and_objects,
    the_notice_reads_the_title_and_plain_reasons,
    the_board_and_the_figures_read_their_services,
    the_board_and_the_notices_are_paged,
);
