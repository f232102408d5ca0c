//! Hostile clients on raw sockets: frames no websocket library would send, and pressure on the
//! server's limits before and after hello.

use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::app::{TestApp, Visitor, WAIT, spawn_app, spawn_app_with};

/// A websocket handshake on a plain TCP socket to `path`; the socket after the 101 answer.
async fn raw_websocket(app: &TestApp, path: &str) -> TcpStream {
    raw_websocket_with(app, path, &[]).await
}

/// The handshake's answer: its status line and headers.
async fn handshake(app: &TestApp, path: &str, headers: &[&str]) -> (TcpStream, String) {
    let mut tcp = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    let extra: String = headers.iter().map(|h| format!("{h}\r\n")).collect();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        tokio::time::timeout(WAIT, tcp.read_exact(&mut byte))
            .await
            .expect("the handshake is answered in time")
            .expect("the socket stays open during the handshake");
        head.push(byte[0]);
    }
    (tcp, String::from_utf8_lossy(&head).into_owned())
}

/// `raw_websocket` with extra header lines (`Cookie: ...`).
async fn raw_websocket_with(app: &TestApp, path: &str, headers: &[&str]) -> TcpStream {
    let (tcp, head) = handshake(app, path, headers).await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    tcp
}

/// A masked client frame: FIN, `opcode`, `payload` (under 126 bytes).
fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [7u8, 1, 4, 2];
    let mut f = vec![0x80 | opcode, 0x80 | payload.len() as u8];
    f.extend(mask);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    f
}

/// Reads until the server closes: the close code it sent (if any) once the TCP stream ends.
async fn close_code(tcp: &mut TcpStream) -> Option<u16> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(WAIT, tcp.read(&mut buf))
            .await
            .expect("the server closes the socket in time")
        {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    // Walk the server's (unmasked) frames to its close frame: 0x88, length, code.
    let mut at = 0;
    while at + 2 <= got.len() {
        let (opcode, len7) = (got[at] & 0x0f, usize::from(got[at + 1] & 0x7f));
        let (len, header) = match len7 {
            126 if at + 4 <= got.len() => (
                usize::from(u16::from_be_bytes([got[at + 2], got[at + 3]])),
                4,
            ),
            127 if at + 10 <= got.len() => {
                let bytes: [u8; 8] = got[at + 2..at + 10].try_into().unwrap();
                (u64::from_be_bytes(bytes) as usize, 10)
            }
            126 | 127 => return None,
            n => (n, 2),
        };
        let payload = got.get(at + header..at + header + len)?;
        if opcode == 0x8 {
            return (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]));
        }
        at += header + len;
    }
    None
}

