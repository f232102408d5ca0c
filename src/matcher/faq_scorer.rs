//! FAQ scoring: which FAQs a message may be about, and how sure the bot can be. Owns everything
//! built from the phrasings for that: the tantivy index, term statistics, per-FAQ vocabularies
//! and meaning centroids, and the logistic-regression model.
//!
//! Candidates come from the model's probabilities (or, for knowledge bases too large to train a
//! model at load, from BM25 retrieval aggregated over each FAQ's best phrasings); each gets a
//! confidence from `confidence()`. Thresholds and decisions are the caller's (`Matcher`).

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use super::classifier::{Classifier, Example};
use super::embedding;
use super::faq_index::FaqIndex;
use super::normalize::{Analyzed, Normalizer};
use super::policy::Candidate;
use crate::knowledge_base::KnowledgeBase;

/// Phrasings fetched from the index per message.
const RETRIEVED_PHRASINGS: usize = 20;
/// Weights of an FAQ's 1st, 2nd and 3rd best phrasing in its retrieval score.
const PHRASING_WEIGHTS: [f32; 3] = [1.0, 0.5, 0.25];
/// Candidates scored per message (the best few are shown and offered).
const CANDIDATES: usize = 5;
/// Without a trained model, an FAQ's share of the top retrieval scores is sharpened by this power.
const RETRIEVAL_SHARPNESS: f32 = 2.0;
/// The least coverage counts in the confidence (see `confidence`).
const COVERAGE_FLOOR: f32 = 0.1;

/// One phrasing (or title) as the scorer sees it.
pub(crate) struct Phrasing {
    /// Index into the knowledge base's FAQs.
    pub faq: u32,
    pub text: String,
    pub analyzed: Analyzed,
}

pub(crate) struct FaqScorer {
    index: FaqIndex,
    /// Per phrasing: its FAQ and its original text.
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
    /// Stems of function words: left out of retrieval, and "filler" for `alone` rules.
    stop_terms: HashSet<String>,
    /// The function words themselves, folded.
    stop_words: HashSet<String>,
    /// Whether meaning vectors (English word-piece embeddings) take part.
    meaning: bool,
    /// Mean leave-one-out similarity of a phrasing's meaning to its FAQ's other phrasings: how
    /// close an in-scope message can be expected to come.
    expected_similarity: f32,
    /// Per FAQ: the normalised mean meaning vector of its phrasings.
    centroids: Vec<Vec<f32>>,
    classifier: Option<Classifier>,
}

/// The meaning vector of `words`, or zeros when meaning vectors do not take part.
fn sentence(meaning: bool, words: &[String]) -> Vec<f32> {
    if meaning {
        embedding::shared().sentence(words)
    } else {
        vec![0.0; embedding::shared().dims()]
    }
}

