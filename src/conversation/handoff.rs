//! Handing conversations to people and back: the visitor's side of the queue (position and wait
//! estimate, or the offline form when nobody can answer) and every agent action (claim, reply,
//! note, transfer, hand back, close, follow up). Each action is one atomic store step, then the
//! log items that tell everyone what happened. Only the owning agent can write as agent.

use crate::conversation::Attachment;
use jiff::Timestamp;
use serde::Serialize;

use super::service::{Conversations, Decided, bot_text, in_language};
use super::texts::BotTexts;
use super::turn::{Side, client_key};
use super::{AnswerKind, Conversation, ConversationState, EventBody, Notice, QueueReason};
use crate::agents::Agent;
use crate::conversation::{Claim, ConversationId};
use crate::ports::{Appended, Presence, StoreError, StoreResult};
use crate::webhooks::HookEvent;

/// Where a waiting visitor stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct QueueStatus {
    /// 1-based place in line.
    pub position: usize,
    /// Estimated seconds until an agent picks up, an upper estimate that most waits stay
    /// within (`None` while nobody who can answer is online).
    pub eta_seconds: Option<u64>,
    /// Nobody who can answer this conversation (of its team, if it waits for one) is online:
    /// the widget says so and offers the message form; the visitor keeps their place.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub nobody_online: bool,
}

/// What the wait estimate is made from: the agents online for the conversation and how long
/// chats have lasted lately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Staffing {
    /// Chats the online agents can hold at once (the sum of their capacities).
    pub slots: usize,
    /// Chats they hold now.
    pub busy: usize,
    /// Mean length of recent chats (assigned to closed, handed back or returned), ms, and how
    /// many were measured.
    pub handle_ms: Option<(u64, usize)>,
}

/// A chat's length assumed before any was measured (a common figure for live chat), weighed as
/// `PRIOR_WEIGHT` measured chats, so the first few measurements do not swing the estimate.
pub const PRIOR_HANDLE_MS: u64 = 8 * 60_000;
const PRIOR_WEIGHT: u64 = 5;
/// How long a pickup takes when an agent has room (the next routing round and the console's
/// alert), seconds.
const PICKUP_SECONDS: u64 = 30;
/// The estimate is the 75th percentile of the wait: most visitors are served before it runs
/// out (with the widget's rounding up to whole minutes, over 90 % in the simulated days of
/// `benches/estimate.rs`), while staying close to the real wait. The standard normal quantile
/// of 0.75.
const Z_75: f64 = 0.674;

/// Estimated seconds until the `position`-th in line is picked up (`None`: nobody online).
///
/// The queueing model behind Erlang C: `slots` chats in parallel, each ending after an
/// exponentially distributed time of mean `handle`, so with every slot busy chats end at rate
/// `slots / handle`. The `position`-th in line, with `free` slots open, waits for
/// `k = position - free` chats to end: an Erlang(k, slots / handle) time. The estimate is its
/// 75th percentile (Wilson-Hilferty's approximation of the gamma quantile), not its mean, so the
/// time told is one most waits stay within; the widget counts it down and says "taking longer"
/// only once it has passed.
pub fn wait_estimate(position: usize, staffing: &Staffing) -> Option<u64> {
    if staffing.slots == 0 {
        return None;
    }
    let free = staffing.slots.saturating_sub(staffing.busy);
    if position <= free {
        return Some(PICKUP_SECONDS);
    }
    let (measured, n) = staffing.handle_ms.unwrap_or((0, 0));
    let n = n as u64;
    let handle = (PRIOR_HANDLE_MS * PRIOR_WEIGHT + measured * n) as f64 / (PRIOR_WEIGHT + n) as f64;
    let k = (position - free) as f64;
    let theta = handle / staffing.slots as f64;
    let spread = 1.0 - 1.0 / (9.0 * k) + Z_75 / (3.0 * k.sqrt());
    let quantile_ms = k * theta * spread.powi(3);
    Some((quantile_ms / 1000.0).ceil() as u64 + PICKUP_SECONDS)
}

/// What an agent action came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// The conversation is not in a state (or not the agent's) for this action.
    NotYours,
    /// The receiving agent has no free capacity.
    AtCapacity,
    /// The author already used this `client_id` for a message with other text: nothing stored.
    Reused,
}

