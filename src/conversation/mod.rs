//! Conversations: the state machine and the items of a conversation's log.
//!
//! The state machine lives here and only here: `Bot -> Queued -> Assigned -> (Bot | Queued |
//! Closed)`, plus closing from any open state. Every transition is checked by
//! `ConversationState::can_become`, and the store applies it atomically (compare-and-set), so two
//! tasks never both move one conversation.

pub(crate) mod bookkeeping;
mod event;
mod handoff;
mod model;
mod outage;
mod service;
mod texts;
mod turn;

pub use event::{AnswerKind, Attachment, ChoiceItem, Event, EventBody, Notice};
pub use handoff::{EmailReply, Outcome, QueueStatus, Staffing, wait_estimate};
pub use model::{
    Claim, Conversation, ConversationId, QueueReason, ReasonKind, Token, VisitorInfo, VisitorKey,
    now_ms, random_secret,
};
pub use outage::{Held, HeldAnswer};
pub use service::{Conversations, MessageOutcome, Opened};
pub(crate) use service::{FALLBACK_OFFER_TEXT, FALLBACK_TEXT, clarify_text};
pub use turn::{Side, Turn, TurnOutcome, client_key};

use serde::{Deserialize, Serialize};

/// Who is answering the visitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConversationState {
    /// The bot answers.
    Bot,
    /// Waiting for a person; the bot is silent.
    Queued,
    /// A person owns the conversation; the bot is silent.
    Assigned,
    Closed,
}

impl ConversationState {
    /// Whether `self -> to` is a legal transition.
    pub fn can_become(self, to: ConversationState) -> bool {
        use ConversationState::*;
        matches!(
            (self, to),
            (Bot, Queued)
                | (Queued, Assigned)
                | (Queued, Bot)
                | (Assigned, Bot)
                | (Assigned, Queued)
                | (Bot | Queued | Assigned, Closed)
        )
    }

    /// The bot may answer only in this state.
    pub fn bot_answers(self) -> bool {
        self == ConversationState::Bot
    }

    /// The stored and wire spelling (the same as serde's).
    pub fn name(self) -> &'static str {
        match self {
            ConversationState::Bot => "bot",
            ConversationState::Queued => "queued",
            ConversationState::Assigned => "assigned",
            ConversationState::Closed => "closed",
        }
    }

    /// The state spelt `name`; `None` for anything else (never a silent default).
    pub fn from_name(name: &str) -> Option<ConversationState> {
        use ConversationState::*;
        [Bot, Queued, Assigned, Closed]
            .into_iter()
            .find(|s| s.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::ConversationState::*;

    #[test]
    fn only_the_documented_transitions_are_allowed() {
        assert!(Bot.can_become(Queued));
        assert!(Queued.can_become(Assigned));
        assert!(
            Assigned.can_become(Bot) && Assigned.can_become(Queued) && Assigned.can_become(Closed)
        );
        assert!(
            !Bot.can_become(Assigned),
            "a conversation is queued before it is assigned"
        );
        assert!(!Closed.can_become(Bot) && !Closed.can_become(Queued));
        assert!(!Bot.can_become(Bot));
    }

    #[test]
    fn state_names_match_the_wire_and_round_trip() {
        for state in [Bot, Queued, Assigned, Closed] {
            let wire = serde_json::to_string(&state).unwrap();
            assert_eq!(wire, format!("\"{}\"", state.name()));
            assert_eq!(
                super::ConversationState::from_name(state.name()),
                Some(state)
            );
        }
        assert_eq!(super::ConversationState::from_name("Bot"), None);
    }

    #[test]
    fn the_bot_answers_only_in_bot() {
        assert!(Bot.bot_answers());
        assert!(!Queued.bot_answers() && !Assigned.bot_answers() && !Closed.bot_answers());
    }
}
