//! The domain's ports: what conversations, routing, agents' logins, API tokens and reports need
//! from storage, declared here by the domain and implemented by each backend in `store/`
//! (SQLite, Redis, memory). Split by concern, so a caller names the part it uses:
//!
//! - `ConversationLog` (`conversations.rs`): conversations, their event logs and every state
//!   change, each one atomic step;
//! - `Queue` (`queue.rs`): the line, the recent waits and agents' loads; beside it the presence
//!   seam (`PresenceBoard`, ephemeral);
//! - `Logins` and `Tokens` (`access.rs`): agents' login sessions and the API's tokens (by hash);
//! - `Reports` (`reports.rs`): which conversations a period or a retention cut-off covers;
//! - `Edits` (`edits.rs`): the editors' record of knowledge-base changes and dismissed questions;
//! - `Outbox` (`outbox.rs`): e-mails to send, kept until an SMTP server took them;
//! - `Bus` (`bus.rs`): the fan-out seam, watchers of conversations and of routing (nothing on
//!   it is stored).
//!
//! `Store` joins them, with `ping`: what a process holds (`Arc<dyn Store>`). Nothing here knows
//! a backend; the backends import this module and the domain's types, never the other way round.

mod access;
mod bus;
mod conversations;
mod edits;
mod outbox;
mod queue;
mod reports;

use std::collections::BTreeMap;

use async_trait::async_trait;

pub use access::{Logins, Tokens};
pub use bus::{Bus, Signal};
pub use conversations::{Appended, ConversationLog};
pub use edits::{EDITS_KEPT, EditAction, Edits, FileChange, KbEdit};
pub use outbox::{Attempt, MAILS_KEPT, Mail, MailState, Outbox, OutboxEntry};
pub use queue::{AgentState, AssignedChat, Presence, PresenceBoard, Queue, Workload};
pub use reports::Reports;

use crate::conversation::ConversationId;

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

/// Everything a process keeps, one handle for all of it (`Arc<dyn Store>`).
#[async_trait]
pub trait Store: ConversationLog + Queue + Logins + Tokens + Reports + Edits + Outbox {
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
    /// The fan-out seam: watchers of conversations and of routing (nothing on it is stored).
    fn bus(&self) -> &dyn Bus;
    /// The presence seam: who is online (ephemeral, renewed by heartbeats).
    fn presence(&self) -> &dyn PresenceBoard;
    /// Whether the store answers (for `/readyz`).
    async fn ping(&self) -> StoreResult<()>;
}
