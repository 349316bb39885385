//! What the walkthroughs share: `qiancheng dev` running as its own process in a fresh folder,
//! its endpoints as it prints them, tokens minted with the key it made, and channels to it.

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tonic::transport::Channel;

/// The suite's binary.
pub const BIN: &str = env!("CARGO_BIN_EXE_qiancheng");

/// `qiancheng dev` on ports it chose, stopped when dropped.
pub struct Dev {
    child: Child,
    dir: tempfile::TempDir,
    endpoints: HashMap<String, String>,
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Dev {
    /// Starts `qiancheng dev --base-port 0` and reads the endpoints it prints.
    pub fn start() -> Dev {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut child = Command::new(BIN)
            .args(["dev", "--base-port", "0"])
            .current_dir(dir.path())
            .env_remove("QIANCHENG_DATABASE_URL")
            .env_remove("QIANCHENG_DATA_DIR")
            // Supervision's clock is the system's until a walkthrough writes this file.
            .env("QIANCHENG_SUPERVISION_CLOCK_FILE", dir.path().join("supervision-clock"))
            .stdout(Stdio::piped())
            .spawn()
            .expect("start dev");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut endpoints = HashMap::new();
        for line in lines.by_ref() {
            let line = line.expect("utf-8");
            let mut words = line.split_whitespace();
            if let (Some(name), Some(addr)) = (words.next(), words.next()) {
                endpoints.insert(name.to_owned(), addr.to_owned());
            }
            if line.starts_with("Press Ctrl-C") {
                break;
            }
        }
        std::thread::spawn(move || lines.for_each(drop));
        Dev { child, dir, endpoints }
    }

    /// The address `dev` printed for `service`.
    pub fn endpoint(&self, service: &str) -> &str {
        self.endpoints.get(service).unwrap_or_else(|| panic!("dev runs {service} on its own port"))
    }

    /// Sets supervision's clock (a development setting): `YYYY-MM-DD` for the end of that day or
    /// `YYYY-MM-DDTHH:MM:SS`, China time, so that a class can be lived through.
    // Only the supervision walkthrough lives through a class.
    #[allow(dead_code)]
    pub fn set_supervision_clock(&self, at: &str) {
        std::fs::write(self.dir.path().join("supervision-clock"), at).expect("write the clock file");
    }

    /// Mints a token with the key `dev` made, as `qiancheng token` does in its folder.
    pub fn token(&self, args: &[&str]) -> String {
        let output = Command::new(BIN).arg("token").args(args).current_dir(self.dir.path()).output().expect("token");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).expect("utf-8").trim().to_owned()
    }

