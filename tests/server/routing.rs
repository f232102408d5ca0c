//! Routing as visitors and agents meet it: what a waiting visitor is told when nobody is online,
//! a chat the only agent let go coming back to them, and who a reconnecting visitor is talking
//! to. The router's invariants over random schedules are the simulation's
//! (`src/routing/simulation.rs`); these are the regressions of what was found from outside.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::app::{Visitor, spawn_app_with};

/// How soon waiting visitors must learn that the last agent went away.
const TOLD_WITHIN: Duration = Duration::from_secs(5);

/// The next `queue` frame within `within`, if one comes.
async fn queue_frame_within(v: &mut Visitor, within: Duration) -> Option<serde_json::Value> {
    let deadline = Instant::now() + within;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match v.try_next(left).await {
            Some(f) if f["type"] == "queue" => return Some(f),
            Some(_) => continue,
            None => return None,
        }
    }
    None
}

#[actix_web::test]
async fn waiting_visitors_learn_within_seconds_that_nobody_is_online_and_keep_their_place() {
    // A presence lives 20 s: being told must not wait for it to expire.
    let app = spawn_app_with(|s| s.presence_ttl_seconds = 20).await;
    let ann = app.agent("ann").await;
    let mut first = app.waiting_visitor().await;
    let mut second = app.waiting_visitor().await;
    second
        .until(|f| f["type"] == "queue" && f["position"] == 2)
        .await;
    ann.disconnect().await;
    for v in [&mut first, &mut second] {
        let told = loop {
            let f = queue_frame_within(v, TOLD_WITHIN)
                .await
                .expect("told within 5 s that nobody is online");
            if f["nobody_online"] == true {
                break f;
            }
        };
        assert!(
            told["eta_seconds"].is_null(),
            "no estimate while nobody can answer: {told}"
        );
        assert!(told["position"] == 1 || told["position"] == 2, "{told}");
    }
    // Ann is back: the place was kept, and the visitors learn that someone is online again.
    let _ann = app.agent("ann").await;
    let back = loop {
        let f = queue_frame_within(&mut second, TOLD_WITHIN)
            .await
            .expect("told when someone is back");
        if f.get("nobody_online").is_none() {
            break f;
        }
    };
    assert_eq!(back["position"], 2, "still second in line");
}

#[actix_web::test]
async fn a_chat_the_only_agent_did_not_answer_comes_back_to_them() {
    let app = spawn_app_with(|s| {
        s.auto_assign = true;
        s.assign_timeout_seconds = 1;
        s.reoffer_after_seconds = 1;
    })
    .await;
    let _ann = app.agent("ann").await;
    let mut v = app.waiting_visitor().await;
    let first = v
        .until(|f| f["kind"] == "notice" && f["notice"]["notice"] == "assigned")
        .await;
    assert_eq!(first["notice"]["agent"], "Ann");
    let back = v
        .until(|f| f["kind"] == "notice" && f["notice"]["notice"] == "queued")
        .await;
    assert_eq!(back["notice"]["reason"], "not_answered");
    let again = v
        .until(|f| f["kind"] == "notice" && f["notice"]["notice"] == "assigned")
        .await;
    assert_eq!(
        again["notice"]["agent"], "Ann",
        "never stranded: offered again to the only agent with room"
    );
}

#[actix_web::test]
async fn a_visitor_who_reconnects_to_an_assigned_chat_is_told_who_has_it() {
    let app = spawn_app_with(|_| {}).await;
    let mut ann = app.agent("ann").await;
    let v = app.waiting_visitor().await;
    ann.act("claim", &v.conversation, json!({})).await;
    ann.until(|f| f["type"] == "chats" && f["items"].as_array().is_some_and(|i| !i.is_empty()))
        .await;
    let welcome = v.hello_again_elsewhere().await;
    assert_eq!(welcome["state"], "assigned");
    assert_eq!(welcome["agent"], "Ann", "{welcome}");
    assert!(
        welcome.get("agent_answered").is_none(),
        "Ann has not written yet: {welcome}"
    );
    ann.act(
        "reply",
        &v.conversation,
        json!({"text": "Hi, Ann here", "client_id": "r-1"}),
    )
    .await;
    ann.event(&v.conversation, |e| e["kind"] == "agent_message")
        .await;
    let welcome = v.hello_again_elsewhere().await;
    assert_eq!(welcome["agent_answered"], true, "{welcome}");
}

#[actix_web::test]
async fn closing_one_of_two_consoles_tells_nobody_that_nobody_is_online() {
    let app = spawn_app_with(|s| s.presence_ttl_seconds = 20).await;
    let ann = app.agent("ann").await;
    let _ann_too = app.agent("ann").await;
    let mut v = app.waiting_visitor().await;
    v.until(|f| f["type"] == "queue").await;
    ann.disconnect().await;
    let deadline = Instant::now() + TOLD_WITHIN;
    while let Some(f) = queue_frame_within(&mut v, deadline - Instant::now()).await {
        assert_ne!(
            f["nobody_online"], true,
            "Ann still has a console open: {f}"
        );
        if Instant::now() >= deadline {
            break;
        }
    }
}

#[actix_web::test]
async fn a_console_keeps_seeing_its_new_chats_after_hundreds_handled() {
    // Each chat is opened, taken, answered and closed; a busy agent's console stays open all
    // day (the bench `soak -- --console-chats 10000` runs ten thousand).
    let app = spawn_app_with(|s| {
        s.rate_per_second = 1000.0;
        s.rate_burst = 1000.0;
        s.conversations_per_minute = 100_000;
    })
    .await;
    let mut ann = app.agent("ann").await;
    for n in 0..210 {
        let mut v = app.waiting_visitor().await;
        // As the console does: the agent opens the chat, then claims it.
        ann.act("open", &v.conversation, json!({"last_seq": 0}))
            .await;
        ann.act("claim", &v.conversation, json!({})).await;
        v.say("is anyone there?").await;
        let seen = ann
            .until(|f| {
                assert!(
                    !(f["type"] == "error" && f["conversation"] == v.conversation.as_str()),
                    "chat {n}: the console was refused its own chat: {f}"
                );
                f["type"] == "conversation_event"
                    && f["conversation"] == v.conversation.as_str()
                    && f["event"]["kind"] == "visitor_message"
            })
            .await;
        assert_eq!(seen["event"]["text"], "is anyone there?");
        ann.act("reply", &v.conversation, json!({"text": "yes"}))
            .await;
        ann.act("close", &v.conversation, json!({})).await;
        v.until(|f| f["kind"] == "notice" && f["notice"]["notice"] == "closed")
            .await;
    }
}
