//! Conversations and their logs: every change one atomic step (see `conversation::bookkeeping`
//! for what each does; the backends store its results).
//!
//! Atomicity is the backend's job: appending assigns the next sequence number, a visitor message
//! whose `client_id` was already stored is reported as a duplicate instead of stored twice, and
//! every state change (hand off, claim, transfer, release) is one compare-and-set step that also
//! keeps the queue and the agents' loads in line with the conversation's state.

use async_trait::async_trait;

use super::StoreResult;
use crate::conversation::{
    Claim, Conversation, ConversationId, ConversationState, Event, EventBody, Notice, Token, Turn,
    TurnOutcome, VisitorInfo, VisitorKey,
};

/// The outcome of appending a visitor message.
#[derive(Debug, Clone, PartialEq)]
pub enum Appended {
    New(Event),
    /// A message with this `client_id` is already in the log, at `seq`: nothing was stored.
    Duplicate {
        seq: u64,
    },
}

/// Conversations, their logs and their state changes.
#[async_trait]
pub trait ConversationLog: Send + Sync + 'static {
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
    /// The conversation `id` and the token that resumes it: for a visitor who proved it is
    /// theirs another way (a signed link from a mail).
    async fn get_with_token(
        &self,
        id: &ConversationId,
    ) -> StoreResult<Option<(Conversation, Token)>>;
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
    /// `capacity` conversations. Records the wait for the estimate. `notice` (who joined) is
    /// appended in the same atomic step, only when the claim succeeds.
    async fn claim(
        &self,
        id: &ConversationId,
        agent: &str,
        capacity: usize,
        notice: Option<Notice>,
    ) -> StoreResult<Claim>;
    /// Hands an assigned conversation from `from` straight to `to` (if `to` has room), with
    /// `notice` appended in the same atomic step.
    async fn transfer(
        &self,
        id: &ConversationId,
        from: &str,
        to: &str,
        capacity: usize,
        notice: Option<Notice>,
    ) -> StoreResult<Claim>;
    /// Conversations with an offline message not yet followed up.
    async fn follow_ups(&self) -> StoreResult<Vec<ConversationId>>;
    async fn mark_followed_up(&self, id: &ConversationId) -> StoreResult<()>;
    /// Erases a conversation and every trace of it (log, token, place in the queue, the agent's
    /// chat, follow-up, the visitor's link) in one step; false if it did not exist.
    async fn delete(&self, id: &ConversationId) -> StoreResult<bool>;
}
