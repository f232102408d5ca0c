//! The queue, agents' loads and agents' presence (the last ephemeral on purpose: a presence
//! lives `ttl` unless its console renews it, so after a restart it is rebuilt within seconds by
//! the consoles' heartbeats).

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::StoreResult;
use crate::conversation::ConversationId;

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

/// The line and the agents' loads, as the durable store knows them.
#[async_trait]
pub trait Queue: Send + Sync + 'static {
    /// The queue in order (first = next to be served).
    async fn queue(&self) -> StoreResult<Vec<ConversationId>>;
    /// Average of the recent waits from queue to agent, in milliseconds (`None` before any).
    async fn average_wait(&self) -> StoreResult<Option<u64>>;
    /// Every agent that has had a conversation, with the ones they have now.
    async fn workloads(&self) -> StoreResult<Vec<Workload>>;
}

/// Agents' presence, shared by every node of a store.
#[async_trait]
pub trait PresenceBoard: Send + Sync {
    /// Sets an agent's presence; it falls back to `Offline` if not renewed within `ttl`. A
    /// change is a routing change (`Bus::watch_routing`).
    async fn set(&self, agent: &str, presence: Presence, ttl: Duration) -> StoreResult<()>;
    /// Every agent that has set a presence, as it is now (`Offline` once expired), by id.
    async fn all(&self) -> StoreResult<BTreeMap<String, Presence>>;
}
