//! Text normalisation shared by every part of the matcher, so that phrasings, rule phrases and
//! visitor messages meet in one form: Unicode-folded (accents removed, lowercase), contractions
//! expanded, punctuation dropped, long numbers collapsed, typos corrected against the knowledge
//! base's vocabulary, Snowball-stemmed, and synonyms mapped to their group's first term.

use rustc_hash::FxHashMap as HashMap;

pub use super::fold::fold;
use super::spelling::Speller;
use rust_stemmers::{Algorithm, Stemmer};

/// The term that stands for any number of 4 or more digits (order numbers, phone numbers).
pub const NUMBER_TERM: &str = "#num";

/// Words that carry little meaning on their own: a message made only of these and a rule's phrase
/// counts as "the phrase alone", and they weigh little in coverage.
pub(crate) const STOPWORDS: &[&str] = &[
    "a",
    "about",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "been",
    "but",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "for",
    "from",
    "get",
    "got",
    "had",
    "has",
    "have",
    "hello",
    "hey",
    "hi",
    "how",
    "i",
    "if",
    "im",
    "in",
    "is",
    "it",
    "its",
    "just",
    "let",
    "me",
    "much",
    "my",
    "need",
    "no",
    "not",
    "now",
    "of",
    "oh",
    "ok",
    "okay",
    "on",
    "or",
    "please",
    "pls",
    "so",
    "some",
    "that",
    "the",
    "then",
    "there",
    "these",
    "this",
    "to",
    "u",
    "us",
    "very",
    "want",
    "was",
    "we",
    "well",
    "what",
    "when",
    "where",
    "which",
    "who",
    "why",
    "will",
    "with",
    "would",
    "yes",
    "you",
    "your",
    "again",
    "all",
    "also",
    "really",
    "thank",
    "thanks",
    "too",
    "would",
    "there",
    "guys",
    "team",
    "dear",
    "sir",
    "madam",
    "folks",
    "everyone",
    "morning",
    "afternoon",
    "evening",
    "good",
];

/// Splits folded text into words, expanding English contractions ("can't" -> "can not",
/// "I'm" -> "i am", "order's" -> "order").
pub fn words(folded: &str) -> Vec<String> {
    let mut out = Vec::new();
    for raw in folded.split(|c: char| !(c.is_alphanumeric() || c == '\'')) {
        let raw = raw.trim_matches('\'');
        if raw.is_empty() {
            continue;
        }
        expand_contraction(raw, &mut out);
    }
    out
}

fn expand_contraction(word: &str, out: &mut Vec<String>) {
    let irregular = match word {
        "can't" | "cannot" => Some(["can", "not"]),
        "won't" => Some(["will", "not"]),
        "shan't" => Some(["shall", "not"]),
        "ain't" => Some(["is", "not"]),
        _ => None,
    };
    if let Some(parts) = irregular {
        out.extend(parts.iter().map(|p| p.to_string()));
        return;
    }
    let (stem, tail) = match word.rsplit_once('\'') {
        Some((stem, tail)) => (stem, Some(tail)),
        None => (word, None),
    };
    let expansion = match tail {
        Some("t") if stem.ends_with('n') => {
            push_parts(&stem[..stem.len() - 1], out);
            out.push("not".into());
            return;
        }
        Some("re") => Some("are"),
        Some("m") => Some("am"),
        Some("ll") => Some("will"),
        Some("ve") => Some("have"),
        Some("d") => Some("would"),
        Some("s") | Some("") | None => None,
        Some(other) => {
            // Not a contraction (o'clock, rock'n'roll): keep both parts as words.
            push_parts(stem, out);
            push_parts(other, out);
            return;
        }
    };
    push_parts(stem, out);
    if let Some(e) = expansion {
        out.push(e.into());
    }
}

fn push_parts(word: &str, out: &mut Vec<String>) {
    for part in word.split('\'').filter(|p| !p.is_empty()) {
        let digits = part.chars().filter(char::is_ascii_digit).count();
        if digits >= 4 && digits * 2 >= part.len() {
            out.push(NUMBER_TERM.into());
        } else {
            out.push(part.to_owned());
        }
    }
}

/// A message (or phrasing) after analysis.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Analyzed {
    /// Folded words before stemming (typos already corrected).
    pub words: Vec<String>,
    /// `words` stemmed, one to one.
    pub stems: Vec<String>,
    /// The matching terms: stemmed, synonyms mapped. Not one-to-one with `words` when a
    /// multi-word synonym ("money back") became one term.
    pub terms: Vec<String>,
    /// Typo corrections made: (as typed, corrected to).
    pub corrections: Vec<(String, String)>,
}

/// Stems and maps synonyms. Built once per knowledge base, for its language.
pub struct Normalizer {
    /// The language's two-letter code.
    language: String,
    stemmer: Stemmer,
    /// The language's function words, folded (English: `STOPWORDS`; others: NLTK's lists).
    stopwords: rustc_hash::FxHashSet<String>,
    /// Chat shorthand as typed -> the words it stands for.
    shorthand: HashMap<String, Vec<String>>,
    /// Stemmed term sequence -> the group's term.
    synonyms: HashMap<Vec<String>, String>,
    longest_synonym: usize,
}

