//! The analytics worked out by hand: a scripted month of conversations and the KPIs,
//! question groups and feedback it must give.

use std::sync::Arc;

use super::*;
use crate::conversation::{ConversationId, VisitorInfo, VisitorKey};
use crate::knowledge_base::FaqId;
use crate::matcher::{Candidate, Explanation};

const S: u64 = 1000;
/// The period starts here.
const T: u64 = 1_800_000_000_000;

fn explained(faq: &str, confidence: f32) -> Option<Arc<Explanation>> {
    Some(Arc::new(Explanation {
        candidates: vec![Candidate {
            faq: FaqId::parse(faq).unwrap(),
            confidence,
            probability: confidence,
            similarity: 0.0,
            coverage: 1.0,
            nearest_phrasing: None,
        }],
        ..Explanation::default()
    }))
}

fn bot(decision: &str, faq: Option<(&str, f32)>) -> EventBody {
    EventBody::BotAnswer {
        decision: serde_json::from_value(serde_json::json!(decision)).expect("a known answer kind"),
        html: String::new(),
        text: String::new(),
        options: Vec::new(),
        offer_human: false,
        faq: faq.map(|(f, _)| f.to_owned()),
        explanation: faq.and_then(|(f, c)| explained(f, c)),
        lang: None,
    }
}

fn says(text: &str) -> EventBody {
    EventBody::VisitorMessage {
        text: text.into(),
        client_id: text.into(),
    }
}

fn notice(notice: Notice) -> EventBody {
    EventBody::Notice { notice }
}

fn queued(reason: &str) -> EventBody {
    notice(Notice::Queued {
        reason: reason.parse().unwrap(),
    })
}

fn assigned() -> EventBody {
    notice(Notice::Assigned {
        agent: "Ann".into(),
    })
}

fn agent_says() -> EventBody {
    EventBody::AgentMessage {
        agent: "Ann".into(),
        text: "hi".into(),
        client_id: None,
    }
}

fn closed() -> EventBody {
    notice(Notice::Closed { resolution: None })
}

fn rating(score: u8) -> EventBody {
    EventBody::Rating {
        score,
        comment: None,
    }
}

/// A conversation created at `created` by visitor `key`, with events at the given offsets.
fn record(created: u64, key: &str, events: Vec<(u64, EventBody)>) -> Record {
    let mut conversation = Conversation::new(ConversationId::random(), VisitorInfo::default());
    conversation.created = created;
    conversation.visitor_key = VisitorKey::parse(&format!("{key:0>32}"));
    Record {
        conversation,
        events: events
            .into_iter()
            .enumerate()
            .map(|(i, (at, body))| Event {
                seq: i as u64 + 1,
                at: created + at,
                body,
            })
            .collect(),
    }
}

/// The scripted month: every number below is worked out by hand in the comments.
fn scripted() -> Vec<Record> {
    let c4 = T + 3600 * S;
    vec![
        // C1: answered, "helpful": bot resolved, first contact.
        record(
            T,
            "1",
            vec![
                (0, says("how long does shipping take")),
                (S, bot("answer", Some(("shipping-times", 0.9)))),
                (
                    2 * S,
                    EventBody::Feedback {
                        answer_seq: 2,
                        helpful: true,
                    },
                ),
            ],
        ),
        // C2: two misses, asks for a person: waits 60 s, first reply after 90 s, handled
        // 210 s by one agent, closed, rated 5: handed off, first contact.
        record(
            T,
            "2",
            vec![
                (0, says("do you sell gift cards")),
                (S, bot("fallback", Some(("payment-methods", 0.2)))),
                (2 * S, says("Gift card please!")),
                (3 * S, bot("fallback", Some(("payment-methods", 0.3)))),
                (30 * S, queued("visitor_asked")),
                (90 * S, assigned()),
                (120 * S, agent_says()),
                (300 * S, closed()),
                (310 * S, rating(5)),
            ],
        ),
        // C3: answered, "not helpful": not resolved.
        record(
            T,
            "3",
            vec![
                (0, says("can I return shoes")),
                (S, bot("answer", Some(("returns", 0.7)))),
                (
                    2 * S,
                    EventBody::Feedback {
                        answer_seq: 2,
                        helpful: false,
                    },
                ),
            ],
        ),
        // C4: answered, but the visitor is back an hour later (C5): not resolved.
        record(
            T,
            "4",
            vec![
                (0, says("refund please")),
                (S, bot("answer", Some(("refund-status", 0.8)))),
            ],
        ),
        // C5: frustrated: waits 30 s, handled 30 s, requeued, waits 40 s, first reply at
        // 110 s from the queue, handled 100 s, closed, rated 2: two agents, not first contact.
        record(
            c4,
            "4",
            vec![
                (0, says("where is my refund")),
                (10 * S, queued("frustrated")),
                (40 * S, assigned()),
                (70 * S, queued("agent_left")),
                (110 * S, assigned()),
                (120 * S, agent_says()),
                (210 * S, closed()),
                (220 * S, rating(2)),
            ],
        ),
        // C6: opened, nothing written: not counted.
        record(T, "6", vec![]),
        // C7: nobody online, left a message.
        record(
            T,
            "7",
            vec![
                (0, says("talk to a human")),
                (S, bot("offline", None)),
                (
                    2 * S,
                    EventBody::OfflineMessage {
                        email: "a@b.example".into(),
                        text: "call me".into(),
                    },
                ),
            ],
        ),
        // C8: before the period.
        record(T - 10 * S, "8", vec![(0, says("hello"))]),
    ]
}

