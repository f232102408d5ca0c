//! One turn of the conversation, decided on a snapshot and committed in one store step: what the
//! visitor did (a message, a choice, feedback), and what the bot says back, the matcher's memory
//! after it and, if the turn ends in a handoff, the move to the queue with its notice.
//!
//! The store stores the visitor's part whatever the state, and the bot's part only if the
//! conversation is still with the bot. With `expected_seq`, it stores nothing at all unless the
//! log still ends where the snapshot saw it (nothing newer happened): the caller then re-reads
//! and decides again. So two tabs of one conversation can never make the bot answer after
//! "connecting you" or after "Ann joined", and the matcher's memory is never based on a stale
//! read.

use super::{Event, EventBody, Notice, QueueReason};
use crate::matcher::Memory;

/// What one turn stores (see the module doc).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Turn {
    /// The visitor's item, stored whatever the state. With a client key (a message's
    /// `client_id`) it is stored once: a resend is `TurnOutcome::Duplicate`.
    pub visitor: Option<(EventBody, Option<String>)>,
    /// Store nothing unless the log's last seq is still this (the snapshot's).
    pub expected_seq: Option<u64>,
    /// The bot's items, stored only while the conversation is in `Bot`.
    pub bot: Vec<EventBody>,
    /// The matcher's memory after this turn (stored with the bot's items).
    pub memory: Option<Memory>,
    /// Ends the turn with `Bot -> Queued` for this reason, the `queued` notice in the same step.
    pub handoff: Option<QueueReason>,
}

/// What became of a turn.
#[derive(Debug, Clone, PartialEq)]
pub enum TurnOutcome {
    /// The visitor's item is already stored under its client key, at `seq`: nothing was stored.
    Duplicate { seq: u64 },
    /// The log moved on since the snapshot: nothing was stored; read again and decide again.
    Conflict,
    /// Stored: every new event, in order.
    Done {
        events: Vec<Event>,
        /// The bot's part was stored (the conversation was still with the bot).
        bot_answered: bool,
        /// The conversation entered the queue.
        handed_off: bool,
    },
}

impl Turn {
    /// A visitor's message (once per `client_id`).
    pub fn message(text: String, client_id: String) -> Turn {
        Turn {
            visitor: Some((
                EventBody::VisitorMessage {
                    text,
                    client_id: client_id.clone(),
                },
                Some(client_key(Side::Visitor, &client_id)),
            )),
            ..Turn::default()
        }
    }

    /// The `queued` notice that a handoff for `reason` appends.
    pub fn queued_notice(reason: &QueueReason) -> EventBody {
        EventBody::Notice {
            notice: Notice::Queued {
                reason: reason.clone(),
            },
        }
    }
}

/// Who chose a `client_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Visitor,
    Agent,
}

/// The key a `client_id` is stored once under: visitors and agents choose theirs freely, so each
/// side has its own namespace (a visitor's `agent:r-42` is not an agent's `r-42`).
pub fn client_key(side: Side, client_id: &str) -> String {
    match side {
        Side::Visitor => format!("visitor:{client_id}"),
        Side::Agent => format!("agent:{client_id}"),
    }
}
