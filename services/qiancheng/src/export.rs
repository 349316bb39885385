//! `qiancheng export ledger`: a class's 培训台账 (七(三), 八(三)) as an Excel workbook, written from
//! supervision's `GetLedger` stream as it arrives, one sheet per kind of record, each written in
//! constant memory, so that a ledger of ten thousand trainees is never held whole, neither by the
//! service nor here. The service decides what the caller may see (ID numbers masked for an
//! auditor); the workbook shows exactly that. `qiancheng export claim` (附件4) is
//! [`crate::claim_form`]; `qiancheng export filing` (附件2) and `qiancheng export application`
//! (附件3) are [`crate::application_form`].

use std::path::{Path, PathBuf};

use clap::Subcommand;
use qiancheng_api::supervision::supervision_service_client::SupervisionServiceClient;
use qiancheng_api::supervision::{CheckInMethod, GetLedgerRequest, GetLedgerResponse, TraineeState};
use qiancheng_api::types::Date;
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};

use crate::application_form::Form;
use crate::workbook::{Value as Cell, name_in};

/// What `qiancheng export` writes.
#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Write a class's 培训台账 (ledger) as an Excel workbook: the class, its roster with each
    /// trainee's hours and completion, every attendance mark with its event, device, method,
    /// uploader and corrections, the sessions, evaluations, roster changes and inspections.
    Ledger {
        /// The class (`classes/…`).
        class: String,
        /// The workbook to write; it must not exist yet.
        file: PathBuf,
        /// The supervision service.
        #[arg(long, default_value = "http://127.0.0.1:50053")]
        addr: String,
        /// A bearer token of the class's provider, an officer of its county, the city or an
        /// auditor (`qiancheng token`); default: the QIANCHENG_TOKEN variable.
        #[arg(long, env = "QIANCHENG_TOKEN", hide_env_values = true)]
        token: String,
    },
    /// Write a subsidy claim as 附件4 补贴申请表: the claim, a line per trainee (name masked as the
    /// reader's role sees it, no ID number) with its standard, multiplier and amount in yuan, the
    /// total, the rates, the claim's rules and exclusions, and the policy version it was
    /// calculated under.
    Claim {
        /// The claim (`claims/…`).
        claim: String,
        /// The workbook to write; it must not exist yet.
        file: PathBuf,
        /// The subsidy service.
        #[arg(long, default_value = "http://127.0.0.1:50055")]
        addr: String,
        /// A bearer token of the claim's provider, an officer of its bureau, the city, a finance
        /// officer or an auditor (`qiancheng token`); default: the QIANCHENG_TOKEN variable.
        #[arg(long, env = "QIANCHENG_TOKEN", hide_env_values = true)]
        token: String,
    },
    /// Write a provider's application as 附件2 项目备案表: the provider, the project as filed
    /// (title, occupation, level, trainees, hours, mode, planned days, venue, contact), the catalog
    /// item, round, approval and quota behind it.
    Filing(ApplicationArgs),
    /// Write a provider's application as 附件3 申报书: the applicant and its eligibility, the
    /// project, the catalog item's demands, the summary, the plan's parts (teaching plan with its
    /// safety content, mode, assessment, employment measures) and the application's history.
    Application(ApplicationArgs),
}

/// The application a form is written from, and where.
#[derive(Debug, clap::Args)]
pub struct ApplicationArgs {
    /// The application (`applications/…`).
    application: String,
    /// The workbook to write; it must not exist yet.
    file: PathBuf,
    /// The selection service.
    #[arg(long, default_value = "http://127.0.0.1:50052")]
    addr: String,
    /// A bearer token of the application's provider, an officer of its round's county, an
    /// assigned expert, the city or an auditor (`qiancheng token`); default: the QIANCHENG_TOKEN
    /// variable.
    #[arg(long, env = "QIANCHENG_TOKEN", hide_env_values = true)]
    token: String,
}

/// A workbook to write, refused when the file exists: an export never overwrites.
fn new_file(file: &Path) -> Result<(), String> {
    if file.exists() { Err(format!("{} exists already", file.display())) } else { Ok(()) }
}

