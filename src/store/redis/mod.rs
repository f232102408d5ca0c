//! The Redis store: conversations, logs, the queue, agents and sessions in one Redis that several
//! `frontdesk` processes share (key names: `keys.rs`). Every change to a conversation is read,
//! decided by `conversation::bookkeeping` and committed by one check-and-write script that
//! refuses if anything read changed meanwhile (`step.rs`), so each is one atomic step however
//! many nodes race, with the rules in Rust only.
//!
//! Fan-out: every commit publishes its events on the conversation's channel inside the script, and
//! routing changes on one channel. One listener task per process holds a pub/sub connection and
//! hands what arrives to local broadcast channels, one per conversation someone here watches
//! (the hub). If that connection drops, the listener reconnects with backoff and tells every local
//! subscriber to catch up from the log (`Signal::Resync`): the log, not the bus, is the truth.
//!
//! Commands go through a `ConnectionManager` (it reconnects by itself) with short timeouts, so a
//! Redis outage turns into `StoreError::Unavailable` quickly instead of hanging a socket.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script};
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

mod step;

use self::step::{Read, Step};
use super::bus::LocalBus;
use super::keys::Keys;
use crate::conversation::bookkeeping::{self, RECENT_WAITS, Transition};
use crate::conversation::{
    Claim, Conversation, ConversationId, Token, VisitorInfo, VisitorKey, now_ms, random_secret,
};
use crate::conversation::{ConversationState, Event, EventBody, Notice, Turn, TurnOutcome};
use crate::ports::{
    Appended, AssignedChat, Attempt, Bus, ConversationLog, EDITS_KEPT, Edits, KbEdit, Logins,
    MAILS_KEPT, Mail, Outbox, OutboxEntry, Presence, PresenceBoard, Queue, Reports, Signal, Store,
    StoreError, StoreResult, Tokens, Workload,
};
use crate::tokens::ApiToken;

/// How long one command may take before it counts as an outage.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How many times a step reads and decides again while others change what it read.
const STEP_ATTEMPTS: usize = 100;
/// The listener's reconnect backoff: from the first to the longest pause.
const LISTEN_RETRY_MIN: Duration = Duration::from_millis(100);
const LISTEN_RETRY_MAX: Duration = Duration::from_secs(2);

fn read_token(record: &str) -> StoreResult<ApiToken> {
    serde_json::from_str(record).map_err(|e| corrupt_token(&e))
}

fn corrupt_token(e: &serde_json::Error) -> StoreError {
    StoreError::Corrupt(format!("API token record: {e}"))
}

fn unavailable(e: redis::RedisError) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// A reply that is not what was asked for.
fn unreadable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("unexpected reply from redis: {e}"))
}

/// Redis's fan-out: signals arrive through this process's pub/sub listener (`hub`); typing is
/// published through Redis, so it reaches the conversation's sockets on every node.
struct RedisBus {
    hub: Arc<LocalBus>,
    con: ConnectionManager,
    keys: Keys,
}

#[async_trait]
impl Bus for RedisBus {
    fn subscribe(&self, id: &ConversationId) -> broadcast::Receiver<Arc<Signal>> {
        self.hub.subscribe(id)
    }

    async fn typing(&self, id: &ConversationId, agent: Option<&str>) -> StoreResult<()> {
        let signal = Signal::Typing {
            agent: agent.map(str::to_owned),
        };
        let json = serde_json::to_string(&signal).unwrap_or_default();
        self.con
            .clone()
            .publish(self.keys.bus(id), json)
            .await
            .map_err(unavailable)
    }

    fn watch_routing(&self) -> watch::Receiver<u64> {
        self.hub.watch_routing()
    }

    async fn knowledge_base_changed(&self) -> StoreResult<()> {
        // Every node's listener (this one's too) hears it.
        self.con
            .clone()
            .publish(self.keys.knowledge_base(), "changed")
            .await
            .map_err(unavailable)
    }

    fn watch_knowledge_base(&self) -> watch::Receiver<u64> {
        self.hub.watch_knowledge_base()
    }
}

/// Presence in Redis: a hash field per agent and a key that expires without a heartbeat, so
/// every node sees the same agents.
struct RedisPresence {
    con: ConnectionManager,
    keys: Keys,
    script: Script,
}

#[async_trait]
impl PresenceBoard for RedisPresence {
    async fn set(&self, agent: &str, presence: Presence, ttl: Duration) -> StoreResult<()> {
        let _: i64 = self
            .script
            .key(self.keys.agents())
            .key(self.keys.agent(agent))
            .key(self.keys.agent_alive(agent))
            .arg(agent)
            .arg(presence_name(presence))
            .arg(ttl.as_millis().max(1) as u64)
            .arg(self.keys.routing())
            .invoke_async(&mut self.con.clone())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn all(&self) -> StoreResult<BTreeMap<String, Presence>> {
        let mut con = self.con.clone();
        let ids: Vec<String> = con
            .smembers(self.keys.agents())
            .await
            .map_err(unavailable)?;
        if ids.is_empty() {
            return Ok(BTreeMap::new());
        }
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.hget(self.keys.agent(id), "presence")
                .exists(self.keys.agent_alive(id));
        }
        let flat: Vec<redis::Value> = pipe.query_async(&mut con).await.map_err(unavailable)?;
        let rows: Vec<(Option<String>, bool)> = flat
            .chunks(2)
            .map(|c| redis::from_redis_value(redis::Value::Array(c.to_vec())))
            .collect::<Result<_, _>>()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        Ok(ids
            .into_iter()
            .zip(rows)
            .map(|(id, (presence, alive))| {
                let presence = match (alive, presence.as_deref()) {
                    (true, Some("online")) => Presence::Online,
                    (true, Some("away")) => Presence::Away,
                    _ => Presence::Offline,
                };
                (id, presence)
            })
            .collect())
    }
}