#[test]
fn scripted_conversations_give_the_kpis_worked_out_by_hand() {
    let r = report(&scripted(), T, T + 7 * 24 * 3600 * S);
    let k = &r.kpis;
    assert_eq!(k.conversations, 6, "C1-C5 and C7");
    assert_eq!(
        k.outcomes,
        Outcomes {
            bot_resolved: 1,
            handed_off: 2,
            offline_message: 1,
            not_resolved: 2,
        }
    );
    assert_eq!(k.bot_resolution, Some(1.0 / 6.0));
    assert_eq!(k.handoff_rate, Some(2.0 / 6.0));
    assert_eq!(
        k.handoffs_by_reason,
        BTreeMap::from([("frustrated".into(), 1), ("visitor_asked".into(), 1)])
    );
    assert_eq!(
        k.first_response_time,
        Average {
            seconds: Some(100.0),
            count: 2
        },
        "90 s and 110 s"
    );
    assert_eq!(k.average_wait.count, 3);
    assert!(
        (k.average_wait.seconds.unwrap() - 130.0 / 3.0).abs() < 1e-9,
        "60, 30, 40"
    );
    assert_eq!(k.average_handle_time.count, 3);
    assert!(
        (k.average_handle_time.seconds.unwrap() - 340.0 / 3.0).abs() < 1e-9,
        "210, 30, 100"
    );
    assert_eq!(k.first_contact_resolution, Some(2.0 / 6.0), "C1 and C2");
    assert_eq!(
        k.csat,
        Csat {
            average: Some(3.5),
            count: 2,
            distribution: [0, 1, 0, 0, 1],
            satisfied: Some(0.5),
        }
    );
}

#[test]
fn similar_misses_are_grouped_with_their_closest_faq() {
    let r = report(&scripted(), T, T + 7 * 24 * 3600 * S);
    assert_eq!(r.unanswered.len(), 2, "{:#?}", r.unanswered);
    let gift = &r.unanswered[0];
    assert_eq!(gift.count, 2, "two wordings of one question");
    assert_eq!(gift.kinds, BTreeMap::from([("no_answer".into(), 2)]));
    assert_eq!(gift.closest_faq.as_deref(), Some("payment-methods"));
    assert_eq!(gift.closest_confidence, Some(0.3));
    assert_eq!(gift.examples.len(), 2);
    let returns = &r.unanswered[1];
    assert_eq!(returns.question, "can I return shoes");
    assert_eq!(returns.kinds, BTreeMap::from([("not_helpful".into(), 1)]));
    assert_eq!(returns.closest_faq.as_deref(), Some("returns"));
}

