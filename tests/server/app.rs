//! Test harness: real servers, a real Redis, and real websocket clients for visitors and agents.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use frontdesk::agents::{Admin, Agent, Roster, hash_password};
use frontdesk::config::Settings;
use frontdesk::knowledge_base::{self, KnowledgeBase};
use frontdesk::ports::Store;
use frontdesk::startup::{Application, Shutdown};
use frontdesk::store::{RedisStore, SqliteStore};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The longest any single wait in these tests may take.
pub const WAIT: Duration = Duration::from_secs(10);

/// The tests' HTTP client (reqwest): every request has `WAIT` to answer; redirects are
/// answers to check, not to follow. One per request: each test runs its own runtime, and a
/// pooled connection must not outlive the runtime that opened it.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(WAIT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client")
}

pub struct TestApp {
    pub port: u16,
    /// Stops the server, when it runs in this process (`None`: a child process's server).
    pub shutdown: Option<Shutdown>,
}

/// The test agents: `ann` (2 chats, team billing), `bob` (1 chat), `cid` (3, billing), and the
/// admin `max`. Each one's password is `<id>-password`.
pub fn roster() -> Roster {
    static ROSTER: std::sync::LazyLock<Roster> = std::sync::LazyLock::new(|| Roster {
        agents: [
            ("ann", "Ann", 2, "billing"),
            ("bob", "Bob", 1, ""),
            ("cid", "Cid", 3, "billing"),
        ]
        .into_iter()
        .map(|(id, name, capacity, team)| Agent {
            id: id.into(),
            name: name.into(),
            password_hash: hash_password(&format!("{id}-password")).unwrap(),
            capacity,
            teams: [team]
                .into_iter()
                .filter(|t| !t.is_empty())
                .map(String::from)
                .collect(),
        })
        .collect(),
        admins: vec![Admin {
            id: "max".into(),
            name: "Max".into(),
            password_hash: hash_password("max-password").unwrap(),
        }],
    });
    ROSTER.clone()
}

/// The sample knowledge base, without business hours (tests run at any time of day; the hours
/// tests set their own).
pub fn sample_kb() -> KnowledgeBase {
    let mut kb =
        knowledge_base::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge_base"))
            .expect("the sample knowledge base loads")
            .kb;
    kb.hours = None;
    kb
}