struct Scripts {
    /// The one check-and-write every conversation change goes through (`step.rs`).
    commit: Script,
    /// Queues a mail unless its key is known (a sent mail must not become due again).
    queue_mail: Script,
    /// Takes the due mails and pushes them past their lease, at once.
    lease_mails: Script,
}

/// The Redis `Store`.
pub struct RedisStore {
    con: ConnectionManager,
    keys: Keys,
    bus: RedisBus,
    presence: RedisPresence,
    scripts: Scripts,
    listener: JoinHandle<()>,
}

impl Drop for RedisStore {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

impl RedisStore {
    /// Connects to `url` (e.g. `redis://127.0.0.1:6379`) with every key under `prefix`. Fails if
    /// Redis does not answer now; later outages are survived.
    pub async fn connect(url: &str, prefix: &str) -> StoreResult<RedisStore> {
        use redis::IntoConnectionInfo;
        // Small request/response pairs: Nagle's algorithm would hold each for tens of ms.
        let info = url
            .into_connection_info()
            .map_err(unavailable)?
            .set_tcp_settings(redis::io::tcp::TcpSettings::default().set_nodelay(true));
        let client = redis::Client::open(info).map_err(unavailable)?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let con = ConnectionManager::new_with_config(client.clone(), config)
            .await
            .map_err(unavailable)?;
        let keys = Keys::new(prefix);
        let hub = Arc::new(LocalBus::default());
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let listener = tokio::spawn(listen(client, keys.clone(), hub.clone(), ready_tx));
        // Appends published before the listener subscribed would reach no one here; wait for it.
        tokio::time::timeout(RESPONSE_TIMEOUT * 2, ready_rx)
            .await
            .map_err(|_| StoreError::Unavailable("cannot subscribe to Redis pub/sub".into()))?
            .map_err(|_| StoreError::Unavailable("the pub/sub listener stopped".into()))?;
        Ok(RedisStore {
            bus: RedisBus {
                hub,
                con: con.clone(),
                keys: keys.clone(),
            },
            presence: RedisPresence {
                con: con.clone(),
                keys: keys.clone(),
                script: Script::new(include_str!("scripts/presence.lua")),
            },
            con,
            keys,
            scripts: Scripts {
                commit: Script::new(include_str!("scripts/commit.lua")),
                queue_mail: Script::new(include_str!("scripts/queue_mail.lua")),
                lease_mails: Script::new(include_str!("scripts/lease_mails.lua")),
            },
            listener,
        })
    }

    /// The conversation ids in a sorted set, in order.
    async fn ids_in(&self, zset: String) -> StoreResult<Vec<ConversationId>> {
        let ids: Vec<String> = self.con().zrange(zset, 0, -1).await.map_err(unavailable)?;
        Ok(ids
            .iter()
            .filter_map(|i| ConversationId::parse(i))
            .collect())
    }

    fn con(&self) -> ConnectionManager {
        // A handle to the shared multiplexed connection: cloning is cheap.
        self.con.clone()
    }

    /// Reads the conversation for a step, with `extra` commands in the same round trip (their
    /// replies follow).
    async fn read(
        &self,
        id: &ConversationId,
        extra: &[redis::Cmd],
    ) -> StoreResult<(Option<Read>, Vec<redis::Value>)> {
        let mut pipe = redis::pipe();
        pipe.hgetall(self.keys.conv(id));
        for cmd in extra {
            pipe.add_command(cmd.clone());
        }
        let mut replies: Vec<redis::Value> = pipe
            .query_async(&mut self.con())
            .await
            .map_err(unavailable)?;
        if replies.is_empty() {
            return Err(StoreError::Unavailable("no reply to a read".into()));
        }
        let raw: HashMap<String, String> =
            redis::from_redis_value(replies.remove(0)).map_err(unreadable)?;
        Ok((Read::parse(id, raw)?, replies))
    }

