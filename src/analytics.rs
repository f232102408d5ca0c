//! KPIs and unanswered questions, computed from the conversations' own logs (the same events
//! visitors and agents saw), so every number can be traced to transcripts. `gather` reads the
//! store; `report` is a pure function of what it read, which is what the tests pin.
//!
//! Each KPI's definition is in `DEFINITIONS`, shown next to the number on `/admin` and by
//! `frontdesk report`. Conversation outcomes are a partition (each conversation has exactly one),
//! so outcome rates always add up to 100%.

use std::collections::{BTreeMap, HashMap, HashSet};

use rust_stemmers::{Algorithm, Stemmer};
use serde::{Deserialize, Serialize};

use crate::conversation::{Event, EventBody, Notice};
use crate::matcher::normalize::{fold, words};
use crate::store::{Conversation, Store, StoreResult};

/// A visitor who starts another conversation within this long of the last one's end "reopened" it.
pub const REOPEN_WINDOW_MS: u64 = 24 * 3600 * 1000;
/// Unanswered-question groups listed.
const TOP_GROUPS: usize = 20;
/// Examples kept per group.
const EXAMPLES: usize = 3;
/// Two questions share a group when this share of their words (stemmed, without stop words) is
/// common to both.
const SAME_QUESTION: f64 = 0.5;

/// The definitions shown next to the numbers.
pub const DEFINITIONS: &[(&str, &str)] = &[
    (
        "conversations",
        "Conversations started in the period in which the visitor wrote at least once or asked \
         for a person (a chat opened and left without a word is not counted).",
    ),
    (
        "bot_resolution",
        "Share of conversations the bot finished alone: it answered at least once, the visitor \
         was never handed to a person or left an offline message, gave no \"not helpful\", and \
         did not come back within 24 h.",
    ),
    (
        "handoff_rate",
        "Share of conversations that entered the queue for a person, split by the first reason \
         (visitor asked, frustration, repeated misses, a rule or an FAQ that always hands off).",
    ),
    (
        "outcomes",
        "Every conversation has exactly one outcome: bot resolved, handed off, offline message \
         (nobody could answer; the visitor left a message), or not resolved (the rest). They \
         add up to 100%.",
    ),
    (
        "first_response_time",
        "For handed-off conversations an agent answered: time from entering the queue to the \
         first agent message.",
    ),
    (
        "average_wait",
        "Time from entering the queue to an agent taking the conversation, averaged over every \
         time a conversation waited and was taken (a requeued one waits again).",
    ),
    (
        "average_handle_time",
        "Time an agent owned a conversation, from taking it to closing it, handing it back or \
         it going back to the queue, averaged over finished assignments.",
    ),
    (
        "first_contact_resolution",
        "Share of conversations resolved in this one contact: by the bot (see bot resolution) \
         or closed by the first agent who took it (no transfer, no requeue), and the visitor \
         did not come back within 24 h.",
    ),
    (
        "csat",
        "Ratings visitors gave at the end (1-5; the last one per conversation): average, \
         distribution, and the share of 4 and 5.",
    ),
];

/// One conversation as read from the store.
#[derive(Debug, Clone)]
pub struct Record {
    pub conversation: Conversation,
    pub events: Vec<Event>,
}

/// Reads every conversation created in `[from, to)`, plus those created up to 24 h after `to`
/// (only to tell whether a visitor came back).
pub async fn gather(store: &dyn Store, from: u64, to: u64) -> StoreResult<Vec<Record>> {
    let mut records = Vec::new();
    for id in store
        .conversations_created(from, to.saturating_add(REOPEN_WINDOW_MS))
        .await?
    {
        // Erased meanwhile (retention, forget): skip it.
        let Some(conversation) = store.get(&id).await? else {
            continue;
        };
        let events = match store.events_after(&id, 0).await {
            Ok(events) => events,
            Err(crate::store::StoreError::NotFound(_)) => continue,
            Err(e) => return Err(e),
        };
        records.push(Record {
            conversation,
            events,
        });
    }
    Ok(records)
}

/// An average over some number of cases (`None` without cases).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Average {
    pub seconds: Option<f64>,
    pub count: usize,
}

