//! The wire contract between the server and its clients (widget, and later the agent console):
//! JSON text frames tagged by `type`. This file is the single source of truth; `docs/protocol.md`
//! describes it for client authors, and the tests at the bottom pin the exact JSON.
//!
//! Owns: frame shapes and error codes. Leaves validation of values (text length, rate) to the
//! session, and the meaning of events to `conversation`.

use serde::{Deserialize, Serialize};

use crate::conversation::{ConversationState, Event};

/// Bumped on any incompatible change to a frame.
pub const PROTOCOL_VERSION: u32 = 1;

/// What a visitor's client sends.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum VisitorFrame {
    /// First frame on every socket: start, or resume with `token` and the last `seq` seen.
    Hello {
        #[serde(default)]
        v: Option<u32>,
        #[serde(default)]
        token: Option<String>,
        #[serde(default)]
        last_seq: Option<u64>,
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        email: Option<String>,
        #[serde(default)]
        page: Option<String>,
        #[serde(default)]
        locale: Option<String>,
        #[serde(default)]
        tz: Option<String>,
    },
    /// A message; `client_id` makes a resend idempotent.
    Message {
        text: String,
        client_id: String,
    },
    Typing,
    /// The visitor picked a clarify option or a suggestion (an FAQ id).
    Choose {
        option: String,
    },
    RequestHuman,
    /// "Was this helpful?" on the bot answer with sequence number `seq`.
    Feedback {
        seq: u64,
        helpful: bool,
    },
    /// 1-5 stars when a conversation closes.
    Rate {
        score: u8,
        #[serde(default)]
        comment: Option<String>,
    },
    /// Offline form: an e-mail to answer to and the message.
    LeaveMessage {
        email: String,
        text: String,
    },
}

/// What the server sends to a visitor.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// Answer to `hello`: the conversation this socket is bound to.
    Welcome {
        v: u32,
        token: String,
        conversation: String,
        state: ConversationState,
        /// True when `hello` resumed an existing conversation.
        resumed: bool,
    },
    /// One item of the conversation's log, in `seq` order, exactly once per socket.
    Event(Event),
    /// A message whose `client_id` was already stored: here is its `seq`, nothing new was stored.
    Ack {
        client_id: String,
        seq: u64,
    },
    /// Someone (an agent) is typing.
    Typing {
        from: String,
    },
    Error {
        code: ErrorCode,
        message: String,
    },
}

/// Stable error codes: clients switch on these; `message` is for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not JSON, or not a JSON object with a known `type` and the right fields.
    BadFrame,
    UnknownType,
    /// Binary frames are not part of the protocol.
    BinaryFrame,
    TooLarge,
    EmptyText,
    RateLimited,
    /// A frame other than `hello` before `hello`.
    HelloFirst,
    /// The token was unknown or expired: a new conversation was started.
    UnknownToken,
    /// The request does not fit the conversation's state (e.g. feedback on an unknown answer).
    Invalid,
    /// Something failed on our side; the frame can be retried.
    Internal,
}

/// Why a frame could not be parsed, as the error frame the client gets.
pub fn parse_visitor_frame(text: &str) -> Result<VisitorFrame, (ErrorCode, String)> {
    match serde_json::from_str::<VisitorFrame>(text) {
        Ok(frame) => Ok(frame),
        Err(e) => {
            // Tell "unknown type" apart from other shape errors: clients handle them differently.
            let value: Option<serde_json::Value> = serde_json::from_str(text).ok();
            match value
                .as_ref()
                .and_then(|v| v.get("type"))
                .and_then(|t| t.as_str())
            {
                Some(t) if !KNOWN_TYPES.contains(&t) => {
                    Err((ErrorCode::UnknownType, format!("unknown frame type `{t}`")))
                }
                _ => Err((ErrorCode::BadFrame, format!("malformed frame: {e}"))),
            }
        }
    }
}

const KNOWN_TYPES: &[&str] = &[
    "hello",
    "message",
    "typing",
    "choose",
    "request_human",
    "feedback",
    "rate",
    "leave_message",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::{EventBody, Notice};

    #[test]
    fn visitor_frames_parse_from_their_documented_json() {
        assert_eq!(
            parse_visitor_frame(r#"{"type":"hello","token":"ab","last_seq":4,"page":"/shop"}"#)
                .unwrap(),
            VisitorFrame::Hello {
                v: None,
                token: Some("ab".into()),
                last_seq: Some(4),
                name: None,
                email: None,
                page: Some("/shop".into()),
                locale: None,
                tz: None
            }
        );
        assert_eq!(
            parse_visitor_frame(r#"{"type":"message","text":"hi","client_id":"c1"}"#).unwrap(),
            VisitorFrame::Message {
                text: "hi".into(),
                client_id: "c1".into()
            }
        );
        assert_eq!(
            parse_visitor_frame(r#"{"type":"request_human"}"#).unwrap(),
            VisitorFrame::RequestHuman
        );
        assert_eq!(
            parse_visitor_frame(r#"{"type":"feedback","seq":7,"helpful":false}"#).unwrap(),
            VisitorFrame::Feedback {
                seq: 7,
                helpful: false
            }
        );
        assert_eq!(
            parse_visitor_frame(r#"{"type":"rate","score":5}"#).unwrap(),
            VisitorFrame::Rate {
                score: 5,
                comment: None
            }
        );
    }

    #[test]
    fn bad_frames_get_stable_codes() {
        assert_eq!(
            parse_visitor_frame("not json").unwrap_err().0,
            ErrorCode::BadFrame
        );
        assert_eq!(
            parse_visitor_frame(r#"{"type":"dance"}"#).unwrap_err().0,
            ErrorCode::UnknownType
        );
        assert_eq!(
            parse_visitor_frame(r#"{"type":"message"}"#).unwrap_err().0,
            ErrorCode::BadFrame
        );
        assert_eq!(
            parse_visitor_frame(r#"{"type":"message","text":"x","client_id":"1","extra":1}"#)
                .unwrap_err()
                .0,
            ErrorCode::BadFrame
        );
        assert_eq!(
            parse_visitor_frame("[1,2]").unwrap_err().0,
            ErrorCode::BadFrame
        );
    }

    #[test]
    fn server_frames_serialise_to_their_documented_json() {
        let welcome = ServerFrame::Welcome {
            v: PROTOCOL_VERSION,
            token: "t".into(),
            conversation: "c".into(),
            state: ConversationState::Bot,
            resumed: false,
        };
        assert_eq!(
            serde_json::to_string(&welcome).unwrap(),
            r#"{"type":"welcome","v":1,"token":"t","conversation":"c","state":"bot","resumed":false}"#
        );
        let event = ServerFrame::Event(Event {
            seq: 3,
            at: 1_700_000_000_000,
            body: EventBody::Notice {
                notice: Notice::Queued {
                    reason: "visitor_asked".into(),
                },
            },
        });
        assert_eq!(
            serde_json::to_string(&event).unwrap(),
            r#"{"type":"event","seq":3,"at":1700000000000,"kind":"notice","notice":{"notice":"queued","reason":"visitor_asked"}}"#
        );
        let error = ServerFrame::Error {
            code: ErrorCode::RateLimited,
            message: "slow down".into(),
        };
        assert_eq!(
            serde_json::to_string(&error).unwrap(),
            r#"{"type":"error","code":"rate_limited","message":"slow down"}"#
        );
        let ack = ServerFrame::Ack {
            client_id: "c1".into(),
            seq: 2,
        };
        assert_eq!(
            serde_json::to_string(&ack).unwrap(),
            r#"{"type":"ack","client_id":"c1","seq":2}"#
        );
    }
}
