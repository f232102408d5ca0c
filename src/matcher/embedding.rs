//! Static word-piece embeddings: what the matcher knows about word meaning beyond the knowledge
//! base's own words ("reschedule" is near "change the date", "quid" near "pound").
//!
//! The table (`assets/embeddings.bin`, 27,558 lowercase ASCII word-pieces x 256 int8 dimensions;
//! provenance and checksum in `assets/README.md`) was
//! distilled once from the all-MiniLM-L6-v2 sentence encoder (Apache-2.0) by
//! `scripts/distill-embeddings.py`, the way model2vec does it. It is compiled into the binary and
//! parsed once per process. A message's vector is the normalised sum of its word-pieces' vectors:
//! a few table lookups, no neural network at run time.

use rustc_hash::FxHashMap as HashMap;
use std::sync::OnceLock;

use super::normalize::is_stopword;

/// Function words ("the", "my", "how") say little about meaning; their vectors count this much.
const STOPWORD_WEIGHT: f32 = 0.3;

static TABLE: &[u8] = include_bytes!("../../assets/embeddings.bin");
const MAGIC: &[u8] = b"FDEMB1";

/// The parsed table.
pub struct Embeddings {
    pieces: HashMap<&'static str, u32>,
    dims: usize,
    scale: Vec<f32>,
    values: &'static [u8],
}

/// The process-wide table, parsed on first use.
pub fn shared() -> &'static Embeddings {
    static SHARED: OnceLock<Embeddings> = OnceLock::new();
    SHARED.get_or_init(|| {
        Embeddings::parse(TABLE)
            .expect("invariant: the embedded table is written by scripts/distill-embeddings.py")
    })
}

impl Embeddings {
    fn parse(bytes: &'static [u8]) -> Option<Embeddings> {
        let rest = bytes.strip_prefix(MAGIC)?;
        let u32_at =
            |b: &[u8], at: usize| Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?));
        let count = u32_at(rest, 0)? as usize;
        let dims = u32_at(rest, 4)? as usize;
        let mut at = 8;
        let mut scale = Vec::with_capacity(dims);
        for _ in 0..dims {
            scale.push(f32::from_le_bytes(rest.get(at..at + 4)?.try_into().ok()?));
            at += 4;
        }
        let mut pieces = HashMap::with_capacity_and_hasher(count, Default::default());
        for i in 0..count {
            let len = *rest.get(at)? as usize;
            let piece = std::str::from_utf8(rest.get(at + 1..at + 1 + len)?).ok()?;
            pieces.insert(piece, i as u32);
            at += 1 + len;
        }
        let values = rest.get(at..at + count * dims)?;
        Some(Embeddings {
            pieces,
            dims,
            scale,
            values,
        })
    }

    pub fn dims(&self) -> usize {
        self.dims
    }

    /// The normalised, weighted sum of the word-piece vectors of `words`; all zeros when no word
    /// is known.
    pub fn sentence(&self, words: &[String]) -> Vec<f32> {
        let mut v = vec![0.0f32; self.dims];
        let mut pieces = Vec::new();
        for word in words {
            pieces.clear();
            if !self.word_pieces(word, &mut pieces) {
                continue;
            }
            let weight = if is_stopword(word) {
                STOPWORD_WEIGHT
            } else {
                1.0
            };
            for &p in &pieces {
                let row = &self.values[p as usize * self.dims..(p as usize + 1) * self.dims];
                for ((o, &q), s) in v.iter_mut().zip(row).zip(&self.scale) {
                    *o += (q as i8) as f32 * s * weight;
                }
            }
        }
        normalize(&mut v);
        v
    }

    /// WordPiece: greedy longest-match-first split of `word` into known pieces ("##" marks a
    /// continuation). False when some part of the word has no piece.
    fn word_pieces(&self, word: &str, out: &mut Vec<u32>) -> bool {
        if word.is_empty() || !word.is_ascii() {
            return false;
        }
        let mut start = 0;
        let mut buf = String::new();
        while start < word.len() {
            let mut end = word.len();
            let mut found = None;
            while end > start {
                buf.clear();
                if start > 0 {
                    buf.push_str("##");
                }
                buf.push_str(&word[start..end]);
                if let Some(&id) = self.pieces.get(buf.as_str()) {
                    found = Some(id);
                    break;
                }
                end -= 1;
            }
            match found {
                Some(id) => out.push(id),
                None => return false,
            }
            start = end;
        }
        true
    }
}

/// Scales `v` to unit length (a zero vector stays zero).
pub fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every asset is the file `assets/README.md` describes: its SHA-256 is the one recorded there.
    #[test]
    fn assets_match_their_recorded_checksums() {
        use sha2::{Digest, Sha256};
        let readme = include_str!("../../assets/README.md");
        let recorded = readme
            .split("## embeddings.bin")
            .nth(1)
            .and_then(|s| s.split("SHA-256: `").nth(1))
            .and_then(|s| s.split('`').next())
            .expect("assets/README.md records embeddings.bin's SHA-256");
        assert_eq!(hex::encode(Sha256::digest(TABLE)), recorded);
    }

    fn cos(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    fn s(text: &str) -> Vec<f32> {
        let words: Vec<String> = text.split_whitespace().map(str::to_owned).collect();
        shared().sentence(&words)
    }

    #[test]
    fn related_words_are_closer_than_unrelated_ones() {
        assert!(cos(&s("refund"), &s("reimbursement")) > cos(&s("refund"), &s("weather")));
        assert!(cos(&s("parcel"), &s("package")) > cos(&s("parcel"), &s("password")));
    }

    #[test]
    fn unknown_words_give_a_zero_vector() {
        assert!(s("").iter().all(|x| *x == 0.0));
        assert!(s("日本").iter().all(|x| *x == 0.0));
        let v = s("unbelievablyxq");
        let n: f32 = v.iter().map(|x| x * x).sum();
        assert!(
            n == 0.0 || (n - 1.0).abs() < 1e-3,
            "word-pieces cover most words: {n}"
        );
    }
}
