//! Prometheus metrics (served at `/metrics`, each documented in docs/operations.md): open sockets,
//! messages, decisions by kind, handoffs by reason, decision and reply latency, webhook
//! deliveries, knowledge-base reloads, erased conversations. One registry per `Application`, so tests that start
//! several servers in one process do not share counters.

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts,
    Registry, TextEncoder,
};

/// Latency buckets in seconds: 10 us .. 1 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1, 0.25, 0.5, 1.0,
];

pub struct Metrics {
    registry: Registry,
    /// Every metric's full name (`frontdesk_...`), for the documentation check.
    names: Vec<String>,
    pub open_sockets: IntGauge,
    pub messages: IntCounter,
    pub decisions: IntCounterVec,
    pub handoffs: IntCounterVec,
    pub frame_errors: IntCounterVec,
    /// Conversations given to an agent (claims and auto-assignments).
    pub assignments: IntCounter,
    /// Agent console sockets open now.
    pub agent_sockets: IntGauge,
    /// Time inside `Matcher::decide`.
    pub decision_seconds: Histogram,
    /// From a visitor message arriving to the bot's reply being stored and published.
    pub reply_seconds: HistogramVec,
    /// Webhook deliveries by outcome: delivered, failed (after every retry), dropped (queue full).
    pub webhook_deliveries: IntCounterVec,
    /// Knowledge-base reloads by outcome: ok, rejected (errors; the last good one stays).
    pub kb_reloads: IntCounterVec,
    /// Conversations erased by retention or `forget`.
    pub erased: IntCounterVec,
    /// Turns decided again because the conversation moved on while they were decided.
    pub turn_conflicts: IntCounter,
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new_custom(Some("frontdesk".into()), None)
            .expect("invariant: a constant, valid prefix");
        let open_sockets =
            IntGauge::new("open_sockets", "Visitor websockets open now").expect("valid metric");
        let messages = IntCounter::new("visitor_messages_total", "Visitor messages stored")
            .expect("valid metric");
        let decisions = IntCounterVec::new(
            Opts::new("decisions_total", "Bot decisions by kind"),
            &["kind"],
        )
        .expect("valid metric");
        let handoffs = IntCounterVec::new(
            Opts::new("handoffs_total", "Handoffs to a person by reason"),
            &["reason"],
        )
        .expect("valid metric");
        let frame_errors = IntCounterVec::new(
            Opts::new("frame_errors_total", "Error frames sent, by code"),
            &["code"],
        )
        .expect("valid metric");
        let assignments = IntCounter::new(
            "assignments_total",
            "Conversations given to an agent (claimed or auto-assigned)",
        )
        .expect("valid metric");
        let agent_sockets = IntGauge::new("agent_sockets", "Agent console websockets open now")
            .expect("valid metric");
        let decision_seconds = Histogram::with_opts(
            HistogramOpts::new("decision_seconds", "Time to decide on one message")
                .buckets(LATENCY_BUCKETS.to_vec()),
        )
        .expect("valid metric");
        let reply_seconds = HistogramVec::new(
            HistogramOpts::new("reply_seconds", "Visitor message to stored bot reply")
                .buckets(LATENCY_BUCKETS.to_vec()),
            &["kind"],
        )
        .expect("valid metric");
        let webhook_deliveries = IntCounterVec::new(
            Opts::new("webhook_deliveries_total", "Webhook deliveries by outcome"),
            &["outcome"],
        )
        .expect("valid metric");
        let kb_reloads = IntCounterVec::new(
            Opts::new("kb_reloads_total", "Knowledge-base reloads by outcome"),
            &["outcome"],
        )
        .expect("valid metric");
        let erased = IntCounterVec::new(
            Opts::new("conversations_erased_total", "Conversations erased, by why"),
            &["why"],
        )
        .expect("valid metric");
        let turn_conflicts = IntCounter::new(
            "turn_conflicts_total",
            "Visitor turns decided again because the conversation moved on meanwhile",
        )
        .expect("valid metric");
        let mut names = Vec::new();
        for c in [
            Box::new(open_sockets.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(messages.clone()),
            Box::new(decisions.clone()),
            Box::new(handoffs.clone()),
            Box::new(frame_errors.clone()),
            Box::new(assignments.clone()),
            Box::new(agent_sockets.clone()),
            Box::new(decision_seconds.clone()),
            Box::new(reply_seconds.clone()),
            Box::new(webhook_deliveries.clone()),
            Box::new(kb_reloads.clone()),
            Box::new(erased.clone()),
            Box::new(turn_conflicts.clone()),
        ] {
            names.extend(c.desc().iter().map(|d| format!("frontdesk_{}", d.fq_name)));
            registry
                .register(c)
                .expect("invariant: each metric is registered once");
        }
        Metrics {
            registry,
            names,
            open_sockets,
            messages,
            decisions,
            handoffs,
            frame_errors,
            assignments,
            agent_sockets,
            decision_seconds,
            reply_seconds,
            webhook_deliveries,
            kb_reloads,
            erased,
            turn_conflicts,
        }
    }

    /// Every metric's full name.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        // Encoding gathered metric families into a Vec cannot fail.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_metric_is_documented_in_operations_md() {
        let doc = include_str!("../docs/operations.md");
        let metrics = super::Metrics::new();
        assert!(metrics.names().len() >= 12);
        for name in metrics.names() {
            assert!(
                doc.contains(&format!("`{name}`")),
                "{name} is served on /metrics but not documented in docs/operations.md"
            );
        }
    }
}
