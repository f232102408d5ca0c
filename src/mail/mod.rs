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
//! between the two steps loses no note); an agent's answer to an offline message, written in
//! the console, kept in the transcript and mailed to the address the visitor left; the replies
//! a visitor did not see because their widget was gone (queued when the agent writes, due
//! `mail_after_minutes` later, written when due from what the visitor has not had, dropped if
//! they read it in the chat meanwhile); and a transcript the visitor asks for.
//!
//! Mails to visitors carry a link that reopens the conversation in the widget and, with
//! `mail_reply_domain`, answer to a signed reply address (`sign.rs`); answers come back through
//! `inbound.rs`. Their words are in `compose.rs`, in plain text and simple HTML.

mod compose;
pub mod inbound;
pub mod sign;

use std::sync::Arc;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart, header};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

pub use self::compose::Words;
use self::compose::{Body, transcript};
use self::sign::{Purpose, Signer};
use crate::conversation::{Conversation, ConversationId, EmailReply, Event, EventBody, now_ms};
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
/// How long a link in a mail reopens its conversation.
pub const OPEN_LINK_DAYS: u64 = 7;
/// How long a reply address takes answers.
pub const REPLY_ADDRESS_DAYS: u64 = 30;
/// The key prefix of a mail of replies the visitor has not seen (`continuity:<id>:<had>`).
const CONTINUITY: &str = "continuity:";
/// One transcript per conversation per clock hour.
const TRANSCRIPT_WINDOW_MS: u64 = 3_600_000;

/// What the mail settings are, checked.
#[derive(Clone)]
pub struct MailSettings {
    pub from: Mailbox,
    /// Where offline messages are announced, if anywhere.
    pub team: Option<Mailbox>,
    /// The pause before the first retry; each next one doubles (up to an hour).
    pub first_retry: Duration,
    /// How long a visitor's widget must have been gone before replies are mailed.
    pub after: Duration,
    /// Where answers by mail arrive (`reply+<token>@<this>`), if anywhere.
    pub reply_domain: Option<String>,
    /// The origins whose pages hold the widget (for links back to the chat): localhost and
    /// `allowed_origins`.
    pub widget_origins: Arc<dyn Fn(&str) -> bool + Send + Sync>,
}

/// Queues mails and wakes this node's worker.
#[derive(Clone)]
pub struct Postbox {
    store: Arc<dyn Store>,
    settings: MailSettings,
    /// Made from the store's mail key when first needed (the same on every node).
    signer: Arc<tokio::sync::OnceCell<Signer>>,
    wake: Arc<tokio::sync::Notify>,
}

/// What a transcript request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TranscriptSent {
    Queued,
    /// One was already sent within the hour.
    TooSoon,
}

/// A leased mail, ready to send or found not needed.
enum Prepared {
    /// Send it; after it is sent, the visitor has had the conversation up to this place.
    Send(Box<Mail>, Option<(ConversationId, u64)>),
    /// Not needed any more (the visitor saw the replies in the chat, or the conversation was
    /// erased).
    Drop,
}

impl Postbox {
    /// The signer of links and reply addresses.
    pub async fn signer(&self) -> StoreResult<&Signer> {
        self.signer
            .get_or_try_init(|| async { Ok(Signer::new(self.store.mail_key().await?)) })
            .await
    }

    /// The domain answers by mail arrive at, if set.
    pub fn reply_domain(&self) -> Option<&str> {
        self.settings.reply_domain.as_deref()
    }

