//! Several nodes on one Redis, business hours, and a Redis outage. Every server here runs on a
//! real redis-server; the outage test starts (and stops, and restarts) one of its own.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::app::{
    AgentClient, TestApp, Visitor, WAIT, fresh_prefix, redis_store, redis_url, sample_kb,
    spawn_app_on, spawn_redis_app,
};

/// Two servers sharing one Redis key prefix: two nodes of one deployment.
async fn two_nodes() -> (TestApp, TestApp) {
    let prefix = fresh_prefix();
    let node = || async {
        let store = redis_store(&redis_url(), &prefix).await;
        spawn_app_on(store, sample_kb(), |_| {}).await
    };
    (node().await, node().await)
}

#[actix_web::test]
async fn a_visitor_on_one_node_and_an_agent_on_another_talk_both_ways() {
    let (a, b) = two_nodes().await;
    let mut ann = b.agent("ann").await;
    let mut v = a.visitor().await;
    v.send(json!({"type": "request_human"})).await;
    let queue = ann.queue_of(1).await;
    assert_eq!(queue[0]["conversation"], v.conversation.as_str());
    ann.act("claim", &v.conversation, json!({})).await;
    let joined = v
        .until(|f| f["kind"] == "notice" && f["notice"]["notice"] == "assigned")
        .await;
    assert_eq!(joined["notice"]["agent"], "Ann");
    ann.act(
        "reply",
        &v.conversation,
        json!({"text": "hello from node B"}),
    )
    .await;
    let reply = v.until(|f| f["kind"] == "agent_message").await;
    assert_eq!(reply["text"], "hello from node B");
    v.say("hello from node A").await;
    let heard = ann
        .event(&v.conversation, |e| e["kind"] == "visitor_message")
        .await;
    assert_eq!(heard["text"], "hello from node A");
}

#[actix_web::test]
async fn when_a_node_dies_its_visitor_resumes_on_another_with_nothing_lost() {
    let (a, b) = two_nodes().await;
    let mut ann = b.agent("ann").await;
    let mut v = a.visitor().await;
    v.say("how do I reset my password").await;
    v.bot_answer().await;
    v.send(json!({"type": "request_human"})).await;
    ann.queue_of(1).await;
    ann.act("claim", &v.conversation, json!({})).await;
    v.until(|f| f["kind"] == "notice" && f["notice"]["notice"] == "assigned")
        .await;
    let seen = v.last_seq;
    let token = v.token.clone();

    a.shutdown_handle().shutdown().await;
    assert_eq!(v.closed().await, Some(1001), "node A says it is going away");
    // While the visitor is away, the agent writes.
    ann.act(
        "reply",
        &v.conversation,
        json!({"text": "are you still there?"}),
    )
    .await;
    ann.event(&v.conversation, |e| e["kind"] == "agent_message")
        .await;

    let mut again = crate::app::Visitor::connect(&b, None).await.unwrap();
    let welcome = again
        .hello(json!({"type": "hello", "token": token, "last_seq": seen}))
        .await;
    assert_eq!(welcome["resumed"], true);
    assert_eq!(welcome["state"], "assigned");
    again.last_seq = seen;
    let missed = again.until(|f| f["kind"] == "agent_message").await;
    assert_eq!(missed["text"], "are you still there?");
    assert_eq!(
        missed["seq"].as_u64().unwrap(),
        seen + 1,
        "exactly what was missed, no gap"
    );
}

