//! Integration tests: one binary (so the crate builds once), run against the real thing.
//!
//! - `cli`: the `frontdesk` binary as an editor runs it (kb check / test / import, eval, ask).
//! - `conversations`: the matcher on the real sample knowledge base, turn by turn, as a visitor
//!   would experience it.

mod cli;
mod conversations;
