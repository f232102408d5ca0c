//! `frontdesk eval`: measures a knowledge base's matcher on labelled cases (`text,label` CSV).
//! Each case is a fresh conversation's first message. Labels name FAQs (as `kb import` names them);
//! the label `oos` marks a message the knowledge base must not answer.

use std::collections::HashMap;
use std::time::Instant;

use serde::Serialize;

pub use crate::knowledge_base::import::OUT_OF_SCOPE;
use crate::knowledge_base::import::{LabelledRow, label_to_id};
use crate::matcher::{Decision, Matcher, Memory};

/// Labels listed in the report's worst-labels table.
const WORST_LABELS: usize = 10;

#[derive(Debug, Clone, Serialize)]
pub struct LabelScore {
    pub label: String,
    pub rows: usize,
    pub accuracy: f64,
    /// The FAQ most often answered instead, if any.
    pub confused_with: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OutOfScope {
    pub rows: usize,
    /// Out-of-scope rows not answered with an FAQ / all out-of-scope rows.
    pub recall: f64,
    /// Out-of-scope rows among all rows not answered with an FAQ.
    pub precision: f64,
}

/// Everything `frontdesk eval` prints.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub cases: usize,
    pub in_scope: usize,
    /// In-scope rows answered with the right FAQ / all in-scope rows.
    pub accuracy: f64,
    /// In-scope rows whose best-scored FAQ is the right one, whatever the decision: the ranking's
    /// quality before thresholds.
    pub top1_accuracy: f64,
    /// Rates over in-scope rows.
    pub answer_rate: f64,
    pub clarify_rate: f64,
    /// Clarify decisions whose options include the right FAQ / all clarify decisions.
    pub clarify_accuracy: f64,
    pub fallback_rate: f64,
    pub handoff_rate: f64,
    /// In-scope rows answered with a wrong FAQ / all in-scope rows.
    pub wrong_answer_rate: f64,
    pub out_of_scope: Option<OutOfScope>,
    pub worst_labels: Vec<LabelScore>,
    pub latency_p50_us: f64,
    pub latency_p99_us: f64,
    /// Whether a trained model scored the FAQs (else retrieval alone).
    pub model: bool,
}

#[derive(Default)]
struct Tally {
    rows: usize,
    answered: usize,
    correct: usize,
    clarified: usize,
    clarified_right: usize,
    top1: usize,
    fallback: usize,
    handoff: usize,
}

/// One case's outcome, for `eval --details`.
#[derive(Debug, Serialize)]
pub struct CaseDetail<'a> {
    pub text: &'a str,
    pub label: &'a str,
    pub decision: Decision,
    pub explanation: crate::matcher::Explanation,
}

pub fn evaluate(matcher: &Matcher, cases: &[LabelledRow]) -> Report {
    evaluate_with(matcher, cases, |_| {})
}

