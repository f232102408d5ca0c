//! Attachments in the API: list a conversation's files and download one (read scope); send one
//! to the visitor as the token's agent (write scope, the conversation must be yours). The same
//! checks as the widget and the console (`http::files`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::conversations::{acting, conversation_id};
use super::{ApiError, Caller, json, problem};
use crate::conversation::{Attachment, EventBody, Outcome};
use crate::http::file_transfer::{self as files, Refused};
use crate::state::AppState;
use crate::tokens::Scope;

/// A refusal in the API's problem shape.
fn refusal(r: Refused) -> ApiError {
    ApiError::new(r.status, r.code, r.detail)
}

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list).service(download).service(send);
}

/// A file of a conversation, with who sent it and when.
#[derive(Debug, Serialize, ToSchema)]
pub struct FileItem {
    /// The log item that carries it.
    pub seq: u64,
    /// When it was sent (ms since the epoch).
    pub at: u64,
    /// `visitor`, or the agent's name.
    pub from: String,
    #[serde(flatten)]
    pub file: Attachment,
}

#[utoipa::path(
    tag = "attachments",
    params(("id" = String, Path, description = "The conversation's id")),
    responses((status = 200, description = "The conversation's files, oldest first", body = Vec<FileItem>))
)]
#[get("/conversations/{id}/files")]
async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Read)?;
    let id = conversation_id(&id)?;
    if state.store.get(&id).await?.is_none() {
        return Err(ApiError::not_found("conversation"));
    }
    let items: Vec<FileItem> = files::files_of(&state, &id)
        .await?
        .into_iter()
        .map(|(event, file)| FileItem {
            seq: event.seq,
            at: event.at,
            from: match event.body {
                EventBody::AgentFile { agent, .. } => agent,
                _ => "visitor".into(),
            },
            file,
        })
        .collect();
    Ok(json(StatusCode::OK, &items))
}

#[utoipa::path(
    tag = "attachments",
    params(
        ("id" = String, Path, description = "The conversation's id"),
        ("file" = String, Path, description = "The file's id"),
    ),
    responses((status = 200, description = "The file, as kept (images re-encoded)", content_type = "application/octet-stream", body = Vec<u8>))
)]
#[get("/conversations/{id}/files/{file}")]
async fn download(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Read)?;
    let (id, file) = path.into_inner();
    let id = conversation_id(&id)?;
    files::serve(&state, &id, &file).await.map_err(refusal)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Sending {
    /// The file's name as the visitor will see it.
    #[param(min_length = 1, max_length = 200)]
    name: String,
    /// Your id for this file: sending again with it stores nothing new.
    #[param(min_length = 1, max_length = 64)]
    client_id: String,
}

#[utoipa::path(
    tag = "acting as an agent",
    params(("id" = String, Path, description = "The conversation's id"), Sending),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file's bytes"),
    responses(
        (status = 201, description = "Kept and sent to the visitor", body = Attachment),
        (status = 409, description = "The conversation is not yours", body = super::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than attachment_max_bytes", body = super::Problem, content_type = "application/problem+json"),
        (status = 415, description = "A type the site does not accept, or content that does not match the name", body = super::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many files in this conversation this minute", body = super::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/conversations/{id}/files")]
async fn send(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    query: web::Query<Sending>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (agent, id) = acting(&caller, &state, &id).await?;
    let Sending { name, client_id } = query.into_inner();
    if name.is_empty() || client_id.is_empty() || client_id.len() > 64 || name.len() > 200 {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            "name: 1 to 200 characters; client_id: 1 to 64",
        ));
    }
    if state.attachments.max_bytes == 0 {
        return Ok(problem(
            StatusCode::FORBIDDEN,
            "attachments_off",
            "this site does not accept files",
        ));
    }
    let bytes = files::receive(&req, body, state.attachments.max_bytes)
        .await
        .map_err(refusal)?;
    let file = files::keep(&state, &id, &name, bytes)
        .await
        .map_err(refusal)?;
    match state
        .conversations
        .agent_file(&id, &agent, file.clone(), Some(client_id))
        .await?
    {
        Outcome::Done => {
            state.agent_wrote(&id).await;
            Ok(json(StatusCode::CREATED, &file))
        }
        _ => Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_yours",
            "this conversation is not assigned to you: claim it first",
        )),
    }
}
