//! The rest of `/api/v1`: the queue and agents' presence (read), KPIs and unanswered questions
//! for a period (read, what /admin shows), the knowledge base's status and a reload (admin), a
//! visitor's data for an access request and its erasure (admin), and an integration's own
//! presence (write).

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, get, post, put, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiError, Caller, json};
use crate::analytics::{QuestionGroup, Report};
use crate::conversation::{VisitorKey, now_ms};
use crate::export::VisitorBundle;
use crate::http::period::Period;
use crate::ports::Presence;
use crate::reload::{KbStatus, ReloadOutcome};
use crate::state::AppState;
use crate::tokens::Scope;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(queue)
        .service(agents)
        .service(kpis)
        .service(unanswered)
        .service(kb_status)
        .service(kb_reload)
        .service(export_visitor)
        .service(erase_visitor)
        .service(presence);
}

/// A conversation waiting for a person.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Waiting {
    /// 1 = next to be served.
    pub position: usize,
    pub id: String,
    /// Why the bot let it go.
    pub reason: Option<String>,
    /// Since when it waits (ms since the epoch).
    pub enqueued_at: Option<u64>,
}

/// The queue, in order.
#[utoipa::path(
    tag = "queue and agents",
    responses((status = 200, description = "Waiting conversations, next first", body = Vec<Waiting>))
)]
#[get("/queue")]
async fn queue(caller: Caller, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Read)?;
    let store = state.store.as_ref();
    let mut waiting = Vec::new();
    for id in store.queue().await? {
        let Some(c) = store.get(&id).await? else {
            continue;
        };
        waiting.push(Waiting {
            position: waiting.len() + 1,
            id: id.to_string(),
            reason: c.reason.as_ref().map(ToString::to_string),
            enqueued_at: c.enqueued_at,
        });
    }
    Ok(json(StatusCode::OK, &waiting))
}

/// An agent (or an integration) as the router sees them.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AgentView {
    pub id: String,
    /// As visitors see it.
    pub name: String,
    pub presence: PresenceView,
    /// The conversations they have now (ids).
    pub chats: Vec<String>,
    /// Chats at once (absent for integrations not in the roster).
    pub capacity: Option<usize>,
    pub teams: Vec<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PresenceView {
    Online,
    Away,
    Offline,
}

impl From<Presence> for PresenceView {
    fn from(p: Presence) -> PresenceView {
        match p {
            Presence::Online => PresenceView::Online,
            Presence::Away => PresenceView::Away,
            Presence::Offline => PresenceView::Offline,
        }
    }
}

/// Every agent in the roster and every agent or integration with a presence or chats.
#[utoipa::path(
    tag = "queue and agents",
    responses((status = 200, description = "Agents by id", body = Vec<AgentView>))
)]
#[get("/agents")]
async fn agents(caller: Caller, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Read)?;
    let mut known = state.store.agents().await?;
    for agent in &state.roster.agents {
        if !known.iter().any(|a| a.id == agent.id) {
            known.push(crate::ports::AgentState {
                id: agent.id.clone(),
                presence: Presence::Offline,
                chats: Vec::new(),
                last_assigned: 0,
            });
        }
    }
    known.sort_by(|a, b| a.id.cmp(&b.id));
    let views: Vec<AgentView> = known
        .into_iter()
        .map(|a| {
            let roster = state.roster.get(&a.id);
            AgentView {
                name: roster.map_or_else(|| a.id.clone(), |r| r.name.clone()),
                capacity: roster.map(|r| r.capacity),
                teams: roster.map(|r| r.teams.clone()).unwrap_or_default(),
                presence: a.presence.into(),
                chats: a.chats.iter().map(|c| c.id.to_string()).collect(),
                id: a.id,
            }
        })
        .collect();
    Ok(json(StatusCode::OK, &views))
}

async fn report(state: &AppState, period: &Period) -> Result<Report, ApiError> {
    let (from, to) = period.range(now_ms())?;
    let matcher = state.matcher.load();
    let store = state.store.as_ref();
    Ok(crate::analytics::period_report(store, &matcher, from, to).await?)
}

/// KPIs for a period, with what each one counts: bot resolution, handoffs by reason, response
/// and wait times, first-contact resolution, CSAT (what /admin shows).
#[utoipa::path(
    tag = "reports",
    params(Period),
    responses((status = 200, description = "The period's report", body = Report))
)]
#[get("/kpis")]
async fn kpis(
    caller: Caller,
    state: web::Data<AppState>,
    period: web::Query<Period>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Read)?;
    Ok(json(StatusCode::OK, &report(&state, &period).await?))
}

/// The questions the bot did not answer well in a period, grouped, most frequent first.
#[utoipa::path(
    tag = "reports",
    params(Period),
    responses((status = 200, description = "Question groups", body = Vec<QuestionGroup>))
)]
#[get("/unanswered")]
async fn unanswered(
    caller: Caller,
    state: web::Data<AppState>,
    period: web::Query<Period>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Read)?;
    Ok(json(
        StatusCode::OK,
        &report(&state, &period).await?.unanswered,
    ))
}

/// The serving knowledge base: its hash, when it loaded, its warnings, and the errors of a
/// rejected reload.
#[utoipa::path(
    tag = "knowledge base",
    responses((status = 200, description = "Its status", body = KbStatus))
)]
#[get("/knowledge-base")]
async fn kb_status(caller: Caller, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Admin)?;
    Ok(json(StatusCode::OK, &*state.reloader.status()))
}

