use serde_json::json;

use crate::app::{Visitor, spawn_app};

#[actix_web::test]
async fn reconnecting_with_token_and_last_seq_replays_exactly_the_missed_events() {
    let app = spawn_app().await;
    let mut v = app.visitor().await;
    v.say("hello").await;
    v.bot_answer().await; // seq 2
    v.say("how long does delivery take?").await;
    v.bot_answer().await; // seq 4
    let token = v.token.clone();
    v.disconnect().await;

    let mut back = Visitor::connect(&app, None).await.unwrap();
    let welcome = back
        .hello(json!({"type": "hello", "token": token, "last_seq": 2}))
        .await;
    assert_eq!(welcome["resumed"], true);
    assert_eq!(welcome["state"], "bot");
    back.last_seq = 2;
    let third = back.next().await;
    let fourth = back.next().await;
    assert_eq!(
        (third["seq"].as_u64(), fourth["seq"].as_u64()),
        (Some(3), Some(4))
    );
    assert_eq!(third["kind"], "visitor_message");
    assert_eq!(fourth["kind"], "bot_answer");
    assert!(
        back.try_next(std::time::Duration::from_millis(300))
            .await
            .is_none(),
        "nothing more, nothing twice"
    );
    back.say("thanks").await;
    assert_eq!(
        back.next().await["seq"],
        5,
        "the conversation continues where it was"
    );
}

#[actix_web::test]
async fn an_unknown_token_starts_a_new_conversation_and_says_so() {
    let app = spawn_app().await;
    let mut v = Visitor::connect(&app, None).await.unwrap();
    let forged = format!("{}.{}", "a".repeat(32), "b".repeat(32));
    v.send(json!({"type": "hello", "token": forged, "last_seq": 3}))
        .await;
    let err = v.next().await;
    assert_eq!(err["code"], "unknown_token");
    let welcome = v.next().await;
    assert_eq!(welcome["type"], "welcome");
    assert_eq!(welcome["resumed"], false);
    assert_ne!(welcome["token"], forged.as_str());
}

#[actix_web::test]
async fn a_resent_client_id_is_acknowledged_not_stored_twice() {
    let app = spawn_app().await;
    let mut v = app.visitor().await;
    let frame = json!({"type": "message", "text": "hello", "client_id": "same-1"});
    v.send(frame.clone()).await;
    v.bot_answer().await;
    v.send(frame).await;
    let ack = v.next().await;
    assert_eq!(ack, json!({"type": "ack", "client_id": "same-1", "seq": 1}));

    let token = v.token.clone();
    v.disconnect().await;
    let mut replay = Visitor::connect(&app, None).await.unwrap();
    replay
        .hello(json!({"type": "hello", "token": token, "last_seq": 0}))
        .await;
    let mut messages = 0;
    while let Some(f) = replay.try_next(std::time::Duration::from_millis(300)).await {
        messages += (f["kind"] == "visitor_message") as usize;
    }
    assert_eq!(messages, 1);
}
