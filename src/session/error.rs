//! How handling a frame ends when it does not simply succeed, for both kinds of socket: the frame
//! was refused (the client is told why), a store call failed (each socket says what that means to
//! its client), or the socket is gone.

use super::values::Refusal;
use crate::ports::StoreError;
use crate::protocol::ErrorCode;

/// The socket is gone (the client closed it or the connection broke): a normal end; the
/// socket's loop stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gone;

/// Sending on a socket: `Err(Gone)` once it is closed.
pub type Sent = Result<(), Gone>;

#[derive(Debug)]
pub enum SessionError {
    /// The frame is refused; the socket stays open.
    Refused(Refusal),
    /// A store call failed.
    Store(StoreError),
    Gone,
}

impl SessionError {
    /// The frame is refused with `code`; `message` is what the client is told.
    pub fn refused(code: ErrorCode, message: &'static str) -> SessionError {
        SessionError::Refused(Refusal::new(code, message))
    }
}

impl From<Refusal> for SessionError {
    fn from(refusal: Refusal) -> SessionError {
        SessionError::Refused(refusal)
    }
}

impl From<StoreError> for SessionError {
    fn from(e: StoreError) -> SessionError {
        SessionError::Store(e)
    }
}

impl From<Gone> for SessionError {
    fn from(_: Gone) -> SessionError {
        SessionError::Gone
    }
}

/// What handling one frame came to.
pub type Handled = Result<(), SessionError>;
