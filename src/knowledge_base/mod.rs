//! Loads and validates a knowledge base directory: `faq/**/<id>.md`, `rules.toml`,
//! `synonyms.toml`, `hours.toml` and `canned/*.md`. Every problem is collected (file, line, field) so editors fix a change in one
//! pass; any error rejects the whole knowledge base, so a running server keeps its last good one.
//!
//! Owns: the on-disk format and its validation. Leaves matching to `matcher`, and watching files
//! for hot reload to the server.

mod canned;
mod faq;
mod hours;
pub(crate) mod import;
pub(crate) mod languages;
mod problem;
mod rules;
pub(crate) mod size;
mod wording;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use size::Budget;

pub use canned::{CannedReply, CannedTranslation};
pub(crate) use faq::split_front_matter;
pub use faq::{Faq, FaqId, HandoffMode, render_markdown};
pub use hours::Hours;
pub use languages::Languages;
pub use problem::{KbErrors, Problem, Severity};
pub use rules::{
    FrustrationSettings, PolicySettings, Rule, RuleAction, RuleScope, RuleSet, WeightedPhrase,
};
pub use wording::{HandoffIntent, Shorthand};

/// A validated knowledge base: what the matcher is built from.
#[derive(Debug, Clone, Default)]
pub struct KnowledgeBase {
    pub faqs: Vec<Faq>,
    pub rules: RuleSet,
    /// Groups of equivalent terms; the first term names the group.
    pub synonyms: Vec<Vec<String>>,
    /// Chat shorthand read as words ("u" -> "you").
    pub shorthand: Shorthand,
    /// How visitors ask for a person.
    pub handoff: HandoffIntent,
    /// When people answer; `None` (no `hours.toml`) means always.
    pub hours: Option<Hours>,
    /// Agents' saved replies.
    pub canned: Vec<CannedReply>,
    /// The languages declared (`languages.toml`); this knowledge base is in `languages.default`.
    pub languages: Languages,
    /// One knowledge base per other language, in `languages.others` order: its translations
    /// (and, marked `untranslated`, the default language's FAQs it lacks), its own rules,
    /// synonyms, shorthand and handoff intent, the default's policy and hours.
    pub translations: Vec<KnowledgeBase>,
}

impl KnowledgeBase {
    pub fn faq(&self, id: &FaqId) -> Option<&Faq> {
        self.faqs.iter().find(|f| &f.id == id)
    }

    /// The language this knowledge base answers in.
    pub fn language(&self) -> &str {
        &self.languages.default
    }
}

/// A knowledge base that loaded, with the warnings found on the way.
#[derive(Debug)]
pub struct Loaded {
    pub kb: KnowledgeBase,
    pub warnings: Vec<Problem>,
}

impl From<KnowledgeBase> for Loaded {
    fn from(kb: KnowledgeBase) -> Loaded {
        Loaded {
            kb,
            warnings: Vec::new(),
        }
    }
}

