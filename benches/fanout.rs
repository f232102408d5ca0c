//! Routing fan-out: what one routing change costs a node with many consoles and a long queue.
//! One `frontdesk serve` (the default SQLite store, auto-assign off) with `--consoles` agents'
//! consoles open and `--queued` visitors waiting in line. Each round, the first console claims
//! the head of the queue; measured until every console has the new queue and every visitor still
//! waiting has their new place in line, and the server's CPU time (user + system) per round.
//!
//!     cargo bench --bench fanout -- --consoles 200 --queued 2000 --rounds 20

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use common::{Ws, connect, next};

/// How long one round may take before the bench gives up on it.
const ROUND_LIMIT: Duration = Duration::from_secs(60);
/// Quiet time between rounds, so one round's work does not spill into the next.
const PAUSE: Duration = Duration::from_millis(500);

/// What every client reports: how many updates it has seen, and when the last one came
/// (microseconds since the bench started).
struct Seen {
    updates: Vec<AtomicU64>,
    at: Vec<AtomicU64>,
}

impl Seen {
    fn new(n: usize) -> Arc<Seen> {
        Arc::new(Seen {
            updates: (0..n).map(|_| AtomicU64::new(0)).collect(),
            at: (0..n).map(|_| AtomicU64::new(0)).collect(),
        })
    }

    fn saw(&self, i: usize, epoch: Instant) {
        self.at[i].store(epoch.elapsed().as_micros() as u64, Ordering::Relaxed);
        self.updates[i].fetch_add(1, Ordering::Relaxed);
    }

    fn counts(&self) -> Vec<u64> {
        self.updates
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect()
    }
}

/// Every agent's password.
const PASSWORD: &str = "fanout-password";

fn main() {
    let consoles: usize =
        common::arg("--consoles").map_or(200, |v| v.parse().expect("--consoles N"));
    let queued: usize = common::arg("--queued").map_or(2000, |v| v.parse().expect("--queued N"));
    let rounds: usize = common::arg("--rounds").map_or(20, |v| v.parse().expect("--rounds N"));
    let dir = tempfile::tempdir().expect("a temporary folder");
    let agents_file = common::roster(dir.path(), "fan", PASSWORD, consoles, 1000);
    let kb = common::sample_kb_without_hours(dir.path());
    let (node, port) = common::spawn_frontdesk(&[
        "--agents-file",
        agents_file.to_str().unwrap(),
        "--knowledge-base",
        kb.to_str().unwrap(),
        "--auto-assign",
        "false",
        "--max-connections",
        "100000",
    ]);
    let pid = node.child.id();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let epoch = Instant::now();
        let seen = Seen::new(consoles);
        let (heads_tx, mut heads) = mpsc::unbounded_channel();
        let (claims, claims_rx) = mpsc::unbounded_channel();
        let mut claims_rx = Some(claims_rx);
        for n in 0..consoles {
            let cookie = common::login(port, &format!("fan-{n}"), PASSWORD).await;
            let ws = connect(port, "/ws/agent", Some(&cookie)).await;
            // The first console claims; it also reports the queue's head.
            let driver = (n == 0).then(|| (heads_tx.clone(), claims_rx.take().unwrap()));
            tokio::spawn(console(ws, n, seen.clone(), epoch, driver));
        }
        println!("{consoles} consoles open");
        // Visitors ask once agents are online (else they get the offline form).
        let visitors = Seen::new(queued);
        for n in 0..queued {
            queue_visitor(port, n, visitors.clone(), epoch).await;
        }
        println!("{queued} visitors waiting");
        let mut head = heads
            .recv()
            .await
            .expect("the first console sees the queue");
        // Let the connection storm settle before measuring.
        tokio::time::sleep(Duration::from_secs(3)).await;
        while let Ok(h) = heads.try_recv() {
            head = h;
        }
        let mut console_ms = Vec::new();
        let mut visitor_ms = Vec::new();
        let mut cpu_ms = Vec::new();
        for round in 0..rounds {
            let before_consoles = seen.counts();
            let before_visitors = visitors.counts();
            let cpu_before = cpu_ticks(pid);
            let started = epoch.elapsed().as_micros() as u64;
            claims.send(head.clone()).expect("the driver console runs");
            // Everyone behind the head moves up one: they are told their new place.
            let waiting: Vec<usize> = (round + 1..queued).collect();
            let limit = Instant::now() + ROUND_LIMIT;
            loop {
                let consoles_done = seen
                    .counts()
                    .iter()
                    .zip(&before_consoles)
                    .all(|(now, was)| now > was);
                let visitors_now = visitors.counts();
                let visitors_done = waiting
                    .iter()
                    .all(|&v| visitors_now[v] > before_visitors[v]);
                if consoles_done && visitors_done {
                    break;
                }
                assert!(
                    Instant::now() < limit,
                    "round {round} did not finish in time"
                );
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            let last = |s: &Seen, ids: &mut dyn Iterator<Item = usize>| {
                ids.map(|i| s.at[i].load(Ordering::Relaxed))
                    .max()
                    .unwrap_or(started)
            };
            let last_console = last(&seen, &mut (0..consoles));
            let last_visitor = last(&visitors, &mut waiting.iter().copied());
            console_ms.push(last_console.saturating_sub(started) as f64 / 1000.0);
            visitor_ms.push(last_visitor.saturating_sub(started) as f64 / 1000.0);
            tokio::time::sleep(PAUSE).await;
            // CPU over the round and the quiet time after it: everything the change caused.
            cpu_ms.push((cpu_ticks(pid) - cpu_before) as f64 * 1000.0 / ticks_per_second());
            head = heads.recv().await.expect("the queue has a new head");
            while let Ok(h) = heads.try_recv() {
                head = h;
            }
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let max = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
        println!(
            "fanout: {consoles} consoles, {queued} queued, {rounds} routing changes: \
             all consoles updated median {:.1} ms (max {:.1}); all visitors told their place \
             median {:.1} ms (max {:.1}); server CPU per change median {:.1} ms (max {:.1})",
            median(&mut console_ms.clone()),
            max(&console_ms),
            median(&mut visitor_ms.clone()),
            max(&visitor_ms),
            median(&mut cpu_ms.clone()),
            max(&cpu_ms),
        );
    });
}

