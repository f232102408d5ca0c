//! The questions the bot did not answer well (fallbacks, clarify questions, answers marked "not
//! helpful"), grouped by similarity with the closest FAQ, and "Was this helpful?" per FAQ.

use std::collections::{BTreeMap, HashMap, HashSet};

use rust_stemmers::{Algorithm, Stemmer};

use super::{FaqFeedback, QuestionGroup, Record};
use crate::conversation::{AnswerKind, Event, EventBody, Notice, QueueReason};
use crate::matcher::normalize::{fold, words};

/// An answer given with less confidence than this is listed too: the bot answered, but barely
/// (the default answer threshold is 0.16; answers to well-covered questions score 0.6-1).
pub const LOW_CONFIDENCE: f32 = 0.3;
/// Unanswered-question groups listed.
const TOP_GROUPS: usize = 20;
/// Examples kept per group.
const EXAMPLES: usize = 3;
/// Questions and examples are shortened to this many characters (a pasted e-mail is still one
/// line in the table).
const SHOWN_CHARS: usize = 240;
/// Two questions share a group when this share of their words (stemmed, without stop words) is
/// common to both.
const SAME_QUESTION: f64 = 0.5;

/// A question the bot did not answer well.
struct Miss {
    /// The conversation it was asked in.
    conversation: String,
    text: String,
    kind: &'static str,
    closest: Option<(String, f32)>,
    at: u64,
    /// The language of the bot's reply to it, when told.
    language: Option<String>,
}

