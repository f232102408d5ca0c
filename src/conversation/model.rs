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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
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

/// Why a conversation is waiting for (or was given to) a person. On the wire and in the store it
/// is the documented string: `visitor_asked`, `frustrated`, `repeated_misses`, `rule:<id>`,
/// `faq:<id>`, `team:<name>`, `transfer`, `agent_left`, `not_answered`. Anything else does not
/// parse.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum QueueReason {
    /// The visitor asked for a person (the widget's button or a handoff rule of the visitor's).
    VisitorAsked,
    /// The frustration meter crossed its threshold.
    Frustrated,
    /// The bot missed several times in a row.
    RepeatedMisses,
    /// A `handoff` rule fired.
    Rule(String),
    /// The FAQ that answers says `handoff = "always"`.
    Faq(String),
    /// An agent sent it to a team.
    Team(String),
    /// An agent put it back in the line for whoever is next.
    Transfer,
    /// Its agent went offline.
    AgentLeft,
    /// Its agent did not answer within the assignment timeout.
    NotAnswered,
}

/// The family of a `QueueReason` (`rule`, `faq`, `team` without their ids): what reports count
/// and what the console tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReasonKind {
    VisitorAsked,
    Frustrated,
    RepeatedMisses,
    Rule,
    Faq,
    Team,
    Transfer,
    AgentLeft,
    NotAnswered,
}

impl ReasonKind {
    /// The kind as it is written on the wire and in `QueueReason`'s code.
    pub fn as_str(self) -> &'static str {
        match self {
            ReasonKind::VisitorAsked => "visitor_asked",
            ReasonKind::Frustrated => "frustrated",
            ReasonKind::RepeatedMisses => "repeated_misses",
            ReasonKind::Rule => "rule",
            ReasonKind::Faq => "faq",
            ReasonKind::Team => "team",
            ReasonKind::Transfer => "transfer",
            ReasonKind::AgentLeft => "agent_left",
            ReasonKind::NotAnswered => "not_answered",
        }
    }
}

impl QueueReason {
    /// The reason's family.
    pub fn kind(&self) -> ReasonKind {
        match self {
            QueueReason::VisitorAsked => ReasonKind::VisitorAsked,
            QueueReason::Frustrated => ReasonKind::Frustrated,
            QueueReason::RepeatedMisses => ReasonKind::RepeatedMisses,
            QueueReason::Rule(_) => ReasonKind::Rule,
            QueueReason::Faq(_) => ReasonKind::Faq,
            QueueReason::Team(_) => ReasonKind::Team,
            QueueReason::Transfer => ReasonKind::Transfer,
            QueueReason::AgentLeft => ReasonKind::AgentLeft,
            QueueReason::NotAnswered => ReasonKind::NotAnswered,
        }
    }

    /// The rule, FAQ or team the reason names, if it names one.
    pub fn id(&self) -> Option<&str> {
        match self {
            QueueReason::Rule(id) | QueueReason::Faq(id) | QueueReason::Team(id) => Some(id),
            _ => None,
        }
    }

    /// Whether it says only why a chat came back to the queue (its agent left or did not
    /// answer), not why it needs a person: a conversation keeps its earlier reason then (and
    /// the team it asked for); the log keeps the return.
    pub fn is_a_return(&self) -> bool {
        matches!(self, QueueReason::AgentLeft | QueueReason::NotAnswered)
    }

    /// The team it waits for, if an agent sent it to one.
    pub fn team(&self) -> Option<&str> {
        match self {
            QueueReason::Team(team) => Some(team),
            _ => None,
        }
    }
}

impl fmt::Display for QueueReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueueReason::Rule(id) | QueueReason::Faq(id) | QueueReason::Team(id) => {
                write!(f, "{}:{id}", self.kind().as_str())
            }
            _ => f.write_str(self.kind().as_str()),
        }
    }
}

impl std::str::FromStr for QueueReason {
    type Err = String;

    fn from_str(s: &str) -> Result<QueueReason, String> {
        let with_id = |prefix: &str| s.strip_prefix(prefix).filter(|id| !id.is_empty());
        Ok(match s {
            "visitor_asked" => QueueReason::VisitorAsked,
            "frustrated" => QueueReason::Frustrated,
            "repeated_misses" => QueueReason::RepeatedMisses,
            "transfer" => QueueReason::Transfer,
            "agent_left" => QueueReason::AgentLeft,
            "not_answered" => QueueReason::NotAnswered,
            _ => {
                if let Some(id) = with_id("rule:") {
                    QueueReason::Rule(id.to_owned())
                } else if let Some(id) = with_id("faq:") {
                    QueueReason::Faq(id.to_owned())
                } else if let Some(team) = with_id("team:") {
                    QueueReason::Team(team.to_owned())
                } else {
                    return Err(format!("unknown queue reason `{s}`"));
                }
            }
        })
    }
}

impl TryFrom<String> for QueueReason {
    type Error = String;

    fn try_from(s: String) -> Result<QueueReason, String> {
        s.parse()
    }
}

impl From<QueueReason> for String {
    fn from(reason: QueueReason) -> String {
        reason.to_string()
    }
}

/// A conversation's current record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    pub id: ConversationId,
    pub state: ConversationState,
    /// Why the bot let it go (kept while queued, assigned and after closing; cleared when it
    /// goes back to the bot).
    pub reason: Option<QueueReason>,
    /// The agent's resolution tag, once closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
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
        // Until the visitor writes, their browser's locale is the conversation's language.
        let memory = Memory {
            language: visitor.locale.clone(),
            ..Memory::default()
        };
        Conversation {
            id,
            state: ConversationState::Bot,
            reason: None,
            resolution: None,
            visitor,
            memory,
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
    fn queue_reasons_keep_their_documented_spelling_and_unknown_ones_do_not_parse() {
        for spelled in [
            "visitor_asked",
            "frustrated",
            "repeated_misses",
            "rule:talk-to-human",
            "faq:refunds",
            "team:billing",
            "transfer",
            "agent_left",
            "not_answered",
        ] {
            let reason: QueueReason = spelled.parse().unwrap();
            assert_eq!(reason.to_string(), spelled);
            let json = serde_json::to_string(&reason).unwrap();
            assert_eq!(json, format!("\"{spelled}\""));
            assert_eq!(serde_json::from_str::<QueueReason>(&json).unwrap(), reason);
        }
        assert_eq!(
            "team:billing".parse::<QueueReason>().unwrap().team(),
            Some("billing")
        );
        for unknown in ["", "handed_back", "rule:", "team", "Frustrated"] {
            assert!(unknown.parse::<QueueReason>().is_err(), "{unknown}");
            let json = format!("\"{unknown}\"");
            assert!(serde_json::from_str::<QueueReason>(&json).is_err());
        }
    }

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
