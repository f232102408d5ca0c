//! The router: one task per process that keeps the queue moving. On every routing change (any
//! node) and once a second it
//! 1. returns the chats of agents whose presence expired (disconnected, signed out) to the queue
//!    at their original place (`agent_left`); for the first `presence_ttl` after the router
//!    starts, an agent with chats and no presence yet is given the same grace as a console
//!    reload (after a restart, presence, which is not durable, is empty until consoles
//!    reconnect),
//! 2. returns chats an agent did not answer within `assign_timeout` (`not_answered`), and
//!    remembers who let them go, with when,
//! 3. with auto-assign on, offers each waiting conversation, in order, to an eligible agent
//!    (`plan.rs`: least loaded first, someone other than who let it go, back to them after
//!    `crate::config::REOFFER_AFTER` when nobody else has room).
//!
//! The decisions are the pure functions of `plan.rs` over what a round read and the time it
//! was given; `Router::round` only reads and applies them, so the simulation
//! (`simulation.rs`, test-only) drives the same code over a clock it controls.
//!
//! Several nodes run a router against one Redis: every step is an atomic store operation that
//! checks the state it expects, so two routers never both move one conversation. Who let which
//! chat go is each node's memory: a chat may be re-offered sooner by another node's router.

pub mod board;
pub(crate) mod plan;
#[cfg(test)]
mod simulation;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use self::plan::{Declines, Seat, Waiting};
use crate::agents::Roster;
use crate::conversation::{ConversationId, now_ms};
use crate::conversation::{Conversations, Outcome, QueueReason};
use crate::ports::{AgentState, Presence, Store, StoreResult};

/// How often the router looks even when nothing signalled a change (expired presence and
/// unanswered assignments change nothing in the store by themselves).
const SWEEP_EVERY: Duration = Duration::from_secs(1);

pub struct Router {
    pub conversations: Conversations,
    /// The queue, loads, presence and the routing watch it reads each round.
    pub store: Arc<dyn Store>,
    pub roster: Arc<Roster>,
    pub auto_assign: bool,
    pub assign_timeout: Duration,
    /// How long an agent may be gone before their chats go back to the queue.
    pub presence_ttl: Duration,
    /// How long a chat an agent let go waits for someone else (`crate::config::REOFFER_AFTER`).
    pub reoffer_after: Duration,
}

impl Router {
    /// Runs until `shutdown` flips.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut changes = self.store.bus().watch_routing();
        let mut sweep = tokio::time::interval(SWEEP_EVERY);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut declines = Declines::default();
        let grace_until = Instant::now() + self.presence_ttl;
        loop {
            tokio::select! {
                changed = changes.changed() => {
                    if changed.is_err() { break; }
                }
                _ = sweep.tick() => {}
                _ = shutdown.changed() => break,
            }
            let in_grace = Instant::now() < grace_until;
            if let Err(e) = self.round(&mut declines, now_ms(), in_grace).await {
                tracing::warn!(error = %e, "routing round failed; retrying on the next change");
            }
        }
    }

    /// One round at `now` (ms): take back what expired, then offer the queue.
    pub(crate) async fn round(
        &self,
        declines: &mut Declines,
        now: u64,
        in_grace: bool,
    ) -> StoreResult<()> {
        let store = &self.store;
        let mut agents = store.agents().await?;
        let mut requeued = false;
        for agent in &agents {
            for chat in &agent.chats {
                let id = &chat.id;
                let old = now.saturating_sub(chat.since) >= self.assign_timeout.as_millis() as u64;
                // Only chats old enough to time out are read: the sweep stays cheap however
                // many chats are open.
                let answered = if old && agent.presence != Presence::Offline {
                    match store.get(id).await? {
                        Some(c) => c.agent_answered,
                        None => continue,
                    }
                } else {
                    true
                };
                let Some(reason) = plan::expired(
                    agent.presence,
                    chat.since,
                    answered,
                    now,
                    self.assign_timeout,
                    in_grace,
                ) else {
                    continue;
                };
                let not_answered = reason == QueueReason::NotAnswered;
                let outcome = self
                    .conversations
                    .requeue(id, Some(&agent.id), reason)
                    .await?;
                if outcome == Outcome::Done {
                    requeued = true;
                    if not_answered {
                        tracing::info!(conv = %id, agent = %agent.id, "assignment not answered; offered to the next agent");
                        declines.note(id, &agent.id, now);
                    }
                }
            }
        }
        if !self.auto_assign {
            return Ok(());
        }
        let queue = store.queue().await?;
        if requeued {
            agents = store.agents().await?;
        }
        // Who let what go matters only while the chat is still waiting or with an agent.
        if declines.len() > 0 {
            let open: HashSet<&ConversationId> = queue
                .iter()
                .chain(agents.iter().flat_map(|a| a.chats.iter().map(|c| &c.id)))
                .collect();
            declines.keep_only(|id| open.contains(id));
        }
        if queue.is_empty() {
            return Ok(());
        }
        let mut seats = self.seats(&agents);
        for id in queue {
            // Nobody has room: the rest of the queue waits (no store reads per waiting chat).
            if !seats.iter().any(|s| s.can_take(None)) {
                break;
            }
            let Some(c) = store.get(&id).await? else {
                continue;
            };
            let chat = Waiting {
                team: c
                    .reason
                    .as_ref()
                    .and_then(QueueReason::team)
                    .map(str::to_owned),
                id,
            };
            let Some(i) = plan::choose(&seats, &chat, declines, now, self.reoffer_after) else {
                continue;
            };
            let Some(agent) = self.roster.get(&seats[i].id) else {
                continue;
            };
            if self.conversations.claim(&chat.id, agent).await? == Outcome::Done {
                tracing::info!(conv = %chat.id, agent = %agent.id, "auto-assigned");
                seats[i].load += 1;
                seats[i].last_assigned = now;
            }
        }
        Ok(())
    }

    /// The agents of the roster as the router sees them now.
    fn seats(&self, agents: &[AgentState]) -> Vec<Seat> {
        plan::seats(agents, &self.roster)
    }
}
