//! Signing in to the staff pages, shared by the agent console and /admin: the session cookies
//! (HttpOnly, SameSite=Strict), the password check and the page headers. Login attempts are
//! limited before any password is hashed (per account, and more loosely per client address, so
//! that one address cannot lock every account out), hashing runs a few at a time, and the answer
//! never says which of name or password was wrong.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::cookie::{Cookie, SameSite};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::api::problem;
use crate::state::AppState;

/// The admins' session cookie's name.
pub const ADMIN_COOKIE: &str = "frontdesk_admin";

pub(super) fn html_page(body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(actix_web::http::header::ContentType::html())
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .insert_header((
            actix_web::http::header::CONTENT_SECURITY_POLICY,
            super::STAFF_PAGE_POLICY,
        ))
        .body(body)
}

/// The agents' session cookie's name.
pub const SESSION_COOKIE: &str = "frontdesk_agent";
/// Failed logins (and attempts still being checked) allowed per account within
/// `FAILURE_WINDOW`.
const MAX_FAILURES_PER_ACCOUNT: u32 = 5;
/// The same per client address, over all accounts: an office behind one address must not be
/// locked out by one person's typos.
const MAX_FAILURES_PER_ADDRESS: u32 = 20;
const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// Passwords hashed at once (argon2 takes ~19 MiB and tens of ms each); more wait their turn.
const HASHING_AT_ONCE: usize = 2;
/// How long a login waits for its turn to be hashed before it is told to come back.
const HASHING_WAIT: Duration = Duration::from_secs(10);

/// Counts login attempts per key: failures within the window plus attempts in flight, so a
/// burst of concurrent attempts is limited before any of them is hashed. A std mutex because
/// each use is a map lookup, never across `.await`.
pub struct LoginLimiter {
    /// key -> (failures, attempts in flight, window start)
    counts: Mutex<HashMap<String, (u32, u32, Instant)>>,
    hashing: tokio::sync::Semaphore,
}

impl Default for LoginLimiter {
    fn default() -> LoginLimiter {
        LoginLimiter {
            counts: Mutex::default(),
            hashing: tokio::sync::Semaphore::new(HASHING_AT_ONCE),
        }
    }
}

/// One login attempt's place in the limiter. It counts as a failure when dropped (also when
/// the client goes away mid-way) unless `not_a_failure` was called.
struct Attempt<'a> {
    limiter: &'a LoginLimiter,
    keys: Vec<String>,
    failed: bool,
}

impl LoginLimiter {
    /// An attempt for these (account, address) keys, or `None` when either is spent.
    fn begin(&self, account: String, address: Option<String>) -> Option<Attempt<'_>> {
        let mut map = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, (failed, pending, since)| {
            if since.elapsed() >= FAILURE_WINDOW {
                (*failed, *since) = (0, Instant::now());
            }
            *failed > 0 || *pending > 0
        });
        let limited = [
            Some((account, MAX_FAILURES_PER_ACCOUNT)),
            address.map(|a| (a, MAX_FAILURES_PER_ADDRESS)),
        ];
        let spent = limited.iter().flatten().any(|(k, max)| {
            map.get(k)
                .is_some_and(|(failed, pending, _)| failed + pending >= *max)
        });
        if spent {
            return None;
        }
        let keys: Vec<String> = limited.into_iter().flatten().map(|(k, _)| k).collect();
        for k in &keys {
            map.entry(k.clone()).or_insert((0, 0, Instant::now())).1 += 1;
        }
        Some(Attempt {
            limiter: self,
            keys,
            failed: true,
        })
    }
}

impl Attempt<'_> {
    /// The password was right, or it was never checked.
    fn not_a_failure(&mut self) {
        self.failed = false;
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        let mut map = self
            .limiter
            .counts
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        for k in &self.keys {
            if let Some((failed, pending, _)) = map.get_mut(k) {
                *pending = pending.saturating_sub(1);
                *failed += u32::from(self.failed);
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    id: String,
    password: String,
}

/// Who is signing in: agents (the console) and admins (`/admin`) have separate cookies and
/// separate session kinds, so neither session opens the other's pages.
#[derive(Clone, Copy)]
pub(super) enum Account {
    Agent,
    Admin,
}

impl Account {
    pub(super) fn cookie(self) -> &'static str {
        match self {
            Account::Agent => SESSION_COOKIE,
            Account::Admin => ADMIN_COOKIE,
        }
    }

    /// The identity stored with the session (`admin:<id>` for admins: never an agent id,
    /// since agent ids hold no `:`).
    pub(super) fn session_identity(self, id: &str) -> String {
        match self {
            Account::Agent => id.to_owned(),
            Account::Admin => format!("admin:{id}"),
        }
    }
}

/// Checks the password (rate limited per id and per address) and starts a session.
pub(super) async fn sign_in(
    req: HttpRequest,
    state: web::Data<AppState>,
    limiter: &LoginLimiter,
    body: Login,
    account: Account,
) -> HttpResponse {
    use actix_web::http::StatusCode;
    // Per address too, unless the address is a local proxy's (see `client::limited_address`).
    let address = super::client::limited_address(&req, &state.settings);
    let Some(mut attempt) = limiter.begin(
        format!("id:{}", account.session_identity(&body.id)),
        address.map(|a| format!("ip:{a}")),
    ) else {
        return problem(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many failed logins; wait a minute and try again",
        );
    };
    let Ok(Ok(_turn)) = tokio::time::timeout(HASHING_WAIT, limiter.hashing.acquire()).await else {
        attempt.not_a_failure();
        return problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "too many logins at once; try again shortly",
        );
    };
    // Argon2 is deliberately slow: keep it off the async workers.
    let roster = state.roster.clone();
    let (id, password) = (body.id.clone(), body.password.clone());
    let verified = web::block(move || match account {
        Account::Agent => roster
            .verify(&id, &password)
            .map(|a| (a.id.clone(), a.name.clone())),
        Account::Admin => roster
            .verify_admin(&id, &password)
            .map(|a| (a.id.clone(), a.name.clone())),
    })
    .await
    .ok()
    .flatten();
    if verified.is_some() {
        attempt.not_a_failure();
    }
    drop(attempt);
    let Some((id, name)) = verified else {
        return problem(
            StatusCode::UNAUTHORIZED,
            "bad_credentials",
            "wrong name or password",
        );
    };
    let ttl = Duration::from_secs(state.settings.agent_session_hours * 3600);
    match state
        .store
        .create_session(&account.session_identity(&id), ttl)
        .await
    {
        Ok(secret) => {
            tracing::info!(who = %account.session_identity(&id), "logged in");
            let cookie = Cookie::build(account.cookie(), secret)
                .path("/")
                .http_only(true)
                .same_site(SameSite::Strict)
                .secure(super::client::is_https(&req, state.settings.trust_proxy))
                .max_age(actix_web::cookie::time::Duration::seconds(
                    ttl.as_secs() as i64
                ))
                .finish();
            HttpResponse::Ok()
                .cookie(cookie)
                .json(serde_json::json!({"id": id, "name": name}))
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot store a login session");
            problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "cannot log in right now; try again shortly",
            )
        }
    }
}
