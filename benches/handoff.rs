//! Handoff and relay load on a real Redis with two `frontdesk` nodes (child processes):
//!
//! 1. **Handoff**: visitors on node A ask for a person at a fixed rate; agents online on node B;
//!    the router assigns. Measures "talk to a person" sent -> "agent assigned" notice received.
//! 2. **Relay**: pairs of (visitor on A, agent on B) talk ping-pong. Measures messages relayed
//!    per second (both directions) and the one-way latency of each hop.
//!
//!     cargo bench --bench handoff -- --rate 100 --seconds 10 --pairs 50
//!
//! Uses `REDIS_URL` if set, else starts its own redis-server (no persistence) on a free port.

mod common;

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use frontdesk::agents::{Agent, Roster, hash_password};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// Agents online for the handoff run (each takes any number of chats).
const HANDOFF_AGENTS: usize = 4;
const WAIT: Duration = Duration::from_secs(10);

/// The `q` quantile of `v` (microseconds), in milliseconds.
fn percentile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    frontdesk::eval::percentile(v, q) / 1000.0
}

fn main() {
    let rate: u64 = common::arg("--rate").map_or(100, |v| v.parse().expect("--rate N"));
    let seconds: u64 = common::arg("--seconds").map_or(10, |v| v.parse().expect("--seconds N"));
    let pairs: usize = common::arg("--pairs").map_or(50, |v| v.parse().expect("--pairs N"));
    let (_redis, url) = redis();
    let dir = tempfile::tempdir().expect("a temp dir");
    let agents_file = dir.path().join("agents.toml");
    let hash = hash_password("bench-password").unwrap();
    for n in 0..HANDOFF_AGENTS + pairs {
        Roster::add(
            &agents_file,
            Agent {
                id: format!("bench-{n}"),
                name: format!("Agent {n}"),
                password_hash: hash.clone(),
                capacity: if n < HANDOFF_AGENTS { 100_000 } else { 1 },
                teams: Vec::new(),
            },
        )
        .expect("the roster is written");
    }
    // The sample knowledge base without business hours: the bench runs at any time of day.
    let kb = dir.path().join("kb");
    common::copy_dir(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge_base"),
        &kb,
    );
    std::fs::remove_file(kb.join("hours.toml")).expect("the sample has hours.toml");
    let prefix = format!("bench:{:08x}", rand::random::<u32>());
    let flags = [
        "--redis-url",
        &url,
        "--redis-prefix",
        &prefix,
        "--agents-file",
        agents_file.to_str().unwrap(),
        "--knowledge-base",
        kb.to_str().unwrap(),
        "--max-connections",
        "100000",
        "--assign-timeout-seconds",
        "3600",
    ];
    let (_a, port_a) = common::spawn_frontdesk(&flags);
    let (_b, port_b) = common::spawn_frontdesk(&flags);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let mut consoles = Vec::new();
        for n in 0..HANDOFF_AGENTS {
            consoles.push(agent(port_b, &format!("bench-{n}")).await);
        }
        // Consoles read everything, as a browser would, and remember their chats.
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let readers: Vec<_> = consoles
            .into_iter()
            .map(|c| tokio::spawn(read_console(c, stopped.clone())))
            .collect();
        if rate > 0 {
            handoffs(port_a, rate, seconds).await;
        }
        // The relay: one agent per visitor (capacity 1), as people work. The handoff agents
        // close their chats (not timed) and go away.
        stop.send_replace(true);
        for (n, r) in readers.into_iter().enumerate() {
            let (mut c, chats) = r.await.expect("the console reader ends");
            for conversation in chats {
                send(
                    &mut c,
                    json!({"type": "close", "conversation": conversation}),
                )
                .await;
            }
            send(&mut c, json!({"type": "presence", "status": "away"})).await;
            // Away before the relay starts, or the router could still give them a chat.
            let me = format!("bench-{n}");
            loop {
                let f = next(&mut c).await;
                let away = f["type"] == "agents"
                    && f["items"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|a| a["id"] == me.as_str() && a["presence"] == "away");
                if away {
                    break;
                }
            }
            tokio::spawn(read_console(c, tokio::sync::watch::channel(false).1));
        }
        let mut consoles = Vec::new();
        for n in HANDOFF_AGENTS..HANDOFF_AGENTS + pairs {
            consoles.push(agent(port_b, &format!("bench-{n}")).await);
        }
        relay(port_a, consoles, pairs, seconds).await;
    });
}

