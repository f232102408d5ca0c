//! `canned/*.md`: agents' saved replies. The file stem is the shortcut agents type after `/`, the
//! file's text is the reply (sent as plain text; an optional first line `# Title` names it).
//! `canned/<shortcut>.<lang>.md` is its translation into a declared language: the console
//! offers it in conversations in that language.

use std::path::Path;

use serde::Serialize;

use super::problem::Problem;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CannedReply {
    /// The shortcut (file stem).
    pub id: String,
    pub title: String,
    pub text: String,
    /// Its translations, by language.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub translations: Vec<CannedTranslation>,
}

/// A canned reply in another language.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CannedTranslation {
    /// Two letters.
    pub language: String,
    pub title: String,
    pub text: String,
}

/// Every `canned/*.md` under `dir`, sorted by shortcut.
pub(crate) fn load_canned(
    dir: &Path,
    languages: &super::Languages,
    budget: &mut super::Budget,
    problems: &mut Vec<Problem>,
) -> Vec<CannedReply> {
    let folder = dir.join("canned");
    let Ok(entries) = std::fs::read_dir(&folder) else {
        return Vec::new();
    };
    let mut replies = Vec::new();
    // (shortcut, translation, file) for each `<shortcut>.<lang>.md`.
    let mut translated = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let shown = Path::new("canned").join(entry.file_name());
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (id, language) = super::languages::split_language(&stem);
        let (id, language) = (id.to_owned(), language.map(str::to_owned));
        if let Some(code) = &language
            && !languages.others.contains(code)
        {
            problems.push(Problem::error(
                &shown,
                format!("a `{code}` translation, but languages.toml does not declare `{code}` as another language"),
            ));
            continue;
        }
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            problems.push(Problem::error(
                &shown,
                "a canned reply's file name is its shortcut: letters, digits and `-` only",
            ));
            continue;
        }
        if let Some(source) = budget.read(&path, &shown, problems) {
            let (title, text) = match source.strip_prefix("# ") {
                Some(rest) => {
                    let (t, body) = rest.split_once('\n').unwrap_or((rest, ""));
                    (t.trim().to_owned(), body.trim().to_owned())
                }
                None => (id.replace('-', " "), source.trim().to_owned()),
            };
            if text.is_empty() {
                problems
                    .push(Problem::error(&shown, "the canned reply is empty").at(Some(1), None));
                continue;
            }
            match language {
                Some(language) => translated.push((
                    id,
                    CannedTranslation {
                        language,
                        title,
                        text,
                    },
                    shown,
                )),
                None => replies.push(CannedReply {
                    id,
                    title,
                    text,
                    translations: Vec::new(),
                }),
            }
        }
    }
    for (id, translation, file) in translated {
        match replies.iter_mut().find(|r| r.id == id) {
            Some(reply) => reply.translations.push(translation),
            None => problems.push(Problem::error(
                &file,
                format!("translates canned reply `{id}`, which canned/{id}.md does not hold"),
            )),
        }
    }
    replies.sort_by(|a, b| a.id.cmp(&b.id));
    for reply in &mut replies {
        reply
            .translations
            .sort_by(|a, b| a.language.cmp(&b.language));
    }
    replies
}
