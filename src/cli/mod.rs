//! The `frontdesk` command line (clap): the command tree and where each command runs. `serve`
//! (the default) in `serve`; `chat` and `ask` in `chat`; `kb check | test | tune | import` and
//! `eval` in `kb`; `agent add`, `admin add`, `report`, `forget`, `backup` in `ops`; `token add |
//! list | revoke` and `export` in `integrations`; `mail-in` in `mail`.
//! Each command prints for a person by default; `--json` where a machine reads the result.
//! Exit status: 0 success, 1 the check or test found errors, 2 the command could not run.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::ServeArgs;

mod chat;
mod integrations;
mod kb;
mod mail;
mod ops;
mod serve;

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
    /// Hand one mail on standard input (an answer to a reply address) to the running server,
    /// as an MTA's pipe delivers it. Exit status for the MTA: 0 taken or dropped, 67 bounce
    /// (the reason on standard error), 75 try again later.
    MailIn {
        /// The server to hand it to.
        #[arg(
            long,
            env = "FRONTDESK_MAIL_IN_URL",
            default_value = "http://127.0.0.1:8080"
        )]
        url: String,
        /// The server's `mail_inbound_secret`.
        #[arg(long, env = "FRONTDESK_MAIL_INBOUND_SECRET", hide_env_values = true)]
        secret: Option<String>,
        /// A file whose first line is the secret (kept out of the process list).
        #[arg(long, conflicts_with = "secret")]
        secret_file: Option<PathBuf>,
        /// The envelope recipient (Postfix: `${recipient}`), when the MTA gives it.
        #[arg(long)]
        recipient: Option<String>,
    },
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
        Command::Serve(args) => serve::serve(&args),
        Command::Chat { kb, explain } => chat::chat(&kb, explain),
        Command::Kb(KbCommand::Check { dir }) => kb::check(&dir),
        Command::Kb(KbCommand::Test { dir, json, exact }) => kb::test(&dir, json, exact),
        Command::Kb(KbCommand::Tune { dir, write, json }) => kb::tune(&dir, write, json),
        Command::Kb(KbCommand::Import {
            csv,
            out,
            per_label,
        }) => kb::import(&csv, &out, per_label),
        Command::Eval {
            kb,
            cases,
            json,
            details,
        } => kb::run_eval(&kb, &cases, json, details.as_deref()),
        Command::Ask { kb, messages } => chat::ask(&kb, &messages),
        Command::MailIn {
            url,
            secret,
            secret_file,
            recipient,
        } => mail::secret(secret, secret_file.as_deref())
            .and_then(|secret| mail::mail_in(&url, &secret, recipient.as_deref())),
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
        }) => ops::add_agent(id, name, capacity, teams, &file),
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
