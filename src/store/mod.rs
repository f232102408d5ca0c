//! Where conversations live: one `Store` trait for conversations, their event logs, the queue,
//! agents' load and agent login sessions, with two seams beside it that store nothing durable:
//! the fan-out bus (`Store::bus`) and agents' presence (`Store::presence`). Three backends:
//! SQLite (`sqlite/`, the default: one database file, durable), Redis (`redis.rs`, several
//! processes share one Redis) and memory (`memory.rs`, tests and throwaway demos). `open` picks
//! one from the settings. Nothing above this module knows which backend it has; `conformance`
//! holds the behaviour every backend must show, as tests run against each of them. The
//! bookkeeping itself (what a change does to a conversation) is `conversation::bookkeeping`; the
//! backends store its results.
//!
//! Atomicity is the store's job: appending assigns the next sequence number, a visitor message
//! whose `client_id` was already stored is reported as a duplicate instead of stored twice, and
//! every state change (hand off, claim, transfer, release) is one compare-and-set step that also
//! keeps the queue and the agents' loads in line with the conversation's state.
//!
//! API tokens are kept here too (by hash, see `tokens`), so that every node sees the same ones.

mod bus;
// Test bodies only: compiled for the crate's own tests, never shipped in the library.
#[cfg(test)]
pub(crate) mod conformance;
mod keys;
mod memory;
mod presence;
pub(crate) mod redis;
pub(crate) mod sqlite;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use self::redis::RedisStore;
pub use bus::Bus;
pub use memory::MemoryStore;
pub use presence::PresenceBoard;
pub use sqlite::lock::DataDirLock;
pub use sqlite::{DATABASE_FILE, SqliteStore, backup};
// The conversation's data types belong to the domain; the store keeps them.
pub use crate::conversation::{
    Claim, Conversation, ConversationId, Token, VisitorInfo, VisitorKey, now_ms, random_secret,
};

use crate::config::{Settings, StoreKind};
use crate::conversation::{ConversationState, Event, EventBody, Notice, Turn, TurnOutcome};
use crate::tokens::ApiToken;

/// The outcome of appending a visitor message.
#[derive(Debug, Clone, PartialEq)]
pub enum Appended {
    New(Event),
    /// A message with this `client_id` is already in the log, at `seq`: nothing was stored.
    Duplicate {
        seq: u64,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("conversation {0} does not exist")]
    NotFound(ConversationId),
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    /// A stored record does not read back (a bug or a damaged database): never papered over
    /// with a default.
    #[error("the store holds a record it cannot read: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// What the bus carries for one conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "signal", rename_all = "snake_case")]
pub enum Signal {
    /// A new log item.
    Event(Event),
    /// Someone is typing: the visitor (`agent: None`) or the named agent. Not logged.
    Typing { agent: Option<String> },
    /// Signals may have been missed (the store's fan-out reconnected): catch up from the log.
    Resync,
}

/// An agent's availability as they set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    /// Takes new conversations.
    Online,
    /// Keeps current conversations, gets no new ones.
    Away,
    /// Not connected (or the heartbeat expired).
    Offline,
}

/// An agent as the store sees them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentState {
    pub id: String,
    /// `Offline` once the heartbeat has expired, whatever was set last.
    pub presence: Presence,
    /// The conversations assigned to them, with when (ms), oldest first.
    pub chats: Vec<AssignedChat>,
    /// When they were last given a conversation (for round-robin among equals), ms.
    pub last_assigned: u64,
}

/// An agent's load as the durable store knows it: their chats and their last assignment.
#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    pub id: String,
    /// Oldest first.
    pub chats: Vec<AssignedChat>,
    /// When they were last given a conversation, ms (0: never).
    pub last_assigned: u64,
}

/// A conversation an agent has, and since when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignedChat {
    pub id: ConversationId,
    /// When it was assigned to them (ms since the epoch).
    pub since: u64,
}

