//! Soak: many visitors and dozens of agents on one `frontdesk serve` (the default SQLite store)
//! for minutes. Every visitor sends a numbered
//! message every few seconds and waits for its receipt; after one message in `HANDOFF_EVERY` it
//! asks for a person, the router assigns an agent, who answers and closes the chat; the visitor
//! then starts a new conversation. Counted: messages sent, receipts, lost (no receipt in 10 s), error
//! frames, agent answers received; and the server's resident memory every 10 s (anonymous, and
//! file-backed: the database's mapped pages).
//!
//!     cargo bench --bench soak -- --visitors 2000 --agents 30 --seconds 180

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
