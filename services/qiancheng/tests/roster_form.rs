//! `qiancheng import roster` as a provider uses it, the binary as its own process against real
//! selection and supervision servers on port 0, on SQLite and on PostgreSQL: a 花名册 of 30 rows,
//! four of them bad (an ID number with a wrong check character, a child, a person already on the
//! roster, a target group nobody knows), is put on a filed class before its first day; the result
//! workbook marks exactly those four with their rule codes and shows no full ID number, phone or
//! name; the same workbook again stores nothing twice; after the first day new rows wait for an
//! officer; and the template carries the headers the import reads.

#[allow(dead_code)]
mod common;

use std::path::Path;

use calamine::{Data, Reader as _};
use chrono::NaiveDate;
use qiancheng_api::supervision::supervision_service_client::SupervisionServiceClient;
use qiancheng_api::supervision::{CreateClassRequest, ListTraineesRequest};
use qiancheng_domain::policy::PolicySet;
use qiancheng_platform::auth::Role;
use qiancheng_platform::service::Peers;
use qiancheng_supervision::{Clock, SpecWithClock};
use qiancheng_testkit::selection::{ProjectToApprove, approve_project};
use qiancheng_testkit::{Backend, Keys, TestService, authed, backend_tests, fixtures};
use rust_xlsxwriter::Workbook;
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_qiancheng");
const COUNTY: &str = "421221";

/// The roster template's headers, in its order.
const HEADERS: [&str; 11] = [
    "姓名",
    "身份证号码",
    "手机号码",
    "人员类别",
    "是否在岗职工",
    "现有技能等级",
    "是否财政供养人员",
    "本地劳动者依据",
    "依据材料",
    "拟录用企业",
    "变更原因",
];

struct App {
    supervision: TestService,
    _selection: TestService,
    clock: Clock,
    keys: Keys,
    provider: String,
    class: String,
    dir: tempfile::TempDir,
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a date")
}

/// Selection and supervision on `backend`, supervision's clock on 2027-02-01, and a class of an
/// approved project filed for 1 March to 30 April 2027 with one trainee.
async fn start(backend: Backend) -> Option<App> {
    let keys = Keys { policy: PolicySet::current(), ..Keys::new() };
    let selection =
        TestService::start_with(&qiancheng_selection::Spec, backend, keys.clone(), Peers::default()).await?;
    let clock = Clock::fixed(day(2027, 2, 1));
    let peers = Peers::new([keys.peer_for("supervision", "selection", selection.server.addr)]);
    let supervision = TestService::start_with(&SpecWithClock(clock.clone()), backend, keys.clone(), peers).await?;
    let mut client =
        qiancheng_api::selection::selection_service_client::SelectionServiceClient::new(selection.channel().await);
    let admin = keys.token(Role::CityAdmin, Some("421200"), None);
    qiancheng_testkit::selection::set_quotas(&mut client, &admin, &[COUNTY], 2099, 1000).await;
    let officer = keys.token(Role::CountyOfficer, Some(COUNTY), None);
    let project = ProjectToApprove {
        county: COUNTY,
        seed: "000R001",
        headcount: 60,
        hours: 100,
        deadline: qiancheng_api::types::Date { year: 2099, month: 12, day: 31 },
    };
    let (provider, project) =
        approve_project(&mut client, &officer, |code| keys.token(Role::Provider, None, Some(code)), project).await;
    let token = keys.token(Role::Provider, None, Some(&provider));
    let class = qiancheng_testkit::supervision::class(&project, "嘉鱼焊工培训花名册班", day(2027, 3, 1), 60);
    let filed = SupervisionServiceClient::new(supervision.channel().await)
        .create_class(authed(
            CreateClassRequest {
                class: Some(class),
                roster: vec![qiancheng_testkit::supervision::person(1)],
                request_id: String::new(),
            },
            &token,
        ))
        .await
        .expect("the class is filed")
        .into_inner();
    assert!(filed.refused.is_empty(), "{:?}", filed.refused);
    let class = filed.class.expect("class").name;
    Some(App { supervision, _selection: selection, clock, keys, provider, class, dir: tempfile::tempdir().ok()? })
}

/// One row of a roster: name, ID number, phone, target group.
struct Person {
    name: String,
    id_number: String,
    phone: String,
    group: String,
}

fn person(n: u64) -> Person {
    let input = qiancheng_testkit::supervision::person(n);
    Person {
        name: input.person_name,
        id_number: input.id_number,
        phone: input.phone,
        group: "农村转移就业劳动者".into(),
    }
}

