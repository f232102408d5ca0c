//! A problem found while loading a knowledge base: where it is (file, line, field) and what is wrong.
//!
//! Loading never stops at the first problem: editors get every problem of a change at once, each
//! pointing at the file, line and field to fix. Errors make the knowledge base unusable (the
//! running server keeps its last good one); warnings are worth fixing but do not block.

use std::fmt;
use std::path::{Path, PathBuf};

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One problem, located as precisely as the loader can.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Problem {
    pub severity: Severity,
    #[schema(value_type = String)]
    pub file: PathBuf,
    /// 1-based line, when the problem sits on one.
    pub line: Option<usize>,
    /// The field (TOML key) at fault, when there is one.
    pub field: Option<String>,
    pub message: String,
}

impl Problem {
    pub(crate) fn error(file: &Path, message: impl Into<String>) -> Self {
        Problem {
            severity: Severity::Error,
            file: file.to_path_buf(),
            line: None,
            field: None,
            message: message.into(),
        }
    }

    pub(crate) fn warning(file: &Path, message: impl Into<String>) -> Self {
        Problem {
            severity: Severity::Warning,
            ..Problem::error(file, message)
        }
    }

    pub(crate) fn at(mut self, line: Option<usize>, field: Option<&str>) -> Self {
        self.line = line;
        self.field = field.map(str::to_owned);
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{kind}: {}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem that made a knowledge base unusable (plus the warnings found on the way).
#[derive(Debug, thiserror::Error)]
#[error("the knowledge base has {} error(s); first: {}", self.errors().count(), self.errors().next().map(ToString::to_string).unwrap_or_default())]
pub struct KbErrors {
    pub problems: Vec<Problem>,
}

impl KbErrors {
    pub fn errors(&self) -> impl Iterator<Item = &Problem> {
        self.problems.iter().filter(|p| p.is_error())
    }
}

/// A TOML deserialisation error turned into a located problem. `first_line` is the file line on
/// which `source` starts (front matter starts on line 2 of an FAQ file).
pub(crate) fn from_toml(
    file: &Path,
    source: &str,
    first_line: usize,
    err: &toml::de::Error,
) -> Problem {
    let (line, field) = match err.span() {
        Some(span) => {
            let line_index = source[..span.start.min(source.len())].matches('\n').count();
            let text = source.lines().nth(line_index).unwrap_or("");
            (Some(first_line + line_index), key_of_line(text))
        }
        None => (None, None),
    };
    let field = unknown_field_name(err.message()).or(field);
    Problem::error(file, err.message().trim().to_owned()).at(line, field.as_deref())
}

/// The 1-based file line of the first line of `source` that assigns `key` (`key = ...`), searching
/// from `from` (a byte offset). Used to point validation errors at the offending field.
pub(crate) fn line_of_key(source: &str, first_line: usize, key: &str) -> Option<usize> {
    source
        .lines()
        .position(|l| key_of_line(l).as_deref() == Some(key))
        .map(|i| first_line + i)
}

/// The 1-based file line of the first line containing `needle` at or after line `after`.
pub(crate) fn line_containing(
    source: &str,
    first_line: usize,
    needle: &str,
    after: usize,
) -> Option<usize> {
    source
        .lines()
        .enumerate()
        .skip(after.saturating_sub(first_line))
        .find(|(_, l)| l.contains(needle))
        .map(|(i, _)| first_line + i)
}

fn key_of_line(line: &str) -> Option<String> {
    let (key, _) = line.split_once('=')?;
    let key = key.trim().trim_matches('"');
    (!key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.'))
    .then(|| key.to_owned())
}

fn unknown_field_name(message: &str) -> Option<String> {
    let rest = message.split("unknown field `").nth(1)?;
    Some(rest.split('`').next()?.to_owned())
}
