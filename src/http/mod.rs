//! HTTP routes only, no business logic: the demo page and widget (embedded in the binary), health
//! and readiness, metrics, the visitor websocket's handshake (origin and capacity checks), and
//! the agent console: its pages, login and socket (`agent`).

mod admin;
mod agent;
pub mod api;
pub(crate) mod client;
mod editors;
mod file_transfer;
mod files;
mod frame_limit;
mod login;
mod mail_in;
pub mod pages;
mod period;

pub use login::LoginLimiter;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{self, ContentType};
use actix_web::middleware::{DefaultHeaders, Next};
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use actix_ws::{AggregatedMessageStream, Session};

use std::time::Duration;

use subtle::ConstantTimeEq;

use crate::config::Settings;
use crate::state::AppState;

static DEMO_PAGE: &str = include_str!("../../widget/demo.html");
static WIDGET_JS: &str = include_str!("../../widget/widget.js");
/// Largest websocket frame the transport accepts; text frames over `max_frame_bytes` but under
/// this get a polite `too_large` error, larger ones close the socket with 1009.
pub(crate) const TRANSPORT_FRAME_LIMIT: usize = 64 * 1024;

pub fn routes(cfg: &mut web::ServiceConfig) {
    use actix_web::http::StatusCode;
    // The staff pages' bodies and queries are refused in the API's shape too (the API's scope
    // sets its own).
    cfg.app_data(
        web::JsonConfig::default()
            .limit(64 * 1024)
            .error_handler(|e, _| {
                api::ApiError::new(StatusCode::BAD_REQUEST, "invalid_body", e.to_string()).into()
            }),
    )
    .app_data(web::QueryConfig::default().error_handler(|e, _| {
        api::ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e.to_string()).into()
    }));
    cfg.route("/", web::get().to(demo_page))
        .route("/widget.js", web::get().to(widget_js))
        .route("/widget/{name}", web::get().to(pages::widget_module))
        .route("/pages/{name}", web::get().to(pages::file))
        .route("/api/widget/allowed", web::get().to(widget_allowed))
        .route("/favicon.ico", web::get().to(no_content))
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics))
        .route("/ws", web::get().to(visitor_socket))
        .route("/agent", web::get().to(agent::console_page))
        .route("/agent/login", web::get().to(agent::login_page))
        .route("/api/agent/me", web::get().to(agent::me))
        .route("/api/agent/login", web::post().to(agent::login))
        .route("/api/agent/logout", web::post().to(agent::logout))
        .route("/ws/agent", web::get().to(agent::agent_socket))
        .route("/admin", web::get().to(admin::admin_page))
        .route("/admin/login", web::get().to(admin::login_page))
        .route("/api/admin/me", web::get().to(admin::me))
        .route("/api/admin/login", web::post().to(admin::login))
        .route("/api/admin/logout", web::post().to(admin::logout))
        .route("/api/admin/report", web::get().to(admin::report))
        .route("/api/admin/forget", web::post().to(admin::forget))
        .route("/api/admin/outbox", web::get().to(admin::outbox))
        .service(
            web::resource("/api/mail/inbound")
                .app_data(web::PayloadConfig::new(mail_in::MAX_MAIL_BYTES))
                .route(web::post().to(mail_in::inbound)),
        )
        .route(
            "/api/admin/conversations/{id}",
            web::get().to(admin::conversation),
        )
        .route("/api/files", web::post().to(files::upload))
        .route(
            "/api/files",
            web::method(Method::OPTIONS).to(files::preflight),
        )
        .route(
            "/api/files/{conversation}/{file}",
            web::get().to(files::download),
        )
        .route(
            "/api/files/{conversation}/{file}",
            web::method(Method::OPTIONS).to(files::preflight),
        )
        .route("/api/admin/kb/try", web::post().to(editors::try_it))
        .route("/api/admin/kb/faqs", web::get().to(editors::faqs))
        .route("/api/admin/kb/fixes", web::post().to(editors::fix))
        .route("/api/admin/kb/preview", web::post().to(editors::preview))
        .route("/api/admin/kb/test", web::post().to(editors::test))
        .route("/api/admin/kb/changes", web::get().to(editors::changes))
        .route("/api/kb", web::get().to(admin::kb_status))
        .route("/api/kb/reload", web::post().to(admin::kb_reload))
        .route("/api/v1/openapi.json", web::get().to(api::openapi_json))
        .service(api::scope())
        .default_service(web::to(not_found));
}

/// Anything no route takes: an API-looking path (in any case: paths are case-sensitive) gets a
/// problem like the API's own refusals, anything else a short text.
async fn not_found(req: HttpRequest) -> HttpResponse {
    use actix_web::ResponseError;
    let path = req.path();
    if path
        .get(..5)
        .is_some_and(|p| p.eq_ignore_ascii_case("/api/"))
    {
        let shown = api::logged_path(path);
        return api::ApiError::new(
            actix_web::http::StatusCode::NOT_FOUND,
            "no_such_route",
            format!(
                "{} {shown} is not part of the API (paths are case-sensitive); see \
                 /api/v1/openapi.json",
                req.method()
            ),
        )
        .error_response();
    }
    HttpResponse::NotFound()
        .content_type(ContentType::plaintext())
        .body("Not found")
}

