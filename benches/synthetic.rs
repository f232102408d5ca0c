//! A deterministic synthetic knowledge base of any size for the benchmarks: each FAQ gets a few
//! topic words and phrasings built from everyday customer-service sentence frames, so the index
//! and the model see realistic term statistics. No I/O, no randomness beyond a fixed LCG.

use frontdesk::knowledge_base::{Faq, FaqId, KnowledgeBase};

const FRAMES: &[&str] = &[
    "how do I {a} my {b}",
    "can I {a} the {b} {c}",
    "where is my {b} {c}",
    "I want to {a} a {b}",
    "what is your {b} {c} policy",
    "is it possible to {a} {c} {b}",
    "my {b} has a problem with {c}",
    "help me {a} the {c}",
    "when will the {b} {a}",
    "do you {a} {c} {b} for customers",
    "question about {b} and {c}",
    "why can't I {a} my {c}",
];
const VERBS: &[&str] = &[
    "cancel", "change", "track", "return", "refund", "ship", "update", "order", "pay", "reset",
    "delete", "exchange", "deliver", "collect", "register", "upgrade", "renew", "book", "repair",
    "replace", "confirm", "transfer", "download", "activate", "redeem",
];
const NOUNS: &[&str] = &[
    "order",
    "parcel",
    "account",
    "password",
    "invoice",
    "card",
    "address",
    "subscription",
    "voucher",
    "warranty",
    "battery",
    "sofa",
    "lamp",
    "jacket",
    "ticket",
    "booking",
    "membership",
    "laptop",
    "phone",
    "bike",
    "mattress",
    "table",
    "camera",
    "printer",
    "blender",
    "kettle",
    "towel",
    "curtain",
    "rug",
    "mirror",
    "shelf",
    "desk",
    "chair",
    "pillow",
    "blanket",
    "vase",
    "candle",
    "plant",
    "stroller",
    "helmet",
    "tent",
    "backpack",
    "watch",
    "ring",
    "necklace",
    "perfume",
    "shampoo",
    "coffee",
    "tea",
    "wine",
    "cheese",
    "bread",
    "pasta",
    "sauce",
];
const QUALIFIERS: &[&str] = &[
    "online",
    "today",
    "express",
    "international",
    "broken",
    "missing",
    "late",
    "new",
    "old",
    "gift",
    "premium",
    "free",
    "extra",
    "large",
    "small",
    "wrong",
    "damaged",
    "second",
    "monthly",
    "yearly",
    "student",
    "family",
    "business",
    "digital",
    "physical",
];

struct Lcg(u64);

impl Lcg {
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        items[((self.0 >> 33) as usize) % items.len()]
    }
}

/// `faqs` FAQs with `phrasings` phrasings each.
pub fn knowledge_base(faqs: usize, phrasings: usize) -> KnowledgeBase {
    let mut rng = Lcg(42);
    let faqs = (0..faqs)
        .map(|i| {
            let (a, b, c) = (rng.pick(VERBS), rng.pick(NOUNS), rng.pick(QUALIFIERS));
            let code = format!("model{i}");
            let questions = (0..phrasings)
                .map(|_| {
                    let frame = rng.pick(FRAMES);
                    let filled = frame.replace("{a}", a).replace("{b}", b).replace("{c}", c);
                    format!("{filled} {code}")
                })
                .collect();
            Faq {
                id: FaqId::parse(&format!("faq-{i}")).expect("invariant: ascii id"),
                title: format!("{a} {c} {b} {code}"),
                questions,
                tags: vec![],
                handoff: None,
                related: vec![],
                answer_html: "<p>Answer.</p>".into(),
                answer_text: format!("To {a} your {c} {b} {code}, open your account."),
                file: format!("faq/faq-{i}.md").into(),
                untranslated: false,
            }
        })
        .collect();
    KnowledgeBase {
        faqs,
        ..KnowledgeBase::default()
    }
}

/// Messages to decide on: phrasings' frames with the topic words of some FAQ, plus noise.
#[allow(dead_code)] // Used by `matcher.rs`, not by `scale.rs`.
pub fn messages(count: usize) -> Vec<String> {
    messages_over(count, 1_000)
}

/// `messages`, naming FAQs among the first `faqs`.
pub fn messages_over(count: usize, faqs: usize) -> Vec<String> {
    let mut rng = Lcg(7);
    (0..count)
        .map(|i| {
            let frame = rng.pick(FRAMES);
            let msg = frame
                .replace("{a}", rng.pick(VERBS))
                .replace("{b}", rng.pick(NOUNS))
                .replace("{c}", rng.pick(QUALIFIERS));
            if i % 3 == 0 {
                format!("{msg} model{}", i % faqs)
            } else {
                msg
            }
        })
        .collect()
}

/// Times `decide()` on each of `messages` (cycled to `samples`) after a warm-up, and prints the
/// latency percentiles criterion's mean does not show.
pub fn decide_percentiles(
    name: &str,
    matcher: &frontdesk::matcher::Matcher,
    messages: &[String],
    samples: usize,
) {
    use std::hint::black_box;
    use std::time::Instant;
    let memory = frontdesk::matcher::Memory::default();
    // Warm up caches and the lazily parsed embedding table.
    for m in messages.iter().take(500) {
        black_box(matcher.decide(&memory, m));
    }
    let mut micros: Vec<f64> = messages
        .iter()
        .cycle()
        .take(samples)
        .map(|m| {
            let start = Instant::now();
            black_box(matcher.decide(&memory, m));
            start.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    micros.sort_by(f64::total_cmp);
    let p = |q: f64| frontdesk::eval::percentile(&micros, q);
    println!(
        "decide latency [{name}]: p50 {:.1} us, p90 {:.1} us, p99 {:.1} us, max {:.1} us ({} messages)",
        p(0.5),
        p(0.9),
        p(0.99),
        micros.last().copied().unwrap_or(0.0),
        micros.len()
    );
}
