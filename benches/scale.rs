//! The matcher at ten times the scale of `matcher.rs`: `decide()` latency percentiles with
//! 10,000 FAQs x 10 phrasings, and loading (Markdown files on disk) plus building 100,000 FAQs
//! x 10 phrasings, with the time each took and the process's peak resident memory. Run:
//! `cargo bench --bench scale` (`-- --faqs N` for another size of the big one).

mod common;
mod synthetic;

use std::hint::black_box;
use std::time::Instant;

use frontdesk::knowledge_base;
use frontdesk::matcher::{Matcher, Memory};

/// Messages per latency-percentile run.
const LATENCY_SAMPLES: usize = 20_000;

/// A line of `/proc/self/status` (`VmRSS`, `VmHWM`) in MiB.
fn memory_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn decide_percentiles(faqs: usize) {
    let matcher = Matcher::build(synthetic::knowledge_base(faqs, 10)).expect("builds");
    let messages = synthetic::messages_over(LATENCY_SAMPLES, faqs);
    let name = format!("synthetic {faqs} FAQs x 10");
    synthetic::decide_percentiles(&name, &matcher, &messages, LATENCY_SAMPLES);
}

/// Writes `faqs` FAQs as Markdown files, then loads and builds them as the server does.
fn load_and_build(faqs: usize) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let kb = synthetic::knowledge_base(faqs, 10);
    let folder = dir.path().join("faq");
    std::fs::create_dir_all(&folder).expect("a folder");
    for faq in &kb.faqs {
        let questions: Vec<String> = faq.questions.iter().map(|q| format!("  {q:?},")).collect();
        let file = format!(
            "+++\nid = {:?}\ntitle = {:?}\nquestions = [\n{}\n]\n+++\n{}\n",
            faq.id.as_str(),
            faq.title,
            questions.join("\n"),
            faq.answer_text
        );
        std::fs::write(folder.join(format!("{}.md", faq.id.as_str())), file).expect("written");
    }
    drop(kb);
    let before = memory_mib("VmRSS");
    let start = Instant::now();
    let loaded = knowledge_base::load(dir.path()).expect("the knowledge base loads");
    let load = start.elapsed();
    let matcher = Matcher::build(loaded.kb).expect("builds");
    let total = start.elapsed();
    println!(
        "load + build [{faqs} FAQs x 10 from Markdown]: load {:.1} s, build {:.1} s, total {:.1} s; \
         resident {before:.0} MiB before, {:.0} MiB after, peak {:.0} MiB",
        load.as_secs_f64(),
        (total - load).as_secs_f64(),
        total.as_secs_f64(),
        memory_mib("VmRSS"),
        memory_mib("VmHWM"),
    );
    let memory = Memory::default();
    let message = synthetic::messages_over(1, faqs).remove(0);
    black_box(matcher.decide(&memory, &message));
}

fn main() {
    let big: usize = common::arg("--faqs").map_or(100_000, |n| n.parse().expect("--faqs N"));
    decide_percentiles(1_000);
    decide_percentiles(10_000);
    load_and_build(big);
}
