//! Server settings: built-in defaults, then an optional `frontdesk.toml`, then `FRONTDESK_*`
//! environment variables and command-line flags (clap reads both; a flag wins over its variable).
//! Every setting is listed with its default in the README.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

/// All server settings, with their defaults in `Default`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Address to listen on.
    pub host: String,
    /// Port to listen on (0 picks a free port).
    pub port: u16,
    /// The knowledge base folder.
    pub knowledge_base: PathBuf,
    /// Largest visitor text frame accepted, in bytes; larger ones get `error too_large`.
    pub max_frame_bytes: usize,
    /// Sustained messages per second per socket (token bucket refill).
    pub rate_per_second: f64,
    /// Burst of messages allowed at once per socket (token bucket size).
    pub rate_burst: f64,
    /// Rate-limited frames in a row after which the socket is closed with 1008.
    pub abuse_limit: u32,
    /// Open visitor sockets allowed at once; more are refused with 503.
    pub max_connections: usize,
    /// Seconds between server pings.
    pub heartbeat_seconds: u64,
    /// Seconds without any frame (or pong) after which a socket is closed.
    pub idle_timeout_seconds: u64,
    /// Seconds a new visitor socket has to send `hello`; then it is closed with 1008.
    pub hello_timeout_seconds: u64,
    /// Open visitor sockets allowed from one client address; more are refused with 429.
    pub connections_per_address: usize,
    /// New conversations one client address may start per minute (a burst of as many at once);
    /// more are refused with the `rate_limited` error until the minute has passed.
    pub conversations_per_minute: u32,
    /// Whether a reverse proxy in front sets `X-Forwarded-For`, `-Proto` and `-Host` (and
    /// `Forwarded`): only then are they believed, for the client's address, HTTPS and the
    /// server's own origin.
    pub trust_proxy: bool,
    /// Seconds an HTTP request (its body included) may take before it is answered 408: a client
    /// that sends its body a byte at a time does not hold a connection for ever.
    pub request_timeout_seconds: u64,
    /// When set, `/metrics` answers only requests with `Authorization: Bearer <this>`.
    pub metrics_token: Option<String>,
    /// Extra origins (e.g. `https://shop.example`) allowed to open `/ws`; the server's own origin
    /// and localhost are always allowed.
    pub allowed_origins: Vec<String>,
    /// Which store keeps conversations, logins and reports: `sqlite` (a database file in
    /// `data_dir`), `redis` (several nodes share one Redis at `redis_url`) or `memory` (forgets
    /// everything when the process stops: tests and throwaway demos). Unset: `redis` when
    /// `redis_url` is set, else `sqlite`.
    pub store: Option<StoreKind>,
    /// Where the SQLite store keeps its database (`frontdesk.db`) and the demo logins.
    pub data_dir: PathBuf,
    /// Redis to share conversations and the queue with other nodes (`redis://host:6379`).
    pub redis_url: Option<String>,
    /// Prefix of every Redis key, so several deployments can share one Redis.
    pub redis_prefix: String,
    /// The agent roster (TOML); see `frontdesk agent add`.
    pub agents_file: PathBuf,
    /// Give waiting conversations to the least-loaded online agent automatically.
    pub auto_assign: bool,
    /// Seconds an agent has to answer a newly assigned chat before it is offered to the next.
    pub assign_timeout_seconds: u64,
    /// Seconds an agent stays present without a heartbeat (a console reload within this keeps
    /// their chats; after it, their chats go back to the queue).
    pub presence_ttl_seconds: u64,
    /// Hours an agent login lasts.
    pub agent_session_hours: u64,
    /// Secret shared with the site's backend to verify visitor ids (HMAC-SHA256); unset = ids
    /// are not accepted.
    pub identity_secret: Option<String>,
    /// With `identity_secret`: refuse to chat with visitors who do not prove an identity.
    pub require_identity: bool,
    /// Reload the knowledge base when its files change (`POST /api/kb/reload` works either way).
    pub watch_knowledge_base: bool,
    /// Days a conversation is kept after its last activity; then it is erased (0 = forever).
    pub retention_days: u64,
    /// What to redact from visitor messages before they are stored or shown to agents: any of
    /// `email`, `phone`, `card` (Luhn-checked card numbers).
    pub redact: Vec<crate::privacy::Redact>,
    /// Where to POST conversation events (see docs/operations.md).
    pub webhooks: Vec<crate::webhooks::WebhookConfig>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            host: "127.0.0.1".into(),
            port: 8080,
            knowledge_base: PathBuf::from("knowledge_base"),
            max_frame_bytes: 4096,
            rate_per_second: 2.0,
            rate_burst: 10.0,
            abuse_limit: 20,
            max_connections: 10_000,
            heartbeat_seconds: 15,
            idle_timeout_seconds: 120,
            hello_timeout_seconds: 10,
            connections_per_address: 50,
            conversations_per_minute: 10,
            trust_proxy: false,
            request_timeout_seconds: 30,
            metrics_token: None,
            allowed_origins: Vec::new(),
            store: None,
            data_dir: PathBuf::from("data"),
            redis_url: None,
            redis_prefix: "frontdesk".into(),
            agents_file: PathBuf::from("agents.toml"),
            auto_assign: true,
            assign_timeout_seconds: 90,
            presence_ttl_seconds: 20,
            agent_session_hours: 12,
            identity_secret: None,
            require_identity: false,
            watch_knowledge_base: true,
            retention_days: 30,
            redact: vec![crate::privacy::Redact::Card],
            webhooks: Vec::new(),
        }
    }
}

