//! Sending e-mail through the store's outbox (`ports::Outbox`): a cause queues its mail under a
//! key (queued once per key), and one worker per node leases what is due, hands it to the SMTP
//! server (`lettre`), and records the outcome: sent; a temporary failure (connection refused,
//! a 4xx answer) tried again with growing pauses; a permanent refusal (5xx) or too many attempts
//! failed, with the server's answer kept for `/admin`. A restart or a crash loses nothing: what
//! was not recorded as sent is due again once its lease ends (so a crash between the SMTP
//! server's "250 OK" and the record sends that mail twice, with the same `Message-ID`).
//!
//! The causes: a note to the team (`team_email`) for each offline message, queued when the
//! message is stored and again, idempotently, by a sweep over the follow-ups at start (a crash
//! between the two steps loses no note); and an agent's answer to an offline message, written in
//! the console, kept in the transcript and mailed to the address the visitor left.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::{Mailbox, header};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::conversation::{ConversationId, EmailReply, EventBody, now_ms};
use crate::ports::{Attempt, Mail, OutboxEntry, Store, StoreResult};

/// How long a worker holds a mail it is sending before another may take it.
const LEASE: Duration = Duration::from_secs(60);
/// How often the worker looks for due mail when nobody wakes it.
const POLL: Duration = Duration::from_secs(5);
/// Mails sent per round.
const BATCH: usize = 20;
/// Attempts before a mail is given up.
pub const MAX_ATTEMPTS: u32 = 8;
/// The longest pause between two attempts.
const MAX_PAUSE: Duration = Duration::from_secs(3600);
/// How long one SMTP exchange may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

/// What the mail settings are, checked.
#[derive(Clone)]
pub struct MailSettings {
    pub from: Mailbox,
    /// Where offline messages are announced, if anywhere.
    pub team: Option<Mailbox>,
    /// The pause before the first retry; each next one doubles (up to an hour).
    pub first_retry: Duration,
}

/// Queues mails and wakes this node's worker.
#[derive(Clone)]
pub struct Postbox {
    store: Arc<dyn Store>,
    settings: MailSettings,
    wake: Arc<tokio::sync::Notify>,
}

impl Postbox {
    /// Queues the team's note about the offline message at `seq` of `id` (once per message).
    pub async fn offline_message(
        &self,
        id: &ConversationId,
        seq: u64,
        email: &str,
        text: &str,
    ) -> StoreResult<()> {
        let Some(team) = &self.settings.team else {
            return Ok(());
        };
        let mail = Mail {
            key: format!("offline:{id}:{seq}"),
            to: team.to_string(),
            subject: format!("Offline message from {email}"),
            text: format!(
                "{email} left a message while nobody could answer:\n\n{text}\n\n\
                 Answer it from the agent console (Follow-ups); the conversation is {id}.\n"
            ),
            conversation: Some(id.to_string()),
            automatic: true,
        };
        if self.store.queue_mail(mail, now_ms()).await? {
            self.wake.notify_one();
        }
        Ok(())
    }

    /// Queues an agent's e-mail answer to an offline message (once per reply: its key is the
    /// reply's place in the log), in the conversation's language, quoting what the visitor
    /// wrote.
    pub async fn reply(
        &self,
        id: &ConversationId,
        agent: &str,
        text: &str,
        reply: &EmailReply,
    ) -> StoreResult<()> {
        let words = ReplyWords::of(reply.language.as_deref());
        let quoted: String = reply.asked.lines().map(|l| format!("> {l}\n")).collect();
        let mail = Mail {
            key: format!("reply:{id}:{}", reply.seq),
            to: reply.to.clone(),
            subject: words.subject.to_owned(),
            text: format!("{text}\n\n{agent}\n\n{}:\n{quoted}", words.yours),
            conversation: Some(id.to_string()),
            automatic: false,
        };
        if self.store.queue_mail(mail, now_ms()).await? {
            self.wake.notify_one();
        }
        Ok(())
    }

    /// Queues the notes of offline messages still waiting for a follow-up (those a crash kept
    /// from being queued; the others are known by their keys).
    pub async fn sweep_follow_ups(&self) -> StoreResult<usize> {
        if self.settings.team.is_none() {
            return Ok(0);
        }
        let mut queued = 0;
        for id in self.store.follow_ups().await? {
            for event in self.store.events_after(&id, 0).await? {
                if let EventBody::OfflineMessage { email, text } = &event.body {
                    self.offline_message(&id, event.seq, email, text).await?;
                    queued += 1;
                }
            }
        }
        Ok(queued)
    }
}

/// The words of an answer by e-mail, in the languages the widget speaks (English otherwise).
struct ReplyWords {
    subject: &'static str,
    /// Above the quote of what the visitor wrote.
    yours: &'static str,
}

impl ReplyWords {
    fn of(language: Option<&str>) -> ReplyWords {
        let (subject, yours) = match language.map(|l| l.split(['-', '_']).next().unwrap_or(l)) {
            Some("de") => ("Antwort auf Ihre Nachricht", "Ihre Nachricht"),
            Some("es") => ("Respuesta a tu mensaje", "Tu mensaje"),
            Some("fr") => ("Réponse à votre message", "Votre message"),
            Some("nl") => ("Antwoord op uw bericht", "Uw bericht"),
            _ => ("Reply to your message", "Your message"),
        };
        ReplyWords { subject, yours }
    }
}

/// This node's sender.
pub struct Mailer {
    store: Arc<dyn Store>,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    settings: MailSettings,
    wake: Arc<tokio::sync::Notify>,
}

