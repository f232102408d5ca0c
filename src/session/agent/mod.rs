//! An agent's console socket (`/ws/agent`, already logged in by cookie), from connect to close.
//!
//! The task owns the socket. It keeps the agent present (heartbeat into the store), sends the
//! queue, the agent's chats, the follow-ups and the team on connect and again whenever routing
//! changes on any node, and forwards every event of the conversations the agent watches: their
//! own chats automatically, others after `open`. Like the visitor's socket it subscribes before
//! replaying from the log and sends each event once, in order; a lag or a store reconnect is
//! filled from the log. Each frame becomes a `command` (values checked at the edge) applied for
//! the agent through `Conversations`, where the store decides who wins. The lists come from this
//! node's board (`super::board`), read once per routing change for every console.

mod command;
pub(crate) use command::MAX_TEXT;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use actix_ws::{AggregatedMessageStream, CloseCode, CloseReason, Session};
use bytestring::ByteString;
use futures_util::StreamExt;
use tokio_stream::StreamMap;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use self::command::{About, Command, Writing};
use super::error::{Gone, Handled, Sent, SessionError};
use super::guard::{FrameGuard, Incoming, Limits};
use super::values::Refusal;
use crate::agents::Agent;
use crate::conversation::EventBody;
use crate::conversation::{Conversation, ConversationId};
use crate::ports::{Presence, Signal, StoreError};
use crate::protocol::{
    AgentServerFrame, ChatItem, EarlierConversation, ErrorCode, PROTOCOL_VERSION, Reason,
    parse_agent_frame,
};
use crate::routing::board::{Board, chat_item, colleague, first_message};
use crate::state::AppState;

/// Conversations one console may watch at once (its own chats plus opened ones).
const MAX_WATCHED: usize = 200;
/// Conversations that stay watched after they are no longer the agent's (the most recently
/// opened or handled); older ones are let go and caught up from the log if opened again.
const KEPT_OPENED: usize = 20;
/// How often held replies are retried.
const HELD_RETRY: Duration = Duration::from_secs(1);
/// Longest frame (a reply of `MAX_TEXT` bytes, escaped, fits).
const MAX_FRAME: usize = 16 * 1024;

struct Watched {
    last_sent: u64,
    /// When the agent opened it (the console's count of opens); `None`: watched only because
    /// it is theirs, and let go once it no longer is.
    opened: Option<u64>,
}

struct Console {
    agent: Agent,
    presence: Presence,
    watched: HashMap<ConversationId, Watched>,
    buses: StreamMap<ConversationId, BroadcastStream<Arc<Signal>>>,
    /// How many conversations the agent has opened on this console (orders `Watched::opened`).
    opens: u64,
    /// The last lists sent, so unchanged ones are not sent again.
    sent_queue: Option<ByteString>,
    sent_chats: Option<Vec<ChatItem>>,
    sent_follow_ups: Option<ByteString>,
    sent_agents: Option<ByteString>,
    /// Whether the console was told the board cannot be read (told once per outage).
    told_unavailable: bool,
    /// Headers of this agent's chats, read once and again only after a notice (a state change)
    /// on that conversation: showing the board costs one store read per new chat, not per chat.
    chat_headers: HashMap<ConversationId, ChatItem>,
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
    let metrics = &state.metrics;
    metrics.agent_sockets.inc();
    // Held while this console is open (no limit per agent).
    let open_console = state.consoles.take(agent.id.clone(), usize::MAX);
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
    let mut board = state.board.clone();
    let mut shutdown = state.shutdown.clone();
    let mut ended_sessions = state.ended_sessions.subscribe();
    let mut retry = tokio::time::interval(HELD_RETRY);
    let mut console = Console {
        agent,
        presence: Presence::Online,
        watched: HashMap::new(),
        buses: StreamMap::new(),
        opens: 0,
        sent_queue: None,
        sent_chats: None,
        sent_follow_ups: None,
        sent_agents: None,
        told_unavailable: false,
        chat_headers: HashMap::new(),
        held: VecDeque::new(),
    };
    tracing::info!(agent = %console.agent.id, "agent connected");
    let welcome = AgentServerFrame::Welcome {
        v: PROTOCOL_VERSION,
        agent: colleague(&console.agent, Presence::Online, 0),
        assign_timeout_seconds: state.settings.assign_timeout_seconds,
        canned: state.matcher.load().knowledge_base().canned.clone(),
        email: state.postbox.is_some(),
    };
    // Online before the welcome: a console that says it is connected can be handed chats.
    let shown = board.borrow_and_update().clone();
    let mut ctx = Ctx {
        state: &state,
        session: &mut session,
    };
    let mut alive = set_presence(&state, &console).await.is_ok()
        && ctx.send(&welcome).await.is_ok()
        && show(&mut ctx, &mut console, &shown).await.is_ok();