impl Normalizer {
    /// An English normaliser (tests; the matcher builds one per language).
    #[cfg(test)]
    pub fn new(synonym_groups: &[Vec<String>]) -> Normalizer {
        Normalizer::for_language("en", synonym_groups)
    }

    /// A normaliser for language `code` (one of `knowledge_base::languages::SUPPORTED`; any
    /// other reads as English).
    pub fn for_language(code: &str, synonym_groups: &[Vec<String>]) -> Normalizer {
        let stopwords = match code {
            "en" => STOPWORDS.iter().map(|w| (*w).to_owned()).collect(),
            _ => stop_words::lookup(code)
                .unwrap_or_default()
                .iter()
                .flat_map(|w| words(&fold(w)))
                .collect(),
        };
        let mut n = Normalizer {
            language: code.to_owned(),
            stopwords,
            stemmer: Stemmer::create(algorithm(code)),
            shorthand: HashMap::default(),
            synonyms: HashMap::default(),
            longest_synonym: 1,
        };
        for group in synonym_groups {
            let members: Vec<Vec<String>> =
                group.iter().map(|t| n.stem_all(&words(&fold(t)))).collect();
            let Some(head) = members.first().filter(|h| !h.is_empty()) else {
                continue;
            };
            let name = head.join("_");
            for member in members {
                if member.is_empty() {
                    continue;
                }
                n.longest_synonym = n.longest_synonym.max(member.len());
                n.synonyms.entry(member).or_insert_with(|| name.clone());
            }
        }
        n
    }

    /// Reads chat shorthand (`[("u", "you"), ("asap", "as soon as possible")]`) as its words.
    pub fn with_shorthand(mut self, table: &[(String, String)]) -> Normalizer {
        self.shorthand = table
            .iter()
            .map(|(from, to)| (fold(from), words(&fold(to))))
            .collect();
        self
    }

    /// Folded words with letters repeated three times or more read twice ("pleeease" ->
    /// "pleease") and shorthand expanded ("u" -> "you").
    pub fn words(&self, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for word in words(&fold(text)) {
            let word = squeeze(word);
            match self.shorthand.get(&word) {
                Some(expansion) => out.extend(expansion.iter().cloned()),
                None => out.push(word),
            }
        }
        out
    }

    pub fn language(&self) -> &str {
        &self.language
    }

    /// A function word of this language ("the", "der", "el"), folded.
    pub fn is_stopword(&self, word: &str) -> bool {
        self.stopwords.contains(word)
    }

    /// The language's function words, folded.
    pub fn stopwords(&self) -> impl Iterator<Item = &str> {
        self.stopwords.iter().map(String::as_str)
    }

    pub fn stem(&self, word: &str) -> String {
        if word == NUMBER_TERM {
            return word.to_owned();
        }
        self.stemmer.stem(word).into_owned()
    }

    fn stem_all(&self, words: &[String]) -> Vec<String> {
        words.iter().map(|w| self.stem(w)).collect()
    }

    /// Full analysis. With a speller, words unknown to the knowledge base are corrected first.
    pub fn analyze(&self, text: &str, speller: Option<&Speller>) -> Analyzed {
        let mut words = self.words(text);
        let mut corrections = Vec::new();
        let mut stems = Vec::with_capacity(words.len());
        for word in &mut words {
            let mut stem = self.stem(word);
            if let Some(speller) = speller
                && !speller.knows_stem(&stem)
                && let Some(fixed) = speller.correct(word)
            {
                corrections.push((word.clone(), fixed.to_owned()));
                *word = fixed.to_owned();
                stem = self.stem(word);
            }
            stems.push(stem);
        }
        let terms = self.map_synonyms(stems.clone());
        Analyzed {
            words,
            stems,
            terms,
            corrections,
        }
    }

    /// Replaces synonym phrases, leftmost-longest, by their group's term.
    fn map_synonyms(&self, stems: Vec<String>) -> Vec<String> {
        if self.synonyms.is_empty() {
            return stems;
        }
        let mut out = Vec::with_capacity(stems.len());
        let mut i = 0;
        'outer: while i < stems.len() {
            let longest = self.longest_synonym.min(stems.len() - i);
            for len in (1..=longest).rev() {
                if let Some(name) = self.synonyms.get(&stems[i..i + len]) {
                    out.push(name.clone());
                    i += len;
                    continue 'outer;
                }
            }
            out.push(stems[i].clone());
            i += 1;
        }
        out
    }
}

/// `word` with every run of three or more of one letter cut to two inside the word ("goood"
/// -> "good") and to one at its end ("hiii" -> "hi", "pleaseee" -> "please").
fn squeeze(word: String) -> String {
    let chars: Vec<char> = word.chars().collect();
    if !chars
        .windows(3)
        .any(|w| w[0] == w[1] && w[1] == w[2] && w[0].is_alphabetic())
    {
        return word;
    }
    let mut out = String::with_capacity(word.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let run = chars[i..].iter().take_while(|&&x| x == c).count();
        let keep = match run {
            _ if run < 3 || !c.is_alphabetic() => run,
            _ if i + run == chars.len() => 1,
            _ => 2,
        };
        out.extend(std::iter::repeat_n(c, keep));
        i += run;
    }
    out
}