impl Average {
    fn of(ms: &[u64]) -> Average {
        Average {
            seconds: (!ms.is_empty())
                .then(|| ms.iter().sum::<u64>() as f64 / ms.len() as f64 / 1000.0),
            count: ms.len(),
        }
    }
}

/// The outcome partition.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcomes {
    pub bot_resolved: usize,
    pub handed_off: usize,
    pub offline_message: usize,
    pub not_resolved: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Csat {
    pub average: Option<f64>,
    pub count: usize,
    /// Ratings 1..=5 (index 0 = score 1).
    pub distribution: [usize; 5],
    /// Share of ratings that are 4 or 5.
    pub satisfied: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Kpis {
    pub conversations: usize,
    pub outcomes: Outcomes,
    pub bot_resolution: Option<f64>,
    pub handoff_rate: Option<f64>,
    /// Handed-off conversations by their first reason's kind (`visitor_asked`, `frustrated`,
    /// `repeated_misses`, `rule`, `faq`): counts.
    pub handoffs_by_reason: BTreeMap<String, usize>,
    pub first_response_time: Average,
    pub average_wait: Average,
    pub average_handle_time: Average,
    pub first_contact_resolution: Option<f64>,
    pub csat: Csat,
}

/// A group of similar questions the bot did not answer well.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuestionGroup {
    /// The most frequent wording.
    pub question: String,
    pub count: usize,
    pub examples: Vec<String>,
    /// How the bot fared: `no_answer` (fallback), `unsure` (asked which one), `not_helpful`.
    pub kinds: BTreeMap<String, usize>,
    /// The FAQ the matcher found closest (most often across the group), with its best
    /// confidence: add a phrasing there, or write a new FAQ.
    pub closest_faq: Option<String>,
    pub closest_confidence: Option<f32>,
    /// When the last one was asked (ms).
    pub last_asked: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaqFeedback {
    pub faq: String,
    pub answered: usize,
    pub helpful: usize,
    pub not_helpful: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub from: u64,
    pub to: u64,
    pub kpis: Kpis,
    pub unanswered: Vec<QuestionGroup>,
    pub faq_feedback: Vec<FaqFeedback>,
    pub definitions: BTreeMap<String, String>,
}

fn share(n: usize, of: usize) -> Option<f64> {
    (of > 0).then(|| n as f64 / of as f64)
}

/// What one conversation's log says.
#[derive(Default)]
struct Facts {
    wrote: bool,
    bot_answered: bool,
    not_helpful: bool,
    offline_message: bool,
    first_reason: Option<String>,
    assignments: usize,
    closed_by_agent: bool,
    reopened_in_place: bool,
    first_response_ms: Option<u64>,
    waits: Vec<u64>,
    handles: Vec<u64>,
    rating: Option<u8>,
    last_at: u64,
}

fn facts(events: &[Event]) -> Facts {
    let mut f = Facts::default();
    let mut queued_since: Option<u64> = None;
    let mut first_queued: Option<u64> = None;
    let mut assigned_since: Option<u64> = None;
    let mut closed = false;
    for e in events {
        f.last_at = f.last_at.max(e.at);
        match &e.body {
            EventBody::VisitorMessage { .. } | EventBody::VisitorChoice { .. } => {
                f.wrote = true;
                if closed {
                    f.reopened_in_place = true;
                }
            }
            EventBody::OfflineMessage { .. } => {
                f.wrote = true;
                f.offline_message = true;
            }
            EventBody::BotAnswer { decision, .. } if decision == "answer" => f.bot_answered = true,
            EventBody::Feedback { helpful: false, .. } => f.not_helpful = true,
            EventBody::Rating { score, .. } => f.rating = Some(*score),
            EventBody::AgentMessage { .. } => {
                if let (None, Some(q)) = (f.first_response_ms, first_queued) {
                    f.first_response_ms = Some(e.at.saturating_sub(q));
                }
            }
            EventBody::Notice { notice } => {
                if let Some(since) = assigned_since.take() {
                    f.handles.push(e.at.saturating_sub(since));
                }
                match notice {
                    Notice::Queued { reason } => {
                        // Asking for a person ("Talk to a person") engages without a word.
                        f.wrote = true;
                        f.first_reason.get_or_insert_with(|| reason.clone());
                        first_queued.get_or_insert(e.at);
                        queued_since = Some(e.at);
                    }
                    Notice::Assigned { .. } => {
                        f.assignments += 1;
                        if let Some(q) = queued_since.take() {
                            f.waits.push(e.at.saturating_sub(q));
                        }
                        assigned_since = Some(e.at);
                    }
                    Notice::BackToBot => queued_since = None,
                    Notice::Closed { .. } => {
                        queued_since = None;
                        if f.assignments > 0 {
                            f.closed_by_agent = true;
                        }
                        closed = true;
                    }
                }
            }
            _ => {}
        }
    }
    f
}

/// The kind of a stored handoff reason (`rule:returns` -> `rule`).
fn reason_kind(reason: &str) -> String {
    reason.split(':').next().unwrap_or(reason).to_owned()
}

/// KPIs, unanswered questions and FAQ feedback of the conversations created in `[from, to)`.
/// `records` may hold later conversations too (they only tell whether a visitor came back).
pub fn report(records: &[Record], from: u64, to: u64) -> Report {
    // When each visitor started conversations (to spot a return within 24 h).
    let mut starts: HashMap<&str, Vec<u64>> = HashMap::new();
    for r in records {
        if let Some(key) = &r.conversation.visitor_key {
            starts
                .entry(key.as_str())
                .or_default()
                .push(r.conversation.created);
        }
    }
    let in_period: Vec<&Record> = records
        .iter()
        .filter(|r| (from..to).contains(&r.conversation.created))
        .collect();

    let mut outcomes = Outcomes::default();
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let (mut first_responses, mut waits, mut handles) = (Vec::new(), Vec::new(), Vec::new());
    let mut first_contact = 0;
    let mut ratings = Vec::new();
    let mut conversations = 0;
    for r in &in_period {
        let f = facts(&r.events);
        if !f.wrote {
            continue;
        }
        conversations += 1;
        let came_back = f.reopened_in_place
            || r.conversation.visitor_key.as_ref().is_some_and(|key| {
                starts[key.as_str()].iter().any(|&start| {
                    start > r.conversation.created
                        && start >= f.last_at
                        && start - f.last_at <= REOPEN_WINDOW_MS
                })
            });
        let handed_off = f.first_reason.is_some();
        let bot_resolved =
            !handed_off && !f.offline_message && f.bot_answered && !f.not_helpful && !came_back;
        if let Some(reason) = &f.first_reason {
            outcomes.handed_off += 1;
            *reasons.entry(reason_kind(reason)).or_default() += 1;
        } else if f.offline_message {
            outcomes.offline_message += 1;
        } else if bot_resolved {
            outcomes.bot_resolved += 1;
        } else {
            outcomes.not_resolved += 1;
        }
        let agent_resolved = f.closed_by_agent && f.assignments == 1 && !came_back;
        if bot_resolved || agent_resolved {
            first_contact += 1;
        }
        first_responses.extend(f.first_response_ms);
        waits.extend(&f.waits);
        handles.extend(&f.handles);
        ratings.extend(f.rating);
    }
    let mut distribution = [0; 5];
    for &s in &ratings {
        if (1..=5).contains(&s) {
            distribution[usize::from(s) - 1] += 1;
        }
    }
    let csat = Csat {
        average: (!ratings.is_empty())
            .then(|| ratings.iter().map(|&s| f64::from(s)).sum::<f64>() / ratings.len() as f64),
        count: ratings.len(),
        distribution,
        satisfied: share(ratings.iter().filter(|&&s| s >= 4).count(), ratings.len()),
    };
    let kpis = Kpis {
        conversations,
        outcomes,
        bot_resolution: share(outcomes.bot_resolved, conversations),
        handoff_rate: share(outcomes.handed_off, conversations),
        handoffs_by_reason: reasons,
        first_response_time: Average::of(&first_responses),
        average_wait: Average::of(&waits),
        average_handle_time: Average::of(&handles),
        first_contact_resolution: share(first_contact, conversations),
        csat,
    };
    Report {
        from,
        to,
        kpis,
        unanswered: unanswered(&in_period),
        faq_feedback: faq_feedback(&in_period),
        definitions: DEFINITIONS
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

/// A question the bot did not answer well.
struct Miss {
    text: String,
    kind: &'static str,
    closest: Option<(String, f32)>,
    at: u64,
}

/// The FAQ a bot answer gave: from its explanation, or the option the visitor picked just
/// before it (answers to a picked option carry no explanation).
fn answered_faq(events: &[Event], i: usize) -> Option<String> {
    let EventBody::BotAnswer {
        decision,
        explanation,
        ..
    } = &events[i].body
    else {
        return None;
    };
    if decision != "answer" {
        return None;
    }
    if let Some(x) = explanation {
        return match (&x.rule, x.candidates.first()) {
            (Some(_), _) => None,
            (None, c) => c.map(|c| c.faq.to_string()),
        };
    }
    match i.checked_sub(1).map(|p| &events[p].body) {
        Some(EventBody::VisitorChoice { option, .. }) => Some(option.clone()),
        _ => None,
    }
}

fn misses(events: &[Event]) -> Vec<Miss> {
    let mut out = Vec::new();
    let mut question: Option<(&str, u64)> = None;
    for (i, e) in events.iter().enumerate() {
        match &e.body {
            EventBody::VisitorMessage { text, .. } => question = Some((text, e.at)),
            EventBody::BotAnswer {
                decision,
                explanation,
                ..
            } => {
                let kind = match decision.as_str() {
                    "fallback" => "no_answer",
                    "clarify" => "unsure",
                    _ => continue,
                };
                if let Some((text, at)) = question.take() {
                    let closest = explanation
                        .as_ref()
                        .and_then(|x| x.candidates.first())
                        .map(|c| (c.faq.to_string(), c.confidence));
                    out.push(Miss {
                        text: text.to_owned(),
                        kind,
                        closest,
                        at,
                    });
                }
            }
            EventBody::Feedback {
                answer_seq,
                helpful: false,
            } => {
                // The question before the answer that did not help.
                let Some(a) = events[..i].iter().rposition(|x| x.seq == *answer_seq) else {
                    continue;
                };
                let asked = events[..a].iter().rev().find_map(|x| match &x.body {
                    EventBody::VisitorMessage { text, .. } => Some((text.clone(), x.at)),
                    _ => None,
                });
                if let Some((text, at)) = asked {
                    out.push(Miss {
                        text,
                        kind: "not_helpful",
                        closest: answered_faq(events, a).map(|f| (f, 0.0)),
                        at,
                    });
                }
            }
            _ => {}
        }
    }
    out
}

/// Stemmed content words: what two wordings of one question share.
fn signature(stemmer: &Stemmer, text: &str) -> HashSet<String> {
    words(&fold(text))
        .into_iter()
        .filter(|w| !crate::matcher::normalize::is_stopword(w))
        .map(|w| stemmer.stem(&w).into_owned())
        .collect()
}

fn jaccard(a: &HashSet<String>, b: &HashSet<String>) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    a.intersection(b).count() as f64 / a.union(b).count() as f64
}

/// Groups similar missed questions (greedy: each joins the most similar group, by its first
/// question's words, if similar enough), biggest group first.
fn unanswered(records: &[&Record]) -> Vec<QuestionGroup> {
    let stemmer = Stemmer::create(Algorithm::English);
    let mut all: Vec<Miss> = records.iter().flat_map(|r| misses(&r.events)).collect();
    all.sort_by_key(|m| m.at);
    struct Group {
        words: HashSet<String>,
        misses: Vec<Miss>,
    }
    let mut groups: Vec<Group> = Vec::new();
    for miss in all {
        let words = signature(&stemmer, &miss.text);
        let best = groups
            .iter_mut()
            .map(|g| (jaccard(&g.words, &words), g))
            .filter(|(s, _)| *s >= SAME_QUESTION)
            .max_by(|a, b| a.0.total_cmp(&b.0));
        match best {
            Some((_, g)) => g.misses.push(miss),
            None => groups.push(Group {
                words,
                misses: vec![miss],
            }),
        }
    }
    let mut out: Vec<QuestionGroup> = groups
        .into_iter()
        .map(|g| {
            let mut wordings: HashMap<String, usize> = HashMap::new();
            let mut kinds = BTreeMap::new();
            let mut closest: HashMap<String, (usize, f32)> = HashMap::new();
            for m in &g.misses {
                *wordings.entry(m.text.trim().to_owned()).or_default() += 1;
                *kinds.entry(m.kind.to_owned()).or_default() += 1;
                if let Some((faq, confidence)) = &m.closest {
                    let e = closest.entry(faq.clone()).or_insert((0, 0.0));
                    e.0 += 1;
                    e.1 = e.1.max(*confidence);
                }
            }
            let mut ranked: Vec<(String, usize)> = wordings.into_iter().collect();
            ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            let best_faq = closest
                .into_iter()
                .max_by(|a, b| a.1.0.cmp(&b.1.0).then_with(|| b.0.cmp(&a.0)));
            QuestionGroup {
                question: ranked[0].0.clone(),
                count: g.misses.len(),
                examples: ranked
                    .iter()
                    .take(EXAMPLES)
                    .map(|(t, _)| t.clone())
                    .collect(),
                kinds,
                closest_confidence: best_faq.as_ref().map(|(_, (_, c))| *c),
                closest_faq: best_faq.map(|(f, _)| f),
                last_asked: g.misses.iter().map(|m| m.at).max().unwrap_or(0),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| b.last_asked.cmp(&a.last_asked))
    });
    out.truncate(TOP_GROUPS);
    out
}

/// Per FAQ: how often the bot answered with it, and the "Was this helpful?" votes on those answers.
fn faq_feedback(records: &[&Record]) -> Vec<FaqFeedback> {
    let mut by_faq: BTreeMap<String, FaqFeedback> = BTreeMap::new();
    for r in records {
        let answers: HashMap<u64, String> = (0..r.events.len())
            .filter_map(|i| answered_faq(&r.events, i).map(|f| (r.events[i].seq, f)))
            .collect();
        for faq in answers.values() {
            by_faq
                .entry(faq.clone())
                .or_insert_with(|| FaqFeedback {
                    faq: faq.clone(),
                    answered: 0,
                    helpful: 0,
                    not_helpful: 0,
                })
                .answered += 1;
        }
        for e in &r.events {
            if let EventBody::Feedback {
                answer_seq,
                helpful,
            } = e.body
                && let Some(f) = answers.get(&answer_seq).and_then(|f| by_faq.get_mut(f))
            {
                if helpful {
                    f.helpful += 1;
                } else {
                    f.not_helpful += 1;
                }
            }
        }
    }
    let mut out: Vec<FaqFeedback> = by_faq.into_values().collect();
    out.sort_by(|a, b| {
        b.not_helpful
            .cmp(&a.not_helpful)
            .then_with(|| b.answered.cmp(&a.answered))
    });
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::knowledge_base::FaqId;
    use crate::matcher::{Candidate, Explanation};
    use crate::store::{ConversationId, VisitorInfo, VisitorKey};

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
            decision: decision.into(),
            html: String::new(),
            text: String::new(),
            options: Vec::new(),
            offer_human: false,
            explanation: faq.and_then(|(f, c)| explained(f, c)),
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
            reason: reason.into(),
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
    fn feedback_is_counted_per_faq() {
        let r = report(&scripted(), T, T + 7 * 24 * 3600 * S);
        let get = |id: &str| r.faq_feedback.iter().find(|f| f.faq == id).cloned();
        assert_eq!(
            r.faq_feedback[0].faq, "returns",
            "the most \"not helpful\" first"
        );
        assert_eq!(
            get("returns"),
            Some(FaqFeedback {
                faq: "returns".into(),
                answered: 1,
                helpful: 0,
                not_helpful: 1
            })
        );
        assert_eq!(
            get("shipping-times"),
            Some(FaqFeedback {
                faq: "shipping-times".into(),
                answered: 1,
                helpful: 1,
                not_helpful: 0
            })
        );
        assert_eq!(get("refund-status").unwrap().answered, 1);
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
}