    /// One change to a conversation (see `step.rs`): reads it with `extra`, lets `decide` apply
    /// the rules, and commits what it decided; reads and decides again while someone else
    /// changed what it read in between.
    async fn step<T>(
        &self,
        id: &ConversationId,
        extra: &[redis::Cmd],
        mut decide: impl FnMut(Option<Read>, Vec<redis::Value>) -> StoreResult<Decided<T>>,
    ) -> StoreResult<T> {
        for _ in 0..STEP_ATTEMPTS {
            let (read, replies) = self.read(id, extra).await?;
            let (step, outcome) = match decide(read, replies)? {
                Decided::Done(outcome) => return Ok(outcome),
                Decided::Commit(step, outcome) => (step, outcome),
            };
            let mut invocation = self.scripts.commit.prepare_invoke();
            for key in step.keys() {
                invocation.key(key);
            }
            let written: i64 = invocation
                .arg(step.encode()?)
                .invoke_async(&mut self.con())
                .await
                .map_err(unavailable)?;
            if written == 1 {
                return Ok(outcome);
            }
            tokio::task::yield_now().await;
        }
        Err(StoreError::Unavailable(format!(
            "conversation {id} kept changing while being written ({STEP_ATTEMPTS} attempts)"
        )))
    }
}

impl RedisStore {
    /// When the move took a new place at the back of the line (`ticket` is `next`, not the one
    /// it had), the step also takes that number from the counter, if the counter is still at
    /// `counter` (two handoffs racing: one reads again).
    fn take_ticket(
        &self,
        step: &mut Step,
        counter: Option<&str>,
        had: Option<u64>,
        ticket: Option<u64>,
        next: u64,
    ) {
        if ticket == Some(next) && had != Some(next) {
            step.check("GET", self.keys.tickets(), &[], counter.unwrap_or(""));
            step.write("SET", Some(self.keys.tickets()), [next]);
        }
    }
}

impl RedisStore {
    /// Gives `id` to `agent` as `rule` decides on the record and the agent's load (a claim, with
    /// the wait it records, or a transfer); the load is checked again in the same commit.
    async fn give(
        &self,
        id: &ConversationId,
        agent: &str,
        notice: Option<Notice>,
        rule: impl Fn(&mut Conversation, usize, u64) -> Result<Option<u64>, Claim>,
    ) -> StoreResult<Claim> {
        let chats = self.keys.agent_chats(agent);
        let extra = [redis::Cmd::zcard(&chats)];
        self.step(id, &extra, |read, replies| {
            let read = found(id, read)?;
            let load: usize = reply(&replies, 0)?;
            let now = now_ms();
            let mut after = read.conversation.clone();
            let waited = match rule(&mut after, load, now) {
                Ok(waited) => waited,
                Err(refused) => return Ok(Decided::Done(refused)),
            };
            let events = notice_event(&mut after, notice.as_ref(), now);
            // The ticket stays with the conversation: a requeue takes back its place.
            let mut step = Step::change(&self.keys, &read, &after, read.ticket, &events, now)?;
            step.check("ZCARD", chats.clone(), &[], &load.to_string());
            if let Some(waited) = waited {
                step.write("LPUSH", Some(self.keys.waits()), [waited]);
                step.write("LTRIM", Some(self.keys.waits()), [0, RECENT_WAITS - 1]);
            }
            Ok(Decided::Commit(step, Claim::Claimed))
        })
        .await
    }
}

/// What a step decided: nothing to write (the answer is in what was read), or a commit.
enum Decided<T> {
    Done(T),
    Commit(Step, T),
}

/// `read`, or `NotFound`.
fn found(id: &ConversationId, read: Option<Read>) -> StoreResult<Read> {
    read.ok_or_else(|| StoreError::NotFound(id.clone()))
}

/// The ticket a newcomer to the line gets, after the counter's `last`.
fn next_ticket(last: Option<&str>) -> StoreResult<u64> {
    let last = last
        .map(|t| t.parse::<u64>())
        .transpose()
        .map_err(|_| StoreError::Corrupt("the ticket counter is not a number".into()))?;
    Ok(last.unwrap_or(0) + 1)
}

/// The notice, if any, recorded in `after`'s log.
fn notice_event(after: &mut Conversation, notice: Option<&Notice>, now: u64) -> Vec<Event> {
    notice
        .map(|n| bookkeeping::record(after, EventBody::Notice { notice: n.clone() }, now))
        .into_iter()
        .collect()
}

/// A reply read as `T` (a pipeline's extra reply).
fn reply<T: redis::FromRedisValue>(replies: &[redis::Value], at: usize) -> StoreResult<T> {
    let value = replies
        .get(at)
        .ok_or_else(|| StoreError::Unavailable("a read lost a reply".into()))?;
    redis::from_redis_value(value.clone()).map_err(unreadable)
}

fn json(value: &impl serde::Serialize) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("cannot encode: {e}")))
}

fn parse_event(raw: &str) -> StoreResult<Event> {
    serde_json::from_str(raw)
        .map_err(|e| StoreError::Unavailable(format!("a stored event does not parse: {e}")))
}

fn presence_name(p: Presence) -> &'static str {
    match p {
        Presence::Online => "online",
        Presence::Away => "away",
        Presence::Offline => "offline",
    }
}

/// A conversation from its hash (`None` when the hash is empty, i.e. there is none). Every field
/// `create` writes must be there and read back; a value that does not is `Corrupt`, never
/// replaced by a default.
fn conversation_from(
    id: &ConversationId,
    h: &HashMap<String, String>,
) -> StoreResult<Option<Conversation>> {
    if h.is_empty() {
        return Ok(None);
    }
    let bad = |field: &str| StoreError::Corrupt(format!("conversation {id}: field `{field}`"));
    let required = |k: &str| h.get(k).ok_or_else(|| bad(k));
    let number = |k: &str| -> StoreResult<Option<u64>> {
        h.get(k)
            .map(|v| v.parse::<u64>().map_err(|_| bad(k)))
            .transpose()
    };
    let state = ConversationState::from_name(required("state")?).ok_or_else(|| bad("state"))?;
    let mut reason = h.get("reason").map(String::as_str);
    let mut resolution = h.get("resolution").cloned();
    // Written before queue reasons were typed: handing back stored `handed_back` and closing
    // stored the resolution, both in `reason`.
    match state {
        ConversationState::Bot if reason == Some("handed_back") => reason = None,
        ConversationState::Closed if resolution.is_none() => {
            resolution = reason.take().map(str::to_owned);
        }
        _ => {}
    }
    Ok(Some(Conversation {
        id: id.clone(),
        state,
        reason: reason
            .map(|r| r.parse().map_err(|_| bad("reason")))
            .transpose()?,
        resolution,
        visitor: serde_json::from_str(required("visitor")?).map_err(|_| bad("visitor"))?,
        memory: serde_json::from_str(required("memory")?).map_err(|_| bad("memory"))?,
        agent: h.get("agent").cloned(),
        enqueued_at: number("enqueued_at")?,
        assigned_at: number("assigned_at")?,
        agent_answered: h.get("answered").is_some_and(|v| v == "1"),
        needs_follow_up: h.get("follow_up").is_some_and(|v| v == "1"),
        visitor_key: h
            .get("visitor_key")
            .map(|k| VisitorKey::parse(k).ok_or_else(|| bad("visitor_key")))
            .transpose()?,
        last_seq: number("last_seq")?.ok_or_else(|| bad("last_seq"))?,
        created: number("created")?.ok_or_else(|| bad("created"))?,
        updated: number("updated")?.ok_or_else(|| bad("updated"))?,
    }))
}

