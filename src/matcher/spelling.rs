//! Typo tolerance: a word the knowledge base does not know is corrected to the closest word it
//! does know (Damerau-Levenshtein distance 1, or 2 for words of 8+ letters), found through a
//! symmetric-delete index built at load time, so a lookup costs a handful of hash probes.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

/// Words shorter than this are never corrected: too many short words are one edit apart ("call"
/// is not a typo of "all"), and correcting them makes unrelated messages look familiar.
const MIN_WORD_LEN: usize = 5;
/// Words at least this long may be two edits away.
const TWO_EDITS_FROM_LEN: usize = 8;

/// The knowledge base's vocabulary, and a delete index over it.
pub struct Speller {
    /// Known words with how often they occur (ties go to the more frequent word).
    words: Vec<(String, u32)>,
    known_stems: HashSet<String>,
    /// A word with some letters deleted -> the vocabulary words it came from.
    deletes: HashMap<String, Vec<u32>>,
}

impl Speller {
    /// `words`: every folded word of the knowledge base (repeats count as frequency);
    /// `stems`: every term the matcher can match.
    pub fn new<'a>(words: impl IntoIterator<Item = &'a str>, stems: HashSet<String>) -> Speller {
        let mut freq: HashMap<&str, u32> = HashMap::default();
        for w in words {
            *freq.entry(w).or_default() += 1;
        }
        let mut vocab: Vec<(String, u32)> = freq
            .into_iter()
            .filter(|(w, _)| {
                w.chars().count() >= MIN_WORD_LEN - 1 && !w.chars().any(|c| c.is_ascii_digit())
            })
            .map(|(w, f)| (w.to_owned(), f))
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
        }
    }

    pub fn knows_stem(&self, stem: &str) -> bool {
        self.known_stems.contains(stem)
    }

    /// The closest known word to `word`, if one is close enough.
    pub fn correct(&self, word: &str) -> Option<&str> {
        let len = word.chars().count();
        if len < MIN_WORD_LEN || word.chars().any(|c| !c.is_alphabetic()) {
            return None;
        }
        let limit = max_edits(len);
        let mut best: Option<(usize, u32, u32)> = None; // (distance, -freq via order, index)
        let mut seen = HashSet::default();
        for d in variants(word, limit) {
            for &i in self.deletes.get(&d).into_iter().flatten() {
                if !seen.insert(i) {
                    continue;
                }
                let (candidate, freq) = &self.words[i as usize];
                let dist = strsim::damerau_levenshtein(word, candidate);
                if dist == 0 || dist > limit {
                    continue;
                }
                let better = match best {
                    None => true,
                    Some((bd, bf, _)) => dist < bd || (dist == bd && *freq > bf),
                };
                if better {
                    best = Some((dist, *freq, i));
                }
            }
        }
        best.map(|(_, _, i)| self.words[i as usize].0.as_str())
    }
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
        Speller::new(words, HashSet::default())
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
        let s2 = Speller::new(["all", "money"], HashSet::default());
        assert_eq!(s2.correct("call"), None, "short words are left alone");
        assert_eq!(s.correct("banana"), None);
        assert_eq!(
            s.correct("refund"),
            None,
            "a known word needs no correction"
        );
    }
}
