//! Web ACLs in front of the API (issue 12, item 11): ForbiddenException is real.

use crate::support::{TestServer, http, pool_with_password_client, sqlite};
use userpool::config::{HeaderMatch, WafAction, WafRule, WebAcl};

const BLOCKED: &str = r#"{"__type":"ForbiddenException","message":"Request not allowed due to WAF block."}"#;

async fn confirm_forgot_password(url: &str, client_id: &str, from: &str, user_agent: &str) -> (u16, String) {
    let body = format!(
        r#"{{"ClientId":"{client_id}","Username":"nobody","ConfirmationCode":"123456","Password":"N3wPassw0rd!"}}"#
    );
    let headers = [
        ("Content-Type", "application/x-amz-json-1.1"),
        ("X-Amz-Target", "AWSCognitoIdentityProviderService.ConfirmForgotPassword"),
        ("X-Forwarded-For", from),
        ("User-Agent", user_agent),
    ];
    let (status, _, body) = http(url, "POST", "/", &headers, body.as_bytes()).await;
    (status, body)
}

/// A pool's web ACL: a blocked address range, a header rule, and a rate rule per address, with
/// the source taken from one trusted proxy's X-Forwarded-For. A blocked request is 403
/// ForbiddenException and is not counted toward the recovery quota.
#[tokio::test]
async fn web_acls_block_by_address_header_and_rate() {
    let db = sqlite();
    let mut config = crate::support::settings(&db.url, None);
    config.recovery.rate_limit_per_second = 100;
    config.trusted_proxy_hops = 1;
    let rule = |action, ip: &[&str], header: Option<(&str, &str)>, rate_limit| WafRule {
        action,
        ip: ip.iter().map(|s| (*s).to_string()).collect(),
        header: header.map(|(n, c)| HeaderMatch { name: n.into(), contains: c.into() }),
        rate_limit,
    };
    config.waf.insert(
        "*".into(),
        WebAcl {
            default_action: WafAction::Allow,
            rules: vec![
                rule(WafAction::Block, &["203.0.113.0/24", "2001:db8::/32"], None, None),
                rule(WafAction::Block, &[], Some(("user-agent", "badbot")), None),
                rule(WafAction::Block, &[], None, Some(3)),
            ],
        },
    );
    let server = TestServer::start_with(config).await;
    let c = server.client();
    let (_, client) = pool_with_password_client(&c, "waf", false).await;
    let url = &server.url;
    for from in ["203.0.113.9", "2001:db8::7"] {
        assert_eq!(confirm_forgot_password(url, &client, from, "sdk").await, (403, BLOCKED.to_string()), "{from}");
    }
    assert_eq!(confirm_forgot_password(url, &client, "198.51.100.1", "badbot/2").await.0, 403);
    // Three requests from one address pass the rate rule (and reach the operation); the fourth
    // does not; another address still passes.
    for _ in 0..3 {
        let (status, body) = confirm_forgot_password(url, &client, "198.51.100.2", "sdk").await;
        assert_eq!(status, 400, "{body}");
        assert!(body.contains("UserNotFoundException"), "{body}");
    }
    assert_eq!(confirm_forgot_password(url, &client, "198.51.100.2", "sdk").await, (403, BLOCKED.to_string()));
    assert_eq!(confirm_forgot_password(url, &client, "198.51.100.3", "sdk").await.0, 400);
    server.stop().await;
    db.cleanup().await;
}

/// Blocked requests are not counted toward any quota: 50 blocked ForgotPassword calls leave the
/// pool's recovery quota (here 5 a second, the clock standing still) untouched.
#[tokio::test]
async fn blocked_requests_count_toward_no_quota() {
    use std::sync::Arc;
    let db = sqlite();
    let clock = Arc::new(userpool::clock::ManualClock::new(1_800_000_000_000));
    let mut config = crate::support::settings(&db.url, None);
    config.recovery.rate_limit_per_second = 5;
    config.trusted_proxy_hops = 1;
    config.waf.insert(
        "*".into(),
        WebAcl {
            default_action: WafAction::Allow,
            rules: vec![WafRule {
                action: WafAction::Block,
                ip: vec!["203.0.113.0/24".into()],
                header: None,
                rate_limit: None,
            }],
        },
    );
    let server = TestServer::start_with_clock(config, clock).await;
    let c = server.client();
    let (_, client) = pool_with_password_client(&c, "waf-quota", false).await;
    for _ in 0..50 {
        assert_eq!(confirm_forgot_password(&server.url, &client, "203.0.113.1", "sdk").await.0, 403);
    }
    for i in 0..5 {
        let (status, body) = confirm_forgot_password(&server.url, &client, "198.51.100.1", "sdk").await;
        assert!(body.contains("UserNotFoundException"), "request {i}: {status} {body}");
    }
    let (_, body) = confirm_forgot_password(&server.url, &client, "198.51.100.1", "sdk").await;
    assert!(body.contains("TooManyRequestsException"), "{body}");
    server.stop().await;
    db.cleanup().await;
}

/// A pool's own ACL cannot be escaped by naming another pool in a member the operation does not
/// have: the pool is the ClientId's.
#[tokio::test]
async fn a_request_cannot_name_another_pool_to_escape_its_acl() {
    let db = sqlite();
    let mut config = crate::support::settings(&db.url, None);
    config.trusted_proxy_hops = 1;
    let server = TestServer::start_with(config.clone()).await;
    let c = server.client();
    let (pool, client) = pool_with_password_client(&c, "waf-own", false).await;
    server.stop().await;
    config.waf.insert(
        pool,
        WebAcl {
            default_action: WafAction::Allow,
            rules: vec![WafRule {
                action: WafAction::Block,
                ip: vec!["203.0.113.0/24".into()],
                header: None,
                rate_limit: None,
            }],
        },
    );
    let server = TestServer::start_with(config).await;
    assert_eq!(confirm_forgot_password(&server.url, &client, "203.0.113.5", "sdk").await.0, 403);
    let body = format!(
        r#"{{"ClientId":"{client}","UserPoolId":"us-east-1_Elsewhere","Username":"u","ConfirmationCode":"123456","Password":"N3wPassw0rd!"}}"#
    );
    let headers = [
        ("Content-Type", "application/x-amz-json-1.1"),
        ("X-Amz-Target", "AWSCognitoIdentityProviderService.ConfirmForgotPassword"),
        ("X-Forwarded-For", "203.0.113.5"),
    ];
    let (status, _, answer) = http(&server.url, "POST", "/", &headers, body.as_bytes()).await;
    assert_eq!((status, answer.as_str()), (403, BLOCKED));
    server.stop().await;
    db.cleanup().await;
}
