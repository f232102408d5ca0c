//! Answering while the store is down (a Redis outage). The matcher needs no I/O, so the bot keeps
//! answering from the knowledge base; what the visitor wrote is held by their session and stored,
//! in order, once the store is back: the message, the answer they were given, and the handoff they
//! asked for. Nothing is dropped and nothing is decided twice.

use serde::Serialize;

use super::service::{Conversations, Decided, answer_content};
use super::{AnswerKind, EventBody, FALLBACK_TEXT, QueueReason, Turn, TurnOutcome, clarify_text};
use crate::conversation::ConversationId;
use crate::knowledge_base::render_markdown;
use crate::matcher::{Decision, Memory};
use crate::ports::StoreResult;

const HELD_HANDOFF_TEXT: &str = "I'll connect you with a person as soon as our system is back \
     (a few moments, usually). Your messages are kept.";

/// The bot's answer given without the store.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct HeldAnswer {
    pub decision: AnswerKind,
    pub html: String,
    pub text: String,
}

/// Something a visitor did while the store was down, to be stored when it is back.
#[derive(Debug, Clone, PartialEq)]
pub enum Held {
    Message {
        text: String,
        client_id: String,
        answer: HeldAnswer,
        /// The handoff the bot decided on, to be carried out.
        handoff: Option<QueueReason>,
    },
    RequestHuman,
}

impl Conversations {
    /// Decides on `text` without the store (fresh memory: the conversation's is unreachable).
    pub fn hold_message(&self, text: String, client_id: String) -> Held {
        let text = crate::privacy::redact(&text, &self.redact).into_owned();
        let matcher = self.matcher.load_full();
        let turn = matcher.decide(&Memory::default(), &text);
        let kb = matcher.knowledge_base();
        let (decision, (html, plain), handoff) = match &turn.decision {
            Decision::Answer { source, .. } => (
                AnswerKind::Answer,
                answer_content(kb, source).unwrap_or_else(|| render_markdown(FALLBACK_TEXT)),
                None,
            ),
            Decision::Clarify { options, .. } => {
                let titles: Vec<String> = options
                    .iter()
                    .filter_map(|o| kb.faq(o))
                    .map(|f| format!("- {}", f.title))
                    .collect();
                let text = format!("{}\n\n{}", clarify_text(titles.len()), titles.join("\n"));
                (AnswerKind::Clarify, render_markdown(&text), None)
            }
            Decision::Fallback { .. } => {
                (AnswerKind::Fallback, render_markdown(FALLBACK_TEXT), None)
            }
            Decision::Handoff { reason } => (
                AnswerKind::Handoff,
                render_markdown(HELD_HANDOFF_TEXT),
                Some(QueueReason::from(reason)),
            ),
        };
        Held::Message {
            text,
            client_id,
            answer: HeldAnswer {
                decision,
                html,
                text: plain,
            },
            handoff,
        }
    }

    /// What the visitor is told when "talk to a person" is held.
    pub fn held_handoff_answer() -> HeldAnswer {
        let (html, text) = render_markdown(HELD_HANDOFF_TEXT);
        HeldAnswer {
            decision: AnswerKind::Handoff,
            html,
            text,
        }
    }

    /// Stores a held item now that the store answers again, as one turn: the message, the
    /// answer it was given (only if the bot still owns the conversation) and its handoff. A
    /// message already stored (a retry) is not stored again.
    pub async fn store_held(&self, id: &ConversationId, held: &Held) -> StoreResult<()> {
        match held {
            Held::Message {
                text,
                client_id,
                answer,
                handoff,
            } => {
                let outcome = self
                    .take_turn(id, async |conversation| {
                        let mut decided = Decided {
                            turn: Turn::message(text.clone(), client_id.clone()),
                            ..Decided::default()
                        };
                        decided.turn.bot.push(EventBody::BotAnswer {
                            decision: answer.decision,
                            html: answer.html.clone(),
                            text: answer.text.clone(),
                            options: Vec::new(),
                            offer_human: false,
                            faq: None,
                            explanation: None,
                            lang: None,
                        });
                        if let (Some(reason), true) = (handoff, conversation.state.bot_answers()) {
                            self.handoff_part(&mut decided, conversation, reason.clone())
                                .await?;
                        }
                        Ok(decided)
                    })
                    .await?;
                if matches!(outcome, TurnOutcome::Done { .. }) {
                    self.metrics.messages.inc();
                }
                Ok(())
            }
            Held::RequestHuman => self.request_human(id).await,
        }
    }
}