/// Runs `command`.
pub async fn run(command: ExportCommand) -> Result<(), String> {
    let (class, file, addr, token) = match command {
        ExportCommand::Ledger { class, file, addr, token } => (class, file, addr, token),
        ExportCommand::Claim { claim, file, addr, token } => {
            new_file(&file)?;
            let (lines, total_fen) = crate::claim_form::export(&claim, &file, &addr, &token).await?;
            let total = qiancheng_domain::Money::from_fen(total_fen);
            println!("wrote {}: {lines} lines, {total} yuan in total", file.display());
            return Ok(());
        }
        ExportCommand::Filing(args) => return application_form(Form::Filing, args).await,
        ExportCommand::Application(args) => return application_form(Form::Application, args).await,
    };
    new_file(&file)?;
    let counts = ledger(&class, &file, &addr, &token).await?;
    println!(
        "wrote {}: {} trainees, {} attendance marks, {} sessions",
        file.display(),
        counts.trainees,
        counts.marks,
        counts.sessions
    );
    Ok(())
}

async fn application_form(form: Form, args: ApplicationArgs) -> Result<(), String> {
    let ApplicationArgs { application, file, addr, token } = args;
    new_file(&file)?;
    let written = crate::application_form::export(form, &application, &file, &addr, &token).await?;
    let title = written.filing.map(|f| f.project_title).unwrap_or_default();
    println!("wrote {}: {} of {} {title}, {} trainees", file.display(), form.title(), written.name, written.headcount);
    Ok(())
}

/// What was written.
#[derive(Debug, Default)]
struct Counts {
    trainees: u32,
    marks: u32,
    sessions: u32,
}

/// A sheet being written row after row.
struct Sheet {
    index: usize,
    next_row: u32,
}

const ROSTER: &[(&str, f64)] = &[
    ("学员", 28.0),
    ("姓名", 10.0),
    ("身份证号码", 22.0),
    ("手机号码", 14.0),
    ("状态", 14.0),
    ("已参训学时", 10.0),
    ("班级总学时", 10.0),
    ("出勤率", 10.0),
    ("结业判定", 40.0),
    ("技能评价", 40.0),
    ("终止日期", 12.0),
    ("终止原因", 30.0),
];
const MARKS: &[(&str, f64)] = &[
    ("学员", 28.0),
    ("姓名", 10.0),
    ("课次", 28.0),
    ("学时", 8.0),
    ("签到事件", 24.0),
    ("签到时间", 20.0),
    ("设备", 14.0),
    ("方式", 10.0),
    ("上传者", 24.0),
    ("接收时间", 20.0),
    ("上报学时", 8.0),
    ("更正", 50.0),
];
const SESSIONS: &[(&str, f64)] = &[("课次", 28.0), ("日期", 12.0), ("学时", 8.0), ("类型", 10.0), ("内容", 30.0)];
const CHANGES: &[(&str, f64)] =
    &[("变更", 28.0), ("类型", 10.0), ("状态", 14.0), ("原因", 30.0), ("提出者", 24.0), ("决定", 30.0)];
const CORRECTIONS: &[(&str, f64)] = &[
    ("更正", 28.0),
    ("课次", 28.0),
    ("学员", 28.0),
    ("原学时", 8.0),
    ("更正后学时", 10.0),
    ("原因", 30.0),
    ("更正人", 24.0),
    ("时间", 20.0),
];
const INSPECTIONS: &[(&str, f64)] = &[
    ("检查", 28.0),
    ("日期", 12.0),
    ("检查人", 24.0),
    ("在场人数", 10.0),
    ("签到人数", 10.0),
    ("场地相符", 10.0),
    ("内容相符", 10.0),
    ("说明", 40.0),
];

/// The sheets, in the workbook's order after 说明.
const SHEETS: &[(&str, &[(&str, f64)])] = &[
    ("学员名册", ROSTER),
    ("考勤记录", MARKS),
    ("课次", SESSIONS),
    ("名册变更", CHANGES),
    ("考勤更正", CORRECTIONS),
    ("检查记录", INSPECTIONS),
];