/// The process's CPU time so far (user + system), in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc is readable");
    // Fields after the command name (which may hold spaces): utime and stime are 14 and 15.
    let rest = &stat[stat.rfind(')').expect("a stat line") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn ticks_per_second() -> f64 {
    // Linux reports /proc times in USER_HZ, 100 on every platform it runs on today.
    100.0
}

/// A visitor who asks for a person and waits: once queued, a task reports each new place in
/// line it is told.
async fn queue_visitor(port: u16, n: usize, seen: Arc<Seen>, epoch: Instant) {
    let mut ws = connect(port, "/ws", None).await;
    for frame in [json!({"type": "hello"}), json!({"type": "request_human"})] {
        ws.send(Message::text(frame.to_string())).await.unwrap();
    }
    loop {
        let f = next(&mut ws, Duration::from_secs(30))
            .await
            .expect("the visitor is queued");
        if f["type"] == "queue" {
            break;
        }
    }
    tokio::spawn(async move {
        while let Some(f) = ws.next().await {
            let Ok(Message::Text(t)) = f else { continue };
            let f: Value = serde_json::from_str(&t).unwrap_or_default();
            if f["type"] == "queue" {
                seen.saw(n, epoch);
            }
        }
    });
}

/// A console: reports each queue frame; the driver (`Some`) also reports the queue's head and
/// claims what it is sent.
async fn console(
    mut ws: Ws,
    n: usize,
    seen: Arc<Seen>,
    epoch: Instant,
    mut driver: Option<(
        mpsc::UnboundedSender<String>,
        mpsc::UnboundedReceiver<String>,
    )>,
) {
    loop {
        let claim = async {
            match driver.as_mut() {
                Some((_, claims)) => claims.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            f = ws.next() => {
                let Some(Ok(Message::Text(t))) = f else {
                    if f.is_none() { return; }
                    continue;
                };
                let f: Value = serde_json::from_str(&t).unwrap_or_default();
                if f["type"] != "queue" {
                    continue;
                }
                seen.saw(n, epoch);
                if let (Some((heads, _)), Some(head)) =
                    (&driver, f["items"][0]["conversation"].as_str())
                {
                    let _ = heads.send(head.to_owned());
                }
            }
            Some(id) = claim => {
                let frame = json!({"type": "claim", "conversation": id});
                ws.send(Message::text(frame.to_string())).await.unwrap();
            }
        }
    }
}