/// Writes a 花名册 as a provider would: a title row, the headers, a row per person, ID numbers and
/// phones as text.
fn write_roster(path: &Path, people: &[Person]) {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "嘉鱼焊工培训花名册班 实名制花名册").expect("title");
    for (i, header) in HEADERS.iter().enumerate() {
        sheet.write_string(1, u16::try_from(i).expect("column"), *header).expect("header");
    }
    for (n, p) in people.iter().enumerate() {
        let at = u32::try_from(n).expect("row") + 2;
        let cells = [&p.name, &p.id_number, &p.phone, &p.group];
        for (i, value) in cells.iter().enumerate() {
            sheet.write_string(at, u16::try_from(i).expect("column"), value.as_str()).expect("cell");
        }
        sheet.write_string(at, 4, "否").expect("in service");
        sheet.write_string(at, 7, "户籍").expect("basis");
        sheet.write_string(at, 8, "户口簿").expect("evidence");
    }
    book.save(path).expect("save the roster");
}

/// Every cell of every sheet of the workbook at `path`, as text.
fn every_cell(path: &Path) -> Vec<String> {
    let mut book = calamine::open_workbook_auto(path).expect("the workbook opens");
    let mut all = Vec::new();
    for name in book.sheet_names() {
        let range = book.worksheet_range(&name).expect("sheet");
        all.extend(range.rows().flat_map(|r| r.iter().map(ToString::to_string)));
    }
    all
}

/// The result column of a result workbook, by the row number each result names.
fn results(path: &Path) -> Vec<(u32, String)> {
    let mut book = calamine::open_workbook_auto(path).expect("the result workbook opens");
    let range = book.worksheet_range("导入结果").expect("the result sheet");
    range
        .rows()
        .skip(1)
        .map(|row| {
            let number = match &row[0] {
                Data::Float(f) => *f as u32,
                other => panic!("row number {other:?}"),
            };
            (number, row.last().map(ToString::to_string).unwrap_or_default())
        })
        .collect()
}

impl App {
    fn provider_token(&self) -> String {
        self.keys.token(Role::Provider, None, Some(&self.provider))
    }

    /// `qiancheng import roster FILE --class … --output OUTPUT`, which must succeed; its stdout.
    async fn import(&self, file: &Path, output: &Path) -> String {
        let run = Command::new(BIN)
            .args(["import", "roster"])
            .arg(file)
            .args(["--class", &self.class, "--quiet", "--output"])
            .arg(output)
            .args(["--addr", &format!("http://{}", self.supervision.server.addr)])
            .env("QIANCHENG_TOKEN", self.provider_token())
            .output()
            .await
            .expect("run the import");
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        String::from_utf8(run.stdout).expect("utf-8")
    }

    async fn roster_size(&self) -> usize {
        let listed = SupervisionServiceClient::new(self.supervision.channel().await)
            .list_trainees(authed(
                ListTraineesRequest { class: self.class.clone(), page_size: 500, ..Default::default() },
                &self.provider_token(),
            ))
            .await
            .expect("the roster is listed")
            .into_inner();
        listed.trainees.len()
    }
}

