//! What both sockets do with a frame before it means anything: every data frame and ping spends
//! a token (a flood of anything is limited, and sustained flooding closes the socket), text over
//! the size limit and binary frames are refused with an error frame, a client's close is echoed
//! with its code, and a broken frame closes with the code RFC 6455 names for it (1007 for text
//! that is not UTF-8, 1009 for a frame over the transport limit, 1002 for the rest).

use std::time::{Duration, Instant};

use actix_web::error::PayloadError;
use actix_web::web::Bytes;
use actix_ws::{AggregatedMessage, CloseCode, CloseReason, ProtocolError};
use bytestring::ByteString;

use crate::limits::TokenBucket;
use crate::protocol::ErrorCode;

/// One socket's limits.
pub struct Limits {
    /// Frames (text, binary, ping) per second, sustained, and at once.
    pub per_second: f64,
    pub burst: f64,
    /// Frames refused for the rate in a row before the socket is closed (1008).
    pub abuse_limit: u32,
    /// Longest text frame accepted; longer ones get `too_large`.
    pub max_text_bytes: usize,
    /// A socket that sends nothing (not even a pong) for this long is closed.
    pub idle: Duration,
}

/// A frame as the session sees it.
#[derive(Debug)]
pub enum Incoming {
    /// A text frame within the limits: a command to parse.
    Text(ByteString),
    /// Refused: tell the client with an `error` frame, keep the socket.
    Refuse(ErrorCode, String),
    /// Answer with a pong.
    Ping(Bytes),
    /// Nothing to do.
    Nothing,
    /// End the socket with this close frame (`None`: the client is gone).
    Close(Option<CloseReason>),
}

pub struct FrameGuard {
    limits: Limits,
    bucket: TokenBucket,
    strikes: u32,
    last_seen: Instant,
}

impl FrameGuard {
    pub fn new(limits: Limits) -> FrameGuard {
        FrameGuard {
            bucket: TokenBucket::new(limits.per_second, limits.burst),
            limits,
            strikes: 0,
            last_seen: Instant::now(),
        }
    }

    /// What to do with what the socket's stream gave.
    pub fn take(&mut self, msg: Option<Result<AggregatedMessage, ProtocolError>>) -> Incoming {
        let Some(msg) = msg else {
            return Incoming::Close(None);
        };
        self.last_seen = Instant::now();
        let msg = match msg {
            Ok(msg) => msg,
            Err(e) => return Incoming::Close(Some(protocol_close(&e))),
        };
        if matches!(
            msg,
            AggregatedMessage::Text(_) | AggregatedMessage::Binary(_) | AggregatedMessage::Ping(_)
        ) {
            if !self.bucket.try_take() {
                self.strikes += 1;
                if self.strikes >= self.limits.abuse_limit {
                    return Incoming::Close(Some(close(CloseCode::Policy, "too many messages")));
                }
                return match msg {
                    // A flood of pings gets no answer, not an error frame per ping.
                    AggregatedMessage::Ping(_) => Incoming::Nothing,
                    _ => Incoming::Refuse(
                        ErrorCode::RateLimited,
                        "too many messages: slow down".into(),
                    ),
                };
            }
            self.strikes = 0;
        }
        match msg {
            AggregatedMessage::Text(text) if text.len() > self.limits.max_text_bytes => {
                Incoming::Refuse(
                    ErrorCode::TooLarge,
                    format!("frames are limited to {} bytes", self.limits.max_text_bytes),
                )
            }
            AggregatedMessage::Text(text) => Incoming::Text(text),
            AggregatedMessage::Binary(_) => {
                Incoming::Refuse(ErrorCode::BinaryFrame, "send JSON text frames".into())
            }
            AggregatedMessage::Ping(bytes) => Incoming::Ping(bytes),
            AggregatedMessage::Pong(_) => Incoming::Nothing,
            // Echo the client's code (RFC 6455 5.5.1); a close without one is answered 1000.
            AggregatedMessage::Close(reason) => Incoming::Close(Some(CloseReason {
                code: reason.map_or(CloseCode::Normal, |r| r.code),
                description: None,
            })),
        }
    }

