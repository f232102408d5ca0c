//! The behaviour every `Store` backend must show, written once over the trait. Each backend runs
//! all of it with `store_conformance_tests!(constructor)`; the Redis backend runs the very same
//! functions against a real redis-server.
//!
//! These panic on failure (they are test bodies); every wait has a timeout.

use std::sync::Arc;
use std::time::Duration;

use crate::conversation::{ConversationState, EventBody, Notice};
use crate::matcher::Memory;
use crate::store::{Appended, Store, StoreError, Token, VisitorInfo};

/// The longest any conformance step may wait for the store.
const WAIT: Duration = Duration::from_secs(5);

fn notice(n: u32) -> EventBody {
    EventBody::Notice {
        notice: Notice::Queued {
            reason: format!("r{n}"),
        },
    }
}

pub async fn creates_and_resumes_conversations(store: Arc<dyn Store>) {
    let visitor = VisitorInfo {
        name: Some("Ana".into()),
        ..VisitorInfo::default()
    };
    let (a, token_a) = store.create(visitor.clone()).await.unwrap();
    let (b, token_b) = store.create(VisitorInfo::default()).await.unwrap();
    assert_ne!(a.id, b.id);
    assert_eq!(a.state, ConversationState::Bot);
    assert_eq!(a.last_seq, 0);
    let resumed = store
        .resume(&token_a)
        .await
        .unwrap()
        .expect("its own token resumes it");
    assert_eq!(resumed.id, a.id);
    assert_eq!(resumed.visitor, visitor);
    assert_eq!(store.resume(&token_b).await.unwrap().unwrap().id, b.id);
    let forged = Token::new(a.id.clone());
    assert!(
        store.resume(&forged).await.unwrap().is_none(),
        "a wrong secret resumes nothing"
    );
    assert!(store.get(&a.id).await.unwrap().is_some());
}

pub async fn appends_get_consecutive_sequence_numbers_and_replay_exactly(store: Arc<dyn Store>) {
    let (c, _) = store.create(VisitorInfo::default()).await.unwrap();
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
    assert_eq!(store.get(&c.id).await.unwrap().unwrap().last_seq, 5);
}

pub async fn a_resent_client_id_is_not_stored_twice(store: Arc<dyn Store>) {
    let (c, _) = store.create(VisitorInfo::default()).await.unwrap();
    let first = store
        .append_visitor_message(&c.id, "hello".into(), "c-1".into())
        .await
        .unwrap();
    let Appended::New(event) = first else {
        panic!("the first send is stored: {first:?}")
    };
    let again = store
        .append_visitor_message(&c.id, "hello".into(), "c-1".into())
        .await
        .unwrap();
    assert_eq!(again, Appended::Duplicate { seq: event.seq });
    assert_eq!(store.events_after(&c.id, 0).await.unwrap().len(), 1);
    let other = store
        .append_visitor_message(&c.id, "hello".into(), "c-2".into())
        .await
        .unwrap();
    assert!(matches!(other, Appended::New(e) if e.seq == 2));
}

pub async fn concurrent_appends_never_share_a_sequence_number(store: Arc<dyn Store>) {
    let (c, _) = store.create(VisitorInfo::default()).await.unwrap();
    let tasks: Vec<_> = (0..50)
        .map(|n| {
            let store = store.clone();
            let id = c.id.clone();
            tokio::spawn(async move {
                store
                    .append_visitor_message(&id, format!("m{n}"), format!("id-{n}"))
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
    let (c, _) = store.create(VisitorInfo::default()).await.unwrap();
    use ConversationState::*;
    assert!(
        !store.transition(&c.id, Bot, Assigned, None).await.unwrap(),
        "illegal move"
    );
    assert!(
        store
            .transition(&c.id, Bot, Queued, Some("frustrated".into()))
            .await
            .unwrap()
    );
    assert!(
        !store.transition(&c.id, Bot, Queued, None).await.unwrap(),
        "no longer in Bot"
    );
    let now = store.get(&c.id).await.unwrap().unwrap();
    assert_eq!(now.state, Queued);
    assert_eq!(now.reason.as_deref(), Some("frustrated"));
}

pub async fn only_one_of_many_concurrent_claims_wins(store: Arc<dyn Store>) {
    let (c, _) = store.create(VisitorInfo::default()).await.unwrap();
    use ConversationState::*;
    assert!(store.transition(&c.id, Bot, Queued, None).await.unwrap());
    let claims: Vec<_> = (0..20)
        .map(|n| {
            let store = store.clone();
            let id = c.id.clone();
            tokio::spawn(async move {
                store
                    .transition(&id, Queued, Assigned, Some(format!("agent-{n}")))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut wins = 0;
    for t in claims {
        wins += tokio::time::timeout(WAIT, t)
            .await
            .expect("claim finishes")
            .unwrap() as usize;
    }
    assert_eq!(wins, 1);
}

pub async fn the_queue_keeps_arrival_order(store: Arc<dyn Store>) {
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(store.create(VisitorInfo::default()).await.unwrap().0.id);
    }
    assert_eq!(store.enqueue(&ids[0]).await.unwrap(), 1);
    assert_eq!(store.enqueue(&ids[1]).await.unwrap(), 2);
    assert_eq!(store.enqueue(&ids[2]).await.unwrap(), 3);
    assert_eq!(
        store.enqueue(&ids[1]).await.unwrap(),
        2,
        "enqueueing twice keeps the place"
    );
    store.dequeue(&ids[0]).await.unwrap();
    assert_eq!(store.queue_position(&ids[1]).await.unwrap(), Some(1));
    assert_eq!(store.queue_position(&ids[2]).await.unwrap(), Some(2));
    assert_eq!(store.queue_position(&ids[0]).await.unwrap(), None);
}

pub async fn subscribers_get_every_new_event_in_order(store: Arc<dyn Store>) {
    let (c, _) = store.create(VisitorInfo::default()).await.unwrap();
    let mut rx = store.subscribe(&c.id);
    for n in 1..=3 {
        store.append(&c.id, notice(n)).await.unwrap();
    }
    for n in 1..=3u64 {
        let e = tokio::time::timeout(WAIT, rx.recv())
            .await
            .expect("event arrives")
            .unwrap();
        assert_eq!(e.seq, n);
    }
}

pub async fn memory_is_kept_with_the_conversation(store: Arc<dyn Store>) {
    let (c, _) = store.create(VisitorInfo::default()).await.unwrap();
    let memory = Memory {
        frustration: 0.7,
        fallbacks_in_row: 1,
        recent_questions: vec!["order where".into()],
    };
    store.save_memory(&c.id, &memory).await.unwrap();
    assert_eq!(store.get(&c.id).await.unwrap().unwrap().memory, memory);
}

pub async fn an_unknown_conversation_is_a_not_found_error(store: Arc<dyn Store>) {
    let missing = crate::store::ConversationId::random();
    assert!(matches!(
        store.append(&missing, notice(1)).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(store.get(&missing).await.unwrap().is_none());
    store.ping().await.unwrap();
}

/// Generates one `#[tokio::test]` per conformance check for the store built by `$make`.
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
            the_queue_keeps_arrival_order,
            subscribers_get_every_new_event_in_order,
            memory_is_kept_with_the_conversation,
            an_unknown_conversation_is_a_not_found_error,
        );
    };
    (@tests $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                $crate::store::conformance::$name(::std::sync::Arc::new($make)).await
            }
        )*
    };
}
