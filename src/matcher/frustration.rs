//! The frustration meter: lexicon hits, how negative the message reads (VADER, a rule-based
//! sentiment model: word valences, negation, intensifiers, capitals, punctuation, "but"),
//! SHOUTING, "!!!"/"???", the same question asked again, repeated misses and negative feedback add
//! to a per-conversation score; a calm turn decays it.
//! Crossing the knowledge base's threshold hands the conversation to a person.
//!
//! Pure: the conversation's `Memory` goes in and comes out; the caller stores it.

use serde::Serialize;

use super::normalize::{Analyzed, fold};
use super::phrases::{PhraseHit, PhraseSet};
use crate::knowledge_base::FrustrationSettings;

/// How many earlier questions are remembered to spot a repeat.
const REMEMBERED_QUESTIONS: usize = 3;
/// Two questions whose term sets overlap this much (Jaccard) count as the same question.
const SAME_QUESTION_OVERLAP: f32 = 0.75;
/// A message needs this many letters before capitals count as shouting ("OK" is not).
const SHOUTING_MIN_LETTERS: usize = 6;

/// What fired, and how much it added.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(tag = "signal", rename_all = "snake_case")]
pub enum Signal {
    Phrase {
        phrase: String,
        weight: f32,
    },
    /// The message reads this negative (0..1) beyond the floor.
    Negative {
        negativity: f32,
        weight: f32,
    },
    Shouting {
        weight: f32,
    },
    Punctuation {
        weight: f32,
    },
    RepeatedQuestion {
        weight: f32,
    },
    RepeatedFallback {
        weight: f32,
    },
    NegativeFeedback {
        weight: f32,
    },
}

impl Signal {
    pub fn weight(&self) -> f32 {
        match self {
            Signal::Phrase { weight, .. }
            | Signal::Negative { weight, .. }
            | Signal::Shouting { weight }
            | Signal::Punctuation { weight }
            | Signal::RepeatedQuestion { weight }
            | Signal::RepeatedFallback { weight }
            | Signal::NegativeFeedback { weight } => *weight,
        }
    }
}

/// What the matcher remembers of a conversation between turns. Small and serialisable, so the
/// store can keep it with the conversation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Memory {
    /// The frustration score.
    pub frustration: f32,
    /// Fallbacks in a row, up to and including the last turn.
    pub fallbacks_in_row: u32,
    /// The score when the bot last handed the conversation over (the meter itself restarts
    /// calm), for the agent who takes over.
    pub frustration_at_handoff: f32,
    /// The last few questions, as their sorted matching terms.
    pub recent_questions: Vec<String>,
    /// The conversation's language so far (a two-letter code), or before the first message the
    /// browser's locale (`de-AT`): what a message with no clear language of its own is read in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// The frustration lexicon, built once per knowledge base.
pub struct Meter {
    settings: FrustrationSettings,
    lexicon: PhraseSet,
    /// VADER reads English only: `None` for other languages (their lexicon phrases still
    /// count).
    sentiment: Option<vader_sentiment::SentimentIntensityAnalyzer<'static>>,
    /// `problem_words`, folded.
    problem_words: rustc_hash::FxHashSet<String>,
}

impl Meter {
    pub fn new(settings: FrustrationSettings, lexicon: PhraseSet, english: bool) -> Meter {
        let problem_words = settings.problem_words.iter().map(|w| fold(w)).collect();
        Meter {
            settings,
            lexicon,
            sentiment: english.then(vader_sentiment::SentimentIntensityAnalyzer::new),
            problem_words,
        }
    }

    /// How negative `raw` reads, from 0 (neutral or positive) to 1 (furious): VADER's compound
    /// score, negated.
    /// Words that tell a problem ("damaged") are left out: they are not a mood.
    pub fn negativity(&self, raw: &str) -> f32 {
        let Some(sentiment) = &self.sentiment else {
            return 0.0;
        };
        let mood: String = raw
            .split_inclusive(char::is_whitespace)
            .filter(|w| {
                let word = fold(w.trim_matches(|c: char| !c.is_alphanumeric()));
                !self.problem_words.contains(&word)
            })
            .collect();
        let scores = sentiment.polarity_scores(&mood);
        let compound = scores.get("compound").copied().unwrap_or(0.0) as f32;
        (-compound).max(0.0)
    }

