//! A visitor's websocket, from `hello` to close.
//!
//! The task owns the socket. It binds to one conversation on `hello` (`hello.rs`: new or
//! resumed), then forwards that conversation's events from the store's bus, each exactly once and
//! in `seq` order: it subscribes *before* replaying what the client missed, and skips bus events
//! it already sent. While the conversation waits in the queue it also watches this node's board
//! and sends the visitor's place in line and wait estimate whenever they change. Each frame
//! becomes a `command` (values checked at the edge) applied to the bound conversation; a refused
//! frame gets an `error` frame and the socket stays usable. Visitor text is never logged.

mod command;
mod hello;

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use actix_ws::{AggregatedMessageStream, CloseCode, CloseReason, Session};
use tokio::sync::broadcast;

use self::command::Command;
use super::error::{Gone, Sent, SessionError};
use super::guard::{FrameGuard, Incoming, Limits};
use super::values::Refusal;
use crate::conversation::ConversationId;
use crate::conversation::{EventBody, Held, Notice, QueueStatus};
use crate::limits::Slot;
use crate::ports::{Signal, StoreError};
use crate::protocol::{ErrorCode, ServerFrame, parse_visitor_frame};
use crate::routing::board::Board;
use crate::state::AppState;

/// How often held items (from a store outage) are retried.
const HELD_RETRY: Duration = Duration::from_secs(1);

/// Why the loop ended, as the close frame to send.
type Close = Option<CloseReason>;

/// The conversation a socket is bound to after `hello`.
struct Bound {
    id: ConversationId,
    bus: broadcast::Receiver<Arc<Signal>>,
    /// Highest `seq` sent on this socket.
    last_sent: u64,
    /// Highest `seq` the widget said it has shown (`seen`), as recorded.
    seen: u64,
    /// Whether the conversation waits in the queue (from the events this socket has seen).
    queued: bool,
    /// The last queue status sent, so only changes are sent.
    told: Option<QueueStatus>,
    /// What the visitor did while the store was down, oldest first, to be stored when it is back.
    held: VecDeque<Held>,
    /// The store no longer has the conversation (e.g. Redis restarted empty): the socket tells
    /// the visitor and closes, and the client's next `hello` starts a new one.
    lost: bool,
}

/// Who is on the other end: the address per-address limits count (`None`: not limited), and
/// the socket's place among that address's open sockets (held while the socket is open).
pub struct Peer {
    pub address: Option<IpAddr>,
    pub _slot: Option<Slot>,
    /// This socket's room under `max_connections`, given back when the session ends.
    pub _room: tokio::sync::OwnedSemaphorePermit,
}

/// What handling a frame needs: the shared state and the socket to answer on.
struct Ctx<'a> {
    state: &'a AppState,
    session: &'a mut Session,
}

impl Ctx<'_> {
    async fn send(&mut self, frame: &ServerFrame) -> Sent {
        // Serialising our own frame types cannot fail.
        let json = serde_json::to_string(frame).unwrap_or_default();
        self.session.text(json).await.map_err(|_| Gone)
    }

    /// Sends an error frame, counted by code.
    async fn error(&mut self, code: ErrorCode, message: &str) -> Sent {
        self.refuse(code, message, None).await
    }

    /// Sends an error frame about the message `client_id` (if any), counted by code.
    async fn refuse(&mut self, code: ErrorCode, message: &str, client_id: Option<String>) -> Sent {
        let label = serde_json::to_value(code)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        self.state
            .metrics
            .frame_errors
            .with_label_values(&[&label])
            .inc();
        self.send(&ServerFrame::Error {
            code,
            message: message.into(),
            client_id,
        })
        .await
    }
}

