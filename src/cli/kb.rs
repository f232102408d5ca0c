//! The knowledge-base commands: `kb check`, `kb test`, `kb tune`, `kb import` and `eval`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use crate::knowledge_base::{self, KnowledgeBase, Problem};
use crate::matcher::Matcher;
use crate::{eval, kb_test};

/// Loads a knowledge base, printing its problems; `None` if it has errors.
pub(super) fn load_reporting(dir: &Path) -> Option<KnowledgeBase> {
    match knowledge_base::load(dir) {
        Ok(loaded) => {
            print_problems(dir, &loaded.warnings);
            Some(loaded.kb)
        }
        Err(errors) => {
            print_problems(dir, &errors.problems);
            None
        }
    }
}

pub(super) fn print_problems(dir: &Path, problems: &[Problem]) {
    for p in problems {
        let mut located = p.clone();
        located.file = dir.join(&p.file);
        eprintln!("{located}");
    }
}

pub(super) fn check(dir: &Path) -> anyhow::Result<ExitCode> {
    let Some(kb) = load_reporting(dir) else {
        eprintln!("{}: knowledge base has errors", dir.display());
        return Ok(ExitCode::from(1));
    };
    let faqs = kb.faqs.len();
    let phrasings: usize = kb.faqs.iter().map(|f| f.questions.len()).sum();
    let rules = kb.rules.rules.len();
    let cases = match kb_test::load_cases(dir, &kb) {
        Ok(cases) => cases,
        Err(problems) => {
            print_problems(dir, &problems);
            eprintln!("{}: test cases have errors", dir.display());
            return Ok(ExitCode::from(1));
        }
    };
    if let Some(why) = crate::kb_tune::too_few(&cases) {
        eprintln!("warning: tests: {why}");
    }
    let cases = cases.len();
    let matcher = Matcher::build(kb)?;
    let overlaps = kb_test::overlaps(&matcher);
    for (faq, phrasing, other) in &overlaps {
        eprintln!(
            "warning: faq `{faq}`: phrasing \"{phrasing}\" lands on faq `{other}`: reword it or merge the two FAQs"
        );
    }
    println!(
        "{}: ok: {faqs} FAQs, {phrasings} phrasings, {rules} rules, {cases} test cases, {} overlap warning(s)",
        dir.display(),
        overlaps.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// The knowledge base in `dir` and its test cases, or `None` once their problems are printed.
fn load_with_cases(dir: &Path) -> Option<(KnowledgeBase, Vec<kb_test::Case>)> {
    let kb = load_reporting(dir)?;
    match kb_test::load_cases(dir, &kb) {
        Ok(cases) => Some((kb, cases)),
        Err(problems) => {
            print_problems(dir, &problems);
            None
        }
    }
}

pub(super) fn tune(dir: &Path, write: bool, json: bool) -> anyhow::Result<ExitCode> {
    let Some((kb, cases)) = load_with_cases(dir) else {
        return Ok(ExitCode::from(1));
    };
    if let Some(why) = crate::kb_tune::too_few(&cases) {
        eprintln!("{}: {why}", dir.display());
        return Ok(ExitCode::from(2));
    }
    let t = crate::kb_tune::tune(kb, &cases)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&t)?);
    } else {
        println!(
            "{} in-scope and {} off-topic test cases\n\nanswer_confidence  in-scope right  off-topic declined",
            t.in_scope, t.off_topic
        );
        let row = |p: &crate::kb_tune::Point, note: &str| {
            println!(
                "{:>17.2}  {:>14.3}  {:>18.3}{note}",
                p.answer_confidence, p.in_scope_right, p.off_topic_declined
            );
        };
        for p in t.curve.iter().step_by(5) {
            row(p, "");
        }
        println!();
        row(&t.current, "   <- now");
        row(&t.chosen, "   <- chosen");
        if !t.meets_decline_target {
            println!(
                "no threshold declines {:.0}% of the off-topic cases: the chosen one balances the two",
                crate::kb_tune::DECLINE_TARGET * 100.0
            );
        }
    }
    if write {
        crate::kb_tune::write(dir, &t.chosen)?;
        eprintln!(
            "wrote answer_confidence = {:.2}, clarify_confidence = {:.2} to {}",
            t.chosen.answer_confidence,
            t.chosen.clarify_confidence,
            dir.join("rules.toml").display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn test(dir: &Path, json: bool, exact: bool) -> anyhow::Result<ExitCode> {
    let Some((kb, cases)) = load_with_cases(dir) else {
        return Ok(ExitCode::from(1));
    };
    // The phrasings of each language, held out in turn and found by that language's matcher.
    let suite = kb_test::suite(&kb, &cases, exact)?;
    let reports: Vec<(String, kb_test::SelfTest)> = suite
        .phrasings
        .iter()
        .map(|p| (p.language.clone(), p.test.clone()))
        .collect();
    let several = reports.len() > 1;
    let case_report = suite.cases;
    let passed = suite.passed;
    if json {
        let phrasings: serde_json::Map<String, serde_json::Value> = reports
            .iter()
            .map(|(code, r)| Ok((code.clone(), serde_json::to_value(r)?)))
            .collect::<anyhow::Result<_>>()?;
        let both = serde_json::json!({"phrasings": phrasings, "cases": case_report});
        println!("{}", serde_json::to_string_pretty(&both)?);
    } else {
        for (i, (code, report)) in reports.iter().enumerate() {
            if i > 0 {
                println!(
                    "hint: {}/{} `{code}` phrasings find their FAQ when held out ({}); `kb test \
                     --json` lists the others: FAQs that want more `{code}` phrasings",
                    report.found, report.phrasings, report.method
                );
                continue;
            }
            for m in &report.misses {
                println!(
                    "MISS {}: \"{}\" -> {}\n     {}",
                    m.faq, m.phrasing, m.outcome, m.explanation
                );
            }
            if !report.confusions.is_empty() {
                println!("confusions (expected -> answered):");
                for (pair, n) in &report.confusions {
                    println!("  {n:>3}  {pair}");
                }
            }
            println!(
                "{}: {}/{} {}phrasings find their FAQ ({})",
                if report.passed() { "PASS" } else { "FAIL" },
                report.found,
                report.phrasings,
                if several {
                    format!("`{code}` ")
                } else {
                    String::new()
                },
                report.method
            );
        }
        for m in &case_report.misses {
            println!(
                "MISS {}:{}: \"{}\" -> {} (expected {})\n     {}",
                m.file, m.line, m.text, m.got, m.expected, m.explanation
            );
        }
        for m in &case_report.known_misses {
            println!(
                "known miss (todo) {}:{}: \"{}\" -> {} (expected {})",
                m.file, m.line, m.text, m.got, m.expected
            );
        }
        for m in &case_report.now_passing {
            println!(
                "now passes: {}:{}: \"{}\": remove its `todo:`",
                m.file, m.line, m.text
            );
        }
        for (file, (ok, n)) in &case_report.per_file {
            println!("  {ok:>3}/{n:<3} {file}");
        }
        println!(
            "{}: {}/{} test cases (tests/*.csv) get what they expect",
            if case_report.misses.is_empty() {
                "PASS"
            } else {
                "FAIL"
            },
            case_report.passed,
            case_report.cases
        );
    }
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub(super) fn import(csv: &Path, out: &Path, per_label: Option<usize>) -> anyhow::Result<ExitCode> {
    let rows = knowledge_base::import::read_labelled_csv(csv)?;
    let imported = knowledge_base::import::import(&rows, out, per_label)?;
    println!(
        "wrote {} FAQs with {} phrasings to {}",
        imported.faqs,
        imported.phrasings,
        out.join("faq").display()
    );
    if imported.off_topic > 0 {
        println!(
            "wrote {} off-topic rows (label `oos`) as `fallback` cases to {} (for `kb tune`)",
            imported.off_topic,
            out.join("tests/off-topic.csv").display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn run_eval(
    kb_dir: &Path,
    cases: &Path,
    json: bool,
    details: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let kb = knowledge_base::load(kb_dir)
        .with_context(|| format!("loading {}", kb_dir.display()))?
        .kb;
    let rows = knowledge_base::import::read_labelled_csv(cases)?;
    let matcher = Matcher::build(kb)?;
    let mut lines = String::new();
    let report = eval::evaluate_with(&matcher, &rows, |detail| {
        if details.is_some() {
            // Serialising plain data structures cannot fail.
            lines.push_str(&serde_json::to_string(&detail).unwrap_or_default());
            lines.push('\n');
        }
    });
    if let Some(path) = details {
        std::fs::write(path, lines).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{report}");
    }
    Ok(ExitCode::SUCCESS)
}