    let close = loop {
        if !alive {
            break None;
        }
        let mut ctx = Ctx {
            state: &state,
            session: &mut session,
        };
        tokio::select! {
            msg = stream.recv() => {
                alive = match guard.take(msg) {
                    Incoming::Text(text) => handle(&mut ctx, &mut console, &text).await.is_ok(),
                    Incoming::Refuse(code, why) => ctx.error(code, &why, About::default()).await.is_ok(),
                    Incoming::Ping(bytes) => ctx.session.pong(&bytes).await.is_ok(),
                    Incoming::Nothing => true,
                    Incoming::Close(close) => break close,
                };
            }
            Some((id, signal)) = console.buses.next(), if !console.buses.is_empty() => {
                alive = forward(&mut ctx, &mut console, id, signal).await.is_ok();
            }
            changed = board.changed() => {
                // The board's task ends only when the server shuts down: say so, as the
                // shutdown branch would (select! may see this one first).
                if changed.is_err() { break Some(going_away()); }
                let shown = board.borrow_and_update().clone();
                alive = show(&mut ctx, &mut console, &shown).await.is_ok();
            }
            _ = retry.tick(), if !console.held.is_empty() => {
                alive = flush_held(&mut ctx, &mut console).await.is_ok();
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
                if matches!(state.store.session_agent(&signed_in).await, Ok(None)) {
                    break Some(signed_out());
                }
                alive = ctx.session.ping(b"").await.is_ok();
            }
            _ = shutdown.changed() => break Some(going_away()),
        }
    };
    // A closed console takes no new chats at once (and the visitors waiting are told when
    // nobody else is online): the agent is `Away` until their presence expires
    // (presence_ttl). A reload within it makes them online again with their chats; after it,
    // the router returns their chats to the queue. Signing out is leaving: `Offline` now.
    // Another console of theirs on this node keeps them online; one on another node sets them
    // online again at its next beat.
    let signed_out = close
        .as_ref()
        .is_some_and(|c| c.description.as_deref() == Some("signed out"));
    drop(open_console);
    let last_here = state.consoles.count(&console.agent.id) == 0;
    let leaving = if signed_out {
        Some(Presence::Offline)
    } else if last_here && console.presence == Presence::Online && !*state.shutdown.borrow() {
        Some(Presence::Away)
    } else {
        None
    };
    if let Some(presence) = leaving {
        let ttl = Duration::from_secs(state.settings.presence_ttl_seconds);
        let board = state.store.presence();
        if let Err(e) = board.set(&console.agent.id, presence, ttl).await {
            tracing::warn!(agent = %console.agent.id, error = %e, "cannot mark a closed console away");
        }
    }
    tracing::info!(agent = %console.agent.id, "agent disconnected");
    metrics.agent_sockets.dec();
    let _ = session.close(close).await;
}

fn going_away() -> CloseReason {
    CloseReason {
        code: CloseCode::Away,
        description: Some("server shutting down".into()),
    }
}

fn signed_out() -> CloseReason {
    CloseReason {
        code: CloseCode::Policy,
        description: Some("signed out".into()),
    }
}

