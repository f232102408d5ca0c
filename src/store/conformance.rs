//! The behaviour every `Store` backend must show, written once over the trait. Each backend runs
//! all of it with `store_conformance_tests!(constructor)`; the Redis backend runs the very same
//! functions against a real redis-server.
//!
//! These panic on failure (they are test bodies); every wait has a timeout.

use std::sync::Arc;
use std::time::Duration;

use crate::conversation::{Claim, ConversationId, Token, VisitorInfo};
use crate::conversation::{ConversationState, EventBody, Notice, QueueReason, Turn, TurnOutcome};
use crate::matcher::Memory;
use crate::ports::{Appended, Presence, Signal, Store, StoreError};

/// The longest any conformance step may wait for the store.
const WAIT: Duration = Duration::from_secs(5);

fn notice(n: u32) -> EventBody {
    EventBody::Notice {
        notice: Notice::Queued {
            reason: QueueReason::Team(format!("t{n}")),
        },
    }
}

fn queued_for(reason: QueueReason) -> Notice {
    Notice::Queued { reason }
}

pub async fn creates_and_resumes_conversations(store: Arc<dyn Store>) {
    let visitor = VisitorInfo {
        name: Some("Ana".into()),
        locale: Some("es-MX".into()),
        ..VisitorInfo::default()
    };
    let (a, token_a) = store.create(visitor.clone(), None).await.unwrap();
    let (b, token_b) = store.create(VisitorInfo::default(), None).await.unwrap();
    assert_ne!(a.id, b.id);
    let (with, its_token) = store.get_with_token(&a.id).await.unwrap().unwrap();
    assert_eq!(with.id, a.id);
    assert!(its_token.matches(&token_a), "the token that resumes it");
    assert!(!its_token.matches(&token_b));
    let unknown = crate::conversation::ConversationId::random();
    assert!(store.get_with_token(&unknown).await.unwrap().is_none());
    assert_eq!(a.state, ConversationState::Bot);
    assert_eq!(a.last_seq, 0);
    let resumed = store
        .resume(&token_a)
        .await
        .unwrap()
        .expect("its own token resumes it");
    assert_eq!(resumed.id, a.id);
    assert_eq!(resumed.visitor, visitor);
    assert_eq!(
        resumed.memory.language.as_deref(),
        Some("es-MX"),
        "until the visitor writes, the browser's locale is the conversation's language"
    );
    assert_eq!(store.resume(&token_b).await.unwrap().unwrap().id, b.id);
    let forged = Token::new(a.id.clone());
    assert!(
        store.resume(&forged).await.unwrap().is_none(),
        "a wrong secret resumes nothing"
    );
    assert!(store.get(&a.id).await.unwrap().is_some());
}

pub async fn appends_get_consecutive_sequence_numbers_and_replay_exactly(store: Arc<dyn Store>) {
    let (c, _) = store.create(VisitorInfo::default(), None).await.unwrap();
    for n in 1..=5 {
        let e = store.append(&c.id, notice(n)).await.unwrap();
        assert_eq!(e.seq, u64::from(n));
    }
    let all = store.events_after(&c.id, 0).await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
    assert_eq!(all[2].body, notice(3));
    let after_3 = store.events_after(&c.id, 3).await.unwrap();
    assert_eq!(
        after_3.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![4, 5]
    );
    assert!(store.events_after(&c.id, 5).await.unwrap().is_empty());
    assert!(store.events_after(&c.id, 99).await.unwrap().is_empty());
    for past_the_end in [u64::MAX, u64::MAX / 2, i64::MAX as u64 + 1] {
        assert!(
            store
                .events_after(&c.id, past_the_end)
                .await
                .unwrap()
                .is_empty(),
            "after {past_the_end}"
        );
    }
    assert_eq!(store.get(&c.id).await.unwrap().unwrap().last_seq, 5);
}

pub async fn a_resent_client_id_is_not_stored_twice(store: Arc<dyn Store>) {
    let (c, _) = store.create(VisitorInfo::default(), None).await.unwrap();
    let first = store
        .turn(&c.id, Turn::message("hello".into(), "c-1".into()))
        .await
        .unwrap();
    let TurnOutcome::Done { events, .. } = first else {
        panic!("the first send is stored: {first:?}")
    };
    let event = &events[0];
    let again = store
        .turn(&c.id, Turn::message("hello".into(), "c-1".into()))
        .await
        .unwrap();
    assert_eq!(again, TurnOutcome::Duplicate { seq: event.seq });
    assert_eq!(store.events_after(&c.id, 0).await.unwrap().len(), 1);
    let other = store
        .turn(&c.id, Turn::message("hello".into(), "c-2".into()))
        .await
        .unwrap();
    assert!(matches!(other, TurnOutcome::Done { events, .. } if events[0].seq == 2));
}

pub async fn concurrent_appends_never_share_a_sequence_number(store: Arc<dyn Store>) {
    let (c, _) = store.create(VisitorInfo::default(), None).await.unwrap();
    let tasks: Vec<_> = (0..50)
        .map(|n| {
            let store = store.clone();
            let id = c.id.clone();
            tokio::spawn(async move {
                store
                    .turn(&id, Turn::message(format!("m{n}"), format!("id-{n}")))
                    .await
                    .unwrap()
            })
        })
        .collect();
    for t in tasks {
        tokio::time::timeout(WAIT, t)
            .await
            .expect("append finishes")
            .unwrap();
    }
    let seqs: Vec<u64> = store
        .events_after(&c.id, 0)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, (1..=50).collect::<Vec<_>>());
}

