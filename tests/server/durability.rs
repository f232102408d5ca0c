//! Durability of the default store, with the real `frontdesk` binary as a child process in an
//! empty folder and its default settings (the SQLite store in `./data`): many visitors send
//! numbered messages, the process is killed with SIGKILL halfway, and a new process is started
//! the same way. Every message whose receipt was sent must be there exactly once, every
//! conversation resumes, the agent's login cookie still works and queued chats keep their places.
//! A team's e-mail note queued just before a SIGKILL is mailed once after the restart.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::app::{AgentClient, TestApp, Visitor, WAIT};

const VISITORS: usize = 20;
const MESSAGES_EACH: usize = 15;
/// Receipts after which the server is killed: half of all messages.
const KILL_AFTER: usize = VISITORS * MESSAGES_EACH / 2;

/// The real binary serving from `dir`, as a user starts it: `frontdesk serve` with defaults
/// (only the port, the knowledge base (a copy without business hours), a rate limit that lets the flood through and no
/// auto-assign, so that chats stay queued, are set).
struct ServerProcess {
    child: Child,
    port: u16,
    /// What it printed at start (store, addresses, demo logins).
    banner: String,
}

impl ServerProcess {
    fn start(dir: &Path) -> ServerProcess {
        ServerProcess::start_with(dir, &[])
    }

    /// `start`, with these settings in the environment (`FRONTDESK_*`).
    fn start_with(dir: &Path, env: &[(&str, String)]) -> ServerProcess {
        let kb = dir.join("knowledge_base");
        if !kb.exists() {
            copy_without_hours(
                &Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge_base"),
                &kb,
            );
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
            .args(["serve", "--port", "0", "--rate-burst", "100"])
            .args([
                "--rate-per-second",
                "100",
                "--watch-knowledge-base",
                "false",
            ])
            .args(["--auto-assign", "false"])
            .arg("--knowledge-base")
            .arg(&kb)
            .current_dir(dir)
            .env_remove("REDIS_URL")
            .env_remove("FRONTDESK_STORE")
            .env_remove("FRONTDESK_DATA_DIR")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the frontdesk binary starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (lines_tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });
        // The banner ends with the demo admin's line (this folder has no roster).
        let mut banner = String::new();
        let mut port = None;
        while !banner.contains("sign in as `admin`") {
            let line = lines
                .recv_timeout(Duration::from_secs(60))
                .expect("the server prints its banner within a minute");
            if let Some(rest) = line.strip_prefix("frontdesk is running: open http://127.0.0.1:") {
                port = rest.split('/').next().and_then(|p| p.parse().ok());
            }
            banner.push_str(&line);
            banner.push('\n');
        }
        let port = port.expect("the banner names the port");
        ServerProcess {
            child,
            port,
            banner,
        }
    }

    fn app(&self) -> TestApp {
        TestApp {
            port: self.port,
            shutdown: None,
        }
    }