    async fn queue(&self, mail: Mail, due: u64) -> StoreResult<bool> {
        let queued = self.store.queue_mail(mail, now_ms(), due).await?;
        if queued {
            self.wake.notify_one();
        }
        Ok(queued)
    }

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
            html: None,
            reply_to: None,
            conversation: Some(id.to_string()),
            automatic: true,
        };
        self.queue(mail, now_ms()).await.map(drop)
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
        let words = Words::of(reply.language.as_deref());
        let mut body = Body::default();
        body.para(text).para(agent).quote(words.yours, &reply.asked);
        if self.settings.reply_domain.is_some() {
            body.para(words.answer_here);
        }
        let key = format!("reply:{id}:{}", reply.seq);
        let mail = self
            .to_visitor(id, key, reply.to.clone(), words.reply_subject, &body, false)
            .await?;
        self.queue(mail, now_ms()).await.map(drop)
    }

    /// After an agent wrote to the visitor of `id`: when the visitor gave an address, queues a
    /// mail of what they have not had yet, due after `mail_after_minutes` (if they read it in
    /// the chat by then, it is dropped). Replies written while one is pending join it: its key
    /// is how far the visitor had the conversation.
    pub async fn agent_wrote(&self, id: &ConversationId) -> StoreResult<()> {
        let Some(c) = self.store.get(id).await? else {
            return Ok(());
        };
        let had = self.store.delivered(id).await?;
        if had >= c.last_seq {
            return Ok(());
        }
        let Some(to) = self.address_of(&c).await? else {
            return Ok(());
        };
        let mail = Mail {
            key: format!("{CONTINUITY}{id}:{had}"),
            to,
            // What /admin shows until it is written, when due, in the visitor's language.
            subject: "Replies not yet seen in the chat".into(),
            text: String::new(),
            html: None,
            reply_to: None,
            conversation: Some(id.to_string()),
            automatic: false,
        };
        let due = now_ms() + self.settings.after.as_millis() as u64;
        self.queue(mail, due).await.map(drop)
    }

    /// Mails the visitor of `id` the conversation so far, to `to` or the address they gave;
    /// once per conversation per clock hour. `None` when there is no address to send it to.
    pub async fn transcript(
        &self,
        id: &ConversationId,
        to: Option<String>,
    ) -> StoreResult<Option<TranscriptSent>> {
        let Some(c) = self.store.get(id).await? else {
            return Ok(None);
        };
        let to = match to {
            Some(to) => to,
            None => match self.address_of(&c).await? {
                Some(to) => to,
                None => return Ok(None),
            },
        };
        let now = now_ms();
        let words = Words::of(c.memory.language.as_deref());
        let log = self.store.events_after(id, 0).await?;
        let mut body = Body::default();
        body.para(words.transcript);
        transcript(&mut body, words, &log);
        self.links(&mut body, words, &c).await?;
        let key = format!("transcript:{id}:{}", now / TRANSCRIPT_WINDOW_MS);
        // Sent by the server on request, not written by a person: auto-responders stay quiet.
        let mail = self
            .to_visitor(id, key, to, words.transcript_subject, &body, true)
            .await?;
        Ok(Some(if self.queue(mail, now).await? {
            TranscriptSent::Queued
        } else {
            TranscriptSent::TooSoon
        }))
    }

    /// The address the visitor of `c` gave: in the widget's `hello` (a pre-chat field or the
    /// site), else the newest one they left with a message.
    async fn address_of(&self, c: &Conversation) -> StoreResult<Option<String>> {
        if let Some(email) = c.visitor.email.as_ref().filter(|e| e.contains('@')) {
            return Ok(Some(email.clone()));
        }
        let log = self.store.events_after(&c.id, 0).await?;
        Ok(log.iter().rev().find_map(|e| match &e.body {
            EventBody::OfflineMessage { email, .. } => Some(email.clone()),
            _ => None,
        }))
    }

    /// A mail to the visitor of `id`: `body` in plain text and HTML, answering to the
    /// conversation's reply address (when answers by mail are set up).
    async fn to_visitor(
        &self,
        id: &ConversationId,
        key: String,
        to: String,
        subject: &str,
        body: &Body,
        automatic: bool,
    ) -> StoreResult<Mail> {
        Ok(Mail {
            key,
            to,
            subject: subject.to_owned(),
            text: body.text.clone(),
            html: Some(body.html_document()),
            reply_to: self.reply_address(id).await?,
            conversation: Some(id.to_string()),
            automatic,
        })
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

    /// `reply+<token>@<mail_reply_domain>` for conversation `id`, if answers by mail are set up.
    pub async fn reply_address(&self, id: &ConversationId) -> StoreResult<Option<String>> {
        let Some(domain) = self.settings.reply_domain.as_deref() else {
            return Ok(None);
        };
        let until = now_ms() / 1000 + REPLY_ADDRESS_DAYS * 86_400;
        let token = self.signer().await?.token(Purpose::Reply, id, until);
        Ok(Some(format!("reply+{token}@{domain}")))
    }

    /// The page the visitor of `c` was on, with a link token that reopens the conversation in
    /// its widget; only for a page whose origin holds the widget (never a link to elsewhere).
    pub async fn open_link(&self, c: &Conversation) -> StoreResult<Option<String>> {
        let Some(mut page) = c
            .visitor
            .page
            .as_deref()
            .and_then(|p| url::Url::parse(p).ok())
        else {
            return Ok(None);
        };
        if !(self.settings.widget_origins)(&page.origin().ascii_serialization()) {
            return Ok(None);
        }
        let until = now_ms() / 1000 + OPEN_LINK_DAYS * 86_400;
        let token = self.signer().await?.token(Purpose::Open, &c.id, until);
        page.set_fragment(Some(&format!("frontdesk={token}")));
        Ok(Some(page.into()))
    }

    /// The link back to the chat and the word on answering by mail, when there are.
    async fn links(&self, body: &mut Body, words: &Words, c: &Conversation) -> StoreResult<()> {
        if let Some(link) = self.open_link(c).await? {
            body.link(words.open, &link);
        }
        if self.settings.reply_domain.is_some() {
            body.para(words.answer_here);
        }
        Ok(())
    }

    /// Makes a leased mail ready: a mail of unseen replies is written now, from what the
    /// visitor has not had yet (dropped when that is nothing); any other is sent as queued.
    async fn prepare(&self, entry: &OutboxEntry) -> StoreResult<Prepared> {
        let Some(id) = continuity_of(&entry.mail.key) else {
            return Ok(Prepared::Send(Box::new(entry.mail.clone()), None));
        };
        let Some(c) = self.store.get(&id).await? else {
            return Ok(Prepared::Drop);
        };
        let had = self.store.delivered(&id).await?;
        let log = self.store.events_after(&id, had).await?;
        let replies: Vec<&Event> = log
            .iter()
            .filter(|e| {
                matches!(
                    e.body,
                    EventBody::AgentMessage { .. } | EventBody::AgentFile { .. }
                )
            })
            .collect();
        let Some(last) = replies.last() else {
            return Ok(Prepared::Drop);
        };
        let agent = match &last.body {
            EventBody::AgentMessage { agent, .. } | EventBody::AgentFile { agent, .. } => agent,
            _ => "",
        };
        let words = Words::of(c.memory.language.as_deref());
        let mut body = Body::default();
        body.para(&words.continued.replace("{name}", agent));
        for reply in &replies {
            match &reply.body {
                EventBody::AgentMessage { agent, text, .. } => body.said(agent, text),
                EventBody::AgentFile { agent, file, .. } => body.said(agent, &file.name),
                _ => continue,
            };
        }
        self.links(&mut body, words, &c).await?;
        let subject = words.continued_subject.replace("{name}", agent);
        let (key, to) = (entry.mail.key.clone(), entry.mail.to.clone());
        let mail = self
            .to_visitor(&id, key, to, &subject, &body, false)
            .await?;
        Ok(Prepared::Send(Box::new(mail), Some((id, last.seq))))
    }
}

