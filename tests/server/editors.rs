//! The editors' loop from outside: a question the bot missed, tried in /admin, turned into a
//! phrasing and answered by the bot on the same open socket; a file changed on disk since it was
//! read refused; `kb_writes = "off"` offering a patch; a dismissed question gone from the list;
//! the same operations in the API with the admin scope; and a fix on one node reaching another
//! that shares the folder through Redis.

use std::path::Path;
use std::sync::Arc;

use frontdesk::config::WriteMode;
use frontdesk::conversation::now_ms;
use frontdesk::knowledge_base;
use frontdesk::ports::Store;
use frontdesk::store::MemoryStore;
use frontdesk::tokens::{Scope, issue};
use serde_json::{Value, json};

use crate::admin::kb_status_until;
use crate::app::{TestApp, fresh_prefix, http, kb_copy, redis_store, redis_url, spawn_app_on};

/// A question the sample knowledge base does not answer ("receipt" is in no phrasing).
const MISSED: &str = "i need a copy of my receipt";

/// A server on `dir` (a copy of the sample knowledge base) and its store.
async fn spawn_on(
    dir: &Path,
    configure: impl FnOnce(&mut frontdesk::config::Settings),
) -> (TestApp, Arc<dyn Store>) {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let kb = knowledge_base::load(dir).unwrap().kb;
    let path = dir.to_path_buf();
    let app = spawn_app_on(store.clone(), kb, |s| {
        s.knowledge_base = path;
        configure(s);
    })
    .await;
    (app, store)
}

async fn get_json(app: &TestApp, path: &str, cookie: &str) -> Value {
    let (status, body) = app.get_as(path, Some(cookie)).await;
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).expect("JSON")
}

