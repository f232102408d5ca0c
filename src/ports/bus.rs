//! The fan-out seam: who watches a conversation's new events and typing, and who watches
//! routing and knowledge-base changes. Nothing on it is stored; each backend has one (`Store::bus`).

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, watch};

use super::StoreResult;
use crate::conversation::{ConversationId, Event};

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

/// Signals about conversations, not stored.
#[async_trait]
pub trait Bus: Send + Sync {
    /// Signals on `id`'s bus from now on. A slow receiver lags (and must catch up with
    /// `events_after`); it never slows the store.
    fn subscribe(&self, id: &ConversationId) -> broadcast::Receiver<Arc<Signal>>;
    /// Tells `id`'s subscribers that someone is typing: the visitor (`agent: None`) or the named
    /// agent. Not logged.
    async fn typing(&self, id: &ConversationId, agent: Option<&str>) -> StoreResult<()>;
    /// A counter that changes whenever the queue, an assignment, a follow-up or an agent's
    /// presence changes, on any node sharing this store.
    fn watch_routing(&self) -> watch::Receiver<u64>;
    /// Tells every node sharing this store that the knowledge base's files changed (an editor's
    /// fix from /admin): each one reloads from its folder.
    async fn knowledge_base_changed(&self) -> StoreResult<()>;
    /// A counter that changes whenever some node says the knowledge base changed (or signals
    /// may have been missed).
    fn watch_knowledge_base(&self) -> watch::Receiver<u64>;
}
