//! Server settings: built-in defaults, then an optional `frontdesk.toml`, then `FRONTDESK_*`
//! environment variables and command-line flags (clap reads both; a flag wins over its variable).
//! The layers are merged by the `config` crate, which also reads each value as its setting's
//! type. Each setting is declared once, as a field of `Settings`: its flag, variable and help come
//! from the field. Every setting is listed with its default in the README (a test checks).

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use documented::DocumentedFields;
use serde::{Deserialize, Serialize};

/// All server settings, with their defaults in `Default`. Each field is a key of the settings
/// file, a flag `--<field-with-dashes>` of `frontdesk serve` and a variable `FRONTDESK_<FIELD>`,
/// its doc comment the flag's help.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, DocumentedFields)]
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
    /// With `trust_proxy`: how many proxies of yours stand in front (each appends the address
    /// it saw to `X-Forwarded-For`); the client's address is that many entries from the right.
    /// Entries further left are the client's own words.
    pub trusted_proxy_hops: u32,
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
    /// Seconds a chat an agent did not answer waits for another agent before it is offered
    /// back to them (when nobody else eligible has room).
    pub reoffer_after_seconds: u64,
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
    pub redact: Vec<Redact>,
    /// Where to POST conversation events (see docs/operations.md).
    pub webhooks: Vec<WebhookConfig>,
    /// Where attachments are kept: unset = the folder `attachments` in `data_dir`;
    /// `s3://bucket/prefix` = an S3-compatible bucket (several nodes), with the usual `AWS_*`
    /// variables for credentials, region and endpoint (`AWS_ENDPOINT_URL` for MinIO and others).
    pub attachments_url: Option<String>,
    /// Largest attachment accepted, in bytes (0 turns attachments off).
    pub attachment_max_bytes: usize,
    /// What visitors and agents may send, decided from the file's content: any of `image`
    /// (JPEG, PNG, GIF, WebP; re-encoded without metadata), `pdf`, `text`.
    pub attachment_types: Vec<FileKind>,
    /// Attachments one conversation may send per minute (visitor and agents together).
    pub attachments_per_minute: u32,
    /// What an editor's fix in /admin does: `files` writes the Markdown files and reloads;
    /// `off` writes nothing and offers each fix as a patch (a knowledge base kept in git).
    pub kb_writes: WriteMode,
    /// The SMTP server mail goes through: `smtp://host:25`, `smtps://user:pass@host:465`,
    /// `smtp://user:pass@host:587?tls=required`; unset = no e-mail.
    pub smtp_url: Option<String>,
    /// The sender of every mail, e.g. `Larkspur Support <support@larkspur.example>` (needed
    /// with `smtp_url`).
    pub mail_from: Option<String>,
    /// Where each offline message is announced by e-mail (with `smtp_url`); unset = no notes.
    pub team_email: Option<String>,
    /// Seconds before a mail the SMTP server did not take is tried again; each next pause is
    /// twice as long, up to an hour, 8 attempts in all.
    pub mail_retry_seconds: u64,
    /// Minutes a visitor's widget must have been gone before an agent's replies are mailed to
    /// the address the visitor gave (with `smtp_url`; 0 = at once).
    pub mail_after_minutes: f64,
    /// The domain whose mail reaches `frontdesk mail-in` (or `POST /api/mail/inbound`): mails
    /// to visitors then answer to `reply+<token>@<this>`, and the answers land in the
    /// conversation. Unset = answers by mail go to `mail_from`.
    pub mail_reply_domain: Option<String>,
    /// The shared secret that `POST /api/mail/inbound` (and `frontdesk mail-in`, which posts
    /// there) must present as `Authorization: Bearer <this>`; unset = the endpoint is off.
    pub mail_inbound_secret: Option<String>,
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
            trusted_proxy_hops: 1,
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
            reoffer_after_seconds: REOFFER_AFTER.as_secs(),
            presence_ttl_seconds: 20,
            agent_session_hours: 12,
            identity_secret: None,
            require_identity: false,
            watch_knowledge_base: true,
            retention_days: 30,
            redact: vec![Redact::Card],
            webhooks: Vec::new(),
            attachments_url: None,
            attachment_max_bytes: 10 * 1024 * 1024,
            attachment_types: vec![FileKind::Image, FileKind::Pdf, FileKind::Text],
            attachments_per_minute: 10,
            kb_writes: WriteMode::Files,
            smtp_url: None,
            mail_from: None,
            team_email: None,
            mail_retry_seconds: 30,
            mail_after_minutes: 5.0,
            mail_reply_domain: None,
            mail_inbound_secret: None,
        }
    }
}

