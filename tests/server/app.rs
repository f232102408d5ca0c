//! Test harness: a real server and a real websocket client.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use frontdesk::config::Settings;
use frontdesk::knowledge_base;
use frontdesk::startup::{Application, Shutdown};
use frontdesk::store::MemoryStore;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The longest any single wait in these tests may take.
pub const WAIT: Duration = Duration::from_secs(10);

pub struct TestApp {
    pub port: u16,
    pub shutdown: Shutdown,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = Settings {
        port: 0,
        ..Settings::default()
    };
    configure(&mut settings);
    let kb = knowledge_base::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge_base"))
        .expect("the sample knowledge base loads")
        .kb;
    let app =
        Application::build(settings, kb, Arc::new(MemoryStore::new())).expect("the server starts");
    let port = app.port();
    let shutdown = app.shutdown_handle();
    actix_web::rt::spawn(app.run_until_stopped());
    TestApp { port, shutdown }
}

impl TestApp {
    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}/ws", self.port)
    }

    /// A plain HTTP/1.1 GET: (status, body).
    pub async fn get(&self, path: &str) -> (u16, String) {
        let work = async {
            let mut stream = TcpStream::connect(("127.0.0.1", self.port)).await.unwrap();
            let request =
                format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
            stream.write_all(request.as_bytes()).await.unwrap();
            let mut raw = Vec::new();
            stream.read_to_end(&mut raw).await.unwrap();
            let text = String::from_utf8_lossy(&raw).into_owned();
            let status = text.split_whitespace().nth(1).unwrap().parse().unwrap();
            let body = text
                .split_once("\r\n\r\n")
                .map(|(_, b)| b.to_owned())
                .unwrap_or_default();
            (status, body)
        };
        tokio::time::timeout(WAIT, work)
            .await
            .expect("HTTP answer in time")
    }

    /// A visitor that has said hello (new conversation).
    pub async fn visitor(&self) -> Visitor {
        let mut v = Visitor::connect(self, None).await.expect("connects");
        v.hello(json!({"type": "hello"})).await;
        v
    }
}

pub struct Visitor {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub token: String,
    pub last_seq: u64,
    counter: u32,
}

impl Visitor {
    /// Opens the socket, with an `Origin` header if given.
    pub async fn connect(
        app: &TestApp,
        origin: Option<&str>,
    ) -> Result<Visitor, tokio_tungstenite::tungstenite::Error> {
        let mut request = app.ws_url().into_client_request().unwrap();
        if let Some(origin) = origin {
            request
                .headers_mut()
                .insert("Origin", origin.parse().unwrap());
        }
        let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
            .await
            .expect("handshake in time")?;
        Ok(Visitor {
            ws,
            token: String::new(),
            last_seq: 0,
            counter: 0,
        })
    }

    /// Sends `hello` and returns the `welcome`.
    pub async fn hello(&mut self, hello: Value) -> Value {
        self.send(hello).await;
        let welcome = self.until(|f| f["type"] == "welcome").await;
        self.token = welcome["token"].as_str().unwrap().to_owned();
        welcome
    }

    pub async fn send(&mut self, frame: Value) {
        self.send_raw(Message::text(frame.to_string())).await;
    }

    pub async fn send_raw(&mut self, message: Message) {
        tokio::time::timeout(WAIT, self.ws.send(message))
            .await
            .expect("send in time")
            .expect("socket open");
    }

    /// Sends a message with a fresh client id (unique across visitors of a test run).
    pub async fn say(&mut self, text: &str) {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
        self.counter = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id = format!("c{}", self.counter);
        self.send(json!({"type": "message", "text": text, "client_id": id}))
            .await;
    }

    /// The next JSON frame (pings are answered by the library and skipped).
    pub async fn next(&mut self) -> Value {
        self.try_next(WAIT).await.expect("a frame arrives in time")
    }

    /// The next JSON frame within `wait`, or `None`.
    pub async fn try_next(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .ok()?;
            match msg {
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(&t).expect("the server sends JSON");
                    if v["type"] == "event" {
                        let seq = v["seq"].as_u64().unwrap();
                        assert!(
                            seq > self.last_seq,
                            "events arrive once and in order: {seq} after {}",
                            self.last_seq
                        );
                        self.last_seq = seq;
                    }
                    return Some(v);
                }
                Some(Ok(Message::Close(frame))) => {
                    panic!("the server closed the socket: {frame:?}")
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => panic!("socket error: {e}"),
                None => panic!("socket ended"),
            }
        }
    }

    /// Reads frames until one matches.
    pub async fn until(&mut self, matches: impl Fn(&Value) -> bool) -> Value {
        loop {
            let f = self.next().await;
            if matches(&f) {
                return f;
            }
        }
    }

    /// The bot's next answer event.
    pub async fn bot_answer(&mut self) -> Value {
        self.until(|f| f["type"] == "event" && f["kind"] == "bot_answer")
            .await
    }

    /// The close frame the server sends next.
    pub async fn closed(&mut self) -> Option<u16> {
        let work = async {
            loop {
                match self.ws.next().await {
                    Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                    Some(Ok(_)) => continue,
                    _ => return None,
                }
            }
        };
        tokio::time::timeout(WAIT, work)
            .await
            .expect("the socket closes in time")
    }

    pub async fn disconnect(mut self) {
        let _ = self.ws.close(None).await;
    }
}
