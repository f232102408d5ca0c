//! What reports and retention read: which conversations a period or a cut-off covers.

use async_trait::async_trait;

use super::StoreResult;
use crate::conversation::ConversationId;

/// Conversations by when they started and when they were last active.
#[async_trait]
pub trait Reports: Send + Sync + 'static {
    /// Conversations created in `[from, to)` (ms since the epoch), oldest first: what reports
    /// and the KPI page read.
    async fn conversations_created(&self, from: u64, to: u64) -> StoreResult<Vec<ConversationId>>;
    /// Conversations whose last activity (`updated`) is before `before` (ms): what retention
    /// erases.
    async fn inactive_before(&self, before: u64) -> StoreResult<Vec<ConversationId>>;
}
