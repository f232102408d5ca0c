//! The bot's brain: one visitor message (with what the matcher remembers of its conversation) in,
//! one explained `Decision` out. Pure and synchronous: everything it needs is built once by
//! `Matcher::build` from a `KnowledgeBase`; `decide` does no I/O and takes microseconds.
//!
//! Order of a turn: normalise (fold, contractions, typos, stems, synonyms) -> intent rules ->
//! FAQ scoring (tantivy BM25 retrieval + a logistic-regression model, times coverage) ->
//! frustration meter -> policy (thresholds from `rules.toml`).

mod classifier;
mod embedding;
mod faq_index;
pub mod frustration;
pub mod normalize;
mod phrases;
mod policy;
mod spelling;

use std::collections::{HashMap, HashSet};

pub use frustration::{Memory, Signal};
pub use policy::{Candidate, Decision, Explanation, HandoffReason, Source};

use crate::knowledge_base::{FaqId, HandoffMode, KnowledgeBase, RuleAction, RuleScope};
use classifier::{Classifier, Example};
use faq_index::FaqIndex;
use frustration::Meter;
use normalize::{Analyzed, Normalizer, is_stopword};
use phrases::{PhraseHit, PhraseSet};
use spelling::Speller;

/// Phrasings fetched from the index per message.
const RETRIEVED_PHRASINGS: usize = 20;
/// Weights of an FAQ's 1st, 2nd and 3rd best phrasing in its retrieval score.
const PHRASING_WEIGHTS: [f32; 3] = [1.0, 0.5, 0.25];
/// Options offered in a clarify decision.
const MAX_OPTIONS: usize = 3;
/// Without a trained model, an FAQ's share of the top retrieval scores is sharpened by this power.
const RETRIEVAL_SHARPNESS: f32 = 2.0;

/// A knowledge base compiled for matching.
pub struct Matcher {
    kb: KnowledgeBase,
    normalizer: Normalizer,
    speller: Speller,
    rules: PhraseSet,
    meter: Meter,
    index: FaqIndex,
    /// Per phrasing: its FAQ (index into `kb.faqs`) and its original text.
    phrasings: Vec<(u32, String)>,
    /// Per FAQ: every term of its phrasings.
    faq_terms: Vec<HashSet<String>>,
    /// Inverse document frequency of each known term over phrasings; unknown terms get `max_idf`.
    idf: HashMap<String, f32>,
    max_idf: f32,
    /// How much of an in-scope message the knowledge base typically knows: the mean known share
    /// of each phrasing against all the others. A small knowledge base knows fewer of its
    /// visitors' words, so a message's known share is judged relative to this.
    expected_known: f32,
    stop_terms: HashSet<String>,
    by_id: HashMap<FaqId, usize>,
    /// Per FAQ: the normalised mean meaning vector of its phrasings.
    centroids: Vec<Vec<f32>>,
    classifier: Option<Classifier>,
}

/// The result of one turn.
#[derive(Debug, Clone)]
pub struct Turn {
    pub decision: Decision,
    pub explanation: Explanation,
    /// What to remember for the conversation's next turn.
    pub memory: Memory,
}

