//! Commands for integrations: `token add | list | revoke` (API tokens, kept in the server's
//! store so every node sees them) and `export` (conversations with their events as JSON lines
//! or CSV for BI tools, or one visitor's data for an access request). Both open the server's
//! store directly, as `report` does; the memory store lives inside the server process, so
//! there they refuse and point to the API.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;

use super::ops::{StoreArgs, Target, parse_since, runtime};
use crate::config::StoreKind;
use crate::conversation::now_ms;
use crate::export::{CSV_HEADER, Filter, csv_rows};
use crate::ports::Store;
use crate::tokens::{Scope, issue};

/// Conversations read per step of an export (each with its events).
const EXPORT_PAGE: usize = 200;

#[derive(Debug, clap::Subcommand)]
pub enum TokenCommand {
    /// Make a token and print it once (only its hash is kept).
    Add {
        /// Who uses it (letters, digits, `-`, `_`): logged with each call, and the agent name
        /// it writes as.
        name: String,
        /// Comma-separated: read, write, admin.
        #[arg(long, value_delimiter = ',', required = true)]
        scopes: Vec<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List the tokens (names, scopes, when made; never the tokens).
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Revoke a token at once, on every node.
    Revoke {
        name: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One conversation per line, as `GET /api/v1/conversations/{id}` returns it.
    Jsonl,
    /// One row per event.
    Csv,
}

/// The store the arguments name, opened here (not the memory store). A token may be made
/// before the server first ran: then the SQLite database is created.
async fn open(
    source: &StoreArgs,
    what: &str,
    create: bool,
) -> anyhow::Result<std::sync::Arc<dyn Store>> {
    let settings = match source.target() {
        Ok((Target::Store(settings), _)) => *settings,
        Ok((Target::Server(server), _)) => anyhow::bail!(
            "{what} reads the store itself, not a server ({server}); with the memory store use \
             the API: {server}/api/v1/openapi.json"
        ),
        Err(_) if create && source.settings()?.store_kind() == StoreKind::Sqlite => {
            source.settings()?
        }
        Err(e) => return Err(e),
    };
    Ok(crate::startup::open_store(&settings).await?.0)
}

pub fn run_token(command: TokenCommand) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        match command {
            TokenCommand::Add {
                name,
                scopes,
                store,
            } => {
                let scopes = scopes
                    .iter()
                    .map(|s| s.parse::<Scope>())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(anyhow::Error::msg)?;
                let (record, token) =
                    issue(&name, &scopes, now_ms()).map_err(anyhow::Error::msg)?;
                let store = open(&store, "token add", true).await?;
                anyhow::ensure!(
                    store.add_token(record).await?,
                    "a token named `{name}` exists; revoke it first or choose another name"
                );
                eprintln!(
                    "token `{name}` ({}); it is shown this once, keep it secret:",
                    scopes_text(&scopes)
                );
                println!("{token}");
            }
            TokenCommand::List { store } => {
                let store = open(&store, "token list", false).await?;
                let tokens = store.tokens().await?;
                if tokens.is_empty() {
                    println!("no tokens; make one with `frontdesk token add NAME --scopes read`");
                }
                for t in tokens {
                    let made = jiff::Timestamp::from_millisecond(t.created as i64)
                        .map(|t| t.to_string())
                        .unwrap_or_default();
                    println!("{}\t{}\tmade {made}", t.name, scopes_text(&t.scopes));
                }
            }
            TokenCommand::Revoke { name, store } => {
                let store = open(&store, "token revoke", false).await?;
                anyhow::ensure!(store.revoke_token(&name).await?, "no token named `{name}`");
                println!("revoked token `{name}`");
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn scopes_text(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// `frontdesk export`: the conversations created since `since` (JSON lines or CSV), or with
/// `visitor`, that visitor's bundle (JSON), to standard output.
pub fn run_export(
    since: &str,
    format: Format,
    visitor: Option<&str>,
    source: &StoreArgs,
) -> anyhow::Result<ExitCode> {
    let identity = source
        .target()?
        .1
        .map(|s| crate::identity::IdentitySecret::new(&s));
    runtime()?.block_on(async {
        let store = open(source, "export", false).await?;
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        if let Some(visitor) = visitor {
            let key = crate::privacy::visitor_key_of(visitor, identity.as_ref())
                .map_err(anyhow::Error::msg)?;
            let bundle = crate::export::visitor_bundle(store.as_ref(), &key).await?;
            serde_json::to_writer_pretty(&mut out, &bundle)?;
            writeln!(out)?;
            return Ok(ExitCode::SUCCESS);
        }
        let filter = Filter {
            from: now_ms().saturating_sub(parse_since(since)?),
            ..Filter::default()
        };
        let mut csv = (format == Format::Csv).then(|| csv::Writer::from_writer(Vec::new()));
        if let Some(w) = csv.as_mut() {
            w.write_record(CSV_HEADER)?;
        }
        let mut after = None;
        loop {
            let page =
                crate::export::page(store.as_ref(), &filter, after.as_ref(), EXPORT_PAGE, true)
                    .await?;
            for record in &page.items {
                match csv.as_mut() {
                    Some(w) => {
                        for row in csv_rows(record) {
                            w.write_record(&row)?;
                        }
                    }
                    None => {
                        serde_json::to_writer(&mut out, record)?;
                        writeln!(out)?;
                    }
                }
            }
            // A page at a time: the CSV rows go out before the next page is read.
            if let Some(w) = csv.take() {
                out.write_all(&w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?)?;
                csv = Some(csv::Writer::from_writer(Vec::new()));
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        out.flush().context("cannot write the export")?;
        Ok(ExitCode::SUCCESS)
    })
}
