//! Visitor identity verification: a site's backend signs its user ids (HMAC-SHA256 with a shared
//! secret); the server takes an id only with a valid signature.

use frontdesk::identity::IdentitySecret;
use serde_json::json;

use crate::app::{Visitor, spawn_app_with, spawn_redis_app};

const SECRET: &str = "a-shared-secret-of-some-length";

fn hash(id: &str) -> String {
    IdentitySecret::new(SECRET).sign(id)
}

#[actix_web::test]
async fn a_verified_visitor_is_known_to_agents_with_history_from_any_browser() {
    let app = spawn_redis_app(|s| s.identity_secret = Some(SECRET.into())).await;
    let mut ann = app.agent("ann").await;
    // Monday, on the laptop.
    let mut laptop = Visitor::connect(&app, None).await.unwrap();
    laptop
        .hello(json!({"type": "hello", "user_id": "user-42", "user_hash": hash("user-42"), "name": "Ana"}))
        .await;
    laptop.say("how long does a refund take?").await;
    laptop.bot_answer().await;
    // Tuesday, on the phone (no token, no visitor key): the same person.
    let mut phone = Visitor::connect(&app, None).await.unwrap();
    phone
        .hello(json!({"type": "hello", "user_id": "user-42", "user_hash": hash("user-42")}))
        .await;
    phone.send(json!({"type": "request_human"})).await;
    let queue = ann.queue_of(1).await;
    assert_eq!(queue[0]["visitor"]["user_id"], "user-42");
    ann.act("open", &phone.conversation, json!({})).await;
    let header = ann
        .until(|f| f["type"] == "conversation" && f["conversation"] == phone.conversation.as_str())
        .await;
    assert_eq!(
        header["earlier"][0]["conversation"],
        laptop.conversation.as_str()
    );
}

#[actix_web::test]
async fn a_forged_identity_is_refused_and_the_visitor_chats_as_a_guest() {
    let app = spawn_redis_app(|s| s.identity_secret = Some(SECRET.into())).await;
    let mut v = Visitor::connect(&app, None).await.unwrap();
    v.send(json!({"type": "hello", "user_id": "user-42", "user_hash": hash("user-43")}))
        .await;
    let refused = v.until(|f| f["type"] == "error").await;
    assert_eq!(refused["code"], "identity_refused");
    assert!(
        refused["message"].as_str().unwrap().contains("guest"),
        "{refused}"
    );
    let welcome = v.until(|f| f["type"] == "welcome").await;
    assert_eq!(welcome["resumed"], false);
    // A token of a verified visitor's conversation does not open it for someone else.
    let mut owner = Visitor::connect(&app, None).await.unwrap();
    owner
        .hello(json!({"type": "hello", "user_id": "user-7", "user_hash": hash("user-7")}))
        .await;
    owner.say("my order number is LK-1234").await;
    let mut other = Visitor::connect(&app, None).await.unwrap();
    let welcome = other
        .hello(json!({"type": "hello", "token": owner.token, "user_id": "user-8", "user_hash": hash("user-8")}))
        .await;
    assert_eq!(
        welcome["resumed"], false,
        "another signed-in person starts afresh"
    );
    assert_ne!(welcome["conversation"], owner.conversation.as_str());
}

#[actix_web::test]
async fn with_require_identity_nobody_chats_without_a_valid_signature() {
    let app = spawn_redis_app(|s| {
        s.identity_secret = Some(SECRET.into());
        s.require_identity = true;
    })
    .await;
    let mut v = Visitor::connect(&app, None).await.unwrap();
    v.send(json!({"type": "hello"})).await;
    assert_eq!(v.next().await["code"], "identity_refused");
    v.say("hello?").await;
    assert_eq!(
        v.next().await["code"],
        "hello_first",
        "not bound to any conversation"
    );
    v.send(json!({"type": "hello", "user_id": "user-42", "user_hash": "00"}))
        .await;
    assert_eq!(v.next().await["code"], "identity_refused");
    let welcome = v
        .hello(json!({"type": "hello", "user_id": "user-42", "user_hash": hash("user-42")}))
        .await;
    assert_eq!(welcome["resumed"], false);
    v.say("how do I reset my password").await;
    assert_eq!(v.bot_answer().await["decision"], "answer");
}

#[actix_web::test]
async fn a_verified_visitors_key_does_not_link_a_later_guest_on_that_browser() {
    let app = spawn_app_with(|s| s.identity_secret = Some(SECRET.into())).await;
    let mut ann = app.agent("ann").await;
    let mut signed_in = Visitor::connect(&app, None).await.unwrap();
    let welcome = signed_in
        .hello(json!({"type": "hello", "user_id": "user-42", "user_hash": hash("user-42")}))
        .await;
    assert!(
        welcome.get("visitor_key").is_none(),
        "the browser is not given a verified visitor's key: {welcome}"
    );
    signed_in.say("my card ends in 4242").await;
    signed_in.bot_answer().await;
    // A guest on that browser later presents the verified key anyway (kept from an older
    // version, or guessed from elsewhere).
    let key = IdentitySecret::new(SECRET).visitor_key("user-42");
    let mut guest = Visitor::connect(&app, None).await.unwrap();
    guest
        .hello(json!({"type": "hello", "visitor_key": key.as_str()}))
        .await;
    assert_ne!(
        guest.visitor_key,
        key.as_str(),
        "the guest gets a key of their own"
    );
    guest.send(json!({"type": "request_human"})).await;
    ann.queue_of(1).await;
    ann.act("open", &guest.conversation, json!({})).await;
    let header = ann
        .until(|f| f["type"] == "conversation" && f["conversation"] == guest.conversation.as_str())
        .await;
    assert_eq!(
        header["earlier"],
        json!([]),
        "the verified visitor's history is not shown with the guest's"
    );
}
