//! Identity verification: a site that knows who its visitor is (logged in) passes the visitor's
//! id with `hash = hex(HMAC-SHA256(secret, id))`, computed by the site's backend with the secret
//! it shares with this server. With a secret configured, an id is accepted only with a valid hash
//! (compared in constant time); a verified visitor's conversations are linked for agents across
//! browsers and devices. See `docs/widget.md` for how sites compute the hash.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::conversation::VisitorKey;

type HmacSha256 = Hmac<Sha256>;

/// Longest visitor id accepted (site user ids are short).
const MAX_ID: usize = 128;

/// The secret shared with the site's backend.
#[derive(Clone)]
pub struct IdentitySecret(Vec<u8>);

impl std::fmt::Debug for IdentitySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        f.write_str("IdentitySecret(<secret>)")
    }
}

/// Why an identity claim was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("the visitor id must be 1 to {MAX_ID} characters")]
    BadId,
    #[error("the identity hash is missing")]
    MissingHash,
    #[error("the identity hash does not match the visitor id")]
    WrongHash,
}

fn mac(key: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length.
    HmacSha256::new_from_slice(key).expect("invariant: HMAC accepts any key length")
}

impl IdentitySecret {
    pub fn new(secret: &str) -> IdentitySecret {
        IdentitySecret(secret.as_bytes().to_vec())
    }

    /// The hash a site's backend sends for `id` (hex).
    pub fn sign(&self, id: &str) -> String {
        let mut m = mac(&self.0);
        m.update(id.as_bytes());
        hex::encode(m.finalize().into_bytes())
    }

    /// Checks a claim: `Ok` with the id when `hash` is its HMAC.
    pub fn verify(&self, id: &str, hash: Option<&str>) -> Result<String, IdentityError> {
        if id.is_empty() || id.len() > MAX_ID {
            return Err(IdentityError::BadId);
        }
        let hash = hash.ok_or(IdentityError::MissingHash)?;
        let tag = hex::decode(hash.trim()).map_err(|_| IdentityError::WrongHash)?;
        let mut m = mac(&self.0);
        m.update(id.as_bytes());
        // `verify_slice` compares in constant time.
        m.verify_slice(&tag)
            .map(|()| id.to_owned())
            .map_err(|_| IdentityError::WrongHash)
    }

    /// The key that links every conversation of the verified visitor `id` (derived, so the id
    /// itself is not a store key and cannot be guessed from one).
    pub fn visitor_key(&self, id: &str) -> VisitorKey {
        let mut m = mac(&self.0);
        m.update(b"frontdesk visitor key\0");
        m.update(id.as_bytes());
        let bytes = m.finalize().into_bytes();
        VisitorKey::parse(&hex::encode(&bytes[..16]))
            .expect("invariant: 16 bytes are 32 hex digits")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_sites_hash_verifies_an_id() {
        let secret = IdentitySecret::new("s3cret");
        // The documented example: HMAC-SHA256("s3cret", "user-42"), as a site computes it.
        let hash = secret.sign("user-42");
        assert_eq!(hash.len(), 64);
        assert_eq!(secret.verify("user-42", Some(&hash)), Ok("user-42".into()));
        assert_eq!(
            secret.verify("user-43", Some(&hash)),
            Err(IdentityError::WrongHash)
        );
        assert_eq!(
            secret.verify("user-42", None),
            Err(IdentityError::MissingHash)
        );
        assert_eq!(
            secret.verify("user-42", Some("zz")),
            Err(IdentityError::WrongHash)
        );
        assert_eq!(
            IdentitySecret::new("other").verify("user-42", Some(&hash)),
            Err(IdentityError::WrongHash)
        );
        assert_eq!(secret.verify("", Some(&hash)), Err(IdentityError::BadId));
        assert!(!format!("{secret:?}").contains("s3cret"));
    }

    #[test]
    fn a_verified_id_always_maps_to_the_same_visitor_key() {
        let secret = IdentitySecret::new("s3cret");
        assert_eq!(secret.visitor_key("user-42"), secret.visitor_key("user-42"));
        assert_ne!(secret.visitor_key("user-42"), secret.visitor_key("user-43"));
    }
}
