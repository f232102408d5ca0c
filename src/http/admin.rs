//! The admin side for editors and managers: `/admin` (redirects to `/admin/login` without an
//! admin session), its login and logout (a cookie of its own; agents' sessions are refused), the
//! report behind the page (knowledge-base status, KPIs, unanswered questions, per-FAQ feedback)
//! and `POST /api/kb/reload`.

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::api::problem;
use super::login::{ADMIN_COOKIE, Account, Login, LoginLimiter, html_page, sign_in};
use super::period::Period;
use crate::agents::Admin;
use crate::conversation::now_ms;
use crate::state::AppState;

static ADMIN_PAGE: &str = include_str!("../../widget/admin.html");

pub async fn admin_page(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if session_admin(&req, &state).await.is_none() {
        return HttpResponse::SeeOther()
            .insert_header((actix_web::http::header::LOCATION, "/admin/login"))
            .finish();
    }
    html_page(ADMIN_PAGE)
}

pub async fn login_page() -> HttpResponse {
    html_page(ADMIN_PAGE)
}

pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    limiter: web::Data<LoginLimiter>,
    body: web::Json<Login>,
) -> HttpResponse {
    sign_in(req, state, &limiter, body.into_inner(), Account::Admin).await
}

pub async fn logout(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let Some(cookie) = req.cookie(ADMIN_COOKIE) {
        let _ = state.store.end_session(cookie.value()).await;
    }
    let mut gone = Cookie::build(ADMIN_COOKIE, "").path("/").finish();
    gone.make_removal();
    HttpResponse::NoContent().cookie(gone).finish()
}

pub async fn me(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    match session_admin(&req, &state).await {
        Some(admin) => {
            HttpResponse::Ok().json(serde_json::json!({"id": admin.id, "name": admin.name}))
        }
        None => unauthorized(),
    }
}

fn unauthorized() -> HttpResponse {
    problem(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "sign in as an admin first",
    )
}

/// The admin of a request, if its admin cookie holds a live admin session.
pub(super) async fn session_admin(req: &HttpRequest, state: &AppState) -> Option<Admin> {
    let cookie = req.cookie(ADMIN_COOKIE)?;
    let who = state.store.session_agent(cookie.value()).await.ok()??;
    state.roster.admin(who.strip_prefix("admin:")?).cloned()
}

/// What the admin page shows: the report over a period and the knowledge base's status.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AdminReport {
    pub report: crate::analytics::Report,
    pub knowledge_base: crate::reload::KbStatus,
}

/// KPIs, unanswered questions and feedback over a period, with the knowledge base's status.
pub async fn report(
    req: HttpRequest,
    state: web::Data<AppState>,
    period: web::Query<Period>,
) -> HttpResponse {
    if session_admin(&req, &state).await.is_none() {
        return unauthorized();
    }
    let (from, to) = match period.range(now_ms()) {
        Ok(range) => range,
        Err(bad) => return problem(StatusCode::BAD_REQUEST, bad.code, &bad.message),
    };
    let store = state.store.as_ref();
    let matcher = state.matcher.load();
    match crate::analytics::period_report(store, &matcher, from, to).await {
        Ok(report) => HttpResponse::Ok().json(AdminReport {
            report,
            knowledge_base: (*state.reloader.status()).clone(),
        }),
        Err(e) => problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            &format!("cannot read conversations: {e}"),
        ),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Forget {
    /// An e-mail address the visitor gave, a visitor key, or a verified site user id.
    visitor: String,
    /// Only list what would be erased.
    #[serde(default)]
    preview: bool,
}

/// Finds every conversation of one visitor (by e-mail, visitor key or verified user id):
/// `{"conversations": [...]}` with `preview`, else erases them: `{"erased": n}`.
pub async fn forget(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<Forget>,
) -> HttpResponse {
    let Some(admin) = session_admin(&req, &state).await else {
        return unauthorized();
    };
    let store = state.store.as_ref();
    let unavailable = |e: crate::ports::StoreError| {
        problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            &format!("cannot look up or erase now: {e}"),
        )
    };
    let found =
        match crate::privacy::find_visitor(store, &body.visitor, state.identity.as_ref()).await {
            Ok(Ok(found)) => found,
            Ok(Err(message)) => return problem(StatusCode::BAD_REQUEST, "bad_visitor", &message),
            Err(e) => return unavailable(e),
        };
    if body.preview {
        return HttpResponse::Ok().json(serde_json::json!({"conversations": found}));
    }
    let ids: Vec<_> = found
        .iter()
        .filter_map(|f| crate::conversation::ConversationId::parse(&f.conversation))
        .collect();
    match state.conversations.erase(&ids).await {
        Ok(erased) => {
            for id in &ids {
                // A file left behind goes with the next retention sweep.
                if let Err(e) = state.attachments.erase(id).await {
                    tracing::warn!(conv = %id, error = %e, "cannot erase attachments yet");
                }
            }
            tracing::info!(admin = %admin.id, erased, "erased a visitor's conversations");
            HttpResponse::Ok().json(serde_json::json!({"erased": erased}))
        }
        Err(e) => unavailable(e),
    }
}