impl Matcher {
    /// Compiles `kb`. Fails only if tantivy cannot build its RAM index.
    pub fn build(kb: KnowledgeBase) -> anyhow::Result<Matcher> {
        let normalizer = Normalizer::new(&kb.synonyms);
        let mut phrasings = Vec::new();
        let mut analyzed = Vec::new();
        for (i, faq) in kb.faqs.iter().enumerate() {
            for text in std::iter::once(&faq.title).chain(&faq.questions) {
                let a = normalizer.analyze(text, None);
                if !a.terms.is_empty() {
                    phrasings.push((i as u32, text.clone()));
                    analyzed.push(a);
                }
            }
        }
        let terms: Vec<Vec<String>> = analyzed.iter().map(|a| a.terms.clone()).collect();
        let stop_terms: HashSet<String> = normalize::STOPWORDS
            .iter()
            .map(|w| normalizer.stem(w))
            .collect();
        let content = |t: &Vec<String>| -> Vec<String> {
            t.iter()
                .filter(|x| !stop_terms.contains(*x))
                .cloned()
                .collect()
        };
        let index = FaqIndex::build(&terms.iter().map(content).collect::<Vec<_>>())?;

        let mut faq_terms = vec![HashSet::new(); kb.faqs.len()];
        let mut df: HashMap<String, u32> = HashMap::new();
        for ((faq, _), t) in phrasings.iter().zip(&terms) {
            let mut distinct: Vec<&String> = t.iter().collect();
            distinct.sort();
            distinct.dedup();
            for term in distinct {
                *df.entry(term.clone()).or_default() += 1;
                faq_terms[*faq as usize].insert(term.clone());
            }
        }
        let n = terms.len().max(1) as f32;
        let bm25_idf = |d: f32| (1.0 + (n - d + 0.5) / (d + 0.5)).ln();
        let idf: HashMap<String, f32> = df
            .iter()
            .map(|(t, &d)| (t.clone(), bm25_idf(d as f32)))
            .collect();
        let max_idf = bm25_idf(0.0);
        let expected_known = expected_known_share(&terms, &df, &idf, max_idf);

        let mut vocabulary: Vec<String> = analyzed
            .iter()
            .flat_map(|a| a.words.iter().cloned())
            .collect();
        let rule_phrases = kb.rules.rules.iter().flat_map(|r| r.phrases.iter());
        let lexicon = kb.rules.frustration.phrases.iter().map(|p| &p.phrase);
        for phrase in rule_phrases.chain(lexicon) {
            vocabulary.extend(normalize::words(&normalize::fold(phrase)));
        }
        let mut known: HashSet<String> = df.keys().cloned().collect();
        known.extend(vocabulary.iter().map(|w| normalizer.stem(w)));
        let speller = Speller::new(vocabulary.iter().map(String::as_str), known);

        let rules = PhraseSet::new(
            &normalizer,
            kb.rules
                .rules
                .iter()
                .enumerate()
                .flat_map(|(i, r)| r.phrases.iter().map(move |p| (i, p.as_str()))),
        );
        let lexicon = PhraseSet::new(
            &normalizer,
            kb.rules
                .frustration
                .phrases
                .iter()
                .enumerate()
                .map(|(i, p)| (i, p.phrase.as_str())),
        );
        let meter = Meter::new(kb.rules.frustration.clone(), lexicon);

        let meanings: Vec<Vec<f32>> = analyzed
            .iter()
            .map(|a| embedding::shared().sentence(&a.words))
            .collect();
        // The answers teach the model too: they hold the words visitors use that editors did not
        // think to put in a phrasing ("phone", "Klarna", "customs").
        let answers: Vec<(u32, Analyzed, Vec<f32>)> = kb
            .faqs
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let a = normalizer.analyze(&f.answer_text, None);
                let m = embedding::shared().sentence(&a.words);
                (i as u32, a, m)
            })
            .filter(|(_, a, _)| !a.terms.is_empty())
            .collect();
        let examples: Vec<Example> = terms
            .iter()
            .zip(&phrasings)
            .zip(&meanings)
            .map(|((t, (faq, _)), m)| Example {
                terms: t,
                dense: m,
                class: *faq,
            })
            .chain(answers.iter().map(|(faq, a, m)| Example {
                terms: &a.terms,
                dense: m,
                class: *faq,
            }))
            .collect();
        let classifier = Classifier::train(&examples, kb.faqs.len());
        let mut centroids = vec![vec![0.0f32; embedding::shared().dims()]; kb.faqs.len()];
        for ((faq, _), m) in phrasings.iter().zip(&meanings) {
            centroids[*faq as usize]
                .iter_mut()
                .zip(m)
                .for_each(|(c, x)| *c += x);
        }
        centroids.iter_mut().for_each(|c| embedding::normalize(c));

        let by_id = kb
            .faqs
            .iter()
            .enumerate()
            .map(|(i, f)| (f.id.clone(), i))
            .collect();
        Ok(Matcher {
            expected_known,
            centroids,
            by_id,
            kb,
            normalizer,
            speller,
            rules,
            meter,
            index,
            phrasings,
            faq_terms,
            idf,
            max_idf,
            stop_terms,
            classifier,
        })
    }

    pub fn knowledge_base(&self) -> &KnowledgeBase {
        &self.kb
    }

    /// Whether a trained model (not retrieval alone) scores FAQs.
    pub fn has_model(&self) -> bool {
        self.classifier.is_some()
    }

    /// Decides what to do with one visitor message.
    pub fn decide(&self, memory: &Memory, text: &str) -> Turn {
        let analyzed = self.normalizer.analyze(text, Some(&self.speller));
        let mut explanation = Explanation {
            corrections: analyzed.corrections.clone(),
            ..Explanation::default()
        };
        let mut signals = self.meter.message_signals(text, &analyzed, memory);

        let tentative = match self.rule_for(&analyzed) {
            Some(hit) => {
                let rule = &self.kb.rules.rules[hit.owner];
                explanation.rule = Some((rule.id.clone(), hit.phrase.clone()));
                match rule.action {
                    RuleAction::Handoff => Decision::Handoff {
                        reason: HandoffReason::Rule(rule.id.clone()),
                    },
                    RuleAction::Reply => Decision::Answer {
                        source: Source::Rule(rule.id.clone()),
                        options: rule.suggest.clone(),
                        offer_human: false,
                    },
                    RuleAction::Suggest => Decision::Clarify {
                        options: rule.suggest.clone(),
                    },
                }
            }
            None => self.faq_decision(&analyzed, &mut explanation),
        };

        let is_fallback = matches!(tentative, Decision::Fallback { .. });
        if is_fallback && let Some(s) = self.meter.repeated_fallback(memory) {
            signals.push(s);
        }
        let score = self.meter.next_score(memory.frustration, &signals);
        let policy = &self.kb.rules.policy;
        let mut next = memory.clone();
        next.fallbacks_in_row = if is_fallback {
            memory.fallbacks_in_row + 1
        } else {
            0
        };
        let decision = if matches!(tentative, Decision::Handoff { .. }) {
            tentative
        } else if score >= self.meter.threshold() {
            Decision::Handoff {
                reason: HandoffReason::Frustrated,
            }
        } else if is_fallback
            && policy.handoff_after_fallbacks > 0
            && next.fallbacks_in_row >= policy.handoff_after_fallbacks
        {
            Decision::Handoff {
                reason: HandoffReason::RepeatedMisses,
            }
        } else if is_fallback {
            Decision::Fallback {
                offer_human: next.fallbacks_in_row >= policy.offer_human_after_fallbacks,
            }
        } else {
            tentative
        };
        if matches!(decision, Decision::Handoff { .. }) {
            // A person takes over; if the conversation comes back to the bot it starts calm.
            next.frustration = 0.0;
            next.fallbacks_in_row = 0;
        } else {
            next.frustration = score;
        }
        Meter::remember(&mut next, &analyzed);
        explanation.frustration = score;
        explanation.signals = signals;
        Turn {
            decision,
            explanation,
            memory: next,
        }
    }

    /// Negative feedback on an answer adds to the meter; returns the handoff it causes, if any.
    pub fn feedback(&self, memory: &mut Memory, helpful: bool) -> Option<HandoffReason> {
        if helpful {
            return None;
        }
        memory.frustration = self
            .meter
            .next_score(memory.frustration, &[self.meter.negative_feedback()]);
        (memory.frustration >= self.meter.threshold()).then(|| {
            memory.frustration = 0.0;
            HandoffReason::Frustrated
        })
    }

    /// The rule that applies to a message: handoff rules first, then in file order; an `alone`
    /// rule only when the rest of the message is filler.
    fn rule_for(&self, analyzed: &Analyzed) -> Option<PhraseHit> {
        let hits = self.rules.find(&analyzed.terms);
        let mut covered = vec![false; analyzed.terms.len()];
        for h in &hits {
            covered[h.start..h.end].iter_mut().for_each(|c| *c = true);
        }
        let only_filler_left = analyzed
            .terms
            .iter()
            .zip(&covered)
            .all(|(t, c)| *c || self.stop_terms.contains(t) || is_stopword(t));
        hits.into_iter()
            .filter(|h| {
                self.kb.rules.rules[h.owner].scope == RuleScope::Anywhere || only_filler_left
            })
            .min_by_key(|h| {
                let rule = &self.kb.rules.rules[h.owner];
                (rule.action != RuleAction::Handoff, h.owner)
            })
    }

    /// Scores the FAQs for a message and applies the confidence thresholds.
    fn faq_decision(&self, analyzed: &Analyzed, explanation: &mut Explanation) -> Decision {
        let candidates = self.candidates(analyzed);
        let policy = &self.kb.rules.policy;
        let best = candidates.first().map(|c| c.confidence).unwrap_or(0.0);
        let second = candidates.get(1).map(|c| c.confidence).unwrap_or(0.0);
        explanation.margin = best - second;
        explanation.known = self.known_share(&unique(analyzed.terms.iter()));
        if let Some(top) = candidates.first() {
            let faq = self.faq_index(&top.faq);
            explanation.matched_terms = unique(
                analyzed
                    .terms
                    .iter()
                    .filter(|t| self.faq_terms[faq].contains(*t)),
            );
        }
        explanation.candidates = candidates.iter().take(MAX_OPTIONS).cloned().collect();

        if best >= policy.answer_confidence {
            let faq = &self.kb.faqs[self.faq_index(&candidates[0].faq)];
            if faq.handoff == Some(HandoffMode::Always) {
                return Decision::Handoff {
                    reason: HandoffReason::Faq(faq.id.clone()),
                };
            }
            return Decision::Answer {
                source: Source::Faq(faq.id.clone()),
                options: faq.related.clone(),
                offer_human: faq.handoff == Some(HandoffMode::Offer),
            };
        }
        let options: Vec<FaqId> = candidates
            .iter()
            .take(MAX_OPTIONS)
            .filter(|c| c.confidence >= policy.clarify_confidence / 2.0)
            .map(|c| c.faq.clone())
            .collect();
        if best >= policy.clarify_confidence && options.len() >= 2 {
            Decision::Clarify { options }
        } else {
            Decision::Fallback { offer_human: false }
        }
    }

    /// FAQ candidates for a message, best first.
    pub fn candidates(&self, analyzed: &Analyzed) -> Vec<Candidate> {
        let terms = &analyzed.terms;
        if terms
            .iter()
            .all(|t| self.stop_terms.contains(t) || is_stopword(t))
        {
            // "and or not", "is it": nothing to go on.
            return Vec::new();
        }
        let meaning = embedding::shared().sentence(&analyzed.words);
        // Function words match half the index and add little to BM25: leave them out of the
        // query (they still count in the model and in coverage).
        let content: Vec<String> = terms
            .iter()
            .filter(|t| !self.stop_terms.contains(*t))
            .cloned()
            .collect();
        let hits = self.index.search(&content, RETRIEVED_PHRASINGS);
        // Per FAQ: its best phrasing scores (best first) and the nearest phrasing.
        let mut per_faq: HashMap<u32, (Vec<f32>, u32)> = HashMap::new();
        for &(p, score) in &hits {
            let faq = self.phrasings[p as usize].0;
            per_faq
                .entry(faq)
                .or_insert_with(|| (Vec::new(), p))
                .0
                .push(score);
        }
        let retrieval: HashMap<u32, f32> = per_faq
            .iter()
            .map(|(&f, (scores, _))| {
                (
                    f,
                    scores
                        .iter()
                        .zip(PHRASING_WEIGHTS)
                        .map(|(s, w)| s * w)
                        .sum(),
                )
            })
            .collect();

        let probability: Vec<(u32, f32)> = match &self.classifier {
            Some(model) => {
                let p = model.predict(terms, &meaning);
                let mut ranked: Vec<(u32, f32)> = p
                    .into_iter()
                    .enumerate()
                    .map(|(i, p)| (i as u32, p))
                    .collect();
                ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
                ranked.truncate(MAX_OPTIONS + 2);
                ranked
            }
            None => {
                let mut ranked: Vec<(u32, f32)> = retrieval
                    .iter()
                    .map(|(&f, &s)| (f, s.powf(RETRIEVAL_SHARPNESS)))
                    .collect();
                ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                ranked.truncate(MAX_OPTIONS + 2);
                let total: f32 = ranked.iter().map(|(_, s)| s).sum();
                ranked
                    .iter()
                    .map(|&(f, s)| (f, if total > 0.0 { s / total } else { 0.0 }))
                    .collect()
            }
        };

        let distinct = unique(terms.iter());
        let information: f32 = distinct.iter().map(|t| self.idf_of(t)).sum();
        let known = self.known_share(&distinct);
        let mut candidates: Vec<Candidate> = probability
            .iter()
            .enumerate()
            .map(|(rank, &(f, p))| {
                let covered: f32 = distinct
                    .iter()
                    .filter(|t| self.faq_terms[f as usize].contains(*t))
                    .map(|t| self.idf_of(t))
                    .sum();
                let coverage = if information > 0.0 {
                    covered / information
                } else {
                    0.0
                };
                // The strongest rival: the runner-up for the best candidate, the best for the others.
                let rival = probability
                    .get(if rank == 0 { 1 } else { 0 })
                    .map_or(0.0, |r| r.1);
                let similarity = self.centroids[f as usize]
                    .iter()
                    .zip(&meaning)
                    .map(|(a, b)| a * b)
                    .sum();
                Candidate {
                    faq: self.kb.faqs[f as usize].id.clone(),
                    confidence: confidence(p, rival, known, similarity),
                    probability: p,
                    similarity,
                    coverage,
                    nearest_phrasing: per_faq
                        .get(&f)
                        .map(|(_, p)| self.phrasings[*p as usize].1.clone()),
                }
            })
            .collect();
        candidates.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
        candidates
    }

    /// Share of a message's information carried by terms the knowledge base knows.
    /// Relative to what the knowledge base usually knows (`expected_known`), capped at 1.
    fn known_share(&self, distinct: &[String]) -> f32 {
        let total: f32 = distinct.iter().map(|t| self.idf_of(t)).sum();
        let known: f32 = distinct.iter().filter_map(|t| self.idf.get(t)).sum();
        if total > 0.0 {
            (known / total / self.expected_known).min(1.0)
        } else {
            0.0
        }
    }

    fn idf_of(&self, term: &str) -> f32 {
        self.idf.get(term).copied().unwrap_or(self.max_idf)
    }

    fn faq_index(&self, id: &FaqId) -> usize {
        *self
            .by_id
            .get(id)
            .expect("invariant: candidates only name FAQs of this knowledge base")
    }
}

