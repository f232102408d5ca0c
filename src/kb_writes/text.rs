//! The edits a fix makes, as text: a phrasing added to an FAQ's `questions` in the file's own
//! layout, a new FAQ file as an editor would write it, a test case added to a CSV, and the
//! unified diff between two versions. Pure: text in, text out; `kb_writes` reads, checks and
//! writes the files.

use toml_edit::{Array, DocumentMut, Item, Value};

use crate::knowledge_base::split_front_matter;

/// Why a text edit cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("the file has no `+++` front matter")]
    NoFrontMatter,
    #[error("the front matter is not valid TOML: {0}")]
    Toml(String),
    #[error("the front matter has no `questions` list")]
    NoQuestions,
    #[error("\"{0}\" is already one of its phrasings")]
    AlreadyThere(String),
}

/// Whether two phrasings are the same to an editor (case and spacing aside).
fn same(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    norm(a) == norm(b)
}

/// `source` (an FAQ file) with `phrasing` added at the end of its `questions`, laid out like the
/// phrasings before it (one per line, or on one line), everything else byte for byte.
pub fn add_phrasing(source: &str, phrasing: &str) -> Result<String, TextError> {
    let bom = if source.starts_with('\u{feff}') {
        "\u{feff}"
    } else {
        ""
    };
    let unmarked = &source[bom.len()..];
    let (front, body) = split_front_matter(unmarked).ok_or(TextError::NoFrontMatter)?;
    let mut doc: DocumentMut = front
        .parse()
        .map_err(|e: toml_edit::TomlError| TextError::Toml(e.message().to_owned()))?;
    let questions = doc
        .get_mut("questions")
        .and_then(Item::as_array_mut)
        .ok_or(TextError::NoQuestions)?;
    if questions
        .iter()
        .any(|q| q.as_str().is_some_and(|q| same(q, phrasing)))
    {
        return Err(TextError::AlreadyThere(phrasing.to_owned()));
    }
    push_like_the_others(questions, phrasing);
    let newline = if unmarked.starts_with("+++\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    Ok(format!("{bom}+++{newline}{doc}+++{newline}{body}"))
}

/// Pushes `text` onto `array` with the layout of its last item.
fn push_like_the_others(array: &mut Array, text: &str) {
    let prefix = array
        .iter()
        .last()
        .and_then(|v| v.decor().prefix())
        .and_then(|p| p.as_str())
        .map(str::to_owned);
    let multiline = prefix.as_deref().is_some_and(|p| p.contains('\n'));
    let mut value = Value::from(text);
    value
        .decor_mut()
        .set_prefix(match (&prefix, array.is_empty()) {
            (Some(p), _) => p.clone(),
            (None, true) => String::new(),
            (None, false) => " ".to_owned(),
        });
    array.push_formatted(value);
    if multiline {
        array.set_trailing_comma(true);
    }
}

/// A new FAQ as an editor writes one.
#[derive(Debug, Clone)]
pub struct Draft<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub questions: &'a [String],
    pub tags: &'a [String],
    pub answer: &'a str,
}

/// The Markdown file of `draft`: front matter with one phrasing per line, then the answer.
pub fn new_faq(draft: &Draft<'_>) -> String {
    let mut doc = DocumentMut::new();
    doc["id"] = toml_edit::value(draft.id);
    doc["title"] = toml_edit::value(draft.title);
    let mut questions = Array::new();
    for q in draft.questions {
        let mut value = Value::from(q.as_str());
        value.decor_mut().set_prefix("\n  ");
        questions.push_formatted(value);
    }
    questions.set_trailing_comma(true);
    questions.set_trailing("\n");
    doc["questions"] = toml_edit::value(questions);
    if !draft.tags.is_empty() {
        let tags: Array = draft.tags.iter().map(String::as_str).collect();
        doc["tags"] = toml_edit::value(tags);
    }
    let answer = draft.answer.trim().replace("\r\n", "\n");
    format!("+++\n{doc}+++\n{answer}\n")
}

