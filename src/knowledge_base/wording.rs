//! How visitors write: chat shorthand (`shorthand.toml`) and the ways they ask for a person
//! (`handoff.toml`). Both are editable in the knowledge base; without the file, the built-in
//! default (the sample knowledge base's own file, compiled in) applies.

use std::path::Path;

use serde::Deserialize;

use super::problem::{self, Problem};

/// The built-in shorthand table: the sample knowledge base's file.
const DEFAULT_SHORTHAND: &str = include_str!("../../knowledge_base/shorthand.toml");
/// The built-in handoff intent: the sample knowledge base's file.
const DEFAULT_HANDOFF: &str = include_str!("../../knowledge_base/handoff.toml");
/// The built-in handoff intents and shorthand of the other languages we ship.
const BUILTIN_HANDOFF: &[(&str, &str)] = &[
    ("de", include_str!("../../knowledge_base/handoff.de.toml")),
    ("es", include_str!("../../knowledge_base/handoff.es.toml")),
    ("fr", include_str!("../../knowledge_base/handoff.fr.toml")),
    ("nl", include_str!("../../knowledge_base/handoff.nl.toml")),
];
const BUILTIN_SHORTHAND: &[(&str, &str)] = &[
    ("de", include_str!("../../knowledge_base/shorthand.de.toml")),
    ("es", include_str!("../../knowledge_base/shorthand.es.toml")),
];

/// The built-in handoff intent for language `code` (English's for `en`; none for a language we
/// do not ship one for: then only rules hand off).
pub(crate) fn builtin_handoff(code: &str) -> HandoffIntent {
    if code == "en" {
        return default_handoff();
    }
    builtin(BUILTIN_HANDOFF, code, "handoff", parse_handoff)
}

/// The built-in shorthand for language `code` (none for a language we do not ship one for).
pub(crate) fn builtin_shorthand(code: &str) -> Shorthand {
    if code == "en" {
        return default_shorthand();
    }
    builtin(BUILTIN_SHORTHAND, code, "shorthand", parse_shorthand)
}

/// Language `code`'s file `<name>.<code>.toml` from `table`, parsed; empty for a language we
/// ship none for.
fn builtin<T: Default>(
    table: &[(&str, &str)],
    code: &str,
    name: &str,
    parse: fn(&Path, &str) -> Result<T, Vec<Problem>>,
) -> T {
    table
        .iter()
        .find(|(c, _)| *c == code)
        .and_then(|(c, src)| parse(Path::new(&format!("{name}.{c}.toml")), src).ok())
        .unwrap_or_default()
}

/// Shorthand as typed (one folded word) -> the words it stands for.
pub type Shorthand = Vec<(String, String)>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShorthandFile {
    words: std::collections::BTreeMap<String, String>,
}

pub(crate) fn parse_shorthand(file: &Path, source: &str) -> Result<Shorthand, Vec<Problem>> {
    let parsed: ShorthandFile =
        toml::from_str(source).map_err(|e| vec![problem::from_toml(file, source, 1, &e)])?;
    let mut errors = Vec::new();
    for (from, to) in &parsed.words {
        let one_word = !from.is_empty() && from.chars().all(char::is_alphanumeric);
        if !one_word || to.trim().is_empty() {
            let line = problem::line_containing(source, 1, from, 1);
            errors.push(
                Problem::error(
                    file,
                    format!("`{from}` = \"{to}\": write one word as typed and the words it means"),
                )
                .at(line, Some("words")),
            );
        }
    }
    if errors.is_empty() {
        Ok(parsed.words.into_iter().collect())
    } else {
        Err(errors)
    }
}

/// The ways a visitor asks for a person: see `knowledge_base/handoff.toml`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandoffIntent {
    pub person: Vec<String>,
    pub request: Vec<String>,
    pub between: Vec<String>,
    pub filler: Vec<String>,
    pub help: Vec<String>,
    pub negation: Vec<String>,
    /// Words that ask for a person by themselves, no person named ("escalate").
    #[serde(default)]
    pub escalate: Vec<String>,
}

pub(crate) fn parse_handoff(file: &Path, source: &str) -> Result<HandoffIntent, Vec<Problem>> {
    let parsed: HandoffIntent =
        toml::from_str(source).map_err(|e| vec![problem::from_toml(file, source, 1, &e)])?;
    let mut errors = Vec::new();
    for (field, list) in [("person", &parsed.person), ("request", &parsed.request)] {
        if list.iter().all(|w| w.trim().is_empty()) {
            let line = problem::line_containing(source, 1, field, 1);
            errors.push(
                Problem::error(file, format!("`{field}` needs at least one word"))
                    .at(line, Some(field)),
            );
        }
    }
    if errors.is_empty() {
        Ok(parsed)
    } else {
        Err(errors)
    }
}

/// The built-in shorthand table.
pub fn default_shorthand() -> Shorthand {
    parse_shorthand(Path::new("shorthand.toml"), DEFAULT_SHORTHAND)
        .expect("invariant: the built-in shorthand table parses (tested)")
}

/// The built-in handoff intent.
pub fn default_handoff() -> HandoffIntent {
    parse_handoff(Path::new("handoff.toml"), DEFAULT_HANDOFF)
        .expect("invariant: the built-in handoff intent parses (tested)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_tables_parse() {
        assert!(
            default_shorthand()
                .iter()
                .any(|(f, t)| f == "u" && t == "you")
        );
        assert!(default_handoff().person.iter().any(|p| p == "human"));
    }

    #[test]
    fn a_shorthand_key_of_two_words_names_its_line() {
        let src = "[words]\nu = \"you\"\n\"r u\" = \"are you\"\n";
        let errs = parse_shorthand(Path::new("shorthand.toml"), src).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].line, Some(3));
        assert_eq!(errs[0].field.as_deref(), Some("words"));
    }

    #[test]
    fn a_handoff_intent_without_person_words_is_an_error() {
        let src = "person = []\nrequest = [\"talk\"]\nbetween = []\nfiller = []\nhelp = []\nnegation = []\n";
        let errs = parse_handoff(Path::new("handoff.toml"), src).unwrap_err();
        assert_eq!(errs[0].field.as_deref(), Some("person"));
    }
}
