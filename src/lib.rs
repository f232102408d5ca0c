//! frontdesk: a rules-based customer-service chatbot with human handoff.
//!
//! # Layout
//! - [`knowledge_base`]: loads and validates `knowledge_base/` (FAQ Markdown files and their
//!   translations, `rules.toml`, `synonyms.toml`, `shorthand.toml`, `handoff.toml`, `hours.toml`,
//!   `languages.toml`, `canned/`), reporting every problem with its file, line and
//!   field.
//! - [`matcher`]: the pure, synchronous brain. `Matcher::build(kb)` compiles a knowledge base
//!   once per language (tantivy RAM index, aho-corasick rules, spelling index,
//!   logistic-regression model); `Matcher::decide(memory, text)` chooses the message's language
//!   and turns it into one explained `Decision`.
//! - [`protocol`]: the wire contract (JSON frames tagged by `type`), pinned by tests.
//! - [`conversation`]: the conversation as data (ids, tokens, the record), its state machine, the
//!   items of its event log, the bookkeeping of every change as pure functions (numbering, queue
//!   places, claims, turns), and every operation on a conversation (the bot's turn, handoff,
//!   agent actions, answering during an outage).
//! - [`ports`]: what the domain needs from storage, declared by it and split by concern
//!   (`ConversationLog`, `Queue`, `Logins`, `Tokens`, `Reports`, the `Bus` and `PresenceBoard`
//!   seams), joined as `Store`.
//! - [`store`]: the backends that implement the ports: SQLite (the default: one database file,
//!   group commit), Redis (several nodes), memory (tests), the local fan-out bus, and the
//!   conformance tests all three run; `startup::open_store` picks one.
//! - [`identity`]: verifying a site's visitor ids (HMAC-SHA256 with a shared secret).
//! - [`agents`]: the agent roster (`agents.toml`, argon2 password hashes, capacity, teams).
//! - [`routing`]: the router task (requeue on disconnect or no answer, auto-assign), its decisions
//!   as pure functions (`plan`, checked by a simulation of random schedules on every store), and
//!   each node's board: the queue, wait estimates, who is online, follow-ups and team, read once
//!   per routing change for every socket.
//! - [`limits`]: per-socket token buckets, per-address and per-conversation allowances.
//! - [`config`]: server settings (defaults, `frontdesk.toml`, `FRONTDESK_*`, flags), each declared
//!   once as a field of `Settings`.
//! - [`startup`]: `Application::build / port / run_until_stopped`, graceful shutdown.
//! - [`state`]: `AppState`, what every request and session shares.
//! - [`http`]: routes (demo page, widget, health, metrics, the websocket handshakes, the agent
//!   console and the admin page with its APIs, `http::pages`: the staff pages' scripts and the
//!   JSON Schemas of everything the pages read, and `http::api`: the integration API `/api/v1`
//!   with its generated OpenAPI document).
//! - [`tokens`]: API tokens (scopes; only their SHA-256 is stored).
//! - [`export`]: one representation of a conversation for the API, webhooks and `frontdesk
//!   export`; cursor pages; a visitor's access-request bundle.
//! - [`session`]: one task per socket (`visitor`, `agent`); each frame a command of checked values.
//! - [`reload`]: hot reload of the knowledge base (debounced file watcher, `POST /api/kb/reload`):
//!   build off the hot path, swap atomically, keep the last good one and its errors.
//! - [`analytics`]: KPIs, unanswered-question groups and per-FAQ feedback, computed from the
//!   conversations' logs (`/admin`, `frontdesk report`).
//! - [`privacy`]: redaction before storing, retention sweep, erasing one visitor.
//! - [`webhooks`]: signed, retried, never-blocking POSTs on handoff, assignment, close, rating and
//!   offline message.
//! - [`metrics`]: Prometheus counters and histograms (all listed in docs/operations.md).
//! - [`eval`]: accuracy, coverage and latency on labelled CSV cases (`frontdesk eval`).
//! - [`kb_test`]: the knowledge base's self-test (`frontdesk kb test`) and overlap warnings.
//! - [`kb_writes`]: editors' fixes from `/admin` and the API (a phrasing, a new FAQ, an off-topic
//!   case, a dismissal): planned against the files, staged and loaded in a copy, written
//!   atomically, logged in the store, reloaded and checked; or offered as a patch.
//! - [`mail`]: e-mail through the store's outbox (queued once per cause, leased, sent with
//!   `lettre`, retried with growing pauses): the team's notes, answers to offline messages,
//!   replies a visitor missed (with a signed link back), transcripts; answers by mail read back
//!   into their conversation (signed reply addresses, quoted history cut).
//! - [`cli`]: the `frontdesk` command line.
//!
//! # Data flow
//! ```text
//! knowledge_base/ --load+validate--> KnowledgeBase --build--> Matcher (immutable, shareable)
//! visitor text + Memory --decide--> normalise -> rules -> FAQ scoring -> frustration -> policy
//!                                   --> Turn { Decision, Explanation, next Memory }
//! visitor frame --protocol--> session --Conversations--> read snapshot -> matcher -> store.turn (one step) --bus--> every socket
//! store (SQLite): one writer thread, each change a savepoint, the group committed with one fsync, then answered and published
//! handoff: Bot --transition--> Queued --claim (agent / router)--> Assigned --> Bot | Queued | Closed
//! store (Redis): read -> bookkeeping (Rust) -> check-and-write (one script, PUBLISH inside) --> each node's listener --> local bus
//! agent frame --protocol--> session::agent --Conversations--> store --routing watch--> router, and each node's board --> every console and waiting visitor
//! editor's fix --kb_writes--> stage + load (copy) --> write (temp + rename) --> store.record_edit --> reload --bus--> other nodes reload
//! file change --watcher--> reload: load + build (blocking thread) --ArcSwap--> next decide() | errors --> /admin, /readyz
//! store --gather--> analytics::report --> /admin, `frontdesk report`;  handoff/claim/close/rate --> webhooks queue --> POST
//! integration --Bearer token--> http::api --Conversations (same rules as the console)--> store;  store --export--> API, webhooks, `frontdesk export`
//! ```

pub mod agents;
pub mod analytics;
pub mod attachments;
pub mod cli;
pub mod config;
pub mod conversation;
pub mod eval;
pub(crate) mod export;
pub(crate) mod http;
pub mod identity;
pub(crate) mod kb_test;
pub(crate) mod kb_tune;
pub mod kb_writes;
pub mod knowledge_base;
pub(crate) mod limits;
pub mod mail;
pub mod matcher;
pub mod metrics;
pub mod ports;
pub mod privacy;
pub(crate) mod protocol;
pub mod reload;
pub(crate) mod routing;
pub(crate) mod session;
pub mod startup;
pub(crate) mod state;
pub mod store;
pub mod tokens;
pub mod webhooks;
