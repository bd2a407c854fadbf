//! The web ACLs of user pools (docs/operating.md#web-acls): ordered allow and block rules on the
//! source address (IPv4 and IPv6 CIDR), a header, and a request rate per address, evaluated before
//! anything else a request does, as AWS WAF is in front of Cognito. A blocked request gets
//! `ForbiddenException: Request not allowed due to WAF block.` (HTTP 403) and counts toward no
//! quota or budget.
//! https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-waf.html

use crate::config::{WafAction, WebAcl};
use axum::http::HeaderMap;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};

/// AWS WAF's rate-based rules count over five minutes.
const RATE_WINDOW_MS: i64 = 5 * 60 * 1000;
/// Addresses counted at once by the rate rules.
const MAX_TRACKED: usize = 100_000;

/// An address range: the network's bits and the prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// `203.0.113.0/24`, `2001:db8::/32`, or a single address.
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let (address, prefix) = text.split_once('/').unwrap_or((text, ""));
        let network: IpAddr = address.trim().parse().map_err(|_| format!("{text} is not an IP address range"))?;
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix =
            if prefix.is_empty() { bits } else { prefix.parse().map_err(|_| format!("{text}: bad prefix length"))? };
        if prefix > bits {
            return Err(format!("{text}: the prefix is longer than the address"));
        }
        Ok(Cidr { network, prefix })
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        let (bits, a, b) = match (self.network, address) {
            (IpAddr::V4(n), IpAddr::V4(a)) => (32, u128::from(u32::from(n)), u128::from(u32::from(a))),
            (IpAddr::V6(n), IpAddr::V6(a)) => (128, u128::from(n), u128::from(a)),
            (IpAddr::V4(n), IpAddr::V6(a)) => match a.to_ipv4_mapped() {
                Some(a) => (32, u128::from(u32::from(n)), u128::from(u32::from(a))),
                None => return false,
            },
            (IpAddr::V6(_), IpAddr::V4(_)) => return false,
        };
        let shift = bits - u32::from(self.prefix);
        shift >= bits || (a >> shift) == (b >> shift)
    }
}

struct Rule {
    action: WafAction,
    ranges: Vec<Cidr>,
    header: Option<(String, String)>,
    rate_limit: Option<u32>,
}

struct Acl {
    default_action: WafAction,
    rules: Vec<Rule>,
}

/// Whether `value` contains `text`, ASCII letters compared without case (AWS WAF's LOWERCASE
/// transformation); other bytes, UTF-8 included, as they are.
fn contains_ignoring_case(value: &[u8], text: &[u8]) -> bool {
    text.is_empty() || value.windows(text.len()).any(|w| w.eq_ignore_ascii_case(text))
}

/// The configured web ACLs, by pool id (`*`: every pool, and requests that name none).
pub struct Waf {
    acls: BTreeMap<String, Acl>,
    trusted_proxy_hops: usize,
    /// Requests per (pool, rule, address) in the current five-minute window.
    counts: Mutex<RateCounts>,
}

/// (pool, rule index, address) → (window, requests in it).
type RateCounts = HashMap<(String, usize, IpAddr), (i64, u32)>;