/// A `text,expect` CSV (`source`, or a new file when `None`) with the case added; `None` when a
/// case with that text is already there.
pub fn add_case(source: Option<&str>, text: &str, expect: &str) -> Option<String> {
    let mut out = match source {
        Some(s) if !s.trim().is_empty() => {
            let mut reader = csv::Reader::from_reader(s.as_bytes());
            let known = reader
                .records()
                .flatten()
                .any(|r| r.get(0).is_some_and(|t| same(t, text)));
            if known {
                return None;
            }
            let mut s = s.to_owned();
            if !s.ends_with('\n') {
                s.push('\n');
            }
            s
        }
        _ => "text,expect\n".to_owned(),
    };
    let mut writer = csv::WriterBuilder::new().from_writer(Vec::new());
    // Writing two fields to memory cannot fail.
    let _ = writer.write_record([text, expect]);
    let row = writer.into_inner().unwrap_or_default();
    out.push_str(&String::from_utf8_lossy(&row));
    Some(out)
}

/// The unified diff from `before` (`None`: a new file) to `after`, with `path` under `a/` and
/// `b/` (the shape `git apply` takes).
pub fn diff(path: &str, before: Option<&str>, after: &str) -> String {
    let old = before.unwrap_or("");
    let text = similar::TextDiff::from_lines(old, after);
    let from = if before.is_some() {
        format!("a/{path}")
    } else {
        "/dev/null".to_owned()
    };
    let mut out = String::new();
    if before.is_none() {
        out.push_str(&format!(
            "diff --git a/{path} b/{path}\nnew file mode 100644\n"
        ));
    } else {
        out.push_str(&format!("diff --git a/{path} b/{path}\n"));
    }
    out.push_str(
        &text
            .unified_diff()
            .context_radius(3)
            .header(&from, &format!("b/{path}"))
            .to_string(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAQ: &str = "+++\nid = \"invoice\"\ntitle = \"Where is my invoice?\"\nquestions = [\n  \"where is my invoice\",\n  \"I need an invoice\",\n]\ntags = [\"payments\"] # billing\n+++\nUnder **Account > Orders**.\n";

    #[test]
    fn a_phrasing_goes_at_the_end_of_the_list_in_its_layout_and_nothing_else_moves() {
        let after = add_phrasing(FAQ, "wher do i find my \"invoise\"").unwrap();
        assert_eq!(
            after,
            FAQ.replace(
                "  \"I need an invoice\",\n]",
                "  \"I need an invoice\",\n  'wher do i find my \"invoise\"',\n]"
            )
        );
        let on_one_line = FAQ.replace(
            "[\n  \"where is my invoice\",\n  \"I need an invoice\",\n]",
            "[\"where is my invoice\", \"I need an invoice\"]",
        );
        let after = add_phrasing(&on_one_line, "invoice please").unwrap();
        assert!(
            after.contains("[\"where is my invoice\", \"I need an invoice\", \"invoice please\"]"),
            "{after}"
        );
        let crlf = FAQ.replace('\n', "\r\n");
        let after = add_phrasing(&crlf, "invoice please").unwrap();
        assert!(after.starts_with("+++\r\n") && after.ends_with("Orders**.\r\n"));
        let loaded = crate::knowledge_base::tests::parse_faq(
            "invoice",
            &add_phrasing(FAQ, "x y z").unwrap(),
        );
        assert_eq!(loaded.questions.last().unwrap(), "x y z");
    }

    proptest::proptest! {
        /// Whatever a visitor typed (quotes, backslashes, `+++`, `#`, any script), it comes back
        /// as the FAQ's last phrasing, and the rest of the file is untouched: one line added.
        #[test]
        fn any_question_is_added_as_one_line_and_reads_back_as_typed(
            question in "[^\\p{Cc}]{1,80}"
        ) {
            proptest::prop_assume!(question.trim() == question && !question.is_empty());
            proptest::prop_assume!(!same(&question, "where is my invoice") && !same(&question, "I need an invoice"));
            let after = add_phrasing(FAQ, &question).unwrap();
            let faq = crate::knowledge_base::tests::parse_faq("invoice", &after);
            proptest::prop_assert_eq!(faq.questions.last().unwrap(), &question);
            proptest::prop_assert_eq!(faq.questions.len(), 3);
            let d = diff("faq/invoice.md", Some(FAQ), &after);
            let added: Vec<&str> = d.lines().filter(|l| l.starts_with('+') && !l.starts_with("+++")).collect();
            let removed = d.lines().filter(|l| l.starts_with('-') && !l.starts_with("---")).count();
            proptest::prop_assert_eq!(added.len(), 1, "{}", d);
            proptest::prop_assert_eq!(removed, 0, "{}", d);
        }
    }

    #[test]
    fn a_phrasing_already_there_or_a_file_without_questions_is_refused() {
        assert_eq!(
            add_phrasing(FAQ, "Where is  my INVOICE"),
            Err(TextError::AlreadyThere("Where is  my INVOICE".into()))
        );
        assert_eq!(
            add_phrasing("no front matter", "x"),
            Err(TextError::NoFrontMatter)
        );
        assert_eq!(
            add_phrasing("+++\nid = \"x\"\n+++\nbody\n", "x"),
            Err(TextError::NoQuestions)
        );
        assert!(matches!(
            add_phrasing("+++\nid = \n+++\nbody\n", "x"),
            Err(TextError::Toml(_))
        ));
    }

    #[test]
    fn a_new_faq_reads_like_one_an_editor_wrote_and_loads() {
        let questions = vec![
            "where do I find my invoice".to_owned(),
            "invoice \"copy\"".into(),
        ];
        let text = new_faq(&Draft {
            id: "invoice-copy",
            title: "Can I get a copy of my invoice?",
            questions: &questions,
            tags: &["payments".to_owned()],
            answer: "Download it under **Account > Orders**.\r\n",
        });
        assert_eq!(
            text,
            "+++\nid = \"invoice-copy\"\ntitle = \"Can I get a copy of my invoice?\"\nquestions = [\n  \"where do I find my invoice\",\n  'invoice \"copy\"',\n]\ntags = [\"payments\"]\n+++\nDownload it under **Account > Orders**.\n"
        );
        let faq = crate::knowledge_base::tests::parse_faq("invoice-copy", &text);
        assert_eq!(faq.questions, questions);
    }

    #[test]
    fn a_case_is_added_once_with_csv_quoting() {
        let first = add_case(None, "wher, do i find my invoise", "invoice").unwrap();
        assert_eq!(
            first,
            "text,expect\n\"wher, do i find my invoise\",invoice\n"
        );
        assert_eq!(
            add_case(Some(&first), "Wher, do I find my invoise", "x"),
            None
        );
        let second = add_case(Some("text,expect\na,b"), "tell me a joke", "fallback").unwrap();
        assert_eq!(second, "text,expect\na,b\ntell me a joke,fallback\n");
    }

    #[test]
    fn a_diff_names_the_file_as_git_does() {
        let d = diff("faq/x.md", Some("a\nb\n"), "a\nb\nc\n");
        assert!(
            d.starts_with("diff --git a/faq/x.md b/faq/x.md\n--- a/faq/x.md\n+++ b/faq/x.md\n@@"),
            "{d}"
        );
        assert!(d.contains("\n+c\n"), "{d}");
        let new = diff("faq/y.md", None, "hello\n");
        assert!(
            new.contains(
                "new file mode 100644\n--- /dev/null\n+++ b/faq/y.md\n@@ -0,0 +1 @@\n+hello\n"
            ),
            "{new}"
        );
    }
}
