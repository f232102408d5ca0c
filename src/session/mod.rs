//! One task per socket: `visitor` runs a visitor's websocket, `agent` an agent console's. Each is
//! a `select!` over the socket, the fan-out of the conversations it follows, a heartbeat and the
//! server's shutdown signal.

pub mod agent;
mod guard;
mod rate;
pub mod visitor;

pub use rate::{Allowance, SocketCounts};
