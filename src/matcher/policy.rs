//! The matcher's output: one `Decision` per visitor message, with an `Explanation` that agents
//! and editors can read (which rule or FAQ, how sure, what matched, how frustrated).

use serde::{Deserialize, Serialize};

use super::frustration::Signal;
use crate::knowledge_base::FaqId;

/// Why a conversation goes to a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", content = "id", rename_all = "snake_case")]
pub enum HandoffReason {
    /// A `handoff` rule fired ("talk to a human").
    Rule(FaqId),
    /// The visitor asked for a person in their own words (`handoff.toml`).
    VisitorAsked,
    /// The frustration meter crossed its threshold.
    Frustrated,
    /// The bot missed several times in a row.
    RepeatedMisses,
    /// The FAQ that answers says `handoff = "always"`.
    Faq(FaqId),
}

/// Where an answer comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Source {
    Faq(FaqId),
    Rule(FaqId),
}

/// What the bot does with one message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// Answer from an FAQ or a reply rule; `options` are follow-up FAQs to offer.
    Answer {
        source: Source,
        options: Vec<FaqId>,
        offer_human: bool,
    },
    /// Not sure between 2-3 FAQs: ask which one is meant; with `offer_human`, "Talk to a
    /// person" among the choices (the message named a person).
    Clarify {
        options: Vec<FaqId>,
        #[serde(default)]
        offer_human: bool,
    },
    /// No good answer; after repeated misses, offer a person.
    Fallback { offer_human: bool },
    /// Hand the conversation to a person.
    Handoff { reason: HandoffReason },
}

impl Decision {
    /// A short name for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Decision::Answer { .. } => "answer",
            Decision::Clarify { .. } => "clarify",
            Decision::Fallback { .. } => "fallback",
            Decision::Handoff { .. } => "handoff",
        }
    }

    /// The FAQ this decision answers with, if any.
    pub fn answered_faq(&self) -> Option<&FaqId> {
        match self {
            Decision::Answer {
                source: Source::Faq(id),
                ..
            } => Some(id),
            _ => None,
        }
    }
}

/// An FAQ the matcher considered, with its confidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Candidate {
    #[schema(value_type = String)]
    pub faq: FaqId,
    /// 0..=1: the model's probability times how much of the message the FAQ covers.
    pub confidence: f32,
    /// The scorer's probability for this FAQ, before coverage.
    pub probability: f32,
    /// Cosine similarity of the message's meaning to the FAQ's phrasings' mean meaning, relative
    /// to how alike the knowledge base's phrasings are (1 = as close as a typical phrasing).
    pub similarity: f32,
    /// Share of the message's information (IDF-weighted terms) found in this FAQ's phrasings.
    pub coverage: f32,
    /// The FAQ's phrasing closest to the message (BM25), when retrieval found one.
    pub nearest_phrasing: Option<String>,
}

/// Why the matcher decided what it did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default, utoipa::ToSchema)]
pub struct Explanation {
    /// The rule that fired, and the phrase that fired it.
    #[schema(value_type = Option<Vec<String>>, min_items = 2, max_items = 2)]
    pub rule: Option<(FaqId, String)>,
    /// The words that asked for a person ("speak to a manager"), when the visitor asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asked_for_person: Option<String>,
    /// The two questions a message was read as, when it held two: the first is answered, the
    /// second offered first among the options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<Vec<String>>,
    /// The best FAQ candidates, best first (at most 3).
    pub candidates: Vec<Candidate>,
    /// Confidence of the best candidate minus the runner-up's.
    pub margin: f32,
    /// Share of the message's information (IDF-weighted terms) known anywhere in the knowledge base.
    pub known: f32,
    /// Message terms found in the best FAQ's phrasings.
    pub matched_terms: Vec<String>,
    /// Typos corrected: (as typed, read as).
    #[schema(value_type = Vec<Vec<String>>)]
    pub corrections: Vec<(String, String)>,
    /// The frustration score after this turn, and what fired this turn.
    pub frustration: f32,
    pub signals: Vec<Signal>,
    /// The language the message was read in, when the knowledge base has several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<LanguageChoice>,
}

/// Why a message was read in a language.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LanguageChoice {
    /// Two-letter code.
    pub code: String,
    /// Share of the message's words that language's knowledge base knows.
    pub known: f32,
    /// The trigram detector's verdict (ISO 639-3), if it had one.
    pub detected: Option<String>,
}

impl Explanation {
    /// One line for agents and editors: "faq return-policy 0.82 (margin 0.61) matched: return, item".
    pub fn summary(&self) -> String {
        let mut s = match (&self.rule, self.candidates.first()) {
            (Some((rule, _)), _) if let Some(words) = &self.asked_for_person => {
                format!("asked for a person (\"{words}\", caught by rule {rule})")
            }
            _ if let Some(words) = &self.asked_for_person => {
                format!("asked for a person (\"{words}\")")
            }
            (Some((rule, phrase)), _) => format!("rule {rule} (\"{phrase}\")"),
            (None, Some(c)) => format!(
                "faq {} {:.2} (margin {:.2}, coverage {:.2})",
                c.faq, c.confidence, self.margin, c.coverage
            ),
            (None, None) => "no rule or FAQ matched".to_owned(),
        };
        if let Some(halves) = &self.split {
            s.push_str(&format!(" [two questions: \"{}\"]", halves.join("\" + \"")));
        }
        if !self.matched_terms.is_empty() {
            s.push_str(&format!(" matched: {}", self.matched_terms.join(", ")));
        }
        for (from, to) in &self.corrections {
            s.push_str(&format!(" [read \"{from}\" as \"{to}\"]"));
        }
        s.push_str(&format!("; frustration {:.2}", self.frustration));
        if !self.signals.is_empty() {
            let names: Vec<String> = self
                .signals
                .iter()
                .map(|sig| {
                    serde_json::to_value(sig)
                        .ok()
                        .and_then(|v| v["signal"].as_str().map(str::to_owned))
                        .unwrap_or_default()
                })
                .collect();
            s.push_str(&format!(" ({})", names.join(", ")));
        }
        s
    }
}
