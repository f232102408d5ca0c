//! One task per socket: `visitor` runs a visitor's websocket, `agent` an agent console's. Each is
//! a `select!` over the socket, the fan-out of the conversations it follows, this node's board
//! (`routing::board`: the routing state, read once per change for every socket), a heartbeat and
//! the server's shutdown signal. A frame is parsed into a command of checked `values`; what goes
//! wrong is one `error::SessionError`, which each kind of socket reports to its client.

pub mod agent;
mod error;
mod guard;
pub(crate) mod values;
pub mod visitor;