/// `frontdesk serve`'s arguments: the settings file, and the settings given as flags or
/// environment variables. The flags are not declared here: `setting_args` makes one per field of
/// `Settings` (`--max-frame-bytes`, env `FRONTDESK_MAX_FRAME_BYTES`, the field's doc comment as
/// its help), so a new setting is declared once, in `Settings`.
#[derive(Debug, Clone, Default)]
pub struct ServeArgs {
    /// Settings file (TOML); `frontdesk.toml` is read if it exists.
    pub config: Option<PathBuf>,
    /// Settings given as flags or environment variables, by field name, as written.
    pub given: Vec<(String, Given)>,
}

/// A setting's value as a flag or variable wrote it; the settings' types read it.
#[derive(Debug, Clone, PartialEq)]
pub enum Given {
    One(String),
    /// A comma-separated list (`--allowed-origins a,b`; an empty value is an empty list).
    List(Vec<String>),
}

impl ServeArgs {
    /// These arguments with `name` set to `value` (as a flag would set it).
    pub fn with(mut self, name: &str, value: impl Into<String>) -> ServeArgs {
        let value = value.into();
        let given = if is_list(name) {
            Given::List(split_list(&value))
        } else {
            Given::One(value)
        };
        self.given.push((name.to_owned(), given));
        self
    }
}

/// Settings that only the file can set (tables).
const FILE_ONLY: &[&str] = &["webhooks"];
/// Settings whose variable is not `FRONTDESK_<NAME>`.
const ENV_NAMES: &[(&str, &str)] = &[("redis_url", "REDIS_URL")];
/// Settings whose values `--help` must not print (from the environment).
const SECRETS: &[&str] = &["identity_secret", "metrics_token", "mail_inbound_secret"];

/// The settings that flags and variables set, in declaration order.
fn flag_settings() -> impl Iterator<Item = &'static str> {
    Settings::FIELD_NAMES
        .iter()
        .copied()
        .filter(|name| !FILE_ONLY.contains(name))
}

/// The environment variable of setting `name`.
pub fn env_name(name: &str) -> String {
    ENV_NAMES.iter().find(|(n, _)| *n == name).map_or_else(
        || format!("FRONTDESK_{}", name.to_uppercase()),
        |(_, e)| (*e).to_owned(),
    )
}

/// Whether setting `name` is a list (its default is one).
fn is_list(name: &str) -> bool {
    static DEFAULTS: std::sync::LazyLock<serde_json::Value> = std::sync::LazyLock::new(|| {
        serde_json::to_value(Settings::default()).expect("the defaults are plain data")
    });
    DEFAULTS.get(name).is_some_and(serde_json::Value::is_array)
}

fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

/// One flag per setting, each with its variable and its doc comment as help.
fn setting_args() -> Vec<clap::Arg> {
    flag_settings()
        .map(|name| {
            let help = Settings::get_field_docs(name)
                .unwrap_or_default()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            let arg = clap::Arg::new(name)
                .long(name.replace('_', "-"))
                .env(env_name(name))
                .value_name("VALUE")
                .help(help)
                .hide_env_values(SECRETS.contains(&name));
            if is_list(name) {
                arg.value_name("A,B").value_delimiter(',').num_args(1)
            } else {
                arg
            }
        })
        .collect()
}

