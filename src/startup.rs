//! Builds and runs the server: `Application::build(settings, kb, store)` binds the listener (port
//! 0 picks a free one, as tests do), `run_until_stopped` serves, and a `Shutdown` handle stops it
//! gracefully: every session closes its socket with 1001 first, then the server drains.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::{App, HttpServer, web};
use arc_swap::ArcSwap;
use tokio::sync::{broadcast, watch};
use tokio_util::task::TaskTracker;

use crate::agents::Roster;
use crate::config::{Settings, StoreKind};
use crate::conversation::Conversations;
use crate::http::LoginLimiter;
use crate::identity::IdentitySecret;
use crate::knowledge_base::Loaded;
use crate::limits::Allowance;
use crate::matcher::Matcher;
use crate::metrics::Metrics;
use crate::ports::Store;
use crate::reload::Reloader;
use crate::routing::Router;
use crate::state::AppState;
use crate::store;
use crate::webhooks::Webhooks;

/// How long sessions and background tasks get to finish once told to stop (they finish in
/// milliseconds; this bounds a stuck one).
const TASKS_GRACE: Duration = Duration::from_secs(5);
/// How long actix waits for connections to finish after that.
const SHUTDOWN_TIMEOUT_SECONDS: u64 = 5;
/// How long a shutdown waits for queued webhook deliveries.
const WEBHOOK_DRAIN: Duration = Duration::from_secs(10);

pub struct Application {
    port: u16,
    server: Server,
    shutdown: Shutdown,
}

/// Stops a running `Application` gracefully. Cloneable; the first call does the work.
#[derive(Clone)]
pub struct Shutdown {
    signal: Arc<watch::Sender<bool>>,
    server: ServerHandle,
    webhooks: Webhooks,
    tasks: TaskTracker,
}

impl Shutdown {
    /// The one way the server stops: every session closes its socket with 1001 and every
    /// background task ends (each awaited), then the listener and the open requests, then the
    /// webhooks they queued are delivered.
    pub async fn shutdown(&self) {
        // Sessions close with 1001 ("going away") on this signal; the router, the board, the
        // retention and the reload watch end on it.
        self.signal.send_replace(true);
        self.tasks.close();
        if tokio::time::timeout(TASKS_GRACE, self.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                left = self.tasks.len(),
                "shutdown: tasks still running after {TASKS_GRACE:?}; stopping without them"
            );
        }
        // No request runs any more: deliver the webhooks they queued, within a deadline.
        self.server.stop(true).await;
        self.webhooks.finish(WEBHOOK_DRAIN).await;
    }

    /// Tasks of the server still running (0 once `shutdown` returned).
    pub fn tasks_running(&self) -> usize {
        self.tasks.len()
    }
}

/// Calls with a wrong or missing API token one address may make a minute (then 429).
const API_AUTH_FAILURES_PER_MINUTE: u32 = 20;

