//! An agent's frames as commands: `Command::from_frame` turns a parsed frame into validated
//! values (a conversation id, a message, a client id), and `apply` runs one command as a small
//! function. Actions go through `Conversations`, where the store decides who wins; a done action
//! is a routing change, so the board shows its result on every console.

use std::collections::VecDeque;

use super::{Console, Ctx};
use crate::agents::Agent;
use crate::conversation::ConversationId;
use crate::conversation::{Outcome, QueueReason};
use crate::ports::{Presence, StoreError, StoreResult};
use crate::protocol::{AgentFrame, ErrorCode};
use crate::session::error::{Handled, SessionError};
use crate::session::values::{ClientId, MessageText, Refusal, conversation};
use crate::state::AppState;

/// Longest reply or note, in bytes.
pub(crate) const MAX_TEXT: usize = 4000;
/// Replies held during a store outage, at most, per console.
const MAX_HELD: usize = 50;

pub(super) enum Command {
    Presence(Presence),
    /// Watch a conversation from `last_seq` on.
    Open(ConversationId, u64),
    Typing(ConversationId),
    Claim(ConversationId),
    HandBack(ConversationId),
    FollowedUp(ConversationId),
    /// An e-mail answer to an offline message (checked like a reply).
    EmailReply(Writing),
    Write(Writing),
    Transfer(ConversationId, Target),
    Close(ConversationId, Option<String>),
}

/// Where a transfer goes.
pub(super) enum Target {
    Agent(String),
    Team(String),
    /// Back to the queue, for anyone.
    Queue,
}

/// A reply or a note, as written: kept in order while the store is down.
pub(super) struct Writing {
    id: ConversationId,
    text: MessageText,
    client_id: Option<ClientId>,
    note: bool,
}

/// What a command concerns, so that a refusal can be shown on that thing.
#[derive(Debug, Clone, Default)]
pub(super) struct About {
    pub(super) conversation: Option<String>,
    pub(super) client_id: Option<String>,
}

impl About {
    /// A refusal about conversation `id`.
    pub(super) fn conversation(id: &ConversationId) -> About {
        About {
            conversation: Some(id.to_string()),
            client_id: None,
        }
    }
}

impl Command {
    pub(super) fn about(&self) -> About {
        let conversation = match self {
            Command::Presence(_) => return About::default(),
            Command::Write(w) | Command::EmailReply(w) => return w.about(),
            Command::Open(id, _)
            | Command::Typing(id)
            | Command::Claim(id)
            | Command::HandBack(id)
            | Command::FollowedUp(id)
            | Command::Transfer(id, _)
            | Command::Close(id, _) => id,
        };
        About::conversation(conversation)
    }

    pub(super) fn from_frame(frame: AgentFrame) -> Result<Command, Refusal> {
        Ok(match frame {
            AgentFrame::Presence { status } => Command::Presence(status),
            AgentFrame::Open {
                conversation: id,
                last_seq,
            } => Command::Open(conversation(&id)?, last_seq.unwrap_or(0)),
            AgentFrame::Typing { conversation: id } => Command::Typing(conversation(&id)?),
            AgentFrame::Claim { conversation: id } => Command::Claim(conversation(&id)?),
            AgentFrame::HandBack { conversation: id } => Command::HandBack(conversation(&id)?),
            AgentFrame::FollowedUp { conversation: id } => Command::FollowedUp(conversation(&id)?),
            AgentFrame::Reply {
                conversation: id,
                text,
                client_id,
            } => Command::Write(Writing::parse(&id, text, client_id, false)?),
            AgentFrame::Note {
                conversation: id,
                text,
                client_id,
            } => Command::Write(Writing::parse(&id, text, client_id, true)?),
            AgentFrame::EmailReply {
                conversation: id,
                text,
                client_id,
            } => Command::EmailReply(Writing::parse(&id, text, client_id, false)?),
            AgentFrame::Transfer {
                conversation: id,
                agent,
                team,
            } => {
                let target = match (agent, team) {
                    (Some(agent), None) => Target::Agent(agent),
                    (None, Some(team)) => Target::Team(team),
                    (None, None) => Target::Queue,
                    (Some(_), Some(_)) => {
                        return Err(Refusal::new(
                            ErrorCode::Invalid,
                            "transfer to an agent or a team",
                        ));
                    }
                };
                Command::Transfer(conversation(&id)?, target)
            }
            AgentFrame::Close {
                conversation: id,
                resolution,
            } => Command::Close(conversation(&id)?, resolution),
        })
    }
}

