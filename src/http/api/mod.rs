//! The integration API under `/api/v1`: JSON over HTTP for CRMs, BI tools and bridges, with
//! `Authorization: Bearer <token>` (see `tokens`) and scopes checked per route. Errors are
//! `application/problem+json` (RFC 9457) with one of our error codes. The OpenAPI 3.1 document
//! (`/api/v1/openapi.json`) is generated from the handlers themselves: a route joins the scope
//! only through `utoipa_actix_web`, which takes its path, parameters and responses from its
//! `#[utoipa::path]`, so the document cannot leave a route out.
//!
//! The handlers are thin: conversations are read as `export` records and changed through
//! `Conversations`, under the same rules as the console (ownership, atomic claims).

mod conversations;
mod files;
mod knowledge_base;
mod operations;

use std::sync::LazyLock;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError, web};
use futures_util::future::LocalBoxFuture;
use serde::Serialize;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, ResponseBuilder};
use utoipa_actix_web::AppExt;

use crate::ports::StoreError;
use crate::state::AppState;
use crate::tokens::{ApiToken, Scope};

/// Where the API lives.
pub const PREFIX: &str = "/api/v1";
const PROBLEM_JSON: &str = "application/problem+json";

/// The API's routes, as one scope for the server (`http::routes`) and for the document.
pub fn scope() -> utoipa_actix_web::scope::Scope<
    impl actix_web::dev::ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    utoipa_actix_web::scope(PREFIX)
        .app_data(
            web::JsonConfig::default()
                .limit(64 * 1024)
                .error_handler(|e, _| {
                    ApiError::new(StatusCode::BAD_REQUEST, "invalid_body", e.to_string()).into()
                }),
        )
        .app_data(web::QueryConfig::default().error_handler(|e, _| {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e.to_string()).into()
        }))
        .app_data(web::PathConfig::default().error_handler(|e, _| {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string()).into()
        }))
        .wrap(actix_web::middleware::from_fn(log_request))
        .configure(conversations::routes)
        .configure(operations::routes)
        .configure(files::routes)
        .configure(knowledge_base::routes)
        .default_service(web::to(no_such_route))
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "frontdesk API",
        description = "Conversations, the queue, agents, KPIs, the knowledge base and visitors' \
                       data, for integrations. Every call needs `Authorization: Bearer <token>` \
                       (`frontdesk token add NAME --scopes read,write,admin`).",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    security(("token" = [])),
    components(schemas(Problem))
)]
struct ApiDoc;

/// The OpenAPI document, built once from the routes.
pub fn document() -> &'static utoipa::openapi::OpenApi {
    static DOCUMENT: LazyLock<utoipa::openapi::OpenApi> = LazyLock::new(|| {
        let (_, mut doc) = actix_web::App::new()
            .into_utoipa_app()
            .openapi(ApiDoc::openapi())
            .service(scope())
            .split_for_parts();
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        add_problems(&mut doc);
        doc
    });
    &DOCUMENT
}

/// Every operation can be refused the same ways; they are added here once instead of on each.
fn add_problems(doc: &mut utoipa::openapi::OpenApi) {
    let problem = || {
        ContentBuilder::new()
            .schema(Some(utoipa::openapi::Ref::from_schema_name(
                "ProblemDetails",
            )))
            .build()
    };
    let common = [
        ("400", "The query, path or body is not valid"),
        ("401", "No token, or not a valid one"),
        ("403", "The token lacks the scope this needs"),
        ("404", "No such thing"),
        (
            "405",
            "The path does not take this method (`Allow` lists those it takes)",
        ),
        ("408", "The request took too long"),
        ("413", "The body is too large"),
        ("415", "The body is not JSON"),
        ("503", "The store is unavailable; try again"),
    ];
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.delete,
            &mut item.patch,
        ];
        for op in operations.into_iter().flatten() {
            for (status, description) in common {
                op.responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| {
                        ResponseBuilder::new()
                            .description(description)
                            .content(PROBLEM_JSON, problem())
                            .build()
                            .into()
                    });
            }
        }
    }
}

/// `GET /api/v1/openapi.json`: the document (no token needed).
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(document())
}

/// An error body (RFC 9457 problem details).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = ProblemDetails)]
pub struct Problem {
    /// `urn:frontdesk:problem:<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The HTTP status's name.
    pub title: String,
    pub status: u16,
    /// What went wrong, for a person.
    pub detail: String,
    /// Ours, stable: `unauthorized`, `missing_scope`, `not_found`, `invalid_body`,
    /// `invalid_query`, `bad_cursor`, `bad_visitor`, `not_yours`, `at_capacity`,
    /// `unavailable`, `no_such_route`...
    pub code: String,
}

