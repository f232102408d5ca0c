//! Editors' changes to the knowledge base from `/admin` and the API: try a question on the live
//! matcher, and turn a question the bot missed into a fix (a phrasing of an FAQ, a new FAQ, an
//! off-topic test case) or dismiss it. The Markdown files stay the source of truth: a fix is
//! written to them as an editor would write it (`text`), with a test case in
//! `tests/fixes.csv` so that it stays fixed.
//!
//! One fix, in order: the edit is planned from the files on disk (an FAQ file that changed since
//! the editor read it, its `version`, is refused, never overwritten); staged in a copy of the
//! folder and loaded there (a fix that would break the knowledge base is refused, nothing
//! written); written (each file to a temporary file beside it, then renamed over it: a reader
//! sees the old file or the new one, never half); logged in the store (who, when, the diffs);
//! reloaded; and checked: what the bot now does with the question, the held-out self-test of
//! the FAQ, the editors' test cases. With `kb_writes = "off"` (a knowledge base kept in git
//! and deployed by CI) nothing is written: the fix comes back as a patch for `git apply`.
//!
//! Writes are one at a time in a process (a `tokio::sync::Mutex` held across the file reads
//! and writes: they are short, and two editors' fixes to one file must not interleave).
//! Between processes sharing one folder, the version check narrows the window to the rename.

pub mod text;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

pub use crate::config::WriteMode;
use crate::conversation::now_ms;
use crate::kb_test::{self, CaseMiss, SelfTest, Suite};
use crate::knowledge_base::{self, FaqId, KnowledgeBase, Problem};
use crate::matcher::{Decision, Explanation, Matcher, Memory};
use crate::ports::{EditAction, FileChange, KbEdit, Store, StoreError};
use crate::reload::{ReloadOutcome, Reloader};

/// Where fixes add their test cases (relative to the knowledge base).
pub const FIXES_FILE: &str = "tests/fixes.csv";
/// A visitor's question kept in a fix: longer ones are not questions an FAQ should learn.
const MAX_QUESTION_CHARS: usize = 500;
const MAX_TITLE_CHARS: usize = 200;
/// At most 4,000 characters: within the knowledge base's 16 KB per answer whatever the script.
const MAX_ANSWER_CHARS: usize = 4_000;
const MAX_PHRASINGS: usize = 50;

/// What an editor does with a question.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fix {
    /// Add the question as a phrasing of an existing FAQ.
    Phrasing {
        #[schema(
            min_length = 1,
            max_length = 500,
            pattern = "^[^\\x00-\\x08\\x0e-\\x1f\\x7f-\\x9f]*[^\\x00-\\x08\\x0e-\\x1f\\x7f-\\x9f\\s\\ufeff][^\\x00-\\x08\\x0e-\\x1f\\x7f-\\x9f]*$"
        )]
        question: String,
        #[schema(pattern = "^[a-z0-9][a-z0-9_-]{0,79}$")]
        faq: String,
        /// The FAQ's language (two letters); its default language when absent.
        #[serde(default)]
        language: Option<String>,
        /// The FAQ file's `version` when the editor read it (`GET .../faqs`): a file changed
        /// since is refused.
        version: String,
    },
    /// Write a new FAQ answering the question.
    NewFaq {
        #[schema(
            min_length = 1,
            max_length = 500,
            pattern = "^[^\\x00-\\x08\\x0e-\\x1f\\x7f-\\x9f]*[^\\x00-\\x08\\x0e-\\x1f\\x7f-\\x9f\\s\\ufeff][^\\x00-\\x08\\x0e-\\x1f\\x7f-\\x9f]*$"
        )]
        question: String,
        /// The file name: lowercase letters, digits, `-` and `_`.
        #[schema(pattern = "^[a-z0-9][a-z0-9_-]{0,79}$")]
        id: String,
        #[schema(
            min_length = 1,
            max_length = 200,
            pattern = "^[^\\x00-\\x08\\x0e-\\x1f\\x7f-\\x9f]*[^\\x00-\\x08\\x0e-\\x1f\\x7f-\\x9f\\s\\ufeff][^\\x00-\\x08\\x0e-\\x1f\\x7f-\\x9f]*$"
        )]
        title: String,
        /// Markdown.
        #[schema(
            min_length = 1,
            max_length = 4000,
            pattern = "^[^\\x00-\\x08\\x0e-\\x1f\\x7f-\\x9f]*[^\\x00-\\x08\\x0e-\\x1f\\x7f-\\x9f\\s\\ufeff][^\\x00-\\x08\\x0e-\\x1f\\x7f-\\x9f]*$"
        )]
        answer: String,
        /// More phrasings besides the question.
        #[serde(default)]
        #[schema(max_items = 50, inline)]
        questions: Vec<Phrasing>,
        /// The folder under `faq/` (also its tag): `orders`, `payments`...
        #[schema(pattern = "^[a-z0-9_-]{1,60}$")]
        category: String,
        #[serde(default)]
        language: Option<String>,
    },
    /// The bot must not answer this: an editors' `fallback` test case.
    OffTopic {
        #[schema(
            min_length = 1,
            max_length = 500,
            pattern = "^[^\\x00-\\x08\\x0e-\\x1f\\x7f-\\x9f]*[^\\x00-\\x08\\x0e-\\x1f\\x7f-\\x9f\\s\\ufeff][^\\x00-\\x08\\x0e-\\x1f\\x7f-\\x9f]*$"
        )]
        question: String,
    },
    /// Not worth a change: hidden from the unanswered list.
    Dismiss {
        #[schema(
            min_length = 1,
            max_length = 500,
            pattern = "^[^\\x00-\\x08\\x0e-\\x1f\\x7f-\\x9f]*[^\\x00-\\x08\\x0e-\\x1f\\x7f-\\x9f\\s\\ufeff][^\\x00-\\x08\\x0e-\\x1f\\x7f-\\x9f]*$"
        )]
        question: String,
    },
}

