//! `cargo run --release --locked -p userpool-bench [-- --quick]`
//!
//! Starts userpool in this process on a loopback port with a fresh SQLite database, measures the
//! machine's argon2 ceiling (hashes a second with every core busy), then drives ForgotPassword,
//! ConfirmForgotPassword, InitiateAuth (USER_PASSWORD_AUTH) and USER_SRP_AUTH at 1, 8 and 64 concurrent
//! keep-alive clients, with the production hash parameters and with the test profile. Prints a
//! Markdown table. The load generator shares the machine with the server, as a CI job would.

use serde_json::{Value, json};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use userpool::app::{Ctx, serve};
use userpool::clock::SystemClock;
use userpool::config::{RecoverySettings, Settings};
use userpool::hashing::{HashParams, PasswordHasher};
use userpool::srp::{ChallengeParameters, SrpClient};
use userpool::store::{AliasKind, NewUser};

/// One keep-alive HTTP/1.1 connection.
struct Conn {
    reader: BufReader<TcpStream>,
}

impl Conn {
    async fn open(addr: &str) -> Conn {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Conn { reader: BufReader::new(stream) }
    }

    /// Sends one API call; returns the HTTP status and the body.
    async fn call(&mut self, operation: &str, body: &Value) -> (u16, Value) {
        let body = body.to_string();
        let request = format!(
            "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.1\r\n\
             X-Amz-Target: AWSCognitoIdentityProviderService.{operation}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.reader.get_mut().write_all(request.as_bytes()).await.expect("write");
        let mut line = String::new();
        self.reader.read_line(&mut line).await.expect("status line");
        let status = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let mut length = 0usize;
        loop {
            line.clear();
            self.reader.read_line(&mut line).await.expect("header");
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut buf = vec![0u8; length];
        self.reader.read_exact(&mut buf).await.expect("body");
        (status, serde_json::from_slice(&buf).unwrap_or(Value::Null))
    }
}

/// Hashes a second with every core hashing at once.
fn argon2_ceiling(params: HashParams, seconds: f64) -> f64 {
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

struct Row {
    operation: &'static str,
    profile: &'static str,
    clients: usize,
    requests: usize,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: usize,
}

/// One measured request i over a connection: one call or more; true if every call answered 200.
type Step = Arc<dyn Fn(usize, Conn) -> Pin<Box<dyn Future<Output = (Conn, bool)> + Send>> + Send + Sync>;

/// A step of one call of `operation`, whose body `make` builds for request i.
fn one_call(operation: &'static str, make: impl Fn(usize) -> Value + Send + Sync + 'static) -> Step {
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
fn srp_sign_in(client_id: String, pool_id: String, password: impl Fn(usize) -> String + Send + Sync + 'static) -> Step {
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
async fn load(addr: &str, clients: usize, requests: usize, step: Step) -> (f64, Vec<f64>, usize) {
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

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss, reason = "an index")]
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

async fn bench_profile(profile: &'static str, params: HashParams, quick: bool, rows: &mut Vec<Row>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = Settings {
        bind: "127.0.0.1:0".parse().expect("address"),
        database_url: format!("sqlite://{}?mode=rwc", dir.path().join("bench.db").display()),
        region: "us-east-1".into(),
        account_id: "000000000000".into(),
        hashing: params,
        hash_concurrency: std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
        credentials: None,
        test_endpoints: true,
        // Budgets and quota off: the benchmark measures the work, not the limits.
        recovery: RecoverySettings {
            confirm_attempts_per_hour: u32::MAX,
            forgot_password_per_hour: u32::MAX,
            rate_limit_per_second: 0,
            ..RecoverySettings::default()
        },
        issuer_base: None,
    };
    let ctx = Arc::new(Ctx::new(settings, Arc::new(SystemClock)).await.expect("context"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address").to_string();
    tokio::spawn(serve(listener, Arc::clone(&ctx), std::future::pending()));

    // The pool, client and users are written straight to the store: the benchmark measures the
    // recovery and sign-in calls, not the set-up.
    let pool_id = make_pool(&ctx).await;
    let client_id = make_client(&ctx, &pool_id).await;

    let levels: &[usize] = &[1, 8, 64];
    let per_level = |cheap: bool| match (quick, cheap) {
        (true, true) => 200,
        (true, false) => 64,
        (false, true) => 1000,
        (false, false) => 256,
    };
    let hashed = profile != "test";
    let users = levels.iter().map(|_| per_level(!hashed)).sum::<usize>().max(per_level(true));
    let record = PasswordHasher::hash_blocking(params, "Passw0rd!1").expect("hash");
    for i in 0..users {
        let sub = format!("00000000-0000-4000-8000-{i:012}");
        let name = format!("user{i}");
        ctx.store
            .create_user(&NewUser {
                pool_id: pool_id.clone(),
                sub: sub.clone(),
                username: name.clone(),
                username_key: name.clone(),
                status: "CONFIRMED".into(),
                enabled: true,
                created_at: 0,
                password: Some(userpool::store::PasswordRecord {
                    hash: record.clone(),
                    srp_salt: "00".into(),
                    srp_verifier: "00".into(),
                }),
                attributes: vec![
                    ("sub".into(), sub),
                    ("email".into(), format!("{name}@example.com")),
                    ("email_verified".into(), "true".into()),
                ],
                aliases: vec![(AliasKind::Email, format!("{name}@example.com"))],
                force_aliases: false,
            })
            .await
            .expect("user");
    }

    for &clients in levels {
        // ForgotPassword: round robin over the users; the last code per user stays valid.
        let n = per_level(true);
        let cid = client_id.clone();
        let step =
            one_call("ForgotPassword", move |i| json!({"ClientId": cid, "Username": format!("user{}", i % users)}));
        let (rps, lat, errors) = load(&addr, clients, n, step).await;
        rows.push(Row {
            operation: "ForgotPassword",
            profile,
            clients,
            requests: n,
            rps,
            p50_ms: percentile(&lat, 0.5),
            p99_ms: percentile(&lat, 0.99),
            errors,
        });

        // ConfirmForgotPassword with each user's newest code: every call succeeds and hashes.
        let n = per_level(!hashed).min(users);
        let mut codes = Vec::with_capacity(n);
        for i in 0..n {
            let name = format!("user{i}");
            let messages = ctx.store.list_messages(&pool_id, Some(&name)).await.expect("messages");
            codes.push(messages.last().and_then(|m| m.code.clone()).unwrap_or_default());
        }
        let cid = client_id.clone();
        let codes = Arc::new(codes);
        let step = one_call("ConfirmForgotPassword", move |i| {
            json!({"ClientId": cid, "Username": format!("user{i}"), "ConfirmationCode": codes[i],
                   "Password": format!("N3w!Passw0rd{clients}")})
        });
        let (rps, lat, errors) = load(&addr, clients, n, step).await;
        rows.push(Row {
            operation: "ConfirmForgotPassword",
            profile,
            clients,
            requests: n,
            rps,
            p50_ms: percentile(&lat, 0.5),
            p99_ms: percentile(&lat, 0.99),
            errors,
        });

        // Sign-in with the new password (one argon2 verification each).
        let cid = client_id.clone();
        let step = one_call("InitiateAuth", move |i| {
            json!({"ClientId": cid, "AuthFlow": "USER_PASSWORD_AUTH",
                   "AuthParameters": {"USERNAME": format!("user{}", i % n), "PASSWORD": format!("N3w!Passw0rd{clients}")}})
        });
        let (rps, lat, errors) = load(&addr, clients, n, step).await;
        rows.push(Row {
            operation: "InitiateAuth (USER_PASSWORD_AUTH)",
            profile,
            clients,
            requests: n,
            rps,
            p50_ms: percentile(&lat, 0.5),
            p99_ms: percentile(&lat, 0.99),
            errors,
        });

        // SRP sign-in (InitiateAuth and RespondToAuthChallenge) with the same passwords. No argon2:
        // the cost is the 3072-bit exponentiations, the client's included.
        let n = n.min(per_level(false));
        let step = srp_sign_in(client_id.clone(), pool_id.clone(), move |_| format!("N3w!Passw0rd{clients}"));
        let (rps, lat, errors) = load(&addr, clients, n, step).await;
        rows.push(Row {
            operation: "USER_SRP_AUTH (InitiateAuth + RespondToAuthChallenge)",
            profile,
            clients,
            requests: n,
            rps,
            p50_ms: percentile(&lat, 0.5),
            p99_ms: percentile(&lat, 0.99),
            errors,
        });
    }
    ctx.store.close().await;
}

async fn make_pool(ctx: &Ctx) -> String {
    let id = format!("{}_bench{}", ctx.settings.region, std::process::id() % 10_000);
    let config = json!({"Id": id, "Name": "bench", "Policies": {"PasswordPolicy": {"MinimumLength": 8, "RequireUppercase": true,
        "RequireLowercase": true, "RequireNumbers": true, "RequireSymbols": true}}});
    ctx.store
        .create_pool(&userpool::store::DocumentRow {
            id: id.clone(),
            name: "bench".into(),
            created_at: 0,
            updated_at: 0,
            config: config.to_string(),
        })
        .await
        .expect("pool");
    id
}

async fn make_client(ctx: &Ctx, pool_id: &str) -> String {
    let id = "benchclient0000000000000000".to_string();
    let config = json!({"ClientId": id, "ClientName": "bench", "UserPoolId": pool_id,
        "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]});
    ctx.store
        .create_client(
            pool_id,
            &userpool::store::DocumentRow {
                id: id.clone(),
                name: "bench".into(),
                created_at: 0,
                updated_at: 0,
                config: config.to_string(),
            },
        )
        .await
        .expect("client");
    id
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let seconds = if quick { 1.0 } else { 3.0 };
    let owasp_ceiling = argon2_ceiling(HashParams::OWASP, seconds);
    let test_ceiling = argon2_ceiling(HashParams::TEST, seconds);
    let mut rows = Vec::new();
    runtime.block_on(async {
        bench_profile("owasp", HashParams::OWASP, quick, &mut rows).await;
        bench_profile("test", HashParams::TEST, quick, &mut rows).await;
    });
    println!(
        "argon2id ceiling, all cores: owasp (m=19 MiB, t=2, p=1) {owasp_ceiling:.0} hashes/s; test (m=256 KiB, t=1) {test_ceiling:.0} hashes/s\n"
    );
    println!("| operation | hash profile | clients | requests | req/s | p50 ms | p99 ms | non-200 |");
    println!("|---|---|---|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {:.0} | {:.2} | {:.2} | {} |",
            r.operation, r.profile, r.clients, r.requests, r.rps, r.p50_ms, r.p99_ms, r.errors
        );
    }
}
