//! The embedded store: everything in this process's memory, for `cargo run` and single-node use.
//!
//! One `std::sync::Mutex` guards all conversations: every critical section is a few map
//! operations and never spans an `.await`, so a std mutex is cheaper than tokio's and cannot be
//! held across a suspension point. Fan-out uses one tokio broadcast channel per conversation.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use tokio::sync::broadcast;

use super::{
    Appended, Conversation, ConversationId, Store, StoreError, StoreResult, Token, VisitorInfo,
    now_ms,
};
use crate::conversation::{ConversationState, Event, EventBody};
use crate::matcher::Memory;

/// Events buffered per subscriber before it lags. Small on purpose: a broadcast channel
/// allocates all its slots up front, once per conversation, and a lagging socket catches up from
/// the log (`events_after`) anyway. Slots hold `Arc<Event>`: one pointer each, and a receive is
/// a reference-count bump, not a copy of the answer's HTML.
const BUS_CAPACITY: usize = 8;

struct Entry {
    conversation: Conversation,
    token: Token,
    log: Vec<Event>,
    client_ids: HashMap<String, u64>,
    bus: broadcast::Sender<Arc<Event>>,
}

#[derive(Default)]
struct State {
    conversations: HashMap<ConversationId, Entry>,
    queue: VecDeque<ConversationId>,
    queued: HashSet<ConversationId>,
}

/// The in-memory `Store`.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock would be a bug in a few lines of map code; the data is
        // still consistent (each operation is one step), so keep serving rather than poison.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn entry<'a>(state: &'a mut State, id: &ConversationId) -> StoreResult<&'a mut Entry> {
    state
        .conversations
        .get_mut(id)
        .ok_or_else(|| StoreError::NotFound(id.clone()))
}

fn push(entry: &mut Entry, body: EventBody) -> Event {
    let event = Event {
        seq: entry.conversation.last_seq + 1,
        at: now_ms(),
        body,
    };
    entry.conversation.last_seq = event.seq;
    entry.conversation.updated = event.at;
    entry.log.push(event.clone());
    // No subscriber is a normal state (nobody connected): the event is in the log either way.
    let _ = entry.bus.send(Arc::new(event.clone()));
    event
}

#[async_trait]
impl Store for MemoryStore {
    async fn create(&self, visitor: VisitorInfo) -> StoreResult<(Conversation, Token)> {
        let id = ConversationId::random();
        let token = Token::new(id.clone());
        let now = now_ms();
        let conversation = Conversation {
            id: id.clone(),
            state: ConversationState::Bot,
            reason: None,
            visitor,
            memory: Memory::default(),
            last_seq: 0,
            created: now,
            updated: now,
        };
        let (bus, _) = broadcast::channel(BUS_CAPACITY);
        self.lock().conversations.insert(
            id,
            Entry {
                conversation: conversation.clone(),
                token: token.clone(),
                log: Vec::new(),
                client_ids: HashMap::new(),
                bus,
            },
        );
        Ok((conversation, token))
    }

    async fn resume(&self, token: &Token) -> StoreResult<Option<Conversation>> {
        let state = self.lock();
        Ok(state
            .conversations
            .get(&token.conversation)
            .filter(|e| e.token.matches(token))
            .map(|e| e.conversation.clone()))
    }

    async fn get(&self, id: &ConversationId) -> StoreResult<Option<Conversation>> {
        Ok(self
            .lock()
            .conversations
            .get(id)
            .map(|e| e.conversation.clone()))
    }

    async fn append(&self, id: &ConversationId, body: EventBody) -> StoreResult<Event> {
        let mut state = self.lock();
        Ok(push(entry(&mut state, id)?, body))
    }

    async fn append_visitor_message(
        &self,
        id: &ConversationId,
        text: String,
        client_id: String,
    ) -> StoreResult<Appended> {
        let mut state = self.lock();
        let entry = entry(&mut state, id)?;
        if let Some(&seq) = entry.client_ids.get(&client_id) {
            return Ok(Appended::Duplicate { seq });
        }
        let event = push(
            entry,
            EventBody::VisitorMessage {
                text,
                client_id: client_id.clone(),
            },
        );
        entry.client_ids.insert(client_id, event.seq);
        Ok(Appended::New(event))
    }

    async fn events_after(&self, id: &ConversationId, after: u64) -> StoreResult<Vec<Event>> {
        let mut state = self.lock();
        let entry = entry(&mut state, id)?;
        // seq n sits at index n - 1.
        let start = (after as usize).min(entry.log.len());
        Ok(entry.log[start..].to_vec())
    }

    async fn transition(
        &self,
        id: &ConversationId,
        from: ConversationState,
        to: ConversationState,
        reason: Option<String>,
    ) -> StoreResult<bool> {
        let mut state = self.lock();
        let entry = entry(&mut state, id)?;
        if entry.conversation.state != from || !from.can_become(to) {
            return Ok(false);
        }
        entry.conversation.state = to;
        entry.conversation.reason = reason;
        entry.conversation.updated = now_ms();
        Ok(true)
    }

    async fn save_memory(&self, id: &ConversationId, memory: &Memory) -> StoreResult<()> {
        let mut state = self.lock();
        entry(&mut state, id)?.conversation.memory = memory.clone();
        Ok(())
    }

    async fn enqueue(&self, id: &ConversationId) -> StoreResult<usize> {
        let mut state = self.lock();
        entry(&mut state, id)?;
        if state.queued.insert(id.clone()) {
            state.queue.push_back(id.clone());
        }
        Ok(state
            .queue
            .iter()
            .position(|q| q == id)
            .map_or(0, |p| p + 1))
    }

    async fn dequeue(&self, id: &ConversationId) -> StoreResult<()> {
        let mut state = self.lock();
        if state.queued.remove(id) {
            state.queue.retain(|q| q != id);
        }
        Ok(())
    }

    async fn queue_position(&self, id: &ConversationId) -> StoreResult<Option<usize>> {
        let state = self.lock();
        Ok(state.queue.iter().position(|q| q == id).map(|p| p + 1))
    }

    fn subscribe(&self, id: &ConversationId) -> broadcast::Receiver<Arc<Event>> {
        let state = self.lock();
        match state.conversations.get(id) {
            Some(e) => e.bus.subscribe(),
            // Unknown conversation: a receiver that never yields (its sender is dropped at once,
            // so it reports "closed"), which callers treat as "nothing more will come".
            None => broadcast::channel(1).1,
        }
    }

    async fn ping(&self) -> StoreResult<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    crate::store_conformance_tests!(super::MemoryStore::new());
}
