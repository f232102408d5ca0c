//! A visitor's frames as commands: `Command::from_frame` turns a parsed frame into validated
//! values (or a `Refusal` the visitor is told), and `apply` runs one command against the bound
//! conversation, each as a small function. What a store failure means to the visitor (hold the
//! item, or start over when the conversation is gone) is decided in `super::report`.

use super::{Bound, Ctx};
use crate::conversation::{Conversations, EventBody, Held, MessageOutcome};
use crate::mail::TranscriptSent;
use crate::ports::StoreError;
use crate::protocol::{ErrorCode, Hello, ServerFrame, TranscriptOutcome, VisitorFrame};
use crate::session::error::{Handled, SessionError};
use crate::session::values::{ClientId, Email, MessageText, Refusal, Score};

/// Items held during an outage, at most, per socket; past this the visitor is asked to wait.
const MAX_HELD: usize = 50;

pub(super) enum Command {
    Hello(Hello),
    Say {
        text: MessageText,
        client_id: ClientId,
    },
    Typing,
    Choose {
        option: String,
    },
    RequestHuman,
    Feedback {
        seq: u64,
        helpful: bool,
    },
    Rate {
        score: Score,
        comment: Option<String>,
    },
    LeaveMessage {
        email: Email,
        text: MessageText,
    },
    EmailTranscript {
        email: Email,
    },
    Seen(u64),
}

impl Command {
    /// The command a frame asks for, its values checked (`max_text`: longest message, bytes).
    pub(super) fn from_frame(frame: VisitorFrame, max_text: usize) -> Result<Command, Refusal> {
        Ok(match frame {
            VisitorFrame::Hello(hello) => Command::Hello(hello),
            VisitorFrame::Message { text, client_id } => Command::Say {
                text: MessageText::parse(text, max_text).map_err(|r| r.about(&client_id))?,
                client_id: ClientId::parse(client_id)?,
            },
            VisitorFrame::Typing {} => Command::Typing,
            VisitorFrame::Choose { option } => Command::Choose { option },
            VisitorFrame::RequestHuman {} => Command::RequestHuman,
            VisitorFrame::Feedback { seq, helpful } => Command::Feedback { seq, helpful },
            VisitorFrame::Rate { score, comment } => Command::Rate {
                score: Score::parse(score)?,
                comment,
            },
            VisitorFrame::LeaveMessage { email, text } => Command::LeaveMessage {
                email: Email::parse(email)?,
                text: MessageText::parse(text, max_text).map_err(|_| {
                    Refusal::new(
                        ErrorCode::Invalid,
                        "an e-mail address and a message are needed",
                    )
                })?,
            },
            VisitorFrame::EmailTranscript { email } => Command::EmailTranscript {
                email: Email::parse(email)?,
            },
            VisitorFrame::Seen { seq } => Command::Seen(seq),
        })
    }
}

/// Runs `command` on the conversation this socket is bound to.
pub(super) async fn apply(ctx: &mut Ctx<'_>, b: &mut Bound, command: Command) -> Handled {
    let conversations = &ctx.state.conversations;
    match command {
        Command::Hello(_) => Err(SessionError::refused(
            ErrorCode::Invalid,
            "this socket already said hello",
        )),
        Command::Say { text, client_id } => say(ctx, b, text, client_id).await,
        Command::Typing => Ok(ctx.state.store.bus().typing(&b.id, None).await?),
        Command::Choose { option } => match conversations.choose(&b.id, &option).await? {
            true => Ok(()),
            false => Err(SessionError::refused(ErrorCode::Invalid, "unknown option")),
        },
        Command::RequestHuman => request_human(ctx, b).await,
        Command::Feedback { seq, helpful } => {
            match conversations.feedback(&b.id, seq, helpful).await? {
                true => Ok(()),
                false => Err(SessionError::refused(
                    ErrorCode::Invalid,
                    "feedback is for a bot answer's seq, once",
                )),
            }
        }
        Command::Rate { score, comment } => {
            Ok(conversations.rate(&b.id, score.get(), comment).await?)
        }
        Command::EmailTranscript { email } => email_transcript(ctx, b, email).await,
        Command::Seen(seq) => seen(ctx, b, seq).await,
        Command::LeaveMessage { email, text } => {
            let stored = conversations
                .leave_message(&b.id, email.into_inner(), text.into_inner())
                .await?;
            if let (Some(postbox), EventBody::OfflineMessage { email, text }) =
                (&ctx.state.postbox, &stored.body)
            {
                // The message is stored; a note lost to a crash here is queued by the sweep at
                // the next start (the note's key is the message's place in the log).
                if let Err(e) = postbox
                    .offline_message(&b.id, stored.seq, email, text)
                    .await
                {
                    tracing::warn!(conv = %b.id, error = %e, "cannot queue the team's e-mail note yet");
                }
            }
            Ok(())
        }
    }
}

