use crate::app::{Visitor, spawn_app, spawn_app_with};

#[actix_web::test]
async fn health_readiness_pages_and_widget_are_served() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz").await, (200, "ok".into()));
    assert_eq!(app.get("/readyz").await.0, 200);
    let (status, page) = app.get("/").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("<script src=\"/widget.js\""),
        "the demo page embeds the widget"
    );
    let (status, js) = app.get("/widget.js").await;
    assert_eq!(status, 200);
    assert!(js.contains("/widget/widget-app.js"), "{js}");
    // The loader brings in the widget's modules, which import each other by relative names.
    let (status, app_js) = app.get("/widget/widget-app.js").await;
    assert_eq!(status, 200);
    assert!(app_js.contains("new WebSocket"));
    for module in app_js
        .lines()
        .filter_map(|l| l.split("from \"./").nth(1))
        .filter_map(|l| l.split('"').next())
    {
        assert_eq!(
            app.get(&format!("/widget/{module}")).await.0,
            200,
            "{module}"
        );
    }
    assert_eq!(app.get("/widget/nope.js").await.0, 404);
    // The staff pages load their scripts and style from /pages/, the module they share included.
    let (status, console) = app.get("/agent/login").await;
    assert_eq!(status, 200);
    assert!(console.contains("src=\"/pages/console.js\""), "{console}");
    assert!(console.contains("href=\"/pages/common.css\""), "{console}");
    let (status, js) = app.get("/pages/console.js").await;
    assert_eq!(status, 200);
    assert!(
        js.contains("from \"./common.js\""),
        "the console imports the shared module"
    );
    for file in ["/pages/common.js", "/pages/admin.js", "/pages/common.css"] {
        assert_eq!(app.get(file).await.0, 200, "{file}");
    }
    assert_eq!(app.get("/pages/nothing.js").await.0, 404);
}

#[actix_web::test]
async fn metrics_count_messages_decisions_and_handoffs() {
    let app = spawn_app().await;
    let _ann = app.agent("ann").await;
    let mut v = app.visitor().await;
    v.say("hello").await;
    v.bot_answer().await;
    v.say("talk to a human").await;
    v.until(|f| f["kind"] == "notice").await;
    let (status, text) = app.get("/metrics").await;
    assert_eq!(status, 200);
    assert!(
        text.contains("frontdesk_visitor_messages_total 2"),
        "{text}"
    );
    assert!(
        text.contains("frontdesk_decisions_total{kind=\"answer\"} 1"),
        "{text}"
    );
    assert!(
        // Asking for a person is the visitor asking, whichever rule caught it.
        text.contains("frontdesk_handoffs_total{reason=\"visitor_asked\"} 1"),
        "{text}"
    );
    assert!(text.contains("frontdesk_open_sockets 1"), "{text}");
    assert!(text.contains("frontdesk_decision_seconds_bucket"), "{text}");
}

#[actix_web::test]
async fn a_disallowed_origin_is_refused_and_an_allowed_one_connects() {
    let app = spawn_app_with(|s| s.allowed_origins = vec!["https://shop.example".into()]).await;
    let refused = Visitor::connect(&app, Some("https://evil.example")).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403)
        }
        other => panic!("expected 403, got {:?}", other.map(|_| "a socket")),
    }
    assert!(
        Visitor::connect(&app, Some("https://shop.example"))
            .await
            .is_ok()
    );
    assert!(
        Visitor::connect(&app, Some("http://localhost:3000"))
            .await
            .is_ok()
    );
}

#[actix_web::test]
async fn shutdown_closes_every_socket_with_1001() {
    let app = spawn_app().await;
    let mut a = app.visitor().await;
    let mut b = app.visitor().await;
    // Consoles too: an agent's console says the server is going away, and reconnects.
    let mut consoles = Vec::new();
    for agent in ["ann", "bob", "cid"] {
        consoles.push(app.agent(agent).await);
    }
    let shutdown = app.shutdown_handle();
    actix_web::rt::spawn(async move { shutdown.shutdown().await });
    assert_eq!(a.closed().await, Some(1001));
    assert_eq!(b.closed().await, Some(1001));
    for console in &mut consoles {
        assert_eq!(console.closed().await, Some(1001));
    }
}

