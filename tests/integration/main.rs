//! Integration tests: one binary (so the crate builds once), run against the real thing.
//!
//! - `cli`: the `frontdesk` binary as an editor runs it (kb check / test / import, eval, ask), and
//!   as a manager does (`report`, `forget` on a real Redis).
//! - `conversations`: the matcher on the real sample knowledge base, turn by turn, as a visitor
//!   would experience it.

mod cli;
mod conversations;