pub async fn transitions_are_compare_and_set_and_follow_the_state_machine(store: Arc<dyn Store>) {
    let (c, _) = store.create(VisitorInfo::default(), None).await.unwrap();
    use ConversationState::*;
    assert!(
        !store
            .transition(&c.id, Bot, Assigned, None, None)
            .await
            .unwrap(),
        "illegal move"
    );
    assert!(
        store
            .transition(
                &c.id,
                Bot,
                Queued,
                None,
                Some(queued_for(QueueReason::Frustrated))
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .transition(&c.id, Bot, Queued, None, None)
            .await
            .unwrap(),
        "no longer in Bot"
    );
    assert!(
        !store
            .transition(&c.id, Queued, Assigned, None, None)
            .await
            .unwrap(),
        "Assigned is reached only by a claim"
    );
    let now = store.get(&c.id).await.unwrap().unwrap();
    assert_eq!(now.state, Queued);
    assert_eq!(now.reason, Some(QueueReason::Frustrated));
    assert!(now.enqueued_at.is_some());
}

/// 1-based place in the queue, if queued.
async fn position(
    store: &Arc<dyn Store>,
    id: &crate::conversation::ConversationId,
) -> Option<usize> {
    let queue = store.queue().await.unwrap();
    queue.iter().position(|q| q == id).map(|i| i + 1)
}

async fn queued(store: &Arc<dyn Store>) -> crate::conversation::ConversationId {
    let (c, _) = store.create(VisitorInfo::default(), None).await.unwrap();
    enqueue(store, &c.id).await;
    c.id
}

/// Bot -> Queued (the visitor asked), which must succeed.
async fn enqueue(store: &Arc<dyn Store>, id: &crate::conversation::ConversationId) {
    assert!(
        store
            .transition(
                id,
                ConversationState::Bot,
                ConversationState::Queued,
                None,
                Some(queued_for(QueueReason::VisitorAsked))
            )
            .await
            .unwrap()
    );
}

pub async fn only_one_of_many_concurrent_claims_wins(store: Arc<dyn Store>) {
    let id = queued(&store).await;
    let claims: Vec<_> = (0..20)
        .map(|n| {
            let store = store.clone();
            let id = id.clone();
            tokio::spawn(async move {
                store
                    .claim(&id, &format!("agent-{n}"), 5, None)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut wins = 0;
    for t in claims {
        let claim = tokio::time::timeout(WAIT, t)
            .await
            .expect("claim finishes")
            .unwrap();
        wins += usize::from(claim == Claim::Claimed);
    }
    assert_eq!(wins, 1);
    let c = store.get(&id).await.unwrap().unwrap();
    assert_eq!(c.state, ConversationState::Assigned);
    let owner = c.agent.expect("an owner");
    let agents = store.agents().await.unwrap();
    let with_chats: Vec<_> = agents.iter().filter(|a| !a.chats.is_empty()).collect();
    assert_eq!(with_chats[0].chats[0].id, id);
    assert!(with_chats[0].chats[0].since > 0);
    assert_eq!(with_chats.len(), 1, "{agents:?}");
    assert_eq!(with_chats[0].id, owner);
    assert!(store.queue().await.unwrap().is_empty());
}

pub async fn an_agent_racing_for_many_conversations_never_passes_capacity(store: Arc<dyn Store>) {
    let mut ids = Vec::new();
    for _ in 0..10 {
        ids.push(queued(&store).await);
    }
    let claims: Vec<_> = ids
        .iter()
        .map(|id| {
            let (store, id) = (store.clone(), id.clone());
            tokio::spawn(async move { store.claim(&id, "ann", 3, None).await.unwrap() })
        })
        .collect();
    let mut outcomes = Vec::new();
    for t in claims {
        outcomes.push(
            tokio::time::timeout(WAIT, t)
                .await
                .expect("claim finishes")
                .unwrap(),
        );
    }
    let won = outcomes.iter().filter(|c| **c == Claim::Claimed).count();
    assert_eq!(won, 3, "{outcomes:?}");
    assert!(outcomes.iter().all(|c| *c != Claim::Gone), "{outcomes:?}");
    let agents = store.agents().await.unwrap();
    let ann = agents
        .iter()
        .find(|a| a.id == "ann")
        .expect("ann has chats");
    assert_eq!(ann.chats.len(), 3);
    assert_eq!(store.queue().await.unwrap().len(), 7);
}

pub async fn racing_handoffs_all_join_the_line_once_each_in_its_own_place(store: Arc<dyn Store>) {
    let mut ids = Vec::new();
    for _ in 0..12 {
        let (c, _) = store.create(VisitorInfo::default(), None).await.unwrap();
        ids.push(c.id);
    }
    let moves: Vec<_> = ids
        .iter()
        .map(|id| {
            let (store, id) = (store.clone(), id.clone());
            tokio::spawn(async move { enqueue(&store, &id).await })
        })
        .collect();
    for t in moves {
        tokio::time::timeout(WAIT, t)
            .await
            .expect("the move finishes")
            .unwrap();
    }
    let line = store.queue().await.unwrap();
    let mut sorted = line.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 12, "each once: {line:?}");
    // Everyone served, then every agent leaves (last served first): each goes back to the place
    // it had, so the line is as it was only if no two shared a place.
    for (n, id) in line.iter().enumerate() {
        let agent = format!("agent-{n}");
        assert_eq!(
            store.claim(id, &agent, 1, None).await.unwrap(),
            Claim::Claimed
        );
    }
    for (n, id) in line.iter().enumerate().rev() {
        let agent = format!("agent-{n}");
        let back = store
            .transition(
                id,
                ConversationState::Assigned,
                ConversationState::Queued,
                Some(&agent),
                None,
            )
            .await
            .unwrap();
        assert!(back);
    }
    assert_eq!(store.queue().await.unwrap(), line);
}

pub async fn the_queue_keeps_arrival_order_and_a_requeue_keeps_its_place(store: Arc<dyn Store>) {
    let a = queued(&store).await;
    let b = queued(&store).await;
    let c = queued(&store).await;
    assert_eq!(
        store.queue().await.unwrap(),
        vec![a.clone(), b.clone(), c.clone()]
    );
    assert_eq!(position(&store, &c).await, Some(3));
    assert_eq!(
        store.claim(&a, "ann", 2, None).await.unwrap(),
        Claim::Claimed
    );
    assert_eq!(position(&store, &b).await, Some(1));
    assert_eq!(position(&store, &a).await, None);
    // Ann leaves: the conversation goes back to where it stood, ahead of b and c.
    assert!(
        store
            .transition(
                &a,
                ConversationState::Assigned,
                ConversationState::Queued,
                Some("ann"),
                Some(queued_for(QueueReason::AgentLeft))
            )
            .await
            .unwrap()
    );
    assert_eq!(
        store.queue().await.unwrap(),
        vec![a.clone(), b.clone(), c.clone()]
    );
    assert!(
        store.agents().await.unwrap()[0].chats.is_empty(),
        "ann is free again"
    );
    assert_eq!(
        store.get(&a).await.unwrap().unwrap().reason,
        Some(QueueReason::VisitorAsked),
        "a return keeps why the conversation came (the log keeps the return)"
    );
    // Back to the bot: out of the line.
    assert!(
        store
            .transition(
                &b,
                ConversationState::Queued,
                ConversationState::Bot,
                None,
                None
            )
            .await
            .unwrap()
    );
    assert_eq!(store.queue().await.unwrap(), vec![a, c.clone()]);

    assert_eq!(position(&store, &c).await, Some(2));
    assert_eq!(position(&store, &b).await, None);
    let b = store.get(&b).await.unwrap().unwrap();
    assert_eq!(b.reason, None, "back with the bot: no reason to wait");
}

pub async fn capacity_ownership_and_transfers_are_enforced(store: Arc<dyn Store>) {
    let a = queued(&store).await;
    let b = queued(&store).await;
    let joined = |name: &str| Some(Notice::Assigned { agent: name.into() });
    // Who joined is in the log in the claim's own step; a refused claim writes nothing.
    let logged = async |id: &ConversationId| store.events_after(id, 0).await.unwrap();
    let (a_before, b_before) = (logged(&a).await.len(), logged(&b).await.len());
    assert_eq!(
        store.claim(&a, "ann", 1, joined("Ann")).await.unwrap(),
        Claim::Claimed
    );
    let a_log = logged(&a).await;
    assert_eq!(a_log.len(), a_before + 1);
    assert_eq!(
        a_log.last().unwrap().body,
        EventBody::Notice {
            notice: Notice::Assigned {
                agent: "Ann".into()
            }
        }
    );
    assert_eq!(
        store.get(&a).await.unwrap().unwrap().last_seq,
        a_log.last().unwrap().seq
    );
    assert_eq!(
        store.claim(&b, "ann", 1, joined("Ann")).await.unwrap(),
        Claim::AtCapacity
    );
    assert_eq!(
        store.claim(&a, "bob", 1, joined("Bob")).await.unwrap(),
        Claim::Gone
    );
    assert_eq!(
        logged(&b).await.len(),
        b_before,
        "a refused claim says nothing"
    );
    assert_eq!(logged(&a).await.len(), a_before + 1);
    assert!(
        !store
            .transition(
                &a,
                ConversationState::Assigned,
                ConversationState::Bot,
                Some("bob"),
                None
            )
            .await
            .unwrap(),
        "only the owner hands back"
    );
    assert_eq!(
        store
            .transfer(&a, "bob", "cid", 1, joined("Cid"))
            .await
            .unwrap(),
        Claim::Gone
    );
    assert_eq!(
        logged(&a).await.len(),
        a_before + 1,
        "a refused transfer says nothing"
    );
    assert_eq!(
        store.claim(&b, "bob", 1, None).await.unwrap(),
        Claim::Claimed
    );
    assert_eq!(
        store.transfer(&a, "ann", "bob", 1, None).await.unwrap(),
        Claim::AtCapacity
    );
    assert_eq!(
        store
            .transfer(&a, "ann", "cid", 1, joined("Cid"))
            .await
            .unwrap(),
        Claim::Claimed
    );
    assert_eq!(
        logged(&a).await.last().unwrap().body,
        EventBody::Notice {
            notice: Notice::Assigned {
                agent: "Cid".into()
            }
        },
        "who joined, in the transfer's own step"
    );
    let c = store.get(&a).await.unwrap().unwrap();
    assert_eq!(c.agent.as_deref(), Some("cid"));
    assert!(!c.agent_answered);
    let reply = |who: &str| EventBody::AgentMessage {
        agent: who.into(),
        text: "hi".into(),
        client_id: Some("r-1".into()),
    };
    assert!(
        store
            .append_once(&a, reply("Ann"), Some("a:r-1"), Some("ann"))
            .await
            .unwrap()
            .is_none(),
        "after the transfer, Ann no longer writes to it"
    );
    let written = store
        .append_once(&a, reply("Cid"), Some("a:r-1"), Some("cid"))
        .await
        .unwrap();
    let Some(Appended::New(first)) = written else {
        panic!("stored: {written:?}")
    };
    assert_eq!(first.body, reply("Cid"));
    let again = store
        .append_once(&a, reply("Cid"), Some("a:r-1"), Some("cid"))
        .await
        .unwrap();
    assert_eq!(
        again,
        Some(Appended::Duplicate { seq: first.seq }),
        "a resend stores nothing"
    );
    assert!(store.get(&a).await.unwrap().unwrap().agent_answered);
    assert_eq!(
        store
            .append_once(&a, reply("Cid"), Some("a:r-1"), Some("ann"))
            .await
            .unwrap(),
        Some(Appended::Duplicate { seq: first.seq }),
        "a resend of a stored reply is a duplicate, not refused, whoever owns the chat now"
    );
    let loads: Vec<(String, usize)> = store
        .agents()
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.id, a.chats.len()))
        .collect();
    assert_eq!(
        loads,
        vec![("ann".into(), 0), ("bob".into(), 1), ("cid".into(), 1)]
    );
    assert!(
        store
            .transition(
                &a,
                ConversationState::Assigned,
                ConversationState::Closed,
                Some("cid"),
                Some(Notice::Closed {
                    resolution: Some("solved".into())
                })
            )
            .await
            .unwrap()
    );
    assert!(store.agents().await.unwrap()[2].chats.is_empty());
    assert!(store.average_wait().await.unwrap().is_some());
    let closed = store.get(&a).await.unwrap().unwrap();
    assert_eq!(
        (closed.reason, closed.resolution.as_deref()),
        (Some(QueueReason::VisitorAsked), Some("solved")),
        "closing keeps why the bot let go and adds the resolution"
    );
}

pub async fn presence_expires_without_a_heartbeat(store: Arc<dyn Store>) {
    let mut routing = store.bus().watch_routing();
    routing.borrow_and_update();
    store
        .presence()
        .set("ann", Presence::Online, Duration::from_millis(300))
        .await
        .unwrap();
    tokio::time::timeout(WAIT, routing.changed())
        .await
        .expect("a presence change is a routing change")
        .unwrap();
    store
        .presence()
        .set("bob", Presence::Away, Duration::from_secs(30))
        .await
        .unwrap();
    let presence = |agents: Vec<crate::ports::AgentState>| {
        agents
            .into_iter()
            .map(|a| (a.id, a.presence))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        presence(store.agents().await.unwrap()),
        vec![
            ("ann".into(), Presence::Online),
            ("bob".into(), Presence::Away)
        ]
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        presence(store.agents().await.unwrap()),
        vec![
            ("ann".into(), Presence::Offline),
            ("bob".into(), Presence::Away)
        ]
    );
}

pub async fn offline_messages_wait_for_a_follow_up(store: Arc<dyn Store>) {
    let (c, _) = store.create(VisitorInfo::default(), None).await.unwrap();
    store
        .append(
            &c.id,
            EventBody::OfflineMessage {
                email: "a@example.com".into(),
                text: "call me".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(store.follow_ups().await.unwrap(), vec![c.id.clone()]);
    assert!(store.get(&c.id).await.unwrap().unwrap().needs_follow_up);
    store.mark_followed_up(&c.id).await.unwrap();
    assert!(store.follow_ups().await.unwrap().is_empty());
    assert!(!store.get(&c.id).await.unwrap().unwrap().needs_follow_up);
}

pub async fn agent_sessions_resolve_until_ended_or_expired(store: Arc<dyn Store>) {
    let secret = store
        .create_session("ann", Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(
        store.session_agent(&secret).await.unwrap().as_deref(),
        Some("ann")
    );
    assert_eq!(store.session_agent("nope").await.unwrap(), None);
    store.end_session(&secret).await.unwrap();
    assert_eq!(store.session_agent(&secret).await.unwrap(), None);
    let short = store
        .create_session("bob", Duration::from_millis(200))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(store.session_agent(&short).await.unwrap(), None);
}

pub async fn a_visitor_key_links_that_visitors_conversations_only(store: Arc<dyn Store>) {
    let key = crate::conversation::VisitorKey::random();
    let (first, _) = store
        .create(VisitorInfo::default(), Some(key.clone()))
        .await
        .unwrap();
    let (_other, _) = store
        .create(
            VisitorInfo::default(),
            Some(crate::conversation::VisitorKey::random()),
        )
        .await
        .unwrap();
    let (_anonymous, _) = store.create(VisitorInfo::default(), None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2)).await;
    let (second, _) = store
        .create(VisitorInfo::default(), Some(key.clone()))
        .await
        .unwrap();
    assert_eq!(
        store.visitor_conversations(&key).await.unwrap(),
        vec![first.id.clone(), second.id.clone()]
    );
    assert_eq!(
        store.get(&second.id).await.unwrap().unwrap().visitor_key,
        Some(key)
    );
}

pub async fn typing_reaches_subscribers_without_being_logged(store: Arc<dyn Store>) {
    let (c, _) = store.create(VisitorInfo::default(), None).await.unwrap();
    let mut rx = store.bus().subscribe(&c.id);
    store.bus().typing(&c.id, Some("Ann")).await.unwrap();
    let signal = tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("typing arrives")
        .unwrap();
    assert_eq!(
        *signal,
        Signal::Typing {
            agent: Some("Ann".into())
        }
    );
    assert!(store.events_after(&c.id, 0).await.unwrap().is_empty());
}

pub async fn subscribers_get_every_new_event_in_order(store: Arc<dyn Store>) {
    let (c, _) = store.create(VisitorInfo::default(), None).await.unwrap();
    let mut rx = store.bus().subscribe(&c.id);
    for n in 1..=3 {
        store.append(&c.id, notice(n)).await.unwrap();
    }
    for n in 1..=3u64 {
        let signal = tokio::time::timeout(WAIT, rx.recv())
            .await
            .expect("event arrives")
            .unwrap();
        let Signal::Event(e) = &*signal else {
            panic!("an event, not {signal:?}")
        };
        assert_eq!(e.seq, n);
    }
}

pub async fn memory_is_kept_with_the_conversation(store: Arc<dyn Store>) {
    let (c, _) = store.create(VisitorInfo::default(), None).await.unwrap();
    let memory = Memory {
        frustration_at_handoff: 1.2,
        frustration: 0.7,
        fallbacks_in_row: 1,
        recent_questions: vec!["order where".into()],
        language: Some("de".into()),
    };
    let turn = Turn {
        memory: Some(memory.clone()),
        ..Turn::default()
    };
    store.turn(&c.id, turn).await.unwrap();
    assert_eq!(store.get(&c.id).await.unwrap().unwrap().memory, memory);
}

pub async fn an_unknown_conversation_is_a_not_found_error(store: Arc<dyn Store>) {
    let missing = crate::conversation::ConversationId::random();
    assert!(matches!(
        store.append(&missing, notice(1)).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(store.get(&missing).await.unwrap().is_none());
    store.ping().await.unwrap();
}

pub async fn conversations_are_listed_by_creation_time(store: Arc<dyn Store>) {
    let before = crate::conversation::now_ms();
    let (a, _) = store.create(VisitorInfo::default(), None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(3)).await;
    let (b, _) = store.create(VisitorInfo::default(), None).await.unwrap();
    let after = crate::conversation::now_ms() + 1;
    let all = store.conversations_created(before, after).await.unwrap();
    assert_eq!(all, vec![a.id.clone(), b.id.clone()], "oldest first");
    assert_eq!(
        store.conversations_created(b.created, after).await.unwrap(),
        vec![b.id.clone()],
        "`from` is inclusive"
    );
    assert!(
        !store
            .conversations_created(before, b.created)
            .await
            .unwrap()
            .contains(&b.id),
        "`to` is exclusive"
    );
}

pub async fn delete_erases_every_trace_of_one_conversation_only(store: Arc<dyn Store>) {
    use crate::conversation::VisitorKey;
    let key = VisitorKey::random();
    let (gone, token) = store
        .create(VisitorInfo::default(), Some(key.clone()))
        .await
        .unwrap();
    let (kept, _) = store
        .create(VisitorInfo::default(), Some(key.clone()))
        .await
        .unwrap();
    let (queued, _) = store.create(VisitorInfo::default(), None).await.unwrap();
    for c in [&gone, &kept, &queued] {
        store
            .turn(&c.id, Turn::message("my card is 4111".into(), "c-1".into()))
            .await
            .unwrap();
    }
    store
        .append(
            &gone.id,
            EventBody::OfflineMessage {
                email: "a@b.example".into(),
                text: "call me".into(),
            },
        )
        .await
        .unwrap();
    // `gone` is assigned to an agent, `queued` waits in line.
    for c in [&gone, &queued] {
        enqueue(&store, &c.id).await;
    }
    assert_eq!(
        store.claim(&gone.id, "erin", 3, None).await.unwrap(),
        Claim::Claimed
    );
    let t0 = crate::conversation::now_ms();
    store
        .presence()
        .set("erin", Presence::Online, Duration::from_secs(30))
        .await
        .unwrap();

    assert!(store.delete(&gone.id).await.unwrap());
    assert!(!store.delete(&gone.id).await.unwrap(), "already gone");
    assert!(store.get(&gone.id).await.unwrap().is_none());
    assert!(store.resume(&token).await.unwrap().is_none());
    assert!(matches!(
        store.events_after(&gone.id, 0).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.append(&gone.id, notice(1)).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        store.visitor_conversations(&key).await.unwrap(),
        vec![kept.id.clone()]
    );
    assert!(!store.follow_ups().await.unwrap().contains(&gone.id));
    let erin = store
        .agents()
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.id == "erin")
        .unwrap();
    assert!(erin.chats.is_empty(), "{erin:?}");
    assert!(
        !store
            .conversations_created(0, t0 + 1)
            .await
            .unwrap()
            .contains(&gone.id)
    );
    // The others are untouched.
    assert_eq!(store.events_after(&kept.id, 0).await.unwrap().len(), 1);
    assert_eq!(store.queue().await.unwrap(), vec![queued.id.clone()]);
    assert!(store.delete(&queued.id).await.unwrap());
    assert!(store.queue().await.unwrap().is_empty(), "left the line");
}

pub async fn inactive_conversations_are_found_by_last_activity(store: Arc<dyn Store>) {
    let (idle, _) = store.create(VisitorInfo::default(), None).await.unwrap();
    let (busy, _) = store.create(VisitorInfo::default(), None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let cut = crate::conversation::now_ms();
    tokio::time::sleep(Duration::from_millis(5)).await;
    store.append(&busy.id, notice(1)).await.unwrap();
    let inactive = store.inactive_before(cut).await.unwrap();
    assert!(inactive.contains(&idle.id), "{inactive:?}");
    assert!(
        !inactive.contains(&busy.id),
        "created before the cut-off, but active after it"
    );
}

pub async fn retention_erases_only_conversations_idle_past_it(store: Arc<dyn Store>) {
    let (idle, _) = store.create(VisitorInfo::default(), None).await.unwrap();
    let (active, _) = store.create(VisitorInfo::default(), None).await.unwrap();
    store.append(&idle.id, notice(1)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    store.append(&active.id, notice(1)).await.unwrap();
    let erased = crate::privacy::purge_expired(store.as_ref(), Duration::from_millis(150))
        .await
        .unwrap();
    assert!(erased >= 1, "the idle one expired");
    assert!(store.get(&idle.id).await.unwrap().is_none());
    assert_eq!(
        store.events_after(&active.id, 0).await.unwrap().len(),
        1,
        "a conversation active within the retention is kept whole"
    );
}

pub async fn forget_erases_one_visitor_and_nothing_else(store: Arc<dyn Store>) {
    use crate::conversation::VisitorKey;
    let (gone, kept) = (VisitorKey::random(), VisitorKey::random());
    let mut theirs = Vec::new();
    for _ in 0..2 {
        let (c, _) = store
            .create(VisitorInfo::default(), Some(gone.clone()))
            .await
            .unwrap();
        store
            .turn(&c.id, Turn::message("hello".into(), "c-1".into()))
            .await
            .unwrap();
        theirs.push(c.id);
    }
    let (other, _) = store
        .create(VisitorInfo::default(), Some(kept.clone()))
        .await
        .unwrap();
    let (anonymous, _) = store.create(VisitorInfo::default(), None).await.unwrap();
    assert_eq!(
        crate::privacy::forget_visitor(store.as_ref(), &gone)
            .await
            .unwrap(),
        2
    );
    for id in &theirs {
        assert!(store.get(id).await.unwrap().is_none());
    }
    assert!(store.visitor_conversations(&gone).await.unwrap().is_empty());
    assert_eq!(
        store.visitor_conversations(&kept).await.unwrap(),
        vec![other.id.clone()]
    );
    assert!(store.get(&other.id).await.unwrap().is_some());
    assert!(store.get(&anonymous.id).await.unwrap().is_some());
}

fn bot_answer(text: &str) -> EventBody {
    EventBody::BotAnswer {
        decision: crate::conversation::AnswerKind::Answer,
        html: text.into(),
        text: text.into(),
        options: Vec::new(),
        offer_human: false,
        faq: None,
        explanation: None,
        lang: None,
    }
}

pub async fn a_turn_stores_the_message_reply_and_memory_in_one_step(store: Arc<dyn Store>) {
    let (c, _) = store.create(VisitorInfo::default(), None).await.unwrap();
    let memory = Memory {
        fallbacks_in_row: 2,
        ..Memory::default()
    };
    let mut turn = Turn::message("hi".into(), "c-1".into());
    turn.expected_seq = Some(0);
    turn.bot = vec![bot_answer("hello")];
    turn.memory = Some(memory.clone());
    let TurnOutcome::Done {
        events,
        bot_answered,
        handed_off,
    } = store.turn(&c.id, turn.clone()).await.unwrap()
    else {
        panic!("the turn is stored")
    };
    assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2]);
    assert!(bot_answered && !handed_off);
    assert_eq!(store.events_after(&c.id, 0).await.unwrap(), events);
    let stored = store.get(&c.id).await.unwrap().unwrap();
    assert_eq!((stored.memory, stored.last_seq), (memory, 2));
    assert_eq!(
        store.turn(&c.id, turn).await.unwrap(),
        TurnOutcome::Duplicate { seq: 1 },
        "a resent message is not stored again, nor answered again"
    );
    let mut stale = Turn::message("again".into(), "c-2".into());
    stale.expected_seq = Some(1);
    stale.bot = vec![bot_answer("late")];
    assert_eq!(
        store.turn(&c.id, stale).await.unwrap(),
        TurnOutcome::Conflict
    );
    assert_eq!(
        store.events_after(&c.id, 0).await.unwrap().len(),
        2,
        "a conflicting turn stores nothing"
    );
}

pub async fn a_turn_that_hands_off_queues_with_its_notice_and_then_the_bot_is_silent(
    store: Arc<dyn Store>,
) {
    let (c, _) = store.create(VisitorInfo::default(), None).await.unwrap();
    let mut routing = store.bus().watch_routing();
    routing.borrow_and_update();
    let handoff = Turn {
        bot: vec![bot_answer("connecting you")],
        handoff: Some(QueueReason::VisitorAsked),
        ..Turn::default()
    };
    let TurnOutcome::Done {
        events, handed_off, ..
    } = store.turn(&c.id, handoff.clone()).await.unwrap()
    else {
        panic!("the handoff is stored")
    };
    assert!(handed_off);
    assert_eq!(
        events.last().map(|e| &e.body),
        Some(&Turn::queued_notice(&QueueReason::VisitorAsked)),
        "the notice is stored with the move"
    );
    let queued = store.get(&c.id).await.unwrap().unwrap();
    assert_eq!(queued.state, ConversationState::Queued);
    assert_eq!(queued.reason, Some(QueueReason::VisitorAsked));
    assert_eq!(store.queue().await.unwrap(), vec![c.id.clone()]);
    tokio::time::timeout(WAIT, routing.changed())
        .await
        .expect("a handoff is a routing change")
        .unwrap();
    let mut late = Turn::message("hello?".into(), "c-1".into());
    late.bot = vec![bot_answer("must not be stored")];
    late.handoff = Some(QueueReason::Frustrated);
    let TurnOutcome::Done {
        events,
        bot_answered,
        handed_off,
    } = store.turn(&c.id, late).await.unwrap()
    else {
        panic!("the message is stored")
    };
    assert_eq!(events.len(), 1, "only the visitor's message");
    assert!(!bot_answered && !handed_off);
    assert_eq!(store.queue().await.unwrap(), vec![c.id.clone()]);
}

/// Decides like a session: reads, builds the turn on that snapshot (the bot's part only while
/// the conversation is with the bot), stores it; on a conflict, again.
async fn take_turn(store: &Arc<dyn Store>, id: &ConversationId, build: impl Fn() -> Turn) {
    loop {
        let c = store.get(id).await.unwrap().unwrap();
        let mut turn = build();
        if c.state != ConversationState::Bot {
            turn.bot.clear();
            turn.handoff = None;
        }
        turn.expected_seq = Some(c.last_seq);
        if store.turn(id, turn).await.unwrap() != TurnOutcome::Conflict {
            return;
        }
    }
}

pub async fn racing_a_handoff_and_a_question_never_answers_after_the_queued_notice(
    store: Arc<dyn Store>,
) {
    for round in 0..100 {
        let (c, _) = store.create(VisitorInfo::default(), None).await.unwrap();
        let ask = {
            let (store, id) = (store.clone(), c.id.clone());
            tokio::spawn(async move {
                take_turn(&store, &id, || Turn {
                    bot: vec![bot_answer("connecting you")],
                    handoff: Some(QueueReason::VisitorAsked),
                    ..Turn::default()
                })
                .await
            })
        };
        let question = {
            let (store, id) = (store.clone(), c.id.clone());
            tokio::spawn(async move {
                take_turn(&store, &id, || {
                    let mut t = Turn::message("where is my order".into(), "q".into());
                    t.bot = vec![bot_answer("the answer")];
                    t
                })
                .await
            })
        };
        for task in [ask, question] {
            tokio::time::timeout(WAIT, task)
                .await
                .expect("each turn finishes")
                .unwrap();
        }
        let log = store.events_after(&c.id, 0).await.unwrap();
        let queued = log
            .iter()
            .position(|e| e.body == Turn::queued_notice(&QueueReason::VisitorAsked))
            .expect("the handoff happened");
        assert!(
            !log[queued..]
                .iter()
                .any(|e| e.body == bot_answer("the answer")),
            "round {round}: the bot answered after the queued notice: {log:?}"
        );
        let asked = log
            .iter()
            .filter(|e| matches!(&e.body, EventBody::VisitorMessage { .. }))
            .count();
        assert_eq!(asked, 1, "round {round}: the question is stored once");
    }
}

pub async fn api_tokens_are_found_by_hash_until_revoked(store: Arc<dyn Store>) {
    use crate::tokens::{Scope, hash, issue};
    let (crm, crm_token) = issue("crm", &[Scope::Read, Scope::Write], 5).unwrap();
    let (bi, _) = issue("bi", &[Scope::Read], 6).unwrap();
    assert!(store.add_token(crm.clone()).await.unwrap());
    assert!(store.add_token(bi.clone()).await.unwrap());
    let (again, _) = issue("crm", &[Scope::Admin], 7).unwrap();
    assert!(
        !store.add_token(again).await.unwrap(),
        "a name is one token"
    );
    assert_eq!(
        store.token_by_hash(&hash(&crm_token)).await.unwrap(),
        Some(crm.clone()),
        "the first crm token is kept as it was"
    );
    assert_eq!(
        store.token_by_hash(&hash("fdk_forged")).await.unwrap(),
        None
    );
    let names: Vec<String> = store
        .tokens()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, vec!["bi", "crm"]);
    assert!(store.revoke_token("crm").await.unwrap());
    assert!(!store.revoke_token("crm").await.unwrap());
    assert_eq!(store.token_by_hash(&crm.hash).await.unwrap(), None);
    let (renewed, renewed_token) = issue("crm", &[Scope::Read], 8).unwrap();
    assert!(store.add_token(renewed.clone()).await.unwrap());
    assert_eq!(
        store.token_by_hash(&crm.hash).await.unwrap(),
        None,
        "a revoked token stays revoked when its name is reused"
    );
    assert_eq!(
        store.token_by_hash(&hash(&renewed_token)).await.unwrap(),
        Some(renewed)
    );
}

pub async fn the_editors_record_keeps_the_newest_first_up_to_its_limit(store: Arc<dyn Store>) {
    use crate::ports::{EDITS_KEPT, EditAction, FileChange, KbEdit};
    let edit = |n: usize| KbEdit {
        at: n as u64,
        who: "admin:erin".into(),
        action: if n.is_multiple_of(2) {
            EditAction::Phrasing
        } else {
            EditAction::Dismiss
        },
        question: format!("question {n}"),
        faq: n.is_multiple_of(2).then(|| "track-order".to_owned()),
        files: vec![FileChange {
            file: "faq/orders/track-order.md".into(),
            diff: format!("+  \"question {n}\",\n"),
        }],
    };
    assert!(store.edits(10).await.unwrap().is_empty());
    store.record_edit(edit(1)).await.unwrap();
    store.record_edit(edit(2)).await.unwrap();
    assert_eq!(
        store.edits(10).await.unwrap(),
        vec![edit(2), edit(1)],
        "newest first, read back whole"
    );
    assert_eq!(store.edits(1).await.unwrap(), vec![edit(2)]);
    assert!(store.edits(0).await.unwrap().is_empty());
    // Past the limit, the oldest go.
    for n in 3..=EDITS_KEPT + 2 {
        store.record_edit(edit(n)).await.unwrap();
    }
    let all = store.edits(EDITS_KEPT + 10).await.unwrap();
    assert_eq!(all.len(), EDITS_KEPT);
    assert_eq!(all[0], edit(EDITS_KEPT + 2));
    assert_eq!(all[EDITS_KEPT - 1], edit(3), "the two oldest were dropped");
}

pub async fn a_mail_is_queued_once_leased_to_one_worker_and_retried_until_sent(
    store: Arc<dyn Store>,
) {
    use crate::ports::{Attempt, Mail, MailState};
    let mail = |key: &str| Mail {
        key: key.into(),
        to: "team@larkspur.example".into(),
        subject: format!("About {key}"),
        text: "Hello".into(),
        html: None,
        reply_to: None,
        conversation: None,
        automatic: true,
    };
    assert!(store.queue_mail(mail("a"), 1_000, 1_000).await.unwrap());
    assert!(
        !store.queue_mail(mail("a"), 1_001, 1_001).await.unwrap(),
        "one per key"
    );
    assert!(store.queue_mail(mail("b"), 1_002, 1_002).await.unwrap());
    assert!(
        store.lease_mails(999, 60_000, 10).await.unwrap().is_empty(),
        "not due yet"
    );

    // Leased: nobody else gets them until the lease ends.
    let leased = store.lease_mails(2_000, 60_000, 10).await.unwrap();
    let keys: Vec<&str> = leased.iter().map(|e| e.mail.key.as_str()).collect();
    assert_eq!(keys, vec!["a", "b"], "oldest first");
    assert_eq!(leased[0].mail, mail("a"));
    assert!(
        store
            .lease_mails(3_000, 60_000, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // One sent, one to retry; the retry is due again at its time, the sent one never.
    store
        .record_attempt("a", Attempt::Sent, 4_000)
        .await
        .unwrap();
    let retry = Attempt::Retry {
        at: 10_000,
        error: "connection refused".into(),
    };
    store.record_attempt("b", retry, 4_000).await.unwrap();
    assert!(
        store
            .lease_mails(9_999, 60_000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let again = store.lease_mails(10_000, 60_000, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].mail.key, "b");
    assert_eq!(again[0].state, MailState::Retrying);
    assert_eq!(again[0].attempts, 1);
    assert_eq!(again[0].last_error.as_deref(), Some("connection refused"));
    // A lease that ends without a record (a worker that died) makes it due again.
    let after_lease = store.lease_mails(70_001, 60_000, 10).await.unwrap();
    assert_eq!(after_lease.len(), 1, "due again once the lease ended");
    let failed = Attempt::Failed {
        error: "550 no such user".into(),
    };
    store.record_attempt("b", failed, 71_000).await.unwrap();
    assert!(
        !store.queue_mail(mail("a"), 72_000, 72_000).await.unwrap(),
        "a sent key stays known"
    );
    assert!(
        store
            .lease_mails(1_000_000, 60_000, 10)
            .await
            .unwrap()
            .is_empty()
    );

    let listed = store.mails(10).await.unwrap();
    let states: Vec<(&str, MailState, u32)> = listed
        .iter()
        .map(|e| (e.mail.key.as_str(), e.state, e.attempts))
        .collect();
    assert_eq!(
        states,
        vec![("b", MailState::Failed, 2), ("a", MailState::Sent, 1)],
        "newest first"
    );
    assert_eq!(listed[0].last_error.as_deref(), Some("550 no such user"));
    // A late record for a finished mail changes nothing.
    store
        .record_attempt(
            "a",
            Attempt::Failed {
                error: "late".into(),
            },
            80_000,
        )
        .await
        .unwrap();
    assert_eq!(store.mails(10).await.unwrap()[1].state, MailState::Sent);
}

pub async fn a_mail_due_later_waits_a_dropped_one_goes_and_the_delivered_mark_only_rises(
    store: Arc<dyn Store>,
) {
    use crate::ports::Mail;
    let mail = Mail {
        key: "later".into(),
        to: "visitor@larkspur.example".into(),
        subject: "Replies".into(),
        text: String::new(),
        html: None,
        reply_to: None,
        conversation: None,
        automatic: false,
    };
    assert!(
        store
            .queue_mail(mail.clone(), 1_000, 300_000)
            .await
            .unwrap()
    );
    assert!(
        store
            .lease_mails(299_999, 60_000, 10)
            .await
            .unwrap()
            .is_empty(),
        "not due before its time"
    );
    let due = store.lease_mails(300_000, 60_000, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].queued_at, 1_000);
    store.drop_mail("later").await.unwrap();
    assert!(
        store.mails(10).await.unwrap().is_empty(),
        "gone from the list"
    );
    assert!(
        store
            .lease_mails(10_000_000, 60_000, 10)
            .await
            .unwrap()
            .is_empty(),
        "and never due again"
    );
    assert!(
        store.queue_mail(mail, 400_000, 400_000).await.unwrap(),
        "its key may be queued again"
    );
    store.drop_mail("unknown").await.unwrap();

    // A message left by mail, appended once per key, waits for a follow-up like any other.
    let (c, _) = store.create(VisitorInfo::default(), None).await.unwrap();
    let by_mail = || EventBody::OfflineMessage {
        email: "ana@example.com".into(),
        text: "Thanks, and the size?".into(),
    };
    let first = store
        .append_once(&c.id, by_mail(), Some("mail:abc"), None)
        .await
        .unwrap();
    let Some(Appended::New(event)) = first else {
        panic!("stored: {first:?}")
    };
    assert!(matches!(
        store
            .append_once(&c.id, by_mail(), Some("mail:abc"), None)
            .await
            .unwrap(),
        Some(Appended::Duplicate { seq }) if seq == event.seq
    ));
    assert!(store.follow_ups().await.unwrap().contains(&c.id));
    assert!(store.get(&c.id).await.unwrap().unwrap().needs_follow_up);

    // The mail key: made once, the same for every caller.
    let key = store.mail_key().await.unwrap();
    assert_eq!(key.len(), 32);
    assert_eq!(store.mail_key().await.unwrap(), key);

    // How far a visitor has had the conversation: only rises, per conversation.
    let (c, _) = store.create(VisitorInfo::default(), None).await.unwrap();
    let (o, _) = store.create(VisitorInfo::default(), None).await.unwrap();
    let (id, other) = (c.id, o.id);
    assert_eq!(store.delivered(&id).await.unwrap(), 0);
    store.raise_delivered(&id, 5).await.unwrap();
    store.raise_delivered(&id, 3).await.unwrap();
    assert_eq!(store.delivered(&id).await.unwrap(), 5);
    assert_eq!(store.delivered(&other).await.unwrap(), 0);
    store.raise_delivered(&id, 9).await.unwrap();
    assert_eq!(store.delivered(&id).await.unwrap(), 9);
    assert!(store.delete(&id).await.unwrap());
    assert_eq!(store.delivered(&id).await.unwrap(), 0, "erased with it");
}

/// Generates one `#[tokio::test]` per conformance check for the store built by the future
/// `$make` (an `Arc<dyn Store>`; each test gets a fresh one).
#[macro_export]
macro_rules! store_conformance_tests {
    ($make:expr) => {
        $crate::store_conformance_tests!(@tests $make;
            creates_and_resumes_conversations,
            appends_get_consecutive_sequence_numbers_and_replay_exactly,
            a_resent_client_id_is_not_stored_twice,
            concurrent_appends_never_share_a_sequence_number,
            transitions_are_compare_and_set_and_follow_the_state_machine,
            only_one_of_many_concurrent_claims_wins,
            the_queue_keeps_arrival_order_and_a_requeue_keeps_its_place,
            capacity_ownership_and_transfers_are_enforced,
            presence_expires_without_a_heartbeat,
            offline_messages_wait_for_a_follow_up,
            agent_sessions_resolve_until_ended_or_expired,
            typing_reaches_subscribers_without_being_logged,
            a_visitor_key_links_that_visitors_conversations_only,
            subscribers_get_every_new_event_in_order,
            memory_is_kept_with_the_conversation,
            an_unknown_conversation_is_a_not_found_error,
            conversations_are_listed_by_creation_time,
            delete_erases_every_trace_of_one_conversation_only,
            inactive_conversations_are_found_by_last_activity,
            retention_erases_only_conversations_idle_past_it,
            forget_erases_one_visitor_and_nothing_else,
            a_turn_stores_the_message_reply_and_memory_in_one_step,
            a_turn_that_hands_off_queues_with_its_notice_and_then_the_bot_is_silent,
            racing_a_handoff_and_a_question_never_answers_after_the_queued_notice,
            api_tokens_are_found_by_hash_until_revoked,
            an_agent_racing_for_many_conversations_never_passes_capacity,
            racing_handoffs_all_join_the_line_once_each_in_its_own_place,
            the_editors_record_keeps_the_newest_first_up_to_its_limit,
            a_mail_is_queued_once_leased_to_one_worker_and_retried_until_sent,
            a_mail_due_later_waits_a_dropped_one_goes_and_the_delivered_mark_only_rises,
        );
    };
    (@tests $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                $crate::store::conformance::$name($make.await).await
            }
        )*
    };
}

#[cfg(test)]
mod tests {
    /// Every check in this file is in the macro's list: one left out would silently not run on
    /// any store.
    #[test]
    fn every_check_is_run_on_every_store() {
        let source = include_str!("conformance.rs");
        let (checks, list) = source
            .split_once("macro_rules! store_conformance_tests")
            .expect("the macro is in this file");
        let listed: Vec<&str> = list
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .collect();
        let check = regex::Regex::new(r"pub async fn (\w+)\(").expect("a valid pattern");
        let names: Vec<&str> = check
            .captures_iter(checks)
            .map(|c| c.get(1).expect("a name").as_str())
            .collect();
        assert!(names.len() >= 25, "{names:?}");
        for name in names {
            assert!(
                listed.contains(&name),
                "`{name}` is not in store_conformance_tests!"
            );
        }
    }
}
