//! KPIs and unanswered questions, computed from the conversations' own logs (the same events
//! visitors and agents saw), so every number can be traced to transcripts. `gather` reads the
//! store; `report` is a pure function of what it read, which is what the tests pin.
//!
//! Each KPI's definition is in `DEFINITIONS`, shown next to the number on `/admin` and by
//! `frontdesk report`. Conversation outcomes are a partition (each conversation has exactly one),
//! so outcome rates always add up to 100%.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::conversation::Conversation;
use crate::conversation::{AnswerKind, Event, EventBody, Notice, QueueReason};
use crate::ports::{Store, StoreResult};

mod questions;
#[cfg(test)]
mod tests;

use questions::{faq_feedback, unanswered};

/// A visitor who starts another conversation within this long of the last one's end "reopened" it.
pub const REOPEN_WINDOW_MS: u64 = 24 * 3600 * 1000;
/// Conversations listed behind one number of a report.
pub const BEHIND_KEPT: usize = 200;
/// Conversations read at once by `gather`.
const READS_IN_FLIGHT: usize = 64;
/// Reports computed at once by this process (`period_report`): a year's report holds that
/// year's conversations while it is worked out, so ten dashboards opened at once wait their
/// turn rather than hold ten years.
const REPORTS_AT_ONCE: usize = 2;
static REPORTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(REPORTS_AT_ONCE);

/// The report of `[from, to)` as `matcher` reads it (`gather`, then `report_for`), at most
/// `REPORTS_AT_ONCE` at a time in this process.
pub async fn period_report(
    store: &dyn Store,
    matcher: &crate::matcher::Matcher,
    from: u64,
    to: u64,
) -> StoreResult<Report> {
    // The semaphore is never closed.
    let _turn = REPORTS.acquire().await.ok();
    let records = gather(store, from, to).await?;
    let mut report = report_for(&records, from, to, matcher);
    // Questions an editor dismissed are not listed again.
    let dismissed: std::collections::HashSet<String> = store
        .edits(crate::ports::EDITS_KEPT)
        .await?
        .into_iter()
        .filter(|e| e.action == crate::ports::EditAction::Dismiss)
        .map(|e| same_question(&e.question))
        .collect();
    if !dismissed.is_empty() {
        report
            .unanswered
            .retain(|g| !dismissed.contains(&same_question(&g.question)));
    }
    Ok(report)
}

