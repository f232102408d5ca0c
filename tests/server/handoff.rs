//! Human handoff on the Redis store: claims, replies, notes, hand back, close, the router
//! (auto-assign, capacity, requeue on disconnect or no answer), queue position updates, and
//! credentials. Every server here runs on a real redis-server under its own key prefix.

use std::time::Duration;

use serde_json::json;

use crate::app::{AgentClient, spawn_redis_app};

/// Claims `conversation` and waits until it is the agent's.
async fn claim(agent: &mut AgentClient, conversation: &str) {
    agent.act("claim", conversation, json!({})).await;
    agent
        .until(|f| {
            f["type"] == "chats"
                && f["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|c| c["conversation"] == conversation)
        })
        .await;
}

#[actix_web::test]
async fn two_agents_race_to_claim_one_chat_and_exactly_one_wins() {
    let app = spawn_redis_app(|_| {}).await;
    let mut ann = app.agent("ann").await;
    let mut cid = app.agent("cid").await;
    let mut v = app.waiting_visitor().await;
    let queue = ann.queue_of(1).await;
    assert_eq!(queue[0]["conversation"], v.conversation.as_str());
    assert_eq!(
        queue[0]["reason"],
        json!({"code": "visitor_asked", "kind": "visitor_asked"})
    );
    cid.queue_of(1).await;
    ann.act("claim", &v.conversation, json!({})).await;
    cid.act("claim", &v.conversation, json!({})).await;
    // Each agent hears either that the chat is theirs or that it is not any more.
    let mut winners = Vec::new();
    for (name, agent) in [("Ann", &mut ann), ("Cid", &mut cid)] {
        let (mut outcome, mut queue_emptied) = (None, false);
        while outcome.is_none() || !queue_emptied {
            let f = agent.until(|_| true).await;
            match f["type"].as_str() {
                Some("chats") if !f["items"].as_array().unwrap().is_empty() => outcome = Some(true),
                Some("error") if f["code"] == "not_yours" => outcome = Some(false),
                Some("queue") => queue_emptied = f["items"].as_array().unwrap().is_empty(),
                _ => {}
            }
        }
        if outcome == Some(true) {
            winners.push(name);
        }
    }
    assert_eq!(winners.len(), 1, "exactly one claim wins: {winners:?}");
    let assigned = v.until(|f| f["kind"] == "notice").await;
    assert_eq!(assigned["notice"]["notice"], "assigned");
    assert_eq!(assigned["notice"]["agent"], winners[0]);
}

#[actix_web::test]
async fn visitor_and_agent_talk_notes_stay_internal_and_the_bot_keeps_quiet() {
    let app = spawn_redis_app(|_| {}).await;
    let mut ann = app.agent("ann").await;
    let mut v = app.waiting_visitor().await;
    claim(&mut ann, &v.conversation).await;
    let joined = v.until(|f| f["kind"] == "notice").await;
    assert_eq!(
        joined["notice"],
        json!({"notice": "assigned", "agent": "Ann"})
    );

    // The agent sees the whole transcript, including why the bot let go.
    ann.event(&v.conversation, |e| {
        e["kind"] == "notice" && e["notice"]["reason"] == "visitor_asked"
    })
    .await;

    ann.act(
        "note",
        &v.conversation,
        json!({"text": "VIP customer, be nice"}),
    )
    .await;
    ann.event(&v.conversation, |e| e["kind"] == "note").await;
    ann.act("typing", &v.conversation, json!({})).await;
    let typing = v.until(|f| f["type"] == "typing").await;
    assert_eq!(typing["from"], "Ann");
    ann.act(
        "reply",
        &v.conversation,
        json!({"text": "Hi, I'm Ann. How can I help?"}),
    )
    .await;
    let reply = v.next().await;
    assert_eq!(
        reply["kind"], "agent_message",
        "the note never reached the visitor: {reply}"
    );
    assert_eq!(reply["agent"], "Ann");
    assert_eq!(reply["text"], "Hi, I'm Ann. How can I help?");

    v.say("where is my order?").await;
    let seen = ann
        .event(&v.conversation, |e| e["kind"] == "visitor_message")
        .await;
    assert_eq!(seen["text"], "where is my order?");
    let echo = v.next().await;
    assert_eq!(echo["kind"], "visitor_message");
    assert!(
        v.try_next(Duration::from_millis(700)).await.is_none(),
        "the bot never answers while an agent owns the chat"
    );
}

#[actix_web::test]
async fn hand_back_lets_the_bot_answer_again_and_close_asks_for_a_rating() {
    let app = spawn_redis_app(|_| {}).await;
    let mut ann = app.agent("ann").await;
    let mut v = app.waiting_visitor().await;
    claim(&mut ann, &v.conversation).await;
    ann.act("hand_back", &v.conversation, json!({})).await;
    let back = v
        .until(|f| f["kind"] == "notice" && f["notice"]["notice"] == "back_to_bot")
        .await;
    assert_eq!(back["notice"], json!({"notice": "back_to_bot"}));
    v.say("how do I reset my password").await;
    let answer = v.bot_answer().await;
    assert_eq!(answer["decision"], "answer");

    // Again to a person, then closed with a resolution.
    v.send(json!({"type": "request_human"})).await;
    v.until(|f| f["kind"] == "notice" && f["notice"]["notice"] == "queued")
        .await;
    claim(&mut ann, &v.conversation).await;
    ann.act("close", &v.conversation, json!({"resolution": "solved"}))
        .await;
    let closed = v
        .until(|f| f["kind"] == "notice" && f["notice"]["notice"] == "closed")
        .await;
    assert_eq!(closed["notice"]["resolution"], "solved");
    v.send(json!({"type": "rate", "score": 5, "comment": "quick!"}))
        .await;
    let rating = v.until(|f| f["kind"] == "rating").await;
    assert_eq!(rating["score"], 5);
    ann.until(|f| f["type"] == "chats" && f["items"].as_array().unwrap().is_empty())
        .await;
}

#[actix_web::test]
async fn waiting_visitors_see_their_place_and_it_moves_as_agents_take_chats() {
    let app = spawn_redis_app(|_| {}).await;
    let mut cid = app.agent("cid").await;
    let first = app.waiting_visitor().await;
    let _second = app.waiting_visitor().await;
    let mut third = app.waiting_visitor().await;
    let place = third
        .until(|f| f["type"] == "queue" && f["position"] == 3)
        .await;
    assert!(place.get("eta_seconds").is_some(), "{place}");
    claim(&mut cid, &first.conversation).await;
    let moved = third
        .until(|f| f["type"] == "queue" && f["position"] == 2)
        .await;
    assert!(
        moved["eta_seconds"].is_u64(),
        "after one measured wait there is an estimate: {moved}"
    );
}

#[actix_web::test]
async fn auto_assign_gives_chats_to_online_agents_within_their_capacity() {
    let app = spawn_redis_app(|s| s.auto_assign = true).await;
    let mut bob = app.agent("bob").await; // capacity 1
    let mut a = app.waiting_visitor().await;
    let joined = a
        .until(|f| f["kind"] == "notice" && f["notice"]["notice"] == "assigned")
        .await;
    assert_eq!(joined["notice"]["agent"], "Bob");
    let mut b = app.waiting_visitor().await;
    let place = b.until(|f| f["type"] == "queue").await;
    assert_eq!(
        place["position"], 1,
        "Bob is full: the second visitor waits"
    );
    assert!(
        b.try_next(Duration::from_millis(1500))
            .await
            .is_none_or(|f| f["notice"]["notice"] != "assigned"),
        "capacity is respected"
    );
    // Bob closes the first chat: the second is his next.
    bob.act("close", &a.conversation, json!({"resolution": "solved"}))
        .await;
    let joined = b
        .until(|f| f["kind"] == "notice" && f["notice"]["notice"] == "assigned")
        .await;
    assert_eq!(joined["notice"]["agent"], "Bob");
}

#[actix_web::test]
async fn an_agent_who_disconnects_loses_the_chat_back_to_its_original_place() {
    let app = spawn_redis_app(|s| s.presence_ttl_seconds = 1).await;
    let mut ann = app.agent("ann").await;
    let mut first = app.waiting_visitor().await;
    let mut second = app.waiting_visitor().await;
    claim(&mut ann, &first.conversation).await;
    second
        .until(|f| f["type"] == "queue" && f["position"] == 1)
        .await;
    ann.disconnect().await;
    let requeued = first
        .until(|f| f["kind"] == "notice" && f["notice"]["notice"] == "queued")
        .await;
    assert_eq!(requeued["notice"]["reason"], "agent_left");
    let place = first.until(|f| f["type"] == "queue").await;
    assert_eq!(
        place["position"], 1,
        "back at its original place, ahead of the second"
    );
    second
        .until(|f| f["type"] == "queue" && f["position"] == 2)
        .await;
}

#[actix_web::test]
async fn an_unanswered_assignment_is_offered_to_the_next_agent() {
    let app = spawn_redis_app(|s| {
        s.auto_assign = true;
        s.assign_timeout_seconds = 1;
    })
    .await;
    let _ann = app.agent("ann").await;
    let _cid = app.agent("cid").await;
    let mut v = app.waiting_visitor().await;
    let first = v
        .until(|f| f["kind"] == "notice" && f["notice"]["notice"] == "assigned")
        .await;
    let requeued = v
        .until(|f| f["kind"] == "notice" && f["notice"]["notice"] == "queued")
        .await;
    assert_eq!(requeued["notice"]["reason"], "not_answered");
    let second = v
        .until(|f| f["kind"] == "notice" && f["notice"]["notice"] == "assigned")
        .await;
    assert_ne!(
        first["notice"]["agent"], second["notice"]["agent"],
        "offered to the other agent"
    );
}

#[actix_web::test]
async fn transfers_go_to_an_agent_with_room_or_back_to_the_queue_for_a_team() {
    let app = spawn_redis_app(|_| {}).await;
    let mut ann = app.agent("ann").await;
    let mut bob = app.agent("bob").await;
    let mut v = app.waiting_visitor().await;
    claim(&mut ann, &v.conversation).await;
    ann.act("transfer", &v.conversation, json!({"agent": "bob"}))
        .await;
    let to_bob = v
        .until(|f| f["kind"] == "notice" && f["notice"]["agent"] == "Bob")
        .await;
    assert_eq!(to_bob["notice"]["notice"], "assigned");
    bob.until(|f| f["type"] == "chats" && f["items"].as_array().unwrap().len() == 1)
        .await;
    // Bob is now full (capacity 1): a transfer to him is refused.
    let mut w = app.waiting_visitor().await;
    claim(&mut ann, &w.conversation).await;
    ann.act("transfer", &w.conversation, json!({"agent": "bob"}))
        .await;
    let refused = ann.until(|f| f["type"] == "error").await;
    assert_eq!(refused["code"], "at_capacity");
    assert_eq!(
        refused["conversation"], w.conversation,
        "the console shows the refusal on the chat it concerns"
    );
    ann.act("transfer", &w.conversation, json!({"team": "billing"}))
        .await;
    let requeued = w
        .until(|f| f["kind"] == "notice" && f["notice"]["notice"] == "queued")
        .await;
    // The code, and the code read: clients never take it apart.
    assert_eq!(requeued["notice"]["reason"], "team:billing");
    assert_eq!(requeued["notice"]["reason_kind"], "team");
    assert_eq!(requeued["notice"]["reason_id"], "billing");
    assert_eq!(
        ann.queue_of(1).await[0]["reason"],
        json!({"code": "team:billing", "kind": "team", "id": "billing"})
    );
    // Only the owner writes as agent; the refusal names the reply, so it is marked, not lost.
    ann.act(
        "reply",
        &v.conversation,
        json!({"text": "still here?", "client_id": "r-9"}),
    )
    .await;
    let refused = ann.until(|f| f["type"] == "error").await;
    assert_eq!(refused["code"], "not_yours");
    assert_eq!(refused["conversation"], v.conversation);
    assert_eq!(refused["client_id"], "r-9");
}

#[actix_web::test]
async fn wrong_or_missing_agent_credentials_are_refused() {
    let app = spawn_redis_app(|_| {}).await;
    let (status, cookie, body) = app
        .post(
            "/api/agent/login",
            &json!({"id": "ann", "password": "nope"}),
            None,
        )
        .await;
    assert_eq!(status, 401);
    assert!(cookie.is_none());
    let (_, _, unknown) = app
        .post(
            "/api/agent/login",
            &json!({"id": "zed", "password": "nope"}),
            None,
        )
        .await;
    assert_eq!(
        body, unknown,
        "the answer does not tell which of the two was wrong"
    );
    for cookie in ["", "frontdesk_agent=0123456789abcdef0123456789abcdef"] {
        let refused = AgentClient::connect(&app, cookie).await;
        assert!(
            refused.is_err(),
            "no console socket without a valid session"
        );
    }
    // A real login works, and logging out ends the session.
    let session = app.login("ann").await;
    assert!(AgentClient::connect(&app, &session).await.is_ok());
    let (status, _, _) = app
        .post("/api/agent/logout", &json!({}), Some(&session))
        .await;
    assert_eq!(status, 204);
    assert!(AgentClient::connect(&app, &session).await.is_err());
    // Repeated failures are slowed down.
    let mut last = 0;
    for _ in 0..6 {
        last = app
            .post(
                "/api/agent/login",
                &json!({"id": "bob", "password": "guess"}),
                None,
            )
            .await
            .0;
    }
    assert_eq!(last, 429);
}

#[actix_web::test]
async fn agents_see_the_visitors_earlier_conversations_and_only_theirs() {
    let app = spawn_redis_app(|_| {}).await;
    let mut ann = app.agent("ann").await;
    // Yesterday's conversation, from the same browser (it kept its visitor key).
    let mut before = app.visitor().await;
    before.say("how long does a refund take?").await;
    before.bot_answer().await;
    let welcome = before.hello_again_elsewhere().await;
    let key = welcome["visitor_key"]
        .as_str()
        .expect("a visitor key")
        .to_owned();
    // Someone else's conversation.
    let mut stranger = app.visitor().await;
    stranger.say("do you ship to the UK?").await;
    stranger.bot_answer().await;

    let mut today = crate::app::Visitor::connect(&app, None).await.unwrap();
    let welcome = today
        .hello(json!({"type": "hello", "visitor_key": key}))
        .await;
    assert_eq!(welcome["resumed"], false);
    assert_eq!(welcome["visitor_key"], key.as_str());
    today.send(json!({"type": "request_human"})).await;
    ann.queue_of(1).await;
    ann.act("open", &today.conversation, json!({})).await;
    let header = ann
        .until(|f| f["type"] == "conversation" && f["conversation"] == today.conversation.as_str())
        .await;
    let earlier = header["earlier"].as_array().unwrap();
    assert_eq!(earlier.len(), 1, "{header}");
    assert_eq!(earlier[0]["conversation"], before.conversation.as_str());
    assert_eq!(earlier[0]["first_message"], "how long does a refund take?");
}

#[actix_web::test]
async fn a_resent_agent_reply_is_stored_once() {
    let app = spawn_redis_app(|_| {}).await;
    let mut ann = app.agent("ann").await;
    let mut v = app.waiting_visitor().await;
    claim(&mut ann, &v.conversation).await;
    for _ in 0..2 {
        ann.act(
            "reply",
            &v.conversation,
            json!({"text": "one moment please", "client_id": "r-7"}),
        )
        .await;
    }
    ann.act(
        "reply",
        &v.conversation,
        json!({"text": "done", "client_id": "r-8"}),
    )
    .await;
    let first = v.until(|f| f["kind"] == "agent_message").await;
    assert_eq!(first["text"], "one moment please");
    let next = v.until(|f| f["kind"] == "agent_message").await;
    assert_eq!(next["text"], "done", "the resend was not stored again");
}