async fn a_provider_imports_a_roster_of_30_and_sees_its_4_bad_rows(app: &App) {
    let mut people: Vec<Person> = (100..130).map(person).collect();
    // Row 4 of the data: the check character is wrong.
    let id = &people[4].id_number;
    let wrong = if id.ends_with('0') { "1" } else { "0" };
    people[4].id_number = format!("{}{wrong}", &id[..17]);
    // Row 10: a child of eleven on the first day (ELIG-AGE, judged by supervision).
    people[10].id_number = fixtures::id_number("42122120160101123");
    // Row 20: the person already filed on the class.
    let filed = person(1);
    (people[20].name, people[20].id_number, people[20].phone) = (filed.name, filed.id_number, filed.phone);
    // Row 25: a target group nobody knows.
    people[25].group = "游客".into();
    let roster = app.dir.path().join("花名册.xlsx");
    write_roster(&roster, &people);

    let first = app.dir.path().join("first.xlsx");
    let said = app.import(&roster, &first).await;
    assert!(
        said.contains("30 rows: 26 put on the roster, 0 waiting for an officer, 0 imported before (nothing stored twice), 4 refused"),
        "{said}"
    );
    let marked = results(&first);
    assert_eq!(marked.len(), 30);
    let refused: Vec<(u32, &str)> =
        marked.iter().filter(|(_, r)| r.starts_with("未导入")).map(|(n, r)| (*n, r.as_str())).collect();
    // Sheet rows: the title is row 1, the headers row 2, so person i is row i + 3.
    assert_eq!(refused.iter().map(|(n, _)| *n).collect::<Vec<_>>(), [7, 13, 23, 28], "{refused:?}");
    assert!(refused[0].1.contains("[PERSON-ID] 身份证号码"), "{}", refused[0].1);
    assert!(refused[1].1.contains("[ELIG-AGE]"), "{}", refused[1].1);
    assert!(refused[2].1.contains("[ROSTER_DUPLICATE]"), "{}", refused[2].1);
    assert!(refused[3].1.contains("[ELIG-GROUP] 人员类别"), "{}", refused[3].1);
    assert_eq!(marked.iter().filter(|(_, r)| r.starts_with("已加入名册 classes/")).count(), 26);
    assert_eq!(app.roster_size().await, 27);

    // Nothing personal in full: no ID number, phone or name of the roster in any cell.
    let cells = every_cell(&first);
    for p in &people {
        for secret in [&p.id_number, &p.phone, &p.name] {
            assert!(!cells.iter().any(|c| c.contains(secret.as_str())), "{secret} appears in the result workbook");
        }
    }
    assert!(
        cells
            .iter()
            .any(|c| c.as_str() == format!("{}********{}", &people[0].id_number[..6], &people[0].id_number[14..]))
    );
    // And as openpyxl reads it.
    if let Some(sheets) = common::openpyxl(&first, 40) {
        assert_eq!(sheets[0]["name"], "导入结果");
        assert_eq!(sheets[0]["rows"], 31);
        let text = sheets.to_string();
        assert!(!people.iter().any(|p| text.contains(&p.id_number)), "openpyxl finds a full ID number");
        assert!(text.contains("[ELIG-AGE]"));
        assert_eq!(sheets[1]["name"], "说明");
    }

    // The same workbook again: nothing stored twice.
    let second = app.dir.path().join("second.xlsx");
    let said = app.import(&roster, &second).await;
    assert!(said.contains("30 rows: 0 put on the roster, 0 waiting for an officer, 26 imported before"), "{said}");
    assert_eq!(app.roster_size().await, 27, "no trainee stored twice");
    for ((n, one), (m, two)) in marked.iter().zip(&results(&second)) {
        assert_eq!(n, m);
        if let Some(name) = one.strip_prefix("已加入名册 ") {
            assert_eq!(two, &format!("此前已导入 {name}(未重复保存)"), "row {n}");
        }
    }

    // From the first day the roster is locked: new rows wait for an officer.
    app.clock.set(day(2027, 3, 2));
    let late = app.dir.path().join("补录.xlsx");
    write_roster(&late, &[person(200), person(201)]);
    let said = app.import(&late, &app.dir.path().join("late.xlsx")).await;
    assert!(said.contains("2 rows: 0 put on the roster, 2 waiting for an officer"), "{said}");
    assert_eq!(app.roster_size().await, 27, "proposed trainees are not on the roster yet");
}

async fn a_wrong_class_stops_the_import_before_any_row(app: &App) {
    let roster = app.dir.path().join("wrong.xlsx");
    write_roster(&roster, &[person(300)]);
    let run = Command::new(BIN)
        .args(["import", "roster"])
        .arg(&roster)
        .args(["--class", "classes/nonexistent", "--quiet"])
        .args(["--addr", &format!("http://{}", app.supervision.server.addr)])
        .env("QIANCHENG_TOKEN", app.provider_token())
        .output()
        .await
        .expect("run the import");
    assert!(!run.status.success());
    let said = String::from_utf8_lossy(&run.stderr);
    assert!(said.contains("read the class") && said.contains("nothing was imported"), "{said}");
    assert!(!app.dir.path().join("wrong.结果.xlsx").exists(), "no result workbook for an import that did not run");
}

backend_tests!(start =>
    a_provider_imports_a_roster_of_30_and_sees_its_4_bad_rows,
    a_wrong_class_stops_the_import_before_any_row,
);

#[test]
fn the_roster_template_carries_the_headers_the_import_reads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("花名册模板.xlsx");
    let run = std::process::Command::new(BIN).args(["import", "template", "roster"]).arg(&path).output().expect("run");
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let mut book = calamine::open_workbook_auto(&path).expect("the template opens");
    assert_eq!(book.sheet_names(), ["花名册", "填表说明"]);
    let range = book.worksheet_range("花名册").expect("sheet");
    let headers: Vec<String> = range.rows().next().expect("headers").iter().map(ToString::to_string).collect();
    assert_eq!(headers, HEADERS);
    let again =
        std::process::Command::new(BIN).args(["import", "template", "roster"]).arg(&path).output().expect("run");
    assert!(!again.status.success(), "an existing file is never overwritten");
}
