//! A multinomial logistic-regression model over the phrasings (terms and adjacent pairs, TF-IDF
//! weighted), trained at load time by a fixed number of SGD passes in a fixed order, so the same
//! knowledge base always gives the same model.
//!
//! It learns which words tell FAQs apart, which plain retrieval cannot. The weights are dense
//! (features x FAQs), so it is only trained when that stays small (see `MAX_WEIGHTS`); larger
//! knowledge bases are matched by retrieval alone.

use rustc_hash::FxHashMap as HashMap;

use super::faq_index::pair_terms;

/// Dense weights are features x classes floats; above this (64 MB) the model is not built.
const MAX_WEIGHTS: usize = 16_000_000;
/// Above this many classes training time grows past the load budget.
const MAX_CLASSES: usize = 600;
const EPOCHS: usize = 25;
const LEARNING_RATE: f32 = 0.8;
/// The learning rate of epoch `e` is `LEARNING_RATE / (1 + e * LEARNING_RATE_DECAY)`.
const LEARNING_RATE_DECAY: f32 = 0.2;
/// Bias terms learn slower than weights.
const BIAS_RATE: f32 = 0.1;
/// Pair features count less than single terms.
const PAIR_WEIGHT: f32 = 0.6;

/// How much the message's meaning vector (see `embedding`) counts next to its words.
const DENSE_WEIGHT: f32 = 1.5;

/// One training phrasing.
pub struct Example<'a> {
    pub terms: &'a [String],
    /// The phrasing's meaning vector (may be empty: no dense features).
    pub dense: &'a [f32],
    pub class: u32,
}

/// A trained model.
pub struct Classifier {
    features: HashMap<String, u32>,
    /// Dense features follow the sparse ones: feature `features.len() + j` is dimension `j`.
    dense_dims: usize,
    idf: Vec<f32>,
    classes: usize,
    /// `weights[feature * classes + class]`.
    weights: Vec<f32>,
    bias: Vec<f32>,
}

impl Classifier {
    /// Trains on (terms, class) examples; `None` when the model would be too large to train in
    /// the load-time budget.
    pub fn train(examples: &[Example], classes: usize) -> Option<Classifier> {
        if !(2..=MAX_CLASSES).contains(&classes) || examples.is_empty() {
            return None;
        }
        let dense_dims = examples[0].dense.len();
        let mut features: HashMap<String, u32> = HashMap::default();
        let mut df: Vec<u32> = Vec::new();
        for Example { terms, .. } in examples {
            let mut seen = Vec::new();
            for f in raw_features(terms) {
                let next = features.len() as u32;
                let id = *features.entry(f.0).or_insert(next);
                if id as usize == df.len() {
                    df.push(0);
                }
                if !seen.contains(&id) {
                    seen.push(id);
                    df[id as usize] += 1;
                }
            }
        }
        if (features.len() + dense_dims).saturating_mul(classes) > MAX_WEIGHTS {
            return None;
        }
        let n = examples.len() as f32;
        let idf = df.iter().map(|&d| (n / d as f32).ln() + 1.0).collect();
        let mut model = Classifier {
            features,
            dense_dims,
            idf,
            classes,
            weights: vec![0.0; 0],
            bias: vec![0.0; classes],
        };
        model.weights = vec![0.0; (model.features.len() + dense_dims) * classes];
        let vectors: Vec<Vec<(u32, f32)>> = examples
            .iter()
            .map(|e| model.vectorize(e.terms, e.dense))
            .collect();
        let order = interleaved_order(examples);
        let mut probs = vec![0.0f32; classes];
        // Averaged SGD: the returned weights are the mean over all steps, kept cheaply as
        // `w - u / t` where `u` sums each update times its step number.
        let mut u = vec![0.0f32; model.weights.len()];
        let mut ub = vec![0.0f32; classes];
        let mut t = 1.0f32;
        for epoch in 0..EPOCHS {
            let rate = LEARNING_RATE / (1.0 + epoch as f32 * LEARNING_RATE_DECAY);
            for &i in &order {
                let x = &vectors[i];
                model.scores_into(x, &mut probs);
                softmax(&mut probs);
                probs[examples[i].class as usize] -= 1.0;
                for &(f, v) in x {
                    let range = f as usize * classes..(f as usize + 1) * classes;
                    let row = &mut model.weights[range.clone()];
                    let urow = &mut u[range];
                    for ((w, uw), g) in row.iter_mut().zip(urow.iter_mut()).zip(&probs) {
                        let step = rate * v * g;
                        *w -= step;
                        *uw -= t * step;
                    }
                }
                for ((b, ubb), g) in model.bias.iter_mut().zip(ub.iter_mut()).zip(&probs) {
                    let step = rate * BIAS_RATE * g;
                    *b -= step;
                    *ubb -= t * step;
                }
                t += 1.0;
            }
        }
        model
            .weights
            .iter_mut()
            .zip(&u)
            .for_each(|(w, uw)| *w -= uw / t);
        model
            .bias
            .iter_mut()
            .zip(&ub)
            .for_each(|(b, ubb)| *b -= ubb / t);
        Some(model)
    }

