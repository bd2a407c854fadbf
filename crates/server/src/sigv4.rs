//! SigV4, both ways: verifying the IAM-authorised operations' requests (every operation the model
//! does not mark `authtype: none`) and signing the server's own calls to Lambda and SNS. In local
//! mode (no credentials configured) any well-formed signature is accepted, as emulators do;
//! otherwise the signature is recomputed and compared in constant time.
//! https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html

use crate::api_error;
use crate::config::Credentials;
use crate::domain::calendar::{DateTime, days_from_civil};
use crate::error::ApiResult;
use axum::http::HeaderMap;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// How far the request time may be from the server's (AWS allows 5 minutes for this service).
const MAX_SKEW_MS: i64 = 5 * 60 * 1000;

struct Authorization<'a> {
    access_key_id: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn parse(header: &str) -> Option<Authorization<'_>> {
    let rest = header.strip_prefix("AWS4-HMAC-SHA256")?.trim_start();
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        match k {
            "Credential" => credential = Some(v),
            "SignedHeaders" => signed = Some(v),
            "Signature" => signature = Some(v),
            _ => {}
        }
    }
    let credential = credential?;
    let (access_key_id, scope) = credential.split_once('/')?;
    let mut scope_parts = scope.split('/');
    let (date, region, service, terminator) =
        (scope_parts.next()?, scope_parts.next()?, scope_parts.next()?, scope_parts.next()?);
    let signature = signature?;
    let signed_headers: Vec<&str> = signed?.split(';').collect();
    let well_formed = !access_key_id.is_empty()
        && date.len() == 8
        && terminator == "aws4_request"
        && scope_parts.next().is_none()
        && signature.len() == 64
        && signature.bytes().all(|b| b.is_ascii_hexdigit())
        && signed_headers.iter().all(|h| !h.is_empty());
    well_formed.then_some(Authorization { access_key_id, date, region, service, signed_headers, signature })
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// `20260101T000000Z` → epoch milliseconds.
fn parse_amz_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<u32>().ok();
    let (y, mo, d, h, mi, se) = (num(0..4)?, num(4..6)?, num(6..8)?, num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let days = days_from_civil(i64::from(y), mo, d);
    Some(((days * 24 + i64::from(h)) * 60 + i64::from(mi)) * 60_000 + i64::from(se) * 1000)
}

/// Epoch milliseconds as an `X-Amz-Date` value.
pub fn amz_date(ms: i64) -> String {
    format_amz_date(ms)
}

fn format_amz_date(ms: i64) -> String {
    let t = DateTime::from_epoch_ms(ms);
    format!("{:04}{:02}{:02}T{:02}{:02}{:02}Z", t.year, t.month, t.day, t.hour, t.minute, t.second)
}

fn header_value(headers: &HeaderMap, name: &str) -> String {
    headers
        .get_all(name)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join(",")
}

/// RFC 3986 percent-encoding of every byte but the unreserved ones: SigV4's canonical form of a
/// query value, and the `application/x-www-form-urlencoded` of AWS query APIs.
pub fn uri_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// SigV4's canonical request; `headers` are the signed ones, lowercase names, in order.
fn canonical_request((method, path, query): (&str, &str, &str), headers: &[(&str, String)], body: &[u8]) -> String {
    let mut query_pairs: Vec<&str> = query.split('&').filter(|p| !p.is_empty()).collect();
    query_pairs.sort_unstable();
    let mut canonical = format!("{method}\n{path}\n{}\n", query_pairs.join("&"));
    for (name, value) in headers {
        canonical.push_str(&format!("{name}:{value}\n"));
    }
    let names: Vec<&str> = headers.iter().map(|(n, _)| *n).collect();
    canonical.push_str(&format!("\n{}\n{}", names.join(";"), hex::encode(Sha256::digest(body))));
    canonical
}

/// The hex signature of a canonical request for the scope `[date, region, service]`.
fn signature(secret: &str, amz_date: &str, [date, region, service]: [&str; 3], canonical: &str) -> String {
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let string_to_sign =
        format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}", hex::encode(Sha256::digest(canonical.as_bytes())));
    let mut key = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    for part in [region, service, "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    hex::encode(hmac(&key, string_to_sign.as_bytes()))
}

/// The `Authorization` header of an outgoing request (the Lambda Invoke call of a trigger).
/// `headers` must hold `host` and `x-amz-date`; all of them are signed.
pub fn authorization(
    credentials: &Credentials,
    region: &str,
    service: &str,
    request: (&str, &str, &str),
    headers: &[(&str, String)],
    body: &[u8],
) -> String {
    let mut signed: Vec<(&str, String)> = headers.iter().map(|(n, v)| (*n, v.trim().to_string())).collect();
    signed.sort_by(|a, b| a.0.cmp(b.0));
    let amz_date = signed.iter().find(|(n, _)| *n == "x-amz-date").map(|(_, v)| v.clone()).unwrap_or_default();
    let date = amz_date.get(..8).unwrap_or_default();
    let canonical = canonical_request(request, &signed, body);
    let names: Vec<&str> = signed.iter().map(|(n, _)| *n).collect();
    format!(
        "AWS4-HMAC-SHA256 Credential={}/{date}/{region}/{service}/aws4_request, SignedHeaders={}, Signature={}",
        credentials.access_key_id,
        names.join(";"),
        signature(&credentials.secret_access_key, &amz_date, [date, region, service], &canonical)
    )
}

