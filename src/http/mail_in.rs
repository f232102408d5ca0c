//! `POST /api/mail/inbound`: an answer by mail, as raw RFC 5322 bytes (what `frontdesk mail-in`
//! posts for an MTA, or a provider's inbound webhook set to post the raw message), with the
//! shared secret `mail_inbound_secret` as `Authorization: Bearer`. The mail is read by
//! `mail::inbound`; its new text (and its files, under the attachment rules) lands in the
//! conversation its reply address names, once per mail. Answers are JSON: `added`,
//! `duplicate` or `ignored` (automatic mail) with 200; refusals as problem details, with
//! `tell_sender` saying whether the writer should get a bounce.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::api::problem;
use super::file_transfer;
use crate::conversation::now_ms;
use crate::mail::inbound::{self, Received, Refused};
use crate::mail::sign::TokenError;
use crate::state::AppState;

/// The largest mail taken (attachments included); each file is held to the attachment rules.
pub const MAX_MAIL_BYTES: usize = 25 * 1024 * 1024;

#[derive(Deserialize)]
pub struct Query {
    /// The envelope recipient, when the MTA gives it (`${recipient}` in Postfix).
    recipient: Option<String>,
}

pub async fn inbound(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<Query>,
    body: web::Bytes,
) -> HttpResponse {
    let Some(secret) = &state.settings.mail_inbound_secret else {
        return problem(
            StatusCode::NOT_FOUND,
            "mail_in_off",
            "answers by mail are not taken here (mail_inbound_secret is not set)",
        );
    };
    if !super::bearer_is(&req, secret) {
        tracing::warn!(
            peer = ?req.peer_addr(),
            "inbound mail refused: wrong or missing mail_inbound_secret"
        );
        return problem(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send mail_inbound_secret as Authorization: Bearer",
        );
    }
    let Some((postbox, domain)) = state
        .postbox
        .as_ref()
        .and_then(|p| Some((p, p.reply_domain()?)))
    else {
        return problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "mail_off",
            "this server does not send mail with reply addresses (smtp_url, mail_reply_domain)",
        );
    };
    let signer = match postbox.signer().await {
        Ok(signer) => signer,
        Err(e) => return unavailable(&e),
    };
    let read = inbound::read(
        &body,
        query.recipient.as_deref(),
        domain,
        signer,
        now_ms() / 1000,
    );
    let answer = match read {
        Ok(Received::Answer(answer)) => answer,
        Ok(Received::Ignored(why)) => {
            tracing::info!(why, "automatic mail ignored");
            return HttpResponse::Ok().json(serde_json::json!({"outcome": "ignored", "why": why}));
        }
        Err(refused) => return refuse(&refused),
    };
    let id = answer.conversation.clone();
    let mut files = Vec::new();
    let mut not_kept = Vec::new();
    for (name, bytes) in answer.files {
        match file_transfer::keep(&state, &id, &name, bytes).await {
            Ok(file) => files.push(file),
            Err(refusal) => not_kept.push(format!("[{name}: not kept, {}]", refusal.detail)),
        }
    }
    let mut text = std::iter::once(answer.text)
        .chain(not_kept)
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    if text.is_empty() {
        text = files
            .iter()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
    }
    let stored = state
        .conversations
        .answer_by_mail(&id, answer.from.clone(), text.clone(), files, &answer.key)
        .await;
    match stored {
        Ok(Some(event)) => {
            tracing::info!(conv = %id, seq = event.seq, "an answer by mail joined its conversation");
            if let Err(e) = postbox
                .offline_message(&id, event.seq, &answer.from, &text)
                .await
            {
                tracing::warn!(conv = %id, error = %e, "cannot queue the team's e-mail note yet");
            }
            HttpResponse::Ok().json(serde_json::json!({
                "outcome": "added", "conversation": id.to_string(), "seq": event.seq
            }))
        }
        Ok(None) => HttpResponse::Ok()
            .json(serde_json::json!({"outcome": "duplicate", "conversation": id.to_string()})),
        Err(crate::ports::StoreError::NotFound(_)) => refuse_with(
            StatusCode::GONE,
            "conversation_gone",
            "the conversation this mail answers was erased",
            true,
        ),
        Err(e) => unavailable(&e),
    }
}

fn unavailable(e: &crate::ports::StoreError) -> HttpResponse {
    tracing::error!(error = %e, "inbound mail: store unavailable");
    problem(
        StatusCode::SERVICE_UNAVAILABLE,
        "store_unavailable",
        "the store is unavailable; deliver the mail again later",
    )
}

fn refuse(refused: &Refused) -> HttpResponse {
    let (status, code) = match refused {
        Refused::Token(TokenError::Forged) => (StatusCode::FORBIDDEN, "forged_token"),
        Refused::Token(TokenError::Malformed) | Refused::NoReplyAddress => {
            (StatusCode::FORBIDDEN, "no_reply_address")
        }
        Refused::Token(TokenError::Expired) => (StatusCode::GONE, "expired_token"),
        Refused::TooLong => (StatusCode::PAYLOAD_TOO_LARGE, "too_long"),
        Refused::Unreadable | Refused::NoSender | Refused::Empty => {
            (StatusCode::UNPROCESSABLE_ENTITY, "unreadable")
        }
    };
    tracing::warn!(%code, error = %refused, "inbound mail refused");
    refuse_with(status, code, &refused.to_string(), refused.tell_sender())
}

fn refuse_with(status: StatusCode, code: &str, detail: &str, tell_sender: bool) -> HttpResponse {
    let mut response = problem(status, code, detail);
    if let Ok(value) = header::HeaderValue::from_str(if tell_sender { "1" } else { "0" }) {
        response
            .headers_mut()
            .insert(header::HeaderName::from_static("x-tell-sender"), value);
    }
    response
}
