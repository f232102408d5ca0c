//! How well the frustration meter tells anger from calm, on public labelled data: GoEmotions
//! (Demszky et al. 2020, CC BY 4.0; `goemotions/data/test.tsv` of google-research/google-research:
//! `text<TAB>label ids<TAB>id`). Messages labelled anger (2) or annoyance (3) are angry; those
//! labelled only neutral (27) are calm; the rest are left out. Each message is the first of a
//! conversation with the sample knowledge base. Prints precision and recall of three reactions:
//! the meter moves at all, a person is offered at once, the conversation is handed off; and
//! decide()'s time per message.
//!
//!     cargo bench --bench frustration -- --goemotions path/to/test.tsv [--kb knowledge_base]

use std::path::Path;
use std::time::Instant;

use frontdesk::matcher::{Decision, HandoffReason, Matcher, Memory};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args
        .iter()
        .position(|a| a == "--goemotions")
        .and_then(|i| args.get(i + 1))
    else {
        eprintln!("usage: cargo bench --bench frustration -- --goemotions path/to/test.tsv");
        std::process::exit(2);
    };
    let data = std::fs::read_to_string(path).expect("the GoEmotions file reads");
    let mut cases: Vec<(String, bool)> = Vec::new();
    for line in data.lines() {
        let mut cols = line.split('\t');
        let (Some(text), Some(labels)) = (cols.next(), cols.next()) else {
            continue;
        };
        let labels: Vec<&str> = labels.split(',').collect();
        if labels.iter().any(|l| *l == "2" || *l == "3") {
            cases.push((text.to_owned(), true));
        } else if labels == ["27"] {
            cases.push((text.to_owned(), false));
        }
    }
    let kb_dir = args
        .iter()
        .position(|a| a == "--kb")
        .and_then(|i| args.get(i + 1))
        .map_or("knowledge_base", String::as_str);
    let kb = frontdesk::knowledge_base::load(Path::new(kb_dir))
        .expect("the sample knowledge base loads")
        .kb;
    let matcher = Matcher::build(kb).expect("the matcher builds");
    // (moved, offered, handed off) per case.
    let mut reactions = Vec::with_capacity(cases.len());
    let started = Instant::now();
    for (text, _) in &cases {
        let turn = matcher.decide(&Memory::default(), text);
        let handed_off = matches!(
            turn.decision,
            Decision::Handoff {
                reason: HandoffReason::Frustrated
            }
        );
        let offered = handed_off
            || matches!(
                turn.decision,
                Decision::Answer {
                    offer_human: true,
                    ..
                } | Decision::Fallback { offer_human: true }
            );
        reactions.push((turn.explanation.frustration > 0.0, offered, handed_off));
    }
    let per_message = started.elapsed() / cases.len().max(1) as u32;
    let angry = cases.iter().filter(|c| c.1).count();
    println!(
        "{} messages: {angry} angry or annoyed, {} neutral; decide() {per_message:?} per message",
        cases.len(),
        cases.len() - angry
    );
    println!("| reaction | precision | recall | fired on angry | fired on neutral |");
    println!("|---|---|---|---|---|");
    for (name, pick) in [
        ("the meter moves", 0),
        ("a person is offered at once", 1),
        ("handed off", 2),
    ] {
        let fired = |want: bool| {
            cases
                .iter()
                .zip(&reactions)
                .filter(|((_, angry), r)| *angry == want && [r.0, r.1, r.2][pick])
                .count()
        };
        let (tp, fp) = (fired(true), fired(false));
        println!(
            "| {name} | {:.3} | {:.3} | {tp} | {fp} |",
            tp as f64 / (tp + fp).max(1) as f64,
            tp as f64 / angry.max(1) as f64
        );
    }
}
