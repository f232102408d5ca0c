//! Access: agents' login sessions and the API's tokens, kept by the store so that every node
//! sees the same ones (tokens by SHA-256 only, see `tokens`).

use std::time::Duration;

use async_trait::async_trait;

use super::StoreResult;
use crate::tokens::ApiToken;

/// Agents' login sessions.
#[async_trait]
pub trait Logins: Send + Sync + 'static {
    /// Starts an agent login session valid for `ttl`; returns its secret.
    async fn create_session(&self, agent: &str, ttl: Duration) -> StoreResult<String>;
    /// The agent a session secret belongs to, while it is valid.
    async fn session_agent(&self, secret: &str) -> StoreResult<Option<String>>;
    async fn end_session(&self, secret: &str) -> StoreResult<()>;
}

/// The API's tokens.
#[async_trait]
pub trait Tokens: Send + Sync + 'static {
    /// Keeps an API token's record (its hash, never the token); false, and nothing stored, when
    /// a token of that name exists.
    async fn add_token(&self, token: ApiToken) -> StoreResult<bool>;
    /// The token whose SHA-256 is `hash`, while it is not revoked.
    async fn token_by_hash(&self, hash: &str) -> StoreResult<Option<ApiToken>>;
    /// Every token, by name.
    async fn tokens(&self) -> StoreResult<Vec<ApiToken>>;
    /// Revokes the token named `name` at once on every node; false if there was none.
    async fn revoke_token(&self, name: &str) -> StoreResult<bool>;
}