/// The pub/sub listener: runs until the store is dropped, reconnecting with backoff.
async fn listen(
    client: redis::Client,
    keys: Keys,
    hub: Arc<LocalBus>,
    ready: tokio::sync::oneshot::Sender<()>,
) {
    let mut ready = Some(ready);
    let mut pause = LISTEN_RETRY_MIN;
    loop {
        let subscribed = async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.psubscribe(keys.bus_pattern()).await?;
            pubsub.subscribe(keys.routing()).await?;
            pubsub.subscribe(keys.knowledge_base()).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        match tokio::time::timeout(RESPONSE_TIMEOUT, subscribed).await {
            Ok(Ok(mut pubsub)) => {
                pause = LISTEN_RETRY_MIN;
                if let Some(ready) = ready.take() {
                    // The first subscription: the store is not handed out before this, so no
                    // subscriber can have missed anything. (A resync here, after `ready`, raced
                    // with the first subscribers and sent them a spurious `Resync`.)
                    let _ = ready.send(());
                } else {
                    tracing::info!("redis pub/sub reconnected; sessions catch up from the logs");
                    hub.resync();
                }
                let routing = keys.routing();
                let knowledge_base = keys.knowledge_base();
                let mut messages = pubsub.on_message();
                while let Some(msg) = messages.next().await {
                    let channel = msg.get_channel_name();
                    if channel == routing {
                        hub.routing_changed();
                    } else if channel == knowledge_base {
                        hub.knowledge_base_changed_here();
                    } else if let Some(id) = keys.bus_conversation(channel) {
                        match serde_json::from_slice::<Signal>(msg.get_payload_bytes()) {
                            Ok(signal) => hub.publish(&id, signal),
                            Err(e) => {
                                tracing::warn!(conv = %id, error = %e, "unreadable bus message")
                            }
                        }
                    }
                }
                tracing::warn!("redis pub/sub connection lost; reconnecting");
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot subscribe to redis; retrying"),
            Err(_) => tracing::warn!("redis pub/sub subscribe timed out; retrying"),
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(LISTEN_RETRY_MAX);
    }
}

#[async_trait]
impl ConversationLog for RedisStore {
    async fn create(
        &self,
        visitor: VisitorInfo,
        visitor_key: Option<VisitorKey>,
    ) -> StoreResult<(Conversation, Token)> {
        let id = ConversationId::random();
        let token = Token::new(id.clone());
        let mut conversation = Conversation::new(id.clone(), visitor);
        conversation.visitor_key = visitor_key.clone();
        let mut fields: Vec<(&str, String)> = vec![
            ("token", token.secret().to_owned()),
            ("state", "bot".into()),
            (
                "visitor",
                serde_json::to_string(&conversation.visitor).unwrap_or_default(),
            ),
            (
                "memory",
                serde_json::to_string(&conversation.memory).unwrap_or_else(|_| "{}".into()),
            ),
            ("last_seq", "0".into()),
            ("created", conversation.created.to_string()),
            ("updated", conversation.updated.to_string()),
        ];
        let mut pipe = redis::pipe();
        if let Some(key) = &visitor_key {
            fields.push(("visitor_key", key.as_str().to_owned()));
            pipe.zadd(self.keys.visitor(key), id.as_str(), conversation.created)
                .ignore();
        }
        pipe.hset_multiple(self.keys.conv(&id), &fields).ignore();
        pipe.zadd(self.keys.conversations(), id.as_str(), conversation.created)
            .ignore();
        let () = pipe
            .query_async(&mut self.con())
            .await
            .map_err(unavailable)?;
        Ok((conversation, token))
    }
    async fn visitor_conversations(&self, key: &VisitorKey) -> StoreResult<Vec<ConversationId>> {
        self.ids_in(self.keys.visitor(key)).await
    }
    async fn resume(&self, token: &Token) -> StoreResult<Option<Conversation>> {
        let h: HashMap<String, String> = self
            .con()
            .hgetall(self.keys.conv(&token.conversation))
            .await
            .map_err(unavailable)?;
        let stored = h
            .get("token")
            .map(|secret| Token::from_parts(token.conversation.clone(), secret.clone()));
        if !stored.is_some_and(|s| s.matches(token)) {
            return Ok(None);
        }
        conversation_from(&token.conversation, &h)
    }
    async fn get_with_token(
        &self,
        id: &ConversationId,
    ) -> StoreResult<Option<(Conversation, Token)>> {
        let h: HashMap<String, String> = self
            .con()
            .hgetall(self.keys.conv(id))
            .await
            .map_err(unavailable)?;
        let Some(secret) = h.get("token") else {
            return Ok(None);
        };
        let token = Token::from_parts(id.clone(), secret.clone());
        Ok(conversation_from(id, &h)?.map(|c| (c, token)))
    }
    async fn get(&self, id: &ConversationId) -> StoreResult<Option<Conversation>> {
        let h: HashMap<String, String> = self
            .con()
            .hgetall(self.keys.conv(id))
            .await
            .map_err(unavailable)?;
        conversation_from(id, &h)
    }
    async fn append(&self, id: &ConversationId, body: EventBody) -> StoreResult<Event> {
        match self.append_once(id, body, None, None).await? {
            Some(Appended::New(event)) => Ok(event),
            _ => Err(StoreError::Unavailable("append stored nothing".into())),
        }
    }
    async fn append_once(
        &self,
        id: &ConversationId,
        body: EventBody,
        client_key: Option<&str>,
        owner: Option<&str>,
    ) -> StoreResult<Option<Appended>> {
        let extra: Vec<redis::Cmd> = client_key
            .map(|key| redis::Cmd::hget(self.keys.client_ids(id), key))
            .into_iter()
            .collect();
        self.step(id, &extra, |read, replies| {
            let read = found(id, read)?;
            if client_key.is_some()
                && let Some(seq) = reply::<Option<u64>>(&replies, 0)?
            {
                return Ok(Decided::Done(Some(Appended::Duplicate { seq })));
            }
            if !owner.is_none_or(|agent| bookkeeping::owns(&read.conversation, agent)) {
                return Ok(Decided::Done(None));
            }
            let now = now_ms();
            let mut after = read.conversation.clone();
            let event = bookkeeping::record(&mut after, body.clone(), now);
            let mut step = Step::change(
                &self.keys,
                &read,
                &after,
                read.ticket,
                std::slice::from_ref(&event),
                now,
            )?;
            if let Some(key) = client_key {
                step.write(
                    "HSET",
                    Some(self.keys.client_ids(id)),
                    [key.to_owned(), event.seq.to_string()],
                );
            }
            Ok(Decided::Commit(step, Some(Appended::New(event))))
        })
        .await
    }
    async fn turn(&self, id: &ConversationId, turn: Turn) -> StoreResult<TurnOutcome> {
        let key = turn.visitor.as_ref().and_then(|(_, key)| key.clone());
        // Visitors' keys were stored without their `visitor:` namespace before it existed
        // (agents' always had `agent:`): a resend across the upgrade finds the old one.
        let legacy = key
            .as_deref()
            .and_then(|k| k.strip_prefix("visitor:"))
            .filter(|k| !k.starts_with("agent:"));
        let mut extra = vec![redis::Cmd::get(self.keys.tickets())];
        for k in key.iter().map(String::as_str).chain(legacy) {
            extra.push(redis::Cmd::hget(self.keys.client_ids(id), k));
        }
        self.step(id, &extra, |read, replies| {
            let read = found(id, read)?;
            let counter: Option<String> = reply(&replies, 0)?;
            let seen = (1..replies.len())
                .map(|at| reply::<Option<u64>>(&replies, at))
                .collect::<StoreResult<Vec<_>>>()?
                .into_iter()
                .flatten()
                .next();
            let next_ticket = next_ticket(counter.as_deref())?;
            let now = now_ms();
            let mut after = read.conversation.clone();
            let (outcome, moved) = bookkeeping::turn(
                &mut after,
                read.ticket,
                turn.clone(),
                seen,
                next_ticket,
                now,
            );
            let TurnOutcome::Done { events, .. } = &outcome else {
                return Ok(Decided::Done(outcome));
            };
            let ticket = moved.as_ref().map_or(read.ticket, |m| m.ticket);
            let mut step = Step::change(&self.keys, &read, &after, ticket, events, now)?;
            // With a key, the first event is the visitor's item.
            if let (Some(key), Some(first)) = (&key, events.first()) {
                step.write(
                    "HSET",
                    Some(self.keys.client_ids(id)),
                    [key.clone(), first.seq.to_string()],
                );
            }
            self.take_ticket(
                &mut step,
                counter.as_deref(),
                read.ticket,
                ticket,
                next_ticket,
            );
            Ok(Decided::Commit(step, outcome))
        })
        .await
    }
    async fn events_after(&self, id: &ConversationId, after: u64) -> StoreResult<Vec<Event>> {
        let mut con = self.con();
        let (exists, raw): (bool, Vec<String>) = redis::pipe()
            .exists(self.keys.conv(id))
            .lrange(
                self.keys.log(id),
                isize::try_from(after).unwrap_or(isize::MAX),
                -1,
            )
            .query_async(&mut con)
            .await
            .map_err(unavailable)?;
        if !exists {
            return Err(StoreError::NotFound(id.clone()));
        }
        raw.iter().map(|r| parse_event(r)).collect()
    }
    async fn transition(
        &self,
        id: &ConversationId,
        from: ConversationState,
        to: ConversationState,
        agent: Option<&str>,
        notice: Option<Notice>,
    ) -> StoreResult<bool> {
        let extra = [redis::Cmd::get(self.keys.tickets())];
        self.step(id, &extra, |read, replies| {
            let read = found(id, read)?;
            let counter: Option<String> = reply(&replies, 0)?;
            let next_ticket = next_ticket(counter.as_deref())?;
            let now = now_ms();
            let mut after = read.conversation.clone();
            let t = Transition { from, to, agent };
            let Some(moved) = bookkeeping::transition(
                &mut after,
                read.ticket,
                t,
                notice.as_ref(),
                next_ticket,
                now,
            ) else {
                return Ok(Decided::Done(false));
            };
            let events = notice_event(&mut after, notice.as_ref(), now);
            let mut step = Step::change(&self.keys, &read, &after, moved.ticket, &events, now)?;
            self.take_ticket(
                &mut step,
                counter.as_deref(),
                read.ticket,
                moved.ticket,
                next_ticket,
            );
            Ok(Decided::Commit(step, true))
        })
        .await
    }
    async fn claim(
        &self,
        id: &ConversationId,
        agent: &str,
        capacity: usize,
        notice: Option<Notice>,
    ) -> StoreResult<Claim> {
        self.give(id, agent, notice, |c, load, now| {
            bookkeeping::claim(c, agent, load, capacity, now).map(Some)
        })
        .await
    }
    async fn transfer(
        &self,
        id: &ConversationId,
        from: &str,
        to: &str,
        capacity: usize,
        notice: Option<Notice>,
    ) -> StoreResult<Claim> {
        self.give(id, to, notice, |c, load, now| {
            match bookkeeping::transfer(c, from, to, load, capacity, now) {
                Claim::Claimed => Ok(None),
                refused => Err(refused),
            }
        })
        .await
    }
    async fn follow_ups(&self) -> StoreResult<Vec<ConversationId>> {
        self.ids_in(self.keys.follow_ups()).await
    }
    async fn mark_followed_up(&self, id: &ConversationId) -> StoreResult<()> {
        self.step(id, &[], |read, _| {
            let read = found(id, read)?;
            let mut after = read.conversation.clone();
            after.needs_follow_up = false;
            let step = Step::change(&self.keys, &read, &after, read.ticket, &[], now_ms())?;
            Ok(Decided::Commit(step, ()))
        })
        .await
    }
    async fn delete(&self, id: &ConversationId) -> StoreResult<bool> {
        let deleted = self
            .step(id, &[], |read, _| match read {
                None => Ok(Decided::Done(false)),
                Some(read) => Ok(Decided::Commit(Step::erase(&self.keys, &read), true)),
            })
            .await?;
        let () = self
            .con()
            .zrem(self.keys.delivered(), id.as_str())
            .await
            .map_err(unavailable)?;
        Ok(deleted)
    }
}

#[async_trait]
impl Queue for RedisStore {
    async fn queue(&self) -> StoreResult<Vec<ConversationId>> {
        self.ids_in(self.keys.queue()).await
    }
    async fn average_wait(&self) -> StoreResult<Option<u64>> {
        let waits: Vec<u64> = self
            .con()
            .lrange(self.keys.waits(), 0, -1)
            .await
            .map_err(unavailable)?;
        let n = waits.len() as u64;
        Ok((n > 0).then(|| waits.iter().sum::<u64>() / n))
    }
    async fn workloads(&self) -> StoreResult<Vec<Workload>> {
        let mut con = self.con();
        let ids: Vec<String> = con
            .smembers(self.keys.agents())
            .await
            .map_err(unavailable)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.hget(self.keys.agent(id), "last_assigned")
                .zrange_withscores(self.keys.agent_chats(id), 0, -1);
        }
        type Row = (Option<u64>, Vec<(String, u64)>);
        let flat: Vec<redis::Value> = pipe.query_async(&mut con).await.map_err(unavailable)?;
        let rows: Vec<Row> = flat
            .chunks(2)
            .map(|c| redis::from_redis_value(redis::Value::Array(c.to_vec())))
            .collect::<Result<_, _>>()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        Ok(ids
            .into_iter()
            .zip(rows)
            .map(|(id, (last, chats))| Workload {
                id,
                chats: chats
                    .iter()
                    .filter_map(|(c, since)| {
                        ConversationId::parse(c).map(|id| AssignedChat { id, since: *since })
                    })
                    .collect(),
                last_assigned: last.unwrap_or(0),
            })
            .collect())
    }
}

#[async_trait]
impl Logins for RedisStore {
    async fn create_session(&self, agent: &str, ttl: Duration) -> StoreResult<String> {
        let secret = random_secret();
        let () = self
            .con()
            .pset_ex(
                self.keys.session(&secret),
                agent,
                ttl.as_millis().max(1) as u64,
            )
            .await
            .map_err(unavailable)?;
        Ok(secret)
    }
    async fn session_agent(&self, secret: &str) -> StoreResult<Option<String>> {
        if !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        self.con()
            .get(self.keys.session(secret))
            .await
            .map_err(unavailable)
    }
    async fn end_session(&self, secret: &str) -> StoreResult<()> {
        self.con()
            .del(self.keys.session(secret))
            .await
            .map_err(unavailable)
    }
}

#[async_trait]
impl Edits for RedisStore {
    async fn record_edit(&self, edit: KbEdit) -> StoreResult<()> {
        let record =
            serde_json::to_string(&edit).map_err(|e| StoreError::Corrupt(format!("edit: {e}")))?;
        let key = self.keys.kb_edits();
        let () = redis::pipe()
            .atomic()
            .lpush(&key, record)
            .ignore()
            .ltrim(&key, 0, EDITS_KEPT as isize - 1)
            .ignore()
            .query_async(&mut self.con())
            .await
            .map_err(unavailable)?;
        Ok(())
    }
    async fn edits(&self, limit: usize) -> StoreResult<Vec<KbEdit>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let records: Vec<String> = self
            .con()
            .lrange(self.keys.kb_edits(), 0, limit as isize - 1)
            .await
            .map_err(unavailable)?;
        records
            .iter()
            .map(|r| serde_json::from_str(r).map_err(|e| StoreError::Corrupt(format!("edit: {e}"))))
            .collect()
    }
}

