//! Commands for managers and operators: `report` (KPIs and the top unanswered questions),
//! `forget` (erase one visitor's data), `backup` (a consistent copy of the SQLite database while
//! the server runs) and `admin add`. `report` and `forget` open the server's store directly, as
//! its settings say (the SQLite database file, safe while the server runs, or Redis); only the
//! memory store lives inside the server process, and then they ask it with `--server`, signing in
//! as an admin.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use crate::agents::{Admin, Agent, Roster};
use crate::analytics::{Report, report};
use crate::config::{Settings, StoreKind};
use crate::conversation::now_ms;

/// Where `report` and `forget` find the conversations: the flags and variables here, else the
/// server's settings file (`redis_url`, `redis_prefix`, `identity_secret`).
#[derive(Debug, Clone, clap::Args)]
pub struct StoreArgs {
    /// The server's settings file; `frontdesk.toml` is read if it exists.
    #[arg(long, env = "FRONTDESK_CONFIG")]
    pub config: Option<std::path::PathBuf>,
    /// The server's data folder (its SQLite database), when it is not the settings' `data_dir`.
    #[arg(long, env = "FRONTDESK_DATA_DIR")]
    pub data_dir: Option<std::path::PathBuf>,
    /// Read this Redis instead.
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,
    #[arg(long, env = "FRONTDESK_REDIS_PREFIX")]
    pub redis_prefix: Option<String>,
    /// Or ask this running server (e.g. `http://127.0.0.1:8080`), signed in as `--admin`; the
    /// password comes from FRONTDESK_ADMIN_PASSWORD or the first line of standard input.
    #[arg(long, conflicts_with = "redis_url")]
    pub server: Option<String>,
    #[arg(long, env = "FRONTDESK_ADMIN", default_value = "admin")]
    pub admin: String,
}

/// Where to read from.
pub(super) enum Target {
    /// The store the settings name, opened here.
    Store(Box<Settings>),
    Server(String),
}

impl StoreArgs {
    /// The target, and the identity secret (to turn a site user id into a visitor key).
    /// The server's settings, as far as these arguments and its settings file say.
    pub(super) fn settings(&self) -> anyhow::Result<Settings> {
        let mut args = crate::config::ServeArgs {
            config: self.config.clone(),
            ..crate::config::ServeArgs::default()
        };
        if let Some(dir) = &self.data_dir {
            args = args.with("data_dir", dir.to_string_lossy());
        }
        if let Some(url) = &self.redis_url {
            args = args.with("redis_url", url.as_str());
        }
        if let Some(prefix) = &self.redis_prefix {
            args = args.with("redis_prefix", prefix.as_str());
        }
        Settings::load(&args)
    }

    pub(super) fn target(&self) -> anyhow::Result<(Target, Option<String>)> {
        let settings = self.settings()?;
        let secret = std::env::var("FRONTDESK_IDENTITY_SECRET")
            .ok()
            .or(settings.identity_secret.clone());
        let target = match (&self.server, settings.store_kind()) {
            (Some(server), _) => Target::Server(server.clone()),
            (None, StoreKind::Memory) => anyhow::bail!(
                "the server's store is `memory`: it lives inside the server process; pass \
                 --server http://HOST:PORT to ask the running server"
            ),
            (None, StoreKind::Sqlite) => {
                let file = settings.database_file();
                anyhow::ensure!(
                    file.exists(),
                    "no database at {}: run this in the server's folder or pass --data-dir; \
                     for a Redis store set REDIS_URL; or pass --server http://HOST:PORT to ask \
                     a running server",
                    file.display()
                );
                Target::Store(Box::new(settings))
            }
            (None, StoreKind::Redis) => Target::Store(Box::new(settings)),
        };
        Ok((target, secret))
    }
}

/// `7d`, `24h`, `90m` -> milliseconds.
pub fn parse_since(raw: &str) -> anyhow::Result<u64> {
    let (number, unit) = raw.split_at(raw.trim_end_matches(|c: char| c.is_alphabetic()).len());
    let n: u64 = number
        .parse()
        .with_context(|| format!("`{raw}`: expected a number and d, h or m (e.g. 7d)"))?;
    let unit_ms = match unit {
        "d" => 86_400_000,
        "h" => 3_600_000,
        "m" => 60_000,
        _ => anyhow::bail!("`{raw}`: the unit must be d, h or m (e.g. 7d)"),
    };
    anyhow::ensure!(n > 0, "`{raw}`: the period must be longer than 0");
    Ok(n * unit_ms)
}