/// Loads `dir`. `Err` lists every problem when any of them is an error.
pub fn load(dir: &Path) -> Result<Loaded, KbErrors> {
    let mut problems = Vec::new();
    let faq_dir = dir.join("faq");
    if !faq_dir.is_dir() {
        return Err(KbErrors {
            problems: vec![Problem::error(
                &faq_dir,
                "no `faq/` folder: a knowledge base keeps one Markdown file per FAQ under faq/",
            )],
        });
    }

    // Every file is read through one budget: a file or a whole knowledge base over its limit is
    // an error before it is held in memory.
    let mut budget = Budget::default();
    let languages = read_optional(
        dir,
        "languages.toml",
        &mut budget,
        &mut problems,
        languages::parse_languages,
    )
    .unwrap_or_default();
    let mut faqs: Vec<(PathBuf, Faq)> = Vec::new();
    // Translations by language (`<id>.<lang>.md`), in `languages.others` order.
    let mut translated: Vec<Vec<(PathBuf, Faq)>> = vec![Vec::new(); languages.others.len()];
    // Ids (file stems) of FAQ files that did not parse: references to them are not reported
    // again as dangling, so an editor sees the one real error.
    let mut unparsed: HashSet<String> = HashSet::new();
    for path in faq_files(&faq_dir, &mut problems) {
        let shown = path.strip_prefix(dir).unwrap_or(&path).to_path_buf();
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        let code = stem.as_deref().and_then(|s| languages::split_language(s).1);
        let slot = match code {
            None => None,
            Some(code) if code == languages.default => None,
            Some(code) => match languages.others.iter().position(|o| o == code) {
                Some(at) => Some(at),
                None => {
                    problems.push(Problem::error(
                        &shown,
                        format!(
                            "a `{code}` translation, but languages.toml does not declare `{code}`"
                        ),
                    ));
                    continue;
                }
            },
        };
        match budget.read(&path, &shown, &mut problems) {
            Some(source) => match faq::parse(&shown, &source) {
                Ok((faq, warnings)) => {
                    problems.extend(warnings);
                    match slot {
                        Some(at) => translated[at].push((shown, faq)),
                        None => faqs.push((shown, faq)),
                    }
                }
                Err(errors) => {
                    if let Some(stem) = path.file_stem() {
                        unparsed.insert(stem.to_string_lossy().into_owned());
                    }
                    problems.extend(errors)
                }
            },
            None => {
                if let Some(stem) = path.file_stem() {
                    unparsed.insert(stem.to_string_lossy().into_owned());
                }
            }
        }
    }
    if faqs.is_empty() && !problems.iter().any(Problem::is_error) {
        problems.push(Problem::error(&faq_dir, "no FAQ files (`*.md`) found"));
    }
    let mut first_file: HashMap<FaqId, PathBuf> = HashMap::new();
    for (file, faq) in &faqs {
        if let Some(first) = first_file.get(&faq.id) {
            problems.push(
                Problem::error(
                    file,
                    format!("id `{}` is already used by {}", faq.id, first.display()),
                )
                .at(None, Some("id")),
            );
        } else {
            first_file.insert(faq.id.clone(), file.clone());
        }
    }
    for (file, faq) in &faqs {
        for r in &faq.related {
            if !first_file.contains_key(r) && !unparsed.contains(r.as_str()) {
                problems.push(
                    Problem::error(file, format!("related FAQ `{r}` does not exist"))
                        .at(None, Some("related")),
                );
            }
        }
    }

    let rules = read_optional(
        dir,
        "rules.toml",
        &mut budget,
        &mut problems,
        rules::parse_rules,
    )
    .unwrap_or_default();
    for rule in &rules.rules {
        for s in &rule.suggest {
            if !first_file.contains_key(s) && !unparsed.contains(s.as_str()) {
                problems.push(
                    Problem::error(
                        Path::new("rules.toml"),
                        format!(
                            "rule `{}` suggests FAQ `{s}`, which does not exist",
                            rule.id
                        ),
                    )
                    .at(None, Some("suggest")),
                );
            }
        }
    }
    let synonyms = read_optional(
        dir,
        "synonyms.toml",
        &mut budget,
        &mut problems,
        rules::parse_synonyms,
    )
    .unwrap_or_default();
    let shorthand = read_optional(
        dir,
        "shorthand.toml",
        &mut budget,
        &mut problems,
        wording::parse_shorthand,
    )
    .unwrap_or_else(wording::default_shorthand);
    let handoff = read_optional(
        dir,
        "handoff.toml",
        &mut budget,
        &mut problems,
        wording::parse_handoff,
    )
    .unwrap_or_else(wording::default_handoff);
    let hours = read_optional(
        dir,
        "hours.toml",
        &mut budget,
        &mut problems,
        hours::parse_hours,
    );
    let mut canned = canned::load_canned(dir, &languages, &mut budget, &mut problems);
    fill_in_hours(hours.as_ref(), &mut faqs, &mut canned, &mut problems);

    let mut translations = Vec::new();
    for (code, mut own) in languages.others.iter().zip(translated) {
        check_translations(code, &own, &faqs, &first_file, &mut problems);
        fill_in_hours(hours.as_ref(), &mut own, &mut Vec::new(), &mut Vec::new());
        translations.push(translation(
            dir,
            code,
            own,
            &faqs,
            &rules,
            &mut budget,
            &mut problems,
        ));
    }

    if problems.iter().any(Problem::is_error) {
        return Err(KbErrors { problems });
    }
    let mut kb = KnowledgeBase {
        faqs: faqs.into_iter().map(|(_, f)| f).collect(),
        rules,
        synonyms,
        shorthand,
        handoff,
        hours,
        canned,
        languages: languages.clone(),
        translations: Vec::new(),
    };
    for (code, t) in languages.others.iter().zip(translations) {
        kb.translations.push(KnowledgeBase {
            hours: kb.hours.clone(),
            canned: kb.canned.clone(),
            languages: Languages {
                default: code.clone(),
                others: Vec::new(),
            },
            ..t
        });
    }
    Ok(Loaded {
        kb,
        warnings: problems,
    })
}