impl Writing {
    pub(super) fn about(&self) -> About {
        About {
            client_id: self.client_id.clone().map(ClientId::into_inner),
            ..About::conversation(&self.id)
        }
    }

    fn parse(
        id: &str,
        text: String,
        client_id: Option<String>,
        note: bool,
    ) -> Result<Writing, Refusal> {
        Ok(Writing {
            text: MessageText::parse(text, MAX_TEXT)?,
            client_id: client_id.map(ClientId::parse).transpose()?,
            id: conversation(id)?,
            note,
        })
    }
}

/// Runs `command` for the console's agent.
pub(super) async fn apply(ctx: &mut Ctx<'_>, console: &mut Console, command: Command) -> Handled {
    let conversations = &ctx.state.conversations;
    let agent = &console.agent;
    let outcome = match command {
        Command::Presence(status) => {
            // Only the heartbeat's end makes an agent offline; asking for it means away.
            console.presence = match status {
                Presence::Offline => Presence::Away,
                other => other,
            };
            // A failed write (store outage) is retried by the next presence beat.
            let _ = super::set_presence(ctx.state, console).await;
            return Ok(());
        }
        Command::Open(id, last_seq) => {
            console.watched.remove(&id);
            console.buses.remove(&id);
            return super::watch(ctx, console, &id, last_seq, true).await;
        }
        Command::Typing(id) => return typing(ctx, console, &id).await,
        Command::Claim(id) => conversations.claim(&id, agent).await?,
        Command::HandBack(id) => conversations.hand_back(&id, agent).await?,
        Command::FollowedUp(id) => conversations.followed_up(&id, agent).await?,
        Command::EmailReply(w) => return email_reply(ctx.state, agent, w).await,
        Command::Write(writing) => return write_or_hold(ctx.state, console, writing).await,
        Command::Transfer(id, Target::Agent(to)) => match ctx.state.roster.get(&to) {
            Some(to) => conversations.transfer_to_agent(&id, agent, to).await?,
            None => return Err(SessionError::refused(ErrorCode::NotFound, "no such agent")),
        },
        Command::Transfer(id, Target::Team(team)) => {
            conversations
                .requeue(&id, Some(&agent.id), QueueReason::Team(team))
                .await?
        }
        Command::Transfer(id, Target::Queue) => {
            conversations
                .requeue(&id, Some(&agent.id), QueueReason::Transfer)
                .await?
        }
        Command::Close(id, resolution) => conversations.close(&id, agent, resolution).await?,
    };
    done(outcome)
}

/// Answers an offline message by e-mail: into the transcript, then the mail is queued under the
/// reply's place in the log (a resend finds the same place: one mail).
async fn email_reply(state: &AppState, agent: &Agent, w: Writing) -> Handled {
    let Some(postbox) = &state.postbox else {
        return Err(SessionError::refused(
            ErrorCode::Invalid,
            "this server does not send e-mail (smtp_url): write from your mail program",
        ));
    };
    let text = w.text.into_inner();
    let client_id = w.client_id.map(ClientId::into_inner);
    let replied = state
        .conversations
        .email_reply(&w.id, agent, text.clone(), client_id)
        .await?;
    let Some(reply) = replied else {
        return done(Outcome::NotYours);
    };
    postbox.reply(&w.id, &agent.name, &text, &reply).await?;
    // The visitor has it by mail: no mail of unseen replies repeats it.
    state.store.raise_delivered(&w.id, reply.seq).await?;
    done(Outcome::Done)
}

