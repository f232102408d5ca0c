//! The thread by e-mail, through a real SMTP server (aiosmtpd, see `mail.rs`): replies a visitor
//! missed because their widget was gone are mailed with a link back and a signed reply address;
//! their answer by mail (through `frontdesk mail-in`, the real binary, or the HTTP endpoint)
//! lands in the same conversation, quoted history and signature stripped, once; forged and
//! expired reply addresses are refused, automatic mail is ignored; a transcript on request, once
//! an hour. Real-world mails: Gmail's and Outlook's quoting, an HTML-only mail, an out-of-office.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use frontdesk::conversation::ConversationId;
use frontdesk::mail::sign::{Purpose, Signer};
use frontdesk::ports::Store;
use frontdesk::store::SqliteStore;
use serde_json::{Value, json};

use crate::app::{TestApp, Visitor, http, sample_kb, spawn_app_on};
use crate::mail::Smtp;

const SECRET: &str = "inbound-secret-0123456789";
const DOMAIN: &str = "in.larkspur.example";

/// A server that mails visitors (after `after` minutes away) and takes their answers.
async fn spawn_mailing(smtp: &Smtp, after: f64) -> (TestApp, Arc<dyn Store>) {
    let dir = tempfile::tempdir().expect("a folder").keep();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.join("frontdesk.db")).unwrap());
    let url = smtp.url();
    let app = spawn_app_on(store.clone(), sample_kb(), move |s| {
        s.smtp_url = Some(url);
        s.mail_from = Some("Larkspur Support <support@larkspur.example>".into());
        s.mail_retry_seconds = 1;
        s.mail_after_minutes = after;
        s.mail_reply_domain = Some(DOMAIN.into());
        s.mail_inbound_secret = Some(SECRET.into());
    })
    .await;
    (app, store)
}

fn parse(raw: &str) -> mail_parser::Message<'_> {
    mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .expect("an RFC 5322 message")
}

fn address(list: Option<&mail_parser::Address<'_>>) -> String {
    list.and_then(|a| a.first())
        .and_then(|a| a.address())
        .unwrap_or_default()
        .to_owned()
}

/// A visitor who gave their address and is talking to Ann; Ann's console.
async fn chatting(app: &TestApp) -> (Visitor, crate::app::AgentClient) {
    let mut ann = app.agent("ann").await;
    let mut v = Visitor::connect(app, None).await.expect("connects");
    let page = format!("http://127.0.0.1:{}/help?order=4471", app.port);
    v.hello(json!({"type": "hello", "email": "ana@example.com", "page": page, "locale": "en"}))
        .await;
    v.send(json!({"type": "request_human"})).await;
    v.notice("queued").await;
    ann.act("claim", &v.conversation, json!({})).await;
    v.notice("assigned").await;
    (v, ann)
}

