//! The integration API (`/api/v1`) with a real HTTP client (reqwest): tokens and scopes, cursor
//! pages over hundreds of conversations, an integration taking and answering a chat while the
//! visitor watches over the widget's protocol, a visitor's export matching what the widget
//! showed, and erasure.

use std::sync::Arc;

use frontdesk::conversation::{VisitorInfo, now_ms};
use frontdesk::ports::Store;
use frontdesk::tokens::{Scope, issue};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::app::{TestApp, WAIT, sample_kb, spawn_app_on, sqlite_store};

struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    fn new(app: &TestApp) -> Api {
        Api {
            base: format!("http://127.0.0.1:{}/api/v1", app.port),
            http: reqwest::Client::builder()
                .timeout(WAIT)
                .build()
                .expect("a client"),
        }
    }

    /// Sends `method path` with `token` (and `body`): (status, content type, JSON body).
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, String, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the API answers");
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let text = response.text().await.expect("a body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        (status, content_type, body)
    }

    async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        let (status, _, body) = self
            .call(reqwest::Method::GET, path, Some(token), None)
            .await;
        (status, body)
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        let (status, _, body) = self
            .call(reqwest::Method::POST, path, Some(token), Some(body))
            .await;
        (status, body)
    }
}

/// A server on a fresh SQLite file, and its store (to issue tokens as `frontdesk token add`
/// does).
async fn spawn() -> (TestApp, Arc<dyn Store>) {
    let store = sqlite_store();
    let app = spawn_app_on(store.clone(), sample_kb(), |_| {}).await;
    (app, store)
}

async fn token(store: &Arc<dyn Store>, name: &str, scopes: &[Scope]) -> String {
    let (record, token) = issue(name, scopes, now_ms()).unwrap();
    assert!(store.add_token(record).await.unwrap());
    token
}

#[actix_web::test]
async fn a_call_needs_a_live_token_with_the_scope_it_uses() {
    let (app, store) = spawn().await;
    let api = Api::new(&app);
    let reader = token(&store, "bi", &[Scope::Read]).await;

    let (status, content_type, problem) = api
        .call(reqwest::Method::GET, "/conversations", None, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(content_type, "application/problem+json");
    assert_eq!(problem["code"], "unauthorized");
    assert_eq!(problem["status"], 401);

    let forged = format!("fdk_{}", "0".repeat(64));
    let (status, problem) = api.get("/conversations", &forged).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthorized"))
    );

    let (status, page) = api.get("/conversations", &reader).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page["items"].is_array());

    // A read token cannot act, nor read what needs admin.
    let id = store
        .create(VisitorInfo::default(), None)
        .await
        .unwrap()
        .0
        .id;
    let (status, problem) = api
        .post(&format!("/conversations/{id}/claim"), &reader, json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert_eq!(problem["code"], "missing_scope");
    let (status, _) = api.get("/knowledge-base", &reader).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Revoked: refused at the next call.
    assert!(store.revoke_token("bi").await.unwrap());
    let (status, problem) = api.get("/conversations", &reader).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{problem}");

    // Unknown routes are problems too, and the document is public.
    let admin = token(&store, "ops", &[Scope::Admin]).await;
    let (status, problem) = api.get("/nothing-here", &admin).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("no_such_route"))
    );
    let (status, _, doc) = api
        .call(reqwest::Method::GET, "/openapi.json", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["paths"]["/api/v1/conversations/{id}/replies"]["post"].is_object());
}

#[actix_web::test]
async fn pages_walk_hundreds_of_conversations_once_each_in_order() {
    let (app, store) = spawn().await;
    let api = Api::new(&app);
    let reader = token(&store, "bi", &[Scope::Read]).await;
    let mut created = Vec::new();
    for _ in 0..230 {
        created.push(
            store
                .create(VisitorInfo::default(), None)
                .await
                .unwrap()
                .0
                .id
                .to_string(),
        );
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/conversations?limit=40&cursor={c}"),
            None => "/conversations?limit=40".to_owned(),
        };
        let (status, page) = api.get(&path, &reader).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        pages += 1;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 40);
        for item in items {
            assert!(item.get("events").is_none(), "lists leave events out");
            seen.push(item["id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
        assert!(pages < 20, "pages end");
    }
    assert_eq!(seen, created, "every conversation once, oldest first");
    assert_eq!(pages, 6);

    let (status, problem) = api.get("/conversations?cursor=nonsense", &reader).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_cursor"))
    );
    let (status, problem) = api.get("/conversations?limit=0", &reader).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    let (status, problem) = api.get("/conversations?colour=red", &reader).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_query"))
    );
    let (status, page) = api.get("/conversations?state=queued", &reader).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["items"].as_array().unwrap().len(), 0, "none waits");
}

