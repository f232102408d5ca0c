use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::app::{Visitor, spawn_app, spawn_app_with};

/// After an error the socket must still answer a good message.
async fn still_answers(v: &mut Visitor) {
    v.say("how do I reset my password").await;
    let answer = v.bot_answer().await;
    assert_eq!(answer["decision"], "answer");
}

#[actix_web::test]
async fn every_bad_frame_gets_its_error_code_and_the_socket_keeps_working() {
    // Twelve frames in a row: more than the default burst, which is not what this test is about.
    let app = spawn_app_with(|s| s.rate_burst = 100.0).await;
    let mut v = app.visitor().await;
    let cases: Vec<(Message, &str)> = vec![
        (Message::text("this is not json"), "bad_frame"),
        (Message::text(r#"{"type":"dance"}"#), "unknown_type"),
        (
            Message::text(r#"{"type":"message","text":"hi"}"#),
            "bad_frame",
        ),
        (Message::binary(vec![0u8, 159, 146, 150]), "binary_frame"),
        (
            Message::text(
                json!({"type":"message","text":"x".repeat(5000),"client_id":"big"}).to_string(),
            ),
            "too_large",
        ),
        (
            Message::text(r#"{"type":"message","text":"","client_id":"e1"}"#),
            "empty_text",
        ),
        (
            Message::text(r#"{"type":"message","text":"  \n\t ","client_id":"e2"}"#),
            "empty_text",
        ),
        (Message::text(r#"{"type":"rate","score":9}"#), "invalid"),
        (
            Message::text(r#"{"type":"choose","option":"no-such-faq"}"#),
            "invalid",
        ),
        (Message::text(r#"{"type":"hello"}"#), "invalid"),
    ];
    for (frame, code) in cases {
        v.send_raw(frame).await;
        let err = v.until(|f| f["type"] == "error").await;
        assert_eq!(err["code"], code, "{err}");
    }
    still_answers(&mut v).await;
}

#[actix_web::test]
async fn frames_before_hello_are_refused_until_hello() {
    let app = spawn_app().await;
    let mut v = Visitor::connect(&app, None).await.unwrap();
    v.say("hi").await;
    assert_eq!(v.next().await["code"], "hello_first");
    v.hello(json!({"type": "hello"})).await;
    still_answers(&mut v).await;
}

/// A server with a burst of 3 frames, 0.5 per second, closing after 5 refusals in a row.
async fn strict_rate_app() -> crate::app::TestApp {
    spawn_app_with(|s| {
        s.rate_burst = 3.0;
        s.rate_per_second = 0.5;
        s.abuse_limit = 5;
    })
    .await
}

/// Sends `frame` 4 times (over the burst of 3), expects `rate_limited`, keeps flooding, and
/// expects the socket to be closed with 1008.
async fn flood_until_closed(v: &mut Visitor, frame: Message) {
    for _ in 0..4 {
        v.send_raw(frame.clone()).await;
    }
    let limited = v.until(|f| f["code"] == "rate_limited").await;
    assert_eq!(limited["type"], "error");
    for _ in 0..10 {
        v.send_raw(frame.clone()).await;
    }
    assert_eq!(v.closed().await, Some(1008));
}

#[actix_web::test]
async fn flooding_is_rate_limited_and_sustained_abuse_is_closed_with_1008() {
    let app = strict_rate_app().await;
    let mut v = app.visitor().await;
    flood_until_closed(&mut v, Message::text(json!({"type": "typing"}).to_string())).await;
}

#[actix_web::test]
async fn a_flood_of_bad_frames_before_hello_is_limited_too() {
    let app = strict_rate_app().await;
    let mut v = Visitor::connect(&app, None).await.unwrap();
    flood_until_closed(&mut v, Message::binary(vec![1u8, 2, 3])).await;
}

#[actix_web::test]
async fn a_refused_message_is_named_by_its_client_id() {
    let app = spawn_app().await;
    let mut v = app.visitor().await;
    v.send(json!({"type": "message", "text": " ", "client_id": "m-7"}))
        .await;
    let refused = v.until(|f| f["type"] == "error").await;
    assert_eq!(refused["code"], "empty_text");
    assert_eq!(refused["client_id"], "m-7", "the widget marks that message");
}

#[actix_web::test]
async fn head_is_answered_wherever_get_is_and_unknown_api_paths_are_problems() {
    let app = spawn_app().await;
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap();
    let url = |path: &str| format!("http://127.0.0.1:{}{path}", app.port);
    for path in [
        "/healthz",
        "/widget.js",
        "/agent/login",
        "/api/v1/openapi.json",
    ] {
        let get = client.get(url(path)).send().await.unwrap();
        let head = client.head(url(path)).send().await.unwrap();
        assert_eq!(head.status(), get.status(), "HEAD {path}");
        assert_eq!(
            head.headers().get("content-type"),
            get.headers().get("content-type"),
            "HEAD {path}"
        );
        assert!(head.bytes().await.unwrap().is_empty(), "HEAD has no body");
    }
    // A token-less HEAD on the API is refused as its GET is.
    let head = client
        .head(url("/api/v1/conversations"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 401);

    // Paths are case-sensitive; an API-looking one gets a problem, not an empty answer.
    let wrong = client
        .get(url("/API/V1/conversations"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 404);
    assert_eq!(wrong.headers()["content-type"], "application/problem+json");
    let problem: serde_json::Value = wrong.json().await.unwrap();
    assert_eq!(problem["code"], "no_such_route");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("case-sensitive"),
        "{problem}"
    );
    // A long unknown path is not echoed back whole.
    let long = format!("/api/v1/{}", "a".repeat(30_000));
    let problem: serde_json::Value = client
        .get(url(&long))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        problem.to_string().len() < 1_000,
        "{} bytes",
        problem.to_string().len()
    );
    let page = client.get(url("/no-such-page")).send().await.unwrap();
    assert_eq!(page.status(), 404);
    assert_eq!(page.text().await.unwrap(), "Not found");
}
