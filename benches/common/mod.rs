//! What the load generators share: starting `frontdesk serve` as a child process and reading the
//! port it printed, copying the sample knowledge base, and a process's resident memory.

// Each bench uses some of these.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A child process that is killed when dropped (also when the bench panics), with its own data
/// folder (deleted after it).
pub struct Node {
    pub child: Child,
    /// Deleted when the node is dropped, after the process is gone.
    _data: tempfile::TempDir,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `frontdesk serve` on a free port with `extra` flags and a fresh data folder (its SQLite
/// database, unless `extra` chooses another store); returns it with its port.
pub fn spawn_frontdesk(extra: &[&str]) -> (Node, u16) {
    let data = tempfile::tempdir().expect("a temporary data folder");
    let mut child = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args([
            "serve",
            "--port",
            "0",
            "--rate-per-second",
            "100000",
            "--rate-burst",
            "100000",
        ])
        .arg("--data-dir")
        .arg(data.path())
        .args(extra)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("frontdesk starts");
    let port = read_port(&mut child, "frontdesk is running: open http://127.0.0.1:");
    (Node { child, _data: data }, port)
}

/// The port in the first stdout line containing `prefix`. The rest of stdout is drained on a
/// thread, so the child never writes into a closed pipe.
pub fn read_port(child: &mut Child, prefix: &str) -> u16 {
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        let line = line.expect("readable stdout");
        if let Some(rest) = line.split(prefix).nth(1) {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            std::thread::spawn(move || for _ in lines {});
            return digits.parse().expect("a port number");
        }
    }
    panic!("the server printed no port");
}

/// Copies a folder tree (the sample knowledge base, to change it for a bench).
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The resident memory of process `pid`, in KiB.
pub fn rss_kib(pid: u32) -> i64 {
    status_kib(pid, "VmRSS")
}

/// A `/proc/PID/status` memory line of process `pid` (`VmRSS`, `RssAnon`, `RssFile`), in KiB.
pub fn status_kib(pid: u32, field: &str) -> i64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc is readable");
    status
        .lines()
        .find(|l| l.strip_prefix(field).is_some_and(|r| r.starts_with(':')))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/PID/status"))
}

/// The value after `name` on the command line (`--visitors 100`).
pub fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}
