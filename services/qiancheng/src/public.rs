//! `qiancheng public`: the public pages (公示, SUBS-NOTICE; the demand board; the public outcome
//! figures) as a small HTTP/1.1 server of its own, rendering plain HTML in Chinese for a phone
//! screen, without JavaScript.
//!
//! The pages read the services through their gRPC APIs only: subsidy's public RPCs
//! (`ListClaimNotices`, `SubmitObjection`, which need no account) and, with the token the server
//! is given (a service identity or any reader's token), demand's `ListPublishedVacancies` and
//! outcome's `ListPublicFigures`. They show what the services return and nothing else: names
//! arrive masked and figure cells under five arrive suppressed. Every value is HTML-escaped.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use qiancheng_api::demand::ListPublishedVacanciesRequest;
use qiancheng_api::demand::demand_service_client::DemandServiceClient;
use qiancheng_api::outcome::outcome_service_client::OutcomeServiceClient;
use qiancheng_api::outcome::{Basis, FigureDimension, ListPublicFiguresRequest};
use qiancheng_api::subsidy::subsidy_service_client::SubsidyServiceClient;
use qiancheng_api::subsidy::{ListClaimNoticesRequest, SubmitObjectionRequest};
use qiancheng_api::types::Date;
use qiancheng_domain::{Money, RegionCode};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tonic::transport::{Channel, Endpoint};

/// Where `qiancheng public` listens and which services it reads.
#[derive(Debug, Args)]
pub struct PublicArgs {
    /// The address to listen on (port 0 picks a free one; the address is printed).
    #[arg(long, env = "QIANCHENG_PUBLIC_ADDR", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The subsidy service (claims on notice, objections).
    #[arg(long, env = "QIANCHENG_PUBLIC_SUBSIDY_URL", default_value = "http://127.0.0.1:50055")]
    subsidy: String,
    /// The demand service (the vacancy board).
    #[arg(long, env = "QIANCHENG_PUBLIC_DEMAND_URL", default_value = "http://127.0.0.1:50051")]
    demand: String,
    /// The outcome service (public figures).
    #[arg(long, env = "QIANCHENG_PUBLIC_OUTCOME_URL", default_value = "http://127.0.0.1:50054")]
    outcome: String,
    /// The bearer token the board and the figures are read with (a SERVICE token of the pages'
    /// own key, or any reader's); without it those two pages say they are not configured.
    #[arg(long, env = "QIANCHENG_PUBLIC_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Claims a notice page shows, and vacancies a board page shows; `?page=N` reads the next.
    #[arg(long, env = "QIANCHENG_PUBLIC_PAGE_SIZE", default_value_t = 20, value_parser = clap::value_parser!(i32).range(1..=500))]
    page_size: i32,
}

/// The services the pages read, by channel (connected lazily, so the pages start before them).
struct Upstream {
    subsidy: Channel,
    demand: Channel,
    outcome: Channel,
    token: Option<String>,
    page_size: i32,
}

fn channel(url: &str) -> Result<Channel, String> {
    Ok(Endpoint::from_shared(url.to_owned())
        .map_err(|e| format!("{url} is not an address: {e}"))?
        .timeout(Duration::from_secs(10))
        .connect_lazy())
}

/// Runs the pages until Ctrl-C.
pub async fn run(args: PublicArgs) -> Result<(), String> {
    let upstream = Arc::new(Upstream {
        subsidy: channel(&args.subsidy)?,
        demand: channel(&args.demand)?,
        outcome: channel(&args.outcome)?,
        token: args.token.filter(|t| !t.is_empty()),
        page_size: args.page_size,
    });
    let listener =
        TcpListener::bind(args.listen).await.map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    println!("public pages on http://{bound}/");
    let serve = async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else { continue };
            let upstream = upstream.clone();
            tokio::spawn(async move {
                let _ = handle(socket, &upstream).await;
            });
        }
    };
    tokio::select! {
        () = serve => Ok(()),
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}

/// The most a request may send: a form of an objection with room.
const MAX_REQUEST_BYTES: usize = 16 * 1024;