#[actix_web::test]
async fn an_integration_takes_and_answers_a_chat_while_the_visitor_watches() {
    let (app, store) = spawn().await;
    let api = Api::new(&app);
    let crm = token(&store, "crm", &[Scope::Read, Scope::Write]).await;
    let rival = token(&store, "slack", &[Scope::Write]).await;
    let admin = token(&store, "dpo", &[Scope::Admin, Scope::Read]).await;
    let (status, _, _) = api
        .call(
            reqwest::Method::PUT,
            "/presence",
            Some(&crm),
            Some(json!({"status": "online"})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let mut v = app.visitor().await;
    v.say("how do I return an item?").await;
    v.bot_answer().await;
    v.send(json!({"type": "request_human"})).await;
    v.notice("queued").await;
    let id = v.conversation.clone();

    let (status, queue) = api.get("/queue", &crm).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(queue[0]["id"], id.as_str());
    assert_eq!(queue[0]["reason"], "visitor_asked");

    let (status, record) = api
        .post(&format!("/conversations/{id}/claim"), &crm, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{record}");
    assert_eq!(
        (record["state"].as_str(), record["agent"].as_str()),
        (Some("assigned"), Some("crm"))
    );
    let joined = v.notice("assigned").await;
    assert_eq!(joined["notice"]["agent"], "crm");
    // Exactly one claim wins; another integration may neither claim nor reply.
    let (status, problem) = api
        .post(&format!("/conversations/{id}/claim"), &rival, json!({}))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("not_yours"))
    );
    let (status, problem) = api
        .post(
            &format!("/conversations/{id}/replies"),
            &rival,
            json!({"text": "me too"}),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("not_yours"))
    );

    let reply = json!({"text": "Hi, I can help with that return.", "client_id": "crm-1"});
    let (status, _) = api
        .post(&format!("/conversations/{id}/replies"), &crm, reply.clone())
        .await;
    assert_eq!(status, StatusCode::OK);
    let said = v.until(|f| f["kind"] == "agent_message").await;
    assert_eq!(said["text"], "Hi, I can help with that return.");
    // A retry with the same client id is stored once.
    let (status, _) = api
        .post(&format!("/conversations/{id}/replies"), &crm, reply)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, problem) = api
        .post(
            &format!("/conversations/{id}/replies"),
            &crm,
            json!({"text": "   "}),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_body"))
    );
    let (status, _) = api
        .post(
            &format!("/conversations/{id}/notes"),
            &crm,
            json!({"text": "VIP customer"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, closed) = api
        .post(
            &format!("/conversations/{id}/close"),
            &crm,
            json!({"resolution": "solved"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{closed}");
    assert_eq!(
        (closed["state"].as_str(), closed["resolution"].as_str()),
        (Some("closed"), Some("solved"))
    );
    v.notice("closed").await;
    v.send(json!({"type": "rate", "score": 5})).await;
    v.until(|f| f["kind"] == "rating").await;

    // The record: every event, the bot's explanation, the note, the rating.
    let (status, record) = api.get(&format!("/conversations/{id}"), &crm).await;
    assert_eq!(status, StatusCode::OK);
    let events = record["events"].as_array().unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "agent_message").count(),
        1,
        "{kinds:?}"
    );
    assert!(kinds.contains(&"note"));
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "bot_answer" && e["explanation"].is_object())
    );
    assert_eq!(record["rating"]["score"], 5);

    // The access request: what the widget showed, no notes or explanations.
    let (_, shown) = app.transcript(&v.token).await;
    let key = v.visitor_key.clone();
    let (status, bundle) = api.get(&format!("/visitors/{key}"), &admin).await;
    assert_eq!(status, StatusCode::OK, "{bundle}");
    let exported = bundle["conversations"][0]["events"].as_array().unwrap();
    let texts = |events: &[Value]| -> Vec<String> {
        events
            .iter()
            .filter(|e| e["kind"] != "visitor_message" || e["text"] != "(end of transcript)")
            .map(|e| format!("{} {}", e["kind"], e["text"]))
            .collect()
    };
    let widget: Vec<Value> = shown
        .iter()
        .filter(|f| f["seq"].as_u64() <= Some(record["last_seq"].as_u64().unwrap()))
        .cloned()
        .collect();
    assert!(exported.len() >= 8, "{exported:?}");
    assert_eq!(texts(exported), texts(&widget));
    assert!(
        !exported
            .iter()
            .any(|e| e["kind"] == "note" || e.get("explanation").is_some())
    );

    // Erasure.
    let (status, _, erased) = api
        .call(
            reqwest::Method::DELETE,
            &format!("/visitors/{key}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        (status, erased["erased"].as_u64()),
        (StatusCode::OK, Some(1))
    );
    let (status, _) = api.get(&format!("/conversations/{id}"), &crm).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn client_ids_are_each_authors_own_and_a_reused_one_with_other_text_is_refused() {
    let (app, store) = spawn().await;
    let api = Api::new(&app);
    let crm = token(&store, "crm", &[Scope::Read, Scope::Write]).await;
    let slack = token(&store, "slack", &[Scope::Read, Scope::Write]).await;
    for t in [&crm, &slack] {
        let (status, _, _) = api
            .call(
                reqwest::Method::PUT,
                "/presence",
                Some(t),
                Some(json!({"status": "online"})),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    let mut v = app.waiting_visitor().await;
    let id = v.conversation.clone();
    let path = |what: &str| format!("/conversations/{id}/{what}");
    // Both integrations number their messages from 1: each one's "1" is its own.
    let (status, _) = api
        .post(
            &path("notes"),
            &slack,
            json!({"text": "seen by slack", "client_id": "1"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, record) = api.post(&path("claim"), &crm, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{record}");
    let (status, _) = api
        .post(
            &path("replies"),
            &crm,
            json!({"text": "Hi from crm", "client_id": "1"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let said = v.until(|f| f["kind"] == "agent_message").await;
    assert_eq!(
        said["text"], "Hi from crm",
        "stored and delivered, not taken for slack's note"
    );
    // The same id with other text is a clear refusal, never a silent success.
    let (status, problem) = api
        .post(
            &path("replies"),
            &crm,
            json!({"text": "Something else", "client_id": "1"}),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("client_id_reused")),
        "{problem}"
    );
    // A true retry (same id, same text) is still stored once and answered 200.
    let (status, _) = api
        .post(
            &path("replies"),
            &crm,
            json!({"text": "Hi from crm", "client_id": "1"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, record) = api.get(&format!("/conversations/{id}"), &crm).await;
    let texts: Vec<&str> = record["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "agent_message" || e["kind"] == "note")
        .filter_map(|e| e["text"].as_str())
        .collect();
    assert_eq!(texts, vec!["seen by slack", "Hi from crm"]);
}

#[actix_web::test]
async fn wrong_tokens_from_one_address_are_limited_and_a_valid_token_is_not() {
    let store = sqlite_store();
    let app = spawn_app_on(store.clone(), sample_kb(), |s| s.trust_proxy = true).await;
    let good = token(&store, "crm", &[Scope::Read]).await;
    let http = reqwest::Client::builder().timeout(WAIT).build().unwrap();
    let base = format!("http://127.0.0.1:{}/api/v1", app.port);
    let call = |from: &'static str, token: String| {
        http.get(format!("{base}/queue"))
            .header("X-Forwarded-For", from)
            .header("Authorization", format!("bearer {token}"))
            .send()
    };
    let mut statuses = Vec::new();
    for n in 0..40 {
        let forged = format!("fdk_{n:064x}");
        statuses.push(call("203.0.113.50", forged).await.unwrap().status());
    }
    assert_eq!(statuses[0], StatusCode::UNAUTHORIZED);
    assert_eq!(
        statuses.last(),
        Some(&StatusCode::TOO_MANY_REQUESTS),
        "a guessing address is slowed down: {statuses:?}"
    );
    // A valid token, from that address too, and the scheme in lower case (RFC 7235).
    let ok = call("203.0.113.50", good.clone()).await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let elsewhere = call("198.51.100.50", "fdk_nope".into()).await.unwrap();
    assert_eq!(
        elsewhere.status(),
        StatusCode::UNAUTHORIZED,
        "other addresses are not"
    );
}
