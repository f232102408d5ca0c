//! A language's dictionary: the words people spell correctly, with how often they are used
//! (assets/dictionaries, assets/README.md), loaded once per process on first use. The speller
//! asks it two things: is this a real word (then it is never changed), and which real words are
//! one slip away (so a typo of a word the knowledge base does not know is not "corrected" into
//! one it does).

use std::hash::{BuildHasher, Hash};
use std::io::Read;
use std::sync::OnceLock;

use rustc_hash::FxBuildHasher;

use super::fold::fold;

/// Bits of a packed index entry that hold the word's position; the rest hold the hash.
const POSITION_BITS: u32 = 20;
const POSITION_MASK: u64 = (1 << POSITION_BITS) - 1;
/// The index's buckets, by the hash's top bits: a lookup reads one bucket (a few cache lines)
/// instead of binary-searching a million entries (a cache miss per step).
const BUCKET_BITS: u32 = 16;

/// One language's words (folded) with their frequency, and a delete index: each word, and each
/// word of 3 letters or more with one letter deleted, hashed and packed with the word's
/// position, sorted, with where each bucket of hashes starts.
pub struct Dictionary {
    /// Every word, one after the other (one allocation, not one per word).
    text: String,
    /// Where each word ends in `text` (it starts where the one before ends), and its frequency.
    words: Vec<(u32, u64)>,
    deletes: Vec<u64>,
    buckets: Vec<u32>,
}

/// The dictionary of `language` ("en", "de", "es", "fr"), if we ship one.
pub fn for_language(language: &str) -> Option<&'static Dictionary> {
    macro_rules! shipped {
        ($($code:literal),*) => {
            match language {
                $($code => {
                    static LOADED: OnceLock<Dictionary> = OnceLock::new();
                    Some(LOADED.get_or_init(|| {
                        Dictionary::from_gzip(include_bytes!(concat!(
                            "../../assets/dictionaries/", $code, ".txt.gz"
                        )))
                    }))
                })*
                _ => None,
            }
        };
    }
    shipped!("en", "de", "es", "fr")
}

impl Dictionary {
    /// From a gzipped list of `word frequency` lines, most used first.
    fn from_gzip(bytes: &[u8]) -> Dictionary {
        let mut text = String::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_string(&mut text)
            .expect("a shipped dictionary is valid gzip of UTF-8 text");
        Dictionary::from_lines(&text)
    }

    /// From `word frequency` lines, most used first. Words are folded as messages are (so
    /// "über" is "uber"); words with anything but letters are left out.
    pub fn from_lines(lines: &str) -> Dictionary {
        let mut folded: Vec<(String, u64)> = lines
            .lines()
            .filter_map(|line| {
                let mut parts = line.split_whitespace();
                let (word, count) = (parts.next()?, parts.next()?);
                let word = fold(word);
                (!word.is_empty() && word.chars().all(char::is_alphabetic))
                    .then(|| (word, count.parse().unwrap_or(0)))
            })
            .collect();
        folded.sort_unstable();
        let mut text = String::new();
        let mut words: Vec<(u32, u64)> = Vec::with_capacity(folded.len());
        let mut last = "";
        for (word, count) in &folded {
            if word == last {
                // Two spellings fold to one ("über", "uber"): one word, used as often as both.
                if let Some(w) = words.last_mut() {
                    w.1 += count;
                }
                continue;
            }
            text.push_str(word);
            words.push((text.len() as u32, *count));
            last = word;
        }
        drop(folded);
        let mut dictionary = Dictionary {
            text,
            words,
            deletes: Vec::new(),
            buckets: Vec::new(),
        };
        let mut deletes = Vec::new();
        for at in 0..dictionary.words.len() {
            let word = dictionary.word(at);
            if word.chars().count() < 3 {
                deletes.push(pack(word, at));
                continue;
            }
            for variant in one_deleted(word) {
                deletes.push(pack(&variant, at));
            }
        }
        deletes.sort_unstable();
        deletes.dedup();
        dictionary.buckets = (0..=1u64 << BUCKET_BITS)
            .map(|b| deletes.partition_point(|&e| (e >> (64 - BUCKET_BITS)) < b) as u32)
            .collect();
        dictionary.deletes = deletes;
        dictionary
    }

    /// The word at position `at`.
    fn word(&self, at: usize) -> &str {
        let start = if at == 0 { 0 } else { self.words[at - 1].0 };
        &self.text[start as usize..self.words[at].0 as usize]
    }

