//! An agent's console socket (`/ws/agent`, already logged in by cookie), from connect to close.
//!
//! The task owns the socket. It keeps the agent present (heartbeat into the store), sends the
//! queue, the agent's chats, the follow-ups and the team on connect and again whenever routing
//! changes on any node, and forwards every event of the conversations the agent watches: their
//! own chats automatically, others after `open`. Like the visitor's socket it subscribes before
//! replaying from the log and sends each event once, in order; a lag or a store reconnect is
//! filled from the log. Frames become calls on `Conversations`; the store decides who wins.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use actix_ws::{AggregatedMessageStream, CloseCode, CloseReason, Session};
use futures_util::StreamExt;
use tokio_stream::StreamMap;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use super::guard::{FrameGuard, Incoming, Limits};
use crate::agents::Agent;
use crate::conversation::{EventBody, Outcome, QueueReason};
use crate::protocol::{
    AgentFrame, AgentServerFrame, ChatItem, Colleague, EarlierConversation, ErrorCode,
    PROTOCOL_VERSION, QueueItem, parse_agent_frame,
};
use crate::startup::AppState;
use crate::store::{Conversation, ConversationId, Presence, Signal, StoreError, StoreResult};

/// Conversations one console may watch at once (its own chats plus opened ones).
const MAX_WATCHED: usize = 200;
/// Queue entries sent in a snapshot (the rest are counted by position).
const QUEUE_SHOWN: usize = 100;
/// Replies held during a store outage, at most, per console.
const MAX_HELD: usize = 50;
/// How often held replies are retried.
const HELD_RETRY: Duration = Duration::from_secs(1);
/// Longest reply or note.
const MAX_TEXT: usize = 4000;
/// Longest frame (a reply of `MAX_TEXT` characters, escaped, fits).
const MAX_FRAME: usize = 16 * 1024;

struct Watched {
    last_sent: u64,
}

struct Console {
    agent: Agent,
    presence: Presence,
    watched: HashMap<ConversationId, Watched>,
    buses: StreamMap<ConversationId, BroadcastStream<Arc<Signal>>>,
    /// The last snapshots sent, so unchanged ones are not sent again.
    sent_queue: Option<Vec<QueueItem>>,
    sent_chats: Option<Vec<ChatItem>>,
    sent_follow_ups: Option<Vec<ChatItem>>,
    sent_agents: Option<Vec<Colleague>>,
    /// Headers of this agent's chats, read once and again only after a notice (a state change)
    /// on that conversation: a refresh costs one store read per new chat, not per chat.
    chat_headers: HashMap<ConversationId, ChatItem>,
    /// Each waiting conversation's first visitor message (it never changes once there).
    first_messages: HashMap<ConversationId, String>,
    /// Replies and notes written while the store was down, oldest first.
    held: VecDeque<Writing>,
}