/// Reads one request (head and a form body), answers it and closes the connection.
async fn handle(mut socket: TcpStream, upstream: &Upstream) -> std::io::Result<()> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let (head_end, length) = loop {
        let read = tokio::time::timeout(Duration::from_secs(10), socket.read(&mut chunk)).await;
        let Ok(Ok(n)) = read else { return Ok(()) };
        if n == 0 {
            return Ok(());
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).to_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            break (end + 4, length);
        }
        if buffer.len() > MAX_REQUEST_BYTES {
            return respond(&mut socket, "413 Payload Too Large", &page("请求过大", "<p>请求过大。</p>")).await;
        }
    };
    if head_end + length > MAX_REQUEST_BYTES {
        return respond(&mut socket, "413 Payload Too Large", &page("请求过大", "<p>请求过大。</p>")).await;
    }
    while buffer.len() < head_end + length {
        let read = tokio::time::timeout(Duration::from_secs(10), socket.read(&mut chunk)).await;
        let Ok(Ok(n)) = read else { return Ok(()) };
        if n == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let body = String::from_utf8_lossy(&buffer[head_end..(head_end + length).min(buffer.len())]).into_owned();
    let mut words = head.split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or("/"));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let (status, html) = match (method, path) {
        ("GET", "/") => ("200 OK", index()),
        ("GET", "/notices") => ("200 OK", notices(upstream, page_number(query)).await),
        ("GET", "/objection") => ("200 OK", objection_form(&form_value(query, "claim").unwrap_or_default())),
        ("POST", "/objection") => objection(upstream, &body).await,
        ("GET", "/vacancies") => ("200 OK", vacancies(upstream, page_number(query)).await),
        ("GET", "/figures") => ("200 OK", figures(upstream).await),
        ("GET" | "POST", _) => ("404 Not Found", page("未找到", "<p>没有这个页面。<a href=\"/\">返回首页</a></p>")),
        _ => ("405 Method Not Allowed", page("不支持", "<p>只支持浏览和提交表单。</p>")),
    };
    respond(&mut socket, status, &html).await
}

async fn respond(socket: &mut TcpStream, status: &str, html: &str) -> std::io::Result<()> {
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\n\
         cache-control: no-store\r\nx-content-type-options: nosniff\r\n\
         content-security-policy: default-src 'none'; style-src 'unsafe-inline'; form-action 'self'\r\n\
         connection: close\r\n\r\n{html}",
        html.len()
    );
    socket.write_all(response.as_bytes()).await?;
    socket.shutdown().await
}

