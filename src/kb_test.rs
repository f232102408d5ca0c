//! `frontdesk kb test` and the overlap warnings of `kb check`: does every phrasing still find its
//! FAQ when it is not in the index itself, and do the editors' test cases (`tests/*.csv`,
//! messages as customers type them) get what they expect?
//!
//! Each phrasing is held out of the knowledge base, the matcher is rebuilt without it, and the
//! phrasing must find its own FAQ: answered with it, or offered it as the first option to choose. Knowledge bases with more than `MAX_LEAVE_ONE_OUT`
//! phrasings are tested in `FOLDS` folds instead (each phrasing held out with a tenth of the
//! others), so the test stays seconds long.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::knowledge_base::{FaqId, KnowledgeBase, Problem};
use crate::matcher::{Decision, Matcher, Memory, Source};

const MAX_LEAVE_ONE_OUT: usize = 100;
const FOLDS: usize = 10;

/// A phrasing that did not find its FAQ.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Miss {
    #[schema(value_type = String)]
    pub faq: FaqId,
    pub phrasing: String,
    /// What the matcher did instead, as a test case's `expect` names it: "other-faq",
    /// "clarify (a | b)", "fallback", "handoff (...)".
    pub outcome: String,
    pub explanation: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SelfTest {
    pub phrasings: usize,
    pub found: usize,
    /// "leave-one-out" or "10-fold".
    pub method: String,
    pub misses: Vec<Miss>,
    /// (expected FAQ, answered FAQ) -> count, for the confusions that happened.
    pub confusions: BTreeMap<String, usize>,
}

impl SelfTest {
    pub fn passed(&self) -> bool {
        self.misses.is_empty()
    }

    /// Counts what the matcher did with `phrasing` of `faq`, held out: found, or a miss (and a
    /// confusion when another FAQ answered).
    fn tally(&mut self, faq: &FaqId, phrasing: &str, turn: &crate::matcher::Turn) {
        if finds(&turn.decision, faq) {
            self.found += 1;
            return;
        }
        if let Decision::Answer {
            source: Source::Faq(other),
            ..
        } = &turn.decision
        {
            *self
                .confusions
                .entry(format!("{faq} -> {other}"))
                .or_default() += 1;
        }
        self.misses.push(Miss {
            faq: faq.clone(),
            phrasing: phrasing.to_owned(),
            outcome: outcome(&turn.decision),
            explanation: turn.explanation.summary(),
        });
    }
}

/// The phrasings of `kb`'s own language (not the default language's FAQs a translation lacks)
/// in `folds` groups: each group with the knowledge base it is held out of. `folds` is
/// leave-one-out when `exact` or the base is small, else `FOLDS`; also returns how many.
pub(crate) fn held_out(
    kb: &KnowledgeBase,
    exact: bool,
) -> (
    usize,
    impl Iterator<Item = (KnowledgeBase, Vec<(usize, usize)>)> + '_,
) {
    let all: Vec<(usize, usize)> = kb
        .faqs
        .iter()
        .enumerate()
        .filter(|(_, faq)| !faq.untranslated)
        .flat_map(|(f, faq)| (0..faq.questions.len()).map(move |q| (f, q)))
        .collect();
    let folds = if exact || all.len() <= MAX_LEAVE_ONE_OUT {
        all.len()
    } else {
        FOLDS
    };
    let groups = (0..folds).map(move |fold| {
        let held: Vec<(usize, usize)> = all
            .iter()
            .enumerate()
            .filter(|(i, _)| i % folds == fold)
            .map(|(_, p)| *p)
            .collect();
        let mut reduced = kb.clone();
        reduced.translations.clear();
        for (f, faq) in reduced.faqs.iter_mut().enumerate() {
            let mut q = 0;
            faq.questions.retain(|_| {
                let keep = !held.contains(&(f, q));
                q += 1;
                keep
            });
        }
        (reduced, held)
    });
    (folds, groups)
}