fn read_mail(record: &str) -> StoreResult<OutboxEntry> {
    serde_json::from_str(record).map_err(|e| StoreError::Corrupt(format!("mail: {e}")))
}

fn mail_record(e: &OutboxEntry) -> StoreResult<String> {
    serde_json::to_string(e).map_err(|x| StoreError::Corrupt(format!("mail: {x}")))
}

#[async_trait]
impl Outbox for RedisStore {
    async fn queue_mail(&self, mail: Mail, now: u64, due: u64) -> StoreResult<bool> {
        let entry = OutboxEntry::queued(mail, now, due);
        let record = mail_record(&entry)?;
        // Known keys are left alone: a sent mail must not become due again.
        let added: i64 = self
            .scripts
            .queue_mail
            .key(self.keys.outbox())
            .key(self.keys.outbox_due())
            .key(self.keys.outbox_order())
            .arg(&entry.mail.key)
            .arg(record)
            .arg(now)
            .arg(due)
            .invoke_async(&mut self.con())
            .await
            .map_err(unavailable)?;
        Ok(added == 1)
    }
    async fn lease_mails(
        &self,
        now: u64,
        lease_ms: u64,
        limit: usize,
    ) -> StoreResult<Vec<OutboxEntry>> {
        let mut con = self.con();
        // Taken and pushed past the lease in one script: a worker on another node sees them
        // due again only when the lease ends without a record.
        let leased: Vec<String> = self
            .scripts
            .lease_mails
            .key(self.keys.outbox_due())
            .arg(now)
            .arg(now + lease_ms)
            .arg(limit)
            .invoke_async(&mut con)
            .await
            .map_err(unavailable)?;
        if leased.is_empty() {
            return Ok(Vec::new());
        }
        let records: Vec<Option<String>> = redis::cmd("HMGET")
            .arg(self.keys.outbox())
            .arg(&leased)
            .query_async(&mut con)
            .await
            .map_err(unavailable)?;
        let mut out = Vec::new();
        for record in records.iter().flatten() {
            let mut e = read_mail(record)?;
            if e.state.pending() {
                e.next_at = now + lease_ms;
                out.push(e);
            }
        }
        Ok(out)
    }
    async fn record_attempt(&self, key: &str, attempt: Attempt, now: u64) -> StoreResult<()> {
        let mut con = self.con();
        let record: Option<String> = con
            .hget(self.keys.outbox(), key)
            .await
            .map_err(unavailable)?;
        let Some(record) = record else {
            return Ok(());
        };
        let mut e = read_mail(&record)?;
        e.record(attempt, now);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .hset(self.keys.outbox(), key, mail_record(&e)?)
            .ignore();
        if e.state.pending() {
            pipe.zadd(self.keys.outbox_due(), key, e.next_at).ignore();
        } else {
            pipe.zrem(self.keys.outbox_due(), key).ignore();
        }
        let () = pipe.query_async(&mut con).await.map_err(unavailable)?;
        // Finished mails beyond the newest `MAILS_KEPT` go (pending ones stay).
        let count: usize = con
            .zcard(self.keys.outbox_order())
            .await
            .map_err(unavailable)?;
        if count > MAILS_KEPT {
            let oldest: Vec<String> = con
                .zrange(
                    self.keys.outbox_order(),
                    0,
                    (count - MAILS_KEPT - 1) as isize,
                )
                .await
                .map_err(unavailable)?;
            for old in oldest {
                let record: Option<String> = con
                    .hget(self.keys.outbox(), &old)
                    .await
                    .map_err(unavailable)?;
                if record.is_some_and(|r| read_mail(&r).is_ok_and(|e| !e.state.pending())) {
                    let () = redis::pipe()
                        .atomic()
                        .hdel(self.keys.outbox(), &old)
                        .ignore()
                        .zrem(self.keys.outbox_order(), &old)
                        .ignore()
                        .query_async(&mut con)
                        .await
                        .map_err(unavailable)?;
                }
            }
        }
        Ok(())
    }
    async fn mails(&self, limit: usize) -> StoreResult<Vec<OutboxEntry>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut con = self.con();
        let keys: Vec<String> = con
            .zrevrange(self.keys.outbox_order(), 0, limit as isize - 1)
            .await
            .map_err(unavailable)?;
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let records: Vec<Option<String>> = redis::cmd("HMGET")
            .arg(self.keys.outbox())
            .arg(&keys)
            .query_async(&mut con)
            .await
            .map_err(unavailable)?;
        records.iter().flatten().map(|r| read_mail(r)).collect()
    }
    async fn drop_mail(&self, key: &str) -> StoreResult<()> {
        let () = redis::pipe()
            .atomic()
            .hdel(self.keys.outbox(), key)
            .ignore()
            .zrem(self.keys.outbox_due(), key)
            .ignore()
            .zrem(self.keys.outbox_order(), key)
            .ignore()
            .query_async(&mut self.con())
            .await
            .map_err(unavailable)?;
        Ok(())
    }
    async fn mail_key(&self) -> StoreResult<Vec<u8>> {
        let mut con = self.con();
        let made = rand::random::<[u8; 32]>().to_vec();
        // The first node's key wins; every node reads that one.
        let _: bool = con
            .set_nx(self.keys.mail_key(), made)
            .await
            .map_err(unavailable)?;
        con.get(self.keys.mail_key()).await.map_err(unavailable)
    }
    async fn raise_delivered(&self, id: &ConversationId, seq: u64) -> StoreResult<()> {
        let () = redis::cmd("ZADD")
            .arg(self.keys.delivered())
            .arg("GT")
            .arg(seq)
            .arg(id.as_str())
            .query_async(&mut self.con())
            .await
            .map(|_: i64| ())
            .map_err(unavailable)?;
        Ok(())
    }
    async fn delivered(&self, id: &ConversationId) -> StoreResult<u64> {
        let seq: Option<u64> = self
            .con()
            .zscore(self.keys.delivered(), id.as_str())
            .await
            .map_err(unavailable)?;
        Ok(seq.unwrap_or(0))
    }
}

