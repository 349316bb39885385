//! `qiancheng import` as a county office uses it: a 附件1 workbook of 500 vacancies, three of them
//! bad, imported into `qiancheng dev` as a separate process; the result workbook marks exactly
//! those three with their rule codes; the same workbook imported again stores nothing twice; and
//! the template the command writes carries the headers the import reads.

mod common;

use std::path::Path;
use std::process::Command;

use calamine::{Data, Reader as _};
use common::{BIN, Dev};
use qiancheng_api::demand::demand_service_client::DemandServiceClient;
use qiancheng_api::demand::{CreateEnterpriseRequest, Enterprise, ListVacanciesRequest};
use qiancheng_api::types::Industry;
use qiancheng_testkit::{authed, fixtures};
use rust_xlsxwriter::Workbook;

const HEADERS: [&str; 15] = [
    "企业名称",
    "统一社会信用代码",
    "所在县(市、区)",
    "岗位名称",
    "职业(工种)代码",
    "职业(工种)名称",
    "职业技能等级",
    "需求人数",
    "月薪下限(元)",
    "月薪上限(元)",
    "岗位要求",
    "工作地点",
    "需求时间",
    "调查方式",
    "所属行业",
];

/// Writes a 附件1 workbook as an office would: a title row, the headers, then `rows` vacancies of
/// `code`, with a bad pay in row 10, no people in row 200 and a date nobody can read in row 499.
fn write_survey(path: &Path, code: &str, rows: u32) {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "咸宁市“技能照亮前程”项目化培训岗位需求表").expect("title");
    for (i, header) in HEADERS.iter().enumerate() {
        sheet.write_string(1, u16::try_from(i).expect("column"), *header).expect("header");
    }
    for n in 0..rows {
        let at = n + 2;
        let text = str::to_owned;
        let cells: [String; 15] = [
            text("咸安导入企业"),
            text(code),
            text("咸安区"),
            format!("焊工岗位{n}"),
            text("6-18-02-04"),
            text("焊工"),
            text("四级/中级工"),
            String::new(),
            String::new(),
            String::new(),
            text("持证优先"),
            text("421202"),
            String::new(),
            text("上门调查"),
            text("装备制造"),
        ];
        for (i, value) in cells.iter().enumerate() {
            if !value.is_empty() {
                sheet.write_string(at, u16::try_from(i).expect("column"), value).expect("cell");
            }
        }
        // Numbers as numbers, a date as text the way many offices type it.
        let people = if n == 198 { 0.0 } else { 5.0 };
        sheet.write_number(at, 7, people).expect("headcount");
        if n == 8 {
            sheet.write_string(at, 8, "四千五").expect("pay");
        } else {
            sheet.write_number(at, 8, 4500.0).expect("pay");
        }
        sheet.write_number(at, 9, 6000.5).expect("pay max");
        let needed = if n == 497 { "下个月" } else { "2027/3/1" };
        sheet.write_string(at, 12, needed).expect("date");
    }
    book.save(path).expect("save the survey");
}

