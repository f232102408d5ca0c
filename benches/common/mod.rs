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

/// Writes an agents file of `n` agents `{prefix}-0..n`, all with `password` and `capacity`.
pub fn roster(
    dir: &std::path::Path,
    prefix: &str,
    password: &str,
    n: usize,
    capacity: usize,
) -> std::path::PathBuf {
    use frontdesk::agents::{Agent, Roster, hash_password};
    let file = dir.join("agents.toml");
    let hash = hash_password(password).expect("a password hash");
    for i in 0..n {
        let agent = Agent {
            id: format!("{prefix}-{i}"),
            name: format!("Agent {i}"),
            password_hash: hash.clone(),
            capacity,
            teams: Vec::new(),
        };
        Roster::add(&file, agent).expect("the roster is written");
    }
    file
}

/// A copy of the sample knowledge base without business hours, so a bench runs at any time of day.
pub fn sample_kb_without_hours(dir: &std::path::Path) -> std::path::PathBuf {
    let kb = dir.join("kb");
    copy_dir(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge_base"),
        &kb,
    );
    std::fs::remove_file(kb.join("hours.toml")).expect("the sample has hours.toml");
    kb
}

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a websocket on `path`, with a session cookie when given.
pub async fn connect(port: u16, path: &str, cookie: Option<&str>) -> Ws {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = format!("ws://127.0.0.1:{port}{path}")
        .into_client_request()
        .unwrap();
    if let Some(c) = cookie {
        request.headers_mut().insert("Cookie", c.parse().unwrap());
    }
    tokio_tungstenite::connect_async_with_config(request, None, true)
        .await
        .expect("the socket opens")
        .0
}

/// The next JSON frame within `wait` (`None`: nothing came, or the socket ended).
pub async fn next(ws: &mut Ws, wait: std::time::Duration) -> Option<serde_json::Value> {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return serde_json::from_str(&t).ok(),
            Ok(Some(Ok(_))) => continue,
            _ => return None,
        }
    }
}

/// Logs agent `id` in; returns its session cookie (`name=value`).
pub async fn login(port: u16, id: &str, password: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = serde_json::json!({"id": id, "password": password}).to_string();
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let request = format!(
        "POST /api/agent/login HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.unwrap();
    raw.lines()
        .find_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or(l.strip_prefix("Set-Cookie: "))
        })
        .and_then(|c| c.split(';').next())
        .expect("logged in")
        .to_owned()
}
