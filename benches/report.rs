//! How long `/admin` and `frontdesk report` take: reading N conversations back from the store
//! (`analytics::gather`) and computing the report (`analytics::report`), on the in-memory store,
//! on SQLite (a fresh database file, whose size per 1,000 conversations is printed) and, with
//! `REDIS_URL` set, on Redis (a fresh key prefix, deleted afterwards); and how long a
//! knowledge-base reload takes on the sample knowledge base.
//!
//!     REDIS_URL=redis://127.0.0.1:6379 cargo bench --bench report -- --conversations 2000

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwap;
use frontdesk::conversation::{EventBody, Notice, Turn};
use frontdesk::conversation::{VisitorInfo, VisitorKey, now_ms};
use frontdesk::ports::Store;
use frontdesk::store::{MemoryStore, RedisStore, SqliteStore};

fn bot(decision: &str) -> EventBody {
    EventBody::BotAnswer {
        decision: serde_json::from_value(serde_json::json!(decision)).expect("a known answer kind"),
        html: "<p>You can return unused items within <strong>30 days</strong>.</p>".into(),
        text: "You can return unused items within 30 days.".into(),
        options: Vec::new(),
        offer_human: false,
        faq: None,
        explanation: None,
        lang: None,
    }
}

/// `n` conversations of 8 events: every 4th handed off, assigned, answered and closed.
async fn populate(store: &dyn Store, n: usize) {
    for i in 0..n {
        let (c, _) = store
            .create(VisitorInfo::default(), Some(VisitorKey::random()))
            .await
            .unwrap();
        let say = |t: &str| (t.to_owned(), format!("c{i}-{t}"));
        for (text, id) in [say("where is my order"), say("and the refund?")] {
            store.turn(&c.id, Turn::message(text, id)).await.unwrap();
            store
                .append(&c.id, bot(if i % 3 == 0 { "fallback" } else { "answer" }))
                .await
                .unwrap();
        }
        let tail = if i % 4 == 0 {
            vec![
                EventBody::Notice {
                    notice: Notice::Queued {
                        reason: frontdesk::conversation::QueueReason::VisitorAsked,
                    },
                },
                EventBody::Notice {
                    notice: Notice::Assigned {
                        agent: "Ann".into(),
                    },
                },
                EventBody::AgentMessage {
                    agent: "Ann".into(),
                    text: "Hi".into(),
                    client_id: None,
                },
                EventBody::Notice {
                    notice: Notice::Closed { resolution: None },
                },
            ]
        } else {
            vec![
                EventBody::Feedback {
                    answer_seq: 2,
                    helpful: true,
                };
                4
            ]
        };
        for body in tail {
            store.append(&c.id, body).await.unwrap();
        }
    }
}

async fn measure(name: &str, store: Arc<dyn Store>, n: usize) {
    let from = now_ms();
    let t = Instant::now();
    populate(store.as_ref(), n).await;
    let written = t.elapsed();
    let to = now_ms() + 1;
    let t = Instant::now();
    let records = frontdesk::analytics::gather(store.as_ref(), from, to)
        .await
        .unwrap();
    let read = t.elapsed();
    let t = Instant::now();
    let report = frontdesk::analytics::report(&records, from, to);
    let computed = t.elapsed();
    assert_eq!(report.kpis.conversations, n);
    println!(
        "{name:>6}: {n} conversations x 8 events: written in {:.0} ms; gather {:.0} ms ({:.1} us per conversation); report {:.1} ms",
        written.as_secs_f64() * 1e3,
        read.as_secs_f64() * 1e3,
        read.as_secs_f64() * 1e6 / n as f64,
        computed.as_secs_f64() * 1e3,
    );
}

fn reload() {
    let dir = tempfile::tempdir().unwrap();
    common::copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge_base"),
        dir.path(),
    );
    let loaded = frontdesk::knowledge_base::load(dir.path()).unwrap();
    let faqs = loaded.kb.faqs.len();
    let matcher = Arc::new(ArcSwap::from_pointee(
        frontdesk::matcher::Matcher::build(loaded.kb).unwrap(),
    ));
    let reloader = frontdesk::reload::Reloader::new(
        dir.path().to_path_buf(),
        matcher,
        Vec::new(),
        Arc::new(frontdesk::metrics::Metrics::new()),
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let t = Instant::now();
    let same = runtime.block_on(reloader.reload());
    let unchanged = t.elapsed();
    assert!(same.ok && !same.changed);
    let faq = dir.path().join("faq/returns/return-policy.md");
    let source = std::fs::read_to_string(&faq).unwrap();
    std::fs::write(&faq, format!("{source}\nEdited.\n")).unwrap();
    let t = Instant::now();
    let edited = runtime.block_on(reloader.reload());
    let rebuilt = t.elapsed();
    assert!(edited.ok && edited.changed);
    println!(
        "reload: sample knowledge base ({faqs} FAQs): unchanged {:.1} ms (hashed, not rebuilt); one FAQ edited {:.0} ms (load + build + swap)",
        unchanged.as_secs_f64() * 1e3,
        rebuilt.as_secs_f64() * 1e3
    );
}

fn main() {
    let n: usize = common::arg("--conversations")
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    reload();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        measure("memory", Arc::new(MemoryStore::new()), n).await;
        let data = tempfile::tempdir().unwrap();
        let file = data.path().join("frontdesk.db");
        measure("sqlite", Arc::new(SqliteStore::open(&file).unwrap()), n).await;
        let size = |suffix: &str| {
            std::fs::metadata(format!("{}{suffix}", file.display())).map_or(0, |m| m.len()) as f64
        };
        let (db, wal) = (size(""), size("-wal"));
        println!(
            "sqlite: on disk: database file {:.1} MiB ({:.0} KiB per 1,000 conversations of 8 events) + WAL {:.1} MiB (not yet checkpointed)",
            db / 1048576.0,
            db / 1024.0 / n as f64 * 1000.0,
            wal / 1048576.0
        );
        match std::env::var("REDIS_URL") {
            Ok(url) => {
                let prefix = format!("fdbench:{:016x}", rand::random::<u64>());
                let store: Arc<dyn Store> =
                    Arc::new(RedisStore::connect(&url, &prefix).await.unwrap());
                measure("redis", store.clone(), n).await;
                for id in store.conversations_created(0, u64::MAX).await.unwrap() {
                    store.delete(&id).await.unwrap();
                }
            }
            Err(_) => println!(" redis: skipped (set REDIS_URL to measure it)"),
        }
    });
}
