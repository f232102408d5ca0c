//! The board: what the sockets of this node show about routing. The queue (each waiting
//! conversation's place and wait estimate), the follow-ups, the team, and whose chats are whose.
//!
//! One task per node reads it from the store once per routing change (a change on any node: the
//! store's bus says so) and publishes it through a watch channel; every console and every waiting
//! visitor takes what concerns them from it and reads nothing more for it. Before the board, each
//! console and each queued visitor re-read the store on every change, so one change cost a node
//! thousands of reads with a few hundred consoles and a long queue (BENCHMARKS.md, "Routing
//! fan-out"). The watch keeps only the newest board: a burst of changes is read once, after it.
//!
//! Between changes it looks at the agents' presence every `PRESENCE_CHECK`: a presence that
//! expired (a console that vanished without closing) changes nothing in the store, yet the
//! waiting visitors must learn that nobody is online. The board also measures how long chats
//! last (an assigned chat that is no longer assigned ended now), for the wait estimate.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use bytestring::ByteString;
use tokio::sync::watch;
use tokio_util::task::TaskTracker;

use super::plan::{self, Seat};
use crate::agents::{Agent, Roster};
use crate::conversation::{
    Conversation, EventBody, QueueReason, QueueStatus, Staffing, wait_estimate,
};
use crate::conversation::{ConversationId, now_ms};
use crate::ports::{AgentState, Presence, Store, StoreError};
use crate::protocol::{AgentServerFrame, ChatItem, Colleague, LeftMessage, QueueItem, Reason};

/// Queue entries a console is sent (the rest are counted by position).
const QUEUE_SHOWN: usize = 100;
/// How soon a failed read is tried again.
const RETRY: Duration = Duration::from_secs(1);
/// How often presence is looked at between changes (an expired presence signals nothing).
const PRESENCE_CHECK: Duration = Duration::from_secs(2);
/// How many recent chat lengths the estimate averages.
const HANDLE_TIMES_KEPT: usize = 50;

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
    /// The team each of the first `QUEUE_SHOWN` waiting conversations waits for (the rest are
    /// taken to wait for anyone).
    teams: HashMap<ConversationId, String>,
    /// The agents as routing sees them (presence, load, capacity, teams).
    seats: Vec<Seat>,
    /// Mean length of recent chats, ms, and how many were measured.
    handle_ms: Option<(u64, usize)>,
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
        let team = self.teams.get(id).map(String::as_str);
        let eligible = self.seats.iter().filter(|s| {
            s.presence == Presence::Online && team.is_none_or(|t| s.teams.iter().any(|x| x == t))
        });
        let (slots, busy) = eligible.fold((0, 0), |(slots, busy), s| {
            (slots + s.capacity, busy + s.load.min(s.capacity))
        });
        let staffing = Staffing {
            slots,
            busy,
            handle_ms: self.handle_ms,
        };
        Some(QueueStatus {
            position,
            eta_seconds: wait_estimate(position, &staffing),
            nobody_online: !plan::someone_online(&self.seats, team),
        })
    }

    /// The conversations assigned to `agent`, oldest first.
    pub fn chats_of(&self, agent: &str) -> &[ConversationId] {
        self.chats.get(agent).map_or(&[], Vec::as_slice)
    }

    /// Who is online, as this view was read.
    fn online(&self) -> Vec<&str> {
        self.seats
            .iter()
            .filter(|s| s.presence == Presence::Online)
            .map(|s| s.id.as_str())
            .collect()
    }
}

/// Starts the board's task on `tasks`; it ends with `shutdown`, or when the store's routing
/// watch closes.
pub fn start(
    store: Arc<dyn Store>,
    roster: Arc<Roster>,
    shutdown: watch::Receiver<bool>,
    tasks: &TaskTracker,
) -> BoardWatch {
    let (board, watch) = watch::channel(Arc::new(Board::Pending));
    actix_web::rt::spawn(tasks.track_future(run(store, roster, board, shutdown)));
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
    let mut presence = tokio::time::interval(PRESENCE_CHECK);
    presence.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
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
        let online: Vec<String> = match &read {
            Board::Ready(view) => view.online().into_iter().map(str::to_owned).collect(),
            _ => Vec::new(),
        };
        board.send_replace(Arc::new(read));
        // Wait for a change: the store's signal, a retry after a failure, or a presence that
        // changed without one.
        loop {
            tokio::select! {
                changed = routing.changed() => {
                    if changed.is_err() { return; }
                    break;
                }
                () = tokio::time::sleep(RETRY), if failed => break,
                _ = presence.tick(), if !failed => {
                    let now_online = match store.agents().await {
                        Ok(states) => online_ids(&states),
                        Err(_) => break,
                    };
                    if now_online != online {
                        break;
                    }
                }
                _ = shutdown.changed() => return,
            }
        }
    }
}