pub fn run_report(
    since: &str,
    json: bool,
    kb: &Path,
    source: &StoreArgs,
) -> anyhow::Result<ExitCode> {
    let to = now_ms();
    let from = to.saturating_sub(parse_since(since)?);
    let report = match source.target()?.0 {
        Target::Store(settings) => {
            // Without a usable knowledge base, questions are grouped by their stemmed words.
            let matcher = crate::knowledge_base::load(kb)
                .ok()
                .and_then(|loaded| crate::matcher::Matcher::build(loaded.kb).ok());
            let records = runtime()?.block_on(async {
                let (store, _) = crate::startup::open_store(&settings).await?;
                anyhow::Ok(crate::analytics::gather(store.as_ref(), from, to).await?)
            })?;
            match &matcher {
                Some(m) => crate::analytics::report_for(&records, from, to, m),
                None => report(&records, from, to),
            }
        }
        Target::Server(server) => {
            let cookie = sign_in(&server, &source.admin)?;
            let body: serde_json::Value = ureq::get(format!(
                "{}/api/admin/report?from={from}&to={to}",
                server.trim_end_matches('/')
            ))
            .header("cookie", &cookie)
            .call()
            .with_context(|| format!("cannot get the report from {server}"))?
            .body_mut()
            .read_json()?;
            serde_json::from_value(body["report"].clone()).context("an unexpected report")?
        }
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&report, since));
    }
    Ok(ExitCode::SUCCESS)
}

/// `frontdesk forget --visitor X [--dry-run]`: finds the visitor's conversations as /admin does
/// (`privacy::find_visitor`: an e-mail, a visitor key or a verified user id), lists them, and
/// erases exactly those unless it is a dry run.
pub fn run_forget(visitor: &str, dry_run: bool, source: &StoreArgs) -> anyhow::Result<ExitCode> {
    let (target, secret) = source.target()?;
    let (found, erased) = match target {
        Target::Store(settings) => {
            let secret = secret.map(|s| crate::identity::IdentitySecret::new(&s));
            runtime()?.block_on(async {
                let (store, _) = crate::startup::open_store(&settings).await?;
                let found = crate::privacy::find_visitor(store.as_ref(), visitor, secret.as_ref())
                    .await?
                    .map_err(anyhow::Error::msg)?;
                let mut erased = 0;
                if !dry_run {
                    for id in found
                        .iter()
                        .filter_map(|f| crate::conversation::ConversationId::parse(&f.conversation))
                    {
                        erased += usize::from(store.delete(&id).await?);
                    }
                }
                anyhow::Ok((found, erased))
            })?
        }
        Target::Server(server) => {
            let cookie = sign_in(&server, &source.admin)?;
            let ask = |preview: bool| -> anyhow::Result<serde_json::Value> {
                let mut response =
                    ureq::post(format!("{}/api/admin/forget", server.trim_end_matches('/')))
                        .header("cookie", &cookie)
                        .config()
                        .http_status_as_error(false)
                        .build()
                        .send_json(serde_json::json!({ "visitor": visitor, "preview": preview }))?;
                let body: serde_json::Value = response.body_mut().read_json()?;
                anyhow::ensure!(
                    response.status() == 200,
                    "{server}: {}",
                    body["message"].as_str().unwrap_or("refused")
                );
                Ok(body)
            };
            let found: Vec<crate::privacy::Found> =
                serde_json::from_value(ask(true)?["conversations"].clone())
                    .context("an unexpected answer")?;
            let erased = if dry_run {
                0
            } else {
                ask(false)?["erased"].as_u64().unwrap_or(0) as usize
            };
            (found, erased)
        }
    };
    for f in &found {
        let when = jiff::Timestamp::from_millisecond(f.created as i64)
            .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default();
        println!(
            "{}  {when}  {} events  {}  {}",
            f.conversation,
            f.events,
            f.email.as_deref().unwrap_or("-"),
            f.first_message.as_deref().unwrap_or("")
        );
    }
    if dry_run {
        println!(
            "would erase {} conversation(s) of visitor {visitor}",
            found.len()
        );
    } else {
        println!("erased {erased} conversation(s) of visitor {visitor}");
    }
    Ok(ExitCode::SUCCESS)
}

pub fn add_admin(id: String, name: String, file: &Path) -> anyhow::Result<ExitCode> {
    let password = read_password(&id)?;
    Roster::add_admin(
        file,
        Admin {
            id: id.clone(),
            name,
            password_hash: crate::agents::hash_password(&password)?,
        },
    )?;
    println!("added admin `{id}` to {}", file.display());
    Ok(ExitCode::SUCCESS)
}