/// A phrasing as visitors type it: at least one visible character, no control characters, at
/// most 500 characters (the schema says so; `question_of` checks it).
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct Phrasing(pub String);

/// The shape of a question, a title or a phrasing in the API's document.
const TEXT_PATTERN: &str = "^[^\\x00-\\x08\\x0e-\\x1f\\x7f-\\x9f]*[^\\x00-\\x08\\x0e-\\x1f\\x7f-\\x9f\\s\\ufeff][^\\x00-\\x08\\x0e-\\x1f\\x7f-\\x9f]*$";

impl utoipa::PartialSchema for Phrasing {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .min_length(Some(1))
            .max_length(Some(MAX_QUESTION_CHARS))
            .pattern(Some(TEXT_PATTERN))
            .into()
    }
}

impl ToSchema for Phrasing {}

/// Why a fix is refused.
#[derive(Debug, thiserror::Error)]
pub enum FixError {
    #[error("{0}")]
    Invalid(String),
    #[error("no FAQ `{0}` in that language")]
    NoSuchFaq(String),
    #[error("{0}")]
    NoSuchLanguage(String),
    #[error(
        "the default language has no FAQ `{0}`: a `{1}` FAQ translates one of the default \
         language, so write that one first"
    )]
    NotInDefault(String, String),
    #[error(
        "{0} changed on disk since you opened it (another editor, or a deploy): nothing was \
         written; open it again and redo the change"
    )]
    ChangedOnDisk(String),
    #[error("{0} exists already: choose another id")]
    Exists(String),
    #[error("nothing to change: {0}")]
    AlreadyThere(String),
    /// The fix would make the knowledge base fail to load: nothing was written.
    #[error("the change would break the knowledge base: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    WouldBreak(Vec<Problem>),
    #[error("cannot write the knowledge base: {0}")]
    Io(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl FixError {
    /// The HTTP status and our error code for it.
    pub fn status_and_code(&self) -> (u16, &'static str) {
        match self {
            FixError::Invalid(_) => (400, "invalid_fix"),
            FixError::NoSuchFaq(_) => (404, "no_such_faq"),
            FixError::NoSuchLanguage(_) => (404, "no_such_language"),
            FixError::NotInDefault(..) => (404, "no_such_faq"),
            FixError::ChangedOnDisk(_) => (409, "changed_on_disk"),
            FixError::Exists(_) => (409, "exists"),
            FixError::AlreadyThere(_) => (409, "already_there"),
            FixError::WouldBreak(_) => (422, "would_break"),
            FixError::Io(_) => (500, "cannot_write"),
            FixError::Store(_) => (503, "unavailable"),
        }
    }
}

impl From<std::io::Error> for FixError {
    fn from(e: std::io::Error) -> FixError {
        FixError::Io(e.to_string())
    }
}

/// A file a fix writes: its path in the knowledge base, what it held (`None`: new) and will.
#[derive(Debug, Clone)]
struct Write {
    rel: String,
    before: Option<String>,
    after: String,
}

/// A fix checked against the files: what it writes and what it is about.
#[derive(Debug, Clone)]
struct Plan {
    action: EditAction,
    question: String,
    faq: Option<FaqId>,
    language: Option<String>,
    writes: Vec<Write>,
}

/// Longest message the try box runs (a visitor's message limit is far below).
pub const MAX_TRY_CHARS: usize = 2_000;
/// Changes listed at most.
pub const MAX_CHANGES: usize = 200;

/// A message to try.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TryMessage {
    /// As a visitor would type it (any language the knowledge base has).
    #[schema(min_length = 1, max_length = 2000, pattern = "\\S")]
    pub text: String,
}