    /// SIGKILL: no shutdown code runs.
    fn kill(mut self) {
        self.child.kill().expect("the server can be killed");
        self.child.wait().expect("the killed server is reaped");
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The sample knowledge base without its business hours: the test runs at any time of day,
/// and outside hours a request for a person gets the offline form instead of the queue.
fn copy_without_hours(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_without_hours(&entry.path(), &target);
        } else if entry.file_name() != "hours.toml" {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The demo agent's password from the first start's banner.
fn demo_password(banner: &str) -> String {
    password_of(banner, "demo")
}

/// The password of demo login `who` (`demo`, `admin`) from the first start's banner.
fn password_of(banner: &str, who: &str) -> String {
    let marker = format!("sign in as `{who}` with the password `");
    let start = banner
        .find(&marker)
        .expect("the first start prints the demo password")
        + marker.len();
    banner[start..]
        .split('`')
        .next()
        .expect("the password is quoted")
        .to_owned()
}

/// One visitor of the flood: sends numbered messages one after another, each after the receipt
/// of the one before, and counts receipts until the socket dies.
async fn flood(port: u16, n: usize, acked: Arc<AtomicUsize>) -> (String, Vec<String>) {
    let url = format!("ws://127.0.0.1:{port}/ws");
    let (mut ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(url))
        .await
        .expect("handshake in time")
        .expect("connects");
    ws.send(Message::text(json!({"type": "hello"}).to_string()))
        .await
        .expect("hello is sent");
    let mut token = String::new();
    let mut receipts = Vec::new();
    'messages: for m in 0..MESSAGES_EACH {
        let client_id = format!("v{n}-m{m}");
        if token.is_empty() {
            // Wait for the welcome first.
            while let Ok(Some(Ok(frame))) = tokio::time::timeout(WAIT, ws.next()).await {
                if let Message::Text(t) = frame {
                    let v: Value = serde_json::from_str(&t).expect("JSON");
                    if v["type"] == "welcome" {
                        token = v["token"].as_str().expect("a token").to_owned();
                        break;
                    }
                }
            }
            assert!(!token.is_empty(), "visitor {n} got a welcome");
        }
        let frame = json!({"type": "message", "text": format!("message {m} of visitor {n}"), "client_id": client_id});
        if ws.send(Message::text(frame.to_string())).await.is_err() {
            break;
        }
        loop {
            match tokio::time::timeout(WAIT, ws.next()).await {
                Ok(Some(Ok(Message::Text(t)))) => {
                    let v: Value = serde_json::from_str(&t).expect("JSON");
                    if v["kind"] == "visitor_message" && v["client_id"] == client_id.as_str() {
                        receipts.push(client_id);
                        acked.fetch_add(1, Ordering::SeqCst);
                        continue 'messages;
                    }
                }
                Ok(Some(Ok(_))) => {}
                // The server died: this message may or may not be stored; it was not acknowledged.
                _ => break 'messages,
            }
        }
    }
    (token, receipts)
}

#[actix_web::test]
async fn a_killed_server_loses_no_acknowledged_message_and_every_conversation_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let first = ServerProcess::start(dir.path());
    let password = demo_password(&first.banner);
    let app = first.app();
    let (status, cookie, body) = app
        .post(
            "/api/agent/login",
            &json!({"id": "demo", "password": password}),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let cookie = cookie.expect("a session cookie");
    let cookie = cookie.split(';').next().unwrap().to_owned();
    // The demo agent is online and has one chat; two more wait in line, in this order.
    let mut agent = AgentClient::connect(&app, &cookie)
        .await
        .expect("the console connects");
    agent.until(|f| f["type"] == "welcome").await;
    let mine = app.waiting_visitor().await.conversation;
    agent.act("claim", &mine, json!({})).await;
    let has_mine = |f: &Value| {
        f["type"] == "chats"
            && f["items"]
                .as_array()
                .is_some_and(|items| items.iter().any(|c| c["conversation"] == mine.as_str()))
    };
    agent.until(has_mine).await;
    let mut waiting = Vec::new();
    for _ in 0..2 {
        waiting.push(app.waiting_visitor().await.conversation);
    }

    let acked = Arc::new(AtomicUsize::new(0));
    let visitors: Vec<_> = (0..VISITORS)
        .map(|n| tokio::spawn(flood(first.port, n, acked.clone())))
        .collect();
    let halfway = async {
        while acked.load(Ordering::SeqCst) < KILL_AFTER {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), halfway)
        .await
        .expect("half the messages are acknowledged within a minute");
    first.kill();
    let mut sent = Vec::new();
    for v in visitors {
        sent.push(
            tokio::time::timeout(WAIT * 2, v)
                .await
                .expect("each visitor notices the dead server")
                .unwrap(),
        );
    }

    let second = ServerProcess::start(dir.path());
    assert!(
        !second.banner.contains(&password),
        "the demo password is not made (or shown) again"
    );
    let app = second.app();
    let (mut acknowledged, mut lost, mut doubled) = (0, 0, 0);
    for (token, receipts) in &sent {
        let (welcome, log) = app.transcript(token).await;
        assert_eq!(welcome["resumed"], true, "the conversation resumes");
        let seqs: Vec<u64> = log.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
        // Agents' internal notes are not sent to visitors: gaps are fine, repeats are not.
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "the log replays in order, each event once: {seqs:?}"
        );
        for id in receipts {
            acknowledged += 1;
            match log.iter().filter(|e| e["client_id"] == id.as_str()).count() {
                0 => lost += 1,
                1 => {}
                _ => doubled += 1,
            }
        }
    }
    println!(
        "crash test: {acknowledged} acknowledged messages, {lost} lost, {doubled} doubled, \
         {} conversations resumed",
        sent.len()
    );
    assert!(acknowledged >= KILL_AFTER);
    assert_eq!((lost, doubled), (0, 0));

    // The agent's login survived, their chat is still theirs, and the queue kept its order.
    let (status, _) = app.get_as("/api/agent/me", Some(&cookie)).await;
    assert_eq!(status, 200, "the session cookie still works");
    let mut agent = AgentClient::connect(&app, &cookie)
        .await
        .expect("the console reconnects with its cookie");
    // Flooded visitors may have been handed off too (repeated misses): they queued later.
    let queue = agent.until(|f| f["type"] == "queue").await;
    let order: Vec<&str> = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["conversation"].as_str().unwrap())
        .take(2)
        .collect();
    assert_eq!(
        order,
        waiting.iter().map(String::as_str).collect::<Vec<_>>()
    );
    agent.until(has_mine).await;
}