/// A copy of the sample knowledge base without business hours (tests run at any hour).
pub fn kb_copy() -> tempfile::TempDir {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge_base");
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&src, dir.path());
    std::fs::remove_file(dir.path().join("hours.toml")).unwrap();
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The Redis the tests use: `FRONTDESK_TEST_REDIS_URL`, or the one `scripts/test` starts.
pub fn redis_url() -> String {
    std::env::var("FRONTDESK_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A key prefix no other test uses (tests never flush the database).
pub fn fresh_prefix() -> String {
    format!("fdtest:{:016x}", rand::random::<u64>())
}

/// A Redis store under `prefix`, or a clear failure when there is no Redis.
pub async fn redis_store(url: &str, prefix: &str) -> Arc<dyn Store> {
    match RedisStore::connect(url, prefix).await {
        Ok(store) => Arc::new(store),
        Err(e) => panic!(
            "this test needs a real redis-server at {url} (scripts/test starts one; or set \
             FRONTDESK_TEST_REDIS_URL): {e}"
        ),
    }
}

/// Test defaults: port 0, no auto-assign (tests claim by hand unless they test the router),
/// short presence and assignment timeouts.
fn test_settings(configure: impl FnOnce(&mut Settings)) -> Settings {
    let mut settings = Settings {
        port: 0,
        auto_assign: false,
        presence_ttl_seconds: 2,
        assign_timeout_seconds: 60,
        // Tests hand the server its knowledge base; the reload tests point it at a copy.
        watch_knowledge_base: false,
        // Attachments are kept in data_dir: never the working directory's.
        data_dir: tempfile::tempdir().expect("a temporary folder").keep(),
        ..Settings::default()
    };
    configure(&mut settings);
    settings
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A server on the default store: SQLite in a fresh database file.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_on(sqlite_store(), sample_kb(), configure).await
}

/// A SQLite store on a new database file. The folder is kept (not deleted at the end of the
/// test): it must outlive the server, which runs until the test process ends.
pub fn sqlite_store() -> Arc<dyn Store> {
    let dir = tempfile::tempdir().expect("a temporary folder").keep();
    Arc::new(SqliteStore::open(&dir.join("frontdesk.db")).expect("a new database opens"))
}

/// A server on a fresh Redis prefix.
pub async fn spawn_redis_app(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let store = redis_store(&redis_url(), &fresh_prefix()).await;
    spawn_app_on(store, sample_kb(), configure).await
}

/// A server on `store` (several servers may share one Redis store's prefix: nodes).
pub async fn spawn_app_on(
    store: Arc<dyn Store>,
    kb: KnowledgeBase,
    configure: impl FnOnce(&mut Settings),
) -> TestApp {
    let settings = test_settings(configure);
    let app = Application::build(settings, kb, store, roster()).expect("the server starts");
    let port = app.port();
    let shutdown = app.shutdown_handle();
    actix_web::rt::spawn(app.run_until_stopped());
    TestApp {
        port,
        shutdown: Some(shutdown),
    }
}

impl TestApp {
    /// The in-process server's graceful-shutdown handle.
    pub fn shutdown_handle(&self) -> Shutdown {
        self.shutdown
            .clone()
            .expect("only servers spawned in this process are shut down this way")
    }

    /// A GET: (status, body).
    pub async fn get(&self, path: &str) -> (u16, String) {
        self.get_as(path, None).await
    }

    /// A GET with a session cookie (`name=value`): (status, body).
    pub async fn get_as(&self, path: &str, cookie: Option<&str>) -> (u16, String) {
        let mut request = http().get(self.url(path));
        if let Some(c) = cookie {
            request = request.header("cookie", c);
        }
        let response = request.send().await.expect("an HTTP answer in time");
        let status = response.status().as_u16();
        (status, response.text().await.expect("a body"))
    }

    /// A POST of JSON: (status, the `Set-Cookie` value if any, body).
    pub async fn post(
        &self,
        path: &str,
        body: &Value,
        cookie: Option<&str>,
    ) -> (u16, Option<String>, String) {
        self.post_with(path, body, cookie, &[]).await
    }

    /// `post` with extra header lines (`Origin: ...`).
    pub async fn post_with(
        &self,
        path: &str,
        body: &Value,
        cookie: Option<&str>,
        headers: &[&str],
    ) -> (u16, Option<String>, String) {
        let mut request = http().post(self.url(path)).json(body);
        if let Some(c) = cookie {
            request = request.header("cookie", c);
        }
        for line in headers {
            let (name, value) = line.split_once(':').expect("a header line `Name: value`");
            request = request.header(name.trim(), value.trim());
        }
        let response = request.send().await.expect("an HTTP answer in time");
        let status = response.status().as_u16();
        let set_cookie = response
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        (status, set_cookie, response.text().await.expect("a body"))
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Logs `id` in (password `<id>-password`): the `name=value` of the session cookie.
    pub async fn login(&self, id: &str) -> String {
        let (status, cookie, body) = self
            .post(
                "/api/agent/login",
                &json!({"id": id, "password": format!("{id}-password")}),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let cookie = cookie.expect("a session cookie");
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
            "{cookie}"
        );
        cookie.split(';').next().unwrap().to_owned()
    }

    /// The admin `max` signed in: the `name=value` of the admin cookie.
    pub async fn admin_login(&self) -> String {
        let (status, cookie, body) = self
            .post(
                "/api/admin/login",
                &json!({"id": "max", "password": "max-password"}),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let cookie = cookie.expect("an admin cookie");
        assert!(cookie.starts_with("frontdesk_admin="), "{cookie}");
        cookie.split(';').next().unwrap().to_owned()
    }

    /// `/api/admin/report` for the last day, as `max`.
    pub async fn report(&self, cookie: &str) -> Value {
        let (status, body) = self.get_as("/api/admin/report?days=1", Some(cookie)).await;
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).expect("a JSON report")
    }

    /// An agent logged in and connected to the console socket (online), past the first
    /// snapshots.
    pub async fn agent(&self, id: &str) -> AgentClient {
        let cookie = self.login(id).await;
        let mut agent = AgentClient::connect(self, &cookie)
            .await
            .expect("the agent connects");
        let welcome = agent.until(|f| f["type"] == "welcome").await;
        assert_eq!(welcome["agent"]["id"], id);
        agent.until(|f| f["type"] == "agents").await;
        agent.cookie = cookie;
        agent
    }

    /// Resumes `token` from the start on a new socket: the `welcome` and the whole log as the
    /// visitor sees it (every event frame), ended by a fresh message's receipt so the replay is
    /// known to be complete.
    pub async fn transcript(&self, token: &str) -> (Value, Vec<Value>) {
        let mut v = Visitor::connect(self, None).await.expect("connects");
        let welcome = v
            .hello(json!({"type": "hello", "token": token, "last_seq": 0}))
            .await;
        let marker = format!("end-{:016x}", rand::random::<u64>());
        v.send(json!({"type": "message", "text": "(end of transcript)", "client_id": marker}))
            .await;
        let mut log = Vec::new();
        loop {
            let f = v.next().await;
            if f["type"] != "event" {
                continue;
            }
            let done = f["client_id"] == marker.as_str();
            log.push(f);
            if done {
                return (welcome, log);
            }
        }
    }

    /// A visitor who asked for a person and got the queued notice.
    pub async fn waiting_visitor(&self) -> Visitor {
        let mut v = self.visitor().await;
        v.send(json!({"type": "request_human"})).await;
        // The notice, or the offline form when the server saw no agent online.
        let queued = v
            .until(|f| f["kind"] == "notice" || f["decision"] == "offline")
            .await;
        assert_eq!(queued["notice"]["notice"], "queued", "{queued}");
        v
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
    port: u16,
    pub token: String,
    /// The conversation id from `welcome`.
    pub conversation: String,
    /// The visitor key from `welcome` (links this browser's conversations).
    pub visitor_key: String,
    pub last_seq: u64,
    counter: u32,
}

impl Visitor {
    /// Opens the socket, with an `Origin` header if given.
    pub async fn connect(
        app: &TestApp,
        origin: Option<&str>,
    ) -> Result<Visitor, tokio_tungstenite::tungstenite::Error> {
        Visitor::connect_port(app.port, origin).await
    }

    /// Opens the socket with these extra headers (`X-Forwarded-For` with `trust_proxy`, ...).
    pub async fn connect_with(
        app: &TestApp,
        headers: &[(&'static str, &str)],
    ) -> Result<Visitor, tokio_tungstenite::tungstenite::Error> {
        Visitor::connect_headers(app.port, headers).await
    }

    async fn connect_port(
        port: u16,
        origin: Option<&str>,
    ) -> Result<Visitor, tokio_tungstenite::tungstenite::Error> {
        match origin {
            Some(origin) => Visitor::connect_headers(port, &[("Origin", origin)]).await,
            None => Visitor::connect_headers(port, &[]).await,
        }
    }

    async fn connect_headers(
        port: u16,
        headers: &[(&'static str, &str)],
    ) -> Result<Visitor, tokio_tungstenite::tungstenite::Error> {
        let mut request = format!("ws://127.0.0.1:{port}/ws")
            .into_client_request()
            .unwrap();
        for (name, value) in headers {
            request.headers_mut().insert(*name, value.parse().unwrap());
        }
        let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
            .await
            .expect("handshake in time")?;
        Ok(Visitor {
            ws,
            port,
            token: String::new(),
            conversation: String::new(),
            visitor_key: String::new(),
            last_seq: 0,
            counter: 0,
        })
    }

    /// Sends `hello` and returns the `welcome`.
    pub async fn hello(&mut self, hello: Value) -> Value {
        self.send(hello).await;
        let welcome = self.until(|f| f["type"] == "welcome").await;
        self.token = welcome["token"].as_str().unwrap().to_owned();
        self.conversation = welcome["conversation"].as_str().unwrap().to_owned();
        self.visitor_key = welcome["visitor_key"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        welcome
    }

    pub async fn send(&mut self, frame: Value) {
        self.send_raw(Message::text(frame.to_string())).await;
    }

    /// The `welcome` this visitor's conversation gives on a second socket (a resume).
    pub async fn hello_again_elsewhere(&self) -> Value {
        let mut other = Visitor::connect_port(self.port, None)
            .await
            .expect("connects");
        other
            .hello(json!({"type": "hello", "token": self.token, "last_seq": self.last_seq}))
            .await
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

    /// Reads frames until the notice `kind` (`queued`, `assigned`, `closed`, ...).
    pub async fn notice(&mut self, kind: &str) -> Value {
        self.until(|f| f["kind"] == "notice" && f["notice"]["notice"] == kind)
            .await
    }

    /// The bot's next answer event.
    pub async fn bot_answer(&mut self) -> Value {
        self.until(|f| f["type"] == "event" && f["kind"] == "bot_answer")
            .await
    }

    /// The close frame the server sends next.
    pub async fn closed(&mut self) -> Option<u16> {
        close_code(&mut self.ws).await
    }

    pub async fn disconnect(mut self) {
        let _ = self.ws.close(None).await;
    }
}

/// The code of the close frame the server sends next on `ws` (frames before it are skipped);
/// `None` when the socket ends without one.
async fn close_code(ws: &mut WebSocketStream<MaybeTlsStream<TcpStream>>) -> Option<u16> {
    let work = async {
        loop {
            match ws.next().await {
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

/// The agent console's websocket, with domain verbs.
pub struct AgentClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub cookie: String,
}

impl AgentClient {
    /// Waits for the server to close the console; its close code.
    pub async fn closed(&mut self) -> Option<u16> {
        close_code(&mut self.ws).await
    }

    pub async fn connect(
        app: &TestApp,
        cookie: &str,
    ) -> Result<AgentClient, tokio_tungstenite::tungstenite::Error> {
        let mut request = format!("ws://127.0.0.1:{}/ws/agent", app.port)
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert("Cookie", cookie.parse().unwrap());
        let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
            .await
            .expect("handshake in time")?;
        Ok(AgentClient {
            ws,
            cookie: cookie.to_owned(),
        })
    }

    pub async fn send(&mut self, frame: Value) {
        tokio::time::timeout(WAIT, self.ws.send(Message::text(frame.to_string())))
            .await
            .expect("send in time")
            .expect("socket open");
    }

    /// The next JSON frame within `wait`, or `None`.
    pub async fn try_next(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .ok()?
            {
                Some(Ok(Message::Text(t))) => {
                    return Some(serde_json::from_str(&t).expect("the server sends JSON"));
                }
                Some(Ok(Message::Close(frame))) => {
                    panic!("the server closed the agent socket: {frame:?}")
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => panic!("agent socket error: {e}"),
                None => panic!("agent socket ended"),
            }
        }
    }

    pub async fn until(&mut self, matches: impl Fn(&Value) -> bool) -> Value {
        loop {
            let f = self
                .try_next(WAIT)
                .await
                .expect("an agent frame arrives in time");
            if matches(&f) {
                return f;
            }
        }
    }

    /// The queue snapshot once it lists exactly `n` conversations.
    pub async fn queue_of(&mut self, n: usize) -> Vec<Value> {
        let q = self
            .until(|f| f["type"] == "queue" && f["items"].as_array().unwrap().len() == n)
            .await;
        q["items"].as_array().unwrap().clone()
    }

    /// The next event of `conversation` matching `matches`.
    pub async fn event(&mut self, conversation: &str, matches: impl Fn(&Value) -> bool) -> Value {
        let f = self
            .until(|f| {
                f["type"] == "conversation_event"
                    && f["conversation"] == conversation
                    && matches(&f["event"])
            })
            .await;
        f["event"].clone()
    }

    pub async fn act(&mut self, kind: &str, conversation: &str, extra: Value) {
        let mut frame = json!({"type": kind, "conversation": conversation});
        if let (Some(f), Some(e)) = (frame.as_object_mut(), extra.as_object()) {
            f.extend(e.clone());
        }
        self.send(frame).await;
    }

    pub async fn disconnect(mut self) {
        let _ = self.ws.close(None).await;
    }
}