pub async fn run(
    state: web::Data<AppState>,
    mut session: Session,
    mut stream: AggregatedMessageStream,
    peer: Peer,
) {
    let settings = &state.settings;
    let metrics = &state.metrics;
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
    let mut board = state.board.clone();
    let mut board_open = true;
    let mut retry = tokio::time::interval(HELD_RETRY);

    // Each frame's work is boxed: an idle socket's task then holds only this loop's state, not
    // the largest of the futures it may await (4.4 KB unboxed; see BENCHMARKS.md, idle sockets).
    let close: Close = loop {
        let mut ctx = Ctx {
            state: &state,
            session: &mut session,
        };
        tokio::select! {
            msg = stream.recv() => {
                let sent = match guard.take(msg) {
                    Incoming::Text(text) => Box::pin(handle(&mut ctx, &mut bound, &peer, &text)).await,
                    Incoming::Refuse(code, why) => Box::pin(ctx.error(code, &why)).await,
                    Incoming::Ping(bytes) => ctx.session.pong(&bytes).await.map_err(|_| Gone),
                    Incoming::Nothing => Ok(()),
                    Incoming::Close(close) => break close,
                };
                if sent.is_err() { break None; }
                if is_lost(&bound) { break Box::pin(lost(&mut ctx)).await; }
            }
            signal = next_signal(&mut bound) => {
                if Box::pin(forward(&mut ctx, &mut bound, signal)).await.is_err() { break None; }
            }
            changed = board.changed(), if board_open => {
                if changed.is_err() {
                    // The board's task ended (shutting down): stop watching, keep the socket.
                    board_open = false;
                    continue;
                }
                if Box::pin(tell_queue_status(&mut ctx, &mut bound)).await.is_err() { break None; }
            }
            _ = retry.tick(), if bound.as_ref().is_some_and(|b| !b.held.is_empty()) => {
                if let Some(b) = bound.as_mut() {
                    Box::pin(command::flush_held(&state.conversations, b)).await;
                }
                if is_lost(&bound) { break Box::pin(lost(&mut ctx)).await; }
            }
            () = &mut hello_deadline, if bound.is_none() => {
                break Some(CloseReason { code: CloseCode::Policy, description: Some("no hello".into()) });
            }
            _ = heartbeat.tick() => {
                if guard.idle() {
                    break Some(CloseReason { code: CloseCode::Normal, description: Some("idle".into()) });
                }
                if ctx.session.ping(b"").await.is_err() { break None; }
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

/// Handles one text frame: parse, check, apply, and tell the visitor what went wrong if
/// anything did. `Err` only when the socket is gone.
async fn handle(ctx: &mut Ctx<'_>, bound: &mut Option<Bound>, peer: &Peer, text: &str) -> Sent {
    let max_text = ctx.state.settings.max_frame_bytes;
    let command = parse_visitor_frame(text)
        .map_err(|(code, message)| Refusal::new(code, message))
        .and_then(|frame| Command::from_frame(frame, max_text));
    let result = match (command, bound.as_mut()) {
        (Err(refusal), _) => Err(refusal.into()),
        (Ok(Command::Hello(hello)), None) => hello::start(ctx, bound, peer, hello).await,
        (Ok(_), None) => Err(SessionError::refused(
            ErrorCode::HelloFirst,
            "send `hello` first",
        )),
        (Ok(command), Some(b)) => command::apply(ctx, b, command).await,
    };
    report(ctx, bound, result).await
}

/// Tells the visitor how a frame failed: the refusal; that something failed on our side; or
/// nothing yet, when the store has lost the conversation (the socket then says so and closes).
async fn report(
    ctx: &mut Ctx<'_>,
    bound: &mut Option<Bound>,
    result: Result<(), SessionError>,
) -> Sent {
    match result {
        Ok(()) => Ok(()),
        Err(SessionError::Gone) => Err(Gone),
        Err(SessionError::Refused(r)) => ctx.refuse(r.code, &r.message, r.client_id).await,
        Err(SessionError::Store(StoreError::NotFound(_))) if bound.is_some() => {
            if let Some(b) = bound.as_mut() {
                b.lost = true;
            }
            Ok(())
        }
        Err(SessionError::Store(e)) => {
            tracing::error!(error = %e, "store operation failed");
            ctx.error(
                ErrorCode::Internal,
                "something went wrong on our side; please try again",
            )
            .await
        }
    }
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

/// Sends the visitor's place in line and wait estimate, as this node's board has them, if the
/// conversation is queued and they changed since last told. `Err` when the socket is gone.
async fn tell_queue_status(ctx: &mut Ctx<'_>, bound: &mut Option<Bound>) -> Sent {
    let Some(b) = bound.as_mut().filter(|b| b.queued) else {
        return Ok(());
    };
    // A conversation queued since the board was read is told on the board's next change.
    let status = match &**ctx.state.board.borrow() {
        Board::Ready(view) => view.queue_status(&b.id),
        Board::Pending | Board::Unavailable => None,
    };
    match status {
        Some(status) if b.told != Some(status) => {
            b.told = Some(status);
            ctx.send(&ServerFrame::Queue(status)).await
        }
        _ => Ok(()),
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
    ctx: &mut Ctx<'_>,
    bound: &mut Option<Bound>,
    signal: Result<Arc<Signal>, broadcast::error::RecvError>,
) -> Sent {
    let Some(b) = bound.as_mut() else {
        return Ok(());
    };
    match signal.as_deref() {
        Ok(Signal::Event(event)) => {
            if event.seq > b.last_sent {
                // An event we skipped would be a gap: fill it from the log first.
                if event.seq > b.last_sent + 1 {
                    catch_up(ctx, b).await?;
                } else {
                    b.last_sent = event.seq;
                    note_state(b, &event.body);
                    if let Some(visible) = event.for_visitor() {
                        ctx.send(&ServerFrame::Event(visible)).await?;
                    }
                }
                if b.queued {
                    return tell_queue_status(ctx, bound).await;
                }
            }
            Ok(())
        }
        Ok(Signal::Typing { agent: Some(name) }) => {
            ctx.send(&ServerFrame::Typing { from: name.clone() }).await
        }
        Ok(Signal::Typing { agent: None }) => Ok(()),
        Ok(Signal::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => catch_up(ctx, b).await,
        Err(broadcast::error::RecvError::Closed) => {
            // The bus went away (conversation removed): stop listening, keep the socket.
            b.bus = broadcast::channel(1).1;
            Ok(())
        }
    }
}

/// Sends everything after `last_sent` from the log.
async fn catch_up(ctx: &mut Ctx<'_>, b: &mut Bound) -> Sent {
    let events = match ctx.state.store.events_after(&b.id, b.last_sent).await {
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
            ctx.send(&ServerFrame::Event(visible)).await?;
        }
    }
    Ok(())
}

fn is_lost(bound: &Option<Bound>) -> bool {
    bound.as_ref().is_some_and(|b| b.lost)
}

/// Tells the visitor their conversation is gone from the store; the close (1012, "service
/// restart") makes the client reconnect, its `hello` then starts a new conversation and it
/// resends what was not confirmed.
async fn lost(ctx: &mut Ctx<'_>) -> Close {
    tracing::warn!("a visitor's conversation is gone from the store; they start a new one");
    let _ = ctx
        .error(
            ErrorCode::UnknownToken,
            "we lost this conversation on our side; a new one starts and your unsent messages follow",
        )
        .await;
    Some(CloseReason {
        code: CloseCode::Restart,
        description: Some("conversation lost".into()),
    })
}
