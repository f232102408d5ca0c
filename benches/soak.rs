//! Soak: many visitors and dozens of agents on one `frontdesk serve` (the default SQLite store)
//! for minutes. Every visitor sends a numbered
//! message every few seconds and waits for its receipt; after one message in `HANDOFF_EVERY` it
//! asks for a person, the router assigns an agent, who answers and closes the chat; the visitor
//! then starts a new conversation. Counted: messages sent, receipts, lost (no receipt in 10 s), error
//! frames, agent answers received; and the server's resident memory every 10 s (anonymous, and
//! file-backed: the database's mapped pages).
//!
//!     cargo bench --bench soak -- --visitors 2000 --agents 30 --seconds 180
//!
//! With `--console-chats N`: one agent's console, open all day, handles N chats one after
//! another (`--at-once` visitors waiting at a time, 10 by default): each visitor asks for a
//! person, is given to that agent, writes; the console must see the message, answers and
//! closes. Counted: chats completed, visitor messages the console never saw, error frames the
//! console got, and the server's memory.
//!
//!     cargo bench --bench soak -- --console-chats 10000

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use common::{Ws, connect, next};

/// A receipt (or the agent's answer) that takes longer than this counts as lost.
const WAIT: Duration = Duration::from_secs(10);
/// One message in this many asks for a person.
const HANDOFF_EVERY: u64 = 10;

#[derive(Default)]
struct Counts {
    sent: AtomicU64,
    receipts: AtomicU64,
    lost: AtomicU64,
    errors: AtomicU64,
    handoffs: AtomicU64,
    answered: AtomicU64,
}

/// Every agent's password.
const PASSWORD: &str = "soak-password";

fn main() {
    if let Some(chats) = common::arg("--console-chats") {
        let at_once = common::arg("--at-once").map_or(10, |v| v.parse().expect("--at-once N"));
        console_day(chats.parse().expect("--console-chats N"), at_once);
        return;
    }
    let visitors: usize =
        common::arg("--visitors").map_or(2000, |v| v.parse().expect("--visitors N"));
    let agents: usize = common::arg("--agents").map_or(30, |v| v.parse().expect("--agents N"));
    let seconds: u64 = common::arg("--seconds").map_or(180, |v| v.parse().expect("--seconds N"));
    let dir = tempfile::tempdir().expect("a temporary folder");
    let agents_file = common::roster(dir.path(), "soak", PASSWORD, agents, 20);
    let kb = common::sample_kb_without_hours(dir.path());
    let (node, port) = common::spawn_frontdesk(&[
        "--agents-file",
        agents_file.to_str().unwrap(),
        "--knowledge-base",
        kb.to_str().unwrap(),
    ]);
    let pid = node.child.id();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let counts = Arc::new(Counts::default());
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let mut tasks = Vec::new();
        for n in 0..agents {
            // Agents stay until the last visitor's wait is over.
            tasks.push(tokio::spawn(agent(port, format!("soak-{n}"), deadline + WAIT)));
        }
        for n in 0..visitors {
            tasks.push(tokio::spawn(visitor(port, n, counts.clone(), deadline)));
            // Arrive over the first ten seconds, not all at once.
            tokio::time::sleep(Duration::from_micros(10_000_000 / visitors as u64)).await;
        }
        let started = Instant::now();
        let mut rss = Vec::new();
        while Instant::now() < deadline {
            let kib = |field| common::status_kib(pid, field);
            rss.push((started.elapsed().as_secs(), kib("RssAnon"), kib("RssFile")));
            tokio::time::sleep(Duration::from_secs(10)).await;
        }
        for t in tasks {
            let _ = t.await;
        }
        let c = |a: &AtomicU64| a.load(Ordering::Relaxed);
        println!(
            "soak: {visitors} visitors, {agents} agents, {seconds} s: sent {}, receipts {}, lost {}, \
             error frames {}, handoffs {}, agent answers received {}",
            c(&counts.sent),
            c(&counts.receipts),
            c(&counts.lost),
            c(&counts.errors),
            c(&counts.handoffs),
            c(&counts.answered),
        );
        // Anonymous memory is the server's own; file-backed is mostly the SQLite database's
        // pages (mapped, and bounded by the file's size).
        let series: Vec<String> = rss
            .iter()
            .map(|(t, anon, file)| {
                format!("{t}s {:.1}+{:.1}", *anon as f64 / 1024.0, *file as f64 / 1024.0)
            })
            .collect();
        println!(
            "server RSS (MiB, anonymous+file) every 10 s: {}",
            series.join(", ")
        );
    });
}