async fn set_presence(state: &AppState, console: &Console) -> Result<(), StoreError> {
    state
        .store
        .presence()
        .set(
            &console.agent.id,
            console.presence,
            Duration::from_secs(state.settings.presence_ttl_seconds),
        )
        .await
}

/// What handling a frame needs: the shared state and the socket to answer on.
struct Ctx<'a> {
    state: &'a AppState,
    session: &'a mut Session,
}

impl Ctx<'_> {
    async fn send(&mut self, frame: &AgentServerFrame) -> Sent {
        // Serialising our own frame types cannot fail.
        let json = serde_json::to_string(frame).unwrap_or_default();
        self.session.text(json).await.map_err(|_| Gone)
    }

    /// Tells the console why something it asked was refused, on the thing it concerned.
    async fn error(&mut self, code: ErrorCode, message: &str, about: About) -> Sent {
        self.send(&AgentServerFrame::Error {
            code,
            message: message.into(),
            conversation: about.conversation,
            client_id: about.client_id,
        })
        .await
    }
}

/// Handles one text frame: parse, check, apply, and tell the console what went wrong if
/// anything did. `Err` only when the socket is gone.
async fn handle(ctx: &mut Ctx<'_>, console: &mut Console, text: &str) -> Sent {
    let command = parse_agent_frame(text)
        .map_err(|(code, message)| Refusal::new(code, message))
        .and_then(Command::from_frame);
    let (about, result) = match command {
        Ok(command) => (command.about(), command::apply(ctx, console, command).await),
        Err(refusal) => (About::default(), Err(refusal.into())),
    };
    report(ctx, about, result).await
}

/// Tells the console how a frame about `about` failed: the refusal, `not_found`, or `internal`
/// (logged).
async fn report(ctx: &mut Ctx<'_>, about: About, result: Result<(), SessionError>) -> Sent {
    match result {
        Ok(()) => Ok(()),
        Err(SessionError::Gone) => Err(Gone),
        Err(SessionError::Refused(refusal)) => {
            ctx.error(refusal.code, &refusal.message, about).await
        }
        Err(SessionError::Store(StoreError::NotFound(_))) => {
            ctx.error(ErrorCode::NotFound, "no such conversation", about)
                .await
        }
        Err(SessionError::Store(e)) => {
            tracing::error!(error = %e, "agent action failed");
            ctx.error(
                ErrorCode::Internal,
                "something went wrong on our side; please try again",
                about,
            )
            .await
        }
    }
}

/// Stores replies held during an outage, and tells the console of any that were refused.
async fn flush_held(ctx: &mut Ctx<'_>, console: &mut Console) -> Sent {
    let failures = command::flush_held(ctx.state, &console.agent, &mut console.held).await;
    for (about, failure) in failures {
        report(ctx, about, Err(failure)).await?;
    }
    Ok(())
}