impl Application {
    /// Binds the listener and starts the router. Call inside the server's runtime (the router is
    /// a task of it).
    pub fn build(
        settings: Settings,
        kb: impl Into<Loaded>,
        store: Arc<dyn Store>,
        roster: Roster,
    ) -> anyhow::Result<Application> {
        let Loaded { kb, warnings } = kb.into();
        let matcher = Arc::new(ArcSwap::from_pointee(Matcher::build(kb)?));
        let listener = TcpListener::bind((settings.host.as_str(), settings.port))?;
        let port = listener.local_addr()?.port();
        let (signal, shutdown_rx) = watch::channel(false);
        let metrics = Arc::new(Metrics::new());
        let tasks = TaskTracker::new();
        let webhooks = Webhooks::start(settings.webhooks.clone(), metrics.clone(), store.clone());
        let conversations = Conversations::new(
            store.clone(),
            matcher.clone(),
            metrics.clone(),
            settings.redact.clone().into(),
            webhooks.clone(),
        );
        let attachments = Arc::new(crate::attachments::Attachments::open(&settings)?);
        if settings.retention_days > 0 {
            actix_web::rt::spawn(tasks.track_future(crate::privacy::retention_task(
                store.clone(),
                attachments.clone(),
                Duration::from_secs(settings.retention_days * 86_400),
                metrics.clone(),
                shutdown_rx.clone(),
            )));
        }
        let roster = Arc::new(roster);
        let router = Router {
            conversations: conversations.clone(),
            store: store.clone(),
            roster: roster.clone(),
            auto_assign: settings.auto_assign,
            assign_timeout: Duration::from_secs(settings.assign_timeout_seconds),
            presence_ttl: Duration::from_secs(settings.presence_ttl_seconds),
            reoffer_after: Duration::from_secs(settings.reoffer_after_seconds),
        };
        actix_web::rt::spawn(tasks.track_future(router.run(shutdown_rx.clone())));
        let board = crate::routing::board::start(
            store.clone(),
            roster.clone(),
            shutdown_rx.clone(),
            &tasks,
        );
        let reloader = Arc::new(Reloader::new(
            settings.knowledge_base.clone(),
            matcher.clone(),
            warnings,
            metrics.clone(),
        ));
        if settings.watch_knowledge_base {
            actix_web::rt::spawn(tasks.track_future(reloader.clone().watch(shutdown_rx.clone())));
        }
        // Another node's editor changed the files (a shared folder): reload here too.
        actix_web::rt::spawn(
            tasks.track_future(
                reloader
                    .clone()
                    .follow(store.bus().watch_knowledge_base(), shutdown_rx.clone()),
            ),
        );
        let kb_writes = Arc::new(crate::kb_writes::KbWrites::new(
            settings.knowledge_base.clone(),
            settings.kb_writes,
            reloader.clone(),
            store.clone(),
        ));
        let postbox = match &settings.smtp_url {
            Some(url) => {
                let (postbox, mailer) =
                    crate::mail::start(store.clone(), url, mail_settings(&settings)?)?;
                actix_web::rt::spawn(tasks.track_future(mailer.run(shutdown_rx.clone())));
                // Notes a crash kept from being queued (the others are known by their keys).
                let sweep = postbox.clone();
                actix_web::rt::spawn(tasks.track_future(async move {
                    if let Err(e) = sweep.sweep_follow_ups().await {
                        tracing::warn!(error = %e, "cannot check the follow-ups' e-mail notes");
                    }
                }));
                Some(postbox)
            }
            None => None,
        };
        let identity = settings.identity_secret.as_deref().map(IdentitySecret::new);
        let new_conversations = Allowance::per_minute(settings.conversations_per_minute);
        let visitor_messages = Allowance::per_second(settings.rate_per_second, settings.rate_burst);
        let connections = Arc::new(tokio::sync::Semaphore::new(
            settings
                .max_connections
                .min(tokio::sync::Semaphore::MAX_PERMITS),
        ));
        let state = web::Data::new(AppState {
            attachments,
            connections,
            identity,
            reloader,
            kb_writes,
            postbox,
            settings,
            conversations,
            store,
            matcher,
            metrics,
            roster,
            sockets: Arc::default(),
            consoles: Arc::default(),
            new_conversations,
            api_auth_failures: Allowance::per_minute(API_AUTH_FAILURES_PER_MINUTE),
            visitor_messages,
            board,
            ended_sessions: broadcast::channel(16).0,
            shutdown: shutdown_rx,
            tasks: tasks.clone(),
        });
        // Logins are limited apart from the rest of the state: only the login routes use it.
        let login_limiter = web::Data::new(LoginLimiter::default());
        let server = HttpServer::new(move || {
            App::new()
                .wrap(actix_web::middleware::from_fn(crate::http::own_pages_only))
                .wrap(actix_web::middleware::from_fn(crate::http::deadline))
                .wrap(crate::http::security_headers())
                .wrap(actix_web::middleware::from_fn(crate::http::head_as_get))
                .app_data(state.clone())
                .app_data(login_limiter.clone())
                .configure(crate::http::routes)
        })
        // Signals are ours (see `cli`): sessions must close with 1001 before actix stops.
        .disable_signals()
        // Chat frames are small and latency-bound: never wait to coalesce them (Nagle).
        .tcp_nodelay(true)
        .shutdown_timeout(SHUTDOWN_TIMEOUT_SECONDS)
        .listen(listener)?
        .run();
        let shutdown = Shutdown {
            signal: Arc::new(signal),
            server: server.handle(),
            webhooks,
            tasks,
        };
        Ok(Application {
            port,
            server,
            shutdown,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn shutdown_handle(&self) -> Shutdown {
        self.shutdown.clone()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// The mail settings, checked: the sender and the team's address must be addresses.
fn mail_settings(settings: &Settings) -> anyhow::Result<crate::mail::MailSettings> {
    use anyhow::Context;
    let from = settings
        .mail_from
        .as_deref()
        .context("smtp_url needs mail_from")?
        .parse()
        .context("mail_from is not an address (`Name <name@domain>` or `name@domain`)")?;
    let team = settings
        .team_email
        .as_deref()
        .map(str::parse)
        .transpose()
        .context("team_email is not an address")?;
    let listed = settings.clone();
    Ok(crate::mail::MailSettings {
        from,
        team,
        after: Duration::from_secs_f64(settings.mail_after_minutes.max(0.0) * 60.0),
        reply_domain: settings.mail_reply_domain.clone(),
        widget_origins: Arc::new(move |origin| listed.lists_origin(origin)),
        first_retry: Duration::from_secs(settings.mail_retry_seconds.max(1)),
    })
}

/// Opens the store `settings` choose (`store`, `data_dir`, `redis_url`): what `serve`,
/// `report`, `forget` and `backup` all use. Returns it with one line saying what it is and where
/// its data lives, for the startup log.
pub async fn open_store(settings: &Settings) -> anyhow::Result<(Arc<dyn Store>, String)> {
    use anyhow::Context;
    Ok(match settings.store_kind() {
        StoreKind::Memory => (
            Arc::new(store::MemoryStore::new()),
            "store: in memory: every conversation, login and report is forgotten when this \
             process stops (for tests and throwaway demos; the default store keeps them)"
                .to_owned(),
        ),
        StoreKind::Sqlite => {
            let path = settings.database_file();
            let store = store::SqliteStore::open(&path)?;
            let line = format!(
                "store: SQLite database {} (kept across restarts; back it up with `frontdesk \
                 backup FILE`)",
                path.display()
            );
            (Arc::new(store), line)
        }
        StoreKind::Redis => {
            let url = settings
                .redis_url
                .as_deref()
                .context("the Redis store needs redis_url (or REDIS_URL)")?;
            let store = store::RedisStore::connect(url, &settings.redis_prefix)
                .await
                .with_context(|| format!("cannot use Redis at {url}"))?;
            let line = format!("store: Redis at {url} (prefix `{}`)", settings.redis_prefix);
            (Arc::new(store), line)
        }
    })
}
