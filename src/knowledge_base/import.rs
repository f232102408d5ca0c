//! `frontdesk kb import`: turns a labelled CSV (`text,label`) into a knowledge base, one FAQ per
//! label with the label's utterances as phrasings and a placeholder answer. Lets a team migrate
//! labelled chat logs, and builds the knowledge bases `frontdesk eval` measures.

use std::collections::HashMap;
use std::path::Path;

/// The label of out-of-scope cases (messages the knowledge base must not answer).
pub const OUT_OF_SCOPE: &str = "oos";

use anyhow::Context;
use serde::Serialize;

use super::FaqId;

/// One labelled utterance.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct LabelledRow {
    pub text: String,
    pub label: String,
}

/// Reads a `text,label` CSV (RFC 4180 quoting, header required).
pub fn read_labelled_csv(path: &Path) -> anyhow::Result<Vec<LabelledRow>> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut rows = Vec::new();
    for (i, row) in reader.deserialize().enumerate() {
        let row: LabelledRow =
            row.with_context(|| format!("{}: row {} is not `text,label`", path.display(), i + 2))?;
        rows.push(row);
    }
    Ok(rows)
}

/// The FAQ id a label becomes: lowercase, anything but letters, digits, `-` and `_` turned into
/// `-`. `eval` uses the same mapping to compare answers with labels.
pub fn label_to_id(label: &str) -> Option<FaqId> {
    let slug: String = label
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    FaqId::parse(slug.trim_matches('-')).ok()
}

#[derive(Serialize)]
struct FrontMatter<'a> {
    id: &'a str,
    title: String,
    questions: Vec<&'a str>,
    tags: Vec<&'a str>,
}

/// Summary of an import.
#[derive(Debug)]
pub struct Imported {
    pub faqs: usize,
    pub phrasings: usize,
    /// Rows labelled `oos`, written as `fallback` test cases (what `kb tune` declines).
    pub off_topic: usize,
}

/// Writes `out/faq/<id>.md` for every label of `rows`, with at most `per_label` phrasings each
/// (the first ones in file order; duplicates skipped). Rows labelled `oos` (messages the
/// knowledge base must not answer) become `out/tests/off-topic.csv`, `fallback` test cases.
pub fn import(
    rows: &[LabelledRow],
    out: &Path,
    per_label: Option<usize>,
) -> anyhow::Result<Imported> {
    let mut order: Vec<FaqId> = Vec::new();
    let mut by_label: HashMap<FaqId, (String, Vec<&str>)> = HashMap::new();
    let mut off_topic: Vec<&str> = Vec::new();
    for row in rows {
        if row.label == OUT_OF_SCOPE {
            let text = row.text.trim();
            if !text.is_empty() && !off_topic.contains(&text) {
                off_topic.push(text);
            }
            continue;
        }
        let id = label_to_id(&row.label)
            .with_context(|| format!("label `{}` cannot become an FAQ id", row.label))?;
        let entry = by_label.entry(id.clone()).or_insert_with(|| {
            order.push(id.clone());
            (row.label.clone(), Vec::new())
        });
        let text = row.text.trim();
        if !text.is_empty()
            && per_label.is_none_or(|n| entry.1.len() < n)
            && !entry.1.contains(&text)
        {
            entry.1.push(text);
        }
    }
    let faq_dir = out.join("faq");
    std::fs::create_dir_all(&faq_dir)
        .with_context(|| format!("cannot create {}", faq_dir.display()))?;
    let mut phrasings = 0;
    for id in &order {
        let (label, questions) = &by_label[id];
        phrasings += questions.len();
        let front = FrontMatter {
            id: id.as_str(),
            title: humanize(label),
            questions: questions.clone(),
            tags: vec!["imported"],
        };
        let toml = toml::to_string(&front).context("serialising front matter")?;
        let body = format!(
            "+++\n{toml}+++\nThis answer for **{}** was imported from labelled data: replace it with the real answer.\n",
            humanize(label)
        );
        let path = faq_dir.join(format!("{id}.md"));
        std::fs::write(&path, body).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if !off_topic.is_empty() {
        let tests = out.join("tests");
        std::fs::create_dir_all(&tests)
            .with_context(|| format!("cannot create {}", tests.display()))?;
        let path = tests.join("off-topic.csv");
        let mut w = csv::Writer::from_path(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        w.write_record(["text", "expect"])?;
        for text in &off_topic {
            w.write_record([*text, "fallback"])?;
        }
        w.flush()?;
    }
    Ok(Imported {
        faqs: order.len(),
        phrasings,
        off_topic: off_topic.len(),
    })
}

fn humanize(label: &str) -> String {
    let spaced = label.replace(['_', '-'], " ");
    let mut chars = spaced.trim().chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => spaced,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_become_valid_ids() {
        assert_eq!(
            label_to_id("cancel_order").unwrap().as_str(),
            "cancel_order"
        );
        assert_eq!(label_to_id("Play Music!").unwrap().as_str(), "play-music");
        assert!(label_to_id("!!!").is_none());
    }

    #[test]
    fn an_import_loads_back_as_a_knowledge_base() {
        let dir = tempfile::tempdir().unwrap();
        let rows: Vec<LabelledRow> = [
            ("where is my \"parcel\"", "track_order"),
            ("track my order", "track_order"),
            ("track my order", "track_order"),
            ("order status", "track_order"),
            ("cancel it", "cancel_order"),
        ]
        .iter()
        .map(|(t, l)| LabelledRow {
            text: t.to_string(),
            label: l.to_string(),
        })
        .collect();
        let imported = import(&rows, dir.path(), Some(2)).unwrap();
        assert_eq!(imported.faqs, 2);
        assert_eq!(imported.phrasings, 3);
        let kb = super::super::load(dir.path()).unwrap().kb;
        let track = kb
            .faqs
            .iter()
            .find(|f| f.id.as_str() == "track_order")
            .unwrap();
        assert_eq!(
            track.questions,
            vec!["where is my \"parcel\"", "track my order"]
        );
    }
}
