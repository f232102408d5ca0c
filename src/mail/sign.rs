//! Signed conversation tokens for mail: the link that reopens a conversation in the widget and
//! the reply address (`reply+<token>@mail_reply_domain`) that lets an answer by mail land in it.
//! A token is `<conversation id>.<expiry>.<tag>`: the expiry in seconds since the epoch (hex),
//! the tag the first 8 bytes of HMAC-SHA256 over what the token is for, the id and the expiry,
//! with the key the store made once (`Outbox::mail_key`). Lower-case hex only, 64 characters at
//! most with `reply+`: mail systems may lower-case an address's local part and allow 64.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::conversation::ConversationId;

/// What a token opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Reopens the conversation in the widget (a link in a mail).
    Open,
    /// Lets a mail land in the conversation (the reply address).
    Reply,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::Open => b"frontdesk open\0",
            Purpose::Reply => b"frontdesk reply\0",
        }
    }
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("not a conversation token")]
    Malformed,
    #[error("the token's signature does not match (forged or for another purpose)")]
    Forged,
    #[error("the token expired")]
    Expired,
}

/// Signs and checks tokens with the deployment's mail key.
#[derive(Clone)]
pub struct Signer(Vec<u8>);

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key.
        f.write_str("Signer(<key>)")
    }
}

/// Bytes of the tag kept (64 bits: a forger must guess it online, one mail per guess).
const TAG: usize = 8;

impl Signer {
    pub fn new(key: Vec<u8>) -> Signer {
        Signer(key)
    }

    fn mac(&self, purpose: Purpose, id: &str, expires: &str) -> Hmac<Sha256> {
        let mut m = Hmac::<Sha256>::new_from_slice(&self.0)
            .expect("invariant: HMAC accepts any key length");
        m.update(purpose.label());
        m.update(id.as_bytes());
        m.update(b"\0");
        m.update(expires.as_bytes());
        m
    }

    /// A token for `purpose` on conversation `id`, valid until `expires` (seconds since the
    /// epoch).
    pub fn token(&self, purpose: Purpose, id: &ConversationId, expires: u64) -> String {
        let expires = format!("{expires:x}");
        let tag = self
            .mac(purpose, id.as_str(), &expires)
            .finalize()
            .into_bytes();
        format!("{id}.{expires}.{}", hex::encode(&tag[..TAG]))
    }

    /// The conversation a token for `purpose` opens at `now` (seconds since the epoch). The tag
    /// is compared in constant time; an expired token is refused even with a good tag.
    pub fn check(
        &self,
        purpose: Purpose,
        token: &str,
        now: u64,
    ) -> Result<ConversationId, TokenError> {
        let mut parts = token.trim().split('.');
        let (Some(id), Some(expires), Some(tag), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        // Mail systems may change a local part's case: ids and tags are lower-case hex.
        let (id, expires, tag) = (
            id.to_ascii_lowercase(),
            expires.to_ascii_lowercase(),
            tag.to_ascii_lowercase(),
        );
        let id = ConversationId::parse(&id).ok_or(TokenError::Malformed)?;
        let until = u64::from_str_radix(&expires, 16).map_err(|_| TokenError::Malformed)?;
        let tag = hex::decode(&tag).map_err(|_| TokenError::Malformed)?;
        if tag.len() != TAG {
            return Err(TokenError::Malformed);
        }
        self.mac(purpose, id.as_str(), &expires)
            .verify_truncated_left(&tag)
            .map_err(|_| TokenError::Forged)?;
        if until < now {
            return Err(TokenError::Expired);
        }
        Ok(id)
    }
}

/// The token in a reply address `reply+<token>@<domain>` (any case), if `address` is one at
/// `domain`.
pub fn reply_token<'a>(address: &'a str, domain: &str) -> Option<&'a str> {
    let (local, at) = address.trim().rsplit_once('@')?;
    if !at.eq_ignore_ascii_case(domain) {
        return None;
    }
    let plus = local.find('+')?;
    local[..plus]
        .eq_ignore_ascii_case("reply")
        .then(|| &local[plus + 1..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_opens_its_conversation_for_its_purpose_until_it_expires() {
        let signer = Signer::new(b"0123456789abcdef0123456789abcdef".to_vec());
        let id = ConversationId::random();
        let token = signer.token(Purpose::Reply, &id, 2_000_000_000);
        assert_eq!(
            signer.check(Purpose::Reply, &token, 1_999_999_999),
            Ok(id.clone())
        );
        assert_eq!(
            signer.check(Purpose::Reply, &token.to_ascii_uppercase(), 1_000),
            Ok(id.clone()),
            "a mail system that upper-cases the address changes nothing"
        );
        assert_eq!(
            signer.check(Purpose::Reply, &token, 2_000_000_001),
            Err(TokenError::Expired)
        );
        assert_eq!(
            signer.check(Purpose::Open, &token, 1_000),
            Err(TokenError::Forged),
            "a reply token does not open the widget"
        );
        let other = Signer::new(b"another key".to_vec());
        assert_eq!(
            other.check(Purpose::Reply, &token, 1_000),
            Err(TokenError::Forged)
        );
        // A later expiry written over the token's own: the tag no longer matches.
        let (head, tag) = token.rsplit_once('.').unwrap();
        let (id_part, _) = head.split_once('.').unwrap();
        let extended = format!("{id_part}.{:x}.{tag}", 4_000_000_000u64);
        assert_eq!(
            signer.check(Purpose::Reply, &extended, 1_000),
            Err(TokenError::Forged)
        );
        for bad in [
            "",
            "x",
            "a.b.c",
            &format!("{id}.zz.00"),
            &format!("{token}.1"),
        ] {
            assert_eq!(
                signer.check(Purpose::Reply, bad, 1_000),
                Err(TokenError::Malformed),
                "{bad}"
            );
        }
        let address = format!("reply+{token}@in.larkspur.example");
        assert!(address.split('@').next().unwrap().len() <= 64, "{address}");
        assert!(!format!("{signer:?}").contains("0123"));
    }

    #[test]
    fn a_reply_address_gives_its_token_only_at_the_reply_domain() {
        let domain = "in.larkspur.example";
        assert_eq!(
            reply_token("reply+abc.1.ff@in.larkspur.example", domain),
            Some("abc.1.ff")
        );
        assert_eq!(
            reply_token("Reply+abc@IN.Larkspur.example", domain),
            Some("abc")
        );
        assert_eq!(reply_token("reply+abc@elsewhere.example", domain), None);
        assert_eq!(reply_token("support@in.larkspur.example", domain), None);
        assert_eq!(reply_token("other+abc@in.larkspur.example", domain), None);
    }
}