impl clap::Args for ServeArgs {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        cmd.arg(
            clap::Arg::new("config")
                .long("config")
                .env("FRONTDESK_CONFIG")
                .value_name("FILE")
                .value_parser(clap::value_parser!(PathBuf))
                .help("Settings file (TOML); `frontdesk.toml` is read if it exists"),
        )
        .args(setting_args())
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

impl clap::FromArgMatches for ServeArgs {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<ServeArgs, clap::Error> {
        let mut args = ServeArgs {
            config: matches.get_one::<PathBuf>("config").cloned(),
            given: Vec::new(),
        };
        for name in flag_settings() {
            let Some(values) = matches.get_many::<String>(name) else {
                continue;
            };
            let values: Vec<String> = values.cloned().collect();
            let given = if is_list(name) {
                Given::List(values.iter().flat_map(|v| split_list(v)).collect())
            } else {
                Given::One(values.concat())
            };
            args.given.push((name.to_owned(), given));
        }
        Ok(args)
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = ServeArgs::from_arg_matches(matches)?;
        Ok(())
    }
}

const DEFAULT_FILE: &str = "frontdesk.toml";

/// The kinds of store (see `Settings::store`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
        self.data_dir.join(DATABASE_FILE)
    }

    /// Defaults, then the settings file, then flags/environment.
    pub fn load(args: &ServeArgs) -> anyhow::Result<Settings> {
        let file = args.config.clone().or_else(|| {
            let default = Path::new(DEFAULT_FILE);
            default.exists().then(|| default.to_path_buf())
        });
        let mut layers =
            config::Config::builder().add_source(config::Config::try_from(&Settings::default())?);
        if let Some(path) = &file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            layers = layers.add_source(config::File::from_str(&text, config::FileFormat::Toml));
        }
        for (name, value) in &args.given {
            layers = match value {
                Given::One(v) => layers.set_override(name.as_str(), v.as_str())?,
                Given::List(vs) => layers.set_override(name.as_str(), vs.clone())?,
            };
        }
        let where_from = file.as_ref().map_or_else(
            || "invalid settings".to_owned(),
            |p| format!("{}: invalid settings", p.display()),
        );
        let s: Settings = layers
            .build()
            .and_then(config::Config::try_deserialize)
            .context(where_from)?;
        anyhow::ensure!(
            !s.require_identity || s.identity_secret.is_some(),
            "require_identity needs identity_secret"
        );
        anyhow::ensure!(
            s.identity_secret.as_ref().is_none_or(|x| x.len() >= 16),
            "identity_secret must be at least 16 characters"
        );
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
        anyhow::ensure!(
            s.smtp_url.is_none() || s.mail_from.is_some(),
            "smtp_url needs mail_from (the sender, e.g. `Support <support@shop.example>`)"
        );
        anyhow::ensure!(
            s.team_email.is_none() || s.smtp_url.is_some(),
            "team_email needs smtp_url (the SMTP server to send through)"
        );
        anyhow::ensure!(
            s.mail_after_minutes.is_finite() && s.mail_after_minutes >= 0.0,
            "mail_after_minutes must be a number of minutes, 0 or more"
        );
        anyhow::ensure!(
            s.mail_reply_domain.is_none() || s.smtp_url.is_some(),
            "mail_reply_domain needs smtp_url (the SMTP server to send through)"
        );
        anyhow::ensure!(
            s.mail_inbound_secret.as_ref().is_none_or(|x| x.len() >= 16),
            "mail_inbound_secret must be at least 16 characters"
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

impl Settings {
    /// Whether pages at `origin` may hold the widget: localhost on any port (http or https),
    /// and `allowed_origins`. (A socket's request also allows the server's own origin.)
    pub fn lists_origin(&self, origin: &str) -> bool {
        is_localhost(origin) || self.allowed_origins.iter().any(|o| o == origin)
    }
}

fn is_localhost(origin: &str) -> bool {
    let Some(rest) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        return false;
    };
    let host = match rest.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => rest.split(':').next().unwrap_or(""),
    };
    matches!(host, "localhost" | "127.0.0.1" | "::1")
}

/// Whether `text` is a web origin exactly as a browser sends it in `Origin`.
fn is_origin(text: &str) -> bool {
    url::Url::parse(text).is_ok_and(|u| {
        matches!(u.scheme(), "http" | "https") && u.origin().ascii_serialization() == text
    })
}

// ---- value types the settings hold (owned here: config imports nothing of the crate) ----

/// The database file's name inside the data directory.
pub const DATABASE_FILE: &str = "frontdesk.db";

/// How long a chat one agent let go waits for someone else before it is offered back to that
/// agent (when nobody else eligible has room). Long enough for a colleague to come back from a
/// call, short enough that a visitor is never left behind by a router's memory.
pub const REOFFER_AFTER: Duration = Duration::from_secs(30);

/// A kind of personal data to redact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Redact {
    /// `name@domain.tld` -> `[email]`.
    Email,
    /// 9 to 15 digits (a longer run is not a phone number), optionally with `+`, spaces, dots,
    /// dashes, parentheses -> `[phone]`.
    Phone,
    /// 13 to 19 digits (spaces or dashes between) that pass the Luhn check -> `[card]`.
    Card,
}

impl FromStr for Redact {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> anyhow::Result<Redact> {
        match s {
            "email" => Ok(Redact::Email),
            "phone" => Ok(Redact::Phone),
            "card" => Ok(Redact::Card),
            other => anyhow::bail!("cannot redact `{other}`: use email, phone or card"),
        }
    }
}

/// What `/admin` does with an editor's fix to the knowledge base.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WriteMode {
    /// Write the Markdown files and reload.
    #[default]
    Files,
    /// Write nothing: each fix is offered as a patch (`git apply`) for a knowledge base kept in
    /// git and deployed by CI.
    Off,
}