/// A question as dismissals compare it: case and spacing aside.
fn same_question(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The definitions shown next to the numbers.
pub const DEFINITIONS: &[(&str, &str)] = &[
    (
        "conversations",
        "Conversations started in the period in which the visitor wrote at least once or asked \
         for a person (a chat opened and left without a word is not counted).",
    ),
    (
        "bot_resolution",
        "Share of conversations the bot finished alone: its last reply to the visitor was an \
         answer (not \"I don't know\", an unanswered \"which one?\" or \"nobody can answer \
         now\" to a visitor asking for a person), the visitor was never handed to a person or \
         left an offline message, gave no \"not helpful\", and did not come back within 24 h.",
    ),
    (
        "handoff_rate",
        "Share of conversations handed off (see outcomes), split by the first reason: visitor \
         asked (in their words, the button, or a handoff rule that caught them asking for a \
         person), frustration, repeated misses, a rule (on a topic) or an FAQ that always hands \
         off.",
    ),
    (
        "outcomes",
        "Every conversation has exactly one outcome: bot resolved, handed off (entered the \
         queue for a person), offline message (nobody could answer and the visitor left a \
         message, also after waiting in the queue for a person who never took the chat), or not \
         resolved (the rest). They add up to 100%.",
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
/// (only to tell whether a visitor came back). Each log is kept only as far as a report reads
/// it (`for_reports`): a year of conversations is a year of bot answers, explanations and agent
/// replies that no number needs.
pub async fn gather(store: &dyn Store, from: u64, to: u64) -> StoreResult<Vec<Record>> {
    use futures_util::{StreamExt, TryStreamExt};
    let ids = store
        .conversations_created(from, to.saturating_add(REOPEN_WINDOW_MS))
        .await?;
    // Many reads in flight at once: on Redis they share one pipelined connection, so a report
    // costs about a round trip per `READS_IN_FLIGHT` conversations, not one per conversation.
    let read = futures_util::stream::iter(ids)
        .map(|id| async move {
            // Erased meanwhile (retention, forget): skip it.
            let Some(conversation) = store.get(&id).await? else {
                return Ok(None);
            };
            match store.events_after(&id, 0).await {
                Ok(events) => Ok(Some(Record {
                    conversation,
                    events: events.into_iter().map(for_reports).collect(),
                })),
                Err(crate::ports::StoreError::NotFound(_)) => Ok(None),
                Err(e) => Err(e),
            }
        })
        .buffered(READS_IN_FLIGHT);
    let records: Vec<Option<Record>> = read.try_collect().await?;
    Ok(records.into_iter().flatten().collect())
}

/// `event` with only what reports read: the visitor's words (unanswered questions), the bot's
/// decision, FAQ, language and its best candidate or rule (with its confidence); not the
/// answers' HTML and text, their options, the rest of the explanation, agents' and notes' text.
fn for_reports(mut event: Event) -> Event {
    match &mut event.body {
        EventBody::BotAnswer {
            decision,
            html,
            text,
            options,
            explanation,
            ..
        } => {
            *html = String::new();
            *text = String::new();
            // A "which one?"'s options count as offers of those FAQs: their ids stay.
            if *decision == AnswerKind::Clarify {
                options.iter_mut().for_each(|o| o.title = String::new());
            } else {
                *options = Vec::new();
            }
            if let Some(x) = explanation.as_mut() {
                *x = std::sync::Arc::new(crate::matcher::Explanation {
                    rule: x.rule.clone(),
                    asked_for_person: x.asked_for_person.clone(),
                    candidates: x
                        .candidates
                        .iter()
                        .take(1)
                        .map(|c| crate::matcher::Candidate {
                            nearest_phrasing: None,
                            ..c.clone()
                        })
                        .collect(),
                    ..Default::default()
                });
            }
        }
        EventBody::AgentMessage { text, .. } | EventBody::Note { text, .. } => {
            *text = String::new()
        }
        _ => {}
    }
    event
}

/// An average over some number of cases (`None` without cases).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Outcomes {
    pub bot_resolved: usize,
    pub handed_off: usize,
    pub offline_message: usize,
    pub not_resolved: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Csat {
    pub average: Option<f64>,
    pub count: usize,
    /// Ratings 1..=5 (index 0 = score 1).
    pub distribution: [usize; 5],
    /// Share of ratings that are 4 or 5.
    pub satisfied: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QuestionGroup {
    /// The most frequent wording.
    pub question: String,
    /// The language the questions were read in (two letters), when the knowledge base has
    /// several: questions group within a language only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    pub count: usize,
    pub examples: Vec<String>,
    /// How the bot fared: `no_answer` (fallback), `unsure` (asked which one), `low_confidence`
    /// (answered with confidence under `LOW_CONFIDENCE`), `not_helpful`.
    pub kinds: BTreeMap<String, usize>,
    /// The FAQ the matcher found closest (most often across the group), with its best
    /// confidence: add a phrasing there, or write a new FAQ.
    pub closest_faq: Option<String>,
    pub closest_confidence: Option<f32>,
    /// The closest FAQ's file in the serving knowledge base (filled in by the server).
    #[serde(default)]
    pub closest_file: Option<String>,
    /// When the last one was asked (ms).
    pub last_asked: u64,
    /// What the bot does with the question now (filled in by the server, in a test case's
    /// words: an FAQ id, `fallback`, `clarify (a | b)`...): a fixed question shows it.
    #[serde(default)]
    pub now: Option<String>,
    /// The conversations it was asked in (the first `BEHIND_KEPT`): a manager opens them to
    /// check what the number means.
    #[serde(default)]
    pub conversations: Vec<String>,
}

/// What one FAQ did in a period, in one language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FaqFeedback {
    pub faq: String,
    /// The language it answered in (two letters), when the knowledge base has several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Times the bot answered with it.
    pub answered: usize,
    /// Times it was one of the options of a "which one do you mean?".
    #[serde(default)]
    pub clarified: usize,
    pub helpful: usize,
    pub not_helpful: usize,
    /// helpful / (helpful + not helpful), when anyone voted.
    #[serde(default)]
    pub helpful_share: Option<f64>,
    /// Conversations handed to a person after it answered in them.
    #[serde(default)]
    pub handoffs_after: usize,
    /// The messages that reached it, most frequent first (a few): a wrong match shows here.
    #[serde(default)]
    pub messages: Vec<String>,
    /// The conversations behind each number (the first `BEHIND_KEPT`): `answered`,
    /// `clarified`, `not_helpful`, `handoffs_after`.
    #[serde(default)]
    pub conversations: BTreeMap<String, Vec<String>>,
    /// Its title, folder under `faq/` and file in the serving knowledge base (filled in by the
    /// server; absent for an FAQ that is gone).
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub file: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Report {
    pub from: u64,
    pub to: u64,
    pub kpis: Kpis,
    pub unanswered: Vec<QuestionGroup>,
    pub faq_feedback: Vec<FaqFeedback>,
    pub definitions: BTreeMap<String, String>,
    /// The conversations behind each number (the first `BEHIND_KEPT` of each), so every number
    /// can be checked: `conversations` (counted), `outcome:<bot_resolved|handed_off|
    /// offline_message|not_resolved>`, `reason:<kind>` (handoffs by first reason),
    /// `first_contact`, `answered_by_agent` (first response time), `waited` (average wait),
    /// `rated:<1-5>`.
    #[serde(default)]
    pub behind: BTreeMap<String, Vec<String>>,
}

fn share(n: usize, of: usize) -> Option<f64> {
    (of > 0).then(|| n as f64 / of as f64)
}

/// What one conversation's log says.
#[derive(Default)]
struct Facts {
    wrote: bool,
    /// The bot's last reply to the visitor was an answer.
    last_reply_answered: bool,
    not_helpful: bool,
    offline_message: bool,
    first_reason: Option<QueueReason>,
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
            EventBody::BotAnswer { decision, .. } => match decision {
                AnswerKind::Answer => f.last_reply_answered = true,
                // The offline form: the visitor wanted a person and nobody could answer, so the
                // bot did not finish it, message left or not.
                AnswerKind::Clarify | AnswerKind::Fallback | AnswerKind::Offline => {
                    f.last_reply_answered = false
                }
                // A handoff is an outcome of its own; a notice replies to nothing.
                AnswerKind::Handoff | AnswerKind::Notice => {}
            },
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

/// KPIs, unanswered questions and FAQ feedback of the conversations created in `[from, to)`.
/// `records` may hold later conversations too (they only tell whether a visitor came back).
pub fn report(records: &[Record], from: u64, to: u64) -> Report {
    report_grouped_by(records, from, to, &|text, _| questions::stemmed_words(text))
}

/// A report as the knowledge base `matcher` reads it: similar questions grouped by the matcher's
/// reading (synonyms, typos), and each group's closest FAQ located in its file.
pub fn report_for(
    records: &[Record],
    from: u64,
    to: u64,
    matcher: &crate::matcher::Matcher,
) -> Report {
    // Each question read as its language's matcher reads it.
    let words_of =
        |text: &str, language: Option<&str>| matcher.for_language(language).content_terms(text);
    let mut report = report_grouped_by(records, from, to, &words_of);
    for group in &mut report.unanswered {
        let kb = matcher
            .for_language(group.language.as_deref())
            .knowledge_base();
        group.closest_file = group
            .closest_faq
            .as_deref()
            .and_then(|id| {
                kb.faqs
                    .iter()
                    .find(|f| f.id.as_str() == id && !f.untranslated)
            })
            .map(|f| f.file.to_string_lossy().replace('\\', "/"));
        let turn = matcher.decide(&crate::matcher::Memory::default(), &group.question);
        group.now = Some(crate::kb_test::outcome(&turn.decision));
    }
    for row in &mut report.faq_feedback {
        let kb = matcher
            .for_language(row.language.as_deref())
            .knowledge_base();
        if let Some(f) = kb.faqs.iter().find(|f| f.id.as_str() == row.faq) {
            let file = f.file.to_string_lossy().replace('\\', "/");
            let inner = file.strip_prefix("faq/").unwrap_or(&file);
            row.category = Some(inner.rsplit_once('/').map_or("", |(c, _)| c).to_owned());
            row.title = Some(f.title.clone());
            row.file = Some(file);
        }
    }
    report
}

/// `report`, grouping similar questions by `words_of` (a question and its language; e.g.
/// `Matcher::content_terms`, which knows the knowledge base's synonyms and corrects typos).
pub fn report_grouped_by(
    records: &[Record],
    from: u64,
    to: u64,
    words_of: &dyn Fn(&str, Option<&str>) -> std::collections::HashSet<String>,
) -> Report {
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
    let mut behind: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut note = |what: String, r: &Record| {
        let ids = behind.entry(what).or_default();
        if ids.len() < BEHIND_KEPT {
            ids.push(r.conversation.id.to_string());
        }
    };
    for r in &in_period {
        let f = facts(&r.events);
        if !f.wrote {
            continue;
        }
        conversations += 1;
        note("conversations".into(), r);
        let came_back = f.reopened_in_place
            || r.conversation.visitor_key.as_ref().is_some_and(|key| {
                // Another conversation of theirs, started after this one began (in ms: two of
                // one visitor's conversations starting in the same millisecond are not told
                // apart) and no later than 24 h after its last event (a second tab while this
                // one is open counts).
                starts[key.as_str()].iter().any(|&start| {
                    start > r.conversation.created
                        && start <= f.last_at.saturating_add(REOPEN_WINDOW_MS)
                })
            });
        // Waiting for a person who never came, then leaving a message with the form, is an
        // offline message: nobody could answer.
        let left_message_instead = f.offline_message && f.assignments == 0;
        let handed_off = f.first_reason.is_some() && !left_message_instead;
        let bot_resolved = f.first_reason.is_none()
            && !f.offline_message
            && f.last_reply_answered
            && !f.not_helpful
            && !came_back;
        let outcome = if let Some(reason) = f.first_reason.as_ref().filter(|_| handed_off) {
            outcomes.handed_off += 1;
            let kind = reason.kind().as_str();
            *reasons.entry(kind.to_owned()).or_default() += 1;
            note(format!("reason:{kind}"), r);
            "handed_off"
        } else if f.offline_message {
            outcomes.offline_message += 1;
            "offline_message"
        } else if bot_resolved {
            outcomes.bot_resolved += 1;
            "bot_resolved"
        } else {
            outcomes.not_resolved += 1;
            "not_resolved"
        };
        note(format!("outcome:{outcome}"), r);
        let agent_resolved = f.closed_by_agent && f.assignments == 1 && !came_back;
        if bot_resolved || agent_resolved {
            first_contact += 1;
            note("first_contact".into(), r);
        }
        if f.first_response_ms.is_some() {
            note("answered_by_agent".into(), r);
        }
        if !f.waits.is_empty() {
            note("waited".into(), r);
        }
        if let Some(score) = f.rating.filter(|s| (1..=5).contains(s)) {
            note(format!("rated:{score}"), r);
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
        unanswered: unanswered(&in_period, words_of),
        faq_feedback: faq_feedback(&in_period),
        definitions: DEFINITIONS
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        behind,
    }
}