    /// Whether a message this negative gets a person offered at once.
    pub fn offers_person(&self, negativity: f32) -> bool {
        negativity >= self.settings.offer_person_at
    }

    pub fn threshold(&self) -> f32 {
        self.settings.threshold
    }

    /// The signals a message fires, before knowing whether the bot can answer it; `negativity`
    /// is how negative it reads (`Meter::negativity`).
    pub fn message_signals(
        &self,
        raw: &str,
        analyzed: &Analyzed,
        memory: &Memory,
        negativity: f32,
    ) -> Vec<Signal> {
        let s = &self.settings;
        let mut signals: Vec<Signal> = self
            .lexicon
            .find(&analyzed.terms)
            .into_iter()
            .map(|PhraseHit { owner, phrase, .. }| Signal::Phrase {
                phrase,
                weight: s.phrases[owner].weight,
            })
            .collect();
        // Negativity beyond the floor, less half of what the lexicon's phrases counted (they
        // are part of what the model read).
        let phrased: f32 = signals.iter().map(Signal::weight).sum();
        let weight = (negativity - s.sentiment_floor).max(0.0) * s.sentiment - phrased / 2.0;
        if weight > 0.0 {
            signals.push(Signal::Negative { negativity, weight });
        }
        if is_shouting(raw) {
            signals.push(Signal::Shouting { weight: s.shouting });
        }
        if raw.contains("!!!") || raw.contains("???") || raw.contains("?!?") || raw.contains("!?!")
        {
            signals.push(Signal::Punctuation {
                weight: s.punctuation,
            });
        }
        let key = question_key(analyzed);
        if !key.is_empty()
            && memory
                .recent_questions
                .iter()
                .any(|q| overlap(q, &key) >= SAME_QUESTION_OVERLAP)
        {
            signals.push(Signal::RepeatedQuestion {
                weight: s.repeated_question,
            });
        }
        signals
    }

    /// The signal for a fallback that follows another one.
    pub fn repeated_fallback(&self, memory: &Memory) -> Option<Signal> {
        (memory.fallbacks_in_row >= 1).then_some(Signal::RepeatedFallback {
            weight: self.settings.repeated_fallback,
        })
    }

    pub fn negative_feedback(&self) -> Signal {
        Signal::NegativeFeedback {
            weight: self.settings.negative_feedback,
        }
    }

    /// The score after a turn: signals add up; a turn without any decays the score.
    pub fn next_score(&self, previous: f32, signals: &[Signal]) -> f32 {
        if signals.is_empty() {
            previous * self.settings.decay
        } else {
            previous + signals.iter().map(Signal::weight).sum::<f32>()
        }
    }

    /// Remembers the question of this turn for repeat detection.
    pub fn remember(memory: &mut Memory, analyzed: &Analyzed) {
        let key = question_key(analyzed);
        if key.is_empty() {
            return;
        }
        memory.recent_questions.retain(|q| q != &key);
        memory.recent_questions.push(key);
        if memory.recent_questions.len() > REMEMBERED_QUESTIONS {
            memory.recent_questions.remove(0);
        }
    }
}

/// A question's identity for repeat detection: its distinct terms, sorted; questions are compared
/// by overlap, so "where is my order" and "my order, where is it?" count as the same question.
fn question_key(analyzed: &Analyzed) -> String {
    let mut terms: Vec<&str> = analyzed.terms.iter().map(String::as_str).collect();
    terms.sort_unstable();
    terms.dedup();
    if terms.len() < 2 {
        // "yes", "ok", "no" repeat without any frustration.
        return String::new();
    }
    terms.join(" ")
}

/// Jaccard overlap of two question keys (space-separated sorted terms).
fn overlap(a: &str, b: &str) -> f32 {
    let a: Vec<&str> = a.split(' ').collect();
    let b: Vec<&str> = b.split(' ').collect();
    let shared = a.iter().filter(|t| b.contains(t)).count();
    let union = a.len() + b.len() - shared;
    if union == 0 {
        0.0
    } else {
        shared as f32 / union as f32
    }
}