/// Middleware: a HEAD request is answered as its GET would be, without the body (HTTP requires
/// HEAD wherever GET is allowed; actix's routes take GET only). The connection already knows
/// the request was HEAD and sends no body.
pub async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> actix_web::Result<ServiceResponse<impl MessageBody + 'static>> {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    next.call(req).await
}

/// Paths that act with an agent's or admin's session cookie.
fn is_staff_path(path: &str) -> bool {
    ["/api/agent/", "/api/admin/", "/api/kb/"]
        .iter()
        .any(|p| path.starts_with(p))
        || path == "/ws/agent"
}

/// Middleware: a staff request that changes something (anything but GET), and every agent
/// socket, must come from our own pages (`client::same_origin`); others get 403 before any
/// handler runs.
pub async fn own_pages_only(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> actix_web::Result<ServiceResponse<impl MessageBody + 'static>> {
    let acts = req.method() != Method::GET || req.path() == "/ws/agent";
    let trust_proxy = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|s| s.settings.trust_proxy);
    if acts && is_staff_path(req.path()) && !client::same_origin(req.request(), trust_proxy) {
        let refused = HttpResponse::Forbidden().json(serde_json::json!({
            "error": "cross_origin",
            "message": "this request must come from the console's own pages",
        }));
        return Ok(req.into_response(refused).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// Middleware: a request not answered within `request_timeout_seconds` (a body trickling in,
/// say) is answered 408 and its connection closed. A websocket's handshake answers at once; the
/// socket itself has its own limits.
pub async fn deadline(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> actix_web::Result<ServiceResponse<impl MessageBody + 'static>> {
    let seconds = req
        .app_data::<web::Data<AppState>>()
        .map_or(30, |s| s.settings.request_timeout_seconds);
    match tokio::time::timeout(Duration::from_secs(seconds), next.call(req)).await {
        Ok(answered) => answered,
        Err(_) => Err(actix_web::error::ErrorRequestTimeout(
            "the request took too long",
        )),
    }
}

/// Headers on every answer: no MIME sniffing, no framing by other sites, no referrer beyond
/// our origin.
pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "same-origin"))
}

/// The console's and admin's pages load only their own script and talk only to this server.
pub(crate) const STAFF_PAGE_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
    frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

async fn demo_page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .body(DEMO_PAGE)
}

async fn widget_js() -> HttpResponse {
    pages::javascript(WIDGET_JS)
}

/// Whether the page asking may embed the widget: 204 with CORS headers for allowed origins (the
/// same list as `/ws`), 403 without them otherwise, so the widget can say so in the console
/// instead of showing a panel that cannot connect.
async fn widget_allowed(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if !origin_allowed(&req, &state.settings) {
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
    match state.store.ping().await {
        Ok(()) => HttpResponse::Ok().body(format!("ready\n{detail}")),
        Err(e) => {
            HttpResponse::ServiceUnavailable().body(format!("store unavailable: {e}\n{detail}"))
        }
    }
}

async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let Some(token) = &state.settings.metrics_token
        && !bearer_is(&req, token)
    {
        return HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer"))
            .body("metrics need the metrics token");
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}

/// Whether the request carries `Authorization: Bearer <secret>` (compared in constant time).
pub(crate) fn bearer_is(req: &HttpRequest, secret: &str) -> bool {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    bool::from(given.as_bytes().ct_eq(secret.as_bytes()))
}

async fn visitor_socket(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> actix_web::Result<HttpResponse> {
    if !origin_allowed(&req, &state.settings) {
        return Ok(HttpResponse::Forbidden().body("this origin may not open the chat socket"));
    }
    let Ok(room) = state.connections.clone().try_acquire_owned() else {
        return Ok(
            HttpResponse::ServiceUnavailable().body("too many open chats; try again shortly")
        );
    };
    let address = client::limited_address(&req, &state.settings);
    let slot = match address {
        Some(address) => {
            let slot = state
                .sockets
                .take(address, state.settings.connections_per_address);
            if slot.is_none() {
                return Ok(HttpResponse::TooManyRequests()
                    .body("too many open chats from your address; close one and try again"));
            }
            slot
        }
        None => None,
    };
    let (response, session, stream) = websocket(&req, body).await?;
    let peer = crate::session::visitor::Peer {
        address,
        _slot: slot,
        _room: room,
    };
    let tasks = state.tasks.clone();
    actix_web::rt::spawn(
        tasks.track_future(crate::session::visitor::run(state, session, stream, peer)),
    );
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

/// Who may embed the widget. Browsers send `Origin`; other clients may not (allowed). Allowed:
/// the server's own origin, localhost on any port (http or https), and `allowed_origins`.
pub(crate) fn origin_allowed(req: &HttpRequest, settings: &Settings) -> bool {
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    origin == client::own_origin(req, settings.trust_proxy) || settings.lists_origin(origin)
}
