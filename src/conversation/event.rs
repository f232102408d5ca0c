//! The items of a conversation's log. Every visible item is an `Event` with a per-conversation
//! sequence number, appended to the store before anyone is sent it, so a client that reconnects
//! with its last `seq` gets exactly what it missed.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{QueueReason, ReasonKind};
use crate::matcher::Explanation;

/// One logged item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Event {
    /// 1, 2, 3, ... within the conversation.
    pub seq: u64,
    /// Milliseconds since the Unix epoch.
    pub at: u64,
    #[serde(flatten)]
    pub body: EventBody,
}

/// An option the visitor can pick (a clarify option or a suggestion).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChoiceItem {
    /// The FAQ id to send back in `choose`.
    pub id: String,
    pub title: String,
}

/// What kind of bot message a `bot_answer` is (its `decision` on the wire and in the store). A
/// stored value outside this list is an error when read, never a default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AnswerKind {
    /// An FAQ's or a rule's answer.
    Answer,
    /// "Which of these do you mean?" with options.
    Clarify,
    /// No answer found.
    Fallback,
    /// "I'm connecting you with a person".
    Handoff,
    /// Nobody can take the chat now: the offline form.
    Offline,
    /// A plain message from the bot (e.g. thanks for an offline message).
    Notice,
}

/// A file in a conversation. The bytes are in the attachment store under the conversation and
/// `id` (random, 128 bits: not guessable); the log holds only this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Attachment {
    pub id: String,
    /// The sender's file name, cleaned for display (no path, no control characters).
    pub name: String,
    /// Decided from the content (`image/jpeg`, `image/png`, `application/pdf`, `text/plain`).
    pub content_type: String,
    /// Bytes, as kept (an image after re-encoding).
    pub size: u64,
    /// SHA-256 of the bytes kept, hex.
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventBody {
    VisitorMessage {
        text: String,
        client_id: String,
    },
    /// A file the visitor sent.
    VisitorFile {
        file: Attachment,
        client_id: String,
    },
    /// A file an agent sent to the visitor.
    AgentFile {
        agent: String,
        file: Attachment,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
    },
    /// The bot's reply: an answer, a clarify question, or a fallback.
    BotAnswer {
        decision: AnswerKind,
        /// Safe HTML (rendered from the knowledge base's Markdown, or escaped text).
        html: String,
        text: String,
        #[serde(default)]
        options: Vec<ChoiceItem>,
        #[serde(default)]
        offer_human: bool,
        /// The FAQ this answer is from (not a rule's reply such as "You're welcome!"): only these
        /// ask "Was this helpful?".
        #[serde(default, skip_serializing_if = "Option::is_none")]
        faq: Option<String>,
        /// Why the bot said this: for agents and editors, never sent to the visitor. Shared
        /// (`Arc`): events are cloned once per subscriber.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(value_type = Option<Explanation>)]
        explanation: Option<Arc<Explanation>>,
        /// The language it is written in (two letters), when the knowledge base has several:
        /// the widget shows its own texts in it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lang: Option<String>,
    },
    /// The visitor picked an option (`choose`).
    VisitorChoice {
        option: String,
        title: String,
    },
    /// Left with the offline form.
    OfflineMessage {
        email: String,
        text: String,
    },
    AgentMessage {
        agent: String,
        text: String,
        /// The console's id for it: a resend is not stored twice.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
    },
    /// An agent's internal note: never sent to the visitor.
    Note {
        agent: String,
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
    },
    Notice {
        #[schema(value_type = NoticeWire)]
        notice: Notice,
    },
    /// "Was this helpful?" on the bot answer `answer_seq`.
    Feedback {
        answer_seq: u64,
        helpful: bool,
    },
    Rating {
        score: u8,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
    },
}

/// A change of who is answering, told to the visitor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "NoticeWire", from = "NoticeWire")]
pub enum Notice {
    /// Waiting for a person, and why.
    Queued {
        reason: QueueReason,
    },
    Assigned {
        agent: String,
    },
    BackToBot,
    Closed {
        resolution: Option<String>,
    },
}

/// A notice as it is written (on the wire, in the store): a queued notice's reason also comes
/// read, as its kind and the rule, FAQ or team it names, so clients never take the code apart.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "notice", rename_all = "snake_case")]
#[schema(as = Notice)]
pub(crate) enum NoticeWire {
    Queued {
        /// The reason's code: `visitor_asked`, `rule:<id>`, `team:<name>`, ... (docs/protocol.md).
        #[schema(value_type = String)]
        reason: QueueReason,
        /// Always written; read from `reason` when read.
        #[serde(default)]
        reason_kind: Option<ReasonKind>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason_id: Option<String>,
    },
    Assigned {
        agent: String,
    },
    BackToBot,
    Closed {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resolution: Option<String>,
    },
}