/// Reloads the knowledge base from this node's files. With errors, the last good one keeps
/// serving and the answer lists them (file, line, field).
#[utoipa::path(
    tag = "knowledge base",
    responses(
        (status = 200, description = "Reloaded (or unchanged)", body = ReloadOutcome),
        (status = 422, description = "The files have errors; the last good one serves", body = ReloadOutcome),
    )
)]
#[post("/knowledge-base/reload")]
async fn kb_reload(caller: Caller, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Admin)?;
    let outcome = state.reloader.reload().await;
    let status = if outcome.ok {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(json(status, &outcome))
}

/// The visitor `raw` names: a visitor key, or a verified site user id (with the identity
/// secret). Anything else names nobody: 404, as a key that has no conversations is not.
fn visitor_key_with(
    raw: &str,
    identity: Option<&crate::identity::IdentitySecret>,
) -> Result<VisitorKey, ApiError> {
    crate::privacy::visitor_key_of(raw, identity)
        .map_err(|message| ApiError::new(StatusCode::NOT_FOUND, "no_such_visitor", message))
}

/// Everything held about one visitor (an access request): their conversations as the widget
/// showed them.
#[utoipa::path(
    tag = "visitors",
    params(("visitor" = String, Path, description = "A visitor key (32 hex digits), or a verified site user id")),
    responses((status = 200, description = "The visitor's data", body = VisitorBundle))
)]
#[get("/visitors/{visitor}")]
async fn export_visitor(
    caller: Caller,
    state: web::Data<AppState>,
    visitor: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Admin)?;
    let key = visitor_key_with(&visitor, state.identity.as_ref())?;
    let mut bundle = crate::export::visitor_bundle(state.store.as_ref(), &key).await?;
    bundle.files = bundled_files(&state, &bundle).await?;
    tracing::info!(token = %caller.0.name, conversations = bundle.conversations.len(), "exported a visitor's data");
    Ok(json(StatusCode::OK, &bundle))
}

/// The files of the bundle's conversations, with their bytes.
async fn bundled_files(
    state: &AppState,
    bundle: &crate::export::VisitorBundle,
) -> Result<Vec<crate::export::BundledFile>, ApiError> {
    use base64::Engine;
    let mut files = Vec::new();
    for record in &bundle.conversations {
        for event in record.events.iter().flatten() {
            let (crate::conversation::EventBody::VisitorFile { file, .. }
            | crate::conversation::EventBody::AgentFile { file, .. }) = &event.body
            else {
                continue;
            };
            let Some(id) = crate::conversation::ConversationId::parse(&record.id) else {
                continue;
            };
            let bytes = match state.attachments.read(&id, file).await {
                Ok(bytes) => bytes,
                // Erased meanwhile, or never kept: the transcript still names it.
                Err(object_store::Error::NotFound { .. }) => continue,
                Err(e) => {
                    return Err(ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "storage_unavailable",
                        format!("the visitor's files cannot be read now: {e}"),
                    ));
                }
            };
            files.push(crate::export::BundledFile {
                conversation: record.id.clone(),
                file: file.clone(),
                base64: base64::engine::general_purpose::STANDARD.encode(&bytes),
            });
        }
    }
    Ok(files)
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Erased {
    /// Conversations erased.
    pub erased: usize,
}

/// Erases every conversation of one visitor and every trace of them.
#[utoipa::path(
    tag = "visitors",
    params(("visitor" = String, Path, description = "A visitor key (32 hex digits), or a verified site user id")),
    responses((status = 200, description = "Erased", body = Erased))
)]
#[delete("/visitors/{visitor}")]
async fn erase_visitor(
    caller: Caller,
    state: web::Data<AppState>,
    visitor: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Admin)?;
    let key = visitor_key_with(&visitor, state.identity.as_ref())?;
    let erased = state.conversations.forget_visitor(&key).await?;
    if let Err(e) = state.attachments.sweep(state.store.as_ref()).await {
        // What is left goes with the next retention sweep.
        tracing::warn!(error = %e, "cannot erase the visitor's attachments yet");
    }
    tracing::info!(token = %caller.0.name, erased, "erased a visitor's conversations");
    Ok(json(StatusCode::OK, &Erased { erased }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PresenceChange {
    /// `online` keeps your chats; `away` too (integrations are never assigned chats by the
    /// router, they claim them).
    status: SetPresence,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SetPresence {
    Online,
    Away,
}

/// Keeps this integration present: call at least every `presence_ttl_seconds` (20 s by
/// default) while it holds chats, or they go back to the queue.
#[utoipa::path(
    tag = "acting as an agent",
    request_body = PresenceChange,
    responses((status = 204, description = "Present until the next heartbeat is due"))
)]
#[put("/presence")]
async fn presence(
    caller: Caller,
    state: web::Data<AppState>,
    body: web::Json<PresenceChange>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Write)?;
    let presence = match body.status {
        SetPresence::Online => Presence::Online,
        SetPresence::Away => Presence::Away,
    };
    let ttl = Duration::from_secs(state.settings.presence_ttl_seconds);
    state
        .store
        .presence()
        .set(&caller.0.name, presence, ttl)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
