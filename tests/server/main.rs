//! The chat server, end to end: real servers on port 0 with the sample knowledge base, on the
//! embedded store or a real redis-server (each test under its own key prefix), and real websocket
//! clients (tokio-tungstenite) for visitors and agents. Every wait has a timeout.
//!
//! - `app`: `TestApp` (spawn on either store, HTTP GET/POST, agent login), `Visitor` and
//!   `AgentClient` (websocket clients with domain verbs).
//! - `chat`: answers, rules, clarify, handoff, frustration.
//! - `durability`: the real binary on its default store, killed with SIGKILL and started again.
//! - `resume`: reconnect with token and last seq, duplicates.
//! - `bad_input`: every malformed frame gets its error code and the socket keeps working.
//! - `operations`: health, metrics, origin allowlist, graceful shutdown.
//! - `handoff` (Redis): claims, replies, notes, hand back, close, queue position, the router,
//!   transfers, credentials, earlier conversations.
//! - `identity` (Redis): verified visitor ids, forged ones, `require_identity`.
//! - `nodes` (Redis): two nodes, a node dying, business hours, a Redis outage.
//! - `admin` (both stores): hot reload, `/admin` access, KPIs, redaction, webhooks.
//! - `editors`: the editors' loop: try, a miss made a phrasing and answered at once, conflicts,
//!   patch mode, dismissals, the suite from the page, the API, a fix reaching another node.
//! - `api`: the integration API with a real HTTP client: tokens, scopes, pages, acting as an
//!   agent, a visitor's export and erasure.
//! - `languages`: visitors answered in their language (locale, detection, fallbacks).
//! - `mail` and `mail_back`: e-mail through a real SMTP server: team notes, the outbox, answers
//!   from the console; replies mailed to a visitor who left, their answer by mail (`mail-in`),
//!   forged and expired reply addresses, automatic mail, transcripts.
//! - `hostile`: raw sockets: oversized frame headers, connection slots, floods of hellos.

mod admin;
mod api;
mod app;
mod bad_input;
mod chat;
mod durability;
mod editors;
mod files;
mod handoff;
mod hostile;
mod identity;
mod languages;
mod mail;
mod mail_back;
mod nodes;
mod operations;
mod resume;
mod routing;