async fn post_json(app: &TestApp, path: &str, body: &Value, cookie: &str) -> (u16, Value) {
    let (status, _, text) = app.post(path, body, Some(cookie)).await;
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// The English FAQ `id` as the picker lists it.
async fn listed(app: &TestApp, cookie: &str, id: &str) -> Value {
    let list = get_json(app, "/api/admin/kb/faqs", cookie).await;
    list["faqs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id && f["language"] == "en")
        .cloned()
        .unwrap_or_else(|| panic!("{id} is listed: {list}"))
}

#[actix_web::test]
async fn a_missed_question_made_a_phrasing_in_admin_is_answered_by_the_bot_right_away() {
    let dir = kb_copy();
    let (app, _) = spawn_on(dir.path(), |_| {}).await;
    let admin = app.admin_login().await;

    // A visitor asks; the bot does not know.
    let mut v = app.visitor().await;
    v.say(MISSED).await;
    let missed = v.bot_answer().await;
    assert_eq!(missed["decision"], "fallback", "{missed}");

    // The editor sees it in the unanswered list and tries it.
    let report = app.report(&admin).await;
    let group = report["report"]["unanswered"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["question"] == MISSED)
        .cloned()
        .unwrap_or_else(|| panic!("listed as unanswered: {report}"));
    assert_eq!(group["now"], "fallback");
    let (status, tried) =
        post_json(&app, "/api/admin/kb/try", &json!({"text": MISSED}), &admin).await;
    assert_eq!(status, 200, "{tried}");
    assert_eq!(tried["decision"], "fallback");
    assert!(
        tried["summary"].as_str().unwrap().contains("faq "),
        "{tried}"
    );
    assert!(
        tried["explanation"]["candidates"].as_array().unwrap().len() >= 2,
        "{tried}"
    );

    // One step: the question becomes a phrasing of `invoice`.
    let invoice = listed(&app, &admin, "invoice").await;
    assert_eq!(invoice["file"], "faq/payments/invoice.md");
    let (status, applied) = post_json(
        &app,
        "/api/admin/kb/fixes",
        &json!({"kind": "phrasing", "question": MISSED, "faq": "invoice", "version": invoice["version"]}),
        &admin,
    )
    .await;
    assert_eq!(status, 200, "{applied}");
    assert_eq!(applied["mode"], "files");
    assert_eq!(applied["reload"]["ok"], true, "{applied}");
    assert_eq!(applied["verdict"]["fixed"], true, "{applied}");
    assert_eq!(applied["verdict"]["question"]["outcome"], "invoice");
    assert!(
        applied["verdict"]["faq_test"]["phrasings"]
            .as_u64()
            .unwrap()
            >= 5,
        "{applied}"
    );
    let diff = applied["files"][0]["diff"].as_str().unwrap();
    assert!(
        diff.starts_with("diff --git a/faq/payments/invoice.md b/faq/payments/invoice.md\n")
            && diff.contains(&format!("\n+  \"{MISSED}\",\n")),
        "a readable diff: {diff}"
    );
    let on_disk = std::fs::read_to_string(dir.path().join("faq/payments/invoice.md")).unwrap();
    assert!(
        on_disk.contains(&format!("  \"{MISSED}\",\n]")),
        "{on_disk}"
    );
    let cases = std::fs::read_to_string(dir.path().join("tests/fixes.csv")).unwrap();
    assert!(cases.ends_with(&format!("{MISSED},invoice\n")), "{cases}");

    // The visitor, on the same socket, asks again: answered.
    v.say(MISSED).await;
    let answered = v.bot_answer().await;
    assert_eq!(answered["decision"], "answer", "{answered}");
    assert_eq!(answered["faq"], "invoice", "{answered}");

    // The list says it is answered now; the record says who did it.
    let report = app.report(&admin).await;
    let group = report["report"]["unanswered"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["question"] == MISSED)
        .cloned()
        .unwrap();
    assert_eq!(group["now"], "invoice");
    let changes = get_json(&app, "/api/admin/kb/changes", &admin).await;
    assert_eq!(changes[0]["who"], "admin:max");
    assert_eq!(changes[0]["action"], "phrasing");
    assert_eq!(changes[0]["faq"], "invoice");
    assert_eq!(changes[0]["files"][0]["diff"], diff);
}

#[actix_web::test]
async fn a_fix_to_a_file_changed_since_it_was_read_is_refused_and_theirs_stands() {
    let dir = kb_copy();
    let (app, _) = spawn_on(dir.path(), |_| {}).await;
    let admin = app.admin_login().await;
    let invoice = listed(&app, &admin, "invoice").await;
    // Another editor saves the file meanwhile.
    let file = dir.path().join("faq/payments/invoice.md");
    let theirs = std::fs::read_to_string(&file)
        .unwrap()
        .replace("+++\n", "+++\n# checked by Kim\n");
    std::fs::write(&file, &theirs).unwrap();

    let fix = json!({"kind": "phrasing", "question": MISSED, "faq": "invoice", "version": invoice["version"]});
    let (status, refused) = post_json(&app, "/api/admin/kb/fixes", &fix, &admin).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["code"], "changed_on_disk");
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("faq/payments/invoice.md changed on disk"),
        "{refused}"
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        theirs,
        "never overwritten"
    );

    // Opened again, the fix goes through on top of their change.
    let again = listed(&app, &admin, "invoice").await;
    let fix = json!({"kind": "phrasing", "question": MISSED, "faq": "invoice", "version": again["version"]});
    let (status, body) = post_json(&app, "/api/admin/kb/fixes", &fix, &admin).await;
    assert_eq!(status, 200, "{body}");
    let now = std::fs::read_to_string(&file).unwrap();
    assert!(
        now.contains("# checked by Kim") && now.contains(MISSED),
        "{now}"
    );

    // Unknown FAQs, bad ids, empty questions and strangers are refused with their codes.
    for (fix, code) in [
        (
            json!({"kind": "phrasing", "question": "x y", "faq": "no-such", "version": "none"}),
            "no_such_faq",
        ),
        (
            json!({"kind": "phrasing", "question": "  ", "faq": "invoice", "version": "none"}),
            "invalid_fix",
        ),
        (
            json!({"kind": "new_faq", "question": "q", "id": "Bad Id", "title": "t", "answer": "a", "category": "x"}),
            "invalid_fix",
        ),
        (
            json!({"kind": "new_faq", "question": "q", "id": "invoice", "title": "t", "answer": "a", "category": "payments"}),
            "exists",
        ),
    ] {
        let (status, body) = post_json(&app, "/api/admin/kb/fixes", &fix, &admin).await;
        assert_eq!(body["code"], code, "{fix}: {status} {body}");
    }
    let (status, _, _) = app.post("/api/admin/kb/fixes", &fix, None).await;
    assert_eq!(status, 401);
    let agent = app.login("ann").await;
    let (status, _, _) = app
        .post("/api/admin/kb/try", &json!({"text": "hi"}), Some(&agent))
        .await;
    assert_eq!(status, 401, "agents are not editors");
}

