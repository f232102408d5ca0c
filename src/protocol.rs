//! The wire contract between the server and its clients (the widget on `/ws`, the agent console
//! on `/ws/agent`): JSON text frames tagged by `type`. This file is the single source of truth; `docs/protocol.md`
//! describes it for client authors, and the tests at the bottom pin the exact JSON.
//!
//! Owns: frame shapes and error codes. Leaves validation of values (text length, rate) to the
//! session, and the meaning of events to `conversation`.

use serde::{Deserialize, Serialize};

use crate::conversation::VisitorInfo;
use crate::conversation::{
    ConversationState, Event, HeldAnswer, QueueReason, QueueStatus, ReasonKind,
};
use crate::knowledge_base::CannedReply;
use crate::ports::Presence;

/// Bumped on any incompatible change to a frame.
pub const PROTOCOL_VERSION: u32 = 1;

/// What a visitor's client sends.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum VisitorFrame {
    /// First frame on every socket: start, or resume with `token` and the last `seq` seen.
    Hello(Hello),
    /// A message; `client_id` makes a resend idempotent.
    Message {
        text: String,
        client_id: String,
    },
    /// (Braces, not a unit variant: serde then refuses extra fields here too.)
    Typing {},
    /// The visitor picked a clarify option or a suggestion (an FAQ id).
    Choose {
        option: String,
    },
    RequestHuman {},
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
    /// "E-mail me this conversation": a copy of it so far to `email` (once per conversation
    /// per hour; only where `welcome` said `mail`).
    EmailTranscript {
        email: String,
    },
    /// The widget has shown everything up to `seq` (an agent's reply among it): that need not be
    /// mailed to the visitor.
    Seen {
        seq: u64,
    },
}

/// A `hello`: who the visitor is and which conversation to resume.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Hello {
    #[serde(default)]
    pub v: Option<u32>,
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub last_seq: Option<u64>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub page: Option<String>,
    #[serde(default)]
    pub locale: Option<String>,
    #[serde(default)]
    pub tz: Option<String>,
    /// The key from an earlier `welcome`: links this visitor's conversations for agents.
    #[serde(default)]
    pub visitor_key: Option<String>,
    /// The site's id for a logged-in visitor, with `user_hash` = hex(HMAC-SHA256(secret,
    /// user_id)) from the site's backend.
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub user_hash: Option<String>,
}

/// What became of a visitor's `email_transcript`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TranscriptOutcome {
    Queued,
    TooSoon,
}

/// What the server sends to a visitor.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
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
        /// Keep it (like `token`) and send it in every `hello`: the visitor's later
        /// conversations are then shown to agents with this one.
        #[serde(skip_serializing_if = "Option::is_none")]
        visitor_key: Option<String>,
        /// The conversation's language (one of the knowledge base's, two letters): the widget
        /// shows its own texts in it.
        #[serde(skip_serializing_if = "Option::is_none")]
        language: Option<String>,
        /// The name of the agent who has the conversation (while `assigned`), and whether they
        /// have written to the visitor yet: a reconnecting widget says who it is talking to.
        #[serde(skip_serializing_if = "Option::is_none")]
        agent: Option<String>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        agent_answered: bool,
        /// The longest `message` frame this server accepts, in bytes of its JSON: a widget
        /// shows how much is left as a visitor nears it, instead of a refusal after sending.
        max_frame_bytes: usize,
        /// The largest file the visitor may send (`POST /api/files`), in bytes; 0: none.
        #[serde(default)]
        max_file_bytes: usize,
        /// The file types accepted, as MIME types (a file input's `accept`). The server decides
        /// from the content again.
        #[serde(default)]
        file_types: Vec<String>,
        /// Whether this server sends e-mail: the widget then offers "E-mail me this
        /// conversation".
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        mail: bool,
    },
    /// Answer to `email_transcript`: `queued` (on its way to `email`), or `too_soon` (one was
    /// sent within the hour).
    Transcript {
        email: String,
        outcome: TranscriptOutcome,
    },
    /// One item of the conversation's log, in `seq` order, exactly once per socket.
    Event(Event),
    /// A message whose `client_id` was already stored: here is its `seq`, nothing new was stored.
    Ack { client_id: String, seq: u64 },
    /// Someone (an agent) is typing.
    Typing { from: String },
    /// Where the visitor stands in the queue: sent on `hello` while queued and on every change.
    Queue(QueueStatus),
    /// The store is unavailable: the message (`client_id`, or "talk to a person" when empty) is
    /// held by the server and stored, in order, as soon as it is back; `answer` is the bot's
    /// answer meanwhile. The stored message and answer arrive later as ordinary events.
    Held {
        client_id: String,
        answer: HeldAnswer,
    },
    Error {
        code: ErrorCode,
        message: String,
        /// The message this refusal concerns, when it concerns one (e.g. rate limited).
        #[serde(skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
    },
}

