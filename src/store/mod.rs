//! Where conversations live: one `Store` trait for conversations, their event logs, the queue and
//! the fan-out bus, with an in-memory backend (`memory.rs`, the embedded default) and, next, a
//! Redis backend. Nothing above this module knows which backend it has; `conformance` holds the
//! behaviour every backend must show, as tests run against each of them.
//!
//! Atomicity is the store's job: appending assigns the next sequence number, a visitor message
//! whose `client_id` was already stored is reported as a duplicate instead of stored twice, and a
//! state change is a compare-and-set.

pub mod conformance;
mod memory;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use tokio::sync::broadcast;

pub use memory::MemoryStore;

use crate::conversation::{ConversationState, Event, EventBody};
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
            secret: format!("{:032x}", rand::random::<u128>()),
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

/// Storage for conversations. Implementations are shared by every session (`Arc<dyn Store>`).
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Starts a conversation in `Bot` state and returns it with its resume token.
    async fn create(&self, visitor: VisitorInfo) -> StoreResult<(Conversation, Token)>;
    /// The conversation a token resumes, if the token is valid.
    async fn resume(&self, token: &Token) -> StoreResult<Option<Conversation>>;
    async fn get(&self, id: &ConversationId) -> StoreResult<Option<Conversation>>;
    /// Appends an item with the next sequence number and publishes it to subscribers.
    async fn append(&self, id: &ConversationId, body: EventBody) -> StoreResult<Event>;
    /// Appends a visitor message unless its `client_id` is already in the log.
    async fn append_visitor_message(
        &self,
        id: &ConversationId,
        text: String,
        client_id: String,
    ) -> StoreResult<Appended>;
    /// Every event with `seq > after`, in order.
    async fn events_after(&self, id: &ConversationId, after: u64) -> StoreResult<Vec<Event>>;
    /// Moves `from -> to` if the conversation is still in `from` (and the move is legal); false
    /// when another task got there first.
    async fn transition(
        &self,
        id: &ConversationId,
        from: ConversationState,
        to: ConversationState,
        reason: Option<String>,
    ) -> StoreResult<bool>;
    async fn save_memory(&self, id: &ConversationId, memory: &Memory) -> StoreResult<()>;
    /// Puts a conversation at the back of the queue (no-op if already queued); its 1-based place.
    async fn enqueue(&self, id: &ConversationId) -> StoreResult<usize>;
    async fn dequeue(&self, id: &ConversationId) -> StoreResult<()>;
    /// 1-based place in the queue, if queued.
    async fn queue_position(&self, id: &ConversationId) -> StoreResult<Option<usize>>;
    /// Events appended to `id` from now on. A slow receiver lags (and must catch up with
    /// `events_after`); it never slows the store.
    fn subscribe(&self, id: &ConversationId) -> broadcast::Receiver<Arc<Event>>;
    /// Whether the store answers (for `/readyz`).
    async fn ping(&self) -> StoreResult<()>;
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