/// One visitor: a numbered message every 2-4 s, each waited for; a handoff every
/// `HANDOFF_EVERY` messages, then a new conversation once the agent has answered.
async fn visitor(port: u16, n: usize, counts: Arc<Counts>, deadline: Instant) {
    let mut k = 0u64;
    'conversations: while Instant::now() < deadline {
        let mut ws = connect(port, "/ws", None).await;
        let _ = ws
            .send(Message::text(json!({"type": "hello"}).to_string()))
            .await;
        if next(&mut ws, WAIT)
            .await
            .is_none_or(|f| f["type"] != "welcome")
        {
            counts.errors.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        while Instant::now() < deadline {
            let pause = 2000 + (n as u64 * 7919 + k * 104_729) % 2000;
            tokio::time::sleep(Duration::from_millis(pause)).await;
            k += 1;
            let handoff = k.is_multiple_of(HANDOFF_EVERY);
            let text = format!("where is my order {k}?");
            let id = format!("v{n}-{k}");
            let frame = json!({"type": "message", "text": text, "client_id": id});
            if ws.send(Message::text(frame.to_string())).await.is_err() {
                counts.lost.fetch_add(1, Ordering::Relaxed);
                continue 'conversations;
            }
            counts.sent.fetch_add(1, Ordering::Relaxed);
            let got = wait_for(&mut ws, &counts, |f| {
                f["kind"] == "visitor_message" && f["client_id"] == id.as_str()
            })
            .await;
            if !got {
                counts.lost.fetch_add(1, Ordering::Relaxed);
                continue 'conversations;
            }
            counts.receipts.fetch_add(1, Ordering::Relaxed);
            if handoff {
                // The widget's "talk to a person" button.
                let ask = json!({"type": "request_human"}).to_string();
                if ws.send(Message::text(ask)).await.is_err() {
                    continue 'conversations;
                }
                counts.handoffs.fetch_add(1, Ordering::Relaxed);
                if wait_for(&mut ws, &counts, |f| f["kind"] == "agent_message").await {
                    counts.answered.fetch_add(1, Ordering::Relaxed);
                }
                let _ = ws.close(None).await;
                continue 'conversations;
            }
        }
        let _ = ws.close(None).await;
    }
}

/// Reads frames until one matches (true) or `WAIT` passes (false); counts error frames.
async fn wait_for(ws: &mut Ws, counts: &Counts, matches: impl Fn(&Value) -> bool) -> bool {
    let until = Instant::now() + WAIT;
    while let Some(f) = next(ws, until.saturating_duration_since(Instant::now())).await {
        if f["type"] == "error" {
            counts.errors.fetch_add(1, Ordering::Relaxed);
        }
        if matches(&f) {
            return true;
        }
    }
    false
}

/// One agent: online, answers each chat it is given and closes it.
async fn agent(port: u16, id: String, deadline: Instant) {
    let cookie = common::login(port, &id, PASSWORD).await;
    let mut ws = connect(port, "/ws/agent", Some(&cookie)).await;
    let mut answered = std::collections::HashSet::new();
    while Instant::now() < deadline {
        let Some(f) = next(&mut ws, Duration::from_secs(1)).await else {
            continue;
        };
        if f["type"] != "chats" {
            continue;
        }
        for chat in f["items"].as_array().into_iter().flatten() {
            let conversation = chat["conversation"].as_str().unwrap_or_default().to_owned();
            if !answered.insert(conversation.clone()) {
                continue;
            }
            for frame in [
                json!({"type": "reply", "conversation": conversation, "text": "Hi, how can I help?",
                       "client_id": format!("{id}-{conversation}")}),
                json!({"type": "close", "conversation": conversation, "resolution": "solved"}),
            ] {
                let _ = ws.send(Message::text(frame.to_string())).await;
            }
        }
    }
}

/// What one console saw over its day.
#[derive(Default)]
struct Day {
    completed: AtomicU64,
    /// Visitors never given to the agent (offered the form instead, or no notice in time).
    unassigned: AtomicU64,
    unseen: AtomicU64,
    console_errors: AtomicU64,
}

