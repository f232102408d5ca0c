//! Typo tolerance. A word the knowledge base does not know and the language's dictionary does
//! not know either (`dictionary`: a real word is never changed into another) is corrected to
//! the closest word within Damerau-Levenshtein distance 1, or 2 for words of 8+ letters. The
//! knowledge base's own words come first among equally close ones; a real word closer than any
//! of them wins (a typo of a word the knowledge base lacks must not look like one it has).
//! Among equally close words, one the typo dropped or swapped letters of beats one it changed
//! letters of ("wher" is "where", not "when"), then the more used one. Candidates come from
//! symmetric-delete indexes (built at load time), so a lookup costs a handful of hash probes.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use super::dictionary::Dictionary;

/// Without a dictionary, words shorter than this are never corrected: too many short words are
/// one edit apart ("call" is not a typo of "all"). With one, a short word that is not a word
/// at all ("ordr") is corrected by a dropped or swapped letter only.
const MIN_WORD_LEN: usize = 5;
/// With a dictionary, the shortest word corrected.
const MIN_WORD_LEN_CHECKED: usize = 3;
/// Words at least this long may be two edits away.
const TWO_EDITS_FROM_LEN: usize = 8;

/// The knowledge base's vocabulary, and a delete index over it.
pub struct Speller {
    /// Known words with how often they are used (the dictionary's count, else how often the
    /// knowledge base has them): ties go to the more used word.
    words: Vec<(String, u64)>,
    known_stems: HashSet<String>,
    /// A word with some letters deleted -> the vocabulary words it came from.
    deletes: HashMap<String, Vec<u32>>,
    /// The language's dictionary, when we ship one.
    dictionary: Option<&'static Dictionary>,
}

/// How a candidate ranks (lower is better): distance, then the knowledge base's words first,
/// then letters dropped or swapped before letters changed, then the more used.
type Rank = (usize, bool, bool, std::cmp::Reverse<u64>);

impl Speller {
    /// `words`: every folded word of the knowledge base (repeats count as frequency);
    /// `stems`: every term the matcher can match; `dictionary`: the language's, if any.
    pub fn new<'a>(
        words: impl IntoIterator<Item = &'a str>,
        stems: HashSet<String>,
        dictionary: Option<&'static Dictionary>,
    ) -> Speller {
        let mut freq: HashMap<&str, u32> = HashMap::default();
        for w in words {
            *freq.entry(w).or_default() += 1;
        }
        let mut vocab: Vec<(String, u64)> = freq
            .into_iter()
            .filter(|(w, _)| {
                w.chars().count() >= MIN_WORD_LEN_CHECKED && !w.chars().any(|c| c.is_ascii_digit())
            })
            .map(|(w, f)| {
                let used = dictionary.map_or(0, |d| d.frequency(w));
                (w.to_owned(), used.max(u64::from(f)))
            })
            .collect();
        vocab.sort();
        let mut deletes: HashMap<String, Vec<u32>> = HashMap::default();
        for (i, (w, _)) in vocab.iter().enumerate() {
            for d in variants(w, max_edits(w.chars().count())) {
                deletes.entry(d).or_default().push(i as u32);
            }
        }
        Speller {
            words: vocab,
            known_stems: stems,
            deletes,
            dictionary,
        }
    }

    pub fn knows_stem(&self, stem: &str) -> bool {
        self.known_stems.contains(stem)
    }

    /// The closest word to `word`, if `word` is a typo and one is close enough.
    pub fn correct(&self, word: &str) -> Option<&str> {
        let len = word.chars().count();
        let shortest = if self.dictionary.is_some() {
            MIN_WORD_LEN_CHECKED
        } else {
            MIN_WORD_LEN
        };
        if len < shortest || word.chars().any(|c| !c.is_alphabetic()) {
            return None;
        }
        // A real word is never changed into another ("stole" is not "store"), only read as a
        // form of a word the knowledge base has, one ending away ("closer" as "close",
        // "delivery" as "deliver", "complain" as "complaint").
        let real = self.dictionary.is_some_and(|d| d.contains(word));
        if real && len < MIN_WORD_LEN {
            return None;
        }
        let limit = max_edits(len);
        // A short word is only corrected by letters dropped or swapped ("ordr", "hwo"): one
        // changed letter of four makes too many other words.
        let slips_only = len < MIN_WORD_LEN;
        let query = variants(word, limit);
        let mut best: Option<(Rank, &str)> = None;
        let mut seen = HashSet::default();
        for d in &query {
            for &i in self.deletes.get(d).into_iter().flatten() {
                if !seen.insert(i) {
                    continue;
                }
                let (candidate, freq) = &self.words[i as usize];
                let freq = *freq;
                if real && !(candidate.starts_with(word) || word.starts_with(candidate.as_str())) {
                    continue;
                }
                keep_better(
                    &mut best,
                    rank(word, candidate, limit, slips_only, true, freq),
                    candidate,
                );
            }
        }
        if real {
            return best.map(|(_, w)| w);
        }
        // A real word can only beat the knowledge base's by being closer (ties go to the
        // knowledge base): so real words are looked for one slip away, when the knowledge
        // base's best is two away or there is none (the real word still means something to
        // the matcher's word embeddings).
        let kb_distance = best.as_ref().map(|((d, ..), _)| *d);
        if let Some(dictionary) = self.dictionary
            && kb_distance.is_none_or(|d| d > 1)
        {
            // The word with at most one letter deleted (of the variants made above).
            let near = query.iter().filter(|v| v.chars().count() + 1 >= len);
            for (candidate, freq) in dictionary.candidates(near) {
                keep_better(
                    &mut best,
                    rank(word, candidate, 1, slips_only, false, freq),
                    candidate,
                );
            }
        }
        best.map(|(_, w)| w)
    }
}

