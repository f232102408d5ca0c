//! The router's decisions as pure functions of what it read and the time: which assigned chats
//! go back to the queue, and which waiting chat goes to which agent. No I/O and no clock of its
//! own, so the routing simulation (`routing/simulation.rs`) drives exactly the decisions the
//! running router makes, over a clock the test controls.
//!
//! The rules, each an invariant the simulation checks:
//! - **Work-conserving**: every round offers every waiting chat an agent if one is eligible
//!   (online, room left, of the chat's team if it names one). A chat never waits a round while
//!   such an agent has room.
//! - **First come, first served**: chats are offered in queue order (oldest place first; a chat
//!   that comes back keeps its place), so no agent takes a newer chat while an older one they
//!   could take waits.
//! - **Never stranded**: a chat an agent let go (not answered in time) prefers any other
//!   eligible agent. Nobody else with room: it goes back to the same agent once `REOFFER_AFTER`
//!   has passed since they let it go; their console shows it again with its history.

use std::collections::HashMap;
use std::time::Duration;

use crate::agents::Roster;
use crate::conversation::ConversationId;
use crate::conversation::QueueReason;
use crate::ports::{AgentState, Presence};

/// An agent as the router sees them in one round.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Seat {
    pub id: String,
    pub presence: Presence,
    /// Chats they have now.
    pub load: usize,
    pub capacity: usize,
    pub teams: Vec<String>,
    /// When they were last given a chat, ms (0: never).
    pub last_assigned: u64,
}

impl Seat {
    /// Whether this agent could take a chat for `team` now.
    pub fn can_take(&self, team: Option<&str>) -> bool {
        self.presence == Presence::Online
            && self.load < self.capacity
            && team.is_none_or(|t| self.teams.iter().any(|x| x == t))
    }
}

/// The roster's agents as a round sees them: presence and load from the store, capacity and
/// teams from the roster (an agent the roster no longer has is left out).
pub(crate) fn seats(agents: &[AgentState], roster: &Roster) -> Vec<Seat> {
    agents
        .iter()
        .filter_map(|a| {
            let r = roster.get(&a.id)?;
            Some(Seat {
                id: a.id.clone(),
                presence: a.presence,
                load: a.chats.len(),
                capacity: r.capacity,
                teams: r.teams.clone(),
                last_assigned: a.last_assigned,
            })
        })
        .collect()
}

/// A waiting chat, in queue order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Waiting {
    pub id: ConversationId,
    /// The team it asks for, if any.
    pub team: Option<String>,
}

/// Which agents let which chat go, and when (ms). Kept by each node's router; a chat that
/// leaves the queue for good is forgotten (`keep_only`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Declines {
    by_chat: HashMap<ConversationId, HashMap<String, u64>>,
}

impl Declines {
    pub fn note(&mut self, id: &ConversationId, agent: &str, now: u64) {
        self.by_chat
            .entry(id.clone())
            .or_default()
            .insert(agent.to_owned(), now);
    }

    /// When `agent` last let `id` go.
    pub fn when(&self, id: &ConversationId, agent: &str) -> Option<u64> {
        self.by_chat.get(id)?.get(agent).copied()
    }

    /// Forgets every chat `keep` says no to (no longer queued or assigned).
    pub fn keep_only(&mut self, keep: impl Fn(&ConversationId) -> bool) {
        self.by_chat.retain(|id, _| keep(id));
    }

    pub fn len(&self) -> usize {
        self.by_chat.len()
    }
}

/// Why an assigned chat goes back to the queue now, if it does: its agent is gone (presence
/// expired; not while `in_grace` after a restart), or they have not written within `timeout`.
pub(crate) fn expired(
    presence: Presence,
    since: u64,
    answered: bool,
    now: u64,
    timeout: Duration,
    in_grace: bool,
) -> Option<QueueReason> {
    if presence == Presence::Offline && !in_grace {
        return Some(QueueReason::AgentLeft);
    }
    let timed_out = now.saturating_sub(since) >= timeout.as_millis() as u64;
    (timed_out && !answered).then_some(QueueReason::NotAnswered)
}

/// The agent (an index into `seats`) to offer `chat` to now, if any: the least-loaded eligible
/// agent who has not let it go, the one who waited longest since their last chat among equals;
/// failing them, an agent who let it go at least `reoffer_after` ago (`REOFFER_AFTER`).
pub(crate) fn choose(
    seats: &[Seat],
    chat: &Waiting,
    declines: &Declines,
    now: u64,
    reoffer_after: Duration,
) -> Option<usize> {
    let reoffer = reoffer_after.as_millis() as u64;
    seats
        .iter()
        .enumerate()
        .filter(|(_, s)| s.can_take(chat.team.as_deref()))
        .filter_map(|(i, s)| {
            let declined = declines.when(&chat.id, &s.id);
            match declined {
                Some(at) if now.saturating_sub(at) < reoffer => None,
                _ => Some((i, declined.is_some())),
            }
        })
        .min_by_key(|&(i, declined)| {
            let s = &seats[i];
            (declined, s.load, s.last_assigned, s.id.clone())
        })
        .map(|(i, _)| i)
}

