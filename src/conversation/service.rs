//! What happens to a conversation when a visitor does something: the one place where the bot's
//! decisions become log items and state transitions. Sessions call these methods and only do I/O.
//!
//! Every item is appended to the store (which numbers it and fans it out) before anyone sees it;
//! the bot answers only while the conversation is in `Bot`.

use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwap;

use super::{ChoiceItem, EventBody};
use crate::knowledge_base::{FaqId, KnowledgeBase, render_markdown};
use crate::matcher::{Decision, Explanation, HandoffReason, Matcher, Source};
use crate::metrics::Metrics;
use crate::privacy::{Redact, redact};
use crate::store::{Appended, ConversationId, Store, StoreError, StoreResult};
use crate::webhooks::{HookEvent, Webhooks};

pub(crate) const CLARIFY_TEXT: &str = "Which of these do you mean?";
pub(crate) const FALLBACK_TEXT: &str =
    "Sorry, I don't have an answer for that. Could you say it another way?";
pub(crate) const FALLBACK_OFFER_TEXT: &str =
    "Sorry, I still don't have an answer. Would you like to talk to a person?";
const THANKS_FOR_MESSAGE: &str = "Thanks! Your message is saved and our team will reply by e-mail.";

/// Domain operations on conversations, shared by every session.
#[derive(Clone)]
pub struct Conversations {
    pub store: Arc<dyn Store>,
    /// Swapped whole when the knowledge base reloads; never locked per message.
    pub matcher: Arc<ArcSwap<Matcher>>,
    pub metrics: Arc<Metrics>,
    /// Personal data removed from visitor text before it is stored.
    pub redact: Arc<[Redact]>,
    pub webhooks: Webhooks,
}

/// What became of a visitor message.
#[derive(Debug, Clone, PartialEq)]
pub enum MessageOutcome {
    Stored,
    /// Already stored under this `seq` (a resend): nothing new happened.
    Duplicate {
        seq: u64,
    },
}

/// The stable code of a handoff reason, as stored and shown to agents.
pub fn reason_code(reason: &HandoffReason) -> String {
    match reason {
        HandoffReason::Rule(id) => format!("rule:{id}"),
        HandoffReason::Frustrated => "frustrated".into(),
        HandoffReason::RepeatedMisses => "repeated_misses".into(),
        HandoffReason::Faq(id) => format!("faq:{id}"),
    }
}

/// The (safe HTML, text) of an answer from an FAQ or a rule.
pub(super) fn answer_content(kb: &KnowledgeBase, source: &Source) -> Option<(String, String)> {
    match source {
        Source::Faq(faq) => kb
            .faq(faq)
            .map(|f| (f.answer_html.clone(), f.answer_text.clone())),
        Source::Rule(rule) => kb
            .rules
            .rules
            .iter()
            .find(|r| &r.id == rule)
            .map(|r| (r.reply_html.clone(), r.reply_text.clone())),
    }
}

impl Conversations {
    /// Stores a visitor message and, if the bot owns the conversation, the bot's reply.
    pub async fn visitor_message(
        &self,
        id: &ConversationId,
        text: String,
        client_id: String,
    ) -> StoreResult<MessageOutcome> {
        let received = Instant::now();
        let text = redact(&text, &self.redact).into_owned();
        match self
            .store
            .append_visitor_message(id, text.clone(), client_id)
            .await?
        {
            Appended::Duplicate { seq } => return Ok(MessageOutcome::Duplicate { seq }),
            Appended::New(_) => self.metrics.messages.inc(),
        }
        let conversation = self
            .store
            .get(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(id.clone()))?;
        if !conversation.state.bot_answers() {
            return Ok(MessageOutcome::Stored);
        }
        let matcher = self.matcher.load_full();
        let started = Instant::now();
        let turn = matcher.decide(&conversation.memory, &text);
        self.metrics
            .decision_seconds
            .observe(started.elapsed().as_secs_f64());
        self.metrics
            .decisions
            .with_label_values(&[turn.decision.kind()])
            .inc();
        self.store.save_memory(id, &turn.memory).await?;
        let kind = turn.decision.kind();
        self.apply(id, &matcher, turn.decision, Some(turn.explanation))
            .await?;
        self.metrics
            .reply_seconds
            .with_label_values(&[kind])
            .observe(received.elapsed().as_secs_f64());
        Ok(MessageOutcome::Stored)
    }

    /// The visitor picked an option: answer with that FAQ (if the bot owns the conversation).
    pub async fn choose(&self, id: &ConversationId, option: &str) -> StoreResult<bool> {
        let matcher = self.matcher.load_full();
        let Some(faq) = FaqId::parse(option)
            .ok()
            .and_then(|f| matcher.knowledge_base().faq(&f).cloned())
        else {
            return Ok(false);
        };
        let conversation = self
            .store
            .get(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(id.clone()))?;
        self.store
            .append(
                id,
                EventBody::VisitorChoice {
                    option: faq.id.to_string(),
                    title: faq.title.clone(),
                },
            )
            .await?;
        if conversation.state.bot_answers() {
            let decision = Decision::Answer {
                source: Source::Faq(faq.id.clone()),
                options: faq.related.clone(),
                offer_human: false,
            };
            self.apply(id, &matcher, decision, None).await?;
        }
        Ok(true)
    }