/// Flags (and their `FRONTDESK_*` variables) of `frontdesk serve`; unset ones keep the file's or
/// the default value.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServeArgs {
    /// Settings file (TOML); `frontdesk.toml` is read if it exists.
    #[arg(long, env = "FRONTDESK_CONFIG")]
    pub config: Option<PathBuf>,
    #[arg(long, env = "FRONTDESK_HOST")]
    pub host: Option<String>,
    #[arg(long, env = "FRONTDESK_PORT")]
    pub port: Option<u16>,
    #[arg(long, env = "FRONTDESK_KNOWLEDGE_BASE")]
    pub knowledge_base: Option<PathBuf>,
    #[arg(long, env = "FRONTDESK_MAX_FRAME_BYTES")]
    pub max_frame_bytes: Option<usize>,
    #[arg(long, env = "FRONTDESK_RATE_PER_SECOND")]
    pub rate_per_second: Option<f64>,
    #[arg(long, env = "FRONTDESK_RATE_BURST")]
    pub rate_burst: Option<f64>,
    #[arg(long, env = "FRONTDESK_ABUSE_LIMIT")]
    pub abuse_limit: Option<u32>,
    #[arg(long, env = "FRONTDESK_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    #[arg(long, env = "FRONTDESK_HEARTBEAT_SECONDS")]
    pub heartbeat_seconds: Option<u64>,
    #[arg(long, env = "FRONTDESK_IDLE_TIMEOUT_SECONDS")]
    pub idle_timeout_seconds: Option<u64>,
    #[arg(long, env = "FRONTDESK_HELLO_TIMEOUT_SECONDS")]
    pub hello_timeout_seconds: Option<u64>,
    #[arg(long, env = "FRONTDESK_CONNECTIONS_PER_ADDRESS")]
    pub connections_per_address: Option<usize>,
    #[arg(long, env = "FRONTDESK_CONVERSATIONS_PER_MINUTE")]
    pub conversations_per_minute: Option<u32>,
    /// Believe X-Forwarded-* / Forwarded headers (only behind your own reverse proxy).
    #[arg(long, env = "FRONTDESK_TRUST_PROXY")]
    pub trust_proxy: Option<bool>,
    #[arg(long, env = "FRONTDESK_REQUEST_TIMEOUT_SECONDS")]
    pub request_timeout_seconds: Option<u64>,
    #[arg(long, env = "FRONTDESK_METRICS_TOKEN")]
    pub metrics_token: Option<String>,
    /// Comma-separated extra origins allowed to open `/ws`.
    #[arg(long, env = "FRONTDESK_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Option<Vec<String>>,
    /// memory, sqlite or redis (unset: redis when REDIS_URL is set, else sqlite).
    #[arg(long, env = "FRONTDESK_STORE")]
    pub store: Option<StoreKind>,
    #[arg(long, env = "FRONTDESK_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Redis URL (selects the Redis store unless `--store` says otherwise).
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,
    #[arg(long, env = "FRONTDESK_REDIS_PREFIX")]
    pub redis_prefix: Option<String>,
    #[arg(long, env = "FRONTDESK_AGENTS_FILE")]
    pub agents_file: Option<PathBuf>,
    #[arg(long, env = "FRONTDESK_AUTO_ASSIGN")]
    pub auto_assign: Option<bool>,
    #[arg(long, env = "FRONTDESK_ASSIGN_TIMEOUT_SECONDS")]
    pub assign_timeout_seconds: Option<u64>,
    #[arg(long, env = "FRONTDESK_PRESENCE_TTL_SECONDS")]
    pub presence_ttl_seconds: Option<u64>,
    #[arg(long, env = "FRONTDESK_AGENT_SESSION_HOURS")]
    pub agent_session_hours: Option<u64>,
    /// Prefer the environment variable: flags show up in process lists.
    #[arg(long, env = "FRONTDESK_IDENTITY_SECRET", hide_env_values = true)]
    pub identity_secret: Option<String>,
    #[arg(long, env = "FRONTDESK_REQUIRE_IDENTITY")]
    pub require_identity: Option<bool>,
    #[arg(long, env = "FRONTDESK_WATCH_KNOWLEDGE_BASE")]
    pub watch_knowledge_base: Option<bool>,
    #[arg(long, env = "FRONTDESK_RETENTION_DAYS")]
    pub retention_days: Option<u64>,
    /// Comma-separated: email, phone, card (an empty value turns redaction off).
    #[arg(long, env = "FRONTDESK_REDACT", value_delimiter = ',')]
    pub redact: Option<Vec<String>>,
}