/// Records how far the visitor's widget has shown the conversation (never past what this socket
/// sent): the replies up to there are not mailed. Only where mail is sent, and only forward.
async fn seen(ctx: &mut Ctx<'_>, b: &mut Bound, seq: u64) -> Handled {
    let seq = seq.min(b.last_sent);
    if ctx.state.postbox.is_none() || seq <= b.seen {
        return Ok(());
    }
    ctx.state.store.raise_delivered(&b.id, seq).await?;
    b.seen = seq;
    Ok(())
}

/// Mails the conversation so far to the visitor, once per hour.
async fn email_transcript(ctx: &mut Ctx<'_>, b: &Bound, email: Email) -> Handled {
    let Some(postbox) = &ctx.state.postbox else {
        return Err(SessionError::refused(
            ErrorCode::Invalid,
            "this site does not send e-mail",
        ));
    };
    let email = email.into_inner();
    let outcome = match postbox.transcript(&b.id, Some(email.clone())).await? {
        Some(TranscriptSent::Queued) => TranscriptOutcome::Queued,
        Some(TranscriptSent::TooSoon) => TranscriptOutcome::TooSoon,
        None => return Err(StoreError::NotFound(b.id.clone()).into()),
    };
    ctx.send(&ServerFrame::Transcript { email, outcome })
        .await?;
    Ok(())
}

/// A visitor message: stored and answered, acknowledged again if it is a resend, or held while
/// the store is down (behind anything held before it, to keep the visitor's order).
async fn say(ctx: &mut Ctx<'_>, b: &mut Bound, text: MessageText, client_id: ClientId) -> Handled {
    if !ctx.state.visitor_messages.allow(&b.id) {
        let refusal = Refusal::new(
            ErrorCode::RateLimited,
            "too many messages in this conversation: slow down",
        );
        return Err(refusal.about(client_id.as_str()).into());
    }
    let conversations = &ctx.state.conversations;
    let (text, client_id) = (text.into_inner(), client_id.into_inner());
    if !b.held.is_empty() {
        let held = conversations.hold_message(text, client_id);
        return hold(ctx, b, held).await;
    }
    match conversations
        .visitor_message(&b.id, text.clone(), client_id.clone())
        .await
    {
        Ok(MessageOutcome::Duplicate { seq }) => {
            Ok(ctx.send(&ServerFrame::Ack { client_id, seq }).await?)
        }
        Ok(MessageOutcome::Stored) => Ok(()),
        Err(StoreError::Unavailable(_)) => {
            let held = conversations.hold_message(text, client_id);
            hold(ctx, b, held).await
        }
        Err(e) => Err(e.into()),
    }
}

/// "Talk to a person": now, or held (in order) while the store is down.
async fn request_human(ctx: &mut Ctx<'_>, b: &mut Bound) -> Handled {
    if b.held.is_empty() {
        match ctx.state.conversations.request_human(&b.id).await {
            Err(StoreError::Unavailable(_)) => {}
            other => return Ok(other?),
        }
    }
    hold(ctx, b, Held::RequestHuman).await
}

/// Holds an item while the store is down: the visitor gets the bot's answer now and the item is
/// stored when the store is back.
async fn hold(ctx: &mut Ctx<'_>, b: &mut Bound, held: Held) -> Handled {
    if b.held.len() >= MAX_HELD {
        return Err(SessionError::refused(
            ErrorCode::Internal,
            "we can't save more messages right now; please wait a moment",
        ));
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
    ctx.send(&frame).await?;
    flush_held(&ctx.state.conversations, b).await;
    Ok(())
}

/// Stores held items in order while the store answers.
pub(super) async fn flush_held(conversations: &Conversations, b: &mut Bound) {
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