/// Whether anyone who could answer a chat for `team` is online (room or not): when nobody is,
/// the visitors waiting for that team are told and offered the message form.
pub(crate) fn someone_online(seats: &[Seat], team: Option<&str>) -> bool {
    seats.iter().any(|s| {
        s.presence == Presence::Online && team.is_none_or(|t| s.teams.iter().any(|x| x == t))
    })
}

/// One round's offers, in queue order: each chat to `choose`'s agent, whose load then counts it.
/// The router makes the same choices one claim at a time (a claim can fail when another node
/// took the chat first); the model of the simulation makes them all at once.
#[cfg(test)]
pub(crate) fn offers(
    seats: &mut [Seat],
    waiting: &[Waiting],
    declines: &Declines,
    now: u64,
    reoffer_after: Duration,
) -> Vec<(ConversationId, String)> {
    let mut made = Vec::new();
    for chat in waiting {
        // Nobody has room at all: the rest of the queue waits.
        if !seats.iter().any(|s| s.can_take(None)) {
            break;
        }
        if let Some(i) = choose(seats, chat, declines, now, reoffer_after) {
            seats[i].load += 1;
            seats[i].last_assigned = now;
            made.push((chat.id.clone(), seats[i].id.clone()));
        }
    }
    made
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::REOFFER_AFTER;

    fn seat(id: &str, load: usize, capacity: usize) -> Seat {
        Seat {
            id: id.into(),
            presence: Presence::Online,
            load,
            capacity,
            teams: vec!["billing".into()],
            last_assigned: 0,
        }
    }

    fn waiting(id: &ConversationId) -> Waiting {
        Waiting {
            id: id.clone(),
            team: None,
        }
    }

    #[test]
    fn a_chat_the_only_agent_let_go_comes_back_to_them_after_the_delay() {
        let id = ConversationId::random();
        let mut declines = Declines::default();
        declines.note(&id, "ann", 1_000);
        let seats = [seat("ann", 1, 3)];
        let soon = 1_000 + REOFFER_AFTER.as_millis() as u64 - 1;
        assert_eq!(
            choose(&seats, &waiting(&id), &declines, soon, REOFFER_AFTER),
            None
        );
        assert_eq!(
            choose(&seats, &waiting(&id), &declines, soon + 1, REOFFER_AFTER),
            Some(0),
            "never stranded: back to the only agent with room"
        );
    }

    #[test]
    fn a_chat_one_agent_let_go_prefers_another_even_a_busier_one() {
        let id = ConversationId::random();
        let mut declines = Declines::default();
        declines.note(&id, "ann", 0);
        let seats = [seat("ann", 0, 3), seat("bob", 2, 3)];
        assert_eq!(
            choose(&seats, &waiting(&id), &declines, 10_000_000, REOFFER_AFTER),
            Some(1)
        );
    }

    #[test]
    fn offers_go_in_queue_order_and_count_the_load_they_add() {
        let (a, b, c) = (
            ConversationId::random(),
            ConversationId::random(),
            ConversationId::random(),
        );
        let mut seats = [seat("ann", 0, 1), seat("bob", 0, 1)];
        let made = offers(
            &mut seats,
            &[waiting(&a), waiting(&b), waiting(&c)],
            &Declines::default(),
            5,
            REOFFER_AFTER,
        );
        assert_eq!(made, vec![(a, "ann".into()), (b, "bob".into())]);
    }

    #[test]
    fn an_unanswered_chat_expires_at_its_timeout_and_an_absent_agent_loses_it_at_once() {
        let t = Duration::from_secs(90);
        assert_eq!(expired(Presence::Online, 0, false, 89_999, t, false), None);
        assert_eq!(
            expired(Presence::Online, 0, false, 90_000, t, false),
            Some(QueueReason::NotAnswered)
        );
        assert_eq!(expired(Presence::Online, 0, true, 900_000, t, false), None);
        assert_eq!(
            expired(Presence::Offline, 0, true, 1, t, false),
            Some(QueueReason::AgentLeft)
        );
        assert_eq!(expired(Presence::Offline, 0, true, 1, t, true), None);
        assert_eq!(expired(Presence::Away, 0, true, 1, t, false), None);
    }
}