/// Each translation must translate an FAQ of the default language, once; an FAQ without a
/// translation in a declared language is a warning (it is answered in the default language).
fn check_translations(
    code: &str,
    own: &[(PathBuf, Faq)],
    faqs: &[(PathBuf, Faq)],
    first_file: &HashMap<FaqId, PathBuf>,
    problems: &mut Vec<Problem>,
) {
    let mut seen: HashMap<&FaqId, &PathBuf> = HashMap::new();
    for (file, faq) in own {
        if !first_file.contains_key(&faq.id) {
            problems.push(
                Problem::error(
                    file,
                    format!(
                        "translates FAQ `{}`, which the default language does not have",
                        faq.id
                    ),
                )
                .at(None, Some("id")),
            );
        }
        if let Some(first) = seen.insert(&faq.id, file) {
            problems.push(
                Problem::error(
                    file,
                    format!(
                        "FAQ `{}` already has a `{code}` translation: {}",
                        faq.id,
                        first.display()
                    ),
                )
                .at(None, Some("id")),
            );
        }
        for r in &faq.related {
            if !first_file.contains_key(r) {
                problems.push(
                    Problem::error(file, format!("related FAQ `{r}` does not exist"))
                        .at(None, Some("related")),
                );
            }
        }
    }
    for (file, faq) in faqs {
        if !seen.contains_key(&faq.id) {
            let stem = file
                .file_stem()
                .map(|s| s.to_string_lossy())
                .unwrap_or_default();
            problems.push(Problem::warning(
                file,
                format!(
                    "no `{code}` translation ({stem}.{code}.md): `{code}` visitors get the default language's answer"
                ),
            ));
        }
    }
}