impl TryMessage {
    /// The text, or why it cannot be tried (as the API's schema says).
    pub fn checked(&self) -> Result<&str, &'static str> {
        if self.text.chars().count() > MAX_TRY_CHARS {
            return Err("at most 2,000 characters");
        }
        let text = self.text.trim_matches(blank);
        if text.is_empty() {
            Err("type a question to try")
        } else {
            Ok(text)
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ChangesQuery {
    /// How many, newest first (at most 200; 50 when absent).
    pub limit: Option<usize>,
}

impl ChangesQuery {
    pub fn limit(&self) -> usize {
        self.limit.unwrap_or(50).min(MAX_CHANGES)
    }
}

/// What the bot does with a message, explained.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Tried {
    /// `answer`, `clarify`, `fallback` or `handoff`.
    pub decision: String,
    /// In a test case's words: the FAQ id, `rule:<id>`, `clarify (a | b)`, `fallback`,
    /// `handoff (...)`.
    pub outcome: String,
    /// The answer's text, when it answered.
    pub answer: Option<String>,
    /// The one line agents read.
    pub summary: String,
    pub explanation: Explanation,
    /// The policy's thresholds in the language it was read in: answered at or above
    /// `answer_confidence`, asked which one at or above `clarify_confidence`.
    pub answer_confidence: f32,
    pub clarify_confidence: f32,
}

/// Runs `text` through `matcher` as the first message of a conversation.
pub fn try_question(matcher: &Matcher, text: &str) -> Tried {
    let turn = matcher.decide(&Memory::default(), text);
    let read_in = matcher.for_language(turn.explanation.language.as_ref().map(|l| l.code.as_str()));
    let kb = read_in.knowledge_base();
    let answer = turn
        .decision
        .answered_faq()
        .and_then(|id| kb.faq(id))
        .map(|f| f.answer_text.clone())
        .or_else(|| match &turn.decision {
            Decision::Answer {
                source: crate::matcher::Source::Rule(id),
                ..
            } => kb
                .rules
                .rules
                .iter()
                .find(|r| &r.id == id)
                .map(|r| r.reply_text.clone()),
            _ => None,
        });
    let policy = &kb.rules.policy;
    Tried {
        decision: turn.decision.kind().to_owned(),
        outcome: kb_test::outcome(&turn.decision),
        answer,
        summary: turn.explanation.summary(),
        answer_confidence: policy.answer_confidence,
        clarify_confidence: policy.clarify_confidence,
        explanation: turn.explanation,
    }
}

/// What a written fix did, checked at once.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Verdict {
    /// What the bot does with the question now.
    pub question: Tried,
    /// Whether that is what the fix wanted (the FAQ found, or `fallback` for off-topic).
    pub fixed: bool,
    /// The FAQ's phrasings, each held out alone (phrasing and new FAQ).
    pub faq_test: Option<SelfTest>,
    /// The editors' test cases (all of them).
    pub cases_passed: usize,
    pub cases: usize,
    pub case_misses: Vec<CaseMiss>,
}

