//! The server's outgoing HTTP calls (trigger webhooks, the Lambda Invoke API, the SMS sink):
//! one POST a connection, over TCP or TLS, through hyper's HTTP/1.1 client connection (the same
//! HTTP implementation the server side runs on), so interim 1xx answers, chunked bodies, trailers
//! and IPv6 literals are handled as HTTP says.

use crate::tls::{Io, TlsConnector};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::Request;
use hyper::header::{CONNECTION, CONTENT_LENGTH, HOST, HeaderName, HeaderValue};
use hyper_util::rt::TokioIo;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Lambda's own limit on a synchronous answer (6 MB), for every answer this client reads.
pub const MAX_RESPONSE_BYTES: u64 = 6 * 1024 * 1024;

/// Many servers close a TLS connection without close_notify once they have answered; rustls
/// reports that as an unexpected end. For HTTP it is an ordinary end: hyper still refuses a body
/// shorter than its Content-Length or an unfinished chunked one.
struct EndAtEof(Box<dyn Io>);

impl tokio::io::AsyncRead for EndAtEof {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match Pin::new(&mut self.0).poll_read(cx, buf) {
            Poll::Ready(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => Poll::Ready(Ok(())),
            other => other,
        }
    }
}

impl tokio::io::AsyncWrite for EndAtEof {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// A POST of `body` with `headers`: the status, the headers (lowercase names) and the body.
pub async fn post(
    tls: &TlsConnector,
    url: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> Result<(u16, Vec<(String, String)>, Vec<u8>), String> {
    let uri: hyper::Uri = url.parse().map_err(|e| format!("{url} is not a URL: {e}"))?;
    let secure = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(format!("{url} is not an http(s) URL")),
    };
    let authority = uri.authority().ok_or_else(|| format!("{url} has no host"))?.clone();
    // `[::1]` in a URL is the address `::1`.
    let host = authority.host().trim_start_matches('[').trim_end_matches(']');
    let port = authority.port_u16().unwrap_or(if secure { 443 } else { 80 });
    let tcp = tokio::net::TcpStream::connect((host, port)).await.map_err(|e| e.to_string())?;
    let mut stream: Box<dyn Io> = Box::new(tcp);
    if secure {
        stream = tls.wrap(host, stream).await?;
    }
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(EndAtEof(stream))).await.map_err(|e| e.to_string())?;
    // The connection is driven beside the request, and ends with it.
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut request = Request::post(path).body(Full::new(Bytes::copy_from_slice(body))).map_err(|e| e.to_string())?;
    let request_headers = request.headers_mut();
    request_headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    // One request a connection: the peer may close once it has answered.
    request_headers.insert(CONNECTION, HeaderValue::from_static("close"));
    for (name, value) in headers {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| e.to_string())?;
        request_headers.insert(name, HeaderValue::from_str(value).map_err(|e| e.to_string())?);
    }
    if !request_headers.contains_key(HOST) {
        request_headers.insert(HOST, HeaderValue::from_str(authority.as_str()).map_err(|e| e.to_string())?);
    }
    let response = sender.send_request(request).await.map_err(|e| e.to_string());
    let result = match response {
        Ok(response) => {
            let status = response.status().as_u16();
            let headers: Vec<(String, String)> = response
                .headers()
                .iter()
                .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                .collect();
            let limit = usize::try_from(MAX_RESPONSE_BYTES).unwrap_or(usize::MAX);
            match Limited::new(response.into_body(), limit).collect().await {
                Ok(collected) => Ok((status, headers, collected.to_bytes().to_vec())),
                Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                    Err(format!("the answer is longer than {MAX_RESPONSE_BYTES} bytes"))
                }
                Err(e) => Err(e.to_string()),
            }
        }
        Err(e) => Err(e),
    };
    driver.abort();
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A server that reads one request and answers with `answer`, bytes as given.
    async fn serve_once(listener: TcpListener, answer: &'static [u8]) -> Vec<u8> {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = vec![0u8; 4096];
        let n = socket.read(&mut request).await.unwrap();
        request.truncate(n);
        socket.write_all(answer).await.unwrap();
        socket.shutdown().await.unwrap();
        request
    }

    #[tokio::test]
    async fn ipv6_literals_interim_answers_chunks_and_trailers() {
        let listener = TcpListener::bind("[::1]:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(serve_once(
            listener,
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Answer: yes\r\n\r\n\
              4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\nX-Trailer: t\r\n\r\n",
        ));
        let tls = TlsConnector::new(None);
        let (status, headers, body) =
            post(&tls, &format!("http://[::1]:{port}/hook?x=1"), &[("content-type", "application/json".into())], b"{}")
                .await
                .unwrap();
        assert_eq!(status, 200);
        assert!(headers.contains(&("x-answer".to_string(), "yes".to_string())));
        assert_eq!(body, b"{\"a\":1}");
        let request = String::from_utf8(server.await.unwrap()).unwrap();
        assert!(request.starts_with("POST /hook?x=1 HTTP/1.1\r\n"), "{request}");
        assert!(request.contains(&format!("host: [::1]:{port}\r\n")), "{request}");
        assert!(request.contains("connection: close\r\n"), "{request}");
        assert!(request.ends_with("\r\n\r\n{}"), "{request}");
    }

    #[tokio::test]
    async fn answers_over_the_limit_are_refused() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let size = 7 * 1024 * 1024;
        let mut answer = format!("HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n").into_bytes();
        answer.resize(answer.len() + size, b'a');
        tokio::spawn(serve_once(listener, answer.leak()));
        let tls = TlsConnector::new(None);
        let e = post(&tls, &format!("http://127.0.0.1:{port}/"), &[], b"").await.unwrap_err();
        assert!(e.contains("longer than"), "{e}");
    }

    /// A connection that delivers `data` and then ends as a TLS peer without close_notify does.
    struct AbruptEnd(&'static [u8]);

    impl tokio::io::AsyncRead for AbruptEnd {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            if self.0.is_empty() {
                return Poll::Ready(Err(std::io::ErrorKind::UnexpectedEof.into()));
            }
            let n = self.0.len().min(buf.remaining());
            buf.put_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Poll::Ready(Ok(()))
        }
    }

    impl tokio::io::AsyncWrite for AbruptEnd {
        fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
            Poll::Ready(Ok(data.len()))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn an_end_without_close_notify_ends_a_close_delimited_body() {
        let mut stream = EndAtEof(Box::new(AbruptEnd(b"answer")));
        let mut read = Vec::new();
        stream.read_to_end(&mut read).await.unwrap();
        assert_eq!(read, b"answer");
    }
}
