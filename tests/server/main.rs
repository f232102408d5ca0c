//! The chat server, end to end: the real server on port 0 with the sample knowledge base and the
//! embedded store, and a real websocket client (tokio-tungstenite). Every wait has a timeout.
//!
//! - `app`: `TestApp` (spawn, HTTP GET) and `Visitor` (a websocket client with domain verbs).
//! - `chat`: answers, rules, clarify, handoff, frustration.
//! - `resume`: reconnect with token and last seq, duplicates.
//! - `bad_input`: every malformed frame gets its error code and the socket keeps working.
//! - `operations`: health, metrics, origin allowlist, graceful shutdown.

mod app;
mod bad_input;
mod chat;
mod handoff;
mod nodes;
mod operations;
mod resume;
