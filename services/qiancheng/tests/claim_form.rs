//! `qiancheng export claim` as a provider uses it, the binary as its own process against real
//! selection, supervision and subsidy servers on port 0, on SQLite and on PostgreSQL: the
//! walkthrough's claim (23 lines, 14 trainees employed) is written as 附件4 and read back by
//! openpyxl, whose sum of the lines' amounts is the claim's total to the fen; amounts carry a
//! two-decimal yuan format, dates are dates, names are masked and no ID number appears.

#[allow(dead_code)]
mod common;
#[allow(unused_imports)]
#[path = "../../subsidy/tests/common/mod.rs"]
mod subsidy;

use std::path::Path;
use std::process::Command as StdCommand;

use qiancheng_api::subsidy::Claim;
use qiancheng_testkit::backend_tests;
use subsidy::{Suite, claimable, day, file_with_every_material, start_suite};
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_qiancheng");

/// Files the walkthrough's claim on 2027-10-30, the project accepted and 14 trainees employed.
async fn filed_claim(suite: &Suite) -> Claim {
    claimable(suite).await;
    file_with_every_material(suite, day(2027, 10, 30)).await
}

/// The number format of `cell` on `sheet` as openpyxl reads it, when openpyxl is here.
fn number_format(path: &Path, sheet: &str, cell: &str) -> Option<String> {
    let python = std::env::var_os("QIANCHENG_PYTHON").unwrap_or_else(|| "python3".into());
    let script = "import sys, openpyxl\nwb = openpyxl.load_workbook(sys.argv[1])\nprint(wb[sys.argv[2]][sys.argv[3]].number_format)";
    let out = StdCommand::new(python).args(["-c", script]).arg(path).args([sheet, cell]).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

async fn a_claim_is_exported_as_annex_4_adding_up_to_the_fen(suite: &Suite) {
    let claim = filed_claim(suite).await;
    assert_eq!(claim.lines.len(), 23);
    assert!(claim.total_fen > 0);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("附件4.xlsx");
    let run = Command::new(BIN)
        .args(["export", "claim", &claim.name])
        .arg(&file)
        .args(["--addr", &format!("http://{}", suite.subsidy.server.addr)])
        .env("QIANCHENG_TOKEN", suite.provider_token())
        .output()
        .await
        .expect("run the export");
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let said = String::from_utf8_lossy(&run.stdout);
    assert!(said.contains("23 lines"), "{said}");

    // Read back with calamine: the lines, their amounts in yuan, the total.
    let mut book = calamine::open_workbook_auto(&file).expect("the workbook opens");
    use calamine::Reader as _;
    assert_eq!(book.sheet_names(), ["说明", "补贴明细", "补贴比例", "审核与规则"]);
    let lines = book.worksheet_range("补贴明细").expect("the lines");
    let rows: Vec<Vec<String>> = lines.rows().map(|r| r.iter().map(ToString::to_string).collect()).collect();
    assert_eq!(rows.len(), 1 + 23 + 1, "header, a row per line, the total");
    assert_eq!(rows[0][10], "补贴金额(元)");

    // Opened by LibreOffice as a person would: the form, its lines and its total in yuan with
    // two decimals and a thousands separator, as printed.
    if let Some(text) = common::libreoffice(&file, "annex4-claim") {
        let yuan = claim.total_fen / 100;
        let printed = format!("{},{:03}.{:02}", yuan / 1000, yuan % 1000, claim.total_fen % 100);
        assert!(text.contains("附件4") && text.contains("补贴明细") || text.contains("补贴金额"), "{text:.300}");
        assert!(text.contains(&printed), "the total {printed} as printed: {text:.600}");
    }

    // And with openpyxl, as an office's tools read it.
    let Some(sheets) = common::openpyxl(&file, 40) else { return };
    assert_eq!(sheets[0]["name"], "说明");
    let cover = sheets[0]["first"].as_array().expect("rows");
    let value_of = |key: &str| {
        cover.iter().find(|r| r[0] == key).map(|r| r[1].as_str().unwrap_or_default().to_owned()).unwrap_or_default()
    };
    assert!(value_of("文件").contains("附件4"));
    assert!(value_of("政策版本").starts_with("xianning-2025-5/v2"), "{}", value_of("政策版本"));
    assert_eq!(value_of("申报日期"), "2027-10-30 00:00:00", "the filing day is a date");
    assert!(!value_of("生成时间").is_empty());
    let fen = |text: &str| -> i64 { (text.parse::<f64>().expect("an amount") * 100.0).round() as i64 };
    assert_eq!(fen(&value_of("补贴合计(元)")), claim.total_fen);
    let table = sheets[1]["first"].as_array().expect("rows");
    assert_eq!(sheets[1]["name"], "补贴明细");
    let amounts: Vec<i64> = table[1..24].iter().map(|r| fen(r[10].as_str().expect("an amount"))).collect();
    assert_eq!(amounts, claim.lines.iter().map(|l| l.amount_fen).collect::<Vec<_>>());
    assert_eq!(amounts.iter().sum::<i64>(), claim.total_fen, "the lines add up to the total to the fen");
    assert_eq!(table[24][1], "合计");
    assert_eq!(fen(table[24][10].as_str().expect("the total")), claim.total_fen);
    assert_eq!(number_format(&file, "补贴明细", "K2").as_deref(), Some("#,##0.00"));
    // Names masked as subsidy shows them to the provider; no ID number, no full name anywhere.
    let text = sheets.to_string();
    for n in 0..23 {
        let person = subsidy::person(n);
        assert!(!text.contains(&person.person_name), "{} appears in full", person.person_name);
        assert!(!text.contains(&person.id_number), "an ID number appears");
    }
    assert!(table[1][1].as_str().is_some_and(|name| name.contains('*')), "{:?}", table[1]);
}

backend_tests!(start_suite => a_claim_is_exported_as_annex_4_adding_up_to_the_fen);
