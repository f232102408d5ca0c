//! What happens to a conversation when a visitor does something: the one place where the bot's
//! decisions become log items and state transitions. Sessions call these methods and only do I/O.
//!
//! Every item is appended to the store (which numbers it and fans it out) before anyone sees it;
//! the bot answers only while the conversation is in `Bot`.

use crate::conversation::{Attachment, Side, client_key};
use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwap;

use super::texts;
use super::{AnswerKind, ChoiceItem, Event, EventBody};
use super::{Conversation, QueueReason, Turn, TurnOutcome};
use crate::conversation::{ConversationId, Token, VisitorInfo, VisitorKey};
use crate::knowledge_base::{FaqId, HandoffMode, KnowledgeBase, render_markdown};
use crate::matcher::{Decision, Explanation, HandoffReason, Matcher, Source};
use crate::metrics::Metrics;
use crate::ports::{Appended, Store, StoreError, StoreResult};
use crate::privacy::{Redact, redact};
use crate::webhooks::{HookEvent, Webhooks};

/// What the bot asks when it is not sure (in English): "Did you mean ...?" with one option,
/// else which one.
pub(crate) fn clarify_text(options: usize) -> &'static str {
    texts::for_language("en").clarify(options)
}
pub(crate) const FALLBACK_TEXT: &str = texts::EN.fallback;
pub(crate) const FALLBACK_OFFER_TEXT: &str = texts::EN.fallback_offer;

/// Domain operations on conversations, shared by every session.
#[derive(Clone)]
pub struct Conversations {
    pub(super) store: Arc<dyn Store>,
    /// Swapped whole when the knowledge base reloads; never locked per message.
    pub(super) matcher: Arc<ArcSwap<Matcher>>,
    pub(super) metrics: Arc<Metrics>,
    /// Personal data removed from visitor text before it is stored.
    pub(super) redact: Arc<[Redact]>,
    pub(super) webhooks: Webhooks,
}

