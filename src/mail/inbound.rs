//! Answers by mail: one RFC 5322 message (as an MTA delivers it to `frontdesk mail-in`, or a
//! provider posts it to `POST /api/mail/inbound`) read into the new text its writer added to a
//! conversation. The conversation is the one the signed reply address names
//! (`reply+<token>@mail_reply_domain`); a forged or expired token is refused. Automatic mail
//! (out-of-office, bounces, lists) is ignored: answering it would loop. Only the new text is
//! kept: replies are written above the quoted history in the mail programs people use (Gmail,
//! Outlook, Apple Mail, Thunderbird), so the text ends at the first quote header or quoted
//! block, and the signature goes.

use mail_parser::{Message, MessageParser, MimeHeaders};

use super::sign::{Purpose, Signer, TokenError, reply_token};
use crate::conversation::ConversationId;

/// Longest new text kept from one mail (characters); a longer one is refused, not cut.
pub const MAX_TEXT_CHARS: usize = 16_000;

/// A mail that adds to a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub conversation: ConversationId,
    /// The writer's address (`From`).
    pub from: String,
    /// What they wrote, without the quoted history and the signature.
    pub text: String,
    /// Names this mail: its `Message-ID` (or its bytes' hash): a redelivery adds nothing.
    pub key: String,
    /// Its attachments: file name and bytes.
    pub files: Vec<(String, Vec<u8>)>,
}

/// What became of a mail that was not refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    Answer(Answer),
    /// Automatic mail, and what gave it away.
    Ignored(&'static str),
}

/// Why a mail was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("not an e-mail message")]
    Unreadable,
    #[error("no reply address of this server among the recipients")]
    NoReplyAddress,
    #[error("reply address refused: {0}")]
    Token(#[from] TokenError),
    #[error("the mail has no sender address")]
    NoSender,
    #[error("the mail has no new text (only quoted history or a signature)")]
    Empty,
    #[error("the new text is longer than {MAX_TEXT_CHARS} characters")]
    TooLong,
}

impl Refused {
    /// Whether the writer should hear of it (a bounce): a real answer that cannot be taken,
    /// not a forgery or a stray mail.
    pub fn tell_sender(&self) -> bool {
        matches!(
            self,
            Refused::Token(TokenError::Expired) | Refused::Empty | Refused::TooLong
        )
    }
}

/// Reads `raw` for the conversation it answers. `recipient` is the envelope recipient when the
/// MTA gives it (it is checked first, then `Delivered-To`, `X-Original-To`, `To` and `Cc`);
/// `now` in seconds since the epoch.
pub fn read(
    raw: &[u8],
    recipient: Option<&str>,
    domain: &str,
    signer: &Signer,
    now: u64,
) -> Result<Received, Refused> {
    let message = MessageParser::default()
        .parse(raw)
        .filter(|m| !m.headers().is_empty())
        .ok_or(Refused::Unreadable)?;
    if let Some(why) = automatic(&message) {
        return Ok(Received::Ignored(why));
    }
    let conversation = conversation_of(&message, recipient, domain, signer, now)?;
    let from = message
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .filter(|a| a.contains('@'))
        .ok_or(Refused::NoSender)?
        .to_owned();
    let text = match (part_of(&message, "plain"), part_of(&message, "html")) {
        (Some(text), _) => new_text(&text),
        // An HTML-only mail: its quoted history cut in the HTML, where it is marked.
        (None, Some(html)) => new_text(&mail_parser::decoders::html::html_to_text(new_html(&html))),
        (None, None) => String::new(),
    };
    let files: Vec<(String, Vec<u8>)> = message
        .attachments()
        .filter(|a| !a.is_message())
        .map(|a| {
            let name = a.attachment_name().unwrap_or("attachment").to_owned();
            (name, a.contents().to_vec())
        })
        .collect();
    if text.is_empty() && files.is_empty() {
        return Err(Refused::Empty);
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(Refused::TooLong);
    }
    let key = match message.message_id() {
        Some(id) => format!("mail:{}", hash(id.as_bytes())),
        None => format!("mail:{}", hash(raw)),
    };
    Ok(Received::Answer(Answer {
        conversation,
        from,
        text,
        key,
        files,
    }))
}

fn hash(bytes: &[u8]) -> String {
    hex::encode(&<sha2::Sha256 as sha2::Digest>::digest(bytes)[..16])
}

/// The mail's first body part of type `text/<subtype>` as sent (not one converted from the
/// other kind, as mail-parser's `body_text` and `body_html` would give).
fn part_of(message: &Message<'_>, subtype: &str) -> Option<String> {
    let texts = (0..).map_while(|n| message.text_part(n));
    let htmls = (0..).map_while(|n| message.html_part(n));
    texts
        .chain(htmls)
        .find(|p| {
            let sub = p
                .content_type()
                .and_then(|c| c.subtype())
                .unwrap_or("plain");
            sub.eq_ignore_ascii_case(subtype)
        })
        .and_then(|p| p.text_contents())
        .map(str::to_owned)
}