async fn ledger(class: &str, file: &Path, addr: &str, token: &str) -> Result<Counts, String> {
    let supervision = crate::workbook::Caller::connect("supervision", addr, token).await?;
    let mut client =
        SupervisionServiceClient::new(supervision.channel.clone()).max_decoding_message_size(64 * 1024 * 1024);
    let request = supervision.request(GetLedgerRequest { class: class.to_owned() });
    let refused = |s: tonic::Status| format!("supervision refused the ledger ({:?}): {}", s.code(), s.message());
    let mut stream = client.get_ledger(request).await.map_err(refused)?.into_inner();

    let mut book = Workbook::new();
    let header = Format::new().set_bold().set_background_color("#DDEBF7").set_text_wrap();
    // 说明 first, written at the end from the header and the summary (it is small).
    book.add_worksheet().set_name("说明").map_err(text)?;
    let mut sheets = Vec::new();
    for (name, columns) in SHEETS {
        let sheet = book.add_worksheet_with_constant_memory().map_err(text)?.set_name(*name).map_err(text)?;
        crate::workbook::write_headers(sheet, columns, &header).map_err(text)?;
        sheets.push(Sheet { index: sheets.len() + 1, next_row: 1 });
    }
    let mut about: Vec<(String, String)> = Vec::new();
    let mut counts = Counts::default();
    while let Some(part) = stream.message().await.map_err(refused)? {
        write_part(&mut book, &mut sheets, &mut about, &mut counts, part).map_err(text)?;
    }
    let cover = book.worksheet_from_index(0).map_err(text)?;
    cover.set_column_width(0, 16).map_err(text)?;
    cover.set_column_width(1, 80).map_err(text)?;
    let made = crate::workbook::made_at();
    let mut lines =
        vec![("文件".to_owned(), "咸宁市“技能照亮前程”项目化培训 培训台账".to_owned()), ("生成时间".to_owned(), made)];
    lines.extend(about);
    lines.push((
        "说明".to_owned(),
        "每条考勤记录附签到事件、设备、方式、上传者和接收时间及其更正;结业判定可由考勤记录逐条核算。".to_owned(),
    ));
    let pairs = lines.iter().map(|(key, value)| (key.as_str(), Cell::Text(value.clone()))).collect();
    crate::workbook::write_pairs(cover, 0, pairs).map_err(text)?;
    crate::workbook::printable(&mut book);
    book.save(file).map_err(text)?;
    Ok(counts)
}

fn text(error: XlsxError) -> String {
    error.to_string()
}

fn write_row(book: &mut Workbook, sheet: &mut Sheet, cells: Vec<Cell>) -> Result<(), XlsxError> {
    let target: &mut Worksheet = book.worksheet_from_index(sheet.index)?;
    for (i, cell) in cells.into_iter().enumerate() {
        crate::workbook::write_value(target, (sheet.next_row, u16::try_from(i).unwrap_or(u16::MAX)), cell)?;
    }
    sheet.next_row += 1;
    Ok(())
}

/// The ways of checking in as the ledger names them.
const METHOD_NAMES: &[(CheckInMethod, &str)] = &[
    (CheckInMethod::Face, "人脸"),
    (CheckInMethod::Fingerprint, "指纹"),
    (CheckInMethod::QrCode, "扫码"),
    (CheckInMethod::Manual, "手工"),
];

fn yes_no(value: bool) -> String {
    if value { "是" } else { "否" }.to_owned()
}

