//! A visitor's websocket, from `hello` to close.
//!
//! The task owns the socket. It binds to one conversation on `hello` (new or resumed), then
//! forwards that conversation's events from the store's bus, each exactly once and in `seq`
//! order: it subscribes *before* replaying what the client missed, and skips bus events it
//! already sent. While the conversation waits in the queue it also watches routing changes and
//! sends the visitor's place in line and wait estimate whenever they change. Frames become calls
//! on `Conversations`; bad frames get an `error` frame and the socket stays usable. Visitor text
//! is never logged.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use actix_ws::{AggregatedMessageStream, CloseCode, CloseReason, Session};
use tokio::sync::{broadcast, watch};

use super::guard::{FrameGuard, Incoming, Limits};
use super::rate::Slot;
use crate::conversation::{
    ConversationState, Conversations, EventBody, Held, MessageOutcome, Notice, QueueStatus,
};
use crate::protocol::{
    ErrorCode, PROTOCOL_VERSION, ServerFrame, VisitorFrame, parse_visitor_frame,
};
use crate::startup::AppState;
use crate::store::{
    ConversationId, Signal, Store, StoreError, StoreResult, Token, VisitorInfo, VisitorKey,
};

/// How often held items (from a store outage) are retried.
const HELD_RETRY: Duration = Duration::from_secs(1);
/// Items held during an outage, at most, per socket; past this the visitor is asked to wait.
const MAX_HELD: usize = 50;

/// Longest `client_id` accepted.
const MAX_CLIENT_ID: usize = 64;

/// Why the loop ended, as the close frame to send.
type Close = Option<CloseReason>;

struct Bound {
    id: ConversationId,
    bus: broadcast::Receiver<Arc<Signal>>,
    /// Highest `seq` sent on this socket.
    last_sent: u64,
    /// Whether the conversation waits in the queue (from the events this socket has seen).
    queued: bool,
    /// The last queue status sent, so only changes are sent.
    told: Option<QueueStatus>,
    /// What the visitor did while the store was down, oldest first, to be stored when it is back.
    held: std::collections::VecDeque<Held>,
    /// The store no longer has the conversation (e.g. Redis restarted empty): the socket tells
    /// the visitor and closes, and the client's next `hello` starts a new one.
    lost: bool,
}

/// Who is on the other end: the address per-address limits count (`None`: not limited), and
/// the socket's place among that address's open sockets (held while the socket is open).
pub struct Peer {
    pub address: Option<IpAddr>,
    pub _slot: Option<Slot>,
}

pub async fn run(
    state: web::Data<AppState>,
    mut session: Session,
    mut stream: AggregatedMessageStream,
    peer: Peer,
) {
    let settings = &state.settings;
    let metrics = &state.conversations.metrics;
    metrics.open_sockets.inc();
    let mut bound: Option<Bound> = None;
    let mut guard = FrameGuard::new(Limits {
        per_second: settings.rate_per_second,
        burst: settings.rate_burst,
        abuse_limit: settings.abuse_limit,
        max_text_bytes: settings.max_frame_bytes,
        idle: Duration::from_secs(settings.idle_timeout_seconds),
    });
    let mut heartbeat = tokio::time::interval(Duration::from_secs(settings.heartbeat_seconds));
    let hello_deadline = tokio::time::sleep(Duration::from_secs(settings.hello_timeout_seconds));
    tokio::pin!(hello_deadline);
    let mut shutdown = state.shutdown.clone();
    let mut routing = state.conversations.store.bus().watch_routing();
    let mut retry = tokio::time::interval(HELD_RETRY);

    let close: Close = loop {
        tokio::select! {
            msg = stream.recv() => {
                let sent = match guard.take(msg) {
                    Incoming::Text(text) => match handle_text(&state, &mut session, &mut bound, &peer, &text).await {
                        Ok(()) if is_lost(&bound) => break lost(&state, &mut session).await,
                        Ok(()) => continue,
                        Err(()) => break None,
                    },
                    Incoming::Refuse(code, why) => error(&state, &mut session, code, &why).await,
                    Incoming::Ping(bytes) => session.pong(&bytes).await.map_err(drop),
                    Incoming::Nothing => Ok(()),
                    Incoming::Close(close) => break close,
                };
                if sent.is_err() { break None; }
            }
            signal = next_signal(&mut bound) => {
                match forward(&state, &mut session, &mut bound, signal).await {
                    Ok(()) => {}
                    Err(()) => break None,
                }
            }
            changed = routing.changed() => {
                if changed.is_err() {
                    // The store is gone (shutting down): stop watching, keep the socket.
                    routing = watch::channel(0).1;
                    continue;
                }
                if tell_queue_status(&state, &mut session, &mut bound).await.is_err() { break None; }
            }
            _ = retry.tick(), if bound.as_ref().is_some_and(|b| !b.held.is_empty()) => {
                if let Some(b) = bound.as_mut() {
                    flush_held(&state.conversations, b).await;
                }
                if is_lost(&bound) { break lost(&state, &mut session).await; }
            }
            () = &mut hello_deadline, if bound.is_none() => {
                break Some(CloseReason { code: CloseCode::Policy, description: Some("no hello".into()) });
            }
            _ = heartbeat.tick() => {
                if guard.idle() {
                    break Some(CloseReason { code: CloseCode::Normal, description: Some("idle".into()) });
                }
                if session.ping(b"").await.is_err() { break None; }
            }
            _ = shutdown.changed() => {
                break Some(CloseReason { code: CloseCode::Away, description: Some("server shutting down".into()) });
            }
        }
    };
    metrics.open_sockets.dec();
    // The client may already be gone: closing a closed session is a normal outcome.
    let _ = session.close(close).await;
}

