//! What every request and session shares: the settings, the conversations (store, matcher,
//! metrics, webhooks), the roster, the limits that outlive a socket, this node's routing board
//! and the shutdown signal. Built once by `startup::Application::build`; handlers and sessions
//! get it as `web::Data<AppState>`. It depends only on the layers below it (no route or session
//! type), so `http` and `session` import it and nothing imports them back.

use std::net::IpAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;

use tokio::sync::{broadcast, watch};
use tokio_util::task::TaskTracker;

use crate::agents::Roster;
use crate::config::Settings;
use crate::conversation::ConversationId;
use crate::conversation::Conversations;
use crate::identity::IdentitySecret;
use crate::limits::{Allowance, SocketCounts};
use crate::matcher::Matcher;
use crate::metrics::Metrics;
use crate::ports::Store;
use crate::reload::Reloader;
use crate::routing::board::BoardWatch;

/// Shared by every request and session.
pub struct AppState {
    pub settings: Settings,
    pub conversations: Conversations,
    /// The store, for what is not a conversation operation: logins, tokens, reports, the
    /// bus and presence seams, reads for the API and the admin pages.
    pub store: Arc<dyn Store>,
    /// The live matcher (swapped whole on a reload).
    pub matcher: Arc<ArcSwap<Matcher>>,
    pub metrics: Arc<Metrics>,
    /// Who may log in to the agent console.
    pub roster: Arc<Roster>,
    /// Verifies visitor ids, when a secret is configured.
    pub identity: Option<IdentitySecret>,
    /// Reloads the knowledge base (file watcher, `POST /api/kb/reload`) and knows its status.
    pub reloader: Arc<Reloader>,
    /// Queues e-mail (with `smtp_url`; `None` = e-mail is not set up).
    pub postbox: Option<crate::mail::Postbox>,
    /// Editors' fixes to the knowledge base's files (`/admin`, the API).
    pub kb_writes: Arc<crate::kb_writes::KbWrites>,
    /// Room for visitor sockets on this node (`max_connections`): a permit is taken at the
    /// handshake and held by the session, so simultaneous handshakes cannot all see room.
    pub connections: Arc<tokio::sync::Semaphore>,
    /// Visitor sockets open per client address.
    pub sockets: Arc<SocketCounts>,
    /// Agent consoles open on this node, per agent: closing one of two keeps the agent online.
    pub consoles: Arc<SocketCounts<String>>,
    /// New conversations per client address (`conversations_per_minute`).
    pub new_conversations: Allowance<IpAddr>,
    /// Calls to the API with a wrong or missing token, per client address.
    pub api_auth_failures: Allowance<IpAddr>,
    /// Visitor messages per conversation (`rate_per_second`, `rate_burst`), over all its sockets.
    pub visitor_messages: Allowance<ConversationId>,
    /// The routing state (queue, follow-ups, team), read once per change for every socket.
    pub board: BoardWatch,
    /// Files sent in conversations: where they are kept and the site's limits.
    pub attachments: Arc<crate::attachments::Attachments>,
    /// Agent and admin sessions ended on this node (logout): consoles signed in with one close.
    pub ended_sessions: broadcast::Sender<Arc<str>>,
    /// Flips to `true` once, when the server shuts down; every session watches it.
    pub shutdown: watch::Receiver<bool>,
    /// Every task the server starts (sessions, router, board, retention, reloads): a shutdown
    /// waits for all of them.
    pub tasks: TaskTracker,
}

impl AppState {
    /// After an agent wrote to the visitor of `id` (a reply or a file): the mail of what the
    /// visitor has not seen is queued, if mail is sent. The reply is stored whatever happens
    /// here; a failure is logged.
    pub async fn agent_wrote(&self, id: &crate::conversation::ConversationId) {
        let Some(postbox) = &self.postbox else {
            return;
        };
        if let Err(e) = postbox.agent_wrote(id).await {
            tracing::warn!(conv = %id, error = %e, "cannot queue the mail of unseen replies");
        }
    }
}