/// Runs the console socket of `agent`, signed in with the session `signed_in`; the socket
/// closes (1008) when that session ends.
pub async fn run(
    state: web::Data<AppState>,
    agent: Agent,
    signed_in: String,
    mut session: Session,
    mut stream: AggregatedMessageStream,
) {
    let settings = &state.settings;
    let metrics = &state.conversations.metrics;
    metrics.agent_sockets.inc();
    let ttl = Duration::from_secs(settings.presence_ttl_seconds);
    // Renew presence three times per TTL, so one late beat does not make the agent vanish.
    let mut presence_beat = tokio::time::interval(ttl / 3);
    let mut ping = tokio::time::interval(Duration::from_secs(settings.heartbeat_seconds));
    // An agent types faster than a visitor and acts on many chats: five times the rate.
    let mut guard = FrameGuard::new(Limits {
        per_second: settings.rate_per_second * 5.0,
        burst: settings.rate_burst * 3.0,
        abuse_limit: settings.abuse_limit,
        max_text_bytes: MAX_FRAME,
        idle: Duration::from_secs(settings.idle_timeout_seconds),
    });
    let mut routing = state.conversations.store.bus().watch_routing();
    let mut shutdown = state.shutdown.clone();
    let mut ended_sessions = state.ended_sessions.subscribe();
    let mut retry = tokio::time::interval(HELD_RETRY);
    let mut console = Console {
        agent,
        presence: Presence::Online,
        watched: HashMap::new(),
        buses: StreamMap::new(),
        sent_queue: None,
        sent_chats: None,
        sent_follow_ups: None,
        sent_agents: None,
        chat_headers: HashMap::new(),
        first_messages: HashMap::new(),
        held: VecDeque::new(),
    };
    tracing::info!(agent = %console.agent.id, "agent connected");
    let welcome = AgentServerFrame::Welcome {
        v: PROTOCOL_VERSION,
        agent: colleague(&console.agent, Presence::Online, 0),
        canned: state
            .conversations
            .matcher
            .load()
            .knowledge_base()
            .canned
            .clone(),
    };
    // Online before the welcome: a console that says it is connected can be handed chats.
    let mut alive = set_presence(&state, &console).await.is_ok()
        && send(&mut session, &welcome).await.is_ok()
        && refresh(&state, &mut session, &mut console).await.is_ok();

    let close = loop {
        if !alive {
            break None;
        }
        tokio::select! {
            msg = stream.recv() => {
                alive = match guard.take(msg) {
                    Incoming::Text(text) => handle(&state, &mut session, &mut console, &text).await.is_ok(),
                    Incoming::Refuse(code, why) => error(&mut session, code, &why).await.is_ok(),
                    Incoming::Ping(bytes) => session.pong(&bytes).await.is_ok(),
                    Incoming::Nothing => true,
                    Incoming::Close(close) => break close,
                };
            }
            Some((id, signal)) = console.buses.next(), if !console.buses.is_empty() => {
                alive = forward(&state, &mut session, &mut console, id, signal).await.is_ok();
            }
            changed = routing.changed() => {
                if changed.is_err() { break None; }
                alive = refresh(&state, &mut session, &mut console).await.is_ok();
            }
            _ = retry.tick(), if !console.held.is_empty() => {
                alive = flush_held(&state, &mut session, &mut console).await.is_ok();
            }
            _ = presence_beat.tick() => {
                // A failed beat (store outage) is retried on the next tick.
                let _ = set_presence(&state, &console).await;
            }
            ended = ended_sessions.recv() => {
                if ended.is_ok_and(|s| *s == *signed_in) {
                    break Some(signed_out());
                }
            }
            _ = ping.tick() => {
                if guard.idle() {
                    break Some(CloseReason { code: CloseCode::Normal, description: Some("idle".into()) });
                }
                // Signed out on another node, or the session expired: a failed read (store
                // outage) keeps the console.
                if matches!(state.conversations.store.session_agent(&signed_in).await, Ok(None)) {
                    break Some(signed_out());
                }
                alive = session.ping(b"").await.is_ok();
            }
            _ = shutdown.changed() => {
                break Some(CloseReason { code: CloseCode::Away, description: Some("server shutting down".into()) });
            }
        }
    };
    // The agent's presence is left to expire (presence_ttl): a console reload within it keeps
    // their chats; after it, the router returns them to the queue.
    tracing::info!(agent = %console.agent.id, "agent disconnected");
    metrics.agent_sockets.dec();
    let _ = session.close(close).await;
}

fn signed_out() -> CloseReason {
    CloseReason {
        code: CloseCode::Policy,
        description: Some("signed out".into()),
    }
}

fn colleague(agent: &Agent, presence: Presence, chats: usize) -> Colleague {
    Colleague {
        id: agent.id.clone(),
        name: agent.name.clone(),
        teams: agent.teams.clone(),
        presence,
        chats,
        capacity: agent.capacity,
    }
}

async fn set_presence(state: &AppState, console: &Console) -> Result<(), StoreError> {
    state
        .conversations
        .store
        .presence()
        .set(
            &console.agent.id,
            console.presence,
            Duration::from_secs(state.settings.presence_ttl_seconds),
        )
        .await
}

async fn send(session: &mut Session, frame: &AgentServerFrame) -> Result<(), ()> {
    // Serialising our own frame types cannot fail.
    let json = serde_json::to_string(frame).unwrap_or_default();
    session.text(json).await.map_err(drop)
}

async fn error(session: &mut Session, code: ErrorCode, message: &str) -> Result<(), ()> {
    send(
        session,
        &AgentServerFrame::Error {
            code,
            message: message.into(),
        },
    )
    .await
}