/// The knowledge base of language `code`: its translations, then the default language's FAQs it
/// lacks (marked `untranslated`); `rules.<code>.toml` (its rules and frustration phrases; the
/// policy and the other frustration settings are the default's), `synonyms.<code>.toml`,
/// `shorthand.<code>.toml` and `handoff.<code>.toml` (else the built-in ones for `code`).
fn translation(
    dir: &Path,
    code: &str,
    own: Vec<(PathBuf, Faq)>,
    faqs: &[(PathBuf, Faq)],
    default_rules: &RuleSet,
    budget: &mut Budget,
    problems: &mut Vec<Problem>,
) -> KnowledgeBase {
    let mut list: Vec<Faq> = own.into_iter().map(|(_, f)| f).collect();
    for (_, faq) in faqs {
        if !list.iter().any(|t| t.id == faq.id) {
            list.push(Faq {
                untranslated: true,
                ..faq.clone()
            });
        }
    }
    let file = |name: &str| languages::file_for(name, code);
    let own_rules = read_optional(
        dir,
        &file("rules.toml"),
        budget,
        problems,
        rules::parse_rules,
    );
    let rules = RuleSet {
        rules: own_rules
            .as_ref()
            .map(|r| r.rules.clone())
            .unwrap_or_default(),
        frustration: FrustrationSettings {
            phrases: own_rules.map(|r| r.frustration.phrases).unwrap_or_default(),
            ..default_rules.frustration.clone()
        },
        policy: default_rules.policy.clone(),
    };
    for rule in &rules.rules {
        for s in &rule.suggest {
            if !faqs.iter().any(|(_, f)| &f.id == s) {
                problems.push(
                    Problem::error(
                        Path::new(&file("rules.toml")),
                        format!(
                            "rule `{}` suggests FAQ `{s}`, which does not exist",
                            rule.id
                        ),
                    )
                    .at(None, Some("suggest")),
                );
            }
        }
    }
    KnowledgeBase {
        faqs: list,
        rules,
        synonyms: read_optional(
            dir,
            &file("synonyms.toml"),
            budget,
            problems,
            rules::parse_synonyms,
        )
        .unwrap_or_default(),
        shorthand: read_optional(
            dir,
            &file("shorthand.toml"),
            budget,
            problems,
            wording::parse_shorthand,
        )
        .unwrap_or_else(|| wording::builtin_shorthand(code)),
        handoff: read_optional(
            dir,
            &file("handoff.toml"),
            budget,
            problems,
            wording::parse_handoff,
        )
        .unwrap_or_else(|| wording::builtin_handoff(code)),
        ..KnowledgeBase::default()
    }
}

/// What an answer writes for the opening hours in `hours.toml`.
pub const HOURS_PLACEHOLDER: &str = "{{hours}}";

/// What `{{hours}}` says when there is no `hours.toml` (people answer whenever one is online).
const NO_SET_HOURS: &str = "whenever someone from our team is online";

/// Replaces `{{hours}}` in answers and canned replies with the hours in words. Without
/// `hours.toml` it says people answer whenever one is online, and each use is a warning (a
/// broken `hours.toml` is an error of its own already).
fn fill_in_hours(
    hours: Option<&hours::Hours>,
    faqs: &mut [(PathBuf, Faq)],
    canned: &mut [CannedReply],
    problems: &mut Vec<Problem>,
) {
    let summary = hours.map_or_else(|| NO_SET_HOURS.to_owned(), hours::Hours::summary);
    let mut used_in = Vec::new();
    for (file, faq) in faqs.iter_mut() {
        if faq.answer_text.contains(HOURS_PLACEHOLDER) {
            let html = summary.replace('&', "&amp;").replace('<', "&lt;");
            faq.answer_html = faq.answer_html.replace(HOURS_PLACEHOLDER, &html);
            faq.answer_text = faq.answer_text.replace(HOURS_PLACEHOLDER, &summary);
            used_in.push(file.clone());
        }
    }
    for reply in canned.iter_mut() {
        if reply.text.contains(HOURS_PLACEHOLDER) {
            reply.text = reply.text.replace(HOURS_PLACEHOLDER, &summary);
            used_in.push(Path::new("canned").join(format!("{}.md", reply.id)));
        }
        for t in &mut reply.translations {
            if t.text.contains(HOURS_PLACEHOLDER) {
                t.text = t.text.replace(HOURS_PLACEHOLDER, &summary);
                used_in.push(Path::new("canned").join(format!("{}.{}.md", reply.id, t.language)));
            }
        }
    }
    if hours.is_none() {
        for file in used_in {
            problems.push(Problem::warning(
                &file,
                format!("uses {HOURS_PLACEHOLDER} without hours.toml: it says \"{NO_SET_HOURS}\""),
            ));
        }
    }
}

/// Reads and parses `dir/name` if it exists; a missing optional file means defaults.
fn read_optional<T>(
    dir: &Path,
    name: &str,
    budget: &mut Budget,
    problems: &mut Vec<Problem>,
    parse: fn(&Path, &str) -> Result<T, Vec<Problem>>,
) -> Option<T> {
    let path = dir.join(name);
    if !path.exists() {
        return None;
    }
    let shown = Path::new(name);
    let source = budget.read(&path, shown, problems)?;
    match parse(shown, &source) {
        Ok(t) => Some(t),
        Err(errors) => {
            problems.extend(errors);
            None
        }
    }
}

