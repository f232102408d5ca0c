//! Files over HTTP, for every route that takes or gives one (the widget's and console's
//! `http::files`, the API's `http::api::files`): a bounded request body, a file checked and
//! kept, a conversation's files, and the bytes served inert. Refusals are `Refused`; each
//! route answers them in its own problem shape. Imports no route module.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;

use crate::attachments::NotKept;
use crate::conversation::{Attachment, ConversationId, Event, EventBody};
use crate::state::AppState;

/// Why an upload or download is refused: the status, a code for programs, a sentence for people.
#[derive(Debug)]
pub struct Refused {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
}

fn refused(status: StatusCode, code: &'static str, detail: &str) -> Refused {
    Refused {
        status,
        code,
        detail: detail.to_owned(),
    }
}

/// The request's body, up to `max` bytes (413 past it, 400 if the upload broke off).
pub async fn receive(
    req: &HttpRequest,
    mut body: web::Payload,
    max: usize,
) -> Result<Vec<u8>, Refused> {
    let too_large = || {
        refused(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            &format!(
                "files up to {} are accepted",
                crate::attachments::human_size(max)
            ),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(declared.unwrap_or(0).min(max));
    while let Some(chunk) = body.next().await {
        let Ok(chunk) = chunk else {
            return Err(refused(
                StatusCode::BAD_REQUEST,
                "upload_broken",
                "the upload ended before the whole file arrived; send it again",
            ));
        };
        if bytes.len() + chunk.len() > max {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// Checks and keeps a file for conversation `id` (within its per-minute allowance).
pub async fn keep(
    state: &AppState,
    id: &ConversationId,
    name: &str,
    bytes: Vec<u8>,
) -> Result<Attachment, Refused> {
    if !state.attachments.allow(id) {
        return Err(refused(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_files",
            "too many files in a minute; wait a little and send it again",
        ));
    }
    match state.attachments.keep(id, name, bytes).await {
        Ok(file) => Ok(file),
        Err(NotKept::Refused(r)) => Err(refused(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            r.code,
            &r.detail,
        )),
        Err(NotKept::Unavailable(e)) => {
            tracing::warn!(conv = %id, error = %e, "cannot keep an attachment");
            Err(refused(
                StatusCode::SERVICE_UNAVAILABLE,
                "storage_unavailable",
                "the file could not be saved; send it again in a moment",
            ))
        }
    }
}

/// The files of conversation `id`'s log: each with its event (who sent it, when).
pub async fn files_of(
    state: &AppState,
    id: &ConversationId,
) -> crate::ports::StoreResult<Vec<(Event, Attachment)>> {
    let events = state.store.events_after(id, 0).await?;
    Ok(events
        .into_iter()
        .filter_map(|e| match &e.body {
            EventBody::VisitorFile { file, .. } | EventBody::AgentFile { file, .. } => {
                let file = file.clone();
                Some((e, file))
            }
            _ => None,
        })
        .collect())
}

/// The bytes of `file` in conversation `id`, as `file_response` serves them (404 when gone).
pub async fn serve(
    state: &AppState,
    id: &ConversationId,
    file: &str,
) -> Result<HttpResponse, Refused> {
    let missing = || refused(StatusCode::NOT_FOUND, "not_found", "no such file");
    let files = files_of(state, id).await.map_err(|_| missing())?;
    let Some((_, meta)) = files.into_iter().find(|(_, f)| f.id == file) else {
        return Err(missing());
    };
    match state.attachments.read(id, &meta).await {
        Ok(bytes) => Ok(file_response(&meta, bytes)),
        Err(object_store::Error::NotFound { .. }) => Err(missing()),
        Err(e) => {
            tracing::warn!(conv = %id, error = %e, "cannot read an attachment");
            Err(refused(
                StatusCode::SERVICE_UNAVAILABLE,
                "storage_unavailable",
                "the file cannot be read now; try again in a moment",
            ))
        }
    }
}

/// The bytes with headers that keep them inert: the type decided at upload, `nosniff`, a CSP
/// that allows nothing to run, and `attachment` for everything but the re-encoded images.
pub fn file_response(meta: &Attachment, bytes: bytes::Bytes) -> HttpResponse {
    let inline = meta.content_type.starts_with("image/");
    let disposition = format!(
        "{}; filename=\"{}\"; filename*=UTF-8''{}",
        if inline { "inline" } else { "attachment" },
        meta.name
            .chars()
            .map(|c| if c.is_ascii() && c != '\\' { c } else { '_' })
            .collect::<String>(),
        percent_encoding::utf8_percent_encode(&meta.name, percent_encoding::NON_ALPHANUMERIC)
    );
    HttpResponse::Ok()
        .content_type(meta.content_type.as_str())
        .insert_header((header::CONTENT_DISPOSITION, disposition))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; img-src 'self'; sandbox",
        ))
        .insert_header((header::CACHE_CONTROL, "private, max-age=3600"))
        .insert_header(("Cross-Origin-Resource-Policy", "cross-origin"))
        .body(bytes)
}