struct OwnRedis(Option<Child>);

impl Drop for OwnRedis {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn redis() -> (OwnRedis, String) {
    if let Ok(url) = std::env::var("REDIS_URL") {
        return (OwnRedis(None), url);
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server is installed");
    let deadline = Instant::now() + WAIT;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "redis-server starts");
        std::thread::sleep(Duration::from_millis(20));
    }
    (OwnRedis(Some(child)), format!("redis://127.0.0.1:{port}"))
}

async fn connect(url: String, cookie: Option<&str>) -> Ws {
    let mut request = url.into_client_request().unwrap();
    if let Some(c) = cookie {
        request.headers_mut().insert("Cookie", c.parse().unwrap());
    }
    tokio_tungstenite::connect_async_with_config(request, None, true)
        .await
        .expect("the socket opens")
        .0
}

async fn next(ws: &mut Ws) -> Value {
    loop {
        match tokio::time::timeout(WAIT, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return serde_json::from_str(&t).unwrap(),
            Ok(Some(Ok(_))) => continue,
            other => panic!("the socket failed: {other:?}"),
        }
    }
}

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::text(v.to_string())).await.expect("send");
}

/// Logs in over HTTP and opens the console socket.
async fn agent(port: u16, id: &str) -> Ws {
    let body = json!({"id": id, "password": "bench-password"}).to_string();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let request = format!(
        "POST /api/agent/login HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.unwrap();
    let cookie = raw
        .lines()
        .find_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or(l.strip_prefix("Set-Cookie: "))
        })
        .and_then(|c| c.split(';').next())
        .expect("logged in")
        .to_owned();
    connect(format!("ws://127.0.0.1:{port}/ws/agent"), Some(&cookie)).await
}

async fn visitor(port: u16) -> (Ws, String) {
    let mut ws = connect(format!("ws://127.0.0.1:{port}/ws"), None).await;
    send(&mut ws, json!({"type": "hello"})).await;
    let welcome = next(&mut ws).await;
    let conversation = welcome["conversation"].as_str().unwrap().to_owned();
    (ws, conversation)
}