#[test]
fn each_faq_shows_what_it_did_with_the_conversations_behind_each_number() {
    let mut records = scripted();
    // C9: answered with refund-status, then unsure between returns and refund-status, then
    // frustrated: handed off after refund-status answered.
    let mut clarify = bot("clarify", None);
    if let EventBody::BotAnswer { options, .. } = &mut clarify {
        *options = ["returns", "refund-status"]
            .iter()
            .map(|id| crate::conversation::ChoiceItem {
                id: (*id).into(),
                title: format!("About {id}"),
            })
            .collect();
    }
    records.push(record(
        T,
        "9",
        vec![
            (0, says("my refund has not arrived")),
            (S, bot("answer", Some(("refund-status", 0.8)))),
            (2 * S, says("refund or return?")),
            (3 * S, clarify),
            (4 * S, queued("frustrated")),
        ],
    ));
    let c9 = records.last().unwrap().conversation.id.to_string();
    let c3 = records[2].conversation.id.to_string();
    let r = report(&records, T, T + 7 * 24 * 3600 * S);
    let get = |id: &str| {
        r.faq_feedback
            .iter()
            .find(|f| f.faq == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(
        r.faq_feedback[0].faq, "returns",
        "the most \"not helpful\" first"
    );
    let returns = get("returns");
    assert_eq!(
        (
            returns.answered,
            returns.clarified,
            returns.helpful,
            returns.not_helpful,
            returns.handoffs_after
        ),
        (1, 1, 0, 1, 0)
    );
    assert_eq!(returns.helpful_share, Some(0.0));
    assert_eq!(returns.messages, vec!["can I return shoes"]);
    assert_eq!(returns.conversations["not_helpful"], vec![c3]);
    assert_eq!(returns.conversations["clarified"], vec![c9.clone()]);
    let refund = get("refund-status");
    assert_eq!(
        (refund.answered, refund.clarified, refund.handoffs_after),
        (2, 1, 1)
    );
    assert_eq!(refund.conversations["handoffs_after"], vec![c9]);
    assert_eq!(
        refund.messages,
        vec!["my refund has not arrived", "refund please"]
    );
    assert_eq!(get("shipping-times").helpful_share, Some(1.0));
    assert_eq!(get("shipping-times").handoffs_after, 0);
}

#[test]
fn an_empty_period_has_no_rates_rather_than_zero_or_nan() {
    let r = report(&[], T, T + S);
    assert_eq!(r.kpis.conversations, 0);
    assert_eq!(r.kpis.bot_resolution, None);
    assert_eq!(r.kpis.csat.average, None);
    assert_eq!(
        r.kpis.average_wait,
        Average {
            seconds: None,
            count: 0
        }
    );
    assert!(r.definitions.contains_key("first_contact_resolution"));
}

#[test]
fn coming_back_within_24_hours_reopens_and_later_is_a_new_contact() {
    let answered = |created: u64| {
        record(
            created,
            "9",
            vec![
                (0, says("where is my parcel")),
                (S, bot("answer", Some(("track-order", 0.9)))),
            ],
        )
    };
    let day = 24 * 3600 * S;
    for (back_after, resolved) in [(day - 10 * S, 0), (day + 10 * S, 1)] {
        let records = [answered(T), answered(T + back_after)];
        let r = report(&records, T, T + S);
        assert_eq!(r.kpis.conversations, 1, "only the first is in the period");
        assert_eq!(
            r.kpis.outcomes.bot_resolved,
            resolved,
            "back after {} s",
            back_after / S
        );
    }
}

#[test]
fn barely_confident_answers_are_listed_once_and_not_helpful_wins() {
    let records = [
        record(
            T,
            "a",
            vec![
                (0, says("do you ship to mars")),
                (S, bot("answer", Some(("shipping-countries", 0.2)))),
            ],
        ),
        record(
            T,
            "b",
            vec![
                (0, says("ship to mars?")),
                (S, bot("answer", Some(("shipping-countries", 0.25)))),
                (
                    2 * S,
                    EventBody::Feedback {
                        answer_seq: 2,
                        helpful: false,
                    },
                ),
            ],
        ),
        record(
            T,
            "c",
            vec![
                (0, says("how long does shipping take")),
                (S, bot("answer", Some(("shipping-times", 0.9)))),
            ],
        ),
    ];
    let r = report(&records, T, T + S);
    assert_eq!(r.unanswered.len(), 1, "{:#?}", r.unanswered);
    let mars = &r.unanswered[0];
    assert_eq!(mars.count, 2);
    assert_eq!(
        mars.kinds,
        BTreeMap::from([("low_confidence".into(), 1), ("not_helpful".into(), 1)])
    );
    assert_eq!(mars.closest_faq.as_deref(), Some("shipping-countries"));
}

#[test]
fn with_the_matchers_reading_synonyms_and_typos_group_together() {
    let kb = crate::knowledge_base::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge_base"),
    )
    .unwrap()
    .kb;
    let matcher = crate::matcher::Matcher::build(kb).unwrap();
    let missed = |key: &str, text: &str| {
        record(
            T,
            key,
            vec![
                (0, says(text)),
                (S, bot("fallback", Some(("track-order", 0.1)))),
            ],
        )
    };
    let records = [
        missed("a", "my parcel is stuck"),
        missed("b", "my package is stuck"),
        missed("c", "my parcle is stuck!"),
    ];
    let plain = report(&records, T, T + S);
    assert!(
        plain.unanswered.len() > 1,
        "plain stemming does not know them"
    );
    let words_of = |t: &str, _: Option<&str>| matcher.content_terms(t);
    let read = report_grouped_by(&records, T, T + S, &words_of);
    assert_eq!(read.unanswered.len(), 1, "{:#?}", read.unanswered);
    assert_eq!(read.unanswered[0].count, 3);
}

#[test]
fn the_bot_resolved_a_conversation_only_if_its_last_question_was_answered() {
    let answered_then_missed = record(
        T,
        "m",
        vec![
            (0, says("where is my parcel")),
            (S, bot("answer", Some(("track-order", 0.9)))),
            (2 * S, says("can I pay in bitcoin")),
            (3 * S, bot("fallback", None)),
            (4 * S, says("crypto?")),
            (5 * S, bot("fallback", None)),
            (6 * S, says("do you take ethereum")),
            (7 * S, bot("clarify", Some(("payment-methods", 0.3)))),
        ],
    );
    let missed_then_answered = record(
        T,
        "n",
        vec![
            (0, says("can i pay by klarna")),
            (S, bot("fallback", None)),
            (2 * S, says("payment methods")),
            (3 * S, bot("answer", Some(("payment-methods", 0.9)))),
        ],
    );
    let r = report(&[answered_then_missed, missed_then_answered], T, T + S);
    assert_eq!(r.kpis.conversations, 2);
    assert_eq!(
        r.kpis.outcomes,
        Outcomes {
            bot_resolved: 1,
            handed_off: 0,
            offline_message: 0,
            not_resolved: 1,
        },
        "a conversation whose last questions went unanswered is not resolved by the bot"
    );
}

#[test]
fn a_miss_that_sent_the_visitor_to_a_person_is_an_unanswered_question() {
    let records = [record(
        T,
        "h",
        vec![
            (0, says("do you sell gift cards")),
            (S, bot("fallback", None)),
            (2 * S, says("gift vouchers")),
            (3 * S, bot("handoff", Some(("payment-methods", 0.2)))),
            (3 * S, queued("repeated_misses")),
        ],
    )];
    let r = report(&records, T, T + S);
    let texts: Vec<(&str, usize)> = r
        .unanswered
        .iter()
        .flat_map(|g| g.examples.iter().map(move |e| (e.as_str(), g.count)))
        .collect();
    assert!(
        texts.iter().any(|(t, _)| *t == "gift vouchers"),
        "the miss that triggered the handoff is listed: {texts:?}"
    );
    let group = r
        .unanswered
        .iter()
        .find(|g| g.examples.iter().any(|e| e == "gift vouchers"))
        .unwrap();
    assert_eq!(group.kinds.get("handed_off"), Some(&1), "{group:?}");
    assert_eq!(group.closest_faq.as_deref(), Some("payment-methods"));
}

#[test]
fn a_long_question_is_shortened_in_the_report() {
    let long = "my order ".repeat(250);
    let records = [record(
        T,
        "l",
        vec![(0, says(&long)), (S, bot("fallback", None))],
    )];
    let r = report(&records, T, T + S);
    let g = &r.unanswered[0];
    assert!(
        g.question.chars().count() <= 241,
        "{} chars",
        g.question.len()
    );
    assert!(g.question.ends_with('…'));
    assert!(g.examples.iter().all(|e| e.chars().count() <= 241));
}

#[test]
fn unanswered_questions_group_within_their_language() {
    let in_language = |code: &str| {
        let mut b = bot("fallback", Some(("track-order", 0.1)));
        if let EventBody::BotAnswer { lang, .. } = &mut b {
            *lang = Some(code.to_owned());
        }
        b
    };
    let records = [
        record(
            T,
            "a",
            vec![(0, says("paypal klarna")), (S, in_language("en"))],
        ),
        record(
            T,
            "b",
            vec![(0, says("paypal klarna")), (S, in_language("es"))],
        ),
        record(
            T,
            "c",
            vec![(0, says("klarna paypal")), (S, in_language("es"))],
        ),
    ];
    let r = report(&records, T, T + S);
    let mut groups: Vec<(Option<&str>, usize)> = r
        .unanswered
        .iter()
        .map(|g| (g.language.as_deref(), g.count))
        .collect();
    groups.sort();
    assert_eq!(groups, vec![(Some("en"), 1), (Some("es"), 2)]);
}

#[test]
fn a_report_of_logs_kept_as_far_as_reports_read_them_is_the_same_report() {
    let whole = scripted();
    let kept: Vec<Record> = whole
        .iter()
        .map(|r| Record {
            conversation: r.conversation.clone(),
            events: r.events.iter().cloned().map(super::for_reports).collect(),
        })
        .collect();
    let end = u64::MAX / 2;
    assert_eq!(report(&kept, 0, end), report(&whole, 0, end));
    let answers_text: usize = kept
        .iter()
        .flat_map(|r| &r.events)
        .map(|e| match &e.body {
            EventBody::BotAnswer { html, text, .. } => html.len() + text.len(),
            _ => 0,
        })
        .sum();
    assert_eq!(answers_text, 0, "no answer text is held for a report");
}

fn left_message() -> EventBody {
    EventBody::OfflineMessage {
        email: "ada@example.com".into(),
        text: "please call me back".into(),
    }
}

/// The one conversation's outcome and handoff reasons.
fn outcome_of(events: Vec<(u64, EventBody)>) -> (Outcomes, BTreeMap<String, usize>) {
    let r = report(&[record(T, "1", events)], T, T + 3600 * S);
    (r.kpis.outcomes, r.kpis.handoffs_by_reason)
}

#[test]
fn waiting_for_nobody_then_leaving_a_message_is_an_offline_message() {
    // Queued when an agent was online; they left; the visitor left a message with the form.
    let (outcomes, reasons) = outcome_of(vec![
        (0, says("I want a person")),
        (1, bot("handoff", None)),
        (1, queued("visitor_asked")),
        (60, bot("offline", None)),
        (90, left_message()),
    ]);
    assert_eq!(
        outcomes,
        Outcomes {
            offline_message: 1,
            ..Outcomes::default()
        }
    );
    assert!(reasons.is_empty(), "not a handoff: {reasons:?}");
    // Taken by an agent before leaving a message: handed off.
    let (outcomes, _) = outcome_of(vec![
        (0, says("I want a person")),
        (1, queued("visitor_asked")),
        (5, assigned()),
        (90, left_message()),
    ]);
    assert_eq!(outcomes.handed_off, 1);
}

#[test]
fn asking_for_a_person_when_nobody_can_answer_is_not_a_bot_resolution() {
    // An answer, then "talk to a person" outside hours: the form offered, no message left.
    let (outcomes, _) = outcome_of(vec![
        (0, says("where is my order")),
        (1, bot("answer", Some(("track-order", 0.9)))),
        (30, says("talk to a person")),
        (31, bot("offline", None)),
    ]);
    assert_eq!(
        outcomes,
        Outcomes {
            not_resolved: 1,
            ..Outcomes::default()
        }
    );
}

#[test]
fn a_handoff_for_asking_is_counted_as_visitor_asked_and_a_topic_rule_as_rule() {
    let (_, reasons) = outcome_of(vec![
        (0, says("can I speak to someone please")),
        (1, bot("handoff", None)),
        (1, queued("visitor_asked")),
    ]);
    assert_eq!(reasons.get("visitor_asked"), Some(&1), "{reasons:?}");
    let (_, reasons) = outcome_of(vec![
        (0, says("I want to cancel my order")),
        (1, bot("handoff", None)),
        (1, queued("rule:cancel")),
    ]);
    assert_eq!(reasons.get("rule"), Some(&1), "{reasons:?}");
}