fn write_part(
    book: &mut Workbook,
    sheets: &mut [Sheet],
    about: &mut Vec<(String, String)>,
    counts: &mut Counts,
    part: GetLedgerResponse,
) -> Result<(), XlsxError> {
    use Cell::{Day, Number, Text, Time};
    if let Some(header) = part.header {
        let class = header.class.unwrap_or_default();
        let policy = class.filing_decision.as_ref().map(|d| d.policy_version.clone()).unwrap_or_default();
        about.extend([
            ("班级".to_owned(), format!("{} {}", class.name, class.title)),
            ("项目".to_owned(), class.project.clone()),
            ("承训机构".to_owned(), class.provider_credit_code.clone()),
            ("县(市、区)".to_owned(), class.region_code.clone()),
            (
                "培训期间".to_owned(),
                format!("{} 至 {}", date_text(class.first_day.as_ref()), date_text(class.last_day.as_ref())),
            ),
            ("学时".to_owned(), format!("理论 {} 实操 {}", class.theory_hours, class.practice_hours)),
            ("政策版本".to_owned(), policy),
            ("身份证号码".to_owned(), if header.masked { "已按调阅者角色遮蔽" } else { "完整显示" }.to_owned()),
        ]);
    }
    if let Some(session) = part.session {
        counts.sessions += 1;
        let kind = if session.kind == 1 { "理论" } else { "实操" };
        let cells = vec![
            Text(session.name),
            Day(session.held_on),
            Number(f64::from(session.hours)),
            Text(kind.into()),
            Text(session.topic),
        ];
        write_row(book, &mut sheets[2], cells)?;
    }
    if let Some(row) = part.trainee {
        let trainee = row.trainee.unwrap_or_default();
        let person = row.person.unwrap_or_default();
        if !row.continued {
            counts.trainees += 1;
            let completion = trainee
                .completion
                .as_ref()
                .map(|d| {
                    let first = d.rules.iter().find(|r| !r.passed).or(d.rules.first());
                    let why = first.map(|r| format!("{} {}", r.code, r.reason_zh)).unwrap_or_default();
                    format!("{}:{why}", if d.outcome { "结业" } else { "未结业" })
                })
                .unwrap_or_default();
            let evaluations: Vec<String> = row
                .evaluations
                .iter()
                .map(|e| {
                    let counts = e.counts_for_completion.as_ref().is_some_and(|r| r.passed);
                    format!(
                        "{} {} {}({},{}录入)",
                        e.certificate_number,
                        e.occupation_code,
                        date_text(e.issued_on.as_ref()),
                        if counts { "计入结业" } else { "不计入结业" },
                        e.recorded_by
                    )
                })
                .collect();
            let share = f64::from(row.attendance_share_basis_points) / 10_000.0;
            let cells = vec![
                Text(trainee.name.clone()),
                Text(person.name.clone()),
                Text(person.id_number.clone()),
                Text(person.phone.clone()),
                Text(name_in(trainee.state, TRAINEE_STATES).into()),
                Number(f64::from(row.attended_hours)),
                Number(f64::from(row.class_hours)),
                Number(share),
                Text(completion),
                Text(evaluations.join(";")),
                Day(trainee.terminated_on),
                Text(trainee.termination_reason.clone()),
            ];
            write_row(book, &mut sheets[0], cells)?;
        }
        for mark in row.attendance {
            counts.marks += 1;
            let corrections: Vec<String> = mark
                .corrections
                .iter()
                .map(|c| format!("{}→{}学时:{}({})", c.previous_hours, c.hours, c.reason, c.corrected_by))
                .collect();
            let cells = vec![
                Text(trainee.name.clone()),
                Text(person.name.clone()),
                Text(mark.session),
                Number(f64::from(mark.hours)),
                Text(mark.event_id),
                Time(mark.checked_in_micros),
                Text(mark.device),
                Text(name_in(mark.method, METHOD_NAMES).into()),
                Text(mark.uploaded_by),
                Time(mark.received_micros),
                Number(f64::from(mark.reported_hours)),
                Text(corrections.join(";")),
            ];
            write_row(book, &mut sheets[1], cells)?;
        }
    }
    if let Some(change) = part.roster_change {
        let cells = vec![
            Text(change.name),
            Text(if change.kind == 1 { "增加" } else { "减少" }.into()),
            Text(change_state(change.state).into()),
            Text(change.reason),
            Text(change.proposed_by),
            Text([change.decided_by, change.decision_note].join(" ").trim().to_owned()),
        ];
        write_row(book, &mut sheets[3], cells)?;
    }
    if let Some(c) = part.correction {
        let cells = vec![
            Text(c.name),
            Text(c.session),
            Text(c.trainee),
            Number(f64::from(c.previous_hours)),
            Number(f64::from(c.hours)),
            Text(c.reason),
            Text(c.corrected_by),
            Time(c.create_time_micros),
        ];
        write_row(book, &mut sheets[4], cells)?;
    }
    if let Some(i) = part.inspection {
        let cells = vec![
            Text(i.name),
            Day(i.inspected_on),
            Text(i.inspector),
            Number(f64::from(i.people_present)),
            Number(f64::from(i.signed_in)),
            Text(yes_no(i.venue_ok)),
            Text(yes_no(i.content_ok)),
            Text(i.note),
        ];
        write_row(book, &mut sheets[5], cells)?;
    }
    if let Some(summary) = part.summary {
        about.push((
            "汇总".to_owned(),
            format!(
                "名册 {} 人,考勤记录 {} 条,结业 {} 人",
                summary.roster_size, summary.attendance_records, summary.completed
            ),
        ));
    }
    Ok(())
}

fn date_text(date: Option<&Date>) -> String {
    date.map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)).unwrap_or_default()
}

/// A trainee's states as the ledger names them.
const TRAINEE_STATES: &[(TraineeState, &str)] = &[
    (TraineeState::Active, "在训"),
    (TraineeState::Completed, "已结业"),
    (TraineeState::Withdrawn, "已退出"),
    (TraineeState::Removed, "已移出"),
    (TraineeState::Proposed, "待审批"),
    (TraineeState::Rejected, "未获批准"),
];

fn change_state(state: i32) -> &'static str {
    use qiancheng_api::supervision::RosterChangeState;
    RosterChangeState::try_from(state).map_or("", |s| s.as_str_name().trim_start_matches("ROSTER_CHANGE_STATE_"))
}