/// Stable error codes: clients switch on these; `message` is for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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
    /// (agents) The conversation is not waiting any more, or not assigned to you.
    NotYours,
    /// (agents) You, or the agent you transfer to, already have as many chats as allowed.
    AtCapacity,
    /// (agents) No such conversation or agent.
    NotFound,
    /// `hello` claimed a visitor id without a valid hash, or gave none where one is required.
    IdentityRefused,
}

/// What the agent console sends on `/ws/agent` (the socket is already logged in by cookie).
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AgentFrame {
    /// `online` takes new chats, `away` keeps current ones only.
    Presence {
        status: Presence,
    },
    /// Watch a conversation: its header, then every event after `last_seq`, then live events.
    Open {
        conversation: String,
        #[serde(default)]
        last_seq: Option<u64>,
    },
    Claim {
        conversation: String,
    },
    /// `client_id` (1-64 characters, chosen by the console) makes a resend idempotent.
    Reply {
        conversation: String,
        text: String,
        #[serde(default)]
        client_id: Option<String>,
    },
    /// An internal note: never sent to the visitor.
    Note {
        conversation: String,
        text: String,
        #[serde(default)]
        client_id: Option<String>,
    },
    Typing {
        conversation: String,
    },
    /// To another agent (`agent`) or back to the queue for a team (`team`).
    Transfer {
        conversation: String,
        #[serde(default)]
        agent: Option<String>,
        #[serde(default)]
        team: Option<String>,
    },
    HandBack {
        conversation: String,
    },
    Close {
        conversation: String,
        #[serde(default)]
        resolution: Option<String>,
    },
    /// An offline message was answered by e-mail.
    FollowedUp {
        conversation: String,
    },
    /// Answers an offline message by e-mail (when the server sends mail, `welcome.email`): the
    /// reply goes into the transcript and out to the address the visitor left, and the
    /// conversation is followed up. `client_id` as for `reply` (a resend mails once).
    EmailReply {
        conversation: String,
        text: String,
        #[serde(default)]
        client_id: Option<String>,
    },
}

/// A waiting conversation as the queue list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct QueueItem {
    pub conversation: String,
    pub position: usize,
    pub reason: Option<Reason>,
    /// When it started waiting (ms since the epoch).
    pub waiting_since: Option<u64>,
    pub visitor: VisitorInfo,
    /// The visitor's first message, for a glance.
    pub first_message: Option<String>,
    /// The conversation's language (two letters once the visitor wrote; their browser's locale
    /// before).
    pub language: Option<String>,
}

/// A conversation an agent works on (or looks at).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ChatItem {
    pub conversation: String,
    pub state: ConversationState,
    pub reason: Option<Reason>,
    pub agent: Option<String>,
    pub visitor: VisitorInfo,
    /// The frustration meter when the bot last let go (0 = calm; the handoff threshold is in
    /// `rules.toml`).
    pub frustration: f32,
    pub needs_follow_up: bool,
    /// The conversation's language (as in `QueueItem`).
    pub language: Option<String>,
    /// When the current agent got it (ms since the epoch), while assigned.
    pub assigned_at: Option<u64>,
    /// Whether the current agent has written to the visitor: until then the console counts
    /// down to the moment the chat goes back to the queue (`assign_timeout_seconds`).
    pub agent_answered: bool,
    /// (offline messages) The last message the visitor left with the form.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offline_message: Option<LeftMessage>,
}

/// A message a visitor left with the offline form: their e-mail, the text and when (ms).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LeftMessage {
    pub email: String,
    pub text: String,
    pub at: u64,
}

