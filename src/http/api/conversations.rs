//! `/api/v1/conversations`: list (filters, cursor pages), one with its events, and acting on one
//! as an integration agent: claim, reply, note, hand back, close. An integration writes as the
//! agent named like its token (a roster agent of that id, or an integration agent), under the
//! console's rules: it replies only to a conversation it
//! owns (claimed atomically, so two never get one), and each call keeps it present for
//! `presence_ttl_seconds` (a silent integration's chats go back to the queue, as an agent's do
//! when their console closes).

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ApiError, Caller, json};
use crate::agents::Agent;
use crate::conversation::{ConversationId, VisitorKey, now_ms};
use crate::conversation::{ConversationState, Outcome};
use crate::export::{ConversationRecord, Cursor, Filter};
use crate::ports::Presence;
use crate::session::values::{ClientId, MessageText, Refusal};
use crate::state::AppState;
use crate::tokens::Scope;

/// Chats an integration agent may hold at once.
pub const INTEGRATION_CAPACITY: usize = 100;
/// A page's size when the caller gives none, and the largest.
const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 200;
/// The longest period a list covers by `days`.
const MAX_DAYS: u64 = 3660;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list)
        .service(get_one)
        .service(claim)
        .service(reply)
        .service(note)
        .service(hand_back)
        .service(close);
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only conversations in this state.
    state: Option<ConversationState>,
    /// Created at or after this time (ms since the epoch).
    #[param(minimum = 0, maximum = 9_223_372_036_854_775_807_i64)]
    from: Option<u64>,
    /// Created before this time (ms).
    #[param(minimum = 0, maximum = 9_223_372_036_854_775_807_i64)]
    to: Option<u64>,
    /// Created in the last `days` days (`from` wins when both are given).
    #[param(minimum = 1, maximum = 3660)]
    days: Option<u64>,
    /// One visitor's conversations (their visitor key, 32 hex digits; anything else matches
    /// no conversation).
    visitor: Option<String>,
    /// Conversations this agent has now.
    agent: Option<String>,
    /// Conversations waiting for, or handed to, this team.
    team: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(pattern = r"^[0-9]{1,19}\.[0-9a-f]{32}$")]
    cursor: Option<String>,
    /// Conversations per page (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<usize>,
}

/// One page of conversations, oldest first.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct ConversationPage {
    /// Without their events (get one for those).
    pub items: Vec<ConversationRecord>,
    /// Pass as `cursor` for the next page; absent on the last one.
    pub next_cursor: Option<String>,
}

/// Conversations created in a period, oldest first, filtered, a page at a time.
#[utoipa::path(
    tag = "conversations",
    params(ListQuery),
    responses((status = 200, description = "A page of conversations", body = ConversationPage))
)]
#[get("/conversations")]
async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Read)?;
    let q = query.into_inner();
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("limit must be 1 to {MAX_LIMIT}"),
        ));
    }
    let after = match q.cursor.as_deref() {
        Some(raw) => Some(Cursor::parse(raw).ok_or_else(|| {
            ApiError::bad_request("bad_cursor", "that cursor did not come from this API")
        })?),
        None => None,
    };
    crate::http::period::check_millis(&[q.from, q.to])?;
    if q.days.is_some_and(|d| !(1..=MAX_DAYS).contains(&d)) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("days must be 1 to {MAX_DAYS}"),
        ));
    }
    let empty = |s: Option<String>| s.filter(|s| !s.is_empty());
    let filter = Filter {
        // `from` wins over `days`.
        from: q
            .from
            .or_else(|| q.days.map(|d| now_ms().saturating_sub(d * 86_400_000)))
            .unwrap_or(0),
        to: q.to,
        state: q.state,
        visitor: match empty(q.visitor) {
            Some(raw) => match VisitorKey::parse(&raw) {
                Some(key) => Some(key),
                None => return Ok(json(StatusCode::OK, &ConversationPage::default())),
            },
            None => None,
        },
        agent: empty(q.agent),
        team: empty(q.team),
    };
    let store = state.store.as_ref();
    let page = crate::export::page(store, &filter, after.as_ref(), limit, false).await?;
    Ok(json(
        StatusCode::OK,
        &ConversationPage {
            items: page.items,
            next_cursor: page.next.map(|c| c.encode()),
        },
    ))
}

