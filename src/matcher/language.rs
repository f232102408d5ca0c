//! Which of the knowledge base's languages a message is in. Chat messages are short ("hola",
//! "ok", "envíos a México?"), too short for a detector alone, so three kinds of evidence are
//! added up per language: the share of the message's words that language's knowledge base
//! knows (its phrasings, titles and function words), the verdict of a trigram detector
//! (`whatlang`, limited to the declared languages), and the conversation's language so far
//! (seeded from the browser's locale). A message with no evidence either way keeps the
//! conversation's language.

use rustc_hash::FxHashSet as HashSet;

use super::normalize;

/// What the conversation's language so far weighs: a message must know clearly more words of
/// another language to switch.
const STAY: f32 = 0.3;
/// What a reliable detector verdict weighs (an unreliable one, its confidence times half that).
const DETECTED: f32 = 0.5;

/// One language's evidence: the folded words its knowledge base knows.
pub(super) struct Lexicon {
    pub(super) code: String,
    words: HashSet<String>,
}

impl Lexicon {
    pub(super) fn new(code: &str, words: impl IntoIterator<Item = String>) -> Lexicon {
        Lexicon {
            code: code.to_owned(),
            words: words.into_iter().collect(),
        }
    }
}

/// Picks a language among `lexicons` (the first is the knowledge base's default).
pub(super) struct Chooser {
    lexicons: Vec<Lexicon>,
    detector: whatlang::Detector,
    /// Per lexicon, the detector's name for it (if it knows the language).
    detected_as: Vec<Option<whatlang::Lang>>,
}

/// Why a language was chosen, for the explanation.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Choice {
    /// An index into the lexicons.
    pub(super) index: usize,
    /// Share of the message's words known in the chosen language.
    pub(super) known: f32,
    /// The detector's verdict, if it had one.
    pub(super) detected: Option<String>,
}

impl Chooser {
    pub(super) fn new(lexicons: Vec<Lexicon>) -> Chooser {
        let detected_as: Vec<Option<whatlang::Lang>> = lexicons
            .iter()
            .map(|l| whatlang::Lang::from_code(iso639_3(&l.code)))
            .collect();
        let detector =
            whatlang::Detector::with_allowlist(detected_as.iter().flatten().copied().collect());
        Chooser {
            lexicons,
            detector,
            detected_as,
        }
    }

    pub(super) fn code(&self, index: usize) -> &str {
        &self.lexicons[index].code
    }

    /// The language of `text` in a conversation so far in `current` (a code, or a locale such
    /// as `de-AT`).
    pub(super) fn choose(&self, text: &str, current: Option<&str>) -> Choice {
        let words = normalize::words(&normalize::fold(text));
        let current = current.map(|c| c.split(['-', '_']).next().unwrap_or(c).to_ascii_lowercase());
        let detected = self.detector.detect(text);
        let mut best: Option<(f32, usize, f32)> = None;
        for (i, lexicon) in self.lexicons.iter().enumerate() {
            let known = if words.is_empty() {
                0.0
            } else {
                words.iter().filter(|w| lexicon.words.contains(*w)).count() as f32
                    / words.len() as f32
            };
            let mut score = known;
            if let Some(info) = &detected
                && self.detected_as[i] == Some(info.lang())
            {
                score += if info.is_reliable() {
                    DETECTED
                } else {
                    DETECTED * 0.5 * info.confidence() as f32
                };
            }
            if current.as_deref() == Some(lexicon.code.as_str()) {
                score += STAY;
            }
            // Ties go to the earlier language: the conversation's, else the default.
            if best.is_none_or(|(s, ..)| score > s + f32::EPSILON) {
                best = Some((score, i, known));
            }
        }
        let (_, index, known) = best.expect("a chooser has at least one language");
        Choice {
            index,
            known,
            detected: detected.map(|d| d.lang().code().to_owned()),
        }
    }
}

/// The detector's (ISO 639-3) name for a supported language.
fn iso639_3(code: &str) -> &'static str {
    normalize::LANGUAGES
        .iter()
        .find(|(c, ..)| *c == code)
        .map_or("eng", |(.., iso)| *iso)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chooser() -> Chooser {
        let words = |s: &str| s.split(' ').map(str::to_owned).collect::<Vec<_>>();
        Chooser::new(vec![
            Lexicon::new("en", words("can i return an item where is my order the")),
            Lexicon::new(
                "es",
                words("puedo devolver un producto donde esta mi pedido el hacen envios a mexico"),
            ),
            Lexicon::new(
                "de",
                words("kann ich einen artikel zuruckgeben wo ist meine bestellung"),
            ),
        ])
    }

    #[test]
    fn a_message_is_read_in_the_language_whose_words_it_uses() {
        let c = chooser();
        assert_eq!(
            c.code(c.choose("¿Hacen envíos a México?", None).index),
            "es"
        );
        assert_eq!(
            c.code(c.choose("Wo ist meine Bestellung?", None).index),
            "de"
        );
        assert_eq!(
            c.code(c.choose("where is my order", Some("es")).index),
            "en"
        );
    }

    #[test]
    fn a_message_without_evidence_keeps_the_conversations_language() {
        let c = chooser();
        assert_eq!(c.code(c.choose("ok", Some("de")).index), "de");
        assert_eq!(c.code(c.choose("ok", Some("es-MX")).index), "es");
        assert_eq!(c.code(c.choose("ok", None).index), "en", "else the default");
    }
}
