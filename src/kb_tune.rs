//! `frontdesk kb tune`: the confidence thresholds that fit this knowledge base. One threshold
//! trades right answers against declining off-topic messages, and the best point differs per
//! knowledge base (its size, how alike its FAQs are, how its visitors write). In scope: every
//! phrasing held out of the index (the folds of `kb test`) and the editors' test cases that
//! expect an FAQ; off-topic: the test cases that expect `fallback` (messages an editor
//! collected, e.g. from the unanswered report). Every candidate `answer_confidence` is tried
//! with the real matcher and the curve is reported; the chosen point has the best sum of the
//! share of in-scope messages found and the share of off-topic ones declined, among those that
//! decline at least `DECLINE_TARGET`. `--write` puts it in `rules.toml`'s `[policy]`.

use std::path::Path;

use serde::Serialize;

use crate::kb_test::{Case, Expect};
use crate::knowledge_base::KnowledgeBase;
use crate::matcher::{Decision, Matcher, Memory};

/// Off-topic cases needed before the thresholds can be tuned: fewer say little about how often
/// off-topic messages would be answered.
pub const MIN_OFF_TOPIC: usize = 20;
/// The share of off-topic messages the chosen thresholds must decline.
pub const DECLINE_TARGET: f64 = 0.75;

/// One point of the curve.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    pub answer_confidence: f32,
    pub clarify_confidence: f32,
    /// In-scope cases answered (or offered first) with the expected FAQ.
    pub in_scope_right: f64,
    /// Off-topic cases the bot declined (did not answer).
    pub off_topic_declined: f64,
}

/// What `kb tune` found.
#[derive(Debug, Clone, Serialize)]
pub struct Tuning {
    pub in_scope: usize,
    pub off_topic: usize,
    pub current: Point,
    pub chosen: Point,
    pub curve: Vec<Point>,
    /// Whether the chosen point declines at least `DECLINE_TARGET` of the off-topic cases.
    pub meets_decline_target: bool,
}

/// Why the cases cannot tune the thresholds, if they cannot: too few off-topic ones.
pub fn too_few(cases: &[Case]) -> Option<String> {
    let (_, off_topic) = split(cases);
    (off_topic.len() < MIN_OFF_TOPIC).then(|| {
        format!(
            "{} off-topic test cases (`fallback`): `kb tune` needs at least {MIN_OFF_TOPIC} to \
             set thresholds (add messages the bot must not answer, e.g. from the unanswered \
             report, as `text,fallback` lines in tests/*.csv)",
            off_topic.len()
        )
    })
}

/// Cases that expect an FAQ, and cases that expect only a fallback (`todo:` cases count too:
/// they are what the knowledge base should do).
fn split(cases: &[Case]) -> (Vec<&Case>, Vec<&Case>) {
    let in_scope = cases
        .iter()
        .filter(|c| c.expect.iter().any(|e| matches!(e, Expect::Faq(_))))
        .collect();
    let off_topic = cases
        .iter()
        .filter(|c| c.expect.iter().all(|e| *e == Expect::Fallback))
        .collect();
    (in_scope, off_topic)
}

/// Tries every `answer_confidence` from 0.05 to 0.60 (clarify below it in the current ratio).
pub fn tune(kb: KnowledgeBase, cases: &[Case]) -> anyhow::Result<Tuning> {
    // The phrasings' folds count as in-scope evidence too; only off-topic cases must be
    // collected (checked by `too_few`).
    let policy = kb.rules.policy.clone();
    let ratio = if policy.answer_confidence > 0.0 {
        policy.clarify_confidence / policy.answer_confidence
    } else {
        0.5
    };
    let thresholds: Vec<(f32, f32)> =
        std::iter::once((policy.answer_confidence, policy.clarify_confidence))
            .chain((5..=60).map(|hundredths| {
                let answer = hundredths as f32 / 100.0;
                (answer, (answer * ratio * 100.0).round() / 100.0)
            }))
            .collect();
    // Per threshold: in-scope messages found, off-topic ones declined.
    let mut found = vec![0usize; thresholds.len()];
    let mut declined = vec![0usize; thresholds.len()];
    let mut in_scope_total = 0;
    // Held-out phrasings, each decided by the knowledge base without it.
    let (_, groups) = crate::kb_test::held_out(&kb, false);
    for (reduced, held) in groups {
        let mut matcher = Matcher::build(reduced)?;
        in_scope_total += held.len();
        for (i, &(answer, clarify)) in thresholds.iter().enumerate() {
            matcher.set_thresholds(answer, clarify);
            found[i] += held
                .iter()
                .filter(|&&(f, q)| {
                    let faq = &kb.faqs[f];
                    let d = matcher
                        .decide(&Memory::default(), &faq.questions[q])
                        .decision;
                    crate::kb_test::finds(&d, &faq.id)
                })
                .count();
        }
    }
    let (in_scope, off_topic) = split(cases);
    in_scope_total += in_scope.len();
    let mut matcher = Matcher::build(kb)?;
    for (i, &(answer, clarify)) in thresholds.iter().enumerate() {
        matcher.set_thresholds(answer, clarify);
        found[i] += in_scope
            .iter()
            .filter(|c| {
                let d = matcher.decide(&Memory::default(), &c.text).decision;
                c.expect.iter().any(|e| crate::kb_test::met(e, &d))
            })
            .count();
        declined[i] += off_topic
            .iter()
            .filter(|c| {
                !matches!(
                    matcher.decide(&Memory::default(), &c.text).decision,
                    Decision::Answer { .. }
                )
            })
            .count();
    }
    let point = |i: usize| Point {
        answer_confidence: thresholds[i].0,
        clarify_confidence: thresholds[i].1,
        in_scope_right: found[i] as f64 / in_scope_total.max(1) as f64,
        off_topic_declined: declined[i] as f64 / off_topic.len().max(1) as f64,
    };
    let current = point(0);
    let curve: Vec<Point> = (1..thresholds.len()).map(point).collect();
    // The best sum of the two shares (a right answer and a declined off-topic message count
    // the same) among the points that decline enough; the lower threshold on a tie. When none
    // declines enough, the best sum of all.
    let enough: Vec<&Point> = curve
        .iter()
        .filter(|p| p.off_topic_declined >= DECLINE_TARGET)
        .collect();
    let pool = if enough.is_empty() {
        curve.iter().collect()
    } else {
        enough
    };
    let sum = |p: &Point| p.in_scope_right + p.off_topic_declined;
    let chosen = pool
        .into_iter()
        .reduce(|best, p| if sum(p) > sum(best) { p } else { best })
        .expect("the curve has points")
        .clone();
    Ok(Tuning {
        in_scope: in_scope_total,
        off_topic: off_topic.len(),
        meets_decline_target: chosen.off_topic_declined >= DECLINE_TARGET,
        current,
        chosen,
        curve,
    })
}