/// One of the visitor's earlier conversations, for context.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct EarlierConversation {
    pub conversation: String,
    /// When it started (ms since the epoch).
    pub created: u64,
    pub state: ConversationState,
    /// Why the bot last let it go.
    pub reason: Option<Reason>,
    /// How an agent closed it (`resolved`, `spam`, ...).
    pub resolution: Option<String>,
    pub first_message: Option<String>,
}

/// Why a conversation waits (or waited) for a person, read for the console: the stored code
/// (`rule:refunds`, as in events and the API), its kind, and the rule, FAQ or team it names.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Reason {
    pub code: String,
    pub kind: ReasonKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

impl From<&QueueReason> for Reason {
    fn from(reason: &QueueReason) -> Reason {
        Reason {
            code: reason.to_string(),
            kind: reason.kind(),
            id: reason.id().map(str::to_owned),
        }
    }
}

/// An agent as colleagues see them (for transfers).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Colleague {
    pub id: String,
    pub name: String,
    pub teams: Vec<String>,
    pub presence: Presence,
    pub chats: usize,
    pub capacity: usize,
}

/// What the server sends to the agent console.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentServerFrame {
    /// First frame: who you are and your saved replies.
    Welcome {
        v: u32,
        agent: Colleague,
        canned: Vec<CannedReply>,
        /// Seconds an agent has to answer an assigned chat before it goes back to the queue.
        assign_timeout_seconds: u64,
        /// This server sends e-mail: offline messages are answered with `email_reply`.
        email: bool,
    },
    /// The whole queue, in order, on connect and on every change.
    Queue { items: Vec<QueueItem> },
    /// Your conversations (assigned to you), on connect and on every change.
    Chats { items: Vec<ChatItem> },
    /// Offline messages waiting for a follow-up.
    FollowUps { items: Vec<ChatItem> },
    /// Every agent and their load.
    Agents { items: Vec<Colleague> },
    /// A conversation's header, on `open` (and when a chat becomes yours), with the same
    /// visitor's earlier conversations (newest first, at most 10).
    Conversation {
        /// Boxed: a header is the largest frame by far, and frames are built one at a time.
        #[serde(flatten)]
        chat: Box<ChatItem>,
        earlier: Vec<EarlierConversation>,
        /// The key that links this visitor's conversations: what an admin erases them by
        /// ("Privacy" on /admin), shown in the visitor panel to copy.
        #[serde(skip_serializing_if = "Option::is_none")]
        visitor_key: Option<String>,
    },
    /// One event of a watched conversation, with explanations and notes.
    ConversationEvent { conversation: String, event: Event },
    /// The visitor of a watched conversation is typing.
    Typing { conversation: String },
    Error {
        code: ErrorCode,
        message: String,
        /// The conversation the refused action concerned, when it concerned one: the console
        /// says so on that conversation.
        #[serde(skip_serializing_if = "Option::is_none")]
        conversation: Option<String>,
        /// The reply or note refused, by the console's `client_id`.
        #[serde(skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
    },
}

/// Why an agent frame could not be parsed.
pub fn parse_agent_frame(text: &str) -> Result<AgentFrame, (ErrorCode, String)> {
    serde_json::from_str::<AgentFrame>(text).map_err(|e| {
        let value: Option<serde_json::Value> = serde_json::from_str(text).ok();
        match value
            .as_ref()
            .and_then(|v| v.get("type"))
            .and_then(|t| t.as_str())
        {
            Some(t) if !AGENT_TYPES.contains(&t) => {
                (ErrorCode::UnknownType, format!("unknown frame type `{t}`"))
            }
            _ => (ErrorCode::BadFrame, format!("malformed frame: {e}")),
        }
    })
}

