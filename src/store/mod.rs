//! Where conversations live: one `Store` trait for conversations, their event logs, the queue,
//! agents' presence and load, agent login sessions and the fan-out bus, with an in-memory backend
//! (`memory.rs`, the embedded default) and a Redis backend (`redis.rs`, several processes share
//! one Redis). Nothing above this module knows which backend it has; `conformance` holds the
//! behaviour every backend must show, as tests run against each of them.
//!
//! Atomicity is the store's job: appending assigns the next sequence number, a visitor message
//! whose `client_id` was already stored is reported as a duplicate instead of stored twice, and
//! every state change (hand off, claim, transfer, release) is one compare-and-set step that also
//! keeps the queue and the agents' loads in line with the conversation's state.

pub mod conformance;
mod keys;
mod memory;
mod redis;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use tokio::sync::{broadcast, watch};

pub use self::redis::RedisStore;
pub use memory::MemoryStore;

use crate::conversation::{ConversationState, Event, EventBody, Notice};
use crate::matcher::Memory;

/// A conversation's public id (32 hex digits).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ConversationId(String);

impl ConversationId {
    pub fn random() -> ConversationId {
        ConversationId(format!("{:032x}", rand::random::<u128>()))
    }

    pub fn parse(raw: &str) -> Option<ConversationId> {
        (raw.len() == 32
            && raw
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
        .then(|| ConversationId(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ConversationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A visitor's own key: 32 hex digits the server hands out in `welcome` and the widget keeps, so
/// the same browser's later conversations are linked for agents. It is a secret (only that browser
/// has it), so nobody can attach themselves to someone else's history.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VisitorKey(String);

impl VisitorKey {
    pub fn random() -> VisitorKey {
        VisitorKey(random_secret())
    }

    pub fn parse(raw: &str) -> Option<VisitorKey> {
        (raw.len() == 32 && raw.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| VisitorKey(raw.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The secret that lets a client resume one conversation: `<conversation id>.<128-bit secret>`.
/// The id part finds the conversation; the secret part is compared in constant time.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    pub conversation: ConversationId,
    secret: String,
}

impl Token {
    pub fn new(conversation: ConversationId) -> Token {
        Token {
            conversation,
            secret: random_secret(),
        }
    }

    pub fn parse(raw: &str) -> Option<Token> {
        let (id, secret) = raw.split_once('.')?;
        let secret_ok = secret.len() == 32 && secret.bytes().all(|b| b.is_ascii_hexdigit());
        Some(Token {
            conversation: ConversationId::parse(id)?,
            secret: secret_ok.then(|| secret.to_owned())?,
        })
    }

    /// Whether `self` proves the same secret as `other`, in time independent of where they differ.
    pub fn matches(&self, other: &Token) -> bool {
        self.conversation == other.conversation
            && bool::from(self.secret.as_bytes().ct_eq(other.secret.as_bytes()))
    }

    /// A token from its stored parts (the store keeps the secret next to the conversation).
    pub(crate) fn from_parts(conversation: ConversationId, secret: String) -> Token {
        Token {
            conversation,
            secret,
        }
    }

    /// The secret part, for the store to keep.
    pub(crate) fn secret(&self) -> &str {
        &self.secret
    }

    /// The string handed to the client.
    pub fn expose(&self) -> String {
        format!("{}.{}", self.conversation, self.secret)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secret: tokens are credentials.
        write!(f, "Token({}.<secret>)", self.conversation)
    }
}

/// What the visitor told us about themselves in `hello`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VisitorInfo {
    /// The site's id for this visitor, only when verified (see `identity`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub page: Option<String>,
    pub locale: Option<String>,
    pub tz: Option<String>,
}

/// A conversation's current record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    pub id: ConversationId,
    pub state: ConversationState,
    /// Why it is in its state (the handoff reason while queued or assigned).
    pub reason: Option<String>,
    pub visitor: VisitorInfo,
    /// The matcher's memory of this conversation (frustration, misses).
    pub memory: Memory,
    /// The agent who owns it (while `Assigned`).
    pub agent: Option<String>,
    /// When it first joined the queue for its current handoff: its place in line, kept when it
    /// returns to the queue (agent left, assignment not answered, transfer to a team).
    pub enqueued_at: Option<u64>,
    /// When the current agent got it.
    pub assigned_at: Option<u64>,
    /// Whether the current agent has written to the visitor yet.
    pub agent_answered: bool,
    /// An offline message waits for a follow-up by e-mail.
    pub needs_follow_up: bool,
    /// The visitor's key, when the visitor had one: links their conversations for agents.
    pub visitor_key: Option<VisitorKey>,
    /// The last sequence number in its log (0 when empty).
    pub last_seq: u64,
    /// Milliseconds since the Unix epoch.
    pub created: u64,
    pub updated: u64,
}

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

/// The outcome of a claim or a transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    Claimed,
    /// Not (or no longer) waiting in the queue, or not owned by the transferring agent.
    Gone,
    /// The agent already has `capacity` conversations.
    AtCapacity,
}

/// An agent's availability as they set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
    /// stores nothing: `Duplicate`) and, with `owner`, only while that agent owns the
    /// conversation (`None` when they don't). How agents write: a resent reply never doubles
    /// and a reply never lands after the chat moved on.
    async fn append_once(
        &self,
        id: &ConversationId,
        body: EventBody,
        client_key: Option<&str>,
        owner: Option<&str>,
    ) -> StoreResult<Option<Appended>>;
    /// Appends a visitor message unless its `client_id` is already in the log.
    async fn append_visitor_message(
        &self,
        id: &ConversationId,
        text: String,
        client_id: String,
    ) -> StoreResult<Appended>;
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
        reason: Option<String>,
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
    async fn save_memory(&self, id: &ConversationId, memory: &Memory) -> StoreResult<()>;
    /// The queue in order (first = next to be served).
    async fn queue(&self) -> StoreResult<Vec<ConversationId>>;
    /// 1-based place in the queue, if queued.
    async fn queue_position(&self, id: &ConversationId) -> StoreResult<Option<usize>>;
    /// Average of the recent waits from queue to agent, in milliseconds (`None` before any).
    async fn average_wait(&self) -> StoreResult<Option<u64>>;
    /// Sets an agent's presence; it falls back to `Offline` if not renewed within `ttl`.
    async fn set_presence(&self, agent: &str, presence: Presence, ttl: Duration)
    -> StoreResult<()>;
    /// Every agent that has ever set a presence, with their current chats.
    async fn agents(&self) -> StoreResult<Vec<AgentState>>;
    /// Conversations with an offline message not yet followed up.
    async fn follow_ups(&self) -> StoreResult<Vec<ConversationId>>;
    async fn mark_followed_up(&self, id: &ConversationId) -> StoreResult<()>;
    /// Starts an agent login session valid for `ttl`; returns its secret.
    async fn create_session(&self, agent: &str, ttl: Duration) -> StoreResult<String>;
    /// The agent a session secret belongs to, while it is valid.
    async fn session_agent(&self, secret: &str) -> StoreResult<Option<String>>;
    async fn end_session(&self, secret: &str) -> StoreResult<()>;
    /// Signals on `id`'s bus from now on. A slow receiver lags (and must catch up with
    /// `events_after`); it never slows the store.
    fn subscribe(&self, id: &ConversationId) -> broadcast::Receiver<Arc<Signal>>;
    /// Tells `id`'s subscribers that someone is typing (not logged).
    async fn typing(&self, id: &ConversationId, agent: Option<&str>) -> StoreResult<()>;
    /// A counter that changes whenever the queue, an assignment, a follow-up or an agent's
    /// presence changes, on any node sharing this store.
    fn watch_routing(&self) -> watch::Receiver<u64>;
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

impl Conversation {
    /// A new conversation, in `Bot` state.
    pub fn new(id: ConversationId, visitor: VisitorInfo) -> Conversation {
        let now = now_ms();
        Conversation {
            id,
            state: ConversationState::Bot,
            reason: None,
            visitor,
            memory: Memory::default(),
            agent: None,
            enqueued_at: None,
            assigned_at: None,
            agent_answered: false,
            needs_follow_up: false,
            visitor_key: None,
            last_seq: 0,
            created: now,
            updated: now,
        }
    }
}

/// 128 random bits as 32 hex digits: session secrets and token secrets.
pub fn random_secret() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_compare_by_secret() {
        let t = Token::new(ConversationId::random());
        let parsed = Token::parse(&t.expose()).unwrap();
        assert!(t.matches(&parsed));
        let other = Token::new(t.conversation.clone());
        assert!(!t.matches(&other), "same conversation, different secret");
        assert!(
            !format!("{t:?}").contains(&t.secret),
            "Debug never shows the secret"
        );
    }

    #[test]
    fn malformed_tokens_are_rejected() {
        for raw in [
            "",
            "abc",
            "x.y",
            &format!("{}.short", "a".repeat(32)),
            &format!("{}.{}", "G".repeat(32), "a".repeat(32)),
        ] {
            assert!(Token::parse(raw).is_none(), "{raw}");
        }
    }
}