/// Whether `decision` finds `faq`: answers it or offers it first.
pub(crate) fn finds(decision: &Decision, faq: &FaqId) -> bool {
    decision.answered_faq() == Some(faq)
        || matches!(decision, Decision::Clarify { options, .. } if options.first() == Some(faq))
}

/// Runs the self-test; `exact` forces leave-one-out whatever the size (slow on large bases).
pub fn self_test(kb: &KnowledgeBase, exact: bool) -> anyhow::Result<SelfTest> {
    let (folds, groups) = held_out(kb, exact);
    let mut result = SelfTest {
        phrasings: 0,
        found: 0,
        method: String::new(),
        misses: Vec::new(),
        confusions: BTreeMap::new(),
    };
    for (reduced, held) in groups {
        let matcher = Matcher::build(reduced)?;
        for (f, q) in held {
            result.phrasings += 1;
            let faq = &kb.faqs[f];
            let phrasing = &faq.questions[q];
            let turn = matcher.decide(&Memory::default(), phrasing);
            result.tally(&faq.id, phrasing, &turn);
        }
    }
    result.method = if folds == result.phrasings {
        "leave-one-out".into()
    } else {
        format!("{folds}-fold")
    };
    result
        .misses
        .sort_by(|a, b| a.faq.cmp(&b.faq).then(a.phrasing.cmp(&b.phrasing)));
    Ok(result)
}

/// The self-test of one FAQ: each of its phrasings held out alone (leave-one-out), the others
/// and every other FAQ indexed. What an editor's change to that FAQ did, in a second.
pub fn self_test_faq(kb: &KnowledgeBase, id: &FaqId) -> anyhow::Result<SelfTest> {
    let mut result = SelfTest {
        phrasings: 0,
        found: 0,
        method: "leave-one-out".into(),
        misses: Vec::new(),
        confusions: BTreeMap::new(),
    };
    let Some(f) = kb.faqs.iter().position(|faq| &faq.id == id) else {
        return Ok(result);
    };
    let faq = &kb.faqs[f];
    for (q, phrasing) in faq.questions.iter().enumerate() {
        let mut reduced = kb.clone();
        reduced.translations.clear();
        reduced.faqs[f].questions.remove(q);
        let turn = Matcher::build(reduced)?.decide(&Memory::default(), phrasing);
        result.phrasings += 1;
        result.tally(id, phrasing, &turn);
    }
    Ok(result)
}

/// The whole editors' suite, as `frontdesk kb test` runs it: every language's phrasings held
/// out, and the test cases.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Suite {
    /// Per language (the default first): its phrasings' self-test.
    pub phrasings: Vec<LanguageSelfTest>,
    pub cases: CaseReport,
    /// The default language's phrasings all find their FAQ and no case fails (a translation's
    /// few phrasings are a hint, not a gate).
    pub passed: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LanguageSelfTest {
    pub language: String,
    #[serde(flatten)]
    pub test: SelfTest,
}

/// Runs the suite on `kb` (with its test cases).
pub fn suite(kb: &KnowledgeBase, cases: &[Case], exact: bool) -> anyhow::Result<Suite> {
    let mut phrasings = Vec::new();
    for language in std::iter::once(kb).chain(&kb.translations) {
        phrasings.push(LanguageSelfTest {
            language: language.language().to_owned(),
            test: self_test(language, exact)?,
        });
    }
    let cases = run_cases(&Matcher::build(kb.clone())?, cases);
    let passed = phrasings[0].test.passed() && cases.misses.is_empty();
    Ok(Suite {
        phrasings,
        cases,
        passed,
    })
}