impl FaqScorer {
    pub fn build(
        kb: &KnowledgeBase,
        normalizer: &Normalizer,
        phrasings: Vec<Phrasing>,
    ) -> anyhow::Result<FaqScorer> {
        let stop_terms: HashSet<String> =
            normalizer.stopwords().map(|w| normalizer.stem(w)).collect();
        let stop_words: HashSet<String> = normalizer.stopwords().map(str::to_owned).collect();
        // The word-piece embeddings were distilled from an English model: other languages
        // score without them.
        let meaning = normalizer.language() == "en";
        let content = |p: &Phrasing| -> Vec<String> {
            p.analyzed
                .terms
                .iter()
                .filter(|x| !stop_terms.contains(*x))
                .cloned()
                .collect()
        };
        let index = FaqIndex::build(&phrasings.iter().map(content).collect::<Vec<_>>())?;

        let mut faq_terms = vec![HashSet::default(); kb.faqs.len()];
        let mut df: HashMap<String, u32> = HashMap::default();
        for p in &phrasings {
            for term in unique(p.analyzed.terms.iter()) {
                *df.entry(term.clone()).or_default() += 1;
                faq_terms[p.faq as usize].insert(term);
            }
        }
        let n = phrasings.len().max(1) as f32;
        let bm25_idf = |d: f32| (1.0 + (n - d + 0.5) / (d + 0.5)).ln();
        let idf: HashMap<String, f32> = df
            .iter()
            .map(|(t, &d)| (t.clone(), bm25_idf(d as f32)))
            .collect();
        let max_idf = bm25_idf(0.0);
        let expected_known = expected_known_share(&phrasings, &df, &idf, max_idf);

        let meanings: Vec<Vec<f32>> = phrasings
            .iter()
            .map(|p| sentence(meaning, &p.analyzed.words))
            .collect();
        // The answers teach the model too: they hold the words visitors use that editors did not
        // think to put in a phrasing ("phone", "Klarna", "customs").
        let answers: Vec<(u32, Analyzed, Vec<f32>)> = kb
            .faqs
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let a = normalizer.analyze(&f.answer_text, None);
                let m = sentence(meaning, &a.words);
                (i as u32, a, m)
            })
            .filter(|(_, a, _)| !a.terms.is_empty())
            .collect();
        let examples: Vec<Example> = phrasings
            .iter()
            .zip(&meanings)
            .map(|(p, m)| Example {
                terms: &p.analyzed.terms,
                dense: m,
                class: p.faq,
            })
            .chain(answers.iter().map(|(faq, a, m)| Example {
                terms: &a.terms,
                dense: m,
                class: *faq,
            }))
            .collect();
        let classifier = Classifier::train(&examples, kb.faqs.len());

        let mut centroids = vec![vec![0.0f32; embedding::shared().dims()]; kb.faqs.len()];
        for (p, m) in phrasings.iter().zip(&meanings) {
            centroids[p.faq as usize]
                .iter_mut()
                .zip(m)
                .for_each(|(c, x)| *c += x);
        }
        // Leave-one-out: how close a phrasing's meaning is to its FAQ's other phrasings.
        let mut loo_sum = 0.0f32;
        let mut loo_n = 0usize;
        for (p, m) in phrasings.iter().zip(&meanings) {
            let mut rest: Vec<f32> = centroids[p.faq as usize]
                .iter()
                .zip(m)
                .map(|(c, x)| c - x)
                .collect();
            embedding::normalize(&mut rest);
            if rest.iter().any(|x| *x != 0.0) && m.iter().any(|x| *x != 0.0) {
                loo_sum += rest.iter().zip(m).map(|(a, b)| a * b).sum::<f32>();
                loo_n += 1;
            }
        }
        let expected_similarity = if loo_n == 0 {
            1.0
        } else {
            (loo_sum / loo_n as f32).clamp(0.1, 1.0)
        };
        centroids.iter_mut().for_each(|c| embedding::normalize(c));

        Ok(FaqScorer {
            index,
            phrasings: phrasings.into_iter().map(|p| (p.faq, p.text)).collect(),
            faq_terms,
            idf,
            max_idf,
            expected_known,
            stop_terms,
            stop_words,
            meaning,
            expected_similarity,
            centroids,
            classifier,
        })
    }

    pub fn has_model(&self) -> bool {
        self.classifier.is_some()
    }

    /// A function word ("the", "is", "please"), as a stemmed term.
    pub fn is_filler(&self, term: &str) -> bool {
        self.stop_terms.contains(term) || self.stop_words.contains(term)
    }

    /// The message's terms that FAQ `faq` (an index) knows.
    pub fn matched_terms(&self, faq: usize, terms: &[String]) -> Vec<String> {
        unique(terms.iter().filter(|t| self.faq_terms[faq].contains(*t)))
    }

    /// FAQ candidates for a message, best first.
    pub fn candidates(&self, kb: &KnowledgeBase, analyzed: &Analyzed) -> Vec<Candidate> {
        let terms = &analyzed.terms;
        if terms.iter().all(|t| self.is_filler(t)) {
            // "and or not", "is it": nothing to go on.
            return Vec::new();
        }
        let meaning = sentence(self.meaning, &analyzed.words);
        // Function words match half the index and add little to BM25: leave them out of the
        // query (they still count in the model and in coverage).
        let content: Vec<String> = terms
            .iter()
            .filter(|t| !self.stop_terms.contains(*t))
            .cloned()
            .collect();
        let hits = self.index.search(&content, RETRIEVED_PHRASINGS);
        // Per FAQ: its best phrasing scores (best first) and the nearest phrasing.
        let mut per_faq: HashMap<u32, (Vec<f32>, u32)> = HashMap::default();
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
                ranked.truncate(CANDIDATES);
                ranked
            }
            None => {
                let mut ranked: Vec<(u32, f32)> = retrieval
                    .iter()
                    .map(|(&f, &s)| (f, s.powf(RETRIEVAL_SHARPNESS)))
                    .collect();
                ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                ranked.truncate(CANDIDATES);
                let total: f32 = ranked.iter().map(|(_, s)| s).sum();
                ranked
                    .iter()
                    .map(|&(f, s)| (f, if total > 0.0 { s / total } else { 0.0 }))
                    .collect()
            }
        };

        let distinct = unique(terms.iter());
        let information: f32 = distinct.iter().map(|t| self.idf_of(t)).sum();
        let known = self.known_share(terms);
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
                let similarity: f32 = self.centroids[f as usize]
                    .iter()
                    .zip(&meaning)
                    .map(|(a, b)| a * b)
                    .sum();
                // Judged against how alike this knowledge base's own phrasings are: templated
                // phrasings are near-identical, hand-written ones much less so. Without meaning
                // vectors (not English) it leaves the confidence to the other evidence.
                let similarity = if self.meaning {
                    (similarity / self.expected_similarity).min(1.0)
                } else {
                    1.0
                };
                Candidate {
                    faq: kb.faqs[f as usize].id.clone(),
                    confidence: confidence(p, rival, known, similarity, coverage),
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
    pub fn known_share(&self, terms: &[String]) -> f32 {
        let distinct = unique(terms.iter());
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
}

/// The mean, over phrasings, of the share of a phrasing's information that the *other* phrasings
/// know (a term is known to them if it occurs in another phrasing).
fn expected_known_share(
    phrasings: &[Phrasing],
    df: &HashMap<String, u32>,
    idf: &HashMap<String, f32>,
    max_idf: f32,
) -> f32 {
    let mut sum = 0.0;
    let mut n = 0;
    for p in phrasings {
        let distinct = unique(p.analyzed.terms.iter());
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
/// knows), the cosine similarity of the message's meaning to the FAQ's (`similarity`), and the
/// share of the message's information found in this FAQ's own phrasings (`coverage`).
///
/// Unknown words weigh most: a message about something the knowledge base never mentions ("set an
/// alarm for 7") must not be answered however the probabilities fall. Coverage catches the
/// harder case, a message in the knowledge base's own vocabulary that is about something else
/// ("change my shipping address" against an assistant whose FAQs talk about contacts' addresses
/// and shopping lists): the model still picks a best FAQ, but little of the message is in it.
/// Then the margin to the rival, the meaning, and the absolute probability (many FAQs can split
/// the probability of a clear message). Square roots keep one weak signal from vetoing an answer
/// the others agree on. Chosen on the development sets for one threshold across knowledge bases of
/// very different sizes; see BENCHMARKS.md.
fn confidence(p: f32, rival: f32, known: f32, similarity: f32, coverage: f32) -> f32 {
    let share = if p + rival > 0.0 {
        p / (p + rival)
    } else {
        0.0
    };
    // A floor on coverage: an FAQ that shares no word with the message can still be offered as
    // an option when its meaning is close ("late" -> the delivery FAQs).
    let coverage = COVERAGE_FLOOR + (1.0 - COVERAGE_FLOOR) * coverage.clamp(0.0, 1.0);
    known * (share * p * coverage).sqrt() * similarity.max(0.0)
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
