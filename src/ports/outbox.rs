//! The mail outbox: e-mails the server must send, kept by the store until an SMTP server has
//! taken them, so that a restart, a crash or an SMTP outage loses none. Each mail has a key
//! (what caused it: `offline:<conversation>:<seq>`): queueing the same key again is a no-op, so a
//! cause retried after a crash queues its mail once. A worker leases due mails (no other worker
//! takes a leased mail until its lease ends), sends them, and records the outcome.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::StoreResult;
use crate::conversation::ConversationId;

/// Mails kept once sent or failed (the newest); older ones are dropped as new ones come.
pub const MAILS_KEPT: usize = 1_000;

/// One e-mail to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Mail {
    /// What caused it; queued once per key.
    pub key: String,
    pub to: String,
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part, if any (the same words).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// Where answers go (`Reply-To`), if not to the sender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// The conversation it is about, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation: Option<String>,
    /// Sent without a person writing it (`Auto-Submitted: auto-generated`).
    pub automatic: bool,
}

/// Where a mail stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MailState {
    /// Waiting for its first attempt, or leased to a worker.
    Queued,
    /// An attempt failed; it is tried again at `next_at`.
    Retrying,
    /// An SMTP server took it.
    Sent,
    /// Given up after `attempts`, or refused for good by the server.
    Failed,
}

/// A mail and its delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OutboxEntry {
    pub mail: Mail,
    pub state: MailState,
    /// Attempts made so far.
    pub attempts: u32,
    /// When it was queued (ms since the epoch).
    pub queued_at: u64,
    /// When it is next due (queued, retrying) or when it ended (sent, failed).
    pub next_at: u64,
    /// The SMTP server's last answer (or the connection error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    Sent,
    /// Try again at this time (ms).
    Retry {
        at: u64,
        error: String,
    },
    Failed {
        error: String,
    },
}

/// The mail outbox.
#[async_trait]
pub trait Outbox: Send + Sync + 'static {
    /// Queues `mail` at `now`, due at `due`; false (and nothing changed) when its key is known.
    async fn queue_mail(&self, mail: Mail, now: u64, due: u64) -> StoreResult<bool>;
    /// Up to `limit` mails due at `now` (queued or retrying), each leased until `now + lease_ms`
    /// (its `next_at`), so that no other worker takes it meanwhile. Oldest due first.
    async fn lease_mails(
        &self,
        now: u64,
        lease_ms: u64,
        limit: usize,
    ) -> StoreResult<Vec<OutboxEntry>>;
    /// Records an attempt at the mail `key` (a key not in the outbox is ignored).
    async fn record_attempt(&self, key: &str, attempt: Attempt, now: u64) -> StoreResult<()>;
    /// Removes the mail `key` (one found not needed when it came due: the visitor read the
    /// replies in the chat meanwhile). Its key may be queued again.
    async fn drop_mail(&self, key: &str) -> StoreResult<()>;
    /// The newest `limit` mails, whatever their state.
    async fn mails(&self, limit: usize) -> StoreResult<Vec<OutboxEntry>>;
    /// The key this deployment signs mail links and reply addresses with: 32 random bytes made
    /// by the first node that asks, the same on every node after.
    async fn mail_key(&self) -> StoreResult<Vec<u8>>;
    /// Raises how far the visitor of `id` has had the conversation (in the chat, or by mail) to
    /// `seq`; a lower `seq` changes nothing.
    async fn raise_delivered(&self, id: &ConversationId, seq: u64) -> StoreResult<()>;
    /// How far the visitor of `id` has had the conversation (0: nothing recorded).
    async fn delivered(&self, id: &ConversationId) -> StoreResult<u64>;
}

impl MailState {
    /// Still to be sent (queued or retrying).
    pub fn pending(self) -> bool {
        matches!(self, MailState::Queued | MailState::Retrying)
    }
}

impl OutboxEntry {
    /// `mail` queued at `now`, due at `due`.
    pub fn queued(mail: Mail, now: u64, due: u64) -> OutboxEntry {
        OutboxEntry {
            mail,
            state: MailState::Queued,
            attempts: 0,
            queued_at: now,
            next_at: due,
            last_error: None,
        }
    }

    /// The entry after `attempt` at `now` (the one rule every store applies). A finished mail
    /// stays finished: a late record of another attempt changes nothing.
    pub fn record(&mut self, attempt: Attempt, now: u64) {
        if !self.state.pending() {
            return;
        }
        self.attempts += 1;
        match attempt {
            Attempt::Sent => {
                self.state = MailState::Sent;
                self.next_at = now;
                self.last_error = None;
            }
            Attempt::Retry { at, error } => {
                self.state = MailState::Retrying;
                self.next_at = at;
                self.last_error = Some(error);
            }
            Attempt::Failed { error } => {
                self.state = MailState::Failed;
                self.next_at = now;
                self.last_error = Some(error);
            }
        }
    }
}