fn is_shouting(raw: &str) -> bool {
    let letters: Vec<char> = raw.chars().filter(|c| c.is_alphabetic()).collect();
    let upper = letters.iter().filter(|c| c.is_uppercase()).count();
    letters.len() >= SHOUTING_MIN_LETTERS && upper * 10 >= letters.len() * 8
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knowledge_base::WeightedPhrase;
    use crate::matcher::normalize::Normalizer;

    fn meter() -> (Normalizer, Meter) {
        let n = Normalizer::new(&[]);
        let settings = FrustrationSettings {
            phrases: vec![
                WeightedPhrase {
                    phrase: "useless".into(),
                    weight: 0.6,
                },
                WeightedPhrase {
                    phrase: "waste of time".into(),
                    weight: 0.7,
                },
            ],
            ..FrustrationSettings::default()
        };
        let lexicon = PhraseSet::new(
            &n,
            settings
                .phrases
                .iter()
                .enumerate()
                .map(|(i, p)| (i, p.phrase.as_str())),
        );
        (n, Meter::new(settings, lexicon, true))
    }

    fn signals(text: &str, memory: &Memory) -> Vec<Signal> {
        let (n, m) = meter();
        m.message_signals(text, &n.analyze(text, None), memory, m.negativity(text))
    }

    #[test]
    fn anger_in_ordinary_words_reads_negative_and_a_problem_told_calmly_does_not() {
        let (_, m) = meter();
        for angry in [
            "my package never arrived and I'm furious",
            "very disappointed, never ordering again",
            "I am not happy at all",
        ] {
            let s = signals(angry, &Memory::default());
            assert!(
                s.iter().any(|x| matches!(x, Signal::Negative { .. })),
                "{angry}: {s:?}"
            );
            assert!(m.offers_person(m.negativity(angry)), "{angry}");
        }
        for calm in [
            "my parcel is damaged",
            "the box came smashed and the mug is broken",
            "i was charged twice",
            "I am very happy with the order, thanks",
        ] {
            assert_eq!(signals(calm, &Memory::default()), vec![], "{calm}");
            assert!(!m.offers_person(m.negativity(calm)), "{calm}");
        }
        // Negation and intensity: "not happy" reads negative, "very happy" does not.
        assert!(m.negativity("not happy") > m.negativity("happy"));
    }

    #[test]
    fn lexicon_shouting_and_punctuation_fire() {
        let s = signals("THIS IS USELESS!!!", &Memory::default());
        assert!(
            s.iter()
                .any(|s| matches!(s, Signal::Phrase { phrase, .. } if phrase == "useless"))
        );
        assert!(s.iter().any(|s| matches!(s, Signal::Shouting { .. })));
        assert!(s.iter().any(|s| matches!(s, Signal::Punctuation { .. })));
    }

    #[test]
    fn a_calm_message_fires_nothing() {
        assert!(
            signals(
                "Where is my order? I ordered on Monday.",
                &Memory::default()
            )
            .is_empty()
        );
        assert!(
            signals("OK", &Memory::default()).is_empty(),
            "short capitals are not shouting"
        );
    }

    #[test]
    fn the_same_question_again_fires_in_any_word_order() {
        let (n, _) = meter();
        let mut memory = Memory::default();
        Meter::remember(&mut memory, &n.analyze("where is my order", None));
        let s = signals("my order, where is it", &memory);
        assert!(
            s.iter()
                .any(|s| matches!(s, Signal::RepeatedQuestion { .. })),
            "{s:?}"
        );
    }

    #[test]
    fn a_different_question_is_not_a_repeat() {
        let (n, _) = meter();
        let mut memory = Memory::default();
        Meter::remember(&mut memory, &n.analyze("where is my order", None));
        let s = signals("how do I reset my password", &memory);
        assert!(s.is_empty(), "{s:?}");
    }

    #[test]
    fn the_score_adds_up_and_decays_on_calm_turns() {
        let (_, m) = meter();
        let s = m.next_score(
            0.0,
            &[
                Signal::Shouting { weight: 0.4 },
                Signal::Punctuation { weight: 0.3 },
            ],
        );
        assert!((s - 0.7).abs() < 1e-6);
        let calm = m.next_score(s, &[]);
        assert!((calm - 0.35).abs() < 1e-6);
        assert!(m.next_score(calm, &[]) < calm);
    }
}
