//! Load generator: N concurrent visitor websockets on loopback, asking the sample knowledge
//! base's questions one after another (each visitor waits for the bot's answer before asking
//! again), against the real `frontdesk serve` process, once on the SQLite store (the default, a
//! fresh database in a temporary folder) and once on the memory store; then the same load
//! against a bare actix-ws echo endpoint (this binary, `--echo-server`), so every run shows our
//! ceiling on the same stack and machine (with `--redis URL`, also on that Redis, under a fresh
//! key prefix). `--idle N` instead opens N idle visitor sockets and
//! reports the server's resident memory per socket, on both stores. `--conversations N` starts N
//! conversations one after another (40 at a time), each saying `--messages M` (default 0) and
//! leaving, and reports the server's memory after them and after a minute idle: what a
//! conversation that is over still costs.
//!
//!     cargo bench --bench loadgen -- --visitors 100 --seconds 10 [--redis redis://127.0.0.1:6379]
//!     cargo bench --bench loadgen -- --idle 10000
//!     cargo bench --bench loadgen -- --conversations 20000 --messages 20 [--store sqlite]
//!
//! Servers run as child processes, so client and server file descriptors and memory are apart.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

const QUESTIONS: &[&str] = &[
    "where is my order?",
    "how long does a refund take?",
    "can I pay with Klarna?",
    "how do I reset my password",
    "do you ship to the UK?",
    "how much is shipping",
    "how do I return an item",
    "what is your phone number",
];
/// A reply slower than this counts as an error (and the visitor moves on).
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

fn main() {
    if std::env::args().any(|a| a == "--echo-server") {
        echo_server();
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    if let Some(n) = common::arg("--conversations") {
        let n: usize = n.parse().expect("--conversations N");
        let messages: usize =
            common::arg("--messages").map_or(0, |m| m.parse().expect("--messages M"));
        for store in ["sqlite", "memory"] {
            runtime.block_on(finished_conversations(store, n, messages));
        }
        return;
    }
    if let Some(idle) = common::arg("--idle") {
        for store in ["sqlite", "memory"] {
            runtime.block_on(idle_sockets(store, idle.parse().expect("--idle N")));
        }
        return;
    }
    let visitors: usize =
        common::arg("--visitors").map_or(100, |v| v.parse().expect("--visitors N"));
    let seconds: u64 = common::arg("--seconds").map_or(10, |v| v.parse().expect("--seconds N"));
    let mut results = Vec::new();
    for store in ["sqlite", "memory"] {
        let (bot, bot_port) = spawn_frontdesk(store, visitors + 10);
        results.push(runtime.block_on(run_load(bot_port, visitors, seconds, Mode::Bot)));
        drop(bot);
    }
    let redis = common::arg("--redis").map(|url| {
        let prefix = format!("loadgen:{:016x}", rand::random::<u64>());
        let (bot, bot_port) = common::spawn_frontdesk(&[
            "--store",
            "redis",
            "--redis-url",
            &url,
            "--redis-prefix",
            &prefix,
            "--max-connections",
            &(visitors + 10).to_string(),
        ]);
        let result = runtime.block_on(run_load(bot_port, visitors, seconds, Mode::Bot));
        drop(bot);
        result
    });
    let (mut echo, echo_port) = spawn_echo();
    let echo_result = runtime.block_on(run_load(echo_port, visitors, seconds, Mode::Echo));
    let _ = echo.kill();
    let (sqlite, memory) = (&results[0], &results[1]);
    println!("visitors: {visitors}, {seconds} s each, loopback, 2 processes (client, server)");
    sqlite.print("bot, sqlite");
    memory.print("bot, memory");
    echo_result.print("actix-ws echo");
    if let Some(redis) = &redis {
        redis.print("bot, redis");
        println!(
            "ratios: replies/s redis/memory = {:.2}, p99 redis/memory = {:.2}",
            redis.per_second() / memory.per_second(),
            redis.percentile(0.99) / memory.percentile(0.99),
        );
    }
    println!(
        "ratios: replies/s sqlite/memory = {:.2}, p99 sqlite/memory = {:.2}; replies/s \
         memory/echo = {:.2}, p99 memory/echo = {:.2}",
        sqlite.per_second() / memory.per_second(),
        sqlite.percentile(0.99) / memory.percentile(0.99),
        memory.per_second() / echo_result.per_second(),
        memory.percentile(0.99) / echo_result.percentile(0.99)
    );
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Bot,
    Echo,
}

struct LoadResult {
    seconds: f64,
    micros: Vec<f64>,
    errors: usize,
}

impl LoadResult {
    fn per_second(&self) -> f64 {
        self.micros.len() as f64 / self.seconds
    }

    fn percentile(&self, q: f64) -> f64 {
        frontdesk::eval::percentile(&self.micros, q) / 1000.0
    }

    fn print(&self, name: &str) {
        println!(
            "{name:>14}: {} replies, {:.0} replies/s, latency p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, errors {}",
            self.micros.len(),
            self.per_second(),
            self.percentile(0.5),
            self.percentile(0.99),
            self.percentile(0.999),
            self.errors
        );
    }
}

async fn run_load(port: u16, visitors: usize, seconds: u64, mode: Mode) -> LoadResult {
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..visitors)
        .map(|v| tokio::spawn(visitor(port, v, deadline, mode)))
        .collect();
    let mut micros = Vec::new();
    let mut errors = 0;
    for t in tasks {
        match t.await {
            Ok((m, e)) => {
                micros.extend(m);
                errors += e;
            }
            Err(_) => errors += 1,
        }
    }
    micros.sort_by(f64::total_cmp);
    LoadResult {
        seconds: start.elapsed().as_secs_f64(),
        micros,
        errors,
    }
}