/// Writes `point`'s thresholds into `dir/rules.toml`'s `[policy]`, keeping everything else in
/// the file as the editor wrote it (comments, order, formatting).
pub fn write(dir: &Path, point: &Point) -> anyhow::Result<()> {
    let path = dir.join("rules.toml");
    let source = std::fs::read_to_string(&path).unwrap_or_default();
    let mut doc: toml_edit::DocumentMut = source
        .parse()
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    if !doc.contains_key("policy") {
        doc["policy"] = toml_edit::table();
    }
    let round = |x: f32| ((x as f64) * 100.0).round() / 100.0;
    doc["policy"]["answer_confidence"] = toml_edit::value(round(point.answer_confidence));
    doc["policy"]["clarify_confidence"] = toml_edit::value(round(point.clarify_confidence));
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, doc.to_string())?;
    std::fs::rename(&tmp, &path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (KnowledgeBase, Vec<Case>) {
        let dir = Path::new("knowledge_base");
        let kb = crate::knowledge_base::load(dir).unwrap().kb;
        let cases = crate::kb_test::load_cases(dir, &kb).unwrap();
        (kb, cases)
    }

    #[test]
    fn the_curve_trades_answers_against_declines_and_the_choice_meets_the_target() {
        let (kb, cases) = sample();
        assert_eq!(too_few(&cases), None, "the sample has enough cases to tune");
        let t = tune(kb, &cases).unwrap();
        let first = t.curve.first().unwrap();
        let last = t.curve.last().unwrap();
        // A higher threshold answers less and declines more.
        assert!(
            last.off_topic_declined >= first.off_topic_declined,
            "{t:#?}"
        );
        assert!(last.in_scope_right <= first.in_scope_right, "{t:#?}");
        assert!(t.meets_decline_target, "{t:#?}");
        assert!(t.chosen.off_topic_declined >= DECLINE_TARGET);
        // Nothing on the curve that declines enough does better on both counts together.
        for p in &t.curve {
            if p.off_topic_declined >= DECLINE_TARGET {
                assert!(
                    p.in_scope_right + p.off_topic_declined
                        <= t.chosen.in_scope_right + t.chosen.off_topic_declined,
                    "{p:?}"
                );
            }
        }
    }

    #[test]
    fn too_few_off_topic_cases_are_said() {
        let (_, cases) = sample();
        let in_scope: Vec<Case> = cases
            .into_iter()
            .filter(|c| c.expect.iter().any(|e| matches!(e, Expect::Faq(_))))
            .collect();
        let said = too_few(&in_scope).expect("no off-topic cases");
        assert!(said.starts_with("0 off-topic"), "{said}");
    }

    #[test]
    fn writing_keeps_the_editors_file_and_changes_only_the_thresholds() {
        let dir = tempfile::tempdir().unwrap();
        let source = "# our rules\n[[rule]]\nid = \"hi\"\n\n[policy]\n# tuned by hand once\nanswer_confidence = 0.16\nclarify_confidence = 0.09\noffer_human_after_fallbacks = 2\n";
        std::fs::write(dir.path().join("rules.toml"), source).unwrap();
        let point = Point {
            answer_confidence: 0.23,
            clarify_confidence: 0.13,
            in_scope_right: 0.9,
            off_topic_declined: 0.8,
        };
        write(dir.path(), &point).unwrap();
        let written = std::fs::read_to_string(dir.path().join("rules.toml")).unwrap();
        assert_eq!(
            written,
            source
                .replace("answer_confidence = 0.16", "answer_confidence = 0.23")
                .replace("clarify_confidence = 0.09", "clarify_confidence = 0.13")
        );
    }
}
