//! A minimal HTTP/1.1 client for the server's outgoing calls (trigger webhooks, the Lambda
//! Invoke API, the SMS sink): one request a connection, over TCP or TLS.

use crate::tls::{Io, TlsConnector};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Lambda's own limit on a synchronous answer (6 MB), for every answer this client reads.
pub const MAX_RESPONSE_BYTES: u64 = 6 * 1024 * 1024;

/// A minimal HTTP/1.1 POST over TCP or TLS: status, lowercased headers, body (by Content-Length,
/// chunked, or to the end of the connection).
pub async fn post(
    tls: &TlsConnector,
    url: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> Result<(u16, Vec<(String, String)>, Vec<u8>), String> {
    let fail = |e: &dyn std::fmt::Display| e.to_string();
    let (secure, rest) = match (url.strip_prefix("https://"), url.strip_prefix("http://")) {
        (Some(rest), _) => (true, rest),
        (None, Some(rest)) => (false, rest),
        _ => return Err(format!("{url} is not an http(s) URL")),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
    let address = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:{}", if secure { 443 } else { 80 })
    };
    let tcp = tokio::net::TcpStream::connect(&address).await.map_err(|e| fail(&e))?;
    let mut stream: Box<dyn Io> = Box::new(tcp);
    if secure {
        stream = tls.wrap(host, stream).await?;
    }
    let mut request = format!("POST {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    if !headers.iter().any(|(k, _)| *k == "host") {
        request.push_str(&format!("Host: {authority}\r\n"));
    }
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.map_err(|e| fail(&e))?;
    stream.write_all(body).await.map_err(|e| fail(&e))?;
    let mut raw = Vec::new();
    // Servers that close a TLS connection without close_notify (many do, after a response with
    // a length) end the body all the same; a length check below catches a cut-off one.
    let mut limited = (&mut stream).take(MAX_RESPONSE_BYTES + 1);
    match limited.read_to_end(&mut raw).await {
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty() => {}
        other => {
            other.map_err(|e| fail(&e))?;
        }
    }
    if raw.len() as u64 > MAX_RESPONSE_BYTES {
        return Err(format!("the answer is longer than {MAX_RESPONSE_BYTES} bytes"));
    }
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| "malformed HTTP response".to_string())?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut payload = raw[split + 4..].to_vec();
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|s| s.parse().ok()).unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    if headers.iter().any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked")) {
        payload = dechunk(&payload).ok_or_else(|| "malformed chunked body".to_string())?;
    } else if let Some(n) = headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse().ok()) {
        if payload.len() < n {
            return Err("the answer ended before its Content-Length".into());
        }
        payload.truncate(n);
    }
    Ok((status, headers, payload))
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}
