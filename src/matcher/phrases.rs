//! Whole-word phrase matching over analysed terms with one aho-corasick automaton
//! (leftmost-longest): "hi" never fires inside "this", "talk to a human" beats "human".
//!
//! Phrases and messages go through the same `Normalizer`, so matching is case-, accent-, plural-
//! and synonym-insensitive; articles are skipped on both sides ("are you a human" matches "are you
//! human"). Used by intent rules and by the frustration lexicon.

use aho_corasick::{AhoCorasick, MatchKind};

use super::normalize::Normalizer;

/// Terms are joined with this separator and the text is padded with one on each side; a pattern is
/// padded the same way, so a match always starts and ends on a word boundary. Doubling the space
/// between terms lets two adjacent matches each own a space.
const SEP: &str = "  ";

/// Skipped in phrases and messages alike.
fn is_article(term: &str) -> bool {
    matches!(term, "a" | "an" | "the")
}

/// A set of phrases, each tagged with a value (a rule index, a weight index).
pub struct PhraseSet {
    automaton: Option<AhoCorasick>,
    /// For each pattern: (owner, the phrase as written, its number of terms).
    patterns: Vec<(usize, String, usize)>,
}

/// One phrase found in a message.
#[derive(Debug, Clone, PartialEq)]
pub struct PhraseHit {
    pub owner: usize,
    pub phrase: String,
    /// Term range covered in the message.
    pub start: usize,
    pub end: usize,
}

impl PhraseSet {
    /// `phrases`: (owner, phrase). Phrases that normalise to nothing are ignored.
    pub fn new<'a>(
        normalizer: &Normalizer,
        phrases: impl IntoIterator<Item = (usize, &'a str)>,
    ) -> PhraseSet {
        let mut patterns = Vec::new();
        let mut needles = Vec::new();
        for (owner, phrase) in phrases {
            let mut terms = normalizer.analyze(phrase, None).terms;
            terms.retain(|t| !is_article(t));
            if terms.is_empty() {
                continue;
            }
            needles.push(format!(" {} ", terms.join(SEP)));
            patterns.push((owner, phrase.to_owned(), terms.len()));
        }
        let automaton = (!needles.is_empty()).then(|| {
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&needles)
                .expect("invariant: phrase patterns are plain strings far below any size limit")
        });
        PhraseSet {
            automaton,
            patterns,
        }
    }

    /// Every non-overlapping phrase in `terms`, leftmost-longest.
    pub fn find(&self, terms: &[String]) -> Vec<PhraseHit> {
        let Some(automaton) = &self.automaton else {
            return Vec::new();
        };
        // The terms that are not articles, by their place in `terms`.
        let kept: Vec<usize> = (0..terms.len())
            .filter(|&i| !is_article(&terms[i]))
            .collect();
        let words: Vec<&str> = kept.iter().map(|&i| terms[i].as_str()).collect();
        let haystack = format!(" {} ", words.join(SEP));
        automaton
            .find_iter(&haystack)
            .map(|m| {
                let (owner, phrase, len) = &self.patterns[m.pattern().as_usize()];
                // Every term boundary before the match start adds one separator.
                let first = haystack[..m.start() + 1].matches(SEP).count();
                PhraseHit {
                    owner: *owner,
                    phrase: phrase.clone(),
                    start: kept[first],
                    end: kept[first + len - 1] + 1,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(phrases: &[&str]) -> (Normalizer, PhraseSet) {
        let n = Normalizer::new(&[]);
        let s = PhraseSet::new(&n, phrases.iter().copied().enumerate());
        (n, s)
    }

    fn owners(n: &Normalizer, s: &PhraseSet, text: &str) -> Vec<usize> {
        s.find(&n.analyze(text, None).terms)
            .iter()
            .map(|h| h.owner)
            .collect()
    }

    #[test]
    fn phrases_match_whole_words_only() {
        let (n, s) = set(&["hi"]);
        assert!(owners(&n, &s, "this is it").is_empty());
        assert!(owners(&n, &s, "history").is_empty());
        assert_eq!(owners(&n, &s, "hi there"), vec![0]);
        assert_eq!(owners(&n, &s, "oh, HI!"), vec![0]);
    }

    #[test]
    fn the_longest_phrase_wins() {
        let (n, s) = set(&["human", "talk to a human"]);
        let hits = s.find(&n.analyze("can I talk to a human please", None).terms);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].owner, 1);
        assert_eq!((hits[0].start, hits[0].end), (2, 6));
    }

    #[test]
    fn matching_ignores_case_accents_and_plurals() {
        let (n, s) = set(&["talk to a représentative"]);
        assert_eq!(owners(&n, &s, "TALK TO A REPRESENTATIVE"), vec![0]);
        assert_eq!(owners(&n, &s, "talk to a representatives"), vec![0]);
    }

    #[test]
    fn articles_are_skipped_on_both_sides() {
        let (n, s) = set(&["are you human", "talk to a person"]);
        assert_eq!(owners(&n, &s, "are you a human?"), vec![0]);
        assert_eq!(owners(&n, &s, "can i talk to the person"), vec![1]);
        assert_eq!(owners(&n, &s, "talk to person"), vec![1]);
        let hits = s.find(&n.analyze("hi, are you a human", None).terms);
        assert_eq!(
            (hits[0].start, hits[0].end),
            (1, 5),
            "the span covers the article"
        );
    }

    #[test]
    fn adjacent_phrases_are_both_found() {
        let (n, s) = set(&["thanks", "bye"]);
        assert_eq!(owners(&n, &s, "thanks bye"), vec![0, 1]);
    }
}
