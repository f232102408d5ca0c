//! `frontdesk mail-in`: one mail on standard input (as Postfix's pipe transport, or any MTA,
//! delivers it) handed to the running server's `POST /api/mail/inbound`, where it lands in its
//! conversation. The exit status tells the MTA what to do (sysexits): 0 taken (or ignored:
//! automatic mail, or a forgery, logged by the server and not bounced, so no backscatter);
//! 67 refused and the writer should know (an expired reply address, an erased conversation,
//! nothing new in it): the MTA bounces with the reason; 75 the server could not take it now
//! (down, store unavailable, misconfigured): the MTA keeps the mail and tries again, so nothing
//! is lost.

use std::io::Read;
use std::process::ExitCode;
use std::time::Duration;

/// sysexits.h: the addressee is unknown (the MTA bounces).
const EX_NOUSER: u8 = 67;
/// sysexits.h: a temporary failure (the MTA retries).
const EX_TEMPFAIL: u8 = 75;
/// The longest a delivery may wait for the server.
const TIMEOUT: Duration = Duration::from_secs(60);

/// The secret, given or read from the first line of `file`.
pub fn secret(given: Option<String>, file: Option<&std::path::Path>) -> anyhow::Result<String> {
    use anyhow::Context;
    match (given, file) {
        (Some(secret), _) => Ok(secret),
        (None, Some(file)) => Ok(std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned()),
        (None, None) => anyhow::bail!(
            "mail-in needs the server's mail_inbound_secret: --secret-file, --secret or \
             FRONTDESK_MAIL_INBOUND_SECRET"
        ),
    }
}

pub fn mail_in(url: &str, secret: &str, recipient: Option<&str>) -> anyhow::Result<ExitCode> {
    let mut raw = Vec::new();
    std::io::stdin().read_to_end(&mut raw)?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        .http_status_as_error(false)
        .build()
        .into();
    let mut endpoint = url::Url::parse(url)?.join("/api/mail/inbound")?;
    if let Some(recipient) = recipient {
        endpoint
            .query_pairs_mut()
            .append_pair("recipient", recipient);
    }
    let response = agent
        .post(endpoint.as_str())
        .header("authorization", &format!("Bearer {secret}"))
        .header("content-type", "message/rfc822")
        .send(&raw[..]);
    let mut response = match response {
        Ok(r) => r,
        Err(e) => {
            eprintln!("frontdesk mail-in: cannot reach {url}: {e}; the mail stays queued");
            return Ok(ExitCode::from(EX_TEMPFAIL));
        }
    };
    let status = response.status().as_u16();
    let tell_sender = response
        .headers()
        .get("x-tell-sender")
        .is_some_and(|v| v == "1");
    let body: serde_json::Value = response.body_mut().read_json().unwrap_or_default();
    let said = body["detail"]
        .as_str()
        .or(body["why"].as_str())
        .unwrap_or_default()
        .to_owned();
    Ok(match status {
        200 => {
            eprintln!(
                "frontdesk mail-in: {} {said}",
                body["outcome"].as_str().unwrap_or("taken")
            );
            ExitCode::SUCCESS
        }
        400..=499 if tell_sender => {
            eprintln!("{said}");
            ExitCode::from(EX_NOUSER)
        }
        403 | 413 | 422 => {
            eprintln!("frontdesk mail-in: refused, not bounced: {said}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!(
                "frontdesk mail-in: the server answered {status}: {said}; the mail stays queued"
            );
            ExitCode::from(EX_TEMPFAIL)
        }
    })
}