/// Phrasings that, with everything indexed, score best for another FAQ: the two FAQs overlap.
pub fn overlaps(matcher: &Matcher) -> Vec<(FaqId, String, FaqId)> {
    let mut out = Vec::new();
    for faq in &matcher.knowledge_base().faqs {
        for q in &faq.questions {
            let turn = matcher.decide(&Memory::default(), q);
            if let Some(top) = turn.explanation.candidates.first()
                && turn.explanation.rule.is_none()
                && top.faq != faq.id
            {
                out.push((faq.id.clone(), q.clone(), top.faq.clone()));
            }
        }
    }
    out
}

/// What an editor's test case expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    Faq(FaqId),
    /// `rule:<id>`: a reply rule answers.
    Rule(FaqId),
    Handoff,
    Fallback,
    Clarify,
}

/// One line of `knowledge_base/tests/*.csv`: a message as customers type it, and what the bot
/// must do with it (any of `expect`, written `a|b`). A `todo:` case is a known miss: reported,
/// not failed, until it passes.
#[derive(Debug, Clone)]
pub struct Case {
    /// The file, relative to the knowledge base.
    pub file: PathBuf,
    pub line: usize,
    pub text: String,
    pub expect: Vec<Expect>,
    pub todo: bool,
}

#[derive(Deserialize)]
struct CaseRow {
    text: String,
    expect: String,
}

