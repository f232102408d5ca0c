//! The conversation as data: its ids and secrets (`ConversationId`, `VisitorKey`, `Token`), what
//! the visitor told us (`VisitorInfo`) and its current record (`Conversation`). Every store keeps
//! these; the rules that change them live in `bookkeeping`, never in a store.

use std::fmt;

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use super::ConversationState;
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

/// The outcome of a claim or a transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    Claimed,
    /// Not (or no longer) waiting in the queue, or not owned by the transferring agent.
    Gone,
    /// The agent already has `capacity` conversations.
    AtCapacity,
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
