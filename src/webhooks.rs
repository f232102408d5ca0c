//! Webhooks: a JSON POST to each configured URL when a conversation is handed off, assigned,
//! closed or rated, or when a visitor leaves an offline message. Each delivery is signed with
//! HMAC-SHA256 over `<timestamp>.<body>` and retried with exponential backoff. A body's
//! `conversation` is the conversation as `GET /api/v1/conversations/{id}` returns it (one
//! representation, `export::ConversationRecord`), read when its delivery starts. Emitting never
//! waits: events go into a bounded queue that a background task drains; a full queue drops the
//! event (counted in `frontdesk_webhook_deliveries_total{outcome="dropped"}`) rather than slow a
//! conversation.
//!
//! ```toml
//! [[webhooks]]
//! url = "https://crm.example/hooks/frontdesk"
//! secret = "a long random string"
//! events = ["handed_off", "closed"]   # default: all
//! ```

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use sha2::Sha256;
use tokio::sync::{Semaphore, mpsc, watch};

use crate::conversation::{ConversationId, now_ms, random_secret};
use crate::export::ConversationRecord;
use crate::metrics::Metrics;
use crate::ports::Store;

/// Events waiting for delivery before new ones are dropped.
const QUEUE: usize = 4096;
/// Deliveries in flight at once (per node).
const IN_FLIGHT: usize = 16;
/// How long one attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

pub use crate::config::{HookEvent, WebhookConfig};

/// An event waiting for delivery.
#[derive(Debug, Clone)]
pub struct Payload {
    /// Unique per event (the same on every retry): receivers deduplicate with it.
    pub id: String,
    pub event: HookEvent,
    /// When it happened (ms since the epoch).
    pub at: u64,
    pub conversation: ConversationId,
    /// Event details (reason, agent, resolution, score, ...).
    pub data: serde_json::Value,
}

/// The body of a delivery: the event with its conversation as `GET
/// /api/v1/conversations/{id}` returns it, read once when the delivery starts (every retry sends
/// the same bytes).
#[derive(Debug, Serialize)]
struct Body<'a> {
    id: &'a str,
    event: HookEvent,
    at: u64,
    conversation: Subject,
    data: &'a serde_json::Value,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
enum Subject {
    Record(Box<ConversationRecord>),
    /// Erased (or unreadable) by the time of delivery: only its id.
    Gone {
        id: String,
    },
}

/// The handle conversations emit through; cheap to clone. Without endpoints it does nothing.
#[derive(Clone, Default)]
pub struct Webhooks {
    tx: Option<mpsc::Sender<Payload>>,
    metrics: Option<Arc<Metrics>>,
    /// Tells the delivery task to finish (deliver what is queued, then stop), and hears when
    /// it has.
    finish: Option<Arc<watch::Sender<bool>>>,
    finished: Option<watch::Receiver<bool>>,
}

impl Webhooks {
    /// Starts the delivery task (in the current runtime) when there are endpoints.
    pub fn start(
        endpoints: Vec<WebhookConfig>,
        metrics: Arc<Metrics>,
        store: Arc<dyn Store>,
    ) -> Webhooks {
        if endpoints.is_empty() {
            return Webhooks::default();
        }
        let (tx, rx) = mpsc::channel(QUEUE);
        let (finish, finish_rx) = watch::channel(false);
        let (finished_tx, finished) = watch::channel(false);
        let delivering = metrics.clone();
        tokio::spawn(async move {
            deliver_all(rx, endpoints.into(), delivering, store, finish_rx).await;
            finished_tx.send_replace(true);
        });
        Webhooks {
            tx: Some(tx),
            metrics: Some(metrics),
            finish: Some(Arc::new(finish)),
            finished: Some(finished),
        }
    }

    /// The last step of a shutdown, once no more events come: delivers what is queued and in
    /// flight (retries included), for at most `deadline`; what is left then is counted
    /// `dropped`.
    pub async fn finish(&self, deadline: Duration) {
        let (Some(finish), Some(mut finished)) = (&self.finish, self.finished.clone()) else {
            return;
        };
        finish.send_replace(true);
        if tokio::time::timeout(deadline, finished.wait_for(|done| *done))
            .await
            .is_err()
        {
            tracing::warn!("webhooks: deliveries still pending at shutdown are dropped");
        }
    }

    /// Queues an event for every endpoint that wants it; never waits.
    pub fn emit(&self, event: HookEvent, conversation: &ConversationId, data: serde_json::Value) {
        let Some(tx) = &self.tx else { return };
        let payload = Payload {
            id: random_secret(),
            event,
            at: now_ms(),
            conversation: conversation.clone(),
            data,
        };
        if tx.try_send(payload).is_err() {
            tracing::warn!(event = event.name(), "webhook queue full: event dropped");
            if let Some(m) = &self.metrics {
                m.webhook_deliveries.with_label_values(&["dropped"]).inc();
            }
        }
    }
}

