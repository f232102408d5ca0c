//! Talking to the bot from a terminal: `ask` (messages as arguments, with the decision and its
//! explanation) and `chat` (a conversation on standard input).

use std::path::Path;
use std::process::ExitCode;

use super::kb::load_reporting;
use crate::conversation::{FALLBACK_OFFER_TEXT, FALLBACK_TEXT, clarify_text};
use crate::matcher::{Decision, Matcher, Memory, Source};

pub(super) fn ask(kb_dir: &Path, messages: &[String]) -> anyhow::Result<ExitCode> {
    let Some(kb) = load_reporting(kb_dir) else {
        return Ok(ExitCode::from(1));
    };
    let matcher = Matcher::build(kb)?;
    let mut memory = Memory::default();
    for message in messages {
        let turn = matcher.decide(&memory, message);
        println!("> {message}");
        println!("  {}", serde_json::to_string(&turn.decision)?);
        println!("  {}", turn.explanation.summary());
        memory = turn.memory;
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn chat(kb_dir: &Path, explain: bool) -> anyhow::Result<ExitCode> {
    use std::io::BufRead;

    let Some(kb) = load_reporting(kb_dir) else {
        return Ok(ExitCode::from(1));
    };
    let matcher = Matcher::build(kb)?;
    let kb = matcher.knowledge_base();
    let title =
        |id: &crate::knowledge_base::FaqId| kb.faq(id).map_or(id.to_string(), |f| f.title.clone());
    println!(
        "frontdesk: chatting with the bot on {} ({} FAQs). Type a message; Ctrl-D ends.",
        kb_dir.display(),
        kb.faqs.len()
    );
    let mut memory = Memory::default();
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let turn = matcher.decide(&memory, &line);
        memory = turn.memory;
        let (text, options): (String, &[crate::knowledge_base::FaqId]) = match &turn.decision {
            Decision::Answer {
                source: Source::Faq(id),
                options,
                offer_human,
            } => {
                let faq = kb
                    .faq(id)
                    .expect("invariant: decisions name FAQs of this knowledge base");
                let offer = if *offer_human {
                    "\n(Would you like to talk to a person?)"
                } else {
                    ""
                };
                (format!("{}{offer}", faq.answer_text), options)
            }
            Decision::Answer {
                source: Source::Rule(id),
                options,
                ..
            } => {
                let rule = kb
                    .rules
                    .rules
                    .iter()
                    .find(|r| &r.id == id)
                    .expect("invariant: decisions name rules of this knowledge base");
                (rule.reply_text.clone(), options)
            }
            Decision::Clarify { options, .. } => (clarify_text(options.len()).into(), options),
            Decision::Fallback { offer_human } => {
                let text = if *offer_human {
                    FALLBACK_OFFER_TEXT
                } else {
                    FALLBACK_TEXT
                };
                (text.into(), &[])
            }
            Decision::Handoff { reason } => (
                format!(
                    "I'm passing you to a person ({reason:?}); in the web chat an agent takes over here."
                ),
                &[],
            ),
        };
        println!("bot: {text}");
        for (i, id) in options.iter().enumerate() {
            println!("     {}. {}", i + 1, title(id));
        }
        if explain {
            println!("     [{}]", turn.explanation.summary());
        }
    }
    Ok(ExitCode::SUCCESS)
}
