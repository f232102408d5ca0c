//! API tokens: what an integration presents as `Authorization: Bearer <token>` to `/api/v1`.
//! A token is 256 random bits shown once when it is made (`frontdesk token add`); the store keeps
//! only its SHA-256 (a random secret that long needs no slow hash: there is nothing to guess),
//! with its name and scopes, so every node sees the same tokens and revoking one takes effect on
//! all of them at the next request.
//!
//! A token's name is also who it is: logged with every request it makes (never the token), and
//! the agent id it writes as when it acts on conversations (`write`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::conversation::random_secret;

/// What a token may do. Scopes do not imply each other: a token that reads and writes has both.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Conversations, the queue, agents, KPIs and unanswered questions.
    Read,
    /// Act as an integration agent: claim, reply, note, hand back, close.
    Write,
    /// The knowledge base's status and reload; visitors' export and erasure.
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Admin => "admin",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = String;

    fn from_str(s: &str) -> Result<Scope, String> {
        match s.trim() {
            "read" => Ok(Scope::Read),
            "write" => Ok(Scope::Write),
            "admin" => Ok(Scope::Admin),
            other => Err(format!(
                "unknown scope `{other}`: the scopes are read, write and admin"
            )),
        }
    }
}

/// A token as the store keeps it: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    /// Letters, digits, `-`, `_` (it is an agent id when the token writes).
    pub name: String,
    pub scopes: Vec<Scope>,
    /// SHA-256 of the token, hex.
    pub hash: String,
    /// When it was made, ms since the epoch.
    pub created: u64,
}

impl ApiToken {
    pub fn allows(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }
}

/// The prefix every token starts with, so that a leaked one is recognisable (secret scanners).
const PREFIX: &str = "fdk_";

/// A new token named `name` with `scopes`: the record to store and the token to show once.
pub fn issue(name: &str, scopes: &[Scope], now: u64) -> Result<(ApiToken, String), String> {
    if !crate::agents::valid_id(name) {
        return Err(format!(
            "`{name}` is not a token name: use letters, digits, `-` and `_`"
        ));
    }
    if scopes.is_empty() {
        return Err("a token needs at least one scope (read, write, admin)".into());
    }
    let token = format!("{PREFIX}{}{}", random_secret(), random_secret());
    let mut scopes = scopes.to_vec();
    scopes.sort();
    scopes.dedup();
    let record = ApiToken {
        name: name.to_owned(),
        scopes,
        hash: hash(&token),
        created: now,
    };
    Ok((record, token))
}

/// The stored form of `token`.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Whether `raw` has a token's shape (checked before any store read).
pub fn well_formed(raw: &str) -> bool {
    raw.strip_prefix(PREFIX)
        .is_some_and(|rest| rest.len() == 64 && rest.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_shown_once_and_only_its_hash_is_kept() {
        let (record, token) = issue("crm", &[Scope::Write, Scope::Read, Scope::Read], 7).unwrap();
        assert!(well_formed(&token), "{token}");
        assert_eq!(record.hash, hash(&token));
        assert!(!record.hash.contains(&token[4..]));
        assert_eq!(record.scopes, vec![Scope::Read, Scope::Write]);
        let (_, other) = issue("crm", &[Scope::Read], 7).unwrap();
        assert_ne!(token, other, "every token is new");
    }

    #[test]
    fn names_and_scopes_are_checked() {
        assert!(issue("a b", &[Scope::Read], 0).is_err());
        assert!(issue("crm", &[], 0).is_err());
        assert_eq!("admin".parse::<Scope>(), Ok(Scope::Admin));
        assert!("root".parse::<Scope>().is_err());
        assert!(!well_formed("fdk_123"));
        assert!(!well_formed(&format!("xyz_{}", "a".repeat(64))));
    }
}