/// How a call is refused.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            detail: detail.into(),
        }
    }

    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no such {what}"),
        )
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, detail)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.detail)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = problem(self.status, self.code, &self.detail);
        if self.status == StatusCode::UNAUTHORIZED {
            // The API's credentials are Bearer tokens (the staff pages' are cookies).
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

/// The one shape of every refusal over HTTP, the API's and the staff pages' alike: RFC 9457
/// problem details with our stable `code`.
pub fn problem(status: StatusCode, code: &str, detail: &str) -> HttpResponse {
    let body = Problem {
        kind: format!("urn:frontdesk:problem:{code}"),
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: status.as_u16(),
        detail: detail.to_owned(),
        code: code.to_owned(),
    };
    // Serialising our own problem type cannot fail.
    HttpResponse::build(status)
        .content_type(PROBLEM_JSON)
        .body(serde_json::to_string(&body).unwrap_or_default())
}

impl From<crate::http::period::BadPeriod> for ApiError {
    fn from(bad: crate::http::period::BadPeriod) -> ApiError {
        ApiError::bad_request(bad.code, bad.message)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::NotFound(_) => ApiError::not_found("conversation"),
            StoreError::Unavailable(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the store is unavailable; try again shortly",
            ),
            StoreError::Corrupt(what) => {
                tracing::error!(%what, "the store holds a record it cannot read");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "a stored record could not be read",
                )
            }
        }
    }
}

/// A path the API does not have (404), or a method one of its paths does not take (405, with
/// the methods it does take in `Allow`); both read from the document.
async fn no_such_route(req: HttpRequest) -> HttpResponse {
    let allowed = allowed_methods(req.path());
    if !allowed.is_empty() {
        let mut response = ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{} takes {}", logged_path(req.path()), allowed.join(", ")),
        )
        .error_response();
        if let Ok(value) = header::HeaderValue::from_str(&allowed.join(", ")) {
            response.headers_mut().insert(header::ALLOW, value);
        }
        return response;
    }
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no_such_route",
        format!(
            "{} {} is not part of the API; see {PREFIX}/openapi.json",
            req.method(),
            logged_path(req.path())
        ),
    )
    .error_response()
}

/// The methods the document lists for the path that `path` fills in (`{id}` matches one
/// segment); empty when no path matches.
fn allowed_methods(path: &str) -> Vec<&'static str> {
    let segments: Vec<&str> = path.split('/').collect();
    let fills = |template: &str| {
        let parts: Vec<&str> = template.split('/').collect();
        parts.len() == segments.len()
            && parts
                .iter()
                .zip(&segments)
                .all(|(t, s)| (t.starts_with('{') && t.ends_with('}') && !s.is_empty()) || t == s)
    };
    let mut allowed = Vec::new();
    for (template, item) in &document().paths.paths {
        if !fills(template) {
            continue;
        }
        let methods = [
            ("GET", item.get.is_some()),
            ("POST", item.post.is_some()),
            ("PUT", item.put.is_some()),
            ("DELETE", item.delete.is_some()),
            ("PATCH", item.patch.is_some()),
        ];
        allowed.extend(methods.iter().filter(|(_, has)| *has).map(|(m, _)| *m));
    }
    allowed
}

/// The caller of a request: the API token it presented, checked against the store.
pub struct Caller(pub ApiToken);

impl Caller {
    /// Refuses the call unless the token has `scope`.
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.0.allows(scope) {
            return Ok(());
        }
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "missing_scope",
            format!("this needs a token with the `{scope}` scope"),
        ))
    }
}