/// How a visitor's `hello` found its conversation.
pub enum Opened {
    /// The token's conversation, theirs.
    Resumed(Box<Conversation>, Token),
    /// A token that opens nothing for this visitor (malformed, unknown, erased, or a verified
    /// visitor's conversation presented by someone else): they are told, and may start anew.
    Unknown,
    /// No token: they may start a new one.
    Fresh,
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
impl From<&HandoffReason> for QueueReason {
    fn from(reason: &HandoffReason) -> QueueReason {
        match reason {
            HandoffReason::Rule(id) => QueueReason::Rule(id.to_string()),
            HandoffReason::VisitorAsked => QueueReason::VisitorAsked,
            HandoffReason::Frustrated => QueueReason::Frustrated,
            HandoffReason::RepeatedMisses => QueueReason::RepeatedMisses,
            HandoffReason::Faq(id) => QueueReason::Faq(id.to_string()),
        }
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

/// Snapshots a turn is decided on before it is stored on the state check alone (the bot still
/// never answers outside `Bot`; only the matcher's memory may then miss a concurrent turn).
const TURN_ATTEMPTS: usize = 8;

/// A turn as decided on one snapshot, with what to count once it is stored.
#[derive(Default)]
pub(super) struct Decided {
    pub(super) turn: Turn,
    /// The matcher's decision kind, for the decision metrics.
    pub(super) kind: Option<&'static str>,
    /// The bot offered the offline form instead of a handoff (nobody can answer now).
    pub(super) offline: bool,
}

impl Conversations {
    pub fn new(
        store: Arc<dyn Store>,
        matcher: Arc<ArcSwap<Matcher>>,
        metrics: Arc<Metrics>,
        redact: Arc<[Redact]>,
        webhooks: Webhooks,
    ) -> Conversations {
        Conversations {
            store,
            matcher,
            metrics,
            redact,
            webhooks,
        }
    }

    /// The conversation `token` (as the client sent it) resumes for `visitor`: a verified
    /// visitor's conversation resumes only for that same visitor (another person signed in on
    /// this browser starts afresh).
    pub async fn resume(&self, token: Option<&str>, visitor: &VisitorInfo) -> StoreResult<Opened> {
        let Some(sent) = token else {
            return Ok(Opened::Fresh);
        };
        let Some(token) = Token::parse(sent) else {
            return Ok(Opened::Unknown);
        };
        Ok(match self.store.resume(&token).await? {
            Some(c) if c.visitor.user_id.is_some() && c.visitor.user_id != visitor.user_id => {
                Opened::Unknown
            }
            Some(c) => Opened::Resumed(Box::new(c), token),
            None => Opened::Unknown,
        })
    }

    /// Opens conversation `id` for a visitor who followed a signed link to it (from a mail):
    /// with the token that resumes it from then on. A verified visitor's conversation opens
    /// only for them, as with a token.
    pub async fn open_by_link(
        &self,
        id: &ConversationId,
        visitor: &VisitorInfo,
    ) -> StoreResult<Opened> {
        Ok(match self.store.get_with_token(id).await? {
            Some((c, _)) if c.visitor.user_id.is_some() && c.visitor.user_id != visitor.user_id => {
                Opened::Unknown
            }
            Some((c, token)) => Opened::Resumed(Box::new(c), token),
            None => Opened::Unknown,
        })
    }

    /// Starts a conversation for `visitor`, linked to their earlier ones by `key`. A guest's key
    /// is theirs only if no verified visitor's conversations carry it; a visitor without one
    /// gets a new key, so their next conversation joins this one.
    pub async fn start(
        &self,
        visitor: VisitorInfo,
        key: Option<VisitorKey>,
    ) -> StoreResult<(Conversation, Token)> {
        let own_key = match key {
            Some(key) if visitor.user_id.is_none() => {
                (!self.belongs_to_a_verified_visitor(&key).await?).then_some(key)
            }
            other => other,
        };
        let key = own_key.unwrap_or_else(VisitorKey::random);
        self.store.create(visitor, Some(key)).await
    }

    /// Whether the conversations started with `key` are a verified visitor's.
    async fn belongs_to_a_verified_visitor(&self, key: &VisitorKey) -> StoreResult<bool> {
        let Some(first) = self
            .store
            .visitor_conversations(key)
            .await?
            .into_iter()
            .next()
        else {
            return Ok(false);
        };
        Ok(self
            .store
            .get(&first)
            .await?
            .is_some_and(|c| c.visitor.user_id.is_some()))
    }

    /// Erases the conversations `ids` (those an admin found for one visitor), counted as
    /// erased on request.
    pub async fn erase(&self, ids: &[ConversationId]) -> StoreResult<usize> {
        let mut erased = 0;
        for id in ids {
            if self.store.delete(id).await? {
                erased += 1;
            }
        }
        self.metrics
            .erased
            .with_label_values(&["forget"])
            .inc_by(erased as u64);
        Ok(erased)
    }

    /// Erases every conversation of one visitor (an erasure request) and counts them in
    /// `frontdesk_conversations_erased_total{why="forget"}`; returns how many.
    pub async fn forget_visitor(
        &self,
        key: &crate::conversation::VisitorKey,
    ) -> StoreResult<usize> {
        let erased = crate::privacy::forget_visitor(self.store.as_ref(), key).await?;
        self.metrics
            .erased
            .with_label_values(&["forget"])
            .inc_by(erased as u64);
        Ok(erased)
    }

    /// The knowledge base's language that `code` (a conversation's language or a locale)
    /// names; the default language when it has no such language.
    pub(super) fn language_of(&self, code: Option<&str>) -> String {
        self.matcher.load().for_language(code).language().to_owned()
    }

    /// Reads the conversation, lets `decide` build the turn on that snapshot and stores it in one
    /// step; when the log moved on in between, reads and decides again. Counts what was stored
    /// and announces a handoff.
    pub(super) async fn take_turn(
        &self,
        id: &ConversationId,
        mut decide: impl AsyncFnMut(&Conversation) -> StoreResult<Decided>,
    ) -> StoreResult<TurnOutcome> {
        for attempt in 1..=TURN_ATTEMPTS {
            let conversation = self
                .store
                .get(id)
                .await?
                .ok_or_else(|| StoreError::NotFound(id.clone()))?;
            let Decided {
                mut turn,
                kind,
                offline,
            } = decide(&conversation).await?;
            turn.expected_seq = (attempt < TURN_ATTEMPTS).then_some(conversation.last_seq);
            let reason = turn.handoff.clone();
            let outcome = self.store.turn(id, turn).await?;
            let TurnOutcome::Done {
                bot_answered,
                handed_off,
                ..
            } = &outcome
            else {
                if outcome == TurnOutcome::Conflict {
                    self.metrics.turn_conflicts.inc();
                    continue;
                }
                return Ok(outcome);
            };
            if let (Some(kind), true) = (kind, *bot_answered) {
                self.metrics.decisions.with_label_values(&[kind]).inc();
            }
            if offline && *bot_answered {
                self.metrics.handoffs.with_label_values(&["offline"]).inc();
            }
            if let (Some(reason), true) = (reason, *handed_off) {
                self.metrics
                    .handoffs
                    .with_label_values(&[reason.kind().as_str()])
                    .inc();
                self.webhooks.emit(
                    HookEvent::HandedOff,
                    id,
                    serde_json::json!({"reason": reason, "visitor": conversation.visitor}),
                );
            }
            return Ok(outcome);
        }
        // The last attempt has no expected seq: it cannot conflict.
        unreachable!("the last attempt stores without a snapshot check")
    }

    /// Stores a visitor message and, in the same step, the bot's reply if the bot still owns the
    /// conversation.
    pub async fn visitor_message(
        &self,
        id: &ConversationId,
        text: String,
        client_id: String,
    ) -> StoreResult<MessageOutcome> {
        let received = Instant::now();
        let text = redact(&text, &self.redact).into_owned();
        let mut kind = None;
        let outcome = self
            .take_turn(id, async |conversation| {
                let mut decided = Decided {
                    turn: Turn::message(text.clone(), client_id.clone()),
                    ..Decided::default()
                };
                if !conversation.state.bot_answers() {
                    return Ok(decided);
                }
                let matcher = self.matcher.load_full();
                let started = Instant::now();
                let turn = matcher.decide(&conversation.memory, &text);
                // Answered from the knowledge base of the language the message was read in.
                let matcher = matcher.for_language(turn.memory.language.as_deref());
                self.metrics
                    .decision_seconds
                    .observe(started.elapsed().as_secs_f64());
                decided.kind = Some(turn.decision.kind());
                kind = decided.kind;
                decided.turn.memory = Some(turn.memory);
                self.bot_part(
                    &mut decided,
                    conversation,
                    matcher,
                    turn.decision,
                    Some(turn.explanation),
                )
                .await?;
                Ok(decided)
            })
            .await?;
        match outcome {
            TurnOutcome::Duplicate { seq } => Ok(MessageOutcome::Duplicate { seq }),
            TurnOutcome::Done { bot_answered, .. } => {
                self.metrics.messages.inc();
                if let (Some(kind), true) = (kind, bot_answered) {
                    self.metrics
                        .reply_seconds
                        .with_label_values(&[kind])
                        .observe(received.elapsed().as_secs_f64());
                }
                Ok(MessageOutcome::Stored)
            }
            TurnOutcome::Conflict => unreachable!("take_turn retries conflicts"),
        }
    }

    /// A file the visitor sent (already kept by `attachments`), stored once per `client_id`.
    /// While the bot has the conversation it says, in the same step, that it cannot open files
    /// and offers a person: a file is a strong sign a person is needed.
    pub async fn visitor_file(
        &self,
        id: &ConversationId,
        file: Attachment,
        client_id: String,
    ) -> StoreResult<MessageOutcome> {
        let outcome = self
            .take_turn(id, async |conversation| {
                let body = EventBody::VisitorFile {
                    file: file.clone(),
                    client_id: client_id.clone(),
                };
                let mut decided = Decided {
                    turn: Turn {
                        visitor: Some((body, Some(client_key(Side::Visitor, &client_id)))),
                        ..Turn::default()
                    },
                    ..Decided::default()
                };
                if conversation.state.bot_answers() {
                    let lang = self.language_of(conversation.memory.language.as_deref());
                    let text = texts::for_language(&lang).cannot_read_files;
                    let reply = bot_text(AnswerKind::Fallback, text, Vec::new(), true, None);
                    decided.turn.bot.push(in_language(reply, &lang));
                }
                Ok(decided)
            })
            .await?;
        match outcome {
            TurnOutcome::Duplicate { seq } => Ok(MessageOutcome::Duplicate { seq }),
            TurnOutcome::Done { .. } => Ok(MessageOutcome::Stored),
            TurnOutcome::Conflict => unreachable!("take_turn retries conflicts"),
        }
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
        self.take_turn(id, async |conversation| {
            // The option's title and answer in the conversation's language.
            let matcher = matcher.for_language(conversation.memory.language.as_deref());
            let faq = matcher
                .knowledge_base()
                .faq(&faq.id)
                .cloned()
                .unwrap_or_else(|| faq.clone());
            let choice = EventBody::VisitorChoice {
                option: faq.id.to_string(),
                title: faq.title.clone(),
            };
            let mut decided = Decided {
                turn: Turn {
                    visitor: Some((choice, None)),
                    ..Turn::default()
                },
                ..Decided::default()
            };
            if conversation.state.bot_answers() {
                let decision = Decision::Answer {
                    source: Source::Faq(faq.id.clone()),
                    options: faq.related.clone(),
                    offer_human: false,
                };
                self.bot_part(&mut decided, conversation, matcher, decision, None)
                    .await?;
            }
            Ok(decided)
        })
        .await?;
        Ok(true)
    }

    /// The "talk to a person" button.
    pub async fn request_human(&self, id: &ConversationId) -> StoreResult<()> {
        self.hand_off(id, QueueReason::VisitorAsked).await
    }

    /// "Was this helpful?" on an answer, once; negative feedback may hand the conversation over.
    /// `false` when `seq` is not a bot answer or already has a vote.
    pub async fn feedback(
        &self,
        id: &ConversationId,
        seq: u64,
        helpful: bool,
    ) -> StoreResult<bool> {
        let answered = self.store.events_after(id, seq.saturating_sub(1)).await?;
        if !matches!(answered.first(), Some(e) if e.seq == seq && matches!(e.body, EventBody::BotAnswer { .. }))
        {
            return Ok(false);
        }
        // One vote per answer.
        let voted = |e: &super::Event| matches!(e.body, EventBody::Feedback { answer_seq, .. } if answer_seq == seq);
        if answered.iter().any(voted) {
            return Ok(false);
        }
        let matcher = self.matcher.load_full();
        self.take_turn(id, async |conversation| {
            let mut decided = Decided {
                turn: Turn {
                    visitor: Some((
                        EventBody::Feedback {
                            answer_seq: seq,
                            helpful,
                        },
                        None,
                    )),
                    ..Turn::default()
                },
                ..Decided::default()
            };
            let mut memory = conversation.memory.clone();
            let handoff = matcher.feedback(&mut memory, helpful);
            decided.turn.memory = Some(memory);
            if let Some(reason) = handoff
                && conversation.state.bot_answers()
            {
                self.handoff_part(&mut decided, conversation, QueueReason::from(&reason))
                    .await?;
            }
            Ok(decided)
        })
        .await?;
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

    /// The offline form: kept in the log for agents, acknowledged to the visitor. Returns the
    /// stored message.
    pub async fn leave_message(
        &self,
        id: &ConversationId,
        email: String,
        text: String,
    ) -> StoreResult<Event> {
        // The e-mail stays: it is how the team writes back.
        let text = redact(&text, &self.redact).into_owned();
        let stored = self
            .store
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
        let language = self.store.get(id).await?.and_then(|c| c.memory.language);
        let lang = self.language_of(language.as_deref());
        let thanks = bot_text(
            AnswerKind::Notice,
            texts::for_language(&lang).thanks_for_message,
            Vec::new(),
            false,
            None,
        );
        self.store.append(id, in_language(thanks, &lang)).await?;
        Ok(stored)
    }

    /// An answer by mail to a mail from this conversation: the files (already kept by
    /// `attachments`), then the text as a message left for the team (redacted as the visitor's
    /// words are; followed up like the offline form's), each once per `key` (the mail's): a
    /// redelivered mail adds nothing. The stored message, or `None` when it was there already.
    pub async fn answer_by_mail(
        &self,
        id: &ConversationId,
        from: String,
        text: String,
        files: Vec<Attachment>,
        key: &str,
    ) -> StoreResult<Option<Event>> {
        for (n, file) in files.into_iter().enumerate() {
            let client_id = format!("{key}:{n}");
            let body = EventBody::VisitorFile {
                file,
                client_id: client_id.clone(),
            };
            self.store
                .append_once(id, body, Some(&client_key(Side::Visitor, &client_id)), None)
                .await?;
        }
        let text = redact(&text, &self.redact).into_owned();
        let body = EventBody::OfflineMessage {
            email: from.clone(),
            text: text.clone(),
        };
        let stored = self
            .store
            .append_once(id, body, Some(&client_key(Side::Visitor, key)), None)
            .await?;
        let Some(Appended::New(event)) = stored else {
            return Ok(None);
        };
        self.webhooks.emit(
            HookEvent::OfflineMessage,
            id,
            serde_json::json!({"email": from, "text": text, "by_mail": true}),
        );
        Ok(Some(event))
    }

    /// Adds the bot's side of `decision` to the turn (and a handoff, if it is one).
    pub(super) async fn bot_part(
        &self,
        decided: &mut Decided,
        conversation: &Conversation,
        matcher: &Matcher,
        decision: Decision,
        explanation: Option<Explanation>,
    ) -> StoreResult<()> {
        let kb = matcher.knowledge_base();
        let texts = texts::for_language(kb.language());
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
        let bot = &mut decided.turn.bot;
        match &decision {
            Decision::Answer {
                source,
                options,
                offer_human,
            } => {
                // Decisions only name FAQs and rules of the matcher they came from.
                if let Some((mut html, mut text)) = answer_content(kb, source) {
                    if let Source::Faq(faq) = source
                        && kb.faq(faq).is_some_and(|f| f.untranslated)
                    {
                        // Answered in the default language: say so first.
                        html = format!("<p><em>{}</em></p>{html}", texts.untranslated);
                        text = format!("{}\n\n{text}", texts.untranslated);
                    }
                    bot.push(EventBody::BotAnswer {
                        decision: AnswerKind::Answer,
                        html,
                        text,
                        options: choices(options),
                        offer_human: *offer_human,
                        faq: match source {
                            Source::Faq(faq) => Some(faq.to_string()),
                            Source::Rule(_) => None,
                        },
                        explanation,
                        lang: Some(kb.language().to_owned()),
                    });
                }
                // An answer that needs a person to act hands the conversation over after it.
                if let Source::Faq(faq) = source
                    && kb
                        .faq(faq)
                        .is_some_and(|f| f.handoff == Some(HandoffMode::After))
                {
                    self.handoff_part(decided, conversation, QueueReason::Faq(faq.to_string()))
                        .await?;
                }
            }
            Decision::Clarify {
                options,
                offer_human,
            } => bot.push(in_language(
                bot_text(
                    AnswerKind::Clarify,
                    texts.clarify(options.len()),
                    choices(options),
                    *offer_human,
                    explanation,
                ),
                kb.language(),
            )),
            Decision::Fallback { offer_human } => {
                let text = if *offer_human {
                    texts.fallback_offer
                } else {
                    texts.fallback
                };
                bot.push(in_language(
                    bot_text(
                        AnswerKind::Fallback,
                        text,
                        Vec::new(),
                        *offer_human,
                        explanation,
                    ),
                    kb.language(),
                ));
            }
            Decision::Handoff { reason } => {
                if let Some(explanation) = explanation {
                    // Keep the why of the handoff in the log for the agent who takes over.
                    bot.push(EventBody::Note {
                        agent: "bot".into(),
                        text: explanation.summary(),
                        client_id: None,
                    });
                }
                self.handoff_part(decided, conversation, QueueReason::from(reason))
                    .await?;
            }
        }
        Ok(())
    }
}

/// `body` (a bot answer) marked as written in language `code`.
pub(super) fn in_language(mut body: EventBody, code: &str) -> EventBody {
    if let EventBody::BotAnswer { lang, .. } = &mut body {
        *lang = Some(code.to_owned());
    }
    body
}

/// A bot message written in code (not from the knowledge base), rendered like an answer.
pub(super) fn bot_text(
    decision: AnswerKind,
    text: &str,
    options: Vec<ChoiceItem>,
    offer_human: bool,
    explanation: Option<Arc<Explanation>>,
) -> EventBody {
    let (html, _) = render_markdown(text);
    EventBody::BotAnswer {
        decision,
        html,
        text: text.into(),
        options,
        offer_human,
        faq: None,
        explanation,
        lang: None,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arc_swap::ArcSwap;

    use super::{Conversations, Opened};
    use crate::conversation::{VisitorInfo, VisitorKey};
    use crate::knowledge_base::KnowledgeBase;
    use crate::matcher::Matcher;
    use crate::metrics::Metrics;
    use crate::store::MemoryStore;
    use crate::webhooks::Webhooks;

    fn conversations() -> Conversations {
        let matcher = Matcher::build(KnowledgeBase::default()).expect("an empty matcher builds");
        Conversations::new(
            Arc::new(MemoryStore::new()),
            Arc::new(ArcSwap::from_pointee(matcher)),
            Arc::new(Metrics::new()),
            Arc::new([]),
            Webhooks::default(),
        )
    }

    fn visitor(user_id: Option<&str>) -> VisitorInfo {
        VisitorInfo {
            user_id: user_id.map(str::to_owned),
            ..VisitorInfo::default()
        }
    }

    #[tokio::test]
    async fn a_verified_visitors_conversation_resumes_only_for_them() {
        let c = conversations();
        let (theirs, token) = c.start(visitor(Some("u-1")), None).await.unwrap();
        let sent = token.expose();
        let opened = c.resume(Some(sent.as_str()), &visitor(Some("u-1"))).await;
        assert!(matches!(opened, Ok(Opened::Resumed(found, _)) if found.id == theirs.id));
        for someone_else in [visitor(None), visitor(Some("u-2"))] {
            let opened = c.resume(Some(sent.as_str()), &someone_else).await;
            assert!(matches!(opened, Ok(Opened::Unknown)));
        }
        assert!(matches!(
            c.resume(Some("not-a-token"), &visitor(None)).await,
            Ok(Opened::Unknown)
        ));
        assert!(matches!(
            c.resume(None, &visitor(None)).await,
            Ok(Opened::Fresh)
        ));
    }

    #[tokio::test]
    async fn a_guest_cannot_join_a_verified_visitors_conversations_by_their_key() {
        let c = conversations();
        let key = VisitorKey::random();
        let (verified, _) = c
            .start(visitor(Some("u-1")), Some(key.clone()))
            .await
            .unwrap();
        assert_eq!(verified.visitor_key.as_ref(), Some(&key));
        let (guest, _) = c.start(visitor(None), Some(key.clone())).await.unwrap();
        assert!(guest.visitor_key.is_some() && guest.visitor_key.as_ref() != Some(&key));
        // A guest's own key links their conversations.
        let own = VisitorKey::random();
        let (first, _) = c.start(visitor(None), Some(own.clone())).await.unwrap();
        assert_eq!(first.visitor_key.as_ref(), Some(&own));
    }
}