/// Reads a console's frames until `stop`; returns it with the chats it had last.
async fn read_console(
    mut ws: Ws,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> (Ws, Vec<String>) {
    let mut chats = Vec::new();
    loop {
        tokio::select! {
            msg = ws.next() => {
                let Some(Ok(Message::Text(t))) = msg else {
                    if msg.is_none() { return (ws, chats); }
                    continue;
                };
                let f: Value = serde_json::from_str(&t).unwrap();
                if f["type"] == "chats" {
                    chats = f["items"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|c| c["conversation"].as_str().unwrap().to_owned())
                        .collect();
                    // A busy agent: closes each chat as soon as it is theirs, so chat lists
                    // stay as short as real ones.
                    for conversation in &chats {
                        let close = json!({"type": "close", "conversation": conversation});
                        if ws.send(Message::text(close.to_string())).await.is_err() {
                            return (ws, chats);
                        }
                    }
                }
            }
            _ = stop.changed() => return (ws, chats),
        }
    }
}

/// Waits for the "assigned" notice; returns its arrival time.
async fn assigned(ws: &mut Ws) -> Instant {
    loop {
        let f = next(ws).await;
        if f["kind"] == "notice" && f["notice"]["notice"] == "assigned" {
            return Instant::now();
        }
    }
}

async fn handoffs(port_a: u16, rate: u64, seconds: u64) {
    let total = (rate * seconds) as usize;
    let mut visitors = Vec::new();
    for _ in 0..total {
        visitors.push(visitor(port_a).await);
    }
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
    let mut tasks = Vec::new();
    let started = Instant::now();
    for (mut ws, _) in visitors {
        tick.tick().await;
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
            send(&mut ws, json!({"type": "request_human"})).await;
            let at = assigned(&mut ws).await;
            (at - sent).as_secs_f64() * 1e6
        }));
    }
    let mut micros = Vec::new();
    for t in tasks {
        micros.push(t.await.expect("a handoff completes"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "handoff -> assigned (node A visitors, node B agents, Redis): {} handoffs at {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        micros.len(),
        micros.len() as f64 / elapsed,
        percentile(&mut micros, 0.5),
        percentile(&mut micros, 0.99),
        percentile(&mut micros, 1.0),
    );
}

/// When each conversation's last message was sent, by whom it is awaited.
type Sent = Arc<Mutex<HashMap<String, Instant>>>;

async fn relay(port_a: u16, consoles: Vec<Ws>, pairs: usize, seconds: u64) {
    let to_agent: Sent = Arc::default();
    let a_to_b = Arc::new(Mutex::new(Vec::<f64>::new()));
    // Each console answers every visitor message at once and times the A -> B hop.
    for mut ws in consoles {
        let to_agent = to_agent.clone();
        let a_to_b = a_to_b.clone();
        tokio::spawn(async move {
            while let Some(Ok(msg)) = ws.next().await {
                let Message::Text(t) = msg else { continue };
                let f: Value = serde_json::from_str(&t).unwrap();
                if f["type"] == "conversation_event" && f["event"]["kind"] == "visitor_message" {
                    let conversation = f["conversation"].as_str().unwrap().to_owned();
                    if let Some(sent) = to_agent.lock().unwrap().remove(&conversation) {
                        a_to_b
                            .lock()
                            .unwrap()
                            .push(sent.elapsed().as_secs_f64() * 1e6);
                    }
                    let reply =
                        json!({"type": "reply", "conversation": conversation, "text": "on it"});
                    if ws.send(Message::text(reply.to_string())).await.is_err() {
                        return;
                    }
                }
            }
        });
    }
    let mut ready = Vec::new();
    for _ in 0..pairs {
        let (mut ws, conversation) = visitor(port_a).await;
        send(&mut ws, json!({"type": "request_human"})).await;
        assigned(&mut ws).await;
        ready.push((ws, conversation));
    }
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (mut ws, conversation) in ready {
        let to_agent = to_agent.clone();
        tasks.push(tokio::spawn(async move {
            let mut round_trips = Vec::new();
            let mut n = 0u64;
            while Instant::now() < deadline {
                n += 1;
                let sent = Instant::now();
                to_agent.lock().unwrap().insert(conversation.clone(), sent);
                send(
                    &mut ws,
                    json!({"type": "message", "text": "ping", "client_id": format!("p{n}")}),
                )
                .await;
                loop {
                    let f = next(&mut ws).await;
                    if f["kind"] == "agent_message" {
                        break;
                    }
                }
                round_trips.push(sent.elapsed().as_secs_f64() * 1e6);
            }
            (n, round_trips)
        }));
    }
    let mut messages = 0;
    let mut round_trips = Vec::new();
    for t in tasks {
        let (n, rt) = t.await.expect("a pair completes");
        messages += n * 2;
        round_trips.extend(rt);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut hop = a_to_b.lock().unwrap().clone();
    println!(
        "relay across nodes ({pairs} visitor/agent pairs, ping-pong): {messages} messages in {elapsed:.1} s = {:.0} messages/s; visitor -> agent hop p50 {:.2} ms, p99 {:.2} ms; round trip p50 {:.2} ms, p99 {:.2} ms",
        messages as f64 / elapsed,
        percentile(&mut hop, 0.5),
        percentile(&mut hop, 0.99),
        percentile(&mut round_trips, 0.5),
        percentile(&mut round_trips, 0.99),
    );
}