#[actix_web::test]
async fn outside_business_hours_the_visitor_leaves_a_message_that_agents_follow_up() {
    let mut kb = sample_kb();
    // Open one minute a week, on a day that has passed or is to come: closed now.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("faq")).unwrap();
    std::fs::write(
        dir.path().join("faq/x.md"),
        "+++\nid = \"x\"\ntitle = \"X\"\nquestions = [\"a\", \"b\", \"c\"]\n+++\nX.\n",
    )
    .unwrap();
    let today = jiff::Zoned::now().with_time_zone(jiff::tz::TimeZone::UTC);
    let other_day = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ][(today.weekday().to_monday_zero_offset() as usize + 3) % 7];
    std::fs::write(
        dir.path().join("hours.toml"),
        format!("timezone = \"UTC\"\n[week]\n{other_day} = \"09:00-09:01\"\n"),
    )
    .unwrap();
    kb.hours = frontdesk::knowledge_base::load(dir.path())
        .unwrap()
        .kb
        .hours;
    let store = redis_store(&redis_url(), &fresh_prefix()).await;
    let app = spawn_app_on(store, kb, |_| {}).await;
    let mut ann = app.agent("ann").await;
    let mut v = app.visitor().await;
    v.send(json!({"type": "request_human"})).await;
    let away = v.bot_answer().await;
    assert_eq!(away["decision"], "offline", "{away}");
    let text = away["text"].as_str().unwrap();
    assert!(
        text.contains("We're back")
            && text.contains(&format!(
                "{}{}",
                &other_day[..1].to_uppercase(),
                &other_day[1..]
            )),
        "says when people are back: {text}"
    );
    v.send(json!({"type": "leave_message", "email": "ana@example.com", "text": "Please call me back about my refund"}))
        .await;
    v.until(|f| f["kind"] == "offline_message").await;
    let thanks = v.bot_answer().await;
    assert!(
        thanks["text"].as_str().unwrap().contains("reply by e-mail"),
        "{thanks}"
    );
    let follow_ups = ann
        .until(|f| f["type"] == "follow_ups" && f["items"].as_array().unwrap().len() == 1)
        .await;
    assert_eq!(
        follow_ups["items"][0]["conversation"],
        v.conversation.as_str()
    );
    ann.act("open", &v.conversation, json!({})).await;
    let message = ann
        .event(&v.conversation, |e| e["kind"] == "offline_message")
        .await;
    assert_eq!(message["email"], "ana@example.com");
    ann.act("followed_up", &v.conversation, json!({})).await;
    ann.until(|f| f["type"] == "follow_ups" && f["items"].as_array().unwrap().is_empty())
        .await;
    // The bot is still there.
    v.say("how do I reset my password").await;
    assert_eq!(v.bot_answer().await["decision"], "answer");
}

#[actix_web::test]
async fn with_no_agent_online_a_handoff_offers_the_offline_form() {
    let app = spawn_redis_app(|_| {}).await;
    let mut v = app.visitor().await;
    v.say("I want to talk to a human").await;
    let told = v.bot_answer().await;
    assert_eq!(told["decision"], "offline");
    assert!(
        told["text"]
            .as_str()
            .unwrap()
            .contains("No one from our team is online")
    );
}