/// The key an agent's `client_id` is stored once under: each author (a console agent, an
/// integration's token) numbers their own messages.
fn author_key(agent: &Agent, client_id: &str) -> String {
    client_key(Side::Agent, &format!("{}:{client_id}", agent.id))
}

impl From<bool> for Outcome {
    fn from(done: bool) -> Outcome {
        if done {
            Outcome::Done
        } else {
            Outcome::NotYours
        }
    }
}

impl Conversations {
    /// How many agents are online if a person can pick up now; if not, when people are back
    /// (for the visitor).
    async fn availability(
        &self,
        visitor_tz: Option<&str>,
        texts: &BotTexts,
    ) -> StoreResult<Result<u64, String>> {
        let matcher = self.matcher.load_full();
        if let Some(hours) = &matcher.knowledge_base().hours {
            let now = Timestamp::now();
            if !hours.is_open(now) {
                // When they are back is told in English words only.
                let back = hours
                    .next_open(now)
                    .map(|w| format!(" We're back {}.", hours.describe(&w, visitor_tz)))
                    .unwrap_or_default();
                return Ok(Err(texts.away(&back)));
            }
        }
        let online = self.online_agents().await?;
        if online == 0 {
            return Ok(Err(texts.nobody_online.to_owned()));
        }
        Ok(Ok(online))
    }

    async fn online_agents(&self) -> StoreResult<u64> {
        let agents = self.store.agents().await?;
        Ok(agents
            .iter()
            .filter(|a| a.presence == Presence::Online)
            .count() as u64)
    }

    /// Bot -> Queued with `reason`, and tell the visitor honestly where they stand; or, when
    /// nobody can answer, offer the offline form and stay with the bot. One turn: the bot's
    /// words, the move and the `queued` notice are stored in one step, so nothing (an answer to
    /// another tab, a claim) comes between them.
    pub(crate) async fn hand_off(
        &self,
        id: &ConversationId,
        reason: QueueReason,
    ) -> StoreResult<()> {
        self.take_turn(id, async |conversation| {
            let mut decided = Decided::default();
            if conversation.state == ConversationState::Bot {
                self.handoff_part(&mut decided, conversation, reason.clone())
                    .await?;
            }
            Ok(decided)
        })
        .await
        .map(drop)
    }

    /// Adds a handoff for `reason` to the turn: "connecting you, number N in line" and the move
    /// to the queue, or the offline form when nobody can answer now.
    pub(super) async fn handoff_part(
        &self,
        decided: &mut Decided,
        conversation: &Conversation,
        reason: QueueReason,
    ) -> StoreResult<()> {
        // In the language of this turn's message, else the conversation's so far.
        let memory = decided.turn.memory.as_ref().unwrap_or(&conversation.memory);
        let lang = self.language_of(memory.language.as_deref());
        let texts = super::texts::for_language(&lang);
        if let Err(offline) = self
            .availability(conversation.visitor.tz.as_deref(), texts)
            .await?
        {
            decided.offline = true;
            decided.turn.bot.push(in_language(
                bot_text(AnswerKind::Offline, &offline, Vec::new(), false, None),
                &lang,
            ));
            return Ok(());
        }
        let position = self.store.queue().await?.len() + 1;
        // The estimate follows in the status line, counting down (one estimate, one place).
        let text = texts.connecting(position);
        decided.turn.bot.push(in_language(
            bot_text(AnswerKind::Handoff, &text, Vec::new(), false, None),
            &lang,
        ));
        decided.turn.handoff = Some(reason);
        Ok(())
    }

    /// An agent takes a waiting conversation (by hand or by the router).
    pub async fn claim(&self, id: &ConversationId, agent: &Agent) -> StoreResult<Outcome> {
        let claim = self
            .store
            .claim(id, &agent.id, agent.capacity, Some(joined(agent)))
            .await?;
        if claim == Claim::Claimed {
            self.metrics.assignments.inc();
        }
        Ok(self.assigned(claim, id, agent))
    }

    /// What a claim or a transfer came to; the visitor was told who joined in the same step.
    fn assigned(&self, claim: Claim, id: &ConversationId, agent: &Agent) -> Outcome {
        match claim {
            Claim::Claimed => {}
            Claim::Gone => return Outcome::NotYours,
            Claim::AtCapacity => return Outcome::AtCapacity,
        }
        self.webhooks.emit(
            HookEvent::Assigned,
            id,
            serde_json::json!({"agent": agent.id, "agent_name": agent.name}),
        );
        Outcome::Done
    }