fn chat_item(c: &Conversation) -> ChatItem {
    ChatItem {
        conversation: c.id.to_string(),
        state: c.state,
        reason: c.reason.as_ref().map(QueueReason::to_string),
        agent: c.agent.clone(),
        visitor: c.visitor.clone(),
        frustration: c.memory.frustration_at_handoff,
        needs_follow_up: c.needs_follow_up,
    }
}

/// Sends the queue, the agent's chats, the follow-ups and the team where they changed, and starts
/// watching chats that became the agent's. `Err` when the socket is gone.
async fn refresh(state: &AppState, session: &mut Session, console: &mut Console) -> Result<(), ()> {
    let store = &state.conversations.store;
    let first_messages = &mut console.first_messages;
    let chat_headers = &mut console.chat_headers;
    let agent_id = console.agent.id.clone();
    let snapshot = async {
        let mut queue = Vec::new();
        let waiting = store.queue().await?;
        first_messages.retain(|id, _| waiting.contains(id));
        for (i, id) in waiting.into_iter().enumerate().take(QUEUE_SHOWN) {
            let Some(c) = store.get(&id).await? else {
                continue;
            };
            if !first_messages.contains_key(&id)
                && let Some(first) = first_message(store.as_ref(), &id).await?
            {
                first_messages.insert(id.clone(), first);
            }
            let first_message = first_messages.get(&id).cloned();
            queue.push(QueueItem {
                conversation: id.to_string(),
                position: i + 1,
                reason: c.reason.as_ref().map(QueueReason::to_string),
                waiting_since: c.enqueued_at,
                visitor: c.visitor,
                first_message,
            });
        }
        let agents = store.agents().await?;
        let mine = agents
            .iter()
            .find(|a| a.id == agent_id)
            .map(|a| a.chats.iter().map(|c| c.id.clone()).collect::<Vec<_>>())
            .unwrap_or_default();
        chat_headers.retain(|id, _| mine.contains(id));
        let mut chats = Vec::new();
        for id in &mine {
            if !chat_headers.contains_key(id)
                && let Some(c) = store.get(id).await?
            {
                chat_headers.insert(id.clone(), chat_item(&c));
            }
            if let Some(item) = chat_headers.get(id) {
                chats.push(item.clone());
            }
        }
        let mut follow_ups = Vec::new();
        for id in store.follow_ups().await? {
            if let Some(c) = store.get(&id).await? {
                follow_ups.push(chat_item(&c));
            }
        }
        let team: Vec<Colleague> = state
            .roster
            .agents
            .iter()
            .map(|r| {
                let s = agents.iter().find(|a| a.id == r.id);
                colleague(
                    r,
                    s.map_or(Presence::Offline, |s| s.presence),
                    s.map_or(0, |s| s.chats.len()),
                )
            })
            .collect();
        Ok::<_, StoreError>((queue, chats, follow_ups, team, mine))
    };
    let (queue, chats, follow_ups, team, mine) = match snapshot.await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the queue for an agent");
            return error(
                session,
                ErrorCode::Internal,
                "the conversation store is unavailable; retrying",
            )
            .await;
        }
    };
    send_if_changed(session, &mut console.sent_queue, queue, |items| {
        AgentServerFrame::Queue { items }
    })
    .await?;
    send_if_changed(session, &mut console.sent_chats, chats, |items| {
        AgentServerFrame::Chats { items }
    })
    .await?;
    send_if_changed(session, &mut console.sent_follow_ups, follow_ups, |items| {
        AgentServerFrame::FollowUps { items }
    })
    .await?;
    send_if_changed(session, &mut console.sent_agents, team, |items| {
        AgentServerFrame::Agents { items }
    })
    .await?;
    for id in mine {
        if !console.watched.contains_key(&id) {
            watch(state, session, console, &id, 0).await?;
        }
    }
    Ok(())
}

/// Sends a snapshot unless it equals the last one sent (kept in `last`).
async fn send_if_changed<T: PartialEq + Clone>(
    session: &mut Session,
    last: &mut Option<T>,
    now: T,
    frame: impl FnOnce(T) -> AgentServerFrame,
) -> Result<(), ()> {
    if last.as_ref() == Some(&now) {
        return Ok(());
    }
    send(session, &frame(now.clone())).await?;
    *last = Some(now);
    Ok(())
}