/// The outcome of a fix.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Applied {
    /// `files` (written and reloaded) or `off` (nothing written: apply `patch`).
    pub mode: WriteMode,
    /// Each file's diff (paths relative to the knowledge base).
    pub files: Vec<FileChange>,
    /// Every diff in one patch, paths relative to the repository holding the knowledge base
    /// (or its parent folder): `git apply` it there.
    pub patch: String,
    /// The reload after writing (mode `files`).
    pub reload: Option<ReloadOutcome>,
    pub verdict: Option<Verdict>,
}

/// What a pending fix would change in the editors' suite.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Preview {
    pub before: Suite,
    pub after: Suite,
    /// Cases and phrasings that pass now and would fail.
    pub breaks: Vec<String>,
    /// Cases and phrasings that fail now and would pass.
    pub fixes: Vec<String>,
    pub files: Vec<FileChange>,
}

/// An FAQ as the picker lists it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FaqEntry {
    pub id: String,
    pub title: String,
    pub language: String,
    /// Relative to the knowledge base.
    pub file: String,
    /// The folder under `faq/` (empty at the top).
    pub category: String,
    pub questions: Vec<String>,
    /// The file's version (SHA-256 of its bytes, 16 hex digits): send it back with a fix.
    pub version: String,
}

/// The FAQs to pick from, and what a fix does on this server.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FaqList {
    pub writes: WriteMode,
    pub faqs: Vec<FaqEntry>,
}

/// Editors' writes to one knowledge base folder.
pub struct KbWrites {
    dir: PathBuf,
    mode: WriteMode,
    reloader: Arc<Reloader>,
    store: Arc<dyn Store>,
    /// One write at a time (see the module doc).
    lock: tokio::sync::Mutex<()>,
    /// The suite of the serving files, by content hash: a preview runs it once per change.
    suite: std::sync::Mutex<Option<(String, Arc<Suite>)>>,
}

impl KbWrites {
    pub fn new(
        dir: PathBuf,
        mode: WriteMode,
        reloader: Arc<Reloader>,
        store: Arc<dyn Store>,
    ) -> KbWrites {
        KbWrites {
            dir,
            mode,
            reloader,
            store,
            lock: tokio::sync::Mutex::new(()),
            suite: std::sync::Mutex::new(None),
        }
    }

    /// Every FAQ of every language, with its file's version, by language then id.
    pub async fn faqs(&self) -> FaqList {
        FaqList {
            writes: self.mode,
            faqs: self.entries().await,
        }
    }

