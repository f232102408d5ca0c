//! FAQ retrieval: a RAM tantivy index with one document per phrasing (titles count as phrasings).
//! Documents hold the already-normalised content terms (whitespace tokenised; the matcher leaves
//! function words out), plus adjacent-term pairs in a second field so that word order counts a
//! little. BM25 ranks phrasings; the matcher groups them
//! by FAQ.
//!
//! One searcher for the life of the index: the knowledge base is immutable once built, and a new
//! one gets a new index (swapped atomically above this module).

use tantivy::collector::TopDocs;
use tantivy::columnar::Column;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{FAST, Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions};
use tantivy::{Index, IndexWriter, Searcher, TantivyDocument, Term};

/// Indexing memory for the single writer thread (tantivy's per-thread minimum is 15 MB).
const WRITER_MEMORY_BYTES: usize = 20_000_000;
/// How much a matching pair of adjacent terms counts next to a single term.
const PAIR_BOOST: f32 = 0.5;

/// The retrieval index over all phrasings.
pub struct FaqIndex {
    searcher: Searcher,
    terms: Field,
    pairs: Field,
    /// Per segment: doc id -> phrasing number.
    phrasing_of: Vec<Column<u64>>,
}

impl FaqIndex {
    /// Indexes `phrasings` (each as its terms); a hit's number is its position in this slice.
    pub fn build(phrasings: &[Vec<String>]) -> tantivy::Result<FaqIndex> {
        let mut schema = Schema::builder();
        let text = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer("whitespace")
                .set_index_option(IndexRecordOption::WithFreqs),
        );
        let terms = schema.add_text_field("terms", text.clone());
        let pairs = schema.add_text_field("pairs", text);
        let number = schema.add_u64_field("phrasing", FAST);
        let index = Index::create_in_ram(schema.build());
        // One thread: a deterministic layout, and short documents index fast anyway.
        let mut writer: IndexWriter = index.writer_with_num_threads(1, WRITER_MEMORY_BYTES)?;
        for (i, t) in phrasings.iter().enumerate() {
            let mut doc = TantivyDocument::default();
            doc.add_text(terms, t.join(" "));
            doc.add_text(pairs, pair_terms(t).join(" "));
            doc.add_u64(number, i as u64);
            writer.add_document(doc)?;
        }
        writer.commit()?;
        let searcher = index.reader()?.searcher();
        let phrasing_of = searcher
            .segment_readers()
            .iter()
            .map(|s| s.fast_fields().u64("phrasing"))
            .collect::<tantivy::Result<Vec<_>>>()?;
        Ok(FaqIndex {
            searcher,
            terms,
            pairs,
            phrasing_of,
        })
    }

    /// The best `limit` phrasings for `terms`, as (phrasing number, BM25 score), best first.
    pub fn search(&self, terms: &[String], limit: usize) -> Vec<(u32, f32)> {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        for t in terms {
            if !seen.contains(&t.as_str()) {
                seen.push(t);
                clauses.push((Occur::Should, Box::new(term_query(self.terms, t))));
            }
        }
        for p in pair_terms(terms) {
            let q = BoostQuery::new(Box::new(term_query(self.pairs, &p)), PAIR_BOOST);
            clauses.push((Occur::Should, Box::new(q)));
        }
        if clauses.is_empty() || limit == 0 {
            return Vec::new();
        }
        let query = BooleanQuery::new(clauses);
        let top = TopDocs::with_limit(limit).order_by_score();
        // A search over a RAM index of plain term queries has no I/O to fail on; an error here
        // would be a tantivy bug, and "no match" is the safe answer to it.
        let hits = self.searcher.search(&query, &top).unwrap_or_default();
        hits.into_iter()
            .filter_map(|(score, addr)| {
                let n = self.phrasing_of[addr.segment_ord as usize].first(addr.doc_id)?;
                Some((n as u32, score))
            })
            .collect()
    }
}

fn term_query(field: Field, text: &str) -> TermQuery {
    TermQuery::new(
        Term::from_field_text(field, text),
        IndexRecordOption::WithFreqs,
    )
}

/// Adjacent term pairs, as single tokens ("track" "order" -> "track_order").
pub(crate) fn pair_terms(terms: &[String]) -> Vec<String> {
    terms
        .windows(2)
        .map(|w| format!("{}_{}", w[0], w[1]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn the_closest_phrasing_ranks_first() {
        let index = FaqIndex::build(&[
            terms("track my order"),
            terms("cancel my order"),
            terms("reset password"),
        ])
        .unwrap();
        let hits = index.search(&terms("cancel order"), 3);
        assert_eq!(hits[0].0, 1);
        assert!(index.search(&terms("weather"), 3).is_empty());
        assert!(index.search(&[], 3).is_empty());
    }
}