/// A conversation's first visitor message, if it has one.
async fn first_message(
    store: &dyn crate::store::Store,
    id: &ConversationId,
) -> Result<Option<String>, StoreError> {
    Ok(store
        .events_after(id, 0)
        .await?
        .into_iter()
        .find_map(|e| match e.body {
            EventBody::VisitorMessage { text, .. } => Some(text),
            _ => None,
        }))
}

/// Starts watching `id`: header, then events after `after`, then live ones.
async fn watch(
    state: &AppState,
    session: &mut Session,
    console: &mut Console,
    id: &ConversationId,
    after: u64,
) -> Result<(), ()> {
    let store = &state.conversations.store;
    if !console.watched.contains_key(id) && console.watched.len() >= MAX_WATCHED {
        return error(session, ErrorCode::Invalid, "too many open conversations").await;
    }
    // Subscribe before reading the log, so nothing appended in between is missed.
    let bus = BroadcastStream::new(store.bus().subscribe(id));
    let conversation = match store.get(id).await {
        Ok(Some(c)) => c,
        Ok(None) => return error(session, ErrorCode::NotFound, "no such conversation").await,
        Err(_) => {
            return error(
                session,
                ErrorCode::Internal,
                "the store is unavailable; try again",
            )
            .await;
        }
    };
    console.buses.insert(id.clone(), bus);
    let earlier = match earlier_conversations(state, &conversation).await {
        Ok(earlier) => earlier,
        Err(e) => {
            tracing::warn!(conv = %id, error = %e, "cannot read the visitor's earlier conversations");
            Vec::new()
        }
    };
    send(
        session,
        &AgentServerFrame::Conversation {
            chat: chat_item(&conversation),
            earlier,
        },
    )
    .await?;
    console
        .watched
        .insert(id.clone(), Watched { last_sent: after });
    catch_up(state, session, console, id).await
}

/// How many earlier conversations of the same visitor an agent sees.
const EARLIER_SHOWN: usize = 10;

/// The same visitor's other conversations, newest first.
async fn earlier_conversations(
    state: &AppState,
    conversation: &Conversation,
) -> Result<Vec<EarlierConversation>, StoreError> {
    let Some(key) = &conversation.visitor_key else {
        return Ok(Vec::new());
    };
    let store = &state.conversations.store;
    let mut earlier = Vec::new();
    for id in store.visitor_conversations(key).await?.iter().rev() {
        if id == &conversation.id {
            continue;
        }
        if earlier.len() == EARLIER_SHOWN {
            break;
        }
        let Some(c) = store.get(id).await? else {
            continue;
        };
        let first_message = first_message(store.as_ref(), id).await?;
        earlier.push(EarlierConversation {
            conversation: id.to_string(),
            created: c.created,
            state: c.state,
            reason: c.resolution.or_else(|| c.reason.map(String::from)),
            first_message,
        });
    }
    Ok(earlier)
}

async fn catch_up(
    state: &AppState,
    session: &mut Session,
    console: &mut Console,
    id: &ConversationId,
) -> Result<(), ()> {
    let Some(w) = console.watched.get_mut(id) else {
        return Ok(());
    };
    let events = match state
        .conversations
        .store
        .events_after(id, w.last_sent)
        .await
    {
        Ok(events) => events,
        Err(e) => {
            tracing::warn!(conv = %id, error = %e, "cannot read the log to catch up");
            return Ok(());
        }
    };
    for event in events {
        w.last_sent = event.seq;
        send(
            session,
            &AgentServerFrame::ConversationEvent {
                conversation: id.to_string(),
                event,
            },
        )
        .await?;
    }
    Ok(())
}

async fn forward(
    state: &AppState,
    session: &mut Session,
    console: &mut Console,
    id: ConversationId,
    signal: Result<Arc<Signal>, BroadcastStreamRecvError>,
) -> Result<(), ()> {
    let Some(w) = console.watched.get_mut(&id) else {
        return Ok(());
    };
    match signal.as_deref() {
        Ok(Signal::Event(event)) => {
            if event.seq <= w.last_sent {
                return Ok(());
            }
            if matches!(event.body, EventBody::Notice { .. }) {
                // The state changed: read the header again on the next refresh.
                console.chat_headers.remove(&id);
            }
            if event.seq > w.last_sent + 1 {
                return catch_up(state, session, console, &id).await;
            }
            w.last_sent = event.seq;
            send(
                session,
                &AgentServerFrame::ConversationEvent {
                    conversation: id.to_string(),
                    event: event.clone(),
                },
            )
            .await
        }
        Ok(Signal::Typing { agent: None }) => {
            send(
                session,
                &AgentServerFrame::Typing {
                    conversation: id.to_string(),
                },
            )
            .await
        }
        Ok(Signal::Typing { agent: Some(_) }) => Ok(()),
        Ok(Signal::Resync) | Err(BroadcastStreamRecvError::Lagged(_)) => {
            catch_up(state, session, console, &id).await
        }
    }
}