/// A redis-server of this test's own on a free port, with an append-only file so a restart
/// keeps its data.
struct OwnRedis {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl OwnRedis {
    fn start() -> OwnRedis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut redis = OwnRedis {
            port,
            dir: tempfile::tempdir().unwrap(),
            child: None,
        };
        redis.restart();
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is installed (scripts/test installs it)");
        self.child = Some(child);
        let deadline = std::time::Instant::now() + WAIT;
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "redis-server starts in time"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A server on a Redis of this test's own (to stop and restart), with `ann` online; presence
/// outlives a short outage.
async fn outage_app() -> (OwnRedis, TestApp, AgentClient) {
    let redis = OwnRedis::start();
    let store = redis_store(&redis.url(), &fresh_prefix()).await;
    let app = spawn_app_on(store, sample_kb(), |s| s.presence_ttl_seconds = 30).await;
    let ann = app.agent("ann").await;
    (redis, app, ann)
}

#[actix_web::test]
async fn a_redis_outage_keeps_the_bot_answering_holds_the_handoff_and_recovers() {
    let (mut redis, app, mut ann) = outage_app().await;
    let mut v = app.visitor().await;
    v.say("how do I reset my password").await;
    v.bot_answer().await;
    let before = v.last_seq;

    redis.stop();
    let (status, body) = app.get("/readyz").await;
    assert_eq!(status, 503, "readyz reports the outage: {body}");
    // The bot still answers from the knowledge base, and says the message is held.
    v.say("where is my order").await;
    let held = v.until(|f| f["type"] == "held").await;
    assert_eq!(held["answer"]["decision"], "answer", "{held}");
    // A handoff asked for now is kept, not dropped.
    v.say("I want to talk to a human").await;
    let held = v.until(|f| f["type"] == "held").await;
    assert_eq!(held["answer"]["decision"], "handoff", "{held}");

    redis.restart();
    let deadline = tokio::time::Instant::now() + WAIT;
    while app.get("/readyz").await.0 != 200 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the node recovers without a restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The held messages are stored in order, the handoff is delivered, nothing is lost.
    let first = v.until(|f| f["kind"] == "visitor_message").await;
    assert_eq!(first["text"], "where is my order");
    assert_eq!(first["seq"].as_u64().unwrap(), before + 1);
    let second = v
        .until(|f| f["kind"] == "visitor_message" && f["text"] == "I want to talk to a human")
        .await;
    assert!(second["seq"].as_u64().unwrap() > before + 1);
    v.until(|f| f["kind"] == "notice" && f["notice"]["notice"] == "queued")
        .await;
    let queue = ann.queue_of(1).await;
    assert_eq!(queue[0]["conversation"], v.conversation.as_str());
}

#[actix_web::test]
async fn redis_restarted_empty_tells_the_visitor_and_starts_over_without_losing_their_message() {
    let store_url = redis_url();
    let prefix = fresh_prefix();
    let store = redis_store(&store_url, &prefix).await;
    let app = spawn_app_on(store, sample_kb(), |_| {}).await;
    let mut v = app.visitor().await;
    v.say("how do I reset my password").await;
    v.bot_answer().await;
    let old = v.conversation.clone();
    // Redis comes back empty (no persistence): this test's keys are gone.
    let client = redis::Client::open(store_url.as_str()).unwrap();
    let mut con = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut con)
        .await
        .unwrap();
    let _: () = redis::cmd("DEL")
        .arg(&keys)
        .query_async(&mut con)
        .await
        .unwrap();
    v.send(json!({"type": "message", "text": "are you still there?", "client_id": "after-flush"}))
        .await;
    let told = v.until(|f| f["type"] == "error").await;
    assert_eq!(told["code"], "unknown_token", "{told}");
    assert_eq!(
        v.closed().await,
        Some(1012),
        "the client is told to reconnect"
    );
    // The widget reconnects with its old token and resends what was not confirmed.
    let mut again = Visitor::connect(&app, None).await.unwrap();
    let welcome = again
        .hello(json!({"type": "hello", "token": v.token, "last_seq": v.last_seq}))
        .await;
    assert_eq!(welcome["resumed"], false);
    assert_ne!(again.conversation, old);
    again
        .send(
            json!({"type": "message", "text": "are you still there?", "client_id": "after-flush"}),
        )
        .await;
    let stored = again.until(|f| f["kind"] == "visitor_message").await;
    assert_eq!(stored["text"], "are you still there?");
}

#[actix_web::test]
async fn an_agents_replies_during_a_redis_outage_are_held_and_delivered_in_order() {
    let (mut redis, app, mut ann) = outage_app().await;
    let mut v = app.waiting_visitor().await;
    ann.act("claim", &v.conversation, json!({})).await;
    v.notice("assigned").await;

    redis.stop();
    for n in 1..=4 {
        ann.act(
            "reply",
            &v.conversation,
            json!({"text": format!("reply {n}"), "client_id": format!("r-{n}")}),
        )
        .await;
    }
    // The store stays down for 3 s, longer than its timeouts: the replies wait on the server
    // (the console may hear that its lists cannot be read meanwhile).
    let outage = tokio::time::Instant::now() + Duration::from_secs(3);
    while ann
        .try_next(outage.saturating_duration_since(tokio::time::Instant::now()))
        .await
        .is_some()
    {}
    redis.restart();
    for n in 1..=4 {
        let reply = v.until(|f| f["kind"] == "agent_message").await;
        assert_eq!(reply["text"], format!("reply {n}"), "in the order written");
    }
    // The console gets each one's event (that is what ends its "sending...").
    ann.event(&v.conversation, |e| {
        e["kind"] == "agent_message" && e["client_id"] == "r-4"
    })
    .await;
}