#[actix_web::test]
async fn with_kb_writes_off_a_fix_is_a_patch_and_nothing_is_written() {
    let dir = kb_copy();
    let (app, store) = spawn_on(dir.path(), |s| s.kb_writes = WriteMode::Off).await;
    let admin = app.admin_login().await;
    let list = get_json(&app, "/api/admin/kb/faqs", &admin).await;
    assert_eq!(list["writes"], "off");
    let invoice = listed(&app, &admin, "invoice").await;
    let before = std::fs::read_to_string(dir.path().join("faq/payments/invoice.md")).unwrap();
    let (status, applied) = post_json(
        &app,
        "/api/admin/kb/fixes",
        &json!({"kind": "phrasing", "question": MISSED, "faq": "invoice", "version": invoice["version"]}),
        &admin,
    )
    .await;
    assert_eq!(status, 200, "{applied}");
    assert_eq!(applied["mode"], "off");
    assert_eq!(applied["reload"], Value::Null);
    let patch = applied["patch"].as_str().unwrap();
    assert!(
        patch.contains("faq/payments/invoice.md") && patch.contains(&format!("+  \"{MISSED}\",")),
        "{patch}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("faq/payments/invoice.md")).unwrap(),
        before
    );
    assert!(!dir.path().join("tests/fixes.csv").exists());
    assert!(
        store.edits(10).await.unwrap().is_empty(),
        "nothing changed, nothing logged"
    );
}

