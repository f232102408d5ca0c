//! Editors and managers: hot reload on an open conversation, a broken edit kept out, `/admin`
//! and its APIs closed to agents and anonymous users, KPIs from a scripted set of conversations
//! on both stores, redaction before anyone sees a message, and webhooks that are signed, retried
//! and never hold up a chat.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use frontdesk::knowledge_base;
use frontdesk::store::MemoryStore;
use serde_json::{Value, json};

use crate::app::{
    TestApp, Visitor, WAIT, fresh_prefix, kb_copy, redis_store, redis_url, sample_kb, spawn_app_on,
    spawn_app_with,
};

/// Polls the knowledge-base status until `done` holds (every wait has a timeout).
pub async fn kb_status_until(app: &TestApp, cookie: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (status, body) = app.get_as("/api/kb", Some(cookie)).await;
        assert_eq!(status, 200, "{body}");
        let kb: Value = serde_json::from_str(&body).unwrap();
        if done(&kb) {
            return kb;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the knowledge base did not reach the expected state: {kb}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn answer_text(answer: &Value) -> String {
    answer["text"].as_str().unwrap_or_default().to_owned()
}

#[actix_web::test]
async fn an_edited_faq_is_answered_on_the_open_socket_and_a_broken_edit_keeps_the_last_good() {
    let dir = kb_copy();
    let kb = knowledge_base::load(dir.path()).unwrap().kb;
    let path = dir.path().to_path_buf();
    let app = spawn_app_on(Arc::new(MemoryStore::new()), kb, |s| {
        s.knowledge_base = path;
        s.watch_knowledge_base = true;
    })
    .await;
    let admin = app.admin_login().await;
    let before = kb_status_until(&app, &admin, |_| true).await;

    let mut v = app.visitor().await;
    v.say("what is your return policy").await;
    let old = v.bot_answer().await;
    assert!(!answer_text(&old).contains("sixty"), "{old}");

    // An editor changes the answer and saves.
    let faq = dir.path().join("faq/returns/return-policy.md");
    let source = std::fs::read_to_string(&faq).unwrap();
    let front = &source[..source.rfind("+++").unwrap() + 3];
    std::fs::write(&faq, format!("{front}\nReturns are free for sixty days.\n")).unwrap();
    let after = kb_status_until(&app, &admin, |kb| {
        kb["content_hash"] != before["content_hash"]
    })
    .await;
    assert_eq!(after["errors"], json!([]));
    v.say("return policy for unused items").await;
    let new = v.bot_answer().await;
    assert_eq!(
        answer_text(&new),
        "Returns are free for sixty days.",
        "{new}"
    );

    // A typo in a field: rejected, reported with file and field, the last good one serves.
    std::fs::write(&faq, source.replacen("title =", "titel =", 1)).unwrap();
    let broken = kb_status_until(&app, &admin, |kb| {
        !kb["errors"].as_array().unwrap().is_empty()
    })
    .await;
    let errors = broken["errors"].to_string();
    assert!(errors.contains("faq/returns/return-policy.md"), "{errors}");
    assert!(errors.contains("titel"), "{errors}");
    assert_eq!(
        broken["content_hash"], after["content_hash"],
        "still serving"
    );
    let (status, ready) = app.get("/readyz").await;
    assert_eq!(
        status, 200,
        "a node serving its last good knowledge base is ready"
    );
    assert!(
        ready.contains("rejected") && ready.contains("return-policy.md"),
        "{ready}"
    );
    v.say("how long is the return period in your policy").await;
    let kept = v.bot_answer().await;
    assert_eq!(
        answer_text(&kept),
        "Returns are free for sixty days.",
        "{kept}"
    );

    // The API reload says the same; once fixed, it is good again.
    let (status, _, body) = app.post("/api/kb/reload", &json!({}), Some(&admin)).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("titel"), "{body}");
    std::fs::write(&faq, &source).unwrap();
    let (status, _, body) = app.post("/api/kb/reload", &json!({}), Some(&admin)).await;
    assert_eq!(status, 200, "{body}");
    let fixed: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(fixed["status"]["errors"], json!([]));
    let (_, metrics) = app.get("/metrics").await;
    assert!(
        metrics.contains("frontdesk_kb_reloads_total{outcome=\"rejected\"}"),
        "{metrics}"
    );
}

#[actix_web::test]
async fn admin_pages_and_apis_refuse_agents_and_anonymous_users() {
    let app = spawn_app_with(|_| {}).await;
    let (status, _) = app.get("/admin").await;
    assert_eq!(status, 303, "anonymous users go to the sign-in page");
    for path in ["/api/admin/report", "/api/kb", "/api/admin/me"] {
        assert_eq!(app.get(path).await.0, 401, "{path}");
    }
    let (status, _, _) = app.post("/api/kb/reload", &json!({}), None).await;
    assert_eq!(status, 401);

    // An agent's session, even under the admin cookie's name, opens nothing here.
    let agent = app.login("ann").await;
    let secret = agent.split_once('=').unwrap().1;
    for cookie in [agent.clone(), format!("frontdesk_admin={secret}")] {
        assert_eq!(app.get_as("/api/admin/report", Some(&cookie)).await.0, 401);
        assert_eq!(app.get_as("/admin", Some(&cookie)).await.0, 303);
        let (status, _, _) = app
            .post("/api/admin/forget", &json!({"visitor": "x"}), Some(&cookie))
            .await;
        assert_eq!(status, 401);
    }
    // Agents' credentials are not admin credentials, and the other way round.
    for (path, id) in [("/api/admin/login", "ann"), ("/api/agent/login", "max")] {
        let login = json!({"id": id, "password": format!("{id}-password")});
        assert_eq!(app.post(path, &login, None).await.0, 401, "{path} {id}");
    }

    let admin = app.admin_login().await;
    let (status, page) = app.get_as("/admin", Some(&admin)).await;
    assert_eq!(status, 200);
    assert!(page.contains("Unanswered"), "the admin page");
    let secret = admin.split_once('=').unwrap().1;
    for cookie in [admin.clone(), format!("frontdesk_agent={secret}")] {
        assert_eq!(app.get_as("/api/agent/me", Some(&cookie)).await.0, 401);
    }
}

#[actix_web::test]
async fn staff_routes_refuse_in_the_same_shape_as_the_api() {
    let app = spawn_app_with(|_| {}).await;
    let admin = app.admin_login().await;
    let wrong = json!({"id": "max", "password": "not-it"});
    let (status, _, login) = app.post("/api/admin/login", &wrong, None).await;
    let (anonymous, report) = app.get("/api/admin/report").await;
    let (bad, period) = app.get_as("/api/admin/report?days=0", Some(&admin)).await;
    let (missing, conversation) = app
        .get_as("/api/admin/conversations/nope", Some(&admin))
        .await;
    let (_, api) = app.get("/api/v1/conversations").await;
    for (status, body, code) in [
        (status, login, "bad_credentials"),
        (anonymous, report, "unauthorized"),
        (bad, period, "bad_period"),
        (missing, conversation, "not_found"),
        (401, api, "unauthorized"),
    ] {
        let problem: Value = serde_json::from_str(&body).expect("a JSON refusal");
        assert_eq!(problem["status"], status, "{body}");
        assert_eq!(problem["code"], code, "{body}");
        assert_eq!(
            problem["type"],
            format!("urn:frontdesk:problem:{code}"),
            "{body}"
        );
        assert!(
            problem["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{body}"
        );
        assert!(problem["title"].is_string(), "{body}");
    }
}

/// Visitor `v` answers "Was this helpful?" on `answer` and sees it stored.
async fn feedback(v: &mut Visitor, answer: &Value, helpful: bool) {
    v.send(json!({"type": "feedback", "seq": answer["seq"], "helpful": helpful}))
        .await;
    v.until(|f| f["kind"] == "feedback").await;
}

/// A1 answered + helpful, then the same visitor is back (A2, answered): A1 is reopened. B asks
/// for a person, Ann replies and closes, B rates 4. C gets no answer.
async fn scripted_kpis(app: &TestApp) {
    let mut ann = app.agent("ann").await;

    let mut a1 = app.visitor().await;
    let key = a1.visitor_key.clone();
    assert_eq!(key.len(), 32, "welcome hands out a visitor key");
    a1.say("what is your return policy").await;
    let answer = a1.bot_answer().await;
    assert_eq!(answer["decision"], "answer", "{answer}");
    feedback(&mut a1, &answer, true).await;

    // Conversations are ordered by when they started, in milliseconds; the in-memory store is
    // fast enough to run all of A1 and start A2 within one.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let mut a2 = Visitor::connect(app, None).await.unwrap();
    a2.hello(json!({"type": "hello", "visitor_key": key})).await;
    a2.say("how do I reset my password").await;
    let answer = a2.bot_answer().await;
    assert_eq!(answer["decision"], "answer", "{answer}");

    let mut b = app.waiting_visitor().await;
    ann.act("claim", &b.conversation, json!({})).await;
    b.notice("assigned").await;
    ann.act(
        "reply",
        &b.conversation,
        json!({"text": "Hi, Ann here", "client_id": "r1"}),
    )
    .await;
    b.until(|f| f["kind"] == "agent_message").await;
    ann.act("close", &b.conversation, json!({"resolution": "solved"}))
        .await;
    b.notice("closed").await;
    b.send(json!({"type": "rate", "score": 4})).await;
    b.until(|f| f["kind"] == "rating").await;

    let mut c = app.visitor().await;
    c.say("purple elephant trombone").await;
    let answer = c.bot_answer().await;
    assert_eq!(answer["decision"], "fallback", "{answer}");

    let admin = app.admin_login().await;
    let report = app.report(&admin).await;
    let k = &report["report"]["kpis"];
    assert_eq!(k["conversations"], 4, "{k}");
    assert_eq!(
        k["outcomes"],
        json!({"bot_resolved": 1, "handed_off": 1, "offline_message": 0, "not_resolved": 2}),
        "A2 resolved; B handed off; A1 reopened and C unanswered are not resolved"
    );
    assert_eq!(k["bot_resolution"], 0.25);
    assert_eq!(k["handoff_rate"], 0.25);
    assert_eq!(k["handoffs_by_reason"], json!({"visitor_asked": 1}));
    assert_eq!(k["first_contact_resolution"], 0.5, "A2 and B");
    assert_eq!(
        k["csat"],
        json!({"average": 4.0, "count": 1, "distribution": [0, 0, 0, 1, 0], "satisfied": 1.0})
    );
    for timed in ["first_response_time", "average_wait", "average_handle_time"] {
        assert_eq!(k[timed]["count"], 1, "{timed}: {k}");
        let seconds = k[timed]["seconds"].as_f64().unwrap();
        assert!((0.0..60.0).contains(&seconds), "{timed}: {seconds}");
    }
    let unanswered = &report["report"]["unanswered"];
    assert_eq!(
        unanswered[0]["question"], "purple elephant trombone",
        "{unanswered}"
    );
    assert_eq!(unanswered[0]["kinds"], json!({"no_answer": 1}));
    let file = unanswered[0]["closest_file"]
        .as_str()
        .expect("the closest FAQ's file");
    assert!(
        file.starts_with("faq/")
            && file.ends_with(&format!(
                "{}.md",
                unanswered[0]["closest_faq"].as_str().unwrap()
            )),
        "{file}"
    );
    let feedback = report["report"]["faq_feedback"].as_array().unwrap();
    let policy = feedback
        .iter()
        .find(|f| f["faq"] == "return-policy")
        .expect("the return policy was answered");
    assert_eq!(policy["helpful"], 1);
    assert_eq!(policy["not_helpful"], 0);
}

#[actix_web::test]
async fn scripted_conversations_give_the_hand_computed_kpis_in_memory() {
    let app = spawn_app_with(|_| {}).await;
    scripted_kpis(&app).await;
}

#[actix_web::test]
async fn scripted_conversations_give_the_hand_computed_kpis_on_redis() {
    let store = redis_store(&redis_url(), &fresh_prefix()).await;
    let app = spawn_app_on(store, sample_kb(), |_| {}).await;
    scripted_kpis(&app).await;
}

#[actix_web::test]
async fn personal_data_is_redacted_before_the_visitor_echo_or_the_agent_sees_it() {
    use frontdesk::privacy::Redact;
    let app = spawn_app_with(|s| s.redact = vec![Redact::Card, Redact::Email, Redact::Phone]).await;
    let mut ann = app.agent("ann").await;
    let mut v = app.waiting_visitor().await;
    ann.act("claim", &v.conversation, json!({})).await;
    ann.act("open", &v.conversation, json!({})).await;
    v.say("card 4111 1111 1111 1111, ref 4111 1111 1111 1112, mail ana@shop.example, order 10482")
        .await;
    let expected = "card [card], ref 4111 1111 1111 1112, mail [email], order 10482";
    let echo = v.until(|f| f["kind"] == "visitor_message").await;
    assert_eq!(echo["text"], expected);
    let seen = ann
        .event(&v.conversation, |e| e["kind"] == "visitor_message")
        .await;
    assert_eq!(seen["text"], expected, "{seen}");
}

/// What the webhook receiver saw: (headers, body) per request.
type Seen = Arc<Mutex<Vec<(Vec<(String, String)>, String)>>>;

#[actix_web::test]
async fn webhooks_are_signed_retried_and_never_hold_up_a_chat() {
    use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
    use frontdesk::webhooks::{HookEvent, WebhookConfig, signature};

    // A real receiver: every request is held until the test lets them go; then the first one
    // is refused (500) and every later one accepted.
    let seen: Seen = Arc::default();
    let (release, released) = tokio::sync::watch::channel(false);
    let seen_in = seen.clone();
    let receiver = HttpServer::new(move || {
        let (seen, released) = (seen_in.clone(), released.clone());
        App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
            let (seen, mut released) = (seen.clone(), released.clone());
            async move {
                let headers = req
                    .headers()
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
                    .collect();
                let first = {
                    let mut seen = seen.lock().unwrap();
                    seen.push((headers, String::from_utf8_lossy(&body).into_owned()));
                    seen.len() == 1
                };
                let _ = released.wait_for(|go| *go).await;
                if first {
                    return HttpResponse::InternalServerError().finish();
                }
                HttpResponse::Ok().finish()
            }
        }))
    })
    .workers(2)
    .bind(("127.0.0.1", 0))
    .unwrap();
    let port = receiver.addrs()[0].port();
    actix_web::rt::spawn(receiver.run());

    let secret = "hook-secret-0123456789";
    let app = spawn_app_with(|s| {
        s.webhooks = vec![WebhookConfig {
            url: format!("http://127.0.0.1:{port}/hook"),
            secret: secret.into(),
            events: vec![HookEvent::HandedOff, HookEvent::Assigned],
            max_attempts: 3,
            backoff_ms: 20,
        }]
    })
    .await;
    let mut ann = app.agent("ann").await;
    let mut v = app.waiting_visitor().await;
    // Every delivery is stuck at the receiver; the chat goes on regardless.
    ann.act("claim", &v.conversation, json!({})).await;
    v.notice("assigned").await;
    release.send_replace(true);

    let header = |h: &[(String, String)], name: &str| {
        h.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    // The refused first delivery comes again with the same id; both events arrive.
    let deadline = tokio::time::Instant::now() + WAIT;
    let requests = loop {
        let now = seen.lock().unwrap().clone();
        let first_id = now.first().map(|(h, _)| header(h, "x-frontdesk-delivery"));
        let retried = now
            .iter()
            .filter(|(h, _)| Some(header(h, "x-frontdesk-delivery")) == first_id)
            .count()
            >= 2;
        let both = ["\"handed_off\"", "\"assigned\""]
            .iter()
            .all(|e| now.iter().any(|(_, b)| b.contains(e)));
        if retried && both {
            break now;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "deliveries: {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let handoffs: Vec<_> = requests
        .iter()
        .filter(|(_, b)| b.contains("\"handed_off\""))
        .collect();
    for (headers, body) in &requests {
        let ts: u64 = header(headers, "x-frontdesk-timestamp").parse().unwrap();
        assert_eq!(
            header(headers, "x-frontdesk-signature"),
            signature(secret, ts, body.as_bytes()),
            "signed: {body}"
        );
        let payload: Value = serde_json::from_str(body).unwrap();
        // The conversation as the API represents it, with its events.
        assert_eq!(payload["conversation"]["id"], v.conversation.as_str());
        assert!(
            payload["conversation"]["events"]
                .as_array()
                .is_some_and(|e| !e.is_empty()),
            "{payload}"
        );
    }
    let first: Value = serde_json::from_str(&handoffs[0].1).unwrap();
    assert_eq!(first["data"]["reason"], "visitor_asked");
    assert!(
        !requests.iter().any(|(_, b)| b.contains("\"closed\"")),
        "only the events asked for"
    );
    let (_, metrics) = app.get("/metrics").await;
    assert!(
        metrics.contains("frontdesk_webhook_deliveries_total{outcome=\"delivered\"}"),
        "{metrics}"
    );
}

#[actix_web::test]
async fn a_shutdown_delivers_the_webhooks_still_queued() {
    use actix_web::{App, HttpResponse, HttpServer, web};
    use frontdesk::webhooks::{HookEvent, WebhookConfig};

    // A receiver that holds every request until released: 16 deliveries fill every slot, the
    // rest wait in the queue when the server is told to stop.
    let bodies: Arc<Mutex<Vec<String>>> = Arc::default();
    let (release, released) = tokio::sync::watch::channel(false);
    let bodies_in = bodies.clone();
    let receiver = HttpServer::new(move || {
        let (bodies, released) = (bodies_in.clone(), released.clone());
        App::new().default_service(web::to(move |body: web::Bytes| {
            let (bodies, mut released) = (bodies.clone(), released.clone());
            async move {
                let _ = released.wait_for(|go| *go).await;
                bodies
                    .lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&body).into_owned());
                HttpResponse::Ok().finish()
            }
        }))
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .unwrap();
    let port = receiver.addrs()[0].port();
    actix_web::rt::spawn(receiver.run());

    let app = spawn_app_with(|s| {
        s.webhooks = vec![WebhookConfig {
            url: format!("http://127.0.0.1:{port}/hook"),
            secret: "hook-secret-0123456789".into(),
            events: vec![HookEvent::HandedOff],
            max_attempts: 1,
            backoff_ms: 20,
        }]
    })
    .await;
    let _ann = app.agent("ann").await;
    let handoffs = 24;
    for _ in 0..handoffs {
        app.waiting_visitor().await;
    }
    let stopping = actix_web::rt::spawn({
        let shutdown = app.shutdown_handle();
        async move { shutdown.shutdown().await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    release.send_replace(true);
    tokio::time::timeout(WAIT * 2, stopping)
        .await
        .expect("the shutdown ends in time")
        .unwrap();
    let delivered = bodies.lock().unwrap().len();
    assert_eq!(
        delivered, handoffs,
        "every queued handoff event is delivered"
    );
}

#[actix_web::test]
async fn an_erasure_request_by_e_mail_finds_that_visitors_conversations_shows_them_and_erases_only_them()
 {
    let app = crate::app::spawn_app().await;
    // Ada leaves an offline message with her e-mail, then comes back in a new conversation.
    let mut ada = app.visitor().await;
    ada.send(json!({"type": "leave_message", "email": "Ada@Example.com", "text": "call me about order 77"}))
        .await;
    ada.until(|f| f["kind"] == "offline_message").await;
    let mut again = crate::app::Visitor::connect(&app, None).await.unwrap();
    again
        .hello(json!({"type": "hello", "visitor_key": ada.visitor_key}))
        .await;
    again.say("is my order on its way").await;
    again.bot_answer().await;
    // Bob gave his e-mail in the pre-chat fields.
    let mut bob = crate::app::Visitor::connect(&app, None).await.unwrap();
    bob.hello(json!({"type": "hello", "email": "bob@example.com"}))
        .await;
    bob.say("hello").await;
    bob.bot_answer().await;

    let admin = app.admin_login().await;
    let find = |visitor: &str, preview: bool| json!({"visitor": visitor, "preview": preview});
    let (status, _, body) = app
        .post(
            "/api/admin/forget",
            &find("ada@example.com", true),
            Some(&admin),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let found: Value = serde_json::from_str(&body).unwrap();
    let ids: Vec<&str> = found["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["conversation"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [ada.conversation.as_str(), again.conversation.as_str()],
        "{found}"
    );
    assert_eq!(found["conversations"][0]["email"], "Ada@Example.com");
    assert_eq!(
        found["conversations"][1]["first_message"],
        "is my order on its way"
    );

    let (status, _, body) = app
        .post(
            "/api/admin/forget",
            &find("ada@example.com", false),
            Some(&admin),
        )
        .await;
    assert_eq!((status, body.as_str()), (200, r#"{"erased":2}"#));
    let (_, _, body) = app
        .post(
            "/api/admin/forget",
            &find("ADA@example.com", true),
            Some(&admin),
        )
        .await;
    assert_eq!(body, r#"{"conversations":[]}"#, "gone");
    let (_, _, body) = app
        .post(
            "/api/admin/forget",
            &find("bob@example.com", true),
            Some(&admin),
        )
        .await;
    let bob_found: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        bob_found["conversations"].as_array().unwrap().len(),
        1,
        "Bob's stays"
    );

    // Something that names nobody says what it takes.
    let (status, _, body) = app
        .post("/api/admin/forget", &find("ada", true), Some(&admin))
        .await;
    assert_eq!(status, 400);
    assert!(body.contains("e-mail"), "{body}");
}
