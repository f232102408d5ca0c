//! Who is asking: the client's address and the server's own origin, from the connection itself
//! unless `trust_proxy` says a reverse proxy in front sets `X-Forwarded-*` / `Forwarded` (a
//! client could otherwise claim any address or host).

use std::net::{IpAddr, Ipv4Addr};

use actix_web::HttpRequest;
use actix_web::http::header;

use crate::config::Settings;

/// The client's address: the peer, or with `trust_proxy` the one the proxies in front saw
/// (`trusted_proxy_hops` entries from the right of `X-Forwarded-For`, else of `Forwarded`).
fn address(req: &HttpRequest, settings: &Settings) -> IpAddr {
    let peer = req.peer_addr().map(|a| a.ip());
    let forwarded = settings
        .trust_proxy
        .then(|| forwarded_client(req, settings.trusted_proxy_hops))
        .flatten();
    forwarded
        .or(peer)
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// The address `hops` entries from the right of the forwarding chain: each of our proxies
/// appends the address it saw, so what stands further left was written by the client.
fn forwarded_client(req: &HttpRequest, hops: u32) -> Option<IpAddr> {
    let values = |name: &str| -> Vec<String> {
        req.headers()
            .get_all(name)
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|e| e.trim().to_owned())
            .filter(|e| !e.is_empty())
            .collect()
    };
    let mut chain = values("x-forwarded-for");
    if chain.is_empty() {
        // RFC 7239: `Forwarded: for=192.0.2.60;proto=https, for="[2001:db8::1]:4711"`.
        chain = values("forwarded")
            .iter()
            .filter_map(|element| {
                element.split(';').find_map(|pair| {
                    let (key, value) = pair.trim().split_once('=')?;
                    key.eq_ignore_ascii_case("for")
                        .then(|| value.trim_matches('"').to_owned())
                })
            })
            .collect();
    }
    let from_right = (hops.max(1) as usize).min(chain.len());
    let entry = chain.get(chain.len().checked_sub(from_right)?)?;
    parse_ip(entry)
}

/// The address per-address limits count: `None` for a loopback peer when no proxy is trusted
/// (a proxy on this machine, or a local tool, would otherwise count as one client for every
/// visitor behind it: behind a proxy, set `trust_proxy`).
pub fn limited_address(req: &HttpRequest, settings: &Settings) -> Option<IpAddr> {
    let address = address(req, settings);
    (settings.trust_proxy || !address.is_loopback()).then_some(address)
}

/// `1.2.3.4`, `1.2.3.4:5678`, `[::1]:5678` or `::1`.
fn parse_ip(text: &str) -> Option<IpAddr> {
    text.parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
        .or_else(|| {
            text.trim_start_matches('[')
                .trim_end_matches(']')
                .parse()
                .ok()
        })
}

/// `scheme://host` of this server as the client reached it.
pub fn own_origin(req: &HttpRequest, trust_proxy: bool) -> String {
    if trust_proxy {
        let info = req.connection_info();
        return format!("{}://{}", info.scheme(), info.host());
    }
    let scheme = if req.app_config().secure() {
        "https"
    } else {
        "http"
    };
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map_or_else(|| req.app_config().host().to_owned(), str::to_owned);
    format!("{scheme}://{host}")
}

/// Whether a browser sent this request from one of our own pages: `Sec-Fetch-Site` (when
/// sent) says same-origin, and `Origin` (when sent) is our own. Browsers send `Origin` on every
/// POST and websocket handshake, so a page on another origin (even a same-site one, which
/// `SameSite=Strict` cookies do not stop) is refused; clients that are not browsers send
/// neither and are judged by their credentials alone.
pub fn same_origin(req: &HttpRequest, trust_proxy: bool) -> bool {
    let header = |name| req.headers().get(name).map(|v| v.to_str().unwrap_or("?"));
    if header("sec-fetch-site").is_some_and(|site| !matches!(site, "same-origin" | "none")) {
        return false;
    }
    header(header::ORIGIN.as_str()).is_none_or(|origin| origin == own_origin(req, trust_proxy))
}

/// Whether the client reached us over HTTPS (directly, or at a trusted proxy).
pub fn is_https(req: &HttpRequest, trust_proxy: bool) -> bool {
    own_origin(req, trust_proxy).starts_with("https://")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_with_or_without_a_port() {
        assert_eq!(parse_ip("1.2.3.4"), Some("1.2.3.4".parse().unwrap()));
        assert_eq!(parse_ip("1.2.3.4:80"), Some("1.2.3.4".parse().unwrap()));
        assert_eq!(parse_ip("[::1]:80"), Some("::1".parse().unwrap()));
        assert_eq!(parse_ip("not an address"), None);
    }
}