    async fn entries(&self) -> Vec<FaqEntry> {
        let matcher = self.reloader.matcher();
        let dir = self.dir.clone();
        let listed = tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            for code in matcher.languages() {
                let kb = matcher.for_language(Some(code)).knowledge_base();
                for faq in kb.faqs.iter().filter(|f| !f.untranslated) {
                    let file = faq.file.to_string_lossy().replace('\\', "/");
                    out.push(FaqEntry {
                        id: faq.id.to_string(),
                        title: faq.title.clone(),
                        language: code.to_owned(),
                        category: category_of(&file),
                        version: version_of(std::fs::read(dir.join(&faq.file)).ok().as_deref()),
                        file,
                        questions: faq.questions.clone(),
                    });
                }
            }
            out.sort_by(|a, b| (&a.language, &a.id).cmp(&(&b.language, &b.id)));
            out
        })
        .await;
        listed.unwrap_or_default()
    }

    /// Applies `fix` for `who` (`admin:<id>`, `token:<name>`): see the module doc.
    pub async fn apply(&self, fix: Fix, who: &str) -> Result<Applied, FixError> {
        let _one_at_a_time = self.lock.lock().await;
        let matcher = self.reloader.matcher();
        let plan = plan(&self.dir, &matcher, fix)?;
        let files = diffs(&plan.writes);
        let patch = patch_of(&self.dir, &plan.writes);
        if plan.writes.is_empty() {
            // A dismissal: only the record.
            self.record(&plan, who, files.clone()).await?;
            return Ok(Applied {
                mode: self.mode,
                files,
                patch,
                reload: None,
                verdict: None,
            });
        }
        let staged = stage(&self.dir, &plan.writes).await?;
        if self.mode == WriteMode::Off {
            return Ok(Applied {
                mode: WriteMode::Off,
                files,
                patch,
                reload: None,
                verdict: None,
            });
        }
        let dir = self.dir.clone();
        let writes = plan.writes.clone();
        tokio::task::spawn_blocking(move || write_all(&dir, &writes))
            .await
            .map_err(|e| FixError::Io(e.to_string()))??;
        tracing::info!(who, action = ?plan.action, files = files.len(), "knowledge base changed from /admin");
        self.record(&plan, who, files.clone()).await?;
        let reload = self.reloader.reload().await;
        if reload.ok {
            // Other nodes sharing the folder reload too (through the store's bus).
            if let Err(e) = self.store.bus().knowledge_base_changed().await {
                tracing::warn!(error = %e, "cannot tell other nodes about the change; they reload on their own watcher");
            }
        }
        let verdict = verdict(&self.reloader.matcher(), staged, &plan).await;
        Ok(Applied {
            mode: WriteMode::Files,
            files,
            patch,
            reload: Some(reload),
            verdict,
        })
    }

    async fn record(&self, plan: &Plan, who: &str, files: Vec<FileChange>) -> Result<(), FixError> {
        self.store
            .record_edit(KbEdit {
                at: now_ms(),
                who: who.to_owned(),
                action: plan.action,
                question: plan.question.clone(),
                faq: plan.faq.as_ref().map(ToString::to_string),
                files,
            })
            .await?;
        Ok(())
    }

    /// The editors' suite on the serving files (`frontdesk kb test`), computed once per change.
    pub async fn suite(&self) -> Result<Arc<Suite>, FixError> {
        let hash = self.reloader.status().content_hash.clone();
        if let Some((at, suite)) = self.cached_suite()
            && at == hash
        {
            return Ok(suite);
        }
        let dir = self.dir.clone();
        let suite = Arc::new(
            tokio::task::spawn_blocking(move || suite_of(&dir))
                .await
                .map_err(|e| FixError::Io(e.to_string()))??,
        );
        *self.suite.lock().unwrap_or_else(|p| p.into_inner()) = Some((hash, suite.clone()));
        Ok(suite)
    }

    fn cached_suite(&self) -> Option<(String, Arc<Suite>)> {
        self.suite.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// What `fix` would change in the editors' suite, without writing anything.
    pub async fn preview(&self, fix: Fix) -> Result<Preview, FixError> {
        let before = self.suite().await?;
        let matcher = self.reloader.matcher();
        let plan = plan(&self.dir, &matcher, fix)?;
        let files = diffs(&plan.writes);
        let staged = stage(&self.dir, &plan.writes).await?;
        let after = tokio::task::spawn_blocking(move || suite_of(staged.path()))
            .await
            .map_err(|e| FixError::Io(e.to_string()))??;
        let (breaks, fixes) = compare(&before, &after);
        Ok(Preview {
            before: (*before).clone(),
            after,
            breaks,
            fixes,
            files,
        })
    }
}

/// Each write's diff, paths relative to the knowledge base.
fn diffs(writes: &[Write]) -> Vec<FileChange> {
    writes
        .iter()
        .map(|w| FileChange {
            file: w.rel.clone(),
            diff: text::diff(&w.rel, w.before.as_deref(), &w.after),
        })
        .collect()
}

/// The suite of the knowledge base in `dir`.
fn suite_of(dir: &Path) -> Result<Suite, FixError> {
    let loaded = knowledge_base::load(dir).map_err(|e| FixError::WouldBreak(e.problems))?;
    let cases = kb_test::load_cases(dir, &loaded.kb).map_err(FixError::WouldBreak)?;
    kb_test::suite(&loaded.kb, &cases, false).map_err(|e| FixError::Io(e.to_string()))
}

/// What passes in `before` and fails in `after` (breaks), and the other way round (fixes).
fn compare(before: &Suite, after: &Suite) -> (Vec<String>, Vec<String>) {
    let failing = |s: &Suite| -> std::collections::BTreeSet<String> {
        let cases = s.cases.misses.iter().map(|m| {
            format!(
                "case \"{}\" ({}): expected {}, got {}",
                m.text, m.file, m.expected, m.got
            )
        });
        let phrasings = s.phrasings.iter().flat_map(|l| {
            l.test.misses.iter().map(move |m| {
                format!(
                    "phrasing \"{}\" of {} ({}): held out, got {}",
                    m.phrasing, m.faq, l.language, m.outcome
                )
            })
        });
        cases.chain(phrasings).collect()
    };
    let (was, will) = (failing(before), failing(after));
    // A fix's own new phrasing is not "fixed" by the fix: only what existed before counts.
    let breaks = will.difference(&was).cloned().collect();
    let fixes = was.difference(&will).cloned().collect();
    (breaks, fixes)
}