/// The editors' test cases in `dir/tests/*.csv` (`text,expect`), each checked against `kb`:
/// `expect` names an FAQ, `rule:<id>`, `handoff`, `fallback` or `clarify`. Every problem names
/// its file, line and field.
pub fn load_cases(dir: &Path, kb: &KnowledgeBase) -> Result<Vec<Case>, Vec<Problem>> {
    let Ok(entries) = std::fs::read_dir(dir.join("tests")) else {
        return Ok(Vec::new());
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    let mut problems = Vec::new();
    for path in files {
        let shown = Path::new("tests").join(path.file_name().unwrap_or_default());
        let mut reader = match csv::Reader::from_path(&path) {
            Ok(r) => r,
            Err(e) => {
                problems.push(Problem::error(&shown, format!("cannot read: {e}")));
                continue;
            }
        };
        let headers = reader.headers().cloned().unwrap_or_default();
        for record in reader.records() {
            let row = record.and_then(|r| {
                let line = r.position().map_or(0, |p| p.line() as usize);
                r.deserialize::<CaseRow>(Some(&headers))
                    .map(|row| (line, row))
            });
            let (line, row) = match row {
                Ok(row) => row,
                Err(e) => {
                    let line = e.position().map(|p| p.line() as usize);
                    problems.push(
                        Problem::error(&shown, format!("not a `text,expect` row: {e}"))
                            .at(line, None),
                    );
                    continue;
                }
            };
            let (todo, wanted) = match row.expect.trim().strip_prefix("todo:") {
                Some(rest) => (true, rest),
                None => (false, row.expect.as_str()),
            };
            match wanted.split('|').map(|e| expectation(e, kb)).collect() {
                Ok(expect) => cases.push(Case {
                    file: shown.clone(),
                    line,
                    text: row.text,
                    expect,
                    todo,
                }),
                Err(message) => {
                    problems.push(Problem::error(&shown, message).at(Some(line), Some("expect")))
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(cases)
    } else {
        Err(problems)
    }
}

fn expectation(raw: &str, kb: &KnowledgeBase) -> Result<Expect, String> {
    let raw = raw.trim();
    Ok(match raw {
        "handoff" => Expect::Handoff,
        "fallback" => Expect::Fallback,
        "clarify" => Expect::Clarify,
        _ if let Some(rule) = raw.strip_prefix("rule:") => {
            match kb.rules.rules.iter().find(|r| r.id.as_str() == rule) {
                Some(r) => Expect::Rule(r.id.clone()),
                None => return Err(format!("no rule `{rule}` in rules.toml")),
            }
        }
        _ => match kb.faqs.iter().find(|f| f.id.as_str() == raw) {
            Some(f) => Expect::Faq(f.id.clone()),
            None => {
                return Err(format!(
                    "`{raw}` is not an FAQ id, `rule:<id>`, `handoff`, `fallback` or `clarify`"
                ));
            }
        },
    })
}

/// A case the bot got wrong.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CaseMiss {
    pub file: String,
    pub line: usize,
    pub text: String,
    pub expected: String,
    pub got: String,
    pub explanation: String,
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct CaseReport {
    pub cases: usize,
    pub passed: usize,
    /// Per file: (passed, cases).
    #[schema(value_type = Object)]
    pub per_file: BTreeMap<String, (usize, usize)>,
    /// Cases that fail: `kb test` fails.
    pub misses: Vec<CaseMiss>,
    /// `todo:` cases that still fail (known misses).
    pub known_misses: Vec<CaseMiss>,
    /// `todo:` cases that pass now: drop their `todo:`.
    pub now_passing: Vec<CaseMiss>,
}

/// Runs each case as the first message of a conversation.
pub fn run_cases(matcher: &Matcher, cases: &[Case]) -> CaseReport {
    let mut report = CaseReport::default();
    for case in cases {
        let turn = matcher.decide(&Memory::default(), &case.text);
        let ok = case.expect.iter().any(|e| met(e, &turn.decision));
        let file = case.file.display().to_string();
        let tally = report.per_file.entry(file.clone()).or_default();
        tally.1 += 1;
        report.cases += 1;
        if ok {
            tally.0 += 1;
            report.passed += 1;
        }
        let miss = || CaseMiss {
            file: file.clone(),
            line: case.line,
            text: case.text.clone(),
            expected: case
                .expect
                .iter()
                .map(|e| match e {
                    Expect::Faq(id) => id.to_string(),
                    Expect::Rule(id) => format!("rule:{id}"),
                    Expect::Handoff => "handoff".into(),
                    Expect::Fallback => "fallback".into(),
                    Expect::Clarify => "clarify".into(),
                })
                .collect::<Vec<_>>()
                .join("|"),
            got: outcome(&turn.decision),
            explanation: turn.explanation.summary(),
        };
        match (ok, case.todo) {
            (true, false) => {}
            (true, true) => report.now_passing.push(miss()),
            (false, false) => report.misses.push(miss()),
            (false, true) => report.known_misses.push(miss()),
        }
    }
    report
}

/// Whether `decision` is what `expect` asks for.
pub(crate) fn met(expect: &Expect, decision: &Decision) -> bool {
    match (expect, decision) {
        (Expect::Faq(id), Decision::Handoff { reason }) => {
            *reason == crate::matcher::HandoffReason::Faq(id.clone())
        }
        // Offered first to choose ("Did you mean ...?"), as in the phrasings' self-test.
        (Expect::Faq(id), Decision::Clarify { options, .. }) => options.first() == Some(id),
        (Expect::Faq(id), d) => d.answered_faq() == Some(id),
        (Expect::Rule(id), Decision::Answer { source, .. }) => *source == Source::Rule(id.clone()),
        (Expect::Handoff, Decision::Handoff { .. }) => true,
        (Expect::Fallback, Decision::Fallback { .. }) => true,
        (Expect::Clarify, Decision::Clarify { .. }) => true,
        _ => false,
    }
}

/// A decision in the words of `expect`.
pub(crate) fn outcome(decision: &Decision) -> String {
    match decision {
        Decision::Answer {
            source: Source::Faq(id),
            ..
        } => id.to_string(),
        Decision::Answer {
            source: Source::Rule(id),
            ..
        } => format!("rule:{id}"),
        Decision::Clarify { options, .. } => format!(
            "clarify ({})",
            options
                .iter()
                .map(FaqId::as_str)
                .collect::<Vec<_>>()
                .join(" | ")
        ),
        Decision::Fallback { .. } => "fallback".into(),
        Decision::Handoff { reason } => format!("handoff ({reason:?})"),
    }
}