/// Shows the board where it changed since last shown: the queue, the agent's chats, the
/// follow-ups and the team; starts watching chats that became the agent's. Reads the store only
/// for the headers of chats new to this console. `Err` when the socket is gone.
async fn show(ctx: &mut Ctx<'_>, console: &mut Console, board: &Board) -> Sent {
    let view = match board {
        Board::Pending => return Ok(()),
        Board::Unavailable if console.told_unavailable => return Ok(()),
        Board::Unavailable => {
            console.told_unavailable = true;
            return ctx
                .error(
                    ErrorCode::Internal,
                    "the conversation store is unavailable; retrying",
                    About::default(),
                )
                .await;
        }
        Board::Ready(view) => view,
    };
    console.told_unavailable = false;
    let mine = view.chats_of(&console.agent.id).to_vec();
    let chats = match chat_items(ctx.state, console, &mine).await {
        Ok(chats) => chats,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read an agent's chats");
            return ctx
                .error(
                    ErrorCode::Internal,
                    "the conversation store is unavailable; retrying",
                    About::default(),
                )
                .await;
        }
    };
    send_if_changed(ctx, &mut console.sent_queue, &view.queue).await?;
    if console.sent_chats.as_ref() != Some(&chats) {
        let items = chats.clone();
        ctx.send(&AgentServerFrame::Chats { items }).await?;
        console.sent_chats = Some(chats);
    }
    send_if_changed(ctx, &mut console.sent_follow_ups, &view.follow_ups).await?;
    send_if_changed(ctx, &mut console.sent_agents, &view.agents).await?;
    // What is no longer theirs stays watched among the recently handled (a rating still
    // arrives after a close), at most `KEPT_OPENED` of them: what a console watches follows what
    // it has, not everything it has handled since it was opened.
    for (id, w) in console.watched.iter_mut() {
        if w.opened.is_none() && !mine.contains(id) {
            console.opens += 1;
            w.opened = Some(console.opens);
        }
    }
    console.trim(&mine, 0);
    for id in mine {
        if !console.watched.contains_key(&id) {
            let watched = watch(ctx, console, &id, 0, false).await;
            report(ctx, About::conversation(&id), watched).await?;
        }
    }
    Ok(())
}

impl Console {
    /// Stops watching the conversations `drop` picks.
    fn forget(&mut self, drop: impl Fn(&ConversationId, &Watched) -> bool) {
        let gone: Vec<ConversationId> = self
            .watched
            .iter()
            .filter(|(id, w)| drop(id, w))
            .map(|(id, _)| id.clone())
            .collect();
        for id in gone {
            self.watched.remove(&id);
            self.buses.remove(&id);
        }
    }

    /// Keeps at most `KEPT_OPENED - room` watched conversations that are not the agent's now,
    /// letting the oldest opened go (`room`: one more is about to be opened).
    fn trim(&mut self, mine: &[ConversationId], room: usize) {
        let mut kept: Vec<(u64, ConversationId)> = self
            .watched
            .iter()
            .filter(|(id, _)| !mine.contains(id))
            .filter_map(|(id, w)| w.opened.map(|at| (at, id.clone())))
            .collect();
        let allowed = KEPT_OPENED.saturating_sub(room);
        if kept.len() <= allowed {
            return;
        }
        kept.sort();
        let over = kept.len() - allowed;
        let excess: Vec<ConversationId> = kept.into_iter().take(over).map(|(_, id)| id).collect();
        self.forget(|id, _| excess.contains(id));
    }
}

/// The headers of the agent's chats `mine`: cached, read once per chat new to this console and
/// again after a notice (a state change) on it.
async fn chat_items(
    state: &AppState,
    console: &mut Console,
    mine: &[ConversationId],
) -> Result<Vec<ChatItem>, StoreError> {
    let headers = &mut console.chat_headers;
    headers.retain(|id, _| mine.contains(id));
    let mut chats = Vec::new();
    for id in mine {
        if !headers.contains_key(id)
            && let Some(c) = state.store.get(id).await?
        {
            headers.insert(id.clone(), chat_item(&c));
        }
        if let Some(item) = headers.get(id) {
            chats.push(item.clone());
        }
    }
    Ok(chats)
}

/// Sends a frame the board serialised, unless it is the one sent last (kept in `last`).
async fn send_if_changed(
    ctx: &mut Ctx<'_>,
    last: &mut Option<ByteString>,
    now: &ByteString,
) -> Sent {
    if last.as_ref() == Some(now) {
        return Ok(());
    }
    ctx.session.text(now.clone()).await.map_err(|_| Gone)?;
    *last = Some(now.clone());
    Ok(())
}