#[actix_web::test]
async fn a_shutdown_returns_once_every_session_and_background_task_has_ended() {
    // Retention and the reload watch on: their tasks must end too.
    let app = spawn_app_with(|s| {
        s.retention_days = 30;
        s.watch_knowledge_base = true;
    })
    .await;
    let mut visitor = app.visitor().await;
    let mut console = app.agent("ann").await;
    let shutdown = app.shutdown_handle();
    assert!(
        shutdown.tasks_running() >= 5,
        "sessions, router, board, retention and reload run: {}",
        shutdown.tasks_running()
    );
    tokio::time::timeout(std::time::Duration::from_secs(10), shutdown.shutdown())
        .await
        .expect("the shutdown ends in time");
    assert_eq!(shutdown.tasks_running(), 0, "nothing left running");
    assert_eq!(visitor.closed().await, Some(1001));
    assert_eq!(console.closed().await, Some(1001));
}

#[actix_web::test]
async fn a_socket_that_stops_answering_pings_is_closed_as_idle() {
    let app = spawn_app_with(|s| {
        s.heartbeat_seconds = 1;
        s.idle_timeout_seconds = 1;
    })
    .await;
    let mut v = app.visitor().await;
    // Not reading means not answering the server's pings.
    tokio::time::sleep(std::time::Duration::from_millis(2600)).await;
    assert_eq!(v.closed().await, Some(1000));
}

#[actix_web::test]
async fn connections_over_the_limit_are_refused_with_503() {
    let app = spawn_app_with(|s| s.max_connections = 1).await;
    let _first = app.visitor().await;
    match Visitor::connect(&app, None).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 503)
        }
        other => panic!("expected 503, got {:?}", other.map(|_| "a socket")),
    }
}

#[actix_web::test]
async fn the_connection_cap_holds_when_many_visitors_arrive_at_once() {
    // The cap is taken at the handshake: many handshakes at the same moment cannot all see
    // room before any of their sessions has started.
    let app = spawn_app_with(|s| {
        s.max_connections = 3;
        s.connections_per_address = 1_000;
    })
    .await;
    let attempts = (0..40).map(|_| Visitor::connect(&app, None));
    let results = futures_util::future::join_all(attempts).await;
    let open: Vec<_> = results.iter().filter(|r| r.is_ok()).collect();
    let refused = results
        .iter()
        .filter(|r| {
            matches!(r, Err(tokio_tungstenite::tungstenite::Error::Http(response)) if response.status() == 503)
        })
        .count();
    assert!(
        open.len() <= 3,
        "{} sockets open over a cap of 3",
        open.len()
    );
    assert_eq!(open.len() + refused, 40, "every other attempt is told 503");
    drop(results);
    // Closed sockets give their room back.
    let mut back = None;
    for _ in 0..50 {
        if let Ok(v) = Visitor::connect(&app, None).await {
            back = Some(v);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(back.is_some(), "room again after the others closed");
}

#[actix_web::test]
async fn readyz_says_not_ready_when_the_database_cannot_be_used() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("frontdesk.db");
    let store = std::sync::Arc::new(frontdesk::store::SqliteStore::open(&file).unwrap());
    let app = crate::app::spawn_app_on(store, crate::app::sample_kb(), |_| {}).await;
    let (status, body) = app.get("/readyz").await;
    assert_eq!(status, 200, "{body}");
    // A damaged file: a table gone (a bad restore, a careless operator).
    let other = rusqlite::Connection::open(&file).unwrap();
    other.execute_batch("DROP TABLE events").unwrap();
    let (status, body) = app.get("/readyz").await;
    assert_eq!(
        status, 503,
        "a load balancer must stop sending visitors here: {body}"
    );
    assert!(body.contains("events"), "{body}");
}
