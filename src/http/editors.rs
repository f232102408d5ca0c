//! The editors' loop on `/admin` (admin session): try a question on the live matcher, list the
//! FAQs to pick from (with each file's version), turn a question into a fix or preview what it
//! would break, run the editors' test suite, and read the record of changes. The work is
//! `kb_writes`'s; these routes check the session and shape the answers.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::admin::session_admin;
use super::api::problem;
use crate::kb_writes::{ChangesQuery, Fix, FixError, TryMessage, try_question};
use crate::state::AppState;

fn unauthorized() -> HttpResponse {
    problem(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "sign in as an admin first",
    )
}

fn refused(e: &FixError) -> HttpResponse {
    let (status, code) = e.status_and_code();
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status.is_server_error() {
        tracing::warn!(error = %e, "an editor's fix failed");
    }
    problem(status, code, &e.to_string())
}

/// `POST /api/admin/kb/try`: what the bot does with a message, explained.
pub async fn try_it(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<TryMessage>,
) -> HttpResponse {
    if session_admin(&req, &state).await.is_none() {
        return unauthorized();
    }
    match body.checked() {
        Ok(text) => HttpResponse::Ok().json(try_question(&state.matcher.load(), text)),
        Err(why) => problem(StatusCode::BAD_REQUEST, "invalid_text", why),
    }
}

/// `GET /api/admin/kb/faqs`: every FAQ of every language with its file's version.
pub async fn faqs(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if session_admin(&req, &state).await.is_none() {
        return unauthorized();
    }
    HttpResponse::Ok().json(state.kb_writes.faqs().await)
}

/// `POST /api/admin/kb/fixes`: applies a fix (or, with `kb_writes = "off"`, returns its patch).
pub async fn fix(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<Fix>,
) -> HttpResponse {
    let Some(admin) = session_admin(&req, &state).await else {
        return unauthorized();
    };
    let who = format!("admin:{}", admin.id);
    match state.kb_writes.apply(body.into_inner(), &who).await {
        Ok(applied) => HttpResponse::Ok().json(applied),
        Err(e) => refused(&e),
    }
}

/// `POST /api/admin/kb/preview`: what a fix would change in the editors' suite, unwritten.
pub async fn preview(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<Fix>,
) -> HttpResponse {
    if session_admin(&req, &state).await.is_none() {
        return unauthorized();
    }
    match state.kb_writes.preview(body.into_inner()).await {
        Ok(preview) => HttpResponse::Ok().json(preview),
        Err(e) => refused(&e),
    }
}

/// `POST /api/admin/kb/test`: the editors' suite (`frontdesk kb test`) on the serving files.
pub async fn test(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if session_admin(&req, &state).await.is_none() {
        return unauthorized();
    }
    match state.kb_writes.suite().await {
        Ok(suite) => HttpResponse::Ok().json(&*suite),
        Err(e) => refused(&e),
    }
}

/// `GET /api/admin/kb/changes`: the editors' record, newest first.
pub async fn changes(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<ChangesQuery>,
) -> HttpResponse {
    if session_admin(&req, &state).await.is_none() {
        return unauthorized();
    }
    match state.store.edits(query.limit()).await {
        Ok(edits) => HttpResponse::Ok().json(edits),
        Err(e) => refused(&FixError::Store(e)),
    }
}
