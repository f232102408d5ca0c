//! The memory store: everything in this process's memory, for tests and throwaway demos.
//!
//! One `std::sync::Mutex` guards all of it: every critical section is a few map operations and
//! never spans an `.await`, so a std mutex is cheaper than tokio's and cannot be held across a
//! suspension point. Fan-out and presence are the process-local seams (`bus.rs`, `presence.rs`).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::bus::LocalBus;
use super::presence::LocalPresence;
use crate::conversation::bookkeeping::{self, Transition};
use crate::conversation::{
    Claim, Conversation, ConversationId, Token, VisitorInfo, VisitorKey, now_ms, random_secret,
};
use crate::conversation::{ConversationState, Event, EventBody, Notice, Turn, TurnOutcome};
use crate::ports::{
    Appended, AssignedChat, Attempt, Bus, ConversationLog, EDITS_KEPT, Edits, KbEdit, Logins,
    MAILS_KEPT, Mail, Outbox, OutboxEntry, PresenceBoard, Queue, Reports, Signal, Store,
    StoreError, StoreResult, Tokens, Workload,
};
use crate::tokens::ApiToken;

struct Entry {
    conversation: Conversation,
    token: Token,
    log: Vec<Event>,
    client_ids: HashMap<String, u64>,
    /// Place in line (smaller = earlier), kept while the handoff lasts.
    ticket: Option<u64>,
}

#[derive(Default)]
struct AgentEntry {
    chats: Vec<AssignedChat>,
    last_assigned: u64,
}

#[derive(Default)]
struct State {
    conversations: HashMap<ConversationId, Entry>,
    queue: BTreeMap<u64, ConversationId>,
    next_ticket: u64,
    agents: HashMap<String, AgentEntry>,
    waits: VecDeque<u64>,
    follow_ups: Vec<ConversationId>,
    sessions: HashMap<String, (String, Instant)>,
    /// API tokens by name.
    tokens: BTreeMap<String, ApiToken>,
    visitors: HashMap<VisitorKey, Vec<ConversationId>>,
    /// The editors' record, oldest first.
    edits: VecDeque<KbEdit>,
    /// The mail outbox, oldest first.
    outbox: Vec<OutboxEntry>,
    /// How far each conversation's visitor has had it.
    delivered: HashMap<ConversationId, u64>,
    /// The mail key, once made.
    mail_key: Option<Vec<u8>>,
}

/// The in-memory `Store`.
pub struct MemoryStore {
    state: Mutex<State>,
    bus: Arc<LocalBus>,
    presence: LocalPresence,
}

impl Default for MemoryStore {
    fn default() -> MemoryStore {
        let bus = Arc::new(LocalBus::default());
        MemoryStore {
            state: Mutex::default(),
            presence: LocalPresence::new(bus.clone()),
            bus,
        }
    }
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

    fn routing_changed(&self) {
        self.bus.routing_changed();
    }

    /// Numbers and logs `body`, then hands it to subscribers. Called with the state locked, so
    /// subscribers see events in sequence order.
    fn push(&self, entry: &mut Entry, body: EventBody) -> Event {
        let event = bookkeeping::record(&mut entry.conversation, body, now_ms());
        entry.log.push(event.clone());
        self.bus
            .publish(&entry.conversation.id, Signal::Event(event.clone()));
        event
    }
}

fn entry<'a>(state: &'a mut State, id: &ConversationId) -> StoreResult<&'a mut Entry> {
    state
        .conversations
        .get_mut(id)
        .ok_or_else(|| StoreError::NotFound(id.clone()))
}

/// Adds `id` to `agent`'s chats.
fn give(state: &mut State, agent: &str, id: &ConversationId, now: u64) {
    let a = state.agents.entry(agent.to_owned()).or_default();
    a.chats.push(AssignedChat {
        id: id.clone(),
        since: now,
    });
    a.last_assigned = now;
}