/// Two sockets of one conversation: one asks for a person while the other asks a question, at
/// the same moment, `ROUNDS` times. The bot must never answer after "connecting you" (the
/// `queued` notice), whichever wins.
async fn racing_tabs_never_get_a_bot_answer_after_the_queued_notice(app: TestApp) {
    const ROUNDS: usize = 40;
    // Someone is online, so asking for a person queues the chat.
    let _ann = app.agent("ann").await;
    let mut answered_first = 0;
    for round in 0..ROUNDS {
        let mut asks = app.visitor().await;
        let mut other = Visitor::connect(&app, None).await.expect("connects");
        other
            .hello(json!({"type": "hello", "token": asks.token, "last_seq": 0}))
            .await;
        let (_, _) = tokio::join!(
            asks.send(json!({"type": "request_human"})),
            other.say("how long does delivery take?"),
        );
        asks.notice("queued").await;
        other
            .until(|f| f["type"] == "event" && f["kind"] == "visitor_message")
            .await;
        let (_, log) = app.transcript(&asks.token).await;
        let queued = log
            .iter()
            .position(|e| e["kind"] == "notice" && e["notice"]["notice"] == "queued")
            .expect("the conversation was queued");
        let late: Vec<&Value> = log[queued..]
            .iter()
            .filter(|e| e["kind"] == "bot_answer")
            .collect();
        assert!(
            late.is_empty(),
            "round {round}: the bot answered after the queued notice: {late:?}"
        );
        if log[..queued].iter().any(|e| e["decision"] == "answer") {
            answered_first += 1;
        }
    }
    println!(
        "racing tabs: the question was answered before the handoff in {answered_first} of {ROUNDS} rounds"
    );
}

#[actix_web::test]
async fn racing_tabs_on_sqlite() {
    racing_tabs_never_get_a_bot_answer_after_the_queued_notice(crate::app::spawn_app().await).await;
}

#[actix_web::test]
async fn racing_tabs_on_memory() {
    let store = Arc::new(frontdesk::store::MemoryStore::new());
    let app = crate::app::spawn_app_on(store, crate::app::sample_kb(), |_| {}).await;
    racing_tabs_never_get_a_bot_answer_after_the_queued_notice(app).await;
}

