//! The agents' HTTP side: the console pages (`/agent` redirects to `/agent/login` without a
//! session), login and logout (the sign-in itself is `login.rs`, shared with /admin), and the
//! console websocket's handshake, which requires the session cookie.

use std::time::Duration;

use actix_web::cookie::Cookie;
use actix_web::{HttpRequest, HttpResponse, web};

use super::api::problem;
use super::login::{Account, Login, LoginLimiter, SESSION_COOKIE, html_page, sign_in};
use crate::ports::Presence;
use crate::state::AppState;

static CONSOLE_PAGE: &str = include_str!("../../widget/console.html");

/// The console for a logged-in agent; anyone else goes to the sign-in page.
pub async fn console_page(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if session_agent(&req, &state).await.is_none() {
        return HttpResponse::SeeOther()
            .insert_header((actix_web::http::header::LOCATION, "/agent/login"))
            .finish();
    }
    page()
}

pub async fn login_page() -> HttpResponse {
    page()
}

fn page() -> HttpResponse {
    html_page(CONSOLE_PAGE)
}

/// Who is logged in: 200 with the agent, or 401 (the console then goes to the sign-in page).
pub async fn me(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    match session_agent(&req, &state).await {
        Some(agent) => {
            HttpResponse::Ok().json(serde_json::json!({"id": agent.id, "name": agent.name}))
        }
        None => problem(
            actix_web::http::StatusCode::UNAUTHORIZED,
            "unauthorized",
            "log in first",
        ),
    }
}

pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    limiter: web::Data<LoginLimiter>,
    body: web::Json<Login>,
) -> HttpResponse {
    sign_in(req, state, &limiter, body.into_inner(), Account::Agent).await
}

pub async fn logout(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let Some(cookie) = req.cookie(SESSION_COOKIE) {
        let store = &state.store;
        if let Ok(Some(agent)) = store.session_agent(cookie.value()).await {
            // Logging out is leaving: chats go back to the queue on the router's next round.
            let _ = store
                .presence()
                .set(&agent, Presence::Offline, Duration::from_millis(1))
                .await;
        }
        let _ = store.end_session(cookie.value()).await;
        // This node's consoles on that session close now; other nodes' at their next beat.
        let _ = state.ended_sessions.send(cookie.value().into());
    }
    let mut gone = Cookie::build(SESSION_COOKIE, "").path("/").finish();
    gone.make_removal();
    HttpResponse::NoContent().cookie(gone).finish()
}

/// The logged-in agent of a request, if its cookie holds a live session of a known agent.
pub async fn session_agent(req: &HttpRequest, state: &AppState) -> Option<crate::agents::Agent> {
    let cookie = req.cookie(SESSION_COOKIE)?;
    let id = state.store.session_agent(cookie.value()).await.ok()??;
    state.roster.get(&id).cloned()
}

pub async fn agent_socket(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> actix_web::Result<HttpResponse> {
    let Some(agent) = session_agent(&req, &state).await else {
        return Ok(problem(
            actix_web::http::StatusCode::UNAUTHORIZED,
            "unauthorized",
            "log in first",
        ));
    };
    let (response, session, stream) = super::websocket(&req, body).await?;
    let signed_in = req
        .cookie(SESSION_COOKIE)
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    let tasks = state.tasks.clone();
    actix_web::rt::spawn(tasks.track_future(crate::session::agent::run(
        state, agent, signed_in, session, stream,
    )));
    Ok(response)
}
