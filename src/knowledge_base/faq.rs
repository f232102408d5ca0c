//! One FAQ file: `+++` TOML front matter (id, title, phrasings, tags, handoff, related) and a
//! Markdown answer, rendered once at load to safe HTML and to plain text.
//!
//! Owns the FAQ file format and its validation; cross-file checks (duplicate ids, unknown
//! `related` ids) belong to the loader in `mod.rs`.

use std::fmt;
use std::path::Path;

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use serde::Deserialize;

use super::problem::{self, Problem};
use super::size::{
    self, MAX_ANSWER_BYTES, MAX_OFFERED, MAX_PHRASING_CHARS, MAX_RENDERED_ANSWER_BYTES,
    MAX_TITLE_CHARS,
};

/// An FAQ id: lowercase ASCII letters, digits, `-` and `_`, starting with a letter or digit. It
/// equals the file stem, so it is also a safe URL and file-name component.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FaqId(String);

impl TryFrom<String> for FaqId {
    type Error = String;
    fn try_from(raw: String) -> Result<FaqId, String> {
        FaqId::parse(&raw)
    }
}

impl From<FaqId> for String {
    fn from(id: FaqId) -> String {
        id.0
    }
}

impl FaqId {
    pub fn parse(raw: &str) -> Result<FaqId, String> {
        let valid = !raw.is_empty()
            && raw.len() <= 80
            && raw.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && raw
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if valid {
            Ok(FaqId(raw.to_owned()))
        } else {
            Err(format!(
                "`{raw}` is not a valid id: use 1-80 lowercase letters, digits, `-` or `_`"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FaqId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What happens around a human when this FAQ answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HandoffMode {
    /// Answer, then offer to connect a person.
    Offer,
    /// Hand the conversation to a person straight away, instead of answering.
    Always,
    /// Answer, then hand the conversation to a person (this FAQ is the reason): for answers
    /// that need one to act ("we'll try to stop the order").
    After,
}

/// Words of an answer that promise a person will act, per language: such an answer should hand
/// the conversation over (`handoff = "after"`), or the visitor's reply goes to the bot.
const PROMISES_A_PERSON: &[&str] = &[
    "an agent will",
    "a colleague will",
    "a person will",
    "reply here and",
    "antworten sie hier",
    "jemand aus dem team",
    "ein mitarbeiter wird",
    "responde aquí",
    "un agente intentará",
    "répondez ici",
    "un conseiller",
    "antwoord hier",
    "een medewerker zal",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    id: String,
    title: String,
    questions: Vec<String>,
    #[serde(default)]
    tags: Vec<String>,
    handoff: Option<HandoffMode>,
    #[serde(default)]
    related: Vec<String>,
}

/// A validated FAQ, ready for the matcher and for display.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Faq {
    pub id: FaqId,
    pub title: String,
    pub questions: Vec<String>,
    pub tags: Vec<String>,
    pub handoff: Option<HandoffMode>,
    pub related: Vec<FaqId>,
    /// The answer as HTML that is safe to insert in a page (raw HTML dropped, links http/https/mailto).
    pub answer_html: String,
    /// The answer as plain text (for logs, transcripts, e-mail, the terminal).
    pub answer_text: String,
    /// Where it came from, relative to the knowledge base folder (`faq/returns/return-policy.md`):
    /// what `/admin` points editors to.
    pub file: std::path::PathBuf,
    /// In a language's knowledge base: this FAQ has no translation in it, so it is the default
    /// language's (answered with a line saying so).
    pub untranslated: bool,
}

/// Parses one FAQ file. `source` is the whole file; problems name `file`.
pub(crate) fn parse(file: &Path, source: &str) -> Result<(Faq, Vec<Problem>), Vec<Problem>> {
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
    let Some((front, body)) = split_front_matter(source) else {
        return Err(vec![Problem::error(
            file,
            "an FAQ file starts with a `+++` line, then TOML front matter, then a closing `+++` line",
        )
        .at(Some(1), None)]);
    };
    // Front matter starts on the line after the opening `+++`.
    const FRONT_FIRST_LINE: usize = 2;
    let fm: FrontMatter = toml::from_str(front)
        .map_err(|e| vec![problem::from_toml(file, front, FRONT_FIRST_LINE, &e)])?;

    let at = |key: &str| problem::line_of_key(front, FRONT_FIRST_LINE, key);
    let mut errors = Vec::new();
    let mut warnings = Vec::new();

    let id = match FaqId::parse(&fm.id) {
        Ok(id) => Some(id),
        Err(msg) => {
            errors.push(Problem::error(file, msg).at(at("id"), Some("id")));
            None
        }
    };
    // A translation `<id>.<lang>.md` carries the id of the FAQ it translates.
    let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let stem = super::languages::split_language(stem).0;
    if let Some(id) = &id
        && id.as_str() != stem
    {
        errors.push(
            Problem::error(file, format!("id `{id}` must equal the file name `{stem}`"))
                .at(at("id"), Some("id")),
        );
    }
    if fm.title.trim().is_empty() {
        errors.push(Problem::error(file, "the title is empty").at(at("title"), Some("title")));
    } else if fm.title.trim().chars().count() > MAX_TITLE_CHARS {
        errors.push(
            Problem::error(
                file,
                format!("the title may be at most {MAX_TITLE_CHARS} characters"),
            )
            .at(at("title"), Some("title")),
        );
    }
    let questions: Vec<String> = fm
        .questions
        .iter()
        .map(|q| q.trim().to_owned())
        .filter(|q| !q.is_empty())
        .collect();
    if questions.is_empty() {
        errors.push(
            Problem::error(file, "list at least one phrasing a visitor would type")
                .at(at("questions"), Some("questions")),
        );
    } else if questions.len() < 3 {
        warnings.push(
            Problem::warning(
                file,
                format!(
                    "only {} phrasing(s): add at least 3 varied ones so visitors' wordings find this FAQ",
                    questions.len()
                ),
            )
            .at(at("questions"), Some("questions")),
        );
    }
    if let Some(long) = questions
        .iter()
        .find(|q| q.chars().count() > MAX_PHRASING_CHARS)
    {
        let start: String = long.chars().take(40).collect();
        errors.push(
            Problem::error(
                file,
                format!(
                    "a phrasing may be at most {MAX_PHRASING_CHARS} characters (\"{start}...\")"
                ),
            )
            .at(at("questions"), Some("questions")),
        );
    }
    if fm.related.len() > MAX_OFFERED {
        errors.push(
            Problem::error(
                file,
                format!(
                    "list at most {MAX_OFFERED} related FAQs: each one is a button for the visitor"
                ),
            )
            .at(at("related"), Some("related")),
        );
    }
    let mut related = Vec::new();
    for r in &fm.related {
        match FaqId::parse(r) {
            Ok(r) => related.push(r),
            Err(msg) => errors.push(Problem::error(file, msg).at(at("related"), Some("related"))),
        }
    }
    if body.trim().is_empty() {
        errors.push(
            Problem::error(
                file,
                "the answer (Markdown below the closing `+++`) is empty",
            )
            .at(Some(source.lines().count()), None),
        );
    }
    // The answer starts on the line after the closing `+++`.
    let answer_line = source.len() - body.len();
    let answer_line = source[..answer_line].lines().count() + 1;
    if body.len() > MAX_ANSWER_BYTES {
        errors.push(
            Problem::error(
                file,
                format!(
                    "the answer is {}; an answer may be at most {}: answer one question here and \
                     link to a page for the rest",
                    size::human(body.len() as u64),
                    size::human(MAX_ANSWER_BYTES as u64)
                ),
            )
            .at(Some(answer_line), None),
        );
    }
    match id {
        Some(id) if errors.is_empty() => {
            let (answer_html, answer_text) = render_markdown(body);
            let promise = answer_text.to_lowercase();
            let promise = PROMISES_A_PERSON.iter().find(|p| promise.contains(*p));
            if let Some(words) = promise
                && !matches!(fm.handoff, Some(HandoffMode::After | HandoffMode::Always))
            {
                warnings.push(
                    Problem::warning(
                        file,
                        format!(
                            "the answer promises a person will act (\"{words}\") but the bot \
                             keeps the conversation: add `handoff = \"after\"` to answer and then \
                             hand it to a person"
                        ),
                    )
                    .at(Some(answer_line), Some("handoff")),
                );
            }
            let sent = json_len(&answer_html) + json_len(&answer_text);
            if sent > MAX_RENDERED_ANSWER_BYTES {
                return Err(vec![
                    Problem::error(
                        file,
                        format!(
                            "the answer renders to {} (HTML and text as sent); at most {} fits \
                             in a chat message: shorten it or use fewer links",
                            size::human(sent as u64),
                            size::human(MAX_RENDERED_ANSWER_BYTES as u64)
                        ),
                    )
                    .at(Some(answer_line), None),
                ]);
            }
            Ok((
                Faq {
                    id,
                    title: fm.title.trim().to_owned(),
                    questions,
                    tags: fm.tags,
                    handoff: fm.handoff,
                    related,
                    answer_html,
                    answer_text,
                    file: file.to_path_buf(),
                    untranslated: false,
                },
                warnings,
            ))
        }
        _ => Err(errors),
    }
}

/// The length of `text` as a JSON string, as it travels in a frame.
fn json_len(text: &str) -> usize {
    serde_json::to_string(text).map_or(usize::MAX, |json| json.len())
}

/// Splits `+++\n<front>\n+++\n<body>`; `None` when the delimiters are missing.
pub(crate) fn split_front_matter(source: &str) -> Option<(&str, &str)> {
    let rest = source
        .strip_prefix("+++\n")
        .or_else(|| source.strip_prefix("+++\r\n"))?;
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "+++" {
            return Some((&rest[..offset], &rest[offset + line.len()..]));
        }
        offset += line.len();
    }
    None
}

/// Renders Markdown to (safe HTML, plain text). Raw HTML is dropped, not escaped into view, and a
/// link or image whose target is not http, https or mailto loses its target but keeps its text.
pub fn render_markdown(markdown: &str) -> (String, String) {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    // For each open link/image: was it kept? Needed to drop the matching end tag.
    let mut kept_links: Vec<bool> = Vec::new();
    let events: Vec<Event> = Parser::new_ext(markdown, options)
        .filter_map(|event| match event {
            Event::Html(_) | Event::InlineHtml(_) => None,
            Event::Start(Tag::Link { ref dest_url, .. }) => {
                let keep = safe_url(dest_url);
                kept_links.push(keep);
                keep.then_some(event)
            }
            Event::Start(Tag::Image { .. }) => {
                // Images are not part of a chat answer: keep only their alt text.
                kept_links.push(false);
                None
            }
            Event::End(TagEnd::Link | TagEnd::Image) => {
                let keep = kept_links.pop().unwrap_or(false);
                keep.then_some(event)
            }
            other => Some(other),
        })
        .collect();

    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events.iter().cloned());
    (html.trim_end().to_owned(), plain_text(&events))
}

fn safe_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    ["http://", "https://", "mailto:"]
        .iter()
        .any(|scheme| lower.starts_with(scheme))
}

fn plain_text(events: &[Event]) -> String {
    let mut text = String::new();
    for event in events {
        match event {
            Event::Text(t) | Event::Code(t) => text.push_str(t),
            Event::SoftBreak => text.push(' '),
            Event::HardBreak => text.push('\n'),
            Event::Start(Tag::Item) => text.push_str("- "),
            Event::End(
                TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::Item | TagEnd::TableRow,
            ) => text.push('\n'),
            Event::End(TagEnd::TableCell) => text.push('\t'),
            _ => {}
        }
    }
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect();
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "+++\nid = \"return-policy\"\ntitle = \"Return policy\"\nquestions = [\"can I return an item\", \"how do returns work\", \"send something back\"]\n+++\nYou can return within **30 days**.\n";

    #[test]
    fn a_well_formed_faq_parses_and_renders() {
        let (faq, warnings) = parse(Path::new("faq/return-policy.md"), GOOD).unwrap();
        assert_eq!(faq.id.as_str(), "return-policy");
        assert_eq!(faq.questions.len(), 3);
        assert!(warnings.is_empty());
        assert_eq!(
            faq.answer_html,
            "<p>You can return within <strong>30 days</strong>.</p>"
        );
        assert_eq!(faq.answer_text, "You can return within 30 days.");
    }

    #[test]
    fn an_answer_over_the_limit_is_an_error_on_its_first_line() {
        let src = GOOD.replace(
            "You can return",
            &format!(
                "{}\n\nYou can return",
                "word ".repeat(MAX_ANSWER_BYTES / 5 + 1)
            ),
        );
        let errs = parse(Path::new("faq/return-policy.md"), &src).unwrap_err();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].line, Some(6), "the line after the closing +++");
        assert!(errs[0].message.contains("at most 16 KB"), "{errs:?}");
        // Just under the limit is served.
        let src = GOOD.replace(
            "You can return",
            &format!(
                "{}\n\nYou can return",
                "word ".repeat(MAX_ANSWER_BYTES / 5 - 20)
            ),
        );
        assert!(parse(Path::new("faq/return-policy.md"), &src).is_ok());
    }

    #[test]
    fn an_answer_that_renders_too_large_to_send_is_an_error() {
        // Characters escaped in HTML and JSON: small Markdown, a large frame.
        let src = GOOD.replace("You can return", &"<\u{1}".repeat(MAX_ANSWER_BYTES / 3));
        let errs = parse(Path::new("faq/return-policy.md"), &src).unwrap_err();
        assert!(errs[0].message.contains("renders to"), "{errs:?}");
        assert_eq!(errs[0].line, Some(6));
    }

    #[test]
    fn long_titles_and_phrasings_are_errors_on_their_line() {
        let src = GOOD.replace("Return policy", &"R".repeat(MAX_TITLE_CHARS + 1));
        let errs = parse(Path::new("faq/return-policy.md"), &src).unwrap_err();
        assert_eq!(
            (errs[0].line, errs[0].field.as_deref()),
            (Some(3), Some("title"))
        );
        let src = GOOD.replace("send something back", &"q".repeat(MAX_PHRASING_CHARS + 1));
        let errs = parse(Path::new("faq/return-policy.md"), &src).unwrap_err();
        assert_eq!(
            (errs[0].line, errs[0].field.as_deref()),
            (Some(4), Some("questions"))
        );
    }

    #[test]
    fn an_answer_that_promises_a_person_warns_unless_it_hands_over() {
        let promising = GOOD.replace(
            "You can return within **30 days**.",
            "Reply here and an agent will try to stop it.",
        );
        let (_, warnings) = parse(Path::new("faq/return-policy.md"), &promising).unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].message.contains("handoff = \"after\""));
        assert_eq!(warnings[0].line, Some(6));
        let handing_over = promising.replace("+++\nReply", "handoff = \"after\"\n+++\nReply");
        let (faq, warnings) = parse(Path::new("faq/return-policy.md"), &handing_over).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(faq.handoff, Some(HandoffMode::After));
    }

    #[test]
    fn raw_html_and_unsafe_links_are_dropped() {
        let (html, text) = render_markdown(
            "Hi <script>alert(1)</script> [ok](https://x.test) [bad](javascript:alert(1)) ![i](https://x.test/i.png)\n\n<div onclick=x>block</div>\n",
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(!html.contains("<div"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("<a href=\"https://x.test\">ok</a>"), "{html}");
        assert!(html.contains("bad"), "link text stays: {html}");
        assert!(text.contains("ok") && text.contains("bad"));
    }

    #[test]
    fn an_unknown_field_is_an_error_with_file_line_and_field() {
        let src = GOOD.replace("title =", "titel =");
        let errs = parse(Path::new("faq/return-policy.md"), &src).unwrap_err();
        assert_eq!(errs[0].line, Some(3));
        assert_eq!(errs[0].field.as_deref(), Some("titel"));
        assert!(
            errs[0]
                .to_string()
                .starts_with("error: faq/return-policy.md:3")
        );
    }

    #[test]
    fn an_id_that_differs_from_the_file_name_is_an_error_on_the_id_line() {
        let errs = parse(Path::new("faq/returns.md"), GOOD).unwrap_err();
        assert_eq!(errs[0].line, Some(2));
        assert_eq!(errs[0].field.as_deref(), Some("id"));
    }

    #[test]
    fn a_wrong_type_points_at_its_line() {
        let src = GOOD.replace("questions = [", "questions = 3 #[");
        let errs = parse(Path::new("faq/return-policy.md"), &src).unwrap_err();
        assert_eq!(errs[0].line, Some(4));
        assert_eq!(errs[0].field.as_deref(), Some("questions"));
    }

    #[test]
    fn missing_front_matter_is_reported_on_line_one() {
        let errs = parse(Path::new("faq/x.md"), "just text").unwrap_err();
        assert_eq!(errs[0].line, Some(1));
    }

    #[test]
    fn few_phrasings_are_a_warning() {
        let src = GOOD.replace(", \"how do returns work\", \"send something back\"", "");
        let (_, warnings) = parse(Path::new("faq/return-policy.md"), &src).unwrap();
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].field.as_deref(), Some("questions"));
    }
}