/// The version of a file's bytes (`None`: no file).
pub fn version_of(bytes: Option<&[u8]>) -> String {
    match bytes {
        Some(b) => hex::encode(&Sha256::digest(b)[..8]),
        None => "none".into(),
    }
}

/// `faq/orders/track-order.md` -> `orders`.
fn category_of(file: &str) -> String {
    let inner = file.strip_prefix("faq/").unwrap_or(file);
    match inner.rsplit_once('/') {
        Some((folder, _)) => folder.to_owned(),
        None => String::new(),
    }
}

/// A visitor's question as a fix keeps it: one line, trimmed, no control characters.
fn question_of(raw: &str, what: &str) -> Result<String, FixError> {
    let text = checked_text(raw, what, MAX_QUESTION_CHARS)?;
    Ok(text
        .split(blank)
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" "))
}

/// Whitespace as the API's schema reads it (ECMAScript's `\s`: Unicode's but U+0085, and the
/// byte-order mark), so that the server refuses exactly what the schema does.
fn blank(c: char) -> bool {
    (c.is_whitespace() && c != '\u{85}') || c == '\u{feff}'
}

/// `raw`, as the API's schema accepts it (`TEXT_PATTERN`): at most `max` characters, something
/// besides whitespace, no control characters but line breaks and tabs.
fn checked_text<'a>(raw: &'a str, what: &str, max: usize) -> Result<&'a str, FixError> {
    if raw.chars().count() > max {
        return Err(FixError::Invalid(format!(
            "the {what} is longer than {max} characters"
        )));
    }
    if raw
        .chars()
        .any(|c| matches!(c, '\0'..='\x08' | '\x0e'..='\x1f' | '\x7f'..='\u{9f}'))
    {
        return Err(FixError::Invalid(format!(
            "the {what} holds control characters"
        )));
    }
    let text = raw.trim_matches(blank);
    if text.is_empty() {
        return Err(FixError::Invalid(format!("the {what} is empty")));
    }
    Ok(text)
}

/// The language code `raw` names among `matcher`'s (the default when absent).
fn language_of(matcher: &Matcher, raw: Option<&str>) -> Result<String, FixError> {
    let default = matcher.language().to_owned();
    let Some(code) = raw.map(str::trim).filter(|c| !c.is_empty()) else {
        return Ok(default);
    };
    let code = code.to_ascii_lowercase();
    if matcher.languages().contains(&code.as_str()) {
        Ok(code)
    } else {
        Err(FixError::NoSuchLanguage(format!(
            "the knowledge base has no language `{code}` (it has {})",
            matcher.languages().join(", ")
        )))
    }
}

fn read_optional(path: &Path) -> Result<Option<String>, FixError> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(FixError::Io(format!("{}: {e}", path.display()))),
    }
}

/// The test case `question -> expect` added to `tests/fixes.csv` (nothing when one with that
/// text is there).
fn case_write(dir: &Path, question: &str, expect: &str) -> Result<Option<Write>, FixError> {
    let before = read_optional(&dir.join(FIXES_FILE))?;
    Ok(
        text::add_case(before.as_deref(), question, expect).map(|after| Write {
            rel: FIXES_FILE.to_owned(),
            before,
            after,
        }),
    )
}