/// The token's name, kept on the request for the log line.
#[derive(Clone)]
struct CallerName(String);

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Caller, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let unauthorized = |detail: &str| {
                ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", detail.to_owned())
            };
            let state = req
                .app_data::<web::Data<AppState>>()
                .expect("the app state is registered on every app");
            // Each failed authentication spends the address's allowance (valid tokens spend
            // nothing): a guessing client is answered 429, as the sign-in page answers one.
            let failed = |why: &str| {
                let address = crate::http::client::limited_address(&req, &state.settings);
                if address.is_some_and(|a| !state.api_auth_failures.allow(&a)) {
                    return ApiError::new(
                        StatusCode::TOO_MANY_REQUESTS,
                        "rate_limited",
                        "too many calls with a wrong token from this address; wait a minute"
                            .to_owned(),
                    );
                }
                unauthorized(why)
            };
            // RFC 7235: the scheme is case-insensitive.
            let given = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split_once(' '))
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, token)| token.trim())
                .ok_or_else(|| failed("send `Authorization: Bearer <token>`"))?;
            if !crate::tokens::well_formed(given) {
                return Err(failed("that is not an API token"));
            }
            let token = state
                .store
                .token_by_hash(&crate::tokens::hash(given))
                .await?
                .ok_or_else(|| failed("unknown or revoked token"))?;
            req.extensions_mut().insert(CallerName(token.name.clone()));
            Ok(Caller(token))
        })
    }
}

/// Middleware: one log line per API call with the token's name (never the token).
async fn log_request(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> actix_web::Result<ServiceResponse<impl MessageBody + 'static>> {
    let (method, path) = (req.method().clone(), logged_path(req.path()));
    let response = next.call(req).await?;
    let token = response
        .request()
        .extensions()
        .get::<CallerName>()
        .map(|c| c.0.clone());
    let status = response.status().as_u16();
    // A call without a valid token is anyone's: at debug only, so nobody can fill the log.
    match token {
        Some(token) => tracing::info!(token, %method, path, status, "api call"),
        None => tracing::debug!(%method, path, status, "api call without a valid token"),
    }
    Ok(response)
}

/// Characters of a request's path that reach the log or an answer.
const LOGGED_PATH: usize = 200;

/// The path as logged and repeated in a refusal: at most `LOGGED_PATH` characters, and how
/// long it was when cut (a 60 KB path is not echoed back 60 KB long).
pub(crate) fn logged_path(path: &str) -> String {
    match path.char_indices().nth(LOGGED_PATH) {
        None => path.to_owned(),
        Some((end, _)) => format!("{}... ({} bytes)", &path[..end], path.len()),
    }
}

/// A JSON body with the given status.
fn json<T: Serialize>(status: StatusCode, body: &T) -> HttpResponse {
    HttpResponse::build(status).json(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_path_is_cut_before_it_reaches_the_log() {
        assert_eq!(logged_path("/api/v1/queue"), "/api/v1/queue");
        let long = format!("/api/v1/{}", "x".repeat(30_000));
        let logged = logged_path(&long);
        assert!(logged.len() < 250, "{}", logged.len());
        assert!(logged.ends_with("... (30008 bytes)"), "{logged}");
    }

    /// Every route attribute in this module's files, as (method, path).
    fn declared_routes() -> Vec<(String, String)> {
        let files = [
            include_str!("conversations.rs"),
            include_str!("operations.rs"),
        ];
        let attribute = regex::Regex::new(r#"#\[(get|post|put|delete|patch)\("([^"]+)""#)
            .expect("a valid pattern");
        let mut routes = Vec::new();
        for file in files {
            assert!(
                !file.contains(".route("),
                "an API route must be a `#[utoipa::path]` handler (a `.route(...)` stays out of \
                 the document)"
            );
            for c in attribute.captures_iter(file) {
                routes.push((c[1].to_owned(), format!("{PREFIX}{}", &c[2])));
            }
        }
        routes
    }

    #[test]
    fn the_document_describes_every_route() {
        let doc = document();
        let routes = declared_routes();
        assert!(routes.len() >= 12, "{routes:?}");
        for (method, path) in routes {
            let item = doc
                .paths
                .paths
                .get(&path)
                .unwrap_or_else(|| panic!("{path} is missing from the OpenAPI document"));
            let op = match method.as_str() {
                "get" => &item.get,
                "post" => &item.post,
                "put" => &item.put,
                "delete" => &item.delete,
                _ => &item.patch,
            };
            assert!(op.is_some(), "{method} {path} is missing from the document");
        }
    }

    #[test]
    fn the_document_is_openapi_3_1_with_bearer_tokens_and_problem_bodies() {
        let doc = serde_json::to_value(document()).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        assert_eq!(
            doc["components"]["securitySchemes"]["token"]["scheme"],
            "bearer"
        );
        let get = &doc["paths"]["/api/v1/conversations/{id}"]["get"];
        assert!(get["responses"]["404"]["content"][PROBLEM_JSON].is_object());
        assert!(get["responses"]["200"]["content"]["application/json"].is_object());
    }
}