    /// Class probabilities for a message's terms and meaning vector (summing to 1).
    pub fn predict(&self, terms: &[String], dense: &[f32]) -> Vec<f32> {
        let x = self.vectorize(terms, dense);
        let mut p = vec![0.0; self.classes];
        self.scores_into(&x, &mut p);
        softmax(&mut p);
        p
    }

    fn scores_into(&self, x: &[(u32, f32)], out: &mut [f32]) {
        out.copy_from_slice(&self.bias);
        for &(f, v) in x {
            let row = &self.weights[f as usize * self.classes..(f as usize + 1) * self.classes];
            for (o, w) in out.iter_mut().zip(row) {
                *o += v * w;
            }
        }
    }

    /// The L2-normalised TF-IDF vector of the known features of `terms`, followed by the dense
    /// vector (already normalised) times `DENSE_WEIGHT`.
    fn vectorize(&self, terms: &[String], dense: &[f32]) -> Vec<(u32, f32)> {
        let mut x: Vec<(u32, f32)> = Vec::new();
        for (f, weight) in raw_features(terms) {
            if let Some(&id) = self.features.get(&f) {
                match x.iter_mut().find(|(i, _)| *i == id) {
                    Some((_, v)) => *v += weight,
                    None => x.push((id, weight)),
                }
            }
        }
        for (id, v) in &mut x {
            *v = (1.0 + v.ln().max(0.0)) * self.idf[*id as usize] * (*v).min(1.0);
        }
        let norm = x.iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
        if norm > 0.0 {
            for (_, v) in &mut x {
                *v /= norm;
            }
        }
        let first_dense = self.features.len() as u32;
        x.extend(
            dense
                .iter()
                .take(self.dense_dims)
                .enumerate()
                .map(|(j, &d)| (first_dense + j as u32, d * DENSE_WEIGHT)),
        );
        x
    }
}

/// Features of a term sequence with their base weights: every term, and every adjacent pair.
fn raw_features(terms: &[String]) -> impl Iterator<Item = (String, f32)> + '_ {
    terms
        .iter()
        .map(|t| (t.clone(), 1.0))
        .chain(pair_terms(terms).into_iter().map(|p| (p, PAIR_WEIGHT)))
}

/// Examples ordered round-robin across classes (1st of each class, then 2nd, ...): a fixed order
/// that keeps SGD from seeing one class in a long run.
fn interleaved_order(examples: &[Example]) -> Vec<usize> {
    let mut rank_in_class: HashMap<u32, usize> = HashMap::default();
    let mut keyed: Vec<(usize, u32, usize)> = examples
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let r = rank_in_class.entry(e.class).or_default();
            *r += 1;
            (*r, e.class, i)
        })
        .collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, _, i)| i).collect()
}

fn softmax(v: &mut [f32]) {
    let max = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for x in v.iter_mut() {
        *x = (*x - max).exp();
        sum += *x;
    }
    for x in v.iter_mut() {
        *x /= sum;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn it_learns_which_words_tell_classes_apart() {
        let data = [
            (t("where is my order"), 0),
            (t("track my order"), 0),
            (t("order status"), 0),
            (t("cancel my order"), 1),
            (t("i want to cancel the order"), 1),
            (t("stop my order"), 1),
        ];
        let examples: Vec<Example> = data
            .iter()
            .map(|(x, y)| Example {
                terms: x,
                dense: &[],
                class: *y,
            })
            .collect();
        let model = Classifier::train(&examples, 2).unwrap();
        // "order" is in both classes: the deciding words are "cancel" and "where".
        let p = model.predict(&t("please cancel order"), &[]);
        assert!(p[1] > 0.7, "{p:?}");
        let p = model.predict(&t("where is the order"), &[]);
        assert!(p[0] > 0.7, "{p:?}");
        let sum: f32 = model.predict(&t("unknown words"), &[]).iter().sum();
        assert!((sum - 1.0).abs() < 1e-4);
    }
}