#[async_trait]
impl Tokens for RedisStore {
    async fn add_token(&self, token: ApiToken) -> StoreResult<bool> {
        let record = serde_json::to_string(&token).map_err(|e| corrupt_token(&e))?;
        let mut con = self.con();
        // The name is claimed first; the hash index makes the token usable. A crash between
        // the two leaves a listed token that opens nothing (`token revoke` removes it).
        let added: bool = con
            .hset_nx(self.keys.tokens(), &token.name, record)
            .await
            .map_err(unavailable)?;
        if added {
            let () = con
                .hset(self.keys.token_hashes(), &token.hash, &token.name)
                .await
                .map_err(unavailable)?;
        }
        Ok(added)
    }
    async fn token_by_hash(&self, hash: &str) -> StoreResult<Option<ApiToken>> {
        let mut con = self.con();
        let name: Option<String> = con
            .hget(self.keys.token_hashes(), hash)
            .await
            .map_err(unavailable)?;
        let Some(name) = name else { return Ok(None) };
        let record: Option<String> = con
            .hget(self.keys.tokens(), &name)
            .await
            .map_err(unavailable)?;
        let token = record.map(|r| read_token(&r)).transpose()?;
        // A revoked name may have been given to a new token: only the same hash counts.
        Ok(token.filter(|t| t.hash == hash))
    }
    async fn tokens(&self) -> StoreResult<Vec<ApiToken>> {
        let records: BTreeMap<String, String> = self
            .con()
            .hgetall(self.keys.tokens())
            .await
            .map_err(unavailable)?;
        records.values().map(|r| read_token(r)).collect()
    }
    async fn revoke_token(&self, name: &str) -> StoreResult<bool> {
        let mut con = self.con();
        let record: Option<String> = con
            .hget(self.keys.tokens(), name)
            .await
            .map_err(unavailable)?;
        let Some(record) = record else {
            return Ok(false);
        };
        let token = read_token(&record)?;
        let () = redis::pipe()
            .atomic()
            .hdel(self.keys.token_hashes(), &token.hash)
            .ignore()
            .hdel(self.keys.tokens(), name)
            .ignore()
            .query_async(&mut con)
            .await
            .map_err(unavailable)?;
        Ok(true)
    }
}