/// Checks the request's signature. `credentials` None is local mode.
pub fn check(
    credentials: Option<&Credentials>,
    method: &str,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
    now_ms: i64,
) -> ApiResult<()> {
    let Some(header) = headers.get("authorization") else {
        return Err(api_error!(MissingAuthenticationTokenException, "Missing Authentication Token"));
    };
    let header = header.to_str().unwrap_or_default();
    let Some(auth) = parse(header) else {
        return Err(api_error!(
            IncompleteSignatureException,
            "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters of the form \
             AWS4-HMAC-SHA256 Credential=<access key id>/<date>/<region>/<service>/aws4_request, \
             SignedHeaders=<headers>, Signature=<64 hex digits>."
        ));
    };
    let Some(credentials) = credentials else {
        return Ok(());
    };
    if auth.access_key_id != credentials.access_key_id {
        return Err(api_error!(UnrecognizedClientException, "The security token included in the request is invalid."));
    }
    let amz_date = header_value(headers, "x-amz-date");
    let Some(request_ms) = parse_amz_date(&amz_date) else {
        return Err(api_error!(
            IncompleteSignatureException,
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        ));
    };
    if request_ms < now_ms - MAX_SKEW_MS {
        return Err(api_error!(
            InvalidSignatureException,
            "Signature expired: {amz_date} is now earlier than {} ({} - 5 min.)",
            format_amz_date(now_ms - MAX_SKEW_MS),
            format_amz_date(now_ms)
        ));
    }
    if request_ms > now_ms + MAX_SKEW_MS {
        return Err(api_error!(
            InvalidSignatureException,
            "Signature not yet current: {amz_date} is still later than {} ({} + 5 min.)",
            format_amz_date(now_ms + MAX_SKEW_MS),
            format_amz_date(now_ms)
        ));
    }
    let mismatch = || {
        api_error!(
            InvalidSignatureException,
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret \
             Access Key and signing method. Consult the service documentation for details."
        )
    };
    if !amz_date.starts_with(auth.date) || !auth.signed_headers.contains(&"host") {
        return Err(mismatch());
    }
    // A signature made for another service (a captured Lambda or SNS call) is not one for this.
    if auth.service != "cognito-idp" {
        return Err(api_error!(
            InvalidSignatureException,
            "Credential should be scoped to correct service: 'cognito-idp'. "
        ));
    }
    // An unsigned X-Amz-Target could be swapped: a captured AdminGetUser replayed as
    // AdminDeleteUser within the time window. SDKs sign every x-amz-* header they send.
    for name in ["x-amz-target", "x-amz-date"] {
        if headers.contains_key(name) && !auth.signed_headers.contains(&name) {
            return Err(api_error!(IncompleteSignatureException, "The {name} header must be signed."));
        }
    }
    let signed: Vec<(&str, String)> = auth.signed_headers.iter().map(|n| (*n, header_value(headers, n))).collect();
    let canonical = canonical_request((method, path, query), &signed, body);
    let expected =
        signature(&credentials.secret_access_key, &amz_date, [auth.date, auth.region, auth.service], &canonical);
    if bool::from(expected.as_bytes().ct_eq(auth.signature.to_ascii_lowercase().as_bytes())) {
        Ok(())
    } else {
        Err(mismatch())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_encoding_keeps_only_unreserved_bytes() {
        assert_eq!(uri_encode("Your code is 123456."), "Your%20code%20is%20123456.");
        assert_eq!(uri_encode("+15555550100"), "%2B15555550100");
        assert_eq!(uri_encode("$LATEST"), "%24LATEST");
        assert_eq!(uri_encode("é~"), "%C3%A9~");
    }
    use axum::http::HeaderValue;

    /// Signs a request the way SDKs do (the real-client check is the boto3 suite run with
    /// credentials configured).
    fn signed_request(secret: &str, amz_date: &str, body: &[u8]) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("host", HeaderValue::from_static("127.0.0.1:9229"));
        h.insert("x-amz-date", HeaderValue::from_str(amz_date).unwrap());
        h.insert("x-amz-target", HeaderValue::from_static("AWSCognitoIdentityProviderService.ListUserPools"));
        let date = &amz_date[..8];
        let scope = format!("{date}/us-east-1/cognito-idp/aws4_request");
        let signed = "host;x-amz-date;x-amz-target";
        let mut canonical = String::from("POST\n/\n\n");
        for name in signed.split(';') {
            canonical.push_str(&format!("{name}:{}\n", h[name].to_str().unwrap()));
        }
        canonical.push_str(&format!("\n{signed}\n{}", hex::encode(Sha256::digest(body))));
        let sts =
            format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}", hex::encode(Sha256::digest(canonical.as_bytes())));
        let mut key = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
        for p in ["us-east-1", "cognito-idp", "aws4_request"] {
            key = hmac(&key, p.as_bytes());
        }
        let sig = hex::encode(hmac(&key, sts.as_bytes()));
        let auth = format!("AWS4-HMAC-SHA256 Credential=AKID/{scope}, SignedHeaders={signed}, Signature={sig}");
        h.insert("authorization", HeaderValue::from_str(&auth).unwrap());
        h
    }

    fn creds() -> Credentials {
        Credentials { access_key_id: "AKID".into(), secret_access_key: "secret".into() }
    }

    const NOW: &str = "20260101T120000Z";

    #[test]
    fn verifies_a_good_signature_and_refuses_changes() {
        let now = parse_amz_date(NOW).unwrap();
        let h = signed_request("secret", NOW, b"{}");
        assert!(check(Some(&creds()), "POST", "/", "", &h, b"{}", now).is_ok());
        let e = check(Some(&creds()), "POST", "/", "", &h, b"{ }", now).unwrap_err();
        assert_eq!(e.code().as_str(), "InvalidSignatureException");
        let wrong = signed_request("other", NOW, b"{}");
        assert_eq!(
            check(Some(&creds()), "POST", "/", "", &wrong, b"{}", now).unwrap_err().code().as_str(),
            "InvalidSignatureException"
        );
        let other_key = Credentials { access_key_id: "OTHER".into(), ..creds() };
        assert_eq!(
            check(Some(&other_key), "POST", "/", "", &h, b"{}", now).unwrap_err().code().as_str(),
            "UnrecognizedClientException"
        );
    }

    #[test]
    fn refuses_old_requests_and_accepts_any_well_formed_one_locally() {
        let now = parse_amz_date(NOW).unwrap() + 6 * 60 * 1000;
        let h = signed_request("secret", NOW, b"{}");
        let e = check(Some(&creds()), "POST", "/", "", &h, b"{}", now).unwrap_err();
        assert!(
            e.message().starts_with("Signature expired: 20260101T120000Z is now earlier than 20260101T120100Z"),
            "{e:?}"
        );
        assert!(check(None, "POST", "/", "", &signed_request("whatever", NOW, b"{}"), b"{}", now).is_ok());
        let e = check(None, "POST", "/", "", &HeaderMap::new(), b"{}", now).unwrap_err();
        assert_eq!(e.code().as_str(), "MissingAuthenticationTokenException");
        let mut bad = HeaderMap::new();
        bad.insert("authorization", HeaderValue::from_static("AWS4-HMAC-SHA256 Credential=x"));
        assert_eq!(
            check(None, "POST", "/", "", &bad, b"{}", now).unwrap_err().code().as_str(),
            "IncompleteSignatureException"
        );
    }

    #[test]
    fn a_signature_for_another_service_is_refused() {
        let now = parse_amz_date(NOW).unwrap();
        let body = b"{}";
        let headers: Vec<(&str, String)> = vec![
            ("host", "127.0.0.1:9229".into()),
            ("x-amz-date", NOW.into()),
            ("x-amz-target", "AWSCognitoIdentityProviderService.ListUserPools".into()),
        ];
        let mut h = HeaderMap::new();
        for (name, value) in &headers {
            h.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        let for_lambda = authorization(&creds(), "us-east-1", "lambda", ("POST", "/", ""), &headers, body);
        h.insert("authorization", HeaderValue::from_str(&for_lambda).unwrap());
        let e = check(Some(&creds()), "POST", "/", "", &h, body, now).unwrap_err();
        assert_eq!(
            (e.code().as_str(), e.message()),
            ("InvalidSignatureException", "Credential should be scoped to correct service: 'cognito-idp'. ")
        );
        let for_us = authorization(&creds(), "us-east-1", "cognito-idp", ("POST", "/", ""), &headers, body);
        h.insert("authorization", HeaderValue::from_str(&for_us).unwrap());
        assert!(check(Some(&creds()), "POST", "/", "", &h, body, now).is_ok(), "the signer agrees with the checker");
    }

    #[test]
    fn an_unsigned_target_is_refused() {
        let now = parse_amz_date(NOW).unwrap();
        let mut h = signed_request("secret", NOW, b"{}");
        let auth = h["authorization"].to_str().unwrap().replace("host;x-amz-date;x-amz-target", "host;x-amz-date");
        h.insert("authorization", HeaderValue::from_str(&auth).unwrap());
        let e = check(Some(&creds()), "POST", "/", "", &h, b"{}", now).unwrap_err();
        assert_eq!(
            (e.code().as_str(), e.message()),
            ("IncompleteSignatureException", "The x-amz-target header must be signed.")
        );
    }

    #[test]
    fn amz_dates_round_trip() {
        let ms = parse_amz_date("20240305T070409Z").unwrap();
        assert_eq!(format_amz_date(ms), "20240305T070409Z");
        assert!(parse_amz_date("20241305T070409Z").is_none());
    }
}