    /// Whether the client has sent nothing for longer than the idle limit.
    pub fn idle(&self) -> bool {
        self.last_seen.elapsed() > self.limits.idle
    }
}

fn close(code: CloseCode, why: &str) -> CloseReason {
    CloseReason {
        code,
        description: Some(why.into()),
    }
}

/// The close frame for a frame that broke the protocol.
fn protocol_close(e: &ProtocolError) -> CloseReason {
    match e {
        ProtocolError::Overflow => close(CloseCode::Size, "frame too large"),
        // `frame_limit` refused a frame header: the transport's error, wrapped.
        ProtocolError::Io(io)
            if io
                .get_ref()
                .and_then(|e| e.downcast_ref::<PayloadError>())
                .is_some_and(|p| matches!(p, PayloadError::Overflow)) =>
        {
            close(CloseCode::Size, "frame too large")
        }
        ProtocolError::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => {
            close(CloseCode::Invalid, "text frames must be UTF-8")
        }
        _ => close(CloseCode::Protocol, "malformed frame"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(burst: f64) -> FrameGuard {
        FrameGuard::new(Limits {
            per_second: 0.0,
            burst,
            abuse_limit: 3,
            max_text_bytes: 10,
            idle: Duration::from_secs(60),
        })
    }

    fn code(incoming: Incoming) -> Option<CloseCode> {
        match incoming {
            Incoming::Close(reason) => reason.map(|r| r.code),
            other => panic!("expected a close, got {other:?}"),
        }
    }

    #[test]
    fn broken_frames_close_with_the_code_rfc_6455_names() {
        let mut g = guard(10.0);
        let not_utf8 = ProtocolError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "invalid utf-8",
        ));
        assert_eq!(code(g.take(Some(Err(not_utf8)))), Some(CloseCode::Invalid));
        assert_eq!(
            code(g.take(Some(Err(ProtocolError::Overflow)))),
            Some(CloseCode::Size)
        );
        assert_eq!(
            code(g.take(Some(Err(ProtocolError::UnmaskedFrame)))),
            Some(CloseCode::Protocol)
        );
        assert_eq!(
            code(g.take(Some(Ok(AggregatedMessage::Close(Some(
                CloseCode::Away.into()
            )))))),
            Some(CloseCode::Away),
            "the client's code is echoed"
        );
    }

    #[test]
    fn pings_spend_tokens_and_a_sustained_flood_closes() {
        let mut g = guard(2.0);
        let ping = || Some(Ok(AggregatedMessage::Ping(Bytes::new())));
        assert!(matches!(g.take(ping()), Incoming::Ping(_)));
        assert!(matches!(
            g.take(Some(Ok(AggregatedMessage::Binary(Bytes::new())))),
            Incoming::Refuse(ErrorCode::BinaryFrame, _)
        ));
        assert!(
            matches!(g.take(ping()), Incoming::Nothing),
            "over the rate: no pong"
        );
        assert!(matches!(
            g.take(Some(Ok(AggregatedMessage::Text("hi".into())))),
            Incoming::Refuse(ErrorCode::RateLimited, _)
        ));
        assert_eq!(code(g.take(ping())), Some(CloseCode::Policy));
    }

    #[test]
    fn long_text_is_refused_and_short_text_passes() {
        let mut g = guard(10.0);
        assert!(matches!(
            g.take(Some(Ok(AggregatedMessage::Text("x".repeat(11).into())))),
            Incoming::Refuse(ErrorCode::TooLarge, _)
        ));
        assert!(matches!(
            g.take(Some(Ok(AggregatedMessage::Text("hello".into())))),
            Incoming::Text(_)
        ));
    }
}
