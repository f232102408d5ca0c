//! Asking for a person, in the visitor's own words: the knowledge base's `handoff.toml` compiled
//! to word sets. A message asks when it names a person and says little else ("agent please"),
//! asks for them with a request word before them and only `between` words in the way ("i'd like
//! to speak to a manager"), or asks them to help ("can someone help me"); a negation just before
//! the request stops it ("i don't need a person"). Mentioning a person is not asking ("the
//! delivery person left it outside"). Words are compared as stems: "talking to humans" asks as
//! "talk to a human" does.

use rustc_hash::FxHashSet as HashSet;

use super::normalize::Normalizer;
use crate::knowledge_base::HandoffIntent;

/// Words looked back from the person for the request ("i would like to be able to speak to").
const WINDOW: usize = 8;
/// Words looked back from the request for a negation ("i do not really want to").
const NEGATION_WINDOW: usize = 3;

/// One or more stemmed words.
type Phrase = Vec<String>;

pub struct Intent {
    person: Vec<Phrase>,
    request: Vec<Phrase>,
    between: Vec<Phrase>,
    filler: HashSet<String>,
    help: HashSet<String>,
    negation: HashSet<String>,
    /// Words that ask for a person by themselves ("please escalate this").
    escalate: HashSet<String>,
    /// What may open "can someone help me".
    opener: HashSet<String>,
}

impl Intent {
    pub fn new(intent: &HandoffIntent, normalizer: &Normalizer) -> Intent {
        let stems = |text: &str| -> Vec<String> {
            normalizer
                .words(text)
                .iter()
                .map(|w| normalizer.stem(w))
                .collect()
        };
        let phrases = |list: &[String]| -> Vec<Phrase> {
            let mut out: Vec<Phrase> = list
                .iter()
                .map(|p| stems(p))
                .filter(|p| !p.is_empty())
                .collect();
            // Longest first: "customer service" before "customer".
            out.sort_by_key(|p| std::cmp::Reverse(p.len()));
            out
        };
        let words =
            |list: &[String]| -> HashSet<String> { list.iter().flat_map(|p| stems(p)).collect() };
        Intent {
            person: phrases(&intent.person),
            request: phrases(&intent.request),
            between: phrases(&intent.between),
            filler: words(&intent.filler),
            help: words(&intent.help),
            negation: words(&intent.negation),
            escalate: words(&intent.escalate),
            opener: ["can", "could", "would", "will", "please"]
                .iter()
                .map(|w| normalizer.stem(w))
                .collect(),
        }
    }

    /// The words that ask for a person ("speak to a manager"), if `words` (a message's words
    /// as the normalizer reads them, and their `stems`) ask for one.
    pub fn asked(&self, words: &[String], stems: &[String]) -> Option<String> {
        let mut i = 0;
        while i < stems.len() {
            let Some(len) = match_at(&self.person, stems, i) else {
                i += 1;
                continue;
            };
            let (start, end) = (i, i + len);
            if let Some(from) = self.asked_for(stems, start, end) {
                return Some(words[from..end].join(" "));
            }
            i = end;
        }
        // "please escalate this": a person is asked for without being named.
        stems
            .iter()
            .position(|s| self.escalate.contains(s))
            .filter(|&at| !self.negated(stems, at))
            .map(|at| words[at].clone())
    }

    /// Whether `stems` name a person at all ("the manager", "an agent"), asked for or not.
    pub fn names_person(&self, stems: &[String]) -> bool {
        (0..stems.len()).any(|i| match_at(&self.person, stems, i).is_some())
    }