/// Starts watching `id`: header, then events after `after`, then live ones; `opened` when the
/// agent asked for it (kept while it is among the recently opened), else because it is theirs.
async fn watch(
    ctx: &mut Ctx<'_>,
    console: &mut Console,
    id: &ConversationId,
    after: u64,
    opened: bool,
) -> Handled {
    if opened {
        let mine = match &**ctx.state.board.borrow() {
            Board::Ready(view) => view.chats_of(&console.agent.id).to_vec(),
            _ => Vec::new(),
        };
        console.trim(&mine, 1);
    }
    if !console.watched.contains_key(id) && console.watched.len() >= MAX_WATCHED {
        return Err(SessionError::refused(
            ErrorCode::Invalid,
            "too many open conversations",
        ));
    }
    let store = ctx.state.store.clone();
    // Subscribe before reading the log, so nothing appended in between is missed.
    let bus = BroadcastStream::new(store.bus().subscribe(id));
    let Some(conversation) = store.get(id).await? else {
        return Err(SessionError::refused(
            ErrorCode::NotFound,
            "no such conversation",
        ));
    };
    console.buses.insert(id.clone(), bus);
    let earlier = match earlier_conversations(ctx.state, &conversation).await {
        Ok(earlier) => earlier,
        Err(e) => {
            tracing::warn!(conv = %id, error = %e, "cannot read the visitor's earlier conversations");
            Vec::new()
        }
    };
    ctx.send(&AgentServerFrame::Conversation {
        chat: Box::new(chat_item(&conversation)),
        earlier,
        visitor_key: conversation
            .visitor_key
            .as_ref()
            .map(|k| k.as_str().to_owned()),
    })
    .await?;
    let opened = opened.then(|| {
        console.opens += 1;
        console.opens
    });
    console.watched.insert(
        id.clone(),
        Watched {
            last_sent: after,
            opened,
        },
    );
    Ok(catch_up(ctx, console, id).await?)
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
    let store = &state.store;
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
            reason: c.reason.as_ref().map(Reason::from),
            resolution: c.resolution,
            first_message,
        });
    }
    Ok(earlier)
}

/// Sends a watched conversation's events after the last one sent, from the log.
async fn catch_up(ctx: &mut Ctx<'_>, console: &mut Console, id: &ConversationId) -> Sent {
    let Some(w) = console.watched.get_mut(id) else {
        return Ok(());
    };
    let events = match ctx.state.store.events_after(id, w.last_sent).await {
        Ok(events) => events,
        Err(e) => {
            tracing::warn!(conv = %id, error = %e, "cannot read the log to catch up");
            return Ok(());
        }
    };
    for event in events {
        w.last_sent = event.seq;
        let conversation = id.to_string();
        ctx.send(&AgentServerFrame::ConversationEvent {
            conversation,
            event,
        })
        .await?;
    }
    Ok(())
}

/// Sends a bus signal of a watched conversation (or catches up after a gap or a lag).
async fn forward(
    ctx: &mut Ctx<'_>,
    console: &mut Console,
    id: ConversationId,
    signal: Result<Arc<Signal>, BroadcastStreamRecvError>,
) -> Sent {
    let Some(w) = console.watched.get_mut(&id) else {
        return Ok(());
    };
    match signal.as_deref() {
        Ok(Signal::Event(event)) => {
            if event.seq <= w.last_sent {
                return Ok(());
            }
            if matches!(event.body, EventBody::Notice { .. }) {
                // The state changed: read the header again when the board is next shown.
                console.chat_headers.remove(&id);
            }
            if event.seq > w.last_sent + 1 {
                return catch_up(ctx, console, &id).await;
            }
            w.last_sent = event.seq;
            ctx.send(&AgentServerFrame::ConversationEvent {
                conversation: id.to_string(),
                event: event.clone(),
            })
            .await
        }
        Ok(Signal::Typing { agent: None }) => {
            let conversation = id.to_string();
            ctx.send(&AgentServerFrame::Typing { conversation }).await
        }
        Ok(Signal::Typing { agent: Some(_) }) => Ok(()),
        Ok(Signal::Resync) | Err(BroadcastStreamRecvError::Lagged(_)) => {
            catch_up(ctx, console, &id).await
        }
    }
}