/// Only the agent who has the chat types to its visitor.
async fn typing(ctx: &mut Ctx<'_>, console: &Console, id: &ConversationId) -> Handled {
    let mine = console
        .sent_chats
        .as_ref()
        .is_some_and(|chats| chats.iter().any(|c| c.conversation == id.as_str()));
    if !mine {
        return Err(SessionError::refused(
            ErrorCode::NotYours,
            "that chat is not assigned to you",
        ));
    }
    let bus = ctx.state.store.bus();
    // Typing is a hint: a failed one is not worth an error.
    let _ = bus.typing(id, Some(&console.agent.name)).await;
    Ok(())
}

/// What a reply came to: `Ok` when stored, else why not, as the agent would say it.
fn written(outcome: Outcome) -> Handled {
    match outcome {
        Outcome::NotYours => Err(SessionError::refused(
            ErrorCode::NotYours,
            "this chat is not assigned to you; claim it to reply",
        )),
        other => done(other),
    }
}

/// What an action came to: `Ok` when done, else why not, as a refusal.
fn done(outcome: Outcome) -> Handled {
    match outcome {
        Outcome::Done => Ok(()),
        Outcome::NotYours => Err(SessionError::refused(
            ErrorCode::NotYours,
            "that conversation is not waiting any more, or not assigned to you",
        )),
        Outcome::AtCapacity => Err(SessionError::refused(
            ErrorCode::AtCapacity,
            "no free capacity for another chat",
        )),
        Outcome::Reused => Err(SessionError::refused(
            ErrorCode::Invalid,
            "you already sent another message with this client_id",
        )),
    }
}

async fn write(state: &AppState, agent: &Agent, w: &Writing) -> StoreResult<Outcome> {
    let text = w.text.clone().into_inner();
    let client_id = w.client_id.clone().map(ClientId::into_inner);
    let conversations = &state.conversations;
    if w.note {
        return conversations.note(&w.id, agent, text, client_id).await;
    }
    let outcome = conversations
        .agent_reply(&w.id, agent, text, client_id)
        .await?;
    if outcome == Outcome::Done {
        state.agent_wrote(&w.id).await;
    }
    Ok(outcome)
}

/// Stores a reply or note now, or, while the store is down (or earlier ones wait), holds it to
/// be stored in order when the store is back: the console shows it as sending until its event
/// arrives.
async fn write_or_hold(state: &AppState, console: &mut Console, writing: Writing) -> Handled {
    if console.held.is_empty() {
        match write(state, &console.agent, &writing).await {
            Err(StoreError::Unavailable(_)) => {}
            Ok(outcome) => return written(outcome),
            Err(e) => return Err(e.into()),
        }
    }
    if console.held.len() >= MAX_HELD {
        return Err(SessionError::refused(
            ErrorCode::Internal,
            "we can't save more messages right now; please wait a moment",
        ));
    }
    tracing::warn!(conv = %writing.id, "store unavailable: holding an agent's reply");
    console.held.push_back(writing);
    Ok(())
}

/// Stores held replies and notes in order while the store answers; the ones that failed, in
/// order, with why (the console is told on each).
pub(super) async fn flush_held(
    state: &AppState,
    agent: &Agent,
    held: &mut VecDeque<Writing>,
) -> Vec<(About, SessionError)> {
    let mut failures = Vec::new();
    while let Some(front) = held.front() {
        let outcome = match write(state, agent, front).await {
            Err(StoreError::Unavailable(_)) => break,
            outcome => outcome,
        };
        let about = front.about();
        held.pop_front();
        if let Err(e) = outcome.map_err(SessionError::from).and_then(written) {
            failures.push((about, e));
        }
    }
    failures
}
