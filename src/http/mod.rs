//! HTTP routes only, no business logic: the demo page and widget (embedded in the binary), health
//! and readiness, metrics, the visitor websocket's handshake (origin and capacity checks), and
//! the agent console: its pages, login and socket (`agent`).

mod admin;
mod agent;
mod frame_limit;

pub use agent::LoginLimiter;

use actix_web::http::header::{self, ContentType};
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use actix_ws::{AggregatedMessageStream, Session};

use crate::startup::AppState;

static DEMO_PAGE: &str = include_str!("../../widget/demo.html");
static WIDGET_JS: &str = include_str!("../../widget/widget.js");
/// Largest websocket frame the transport accepts; text frames over `max_frame_bytes` but under
/// this get a polite `too_large` error, larger ones close the socket with 1009.
pub(crate) const TRANSPORT_FRAME_LIMIT: usize = 64 * 1024;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(demo_page))
        .route("/widget.js", web::get().to(widget_js))
        .route("/api/widget/allowed", web::get().to(widget_allowed))
        .route("/favicon.ico", web::get().to(no_content))
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics))
        .route("/ws", web::get().to(visitor_socket))
        .route("/agent", web::get().to(agent::console_page))
        .route("/agent/login", web::get().to(agent::login_page))
        .route("/agent/console.js", web::get().to(agent::console_js))
        .route("/api/agent/me", web::get().to(agent::me))
        .route("/api/agent/login", web::post().to(agent::login))
        .route("/api/agent/logout", web::post().to(agent::logout))
        .route("/ws/agent", web::get().to(agent::agent_socket))
        .route("/admin", web::get().to(admin::admin_page))
        .route("/admin/login", web::get().to(admin::login_page))
        .route("/admin/admin.js", web::get().to(admin::admin_js))
        .route("/api/admin/me", web::get().to(admin::me))
        .route("/api/admin/login", web::post().to(admin::login))
        .route("/api/admin/logout", web::post().to(admin::logout))
        .route("/api/admin/report", web::get().to(admin::report))
        .route("/api/admin/forget", web::post().to(admin::forget))
        .route("/api/kb", web::get().to(admin::kb_status))
        .route("/api/kb/reload", web::post().to(admin::kb_reload));
}

async fn demo_page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .body(DEMO_PAGE)
}

async fn widget_js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/javascript; charset=utf-8")
        .body(WIDGET_JS)
}

/// Whether the page asking may embed the widget: 204 with CORS headers for allowed origins (the
/// same list as `/ws`), 403 without them otherwise, so the widget can say so in the console
/// instead of showing a panel that cannot connect.
async fn widget_allowed(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if !origin_allowed(&req, &state.settings.allowed_origins) {
        return HttpResponse::Forbidden().body("this origin may not embed the chat");
    }
    let mut response = HttpResponse::NoContent();
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        response
            .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone()))
            .insert_header((header::VARY, "Origin"));
    }
    response.finish()
}

async fn no_content() -> HttpResponse {
    HttpResponse::NoContent().finish()
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().body("ok")
}

/// Ready when the knowledge base is loaded (it is, once the server runs) and the store answers.
/// During a Redis outage this says so (503): the bot still answers, handoffs wait for Redis.
/// The body's next lines tell the knowledge base's state, including the errors of a rejected
/// reload (the node stays ready: it serves the last good knowledge base).
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let kb = state.reloader.status();
    let mut detail = format!("knowledge base {} ({} FAQs)", kb.content_hash, kb.faqs);
    if !kb.errors.is_empty() {
        detail.push_str(
            "\nthe last reload was rejected; serving the last good knowledge base. Errors:",
        );
        for line in kb.error_lines() {
            detail.push_str("\n  ");
            detail.push_str(&line);
        }
    }
    match state.conversations.store.ping().await {
        Ok(()) => HttpResponse::Ok().body(format!("ready\n{detail}")),
        Err(e) => {
            HttpResponse::ServiceUnavailable().body(format!("store unavailable: {e}\n{detail}"))
        }
    }
}

async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.conversations.metrics.render())
}

async fn visitor_socket(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> actix_web::Result<HttpResponse> {
    if !origin_allowed(&req, &state.settings.allowed_origins) {
        return Ok(HttpResponse::Forbidden().body("this origin may not open the chat socket"));
    }
    if state.conversations.metrics.open_sockets.get() as usize >= state.settings.max_connections {
        return Ok(
            HttpResponse::ServiceUnavailable().body("too many open chats; try again shortly")
        );
    }
    let (response, session, stream) = websocket(&req, body).await?;
    actix_web::rt::spawn(crate::session::visitor::run(state, session, stream));
    Ok(response)
}

/// The websocket handshake, with every frame limited to `TRANSPORT_FRAME_LIMIT`: a larger one is
/// refused as soon as its header arrives (`frame_limit`), and fragments are joined up to the
/// same limit.
async fn websocket(
    req: &HttpRequest,
    body: web::Payload,
) -> actix_web::Result<(HttpResponse, Session, AggregatedMessageStream)> {
    let mut limited = frame_limit::limit_frames(body.into_inner(), TRANSPORT_FRAME_LIMIT);
    let body = web::Payload::from_request(req, &mut limited).await?;
    let (response, session, stream) = actix_ws::handle(req, body)?;
    let stream = stream
        .max_frame_size(TRANSPORT_FRAME_LIMIT)
        .aggregate_continuations()
        .max_continuation_size(TRANSPORT_FRAME_LIMIT);
    Ok((response, session, stream))
}

/// Browsers send `Origin`; other clients may not (allowed). Allowed: the server's own origin,
/// localhost on any port, and the configured list.
pub(crate) fn origin_allowed(req: &HttpRequest, extra: &[String]) -> bool {
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let host = req.connection_info().host().to_owned();
    let own = [format!("http://{host}"), format!("https://{host}")];
    own.iter().any(|o| o == origin) || is_localhost(origin) || extra.iter().any(|o| o == origin)
}

fn is_localhost(origin: &str) -> bool {
    let Some((_, rest)) = origin.split_once("://") else {
        return false;
    };
    let host = match rest.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => rest.split(':').next().unwrap_or(""),
    };
    matches!(host, "localhost" | "127.0.0.1" | "::1")
}

#[cfg(test)]
mod tests {
    use super::is_localhost;

    #[test]
    fn localhost_origins_are_recognised_on_any_port() {
        assert!(is_localhost("http://localhost:3000"));
        assert!(is_localhost("http://127.0.0.1"));
        assert!(is_localhost("http://[::1]:8080"));
        assert!(!is_localhost("http://localhost.evil.example"));
        assert!(!is_localhost("https://shop.example"));
    }
}