/// One conversation with every event: the visitor's and agents' messages, the bot's answers
/// with their explanations, internal notes, notices, feedback and the rating.
#[utoipa::path(
    tag = "conversations",
    params(("id" = String, Path, description = "The conversation's id (32 hex digits)")),
    responses((status = 200, description = "The conversation", body = ConversationRecord))
)]
#[get("/conversations/{id}")]
async fn get_one(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Read)?;
    let id = conversation_id(&id)?;
    Ok(json(StatusCode::OK, &record(&state, &id).await?))
}

/// A reply or an internal note.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Writing {
    /// Up to 4,000 bytes, not blank.
    #[schema(min_length = 1, max_length = 4000)]
    text: String,
    /// Your id for this message (1-64 characters): a retry with the same id is stored once.
    #[schema(min_length = 1, max_length = 64)]
    client_id: Option<String>,
}

/// How an agent closes.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Closing {
    /// A resolution tag (e.g. `solved`, `refund_issued`).
    #[schema(max_length = 200)]
    resolution: Option<String>,
}

/// Takes a waiting conversation: atomic, so of two callers exactly one gets it.
#[utoipa::path(
    tag = "acting as an agent",
    params(("id" = String, Path, description = "The conversation's id")),
    responses(
        (status = 200, description = "Claimed: the conversation, now yours", body = ConversationRecord),
        (status = 409, description = "Not waiting any more, or no capacity left", body = super::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/conversations/{id}/claim")]
async fn claim(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (agent, id) = acting(&caller, &state, &id).await?;
    let outcome = state.conversations.claim(&id, &agent).await?;
    done(&state, &id, outcome).await
}

/// Writes to the visitor, in a conversation you own.
#[utoipa::path(
    tag = "acting as an agent",
    params(("id" = String, Path, description = "The conversation's id")),
    request_body = Writing,
    responses(
        (status = 200, description = "Stored (or already stored with this client_id) and sent", body = ConversationRecord),
        (status = 409, description = "The conversation is not yours (`not_yours`), or this token already sent another message with this client_id (`client_id_reused`)", body = super::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/conversations/{id}/replies")]
async fn reply(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<Writing>,
) -> Result<HttpResponse, ApiError> {
    let (agent, id) = acting(&caller, &state, &id).await?;
    let (text, client_id) = checked(body.into_inner())?;
    let outcome = state
        .conversations
        .agent_reply(&id, &agent, text, client_id)
        .await?;
    if outcome == Outcome::Done {
        state.agent_wrote(&id).await;
    }
    done(&state, &id, outcome).await
}

/// An internal note: agents see it, the visitor never does. Any conversation.
#[utoipa::path(
    tag = "acting as an agent",
    params(("id" = String, Path, description = "The conversation's id")),
    request_body = Writing,
    responses(
        (status = 200, description = "Stored", body = ConversationRecord),
        (status = 409, description = "This token already sent another message with this client_id", body = super::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/conversations/{id}/notes")]
async fn note(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<Writing>,
) -> Result<HttpResponse, ApiError> {
    let (agent, id) = acting(&caller, &state, &id).await?;
    let (text, client_id) = checked(body.into_inner())?;
    let outcome = state
        .conversations
        .note(&id, &agent, text, client_id)
        .await?;
    done(&state, &id, outcome).await
}

/// Gives a conversation you own back to the bot.
#[utoipa::path(
    tag = "acting as an agent",
    params(("id" = String, Path, description = "The conversation's id")),
    responses(
        (status = 200, description = "The bot answers again", body = ConversationRecord),
        (status = 409, description = "The conversation is not yours", body = super::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/conversations/{id}/hand-back")]
async fn hand_back(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (agent, id) = acting(&caller, &state, &id).await?;
    let outcome = state.conversations.hand_back(&id, &agent).await?;
    done(&state, &id, outcome).await
}

/// Closes a conversation you own, with a resolution; the visitor is asked for a rating.
#[utoipa::path(
    tag = "acting as an agent",
    params(("id" = String, Path, description = "The conversation's id")),
    request_body(content = Option<Closing>, content_type = "application/json"),
    responses(
        (status = 200, description = "Closed", body = ConversationRecord),
        (status = 409, description = "The conversation is not yours", body = super::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/conversations/{id}/close")]
async fn close(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Option<web::Json<Closing>>,
) -> Result<HttpResponse, ApiError> {
    let (agent, id) = acting(&caller, &state, &id).await?;
    let resolution = body
        .map(|b| b.into_inner().resolution)
        .unwrap_or_default()
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    if resolution.as_ref().is_some_and(|r| r.len() > 200) {
        return Err(ApiError::bad_request(
            "invalid_body",
            "a resolution has at most 200 bytes",
        ));
    }
    let outcome = state.conversations.close(&id, &agent, resolution).await?;
    done(&state, &id, outcome).await
}

pub(super) fn conversation_id(raw: &str) -> Result<ConversationId, ApiError> {
    ConversationId::parse(raw).ok_or_else(|| ApiError::not_found("conversation"))
}

async fn record(state: &AppState, id: &ConversationId) -> Result<ConversationRecord, ApiError> {
    crate::export::conversation(state.store.as_ref(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("conversation"))
}

/// The agent a write-scoped token acts as, and the conversation (which must exist); renews
/// the integration's presence.
pub(super) async fn acting(
    caller: &Caller,
    state: &AppState,
    raw_id: &str,
) -> Result<(Agent, ConversationId), ApiError> {
    caller.require(Scope::Write)?;
    let id = conversation_id(raw_id)?;
    let store = state.store.as_ref();
    if store.get(&id).await?.is_none() {
        return Err(ApiError::not_found("conversation"));
    }
    // A token named like a roster agent writes as that agent (their name and capacity).
    let agent = state
        .roster
        .get(&caller.0.name)
        .cloned()
        .unwrap_or_else(|| integration_agent(&caller.0.name));
    let ttl = Duration::from_secs(state.settings.presence_ttl_seconds);
    store
        .presence()
        .set(&agent.id, Presence::Online, ttl)
        .await?;
    Ok((agent, id))
}

/// The agent a token not in the roster writes as: named like the token (visitors read "crm
/// joined").
fn integration_agent(name: &str) -> Agent {
    Agent {
        id: name.to_owned(),
        name: name.to_owned(),
        password_hash: String::new(),
        capacity: INTEGRATION_CAPACITY,
        teams: Vec::new(),
    }
}

fn checked(w: Writing) -> Result<(String, Option<String>), ApiError> {
    let refused = |r: Refusal| ApiError::bad_request("invalid_body", r.message.into_owned());
    let text = MessageText::parse(w.text, crate::session::agent::MAX_TEXT).map_err(refused)?;
    let client_id = w
        .client_id
        .map(ClientId::parse)
        .transpose()
        .map_err(refused)?;
    Ok((text.into_inner(), client_id.map(ClientId::into_inner)))
}

/// The conversation after a done action; 409 with why when it was not done.
async fn done(
    state: &AppState,
    id: &ConversationId,
    outcome: Outcome,
) -> Result<HttpResponse, ApiError> {
    match outcome {
        Outcome::Done => Ok(json(StatusCode::OK, &record(state, id).await?)),
        Outcome::NotYours => Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_yours",
            "that conversation is not waiting any more, or not assigned to this token",
        )),
        Outcome::AtCapacity => Err(ApiError::new(
            StatusCode::CONFLICT,
            "at_capacity",
            "this token already holds as many conversations as an integration may",
        )),
        Outcome::Reused => Err(ApiError::new(
            StatusCode::CONFLICT,
            "client_id_reused",
            "this token already sent another message with this client_id; use a new one",
        )),
    }
}