/// `text` safe inside HTML text and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// A whole page around `body` (already escaped): a phone's viewport, a readable column.
fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} - 咸宁市“技能照亮前程”项目化培训</title>\
         <style>body{{font-family:sans-serif;margin:0 auto;max-width:46em;padding:0.8em;line-height:1.6;color:#222}}\
         h1{{font-size:1.3em}}h2{{font-size:1.1em;border-top:1px solid #ccc;padding-top:0.6em}}\
         table{{border-collapse:collapse;width:100%;font-size:0.95em}}td,th{{border:1px solid #ccc;padding:0.3em;text-align:left}}\
         td.n{{text-align:right}}nav a{{margin-right:1em}}label{{display:block;margin-top:0.6em}}\
         input,textarea{{width:100%;box-sizing:border-box;font-size:1em;padding:0.4em}}\
         button{{margin-top:0.8em;font-size:1em;padding:0.5em 1.2em}}.note{{color:#555;font-size:0.9em}}</style>\
         </head><body><nav><a href=\"/\">首页</a><a href=\"/notices\">补贴公示</a><a href=\"/vacancies\">岗位需求</a>\
         <a href=\"/figures\">培训成效</a></nav><h1>{title}</h1>\n{body}\n</body></html>\n",
        title = escape(title)
    )
}

fn index() -> String {
    page(
        "公开信息",
        "<ul><li><a href=\"/notices\">培训补贴公示</a>:正在公示的补贴申请,可在公示期内提出异议</li>\
         <li><a href=\"/vacancies\">岗位需求</a>:企业发布的用工岗位</li>\
         <li><a href=\"/figures\">培训成效</a>:各县(市、区)的就业率、取证率</li></ul>",
    )
}

fn date_text(date: Option<&Date>) -> String {
    date.filter(|d| d.year > 0).map(|d| format!("{}年{}月{}日", d.year, d.month, d.day)).unwrap_or_default()
}

fn region_name(code: &str) -> String {
    RegionCode::parse(code).map(|r| r.name().to_owned()).unwrap_or_else(|_| code.to_owned())
}

fn yuan(fen: i64) -> String {
    format!("{} 元", Money::from_fen(fen))
}

fn unavailable(what: &str, status: &tonic::Status) -> String {
    tracing::warn!(code = ?status.code(), error = status.message(), "a public page could not read {what}");
    format!("<p>暂时无法读取{}(服务未响应),请稍后再试。</p>", escape(what))
}

/// The furthest page a reader may ask for: each page is reached by reading the pages before it.
const MAX_PAGE: u32 = 200;

/// The page a query asks for (`page=N`, from 1; anything else is the first).
fn page_number(query: &str) -> u32 {
    form_value(query, "page").and_then(|p| p.trim().parse::<u32>().ok()).filter(|p| *p >= 1).unwrap_or(1).min(MAX_PAGE)
}

/// The `n`th page (from 1) of a listing read page by page with `fetch` (a page token in, the
/// page's items and the next page's token out): its items and whether a page follows. A page
/// past the end is empty.
async fn nth_page<T, F, Fut>(n: u32, mut fetch: F) -> Result<(Vec<T>, bool), tonic::Status>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, String), tonic::Status>>,
{
    let mut token = String::new();
    for _ in 1..n {
        let (_, next) = fetch(token).await?;
        if next.is_empty() {
            return Ok((Vec::new(), false));
        }
        token = next;
    }
    let (items, next) = fetch(token).await?;
    Ok((items, !next.is_empty()))
}

/// Links to the page before and the page after `n` of the listing at `path`, as there are.
fn page_links(path: &str, n: u32, more: bool) -> String {
    let mut links = String::from("<nav class=\"pages\">");
    if n > 1 {
        let _ = write!(links, "<a href=\"{path}?page={}\" rel=\"prev\">上一页</a>", n - 1);
    }
    let _ = write!(links, "<span>第 {n} 页</span>");
    if more && n < MAX_PAGE {
        let _ = write!(links, "<a href=\"{path}?page={}\" rel=\"next\">下一页</a>", n + 1);
    }
    links.push_str("</nav>");
    links
}

/// 公示: the claims on notice of page `n` with their lines, the window by working days, how to
/// object, and a link to the objection form; links to the pages before and after.
async fn notices(upstream: &Upstream, n: u32) -> String {
    let client = SubsidyServiceClient::new(upstream.subsidy.clone());
    let mut body = String::from(
        "<p>以下培训补贴申请正在公示。对公示内容有异议的,可在公示期内通过本页提交,也可按各项说明联系受理机构。\
         学员姓名已作遮蔽处理。</p>",
    );
    let page_size = upstream.page_size;
    let read = nth_page(n, |page_token| {
        let mut client = client.clone();
        async move {
            let request = ListClaimNoticesRequest { page_size, page_token, region_code: String::new() };
            client.list_claim_notices(request).await.map(|a| a.into_inner()).map(|a| (a.claims, a.next_page_token))
        }
    })
    .await;
    let (claims, more) = match read {
        Ok(read) => read,
        Err(status) => return page("培训补贴公示", &(body + &unavailable("公示信息", &status))),
    };
    for claim in &claims {
        let notice = claim.notice.clone().unwrap_or_default();
        let id = claim.claim.rsplit('/').next().unwrap_or_default();
        let _ = write!(
            body,
            "<h2 id=\"{id}\">{region} 培训补贴申请</h2><p>承训机构(统一社会信用代码):{provider}<br>\
                 项目:{project}<br>补贴合计:<strong>{total}</strong>,共 {lines} 人<br>\
                 公示期:{from}起 {days} 个工作日,至{to}止</p>",
            id = escape(id),
            region = escape(&region_name(&claim.region_code)),
            provider = escape(&claim.provider_credit_code),
            project = escape(project_shown(&claim.project_title, &claim.project)),
            total = escape(&yuan(claim.total_fen)),
            lines = claim.lines.len(),
            from = escape(&date_text(notice.published_on.as_ref())),
            days = notice.working_days,
            to = escape(&date_text(notice.ends_on.as_ref())),
        );
        body.push_str("<table><thead><tr><th>序号</th><th>姓名</th><th>补贴金额</th><th>说明</th></tr></thead><tbody>");
        for (i, line) in claim.lines.iter().enumerate() {
            let _ = write!(
                body,
                "<tr><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                i + 1,
                escape(&line.masked_name),
                escape(&yuan(line.amount_fen)),
                stop_explained(&line.stopped_by)
            );
        }
        body.push_str("</tbody></table>");
        let _ = write!(
            body,
            "<p><strong>如何提出异议:</strong>{how}</p><p><a href=\"/objection?claim={claim}\">对此项公示提出异议</a></p>",
            how = escape(&notice.how_to_object),
            claim = escape(&percent_encode(&claim.claim)),
        );
    }
    if claims.is_empty() {
        body.push_str(if n == 1 {
            "<p>目前没有正在公示的补贴申请。</p>"
        } else {
            "<p>本页没有更多公示。</p>"
        });
    }
    if n > 1 || more {
        body.push_str(&page_links("/notices", n, more));
    }
    page("培训补贴公示", &body)
}

/// How the notice names a project: by its title, or by its resource name (`projects/…`) for a
/// claim gathered before titles were kept.
fn project_shown<'a>(title: &'a str, name: &'a str) -> &'a str {
    if title.trim().is_empty() { name } else { title.trim() }
}

/// The codes that can stop a claim's line (leave it at zero), each with a plain explanation in
/// Chinese for the public. These are fixed sentences: a line's own reasons (which may name
/// another class, a date that tells a birth date, or an officer's words) are never shown here.
const STOP_REASONS: [(&str, &str); 19] = [
    ("PERSON-ID", "身份证件信息未通过核验"),
    ("ELIG-AGE", "参训时不在法定劳动年龄内"),
    ("ELIG-FISCAL", "属于财政供养人员,不在补贴范围内"),
    ("ELIG-LOCAL", "未能认定为本市劳动者"),
    ("ELIG-GROUP", "不属于本项目的培训对象"),
    ("ELIG-OVERLAP", "同期参加了时间重叠的其他班次,一人只计一次"),
    ("ELIG-ONCE", "同一职业同一等级已享受过培训补贴,只补贴一次"),
    ("ELIG-REALNAME", "未列入实名制花名册"),
    ("ELIG-PREHIRE", "不符合项目企业拟招聘对象的条件"),
    ("CLASS-HOURS", "班次学时不足"),
    ("CLASS-ATTENDANCE", "出勤学时不足"),
    ("CLASS-COMPLETION", "未达到结业条件"),
    ("OUT-RATE", "同类学员中无结业学员,无法计算就业率或取证率"),
    ("SUBS-STANDARD", "该职业(工种)等级没有适用的补贴标准"),
    ("SUBS-ELIGIBLE", "不符合培训补贴条件"),
    ("SUBS-DEADLINE", "补贴申请超过了规定的申请期限"),
    ("SUBS-MATERIALS", "补贴申请材料不齐全"),
    ("PROV-DISQUALIFIED", "培训机构已被取消承训资格"),
    ("CLAIM_LINE_EXCLUDED", "经审核核减,不予补贴"),
];

/// Whether `code` is shaped like one of the suite's codes (capitals, digits, `-`, `_`): only such
/// a code is shown beside a reason, so nothing else a line might carry reaches the page.
fn code_shaped(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 40
        && code.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// The 说明 of a line (HTML): for a line a rule stopped, the rule's plain Chinese explanation with
/// its code beside it; a code without an explanation here reads as a general sentence with the
/// code; a line no rule stopped has none.
pub fn stop_explained(code: &str) -> String {
    let code = code.trim();
    if code.is_empty() {
        return String::new();
    }
    let shown_code = if code_shaped(code) {
        format!("<span class=\"note\">(规则 {})</span>", escape(code))
    } else {
        String::new()
    };
    match STOP_REASONS.iter().find(|(known, _)| *known == code) {
        Some((_, reason)) => format!("{}{shown_code}", escape(reason)),
        None => format!("不符合补贴条件,详见所依据的规则{shown_code}"),
    }
}

fn objection_form(claim: &str) -> String {
    let body = format!(
        "<p>对公示的补贴申请 <strong>{claim}</strong> 提出异议。请写明事实和理由,并留下联系方式,以便受理机构核实后答复。\
         联系方式仅受理机构可见,不会公开。</p>\
         <form method=\"post\" action=\"/objection\"><input type=\"hidden\" name=\"claim\" value=\"{claim}\">\
         <label for=\"contact\">联系方式(电话或地址)</label><input id=\"contact\" name=\"contact\" maxlength=\"200\" required>\
         <label for=\"text\">异议内容</label><textarea id=\"text\" name=\"text\" rows=\"6\" maxlength=\"2000\" required></textarea>\
         <button type=\"submit\">提交异议</button></form>",
        claim = escape(claim)
    );
    page("提出异议", &body)
}

/// A posted objection, sent to SubmitObjection under a request id of its own (a second click of
/// the same form is another objection; the service limits how many a visitor may send).
async fn objection(upstream: &Upstream, body: &str) -> (&'static str, String) {
    let claim = form_value(body, "claim").unwrap_or_default();
    let contact = form_value(body, "contact").unwrap_or_default();
    let text = form_value(body, "text").unwrap_or_default();
    if claim.is_empty() || contact.trim().is_empty() || text.trim().is_empty() {
        return ("400 Bad Request", page("提出异议", "<p>请填写联系方式和异议内容。</p>"));
    }
    let request = SubmitObjectionRequest {
        claim: claim.clone(),
        contact,
        text,
        request_id: format!("public-page-{}", ulid::Ulid::new()),
    };
    let mut client = SubsidyServiceClient::new(upstream.subsidy.clone());
    match client.submit_objection(request).await {
        Ok(answer) => {
            let answer = answer.into_inner();
            let body = format!(
                "<p>异议已提交,编号 <strong>{}</strong>。受理机构将在公示期结束({})前核实处理,并按您留下的联系方式答复。</p>\
                 <p><a href=\"/notices\">返回公示</a></p>",
                escape(&answer.name),
                escape(&date_text(answer.notice_ends_on.as_ref()))
            );
            ("200 OK", page("异议已提交", &body))
        }
        Err(status) => {
            let why = match status.code() {
                tonic::Code::FailedPrecondition => "该申请不在公示期内,不能在线提出异议。",
                tonic::Code::InvalidArgument | tonic::Code::NotFound => {
                    "提交的内容有误(申请编号、联系方式或异议内容)。"
                }
                tonic::Code::ResourceExhausted => "提交过于频繁,请稍后再试。",
                _ => "服务暂时无法受理,请稍后再试,或按公示中的联系方式提出。",
            };
            let status_line = if status.code() == tonic::Code::ResourceExhausted {
                "429 Too Many Requests"
            } else {
                "422 Unprocessable Entity"
            };
            (
                status_line,
                page("异议未提交", &format!("<p>{}</p><p><a href=\"/notices\">返回公示</a></p>", escape(why))),
            )
        }
    }
}

fn authed<T>(message: T, token: &str) -> Option<tonic::Request<T>> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().ok()?);
    Some(request)
}

/// The vacancy board's page `n`, with links to the pages before and after.
async fn vacancies(upstream: &Upstream, n: u32) -> String {
    let title = "岗位需求";
    let Some(token) = upstream.token.clone() else {
        return page(title, "<p>本页尚未配置(QIANCHENG_PUBLIC_TOKEN)。</p>");
    };
    let client = DemandServiceClient::new(upstream.demand.clone());
    let page_size = upstream.page_size;
    let read = nth_page(n, |page_token| {
        let (mut client, token) = (client.clone(), token.clone());
        async move {
            let message = ListPublishedVacanciesRequest { page_size, page_token, ..Default::default() };
            let request = authed(message, &token).ok_or_else(|| tonic::Status::unauthenticated("the token"))?;
            let answer = client.list_published_vacancies(request).await?.into_inner();
            Ok((answer.vacancies, answer.next_page_token))
        }
    })
    .await;
    let (vacancies, more) = match read {
        Ok(read) => read,
        Err(status) => return page(title, &unavailable("岗位需求", &status)),
    };
    let links = if n > 1 || more { page_links("/vacancies", n, more) } else { String::new() };
    if vacancies.is_empty() {
        let none = if n == 1 { "<p>目前没有发布的岗位。</p>" } else { "<p>本页没有更多岗位。</p>" };
        return page(title, &format!("{none}{links}"));
    }
    let mut body = String::from(
        "<table><thead><tr><th>企业</th><th>岗位</th><th>职业(工种)</th><th>人数</th><th>月薪</th><th>工作地点</th>\
         <th>需求时间</th></tr></thead><tbody>",
    );
    for v in &vacancies {
        let pay = if v.pay_max_fen > 0 {
            format!("{}–{}", yuan(v.pay_min_fen), yuan(v.pay_max_fen))
        } else {
            format!("{}起", yuan(v.pay_min_fen))
        };
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&v.enterprise_name),
            escape(&v.post),
            escape(&v.occupation_name),
            v.headcount,
            escape(&pay),
            escape(&region_name(&v.work_region_code)),
            escape(&date_text(v.needed_by.as_ref()))
        );
    }
    body.push_str("</tbody></table>");
    body.push_str(&links);
    page(title, &body)
}

async fn figures(upstream: &Upstream) -> String {
    let title = "培训成效(按县市区)";
    let Some(request) = upstream.token.as_deref().and_then(|t| {
        authed(
            ListPublicFiguresRequest {
                dimension: FigureDimension::County as i32,
                page_size: 500,
                ..Default::default()
            },
            t,
        )
    }) else {
        return page(title, "<p>本页尚未配置(QIANCHENG_PUBLIC_TOKEN)。</p>");
    };
    let answer = match OutcomeServiceClient::new(upstream.outcome.clone()).list_public_figures(request).await {
        Ok(answer) => answer.into_inner(),
        Err(status) => return page(title, &unavailable("培训成效", &status)),
    };
    let mut body = String::from(
        "<p>就业率、取证率按县(市、区)统计。统计人数不足 5 人的不公布具体数字。</p>\
         <table><thead><tr><th>县(市、区)</th><th>类别</th><th>达标人数</th><th>统计人数</th><th>比例</th></tr></thead><tbody>",
    );
    for cell in &answer.cells {
        let kind = match Basis::try_from(cell.basis) {
            Ok(Basis::Employment) => "就业率",
            Ok(Basis::Certificate) => "取证率",
            _ => "",
        };
        let (numerator, denominator, share) = if cell.suppressed || cell.denominator == 0 {
            ("—".to_owned(), "不足 5 人".to_owned(), "不公布".to_owned())
        } else {
            let basis_points = cell.numerator * 10_000 / cell.denominator;
            (
                cell.numerator.to_string(),
                cell.denominator.to_string(),
                format!("{}.{:02}%", basis_points / 100, basis_points % 100),
            )
        };
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            escape(&region_name(&cell.key)),
            kind,
            escape(&numerator),
            escape(&denominator),
            escape(&share)
        );
    }
    if answer.cells.is_empty() {
        body.push_str("<tr><td colspan=\"5\">暂无数据</td></tr>");
    }
    body.push_str("</tbody></table>");
    page(title, &body)
}

/// The value of `key` in a query string or a form body (`application/x-www-form-urlencoded`).
pub fn form_value(encoded: &str, key: &str) -> Option<String> {
    encoded.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(k) == key).then(|| percent_decode(v))
    })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(high), Some(low)) => {
                    out.push(high * 16 + low);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(digit: u8) -> Option<u8> {
    char::from(digit).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

fn percent_encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_shown_is_escaped() {
        assert_eq!(escape("<script>\"&'"), "&lt;script&gt;&quot;&amp;&#39;");
        assert!(!page("<b>", "").contains("<b>"));
    }

    #[test]
    fn a_stopped_line_reads_as_plain_chinese() {
        assert_eq!(stop_explained(""), "");
        let shown = stop_explained("ELIG-REALNAME");
        assert!(shown.starts_with("未列入实名制花名册") && shown.contains("ELIG-REALNAME"), "{shown}");
        let unknown = stop_explained("SUBS-SOMETHING-NEW");
        assert!(unknown.starts_with("不符合补贴条件") && unknown.contains("SUBS-SOMETHING-NEW"), "{unknown}");
        // Anything not shaped like a code is never shown.
        let odd = stop_explained("张三 420102199001011234");
        assert!(!odd.contains("张三") && !odd.contains("4201") && odd.starts_with("不符合补贴条件"), "{odd}");
        assert!(!stop_explained("<b>").contains("<b>"));
        for (code, reason) in STOP_REASONS {
            assert!(code_shaped(code) && !reason.is_empty(), "{code}");
        }
        assert_eq!(project_shown("焊工项目化培训", "projects/01"), "焊工项目化培训");
        assert_eq!(project_shown(" ", "projects/01"), "projects/01");
    }

    #[test]
    fn forms_are_read_as_browsers_send_them() {
        let body = "claim=claims%2F01ab&contact=139+0000&text=%E6%9C%AA%E5%8F%82%E8%AE%AD%25";
        assert_eq!(form_value(body, "claim").as_deref(), Some("claims/01ab"));
        assert_eq!(form_value(body, "contact").as_deref(), Some("139 0000"));
        assert_eq!(form_value(body, "text").as_deref(), Some("未参训%"));
        assert_eq!(form_value(body, "nothing"), None);
        assert_eq!(form_value("a=%zz%4", "a").as_deref(), Some("%zz%4"));
        assert_eq!(percent_decode(&percent_encode("claims/01 ab&<")), "claims/01 ab&<");
    }
}