const DEFAULT_FILE: &str = "frontdesk.toml";

/// The kinds of store (see `Settings::store`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    Memory,
    Sqlite,
    Redis,
}

impl Settings {
    /// The store these settings choose.
    pub fn store_kind(&self) -> StoreKind {
        match (self.store, &self.redis_url) {
            (Some(kind), _) => kind,
            (None, Some(_)) => StoreKind::Redis,
            (None, None) => StoreKind::Sqlite,
        }
    }

    /// The SQLite store's database file.
    pub fn database_file(&self) -> PathBuf {
        self.data_dir.join(crate::store::DATABASE_FILE)
    }

    /// Defaults, then the settings file, then flags/environment.
    pub fn load(args: &ServeArgs) -> anyhow::Result<Settings> {
        let file = args.config.clone().or_else(|| {
            let default = Path::new(DEFAULT_FILE);
            default.exists().then(|| default.to_path_buf())
        });
        let mut s = match file {
            Some(path) => {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                toml::from_str(&text)
                    .with_context(|| format!("{}: invalid settings", path.display()))?
            }
            None => Settings::default(),
        };
        macro_rules! take {
            ($($field:ident),*) => { $( if let Some(v) = args.$field.clone() { s.$field = v; } )* };
        }
        take!(
            host,
            port,
            knowledge_base,
            max_frame_bytes,
            rate_per_second,
            rate_burst,
            abuse_limit,
            max_connections,
            heartbeat_seconds,
            idle_timeout_seconds,
            hello_timeout_seconds,
            connections_per_address,
            conversations_per_minute,
            trust_proxy,
            request_timeout_seconds,
            allowed_origins,
            data_dir,
            redis_prefix,
            agents_file,
            auto_assign,
            assign_timeout_seconds,
            presence_ttl_seconds,
            agent_session_hours,
            require_identity,
            watch_knowledge_base,
            retention_days
        );
        if let Some(kinds) = &args.redact {
            s.redact = kinds
                .iter()
                .filter(|k| !k.trim().is_empty())
                .map(|k| k.trim().parse())
                .collect::<Result<_, _>>()?;
        }
        if let Some(secret) = args.identity_secret.clone() {
            s.identity_secret = Some(secret);
        }
        anyhow::ensure!(
            !s.require_identity || s.identity_secret.is_some(),
            "require_identity needs identity_secret"
        );
        anyhow::ensure!(
            s.identity_secret.as_ref().is_none_or(|x| x.len() >= 16),
            "identity_secret must be at least 16 characters"
        );
        if let Some(token) = args.metrics_token.clone() {
            s.metrics_token = Some(token);
        }
        if let Some(url) = args.redis_url.clone() {
            s.redis_url = Some(url);
        }
        if let Some(kind) = args.store {
            s.store = Some(kind);
        }
        anyhow::ensure!(
            s.store_kind() != StoreKind::Redis || s.redis_url.is_some(),
            "store = \"redis\" needs redis_url (or REDIS_URL)"
        );
        anyhow::ensure!(
            s.presence_ttl_seconds >= 1 && s.assign_timeout_seconds >= 1,
            "presence_ttl_seconds and assign_timeout_seconds must be at least 1"
        );
        anyhow::ensure!(
            s.rate_per_second > 0.0 && s.rate_burst >= 1.0,
            "rate_per_second must be > 0 and rate_burst >= 1"
        );
        anyhow::ensure!(
            s.max_frame_bytes >= 16,
            "max_frame_bytes must be at least 16"
        );
        for origin in &s.allowed_origins {
            anyhow::ensure!(
                is_origin(origin),
                "allowed_origins: `{origin}` is not an origin; write scheme://host[:port] with no \
                 path or trailing slash, e.g. `https://shop.example` or `http://localhost:8080`"
            );
        }
        for hook in &s.webhooks {
            anyhow::ensure!(
                hook.url.starts_with("http://") || hook.url.starts_with("https://"),
                "webhook url `{}` must start with http:// or https://",
                hook.url
            );
            anyhow::ensure!(
                hook.secret.len() >= 16,
                "webhook `{}`: secret must be at least 16 characters",
                hook.url
            );
        }
        Ok(s)
    }
}

