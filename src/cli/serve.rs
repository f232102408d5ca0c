//! `frontdesk serve` (the default command): the whole product on one port, until SIGINT or
//! SIGTERM.

use std::process::ExitCode;

use super::kb::print_problems;
use crate::agents::Roster;
use crate::config::{ServeArgs, Settings};
use crate::knowledge_base;

pub(super) fn serve(args: &ServeArgs) -> anyhow::Result<ExitCode> {
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
        let (store, described) = crate::startup::open_store(&settings).await?;
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
