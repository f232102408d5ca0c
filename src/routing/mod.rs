//! The router: one task per process that keeps the queue moving. On every routing change (any
//! node) and once a second it
//! 1. returns the chats of agents whose presence expired (disconnected, closed the console) to
//!    the queue at their original place (`agent_left`); for the first `presence_ttl` after the
//!    router starts, an agent with chats and no presence yet is given the same grace as a
//!    console reload (after a restart, presence, which is not durable, is empty until consoles
//!    reconnect),
//! 2. returns chats an agent did not answer within `assign_timeout` (`not_answered`), and
//!    remembers not to offer that chat to that agent again,
//! 3. with auto-assign on, offers each waiting conversation, in order, to the least-loaded online
//!    agent with free capacity (of the team it asks for, if any), round-robin among equals.
//!
//! Several nodes run a router against one Redis: every step is an atomic store operation that
//! checks the state it expects, so two routers never both move one conversation.

pub mod board;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::agents::{Agent, Roster};
use crate::conversation::{Conversations, Outcome, QueueReason};
use crate::store::{AgentState, AssignedChat, ConversationId, Presence, StoreResult, now_ms};

/// How often the router looks even when nothing signalled a change (expired presence and
/// unanswered assignments change nothing in the store by themselves).
const SWEEP_EVERY: Duration = Duration::from_secs(1);
/// Conversations whose declines are remembered, at most (oldest forgotten first).
const DECLINES_KEPT: usize = 10_000;

pub struct Router {
    pub conversations: Conversations,
    pub roster: Arc<Roster>,
    pub auto_assign: bool,
    pub assign_timeout: Duration,
    /// How long an agent may be gone before their chats go back to the queue.
    pub presence_ttl: Duration,
}

impl Router {
    /// Runs until `shutdown` flips.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut changes = self.conversations.store.bus().watch_routing();
        let mut sweep = tokio::time::interval(SWEEP_EVERY);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Which agents let which conversation go unanswered (not offered to them again).
        let mut declined: HashMap<ConversationId, HashSet<String>> = HashMap::new();
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
            if let Err(e) = self.round(&mut declined, in_grace).await {
                tracing::warn!(error = %e, "routing round failed; retrying on the next change");
            }
            if declined.len() > DECLINES_KEPT {
                declined.clear();
            }
        }
    }

    async fn round(
        &self,
        declined: &mut HashMap<ConversationId, HashSet<String>>,
        in_grace: bool,
    ) -> StoreResult<()> {
        let store = &self.conversations.store;
        let mut agents = store.agents().await?;
        let now = now_ms();
        let timeout = self.assign_timeout.as_millis() as u64;
        let mut requeued = false;
        for agent in &agents {
            for chat in &agent.chats {
                let id = &chat.id;
                if agent.presence == Presence::Offline && !in_grace {
                    self.conversations
                        .requeue(id, Some(&agent.id), QueueReason::AgentLeft)
                        .await?;
                    requeued = true;
                    continue;
                }
                if now.saturating_sub(chat.since) < timeout {
                    continue;
                }
                // Only chats old enough to time out are read: the sweep stays cheap however
                // many chats are open.
                let Some(c) = store.get(id).await? else {
                    continue;
                };
                if !c.agent_answered {
                    let outcome = self
                        .conversations
                        .requeue(id, Some(&agent.id), QueueReason::NotAnswered)
                        .await?;
                    if outcome == Outcome::Done {
                        requeued = true;
                        tracing::info!(conv = %id, agent = %agent.id, "assignment not answered; offered to the next agent");
                        declined
                            .entry(id.clone())
                            .or_default()
                            .insert(agent.id.clone());
                    }
                }
            }
        }
        if !self.auto_assign {
            return Ok(());
        }
        let queue = store.queue().await?;
        if queue.is_empty() {
            return Ok(());
        }
        if requeued {
            agents = store.agents().await?;
        }
        for id in queue {
            // Nobody has room: the rest of the queue waits (no store reads per waiting chat).
            if self.pick(&agents, None, None).is_none() {
                break;
            }
            let Some(c) = store.get(&id).await? else {
                continue;
            };
            let skip = declined.get(&id);
            let Some(agent) =
                self.pick(&agents, c.reason.as_ref().and_then(QueueReason::team), skip)
            else {
                continue;
            };
            if self.conversations.claim(&id, agent).await? == Outcome::Done {
                tracing::info!(conv = %id, agent = %agent.id, "auto-assigned");
                if let Some(a) = agents.iter_mut().find(|a| a.id == agent.id) {
                    a.chats.push(AssignedChat {
                        id: id.clone(),
                        since: now_ms(),
                    });
                    a.last_assigned = now_ms();
                }
            }
        }
        Ok(())
    }

    /// The least-loaded online agent with room (of `team`, if given), the one who waited longest
    /// since their last chat among equals.
    fn pick(
        &self,
        agents: &[AgentState],
        team: Option<&str>,
        skip: Option<&HashSet<String>>,
    ) -> Option<&Agent> {
        agents
            .iter()
            .filter(|a| a.presence == Presence::Online)
            .filter(|a| skip.is_none_or(|s| !s.contains(&a.id)))
            .filter_map(|a| self.roster.get(&a.id).map(|r| (a, r)))
            .filter(|(a, r)| a.chats.len() < r.capacity)
            .filter(|(_, r)| team.is_none_or(|t| r.teams.iter().any(|x| x == t)))
            .min_by_key(|(a, _)| (a.chats.len(), a.last_assigned, a.id.clone()))
            .map(|(_, r)| r)
    }
}