/// The conversation a mail of unseen replies is about, from its key.
fn continuity_of(key: &str) -> Option<ConversationId> {
    let rest = key.strip_prefix(CONTINUITY)?;
    ConversationId::parse(rest.split(':').next()?)
}

/// This node's sender.
pub struct Mailer {
    postbox: Postbox,
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

/// Builds the postbox and the worker from `smtp_url` (`smtp://host:port`,
/// `smtps://user:pass@host:465`, `smtp://host:587?tls=required`), signing with the store's
/// mail key.
pub fn start(
    store: Arc<dyn Store>,
    smtp_url: &str,
    settings: MailSettings,
) -> anyhow::Result<(Postbox, Mailer)> {
    let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
        .map_err(|e| anyhow::anyhow!("smtp_url: {e}"))?
        .timeout(Some(SMTP_TIMEOUT))
        .build();
    let postbox = Postbox {
        store,
        settings,
        signer: Arc::default(),
        wake: Arc::new(tokio::sync::Notify::new()),
    };
    Ok((postbox.clone(), Mailer { postbox, transport }))
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
                _ = self.postbox.wake.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    /// Sends what is due now.
    async fn round(&self) -> StoreResult<()> {
        let store = &self.postbox.store;
        let due = store
            .lease_mails(now_ms(), LEASE.as_millis() as u64, BATCH)
            .await?;
        for entry in due {
            let (mail, had) = match self.postbox.prepare(&entry).await? {
                Prepared::Send(mail, had) => (mail, had),
                Prepared::Drop => {
                    tracing::info!(key = %entry.mail.key, "mail not needed: the visitor read the replies");
                    store.drop_mail(&entry.mail.key).await?;
                    continue;
                }
            };
            let attempt = self.attempt(&mail, entry.attempts).await;
            if let (Attempt::Sent, Some((id, seq))) = (&attempt, &had) {
                store.raise_delivered(id, *seq).await?;
            }
            match &attempt {
                Attempt::Sent => tracing::info!(key = %entry.mail.key, "mail sent"),
                Attempt::Retry { error, .. } => {
                    tracing::warn!(key = %entry.mail.key, %error, "mail not sent; will retry")
                }
                Attempt::Failed { error } => {
                    tracing::warn!(key = %entry.mail.key, %error, "mail given up")
                }
            }
            store
                .record_attempt(&entry.mail.key, attempt, now_ms())
                .await?;
        }
        Ok(())
    }

    async fn attempt(&self, mail: &Mail, attempts: u32) -> Attempt {
        let message = match message(mail, &self.postbox.settings.from) {
            Ok(m) => m,
            Err(error) => return Attempt::Failed { error },
        };
        match self.transport.send(message).await {
            Ok(_) => Attempt::Sent,
            Err(e) if e.is_permanent() => Attempt::Failed {
                error: e.to_string(),
            },
            Err(e) if attempts + 1 >= MAX_ATTEMPTS => Attempt::Failed {
                error: format!("gave up after {MAX_ATTEMPTS} attempts: {e}"),
            },
            Err(e) => Attempt::Retry {
                at: now_ms()
                    + pause_after(self.postbox.settings.first_retry, attempts + 1).as_millis()
                        as u64,
                error: e.to_string(),
            },
        }
    }
}

/// The RFC 5322 message of `mail`: plain text (and HTML beside it, if it has), a `Message-ID`
/// made from its key (the same on every attempt), `Reply-To` if it has one, `Auto-Submitted`
/// when no person wrote it.
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
    if let Some(reply_to) = &mail.reply_to {
        let reply_to: Mailbox = reply_to
            .parse()
            .map_err(|e| format!("`{reply_to}` is not an address: {e}"))?;
        builder = builder.reply_to(reply_to);
    }
    if mail.automatic {
        builder = builder.header(AutoSubmitted);
    }
    match &mail.html {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(
            mail.text.clone(),
            html.clone(),
        )),
        None => builder
            .header(header::ContentType::TEXT_PLAIN)
            .body(mail.text.clone()),
    }
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
            html: None,
            reply_to: None,
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