/// `evaluate`, handing every case's outcome to `each` (for `eval --details`).
pub fn evaluate_with(
    matcher: &Matcher,
    cases: &[LabelledRow],
    mut each: impl FnMut(CaseDetail),
) -> Report {
    let mut in_scope = Tally::default();
    let mut per_label: HashMap<&str, (usize, usize, HashMap<String, usize>)> = HashMap::new();
    let (mut oos_rows, mut oos_declined, mut declined) = (0usize, 0usize, 0usize);
    let mut latencies = Vec::with_capacity(cases.len());
    let memory = Memory::default();
    for case in cases {
        let start = Instant::now();
        let turn = matcher.decide(&memory, &case.text);
        latencies.push(start.elapsed().as_secs_f64() * 1e6);
        let answered = turn.decision.answered_faq().cloned();
        let answered = answered.as_ref();
        if answered.is_none() {
            declined += 1;
        }
        if case.label == OUT_OF_SCOPE {
            oos_rows += 1;
            oos_declined += answered.is_none() as usize;
            each(CaseDetail {
                text: &case.text,
                label: &case.label,
                decision: turn.decision,
                explanation: turn.explanation,
            });
            continue;
        }
        let expected = label_to_id(&case.label);
        let t = &mut in_scope;
        t.rows += 1;
        let top = turn.explanation.candidates.first().map(|c| &c.faq);
        t.top1 += (top.is_some() && top == expected.as_ref()) as usize;
        let entry = per_label.entry(&case.label).or_default();
        entry.0 += 1;
        match &turn.decision {
            Decision::Answer { .. } if answered.is_some() => {
                t.answered += 1;
                if answered == expected.as_ref() {
                    t.correct += 1;
                    entry.1 += 1;
                } else if let Some(a) = answered {
                    *entry.2.entry(a.to_string()).or_default() += 1;
                }
            }
            Decision::Answer { .. } => {}
            Decision::Clarify { options, .. } => {
                t.clarified += 1;
                t.clarified_right += expected.is_some_and(|e| options.contains(&e)) as usize;
            }
            Decision::Fallback { .. } => t.fallback += 1,
            Decision::Handoff { .. } => t.handoff += 1,
        }
        each(CaseDetail {
            text: &case.text,
            label: &case.label,
            decision: turn.decision,
            explanation: turn.explanation,
        });
    }
    latencies.sort_by(f64::total_cmp);
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let mut worst: Vec<LabelScore> = per_label
        .into_iter()
        .map(|(label, (rows, correct, confusions))| LabelScore {
            label: label.to_owned(),
            rows,
            accuracy: ratio(correct, rows),
            confused_with: confusions
                .into_iter()
                .max_by_key(|(id, n)| (*n, std::cmp::Reverse(id.clone())))
                .map(|(id, _)| id),
        })
        .collect();
    worst.sort_by(|a, b| {
        a.accuracy
            .total_cmp(&b.accuracy)
            .then(a.label.cmp(&b.label))
    });
    worst.truncate(WORST_LABELS);
    let t = &in_scope;
    Report {
        cases: cases.len(),
        in_scope: t.rows,
        accuracy: ratio(t.correct, t.rows),
        top1_accuracy: ratio(t.top1, t.rows),
        answer_rate: ratio(t.answered, t.rows),
        clarify_rate: ratio(t.clarified, t.rows),
        clarify_accuracy: ratio(t.clarified_right, t.clarified),
        fallback_rate: ratio(t.fallback, t.rows),
        handoff_rate: ratio(t.handoff, t.rows),
        wrong_answer_rate: ratio(t.answered - t.correct, t.rows),
        out_of_scope: (oos_rows > 0).then(|| OutOfScope {
            rows: oos_rows,
            recall: ratio(oos_declined, oos_rows),
            precision: ratio(oos_declined, declined),
        }),
        worst_labels: worst,
        latency_p50_us: percentile(&latencies, 0.50),
        latency_p99_us: percentile(&latencies, 0.99),
        model: matcher.has_model(),
    }
}

/// The `q` quantile of sorted `values` (nearest rank).
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "cases: {} ({} in scope)", self.cases, self.in_scope)?;
        writeln!(
            f,
            "scoring: {}",
            if self.model {
                "logistic regression + retrieval"
            } else {
                "retrieval (BM25) only"
            }
        )?;
        writeln!(
            f,
            "accuracy:          {:.4}  (best-ranked FAQ right: {:.4})",
            self.accuracy, self.top1_accuracy
        )?;
        writeln!(
            f,
            "answer rate:       {:.4}  (wrong answers {:.4})",
            self.answer_rate, self.wrong_answer_rate
        )?;
        writeln!(
            f,
            "clarify rate:      {:.4}  (right FAQ among the options {:.4})",
            self.clarify_rate, self.clarify_accuracy
        )?;
        writeln!(f, "fallback rate:     {:.4}", self.fallback_rate)?;
        writeln!(f, "handoff rate:      {:.4}", self.handoff_rate)?;
        if let Some(o) = &self.out_of_scope {
            writeln!(
                f,
                "out of scope:      {} rows, recall {:.4}, precision {:.4}",
                o.rows, o.recall, o.precision
            )?;
        }
        writeln!(
            f,
            "latency:           p50 {:.1} us, p99 {:.1} us",
            self.latency_p50_us, self.latency_p99_us
        )?;
        writeln!(f, "worst labels:")?;
        for l in &self.worst_labels {
            write!(
                f,
                "  {:<32} {:>4} rows  accuracy {:.3}",
                l.label, l.rows, l.accuracy
            )?;
            match &l.confused_with {
                Some(c) => writeln!(f, "  (most often answered as {c})")?,
                None => writeln!(f)?,
            }
        }
        Ok(())
    }
}