/// `frontdesk backup FILE`: a consistent copy of the SQLite database, taken while the server
/// runs (SQLite's online backup). The copy is a complete database: to restore, stop the server
/// and put it in place of `data_dir/frontdesk.db`.
pub fn run_backup(to: &Path, source: &StoreArgs) -> anyhow::Result<ExitCode> {
    let mut args = crate::config::ServeArgs {
        config: source.config.clone(),
        ..crate::config::ServeArgs::default()
    };
    if let Some(dir) = &source.data_dir {
        args = args.with("data_dir", dir.to_string_lossy());
    }
    let settings = Settings::load(&args)?;
    anyhow::ensure!(
        settings.store_kind() == StoreKind::Sqlite,
        "backup copies the SQLite database; this server's store is {:?} (back Redis up with its \
         own tools: BGSAVE or an AOF copy)",
        settings.store_kind()
    );
    let from = settings.database_file();
    crate::store::backup(&from, to)?;
    println!("backed up {} to {}", from.display(), to.display());
    // Attachments are files, not rows: they are backed up apart.
    match &settings.attachments_url {
        None => println!(
            "attachments are files in {}: copy that folder too (e.g. rsync -a), after the \
             database, so every file the copy names is there",
            settings.data_dir.join("attachments").display()
        ),
        Some(url) => println!(
            "attachments are in {url}: back them up with the bucket's own tools (versioning or \
             replication)"
        ),
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// Signs in to `server` as `admin`: the session cookie (`name=value`).
fn sign_in(server: &str, admin: &str) -> anyhow::Result<String> {
    let password = match std::env::var("FRONTDESK_ADMIN_PASSWORD") {
        Ok(p) => p,
        Err(_) => read_password(admin)?,
    };
    let response = ureq::post(format!("{}/api/admin/login", server.trim_end_matches('/')))
        .config()
        .http_status_as_error(false)
        .build()
        .send_json(serde_json::json!({ "id": admin, "password": password }))
        .with_context(|| format!("cannot reach {server}"))?;
    anyhow::ensure!(
        response.status() == 200,
        "{server} refused the admin sign-in (HTTP {})",
        response.status()
    );
    response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
        .context("the server set no session cookie")
}

fn percent(x: Option<f64>) -> String {
    x.map_or("-".into(), |x| format!("{:.1}%", x * 100.0))
}

fn seconds(s: Option<f64>) -> String {
    match s {
        None => "-".into(),
        Some(s) if s < 90.0 => format!("{s:.0} s"),
        Some(s) => format!("{:.1} min", s / 60.0),
    }
}

/// The report as a person reads it in a terminal.
pub fn render(r: &Report, since: &str) -> String {
    use std::fmt::Write;
    let k = &r.kpis;
    let mut out = String::new();
    let _ = writeln!(out, "frontdesk report, last {since}");
    let _ = writeln!(out, "  conversations              {}", k.conversations);
    let o = &k.outcomes;
    let _ = writeln!(
        out,
        "  outcomes                   bot resolved {}, handed off {}, offline message {}, not resolved {}",
        o.bot_resolved, o.handed_off, o.offline_message, o.not_resolved
    );
    let _ = writeln!(
        out,
        "  bot resolution             {}",
        percent(k.bot_resolution)
    );
    let reasons: Vec<String> = k
        .handoffs_by_reason
        .iter()
        .map(|(r, n)| format!("{r} {n}"))
        .collect();
    let _ = writeln!(
        out,
        "  handoff rate               {} ({})",
        percent(k.handoff_rate),
        reasons.join(", ")
    );
    for (label, avg) in [
        ("first response time", &k.first_response_time),
        ("average wait", &k.average_wait),
        ("average handle time", &k.average_handle_time),
    ] {
        let _ = writeln!(
            out,
            "  {label:<26} {} (n={})",
            seconds(avg.seconds),
            avg.count
        );
    }
    let _ = writeln!(
        out,
        "  first contact resolution   {}",
        percent(k.first_contact_resolution)
    );
    let c = &k.csat;
    let _ = writeln!(
        out,
        "  CSAT                       {} (n={}, 4-5: {}, 1..5: {:?})",
        c.average.map_or("-".into(), |a| format!("{a:.2}")),
        c.count,
        percent(c.satisfied),
        c.distribution
    );
    let _ = writeln!(out, "\ntop unanswered questions:");
    if r.unanswered.is_empty() {
        let _ = writeln!(out, "  none");
    }
    for g in &r.unanswered {
        let closest = g.closest_faq.as_deref().unwrap_or("-");
        let _ = writeln!(
            out,
            "  {:>4}x  \"{}\"  (closest FAQ: {closest})",
            g.count, g.question
        );
    }
    let _ = writeln!(out, "\ndefinitions:");
    for (name, text) in &r.definitions {
        let _ = writeln!(out, "  {name}: {text}");
    }
    out
}

pub(super) fn add_agent(
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
pub(super) fn read_password(id: &str) -> anyhow::Result<String> {
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

#[cfg(test)]
mod tests {
    use super::parse_since;

    #[test]
    fn periods_are_days_hours_or_minutes() {
        assert_eq!(parse_since("7d").unwrap(), 7 * 86_400_000);
        assert_eq!(parse_since("24h").unwrap(), 86_400_000);
        assert_eq!(parse_since("90m").unwrap(), 90 * 60_000);
        for bad in ["", "7", "d", "7w", "0d", "-1d"] {
            assert!(parse_since(bad).is_err(), "{bad}");
        }
    }
}