    /// The owning agent writes to the visitor. A resend with the same `client_id` stores
    /// nothing (the console resends what it could not confirm after a reconnect); the same
    /// `client_id` with other text is `Reused`. Each author's ids are their own.
    pub async fn agent_reply(
        &self,
        id: &ConversationId,
        agent: &Agent,
        text: String,
        client_id: Option<String>,
    ) -> StoreResult<Outcome> {
        let key = client_id.as_deref().map(|c| author_key(agent, c));
        let body = EventBody::AgentMessage {
            agent: agent.name.clone(),
            text: text.clone(),
            client_id,
        };
        let stored = self
            .store
            .append_once(id, body, key.as_deref(), Some(&agent.id))
            .await?;
        match stored {
            None => Ok(Outcome::NotYours),
            Some(stored) => self.same_text(id, stored, &text).await,
        }
    }

    /// The owning agent sends a file (already kept by `attachments`); ids as for `agent_reply`
    /// (a resend stores nothing).
    pub async fn agent_file(
        &self,
        id: &ConversationId,
        agent: &Agent,
        file: Attachment,
        client_id: Option<String>,
    ) -> StoreResult<Outcome> {
        let key = client_id.as_deref().map(|c| author_key(agent, c));
        let body = EventBody::AgentFile {
            agent: agent.name.clone(),
            file,
            client_id,
        };
        let stored = self
            .store
            .append_once(id, body, key.as_deref(), Some(&agent.id))
            .await?;
        Ok(match stored {
            None => Outcome::NotYours,
            Some(_) => Outcome::Done,
        })
    }

    /// An internal note: any agent may leave one; the visitor never sees it. Ids as for
    /// `agent_reply`.
    pub async fn note(
        &self,
        id: &ConversationId,
        agent: &Agent,
        text: String,
        client_id: Option<String>,
    ) -> StoreResult<Outcome> {
        let key = client_id.as_deref().map(|c| author_key(agent, c));
        let body = EventBody::Note {
            agent: agent.name.clone(),
            text: text.clone(),
            client_id,
        };
        let stored = self
            .store
            .append_once(id, body, key.as_deref(), None)
            .await?;
        match stored {
            None => Ok(Outcome::NotYours),
            Some(stored) => self.same_text(id, stored, &text).await,
        }
    }

    /// `Done` for a new item or a true resend; `Reused` when the item stored under the id says
    /// something else.
    async fn same_text(
        &self,
        id: &ConversationId,
        stored: Appended,
        text: &str,
    ) -> StoreResult<Outcome> {
        let Appended::Duplicate { seq } = stored else {
            return Ok(Outcome::Done);
        };
        let earlier = self.store.events_after(id, seq.saturating_sub(1)).await?;
        let same = earlier.first().is_some_and(|e| match &e.body {
            EventBody::AgentMessage { text: t, .. } | EventBody::Note { text: t, .. } => t == text,
            _ => false,
        });
        Ok(if same { Outcome::Done } else { Outcome::Reused })
    }

    /// Straight to another agent, if they have room.
    pub async fn transfer_to_agent(
        &self,
        id: &ConversationId,
        from: &Agent,
        to: &Agent,
    ) -> StoreResult<Outcome> {
        let claim = self
            .store
            .transfer(id, &from.id, &to.id, to.capacity, Some(joined(to)))
            .await?;
        Ok(self.assigned(claim, id, to))
    }

    /// Back into the queue at its original place, for a team or whoever is next (`reason`:
    /// `Team`, `AgentLeft`, `NotAnswered`). `agent: None` requeues whoever owns it (the router's
    /// sweeps).
    pub async fn requeue(
        &self,
        id: &ConversationId,
        agent: Option<&str>,
        reason: QueueReason,
    ) -> StoreResult<Outcome> {
        let notice = Notice::Queued { reason };
        self.leave_agent(id, agent, ConversationState::Queued, notice)
            .await
    }

    /// The bot answers again.
    pub async fn hand_back(&self, id: &ConversationId, agent: &Agent) -> StoreResult<Outcome> {
        self.leave_agent(
            id,
            Some(&agent.id),
            ConversationState::Bot,
            Notice::BackToBot,
        )
        .await
    }

