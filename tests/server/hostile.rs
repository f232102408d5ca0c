//! Hostile clients on raw sockets: frames no websocket library would send, and pressure on the
//! server's limits before and after hello.

use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::app::{TestApp, WAIT, spawn_app};

/// A websocket handshake on a plain TCP socket to `path`; the socket after the 101 answer.
async fn raw_websocket(app: &TestApp, path: &str) -> TcpStream {
    let mut tcp = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
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
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    tcp
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
    // The server's frames are unmasked: a close frame is 0x88, length, code.
    got.windows(4)
        .find(|w| w[0] == 0x88 && w[1] >= 2 && w[1] < 126)
        .map(|w| u16::from_be_bytes([w[2], w[3]]))
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
    let app = spawn_app().await;
    for n in 0..5 {
        let body = json!({"id": "ann", "password": format!("guess-{n}")});
        assert_eq!(app.post("/api/agent/login", &body, None).await.0, 401);
    }
    let ann = json!({"id": "ann", "password": "ann-password"});
    assert_eq!(
        app.post("/api/agent/login", &ann, None).await.0,
        429,
        "ann's account waits a minute"
    );
    let bob = json!({"id": "bob", "password": "bob-password"});
    assert_eq!(
        app.post("/api/agent/login", &bob, None).await.0,
        200,
        "bob, from the same address, signs in"
    );
}