#[actix_web::test]
async fn a_header_declaring_a_gigabyte_closes_the_socket_before_its_payload_is_buffered() {
    let app = spawn_app().await;
    {
        let mut tcp = raw_websocket(&app, "/ws").await;
        // A masked text frame whose header declares 2^30 bytes, before any hello.
        let mut header = vec![0x81, 0x80 | 127];
        header.extend((1u64 << 30).to_be_bytes());
        header.extend([1, 2, 3, 4]);
        tcp.write_all(&header).await.unwrap();
        // Stream 4 MiB of it (64 times the frame limit); a server that buffers keeps reading.
        let chunk = vec![b'x'; 64 * 1024];
        let sending = async {
            for _ in 0..64 {
                if tcp.write_all(&chunk).await.is_err() {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(5), sending).await;
        let code = close_code(&mut tcp).await;
        assert!(
            matches!(code, Some(1009) | None),
            "closed as too big (or cut off), not left open: {code:?}"
        );
    }
}

#[actix_web::test]
async fn a_burst_of_logins_is_limited_before_any_password_is_hashed() {
    let app = spawn_app().await;
    let attempts = (0..60).map(|n| {
        let password = if n == 30 {
            "ann-password".to_owned()
        } else {
            format!("guess-{n}")
        };
        let app = &app;
        async move {
            let body = json!({"id": "ann", "password": password});
            app.post("/api/agent/login", &body, None).await.0
        }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    let count = |s: u16| statuses.iter().filter(|&&x| x == s).count();
    assert!(
        count(401) + count(200) <= 5,
        "at most five passwords are checked: {statuses:?}"
    );
    assert_eq!(count(401) + count(200) + count(429), 60, "{statuses:?}");
}

#[actix_web::test]
async fn one_address_with_wrong_passwords_for_one_agent_does_not_lock_out_the_others() {
    let app = spawn_app_with(|s| s.trust_proxy = true).await;
    let office = "X-Forwarded-For: 203.0.113.5";
    let login = |id: &str, password: &str| json!({"id": id, "password": password});
    for n in 0..5 {
        let guess = login("ann", &format!("guess-{n}"));
        let status = app
            .post_with("/api/agent/login", &guess, None, &[office])
            .await
            .0;
        assert_eq!(status, 401);
    }
    let ann = login("ann", "ann-password");
    assert_eq!(
        app.post_with("/api/agent/login", &ann, None, &[office])
            .await
            .0,
        429,
        "ann's account waits a minute"
    );
    let bob = login("bob", "bob-password");
    assert_eq!(
        app.post_with("/api/agent/login", &bob, None, &[office])
            .await
            .0,
        200,
        "bob, from the same address, signs in"
    );
    // An address that keeps guessing, over many accounts, waits too (20 a minute).
    for n in 0..15 {
        let guess = login(&format!("someone-{n}"), "guess");
        app.post_with("/api/agent/login", &guess, None, &[office])
            .await;
    }
    let cid = login("cid", "cid-password");
    assert_eq!(
        app.post_with("/api/agent/login", &cid, None, &[office])
            .await
            .0,
        429,
        "the guessing address waits"
    );
    let elsewhere = "X-Forwarded-For: 198.51.100.5";
    assert_eq!(
        app.post_with("/api/agent/login", &cid, None, &[elsewhere])
            .await
            .0,
        200,
        "cid from another address signs in"
    );
}

#[actix_web::test]
async fn broken_frames_close_with_the_codes_rfc_6455_names_and_a_close_is_echoed() {
    let app = spawn_app().await;
    let cases: [(Vec<u8>, Option<u16>, &str); 3] = [
        (
            frame(0x1, &[0x68, 0xff, 0xfe]),
            Some(1007),
            "text that is not UTF-8",
        ),
        (frame(0x3, b"x"), Some(1002), "a reserved opcode"),
        (
            frame(0x8, &1001u16.to_be_bytes()),
            Some(1001),
            "the client's close, echoed",
        ),
    ];
    for (bytes, expected, what) in cases {
        let mut tcp = raw_websocket(&app, "/ws").await;
        tcp.write_all(&bytes).await.unwrap();
        assert_eq!(close_code(&mut tcp).await, expected, "{what}");
    }
}

#[actix_web::test]
async fn a_socket_that_never_says_hello_is_closed_though_it_answers_pings() {
    let app = spawn_app_with(|s| {
        s.hello_timeout_seconds = 1;
        s.heartbeat_seconds = 1;
    })
    .await;
    let mut silent = Visitor::connect(&app, None).await.unwrap();
    // The client library answers pings; it never sends hello.
    assert_eq!(silent.closed().await, Some(1008));
}

#[actix_web::test]
async fn one_address_holds_a_limited_number_of_sockets() {
    let app = spawn_app_with(|s| {
        s.trust_proxy = true;
        s.connections_per_address = 3;
    })
    .await;
    let from = |ip: &'static str| [("X-Forwarded-For", ip)];
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(
            Visitor::connect_with(&app, &from("203.0.113.7"))
                .await
                .unwrap(),
        );
    }
    let (_, head) = handshake(&app, "/ws", &["X-Forwarded-For: 203.0.113.7"]).await;
    assert!(head.starts_with("HTTP/1.1 429"), "a fourth: {head}");
    let mut other = Visitor::connect_with(&app, &from("198.51.100.1"))
        .await
        .unwrap();
    other.hello(json!({"type": "hello"})).await;
    open.pop().unwrap().disconnect().await;
    // The slot comes back once the server has seen the close.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (_, head) = handshake(&app, "/ws", &["X-Forwarded-For: 203.0.113.7"]).await;
        if head.starts_with("HTTP/1.1 101") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "a closed socket frees its slot: {head}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[actix_web::test]
async fn new_conversations_from_one_address_are_limited_across_reconnects() {
    let app = spawn_app_with(|s| {
        s.trust_proxy = true;
        s.conversations_per_minute = 3;
    })
    .await;
    let from = [("X-Forwarded-For", "203.0.113.9")];
    for _ in 0..3 {
        let mut v = Visitor::connect_with(&app, &from).await.unwrap();
        v.hello(json!({"type": "hello"})).await;
        v.disconnect().await;
    }
    let mut fourth = Visitor::connect_with(&app, &from).await.unwrap();
    fourth.send(json!({"type": "hello"})).await;
    let refused = fourth.next().await;
    assert_eq!(refused["code"], "rate_limited", "{refused}");
    let mut elsewhere = Visitor::connect_with(&app, &[("X-Forwarded-For", "198.51.100.2")])
        .await
        .unwrap();
    elsewhere.hello(json!({"type": "hello"})).await;
}

#[actix_web::test]
async fn a_conversations_message_rate_holds_across_reconnects() {
    let app = spawn_app_with(|s| {
        s.rate_per_second = 0.2;
        s.rate_burst = 3.0;
    })
    .await;
    let mut v = app.visitor().await;
    for n in 0..2 {
        v.say(&format!("question {n}")).await;
        v.bot_answer().await;
    }
    let token = v.token.clone();
    v.disconnect().await;
    // A new socket has a full bucket of its own; the conversation's allowance is spent.
    let mut again = Visitor::connect(&app, None).await.unwrap();
    again
        .hello(json!({"type": "hello", "token": token, "last_seq": 100}))
        .await;
    again.say("question 2").await;
    again.say("question 3").await;
    let refused = again
        .until(|f| {
            f["type"] == "error" || f["kind"] == "visitor_message" && f["text"] == "question 3"
        })
        .await;
    assert_eq!(refused["code"], "rate_limited", "{refused}");
}

#[actix_web::test]
async fn a_last_seq_past_the_end_still_gets_the_next_receipt() {
    let app = spawn_app().await;
    let mut v = app.visitor().await;
    v.say("hello there").await;
    v.bot_answer().await;
    let token = v.token.clone();
    v.disconnect().await;
    let mut again = Visitor::connect(&app, None).await.unwrap();
    again
        .hello(json!({"type": "hello", "token": token, "last_seq": u64::MAX}))
        .await;
    again
        .send(json!({"type": "message", "text": "still there?", "client_id": "after-max"}))
        .await;
    let receipt = again
        .until(|f| f["type"] == "event" && f["kind"] == "visitor_message")
        .await;
    assert_eq!(receipt["client_id"], "after-max");
}

#[actix_web::test]
async fn a_visitors_client_id_cannot_swallow_an_agents_reply() {
    let app = spawn_app().await;
    let mut ann = app.agent("ann").await;
    let mut v = app.waiting_visitor().await;
    v.send(json!({"type": "message", "text": "sneaky", "client_id": "agent:r-42"}))
        .await;
    v.until(|f| f["kind"] == "visitor_message" && f["text"] == "sneaky")
        .await;
    ann.act("claim", &v.conversation, json!({})).await;
    v.notice("assigned").await;
    ann.act(
        "reply",
        &v.conversation,
        json!({"text": "Hi, Ann here", "client_id": "r-42"}),
    )
    .await;
    let reply = v.until(|f| f["kind"] == "agent_message").await;
    assert_eq!(reply["text"], "Hi, Ann here");
}

#[actix_web::test]
async fn logging_out_closes_the_agents_open_console() {
    let app = spawn_app().await;
    let cookie = app.login("ann").await;
    let mut console = raw_websocket_with(&app, "/ws/agent", &[&format!("Cookie: {cookie}")]).await;
    let (status, _, _) = app
        .post("/api/agent/logout", &json!({}), Some(&cookie))
        .await;
    assert_eq!(status, 204);
    assert_eq!(close_code(&mut console).await, Some(1008), "signed out");
}

#[actix_web::test]
async fn a_page_on_another_origin_cannot_act_with_a_staff_cookie() {
    let app = spawn_app_with(|s| s.allowed_origins = vec!["http://shop.example".into()]).await;
    let cookie = app.login("ann").await;
    let foreign = "Origin: http://shop.example";
    let (status, _, body) = app
        .post_with("/api/agent/logout", &json!({}), Some(&cookie), &[foreign])
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        app.get_as("/api/agent/me", Some(&cookie)).await.0,
        200,
        "still signed in"
    );
    // The widget's embed origin may open /ws, not the agents' socket.
    let (_, head) = handshake(&app, "/ws/agent", &[&format!("Cookie: {cookie}"), foreign]).await;
    assert!(head.starts_with("HTTP/1.1 403"), "{head}");
    let admin = app.admin_login().await;
    let (status, _, _) = app
        .post_with(
            "/api/kb/reload",
            &json!({}),
            Some(&admin),
            &["Sec-Fetch-Site: same-site"],
        )
        .await;
    assert_eq!(status, 403, "a same-site page is another origin");
    // Our own page may.
    let own = format!("Origin: http://127.0.0.1:{}", app.port);
    let (status, _, _) = app
        .post_with("/api/agent/logout", &json!({}), Some(&cookie), &[&own])
        .await;
    assert_eq!(status, 204);
}

#[actix_web::test]
async fn the_agent_socket_closes_a_binary_flood() {
    let app = spawn_app_with(|s| s.abuse_limit = 5).await;
    let cookie = app.login("ann").await;
    let mut console = raw_websocket_with(&app, "/ws/agent", &[&format!("Cookie: {cookie}")]).await;
    let flood: Vec<u8> = (0..200).flat_map(|_| frame(0x2, b"\x00\x01")).collect();
    let _ = console.write_all(&flood).await;
    assert_eq!(close_code(&mut console).await, Some(1008));
}

#[actix_web::test]
async fn only_the_agent_with_the_chat_types_to_its_visitor_or_follows_it_up() {
    let app = spawn_app().await;
    let mut ann = app.agent("ann").await;
    let mut bob = app.agent("bob").await;
    let v = app.waiting_visitor().await;
    ann.act("claim", &v.conversation, json!({})).await;
    ann.until(|f| f["type"] == "chats" && f["items"].as_array().is_some_and(|c| !c.is_empty()))
        .await;
    for kind in ["typing", "followed_up"] {
        bob.act(kind, &v.conversation, json!({})).await;
        let refused = bob.until(|f| f["type"] == "error").await;
        assert_eq!(refused["code"], "not_yours", "{kind}: {refused}");
    }
}

#[actix_web::test]
async fn a_body_sent_a_byte_at_a_time_is_cut_off() {
    let app = spawn_app_with(|s| s.request_timeout_seconds = 1).await;
    let mut tcp = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    tcp.write_all(
        b"POST /api/agent/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{",
    )
    .await
    .unwrap();
    let trickle = async {
        for _ in 0..99 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if tcp.write_all(b" ").await.is_err() {
                break;
            }
        }
    };
    // 99 bytes at 5 a second would take 20 s; the server answers long before.
    let _ = tokio::time::timeout(Duration::from_secs(3), trickle).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(WAIT, tcp.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[actix_web::test]
async fn pages_and_cookies_carry_the_hardening_a_browser_needs() {
    let app = spawn_app_with(|s| {
        s.trust_proxy = true;
        s.metrics_token = Some("scrape-me".into());
    })
    .await;
    let head = |raw: &str| {
        raw.split("\r\n\r\n")
            .next()
            .unwrap_or_default()
            .to_lowercase()
    };
    let mut tcp = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    tcp.write_all(b"GET /agent/login HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(WAIT, tcp.read_to_end(&mut raw))
        .await
        .expect("the page in time")
        .unwrap();
    let page = head(&String::from_utf8_lossy(&raw));
    for needed in [
        "content-security-policy: default-src 'self'",
        "x-frame-options: deny",
        "x-content-type-options: nosniff",
    ] {
        assert!(page.contains(needed), "{needed} in {page}");
    }
    // Behind a TLS proxy the session cookie is Secure.
    let login = json!({"id": "ann", "password": "ann-password"});
    let (status, cookie, _) = app
        .post_with(
            "/api/agent/login",
            &login,
            None,
            &["X-Forwarded-Proto: https"],
        )
        .await;
    assert_eq!(status, 200);
    assert!(cookie.unwrap_or_default().contains("Secure"));
    // Metrics only with the token.
    assert_eq!(app.get("/metrics").await.0, 401);
    let mut tcp = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    tcp.write_all(
        b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer scrape-me\r\n\
          Connection: close\r\n\r\n",
    )
    .await
    .unwrap();
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(WAIT, tcp.read_to_end(&mut raw)).await;
    assert!(String::from_utf8_lossy(&raw).starts_with("HTTP/1.1 200"));
}

#[actix_web::test]
async fn an_agents_frames_are_checked_at_the_edge_with_the_codes_a_visitor_gets() {
    let app = spawn_app().await;
    let mut ann = app.agent("ann").await;
    let v = app.waiting_visitor().await;
    let cases = [
        (json!({"type": "reply", "text": " \n"}), "empty_text"),
        (
            json!({"type": "reply", "text": "x".repeat(4001)}),
            "too_large",
        ),
        (
            json!({"type": "note", "text": "hi", "client_id": "c".repeat(65)}),
            "bad_frame",
        ),
        (
            json!({"type": "transfer", "agent": "bob", "team": "billing"}),
            "invalid",
        ),
    ];
    for (extra, code) in cases {
        let kind = extra["type"].as_str().unwrap().to_owned();
        ann.act(&kind, &v.conversation, extra).await;
        let refused = ann.until(|f| f["type"] == "error").await;
        assert_eq!(refused["code"], code, "{kind}: {refused}");
    }
    ann.act("claim", "not a conversation id", json!({})).await;
    assert_eq!(
        ann.until(|f| f["type"] == "error").await["code"],
        "not_found"
    );
    // The console still works.
    ann.act("claim", &v.conversation, json!({})).await;
    ann.until(|f| f["type"] == "chats" && f["items"][0]["conversation"] == v.conversation.as_str())
        .await;
}

#[actix_web::test]
async fn an_offline_message_needs_an_address_that_can_be_written_to() {
    let app = spawn_app().await;
    let mut v = app.visitor().await;
    for email in [
        "ana@",
        "@example.com",
        "ana at example.com",
        "a b@example.com",
    ] {
        v.send(json!({"type": "leave_message", "email": email, "text": "call me back"}))
            .await;
        let refused = v.until(|f| f["type"] == "error").await;
        assert_eq!(refused["code"], "invalid", "{email}: {refused}");
    }
}

#[actix_web::test]
async fn behind_an_appending_proxy_a_forged_forwarded_for_entry_does_not_escape_the_limit() {
    // The proxy appends the address it saw ($proxy_add_x_forwarded_for): the client chooses
    // everything to the left of it.
    let app = spawn_app_with(|s| {
        s.trust_proxy = true;
        s.connections_per_address = 2;
    })
    .await;
    let mut open = Vec::new();
    for forged in ["1.1.1.1", "2.2.2.2"] {
        let chain = format!("{forged}, 203.0.113.7");
        let v = Visitor::connect_with(&app, &[("X-Forwarded-For", chain.as_str())])
            .await
            .unwrap();
        open.push(v);
    }
    let (_, head) = handshake(&app, "/ws", &["X-Forwarded-For: 3.3.3.3, 203.0.113.7"]).await;
    assert!(
        head.starts_with("HTTP/1.1 429"),
        "a third socket from 203.0.113.7 with a new forged entry: {head}"
    );
    // With two proxies in front (a CDN, then a load balancer), the client is second from the
    // right.
    let two = spawn_app_with(|s| {
        s.trust_proxy = true;
        s.trusted_proxy_hops = 2;
        s.connections_per_address = 1;
    })
    .await;
    let _first = Visitor::connect_with(
        &two,
        &[("X-Forwarded-For", "9.9.9.9, 203.0.113.8, 10.0.0.2")],
    )
    .await
    .unwrap();
    let (_, head) = handshake(
        &two,
        "/ws",
        &["X-Forwarded-For: 8.8.8.8, 203.0.113.8, 10.0.0.2"],
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 429"), "{head}");
}