/// One visitor: ask, wait for the reply, repeat until the deadline. (latencies in us, errors)
async fn visitor(port: u16, n: usize, deadline: Instant, mode: Mode) -> (Vec<f64>, usize) {
    let url = format!("ws://127.0.0.1:{port}/ws");
    let Ok((mut ws, _)) = tokio_tungstenite::connect_async(url).await else {
        return (Vec::new(), 1);
    };
    if mode == Mode::Bot {
        let _ = ws.send(Message::text(r#"{"type":"hello"}"#)).await;
        if wait_for(&mut ws, "\"welcome\"").await.is_none() {
            return (Vec::new(), 1);
        }
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut i = n;
    while Instant::now() < deadline {
        i += 1;
        let question = QUESTIONS[i % QUESTIONS.len()];
        let frame = format!(r#"{{"type":"message","text":"{question}","client_id":"{n}-{i}"}}"#);
        let sent = Instant::now();
        if ws.send(Message::text(frame)).await.is_err() {
            errors += 1;
            break;
        }
        let wanted = if mode == Mode::Bot {
            "\"bot_answer\""
        } else {
            "\"message\""
        };
        match wait_for(&mut ws, wanted).await {
            Some(()) => latencies.push(sent.elapsed().as_secs_f64() * 1e6),
            None => {
                errors += 1;
                break;
            }
        }
    }
    let _ = ws.close(None).await;
    (latencies, errors)
}

async fn wait_for<S>(ws: &mut S, needle: &str) -> Option<()>
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let work = async {
        while let Some(Ok(msg)) = ws.next().await {
            if let Message::Text(t) = msg
                && t.contains(needle)
            {
                return Some(());
            }
        }
        None
    };
    tokio::time::timeout(REPLY_TIMEOUT, work)
        .await
        .ok()
        .flatten()
}

/// `n` conversations of `messages` messages each, 40 at a time, all over; the server's memory
/// (anonymous, in KiB: the heap, not the database file's cached pages) before, after and idle.
async fn finished_conversations(store: &str, n: usize, messages: usize) {
    let (node, port) = common::spawn_frontdesk(&[
        "--store",
        store,
        "--conversations-per-minute",
        "1000000",
        "--max-connections",
        "1000",
    ]);
    let pid = node.child.id();
    let before = common::status_kib(pid, "RssAnon");
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..40)
        .map(|_| {
            let next = next.clone();
            tokio::spawn(async move {
                let mut errors = 0;
                while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < n {
                    errors += usize::from(!one_conversation(port, messages).await);
                }
                errors
            })
        })
        .collect();
    let mut errors = 0;
    for w in workers {
        errors += w.await.unwrap_or(1);
    }
    let took = started.elapsed().as_secs_f64();
    let after = common::status_kib(pid, "RssAnon");
    tokio::time::sleep(Duration::from_secs(60)).await;
    let idle = common::status_kib(pid, "RssAnon");
    let per = |kib: i64| (kib - before) as f64 * 1024.0 / n as f64;
    println!(
        "{store:>6}: {n} conversations of {messages} messages in {took:.1} s, errors {errors}; \
         heap {:.1} MiB -> {:.1} MiB after ({:.0} B per conversation) -> {:.1} MiB after 60 s idle ({:.0} B)",
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        per(after),
        idle as f64 / 1024.0,
        per(idle),
    );
}

/// One visitor: hello, `messages` questions each waiting for the answer, leave. False on an error.
async fn one_conversation(port: u16, messages: usize) -> bool {
    let url = format!("ws://127.0.0.1:{port}/ws");
    let Ok((mut ws, _)) = tokio_tungstenite::connect_async(url).await else {
        return false;
    };
    let _ = ws.send(Message::text(r#"{"type":"hello"}"#)).await;
    if wait_for(&mut ws, "\"welcome\"").await.is_none() {
        return false;
    }
    for i in 0..messages {
        let question = QUESTIONS[i % QUESTIONS.len()];
        let frame = format!(r#"{{"type":"message","text":"{question}","client_id":"m-{i}"}}"#);
        if ws.send(Message::text(frame)).await.is_err()
            || wait_for(&mut ws, "\"bot_answer\"").await.is_none()
        {
            return false;
        }
    }
    let _ = ws.close(None).await;
    true
}

/// Starts `frontdesk serve` on `store` (`sqlite` in a fresh temporary folder) on a free port;
/// returns it with the port.
fn spawn_frontdesk(store: &str, max_connections: usize) -> (common::Node, u16) {
    common::spawn_frontdesk(&[
        "--store",
        store,
        "--max-connections",
        &max_connections.to_string(),
    ])
}

fn spawn_echo() -> (Child, u16) {
    let mut child = Command::new(std::env::current_exe().expect("own path"))
        .arg("--echo-server")
        .stdout(Stdio::piped())
        .spawn()
        .expect("the echo server starts");
    let port = common::read_port(&mut child, "echo on 127.0.0.1:");
    (child, port)
}

/// The ceiling: a bare actix-ws endpoint that sends every text frame back.
fn echo_server() {
    use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};

    async fn echo(req: HttpRequest, body: web::Payload) -> actix_web::Result<HttpResponse> {
        let (response, mut session, mut stream) = actix_ws::handle(&req, body)?;
        actix_web::rt::spawn(async move {
            while let Some(Ok(msg)) = stream.recv().await {
                match msg {
                    actix_ws::Message::Text(t) if session.text(t.clone()).await.is_err() => break,
                    actix_ws::Message::Close(_) => break,
                    _ => {}
                }
            }
            let _ = session.close(None).await;
        });
        Ok(response)
    }

    actix_web::rt::System::new().block_on(async {
        let server = HttpServer::new(|| App::new().route("/ws", web::get().to(echo)))
            .bind(("127.0.0.1", 0))
            .expect("binds");
        let port = server.addrs()[0].port();
        println!("echo on 127.0.0.1:{port}");
        server.run().await.expect("echo server runs");
    });
}

/// Opens `count` idle visitor sockets and reports the server's resident memory per socket.
async fn idle_sockets(store: &str, count: usize) {
    let (server, port) = spawn_frontdesk(store, count + 10);
    let pid = server.child.id();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = common::rss_kib(pid);
    let mut sockets = Vec::with_capacity(count);
    for _ in 0..count {
        let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/ws"))
            .await
            .expect("connects");
        ws.send(Message::text(r#"{"type":"hello"}"#))
            .await
            .expect("sends hello");
        wait_for(&mut ws, "\"welcome\"").await.expect("welcome");
        sockets.push(ws);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = common::rss_kib(pid);
    println!(
        "{store}: {count} idle visitor sockets (each with a conversation): server RSS {before} KiB -> {after} KiB, {:.1} KiB per socket",
        (after - before) as f64 / count as f64
    );
    drop(sockets);
    drop(server);
}