/// One console, `chats` chats in a row (`at_once` waiting at a time).
fn console_day(chats: usize, at_once: usize) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let agents_file = common::roster(dir.path(), "day", PASSWORD, 1, at_once.max(1));
    let kb = common::sample_kb_without_hours(dir.path());
    let (node, port) = common::spawn_frontdesk(&[
        "--agents-file",
        agents_file.to_str().unwrap(),
        "--knowledge-base",
        kb.to_str().unwrap(),
        "--conversations-per-minute",
        "1000000",
    ]);
    let pid = node.child.id();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let day = Arc::new(Day::default());
        let started = Instant::now();
        let (ready, online) = tokio::sync::oneshot::channel();
        let console = tokio::spawn(day_console(port, day.clone(), ready));
        // Visitors come once the agent is online (before, they would be offered the form).
        online.await.expect("the console connects");
        let turn = Arc::new(tokio::sync::Semaphore::new(at_once));
        let mut visitors = Vec::new();
        for n in 0..chats {
            let permit = turn
                .clone()
                .acquire_owned()
                .await
                .expect("the semaphore stays open");
            let day = day.clone();
            visitors.push(tokio::spawn(async move {
                day_visitor(port, n, &day).await;
                drop(permit);
            }));
        }
        for v in visitors {
            let _ = v.await;
        }
        console.abort();
        let c = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mib = |field| common::status_kib(pid, field) as f64 / 1024.0;
        println!(
            "console day: {chats} chats on one console in {:.0} s: completed {}, never assigned {}, \
             visitor messages the console never saw {}, error frames to the console {}; server \
             RSS {:.1} MiB anonymous + {:.1} MiB file",
            started.elapsed().as_secs_f64(),
            c(&day.completed),
            c(&day.unassigned),
            c(&day.unseen),
            c(&day.console_errors),
            mib("RssAnon"),
            mib("RssFile"),
        );
    });
}

/// The agent: answers and closes every chat whose visitor message it sees.
async fn day_console(port: u16, day: Arc<Day>, ready: tokio::sync::oneshot::Sender<()>) {
    let cookie = common::login(port, "day-0", PASSWORD).await;
    let mut ws = connect(port, "/ws/agent", Some(&cookie)).await;
    while next(&mut ws, WAIT)
        .await
        .is_some_and(|f| f["type"] != "welcome")
    {}
    let _ = ready.send(());
    // Runs until the day is over (the caller stops it once every visitor is done).
    let mut closed = std::collections::HashSet::new();
    loop {
        let Some(f) = next(&mut ws, Duration::from_secs(60)).await else {
            return;
        };
        if f["type"] == "error" {
            day.console_errors.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        if f["type"] != "conversation_event" || f["event"]["kind"] != "visitor_message" {
            continue;
        }
        let conversation = f["conversation"].as_str().unwrap_or_default();
        if !closed.insert(conversation.to_owned()) {
            continue;
        }
        for frame in [
            json!({"type": "reply", "conversation": conversation, "text": "Hi, how can I help?"}),
            json!({"type": "close", "conversation": conversation, "resolution": "solved"}),
        ] {
            let _ = ws.send(Message::text(frame.to_string())).await;
        }
    }
}

/// A visitor: asks for a person, writes once assigned, waits for the answer.
async fn day_visitor(port: u16, n: usize, day: &Day) {
    let mut ws = connect(port, "/ws", None).await;
    let counts = Counts::default();
    let send = |frame: Value| Message::text(frame.to_string());
    let _ = ws.send(send(json!({"type": "hello"}))).await;
    let _ = ws.send(send(json!({"type": "request_human"}))).await;
    let assigned = wait_for(&mut ws, &counts, |f| {
        f["kind"] == "notice" && f["notice"]["notice"] == "assigned"
    })
    .await;
    let text = json!({"type": "message", "text": "is anyone there?", "client_id": format!("d{n}")});
    let answered = assigned
        && ws.send(send(text)).await.is_ok()
        && wait_for(&mut ws, &counts, |f| f["kind"] == "agent_message").await;
    if answered {
        day.completed.fetch_add(1, Ordering::Relaxed);
    } else if !assigned {
        day.unassigned.fetch_add(1, Ordering::Relaxed);
    } else {
        day.unseen.fetch_add(1, Ordering::Relaxed);
    }
    let _ = ws.close(None).await;
}
