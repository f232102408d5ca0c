//! Personal data: redacting e-mail addresses, phone numbers and card numbers from what visitors
//! write (before it is stored, so neither the transcript nor agents ever see it), erasing
//! conversations after the retention period, and erasing one visitor's data on request
//! (`frontdesk forget`).

use std::borrow::Cow;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use regex::{Captures, Regex};
use serde::{Deserialize, Serialize};

use crate::conversation::{VisitorKey, now_ms};
use crate::ports::{Store, StoreResult};

pub use crate::config::Redact;

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b")
        .expect("invariant: a valid pattern")
});
static CARD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b\d(?:[ -]?\d){12,18}\b").expect("invariant: a valid pattern"));
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:\+ ?|\()?\b\d(?:[ .()-]{0,2}\d)*\b").expect("invariant: a valid pattern")
});

/// Redacts `text` for each of `kinds` (cards first, so a card number is never half a phone).
pub fn redact<'a>(text: &'a str, kinds: &[Redact]) -> Cow<'a, str> {
    let mut out = Cow::Borrowed(text);
    if kinds.contains(&Redact::Card) {
        out = replace(out, &CARD, |digits| luhn_valid(digits).then_some("[card]"));
    }
    if kinds.contains(&Redact::Email) {
        out = replace(out, &EMAIL, |_| Some("[email]"));
    }
    if kinds.contains(&Redact::Phone) {
        out = replace(out, &PHONE, |digits| {
            (9..=15).contains(&digits.len()).then_some("[phone]")
        });
    }
    out
}

/// Replaces each match that `with` accepts; `with` sees the match's digits (the whole match when
/// it has none).
fn replace<'a>(
    text: Cow<'a, str>,
    pattern: &Regex,
    with: impl Fn(&str) -> Option<&'static str>,
) -> Cow<'a, str> {
    if !pattern.is_match(&text) {
        return text;
    }
    let replaced = pattern.replace_all(&text, |c: &Captures| {
        let raw = &c[0];
        let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
        let key = if digits.is_empty() { raw } else { &digits };
        with(key).map_or_else(|| raw.to_owned(), str::to_owned)
    });
    Cow::Owned(replaced.into_owned())
}