/// Builds the postbox and the worker from `smtp_url` (`smtp://host:port`,
/// `smtps://user:pass@host:465`, `smtp://host:587?tls=required`).
pub fn start(
    store: Arc<dyn Store>,
    smtp_url: &str,
    settings: MailSettings,
) -> anyhow::Result<(Postbox, Mailer)> {
    let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
        .map_err(|e| anyhow::anyhow!("smtp_url: {e}"))?
        .timeout(Some(SMTP_TIMEOUT))
        .build();
    let wake = Arc::new(tokio::sync::Notify::new());
    let postbox = Postbox {
        store: store.clone(),
        settings: settings.clone(),
        wake: wake.clone(),
    };
    Ok((
        postbox,
        Mailer {
            store,
            transport,
            settings,
            wake,
        },
    ))
}

/// The pause after `attempts` failed attempts.
pub fn pause_after(first: Duration, attempts: u32) -> Duration {
    let doubled = first.saturating_mul(1 << attempts.saturating_sub(1).min(16));
    doubled.min(MAX_PAUSE)
}

impl Mailer {
    /// Sends due mail until `shutdown` flips: at once when woken, else every `POLL`.
    pub async fn run(self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        loop {
            if let Err(e) = self.round().await {
                tracing::warn!(error = %e, "cannot read the mail outbox; trying again");
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    /// Sends what is due now.
    async fn round(&self) -> StoreResult<()> {
        let due = self
            .store
            .lease_mails(now_ms(), LEASE.as_millis() as u64, BATCH)
            .await?;
        for entry in due {
            let attempt = self.attempt(&entry).await;
            match &attempt {
                Attempt::Sent => tracing::info!(key = %entry.mail.key, "mail sent"),
                Attempt::Retry { error, .. } => {
                    tracing::warn!(key = %entry.mail.key, %error, "mail not sent; will retry")
                }
                Attempt::Failed { error } => {
                    tracing::warn!(key = %entry.mail.key, %error, "mail given up")
                }
            }
            self.store
                .record_attempt(&entry.mail.key, attempt, now_ms())
                .await?;
        }
        Ok(())
    }

    async fn attempt(&self, entry: &OutboxEntry) -> Attempt {
        let message = match message(&entry.mail, &self.settings.from) {
            Ok(m) => m,
            Err(error) => return Attempt::Failed { error },
        };
        match self.transport.send(message).await {
            Ok(_) => Attempt::Sent,
            Err(e) if e.is_permanent() => Attempt::Failed {
                error: e.to_string(),
            },
            Err(e) if entry.attempts + 1 >= MAX_ATTEMPTS => Attempt::Failed {
                error: format!("gave up after {MAX_ATTEMPTS} attempts: {e}"),
            },
            Err(e) => Attempt::Retry {
                at: now_ms()
                    + pause_after(self.settings.first_retry, entry.attempts + 1).as_millis() as u64,
                error: e.to_string(),
            },
        }
    }
}

/// The RFC 5322 message of `mail`: plain text, a `Message-ID` made from its key (the same on
/// every attempt), `Auto-Submitted` when no person wrote it.
pub fn message(mail: &Mail, from: &Mailbox) -> Result<Message, String> {
    let to: Mailbox = mail
        .to
        .parse()
        .map_err(|e| format!("`{}` is not an address: {e}", mail.to))?;
    let domain = from.email.domain().to_owned();
    let id = hex::encode(&<sha2::Sha256 as sha2::Digest>::digest(mail.key.as_bytes())[..12]);
    let mut builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.clone())
        .message_id(Some(format!("<{id}@{domain}>")));
    if mail.automatic {
        builder = builder.header(AutoSubmitted);
    }
    builder
        .header(header::ContentType::TEXT_PLAIN)
        .body(mail.text.clone())
        .map_err(|e| e.to_string())
}

/// `Auto-Submitted: auto-generated` (RFC 3834): no person wrote it; auto-responders stay quiet.
#[derive(Clone)]
struct AutoSubmitted;

impl header::Header for AutoSubmitted {
    fn name() -> header::HeaderName {
        header::HeaderName::new_from_ascii_str("Auto-Submitted")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted)
    }
    fn display(&self) -> header::HeaderValue {
        header::HeaderValue::new(Self::name(), "auto-generated".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_up_to_an_hour() {
        let first = Duration::from_secs(30);
        assert_eq!(pause_after(first, 1), Duration::from_secs(30));
        assert_eq!(pause_after(first, 2), Duration::from_secs(60));
        assert_eq!(pause_after(first, 4), Duration::from_secs(240));
        assert_eq!(pause_after(first, 30), MAX_PAUSE);
    }

    #[test]
    fn a_message_has_its_stable_id_and_says_when_no_person_wrote_it() {
        let from: Mailbox = "Larkspur <support@larkspur.example>".parse().unwrap();
        let mail = Mail {
            key: "offline:abc:3".into(),
            to: "team@larkspur.example".into(),
            subject: "Offline message from a@b.example".into(),
            text: "Hello\n".into(),
            conversation: None,
            automatic: true,
        };
        let a = String::from_utf8(message(&mail, &from).unwrap().formatted()).unwrap();
        let b = String::from_utf8(message(&mail, &from).unwrap().formatted()).unwrap();
        let id = |m: &str| {
            m.lines()
                .find(|l| l.starts_with("Message-ID:"))
                .unwrap()
                .to_owned()
        };
        assert_eq!(id(&a), id(&b), "the same on every attempt");
        assert!(id(&a).ends_with("@larkspur.example>"), "{a}");
        assert!(a.contains("Auto-Submitted: auto-generated"), "{a}");
        assert!(a.contains("To: team@larkspur.example"), "{a}");
        let bad = Mail {
            to: "not an address".into(),
            ..mail
        };
        assert!(message(&bad, &from).unwrap_err().contains("not an address"));
    }
}