    /// The "talk to a person" button.
    pub async fn request_human(&self, id: &ConversationId) -> StoreResult<()> {
        self.hand_off(id, "visitor_asked".into()).await
    }

    /// "Was this helpful?" on an answer; negative feedback may hand the conversation over.
    pub async fn feedback(
        &self,
        id: &ConversationId,
        seq: u64,
        helpful: bool,
    ) -> StoreResult<bool> {
        let conversation = self
            .store
            .get(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(id.clone()))?;
        let answered = self.store.events_after(id, seq.saturating_sub(1)).await?;
        if !matches!(answered.first(), Some(e) if e.seq == seq && matches!(e.body, EventBody::BotAnswer { .. }))
        {
            return Ok(false);
        }
        self.store
            .append(
                id,
                EventBody::Feedback {
                    answer_seq: seq,
                    helpful,
                },
            )
            .await?;
        let mut memory = conversation.memory.clone();
        let handoff = self.matcher.load().feedback(&mut memory, helpful);
        self.store.save_memory(id, &memory).await?;
        if let Some(reason) = handoff
            && conversation.state.bot_answers()
        {
            self.hand_off(id, reason_code(&reason)).await?;
        }
        Ok(true)
    }

    pub async fn rate(
        &self,
        id: &ConversationId,
        score: u8,
        comment: Option<String>,
    ) -> StoreResult<()> {
        let comment = comment.map(|c| redact(&c, &self.redact).into_owned());
        self.store
            .append(
                id,
                EventBody::Rating {
                    score,
                    comment: comment.clone(),
                },
            )
            .await?;
        self.webhooks.emit(
            HookEvent::Rated,
            id,
            serde_json::json!({"score": score, "comment": comment}),
        );
        Ok(())
    }

    /// The offline form: kept in the log for agents, acknowledged to the visitor.
    pub async fn leave_message(
        &self,
        id: &ConversationId,
        email: String,
        text: String,
    ) -> StoreResult<()> {
        // The e-mail stays: it is how the team writes back.
        let text = redact(&text, &self.redact).into_owned();
        self.store
            .append(
                id,
                EventBody::OfflineMessage {
                    email: email.clone(),
                    text: text.clone(),
                },
            )
            .await?;
        self.webhooks.emit(
            HookEvent::OfflineMessage,
            id,
            serde_json::json!({"email": email, "text": text}),
        );
        self.bot_says(id, "notice", THANKS_FOR_MESSAGE, Vec::new(), false, None)
            .await
    }

    /// Turns a decision into log items (and a handoff, if it is one).
    async fn apply(
        &self,
        id: &ConversationId,
        matcher: &Matcher,
        decision: Decision,
        explanation: Option<Explanation>,
    ) -> StoreResult<()> {
        let kb = matcher.knowledge_base();
        let choices = |ids: &[FaqId]| -> Vec<ChoiceItem> {
            ids.iter()
                .filter_map(|i| kb.faq(i))
                .map(|f| ChoiceItem {
                    id: f.id.to_string(),
                    title: f.title.clone(),
                })
                .collect()
        };
        let explanation = explanation.map(Arc::new);
        match &decision {
            Decision::Answer {
                source,
                options,
                offer_human,
            } => {
                let reply = answer_content(kb, source);
                // Decisions only name FAQs and rules of the matcher they came from.
                let Some((html, text)) = reply else {
                    return Ok(());
                };
                let body = EventBody::BotAnswer {
                    decision: "answer".into(),
                    html,
                    text,
                    options: choices(options),
                    offer_human: *offer_human,
                    explanation,
                };
                self.store.append(id, body).await.map(drop)
            }
            Decision::Clarify { options } => {
                self.bot_says(
                    id,
                    "clarify",
                    CLARIFY_TEXT,
                    choices(options),
                    false,
                    explanation,
                )
                .await
            }
            Decision::Fallback { offer_human } => {
                let text = if *offer_human {
                    FALLBACK_OFFER_TEXT
                } else {
                    FALLBACK_TEXT
                };
                self.bot_says(id, "fallback", text, Vec::new(), *offer_human, explanation)
                    .await
            }
            Decision::Handoff { reason } => {
                if let Some(explanation) = explanation {
                    // Keep the why of the handoff in the log for the agent who takes over.
                    let body = EventBody::Note {
                        agent: "bot".into(),
                        text: explanation.summary(),
                        client_id: None,
                    };
                    self.store.append(id, body).await?;
                }
                self.hand_off(id, reason_code(reason)).await
            }
        }
    }

    pub(super) async fn bot_says(
        &self,
        id: &ConversationId,
        decision: &str,
        text: &str,
        options: Vec<ChoiceItem>,
        offer_human: bool,
        explanation: Option<Arc<Explanation>>,
    ) -> StoreResult<()> {
        let (html, _) = render_markdown(text);
        let body = EventBody::BotAnswer {
            decision: decision.into(),
            html,
            text: text.into(),
            options,
            offer_human,
            explanation,
        };
        self.store.append(id, body).await.map(drop)
    }
}
