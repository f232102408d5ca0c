//! What a knowledge base may weigh: per answer, per file and in all. An editor pasting the wrong
//! file (a 47 MB export) must get a `kb check` error naming the file, not a server that holds
//! gigabytes and sends each visitor a 100 MB frame.
//!
//! Owns the limits and reading a file within them. The limits are chosen so that the largest
//! answer allowed, in the largest frame the server builds for it (an `event` with the answer's
//! HTML, its text and a few titles), stays under the 64 KiB the server itself accepts per frame
//! (`http::TRANSPORT_FRAME_LIMIT`): nothing sent to a widget is larger than what a widget may
//! send. docs/operations.md lists them.

use std::io::Read;
use std::path::Path;

use super::problem::Problem;

/// An answer's Markdown (below the front matter), in bytes.
pub const MAX_ANSWER_BYTES: usize = 16 * 1024;
/// An answer as sent: its HTML and its plain text, each as a JSON string, in bytes together.
/// Markdown that renders larger (many links, characters that are escaped) is refused too.
pub const MAX_RENDERED_ANSWER_BYTES: usize = 48 * 1024;
/// An FAQ's title, in characters: titles are offered as options, several to a frame.
pub const MAX_TITLE_CHARS: usize = 200;
/// FAQs offered with an answer (`related`) or by a rule (`suggest`): each is a button.
pub const MAX_OFFERED: usize = 6;
/// One phrasing, in characters.
pub const MAX_PHRASING_CHARS: usize = 500;
/// One file of the knowledge base (an FAQ, a canned reply, a TOML file), in bytes.
pub const MAX_FILE_BYTES: u64 = 256 * 1024;
/// Every file of the knowledge base together, in bytes: room for 100,000 FAQs of ten phrasings
/// (about 60 MB; they build in under 4 GiB, see BENCHMARKS.md), and a stop for a folder that
/// holds something else.
pub const MAX_TOTAL_BYTES: u64 = 128 * 1024 * 1024;

/// What is left of the knowledge base's total while its files are read.
#[derive(Debug)]
pub(crate) struct Budget {
    left: u64,
    /// Set once the total is exceeded: reported once, then every further file is skipped.
    exceeded: bool,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            left: MAX_TOTAL_BYTES,
            exceeded: false,
        }
    }
}

impl Budget {
    /// Reads `path` (shown to editors as `shown`) as UTF-8 text within the per-file limit and
    /// what is left of the total. `None` after pushing the problem when it cannot be read or is
    /// too large: nothing larger than the limit is ever read into memory.
    pub(crate) fn read(
        &mut self,
        path: &Path,
        shown: &Path,
        problems: &mut Vec<Problem>,
    ) -> Option<String> {
        if self.exceeded {
            return None;
        }
        let file = match std::fs::File::open(path) {
            Ok(file) => file,
            Err(e) => {
                problems.push(Problem::error(shown, format!("cannot read: {e}")));
                return None;
            }
        };
        // Read one byte past the limit: a file that grew after `metadata` is still caught.
        let mut bytes = Vec::new();
        if let Err(e) = file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes) {
            problems.push(Problem::error(shown, format!("cannot read: {e}")));
            return None;
        }
        let size = bytes.len() as u64;
        if size > MAX_FILE_BYTES {
            let on_disk = std::fs::metadata(path).map_or(size, |m| m.len());
            problems.push(Problem::error(
                shown,
                format!(
                    "the file is {}; a knowledge-base file may be at most {}: is it the right file?",
                    human(on_disk),
                    human(MAX_FILE_BYTES)
                ),
            ));
            return None;
        }
        if size > self.left {
            self.exceeded = true;
            problems.push(Problem::error(
                shown,
                format!(
                    "the knowledge base is larger than {} in all (stopped reading at this file): \
                     remove what does not belong or split it into smaller answers",
                    human(MAX_TOTAL_BYTES)
                ),
            ));
            return None;
        }
        self.left -= size;
        match String::from_utf8(bytes) {
            Ok(text) => Some(text),
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                let line = e.as_bytes()[..at].iter().filter(|b| **b == b'\n').count() + 1;
                problems.push(
                    Problem::error(shown, "not UTF-8 text (a binary file or another encoding)")
                        .at(Some(line), None),
                );
                None
            }
        }
    }
}

/// Bytes as editors read them: "256 KB", "47.0 MB".
pub(crate) fn human(bytes: u64) -> String {
    const KB: u64 = 1024;
    const MB: u64 = 1024 * 1024;
    if bytes >= MB {
        format!("{:.1} MB", bytes as f64 / MB as f64)
    } else {
        format!("{} KB", bytes.div_ceil(KB))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_over_the_limit_is_refused_without_being_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.md");
        std::fs::write(&path, vec![b'a'; MAX_FILE_BYTES as usize + 10]).unwrap();
        let mut problems = Vec::new();
        let read = Budget::default().read(&path, Path::new("faq/big.md"), &mut problems);
        assert!(read.is_none());
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].message.contains("at most 256 KB"),
            "{problems:?}"
        );
        assert_eq!(problems[0].file, Path::new("faq/big.md"));
    }

    #[test]
    fn the_total_is_reported_once_and_later_files_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.md");
        std::fs::write(&path, "hello").unwrap();
        let mut budget = Budget {
            left: 7,
            exceeded: false,
        };
        let mut problems = Vec::new();
        assert_eq!(
            budget
                .read(&path, Path::new("a.md"), &mut problems)
                .as_deref(),
            Some("hello")
        );
        assert!(
            budget
                .read(&path, Path::new("b.md"), &mut problems)
                .is_none()
        );
        assert!(
            budget
                .read(&path, Path::new("c.md"), &mut problems)
                .is_none()
        );
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].file, Path::new("b.md"));
    }

    #[test]
    fn binary_content_is_an_error_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.md");
        std::fs::write(&path, b"line one\nline two\xff\xfe").unwrap();
        let mut problems = Vec::new();
        assert!(
            Budget::default()
                .read(&path, Path::new("a.md"), &mut problems)
                .is_none()
        );
        assert_eq!(problems[0].line, Some(2), "{problems:?}");
    }
}
