//! One task per socket. `visitor` runs a visitor's websocket: a `select!` over the socket, the
//! conversation's fan-out bus, a heartbeat and the server's shutdown signal.

mod rate;
pub mod visitor;