impl From<Notice> for NoticeWire {
    fn from(notice: Notice) -> NoticeWire {
        match notice {
            Notice::Queued { reason } => NoticeWire::Queued {
                reason_kind: Some(reason.kind()),
                reason_id: reason.id().map(str::to_owned),
                reason,
            },
            Notice::Assigned { agent } => NoticeWire::Assigned { agent },
            Notice::BackToBot => NoticeWire::BackToBot,
            Notice::Closed { resolution } => NoticeWire::Closed { resolution },
        }
    }
}

impl From<NoticeWire> for Notice {
    fn from(wire: NoticeWire) -> Notice {
        match wire {
            NoticeWire::Queued { reason, .. } => Notice::Queued { reason },
            NoticeWire::Assigned { agent } => Notice::Assigned { agent },
            NoticeWire::BackToBot => Notice::BackToBot,
            NoticeWire::Closed { resolution } => Notice::Closed { resolution },
        }
    }
}

impl Event {
    /// This event as the visitor may see it: internal notes hidden, explanations removed.
    pub fn for_visitor(&self) -> Option<Event> {
        match &self.body {
            EventBody::Note { .. } => None,
            EventBody::BotAnswer {
                explanation: Some(_),
                ..
            } => {
                let mut visible = self.clone();
                if let EventBody::BotAnswer { explanation, .. } = &mut visible.body {
                    *explanation = None;
                }
                Some(visible)
            }
            _ => Some(self.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(explanation: Option<Arc<Explanation>>) -> Event {
        Event {
            seq: 2,
            at: 5,
            body: EventBody::BotAnswer {
                decision: AnswerKind::Answer,
                html: "<p>Hi</p>".into(),
                text: "Hi".into(),
                options: vec![ChoiceItem {
                    id: "track-order".into(),
                    title: "Where is my order?".into(),
                }],
                offer_human: false,
                faq: Some("return-policy".into()),
                explanation,
                lang: None,
            },
        }
    }

    #[test]
    fn an_unknown_answer_kind_is_an_error_not_a_default() {
        let stored = r#"{"kind":"bot_answer","decision":"maybe","html":"","text":""}"#;
        assert!(serde_json::from_str::<EventBody>(stored).is_err());
        for kind in [
            "answer", "clarify", "fallback", "handoff", "offline", "notice",
        ] {
            let stored =
                format!(r#"{{"kind":"bot_answer","decision":"{kind}","html":"","text":""}}"#);
            assert!(serde_json::from_str::<EventBody>(&stored).is_ok(), "{kind}");
        }
    }

    #[test]
    fn a_bot_answer_serialises_to_its_documented_json() {
        assert_eq!(
            serde_json::to_string(&answer(None)).unwrap(),
            r#"{"seq":2,"at":5,"kind":"bot_answer","decision":"answer","html":"<p>Hi</p>","text":"Hi","options":[{"id":"track-order","title":"Where is my order?"}],"offer_human":false,"faq":"return-policy"}"#
        );
    }

    #[test]
    fn visitors_never_see_explanations_or_notes() {
        let with = answer(Some(Arc::default()));
        assert!(
            serde_json::to_string(&with)
                .unwrap()
                .contains("explanation")
        );
        assert_eq!(with.for_visitor().unwrap(), answer(None));
        let note = Event {
            seq: 3,
            at: 6,
            body: EventBody::Note {
                agent: "a".into(),
                text: "vip".into(),
                client_id: None,
            },
        };
        assert_eq!(note.for_visitor(), None);
    }

    #[test]
    fn no_item_field_collides_with_the_event_envelope() {
        let bodies = vec![
            EventBody::VisitorMessage {
                text: "t".into(),
                client_id: "c".into(),
            },
            EventBody::VisitorChoice {
                option: "o".into(),
                title: "t".into(),
            },
            EventBody::OfflineMessage {
                email: "a@b".into(),
                text: "t".into(),
            },
            EventBody::AgentMessage {
                agent: "a".into(),
                text: "t".into(),
                client_id: Some("c-1".into()),
            },
            EventBody::Note {
                agent: "a".into(),
                text: "t".into(),
                client_id: None,
            },
            EventBody::Notice {
                notice: Notice::BackToBot,
            },
            EventBody::Feedback {
                answer_seq: 1,
                helpful: true,
            },
            EventBody::Rating {
                score: 5,
                comment: Some("c".into()),
            },
            answer(None).body,
        ];
        for body in bodies {
            let event = Event {
                seq: 42,
                at: 7,
                body,
            };
            let json: serde_json::Value = serde_json::to_value(&event).unwrap();
            assert_eq!(json["seq"], 42, "{json}");
            assert_eq!(json["at"], 7, "{json}");
            let back: Event = serde_json::from_value(json).unwrap();
            assert_eq!(back, event);
        }
    }

    #[test]
    fn events_round_trip_through_json_for_the_store() {
        let e = answer(Some(Arc::default()));
        let back: Event = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
        assert_eq!(back, e);
    }
}
