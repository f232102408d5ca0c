//! The values socket frames carry, checked once at the edge. A command holds these, never the raw
//! strings, so the code that applies it trusts them; a value that does not parse is a `Refusal`:
//! the error code and the sentence the client gets, with the socket kept.

use std::borrow::Cow;

use crate::conversation::ConversationId;
use crate::protocol::ErrorCode;

/// Why a frame is refused, as the client is told.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub code: ErrorCode,
    pub message: Cow<'static, str>,
    /// The client's id of the message refused, so the client can mark that one.
    pub client_id: Option<String>,
}

impl Refusal {
    pub fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Refusal {
        Refusal {
            code,
            message: message.into(),
            client_id: None,
        }
    }

    /// The same refusal, about the message the client calls `client_id`.
    pub fn about(self, client_id: &str) -> Refusal {
        Refusal {
            client_id: Some(client_id.to_owned()),
            ..self
        }
    }
}

/// Longest `client_id`, in bytes.
const MAX_CLIENT_ID: usize = 64;
/// Longest e-mail address (RFC 5321).
const MAX_EMAIL: usize = 254;

/// What a client calls one of its messages: 1 to 64 bytes. A resend with the same id is stored
/// once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientId(String);

impl ClientId {
    pub fn parse(raw: String) -> Result<ClientId, Refusal> {
        if raw.is_empty() || raw.len() > MAX_CLIENT_ID {
            return Err(Refusal::new(
                ErrorCode::BadFrame,
                "client_id must be 1-64 characters",
            ));
        }
        Ok(ClientId(raw))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A message as written: not blank, at most a given number of bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageText(String);

impl MessageText {
    pub fn parse(raw: String, max_bytes: usize) -> Result<MessageText, Refusal> {
        if raw.trim().is_empty() {
            return Err(Refusal::new(ErrorCode::EmptyText, "the message is empty"));
        }
        if raw.len() > max_bytes {
            return Err(Refusal::new(
                ErrorCode::TooLarge,
                format!("a message has at most {max_bytes} bytes"),
            ));
        }
        Ok(MessageText(raw))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Stars for a closed conversation: 1 to 5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Score(u8);

impl Score {
    pub fn parse(raw: u8) -> Result<Score, Refusal> {
        if !(1..=5).contains(&raw) {
            return Err(Refusal::new(ErrorCode::Invalid, "score is 1 to 5"));
        }
        Ok(Score(raw))
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

/// An address to write back to: something before and after one `@`, no spaces, at most 254
/// bytes. (Whether it receives mail only a mail can tell.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: String) -> Result<Email, Refusal> {
        let address = raw.trim();
        let well_formed = address.len() <= MAX_EMAIL
            && !address.contains(char::is_whitespace)
            && address.split_once('@').is_some_and(|(user, domain)| {
                !user.is_empty() && !domain.is_empty() && !domain.contains('@')
            });
        if !well_formed {
            return Err(Refusal::new(
                ErrorCode::Invalid,
                "an e-mail address and a message are needed",
            ));
        }
        Ok(Email(address.to_owned()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// The conversation an agent's frame names.
pub fn conversation(raw: &str) -> Result<ConversationId, Refusal> {
    ConversationId::parse(raw)
        .ok_or_else(|| Refusal::new(ErrorCode::NotFound, "no such conversation"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_are_1_to_64_bytes() {
        assert!(ClientId::parse("m-1".into()).is_ok());
        assert!(ClientId::parse("x".repeat(64)).is_ok());
        for bad in [String::new(), "x".repeat(65)] {
            assert_eq!(ClientId::parse(bad).unwrap_err().code, ErrorCode::BadFrame);
        }
    }

    #[test]
    fn blank_text_is_empty_and_long_text_too_large() {
        assert_eq!(
            MessageText::parse(" \n\t".into(), 10).unwrap_err().code,
            ErrorCode::EmptyText
        );
        assert_eq!(
            MessageText::parse("x".repeat(11), 10).unwrap_err().code,
            ErrorCode::TooLarge
        );
        assert_eq!(
            MessageText::parse("hi".into(), 10).unwrap().into_inner(),
            "hi"
        );
    }

    #[test]
    fn scores_are_1_to_5() {
        assert_eq!(Score::parse(5).unwrap().get(), 5);
        for bad in [0, 6, 255] {
            assert_eq!(Score::parse(bad).unwrap_err().code, ErrorCode::Invalid);
        }
    }

    #[test]
    fn an_email_has_one_at_with_something_on_each_side() {
        assert_eq!(
            Email::parse(" ana@example.com ".into())
                .unwrap()
                .into_inner(),
            "ana@example.com"
        );
        for bad in [
            "",
            "ana",
            "@example.com",
            "ana@",
            "a b@example.com",
            "a@b@c",
        ] {
            assert!(Email::parse(bad.into()).is_err(), "{bad}");
        }
    }
}
