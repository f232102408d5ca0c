//! Which languages a knowledge base answers in (`languages.toml`), and how a translation sits in
//! it: an FAQ's translation is `<id>.<lang>.md` beside `<id>.md`, with the same id, its own
//! phrasings and its own answer; a language's rules, synonyms, shorthand and ways of asking for
//! a person are `rules.<lang>.toml`, `synonyms.<lang>.toml`, `shorthand.<lang>.toml` and
//! `handoff.<lang>.toml`. Without `languages.toml` a knowledge base is English only.
//!
//! ```toml
//! default = "en"          # the language of `<id>.md` files and of answers with no translation
//! others = ["de", "es"]
//! ```

use std::path::Path;

use serde::Deserialize;

use super::problem::{self, Problem};

/// The languages a knowledge base may declare: two-letter codes with a Snowball stemmer.
pub const SUPPORTED: &[&str] = &[
    "ar", "da", "de", "el", "en", "es", "fi", "fr", "hu", "it", "nl", "no", "pt", "ro", "ru", "sv",
    "ta", "tr",
];

/// The languages of a knowledge base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Languages {
    /// The language of `<id>.md` files.
    pub default: String,
    /// Every other language, in the declared order.
    pub others: Vec<String>,
}

impl Default for Languages {
    fn default() -> Languages {
        Languages {
            default: "en".into(),
            others: Vec::new(),
        }
    }
}

impl Languages {
    pub fn declares(&self, code: &str) -> bool {
        self.default == code || self.others.iter().any(|o| o == code)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LanguagesFile {
    default: String,
    #[serde(default)]
    others: Vec<String>,
}

pub(crate) fn parse_languages(file: &Path, source: &str) -> Result<Languages, Vec<Problem>> {
    let parsed: LanguagesFile =
        toml::from_str(source).map_err(|e| vec![problem::from_toml(file, source, 1, &e)])?;
    let mut errors = Vec::new();
    let mut check = |code: &str, field: &str| {
        if !SUPPORTED.contains(&code) {
            let line = problem::line_containing(source, 1, &format!("\"{code}\""), 1);
            errors.push(
                Problem::error(
                    file,
                    format!(
                        "`{code}` is not a language frontdesk can read; use one of {}",
                        SUPPORTED.join(", ")
                    ),
                )
                .at(line, Some(field)),
            );
        }
    };
    check(&parsed.default, "default");
    for other in &parsed.others {
        check(other, "others");
    }
    let mut others: Vec<String> = Vec::new();
    for o in parsed.others {
        if o != parsed.default && !others.contains(&o) {
            others.push(o);
        }
    }
    if errors.is_empty() {
        Ok(Languages {
            default: parsed.default,
            others,
        })
    } else {
        Err(errors)
    }
}

/// The language a file name carries: `return-policy.de.md` -> `("return-policy", Some("de"))`,
/// `return-policy.md` -> `("return-policy", None)`.
pub fn split_language(stem: &str) -> (&str, Option<&str>) {
    match stem.rsplit_once('.') {
        Some((base, code)) if code.len() == 2 && code.bytes().all(|b| b.is_ascii_lowercase()) => {
            (base, Some(code))
        }
        _ => (stem, None),
    }
}

/// The language-specific name of a knowledge-base file: `rules.toml` -> `rules.de.toml`.
pub fn file_for(name: &str, code: &str) -> String {
    match name.rsplit_once('.') {
        Some((base, ext)) => format!("{base}.{code}.{ext}"),
        None => format!("{name}.{code}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_are_declared_once_each_and_checked() {
        let ok = parse_languages(
            Path::new("languages.toml"),
            "default = \"en\"\nothers = [\"de\", \"es\", \"de\", \"en\"]\n",
        )
        .unwrap();
        assert_eq!(ok.others, vec!["de", "es"]);
        assert!(ok.declares("es") && !ok.declares("fr"));
        let bad = parse_languages(
            Path::new("languages.toml"),
            "default = \"en\"\nothers = [\"xx\"]\n",
        )
        .unwrap_err();
        assert_eq!(bad[0].line, Some(2));
        assert_eq!(bad[0].field.as_deref(), Some("others"));
    }

    #[test]
    fn a_file_name_carries_its_language() {
        assert_eq!(
            split_language("return-policy.de"),
            ("return-policy", Some("de"))
        );
        assert_eq!(split_language("return-policy"), ("return-policy", None));
        assert_eq!(split_language("v2.final"), ("v2.final", None));
        assert_eq!(file_for("rules.toml", "es"), "rules.es.toml");
    }
}
