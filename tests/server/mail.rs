//! E-mail through a real SMTP server: aiosmtpd (PyPI; `scripts/test` installs it and sets
//! `FRONTDESK_TEST_AIOSMTPD` to its Python), started by each test on a free port and writing what
//! it receives to a Maildir the test reads. The team's note about an offline message (headers,
//! body, once), a note queued while the SMTP server is down and sent once it is back, a note
//! that outlives a restart, and the outbox on /admin.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use frontdesk::store::SqliteStore;
use serde_json::{Value, json};

use crate::app::{TestApp, WAIT, sample_kb, spawn_app_on};

/// A real SMTP server on loopback, keeping what it receives in a Maildir.
pub struct Smtp {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("its address")
        .port()
}

impl Smtp {
    /// Starts one on `port`, and waits until it takes connections.
    pub async fn start_on(port: u16) -> Smtp {
        let python = std::env::var("FRONTDESK_TEST_AIOSMTPD").unwrap_or_else(|_| {
            panic!(
                "this test needs a real SMTP server: aiosmtpd from PyPI (scripts/test installs it \
                 and sets FRONTDESK_TEST_AIOSMTPD to its Python)"
            )
        });
        let dir = tempfile::tempdir().expect("a folder for the Maildir");
        let child = Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(dir.path().join("box"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd starts");
        let deadline = tokio::time::Instant::now() + WAIT;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "aiosmtpd did not listen on {port}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Smtp { child, port, dir }
    }

    pub async fn start() -> Smtp {
        Smtp::start_on(free_port()).await
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far, as raw RFC 5322 text.
    pub fn received(&self) -> Vec<String> {
        let mut files: Vec<PathBuf> = ["new", "cur"]
            .iter()
            .filter_map(|sub| std::fs::read_dir(self.dir.path().join("box").join(sub)).ok())
            .flatten()
            .flatten()
            .map(|e| e.path())
            .collect();
        files.sort();
        files
            .iter()
            .map(|f| std::fs::read_to_string(f).expect("a readable message"))
            .collect()
    }

    /// Waits until `n` messages have arrived (every wait has a timeout).
    pub async fn until(&self, n: usize) -> Vec<String> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{n} mail(s) expected, {} arrived",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server whose offline messages are announced to `team@larkspur.example` through `smtp_url`.
async fn spawn_mailing(store: Arc<dyn frontdesk::ports::Store>, smtp_url: String) -> TestApp {
    spawn_app_on(store, sample_kb(), move |s| {
        s.smtp_url = Some(smtp_url);
        s.mail_from = Some("Larkspur Support <support@larkspur.example>".into());
        s.team_email = Some("team@larkspur.example".into());
        s.mail_retry_seconds = 1;
    })
    .await
}

fn sqlite_file() -> PathBuf {
    tempfile::tempdir()
        .expect("a folder")
        .keep()
        .join("frontdesk.db")
}

/// A visitor leaves an offline message: its conversation id.
async fn leave_message(app: &TestApp, text: &str) -> String {
    let mut v = app.visitor().await;
    v.send(json!({"type": "leave_message", "email": "ana@example.com", "text": text}))
        .await;
    v.until(|f| f["kind"] == "offline_message").await;
    v.conversation.clone()
}

/// The outbox as /admin shows it, once `done` holds.
async fn outbox_until(app: &TestApp, admin: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (status, body) = app.get_as("/api/admin/outbox", Some(admin)).await;
        assert_eq!(status, 200, "{body}");
        let outbox: Value = serde_json::from_str(&body).unwrap();
        if done(&outbox) {
            return outbox;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the outbox did not get there: {outbox}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[actix_web::test]
async fn an_offline_message_is_announced_to_the_team_by_email_once() {
    let smtp = Smtp::start().await;
    let store = Arc::new(SqliteStore::open(&sqlite_file()).unwrap());
    let app = spawn_mailing(store, smtp.url()).await;
    let conversation = leave_message(&app, "Please call me back about order 4471").await;

    let raw = smtp.until(1).await.remove(0);
    let mail = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .expect("an RFC 5322 message");
    let first = |list: Option<&mail_parser::Address>| {
        list.and_then(|a| a.first())
            .and_then(|a| a.address())
            .map(str::to_owned)
    };
    assert_eq!(
        first(mail.to()).as_deref(),
        Some("team@larkspur.example"),
        "{raw}"
    );
    assert_eq!(
        first(mail.from()).as_deref(),
        Some("support@larkspur.example"),
        "{raw}"
    );
    assert_eq!(mail.subject(), Some("Offline message from ana@example.com"));
    assert!(raw.contains("Auto-Submitted: auto-generated"), "{raw}");
    assert!(
        mail.message_id()
            .is_some_and(|id| id.ends_with("@larkspur.example")),
        "{raw}"
    );
    let body = mail.body_text(0).expect("a text part");
    assert!(
        body.contains("Please call me back about order 4471"),
        "{body}"
    );
    assert!(
        body.contains(&conversation),
        "names the conversation: {body}"
    );

    let admin = app.admin_login().await;
    let outbox = outbox_until(&app, &admin, |o| o["mails"][0]["state"] == "sent").await;
    assert_eq!(outbox["configured"], true);
    assert_eq!(outbox["mails"][0]["attempts"], 1);
    assert_eq!(outbox["mails"][0]["mail"]["to"], "team@larkspur.example");
    // Nothing more arrives: one note per message.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(smtp.received().len(), 1);
}

#[actix_web::test]
async fn a_note_queued_while_the_smtp_server_is_down_is_sent_once_it_is_back() {
    let port = free_port();
    let store = Arc::new(SqliteStore::open(&sqlite_file()).unwrap());
    let app = spawn_mailing(store, format!("smtp://127.0.0.1:{port}")).await;
    let admin = app.admin_login().await;
    leave_message(&app, "Is my parcel lost?").await;

    // Nobody listens: the attempt fails, the server's answer is kept, a retry is due.
    let retrying = outbox_until(&app, &admin, |o| o["mails"][0]["state"] == "retrying").await;
    assert!(
        !retrying["mails"][0]["last_error"]
            .as_str()
            .unwrap_or_default()
            .is_empty(),
        "{retrying}"
    );
    // The SMTP server comes back: sent once, after more than one attempt.
    let smtp = Smtp::start_on(port).await;
    let mail = smtp.until(1).await.remove(0);
    assert!(mail.contains("Is my parcel lost?"), "{mail}");
    let sent = outbox_until(&app, &admin, |o| o["mails"][0]["state"] == "sent").await;
    assert!(
        sent["mails"][0]["attempts"].as_u64().unwrap() >= 2,
        "{sent}"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(smtp.received().len(), 1, "never twice");
}

#[actix_web::test]
async fn a_note_still_queued_when_the_server_stops_is_sent_after_it_starts_again() {
    let file = sqlite_file();
    let port = free_port();
    {
        let store = Arc::new(SqliteStore::open(&file).unwrap());
        let app = spawn_mailing(store, format!("smtp://127.0.0.1:{port}")).await;
        let admin = app.admin_login().await;
        leave_message(&app, "Call me after 5 pm").await;
        outbox_until(&app, &admin, |o| o["mails"][0]["state"] == "retrying").await;
        app.shutdown_handle().shutdown().await;
    }
    // Started again on the same database, with the SMTP server up.
    let smtp = Smtp::start_on(port).await;
    let store = Arc::new(SqliteStore::open(&file).unwrap());
    let _app = spawn_mailing(store, smtp.url()).await;
    let mail = smtp.until(1).await.remove(0);
    assert!(mail.contains("Call me after 5 pm"), "{mail}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(smtp.received().len(), 1);
}

#[actix_web::test]
async fn an_offline_message_answered_from_the_console_is_mailed_once_and_kept_in_the_transcript() {
    let smtp = Smtp::start().await;
    let store = Arc::new(SqliteStore::open(&sqlite_file()).unwrap());
    let app = spawn_app_on(store, sample_kb(), {
        let url = smtp.url();
        move |s| {
            s.smtp_url = Some(url);
            s.mail_from = Some("Larkspur Support <support@larkspur.example>".into());
            s.mail_retry_seconds = 1;
        }
    })
    .await;
    let mut ann = app.agent("ann").await;
    let mut v = app.visitor().await;
    v.send(json!({"type": "leave_message", "email": "ana@example.com", "text": "Wo ist meine Rücksendung?\nBestellung 4471"}))
        .await;
    v.until(|f| f["kind"] == "offline_message").await;
    let id = v.conversation.clone();
    ann.until(|f| f["type"] == "follow_ups" && f["items"].as_array().unwrap().len() == 1)
        .await;

    // Answered from the console, sent twice (a reconnect's resend): one mail, one message.
    ann.act("open", &id, json!({})).await;
    for _ in 0..2 {
        ann.act(
            "email_reply",
            &id,
            json!({"text": "Your return arrived on Monday; the refund follows within 5 days.", "client_id": "m-1"}),
        )
        .await;
    }
    // The reply in the transcript and the follow-up gone, in whichever order they come.
    let (mut reply, mut followed_up) = (None, false);
    while reply.is_none() || !followed_up {
        let f = ann
            .until(|f| {
                (f["type"] == "conversation_event" && f["event"]["kind"] == "agent_message")
                    || (f["type"] == "follow_ups" && f["items"].as_array().unwrap().is_empty())
            })
            .await;
        if f["type"] == "follow_ups" {
            followed_up = true;
        } else {
            reply = Some(f["event"].clone());
        }
    }
    assert_eq!(
        reply.unwrap()["text"],
        "Your return arrived on Monday; the refund follows within 5 days."
    );
    let raw = smtp.until(1).await.remove(0);
    let mail = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .expect("an RFC 5322 message");
    let to = mail
        .to()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .map(str::to_owned);
    assert_eq!(to.as_deref(), Some("ana@example.com"));
    assert!(!raw.contains("Auto-Submitted"), "a person wrote it: {raw}");
    let body = mail.body_text(0).expect("a text part");
    assert!(body.contains("the refund follows within 5 days"), "{body}");
    assert!(
        body.contains("> Wo ist meine Rücksendung?\n> Bestellung 4471"),
        "quotes what they wrote: {body}"
    );
    assert!(body.contains("Ann"), "signed by the agent: {body}");
    // The visitor sees the answer in the widget too, and no one else sees their address.
    let (_, log) = app.transcript(&v.token).await;
    assert!(log.iter().any(|e| e["kind"] == "agent_message"));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(smtp.received().len(), 1, "a resend mails once");
}

#[actix_web::test]
async fn without_smtp_an_email_reply_is_refused_and_the_console_is_told() {
    let app = spawn_app_on(
        Arc::new(SqliteStore::open(&sqlite_file()).unwrap()),
        sample_kb(),
        |_| {},
    )
    .await;
    let cookie = app.login("ann").await;
    let mut ann = crate::app::AgentClient::connect(&app, &cookie)
        .await
        .unwrap();
    let welcome = ann.until(|f| f["type"] == "welcome").await;
    assert_eq!(welcome["email"], false);
    let id = leave_message(&app, "call me").await;
    ann.act(
        "email_reply",
        &id,
        json!({"text": "hello", "client_id": "m-1"}),
    )
    .await;
    let refused = ann.until(|f| f["type"] == "error").await;
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("does not send e-mail"),
        "{refused}"
    );
}