/// The next signal on the bound conversation's bus; never resolves before `hello`.
async fn next_signal(
    bound: &mut Option<Bound>,
) -> Result<Arc<Signal>, broadcast::error::RecvError> {
    match bound {
        Some(b) => b.bus.recv().await,
        None => std::future::pending().await,
    }
}

/// Sends the visitor's place in line and wait estimate if the conversation is queued and they
/// changed since last told. `Err` when the socket is gone.
async fn tell_queue_status(
    state: &AppState,
    session: &mut Session,
    bound: &mut Option<Bound>,
) -> Result<(), ()> {
    let Some(b) = bound.as_mut().filter(|b| b.queued) else {
        return Ok(());
    };
    match state.conversations.queue_status(&b.id).await {
        Ok(Some(status)) if b.told != Some(status) => {
            b.told = Some(status);
            send(session, &ServerFrame::Queue(status)).await
        }
        Ok(_) => Ok(()),
        Err(e) => {
            tracing::warn!(conv = %b.id, error = %e, "cannot read the queue position");
            Ok(())
        }
    }
}

/// Follows the conversation's state from the events this socket forwards.
fn note_state(b: &mut Bound, body: &EventBody) {
    if let EventBody::Notice { notice } = body {
        b.queued = matches!(notice, Notice::Queued { .. });
        if !b.queued {
            b.told = None;
        }
    }
}