/// The signature header's value: `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub fn signature(secret: &str, timestamp: u64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .expect("invariant: HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn deliver_all(
    mut rx: mpsc::Receiver<Payload>,
    endpoints: Arc<[WebhookConfig]>,
    metrics: Arc<Metrics>,
    store: Arc<dyn Store>,
    mut finish: watch::Receiver<bool>,
) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(ATTEMPT_TIMEOUT))
        .http_status_as_error(false)
        .build()
        .into();
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    loop {
        let payload = tokio::select! {
            p = rx.recv() => match p { Some(p) => p, None => break },
            // Take no more; what is queued already is still delivered.
            _ = finish.wait_for(|f| *f), if !rx.is_closed() => {
                rx.close();
                continue;
            }
        };
        let event = payload.event;
        let wanted = |e: &WebhookConfig| e.events.is_empty() || e.events.contains(&event);
        if !endpoints.iter().any(wanted) {
            continue;
        }
        let subject = match crate::export::conversation(store.as_ref(), &payload.conversation).await
        {
            Ok(Some(record)) => Subject::Record(Box::new(record)),
            Ok(None) | Err(_) => Subject::Gone {
                id: payload.conversation.to_string(),
            },
        };
        let body = serde_json::to_vec(&Body {
            id: &payload.id,
            event: payload.event,
            at: payload.at,
            conversation: subject,
            data: &payload.data,
        });
        // Serialising our own types cannot fail.
        let Ok(body) = body else { continue };
        let (body, payload) = (Arc::new(body), Arc::new(payload));
        for endpoint in endpoints.iter().filter(|e| wanted(e)) {
            let Ok(permit) = slots.clone().acquire_owned().await else {
                return;
            };
            let (agent, endpoint, payload, body, metrics) = (
                agent.clone(),
                endpoint.clone(),
                payload.clone(),
                body.clone(),
                metrics.clone(),
            );
            tokio::spawn(async move {
                let outcome = deliver(&agent, &endpoint, &payload, &body).await;
                metrics
                    .webhook_deliveries
                    .with_label_values(&[outcome])
                    .inc();
                drop(permit);
            });
        }
    }
    // Every delivery in flight has given its slot back.
    let _ = slots.acquire_many(IN_FLIGHT as u32).await;
}

/// One event to one endpoint, with retries: `delivered` or `failed`.
async fn deliver(
    agent: &ureq::Agent,
    endpoint: &WebhookConfig,
    payload: &Payload,
    body: &Arc<Vec<u8>>,
) -> &'static str {
    let mut wait = Duration::from_millis(endpoint.backoff_ms);
    for attempt in 1..=endpoint.max_attempts.max(1) {
        let timestamp = now_ms() / 1000;
        let request = agent
            .post(&endpoint.url)
            .header("content-type", "application/json")
            .header("x-frontdesk-event", payload.event.name())
            .header("x-frontdesk-delivery", &payload.id)
            .header("x-frontdesk-timestamp", timestamp.to_string())
            .header(
                "x-frontdesk-signature",
                signature(&endpoint.secret, timestamp, body),
            );
        let sent = body.clone();
        // ureq blocks: keep it off the async workers.
        let status = tokio::task::spawn_blocking(move || {
            request.send(&sent[..]).map(|r| r.status().as_u16())
        })
        .await;
        match status {
            Ok(Ok(code)) if (200..300).contains(&code) => return "delivered",
            Ok(Ok(code)) => {
                tracing::warn!(url = %endpoint.url, status = code, attempt, "webhook refused")
            }
            Ok(Err(e)) => {
                tracing::warn!(url = %endpoint.url, error = %e, attempt, "webhook failed")
            }
            Err(_) => return "failed",
        }
        if attempt < endpoint.max_attempts {
            let jitter = rand::random::<u64>() % (wait.as_millis() as u64 / 4 + 1);
            tokio::time::sleep(wait + Duration::from_millis(jitter)).await;
            wait *= 2;
        }
    }
    "failed"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_covers_timestamp_and_body() {
        let a = signature("s3cret-s3cret-s3cret", 1_700_000_000, b"{}");
        assert!(a.starts_with("sha256=") && a.len() == 7 + 64, "{a}");
        assert_ne!(a, signature("s3cret-s3cret-s3cret", 1_700_000_001, b"{}"));
        assert_ne!(a, signature("s3cret-s3cret-s3cret", 1_700_000_000, b"{ }"));
        assert_ne!(a, signature("other-other-other", 1_700_000_000, b"{}"));
        // Computed independently: python3 -c "import hmac,hashlib;
        // print(hmac.new(b'key', b'1.x', hashlib.sha256).hexdigest())"
        assert_eq!(
            signature("key", 1, b"x"),
            "sha256=fc4913c41a7bf793267e2a384f3261c9436ec2cd097bd745e7b0d99113f510ec"
        );
    }
}
