//! The presence seam (`PresenceBoard`): which agents are online, away or gone. Ephemeral on
//! purpose and kept apart from the durable data: a presence lives `ttl` unless its console renews
//! it, so after a restart it is rebuilt within seconds by the consoles' heartbeats (the router
//! gives agents with chats that long before it takes them back).
//!
//! `LocalPresence` is the one implementation inside a process (the memory and SQLite stores);
//! the Redis store keeps presence in Redis with a key expiry, so every node sees the same agents.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::bus::LocalBus;
use crate::ports::{Presence, PresenceBoard, StoreResult};

/// Presence in this process's memory.
pub(crate) struct LocalPresence {
    agents: Mutex<HashMap<String, (Presence, Instant)>>,
    bus: Arc<LocalBus>,
}

impl LocalPresence {
    /// A board that tells `bus`'s routing watchers about changes.
    pub(crate) fn new(bus: Arc<LocalBus>) -> LocalPresence {
        LocalPresence {
            agents: Mutex::default(),
            bus,
        }
    }
}

/// What `set` left, as seen at `now`.
fn current((presence, expires): (Presence, Instant), now: Instant) -> Presence {
    if expires > now {
        presence
    } else {
        Presence::Offline
    }
}

#[async_trait]
impl PresenceBoard for LocalPresence {
    async fn set(&self, agent: &str, presence: Presence, ttl: Duration) -> StoreResult<()> {
        let now = Instant::now();
        let was = {
            // One map operation; a panic mid-way leaves a usable map.
            let mut agents = self.agents.lock().unwrap_or_else(|p| p.into_inner());
            agents.insert(agent.to_owned(), (presence, now + ttl))
        };
        if was.map_or(Presence::Offline, |w| current(w, now)) != presence {
            self.bus.routing_changed();
        }
        Ok(())
    }

    async fn all(&self) -> StoreResult<BTreeMap<String, Presence>> {
        let now = Instant::now();
        let agents = self.agents.lock().unwrap_or_else(|p| p.into_inner());
        Ok(agents
            .iter()
            .map(|(id, set)| (id.clone(), current(*set, now)))
            .collect())
    }
}
