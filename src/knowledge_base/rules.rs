//! `rules.toml` and `synonyms.toml`: intent rules (phrases -> reply | handoff | suggest), the
//! frustration lexicon and thresholds, the answer policy's confidence thresholds, and groups of
//! terms treated as one word.
//!
//! Owns the file formats, their defaults and validation. Matching them against text is the
//! matcher's job (`matcher::rules`, `matcher::frustration`).

use std::path::Path;

use serde::Deserialize;

use super::faq::{FaqId, render_markdown};
use super::problem::{self, Problem};
use super::size::{self, MAX_ANSWER_BYTES, MAX_OFFERED};

/// What a rule does when one of its phrases is in the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleAction {
    /// Answer with the rule's `reply` (and its `suggest` options, if any).
    Reply,
    /// Hand the conversation to a person.
    Handoff,
    /// Offer the FAQs in `suggest` as options.
    Suggest,
}

/// Where in a message a rule's phrase may stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleScope {
    /// Anywhere in the message ("... can I talk to a human?").
    #[default]
    Anywhere,
    /// Only when the message is little more than the phrase: "hi" fires on "hi there!" but not on
    /// "hi, where is my order?", which the FAQ should answer.
    Alone,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDef {
    id: String,
    phrases: Vec<String>,
    action: RuleAction,
    #[serde(default)]
    scope: RuleScope,
    reply: Option<String>,
    #[serde(default)]
    suggest: Vec<String>,
}

/// A validated rule.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Rule {
    pub id: FaqId,
    pub phrases: Vec<String>,
    pub action: RuleAction,
    pub scope: RuleScope,
    /// The reply as safe HTML and plain text (empty for `handoff` rules without a reply).
    pub reply_html: String,
    pub reply_text: String,
    pub suggest: Vec<FaqId>,
}

/// A phrase that signals frustration, with how much it adds to the meter.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct WeightedPhrase {
    pub phrase: String,
    pub weight: f32,
}

/// The frustration meter's lexicon, signal weights and threshold.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct FrustrationSettings {
    /// Crossing this score hands the conversation to a person.
    pub threshold: f32,
    /// Share of the score kept after a calm turn (0.5 halves it).
    pub decay: f32,
    /// A message mostly in capitals.
    pub shouting: f32,
    /// "!!!" or "???" (or longer).
    pub punctuation: f32,
    /// The same question asked again.
    pub repeated_question: f32,
    /// The bot could not answer the previous turn either.
    pub repeated_fallback: f32,
    /// The visitor said an answer did not help.
    pub negative_feedback: f32,
    /// How negative a message must read (VADER compound, 0..1) before it counts: problems are
    /// described in negative words ("my parcel is damaged") without anger.
    pub sentiment_floor: f32,
    /// Weight per unit of negativity beyond `sentiment_floor` (less what the phrases already
    /// counted).
    pub sentiment: f32,
    /// From this negativity on, every answer and "I don't know" offers a person at once.
    pub offer_person_at: f32,
    /// Words that tell a problem, not a mood ("damaged", "lost"): left out when reading how
    /// negative a message is.
    pub problem_words: Vec<String>,
    #[serde(rename = "phrase")]
    pub phrases: Vec<WeightedPhrase>,
}

impl Default for FrustrationSettings {
    fn default() -> Self {
        FrustrationSettings {
            threshold: 1.0,
            decay: 0.5,
            shouting: 0.4,
            punctuation: 0.3,
            repeated_question: 0.5,
            repeated_fallback: 0.3,
            negative_feedback: 0.4,
            sentiment_floor: 0.35,
            sentiment: 2.5,
            offer_person_at: 0.45,
            problem_words: [
                "damaged",
                "damage",
                "broken",
                "break",
                "breaks",
                "lost",
                "lose",
                "missing",
                "miss",
                "wrong",
                "late",
                "delay",
                "delayed",
                "declined",
                "decline",
                "stolen",
                "steal",
                "stole",
                "charged",
                "charge",
                "error",
                "errors",
                "failed",
                "fail",
                "fails",
                "problem",
                "problems",
                "issue",
                "issues",
                "cancel",
                "cancelled",
                "canceled",
                "defective",
                "faulty",
                "scratched",
                "cracked",
                "leaking",
                "leak",
                "smashed",
                "crushed",
                "torn",
                "hurt",
                "pain",
                "died",
                "dead",
            ]
            .map(str::to_owned)
            .to_vec(),
            phrases: Vec::new(),
        }
    }
}