/// The conversation the first of this server's reply addresses among the recipients names.
fn conversation_of(
    message: &Message<'_>,
    recipient: Option<&str>,
    domain: &str,
    signer: &Signer,
    now: u64,
) -> Result<ConversationId, Refused> {
    let mut candidates: Vec<String> = recipient.into_iter().map(str::to_owned).collect();
    for name in ["Delivered-To", "X-Original-To"] {
        if let Some(raw) = message.header_raw(name) {
            candidates.push(raw.trim().trim_matches(['<', '>']).to_owned());
        }
    }
    for list in [message.to(), message.cc()].into_iter().flatten() {
        candidates.extend(list.iter().filter_map(|a| a.address()).map(str::to_owned));
    }
    let token = candidates
        .iter()
        .find_map(|a| reply_token(a, domain))
        .ok_or(Refused::NoReplyAddress)?;
    Ok(signer.check(Purpose::Reply, token, now)?)
}

/// What marks a mail no person wrote (RFC 3834 `Auto-Submitted`, the headers auto-responders
/// and lists use, a bounce's empty sender or report type, an out-of-office subject).
fn automatic(message: &Message<'_>) -> Option<&'static str> {
    let header = |name: &str| {
        message
            .header_raw(name)
            .map(|v| v.trim().to_ascii_lowercase())
    };
    if header("Auto-Submitted").is_some_and(|v| v != "no") {
        return Some("Auto-Submitted");
    }
    for name in ["X-Autoreply", "X-Autorespond", "X-Auto-Reply"] {
        if header(name).is_some() {
            return Some("an auto-reply header");
        }
    }
    for name in ["Precedence", "X-Precedence"] {
        if header(name)
            .is_some_and(|v| matches!(v.as_str(), "bulk" | "junk" | "list" | "auto_reply"))
        {
            return Some("Precedence");
        }
    }
    if header("List-Id").is_some() {
        return Some("a mailing list");
    }
    if header("Return-Path").is_some_and(|v| v == "<>") {
        return Some("a bounce (empty sender)");
    }
    if message
        .content_type()
        .is_some_and(|c| c.ctype() == "multipart" && c.subtype() == Some("report"))
    {
        return Some("a delivery report");
    }
    let subject = message.subject().unwrap_or("").to_lowercase();
    const AWAY: &[&str] = &[
        "automatic reply:",
        "auto:",
        "autoreply:",
        "auto-reply:",
        "out of office",
        "abwesenheitsnotiz",
        "automatische antwort",
        "respuesta automática",
        "réponse automatique",
        "absence du bureau",
        "automatisch antwoord",
        "afwezig",
    ];
    AWAY.iter()
        .any(|a| subject.starts_with(a))
        .then_some("an out-of-office subject")
}

/// An HTML body up to where its quoted history starts (the containers mail programs wrap it
/// in: Gmail's `gmail_quote`, Outlook's `divRplyFwdMsg` and `appendonsend`, Apple Mail's and
/// Thunderbird's `blockquote`, Thunderbird's `moz-cite-prefix`).
fn new_html(html: &str) -> &str {
    const MARKS: &[&str] = &[
        "<div class=\"gmail_quote",
        "<div class=\"gmail_extra",
        "<div id=\"divrplyfwdmsg",
        "<div id=\"appendonsend",
        "<hr id=\"stopspelling",
        "<div class=\"moz-cite-prefix",
        "<blockquote",
        "<div style=\"border:none;border-top:solid #e1e1e1",
        "<div style=\"border:none; border-top:solid #e1e1e1",
    ];
    let lower = html.to_ascii_lowercase();
    let cut = MARKS
        .iter()
        .filter_map(|m| lower.find(m))
        .min()
        .unwrap_or(html.len());
    &html[..cut]
}

/// The text its writer added above the quoted history, without the signature.
pub fn new_text(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    let lines: Vec<&str> = text.lines().collect();
    let mut kept: Vec<&str> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        if starts_history(&lines, i) || is_signature(t) {
            break;
        }
        if t.starts_with('>') {
            // Quoted lines between the writer's own (interleaved answers) are not theirs.
            continue;
        }
        kept.push(line.trim_end());
    }
    while kept.last().is_some_and(|l| l.trim().is_empty()) {
        kept.pop();
    }
    let start = kept.iter().take_while(|l| l.trim().is_empty()).count();
    kept[start..].join("\n")
}

