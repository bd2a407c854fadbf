//! The load generator the benchmarks share: keep-alive HTTP/1.1 connections that send AWS JSON
//! 1.1 calls, steps of one call or a whole SRP sign-in, and the argon2 ceiling of the machine.

use serde_json::{Value, json};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use userpool::config::HashParams;
use userpool::hashing::PasswordHasher;
use userpool::srp::{ChallengeParameters, SrpClient};

const LOCAL_AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/cognito-idp/aws4_request, \
    SignedHeaders=host;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000";

/// One keep-alive HTTP/1.1 connection, opened again when the server closes it (moto's server
/// does after each answer).
pub struct Conn {
    addr: String,
    reader: BufReader<TcpStream>,
    closed: bool,
}

async fn connect(addr: &str) -> BufReader<TcpStream> {
    let stream = TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    BufReader::new(stream)
}

impl Conn {
    pub async fn open(addr: &str) -> Conn {
        Conn { addr: addr.to_string(), reader: connect(addr).await, closed: false }
    }

    async fn send(&mut self, request: &[u8]) {
        if self.closed {
            self.reader = connect(&self.addr).await;
            self.closed = false;
        }
        self.reader.get_mut().write_all(request).await.expect("write");
    }

    async fn response(&mut self) -> (u16, Value) {
        let mut line = String::new();
        self.reader.read_line(&mut line).await.expect("status line");
        self.closed = line.starts_with("HTTP/1.0");
        let status = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let mut length = None;
        loop {
            line.clear();
            self.reader.read_line(&mut line).await.expect("header");
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().ok();
                } else if k.eq_ignore_ascii_case("connection") {
                    self.closed = v.trim().eq_ignore_ascii_case("close");
                }
            }
        }
        let buf = match length {
            Some(n) => {
                let mut buf = vec![0u8; n];
                self.reader.read_exact(&mut buf).await.expect("body");
                buf
            }
            None => {
                // No length: the body runs to the end of the connection.
                let mut buf = Vec::new();
                self.reader.read_to_end(&mut buf).await.expect("body");
                self.closed = true;
                buf
            }
        };
        (status, serde_json::from_slice(&buf).unwrap_or(Value::Null))
    }

    /// GET `path` on the same connection; returns the HTTP status and the JSON body.
    pub async fn get(&mut self, path: &str) -> (u16, Value) {
        let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        self.send(request.as_bytes()).await;
        self.response().await
    }

    /// Sends one API call; returns the HTTP status and the body. Every call carries a well-formed
    /// SigV4 header, which IAM operations need in local mode (and moto ignores); its signature is
    /// not checked there.
    pub async fn call(&mut self, operation: &str, body: &Value) -> (u16, Value) {
        let body = body.to_string();
        let request = format!(
            "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.1\r\n\
             X-Amz-Target: AWSCognitoIdentityProviderService.{operation}\r\nAuthorization: {LOCAL_AUTHORIZATION}\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.send(request.as_bytes()).await;
        self.response().await
    }
}

/// Hashes a second with every core hashing at once.
pub fn argon2_ceiling(params: HashParams, seconds: f64) -> f64 {
    let threads = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            std::thread::spawn(move || {
                let mut n = 0u64;
                let begin = Instant::now();
                while begin.elapsed().as_secs_f64() < seconds {
                    PasswordHasher::hash_blocking(params, "Passw0rd!benchmark").expect("hash");
                    n += 1;
                }
                n
            })
        })
        .collect();
    let total: u64 = handles.into_iter().map(|h| h.join().expect("thread")).sum();
    #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
    let rate = total as f64 / started.elapsed().as_secs_f64();
    rate
}

/// One measured request i over a connection: one call or more; true if every call answered 200.
pub type Step = Arc<dyn Fn(usize, Conn) -> Pin<Box<dyn Future<Output = (Conn, bool)> + Send>> + Send + Sync>;