/// Confidence thresholds of the answer policy (confidences are in 0..=1).
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicySettings {
    /// At or above: answer with the best FAQ.
    pub answer_confidence: f32,
    /// At or above (but below `answer_confidence`): offer the best 2-3 FAQs to choose from.
    pub clarify_confidence: f32,
    /// After this many fallbacks in a row, offer a person.
    pub offer_human_after_fallbacks: u32,
    /// After this many fallbacks in a row, hand over to a person (0: never).
    pub handoff_after_fallbacks: u32,
}

impl Default for PolicySettings {
    fn default() -> Self {
        PolicySettings {
            answer_confidence: 0.16,
            clarify_confidence: 0.09,
            offer_human_after_fallbacks: 2,
            handoff_after_fallbacks: 3,
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default, rename = "rule")]
    rules: Vec<RuleDef>,
    #[serde(default)]
    frustration: FrustrationSettings,
    #[serde(default)]
    policy: PolicySettings,
}

/// Everything `rules.toml` holds, validated.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    pub frustration: FrustrationSettings,
    pub policy: PolicySettings,
}

pub(crate) fn parse_rules(file: &Path, source: &str) -> Result<RuleSet, Vec<Problem>> {
    let parsed: RulesFile =
        toml::from_str(source).map_err(|e| vec![problem::from_toml(file, source, 1, &e)])?;
    let mut errors = Vec::new();
    let mut rules = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut search_from = 1;
    for def in parsed.rules {
        let id_line = problem::line_containing(source, 1, &format!("\"{}\"", def.id), search_from);
        search_from = id_line.unwrap_or(search_from);
        let err = |msg: String, field: &str| {
            Problem::error(file, format!("rule `{}`: {msg}", def.id)).at(id_line, Some(field))
        };
        let id = match FaqId::parse(&def.id) {
            Ok(id) => id,
            Err(msg) => {
                errors.push(err(msg, "id"));
                continue;
            }
        };
        if !seen.insert(id.clone()) {
            errors.push(err("a rule with this id is defined twice".into(), "id"));
        }
        let phrases: Vec<String> = def
            .phrases
            .iter()
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect();
        if phrases.is_empty() {
            errors.push(err("list at least one phrase".into(), "phrases"));
        }
        let reply = def
            .reply
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty());
        if def.action == RuleAction::Reply && reply.is_none() {
            errors.push(err("a `reply` rule needs a `reply` text".into(), "reply"));
        }
        if def.action == RuleAction::Suggest && def.suggest.is_empty() {
            errors.push(err(
                "a `suggest` rule needs FAQ ids in `suggest`".into(),
                "suggest",
            ));
        }
        if reply.is_some_and(|r| r.len() > MAX_ANSWER_BYTES) {
            errors.push(err(
                format!(
                    "the reply may be at most {}: link to a page for the rest",
                    size::human(MAX_ANSWER_BYTES as u64)
                ),
                "reply",
            ));
        }
        if def.suggest.len() > MAX_OFFERED {
            errors.push(err(
                format!("suggest at most {MAX_OFFERED} FAQs: each one is a button for the visitor"),
                "suggest",
            ));
        }
        let mut suggest = Vec::new();
        for s in &def.suggest {
            match FaqId::parse(s) {
                Ok(s) => suggest.push(s),
                Err(msg) => errors.push(err(msg, "suggest")),
            }
        }
        let (reply_html, reply_text) = reply.map(render_markdown).unwrap_or_default();
        rules.push(Rule {
            id,
            phrases,
            action: def.action,
            scope: def.scope,
            reply_html,
            reply_text,
            suggest,
        });
    }
    let f = &parsed.frustration;
    if f.threshold.is_nan() || f.threshold <= 0.0 {
        errors.push(frustration_error(
            file,
            source,
            "threshold",
            "must be above 0",
        ));
    }
    if !(0.0..=1.0).contains(&f.decay) {
        errors.push(frustration_error(
            file,
            source,
            "decay",
            "must be between 0 and 1",
        ));
    }
    let p = &parsed.policy;
    if !(0.0..=1.0).contains(&p.answer_confidence) || !(0.0..=1.0).contains(&p.clarify_confidence) {
        errors.push(Problem::error(file, "confidences are between 0 and 1").at(
            problem::line_of_key(source, 1, "answer_confidence"),
            Some("answer_confidence"),
        ));
    }
    if errors.is_empty() {
        Ok(RuleSet {
            rules,
            frustration: parsed.frustration,
            policy: parsed.policy,
        })
    } else {
        Err(errors)
    }
}