#[actix_web::test]
async fn a_dismissed_question_leaves_the_unanswered_list_and_the_suite_runs_from_the_page() {
    let dir = kb_copy();
    let (app, _) = spawn_on(dir.path(), |_| {}).await;
    let admin = app.admin_login().await;
    let mut v = app.visitor().await;
    v.say("qwertyuiop zxcvbnm").await;
    v.bot_answer().await;
    let listed_before = app.report(&admin).await["report"]["unanswered"].to_string();
    assert!(listed_before.contains("qwertyuiop"), "{listed_before}");
    let (status, body) = post_json(
        &app,
        "/api/admin/kb/fixes",
        &json!({"kind": "dismiss", "question": "Qwertyuiop  zxcvbnm"}),
        &admin,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let listed_after = app.report(&admin).await["report"]["unanswered"].to_string();
    assert!(!listed_after.contains("qwertyuiop"), "{listed_after}");

    // The whole editors' suite, as `frontdesk kb test` runs it.
    let (status, suite) = post_json(&app, "/api/admin/kb/test", &json!({}), &admin).await;
    assert_eq!(status, 200, "{suite}");
    assert_eq!(suite["phrasings"][0]["language"], "en");
    assert!(
        suite["phrasings"][0]["phrasings"].as_u64().unwrap() > 200,
        "{suite}"
    );
    assert!(suite["cases"]["cases"].as_u64().unwrap() > 100);
    assert_eq!(
        suite["passed"], true,
        "the sample knowledge base passes its suite"
    );

    // A pending change that would break a case: the preview says which, nothing is written.
    let track = listed(&app, &admin, "track-order").await;
    let (status, preview) = post_json(
        &app,
        "/api/admin/kb/preview",
        &json!({"kind": "phrasing", "question": "how do i return this", "faq": "track-order", "version": track["version"]}),
        &admin,
    )
    .await;
    assert_eq!(status, 200, "{preview}");
    let breaks = preview["breaks"].to_string();
    assert!(breaks.contains("how do i return this"), "{breaks}");
    let on_disk = std::fs::read_to_string(dir.path().join("faq/orders/track-order.md")).unwrap();
    assert!(!on_disk.contains("how do i return this"));
}

#[actix_web::test]
async fn the_api_offers_the_editors_loop_to_admin_tokens_only() {
    let dir = kb_copy();
    let (app, store) = spawn_on(dir.path(), |_| {}).await;
    let (admin_record, admin_token) = issue("editor-bot", &[Scope::Admin], now_ms()).unwrap();
    let (reader_record, reader_token) = issue("bi", &[Scope::Read], now_ms()).unwrap();
    store.add_token(admin_record).await.unwrap();
    store.add_token(reader_record).await.unwrap();
    let base = format!("http://127.0.0.1:{}/api/v1/knowledge-base", app.port);
    let call = |method: reqwest::Method, path: &str, token: &str, body: Option<Value>| {
        let mut request = http()
            .request(method, format!("{base}{path}"))
            .bearer_auth(token);
        if let Some(b) = body {
            request = request.json(&b);
        }
        async move {
            let response = request.send().await.expect("an answer");
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let (status, denied) = call(
        reqwest::Method::POST,
        "/try",
        &reader_token,
        Some(json!({"text": MISSED})),
    )
    .await;
    assert_eq!(
        (status, denied["code"].as_str()),
        (403, Some("missing_scope"))
    );

    let (status, tried) = call(
        reqwest::Method::POST,
        "/try",
        &admin_token,
        Some(json!({"text": MISSED})),
    )
    .await;
    assert_eq!(status, 200, "{tried}");
    assert_eq!(tried["decision"], "fallback");
    let (_, list) = call(reqwest::Method::GET, "/faqs", &admin_token, None).await;
    let invoice = list["faqs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "invoice" && f["language"] == "en")
        .unwrap()
        .clone();
    let (status, applied) = call(
        reqwest::Method::POST,
        "/fixes",
        &admin_token,
        Some(json!({"kind": "phrasing", "question": MISSED, "faq": "invoice", "version": invoice["version"]})),
    )
    .await;
    assert_eq!(status, 200, "{applied}");
    assert_eq!(applied["verdict"]["fixed"], true);
    let (_, changes) = call(reqwest::Method::GET, "/changes?limit=5", &admin_token, None).await;
    assert_eq!(changes[0]["who"], "token:editor-bot");
    let (status, conflict) = call(
        reqwest::Method::POST,
        "/fixes",
        &admin_token,
        Some(json!({"kind": "phrasing", "question": "another one", "faq": "invoice", "version": invoice["version"]})),
    )
    .await;
    assert_eq!(
        (status, conflict["code"].as_str()),
        (409, Some("changed_on_disk"))
    );

    // The document lists the operations.
    let (_, doc) = app.get("/api/v1/openapi.json").await;
    for path in ["/try", "/faqs", "/fixes", "/preview", "/test", "/changes"] {
        assert!(
            doc.contains(&format!("\"/api/v1/knowledge-base{path}\"")),
            "{path}"
        );
    }
}

#[actix_web::test]
async fn a_fix_on_one_node_is_answered_by_another_sharing_the_folder_through_redis() {
    let dir = kb_copy();
    let prefix = fresh_prefix();
    let kb = knowledge_base::load(dir.path()).unwrap().kb;
    let node = |kb| {
        let path = dir.path().to_path_buf();
        let prefix = prefix.clone();
        async move {
            let store = redis_store(&redis_url(), &prefix).await;
            // No file watcher: only the bus can tell this node.
            spawn_app_on(store, kb, |s| s.knowledge_base = path).await
        }
    };
    let a = node(kb.clone()).await;
    let b = node(kb).await;
    let on_a = a.admin_login().await;
    let on_b = b.admin_login().await;
    let before = kb_status_until(&b, &on_b, |_| true).await;
    let invoice = listed(&a, &on_a, "invoice").await;
    let (status, applied) = post_json(
        &a,
        "/api/admin/kb/fixes",
        &json!({"kind": "phrasing", "question": MISSED, "faq": "invoice", "version": invoice["version"]}),
        &on_a,
    )
    .await;
    assert_eq!(status, 200, "{applied}");
    kb_status_until(&b, &on_b, |kb| kb["content_hash"] != before["content_hash"]).await;
    let mut v = b.visitor().await;
    v.say(MISSED).await;
    let answered = v.bot_answer().await;
    assert_eq!(
        answered["faq"], "invoice",
        "node B answers with the fix: {answered}"
    );
    // Both nodes show the same record.
    let changes = get_json(&b, "/api/admin/kb/changes", &on_b).await;
    assert_eq!(changes[0]["question"], MISSED);
}