const AGENT_TYPES: &[&str] = &[
    "presence",
    "open",
    "claim",
    "reply",
    "note",
    "typing",
    "transfer",
    "hand_back",
    "close",
    "followed_up",
    "email_reply",
];

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
    use crate::conversation::{AnswerKind, ChoiceItem, EventBody, Notice};
    use crate::knowledge_base::size::{MAX_OFFERED, MAX_RENDERED_ANSWER_BYTES, MAX_TITLE_CHARS};

    #[test]
    fn the_largest_answer_a_knowledge_base_may_hold_fits_in_one_frame() {
        // Each JSON string is two quotes longer than its text.
        let half = "a".repeat(MAX_RENDERED_ANSWER_BYTES / 2 - 2);
        let option = ChoiceItem {
            id: "f".repeat(80),
            title: "\u{20ac}".repeat(MAX_TITLE_CHARS),
        };
        let frame = ServerFrame::Event(crate::conversation::Event {
            seq: u64::MAX,
            at: u64::MAX,
            body: EventBody::BotAnswer {
                decision: AnswerKind::Answer,
                html: half.clone(),
                text: half,
                options: vec![option; MAX_OFFERED + 1],
                offer_human: true,
                faq: Some("f".repeat(80)),
                explanation: None,
                lang: Some("de".into()),
            },
        });
        let sent = serde_json::to_string(&frame).unwrap().len();
        assert!(
            sent <= crate::http::TRANSPORT_FRAME_LIMIT,
            "{sent} bytes: a widget would get a frame larger than the server accepts"
        );
    }

    #[test]
    fn visitor_frames_parse_from_their_documented_json() {
        assert_eq!(
            parse_visitor_frame(r#"{"type":"hello","token":"ab","last_seq":4,"page":"/shop"}"#)
                .unwrap(),
            VisitorFrame::Hello(Hello {
                token: Some("ab".into()),
                last_seq: Some(4),
                page: Some("/shop".into()),
                ..Hello::default()
            })
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
            VisitorFrame::RequestHuman {}
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
        // Frames without fields refuse extra ones too.
        for frame in [
            r#"{"type":"typing","extra":1}"#,
            r#"{"type":"request_human","extra":1}"#,
        ] {
            assert_eq!(
                parse_visitor_frame(frame).unwrap_err().0,
                ErrorCode::BadFrame,
                "{frame}"
            );
        }
        assert_eq!(
            parse_visitor_frame(r#"{"type":"typing"}"#).unwrap(),
            VisitorFrame::Typing {}
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
            visitor_key: None,
            language: Some("es".into()),
            agent: None,
            agent_answered: false,
            max_frame_bytes: 4096,
            max_file_bytes: 0,
            file_types: Vec::new(),
            mail: false,
        };
        assert_eq!(
            serde_json::to_string(&welcome).unwrap(),
            r#"{"type":"welcome","v":1,"token":"t","conversation":"c","state":"bot","resumed":false,"language":"es","max_frame_bytes":4096,"max_file_bytes":0,"file_types":[]}"#
        );
        let event = ServerFrame::Event(Event {
            seq: 3,
            at: 1_700_000_000_000,
            body: EventBody::Notice {
                notice: Notice::Queued {
                    reason: crate::conversation::QueueReason::VisitorAsked,
                },
            },
        });
        assert_eq!(
            serde_json::to_string(&event).unwrap(),
            r#"{"type":"event","seq":3,"at":1700000000000,"kind":"notice","notice":{"notice":"queued","reason":"visitor_asked","reason_kind":"visitor_asked"}}"#
        );
        // A reason that names something comes read: clients never take the code apart.
        let team: Notice = Notice::Queued {
            reason: "team:billing".parse().unwrap(),
        };
        let written = serde_json::to_string(&team).unwrap();
        assert_eq!(
            written,
            r#"{"notice":"queued","reason":"team:billing","reason_kind":"team","reason_id":"billing"}"#
        );
        // Read back (also as stored before the kind was written), it is the same notice.
        assert_eq!(serde_json::from_str::<Notice>(&written).unwrap(), team);
        assert_eq!(
            serde_json::from_str::<Notice>(r#"{"notice":"queued","reason":"team:billing"}"#)
                .unwrap(),
            team
        );
        assert_eq!(
            serde_json::to_value(Reason::from(&"rule:human".parse::<QueueReason>().unwrap()))
                .unwrap(),
            serde_json::json!({"code": "rule:human", "kind": "rule", "id": "human"})
        );
        let error = ServerFrame::Error {
            code: ErrorCode::RateLimited,
            message: "slow down".into(),
            client_id: Some("m-1".into()),
        };
        assert_eq!(
            serde_json::to_string(&error).unwrap(),
            r#"{"type":"error","code":"rate_limited","message":"slow down","client_id":"m-1"}"#
        );
        let ack = ServerFrame::Ack {
            client_id: "c1".into(),
            seq: 2,
        };
        assert_eq!(
            serde_json::to_string(&ack).unwrap(),
            r#"{"type":"ack","client_id":"c1","seq":2}"#
        );
        let queue = ServerFrame::Queue(QueueStatus {
            position: 2,
            eta_seconds: Some(90),
            nobody_online: false,
        });
        assert_eq!(
            serde_json::to_string(&queue).unwrap(),
            r#"{"type":"queue","position":2,"eta_seconds":90}"#
        );
    }

    #[test]
    fn agent_frames_parse_from_their_documented_json() {
        assert_eq!(
            parse_agent_frame(r#"{"type":"presence","status":"away"}"#).unwrap(),
            AgentFrame::Presence {
                status: Presence::Away
            }
        );
        assert_eq!(
            parse_agent_frame(r#"{"type":"transfer","conversation":"c","team":"billing"}"#)
                .unwrap(),
            AgentFrame::Transfer {
                conversation: "c".into(),
                agent: None,
                team: Some("billing".into())
            }
        );
        assert_eq!(
            parse_agent_frame(r#"{"type":"close","conversation":"c","resolution":"solved"}"#)
                .unwrap(),
            AgentFrame::Close {
                conversation: "c".into(),
                resolution: Some("solved".into())
            }
        );
        assert_eq!(
            parse_agent_frame(r#"{"type":"fly"}"#).unwrap_err().0,
            ErrorCode::UnknownType
        );
        assert_eq!(
            parse_agent_frame(r#"{"type":"reply","conversation":"c"}"#)
                .unwrap_err()
                .0,
            ErrorCode::BadFrame
        );
        let error = AgentServerFrame::Error {
            code: ErrorCode::NotYours,
            message: "taken".into(),
            conversation: None,
            client_id: None,
        };
        assert_eq!(
            serde_json::to_string(&error).unwrap(),
            r#"{"type":"error","code":"not_yours","message":"taken"}"#
        );
        let about = AgentServerFrame::Error {
            code: ErrorCode::NotYours,
            message: "taken".into(),
            conversation: Some("c-1".into()),
            client_id: Some("r-1".into()),
        };
        assert_eq!(
            serde_json::to_string(&about).unwrap(),
            r#"{"type":"error","code":"not_yours","message":"taken","conversation":"c-1","client_id":"r-1"}"#
        );
    }

    /// A JSON value of any shape, a few levels deep.
    fn any_json() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(serde_json::Value::from),
            ".{0,40}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                proptest::collection::btree_map("[a-z_]{1,10}", inner, 0..4)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        /// Fuzz: any text is a frame or a stable error code, never a panic.
        #[test]
        fn fuzz_any_text_parses_or_gets_a_stable_code(text in ".{0,200}") {
            for result in [
                parse_visitor_frame(&text).map(drop),
                parse_agent_frame(&text).map(drop),
            ] {
                if let Err((code, _)) = result {
                    proptest::prop_assert!(matches!(code, ErrorCode::BadFrame | ErrorCode::UnknownType));
                }
            }
        }

        /// Fuzz: a frame of a known type with fields of any shape is that frame or `bad_frame`,
        /// never `unknown_type`; extra fields are always refused.
        #[test]
        fn fuzz_known_types_with_any_fields(
            index in 0usize..64,
            fields in proptest::collection::btree_map("[a-z_]{1,12}", any_json(), 0..5),
        ) {
            let visitor = KNOWN_TYPES[index % KNOWN_TYPES.len()];
            let agent = AGENT_TYPES[index % AGENT_TYPES.len()];
            for (ty, parse) in [
                (visitor, (|t: &str| parse_visitor_frame(t).map(drop)) as fn(&str) -> Result<(), (ErrorCode, String)>),
                (agent, |t: &str| parse_agent_frame(t).map(drop)),
            ] {
                let mut frame: serde_json::Map<String, serde_json::Value> =
                    fields.clone().into_iter().collect();
                frame.insert("type".into(), ty.into());
                let with_extra = {
                    let mut f = frame.clone();
                    f.insert("not_a_field_of_any_frame".into(), 1.into());
                    serde_json::Value::Object(f).to_string()
                };
                if let Err((code, message)) = parse(&serde_json::Value::Object(frame).to_string()) {
                    proptest::prop_assert_eq!(code, ErrorCode::BadFrame, "{}", message);
                }
                proptest::prop_assert_eq!(parse(&with_extra).map_err(|e| e.0), Err(ErrorCode::BadFrame));
            }
        }
    }
}