/// Sends a bus event (or catches up after lagging). `Err` when the socket is gone.
async fn forward(
    state: &AppState,
    session: &mut Session,
    bound: &mut Option<Bound>,
    signal: Result<Arc<Signal>, broadcast::error::RecvError>,
) -> Result<(), ()> {
    let Some(b) = bound.as_mut() else {
        return Ok(());
    };
    match signal.as_deref() {
        Ok(Signal::Event(event)) => {
            if event.seq > b.last_sent {
                // An event we skipped would be a gap: fill it from the log first.
                if event.seq > b.last_sent + 1 {
                    catch_up(state, session, b).await?;
                } else {
                    b.last_sent = event.seq;
                    note_state(b, &event.body);
                    if let Some(visible) = event.for_visitor() {
                        send(session, &ServerFrame::Event(visible)).await?;
                    }
                }
                if b.queued {
                    return tell_queue_status(state, session, bound).await;
                }
            }
            Ok(())
        }
        Ok(Signal::Typing { agent: Some(name) }) => {
            send(session, &ServerFrame::Typing { from: name.clone() }).await
        }
        Ok(Signal::Typing { agent: None }) => Ok(()),
        Ok(Signal::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => {
            catch_up(state, session, b).await
        }
        Err(broadcast::error::RecvError::Closed) => {
            // The bus went away (conversation removed): stop listening, keep the socket.
            b.bus = broadcast::channel(1).1;
            Ok(())
        }
    }
}

/// Sends everything after `last_sent` from the log.
async fn catch_up(state: &AppState, session: &mut Session, b: &mut Bound) -> Result<(), ()> {
    let events = match state
        .conversations
        .store
        .events_after(&b.id, b.last_sent)
        .await
    {
        Ok(events) => events,
        Err(e) => {
            tracing::warn!(conv = %b.id, error = %e, "cannot read the log to catch up");
            return Ok(());
        }
    };
    for event in events {
        b.last_sent = event.seq;
        note_state(b, &event.body);
        if let Some(visible) = event.for_visitor() {
            send(session, &ServerFrame::Event(visible)).await?;
        }
    }
    Ok(())
}

async fn send(session: &mut Session, frame: &ServerFrame) -> Result<(), ()> {
    // Serialising our own frame types cannot fail.
    let json = serde_json::to_string(frame).unwrap_or_default();
    session.text(json).await.map_err(drop)
}

async fn error(
    state: &AppState,
    session: &mut Session,
    code: ErrorCode,
    message: &str,
) -> Result<(), ()> {
    let label = serde_json::to_value(code)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    state
        .conversations
        .metrics
        .frame_errors
        .with_label_values(&[&label])
        .inc();
    send(
        session,
        &ServerFrame::Error {
            code,
            message: message.into(),
        },
    )
    .await
}

/// Handles one text frame. `Err` only when the socket is gone.
async fn handle_text(
    state: &AppState,
    session: &mut Session,
    bound: &mut Option<Bound>,
    peer: &Peer,
    text: &str,
) -> Result<(), ()> {
    let frame = match parse_visitor_frame(text) {
        Ok(frame) => frame,
        Err((code, message)) => return error(state, session, code, &message).await,
    };
    let conversations = &state.conversations;
    let Some(b) = bound.as_mut() else {
        return match frame {
            VisitorFrame::Hello {
                token,
                last_seq,
                name,
                email,
                page,
                locale,
                tz,
                visitor_key,
                user_id,
                user_hash,
                ..
            } => {
                let verified = match identify(state, user_id.as_deref(), user_hash.as_deref()) {
                    Ok(verified) => verified,
                    Err((message, fatal)) => {
                        error(state, session, ErrorCode::IdentityRefused, &message).await?;
                        if fatal {
                            // Not bound: the client may send `hello` again with a valid hash.
                            return Ok(());
                        }
                        None
                    }
                };
                // A verified visitor's conversations are linked across browsers; otherwise by
                // the key this browser was given.
                let key = match (&verified, &state.identity) {
                    (Some(id), Some(secret)) => Some(secret.visitor_key(id)),
                    _ => visitor_key.as_deref().and_then(VisitorKey::parse),
                };
                let visitor = VisitorInfo {
                    user_id: verified,
                    name,
                    email,
                    page,
                    locale,
                    tz,
                };
                let hello = Hello {
                    token,
                    last_seq,
                    visitor,
                    visitor_key: key,
                };
                start(state, session, bound, peer, hello).await
            }
            _ => error(state, session, ErrorCode::HelloFirst, "send `hello` first").await,
        };
    };
    let id = b.id.clone();
    let result = match frame {
        VisitorFrame::Hello { .. } => {
            return error(
                state,
                session,
                ErrorCode::Invalid,
                "this socket already said hello",
            )
            .await;
        }
        VisitorFrame::Message { text, client_id } => {
            if text.trim().is_empty() {
                return error(state, session, ErrorCode::EmptyText, "the message is empty").await;
            }
            if client_id.is_empty() || client_id.len() > MAX_CLIENT_ID {
                return error(
                    state,
                    session,
                    ErrorCode::BadFrame,
                    "client_id must be 1-64 characters",
                )
                .await;
            }
            if !state.visitor_messages.allow(&id) {
                return error(
                    state,
                    session,
                    ErrorCode::RateLimited,
                    "too many messages in this conversation: slow down",
                )
                .await;
            }
            if !b.held.is_empty() {
                // Keep the visitor's order: behind what is already held.
                let held = conversations.hold_message(text, client_id);
                return hold(state, session, b, held).await;
            }
            match conversations
                .visitor_message(&id, text.clone(), client_id.clone())
                .await
            {
                Ok(MessageOutcome::Duplicate { seq }) => {
                    return send(session, &ServerFrame::Ack { client_id, seq }).await;
                }
                Ok(MessageOutcome::Stored) => Ok(()),
                Err(StoreError::Unavailable(_)) => {
                    let held = conversations.hold_message(text, client_id);
                    return hold(state, session, b, held).await;
                }
                Err(e) => Err(e),
            }
        }
        VisitorFrame::Typing {} => conversations.store.bus().typing(&id, None).await,
        VisitorFrame::Choose { option } => match conversations.choose(&id, &option).await {
            Ok(true) => Ok(()),
            Ok(false) => return error(state, session, ErrorCode::Invalid, "unknown option").await,
            Err(e) => Err(e),
        },
        VisitorFrame::RequestHuman {} => {
            let result = if b.held.is_empty() {
                conversations.request_human(&id).await
            } else {
                Err(StoreError::Unavailable("earlier items are held".into()))
            };
            match result {
                Err(StoreError::Unavailable(_)) => {
                    return hold(state, session, b, Held::RequestHuman).await;
                }
                other => other,
            }
        }
        VisitorFrame::Feedback { seq, helpful } => {
            match conversations.feedback(&id, seq, helpful).await {
                Ok(true) => Ok(()),
                Ok(false) => {
                    return error(
                        state,
                        session,
                        ErrorCode::Invalid,
                        "feedback is for a bot answer's seq",
                    )
                    .await;
                }
                Err(e) => Err(e),
            }
        }
        VisitorFrame::Rate { score, comment } => {
            if !(1..=5).contains(&score) {
                return error(state, session, ErrorCode::Invalid, "score is 1 to 5").await;
            }
            conversations.rate(&id, score, comment).await
        }
        VisitorFrame::LeaveMessage { email, text } => {
            if !email.contains('@') || text.trim().is_empty() {
                return error(
                    state,
                    session,
                    ErrorCode::Invalid,
                    "an e-mail address and a message are needed",
                )
                .await;
            }
            conversations.leave_message(&id, email, text).await
        }
    };
    match result {
        Ok(()) => Ok(()),
        Err(StoreError::NotFound(_)) => {
            b.lost = true;
            Ok(())
        }
        Err(e) => store_unavailable(state, session, &e).await,
    }
}

fn is_lost(bound: &Option<Bound>) -> bool {
    bound.as_ref().is_some_and(|b| b.lost)
}

/// Tells the visitor their conversation is gone from the store; the close (1012, "service
/// restart") makes the client reconnect, its `hello` then starts a new conversation and it
/// resends what was not confirmed.
async fn lost(state: &AppState, session: &mut Session) -> Close {
    tracing::warn!("a visitor's conversation is gone from the store; they start a new one");
    let _ = error(
        state,
        session,
        ErrorCode::UnknownToken,
        "we lost this conversation on our side; a new one starts and your unsent messages follow",
    )
    .await;
    Some(CloseReason {
        code: CloseCode::Restart,
        description: Some("conversation lost".into()),
    })
}

/// Holds an item while the store is down: the visitor gets the bot's answer now and the item is
/// stored when the store is back. `Err` when the socket is gone.
async fn hold(
    state: &AppState,
    session: &mut Session,
    b: &mut Bound,
    held: Held,
) -> Result<(), ()> {
    if b.held.len() >= MAX_HELD {
        return error(
            state,
            session,
            ErrorCode::Internal,
            "we can't save more messages right now; please wait a moment",
        )
        .await;
    }
    let frame = match &held {
        Held::Message {
            client_id, answer, ..
        } => ServerFrame::Held {
            client_id: client_id.clone(),
            answer: answer.clone(),
        },
        Held::RequestHuman => ServerFrame::Held {
            client_id: String::new(),
            answer: Conversations::held_handoff_answer(),
        },
    };
    tracing::warn!(conv = %b.id, "store unavailable: holding the visitor's item");
    b.held.push_back(held);
    send(session, &frame).await?;
    flush_held(&state.conversations, b).await;
    Ok(())
}

/// Stores held items in order while the store answers.
async fn flush_held(conversations: &Conversations, b: &mut Bound) {
    while let Some(front) = b.held.front() {
        match conversations.store_held(&b.id, front).await {
            Ok(()) => {
                b.held.pop_front();
            }
            Err(StoreError::NotFound(_)) => {
                b.lost = true;
                return;
            }
            Err(_) => return,
        }
    }
}

/// Tells the client the store failed (the frame can be retried) and logs why.
async fn store_unavailable(
    state: &AppState,
    session: &mut Session,
    e: &crate::store::StoreError,
) -> Result<(), ()> {
    tracing::error!(error = %e, "store operation failed");
    error(
        state,
        session,
        ErrorCode::Internal,
        "something went wrong on our side; please try again",
    )
    .await
}

/// Checks a `hello`'s identity claim: the verified id (or none). `Err` says why the claim was
/// refused and whether chatting is refused too (`require_identity`).
fn identify(
    state: &AppState,
    user_id: Option<&str>,
    user_hash: Option<&str>,
) -> Result<Option<String>, (String, bool)> {
    let required = state.settings.require_identity;
    match (&state.identity, user_id) {
        // Nothing to verify a claim with: it is not taken.
        (None, _) => Ok(None),
        (Some(secret), Some(id)) => secret.verify(id, user_hash).map(Some).map_err(|e| {
            let then = if required {
                "this site only chats with signed-in visitors"
            } else {
                "you can still chat, as a guest"
            };
            (format!("identity refused: {e}; {then}"), required)
        }),
        (Some(_), None) if required => Err((
            "this site only chats with signed-in visitors: send user_id and user_hash".into(),
            true,
        )),
        (Some(_), None) => Ok(None),
    }
}

/// What a `hello` asks for, after identity checks.
struct Hello {
    token: Option<String>,
    last_seq: Option<u64>,
    visitor: VisitorInfo,
    visitor_key: Option<VisitorKey>,
}

/// Binds the socket to a resumed or new conversation and replays what the client missed.
async fn start(
    state: &AppState,
    session: &mut Session,
    bound: &mut Option<Bound>,
    peer: &Peer,
    hello: Hello,
) -> Result<(), ()> {
    let Hello {
        token,
        last_seq,
        visitor,
        visitor_key,
    } = hello;
    let store = &state.conversations.store;
    let resumed = match token.as_deref().and_then(Token::parse) {
        Some(token) => match store.resume(&token).await {
            // A verified visitor's conversation resumes only for that same visitor (another
            // person signed in on this browser starts afresh).
            Ok(Some(conversation))
                if conversation.visitor.user_id.is_some()
                    && conversation.visitor.user_id != visitor.user_id =>
            {
                None
            }
            Ok(Some(conversation)) => Some((conversation, token)),
            Ok(None) => None,
            Err(e) => return store_unavailable(state, session, &e).await,
        },
        None => None,
    };
    let was_resumed = resumed.is_some();
    let (conversation, token) = match resumed {
        Some(found) => found,
        None => {
            if token.is_some() {
                error(
                    state,
                    session,
                    ErrorCode::UnknownToken,
                    "that conversation was not found; a new one starts",
                )
                .await?;
            }
            if peer
                .address
                .is_some_and(|a| !state.new_conversations.allow(&a))
            {
                return error(
                    state,
                    session,
                    ErrorCode::RateLimited,
                    "too many new conversations from your address; wait a minute",
                )
                .await;
            }
            // A guest's key is theirs only if no verified visitor's conversations carry it.
            let own_key = match visitor_key.clone() {
                Some(key) if visitor.user_id.is_none() => {
                    match belongs_to_a_verified_visitor(store.as_ref(), &key).await {
                        Ok(false) => Some(key),
                        Ok(true) => None,
                        Err(e) => return store_unavailable(state, session, &e).await,
                    }
                }
                other => other,
            };
            // A visitor without a key gets one: their next conversation joins this one.
            let key = own_key.unwrap_or_else(VisitorKey::random);
            match store.create(visitor, Some(key)).await {
                Ok(created) => created,
                Err(e) => return store_unavailable(state, session, &e).await,
            }
        }
    };
    // Subscribe before reading the log, so nothing appended in between is missed.
    let bus = store.bus().subscribe(&conversation.id);
    send(
        session,
        &ServerFrame::Welcome {
            v: PROTOCOL_VERSION,
            token: token.expose(),
            conversation: conversation.id.to_string(),
            state: conversation.state,
            resumed: was_resumed,
            // A verified visitor's key is derived from their id on every hello: the browser is
            // not given it, so a guest after them on this browser cannot present it.
            visitor_key: conversation
                .visitor_key
                .clone()
                .or(visitor_key)
                .filter(|_| conversation.visitor.user_id.is_none())
                .map(|k| k.as_str().to_owned()),
        },
    )
    .await?;
    let mut b = Bound {
        id: conversation.id,
        bus,
        // A client cannot have seen past the end of the log.
        last_sent: if was_resumed {
            last_seq.unwrap_or(0).min(conversation.last_seq)
        } else {
            0
        },
        queued: conversation.state == ConversationState::Queued,
        told: None,
        held: Default::default(),
        lost: false,
    };
    catch_up(state, session, &mut b).await?;
    *bound = Some(b);
    tell_queue_status(state, session, bound).await
}

/// Whether the conversations started with `key` are a verified visitor's.
async fn belongs_to_a_verified_visitor(store: &dyn Store, key: &VisitorKey) -> StoreResult<bool> {
    let Some(first) = store.visitor_conversations(key).await?.into_iter().next() else {
        return Ok(false);
    };
    Ok(store
        .get(&first)
        .await?
        .is_some_and(|c| c.visitor.user_id.is_some()))
}
