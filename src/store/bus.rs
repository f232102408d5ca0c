//! The fan-out seam (`Bus`): who watches a conversation's new events and typing, and who watches
//! routing and knowledge-base changes. Every store has one (`Store::bus`; the trait is `ports::Bus`), kept apart from the durable data: nothing
//! on it is stored.
//!
//! `LocalBus` is the one implementation inside a process: a broadcast channel per conversation
//! that someone here watches, and one watch counter for routing changes. The memory and SQLite
//! stores publish to it after each committed step; the Redis store's pub/sub listener hands what
//! other nodes published to it (and Redis's `Bus` sends typing through Redis, to every node).
//!
//! Channels are made on the first `subscribe` and dropped when a publish finds nobody listening
//! or when a `subscribe` sweeps the map: a conversation its visitor left is published to rarely
//! (often never), and each left channel costs about 1.3 KB. A sweep runs when the map has grown
//! to twice what the last one left (at least `SWEEP_FLOOR` more), so channels nobody listens to
//! are at most as many as those listened to, plus the floor, and sweeping stays O(1) amortised.
//! A channel holds no signal after every receiver has read it (tokio drops it then). The map sits behind a `std::sync::Mutex`: every
//! critical section is one map operation and never spans an `.await`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use tokio::sync::{broadcast, watch};

use crate::conversation::ConversationId;
use crate::ports::{Bus, Signal, StoreResult};

/// Signals buffered per subscriber before it lags. Small on purpose: a broadcast channel
/// allocates all its slots up front, and a lagging socket catches up from the log
/// (`events_after`) anyway. Slots hold `Arc<Signal>`: one pointer each, and a receive is a
/// reference-count bump, not a copy of the answer's HTML.
pub(crate) const BUS_CAPACITY: usize = 8;

/// Channels nobody listens to that may wait for a sweep beyond those listened to.
const SWEEP_FLOOR: usize = 256;

#[async_trait]
impl Bus for LocalBus {
    fn subscribe(&self, id: &ConversationId) -> broadcast::Receiver<Arc<Signal>> {
        let mut buses = self.buses();
        if buses.map.len() >= buses.sweep_at {
            buses.map.retain(|_, bus| bus.receiver_count() > 0);
            buses.sweep_at = 2 * buses.map.len() + SWEEP_FLOOR;
        }
        buses
            .map
            .entry(id.clone())
            .or_insert_with(|| broadcast::channel(BUS_CAPACITY).0)
            .subscribe()
    }

    async fn typing(&self, id: &ConversationId, agent: Option<&str>) -> StoreResult<()> {
        let agent = agent.map(str::to_owned);
        self.publish(id, Signal::Typing { agent });
        Ok(())
    }

    fn watch_routing(&self) -> watch::Receiver<u64> {
        self.routing.subscribe()
    }

    async fn knowledge_base_changed(&self) -> StoreResult<()> {
        self.knowledge_base_changed_here();
        Ok(())
    }

    fn watch_knowledge_base(&self) -> watch::Receiver<u64> {
        self.knowledge_base.subscribe()
    }
}

pub(crate) struct LocalBus {
    buses: Mutex<Buses>,
    routing: watch::Sender<u64>,
    knowledge_base: watch::Sender<u64>,
}

/// The channels, and the size at which `subscribe` next sweeps out those nobody listens to.
struct Buses {
    map: HashMap<ConversationId, broadcast::Sender<Arc<Signal>>>,
    sweep_at: usize,
}

impl Default for LocalBus {
    fn default() -> Self {
        LocalBus {
            buses: Mutex::new(Buses {
                map: HashMap::new(),
                sweep_at: SWEEP_FLOOR,
            }),
            routing: watch::channel(0).0,
            knowledge_base: watch::channel(0).0,
        }
    }
}

impl LocalBus {
    fn buses(&self) -> MutexGuard<'_, Buses> {
        // Map operations only; a panic mid-way leaves a usable map.
        self.buses.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hands `signal` to `id`'s subscribers here, if any.
    pub(crate) fn publish(&self, id: &ConversationId, signal: Signal) {
        let mut buses = self.buses();
        if let Some(bus) = buses.map.get(id) {
            if bus.receiver_count() == 0 {
                // Nobody here watches it any more.
                buses.map.remove(id);
            } else {
                // A receiver may drop between the count and the send: that is fine.
                let _ = bus.send(Arc::new(signal));
            }
        }
    }

    /// The queue, an assignment, a follow-up or a presence changed.
    pub(crate) fn routing_changed(&self) {
        self.routing.send_modify(|n| *n += 1);
    }

    /// Some node said the knowledge base changed.
    pub(crate) fn knowledge_base_changed_here(&self) {
        self.knowledge_base.send_modify(|n| *n += 1);
    }

    /// Signals may have been missed (Redis's pub/sub reconnected): everyone catches up from the
    /// log, routing is re-read and the knowledge base reloaded (unchanged files cost a hash).
    pub(crate) fn resync(&self) {
        let mut buses = self.buses();
        buses.map.retain(|_, bus| bus.receiver_count() > 0);
        for bus in buses.map.values() {
            let _ = bus.send(Arc::new(Signal::Resync));
        }
        drop(buses);
        self.routing_changed();
        self.knowledge_base_changed_here();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_channel_lives_only_while_someone_listens() {
        let bus = LocalBus::default();
        let id = ConversationId::random();
        bus.publish(&id, Signal::Resync);
        assert!(
            bus.buses().map.is_empty(),
            "publishing to nobody makes nothing"
        );
        let mut rx = bus.subscribe(&id);
        bus.publish(&id, Signal::Resync);
        assert_eq!(*rx.try_recv().unwrap(), Signal::Resync);
        drop(rx);
        bus.publish(&id, Signal::Resync);
        assert!(
            bus.buses().map.is_empty(),
            "the last receiver gone, the channel goes"
        );
    }

    #[test]
    fn channels_of_conversations_their_visitors_left_are_bounded() {
        let bus = LocalBus::default();
        // Ten visitors who stay, and a hundred thousand who came, said nothing and left.
        let staying: Vec<_> = (0..10)
            .map(|_| bus.subscribe(&ConversationId::random()))
            .collect();
        for _ in 0..100_000 {
            drop(bus.subscribe(&ConversationId::random()));
        }
        let held = bus.buses().map.len();
        assert!(
            held <= 2 * staying.len() + SWEEP_FLOOR + 1,
            "{held} channels held for {} listeners",
            staying.len()
        );
        assert!(staying.iter().all(|rx| rx.is_empty()));
    }
}