/// Checks `fix` against the files in `dir` and the serving `matcher`, and plans its writes.
fn plan(dir: &Path, matcher: &Matcher, fix: Fix) -> Result<Plan, FixError> {
    match fix {
        Fix::Phrasing {
            question,
            faq,
            language,
            version,
        } => {
            let question = question_of(&question, "question")?;
            let language = language_of(matcher, language.as_deref())?;
            let id = FaqId::parse(&faq).map_err(FixError::Invalid)?;
            let kb = matcher.for_language(Some(&language)).knowledge_base();
            let found = kb
                .faq(&id)
                .filter(|f| !f.untranslated)
                .ok_or_else(|| FixError::NoSuchFaq(id.to_string()))?;
            let rel = found.file.to_string_lossy().replace('\\', "/");
            let before = read_optional(&dir.join(&found.file))?
                .ok_or_else(|| FixError::ChangedOnDisk(rel.clone()))?;
            if version_of(Some(before.as_bytes())) != version.trim() {
                return Err(FixError::ChangedOnDisk(rel));
            }
            let after = text::add_phrasing(&before, &question).map_err(|e| match e {
                text::TextError::AlreadyThere(_) => FixError::AlreadyThere(e.to_string()),
                other => FixError::Invalid(format!("{rel}: {other}")),
            })?;
            let mut writes = vec![Write {
                rel,
                before: Some(before),
                after,
            }];
            writes.extend(case_write(dir, &question, id.as_str())?);
            Ok(Plan {
                action: EditAction::Phrasing,
                question,
                faq: Some(id),
                language: Some(language),
                writes,
            })
        }
        Fix::NewFaq {
            question,
            id,
            title,
            answer,
            questions,
            category,
            language,
        } => {
            let question = question_of(&question, "question")?;
            let language = language_of(matcher, language.as_deref())?;
            let id = FaqId::parse(&id).map_err(FixError::Invalid)?;
            checked_text(&title, "title", MAX_TITLE_CHARS)?;
            let title = question_of(&title, "title")?;
            let answer = checked_text(&answer, "answer", MAX_ANSWER_CHARS)?.to_owned();
            let valid_folder = !category.is_empty()
                && category.len() <= 60
                && category
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
            if !valid_folder {
                return Err(FixError::Invalid(
                    "the category is a folder name: 1-60 lowercase letters, digits, `-` or `_`"
                        .into(),
                ));
            }
            if questions.len() > MAX_PHRASINGS {
                return Err(FixError::Invalid(format!(
                    "at most {MAX_PHRASINGS} phrasings at once"
                )));
            }
            let mut phrasings = vec![question.clone()];
            for Phrasing(q) in &questions {
                let q = question_of(q, "phrasing")?;
                if !phrasings.iter().any(|p| p.eq_ignore_ascii_case(&q)) {
                    phrasings.push(q);
                }
            }
            let default = matcher.language() == language;
            let in_default = matcher.knowledge_base().faq(&id).is_some();
            // A translation translates an FAQ of the default language, once.
            if !default && !in_default {
                return Err(FixError::NotInDefault(id.to_string(), language));
            }
            let taken = if default {
                in_default
            } else {
                matcher
                    .for_language(Some(&language))
                    .knowledge_base()
                    .faq(&id)
                    .is_some_and(|f| !f.untranslated)
            };
            let name = if default {
                format!("{id}.md")
            } else {
                format!("{id}.{language}.md")
            };
            let rel = format!("faq/{category}/{name}");
            if taken || dir.join(&rel).exists() {
                return Err(FixError::Exists(format!("FAQ `{id}`")));
            }
            let after = text::new_faq(&text::Draft {
                id: id.as_str(),
                title: &title,
                questions: &phrasings,
                tags: std::slice::from_ref(&category),
                answer: &answer,
            });
            let mut writes = vec![Write {
                rel,
                before: None,
                after,
            }];
            writes.extend(case_write(dir, &question, id.as_str())?);
            Ok(Plan {
                action: EditAction::NewFaq,
                question,
                faq: Some(id),
                language: Some(language),
                writes,
            })
        }
        Fix::OffTopic { question } => {
            let question = question_of(&question, "question")?;
            let write = case_write(dir, &question, "fallback")?.ok_or_else(|| {
                FixError::AlreadyThere(format!("\"{question}\" is already a test case"))
            })?;
            Ok(Plan {
                action: EditAction::OffTopic,
                question,
                faq: None,
                language: None,
                writes: vec![write],
            })
        }
        Fix::Dismiss { question } => Ok(Plan {
            action: EditAction::Dismiss,
            question: question_of(&question, "question")?,
            faq: None,
            language: None,
            writes: Vec::new(),
        }),
    }
}