/// Whether `text` is a web origin exactly as a browser sends it in `Origin`.
fn is_origin(text: &str) -> bool {
    url::Url::parse(text).is_ok_and(|u| {
        matches!(u.scheme(), "http" | "https") && u.origin().ascii_serialization() == text
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_origins_must_be_origins() {
        for good in [
            "https://shop.example",
            "http://localhost:8080",
            "http://127.0.0.1:18600",
        ] {
            assert!(is_origin(good), "{good}");
        }
        for bad in [
            "shop.example:18600/",
            "https://shop.example/",
            "https://shop.example/path",
            "shop.example",
            "ftp://shop.example",
            "HTTPS://Shop.example",
        ] {
            assert!(!is_origin(bad), "{bad}");
        }
        let refused = Settings::load(&ServeArgs {
            allowed_origins: Some(vec!["shop.example:18600/".into()]),
            ..ServeArgs::default()
        })
        .unwrap_err()
        .to_string();
        assert!(
            refused.contains("`shop.example:18600/` is not an origin"),
            "{refused}"
        );
        assert!(
            refused.contains("https://shop.example"),
            "says the expected form: {refused}"
        );
    }

    #[test]
    fn flags_override_the_file_which_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f.toml");
        std::fs::write(&file, "port = 9000\nmax_frame_bytes = 2048\n").unwrap();
        let args = ServeArgs {
            config: Some(file),
            port: Some(9100),
            ..ServeArgs::default()
        };
        let s = Settings::load(&args).unwrap();
        assert_eq!(s.port, 9100);
        assert_eq!(s.max_frame_bytes, 2048);
        assert_eq!(s.host, "127.0.0.1");
    }

    #[test]
    fn the_store_is_sqlite_unless_redis_or_memory_is_chosen() {
        let mut s = Settings::default();
        assert_eq!(s.store_kind(), StoreKind::Sqlite);
        assert_eq!(s.database_file(), PathBuf::from("data/frontdesk.db"));
        s.redis_url = Some("redis://127.0.0.1:6379".into());
        assert_eq!(s.store_kind(), StoreKind::Redis);
        s.store = Some(StoreKind::Memory);
        assert_eq!(s.store_kind(), StoreKind::Memory);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f.toml");
        std::fs::write(&file, "store = \"redis\"\n").unwrap();
        let err = Settings::load(&ServeArgs {
            config: Some(file),
            ..ServeArgs::default()
        })
        .unwrap_err();
        assert!(format!("{err:#}").contains("redis_url"), "{err:#}");
    }

    #[test]
    fn a_misspelt_setting_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f.toml");
        std::fs::write(&file, "prot = 9000\n").unwrap();
        let err = Settings::load(&ServeArgs {
            config: Some(file),
            ..ServeArgs::default()
        })
        .unwrap_err();
        assert!(format!("{err:#}").contains("prot"), "{err:#}");
    }
}