    /// Closes with a resolution tag; the visitor is asked for a rating.
    pub async fn close(
        &self,
        id: &ConversationId,
        agent: &Agent,
        resolution: Option<String>,
    ) -> StoreResult<Outcome> {
        let notice = Notice::Closed {
            resolution: resolution.clone(),
        };
        let outcome = self
            .leave_agent(id, Some(&agent.id), ConversationState::Closed, notice)
            .await?;
        if outcome == Outcome::Done {
            self.webhooks.emit(
                HookEvent::Closed,
                id,
                serde_json::json!({"agent": agent.id, "resolution": resolution}),
            );
        }
        Ok(outcome)
    }

    /// An offline message was answered by e-mail. Any agent may say so while it waits, unless
    /// another agent has the conversation.
    pub async fn followed_up(&self, id: &ConversationId, agent: &Agent) -> StoreResult<Outcome> {
        match self.not_someone_elses(id, agent).await? {
            Some(c) if c.needs_follow_up => {}
            _ => return Ok(Outcome::NotYours),
        }
        self.store.mark_followed_up(id).await?;
        Ok(Outcome::Done)
    }

    /// Answers an offline message by e-mail: the reply goes into the transcript as the agent's
    /// message (once per client id) and the conversation is followed up; the caller queues the
    /// mail. `None` when there is no offline message to answer or another agent has the
    /// conversation. Any agent may, as for `followed_up`.
    pub async fn email_reply(
        &self,
        id: &ConversationId,
        agent: &Agent,
        text: String,
        client_id: Option<String>,
    ) -> StoreResult<Option<EmailReply>> {
        let Some(c) = self.not_someone_elses(id, agent).await? else {
            return Ok(None);
        };
        let log = self.store.events_after(id, 0).await?;
        let Some((to, asked)) = log.iter().rev().find_map(|e| match &e.body {
            EventBody::OfflineMessage { email, text } => Some((email.clone(), text.clone())),
            _ => None,
        }) else {
            return Ok(None);
        };
        let key = client_id.as_deref().map(|c| author_key(agent, c));
        let body = EventBody::AgentMessage {
            agent: agent.name.clone(),
            text,
            client_id,
        };
        let seq = match self
            .store
            .append_once(id, body, key.as_deref(), None)
            .await?
        {
            Some(Appended::New(e)) => e.seq,
            Some(Appended::Duplicate { seq }) => seq,
            None => return Ok(None),
        };
        if c.needs_follow_up {
            self.store.mark_followed_up(id).await?;
        }
        Ok(Some(EmailReply {
            to,
            asked,
            seq,
            language: c.memory.language.clone(),
        }))
    }

    /// Conversation `id`, unless another agent than `agent` has it (what an offline message's
    /// follow-up allows: any agent, while no one else is chatting with the visitor).
    async fn not_someone_elses(
        &self,
        id: &ConversationId,
        agent: &Agent,
    ) -> StoreResult<Option<Conversation>> {
        let c = self
            .store
            .get(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(id.clone()))?;
        let someone_elses =
            c.state == ConversationState::Assigned && c.agent.as_deref() != Some(agent.id.as_str());
        Ok((!someone_elses).then_some(c))
    }

    /// Assigned (to `agent`, if given) -> `to`, telling the visitor with `notice` in the same
    /// atomic step (the notice carries the queue reason or the resolution).
    async fn leave_agent(
        &self,
        id: &ConversationId,
        agent: Option<&str>,
        to: ConversationState,
        notice: Notice,
    ) -> StoreResult<Outcome> {
        let moved = self
            .store
            .transition(id, ConversationState::Assigned, to, agent, Some(notice))
            .await?;
        Ok(moved.into())
    }
}

/// The notice that tells the visitor who joined.
fn joined(agent: &Agent) -> Notice {
    Notice::Assigned {
        agent: agent.name.clone(),
    }
}

/// What an e-mail answer to an offline message needs besides the reply.
#[derive(Debug, Clone)]
pub struct EmailReply {
    /// The address the visitor left.
    pub to: String,
    /// What they wrote.
    pub asked: String,
    /// The reply's place in the log (the mail's key).
    pub seq: u64,
    /// The conversation's language, when known.
    pub language: Option<String>,
}
