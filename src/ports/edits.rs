//! The editors' record: every change an editor made to the knowledge base from `/admin` or the
//! API (who, when, which files, the diff) and the questions they dismissed from the unanswered
//! list. Kept by the store so that every node shows the same record; the Markdown files stay the
//! source of truth for the content itself.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::StoreResult;

/// Records kept; older ones are dropped as new ones come (a dismissed question older than that
/// may show again).
pub const EDITS_KEPT: usize = 10_000;

/// What an editor did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EditAction {
    /// Added a question as a phrasing of an FAQ.
    Phrasing,
    /// Wrote a new FAQ.
    NewFaq,
    /// Marked a question off-topic (an editors' `fallback` test case).
    OffTopic,
    /// Hid a question from the unanswered list without a change.
    Dismiss,
}

/// One file an edit changed, as a unified diff (`a/` and `b/` paths relative to the knowledge
/// base folder).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FileChange {
    /// Relative to the knowledge base folder (`faq/orders/track-order.md`).
    pub file: String,
    pub diff: String,
}

/// One entry of the editors' record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KbEdit {
    /// When (ms since the epoch).
    pub at: u64,
    /// The admin (`admin:<id>`) or API token (`token:<name>`) that made it.
    pub who: String,
    pub action: EditAction,
    /// The visitor's question the edit was about.
    pub question: String,
    /// The FAQ it went to (phrasing, new FAQ).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faq: Option<String>,
    /// The files written (none for a dismissal).
    #[serde(default)]
    pub files: Vec<FileChange>,
}

/// The editors' record.
#[async_trait]
pub trait Edits: Send + Sync + 'static {
    /// Adds an entry (dropping the oldest beyond `EDITS_KEPT`).
    async fn record_edit(&self, edit: KbEdit) -> StoreResult<()>;
    /// The last `limit` entries, newest first.
    async fn edits(&self, limit: usize) -> StoreResult<Vec<KbEdit>>;
}