    /// The positions of the words that `variant` is (or is with one letter deleted).
    fn lookup<'a>(&'a self, variant: &str) -> impl Iterator<Item = usize> + use<'a> {
        let key = pack(variant, 0);
        let bucket = (key >> (64 - BUCKET_BITS)) as usize;
        let entries =
            &self.deletes[self.buckets[bucket] as usize..self.buckets[bucket + 1] as usize];
        entries
            .iter()
            .filter(move |&&e| e & !POSITION_MASK == key)
            .map(|&e| (e & POSITION_MASK) as usize)
    }

    fn position(&self, word: &str) -> Option<usize> {
        self.lookup(word).find(|&at| self.word(at) == word)
    }

    /// Whether `word` (folded) is spelled correctly.
    pub fn contains(&self, word: &str) -> bool {
        self.position(word).is_some()
    }

    /// How often `word` (folded) is used; 0 when it is not a word.
    pub fn frequency(&self, word: &str) -> u64 {
        self.position(word).map_or(0, |at| self.words[at].1)
    }

    /// Real words that `variants` (the message's word with letters deleted) could come from:
    /// each variant is a word or a word with one letter deleted. With their frequency;
    /// candidates, still to be checked for their distance.
    pub fn candidates<'q>(
        &self,
        variants: impl IntoIterator<Item = &'q String>,
    ) -> impl Iterator<Item = (&str, u64)> {
        variants
            .into_iter()
            .flat_map(move |v| self.lookup(v).map(|at| (self.word(at), self.words[at].1)))
    }

    /// Bytes this dictionary holds (for BENCHMARKS.md).
    pub fn heap_bytes(&self) -> usize {
        self.text.len() + self.words.len() * 16 + self.deletes.len() * 8 + self.buckets.len() * 4
    }
}

/// `word`'s hash in the high bits and `at` in the low ones.
fn pack(word: &str, at: usize) -> u64 {
    let mut hasher = FxBuildHasher.build_hasher();
    word.hash(&mut hasher);
    let hash = std::hash::Hasher::finish(&hasher);
    (hash & !POSITION_MASK) | (at as u64 & POSITION_MASK)
}

/// `word` and `word` with each one of its letters deleted.
fn one_deleted(word: &str) -> Vec<String> {
    let chars: Vec<char> = word.chars().collect();
    let mut out = vec![word.to_owned()];
    for skip in 0..chars.len() {
        out.push(
            chars
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != skip)
                .map(|(_, c)| *c)
                .collect(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_dictionaries_know_their_words_folded() {
        let en = for_language("en").unwrap();
        assert!(en.contains("stole") && en.contains("germany") && en.contains("the"));
        assert!(!en.contains("ordr") && !en.contains("germny"));
        assert!(en.frequency("the") > en.frequency("stole"));
        let de = for_language("de").unwrap();
        assert!(
            de.contains("bestellung") && de.contains("fur"),
            "für folds to fur"
        );
        let es = for_language("es").unwrap();
        assert!(es.contains("envio") && es.contains("pedido"));
        assert!(for_language("fr").unwrap().contains("commande"));
        assert!(for_language("xx").is_none());
    }

    #[test]
    fn candidates_are_the_words_a_deleted_letter_away() {
        let d = Dictionary::from_lines("order 100\nborder 50\nother 80\n");
        let variants = one_deleted("ordr");
        let mut found: Vec<&str> = d.candidates(&variants).map(|(w, _)| w).collect();
        found.sort();
        found.dedup();
        assert!(found.contains(&"order"), "{found:?}");
        assert!(!found.contains(&"other"), "{found:?}");
    }

    #[test]
    fn the_shipped_dictionaries_match_their_recorded_checksums() {
        use sha2::{Digest, Sha256};
        let readme = include_str!("../../assets/README.md");
        for (code, bytes) in [
            (
                "en",
                &include_bytes!("../../assets/dictionaries/en.txt.gz")[..],
            ),
            (
                "de",
                &include_bytes!("../../assets/dictionaries/de.txt.gz")[..],
            ),
            (
                "es",
                &include_bytes!("../../assets/dictionaries/es.txt.gz")[..],
            ),
            (
                "fr",
                &include_bytes!("../../assets/dictionaries/fr.txt.gz")[..],
            ),
        ] {
            let recorded = readme
                .split(&format!("`{code}.txt.gz`: `"))
                .nth(1)
                .and_then(|s| s.split('`').next())
                .unwrap_or_else(|| panic!("assets/README.md records {code}.txt.gz's SHA-256"));
            assert_eq!(hex::encode(Sha256::digest(bytes)), recorded, "{code}");
        }
    }
}
