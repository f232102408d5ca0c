//! The conversation's bookkeeping as pure functions: what appending an item, a state change, a
//! claim and a transfer do to the record, to its place in line and to the agents' loads. Every
//! store applies these and only stores the result: memory and SQLite inside their one atomic
//! step, Redis on what it read, committed by a check-and-write that fails if anything read has
//! changed since (`store/redis/step.rs`). The conformance suite holds all three to the same
//! behaviour.

use std::collections::VecDeque;

use super::{Claim, Conversation, ConversationState, Event, EventBody, Notice, Turn, TurnOutcome};

/// How many recent waits (queue to agent) the estimate averages.
pub(crate) const RECENT_WAITS: usize = 50;

/// Numbers `body` as the next item of `c`'s log and sets what the item implies: an agent's
/// message answers the assignment, an offline message waits for a follow-up.
pub fn record(c: &mut Conversation, body: EventBody, now: u64) -> Event {
    let event = Event {
        seq: c.last_seq + 1,
        at: now,
        body,
    };
    c.last_seq = event.seq;
    c.updated = now;
    match &event.body {
        EventBody::AgentMessage { .. } | EventBody::AgentFile { .. } => c.agent_answered = true,
        EventBody::OfflineMessage { .. } => c.needs_follow_up = true,
        _ => {}
    }
    event
}

/// Whether `agent` owns `c` now (an agent's reply is stored only then).
pub fn owns(c: &Conversation, agent: &str) -> bool {
    c.state == ConversationState::Assigned && c.agent.as_deref() == Some(agent)
}

/// What a state change did besides the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    /// Its place in line after the move (`None`: not waiting).
    pub ticket: Option<u64>,
    /// The agent who no longer has it.
    pub released: Option<String>,
}

/// A requested state change, as the store receives it.
#[derive(Debug, Clone, Copy)]
pub struct Transition<'a> {
    pub from: ConversationState,
    pub to: ConversationState,
    /// Only if this agent owns the conversation.
    pub agent: Option<&'a str>,
}

/// Applies `t` to `c` if `c` is still in `t.from`, the move is legal and not a claim (`Assigned`
/// is reached only by `claim`), and the agent (if named) owns it; `None` (and `c` untouched)
/// otherwise. `ticket` is its place in line now, `next_ticket` the place a newcomer gets:
/// entering `Queued` from `Bot` takes the back of the line, from `Assigned` it keeps the place
/// it had; leaving `Queued` leaves the line.
pub fn transition(
    c: &mut Conversation,
    ticket: Option<u64>,
    t: Transition<'_>,
    notice: Option<&Notice>,
    next_ticket: u64,
    now: u64,
) -> Option<Moved> {
    use ConversationState::*;
    if c.state != t.from || !t.from.can_become(t.to) || t.to == Assigned {
        return None;
    }
    if t.agent.is_some() && c.agent.as_deref() != t.agent {
        return None;
    }
    let released = c.agent.take();
    c.assigned_at = None;
    c.agent_answered = false;
    c.state = t.to;
    match (t.to, notice) {
        // A return keeps why it came (and the team it waits for).
        (Queued, Some(Notice::Queued { reason }))
            if !(reason.is_a_return() && c.reason.is_some()) =>
        {
            c.reason = Some(reason.clone())
        }
        (Closed, Some(Notice::Closed { resolution })) => c.resolution = resolution.clone(),
        (Bot, _) => {
            c.reason = None;
            c.resolution = None;
        }
        _ => {}
    }
    c.updated = now;
    let ticket = match (t.from, t.to) {
        (Bot, Queued) => {
            c.enqueued_at = Some(now);
            Some(next_ticket)
        }
        (Assigned, Queued) => {
            c.enqueued_at.get_or_insert(now);
            Some(ticket.unwrap_or(next_ticket))
        }
        _ => {
            c.enqueued_at = None;
            None
        }
    };
    Some(Moved { ticket, released })
}

/// `Queued -> Assigned` to `agent`, who has `load` chats now: the wait in milliseconds, or why
/// not (`Gone`: no longer queued; `AtCapacity`).
pub fn claim(
    c: &mut Conversation,
    agent: &str,
    load: usize,
    capacity: usize,
    now: u64,
) -> Result<u64, Claim> {
    if c.state != ConversationState::Queued {
        return Err(Claim::Gone);
    }
    if load >= capacity {
        return Err(Claim::AtCapacity);
    }
    c.state = ConversationState::Assigned;
    c.agent = Some(agent.to_owned());
    c.assigned_at = Some(now);
    c.agent_answered = false;
    c.updated = now;
    Ok(now.saturating_sub(c.enqueued_at.unwrap_or(now)))
}