/// A copy of `dir` with `writes` made in it, loaded: the knowledge base the fix leads to, or the
/// problems it would have (nothing written to `dir` either way).
async fn stage(dir: &Path, writes: &[Write]) -> Result<Staged, FixError> {
    let dir = dir.to_path_buf();
    let writes = writes.to_vec();
    tokio::task::spawn_blocking(move || {
        let copy = tempfile::tempdir()?;
        for entry in walkdir::WalkDir::new(&dir).into_iter().flatten() {
            let rel = entry.path().strip_prefix(&dir).unwrap_or(entry.path());
            let target = copy.path().join(rel);
            if entry.file_type().is_dir() {
                std::fs::create_dir_all(&target)?;
            } else if entry.file_type().is_file() {
                std::fs::copy(entry.path(), &target)?;
            }
        }
        for w in &writes {
            let target = copy.path().join(&w.rel);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(target, &w.after)?;
        }
        let loaded =
            knowledge_base::load(copy.path()).map_err(|e| FixError::WouldBreak(e.problems))?;
        kb_test::load_cases(copy.path(), &loaded.kb).map_err(FixError::WouldBreak)?;
        Ok(Staged {
            kb: loaded.kb,
            folder: copy,
        })
    })
    .await
    .map_err(|e| FixError::Io(e.to_string()))?
}

/// A staged copy of the knowledge base with a fix in it.
struct Staged {
    kb: KnowledgeBase,
    folder: tempfile::TempDir,
}

impl Staged {
    fn path(&self) -> &Path {
        self.folder.path()
    }
}

/// Writes each file atomically: a temporary file in the same folder, flushed, renamed over the
/// old one.
fn write_all(dir: &Path, writes: &[Write]) -> Result<(), FixError> {
    for w in writes {
        let target = dir.join(&w.rel);
        let folder = target
            .parent()
            .ok_or_else(|| FixError::Io(format!("{} has no folder", w.rel)))?;
        std::fs::create_dir_all(folder)?;
        let mut temp = tempfile::Builder::new()
            .prefix(".frontdesk-")
            .suffix(".tmp")
            .tempfile_in(folder)?;
        std::io::Write::write_all(&mut temp, w.after.as_bytes())?;
        temp.as_file().sync_all()?;
        temp.persist(&target)
            .map_err(|e| FixError::Io(format!("{}: {}", w.rel, e.error)))?;
    }
    Ok(())
}

/// The patch of `writes` with paths relative to the repository holding `dir` (the nearest
/// folder above it with `.git`), or to its parent folder.
fn patch_of(dir: &Path, writes: &[Write]) -> String {
    let absolute = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let root = absolute
        .ancestors()
        .find(|a| a.join(".git").exists())
        .or_else(|| absolute.parent())
        .unwrap_or(&absolute);
    let prefix = absolute
        .strip_prefix(root)
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .unwrap_or_default();
    writes
        .iter()
        .map(|w| {
            let path = if prefix.is_empty() {
                w.rel.clone()
            } else {
                format!("{prefix}/{}", w.rel)
            };
            text::diff(&path, w.before.as_deref(), &w.after)
        })
        .collect()
}

/// What the written fix did: the question now, the FAQ's held-out test, the editors' cases.
async fn verdict(serving: &Arc<Matcher>, staged: Staged, plan: &Plan) -> Option<Verdict> {
    let serving = serving.clone();
    let plan = plan.clone();
    let built = tokio::task::spawn_blocking(move || {
        let question = try_question(&serving, &plan.question);
        let turn = serving.decide(&Memory::default(), &plan.question);
        let fixed = match (&plan.action, &plan.faq) {
            (EditAction::OffTopic, _) => matches!(turn.decision, Decision::Fallback { .. }),
            (_, Some(id)) => kb_test::finds(&turn.decision, id),
            _ => false,
        };
        let faq_test = plan.faq.as_ref().and_then(|id| {
            let kb = std::iter::once(&staged.kb)
                .chain(&staged.kb.translations)
                .find(|k| Some(k.language()) == plan.language.as_deref())?;
            kb_test::self_test_faq(kb, id).ok()
        });
        let cases = kb_test::load_cases(staged.path(), &staged.kb).unwrap_or_default();
        let report = kb_test::run_cases(&serving, &cases);
        Verdict {
            question,
            fixed,
            faq_test,
            cases_passed: report.passed,
            cases: report.cases,
            case_misses: report.misses,
        }
    })
    .await;
    built.ok()
}

#[cfg(test)]
mod tests;