    /// Where the request for the person at `start..end` begins, if it is one.
    fn asked_for(&self, words: &[String], start: usize, end: usize) -> Option<usize> {
        // A request before the person, with only `between` words in the way.
        let mut j = start;
        let mut request_at = None;
        while j > 0 && start - j < WINDOW {
            if let Some(len) = match_back(&self.request, words, j) {
                j -= len;
                request_at = Some(j);
            } else if let Some(len) = match_back(&self.between, words, j) {
                j -= len;
            } else {
                break;
            }
        }
        if let Some(at) = request_at {
            return (!self.negated(words, at)).then_some(at);
        }
        // Little else said: "agent please", "is anyone there?".
        let rest_is_filler = words[..start]
            .iter()
            .chain(&words[end..])
            .all(|w| self.filler.contains(w));
        if rest_is_filler && !self.negated(words, start) {
            return Some(0);
        }
        // The person asked to help: "can someone help me", "can a human help me with ...".
        let opens = words[..start].iter().all(|w| {
            self.opener.contains(w) || self.between.iter().any(|p| p == std::slice::from_ref(w))
        });
        let helps = words[end..]
            .iter()
            .find(|w| !self.opener.contains(*w))
            .is_some_and(|w| self.help.contains(w));
        (opens && helps).then_some(0)
    }

    /// Whether a negation stands just before `at`.
    fn negated(&self, words: &[String], at: usize) -> bool {
        words[at.saturating_sub(NEGATION_WINDOW)..at]
            .iter()
            .any(|w| self.negation.contains(w))
    }
}

/// The length of the longest phrase of `phrases` starting at `words[i]`.
fn match_at(phrases: &[Phrase], words: &[String], i: usize) -> Option<usize> {
    phrases.iter().find_map(|p| {
        let end = i + p.len();
        (end <= words.len() && p[..] == words[i..end]).then_some(p.len())
    })
}

/// The length of the longest phrase of `phrases` ending just before `words[j]`.
fn match_back(phrases: &[Phrase], words: &[String], j: usize) -> Option<usize> {
    phrases
        .iter()
        .filter(|p| p.len() <= j)
        .find_map(|p| match_at(std::slice::from_ref(p), words, j - p.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asks(intent: &Intent, n: &Normalizer, text: &str) -> Option<String> {
        let words = n.words(text);
        let stems: Vec<String> = words.iter().map(|w| n.stem(w)).collect();
        intent.asked(&words, &stems)
    }

    fn intent() -> (Intent, Normalizer) {
        let kb = crate::knowledge_base::load(std::path::Path::new("knowledge_base"))
            .expect("the sample knowledge base loads")
            .kb;
        let normalizer = Normalizer::new(&[]).with_shorthand(&kb.shorthand);
        (Intent::new(&kb.handoff, &normalizer), normalizer)
    }

    #[test]
    fn ordinary_ways_to_ask_for_a_person_ask() {
        let (intent, n) = intent();
        for text in [
            "i want a human",
            "human",
            "agent please",
            "chat with a human",
            "i need to talk to somebody",
            "get me someone who can help",
            "I want to talk to a manager",
            "let me talk to customer service",
            "HUMAN!!!",
            "can i speak with someone about my order",
            "I'd like to speak to a real person please",
            "is anyone there?",
            "can someone help me",
            "can you put me through to your team",
            "i wanna talk to a person",
            "representative",
            "i don't want a bot, i want a human",
            "can a human help me with a broken lamp",
            "please escalate this",
            "I want to escalate my complaint",
            "I need to contact an agent",
            "put me in touch with customer service",
            "connect me with your support team",
            "how can I reach a person",
        ] {
            assert!(asks(&intent, &n, text).is_some(), "{text}");
        }
    }

    #[test]
    fn mentioning_a_person_or_declining_one_does_not_ask() {
        let (intent, n) = intent();
        for text in [
            "can my husband return it",
            "the delivery person left it outside",
            "someone stole my parcel",
            "I don't need a person",
            "no need for a human, just tell me the return policy",
            "are you a human",
            "is this a person or a bot",
            "the agent was rude to me yesterday",
            "I spoke to someone yesterday about my refund",
            "how do I become an affiliate agent",
            "a person from your team called me",
            "people say your shipping is slow",
            "my colleague contacted you yesterday",
            "the courier said a person would call",
            "no need to escalate, it arrived",
        ] {
            assert_eq!(asks(&intent, &n, text), None, "{text}");
        }
    }
}
