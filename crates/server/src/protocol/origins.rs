//! Who may talk to a server meant for one machine: which web origins browsers may call it from
//! (CORS), and which Host names the test endpoints and local mode's API answer to, so that a page
//! on another site cannot read codes or call admin operations, even by rebinding its own name to
//! 127.0.0.1 (docs/operating.md#security-model).

use crate::config::Settings;
use axum::http::HeaderMap;

const LOOPBACK_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// The host of a Host header or of an origin's authority: `[::1]:9229` → `::1`, `a.b:80` → `a.b`.
fn host_of(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default();
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    }
}

fn is_loopback(host: &str) -> bool {
    LOOPBACK_NAMES.iter().any(|n| host.eq_ignore_ascii_case(n))
}

/// Browsers may call from loopback origins (any port, http or https) and the configured ones.
pub fn origin_allowed(settings: &Settings, origin: &str) -> bool {
    if settings.cors_allowed_origins.iter().any(|o| o == origin) {
        return true;
    }
    let Some(authority) = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://")) else {
        return false;
    };
    !authority.contains('/') && is_loopback(host_of(authority))
}

/// Whether the request names this server by a loopback name or a configured one.
pub fn host_allowed(settings: &Settings, headers: &HeaderMap) -> bool {
    let Some(host) = headers.get("host").and_then(|h| h.to_str().ok()) else { return false };
    let host = host_of(host);
    is_loopback(host) || settings.allowed_hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
}

/// A request a page of another site made (its Origin is another origin than the server's own,
/// or the browser says so): refused where a request changes state for everyone.
pub fn cross_origin(headers: &HeaderMap) -> bool {
    let header = |name: &str| headers.get(name).and_then(|h| h.to_str().ok());
    if matches!(header("sec-fetch-site"), Some("cross-site" | "same-site")) {
        return true;
    }
    match (header("origin"), header("host")) {
        (Some(origin), Some(host)) => {
            let authority = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://"));
            authority.is_none_or(|a| !a.eq_ignore_ascii_case(host))
        }
        (Some(_), None) => true,
        (None, _) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        let dir = std::env::temp_dir();
        let args = crate::config::ServeArgs { data_dir: Some(dir), ..Default::default() };
        let mut s = Settings::resolve(args).unwrap();
        s.cors_allowed_origins = vec!["https://app.example.com".into()];
        s.allowed_hosts = vec!["userpool.internal".into()];
        s
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (axum::http::HeaderName::from_static(k), v.parse().unwrap())).collect()
    }

    #[test]
    fn loopback_and_configured_origins_only() {
        let s = settings();
        for ok in ["http://localhost:3000", "https://127.0.0.1", "http://[::1]:8080", "https://app.example.com"] {
            assert!(origin_allowed(&s, ok), "{ok}");
        }
        for no in [
            "http://evil.example",
            "http://localhost.evil.example",
            "https://app.example.com:444",
            "null",
            "http://127.0.0.1.nip.io",
        ] {
            assert!(!origin_allowed(&s, no), "{no}");
        }
    }

    #[test]
    fn hosts_are_checked_by_name() {
        let s = settings();
        for ok in ["127.0.0.1:9229", "localhost", "[::1]:9229", "USERPOOL.internal:80"] {
            assert!(host_allowed(&s, &headers(&[("host", ok)])), "{ok}");
        }
        for no in ["rebound.evil.example:9229", "127.0.0.1.nip.io", ""] {
            assert!(!host_allowed(&s, &headers(&[("host", no)])), "{no:?}");
        }
        assert!(!host_allowed(&s, &HeaderMap::new()));
    }

    #[test]
    fn cross_origin_requests_are_recognised() {
        assert!(!cross_origin(&headers(&[("host", "127.0.0.1:9229")])));
        assert!(!cross_origin(&headers(&[("host", "127.0.0.1:9229"), ("origin", "http://127.0.0.1:9229")])));
        assert!(cross_origin(&headers(&[("host", "127.0.0.1:9229"), ("origin", "http://localhost:3000")])));
        assert!(cross_origin(&headers(&[("host", "127.0.0.1:9229"), ("sec-fetch-site", "cross-site")])));
    }
}