fn online_ids(states: &[AgentState]) -> Vec<String> {
    states
        .iter()
        .filter(|s| s.presence == Presence::Online)
        .map(|s| s.id.clone())
        .collect()
}

/// Reads views, remembering what never changes between them.
#[derive(Default)]
struct Reader {
    /// Each waiting conversation's first visitor message (it never changes once there).
    first_messages: HashMap<ConversationId, Option<String>>,
    /// Each conversation waiting for a follow-up: its last left message, as of its `last_seq`.
    left_messages: HashMap<ConversationId, (u64, Option<LeftMessage>)>,
    /// The chats assigned at the last read, with since when (ms): one gone since has ended.
    assigned: HashMap<ConversationId, u64>,
    /// Lengths of recent chats, ms, newest last.
    handle_times: VecDeque<u64>,
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
        let mut teams = HashMap::new();
        for (i, id) in waiting.iter().enumerate().take(QUEUE_SHOWN) {
            let Some(c) = store.get(id).await? else {
                continue;
            };
            if !self.first_messages.contains_key(id) {
                let first = first_message(store, id).await?;
                self.first_messages.insert(id.clone(), first);
            }
            if let Some(team) = c.reason.as_ref().and_then(QueueReason::team) {
                teams.insert(id.clone(), team.to_owned());
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
        let waiting_follow_up = store.follow_ups().await?;
        self.left_messages
            .retain(|id, _| waiting_follow_up.contains(id));
        for id in waiting_follow_up {
            if let Some(c) = store.get(&id).await? {
                // Read again only when the conversation has moved on (another message left).
                let known = self
                    .left_messages
                    .get(&id)
                    .filter(|(seq, _)| *seq == c.last_seq);
                let left = match known {
                    Some((_, left)) => left.clone(),
                    None => {
                        let left = left_message(store, &id).await?;
                        self.left_messages
                            .insert(id.clone(), (c.last_seq, left.clone()));
                        left
                    }
                };
                follow_ups.push(ChatItem {
                    offline_message: left,
                    ..chat_item(&c)
                });
            }
        }
        let states = store.agents().await?;
        self.measure(&states, now_ms());
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
        let seats = plan::seats(&states, roster);
        let handle_ms = (!self.handle_times.is_empty()).then(|| {
            let n = self.handle_times.len();
            (self.handle_times.iter().sum::<u64>() / n as u64, n)
        });
        let chats = states
            .into_iter()
            .map(|s| (s.id, s.chats.into_iter().map(|c| c.id).collect()))
            .collect();
        Ok(View {
            positions,
            teams,
            seats,
            handle_ms,
            chats,
            queue: frame(AgentServerFrame::Queue { items: queue }),
            follow_ups: frame(AgentServerFrame::FollowUps { items: follow_ups }),
            agents: frame(AgentServerFrame::Agents { items: team }),
        })
    }

    /// Notes the length of every chat assigned at the last read and not now (closed, handed
    /// back, returned or transferred: an agent's work on it ended).
    fn measure(&mut self, states: &[AgentState], now: u64) {
        let now_assigned: HashMap<ConversationId, u64> = states
            .iter()
            .flat_map(|s| s.chats.iter().map(|c| (c.id.clone(), c.since)))
            .collect();
        for (id, since) in &self.assigned {
            if now_assigned.get(id) != Some(since) {
                self.handle_times.push_back(now.saturating_sub(*since));
                if self.handle_times.len() > HANDLE_TIMES_KEPT {
                    self.handle_times.pop_front();
                }
            }
        }
        self.assigned = now_assigned;
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
        assigned_at: c.assigned_at,
        agent_answered: c.agent_answered,
        offline_message: None,
    }
}

/// The last message a visitor left with the offline form in conversation `id`.
async fn left_message(
    store: &dyn Store,
    id: &ConversationId,
) -> Result<Option<LeftMessage>, StoreError> {
    Ok(store
        .events_after(id, 0)
        .await?
        .into_iter()
        .rev()
        .find_map(|e| match e.body {
            EventBody::OfflineMessage { email, text } => Some(LeftMessage {
                email,
                text,
                at: e.at,
            }),
            _ => None,
        }))
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
