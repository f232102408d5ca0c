//! The `frontdesk` command line (clap): `serve` (the default), `chat`, `kb check | test |
//! import`, `agent add`, `admin add`, `eval`, `ask`, `report`, `forget`, `backup` (the last four
//! in `ops`), `token add | list | revoke` and `export` (in `integrations`).
//! Each command prints for a person by default; `--json` where a machine reads the result.
//! Exit status: 0 success, 1 the check or test found errors, 2 the command could not run.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::agents::{Agent, Roster};
use crate::config::{ServeArgs, Settings};
use crate::conversation::{FALLBACK_OFFER_TEXT, FALLBACK_TEXT, clarify_text};
use crate::knowledge_base::{self, KnowledgeBase, Problem};
use crate::matcher::{Decision, Matcher, Memory, Source};
use crate::{eval, kb_test};

mod integrations;
mod ops;

/// The default knowledge base folder.
pub const DEFAULT_KB_DIR: &str = "knowledge_base";

#[derive(Debug, Parser)]
#[command(
    name = "frontdesk",
    version,
    about = "Rules-based customer-service chatbot with human handoff"
)]
pub struct Cli {
    /// Without a command: `serve`.
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the chat server (the default): demo page, widget, visitor websocket.
    Serve(Box<ServeArgs>),
    /// Chat with the bot in this terminal (one conversation; Ctrl-D ends it).
    Chat {
        #[arg(long, default_value = DEFAULT_KB_DIR)]
        kb: PathBuf,
        /// Show each decision's explanation.
        #[arg(long)]
        explain: bool,
    },
    /// Knowledge base tools for content editors.
    #[command(subcommand)]
    Kb(KbCommand),
    /// Measure the matcher on labelled cases (`text,label` CSV; label `oos` = must not answer).
    Eval {
        #[arg(long, default_value = DEFAULT_KB_DIR)]
        kb: PathBuf,
        #[arg(long)]
        cases: PathBuf,
        /// Print one JSON object instead of a report.
        #[arg(long)]
        json: bool,
        /// Also write every case's decision and explanation to this file (JSON lines).
        #[arg(long)]
        details: Option<PathBuf>,
    },
    /// Manage the agents who may log in to the console.
    #[command(subcommand)]
    Agent(AgentCommand),
    /// Manage who may open /admin (knowledge-base status, unanswered questions, KPIs).
    #[command(subcommand)]
    Admin(AdminCommand),
    /// KPIs and the top unanswered questions over a period (definitions included).
    Report {
        /// How far back: 7d, 24h, 90m.
        #[arg(long, default_value = "7d")]
        since: String,
        /// The knowledge base to read questions with (synonyms, typos) and to find the closest
        /// FAQs' files in (when reading Redis directly).
        #[arg(long, default_value = DEFAULT_KB_DIR)]
        kb: PathBuf,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: ops::StoreArgs,
    },
    /// Erase every conversation of one visitor: by the e-mail they gave (with every conversation
    /// linked to those by their key), their visitor key, or a verified site user id.
    Forget {
        #[arg(long)]
        visitor: String,
        /// List what would be erased, and erase nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        store: ops::StoreArgs,
    },
    /// API tokens for integrations (`/api/v1`).
    #[command(subcommand)]
    Token(integrations::TokenCommand),
    /// Conversations with their events for BI tools (JSON lines or CSV), or with `--visitor`,
    /// everything held about one visitor (an access request), to standard output.
    Export {
        /// How far back: 30d, 24h, 90m.
        #[arg(long, default_value = "30d")]
        since: String,
        #[arg(long, value_enum, default_value = "jsonl")]
        format: integrations::Format,
        /// One visitor's data instead (their visitor key, or a verified site user id).
        #[arg(long, conflicts_with_all = ["since", "format"])]
        visitor: Option<String>,
        #[command(flatten)]
        store: ops::StoreArgs,
    },
    /// Copy the SQLite database to FILE while the server runs (a consistent snapshot).
    Backup {
        /// The new file to write (it must not exist yet).
        file: PathBuf,
        #[command(flatten)]
        store: ops::StoreArgs,
    },
    /// Print the JSON Schemas of the websocket frames and the admin report (an OpenAPI 3.1
    /// document, components only): for authors of other clients; the pages' types are generated
    /// from it.
    Schema,
    /// Ask the bot: print its decision and explanation for each message (one conversation).
    Ask {
        #[arg(long, default_value = DEFAULT_KB_DIR)]
        kb: PathBuf,
        /// Messages, in order, as one visitor would send them.
        #[arg(required = true)]
        messages: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Add an admin to the roster file. The password is read from the first line of standard
    /// input.
    Add {
        /// Login name: letters, digits, `-`, `_`.
        id: String,
        #[arg(long)]
        name: String,
        #[arg(long, env = "FRONTDESK_AGENTS_FILE", default_value = "agents.toml")]
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Add an agent to the roster. The password is read from the first line of standard input
    /// (e.g. `echo "$PW" | frontdesk agent add alex --name Alex`).
    Add {
        /// Login name: letters, digits, `-`, `_`.
        id: String,
        /// Shown to visitors ("Alex joined").
        #[arg(long)]
        name: String,
        /// Chats at once.
        #[arg(long, default_value_t = crate::agents::DEFAULT_CAPACITY)]
        capacity: usize,
        /// Teams, comma-separated (for transfers to a team).
        #[arg(long, value_delimiter = ',')]
        teams: Vec<String>,
        #[arg(long, env = "FRONTDESK_AGENTS_FILE", default_value = "agents.toml")]
        file: PathBuf,
    },
}

/// `serve`'s flags alone, to read its environment variables when no command is given.
#[derive(Debug, Parser)]
struct ServeOnly {
    #[command(flatten)]
    args: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum KbCommand {
    /// Validate a knowledge base: every error and warning with file, line and field.
    Check {
        #[arg(default_value = DEFAULT_KB_DIR)]
        dir: PathBuf,
    },
    /// Self-test: each phrasing, held out of the index, must still find its FAQ.
    Test {
        #[arg(default_value = DEFAULT_KB_DIR)]
        dir: PathBuf,
        #[arg(long)]
        json: bool,
        /// Leave-one-out whatever the size (one rebuild per phrasing; default above 100
        /// phrasings: 10 folds).
        #[arg(long)]
        exact: bool,
    },
    /// Thresholds that fit this knowledge base: from the editors' test cases (those expecting
    /// an FAQ, and off-topic ones expecting `fallback`), the curve of right answers against
    /// declined off-topic messages, and the chosen point (`--write` puts it in rules.toml).
    Tune {
        #[arg(default_value = DEFAULT_KB_DIR)]
        dir: PathBuf,
        /// Write the chosen thresholds into rules.toml's [policy].
        #[arg(long)]
        write: bool,
        #[arg(long)]
        json: bool,
    },
    /// Turn a labelled CSV (`text,label`) into a knowledge base: one FAQ per label.
    Import {
        #[arg(long)]
        csv: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// Keep at most this many phrasings per label (the first ones).
        #[arg(long)]
        per_label: Option<usize>,
    },
}

pub fn run(cli: Cli) -> ExitCode {
    // Without a command, `serve` with its settings from the environment (REDIS_URL, ...).
    let command = cli
        .command
        .unwrap_or_else(|| Command::Serve(Box::new(ServeOnly::parse_from(["frontdesk"]).args)));
    let result = match command {
        Command::Serve(args) => serve(&args),
        Command::Chat { kb, explain } => chat(&kb, explain),
        Command::Kb(KbCommand::Check { dir }) => check(&dir),
        Command::Kb(KbCommand::Test { dir, json, exact }) => test(&dir, json, exact),
        Command::Kb(KbCommand::Tune { dir, write, json }) => tune(&dir, write, json),
        Command::Kb(KbCommand::Import {
            csv,
            out,
            per_label,
        }) => import(&csv, &out, per_label),
        Command::Eval {
            kb,
            cases,
            json,
            details,
        } => run_eval(&kb, &cases, json, details.as_deref()),
        Command::Ask { kb, messages } => ask(&kb, &messages),
        Command::Schema => {
            println!("{}", crate::http::pages::schema());
            Ok(ExitCode::SUCCESS)
        }
        Command::Agent(AgentCommand::Add {
            id,
            name,
            capacity,
            teams,
            file,
        }) => add_agent(id, name, capacity, teams, &file),
        Command::Admin(AdminCommand::Add { id, name, file }) => ops::add_admin(id, name, &file),
        Command::Report {
            since,
            json,
            kb,
            store,
        } => ops::run_report(&since, json, &kb, &store),
        Command::Forget {
            visitor,
            dry_run,
            store,
        } => ops::run_forget(&visitor, dry_run, &store),
        Command::Backup { file, store } => ops::run_backup(&file, &store),
        Command::Token(command) => integrations::run_token(command),
        Command::Export {
            since,
            format,
            visitor,
            store,
        } => integrations::run_export(&since, format, visitor.as_deref(), &store),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Loads a knowledge base, printing its problems; `None` if it has errors.
fn load_reporting(dir: &Path) -> Option<KnowledgeBase> {
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

fn print_problems(dir: &Path, problems: &[Problem]) {
    for p in problems {
        let mut located = p.clone();
        located.file = dir.join(&p.file);
        eprintln!("{located}");
    }
}

fn check(dir: &Path) -> anyhow::Result<ExitCode> {
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

fn tune(dir: &Path, write: bool, json: bool) -> anyhow::Result<ExitCode> {
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

fn test(dir: &Path, json: bool, exact: bool) -> anyhow::Result<ExitCode> {
    let Some((kb, cases)) = load_with_cases(dir) else {
        return Ok(ExitCode::from(1));
    };
    // The phrasings of each language, held out in turn and found by that language's matcher.
    let mut reports = Vec::new();
    for language in std::iter::once(&kb).chain(&kb.translations) {
        reports.push((
            language.language().to_owned(),
            kb_test::self_test(language, exact)?,
        ));
    }
    let several = reports.len() > 1;
    let case_report = kb_test::run_cases(&Matcher::build(kb)?, &cases);
    // The default language's phrasings must all be found. A translation's few phrasings, held
    // out one tenth at a time, are a hint of where to add more (its test cases are the gate).
    let passed = reports[0].1.passed() && case_report.misses.is_empty();
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

fn import(csv: &Path, out: &Path, per_label: Option<usize>) -> anyhow::Result<ExitCode> {
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

fn run_eval(
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

fn ask(kb_dir: &Path, messages: &[String]) -> anyhow::Result<ExitCode> {
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

fn chat(kb_dir: &Path, explain: bool) -> anyhow::Result<ExitCode> {
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

fn serve(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(args)?;
    let loaded = match knowledge_base::load(&settings.knowledge_base) {
        Ok(loaded) => {
            print_problems(&settings.knowledge_base, &loaded.warnings);
            loaded
        }
        Err(errors) => {
            print_problems(&settings.knowledge_base, &errors.problems);
            return Ok(ExitCode::from(1));
        }
    };
    let kind = settings.store_kind();
    // One server per data directory (the embedded store's presence and events are per
    // process): held until the server ends.
    let _lock = match kind {
        crate::config::StoreKind::Sqlite => {
            Some(crate::store::DataDirLock::hold(&settings.data_dir)?)
        }
        _ => None,
    };
    let mut roster = Roster::load(&settings.agents_file)?;
    // The memory store forgets everything on exit, so its demo logins are new each start too.
    let keep = (kind != crate::config::StoreKind::Memory)
        .then(|| settings.data_dir.join(crate::agents::DEMO_LOGINS_FILE));
    let demo = crate::agents::add_demo_logins(&mut roster, keep.as_deref())?;
    actix_web::rt::System::new().block_on(async move {
        let (store, described) = crate::store::open(&settings).await?;
        println!("{described}");
        let faqs = loaded.kb.faqs.len();
        let app = crate::startup::Application::build(settings.clone(), loaded, store, roster)?;
        let shutdown = app.shutdown_handle();
        tracing::info!(faqs, "knowledge base loaded");
        let base = format!("http://{}:{}", settings.host, app.port());
        println!("frontdesk is running: open {base}/ (Ctrl-C stops it)");
        println!("agent console: {base}/agent");
        println!("admin (knowledge base, unanswered questions, KPIs): {base}/admin");
        for login in &demo {
            let (what, add) = match login.kind {
                "agent" => ("agents", "frontdesk agent add"),
                _ => ("admins", "frontdesk admin add"),
            };
            let password = match (&login.new_password, &keep) {
                (Some(p), Some(file)) => format!(
                    "the password `{p}` (shown this once; kept hashed in {})",
                    file.display()
                ),
                (Some(p), None) => format!("the one-time password `{p}`"),
                (None, file) => format!(
                    "the password shown when it was made (forgotten? delete {} and restart)",
                    file.as_ref()
                        .map_or("it".into(), |f| f.display().to_string())
                ),
            };
            println!(
                "  no {what} in {}: sign in as `{}` with {password}; add real ones with `{add}`",
                settings.agents_file.display(),
                login.id
            );
        }
        actix_web::rt::spawn(async move {
            wait_for_signal().await;
            tracing::info!("shutting down: closing chats");
            shutdown.shutdown().await;
        });
        app.run_until_stopped().await?;
        Ok(ExitCode::SUCCESS)
    })
}

fn add_agent(
    id: String,
    name: String,
    capacity: usize,
    teams: Vec<String>,
    file: &Path,
) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(capacity >= 1, "capacity must be at least 1");
    let password = read_password(&id)?;
    Roster::add(
        file,
        Agent {
            id: id.clone(),
            name,
            password_hash: crate::agents::hash_password(&password)?,
            capacity,
            teams,
        },
    )?;
    println!("added agent `{id}` to {}", file.display());
    Ok(ExitCode::SUCCESS)
}

/// A password from the first line of standard input (prompting on a terminal).
fn read_password(id: &str) -> anyhow::Result<String> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        eprint!("password for {id}: ");
    }
    let mut password = String::new();
    std::io::stdin().read_line(&mut password)?;
    let password = password.trim_end_matches(['\r', '\n']).to_owned();
    anyhow::ensure!(
        password.chars().count() >= 8,
        "the password needs at least 8 characters"
    );
    Ok(password)
}

/// SIGINT (Ctrl-C) or SIGTERM.
async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