/// Posts a raw mail to the inbound endpoint: (status, body).
async fn post_mail(app: &TestApp, raw: &str, secret: &str) -> (u16, Value) {
    let response = http()
        .post(format!("http://127.0.0.1:{}/api/mail/inbound", app.port))
        .header("authorization", format!("Bearer {secret}"))
        .header("content-type", "message/rfc822")
        .body(raw.to_owned())
        .send()
        .await
        .expect("the server answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// `frontdesk mail-in` (the real binary) with `raw` on standard input: its exit code.
fn mail_in(app: &TestApp, raw: &str, recipient: &str) -> i32 {
    let mut child = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args([
            "mail-in",
            "--url",
            &format!("http://127.0.0.1:{}", app.port),
        ])
        .args(["--recipient", recipient])
        .env("FRONTDESK_MAIL_INBOUND_SECRET", SECRET)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("frontdesk mail-in runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(raw.as_bytes())
        .unwrap();
    child.wait().expect("it ends").code().unwrap_or(-1)
}

/// Gmail's reply: top-posted, an attribution line wrapped over two lines, the quote.
fn gmail_reply(to: &str, text: &str) -> String {
    format!(
        "From: Ana Souza <ana@example.com>\r\nTo: {to}\r\nSubject: Re: Ann replied to you\r\n\
         Message-ID: <CAF=gmail-1@mail.gmail.com>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain; charset=\"UTF-8\"\r\n\r\n{text}\r\n\r\n\
         On Mon, Dec 7, 2026 at 10:02 AM Larkspur Support <\r\n{to}> wrote:\r\n\r\n\
         > Ann replied while you were away:\r\n> Which size would you like?\r\n\r\n\
         --b1\r\nContent-Type: text/html; charset=\"UTF-8\"\r\n\r\n<div dir=\"ltr\">{text}</div>\
         <div class=\"gmail_quote\"><blockquote>Which size would you like?</blockquote></div>\r\n\
         --b1--\r\n"
    )
}

/// Outlook's reply: the header block under a rule, no quote marks; a signature.
fn outlook_reply(to: &str, text: &str) -> String {
    format!(
        "From: Ana Souza <ana@example.com>\r\nTo: \"Larkspur Support\" <{to}>\r\n\
         Subject: RE: Ann replied to you\r\nMessage-ID: <AM0PR-outlook-1@outlook.com>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=\"utf-8\"\r\n\
         Content-Transfer-Encoding: quoted-printable\r\n\r\n{text}\r\n\r\n-- \r\nAna Souza\r\n\
         ACME Ltd.\r\n\r\n________________________________\r\n\
         From: Larkspur Support <support@larkspur.example>\r\n\
         Sent: Monday, December 7, 2026 10:02 AM\r\nTo: Ana Souza <ana@example.com>\r\n\
         Subject: Ann replied to you\r\n\r\nAnn replied while you were away:\r\n"
    )
}

/// An HTML-only mail (a web mail set to HTML), its quote in a blockquote.
fn html_only_reply(to: &str, text: &str) -> String {
    format!(
        "From: ana@example.com\r\nTo: {to}\r\nSubject: Re: your conversation\r\n\
         Message-ID: <html-only-1@example.com>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/html; charset=\"utf-8\"\r\n\r\n\
         <html><body><p>{text}</p><blockquote type=\"cite\"><p>Which size?</p></blockquote>\
         </body></html>\r\n"
    )
}

/// The offline messages (answers by mail) of a conversation, as the visitor's log has them.
async fn answers_by_mail(app: &TestApp, token: &str) -> Vec<Value> {
    let (_, log) = app.transcript(token).await;
    log.into_iter()
        .filter(|e| e["kind"] == "offline_message")
        .collect()
}

#[actix_web::test]
async fn replies_a_visitor_missed_are_mailed_and_their_answer_by_mail_lands_in_the_conversation() {
    let smtp = Smtp::start().await;
    // 1.2 s away before replies are mailed.
    let (app, _store) = spawn_mailing(&smtp, 0.02).await;
    let (v, mut ann) = chatting(&app).await;
    let (id, token) = (v.conversation.clone(), v.token.clone());
    drop(v); // The visitor closes the tab.

    ann.act(
        "reply",
        &id,
        json!({"text": "Which size would you like? <M> & <L> are in stock.", "client_id": "r1"}),
    )
    .await;
    ann.act(
        "reply",
        &id,
        json!({"text": "And which colour?", "client_id": "r2"}),
    )
    .await;
    let raw = smtp.until(1).await.remove(0);
    let mail = parse(&raw);
    assert_eq!(address(mail.to()), "ana@example.com");
    assert_eq!(mail.subject(), Some("Ann replied to you"));
    let reply_to = address(mail.reply_to());
    assert!(
        reply_to.starts_with("reply+") && reply_to.ends_with(&format!("@{DOMAIN}")),
        "{reply_to}"
    );
    assert!(
        reply_to.split('@').next().unwrap().len() <= 64,
        "{reply_to}"
    );
    assert!(!raw.contains("Auto-Submitted"), "a person wrote it: {raw}");
    let text = mail
        .body_text(0)
        .expect("a text part")
        .replace("\r\n", "\n");
    assert!(
        text.contains("Which size would you like? <M> & <L> are in stock.")
            && text.contains("And which colour?"),
        "both replies in one mail: {text}"
    );
    let link = format!(
        "http://127.0.0.1:{}/help?order=4471#frontdesk={id}.",
        app.port
    );
    assert!(text.contains(&link), "the link back to the page: {text}");
    let html = mail.body_html(0).expect("an HTML part");
    assert!(
        html.contains("&lt;M&gt; &amp; &lt;L&gt;") && html.contains("<a href=\"http://127.0.0.1"),
        "{html}"
    );
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(smtp.received().len(), 1, "two replies, one mail");

    // Ana answers from Gmail, through the MTA's pipe (`frontdesk mail-in`).
    let answer = gmail_reply(&reply_to, "Size M, please. Thanks!");
    assert_eq!(mail_in(&app, &answer, &reply_to), 0);
    let seen = ann
        .until(|f| f["type"] == "conversation_event" && f["event"]["kind"] == "offline_message")
        .await;
    assert_eq!(seen["conversation"], id.as_str());
    assert_eq!(seen["event"]["text"], "Size M, please. Thanks!");
    assert_eq!(seen["event"]["email"], "ana@example.com");
    // The MTA delivers it again (a retry): nothing doubles.
    assert_eq!(mail_in(&app, &answer, &reply_to), 0);
    let (status, body) = post_mail(&app, &answer, SECRET).await;
    assert_eq!((status, body["outcome"].as_str()), (200, Some("duplicate")));

    // Outlook, then an HTML-only mail: each one's own words only.
    let (status, body) = post_mail(
        &app,
        &outlook_reply(&reply_to, "Blue, if you have it."),
        SECRET,
    )
    .await;
    assert_eq!(
        (status, body["outcome"].as_str()),
        (200, Some("added")),
        "{body}"
    );
    let (status, _) = post_mail(
        &app,
        &html_only_reply(&reply_to, "Or green &amp; white."),
        SECRET,
    )
    .await;
    assert_eq!(status, 200);
    let texts: Vec<String> = answers_by_mail(&app, &token)
        .await
        .iter()
        .map(|e| e["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        texts,
        vec![
            "Size M, please. Thanks!",
            "Blue, if you have it.",
            "Or green & white."
        ]
    );
}

#[actix_web::test]
async fn a_reply_the_visitor_read_in_the_chat_is_not_mailed() {
    let smtp = Smtp::start().await;
    let (app, store) = spawn_mailing(&smtp, 0.02).await;
    let (mut v, mut ann) = chatting(&app).await;
    ann.act(
        "reply",
        &v.conversation,
        json!({"text": "Hello Ana!", "client_id": "r1"}),
    )
    .await;
    let shown = v.until(|f| f["kind"] == "agent_message").await;
    // The widget says it showed it (what widget-app.js does for an agent's words).
    v.send(json!({"type": "seen", "seq": shown["seq"]})).await;
    // Well past the 1.2 s: the mail came due and was found not needed.
    tokio::time::sleep(Duration::from_millis(7000)).await;
    assert!(smtp.received().is_empty(), "{:?}", smtp.received());
    assert!(
        store.mails(10).await.unwrap().is_empty(),
        "dropped, not kept"
    );
}

#[actix_web::test]
async fn forged_and_expired_reply_addresses_are_refused_and_automatic_mail_is_ignored() {
    let smtp = Smtp::start().await;
    let (app, store) = spawn_mailing(&smtp, 5.0).await;
    let (v, _ann) = chatting(&app).await;
    let id = ConversationId::parse(&v.conversation).unwrap();
    let signer = Signer::new(store.mail_key().await.unwrap());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let good = format!(
        "reply+{}@{DOMAIN}",
        signer.token(Purpose::Reply, &id, now + 3600)
    );

    // A forged token (another key): refused, logged, not bounced (no backscatter).
    let forged_signer = Signer::new(b"not this server's key".to_vec());
    let forged = format!(
        "reply+{}@{DOMAIN}",
        forged_signer.token(Purpose::Reply, &id, now + 3600)
    );
    let (status, body) = post_mail(&app, &gmail_reply(&forged, "let me in"), SECRET).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("forged_token")),
        "{body}"
    );
    assert_eq!(
        mail_in(&app, &gmail_reply(&forged, "let me in"), &forged),
        0
    );
    // A link token is not a reply address.
    let link = format!(
        "reply+{}@{DOMAIN}",
        signer.token(Purpose::Open, &id, now + 3600)
    );
    let (status, _) = post_mail(&app, &gmail_reply(&link, "let me in"), SECRET).await;
    assert_eq!(status, 403);
    // An expired one: refused, and the writer hears of it (mail-in: 67, the MTA bounces).
    let expired = format!(
        "reply+{}@{DOMAIN}",
        signer.token(Purpose::Reply, &id, now - 60)
    );
    let (status, body) = post_mail(&app, &gmail_reply(&expired, "too late?"), SECRET).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (410, Some("expired_token")),
        "{body}"
    );
    assert_eq!(
        mail_in(&app, &gmail_reply(&expired, "too late?"), &expired),
        67
    );
    // The wrong shared secret: refused; mail-in keeps the mail queued (75).
    let (status, _) = post_mail(
        &app,
        &gmail_reply(&good, "hello"),
        "wrong-secret-0123456789",
    )
    .await;
    assert_eq!(status, 401);

    // An out-of-office reply (RFC 3834) and one known only by its subject: ignored.
    let away = format!(
        "From: ana@example.com\r\nTo: {good}\r\nSubject: Automatic reply: Ann replied to you\r\n\
         Auto-Submitted: auto-replied\r\nMessage-ID: <oof-1@example.com>\r\n\r\n\
         I am out of the office until Monday.\r\n"
    );
    let (status, body) = post_mail(&app, &away, SECRET).await;
    assert_eq!(
        (status, body["outcome"].as_str()),
        (200, Some("ignored")),
        "{body}"
    );
    let subject_only = away
        .replace("Auto-Submitted: auto-replied\r\n", "")
        .replace("oof-1", "oof-2");
    let (_, body) = post_mail(&app, &subject_only, SECRET).await;
    assert_eq!(body["outcome"], "ignored");
    assert_eq!(mail_in(&app, &away, &good), 0, "not bounced");
    assert!(
        answers_by_mail(&app, &v.token).await.is_empty(),
        "nothing landed"
    );

    // The good address works.
    let (status, body) = post_mail(&app, &gmail_reply(&good, "Size M"), SECRET).await;
    assert_eq!(
        (status, body["outcome"].as_str()),
        (200, Some("added")),
        "{body}"
    );
}

#[actix_web::test]
async fn a_visitor_gets_the_conversation_by_mail_once_an_hour() {
    let smtp = Smtp::start().await;
    let (app, _store) = spawn_mailing(&smtp, 5.0).await;
    let mut v = app.visitor().await;
    let welcome = v.hello_again_elsewhere().await;
    assert_eq!(welcome["mail"], true, "the widget offers it: {welcome}");
    v.say("how long does delivery take").await;
    v.until(|f| f["kind"] == "bot_answer").await;
    v.send(json!({"type": "email_transcript", "email": "ana@example.com"}))
        .await;
    let told = v.until(|f| f["type"] == "transcript").await;
    assert_eq!(told["outcome"], "queued");
    let raw = smtp.until(1).await.remove(0);
    let mail = parse(&raw);
    assert_eq!(address(mail.to()), "ana@example.com");
    assert_eq!(mail.subject(), Some("Your conversation with us"));
    assert!(
        raw.contains("Auto-Submitted: auto-generated"),
        "sent on request, not by a person: {raw}"
    );
    let text = mail.body_text(0).unwrap().replace("\r\n", "\n");
    assert!(
        text.contains("You:\nhow long does delivery take") && text.contains("Assistant:"),
        "{text}"
    );
    v.send(json!({"type": "email_transcript", "email": "ana@example.com"}))
        .await;
    let told = v.until(|f| f["type"] == "transcript").await;
    assert_eq!(told["outcome"], "too_soon");
    v.send(json!({"type": "email_transcript", "email": "not an address"}))
        .await;
    let refused = v.until(|f| f["type"] == "error").await;
    assert_eq!(refused["code"], "invalid");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(smtp.received().len(), 1, "once an hour");
}

#[actix_web::test]
async fn files_in_an_answer_by_mail_follow_the_attachment_rules() {
    use base64::Engine;
    let smtp = Smtp::start().await;
    let (app, store) = spawn_mailing(&smtp, 5.0).await;
    let (v, _ann) = chatting(&app).await;
    let id = ConversationId::parse(&v.conversation).unwrap();
    let signer = Signer::new(store.mail_key().await.unwrap());
    let to = format!(
        "reply+{}@{DOMAIN}",
        signer.token(Purpose::Reply, &id, u64::from(u32::MAX))
    );
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
    let exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00PE\x00\x00";
    let raw = format!(
        "From: ana@example.com\r\nTo: {to}\r\nSubject: Re: receipt\r\nMessage-ID: <files-1@example.com>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"m\"\r\n\r\n\
         --m\r\nContent-Type: text/plain\r\n\r\nHere is the receipt.\r\n\
         --m\r\nContent-Type: application/pdf; name=\"receipt.pdf\"\r\n\
         Content-Disposition: attachment; filename=\"receipt.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n\
         --m\r\nContent-Type: application/octet-stream; name=\"setup.exe\"\r\n\
         Content-Disposition: attachment; filename=\"setup.exe\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n\
         --m--\r\n",
        b64(pdf),
        b64(exe)
    );
    let (status, body) = post_mail(&app, &raw, SECRET).await;
    assert_eq!(
        (status, body["outcome"].as_str()),
        (200, Some("added")),
        "{body}"
    );
    let (_, log) = app.transcript(&v.token).await;
    let files: Vec<&Value> = log.iter().filter(|e| e["kind"] == "visitor_file").collect();
    assert_eq!(files.len(), 1, "the PDF only: {log:?}");
    assert_eq!(files[0]["file"]["name"], "receipt.pdf");
    assert_eq!(files[0]["file"]["content_type"], "application/pdf");
    let message = log
        .iter()
        .find(|e| e["kind"] == "offline_message")
        .expect("the text");
    let text = message["text"].as_str().unwrap();
    assert!(
        text.starts_with("Here is the receipt.\n[setup.exe: not kept"),
        "the refused file is named, not silently lost: {text}"
    );
}
