//! `canned/*.md`: agents' saved replies. The file stem is the shortcut agents type after `/`, the
//! file's text is the reply (sent as plain text; an optional first line `# Title` names it).

use std::path::Path;

use serde::Serialize;

use super::problem::Problem;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CannedReply {
    /// The shortcut (file stem).
    pub id: String,
    pub title: String,
    pub text: String,
}

/// Every `canned/*.md` under `dir`, sorted by shortcut.
pub(crate) fn load_canned(dir: &Path, problems: &mut Vec<Problem>) -> Vec<CannedReply> {
    let folder = dir.join("canned");
    let Ok(entries) = std::fs::read_dir(&folder) else {
        return Vec::new();
    };
    let mut replies = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let shown = Path::new("canned").join(entry.file_name());
        let id = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            problems.push(Problem::error(
                &shown,
                "a canned reply's file name is its shortcut: letters, digits and `-` only",
            ));
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(source) => {
                let (title, text) = match source.strip_prefix("# ") {
                    Some(rest) => {
                        let (t, body) = rest.split_once('\n').unwrap_or((rest, ""));
                        (t.trim().to_owned(), body.trim().to_owned())
                    }
                    None => (id.replace('-', " "), source.trim().to_owned()),
                };
                if text.is_empty() {
                    problems.push(
                        Problem::error(&shown, "the canned reply is empty").at(Some(1), None),
                    );
                    continue;
                }
                replies.push(CannedReply { id, title, text });
            }
            Err(e) => problems.push(Problem::error(&shown, format!("cannot read: {e}"))),
        }
    }
    replies.sort_by(|a, b| a.id.cmp(&b.id));
    replies
}