/// One conversation, read-only, for an admin checking a number: its record (state, visitor,
/// reason, resolution, times) and its whole log, notes and the bot's explanations included.
pub async fn conversation(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> HttpResponse {
    if session_admin(&req, &state).await.is_none() {
        return unauthorized();
    }
    let Some(id) = crate::conversation::ConversationId::parse(&id) else {
        return problem(StatusCode::NOT_FOUND, "not_found", "no such conversation");
    };
    let store = state.store.as_ref();
    let read = async {
        let Some(c) = store.get(&id).await? else {
            return Ok(None);
        };
        let events = store.events_after(&id, 0).await?;
        Ok::<_, crate::ports::StoreError>(Some((c, events)))
    };
    match read.await {
        Ok(Some((c, events))) => HttpResponse::Ok().json(serde_json::json!({
            "conversation": c.id.to_string(),
            "created": c.created,
            "state": c.state,
            "visitor": c.visitor,
            "reason": c.reason.as_ref().map(crate::protocol::Reason::from),
            "resolution": c.resolution,
            "language": c.memory.language,
            "events": events,
        })),
        Ok(None) => problem(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such conversation (erased, or past retention)",
        ),
        Err(e) => problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            &format!("cannot read the conversation: {e}"),
        ),
    }
}

/// The knowledge base's status (hash, loaded at, errors of the last rejected reload).
pub async fn kb_status(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if session_admin(&req, &state).await.is_none() {
        return unauthorized();
    }
    HttpResponse::Ok().json(&*state.reloader.status())
}

/// Reloads the knowledge base from this node's files: 200 when it is (still) good, 422 with the
/// problems when the files have errors (the last good knowledge base keeps serving).
pub async fn kb_reload(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if session_admin(&req, &state).await.is_none() {
        return unauthorized();
    }
    let outcome = state.reloader.reload().await;
    let status = if outcome.ok {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    HttpResponse::build(status).json(outcome)
}

/// What /admin shows of e-mail: whether it is set up, and the newest mails with their state.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct OutboxView {
    /// `smtp_url` is set.
    pub configured: bool,
    pub mails: Vec<crate::ports::OutboxEntry>,
}

/// Mails shown on /admin.
const OUTBOX_SHOWN: usize = 50;

/// `GET /api/admin/outbox`: the newest mails (sent, retrying with the server's answer, failed).
pub async fn outbox(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if session_admin(&req, &state).await.is_none() {
        return unauthorized();
    }
    match state.store.mails(OUTBOX_SHOWN).await {
        Ok(mails) => HttpResponse::Ok().json(OutboxView {
            configured: state.postbox.is_some(),
            mails,
        }),
        Err(e) => problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            &format!("cannot read the outbox: {e}"),
        ),
    }
}