/// A step of one call of `operation`, whose body `make` builds for request i.
pub fn one_call(operation: &'static str, make: impl Fn(usize) -> Value + Send + Sync + 'static) -> Step {
    let make = Arc::new(make);
    Arc::new(move |i, mut conn| {
        let body = make(i);
        Box::pin(async move {
            let (status, _) = conn.call(operation, &body).await;
            (conn, status == 200)
        })
    })
}

/// USER_SRP_AUTH as a client does it: InitiateAuth with SRP_A, then RespondToAuthChallenge with
/// the password proof. The client's exponentiations run on the blocking pool, as they would run
/// on another machine, so they do not stall the server's async workers.
pub fn srp_sign_in(
    client_id: String,
    pool_id: String,
    password: impl Fn(usize) -> String + Send + Sync + 'static,
) -> Step {
    let password = Arc::new(password);
    Arc::new(move |i, mut conn| {
        let (client_id, pool_id, password) = (client_id.clone(), pool_id.clone(), password(i));
        Box::pin(async move {
            // A per-request secret; a benchmark needs distinct values, not unpredictable ones.
            let a: Vec<u8> = (0..128).map(|j| u8::try_from((i * 131 + j * 7 + 1) % 251).unwrap_or(1)).collect();
            let srp = tokio::task::spawn_blocking(move || SrpClient::new(&a).expect("128-byte secret")).await.unwrap();
            let body = json!({"ClientId": client_id, "AuthFlow": "USER_SRP_AUTH",
                              "AuthParameters": {"USERNAME": format!("user{i}"), "SRP_A": srp.public_a_hex()}});
            let (status, challenge) = conn.call("InitiateAuth", &body).await;
            if status != 200 {
                return (conn, false);
            }
            let params = challenge["ChallengeParameters"].clone();
            let text = |k: &str| params[k].as_str().unwrap_or_default().to_string();
            let user = text("USER_ID_FOR_SRP");
            let block = text("SECRET_BLOCK");
            let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
            let timestamp = userpool::srp::format_timestamp(i64::try_from(now).unwrap_or(0));
            let (salt, srp_b, proof_user, proof_block) = (text("SALT"), text("SRP_B"), user.clone(), block.clone());
            let signature = tokio::task::spawn_blocking(move || {
                let parameters = ChallengeParameters {
                    salt: &salt,
                    srp_b: &srp_b,
                    secret_block: &proof_block,
                    user_id_for_srp: &proof_user,
                };
                srp.signature(&pool_id, &parameters, &password, &timestamp).map(|s| (s, timestamp))
            })
            .await
            .unwrap();
            let Some((signature, timestamp)) = signature else {
                return (conn, false);
            };
            let body = json!({"ClientId": client_id, "ChallengeName": "PASSWORD_VERIFIER", "ChallengeResponses": {
                "USERNAME": user, "PASSWORD_CLAIM_SECRET_BLOCK": block, "PASSWORD_CLAIM_SIGNATURE": signature,
                "TIMESTAMP": timestamp}});
            let (status, _) = conn.call("RespondToAuthChallenge", &body).await;
            (conn, status == 200)
        })
    })
}

/// Runs `requests` steps over `clients` connections.
pub async fn load(addr: &str, clients: usize, requests: usize, step: Step) -> (f64, Vec<f64>, usize) {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (next, step, addr) = (Arc::clone(&next), Arc::clone(&step), addr.to_string());
            tokio::spawn(async move {
                let mut conn = Conn::open(&addr).await;
                let (mut latencies, mut errors) = (Vec::new(), 0usize);
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= requests {
                        break;
                    }
                    let t = Instant::now();
                    let (back, ok) = step(i, conn).await;
                    conn = back;
                    latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                    errors += usize::from(!ok);
                }
                (latencies, errors)
            })
        })
        .collect();
    let (mut all, mut errors) = (Vec::new(), 0);
    for t in tasks {
        let (l, e) = t.await.expect("client task");
        all.extend(l);
        errors += e;
    }
    #[allow(clippy::cast_precision_loss, reason = "request counts are small")]
    let rps = requests as f64 / started.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    (rps, all, errors)
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss, reason = "an index")]
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}