/// Hands an assigned conversation from `from` to `to` (who has `load_to` chats now).
pub fn transfer(
    c: &mut Conversation,
    from: &str,
    to: &str,
    load_to: usize,
    capacity: usize,
    now: u64,
) -> Claim {
    if c.state != ConversationState::Assigned || c.agent.as_deref() != Some(from) {
        return Claim::Gone;
    }
    if load_to >= capacity {
        return Claim::AtCapacity;
    }
    c.agent = Some(to.to_owned());
    c.assigned_at = Some(now);
    c.agent_answered = false;
    c.updated = now;
    Claim::Claimed
}

/// Applies `turn` to `c` (see `conversation::turn`). `seen` is the seq already stored under the
/// visitor item's client key, if any; `ticket` and `next_ticket` are as for `transition`. Returns
/// the outcome and, when the turn handed off, the move's queue bookkeeping. On `Duplicate` and
/// `Conflict`, `c` is untouched.
pub fn turn(
    c: &mut Conversation,
    ticket: Option<u64>,
    turn: Turn,
    seen: Option<u64>,
    next_ticket: u64,
    now: u64,
) -> (TurnOutcome, Option<Moved>) {
    if let Some(seq) = seen {
        return (TurnOutcome::Duplicate { seq }, None);
    }
    if turn.expected_seq.is_some_and(|seq| seq != c.last_seq) {
        return (TurnOutcome::Conflict, None);
    }
    let mut events = Vec::new();
    if let Some((body, _)) = turn.visitor {
        events.push(record(c, body, now));
    }
    let bot_answered = c.state.bot_answers();
    let mut moved = None;
    if bot_answered {
        for body in turn.bot {
            events.push(record(c, body, now));
        }
        if let Some(memory) = turn.memory {
            c.memory = memory;
        }
        if let Some(reason) = turn.handoff {
            let notice = Notice::Queued { reason };
            let step = Transition {
                from: ConversationState::Bot,
                to: ConversationState::Queued,
                agent: None,
            };
            moved = transition(c, ticket, step, Some(&notice), next_ticket, now);
            events.push(record(c, EventBody::Notice { notice }, now));
        }
    }
    let handed_off = moved.is_some();
    let outcome = TurnOutcome::Done {
        events,
        bot_answered,
        handed_off,
    };
    (outcome, moved)
}

