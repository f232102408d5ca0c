//! The backends: where conversations live. Each implements the domain's ports (`crate::ports`:
//! `ConversationLog`, `Queue`, `Logins`, `Tokens`, `Reports`, joined as `Store`, with the bus and
//! presence seams beside them). SQLite (`sqlite/`, the default: one database file, durable),
//! Redis (`redis.rs`, several processes share one Redis) and memory (`memory.rs`, tests and
//! throwaway demos); `startup::open_store` picks one from the settings. `conformance` holds the
//! behaviour every backend must show, as tests run against each of them. The bookkeeping itself
//! (what a change does to a conversation) is `conversation::bookkeeping`; the backends store its
//! results in one atomic step each.

mod bus;
// Test bodies only: compiled for the crate's own tests, never shipped in the library.
#[cfg(test)]
pub(crate) mod conformance;
mod keys;
mod memory;
mod presence;
pub(crate) mod redis;
pub(crate) mod sqlite;

pub use self::redis::RedisStore;
pub use memory::MemoryStore;
pub use sqlite::lock::DataDirLock;
pub use sqlite::{SqliteStore, backup};
