//! Refuses an oversized websocket frame when its header arrives, not when it is complete.
//!
//! actix-ws checks a frame's size only once the whole frame is buffered, so a header that
//! declares a gigabyte makes the server buffer whatever the client streams, before any hello.
//! This wrapper follows frame boundaries through the raw bytes (header, then skip the payload)
//! and ends the stream with `Overflow` as soon as a header declares more than the limit; the
//! session then closes the socket. It reads only headers and never copies a payload.

use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::dev;
use actix_web::error::PayloadError;
use actix_web::web::Bytes;
use futures_util::Stream;

/// Where the byte stream stands: inside a header (`have` of its bytes so far) or inside a
/// payload (`skip` bytes still to pass).
#[derive(Debug)]
pub(crate) struct FrameLimit {
    limit: u64,
    header: [u8; 14],
    have: usize,
    skip: u64,
}

impl FrameLimit {
    pub(crate) fn new(limit: usize) -> FrameLimit {
        FrameLimit {
            limit: limit as u64,
            header: [0; 14],
            have: 0,
            skip: 0,
        }
    }

    /// Follows frame boundaries through the next `bytes` of the stream; `Err(declared)` when a
    /// frame header declares more than the limit.
    pub(crate) fn check(&mut self, mut bytes: &[u8]) -> Result<(), u64> {
        while !bytes.is_empty() {
            if self.skip > 0 {
                let n = self.skip.min(bytes.len() as u64);
                self.skip -= n;
                bytes = &bytes[n as usize..];
                continue;
            }
            let take = (self.header_len() - self.have).min(bytes.len());
            self.header[self.have..self.have + take].copy_from_slice(&bytes[..take]);
            self.have += take;
            bytes = &bytes[take..];
            if self.have == self.header_len() {
                let declared = self.payload_len();
                if declared > self.limit {
                    return Err(declared);
                }
                self.skip = declared;
                self.have = 0;
            }
        }
        Ok(())
    }

    /// The length of the header being read, as far as its first two bytes tell.
    fn header_len(&self) -> usize {
        if self.have < 2 {
            return 2;
        }
        let extended = match self.header[1] & 0x7F {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let mask = if self.header[1] & 0x80 != 0 { 4 } else { 0 };
        2 + extended + mask
    }

    fn payload_len(&self) -> u64 {
        let h = &self.header;
        match h[1] & 0x7F {
            126 => u64::from(u16::from_be_bytes([h[2], h[3]])),
            127 => u64::from_be_bytes([h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9]]),
            n => u64::from(n),
        }
    }
}

/// `body` with every frame header checked against `limit` bytes.
pub(crate) fn limit_frames(body: dev::Payload, limit: usize) -> dev::Payload {
    let stream: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> = Box::pin(Limited {
        inner: body,
        frames: FrameLimit::new(limit),
        refused: false,
    });
    dev::Payload::from(stream)
}

struct Limited {
    inner: dev::Payload,
    frames: FrameLimit,
    refused: bool,
}

impl Stream for Limited {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.refused {
            return Poll::Ready(None);
        }
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(bytes))) => match this.frames.check(&bytes) {
                Ok(()) => Poll::Ready(Some(Ok(bytes))),
                Err(declared) => {
                    tracing::debug!(declared, "websocket frame over the limit refused");
                    this.refused = true;
                    Poll::Ready(Some(Err(PayloadError::Overflow)))
                }
            },
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::FrameLimit;

    /// A masked client frame header declaring `len` bytes.
    fn header(len: u64) -> Vec<u8> {
        let mut h = vec![0x81];
        match len {
            0..=125 => h.push(0x80 | len as u8),
            126..=0xFFFF => {
                h.push(0x80 | 126);
                h.extend((len as u16).to_be_bytes());
            }
            _ => {
                h.push(0x80 | 127);
                h.extend(len.to_be_bytes());
            }
        }
        h.extend([1, 2, 3, 4]);
        h
    }

    #[test]
    fn frames_within_the_limit_pass_in_any_split() {
        let mut stream = Vec::new();
        for len in [0, 5, 125, 126, 1000, 65_536] {
            stream.extend(header(len));
            stream.extend(std::iter::repeat_n(b'x', len as usize));
        }
        for chunk in [1, 2, 3, 7, 100, 4096, stream.len()] {
            let mut limit = FrameLimit::new(64 * 1024);
            for part in stream.chunks(chunk) {
                assert_eq!(limit.check(part), Ok(()), "chunks of {chunk}");
            }
            assert_eq!((limit.have, limit.skip), (0, 0), "ends on a frame boundary");
        }
    }

    #[test]
    fn a_header_declaring_too_much_is_refused_before_its_payload() {
        for declared in [65_537, 1 << 30, u64::MAX >> 1] {
            let h = header(declared);
            let mut limit = FrameLimit::new(64 * 1024);
            let (first, rest) = h.split_at(3);
            assert_eq!(limit.check(first), Ok(()), "not yet the whole header");
            assert_eq!(limit.check(rest), Err(declared));
        }
    }

    proptest::proptest! {
        /// Fuzz (`PROPTEST_CASES=100000 cargo test --release fuzz_` for a long run): any frames,
        /// split anywhere, pass until the first header over the limit, which is refused with
        /// what it declared, whatever the split.
        #[test]
        fn fuzz_frame_limit_follows_any_frames_in_any_split(
            lens in proptest::collection::vec(
                proptest::prop_oneof![0u64..200, 60_000u64..70_000, 1u64 << 40..1u64 << 41],
                0..6,
            ),
            chunk in 1usize..3000,
        ) {
            let limit = 64 * 1024;
            let mut stream = Vec::new();
            for &len in &lens {
                stream.extend(header(len));
                if len > limit as u64 {
                    break;
                }
                stream.extend(std::iter::repeat_n(b'x', len as usize));
            }
            let expected = match lens.iter().find(|&&l| l > limit as u64) {
                Some(&over) => Err(over),
                None => Ok(()),
            };
            let mut frames = FrameLimit::new(limit);
            let got = stream
                .chunks(chunk)
                .map(|part| frames.check(part))
                .find(Result::is_err)
                .unwrap_or(Ok(()));
            proptest::prop_assert_eq!(got, expected);
        }
    }
}
