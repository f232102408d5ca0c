//! The Redis store: conversations, logs, the queue, agents and sessions in one Redis that several
//! `frontdesk` processes share (key names: `keys.rs`). Claim, transfer, transitions and appends
//! are Lua scripts (`scripts/*.lua`), so each is one atomic step however many nodes race.
//!
//! Fan-out: every append publishes the event on the conversation's channel inside its script, and
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

use super::bus::LocalBus;
use super::keys::Keys;
use crate::conversation::bookkeeping::RECENT_WAITS;
use crate::conversation::{
    Claim, Conversation, ConversationId, Token, VisitorInfo, VisitorKey, now_ms, random_secret,
};
use crate::conversation::{ConversationState, Event, EventBody, Notice, Turn, TurnOutcome};
use crate::ports::{
    Appended, AssignedChat, Bus, ConversationLog, Logins, Presence, PresenceBoard, Queue, Reports,
    Signal, Store, StoreError, StoreResult, Tokens, Workload,
};
use crate::tokens::ApiToken;

/// How long one command may take before it counts as an outage.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
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
    append: Script,
    transition: Script,
    claim: Script,
    delete: Script,
    turn: Script,
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
                append: Script::new(include_str!("scripts/append.lua")),
                transition: Script::new(include_str!("scripts/transition.lua")),
                claim: Script::new(include_str!("scripts/claim.lua")),
                delete: Script::new(include_str!("scripts/delete.lua")),
                turn: Script::new(include_str!("scripts/turn.lua")),
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

    /// Runs append.lua: `None` when `owner` is given and does not own the conversation.
    async fn append_body(
        &self,
        id: &ConversationId,
        body: &EventBody,
        client_id: &str,
        owner: &str,
    ) -> StoreResult<Option<Appended>> {
        let body =
            serde_json::to_string(body).map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let reply: redis::Value = self
            .scripts
            .append
            .key(self.keys.conv(id))
            .key(self.keys.log(id))
            .key(self.keys.client_ids(id))
            .key(self.keys.follow_ups())
            .arg(body)
            .arg(now_ms())
            .arg(client_id)
            .arg(self.keys.bus(id))
            .arg(self.keys.routing())
            .arg(id.as_str())
            .arg(owner)
            .invoke_async(&mut self.con())
            .await
            .map_err(unavailable)?;
        match reply {
            redis::Value::Int(-2) => Ok(None),
            redis::Value::Int(_) => Err(StoreError::NotFound(id.clone())),
            other => match redis::from_redis_value::<Vec<redis::Value>>(other) {
                Ok(parts) => match parts.as_slice() {
                    [_, _, redis::Value::BulkString(event)] => Ok(Some(Appended::New(
                        parse_event(&String::from_utf8_lossy(event))?,
                    ))),
                    [_, redis::Value::Int(seq)] => {
                        Ok(Some(Appended::Duplicate { seq: *seq as u64 }))
                    }
                    _ => Err(StoreError::Unavailable(
                        "unexpected reply from append".into(),
                    )),
                },
                Err(e) => Err(StoreError::Unavailable(format!(
                    "unexpected reply from append: {e}"
                ))),
            },
        }
    }

    async fn claim_script(
        &self,
        id: &ConversationId,
        agent: &str,
        capacity: usize,
        from: &str,
        notice: Option<Notice>,
    ) -> StoreResult<Claim> {
        let notice = match notice {
            Some(notice) => json(&EventBody::Notice { notice })?,
            None => String::new(),
        };
        let code: i64 = self
            .scripts
            .claim
            .key(self.keys.conv(id))
            .key(self.keys.queue())
            .key(self.keys.waits())
            .key(self.keys.agents())
            .key(self.keys.log(id))
            .arg(agent)
            .arg(capacity)
            .arg(now_ms())
            .arg(id.as_str())
            .arg(self.keys.prefix())
            .arg(self.keys.routing())
            .arg(from)
            .arg(RECENT_WAITS)
            .arg(notice)
            .arg(self.keys.bus(id))
            .invoke_async(&mut self.con())
            .await
            .map_err(unavailable)?;
        match code {
            -1 => Err(StoreError::NotFound(id.clone())),
            1 => Ok(Claim::Claimed),
            2 => Ok(Claim::AtCapacity),
            _ => Ok(Claim::Gone),
        }
    }
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
    h: HashMap<String, String>,
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
                let mut messages = pubsub.on_message();
                while let Some(msg) = messages.next().await {
                    let channel = msg.get_channel_name();
                    if channel == routing {
                        hub.routing_changed();
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
        conversation_from(&token.conversation, h)
    }
    async fn get(&self, id: &ConversationId) -> StoreResult<Option<Conversation>> {
        let h: HashMap<String, String> = self
            .con()
            .hgetall(self.keys.conv(id))
            .await
            .map_err(unavailable)?;
        conversation_from(id, h)
    }
    async fn append(&self, id: &ConversationId, body: EventBody) -> StoreResult<Event> {
        match self.append_body(id, &body, "", "").await? {
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
        self.append_body(id, &body, client_key.unwrap_or(""), owner.unwrap_or(""))
            .await
    }
    async fn turn(&self, id: &ConversationId, turn: Turn) -> StoreResult<TurnOutcome> {
        let (visitor, key) = match &turn.visitor {
            Some((body, key)) => (json(body)?, key.clone().unwrap_or_default()),
            None => (String::new(), String::new()),
        };
        let memory = match &turn.memory {
            Some(memory) => json(memory)?,
            None => String::new(),
        };
        let (reason, notice) = match &turn.handoff {
            Some(reason) => (reason.to_string(), json(&Turn::queued_notice(reason))?),
            None => (String::new(), String::new()),
        };
        let mut invocation = self.scripts.turn.prepare_invoke();
        invocation
            .key(self.keys.conv(id))
            .key(self.keys.log(id))
            .key(self.keys.client_ids(id))
            .key(self.keys.queue())
            .key(self.keys.tickets())
            .arg(now_ms())
            .arg(key)
            .arg(visitor)
            .arg(turn.expected_seq.map(|s| s.to_string()).unwrap_or_default())
            .arg(memory)
            .arg(reason)
            .arg(notice)
            .arg(self.keys.bus(id))
            .arg(self.keys.routing())
            .arg(id.as_str());
        for body in &turn.bot {
            invocation.arg(json(body)?);
        }
        let reply: redis::Value = invocation
            .invoke_async(&mut self.con())
            .await
            .map_err(unavailable)?;
        let parts = match reply {
            redis::Value::Int(_) => return Err(StoreError::NotFound(id.clone())),
            other => redis::from_redis_value::<Vec<redis::Value>>(other)
                .map_err(|e| StoreError::Corrupt(format!("turn.lua returned {e}")))?,
        };
        let int = |v: &redis::Value| matches!(v, redis::Value::Int(1));
        match parts.as_slice() {
            [redis::Value::Int(0), redis::Value::Int(seq)] => {
                Ok(TurnOutcome::Duplicate { seq: *seq as u64 })
            }
            [redis::Value::Int(2)] => Ok(TurnOutcome::Conflict),
            [redis::Value::Int(1), answered, handed_off, events @ ..] => {
                let events = events
                    .iter()
                    .map(|e| match e {
                        redis::Value::BulkString(raw) => parse_event(&String::from_utf8_lossy(raw)),
                        other => Err(StoreError::Corrupt(format!("turn.lua returned {other:?}"))),
                    })
                    .collect::<StoreResult<Vec<Event>>>()?;
                Ok(TurnOutcome::Done {
                    events,
                    bot_answered: int(answered),
                    handed_off: int(handed_off),
                })
            }
            other => Err(StoreError::Corrupt(format!("turn.lua returned {other:?}"))),
        }
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
        // What the notice says becomes the record's reason or resolution (as in
        // `bookkeeping::transition`).
        let (reason, resolution) = match &notice {
            Some(Notice::Queued { reason }) => (reason.to_string(), String::new()),
            Some(Notice::Closed { resolution }) => {
                (String::new(), resolution.clone().unwrap_or_default())
            }
            _ => (String::new(), String::new()),
        };
        let notice = match notice {
            Some(notice) => serde_json::to_string(&EventBody::Notice { notice })
                .map_err(|e| StoreError::Unavailable(e.to_string()))?,
            None => String::new(),
        };
        if !from.can_become(to) || to == ConversationState::Assigned {
            return Ok(false);
        }
        let code: i64 = self
            .scripts
            .transition
            .key(self.keys.conv(id))
            .key(self.keys.queue())
            .key(self.keys.tickets())
            .key(self.keys.log(id))
            .arg(from.name())
            .arg(to.name())
            .arg(reason)
            .arg(agent.unwrap_or_default())
            .arg(now_ms())
            .arg(id.as_str())
            .arg(self.keys.prefix())
            .arg(self.keys.routing())
            .arg(notice)
            .arg(self.keys.bus(id))
            .arg(resolution)
            .invoke_async(&mut self.con())
            .await
            .map_err(unavailable)?;
        match code {
            -1 => Err(StoreError::NotFound(id.clone())),
            1 => Ok(true),
            _ => Ok(false),
        }
    }
    async fn claim(
        &self,
        id: &ConversationId,
        agent: &str,
        capacity: usize,
        notice: Option<Notice>,
    ) -> StoreResult<Claim> {
        self.claim_script(id, agent, capacity, "", notice).await
    }
    async fn transfer(
        &self,
        id: &ConversationId,
        from: &str,
        to: &str,
        capacity: usize,
        notice: Option<Notice>,
    ) -> StoreResult<Claim> {
        if from.is_empty() {
            return Ok(Claim::Gone);
        }
        self.claim_script(id, to, capacity, from, notice).await
    }
    async fn follow_ups(&self) -> StoreResult<Vec<ConversationId>> {
        self.ids_in(self.keys.follow_ups()).await
    }
    async fn mark_followed_up(&self, id: &ConversationId) -> StoreResult<()> {
        let mut con = self.con();
        let exists: bool = con.exists(self.keys.conv(id)).await.map_err(unavailable)?;
        if !exists {
            return Err(StoreError::NotFound(id.clone()));
        }
        let () = redis::pipe()
            .hset(self.keys.conv(id), "follow_up", "0")
            .ignore()
            .zrem(self.keys.follow_ups(), id.as_str())
            .ignore()
            .publish(self.keys.routing(), "1")
            .ignore()
            .query_async(&mut con)
            .await
            .map_err(unavailable)?;
        Ok(())
    }
    async fn delete(&self, id: &ConversationId) -> StoreResult<bool> {
        let done: i64 = self
            .scripts
            .delete
            .key(self.keys.conv(id))
            .key(self.keys.log(id))
            .key(self.keys.client_ids(id))
            .key(self.keys.queue())
            .key(self.keys.follow_ups())
            .key(self.keys.conversations())
            .arg(id.as_str())
            .arg(self.keys.prefix())
            .arg(self.keys.routing())
            .invoke_async(&mut self.con())
            .await
            .map_err(unavailable)?;
        Ok(done == 1)
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
        let prefix = format!("fdtest:{:016x}", rand::random::<u64>());
        let url = test_redis_url();
        match RedisStore::connect(&url, &prefix).await {
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
}