/// Every language the matcher reads: its two-letter code, its Snowball stemmer and the language
/// detector's (ISO 639-3) name for it. `knowledge_base::languages::SUPPORTED` lists the same codes
/// (a test keeps the two in step).
pub(crate) const LANGUAGES: &[(&str, Algorithm, &str)] = &[
    ("ar", Algorithm::Arabic, "ara"),
    ("da", Algorithm::Danish, "dan"),
    ("de", Algorithm::German, "deu"),
    ("el", Algorithm::Greek, "ell"),
    ("en", Algorithm::English, "eng"),
    ("es", Algorithm::Spanish, "spa"),
    ("fi", Algorithm::Finnish, "fin"),
    ("fr", Algorithm::French, "fra"),
    ("hu", Algorithm::Hungarian, "hun"),
    ("it", Algorithm::Italian, "ita"),
    ("nl", Algorithm::Dutch, "nld"),
    ("no", Algorithm::Norwegian, "nob"),
    ("pt", Algorithm::Portuguese, "por"),
    ("ro", Algorithm::Romanian, "ron"),
    ("ru", Algorithm::Russian, "rus"),
    ("sv", Algorithm::Swedish, "swe"),
    ("ta", Algorithm::Tamil, "tam"),
    ("tr", Algorithm::Turkish, "tur"),
];

/// The Snowball stemmer of language `code` (English for any other).
fn algorithm(code: &str) -> Algorithm {
    LANGUAGES
        .iter()
        .find(|(c, ..)| *c == code)
        .map_or(Algorithm::English, |(_, a, _)| *a)
}

/// An English function word.
pub(crate) fn is_stopword(word: &str) -> bool {
    STOPWORDS.contains(&word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matcher_reads_every_language_a_knowledge_base_may_declare() {
        let codes: Vec<&str> = LANGUAGES.iter().map(|(c, ..)| *c).collect();
        assert_eq!(codes, crate::knowledge_base::languages::SUPPORTED);
    }

    #[test]
    fn folding_removes_accents_and_case() {
        assert_eq!(fold("Où est ma COMMANDE’s"), "ou est ma commande's");
        assert_eq!(words(&fold("Crème BRÛLÉE!!")), vec!["creme", "brulee"]);
    }

    #[test]
    fn contractions_are_expanded() {
        assert_eq!(
            words("i can't log in"),
            vec!["i", "can", "not", "log", "in"]
        );
        assert_eq!(
            words("it doesn't work, i'm sad"),
            vec!["it", "does", "not", "work", "i", "am", "sad"]
        );
        assert_eq!(
            words("where's my order's status"),
            vec!["where", "my", "order", "status"]
        );
        assert_eq!(
            words("you'll, we've, they'd"),
            vec!["you", "will", "we", "have", "they", "would"]
        );
    }

    #[test]
    fn shorthand_and_drawn_out_letters_are_read_as_words() {
        let table = [
            ("u".to_owned(), "you".to_owned()),
            ("r".to_owned(), "are".to_owned()),
            ("asap".to_owned(), "as soon as possible".to_owned()),
        ];
        let n = Normalizer::new(&[]).with_shorthand(&table);
        assert_eq!(n.words("R U there"), vec!["are", "you", "there"]);
        assert_eq!(
            n.words("refund ASAP pleeeease, 10000"),
            vec![
                "refund",
                "as",
                "soon",
                "as",
                "possible",
                "pleease",
                NUMBER_TERM
            ]
        );
        assert_eq!(n.words("goood hiii"), vec!["good", "hi"]);
        assert_eq!(n.words("all good"), vec!["all", "good"], "doubles stay");
    }

    #[test]
    fn long_numbers_collapse_to_one_term() {
        assert_eq!(
            words("order 113542617735902 and 7am"),
            vec!["order", NUMBER_TERM, "and", "7am"]
        );
    }

    #[test]
    fn punctuation_and_query_syntax_are_just_separators() {
        assert_eq!(
            words("what's \"refund\":policy?"),
            vec!["what", "refund", "policy"]
        );
        assert_eq!(words(&fold("AND OR NOT ((")), vec!["and", "or", "not"]);
        assert!(words("?!*&^%").is_empty());
    }

    #[test]
    fn synonyms_map_to_the_first_term_of_their_group_leftmost_longest() {
        let n = Normalizer::new(&[
            vec!["refund".into(), "money back".into()],
            vec!["parcel".into(), "package".into()],
        ]);
        assert_eq!(
            n.analyze("I want my money back", None).terms,
            vec!["i", "want", "my", "refund"]
        );
        assert_eq!(
            n.analyze("where are my packages", None).terms,
            vec!["where", "are", "my", "parcel"]
        );
        assert_eq!(n.analyze("Refunds", None).terms, vec!["refund"]);
    }
}