/// The language a bot answer was written in.
fn language_of(body: &EventBody) -> Option<String> {
    match body {
        EventBody::BotAnswer { lang, .. } => lang.clone(),
        _ => None,
    }
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
    if *decision != AnswerKind::Answer {
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
    // The closest FAQ when the bot said it was handing over (the queued notice says why).
    let mut handing_over: Option<(String, f32)> = None;
    let mut handing_over_in: Option<String> = None;
    for (i, e) in events.iter().enumerate() {
        match &e.body {
            EventBody::VisitorMessage { text, .. } => question = Some((text, e.at)),
            EventBody::BotAnswer {
                decision: AnswerKind::Handoff,
                explanation,
                ..
            } => {
                handing_over = explanation
                    .as_ref()
                    .and_then(|x| x.candidates.first())
                    .map(|c| (c.faq.to_string(), c.confidence));
                handing_over_in = language_of(&e.body);
            }
            // One miss too many sent the visitor to a person: the question that did it went
            // unanswered too.
            EventBody::Notice {
                notice:
                    Notice::Queued {
                        reason: QueueReason::RepeatedMisses,
                    },
            } => {
                if let Some((text, at)) = question.take() {
                    out.push(Miss {
                        conversation: String::new(),
                        text: text.to_owned(),
                        kind: "handed_off",
                        closest: handing_over.take(),
                        at,
                        language: handing_over_in.take(),
                    });
                }
            }
            EventBody::BotAnswer {
                decision,
                explanation,
                ..
            } => {
                let best = explanation
                    .as_ref()
                    .filter(|x| x.rule.is_none())
                    .and_then(|x| x.candidates.first());
                let kind = match decision {
                    AnswerKind::Fallback => "no_answer",
                    AnswerKind::Clarify => "unsure",
                    AnswerKind::Answer if best.is_some_and(|c| c.confidence < LOW_CONFIDENCE) => {
                        "low_confidence"
                    }
                    _ => continue,
                };
                if let Some((text, at)) = question.take() {
                    let closest = explanation
                        .as_ref()
                        .and_then(|x| x.candidates.first())
                        .map(|c| (c.faq.to_string(), c.confidence));
                    out.push(Miss {
                        conversation: String::new(),
                        text: text.to_owned(),
                        kind,
                        closest,
                        at,
                        language: language_of(&e.body),
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
                        conversation: String::new(),
                        text,
                        kind: "not_helpful",
                        closest: answered_faq(events, a).map(|f| (f, 0.0)),
                        at,
                        language: language_of(&events[a].body),
                    });
                }
            }
            _ => {}
        }
    }
    // An answer that was both barely confident and "not helpful" counts once, as the latter.
    let mut seen = HashSet::new();
    out.reverse();
    out.retain(|m| seen.insert((m.at, m.text.clone())));
    out.reverse();
    out
}

/// Stemmed content words: what two wordings of one question share, when no knowledge base is
/// at hand (the server uses its matcher's reading instead: typos, synonyms).
pub(super) fn stemmed_words(text: &str) -> HashSet<String> {
    static STEMMER: std::sync::LazyLock<Stemmer> =
        std::sync::LazyLock::new(|| Stemmer::create(Algorithm::English));
    signature(&STEMMER, text)
}

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
pub(super) fn unanswered(
    records: &[&Record],
    words_of: &dyn Fn(&str, Option<&str>) -> HashSet<String>,
) -> Vec<QuestionGroup> {
    let mut all: Vec<Miss> = records
        .iter()
        .flat_map(|r| {
            let id = r.conversation.id.to_string();
            misses(&r.events).into_iter().map(move |m| Miss {
                conversation: id.clone(),
                ..m
            })
        })
        .collect();
    all.sort_by_key(|m| m.at);
    struct Group {
        words: HashSet<String>,
        language: Option<String>,
        misses: Vec<Miss>,
    }
    let mut groups: Vec<Group> = Vec::new();
    for miss in all {
        let words = words_of(&miss.text, miss.language.as_deref());
        let best = groups
            .iter_mut()
            .filter(|g| g.language == miss.language)
            .map(|g| (jaccard(&g.words, &words), g))
            .filter(|(s, _)| *s >= SAME_QUESTION)
            .max_by(|a, b| a.0.total_cmp(&b.0));
        match best {
            Some((_, g)) => g.misses.push(miss),
            None => groups.push(Group {
                words,
                language: miss.language.clone(),
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
                question: shortened(&ranked[0].0),
                language: g.language,
                count: g.misses.len(),
                examples: ranked
                    .iter()
                    .take(EXAMPLES)
                    .map(|(t, _)| shortened(t))
                    .collect(),
                kinds,
                closest_confidence: best_faq.as_ref().map(|(_, (_, c))| *c),
                closest_faq: best_faq.map(|(f, _)| f),
                closest_file: None,
                now: None,
                last_asked: g.misses.iter().map(|m| m.at).max().unwrap_or(0),
                conversations: {
                    let mut ids: Vec<String> =
                        g.misses.iter().map(|m| m.conversation.clone()).collect();
                    ids.dedup();
                    ids.truncate(super::BEHIND_KEPT);
                    ids
                },
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

/// `text` cut at a word boundary to at most `SHOWN_CHARS` characters, with "…" when cut.
fn shortened(text: &str) -> String {
    if text.chars().count() <= SHOWN_CHARS {
        return text.to_owned();
    }
    let cut: String = text.chars().take(SHOWN_CHARS - 1).collect();
    let at_word = cut
        .rfind(char::is_whitespace)
        .filter(|&i| i > SHOWN_CHARS / 2);
    format!("{}…", cut[..at_word.unwrap_or(cut.len())].trim_end())
}

/// Messages kept per FAQ (the most frequent wordings that reached it).
const MESSAGES_PER_FAQ: usize = 5;

/// Per FAQ and language: how often the bot answered with it or offered it in a "which one?",
/// the "Was this helpful?" votes on those answers, the conversations handed to a person after
/// it, and the messages that reached it (to spot wrong matches). Each number keeps the
/// conversations behind it.
pub(super) fn faq_feedback(records: &[&Record]) -> Vec<FaqFeedback> {
    #[derive(Default)]
    struct Tally {
        answered: usize,
        clarified: usize,
        helpful: usize,
        not_helpful: usize,
        handoffs_after: usize,
        messages: HashMap<String, usize>,
        behind: BTreeMap<String, Vec<String>>,
    }
    let mut by_faq: BTreeMap<(String, Option<String>), Tally> = BTreeMap::new();
    for r in records {
        let conversation = r.conversation.id.to_string();
        let note = |t: &mut Tally, what: &str| {
            let ids = t.behind.entry(what.to_owned()).or_default();
            if ids.last() != Some(&conversation) && ids.len() < super::BEHIND_KEPT {
                ids.push(conversation.clone());
            }
        };
        // Answers by seq (for the votes), and the FAQs answered so far (for a later handoff).
        let mut answers: HashMap<u64, (String, Option<String>)> = HashMap::new();
        let mut answered_so_far: Vec<(String, Option<String>)> = Vec::new();
        let mut handed_after: HashSet<(String, Option<String>)> = HashSet::new();
        let mut asked: Option<&str> = None;
        for (i, e) in r.events.iter().enumerate() {
            match &e.body {
                EventBody::VisitorMessage { text, .. } => asked = Some(text),
                EventBody::VisitorChoice { title, .. } => asked = Some(title),
                EventBody::BotAnswer {
                    decision: AnswerKind::Clarify,
                    options,
                    ..
                } => {
                    let lang = language_of(&e.body);
                    for o in options {
                        let t = by_faq.entry((o.id.clone(), lang.clone())).or_default();
                        t.clarified += 1;
                        note(t, "clarified");
                    }
                }
                EventBody::BotAnswer { .. } => {
                    let Some(faq) = answered_faq(&r.events, i) else {
                        continue;
                    };
                    let key = (faq, language_of(&e.body));
                    let t = by_faq.entry(key.clone()).or_default();
                    t.answered += 1;
                    note(t, "answered");
                    if let Some(text) = asked.take() {
                        *t.messages.entry(shortened(text.trim())).or_default() += 1;
                    }
                    answers.insert(e.seq, key.clone());
                    answered_so_far.push(key);
                }
                EventBody::Feedback {
                    answer_seq,
                    helpful,
                } => {
                    if let Some(t) = answers.get(answer_seq).and_then(|k| by_faq.get_mut(k)) {
                        if *helpful {
                            t.helpful += 1;
                        } else {
                            t.not_helpful += 1;
                            note(t, "not_helpful");
                        }
                    }
                }
                EventBody::Notice {
                    notice: Notice::Queued { .. },
                } => {
                    for key in answered_so_far.drain(..) {
                        if handed_after.insert(key.clone())
                            && let Some(t) = by_faq.get_mut(&key)
                        {
                            t.handoffs_after += 1;
                            note(t, "handoffs_after");
                        }
                    }
                }
                _ => {}
            }
        }
    }
    let mut out: Vec<FaqFeedback> = by_faq
        .into_iter()
        .map(|((faq, language), t)| {
            let mut messages: Vec<(String, usize)> = t.messages.into_iter().collect();
            messages.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            let votes = t.helpful + t.not_helpful;
            FaqFeedback {
                faq,
                language,
                answered: t.answered,
                clarified: t.clarified,
                helpful: t.helpful,
                not_helpful: t.not_helpful,
                helpful_share: (votes > 0).then(|| t.helpful as f64 / votes as f64),
                handoffs_after: t.handoffs_after,
                messages: messages
                    .into_iter()
                    .take(MESSAGES_PER_FAQ)
                    .map(|(m, _)| m)
                    .collect(),
                conversations: t.behind,
                title: None,
                category: None,
                file: None,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.not_helpful
            .cmp(&a.not_helpful)
            .then_with(|| b.answered.cmp(&a.answered))
            .then_with(|| a.faq.cmp(&b.faq))
    });
    out
}