fn frustration_error(file: &Path, source: &str, key: &str, msg: &str) -> Problem {
    Problem::error(file, format!("frustration {key} {msg}"))
        .at(problem::line_of_key(source, 1, key), Some(key))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SynonymsFile {
    groups: Vec<Vec<String>>,
}

/// Groups of terms treated as the same word; the first term of a group is its name.
pub(crate) fn parse_synonyms(file: &Path, source: &str) -> Result<Vec<Vec<String>>, Vec<Problem>> {
    let parsed: SynonymsFile =
        toml::from_str(source).map_err(|e| vec![problem::from_toml(file, source, 1, &e)])?;
    let mut errors = Vec::new();
    for group in &parsed.groups {
        if group.iter().filter(|t| !t.trim().is_empty()).count() < 2 {
            let line = group
                .first()
                .and_then(|t| problem::line_containing(source, 1, &format!("\"{t}\""), 1));
            errors.push(
                Problem::error(file, "a synonym group needs at least two terms")
                    .at(line, Some("groups")),
            );
        }
    }
    if errors.is_empty() {
        Ok(parsed.groups)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_rule_without_text_names_its_line_and_field() {
        let src = "[[rule]]\nid = \"greeting\"\nphrases = [\"hi\"]\naction = \"reply\"\n\n[[rule]]\nid = \"thanks\"\nphrases = [\"thanks\"]\naction = \"reply\"\nreply = \"You're welcome!\"\n";
        let errs = parse_rules(Path::new("rules.toml"), src).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].line, Some(2));
        assert_eq!(errs[0].field.as_deref(), Some("reply"));
        assert!(errs[0].message.contains("greeting"));
    }

    #[test]
    fn a_misspelt_key_is_an_error() {
        let src = "[[rule]]\nid = \"bye\"\nphrases = [\"bye\"]\nactoin = \"reply\"\n";
        let errs = parse_rules(Path::new("rules.toml"), src).unwrap_err();
        assert_eq!(errs[0].line, Some(4));
        assert_eq!(errs[0].field.as_deref(), Some("actoin"));
    }

    #[test]
    fn an_unknown_action_is_an_error() {
        let src = "[[rule]]\nid = \"bye\"\nphrases = [\"bye\"]\naction = \"dance\"\n";
        let errs = parse_rules(Path::new("rules.toml"), src).unwrap_err();
        assert_eq!(errs[0].line, Some(4));
    }

    #[test]
    fn a_one_term_synonym_group_is_an_error() {
        let errs = parse_synonyms(
            Path::new("synonyms.toml"),
            "groups = [\n  [\"parcel\", \"package\"],\n  [\"lonely\"],\n]\n",
        )
        .unwrap_err();
        assert_eq!(errs[0].line, Some(3));
    }
}