/// `candidate` in place of `best` when it ranks better.
fn keep_better<'a>(best: &mut Option<(Rank, &'a str)>, rank: Option<Rank>, candidate: &'a str) {
    if let Some(rank) = rank
        && best.as_ref().is_none_or(|(b, _)| rank < *b)
    {
        *best = Some((rank, candidate));
    }
}

/// `candidate`'s rank as a correction of `word`, or `None` if it is not one.
fn rank(
    word: &str,
    candidate: &str,
    limit: usize,
    slips_only: bool,
    in_kb: bool,
    freq: u64,
) -> Option<Rank> {
    let dist = strsim::osa_distance(word, candidate);
    if dist == 0 || dist > limit {
        return None;
    }
    let slip = is_slip(word, candidate);
    if slips_only && !slip {
        return None;
    }
    Some((dist, !in_kb, !slip, std::cmp::Reverse(freq)))
}

/// Whether `word` is `candidate` with letters dropped or swapped only (every letter of `word`
/// is one of `candidate`'s, as many times).
fn is_slip(word: &str, candidate: &str) -> bool {
    let mut left: HashMap<char, i32> = HashMap::default();
    for c in candidate.chars() {
        *left.entry(c).or_default() += 1;
    }
    word.chars().all(|c| {
        let n = left.entry(c).or_default();
        *n -= 1;
        *n >= 0
    })
}

fn max_edits(len: usize) -> usize {
    if len >= TWO_EDITS_FROM_LEN { 2 } else { 1 }
}

/// `word` itself and every string made by deleting up to `edits` characters.
fn variants(word: &str, edits: usize) -> HashSet<String> {
    let mut all = HashSet::default();
    all.insert(word.to_owned());
    let mut frontier = vec![word.to_owned()];
    for _ in 0..edits {
        let mut next = Vec::new();
        for w in &frontier {
            let chars: Vec<char> = w.chars().collect();
            for skip in 0..chars.len() {
                let d: String = chars
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != skip)
                    .map(|(_, c)| c)
                    .collect();
                if all.insert(d.clone()) {
                    next.push(d);
                }
            }
        }
        frontier = next;
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn speller() -> Speller {
        let words = [
            "refund",
            "refund",
            "return",
            "delivery",
            "password",
            "shipping",
            "order",
            "reimbursement",
        ];
        Speller::new(words, HashSet::default(), None)
    }

    #[test]
    fn one_typo_is_corrected() {
        let s = speller();
        assert_eq!(s.correct("refnd"), Some("refund"));
        assert_eq!(s.correct("pasword"), Some("password"));
        assert_eq!(s.correct("shpiping"), Some("shipping"));
    }

    #[test]
    fn long_words_tolerate_two_typos() {
        assert_eq!(speller().correct("delivey"), Some("delivery"));
        assert_eq!(speller().correct("reimbrusment"), Some("reimbursement"));
        assert_eq!(
            speller().correct("dleivey"),
            None,
            "seven letters allow one edit"
        );
    }

    #[test]
    fn short_and_far_words_are_left_alone() {
        let s = speller();
        assert_eq!(s.correct("cat"), None);
        let s2 = Speller::new(["all", "money"], HashSet::default(), None);
        assert_eq!(s2.correct("call"), None, "short words are left alone");
        assert_eq!(s.correct("banana"), None);
        assert_eq!(
            s.correct("refund"),
            None,
            "a known word needs no correction"
        );
    }

    fn with_english(words: &[&'static str]) -> Speller {
        Speller::new(
            words.iter().copied(),
            HashSet::default(),
            super::super::dictionary::for_language("en"),
        )
    }

    #[test]
    fn a_real_word_is_never_changed_into_another() {
        let s = with_english(&["store", "order", "show", "close"]);
        assert_eq!(
            s.correct("stole"),
            None,
            "stole is a word, not a typo of store"
        );
        assert_eq!(s.correct("stone"), None);
        // Only read as a form of a word the knowledge base has.
        assert_eq!(s.correct("closer"), Some("close"));
        assert_eq!(s.correct("shown"), Some("show"));
    }

    #[test]
    fn with_a_dictionary_short_typos_are_corrected_by_dropped_or_swapped_letters() {
        let s = with_english(&["where", "when", "order", "long", "how"]);
        assert_eq!(s.correct("ordr"), Some("order"));
        assert_eq!(
            s.correct("wher"),
            Some("where"),
            "a dropped letter, not a changed one"
        );
        assert_eq!(s.correct("lnog"), Some("long"));
        assert_eq!(s.correct("hwo"), Some("how"));
        assert_eq!(
            s.correct("ordx"),
            None,
            "a changed letter in a short word is left alone"
        );
    }

    #[test]
    fn a_closer_real_word_beats_the_knowledge_base_and_ties_go_to_it() {
        // "receptoin" is one slip from "reception" (not in this knowledge base) and two from
        // "deception" (in it): the visitor meant the closer word.
        let s = with_english(&["deception"]);
        assert_eq!(s.correct("receptoin"), Some("reception"));
        // Equally close, the knowledge base's word wins.
        let s = with_english(&["carts"]);
        assert_eq!(s.correct("carots"), Some("carts"));
    }
}