/// The result column of a result workbook, by the row number each result names.
fn results(path: &Path) -> Vec<(u32, String)> {
    let mut book = calamine::open_workbook_auto(path).expect("the result workbook opens");
    let range = book.worksheet_range("导入结果").expect("the result sheet");
    let headers: Vec<String> = range.rows().next().expect("headers").iter().map(ToString::to_string).collect();
    assert_eq!(headers.first().map(String::as_str), Some("行号"));
    assert_eq!(headers.last().map(String::as_str), Some("导入结果"));
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

fn import(dev: &Dev, token: &str, file: &Path, output: &Path) -> String {
    let run = Command::new(BIN)
        .args(["import", "vacancies"])
        .arg(file)
        .arg("--output")
        .arg(output)
        .args(["--addr", &format!("http://{}", dev.endpoint("demand")), "--quiet"])
        .env("QIANCHENG_TOKEN", token)
        .output()
        .expect("run the import");
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    String::from_utf8(run.stdout).expect("utf-8")
}

#[tokio::test(flavor = "multi_thread")]
async fn an_office_imports_a_survey_of_500_vacancies_and_sees_its_3_bad_rows() {
    let dev = Dev::start();
    let admin = dev.token(&["--role", "CITY_ADMIN", "--region", "421200"]);
    let code = fixtures::uscc("91421202MA4DEW002");
    let mut demand = DemandServiceClient::new(dev.channel("demand").await);
    let enterprise = Enterprise {
        credit_code: code.clone(),
        display_name: "咸安导入企业".into(),
        region_code: "421202".into(),
        industry: Industry::EquipmentManufacturing as i32,
        ..Default::default()
    };
    demand
        .create_enterprise(authed(
            CreateEnterpriseRequest { enterprise: Some(enterprise), request_id: String::new() },
            &admin,
        ))
        .await
        .expect("the enterprise is registered");
    let dir = tempfile::tempdir().expect("tempdir");
    let survey = dir.path().join("岗位需求表.xlsx");
    write_survey(&survey, &code, 500);

    let first = dir.path().join("first.xlsx");
    let said = import(&dev, &admin, &survey, &first);
    assert!(
        said.contains("500 rows: 497 imported, 0 imported before (nothing stored twice), 3 refused"),
        "{said} {:?}",
        results(&first).first()
    );
    let marked = results(&first);
    assert_eq!(marked.len(), 500);
    let refused: Vec<(u32, &str)> =
        marked.iter().filter(|(_, r)| r.starts_with("未导入")).map(|(n, r)| (*n, r.as_str())).collect();
    // Sheet rows: the title is row 1, the headers row 2, so vacancy n is row n + 3.
    assert_eq!(refused.iter().map(|(n, _)| *n).collect::<Vec<_>>(), [11, 201, 500], "{refused:?}");
    assert!(refused[0].1.contains("[MONEY] 月薪下限(元)"), "{}", refused[0].1);
    assert!(refused[1].1.contains("[DEMAND-HEADCOUNT]"), "{}", refused[1].1);
    assert!(refused[2].1.contains("[DATE] 需求时间"), "{}", refused[2].1);
    assert!(marked.iter().filter(|(_, r)| r.starts_with("已导入 vacancies/")).count() == 497);
    // The office's own tool reads the same: openpyxl, not the library that wrote it.
    if let Some(sheets) = common::openpyxl(&first, 10) {
        assert_eq!(sheets[0]["name"], "导入结果");
        assert_eq!(sheets[0]["rows"], 501);
        let row = &sheets[0]["first"][9];
        assert_eq!(row[0], "11");
        assert!(row.as_array().and_then(|r| r.last()).and_then(|v| v.as_str()).is_some_and(|v| v.contains("[MONEY]")));
        assert_eq!(sheets[1]["name"], "说明");
    }

    // The same workbook again: every good row is answered as imported before, nothing stored twice.
    let second = dir.path().join("second.xlsx");
    let said = import(&dev, &admin, &survey, &second);
    assert!(said.contains("500 rows: 0 imported, 497 imported before"), "{said}");
    let listed = demand
        .list_vacancies(authed(ListVacanciesRequest { page_size: 1000, ..Default::default() }, &admin))
        .await
        .expect("vacancies are listed")
        .into_inner();
    assert_eq!(listed.vacancies.len(), 497, "no vacancy stored twice");
    // The two runs name the same vacancies row by row.
    let again = results(&second);
    for ((n, one), (m, two)) in marked.iter().zip(&again) {
        assert_eq!(n, m);
        if let Some(name) = one.strip_prefix("已导入 ") {
            assert!(two.contains(name), "row {n}: {two}");
        }
    }
}

#[test]
fn the_template_carries_the_headers_the_import_reads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("template.xlsx");
    let run = Command::new(BIN).args(["import", "template", "vacancies"]).arg(&path).output().expect("run");
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let mut book = calamine::open_workbook_auto(&path).expect("the template opens");
    assert_eq!(book.sheet_names(), ["岗位需求表", "填表说明"]);
    let range = book.worksheet_range("岗位需求表").expect("sheet");
    let headers: Vec<String> = range.rows().next().expect("headers").iter().map(ToString::to_string).collect();
    assert_eq!(headers, HEADERS);
    let again = Command::new(BIN).args(["import", "template", "vacancies"]).arg(&path).output().expect("run");
    assert!(!again.status.success(), "an existing file is never overwritten");
}