/// The Luhn checksum every payment card number passes.
pub fn luhn_valid(digits: &str) -> bool {
    let mut sum = 0;
    for (i, b) in digits.bytes().rev().enumerate() {
        let mut d = u32::from(b - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    digits.len() >= 13 && sum % 10 == 0
}

/// Erases every conversation with no activity for `retention`; returns how many.
pub async fn purge_expired(store: &dyn Store, retention: Duration) -> StoreResult<usize> {
    let cutoff = now_ms().saturating_sub(retention.as_millis() as u64);
    let mut erased = 0;
    for id in store.inactive_before(cutoff).await? {
        if store.delete(&id).await? {
            erased += 1;
        }
    }
    Ok(erased)
}

/// Erases every conversation of one visitor (by their visitor key); returns how many.
pub async fn forget_visitor(store: &dyn Store, key: &VisitorKey) -> StoreResult<usize> {
    let mut erased = 0;
    for id in store.visitor_conversations(key).await? {
        if store.delete(&id).await? {
            erased += 1;
        }
    }
    Ok(erased)
}

/// One conversation an erasure would remove, as an admin checks it before erasing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Found {
    pub conversation: String,
    /// When it started (ms since the epoch).
    pub created: u64,
    pub first_message: Option<String>,
    /// Items in its log.
    pub events: u64,
    /// The e-mail the visitor gave in it (a field or the offline form), if any.
    pub email: Option<String>,
}

/// Every conversation of the visitor `raw` names: an e-mail address they gave (in a pre-chat
/// field, a verified identity or the offline form; matched without regard to case) with every
/// conversation linked to those by their visitor key; or a visitor key; or a verified user id.
/// An e-mail is looked for in every conversation kept (erasure requests are rare; a store of
/// millions of conversations takes a while). `Err` when `raw` names nothing we can look up.
pub async fn find_visitor(
    store: &dyn Store,
    raw: &str,
    identity: Option<&crate::identity::IdentitySecret>,
) -> StoreResult<Result<Vec<Found>, String>> {
    use crate::conversation::EventBody;
    let raw = raw.trim();
    let mut ids: Vec<crate::conversation::ConversationId> = Vec::new();
    if raw.contains('@') {
        let wanted = raw.to_lowercase();
        let mut keys = Vec::new();
        for id in store.conversations_created(0, i64::MAX as u64).await? {
            let Some(c) = store.get(&id).await? else {
                continue;
            };
            let mut gave = c
                .visitor
                .email
                .as_deref()
                .is_some_and(|e| e.to_lowercase() == wanted);
            if !gave {
                gave = store.events_after(&id, 0).await?.iter().any(|e| {
                    matches!(&e.body, EventBody::OfflineMessage { email, .. } if email.to_lowercase() == wanted)
                });
            }
            if gave {
                keys.extend(c.visitor_key.clone());
                ids.push(id);
            }
        }
        keys.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        keys.dedup();
        for key in keys {
            ids.extend(store.visitor_conversations(&key).await?);
        }
    } else {
        match visitor_key_of(raw, identity) {
            Ok(key) => ids = store.visitor_conversations(&key).await?,
            Err(message) => {
                return Ok(Err(format!(
                    "{message}; or give the e-mail address the visitor wrote from"
                )));
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    ids.retain(|id| seen.insert(id.clone()));
    let mut found = Vec::new();
    for id in ids {
        let Some(c) = store.get(&id).await? else {
            continue;
        };
        let events = store.events_after(&id, 0).await?;
        let left = events.iter().find_map(|e| match &e.body {
            EventBody::OfflineMessage { email, .. } => Some(email.clone()),
            _ => None,
        });
        found.push(Found {
            conversation: id.to_string(),
            created: c.created,
            first_message: events.iter().find_map(|e| match &e.body {
                EventBody::VisitorMessage { text, .. } | EventBody::OfflineMessage { text, .. } => {
                    Some(text.chars().take(120).collect())
                }
                _ => None,
            }),
            events: events.len() as u64,
            email: c.visitor.email.clone().or(left),
        });
    }
    found.sort_by_key(|f| f.created);
    Ok(Ok(found))
}

/// The visitor `raw` names: their visitor key (32 hex digits, shown to agents), or the site's
/// verified user id (which needs the identity secret, as keys of verified visitors derive from
/// it).
pub fn visitor_key_of(
    raw: &str,
    identity: Option<&crate::identity::IdentitySecret>,
) -> Result<VisitorKey, String> {
    if let Some(key) = VisitorKey::parse(raw) {
        return Ok(key);
    }
    match identity {
        Some(secret) if !raw.is_empty() => Ok(secret.visitor_key(raw)),
        _ => Err(format!(
            "`{raw}` is not a visitor key (32 hex digits); a site user id needs identity_secret"
        )),
    }
}

/// How often the retention sweep runs.
const SWEEP_EVERY: Duration = Duration::from_secs(3600);

/// Runs the retention sweep (and erases the attachments of conversations that are gone) now and
/// then every hour until shutdown. Every node may run it: a
/// conversation erased twice is erased once.
pub async fn retention_task(
    store: Arc<dyn Store>,
    attachments: Arc<crate::attachments::Attachments>,
    retention: Duration,
    metrics: Arc<crate::metrics::Metrics>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        match purge_expired(store.as_ref(), retention).await {
            Ok(0) => {}
            Ok(n) => {
                metrics
                    .erased
                    .with_label_values(&["retention"])
                    .inc_by(n as u64);
                tracing::info!(erased = n, "retention: erased expired conversations")
            }
            Err(e) => tracing::warn!(error = %e, "retention sweep failed; retrying next round"),
        }
        // Files of conversations erased here, by `frontdesk forget` or on another node.
        match attachments.sweep(store.as_ref()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(conversations = n, "retention: erased their attachments"),
            Err(e) => tracing::warn!(error = %e, "attachment sweep failed; retrying next round"),
        }
        tokio::select! {
            _ = tokio::time::sleep(SWEEP_EVERY) => {}
            _ = shutdown.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Redact::*;

    const ALL: &[Redact] = &[Email, Phone, Card];

    #[test]
    fn cards_that_pass_luhn_are_redacted_and_others_stay() {
        assert!(luhn_valid("4111111111111111"));
        assert!(!luhn_valid("4111111111111112"));
        assert_eq!(
            redact("my card is 4111 1111 1111 1111 thanks", &[Card]),
            "my card is [card] thanks"
        );
        assert_eq!(redact("4111-1111-1111-1111", &[Card]), "[card]");
        assert_eq!(
            redact("ref 4111 1111 1111 1112 failed", &[Card]),
            "ref 4111 1111 1111 1112 failed",
            "fails Luhn: not a card, kept"
        );
        assert_eq!(redact("order 12345", &[Card]), "order 12345");
    }

    #[test]
    fn emails_and_phones_are_redacted() {
        assert_eq!(
            redact("write to Ana.Lopez+shop@mail.example.com now", &[Email]),
            "write to [email] now"
        );
        assert_eq!(
            redact("call +44 20 7946 0958 or (555) 123-4567", &[Phone]),
            "call [phone] or [phone]"
        );
        assert_eq!(redact("call 030 901820", &[Phone]), "call [phone]");
        assert_eq!(
            redact("ref 4111 1111 1111 1112", &[Phone, Card]),
            "ref 4111 1111 1111 1112",
            "16 digits failing Luhn: neither a card nor a phone"
        );
    }

    #[test]
    fn short_numbers_dates_and_order_ids_stay() {
        for kept in [
            "order A-10482 arrived",
            "2 items, 3 days",
            "on 2026-11-23 at 10:30",
            "it costs 1299.99",
        ] {
            assert_eq!(redact(kept, ALL), kept);
        }
    }

    #[test]
    fn a_card_is_not_half_redacted_as_a_phone() {
        assert_eq!(
            redact("5555 5555 5555 4444 and me@x.io", ALL),
            "[card] and [email]"
        );
    }

    #[test]
    fn nothing_to_redact_borrows() {
        assert!(matches!(redact("hello there", ALL), Cow::Borrowed(_)));
        assert!(matches!(
            redact("4111 1111 1111 1111", &[]),
            Cow::Borrowed(_)
        ));
    }
}