#[async_trait]
impl Reports for RedisStore {
    async fn conversations_created(&self, from: u64, to: u64) -> StoreResult<Vec<ConversationId>> {
        // `(to` = exclusive upper bound.
        let ids: Vec<String> = self
            .con()
            .zrangebyscore(self.keys.conversations(), from, format!("({to}"))
            .await
            .map_err(unavailable)?;
        Ok(ids
            .iter()
            .filter_map(|i| ConversationId::parse(i))
            .collect())
    }
    async fn inactive_before(&self, before: u64) -> StoreResult<Vec<ConversationId>> {
        // Created before the cut-off, then checked for later activity one batch at a time.
        let old = self.conversations_created(0, before).await?;
        let mut inactive = Vec::new();
        for batch in old.chunks(500) {
            let mut pipe = redis::pipe();
            for id in batch {
                pipe.hget(self.keys.conv(id), "updated");
            }
            let updated: Vec<Option<u64>> = pipe
                .query_async(&mut self.con())
                .await
                .map_err(unavailable)?;
            inactive.extend(
                batch
                    .iter()
                    .zip(updated)
                    .filter(|(_, u)| u.is_none_or(|u| u < before))
                    .map(|(id, _)| id.clone()),
            );
        }
        Ok(inactive)
    }
}

