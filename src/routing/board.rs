//! The board: what the sockets of this node show about routing. The queue (each waiting
//! conversation's place and wait estimate), the follow-ups, the team, and whose chats are whose.
//!
//! One task per node reads it from the store once per routing change (a change on any node: the
//! store's bus says so) and publishes it through a watch channel; every console and every waiting
//! visitor takes what concerns them from it and reads nothing more for it. Before the board, each
//! console and each queued visitor re-read the store on every change, so one change cost a node
//! thousands of reads with a few hundred consoles and a long queue (BENCHMARKS.md, "Routing
//! fan-out"). The watch keeps only the newest board: a burst of changes is read once, after it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytestring::ByteString;
use tokio::sync::watch;

use crate::agents::{Agent, Roster};
use crate::conversation::{Conversation, EventBody, QueueStatus, wait_estimate};
use crate::protocol::{AgentServerFrame, ChatItem, Colleague, QueueItem, Reason};
use crate::store::{ConversationId, Presence, Store, StoreError};

/// Queue entries a console is sent (the rest are counted by position).
const QUEUE_SHOWN: usize = 100;
/// How soon a failed read is tried again.
const RETRY: Duration = Duration::from_secs(1);

/// The newest board, for every socket of this node.
pub type BoardWatch = watch::Receiver<Arc<Board>>;

pub enum Board {
    /// Not read yet (the node is starting).
    Pending,
    Ready(Box<View>),
    /// The last read failed (store outage); retried every second.
    Unavailable,
}

/// The routing state as read after one change.
pub struct View {
    /// Every waiting conversation's place in line, 1-based.
    positions: HashMap<ConversationId, usize>,
    /// Agents online now.
    online: u64,
    /// Recent average wait for a person, ms.
    average_wait: Option<u64>,
    /// Each agent's conversations, oldest first, by agent id.
    chats: HashMap<String, Vec<ConversationId>>,
    /// The frames every console is sent alike, serialised once for all of them.
    pub queue: ByteString,
    pub follow_ups: ByteString,
    pub agents: ByteString,
}

impl View {
    /// Where a waiting conversation stands; `None` when it is not waiting.
    pub fn queue_status(&self, id: &ConversationId) -> Option<QueueStatus> {
        let position = *self.positions.get(id)?;
        Some(QueueStatus {
            position,
            eta_seconds: wait_estimate(self.average_wait, position, self.online),
        })
    }

    /// The conversations assigned to `agent`, oldest first.
    pub fn chats_of(&self, agent: &str) -> &[ConversationId] {
        self.chats.get(agent).map_or(&[], Vec::as_slice)
    }
}

/// Starts the board's task; it ends with `shutdown`, or when the store's routing watch closes.
pub fn start(
    store: Arc<dyn Store>,
    roster: Arc<Roster>,
    shutdown: watch::Receiver<bool>,
) -> BoardWatch {
    let (board, watch) = watch::channel(Arc::new(Board::Pending));
    actix_web::rt::spawn(run(store, roster, board, shutdown));
    watch
}

async fn run(
    store: Arc<dyn Store>,
    roster: Arc<Roster>,
    board: watch::Sender<Arc<Board>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut routing = store.bus().watch_routing();
    let mut reader = Reader::default();
    loop {
        // Marked seen before reading: a change during the read is read again after it.
        routing.borrow_and_update();
        let read = match reader.read(store.as_ref(), &roster).await {
            Ok(view) => Board::Ready(Box::new(view)),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the queue for the board; retrying");
                Board::Unavailable
            }
        };
        let failed = matches!(read, Board::Unavailable);
        board.send_replace(Arc::new(read));
        tokio::select! {
            changed = routing.changed() => {
                if changed.is_err() { return; }
            }
            () = tokio::time::sleep(RETRY), if failed => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Reads views, remembering what never changes between them.
#[derive(Default)]
struct Reader {
    /// Each waiting conversation's first visitor message (it never changes once there).
    first_messages: HashMap<ConversationId, Option<String>>,
}

impl Reader {
    async fn read(&mut self, store: &dyn Store, roster: &Roster) -> Result<View, StoreError> {
        let waiting = store.queue().await?;
        let positions: HashMap<ConversationId, usize> = waiting
            .iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), i + 1))
            .collect();
        self.first_messages
            .retain(|id, _| positions.contains_key(id));
        let mut queue = Vec::new();
        for (i, id) in waiting.iter().enumerate().take(QUEUE_SHOWN) {
            let Some(c) = store.get(id).await? else {
                continue;
            };
            if !self.first_messages.contains_key(id) {
                let first = first_message(store, id).await?;
                self.first_messages.insert(id.clone(), first);
            }
            queue.push(QueueItem {
                conversation: id.to_string(),
                position: i + 1,
                reason: c.reason.as_ref().map(Reason::from),
                waiting_since: c.enqueued_at,
                first_message: self.first_messages.get(id).cloned().flatten(),
                language: c.memory.language,
                visitor: c.visitor,
            });
        }
        let mut follow_ups = Vec::new();
        for id in store.follow_ups().await? {
            if let Some(c) = store.get(&id).await? {
                follow_ups.push(chat_item(&c));
            }
        }
        let states = store.agents().await?;
        let team = roster
            .agents
            .iter()
            .map(|agent| {
                let state = states.iter().find(|s| s.id == agent.id);
                colleague(
                    agent,
                    state.map_or(Presence::Offline, |s| s.presence),
                    state.map_or(0, |s| s.chats.len()),
                )
            })
            .collect();
        let online = states
            .iter()
            .filter(|s| s.presence == Presence::Online)
            .count() as u64;
        let chats = states
            .into_iter()
            .map(|s| (s.id, s.chats.into_iter().map(|c| c.id).collect()))
            .collect();
        Ok(View {
            positions,
            online,
            average_wait: store.average_wait().await?,
            chats,
            queue: frame(AgentServerFrame::Queue { items: queue }),
            follow_ups: frame(AgentServerFrame::FollowUps { items: follow_ups }),
            agents: frame(AgentServerFrame::Agents { items: team }),
        })
    }
}

fn frame(frame: AgentServerFrame) -> ByteString {
    // Serialising our own frame types cannot fail.
    serde_json::to_string(&frame).unwrap_or_default().into()
}

/// A conversation's first visitor message, if it has one.
pub(crate) async fn first_message(
    store: &dyn Store,
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

/// A conversation as an agent's list shows it.
pub(crate) fn chat_item(c: &Conversation) -> ChatItem {
    ChatItem {
        conversation: c.id.to_string(),
        state: c.state,
        reason: c.reason.as_ref().map(Reason::from),
        agent: c.agent.clone(),
        visitor: c.visitor.clone(),
        frustration: c.memory.frustration_at_handoff,
        needs_follow_up: c.needs_follow_up,
        language: c.memory.language.clone(),
    }
}

/// An agent as colleagues see them.
pub(crate) fn colleague(agent: &Agent, presence: Presence, chats: usize) -> Colleague {
    Colleague {
        id: agent.id.clone(),
        name: agent.name.clone(),
        teams: agent.teams.clone(),
        presence,
        chats,
        capacity: agent.capacity,
    }
}
