//! `frontdesk kb test` and the overlap warnings of `kb check`: does every phrasing still find its
//! FAQ when it is not in the index itself?
//!
//! Each phrasing is held out of the knowledge base, the matcher is rebuilt without it, and the
//! phrasing must find its own FAQ: answered with it, or offered it as the first option to choose. Knowledge bases with more than `MAX_LEAVE_ONE_OUT`
//! phrasings are tested in `FOLDS` folds instead (each phrasing held out with a tenth of the
//! others), so the test stays seconds long.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::knowledge_base::{FaqId, KnowledgeBase};
use crate::matcher::{Decision, Matcher, Memory, Source};

const MAX_LEAVE_ONE_OUT: usize = 100;
const FOLDS: usize = 10;

/// A phrasing that did not find its FAQ.
#[derive(Debug, Clone, Serialize)]
pub struct Miss {
    pub faq: FaqId,
    pub phrasing: String,
    /// What the matcher did instead: "answered other-faq", "clarify a|b", "fallback", ...
    pub outcome: String,
    pub explanation: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SelfTest {
    pub phrasings: usize,
    pub found: usize,
    /// "leave-one-out" or "10-fold".
    pub method: String,
    pub misses: Vec<Miss>,
    /// (expected FAQ, answered FAQ) -> count, for the confusions that happened.
    pub confusions: BTreeMap<String, usize>,
}

impl SelfTest {
    pub fn passed(&self) -> bool {
        self.misses.is_empty()
    }
}

/// Runs the self-test; `exact` forces leave-one-out whatever the size (slow on large bases).
pub fn self_test(kb: &KnowledgeBase, exact: bool) -> anyhow::Result<SelfTest> {
    let all: Vec<(usize, usize)> = kb
        .faqs
        .iter()
        .enumerate()
        .flat_map(|(f, faq)| (0..faq.questions.len()).map(move |q| (f, q)))
        .collect();
    let folds = if exact || all.len() <= MAX_LEAVE_ONE_OUT {
        all.len()
    } else {
        FOLDS
    };
    let mut result = SelfTest {
        phrasings: all.len(),
        found: 0,
        method: if folds == all.len() {
            "leave-one-out".into()
        } else {
            format!("{folds}-fold")
        },
        misses: Vec::new(),
        confusions: BTreeMap::new(),
    };
    for fold in 0..folds {
        let held: Vec<(usize, usize)> = all
            .iter()
            .enumerate()
            .filter(|(i, _)| i % folds == fold)
            .map(|(_, p)| *p)
            .collect();
        let mut reduced = kb.clone();
        for faq in reduced.faqs.iter_mut().enumerate() {
            let (f, faq) = faq;
            let mut q = 0;
            faq.questions.retain(|_| {
                let keep = !held.contains(&(f, q));
                q += 1;
                keep
            });
        }
        let matcher = Matcher::build(reduced)?;
        for (f, q) in held {
            let faq = &kb.faqs[f];
            let phrasing = &faq.questions[q];
            let turn = matcher.decide(&Memory::default(), phrasing);
            let offered_first = matches!(&turn.decision, Decision::Clarify { options } if options.first() == Some(&faq.id));
            if turn.decision.answered_faq() == Some(&faq.id) || offered_first {
                result.found += 1;
                continue;
            }
            let outcome = match &turn.decision {
                Decision::Answer {
                    source: Source::Faq(other),
                    ..
                } => {
                    *result
                        .confusions
                        .entry(format!("{} -> {}", faq.id, other))
                        .or_default() += 1;
                    format!("answered {other}")
                }
                Decision::Answer {
                    source: Source::Rule(rule),
                    ..
                } => format!("rule {rule} replied"),
                Decision::Clarify { options } => {
                    format!(
                        "asked to choose: {}",
                        options
                            .iter()
                            .map(FaqId::as_str)
                            .collect::<Vec<_>>()
                            .join(" | ")
                    )
                }
                Decision::Fallback { .. } => "fell back (not confident)".into(),
                Decision::Handoff { reason } => format!("handed off ({reason:?})"),
            };
            result.misses.push(Miss {
                faq: faq.id.clone(),
                phrasing: phrasing.clone(),
                outcome,
                explanation: turn.explanation.summary(),
            });
        }
    }
    result
        .misses
        .sort_by(|a, b| a.faq.cmp(&b.faq).then(a.phrasing.cmp(&b.phrasing)));
    Ok(result)
}

/// Phrasings that, with everything indexed, score best for another FAQ: the two FAQs overlap.
pub fn overlaps(matcher: &Matcher) -> Vec<(FaqId, String, FaqId)> {
    let mut out = Vec::new();
    for faq in &matcher.knowledge_base().faqs {
        for q in &faq.questions {
            let turn = matcher.decide(&Memory::default(), q);
            if let Some(top) = turn.explanation.candidates.first()
                && turn.explanation.rule.is_none()
                && top.faq != faq.id
            {
                out.push((faq.id.clone(), q.clone(), top.faq.clone()));
            }
        }
    }
    out
}