/// Keeps the last `RECENT_WAITS` waits.
pub fn note_wait(waits: &mut VecDeque<u64>, waited: u64) {
    waits.push_back(waited);
    while waits.len() > RECENT_WAITS {
        waits.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::{ConversationId, VisitorInfo};
    use ConversationState::*;

    fn conversation() -> Conversation {
        Conversation::new(ConversationId::random(), VisitorInfo::default())
    }

    fn step(from: ConversationState, to: ConversationState) -> Transition<'static> {
        Transition {
            from,
            to,
            agent: None,
        }
    }

    #[test]
    fn a_requeue_keeps_the_place_and_the_first_enqueue_time() {
        let mut c = conversation();
        let moved = transition(&mut c, None, step(Bot, Queued), None, 7, 100).unwrap();
        assert_eq!(moved.ticket, Some(7));
        assert_eq!(claim(&mut c, "ann", 0, 1, 250), Ok(150));
        let moved = transition(&mut c, Some(7), step(Assigned, Queued), None, 9, 300).unwrap();
        assert_eq!(moved.ticket, Some(7), "back to its old place, not the end");
        assert_eq!(moved.released.as_deref(), Some("ann"));
        assert_eq!(c.enqueued_at, Some(100));
        let moved = transition(&mut c, Some(7), step(Queued, Bot), None, 9, 400).unwrap();
        assert_eq!(moved.ticket, None);
        assert_eq!(c.enqueued_at, None);
    }

    #[test]
    fn a_return_to_the_queue_keeps_why_the_conversation_came() {
        let mut c = conversation();
        let team = Notice::Queued {
            reason: crate::conversation::QueueReason::Team("billing".into()),
        };
        transition(&mut c, None, step(Bot, Queued), Some(&team), 1, 1).unwrap();
        claim(&mut c, "ann", 0, 1, 2).unwrap();
        let ignored = Notice::Queued {
            reason: crate::conversation::QueueReason::NotAnswered,
        };
        transition(
            &mut c,
            Some(1),
            step(Assigned, Queued),
            Some(&ignored),
            2,
            3,
        )
        .unwrap();
        assert_eq!(
            c.reason,
            Some(crate::conversation::QueueReason::Team("billing".into())),
            "still for billing, still saying why it came"
        );
    }

    #[test]
    fn moves_are_refused_from_the_wrong_state_or_by_a_non_owner() {
        let mut c = conversation();
        assert!(transition(&mut c, None, step(Queued, Bot), None, 1, 1).is_none());
        assert!(transition(&mut c, None, step(Bot, Assigned), None, 1, 1).is_none());
        transition(&mut c, None, step(Bot, Queued), None, 1, 1).unwrap();
        claim(&mut c, "ann", 0, 1, 2).unwrap();
        let by_bob = Transition {
            agent: Some("bob"),
            ..step(Assigned, Bot)
        };
        let before = c.clone();
        assert!(transition(&mut c, Some(1), by_bob, None, 2, 3).is_none());
        assert_eq!(c, before, "a refused move changes nothing");
    }

    #[test]
    fn claims_and_transfers_respect_state_and_capacity() {
        let mut c = conversation();
        assert_eq!(claim(&mut c, "ann", 0, 1, 1), Err(Claim::Gone));
        transition(&mut c, None, step(Bot, Queued), None, 1, 1).unwrap();
        assert_eq!(claim(&mut c, "ann", 1, 1, 1), Err(Claim::AtCapacity));
        claim(&mut c, "ann", 0, 1, 5).unwrap();
        assert_eq!(transfer(&mut c, "bob", "cy", 0, 1, 6), Claim::Gone);
        assert_eq!(transfer(&mut c, "ann", "cy", 1, 1, 6), Claim::AtCapacity);
        assert_eq!(transfer(&mut c, "ann", "cy", 0, 1, 6), Claim::Claimed);
        assert_eq!(c.agent.as_deref(), Some("cy"));
    }

    #[test]
    fn a_turn_answers_only_in_bot_and_only_on_the_snapshot_it_was_decided_on() {
        let answer = || EventBody::Notice {
            notice: crate::conversation::Notice::BackToBot,
        };
        let mut c = conversation();
        let mut t = Turn::message("hi".into(), "c-1".into());
        t.expected_seq = Some(0);
        t.bot = vec![answer()];
        t.handoff = Some(crate::conversation::QueueReason::VisitorAsked);
        let (outcome, moved) = turn(&mut c, None, t.clone(), None, 1, 10);
        let TurnOutcome::Done {
            events, handed_off, ..
        } = outcome
        else {
            panic!("stored: {outcome:?}")
        };
        assert_eq!(
            events.iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
        assert!(handed_off && c.state == Queued);
        assert_eq!(moved.unwrap().ticket, Some(1));
        let before = c.clone();
        assert_eq!(
            turn(&mut c, Some(1), t.clone(), None, 2, 11).0,
            TurnOutcome::Conflict
        );
        assert_eq!(
            turn(&mut c, Some(1), t.clone(), Some(1), 2, 11).0,
            TurnOutcome::Duplicate { seq: 1 }
        );
        assert_eq!(c, before, "neither stores anything");
        t.expected_seq = Some(3);
        let (outcome, moved) = turn(&mut c, Some(1), t, None, 2, 12);
        let TurnOutcome::Done {
            events,
            bot_answered,
            handed_off,
        } = outcome
        else {
            panic!("stored: {outcome:?}")
        };
        assert_eq!(
            events.len(),
            1,
            "only the visitor's message: the bot is silent when queued"
        );
        assert!(!bot_answered && !handed_off && moved.is_none());
    }

    #[test]
    fn items_are_numbered_and_set_their_flags() {
        let mut c = conversation();
        let e = record(
            &mut c,
            EventBody::OfflineMessage {
                email: "a@example.com".into(),
                text: "hi".into(),
            },
            42,
        );
        assert_eq!((e.seq, c.last_seq, c.updated), (1, 1, 42));
        assert!(c.needs_follow_up);
        let mut waits = VecDeque::new();
        for n in 0..(RECENT_WAITS as u64 + 5) {
            note_wait(&mut waits, n);
        }
        assert_eq!(waits.len(), RECENT_WAITS);
        assert_eq!(waits.front(), Some(&5));
    }
}