    /// A channel to `service`, once it answers.
    pub async fn channel(&self, service: &str) -> Channel {
        let addr = self.endpoint(service);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(channel) =
                tonic::transport::Endpoint::from_shared(format!("http://{addr}")).expect("uri").connect().await
            {
                return channel;
            }
            assert!(Instant::now() < deadline, "{addr} never answered");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The workbook at `path` as `openpyxl` (Python's own Excel library, not the one that wrote it)
/// reads it: each sheet's name, its row count and its first `rows` rows' values as text (dates as
/// `YYYY-MM-DD HH:MM:SS`). `QIANCHENG_PYTHON` names the interpreter (`.ci/run` makes one with
/// openpyxl, and then a missing openpyxl fails the test); without it, `python3`, and the check is
/// skipped with a note when openpyxl is not installed.
// Only the tests that export or answer with workbooks read them back; a skip is said on stderr.
#[allow(dead_code, clippy::print_stderr)]
pub fn openpyxl(path: &std::path::Path, rows: usize) -> Option<serde_json::Value> {
    let required = std::env::var_os("QIANCHENG_PYTHON");
    let python = required.clone().unwrap_or_else(|| "python3".into());
    let script = "import json, sys, openpyxl\n\
wb = openpyxl.load_workbook(sys.argv[1])\n\
print(json.dumps([{'name': ws.title, 'rows': ws.max_row, 'first': [[None if c is None else str(c) for c in r] \
for r in ws.iter_rows(min_row=1, max_row=int(sys.argv[2]), values_only=True)]} for ws in wb.worksheets]))";
    let output = Command::new(&python).args(["-c", script]).arg(path).arg(rows.to_string()).output();
    match output {
        Ok(out) if out.status.success() => Some(serde_json::from_slice(&out.stdout).expect("openpyxl's JSON")),
        Ok(out) if required.is_none() && String::from_utf8_lossy(&out.stderr).contains("No module named") => {
            eprintln!("openpyxl is not installed here: the read-back by a second library is skipped");
            None
        }
        Ok(out) => panic!("openpyxl could not read {}: {}", path.display(), String::from_utf8_lossy(&out.stderr)),
        Err(e) if required.is_none() => {
            eprintln!("no python3 here ({e}): the read-back by openpyxl is skipped");
            None
        }
        Err(e) => panic!("{python:?}: {e}"),
    }
}

/// The workbook at `path` opened by LibreOffice as a person would open it: converted headless to
/// PDF (`soffice --convert-to pdf`, a profile of its own so tests may convert at once), its first
/// page kept as a PNG under the target folder (`target/tmp/artifacts/{artifact}.png`, with
/// `pdftoppm`) and its text returned (`pdftotext`) for the test to check what a reader sees.
/// `QIANCHENG_REQUIRE_SOFFICE=1` (set by `.ci/run`, which installs LibreOffice, poppler and a
/// Chinese font) makes a missing LibreOffice a failure; elsewhere it is skipped with a note.
#[allow(dead_code, clippy::print_stderr)]
pub fn libreoffice(path: &std::path::Path, artifact: &str) -> Option<String> {
    let required = std::env::var("QIANCHENG_REQUIRE_SOFFICE").as_deref() == Ok("1");
    let soffice = std::env::var_os("QIANCHENG_SOFFICE").unwrap_or_else(|| "soffice".into());
    let work = std::env::temp_dir().join(format!(
        "qiancheng-soffice-{artifact}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
    ));
    std::fs::create_dir_all(&work).expect("a folder for the conversion");
    let profile = format!("-env:UserInstallation=file://{}", work.join("profile").display());
    let converted = Command::new(&soffice)
        .args([profile.as_str(), "--headless", "--convert-to", "pdf", "--outdir"])
        .arg(&work)
        .arg(path)
        .output();
    let out = match converted {
        Ok(out) => out,
        Err(e) if !required => {
            eprintln!("no LibreOffice here ({e}): the workbook is not opened by it");
            let _ = std::fs::remove_dir_all(&work);
            return None;
        }
        Err(e) => panic!("{soffice:?}: {e}"),
    };
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let pdf = work.join(format!("{stem}.pdf"));
    assert!(
        out.status.success() && pdf.exists(),
        "LibreOffice could not open {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&pdf).expect("the PDF");
    assert!(bytes.starts_with(b"%PDF"), "LibreOffice wrote a PDF");
    let artifacts = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("artifacts");
    std::fs::create_dir_all(&artifacts).expect("the artifacts folder");
    let png = Command::new("pdftoppm")
        .args(["-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile"])
        .arg(&pdf)
        .arg(artifacts.join(artifact))
        .status();
    assert!(png.is_ok_and(|s| s.success()) || !required, "pdftoppm made no PNG of the first page");
    let text = Command::new("pdftotext").args(["-layout"]).arg(&pdf).arg("-").output();
    let text = match text {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
        _ if !required => String::new(),
        _ => panic!("pdftotext could not read the PDF of {}", path.display()),
    };
    let _ = std::fs::remove_dir_all(&work);
    Some(text)
}

/// The public notice page at `base` as headless Chromium shows it to a reader on a phone
/// (`scripts/notice_page_in_chromium.py` with Python's playwright driving Debian's Chromium): its
/// text and HTML, where its objection link leads, the forms there, whether it fits the screen;
/// a screenshot kept as `target/tmp/artifacts/{artifact}.png`. `QIANCHENG_PLAYWRIGHT_PYTHON` names
/// a Python with playwright and `QIANCHENG_CHROMIUM` the browser (default `/usr/bin/chromium`);
/// `QIANCHENG_REQUIRE_CHROMIUM=1` (set by `.ci/run`) makes their absence a failure, elsewhere it
/// is skipped with a note.
#[allow(dead_code, clippy::print_stderr)]
pub fn chromium(base: &str, artifact: &str) -> Option<serde_json::Value> {
    let required = std::env::var("QIANCHENG_REQUIRE_CHROMIUM").as_deref() == Ok("1");
    let Some(python) = std::env::var_os("QIANCHENG_PLAYWRIGHT_PYTHON") else {
        assert!(!required, "QIANCHENG_REQUIRE_CHROMIUM=1 but QIANCHENG_PLAYWRIGHT_PYTHON is not set");
        eprintln!("no Python with playwright named (QIANCHENG_PLAYWRIGHT_PYTHON): the page is not opened in Chromium");
        return None;
    };
    let browser = std::env::var("QIANCHENG_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    if !std::path::Path::new(&browser).exists() {
        assert!(!required, "QIANCHENG_REQUIRE_CHROMIUM=1 but there is no Chromium at {browser}");
        eprintln!("no Chromium at {browser}: the page is not opened in it");
        return None;
    }
    let artifacts = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("artifacts");
    std::fs::create_dir_all(&artifacts).expect("the artifacts folder");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/notice_page_in_chromium.py");
    let out = Command::new(python)
        .arg(script)
        .arg(base)
        .arg(artifacts.join(format!("{artifact}.png")))
        .arg(&browser)
        .output()
        .expect("run the page in Chromium");
    assert!(out.status.success(), "Chromium could not show the page: {}", String::from_utf8_lossy(&out.stderr));
    Some(serde_json::from_slice(&out.stdout).expect("what Chromium saw, as JSON"))
}