#[actix_web::test]
async fn racing_tabs_on_redis() {
    racing_tabs_never_get_a_bot_answer_after_the_queued_notice(
        crate::app::spawn_redis_app(|_| {}).await,
    )
    .await;
}

/// An upload under way when the server is killed is not in the conversation after the restart,
/// leaves no file behind, and goes through when the visitor sends it again.
#[actix_web::test]
async fn a_server_killed_mid_upload_shows_no_file_and_keeps_none() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().unwrap();
    let first = ServerProcess::start(dir.path());
    let v = first.app().visitor().await;
    let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", first.port))
        .await
        .unwrap();
    let head = format!(
        "POST /api/files?name=notes.txt&client_id=up-1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Authorization: Bearer {}\r\nContent-Length: 20000\r\n\r\n",
        v.token
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(&[b'a'; 9_000]).await.unwrap();
    socket.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    first.kill();
    drop(socket);

    let second = ServerProcess::start(dir.path());
    let app = second.app();
    let files = || {
        std::fs::read_dir(dir.path().join("data").join("attachments"))
            .map(|d| d.flatten().count())
            .unwrap_or(0)
    };
    assert_eq!(files(), 0, "no partial file left");
    let (_, log) = app.transcript(&v.token).await;
    assert!(!log.iter().any(|e| e["kind"] == "visitor_file"), "{log:?}");
    let sent = crate::app::http()
        .post(format!(
            "http://127.0.0.1:{}/api/files?name=notes.txt&client_id=up-1",
            second.port
        ))
        .bearer_auth(&v.token)
        .body(vec![b'a'; 20_000])
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 201, "sent again after the restart");
    let (_, log) = app.transcript(&v.token).await;
    assert_eq!(
        log.iter().filter(|e| e["kind"] == "visitor_file").count(),
        1
    );
    assert_eq!(files(), 1, "one conversation folder with the file");
}

#[actix_web::test]
async fn a_note_queued_before_a_kill_9_is_mailed_once_after_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let down = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mail_env = |port: u16| {
        vec![
            ("FRONTDESK_SMTP_URL", format!("smtp://127.0.0.1:{port}")),
            (
                "FRONTDESK_MAIL_FROM",
                "Larkspur Support <support@larkspur.example>".to_owned(),
            ),
            ("FRONTDESK_TEAM_EMAIL", "team@larkspur.example".to_owned()),
            ("FRONTDESK_MAIL_RETRY_SECONDS", "1".to_owned()),
        ]
    };
    // Nobody takes mail yet: the note can only wait in the outbox.
    let first = ServerProcess::start_with(dir.path(), &mail_env(down));
    let mut v = first.app().visitor().await;
    v.send(json!({"type": "leave_message", "email": "ana@example.com", "text": "Killed right after this"}))
        .await;
    v.until(|f| f["kind"] == "offline_message").await;
    // The note is in the outbox, its first attempt refused: then SIGKILL. (A note whose attempt
    // is cut off by the kill waits out its 60 s lease; one killed before it was queued is found
    // again by the sweep at the next start.)
    let app = first.app();
    let (status, cookie, body) = app
        .post(
            "/api/admin/login",
            &json!({"id": "admin", "password": password_of(&first.banner, "admin")}),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let cookie = cookie.expect("an admin cookie");
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (_, outbox) = app.get_as("/api/admin/outbox", Some(&cookie)).await;
        if outbox.contains("\"retrying\"") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not retrying: {outbox}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    first.kill();

    let smtp = crate::mail::Smtp::start_on(down).await;
    let _second = ServerProcess::start_with(dir.path(), &mail_env(down));
    let raw = smtp.until(1).await.remove(0);
    assert!(raw.contains("Killed right after this"), "{raw}");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(smtp.received().len(), 1, "mailed once");
}