#[async_trait]
impl ConversationLog for MemoryStore {
    async fn create(
        &self,
        visitor: VisitorInfo,
        visitor_key: Option<VisitorKey>,
    ) -> StoreResult<(Conversation, Token)> {
        let id = ConversationId::random();
        let token = Token::new(id.clone());
        let mut conversation = Conversation::new(id.clone(), visitor);
        conversation.visitor_key = visitor_key.clone();
        let mut state = self.lock();
        if let Some(key) = visitor_key {
            state.visitors.entry(key).or_default().push(id.clone());
        }
        state.conversations.insert(
            id,
            Entry {
                conversation: conversation.clone(),
                token: token.clone(),
                log: Vec::new(),
                client_ids: HashMap::new(),
                ticket: None,
            },
        );
        Ok((conversation, token))
    }
    async fn visitor_conversations(&self, key: &VisitorKey) -> StoreResult<Vec<ConversationId>> {
        Ok(self.lock().visitors.get(key).cloned().unwrap_or_default())
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
    async fn get_with_token(
        &self,
        id: &ConversationId,
    ) -> StoreResult<Option<(Conversation, Token)>> {
        Ok(self
            .lock()
            .conversations
            .get(id)
            .map(|e| (e.conversation.clone(), e.token.clone())))
    }
    async fn append(&self, id: &ConversationId, body: EventBody) -> StoreResult<Event> {
        let offline = matches!(body, EventBody::OfflineMessage { .. });
        let event = {
            let mut state = self.lock();
            let event = self.push(entry(&mut state, id)?, body);
            if offline && !state.follow_ups.contains(id) {
                state.follow_ups.push(id.clone());
            }
            event
        };
        if offline {
            self.routing_changed();
        }
        Ok(event)
    }
    async fn append_once(
        &self,
        id: &ConversationId,
        body: EventBody,
        client_key: Option<&str>,
        owner: Option<&str>,
    ) -> StoreResult<Option<Appended>> {
        let offline = matches!(body, EventBody::OfflineMessage { .. });
        let event = {
            let mut state = self.lock();
            let e = entry(&mut state, id)?;
            // A resend of a stored message is a duplicate even after the chat moved on.
            if let Some(&seq) = client_key.and_then(|k| e.client_ids.get(k)) {
                return Ok(Some(Appended::Duplicate { seq }));
            }
            if !owner.is_none_or(|agent| bookkeeping::owns(&e.conversation, agent)) {
                return Ok(None);
            }
            let event = self.push(e, body);
            if let Some(key) = client_key {
                e.client_ids.insert(key.to_owned(), event.seq);
            }
            if offline && !state.follow_ups.contains(id) {
                state.follow_ups.push(id.clone());
            }
            event
        };
        if offline {
            self.routing_changed();
        }
        Ok(Some(Appended::New(event)))
    }
    async fn turn(&self, id: &ConversationId, turn: Turn) -> StoreResult<TurnOutcome> {
        let (outcome, routing) = {
            let mut guard = self.lock();
            let state = &mut *guard;
            let next_ticket = state.next_ticket + 1;
            let e = entry(state, id)?;
            let key = turn.visitor.as_ref().and_then(|(_, key)| key.clone());
            let seen = key.as_ref().and_then(|k| e.client_ids.get(k).copied());
            let (outcome, moved) = bookkeeping::turn(
                &mut e.conversation,
                e.ticket,
                turn,
                seen,
                next_ticket,
                now_ms(),
            );
            if let TurnOutcome::Done { events, .. } = &outcome {
                // With a key, the first event is the visitor's item.
                if let (Some(key), Some(first)) = (key, events.first()) {
                    e.client_ids.insert(key, first.seq);
                }
                for event in events {
                    e.log.push(event.clone());
                    self.bus.publish(id, Signal::Event(event.clone()));
                }
            }
            if let Some(moved) = &moved {
                e.ticket = moved.ticket;
                if moved.ticket == Some(next_ticket) {
                    state.next_ticket = next_ticket;
                }
                if let Some(t) = moved.ticket {
                    state.queue.insert(t, id.clone());
                }
            }
            (outcome, moved.is_some())
        };
        if routing {
            self.routing_changed();
        }
        Ok(outcome)
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
        agent: Option<&str>,
        notice: Option<Notice>,
    ) -> StoreResult<bool> {
        {
            let mut guard = self.lock();
            let state = &mut *guard;
            let next_ticket = state.next_ticket + 1;
            let e = entry(state, id)?;
            let step = Transition { from, to, agent };
            let Some(moved) = bookkeeping::transition(
                &mut e.conversation,
                e.ticket,
                step,
                notice.as_ref(),
                next_ticket,
                now_ms(),
            ) else {
                return Ok(false);
            };
            let old_ticket = std::mem::replace(&mut e.ticket, moved.ticket);
            if let Some(notice) = notice {
                self.push(e, EventBody::Notice { notice });
            }
            if moved.ticket == Some(next_ticket) {
                state.next_ticket = next_ticket;
            }
            if let Some(old) = old_ticket {
                state.queue.remove(&old);
            }
            if let Some(t) = moved.ticket {
                state.queue.insert(t, id.clone());
            }
            if let Some(a) = moved.released.and_then(|a| state.agents.get_mut(&a)) {
                a.chats.retain(|c| &c.id != id);
            }
        }
        self.routing_changed();
        Ok(true)
    }
    async fn claim(
        &self,
        id: &ConversationId,
        agent: &str,
        capacity: usize,
        notice: Option<Notice>,
    ) -> StoreResult<Claim> {
        {
            let mut guard = self.lock();
            let state = &mut *guard;
            let load = state.agents.get(agent).map_or(0, |a| a.chats.len());
            let e = entry(state, id)?;
            let now = now_ms();
            let waited = match bookkeeping::claim(&mut e.conversation, agent, load, capacity, now) {
                Ok(waited) => waited,
                Err(refused) => return Ok(refused),
            };
            if let Some(notice) = notice {
                self.push(e, EventBody::Notice { notice });
            }
            // The ticket stays with the conversation: a requeue takes back its place.
            if let Some(t) = e.ticket {
                state.queue.remove(&t);
            }
            bookkeeping::note_wait(&mut state.waits, waited);
            give(state, agent, id, now);
        }
        self.routing_changed();
        Ok(Claim::Claimed)
    }
    async fn transfer(
        &self,
        id: &ConversationId,
        from: &str,
        to: &str,
        capacity: usize,
        notice: Option<Notice>,
    ) -> StoreResult<Claim> {
        {
            let mut guard = self.lock();
            let state = &mut *guard;
            let load = state.agents.get(to).map_or(0, |a| a.chats.len());
            let e = entry(state, id)?;
            let now = now_ms();
            let moved = bookkeeping::transfer(&mut e.conversation, from, to, load, capacity, now);
            if moved != Claim::Claimed {
                return Ok(moved);
            }
            if let Some(notice) = notice {
                self.push(e, EventBody::Notice { notice });
            }
            if let Some(a) = state.agents.get_mut(from) {
                a.chats.retain(|c| &c.id != id);
            }
            give(state, to, id, now);
        }
        self.routing_changed();
        Ok(Claim::Claimed)
    }
    async fn follow_ups(&self) -> StoreResult<Vec<ConversationId>> {
        Ok(self.lock().follow_ups.clone())
    }
    async fn mark_followed_up(&self, id: &ConversationId) -> StoreResult<()> {
        {
            let mut state = self.lock();
            entry(&mut state, id)?.conversation.needs_follow_up = false;
            state.follow_ups.retain(|f| f != id);
        }
        self.routing_changed();
        Ok(())
    }
    async fn delete(&self, id: &ConversationId) -> StoreResult<bool> {
        let routing = {
            let mut state = self.lock();
            let Some(e) = state.conversations.remove(id) else {
                return Ok(false);
            };
            state.delivered.remove(id);
            if let Some(ticket) = e.ticket {
                state.queue.remove(&ticket);
            }
            let followed = state.follow_ups.len();
            state.follow_ups.retain(|f| f != id);
            if let Some(a) = e
                .conversation
                .agent
                .as_ref()
                .and_then(|a| state.agents.get_mut(a))
            {
                a.chats.retain(|c| &c.id != id);
            }
            if let Some(key) = &e.conversation.visitor_key
                && let Some(list) = state.visitors.get_mut(key)
            {
                list.retain(|c| c != id);
                if list.is_empty() {
                    state.visitors.remove(key);
                }
            }
            e.ticket.is_some()
                || e.conversation.agent.is_some()
                || followed != state.follow_ups.len()
        };
        if routing {
            self.routing_changed();
        }
        Ok(true)
    }
}

#[async_trait]
impl Queue for MemoryStore {
    async fn queue(&self) -> StoreResult<Vec<ConversationId>> {
        Ok(self.lock().queue.values().cloned().collect())
    }
    async fn average_wait(&self) -> StoreResult<Option<u64>> {
        let state = self.lock();
        let n = state.waits.len() as u64;
        Ok((n > 0).then(|| state.waits.iter().sum::<u64>() / n))
    }
    async fn workloads(&self) -> StoreResult<Vec<Workload>> {
        let state = self.lock();
        Ok(state
            .agents
            .iter()
            .map(|(id, a)| Workload {
                id: id.clone(),
                chats: a.chats.clone(),
                last_assigned: a.last_assigned,
            })
            .collect())
    }
}

#[async_trait]
impl Logins for MemoryStore {
    async fn create_session(&self, agent: &str, ttl: Duration) -> StoreResult<String> {
        let secret = random_secret();
        let mut state = self.lock();
        let now = Instant::now();
        state.sessions.retain(|_, (_, expires)| *expires > now);
        state
            .sessions
            .insert(secret.clone(), (agent.to_owned(), now + ttl));
        Ok(secret)
    }
    async fn session_agent(&self, secret: &str) -> StoreResult<Option<String>> {
        let state = self.lock();
        Ok(state
            .sessions
            .get(secret)
            .filter(|(_, expires)| *expires > Instant::now())
            .map(|(agent, _)| agent.clone()))
    }
    async fn end_session(&self, secret: &str) -> StoreResult<()> {
        self.lock().sessions.remove(secret);
        Ok(())
    }
}

#[async_trait]
impl Tokens for MemoryStore {
    async fn add_token(&self, token: ApiToken) -> StoreResult<bool> {
        let mut state = self.lock();
        if state.tokens.contains_key(&token.name) {
            return Ok(false);
        }
        state.tokens.insert(token.name.clone(), token);
        Ok(true)
    }
    async fn token_by_hash(&self, hash: &str) -> StoreResult<Option<ApiToken>> {
        let state = self.lock();
        Ok(state.tokens.values().find(|t| t.hash == hash).cloned())
    }
    async fn tokens(&self) -> StoreResult<Vec<ApiToken>> {
        Ok(self.lock().tokens.values().cloned().collect())
    }
    async fn revoke_token(&self, name: &str) -> StoreResult<bool> {
        Ok(self.lock().tokens.remove(name).is_some())
    }
}

#[async_trait]
impl Edits for MemoryStore {
    async fn record_edit(&self, edit: KbEdit) -> StoreResult<()> {
        let mut state = self.lock();
        state.edits.push_back(edit);
        while state.edits.len() > EDITS_KEPT {
            state.edits.pop_front();
        }
        Ok(())
    }
    async fn edits(&self, limit: usize) -> StoreResult<Vec<KbEdit>> {
        Ok(self
            .lock()
            .edits
            .iter()
            .rev()
            .take(limit)
            .cloned()
            .collect())
    }
}

#[async_trait]
impl Outbox for MemoryStore {
    async fn queue_mail(&self, mail: Mail, now: u64, due: u64) -> StoreResult<bool> {
        let mut state = self.lock();
        if state.outbox.iter().any(|e| e.mail.key == mail.key) {
            return Ok(false);
        }
        state.outbox.push(OutboxEntry::queued(mail, now, due));
        Ok(true)
    }
    async fn lease_mails(
        &self,
        now: u64,
        lease_ms: u64,
        limit: usize,
    ) -> StoreResult<Vec<OutboxEntry>> {
        let mut state = self.lock();
        let mut due: Vec<&mut OutboxEntry> = state
            .outbox
            .iter_mut()
            .filter(|e| e.state.pending() && e.next_at <= now)
            .collect();
        due.sort_by_key(|e| e.next_at);
        Ok(due
            .into_iter()
            .take(limit)
            .map(|e| {
                e.next_at = now + lease_ms;
                e.clone()
            })
            .collect())
    }
    async fn record_attempt(&self, key: &str, attempt: Attempt, now: u64) -> StoreResult<()> {
        let mut state = self.lock();
        if let Some(e) = state.outbox.iter_mut().find(|e| e.mail.key == key) {
            e.record(attempt, now);
        }
        let finished = state.outbox.iter().filter(|e| !e.state.pending()).count();
        if finished > MAILS_KEPT
            && let Some(oldest) = state.outbox.iter().position(|e| !e.state.pending())
        {
            state.outbox.remove(oldest);
        }
        Ok(())
    }
    async fn mails(&self, limit: usize) -> StoreResult<Vec<OutboxEntry>> {
        Ok(self
            .lock()
            .outbox
            .iter()
            .rev()
            .take(limit)
            .cloned()
            .collect())
    }
    async fn drop_mail(&self, key: &str) -> StoreResult<()> {
        self.lock().outbox.retain(|e| e.mail.key != key);
        Ok(())
    }
    async fn mail_key(&self) -> StoreResult<Vec<u8>> {
        Ok(self
            .lock()
            .mail_key
            .get_or_insert_with(|| rand::random::<[u8; 32]>().to_vec())
            .clone())
    }
    async fn raise_delivered(&self, id: &ConversationId, seq: u64) -> StoreResult<()> {
        let mut state = self.lock();
        let at = state.delivered.entry(id.clone()).or_default();
        *at = (*at).max(seq);
        Ok(())
    }
    async fn delivered(&self, id: &ConversationId) -> StoreResult<u64> {
        Ok(self.lock().delivered.get(id).copied().unwrap_or(0))
    }
}

#[async_trait]
impl Reports for MemoryStore {
    async fn conversations_created(&self, from: u64, to: u64) -> StoreResult<Vec<ConversationId>> {
        let state = self.lock();
        let mut found: Vec<(u64, ConversationId)> = state
            .conversations
            .values()
            .map(|e| &e.conversation)
            .filter(|c| (from..to).contains(&c.created))
            .map(|c| (c.created, c.id.clone()))
            .collect();
        found.sort();
        Ok(found.into_iter().map(|(_, id)| id).collect())
    }
    async fn inactive_before(&self, before: u64) -> StoreResult<Vec<ConversationId>> {
        let state = self.lock();
        Ok(state
            .conversations
            .values()
            .filter(|e| e.conversation.updated < before)
            .map(|e| e.conversation.id.clone())
            .collect())
    }
}

#[async_trait]
impl Store for MemoryStore {
    fn bus(&self) -> &dyn Bus {
        self.bus.as_ref()
    }
    fn presence(&self) -> &dyn PresenceBoard {
        &self.presence
    }
    async fn ping(&self) -> StoreResult<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    crate::store_conformance_tests!(async { std::sync::Arc::new(super::MemoryStore::new()) });
}