/// Handles one frame. `Err` only when the socket is gone.
async fn handle(
    state: &AppState,
    session: &mut Session,
    console: &mut Console,
    text: &str,
) -> Result<(), ()> {
    let frame = match parse_agent_frame(text) {
        Ok(f) => f,
        Err((code, message)) => return error(session, code, &message).await,
    };
    let conversations = &state.conversations;
    let parse = |raw: &str| ConversationId::parse(raw);
    let agent = console.agent.clone();
    let note = matches!(frame, AgentFrame::Note { .. });
    let result: Result<Outcome, StoreError> = match frame {
        AgentFrame::Presence { status } => {
            console.presence = match status {
                Presence::Offline => Presence::Away,
                other => other,
            };
            let _ = set_presence(state, console).await;
            return Ok(());
        }
        AgentFrame::Open {
            conversation,
            last_seq,
        } => {
            let Some(id) = parse(&conversation) else {
                return error(session, ErrorCode::NotFound, "no such conversation").await;
            };
            if console.watched.contains_key(&id) {
                console.watched.remove(&id);
                console.buses.remove(&id);
            }
            return watch(state, session, console, &id, last_seq.unwrap_or(0)).await;
        }
        AgentFrame::Typing { conversation } => {
            // Only the agent who has the chat types to its visitor.
            let mine = console
                .sent_chats
                .as_ref()
                .is_some_and(|chats| chats.iter().any(|c| c.conversation == conversation));
            if !mine {
                return error(
                    session,
                    ErrorCode::NotYours,
                    "that chat is not assigned to you",
                )
                .await;
            }
            if let Some(id) = parse(&conversation) {
                let _ = conversations
                    .store
                    .bus()
                    .typing(&id, Some(&agent.name))
                    .await;
            }
            return Ok(());
        }
        AgentFrame::Claim { conversation }
        | AgentFrame::HandBack { conversation }
        | AgentFrame::FollowedUp { conversation }
            if parse(&conversation).is_none() =>
        {
            return error(session, ErrorCode::NotFound, "no such conversation").await;
        }
        AgentFrame::Claim { conversation } => {
            let id = parse(&conversation).expect("checked above");
            conversations.claim(&id, &agent).await
        }
        AgentFrame::HandBack { conversation } => {
            let id = parse(&conversation).expect("checked above");
            conversations.hand_back(&id, &agent).await
        }
        AgentFrame::FollowedUp { conversation } => {
            let id = parse(&conversation).expect("checked above");
            conversations.followed_up(&id, &agent).await
        }
        AgentFrame::Reply {
            text, client_id, ..
        }
        | AgentFrame::Note {
            text, client_id, ..
        } if text.trim().is_empty()
            || text.len() > MAX_TEXT
            || client_id
                .as_ref()
                .is_some_and(|c| c.is_empty() || c.len() > 64) =>
        {
            return error(
                session,
                ErrorCode::Invalid,
                &format!("a message needs 1 to {MAX_TEXT} characters (client_id: 1 to 64)"),
            )
            .await;
        }
        AgentFrame::Reply {
            conversation,
            text,
            client_id,
        }
        | AgentFrame::Note {
            conversation,
            text,
            client_id,
        } => {
            let Some(id) = parse(&conversation) else {
                return error(session, ErrorCode::NotFound, "no such conversation").await;
            };
            let writing = Writing {
                id,
                text,
                client_id,
                note,
            };
            return write_or_hold(state, session, console, writing).await;
        }
        AgentFrame::Transfer {
            conversation,
            agent: to,
            team,
        } => {
            let Some(id) = parse(&conversation) else {
                return error(session, ErrorCode::NotFound, "no such conversation").await;
            };
            match (to, team) {
                (Some(to), None) => match state.roster.get(&to) {
                    Some(to) => conversations.transfer_to_agent(&id, &agent, to).await,
                    None => return error(session, ErrorCode::NotFound, "no such agent").await,
                },
                (None, Some(team)) => {
                    conversations
                        .requeue(&id, Some(&agent.id), QueueReason::Team(team))
                        .await
                }
                (None, None) => {
                    conversations
                        .requeue(&id, Some(&agent.id), QueueReason::Transfer)
                        .await
                }
                (Some(_), Some(_)) => {
                    return error(
                        session,
                        ErrorCode::Invalid,
                        "transfer to an agent or a team",
                    )
                    .await;
                }
            }
        }
        AgentFrame::Close {
            conversation,
            resolution,
        } => match parse(&conversation) {
            Some(id) => conversations.close(&id, &agent, resolution).await,
            None => return error(session, ErrorCode::NotFound, "no such conversation").await,
        },
    };
    match result {
        Ok(Outcome::Done) => refresh(state, session, console).await,
        Ok(outcome) => refused(session, outcome).await,
        Err(e) => failed(session, &e).await,
    }
}

