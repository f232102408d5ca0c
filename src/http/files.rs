//! Attachments over HTTP. `POST /api/files` takes one file as the request body (its name in
//! `?name=`, a `client_id` so a retry is stored once): from the visitor with their resume token
//! (`Authorization: Bearer <token>`), or from the signed-in agent who owns `?conversation=`.
//! `GET /api/files/{conversation}/{file}` gives it back to that conversation's visitor (the same
//! token) and to signed-in agents and admins, with headers that keep a browser from running it.
//! The widget calls both from the site's origin: `origin_allowed` decides, as for `/ws`.

use actix_web::http::{Method, StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::api::problem;
use super::file_transfer::{self, Refused};
use crate::conversation::{ConversationId, MessageOutcome, Outcome, Token};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct Upload {
    /// The agent's conversation (a visitor's comes from their token).
    conversation: Option<String>,
    name: String,
    client_id: String,
}

/// Who is asking.
enum Caller {
    Visitor(ConversationId),
    Agent(crate::agents::Agent),
    Admin,
}

async fn caller(req: &HttpRequest, state: &AppState) -> Option<Caller> {
    if let Some(raw) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
    {
        let token = Token::parse(raw.trim())?;
        let c = state.store.resume(&token).await.ok()??;
        return Some(Caller::Visitor(c.id));
    }
    if let Some(agent) = super::agent::session_agent(req, state).await {
        return Some(Caller::Agent(agent));
    }
    super::admin::session_admin(req, state)
        .await
        .map(|_| Caller::Admin)
}

/// The CORS headers for a caller on the site's origin (none for other origins: the browser then
/// refuses to hand the answer to the page).
fn cors(req: &HttpRequest, state: &AppState, mut res: HttpResponse) -> HttpResponse {
    if let Some(origin) = req.headers().get(header::ORIGIN).cloned()
        && super::origin_allowed(req, &state.settings)
    {
        let h = res.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(header::VARY, header::HeaderValue::from_static("Origin"));
        if req.method() == Method::OPTIONS {
            h.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                header::HeaderValue::from_static("GET, POST"),
            );
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                header::HeaderValue::from_static("authorization, content-type"),
            );
            h.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                header::HeaderValue::from_static("600"),
            );
        }
    }
    res
}

/// The preflight of a cross-origin upload or download.
pub async fn preflight(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    cors(&req, &state, HttpResponse::NoContent().finish())
}

pub async fn upload(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<Upload>,
    body: web::Payload,
) -> HttpResponse {
    let res = upload_inner(&req, &state, query.into_inner(), body).await;
    cors(&req, &state, res)
}

async fn upload_inner(
    req: &HttpRequest,
    state: &AppState,
    query: Upload,
    body: web::Payload,
) -> HttpResponse {
    let files = &state.attachments;
    if files.max_bytes == 0 {
        return problem(
            StatusCode::FORBIDDEN,
            "attachments_off",
            "this site does not accept files",
        );
    }
    let Some(who) = caller(req, state).await else {
        return problem(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send the conversation's token (Authorization: Bearer) or sign in as its agent",
        );
    };
    let id = match (&who, query.conversation.as_deref()) {
        (Caller::Visitor(id), _) => id.clone(),
        (Caller::Agent(_), Some(raw)) => match ConversationId::parse(raw) {
            Some(id) => id,
            None => return problem(StatusCode::NOT_FOUND, "not_found", "no such conversation"),
        },
        (Caller::Agent(_), None) => {
            return problem(
                StatusCode::BAD_REQUEST,
                "conversation_missing",
                "name the conversation: ?conversation=",
            );
        }
        (Caller::Admin, _) => {
            return problem(
                StatusCode::FORBIDDEN,
                "not_an_agent",
                "files are sent by the conversation's visitor or its agent",
            );
        }
    };
    if query.client_id.is_empty() || query.client_id.len() > 64 {
        return problem(
            StatusCode::BAD_REQUEST,
            "bad_client_id",
            "client_id: 1 to 64 characters",
        );
    }
    let bytes = match file_transfer::receive(req, body, files.max_bytes).await {
        Ok(bytes) => bytes,
        Err(refusal) => return answer(refusal),
    };
    let file = match file_transfer::keep(state, &id, &query.name, bytes).await {
        Ok(file) => file,
        Err(refusal) => return answer(refusal),
    };
    let stored = match who {
        Caller::Visitor(_) => state
            .conversations
            .visitor_file(&id, file.clone(), query.client_id)
            .await
            .map(|o| matches!(o, MessageOutcome::Stored | MessageOutcome::Duplicate { .. })),
        Caller::Agent(agent) => {
            let sent = state
                .conversations
                .agent_file(&id, &agent, file.clone(), Some(query.client_id))
                .await
                .map(|o| o == Outcome::Done);
            if matches!(sent, Ok(true)) {
                state.agent_wrote(&id).await;
            }
            sent
        }
        Caller::Admin => Ok(false),
    };
    match stored {
        Ok(true) => HttpResponse::Created().json(file),
        Ok(false) => problem(
            StatusCode::CONFLICT,
            "not_yours",
            "this conversation is not assigned to you",
        ),
        Err(crate::ports::StoreError::NotFound(_)) => {
            problem(StatusCode::NOT_FOUND, "not_found", "no such conversation")
        }
        Err(e) => {
            tracing::warn!(conv = %id, error = %e, "cannot log an attachment");
            problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                "the file could not be saved; send it again in a moment",
            )
        }
    }
}

pub async fn download(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (conversation, file) = path.into_inner();
    let res = download_inner(&req, &state, &conversation, &file).await;
    cors(&req, &state, res)
}

async fn download_inner(
    req: &HttpRequest,
    state: &AppState,
    conversation: &str,
    file: &str,
) -> HttpResponse {
    let missing = || problem(StatusCode::NOT_FOUND, "not_found", "no such file");
    let Some(id) = ConversationId::parse(conversation) else {
        return missing();
    };
    match caller(req, state).await {
        Some(Caller::Visitor(own)) if own == id => {}
        Some(Caller::Agent(_) | Caller::Admin) => {}
        // Another conversation's file is as absent as one that never was.
        Some(Caller::Visitor(_)) => return missing(),
        None => {
            return problem(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "send the conversation's token (Authorization: Bearer) or sign in",
            );
        }
    }
    file_transfer::serve(state, &id, file)
        .await
        .unwrap_or_else(answer)
}

/// A refusal as the widget and the console read it.
fn answer(r: Refused) -> HttpResponse {
    problem(r.status, r.code, &r.detail)
}
