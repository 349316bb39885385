//! A `qiancheng` process a test runs as its users would: its standard output collected line by
//! line as it comes, stopped with SIGTERM (as an orchestrator would) or SIGKILL (as a crash),
//! and killed when dropped.
// Each test file that runs processes uses part of it.
#![allow(dead_code)]

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A child process and its output lines as they come.
pub struct Running {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Running {
    /// Starts `command` with its standard output collected line by line.
    pub fn spawn(command: &mut Command) -> Self {
        let mut child = command.stdout(Stdio::piped()).spawn().expect("start the process");
        let stdout = child.stdout.take().expect("piped stdout");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().expect("lines").push(line);
            }
        });
        Self { child, lines }
    }

    /// The lines written so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().expect("lines").clone()
    }

    /// Waits until a line satisfies `found`, and returns it.
    pub async fn wait_for(&mut self, what: &str, found: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(line) = self.lines().into_iter().find(|l| found(l)) {
                return line;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the process ended ({status}) before {what}:\n{}", self.lines().join("\n"));
            }
            assert!(Instant::now() < deadline, "no {what} within a minute:\n{}", self.lines().join("\n"));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for the JSON log line `message` and returns its field `field`.
    pub async fn logged(&mut self, message: &str, field: &str) -> String {
        let line = self
            .wait_for(message, |l| serde_json::from_str::<serde_json::Value>(l).is_ok_and(|v| v["message"] == message))
            .await;
        let value: serde_json::Value = serde_json::from_str(&line).expect("json");
        value[field].as_str().unwrap_or_else(|| panic!("{message} logs {field}: {line}")).to_owned()
    }

    /// Sends SIGTERM and waits for the exit without blocking the test's runtime, so that the
    /// test's own client connections can answer the server's GOAWAY and close.
    pub async fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "the process did not stop on SIGTERM");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL: no draining, as a crash or an evicted pod.
    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