/// Whether line `i` begins the quoted history: an attribution ("On <date>, <name> wrote:",
/// in the widget's languages, possibly wrapped over two or three lines), an "Original
/// Message" rule, or Outlook's header block ("From:" followed by "Sent:"/"Date:").
fn starts_history(lines: &[&str], i: usize) -> bool {
    let t = lines[i].trim();
    const ORIGINAL: &[&str] = &[
        "-----original message-----",
        "-----ursprüngliche nachricht-----",
        "-----mensaje original-----",
        "-----message d'origine-----",
        "-----oorspronkelijk bericht-----",
        "-------- original message --------",
        "-------- forwarded message --------",
    ];
    let lower = t.to_lowercase();
    if ORIGINAL.iter().any(|o| lower.starts_with(o)) {
        return true;
    }
    // "On Mon, 7 Dec 2026 at 10:02, Larkspur Support <support@larkspur.example> wrote:",
    // "Am Mo., 7. Dez. 2026 um 10:02 Uhr schrieb Larkspur Support <...>:", up to three lines.
    const OPENERS: &[&str] = &["on ", "am ", "el ", "le ", "op "];
    const VERBS: &[&str] = &["wrote", "schrieb", "escribió", "a écrit", "schreef"];
    if OPENERS.iter().any(|o| lower.starts_with(o)) {
        let mut joined = String::new();
        for line in &lines[i..lines.len().min(i + 3)] {
            joined.push_str(&line.trim().to_lowercase());
            joined.push(' ');
            // An attribution is short and ends with a colon; a sentence of the writer's that
            // starts with "On" does not.
            if joined.len() > 300 {
                break;
            }
            if joined.trim_end().ends_with(':') && VERBS.iter().any(|v| joined.contains(v)) {
                return true;
            }
        }
    }
    // Outlook: a rule of underscores, or "From: ..." with "Sent:"/"Date:" in the next lines.
    if t.len() >= 20 && t.chars().all(|c| c == '_') {
        return true;
    }
    const FROM: &[&str] = &["from:", "von:", "de:", "van:"];
    const SENT: &[&str] = &[
        "sent:",
        "date:",
        "gesendet:",
        "enviado:",
        "envoyé :",
        "envoyé:",
        "verzonden:",
        "datum:",
        "fecha:",
    ];
    if FROM.iter().any(|f| lower.starts_with(f)) {
        return lines[i + 1..lines.len().min(i + 4)]
            .iter()
            .any(|l| SENT.iter().any(|s| l.trim().to_lowercase().starts_with(s)));
    }
    false
}

/// Whether a line starts the signature: the "-- " separator (RFC 3676), or a mobile mail
/// program's line.
fn is_signature(t: &str) -> bool {
    let lower = t.to_lowercase();
    t == "--"
        || t == "—"
        || lower.starts_with("sent from my ")
        || lower.starts_with("get outlook for ")
        || lower.starts_with("von meinem iphone gesendet")
        || lower.starts_with("enviado desde mi ")
        || lower.starts_with("envoyé de mon ")
        || lower.starts_with("verzonden vanaf mijn ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_new_text_ends_at_the_history_and_the_signature() {
        let gmail = "Yes, size M please.\n\nThanks!\n\nOn Mon, Dec 7, 2026 at 10:02 AM Larkspur Support <\nreply+abc@in.larkspur.example> wrote:\n\n> Which size?\n";
        assert_eq!(new_text(gmail), "Yes, size M please.\n\nThanks!");
        let outlook = "Size M.\r\n\r\n________________________________\r\nFrom: Larkspur Support <support@larkspur.example>\r\nSent: Monday, December 7, 2026 10:02\r\nTo: Ana\r\nSubject: Re: your order\r\n\r\nWhich size?\r\n";
        assert_eq!(new_text(outlook), "Size M.");
        let outlook_no_rule =
            "Size M.\n\nFrom: Larkspur Support <support@larkspur.example>\nSent: Monday\n";
        assert_eq!(new_text(outlook_no_rule), "Size M.");
        let signed = "Size M.\n-- \nAna Souza\nACME Corp\n";
        assert_eq!(new_text(signed), "Size M.");
        let iphone =
            "Size M.\n\nSent from my iPhone\n\n> On 7 Dec 2026, at 10:02, Support wrote:\n";
        assert_eq!(new_text(iphone), "Size M.");
        let german = "Größe M.\n\nAm Mo., 7. Dez. 2026 um 10:02 Uhr schrieb Larkspur Support <support@larkspur.example>:\n> Welche Größe?\n";
        assert_eq!(new_text(german), "Größe M.");
        let interleaved = "> Which size?\nM\n> Which colour?\nBlue\n";
        assert_eq!(new_text(interleaved), "M\nBlue");
        let mentions = "On second thought, make it L.\nMy friend wrote: nothing.\n";
        assert_eq!(
            new_text(mentions),
            "On second thought, make it L.\nMy friend wrote: nothing."
        );
        assert_eq!(new_text("\n\n> only quoted\n"), "");
    }

    #[test]
    fn an_html_body_ends_where_its_quote_container_starts() {
        let gmail = "<div dir=\"ltr\">Size M</div><br><div class=\"gmail_quote\"><div>On Mon wrote:</div><blockquote>Which size?</blockquote></div>";
        assert_eq!(new_html(gmail), "<div dir=\"ltr\">Size M</div><br>");
        let outlook = "<div>Size M</div><div id=\"appendonsend\"></div><hr><div id=\"divRplyFwdMsg\">From: x</div>";
        assert_eq!(new_html(outlook), "<div>Size M</div>");
        assert_eq!(new_html("<p>Hi</p>"), "<p>Hi</p>");
    }
}