/// A kind of file attachments may be (decided from the content).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    Image,
    Pdf,
    Text,
}

impl FileKind {
    /// As people read it.
    pub fn label(self) -> &'static str {
        match self {
            FileKind::Image => "image",
            FileKind::Pdf => "PDF",
            FileKind::Text => "plain text",
        }
    }
}

/// One configured endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub url: String,
    /// Signs every delivery (`X-Frontdesk-Signature`); at least 16 characters.
    pub secret: String,
    /// Which events to send; empty = all.
    #[serde(default)]
    pub events: Vec<HookEvent>,
    /// Attempts per delivery (the first plus retries).
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    /// The first retry waits this long; each next one twice as long (plus jitter).
    #[serde(default = "default_backoff")]
    pub backoff_ms: u64,
}

fn default_attempts() -> u32 {
    6
}

fn default_backoff() -> u64 {
    1000
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HookEvent {
    HandedOff,
    Assigned,
    Closed,
    Rated,
    OfflineMessage,
}

impl HookEvent {
    pub fn name(self) -> &'static str {
        match self {
            HookEvent::HandedOff => "handed_off",
            HookEvent::Assigned => "assigned",
            HookEvent::Closed => "closed",
            HookEvent::Rated => "rated",
            HookEvent::OfflineMessage => "offline_message",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn localhost_origins_are_recognised_on_any_port() {
        assert!(is_localhost("http://localhost:3000"));
        assert!(is_localhost("http://127.0.0.1"));
        assert!(is_localhost("http://[::1]:8080"));
        assert!(!is_localhost("http://localhost.evil.example"));
        assert!(!is_localhost("https://shop.example"));
        assert!(!is_localhost("file://localhost"));
        assert!(!is_localhost("chrome-extension://localhost"));
    }

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
        let refused =
            Settings::load(&ServeArgs::default().with("allowed_origins", "shop.example:18600/"))
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
            ..ServeArgs::default()
        }
        .with("port", "9100");
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

    #[test]
    fn flags_are_read_as_their_settings_types() {
        // What a shell gives is text: each value is read as its setting's type, and a secret
        // made of digits stays text.
        let s = Settings::load(
            &ServeArgs::default()
                .with("rate_per_second", "3.5")
                .with("trust_proxy", "true")
                .with("identity_secret", "1234567890123456789")
                .with("store", "memory")
                .with("redact", "email, phone")
                .with("allowed_origins", ""),
        )
        .unwrap();
        assert_eq!(s.rate_per_second, 3.5);
        assert!(s.trust_proxy);
        assert_eq!(s.identity_secret.as_deref(), Some("1234567890123456789"));
        assert_eq!(s.store, Some(StoreKind::Memory));
        assert_eq!(s.redact, vec![Redact::Email, Redact::Phone]);
        assert!(s.allowed_origins.is_empty());
        let err = Settings::load(&ServeArgs::default().with("port", "eighty")).unwrap_err();
        assert!(
            format!("{err:#}").contains("port"),
            "names the setting: {err:#}"
        );
    }

    #[test]
    fn every_setting_has_a_flag_a_variable_help_and_a_readme_row() {
        use clap::{Args, FromArgMatches};
        let cmd = ServeArgs::augment_args(clap::Command::new("serve"));
        let readme = include_str!("../README.md");
        for name in Settings::FIELD_NAMES {
            let row = format!("| `{name}` |");
            assert!(readme.contains(&row), "README has no row for `{name}`");
            if FILE_ONLY.contains(name) {
                continue;
            }
            let arg = cmd
                .get_arguments()
                .find(|a| a.get_id() == *name)
                .unwrap_or_else(|| panic!("no flag for `{name}`"));
            assert!(arg.get_help().is_some(), "`{name}` has no help");
            let flag = format!("--{}", name.replace('_', "-"));
            assert!(
                readme.contains(&format!("{row} `{flag}")),
                "README's row for `{name}` names another flag than {flag}"
            );
            assert!(
                readme.contains(&format!("`{}`", env_name(name))),
                "README does not name {}",
                env_name(name)
            );
        }
        // A flag given on the command line wins over its variable, and both reach the settings.
        let matches = cmd
            .try_get_matches_from([
                "serve",
                "--port",
                "9100",
                "--allowed-origins",
                "https://a.example,https://b.example",
            ])
            .unwrap();
        let args = ServeArgs::from_arg_matches(&matches).unwrap();
        let s = Settings::load(&args).unwrap();
        assert_eq!(s.port, 9100);
        assert_eq!(
            s.allowed_origins,
            ["https://a.example", "https://b.example"]
        );
    }
}