impl Waf {
    pub fn new(acls: &BTreeMap<String, WebAcl>, trusted_proxy_hops: usize) -> Result<Waf, String> {
        let mut compiled = BTreeMap::new();
        for (pool, acl) in acls {
            let mut rules = Vec::new();
            for rule in &acl.rules {
                let ranges = rule
                    .ip
                    .iter()
                    .map(|r| Cidr::parse(r))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| format!("[waf.\"{pool}\"]: {e}"))?;
                let header = rule.header.as_ref().map(|h| (h.name.to_ascii_lowercase(), h.contains.clone()));
                rules.push(Rule { action: rule.action, ranges, header, rate_limit: rule.rate_limit });
            }
            compiled.insert(pool.clone(), Acl { default_action: acl.default_action, rules });
        }
        Ok(Waf { acls: compiled, trusted_proxy_hops, counts: Mutex::new(HashMap::new()) })
    }

    pub fn is_configured(&self) -> bool {
        !self.acls.is_empty()
    }

    /// The client's address: the peer's, or with N trusted proxies in front, the address the
    /// Nth proxy saw (the Nth entry of X-Forwarded-For from the right, which that proxy wrote).
    /// Without a usable entry (none, too few, or not an address) the peer's address stands: a
    /// request cannot escape address and rate rules by sending no source.
    pub fn source_ip(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        if self.trusted_proxy_hops == 0 {
            return peer;
        }
        let forwarded: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let forwarded = forwarded.len().checked_sub(self.trusted_proxy_hops).and_then(|i| forwarded[i].parse().ok());
        forwarded.or(peer)
    }

    /// Whether the pool's web ACL (or the `*` one) lets the request through. Rules are tried in
    /// order; the first that matches decides; none matching, the ACL's default does.
    pub fn allows(&self, pool_id: Option<&str>, source: Option<IpAddr>, headers: &HeaderMap, now_ms: i64) -> bool {
        let key = pool_id.filter(|p| self.acls.contains_key(*p)).unwrap_or("*");
        let Some(acl) = self.acls.get(key) else { return true };
        for (index, rule) in acl.rules.iter().enumerate() {
            let in_range =
                rule.ranges.is_empty() || source.is_some_and(|ip| rule.ranges.iter().any(|r| r.contains(ip)));
            let header_matches = rule.header.as_ref().is_none_or(|(name, text)| {
                headers.get_all(name.as_str()).iter().any(|v| contains_ignoring_case(v.as_bytes(), text.as_bytes()))
            });
            if !(in_range && header_matches) {
                continue;
            }
            if let Some(limit) = rule.rate_limit {
                let Some(ip) = source else { continue };
                if self.count(key, index, ip, now_ms) <= limit {
                    continue;
                }
            }
            return rule.action == WafAction::Allow;
        }
        acl.default_action == WafAction::Allow
    }

    /// Counts a request of `ip` under a rate rule and returns the count in the current window.
    /// IPv6 addresses count by /64 (one host holds a whole /64). Past `MAX_TRACKED` addresses in
    /// one window, an address not yet counted is over the limit: memory stays bounded.
    fn count(&self, pool: &str, rule: usize, ip: IpAddr, now_ms: i64) -> u32 {
        let ip = match ip {
            IpAddr::V6(v6) => IpAddr::V6(std::net::Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
            v4 => v4,
        };
        let window = now_ms.div_euclid(RATE_WINDOW_MS);
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        if counts.values().next().is_some_and(|(w, _)| *w != window) {
            counts.retain(|_, (w, _)| *w == window);
        }
        let key = (pool.to_string(), rule, ip);
        if counts.len() >= MAX_TRACKED && !counts.contains_key(&key) {
            return u32::MAX;
        }
        let entry = counts.entry(key).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        entry.1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{HeaderMatch, WafRule};

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ranges_contain_their_addresses() {
        let v4 = Cidr::parse("203.0.113.0/24").unwrap();
        assert!(v4.contains(ip("203.0.113.255")) && !v4.contains(ip("203.0.114.0")));
        assert!(v4.contains(ip("::ffff:203.0.113.9")), "IPv4-mapped IPv6");
        let v6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(
            v6.contains(ip("2001:db8:ffff::1")) && !v6.contains(ip("2001:db9::1")) && !v6.contains(ip("203.0.113.1"))
        );
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("198.51.100.1")));
        assert!(Cidr::parse("198.51.100.7").unwrap().contains(ip("198.51.100.7")));
        for bad in ["203.0.113.0/33", "2001:db8::/129", "example.com/8", "1.2.3.4/x"] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_first_matching_rule_decides() {
        let rule = |action, ip: &[&str], header: Option<(&str, &str)>, rate_limit| WafRule {
            action,
            ip: ip.iter().map(|s| (*s).to_string()).collect(),
            header: header.map(|(n, c)| HeaderMatch { name: n.into(), contains: c.into() }),
            rate_limit,
        };
        let acl = WebAcl {
            default_action: WafAction::Allow,
            rules: vec![
                rule(WafAction::Allow, &["198.51.100.0/24"], None, None),
                rule(WafAction::Block, &["198.51.0.0/16"], None, None),
                rule(WafAction::Block, &[], Some(("User-Agent", "badbot")), None),
                rule(WafAction::Block, &[], None, Some(2)),
            ],
        };
        let waf = Waf::new(&BTreeMap::from([("*".to_string(), acl)]), 0).unwrap();
        let none = HeaderMap::new();
        assert!(waf.allows(Some("p"), Some(ip("198.51.100.1")), &none, 0), "allowed before the wider block");
        assert!(!waf.allows(Some("p"), Some(ip("198.51.7.1")), &none, 0));
        let mut bot = HeaderMap::new();
        bot.insert("user-agent", axum::http::HeaderValue::from_bytes(b"x BadBot/1 \xc3\xa9").unwrap());
        assert!(!waf.allows(None, Some(ip("192.0.2.1")), &bot, 0));
        // The rate rule: two requests in five minutes pass, the third does not; a new window
        // starts over, and another address has its own count.
        let other = Some(ip("192.0.2.50"));
        assert!(waf.allows(Some("p"), other, &none, 1_000) && waf.allows(Some("p"), other, &none, 2_000));
        assert!(!waf.allows(Some("p"), other, &none, 3_000));
        assert!(waf.allows(Some("p"), Some(ip("192.0.2.51")), &none, 3_000));
        assert!(waf.allows(Some("p"), other, &none, RATE_WINDOW_MS + 1));
    }

    #[test]
    fn the_source_is_the_address_the_trusted_proxy_saw() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "10.9.9.9, 203.0.113.7".parse().unwrap());
        let peer = Some(ip("192.0.2.1"));
        let acls = BTreeMap::new();
        assert_eq!(Waf::new(&acls, 0).unwrap().source_ip(peer, &headers), peer);
        assert_eq!(Waf::new(&acls, 1).unwrap().source_ip(peer, &headers), Some(ip("203.0.113.7")));
        assert_eq!(Waf::new(&acls, 2).unwrap().source_ip(peer, &headers), Some(ip("10.9.9.9")));
        assert_eq!(Waf::new(&acls, 3).unwrap().source_ip(peer, &headers), peer, "fewer entries than hops: the peer");
        headers.insert("x-forwarded-for", "not-an-address".parse().unwrap());
        assert_eq!(Waf::new(&acls, 1).unwrap().source_ip(peer, &headers), peer);
    }
}