#[async_trait]
impl Store for RedisStore {
    fn bus(&self) -> &dyn Bus {
        &self.bus
    }
    fn presence(&self) -> &dyn PresenceBoard {
        &self.presence
    }
    async fn ping(&self) -> StoreResult<()> {
        redis::cmd("PING")
            .query_async::<String>(&mut self.con())
            .await
            .map(drop)
            .map_err(unavailable)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;

    use super::RedisStore;
    use crate::ports::{ConversationLog, Store};

    /// The Redis the tests use: `FRONTDESK_TEST_REDIS_URL`, or the one `scripts/test` starts.
    pub fn test_redis_url() -> String {
        std::env::var("FRONTDESK_TEST_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
    }

    /// A store on the test Redis under a fresh key prefix (tests never flush the database).
    pub async fn fresh() -> Arc<dyn Store> {
        Arc::new(fresh_redis().await)
    }

    async fn fresh_redis() -> RedisStore {
        node(&format!("fdtest:{:016x}", rand::random::<u64>())).await
    }

    /// A store on the test Redis under `prefix`: two with one prefix are two nodes.
    async fn node(prefix: &str) -> RedisStore {
        let url = test_redis_url();
        match RedisStore::connect(&url, prefix).await {
            Ok(store) => store,
            Err(e) => panic!(
                "these tests need a real redis-server at {url} (scripts/test starts one; or set \
                 FRONTDESK_TEST_REDIS_URL): {e}"
            ),
        }
    }

    /// A fresh store with one new conversation.
    async fn fresh_with_a_conversation() -> (RedisStore, crate::conversation::ConversationId) {
        let store = fresh_redis().await;
        let (c, _) = store
            .create(crate::conversation::VisitorInfo::default(), None)
            .await
            .unwrap();
        (store, c.id)
    }

    crate::store_conformance_tests!(fresh());

    #[tokio::test]
    async fn a_visitor_message_stored_before_client_key_namespaces_is_not_stored_again() {
        use crate::conversation::{Turn, TurnOutcome};
        let (store, id) = fresh_with_a_conversation().await;
        let hi = || Turn::message("hi".into(), "m-1".into());
        assert!(matches!(
            store.turn(&id, hi()).await.unwrap(),
            TurnOutcome::Done { .. }
        ));
        // What the previous version stored: the client id as it came.
        let key = store.keys.client_ids(&id);
        let mut con = store.con();
        let _: () = redis::AsyncCommands::hdel(&mut con, &key, "visitor:m-1")
            .await
            .unwrap();
        let _: () = redis::AsyncCommands::hset(&mut con, &key, "m-1", 1)
            .await
            .unwrap();
        assert_eq!(
            store.turn(&id, hi()).await.unwrap(),
            TurnOutcome::Duplicate { seq: 1 }
        );
    }

    #[tokio::test]
    async fn a_stored_state_it_does_not_know_is_an_error_not_bot() {
        let (store, id) = fresh_with_a_conversation().await;
        let _: () =
            redis::AsyncCommands::hset(&mut store.con(), store.keys.conv(&id), "state", "limbo")
                .await
                .unwrap();
        assert!(matches!(
            store.get(&id).await,
            Err(crate::ports::StoreError::Corrupt(_))
        ));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_nodes_racing_handoffs_never_share_a_place_in_line() {
        use crate::conversation::{ConversationState, Notice, QueueReason};
        let prefix = format!("fdtest:{:016x}", rand::random::<u64>());
        let nodes = [Arc::new(node(&prefix).await), Arc::new(node(&prefix).await)];
        let mut moves = Vec::new();
        for n in 0..16 {
            let store = nodes[n % 2].clone();
            let (c, _) = store
                .create(crate::conversation::VisitorInfo::default(), None)
                .await
                .unwrap();
            moves.push(tokio::spawn(async move {
                let notice = Notice::Queued {
                    reason: QueueReason::VisitorAsked,
                };
                let step = (ConversationState::Bot, ConversationState::Queued);
                assert!(
                    store
                        .transition(&c.id, step.0, step.1, None, Some(notice))
                        .await
                        .unwrap()
                );
                c.id
            }));
        }
        let mut tickets = Vec::new();
        for m in moves {
            let id = tokio::time::timeout(std::time::Duration::from_secs(5), m)
                .await
                .expect("the move finishes")
                .unwrap();
            let ticket: u64 =
                redis::AsyncCommands::hget(&mut nodes[0].con(), nodes[0].keys.conv(&id), "ticket")
                    .await
                    .unwrap();
            tickets.push(ticket);
        }
        tickets.sort_unstable();
        assert_eq!(
            tickets,
            (1..=16).collect::<Vec<u64>>(),
            "one place each, none skipped"
        );
    }
}
