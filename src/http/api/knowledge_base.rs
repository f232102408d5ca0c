//! The editors' loop in `/api/v1` (admin scope), the same operations as `/admin`: try a
//! message, list the FAQs with their files' versions, apply a fix (or get its patch), preview
//! what a fix would break, run the editors' suite, read the record of changes.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};

use super::{ApiError, Caller, json};
use crate::kb_test::Suite;
use crate::kb_writes::{
    Applied, ChangesQuery, FaqList, Fix, FixError, Preview, Tried, TryMessage, try_question,
};
use crate::ports::KbEdit;
use crate::state::AppState;
use crate::tokens::Scope;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(try_message)
        .service(faqs)
        .service(apply_fix)
        .service(preview_fix)
        .service(run_tests)
        .service(changes);
}

impl From<FixError> for ApiError {
    fn from(e: FixError) -> ApiError {
        match e {
            FixError::Store(e) => e.into(),
            e => {
                let (status, code) = e.status_and_code();
                let status =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                ApiError::new(status, code, e.to_string())
            }
        }
    }
}

/// What the bot does with a message as the first of a conversation, explained: which FAQ or
/// rule, how sure, the words that matched, the runner-up, corrections.
#[utoipa::path(
    tag = "knowledge base",
    request_body = TryMessage,
    responses((status = 200, description = "The decision and why", body = Tried))
)]
#[post("/knowledge-base/try")]
async fn try_message(
    caller: Caller,
    state: web::Data<AppState>,
    body: web::Json<TryMessage>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Admin)?;
    let text = body
        .checked()
        .map_err(|why| ApiError::bad_request("invalid_text", why))?;
    Ok(json(
        StatusCode::OK,
        &try_question(&state.matcher.load(), text),
    ))
}

/// Every FAQ of every language, with its file and the file's `version` (send it with a
/// phrasing fix: a file changed since is refused).
#[utoipa::path(
    tag = "knowledge base",
    responses((status = 200, description = "The FAQs", body = FaqList))
)]
#[get("/knowledge-base/faqs")]
async fn faqs(caller: Caller, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Admin)?;
    Ok(json(StatusCode::OK, &state.kb_writes.faqs().await))
}

/// Applies a fix to the knowledge base's files (a phrasing, a new FAQ, an off-topic test case,
/// or a dismissal), reloads and checks it; with `kb_writes = "off"` nothing is written and the
/// answer carries the patch.
#[utoipa::path(
    tag = "knowledge base",
    request_body = Fix,
    responses(
        (status = 200, description = "Written and checked, or the patch", body = Applied),
        (status = 409, description = "The file changed since its version was read, the FAQ exists, or the change is there already"),
        (status = 422, description = "The change would break the knowledge base: nothing written"),
    )
)]
#[post("/knowledge-base/fixes")]
async fn apply_fix(
    caller: Caller,
    state: web::Data<AppState>,
    body: web::Json<Fix>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Admin)?;
    let who = format!("token:{}", caller.0.name);
    let applied = state.kb_writes.apply(body.into_inner(), &who).await?;
    Ok(json(StatusCode::OK, &applied))
}

/// What a fix would change in the editors' suite (`frontdesk kb test`), without writing it.
#[utoipa::path(
    tag = "knowledge base",
    request_body = Fix,
    responses(
        (status = 200, description = "The suite before and after, what breaks, what is fixed", body = Preview),
        (status = 409, description = "The file changed since its version was read, or the change is there already"),
        (status = 422, description = "The change would break the knowledge base"),
    )
)]
#[post("/knowledge-base/preview")]
async fn preview_fix(
    caller: Caller,
    state: web::Data<AppState>,
    body: web::Json<Fix>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Admin)?;
    let preview = state.kb_writes.preview(body.into_inner()).await?;
    Ok(json(StatusCode::OK, &preview))
}

/// Runs the editors' suite on the serving files: every phrasing held out, every test case.
#[utoipa::path(
    tag = "knowledge base",
    responses((status = 200, description = "The suite's result", body = Suite))
)]
#[post("/knowledge-base/test")]
async fn run_tests(caller: Caller, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Admin)?;
    let suite = state.kb_writes.suite().await?;
    Ok(json(StatusCode::OK, &*suite))
}

/// The editors' record of changes (who, when, which files, the diffs), newest first.
#[utoipa::path(
    tag = "knowledge base",
    params(ChangesQuery),
    responses((status = 200, description = "Changes, newest first", body = Vec<KbEdit>))
)]
#[get("/knowledge-base/changes")]
async fn changes(
    caller: Caller,
    state: web::Data<AppState>,
    query: web::Query<ChangesQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Admin)?;
    Ok(json(
        StatusCode::OK,
        &state.store.edits(query.limit()).await?,
    ))
}