/// Every `*.md` under `faq_dir`, in a stable (sorted) order.
fn faq_files(faq_dir: &Path, problems: &mut Vec<Problem>) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut seen = HashSet::new();
    for entry in walkdir::WalkDir::new(faq_dir).sort_by_file_name() {
        match entry {
            Ok(e) if e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "md") => {
                if seen.insert(e.path().to_path_buf()) {
                    files.push(e.path().to_path_buf());
                }
            }
            Ok(_) => {}
            Err(e) => problems.push(Problem::error(faq_dir, format!("cannot list: {e}"))),
        }
    }
    files
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// `text` parsed as the FAQ file `faq/<id>.md` (it must parse).
    pub(crate) fn parse_faq(id: &str, text: &str) -> Faq {
        let file = format!("faq/{id}.md");
        faq::parse(Path::new(&file), text).expect("a valid FAQ").0
    }

    /// Writes `text` to `dir/rel`, creating folders: a knowledge base file for a test.
    pub(crate) fn write(dir: &Path, rel: &str, text: &str) {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn faq(id: &str) -> String {
        format!(
            "+++\nid = \"{id}\"\ntitle = \"T {id}\"\nquestions = [\"a {id}\", \"b {id}\", \"c {id}\"]\n+++\nAnswer.\n"
        )
    }

    #[test]
    fn every_error_is_reported_at_once_with_its_file() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "faq/shipping/ok.md", &faq("ok"));
        write(
            dir.path(),
            "faq/bad-one.md",
            "+++\nid = \"bad-one\"\n+++\nx\n",
        );
        write(
            dir.path(),
            "faq/orders/bad-two.md",
            &faq("bad-two")
                .replace("tags", "x")
                .replace("title", "tilte"),
        );
        write(
            dir.path(),
            "rules.toml",
            "[[rule]]\nid = \"hi\"\nphrases = [\"hi\"]\naction = \"reply\"\n",
        );
        let errs = load(dir.path()).unwrap_err();
        let files: Vec<String> = errs
            .errors()
            .map(|p| p.file.display().to_string())
            .collect();
        assert!(files.contains(&"faq/bad-one.md".to_string()), "{files:?}");
        assert!(
            files.contains(&"faq/orders/bad-two.md".to_string()),
            "{files:?}"
        );
        assert!(files.contains(&"rules.toml".to_string()), "{files:?}");
    }

    #[test]
    fn answers_say_the_opening_hours_from_hours_toml() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "faq/hours.md",
            &faq("hours").replace("Answer.", "We answer {{hours}}."),
        );
        write(
            dir.path(),
            "canned/hours.md",
            "# Our hours\n\nWe're here {{hours}}.\n",
        );
        let loaded = load(dir.path()).unwrap();
        let warned: Vec<String> = loaded
            .warnings
            .iter()
            .map(|p| p.file.display().to_string())
            .collect();
        assert_eq!(warned, ["faq/hours.md", "canned/hours.md"], "no hours.toml");
        assert_eq!(
            loaded.kb.faqs[0].answer_text,
            "We answer whenever someone from our team is online."
        );
        write(
            dir.path(),
            "hours.toml",
            "timezone = \"Europe/London\"\n[week]\nmonday = \"08:00-20:00\"\n",
        );
        let kb = load(dir.path()).unwrap().kb;
        let expected = "We answer Monday 08:00-20:00 (Europe/London time).";
        assert_eq!(kb.faqs[0].answer_text, expected);
        assert!(
            kb.faqs[0].answer_html.contains(expected),
            "{}",
            kb.faqs[0].answer_html
        );
        assert_eq!(
            kb.canned[0].text,
            "We're here Monday 08:00-20:00 (Europe/London time)."
        );
    }

    #[test]
    fn duplicate_ids_and_dangling_references_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "faq/a/same.md", &faq("same"));
        write(dir.path(), "faq/b/same.md", &faq("same"));
        write(
            dir.path(),
            "faq/c.md",
            &faq("c").replace("+++\nA", "related = [\"nope\"]\n+++\nA"),
        );
        let errs = load(dir.path()).unwrap_err();
        let messages: Vec<String> = errs.errors().map(ToString::to_string).collect();
        assert!(
            messages
                .iter()
                .any(|m| m.contains("already used by faq/a/same.md")),
            "{messages:?}"
        );
        assert!(
            messages.iter().any(|m| m.contains("`nope` does not exist")),
            "{messages:?}"
        );
    }

    #[test]
    fn a_broken_faq_is_one_error_not_one_per_reference_to_it() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "faq/a/broken.md",
            &faq("broken").replace("title", "titel"),
        );
        write(
            dir.path(),
            "faq/b/refers.md",
            &faq("refers").replace("+++\nA", "related = [\"broken\"]\n+++\nA"),
        );
        let errs = load(dir.path()).unwrap_err();
        let messages: Vec<String> = errs.errors().map(ToString::to_string).collect();
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert!(messages[0].contains("faq/a/broken.md"), "{messages:?}");
    }

    #[test]
    fn a_folder_of_good_faqs_loads_without_optional_files() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "faq/x.md", &faq("x"));
        let loaded = load(dir.path()).unwrap();
        assert_eq!(loaded.kb.faqs.len(), 1);
        assert!(loaded.kb.rules.rules.is_empty());
        assert_eq!(loaded.kb.language(), "en", "English without languages.toml");
    }

    #[test]
    fn a_translation_shares_its_faqs_id_and_a_missing_one_is_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "languages.toml",
            "default = \"en\"\nothers = [\"es\"]\n",
        );
        write(dir.path(), "faq/a.md", &faq("a"));
        write(dir.path(), "faq/b.md", &faq("b"));
        write(
            dir.path(),
            "faq/a.es.md",
            "+++\nid = \"a\"\ntitle = \"T a es\"\nquestions = [\"x a\"]\n+++\nRespuesta.\n",
        );
        let loaded = load(dir.path()).unwrap();
        assert_eq!(loaded.kb.faqs.len(), 2);
        let es = &loaded.kb.translations[0];
        assert_eq!(es.language(), "es");
        let a = es.faq(&FaqId::parse("a").unwrap()).unwrap();
        assert_eq!((a.title.as_str(), a.untranslated), ("T a es", false));
        let b = es.faq(&FaqId::parse("b").unwrap()).unwrap();
        assert!(b.untranslated, "answered in the default language");
        assert_eq!(es.handoff, wording::builtin_handoff("es"));
        let missing: Vec<_> = loaded
            .warnings
            .iter()
            .filter(|w| w.message.contains("no `es` translation"))
            .map(|w| w.file.clone())
            .collect();
        assert_eq!(missing, vec![PathBuf::from("faq/b.md")]);
    }

    #[test]
    fn a_translation_of_an_undeclared_language_or_of_no_faq_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "languages.toml",
            "default = \"en\"\nothers = [\"es\"]\n",
        );
        write(dir.path(), "faq/a.md", &faq("a"));
        write(dir.path(), "faq/a.fr.md", &faq("a"));
        write(
            dir.path(),
            "faq/c.es.md",
            "+++\nid = \"c\"\ntitle = \"T\"\nquestions = [\"x\"]\n+++\nR.\n",
        );
        let errors = load(dir.path()).unwrap_err().problems;
        let said: Vec<String> = errors
            .iter()
            .map(|e| format!("{}: {}", e.file.display(), e.message))
            .collect();
        assert!(
            said.iter()
                .any(|s| s.starts_with("faq/a.fr.md: a `fr` translation")),
            "{said:?}"
        );
        assert!(
            errors.iter().any(|e| e.file == Path::new("faq/c.es.md")
                && e.field.as_deref() == Some("id")
                && e.message.contains("does not have")),
            "{said:?}"
        );
    }
}
