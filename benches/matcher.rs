//! Matcher benchmarks (criterion): `decide()` on the sample knowledge base and on a synthetic
//! 1,000-FAQ x 10-phrasing one (with percentiles for the sample's English, German and Spanish
//! messages), and building (loading + indexing + training) knowledge bases of
//! 1,000 and 10,000 FAQs. Also prints decide() latency percentiles over many messages, which
//! criterion's mean does not show. Run: `cargo bench --bench matcher`.

mod synthetic;

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use frontdesk::knowledge_base;
use frontdesk::matcher::{Matcher, Memory};

/// Messages per latency-percentile run.
const LATENCY_SAMPLES: usize = 20_000;

fn percentiles(name: &str, matcher: &Matcher, messages: &[String]) {
    synthetic::decide_percentiles(name, matcher, messages, LATENCY_SAMPLES);
}

fn bench(c: &mut Criterion) {
    // The spelling dictionaries load once per process (here, before any knowledge base).
    for language in ["en", "de", "es"] {
        let start = Instant::now();
        let bytes = frontdesk::matcher::dictionary_bytes(language).expect("shipped");
        println!(
            "dictionary [{language}]: {:.1} MB held, loaded in {:.0} ms",
            bytes as f64 / 1e6,
            start.elapsed().as_secs_f64() * 1e3
        );
    }
    let sample = knowledge_base::load(Path::new("knowledge_base"))
        .expect("the sample knowledge base loads")
        .kb;
    let sample_matcher = Matcher::build(sample).expect("builds");
    let sample_messages: Vec<String> = [
        "where is my parcel",
        "can I get my money back",
        "I forgot my password",
        "do you ship to canada",
        "hi there",
        "I want to talk to a human",
        "set an alarm for 7am",
        "THIS IS USELESS!!!",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();

    let big = synthetic::knowledge_base(1_000, 10);
    let big_matcher = Matcher::build(big).expect("builds");
    let big_messages = synthetic::messages(1_000);

    percentiles(
        "sample kb, 48 FAQs, model",
        &sample_matcher,
        &sample_messages,
    );
    // The same kind of messages in the sample knowledge base's other languages: the language is
    // chosen, then that language's matcher decides.
    let german: Vec<String> = [
        "wo ist mein Paket",
        "kann ich mein Geld zurückbekommen",
        "ich habe mein Passwort vergessen",
        "liefern Sie nach Kanada",
        "hallo",
        "ich möchte mit einem Menschen sprechen",
        "stell einen Wecker auf 7 Uhr",
        "DAS IST NUTZLOS!!!",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let spanish: Vec<String> = [
        "dónde está mi paquete",
        "me podéis devolver el dinero",
        "olvidé mi contraseña",
        "enviáis a Canadá",
        "hola",
        "quiero hablar con una persona",
        "pon una alarma a las 7",
        "¡¡ESTO NO SIRVE PARA NADA!!",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // Typed with ordinary slips (dropped, swapped and changed letters): the speller's path.
    let typos: Vec<String> = [
        "wher is my ordr",
        "how lnog does shiping take to germny",
        "i forgot my pasword",
        "my pakage never arived",
        "can i cancle my order",
        "where can i downlaod my invoce",
        "how do i unsubscrbe from the newsleter",
        "i recieved an email confirmaton but no order",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    percentiles("sample kb, typed with typos", &sample_matcher, &typos);
    percentiles("sample kb, German messages", &sample_matcher, &german);
    percentiles("sample kb, Spanish messages", &sample_matcher, &spanish);
    percentiles("synthetic 1,000 FAQs x 10", &big_matcher, &big_messages);

    let memory = Memory::default();
    c.bench_function("decide/sample_kb", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % sample_messages.len();
            black_box(sample_matcher.decide(&memory, &sample_messages[i]))
        })
    });
    c.bench_function("decide/1000_faqs_x_10", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % big_messages.len();
            black_box(big_matcher.decide(&memory, &big_messages[i]))
        })
    });

    let mut build = c.benchmark_group("build");
    build
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    let kb_1k = synthetic::knowledge_base(1_000, 10);
    build.bench_function("1000_faqs_x_10", |b| {
        b.iter(|| Matcher::build(kb_1k.clone()).expect("builds"))
    });
    let kb_10k = synthetic::knowledge_base(10_000, 10);
    build.bench_function("10000_faqs_x_10", |b| {
        b.iter(|| Matcher::build(kb_10k.clone()).expect("builds"))
    });
    build.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