/// Storage for conversations. Implementations are shared by every session (`Arc<dyn Store>`).
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Starts a conversation in `Bot` state and returns it with its resume token. With a
    /// `visitor_key` (the visitor's own secret, see `VisitorKey`), it joins that visitor's
    /// earlier conversations.
    async fn create(
        &self,
        visitor: VisitorInfo,
        visitor_key: Option<VisitorKey>,
    ) -> StoreResult<(Conversation, Token)>;
    /// The conversations started with `key`, oldest first.
    async fn visitor_conversations(&self, key: &VisitorKey) -> StoreResult<Vec<ConversationId>>;
    /// The conversation a token resumes, if the token is valid.
    async fn resume(&self, token: &Token) -> StoreResult<Option<Conversation>>;
    async fn get(&self, id: &ConversationId) -> StoreResult<Option<Conversation>>;
    /// Appends an item with the next sequence number and publishes it to subscribers. An
    /// `AgentMessage` marks the assignment answered; an `OfflineMessage` marks the conversation
    /// as needing a follow-up.
    async fn append(&self, id: &ConversationId, body: EventBody) -> StoreResult<Event>;
    /// Appends `body` in one atomic step, once per `client_key` (a resend with the same key
    /// stores nothing: `Duplicate`, even after the agent lost the chat) and, with `owner`, only
    /// while that agent owns the conversation (`None` when they don't). How agents write: a resent reply never doubles
    /// and a reply never lands after the chat moved on.
    async fn append_once(
        &self,
        id: &ConversationId,
        body: EventBody,
        client_key: Option<&str>,
        owner: Option<&str>,
    ) -> StoreResult<Option<Appended>>;
    /// One turn in one atomic step (see `conversation::Turn`): the visitor's item whatever the
    /// state, the bot's items, memory and handoff only while the conversation is in `Bot`, and
    /// nothing at all when `expected_seq` is no longer the log's last seq (`Conflict`). How every
    /// visitor message, choice, feedback and request for a person is stored.
    async fn turn(&self, id: &ConversationId, turn: Turn) -> StoreResult<TurnOutcome>;
    /// Every event with `seq > after`, in order.
    async fn events_after(&self, id: &ConversationId, after: u64) -> StoreResult<Vec<Event>>;
    /// Moves `from -> to` if the conversation is still in `from`, the move is legal and not a
    /// claim (`Assigned` is reached only by `claim`); false when another task got there first.
    /// Entering `Queued` from `Bot` takes the back of the line; entering it from `Assigned` takes
    /// back the original place. Leaving `Queued` leaves the line, leaving `Assigned` frees the
    /// agent. With `agent` given, the move happens only if that agent owns the conversation.
    /// `notice` is appended to the log in the same atomic step, so nothing (a claim, an agent's
    /// message) can come between the move and the visitor being told.
    async fn transition(
        &self,
        id: &ConversationId,
        from: ConversationState,
        to: ConversationState,
        agent: Option<&str>,
        notice: Option<Notice>,
    ) -> StoreResult<bool>;
    /// `Queued -> Assigned` to `agent`, if it is still queued and the agent has fewer than
    /// `capacity` conversations. Records the wait for the estimate.
    async fn claim(&self, id: &ConversationId, agent: &str, capacity: usize) -> StoreResult<Claim>;
    /// Hands an assigned conversation from `from` straight to `to` (if `to` has room).
    async fn transfer(
        &self,
        id: &ConversationId,
        from: &str,
        to: &str,
        capacity: usize,
    ) -> StoreResult<Claim>;
    /// The queue in order (first = next to be served).
    async fn queue(&self) -> StoreResult<Vec<ConversationId>>;
    /// Average of the recent waits from queue to agent, in milliseconds (`None` before any).
    async fn average_wait(&self) -> StoreResult<Option<u64>>;
    /// Every agent that has had a conversation, with the ones they have now.
    async fn workloads(&self) -> StoreResult<Vec<Workload>>;
    /// Every agent with a presence or a workload, by id: presence from the presence seam, load
    /// from the store.
    async fn agents(&self) -> StoreResult<Vec<AgentState>> {
        let mut agents: BTreeMap<String, AgentState> = self
            .presence()
            .all()
            .await?
            .into_iter()
            .map(|(id, presence)| {
                let agent = AgentState {
                    id: id.clone(),
                    presence,
                    chats: Vec::new(),
                    last_assigned: 0,
                };
                (id, agent)
            })
            .collect();
        for w in self.workloads().await? {
            let agent = agents.entry(w.id.clone()).or_insert_with(|| AgentState {
                id: w.id,
                presence: Presence::Offline,
                chats: Vec::new(),
                last_assigned: 0,
            });
            agent.chats = w.chats;
            agent.last_assigned = w.last_assigned;
        }
        Ok(agents.into_values().collect())
    }
    /// Conversations with an offline message not yet followed up.
    async fn follow_ups(&self) -> StoreResult<Vec<ConversationId>>;
    async fn mark_followed_up(&self, id: &ConversationId) -> StoreResult<()>;
    /// Starts an agent login session valid for `ttl`; returns its secret.
    async fn create_session(&self, agent: &str, ttl: Duration) -> StoreResult<String>;
    /// The agent a session secret belongs to, while it is valid.
    async fn session_agent(&self, secret: &str) -> StoreResult<Option<String>>;
    async fn end_session(&self, secret: &str) -> StoreResult<()>;
    /// Keeps an API token's record (its hash, never the token); false, and nothing stored, when
    /// a token of that name exists.
    async fn add_token(&self, token: ApiToken) -> StoreResult<bool>;
    /// The token whose SHA-256 is `hash`, while it is not revoked.
    async fn token_by_hash(&self, hash: &str) -> StoreResult<Option<ApiToken>>;
    /// Every token, by name.
    async fn tokens(&self) -> StoreResult<Vec<ApiToken>>;
    /// Revokes the token named `name` at once on every node; false if there was none.
    async fn revoke_token(&self, name: &str) -> StoreResult<bool>;
    /// The fan-out seam: watchers of conversations and of routing (nothing on it is stored).
    fn bus(&self) -> &dyn Bus;
    /// The presence seam: who is online (ephemeral, renewed by heartbeats).
    fn presence(&self) -> &dyn PresenceBoard;
    /// Whether the store answers (for `/readyz`).
    async fn ping(&self) -> StoreResult<()>;
    /// Conversations created in `[from, to)` (ms since the epoch), oldest first: what reports
    /// and the KPI page read.
    async fn conversations_created(&self, from: u64, to: u64) -> StoreResult<Vec<ConversationId>>;
    /// Conversations whose last activity (`updated`) is before `before` (ms): what retention
    /// erases.
    async fn inactive_before(&self, before: u64) -> StoreResult<Vec<ConversationId>>;
    /// Erases a conversation and every trace of it (log, token, place in the queue, the agent's
    /// chat, follow-up, the visitor's link) in one step; false if it did not exist.
    async fn delete(&self, id: &ConversationId) -> StoreResult<bool>;
}

/// Opens the store `settings` choose (`store`, `data_dir`, `redis_url`): what `serve`,
/// `report`, `forget` and `backup` all use. Returns it with one line saying what it is and where
/// its data lives, for the startup log.
pub async fn open(settings: &Settings) -> anyhow::Result<(Arc<dyn Store>, String)> {
    use anyhow::Context;
    Ok(match settings.store_kind() {
        StoreKind::Memory => (
            Arc::new(MemoryStore::new()),
            "store: in memory: every conversation, login and report is forgotten when this \
             process stops (for tests and throwaway demos; the default store keeps them)"
                .to_owned(),
        ),
        StoreKind::Sqlite => {
            let path = settings.database_file();
            let store = SqliteStore::open(&path)?;
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
            let store = RedisStore::connect(url, &settings.redis_prefix)
                .await
                .with_context(|| format!("cannot use Redis at {url}"))?;
            let line = format!("store: Redis at {url} (prefix `{}`)", settings.redis_prefix);
            (Arc::new(store), line)
        }
    })
}