/// The mean, over phrasings, of the share of a phrasing's information that the *other* phrasings
/// know (a term is known to them if it occurs in another phrasing).
fn expected_known_share(
    phrasings: &[Vec<String>],
    df: &HashMap<String, u32>,
    idf: &HashMap<String, f32>,
    max_idf: f32,
) -> f32 {
    let mut sum = 0.0;
    let mut n = 0;
    for terms in phrasings {
        let distinct = unique(terms.iter());
        let total: f32 = distinct
            .iter()
            .map(|t| idf.get(t).copied().unwrap_or(max_idf))
            .sum();
        let known: f32 = distinct
            .iter()
            .filter(|t| df.get(*t).is_some_and(|&d| d > 1))
            .map(|t| idf[t])
            .sum();
        if total > 0.0 {
            sum += known / total;
            n += 1;
        }
    }
    if n == 0 {
        1.0
    } else {
        (sum / n as f32).max(0.1)
    }
}

/// Confidence in one FAQ, in 0..=1, from its probability `p`, its strongest rival's probability,
/// the share of the message the knowledge base knows at all (`known`, relative to what it usually
/// knows), and the cosine similarity of the message's meaning to the FAQ's (`similarity`).
/// Unknown words weigh most: a message about something the knowledge base never mentions ("set an
/// alarm for 7") must not be answered however the probabilities fall. Then the margin to the
/// rival, the meaning, and a little the absolute probability (many FAQs can split the probability
/// of a clear message). Chosen on the development sets for a single threshold across knowledge
/// bases of very different sizes; see docs/knowledge-base.md.
fn confidence(p: f32, rival: f32, known: f32, similarity: f32) -> f32 {
    let share = if p + rival > 0.0 {
        p / (p + rival)
    } else {
        0.0
    };
    known.powi(2) * share * p.powf(0.25) * similarity.max(0.0)
}

fn unique<'a>(terms: impl Iterator<Item = &'a String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in terms {
        if !out.contains(t) {
            out.push(t.clone());
        }
    }
    out
}