/// Tells the console a store call failed: `not_found`, or `internal` (logged).
async fn failed(session: &mut Session, e: &StoreError) -> Result<(), ()> {
    if let StoreError::NotFound(_) = e {
        return error(session, ErrorCode::NotFound, "no such conversation").await;
    }
    tracing::error!(error = %e, "agent action failed");
    error(
        session,
        ErrorCode::Internal,
        "something went wrong on our side; please try again",
    )
    .await
}

/// Tells the console why an action did not happen.
async fn refused(session: &mut Session, outcome: Outcome) -> Result<(), ()> {
    match outcome {
        Outcome::Done => Ok(()),
        Outcome::NotYours => {
            error(
                session,
                ErrorCode::NotYours,
                "that conversation is not waiting any more, or not assigned to you",
            )
            .await
        }
        Outcome::AtCapacity => {
            error(
                session,
                ErrorCode::AtCapacity,
                "no free capacity for another chat",
            )
            .await
        }
    }
}

/// A reply or a note, as written: kept in order while the store is down.
struct Writing {
    id: ConversationId,
    text: String,
    client_id: Option<String>,
    note: bool,
}

async fn write(state: &AppState, agent: &Agent, w: &Writing) -> StoreResult<Outcome> {
    let (text, client_id) = (w.text.clone(), w.client_id.clone());
    let conversations = &state.conversations;
    if w.note {
        conversations
            .note(&w.id, agent, text, client_id)
            .await
            .map(|()| Outcome::Done)
    } else {
        conversations
            .agent_reply(&w.id, agent, text, client_id)
            .await
    }
}

/// Stores a reply or note now, or, while the store is down (or earlier ones wait), holds it to
/// be stored in order when the store is back: the console shows it as sending until its event
/// arrives. Replies and notes change no list: nothing to refresh.
async fn write_or_hold(
    state: &AppState,
    session: &mut Session,
    console: &mut Console,
    writing: Writing,
) -> Result<(), ()> {
    if console.held.is_empty() {
        match write(state, &console.agent, &writing).await {
            Err(StoreError::Unavailable(_)) => {}
            Ok(outcome) => return refused(session, outcome).await,
            Err(e) => return failed(session, &e).await,
        }
    }
    if console.held.len() >= MAX_HELD {
        return error(
            session,
            ErrorCode::Internal,
            "we can't save more messages right now; please wait a moment",
        )
        .await;
    }
    tracing::warn!(conv = %writing.id, "store unavailable: holding an agent's reply");
    console.held.push_back(writing);
    Ok(())
}

/// Stores held replies and notes in order while the store answers.
async fn flush_held(
    state: &AppState,
    session: &mut Session,
    console: &mut Console,
) -> Result<(), ()> {
    while let Some(front) = console.held.front() {
        match write(state, &console.agent, front).await {
            Err(StoreError::Unavailable(_)) => return Ok(()),
            done => {
                console.held.pop_front();
                match done {
                    Ok(outcome) => refused(session, outcome).await?,
                    Err(e) => failed(session, &e).await?,
                }
            }
        }
    }
    Ok(())
}
