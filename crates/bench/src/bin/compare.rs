//! `scripts/bench-compare` runs this; it writes BENCHMARKS.md's tables to stdout.
//!
//! userpool (on SQLite, and on PostgreSQL when `--postgres` names a server) and moto_server run as
//! separate processes on this machine and get the same workload in the same run, from the same
//! load generator: the time from spawning to the first answered call, idle memory, and requests a
//! second with p50/p99 latency at 1, 8 and 64 clients for the recovery flow, AdminGetUser and
//! InitiateAuth. Then userpool alone: a 1,000,000-user pool next to a 1,000-user pool in one
//! database, its latencies for the lookup paths and its memory; and the machine's ceilings (argon2
//! with every core, a bare axum JSON endpoint) that the hash-bound and the other calls are read
//! against.

use serde_json::{Value, json};
use sqlx::Connection;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use userpool::config::HashParams;
use userpool::hashing::PasswordHasher;
use userpool_bench::{Conn, Step, argon2_ceiling, load, one_call, percentile};

struct Args {
    userpool: String,
    moto: Option<String>,
    postgres: Option<String>,
    scale_users: u64,
    quick: bool,
}

fn args() -> Args {
    let mut a = Args { userpool: String::new(), moto: None, postgres: None, scale_users: 1_000_000, quick: false };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--userpool" => a.userpool = it.next().expect("--userpool <binary>"),
            "--moto" => a.moto = it.next(),
            "--postgres" => a.postgres = it.next(),
            "--scale-users" => a.scale_users = it.next().and_then(|n| n.parse().ok()).expect("--scale-users <n>"),
            "--quick" => a.quick = true,
            other => panic!("unknown argument {other}"),
        }
    }
    assert!(!a.userpool.is_empty(), "--userpool <path to the release binary> is required");
    a
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address").port()
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// A server process under test; killed when dropped.
struct Server {
    child: Child,
    addr: String,
    started_ms: f64,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spawns `command` listening on `port` and polls until a ListUserPools call answers 200.
async fn spawn(mut command: Command, port: u16) -> Server {
    let addr = format!("127.0.0.1:{port}");
    let begin = Instant::now();
    let child = command.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn server");
    loop {
        if let Ok(stream) = tokio::net::TcpStream::connect(&addr).await {
            drop(stream);
            let mut conn = Conn::open(&addr).await;
            if conn.call("ListUserPools", &json!({"MaxResults": 1})).await.0 == 200 {
                break;
            }
        }
        assert!(begin.elapsed() < Duration::from_secs(60), "{addr} did not answer within a minute");
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
    Server { child, addr, started_ms: begin.elapsed().as_secs_f64() * 1000.0 }
}

fn userpool_command(binary: &str, port: u16, data_dir: &str, database_url: Option<&str>) -> Command {
    let mut c = Command::new(binary);
    c.args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--data-dir", data_dir]);
    // Budgets and the quota off: the benchmark measures the work, not the limits.
    c.args(["--confirm-attempts-per-hour", "1000000", "--forgot-password-per-hour", "1000000"]);
    c.args(["--recovery-rate-limit", "0", "--auth-rate-limit", "0"]);
    if let Some(url) = database_url {
        c.args(["--database-url", url]);
    }
    c.env("USERPOOL_LOG", "warn");
    c
}

async fn call_ok(conn: &mut Conn, operation: &str, body: &Value) -> Value {
    let (status, out) = conn.call(operation, body).await;
    assert_eq!(status, 200, "{operation}: {out}");
    out
}

/// A pool, a client allowing password sign-in, and `users` confirmed users `user<i>` with a
/// verified email and the password `Passw0rd!1`, made through the API as a test suite would.
async fn setup(addr: &str, users: usize) -> (String, String) {
    let mut conn = Conn::open(addr).await;
    let pool = call_ok(&mut conn, "CreateUserPool", &json!({"PoolName": "bench"})).await;
    let pool_id = pool["UserPool"]["Id"].as_str().expect("pool id").to_string();
    let client = call_ok(
        &mut conn,
        "CreateUserPoolClient",
        &json!({"UserPoolId": pool_id, "ClientName": "bench",
                "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]}),
    )
    .await;
    let client_id = client["UserPoolClient"]["ClientId"].as_str().expect("client id").to_string();
    let p = pool_id.clone();
    let create: Step = Arc::new(move |i, mut conn| {
        let pool_id = p.clone();
        Box::pin(async move {
            let (a, _) = conn
                .call(
                    "AdminCreateUser",
                    &json!({"UserPoolId": pool_id, "Username": format!("user{i}"), "MessageAction": "SUPPRESS",
                            "UserAttributes": [{"Name": "email", "Value": format!("user{i}@example.com")},
                                               {"Name": "email_verified", "Value": "true"}]}),
                )
                .await;
            let (b, _) = conn
                .call(
                    "AdminSetUserPassword",
                    &json!({"UserPoolId": pool_id, "Username": format!("user{i}"), "Password": "Passw0rd!1",
                            "Permanent": true}),
                )
                .await;
            (conn, a == 200 && b == 200)
        })
    });
    let (_, _, errors) = load(addr, 8, users, create).await;
    assert_eq!(errors, 0, "setting up {users} users at {addr}");
    (pool_id, client_id)
}

/// ForgotPassword, the code, ConfirmForgotPassword with a new password, for user i. userpool's
/// code is read from /_userpool/messages (a third request, timed with the others); moto accepts
/// any code that does not start with its own prefix, so it is given a fixed one.
fn recovery_flow(client_id: String, pool_id: String, moto: bool, password: String) -> Step {
    Arc::new(move |i, mut conn| {
        let (client_id, pool_id, password) = (client_id.clone(), pool_id.clone(), password.clone());
        Box::pin(async move {
            let user = format!("user{i}");
            let (s1, _) = conn.call("ForgotPassword", &json!({"ClientId": client_id, "Username": user})).await;
            let code = if moto {
                "123456".to_string()
            } else {
                let (_, messages) =
                    conn.get(&format!("/_userpool/messages?userPoolId={pool_id}&username={user}")).await;
                messages["Messages"]
                    .as_array()
                    .and_then(|m| m.last())
                    .and_then(|m| m["Code"].as_str())
                    .unwrap_or("")
                    .to_string()
            };
            let (s2, _) = conn
                .call(
                    "ConfirmForgotPassword",
                    &json!({"ClientId": client_id, "Username": user, "ConfirmationCode": code, "Password": password}),
                )
                .await;
            (conn, s1 == 200 && s2 == 200)
        })
    })
}

struct Row {
    target: String,
    workload: &'static str,
    clients: usize,
    requests: usize,
    rps: f64,
    p50: f64,
    p99: f64,
    errors: usize,
}

/// The three workloads at 1, 8 and 64 clients against one server.
async fn workloads(target: &str, server: &Server, moto: bool, quick: bool, rows: &mut Vec<Row>) {
    let hashed = if quick { 48 } else { 192 };
    let cheap = if quick { 500 } else { 3000 };
    let (pool_id, client_id) = setup(&server.addr, hashed).await;
    for clients in [1, 8, 64] {
        let password = format!("N3w!Passw0rd{clients}");
        let mut run = async |workload: &'static str, requests: usize, step: Step| {
            let (rps, latencies, errors) = load(&server.addr, clients, requests, step).await;
            rows.push(Row {
                target: target.to_string(),
                workload,
                clients,
                requests,
                rps,
                p50: percentile(&latencies, 0.5),
                p99: percentile(&latencies, 0.99),
                errors,
            });
        };
        run("recovery flow", hashed, recovery_flow(client_id.clone(), pool_id.clone(), moto, password.clone())).await;
        let p = pool_id.clone();
        let admin_get =
            one_call("AdminGetUser", move |i| json!({"UserPoolId": p, "Username": format!("user{}", i % hashed)}));
        run("AdminGetUser", cheap, admin_get).await;
        let (c, pw) = (client_id.clone(), password.clone());
        let sign_in = one_call("InitiateAuth", move |i| {
            json!({"ClientId": c, "AuthFlow": "USER_PASSWORD_AUTH",
                   "AuthParameters": {"USERNAME": format!("user{}", i % hashed), "PASSWORD": pw}})
        });
        run("InitiateAuth (USER_PASSWORD_AUTH)", hashed, sign_in).await;
    }
}

/// Users `user0..user<n>` of a pool straight into the database, in one statement per table, the
/// same SQL on SQLite and PostgreSQL. Every user shares one password record (the benchmark looks
/// users up, it does not crack them).
async fn bulk_users(database_url: &str, pool_id: &str, n: u64, password_hash: &str) {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(database_url).await.expect("connect for bulk load");
    let series = "WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < $2)";
    let n = i64::try_from(n).expect("user count");
    let users = format!(
        "{series} INSERT INTO users (pool_id, sub, username, username_key, status, enabled, created_at, updated_at,
           password_hash, password_set_at, srp_salt, srp_verifier)
         SELECT $1, 'bulk-' || i, 'user' || i, 'user' || i, 'CONFIRMED', 1, 0, 0, $3, 0, '00', '02' FROM seq"
    );
    sqlx::query(sqlx::AssertSqlSafe(users))
        .bind(pool_id)
        .bind(n)
        .bind(password_hash)
        .execute(&mut conn)
        .await
        .expect("bulk insert of users");
    for (name, value) in
        [("sub", "'bulk-' || i"), ("email", "'user' || i || '@example.com'"), ("email_verified", "'true'")]
    {
        let attributes = format!(
            "{series} INSERT INTO user_attributes (pool_id, sub, name, value) SELECT $1, 'bulk-' || i, '{name}', {value} FROM seq"
        );
        sqlx::query(sqlx::AssertSqlSafe(attributes))
            .bind(pool_id)
            .bind(n)
            .execute(&mut conn)
            .await
            .expect("bulk insert of attributes");
    }
    if database_url.starts_with("postgres") {
        sqlx::query("ANALYZE").execute(&mut conn).await.expect("analyze");
    }
    conn.close().await.expect("close");
}

struct ScaleRow {
    engine: &'static str,
    operation: &'static str,
    small_p50: f64,
    large_p50: f64,
}

/// One client, `requests` calls of each lookup path, on the 1,000-user and the large pool.
async fn scale(
    args: &Args,
    engine: &'static str,
    database_url: Option<&str>,
    rows: &mut Vec<ScaleRow>,
    memory: &mut Vec<(String, u64)>,
) {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().display().to_string();
    let url = database_url.map_or_else(|| format!("sqlite://{data_dir}/userpool.db?mode=rwc"), str::to_string);
    let port = free_port();
    let server = spawn(userpool_command(&args.userpool, port, &data_dir, database_url), port).await;
    let mut conn = Conn::open(&server.addr).await;
    let mut pools = Vec::new();
    for name in ["small", "large"] {
        let pool = call_ok(&mut conn, "CreateUserPool", &json!({"PoolName": name})).await;
        let id = pool["UserPool"]["Id"].as_str().expect("pool id").to_string();
        let client = call_ok(&mut conn, "CreateUserPoolClient", &json!({"UserPoolId": id, "ClientName": "c"})).await;
        pools.push((id, client["UserPoolClient"]["ClientId"].as_str().expect("client id").to_string()));
    }
    drop(conn);
    drop(server);
    let record = PasswordHasher::hash_blocking(HashParams::OWASP, "Passw0rd!1").expect("hash");
    let loading = Instant::now();
    bulk_users(&url, &pools[0].0, 1000, &record).await;
    bulk_users(&url, &pools[1].0, args.scale_users, &record).await;
    eprintln!("{engine}: {} users loaded in {:.0} s", args.scale_users + 1000, loading.elapsed().as_secs_f64());

    let server = spawn(userpool_command(&args.userpool, port, &data_dir, database_url), port).await;
    let requests = if args.quick { 50 } else { 200 };
    let mut measured: Vec<(&'static str, [f64; 2])> = Vec::new();
    let mut per_pool = [[0.0; 4]; 2];
    for (k, (pool_id, client_id)) in pools.iter().enumerate() {
        let size = if k == 0 { 1000 } else { usize::try_from(args.scale_users).unwrap_or(usize::MAX) };
        // Spread over the pool: users far apart in the key order.
        let pick = move |i: usize| (i * 7919 + 13) % size;
        let (p, c) = (pool_id.clone(), client_id.clone());
        let flow = recovery_flow(c.clone(), p.clone(), false, "N3w!Passw0rd".into());
        let forgot = one_call("ForgotPassword", {
            let c = c.clone();
            move |i| json!({"ClientId": c, "Username": format!("user{}", pick(i))})
        });
        let get = one_call("AdminGetUser", {
            let p = p.clone();
            move |i| json!({"UserPoolId": p, "Username": format!("user{}", pick(i))})
        });
        let list = one_call("ListUsers", {
            let p = p.clone();
            move |i| json!({"UserPoolId": p, "Filter": format!("email = \"user{}@example.com\"", pick(i))})
        });
        let remap: Step = Arc::new(move |i, conn| flow(pick(i), conn));
        for (j, step) in [forgot, remap, get, list].into_iter().enumerate() {
            let (_, latencies, errors) = load(&server.addr, 1, requests, step).await;
            assert_eq!(errors, 0, "{engine}: scale workload {j} on pool {k}");
            per_pool[k][j] = percentile(&latencies, 0.5);
        }
    }
    let names = [
        "ForgotPassword",
        "recovery flow (ForgotPassword + code + ConfirmForgotPassword)",
        "AdminGetUser",
        "ListUsers (Filter email =)",
    ];
    for (j, name) in names.into_iter().enumerate() {
        measured.push((name, [per_pool[0][j], per_pool[1][j]]));
    }
    for (operation, [small, large]) in measured {
        rows.push(ScaleRow { engine, operation, small_p50: small, large_p50: large });
    }
    memory.push((
        format!("userpool on {engine}, after serving the {}-user pool", args.scale_users),
        rss_kib(server.child.id()),
    ));
}

/// A bare axum endpoint answering POST / with a small JSON body: what the machine serves when
/// the handler does nothing.
async fn bare_axum() -> String {
    let app = axum::Router::new().route("/", axum::routing::post(|| async { axum::Json(json!({"ok": true})) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address").to_string();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

fn main() {
    let args = args();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(run(args));
}

async fn run(args: Args) {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().display().to_string();
    let mut rows = Vec::new();
    let mut starts: Vec<(String, f64, u64)> = Vec::new();
    let mut memory: Vec<(String, u64)> = Vec::new();

    // Start time and idle memory: a fresh data directory (migrations run), then restarts on it;
    // the median of five of each, as one start is at the mercy of the scheduler.
    for label in ["userpool on SQLite, first start (creates the database)", "userpool on SQLite, restart"] {
        let mut samples = Vec::new();
        for i in 0..5 {
            // The first first-start makes the directory the restarts then use.
            let fresh = tempfile::tempdir().expect("temp dir");
            let first = label.contains("first") && i > 0;
            let data_dir = if first { fresh.path().display().to_string() } else { data_dir.clone() };
            let port = free_port();
            let server = spawn(userpool_command(&args.userpool, port, &data_dir, None), port).await;
            tokio::time::sleep(Duration::from_millis(500)).await;
            samples.push((server.started_ms, rss_kib(server.child.id())));
        }
        samples.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (ms, _) = samples[2];
        let mut rss: Vec<u64> = samples.iter().map(|s| s.1).collect();
        rss.sort_unstable();
        starts.push((format!("{label}, median of 5"), ms, rss[2]));
    }
    let mut targets: Vec<(String, Server, bool)> = Vec::new();
    let port = free_port();
    targets.push((
        "userpool (SQLite)".into(),
        spawn(userpool_command(&args.userpool, port, &data_dir, None), port).await,
        false,
    ));
    if let Some(pg) = &args.postgres {
        let pg_dir = tempfile::tempdir().expect("temp dir").keep();
        let port = free_port();
        let server = spawn(userpool_command(&args.userpool, port, &pg_dir.display().to_string(), Some(pg)), port).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        starts.push(("userpool on PostgreSQL".into(), server.started_ms, rss_kib(server.child.id())));
        targets.push(("userpool (PostgreSQL)".into(), server, false));
    }
    if let Some(moto) = &args.moto {
        let port = free_port();
        let mut command = Command::new(moto);
        command.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
        let server = spawn(command, port).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        starts.push(("moto_server".into(), server.started_ms, rss_kib(server.child.id())));
        targets.push(("moto".into(), server, true));
    }
    for (name, server, moto) in &targets {
        eprintln!("workloads against {name}");
        workloads(name, server, *moto, args.quick, &mut rows).await;
        memory.push((format!("{name}, after the workloads"), rss_kib(server.child.id())));
    }
    drop(targets);

    let mut scale_rows = Vec::new();
    eprintln!("scale on SQLite");
    scale(&args, "SQLite", None, &mut scale_rows, &mut memory).await;
    if let Some(pg) = &args.postgres {
        let name = format!("userpool_bench_{}", std::process::id());
        sqlx::any::install_default_drivers();
        let mut admin = sqlx::AnyConnection::connect(pg).await.expect("connect to PostgreSQL");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut admin).await.expect("create");
        let base = pg.rsplit_once('/').map_or(pg.as_str(), |(b, _)| b);
        eprintln!("scale on PostgreSQL");
        scale(&args, "PostgreSQL", Some(&format!("{base}/{name}")), &mut scale_rows, &mut memory).await;
        let drop_db = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        sqlx::query(sqlx::AssertSqlSafe(drop_db)).execute(&mut admin).await.expect("drop");
    }

    eprintln!("ceilings");
    let argon2 = argon2_ceiling(HashParams::OWASP, if args.quick { 1.0 } else { 3.0 });
    let axum_addr = bare_axum().await;
    let mut axum_rows = Vec::new();
    for clients in [1, 8, 64] {
        let step = one_call("Echo", |_| json!({}));
        let (rps, latencies, errors) = load(&axum_addr, clients, if args.quick { 2000 } else { 10_000 }, step).await;
        axum_rows.push((clients, rps, percentile(&latencies, 0.5), percentile(&latencies, 0.99), errors));
    }

    report(&args, &starts, &memory, &rows, &scale_rows, argon2, &axum_rows);
}

#[allow(clippy::cast_precision_loss, reason = "kibibytes to mebibytes for display")]
fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn report(
    args: &Args,
    starts: &[(String, f64, u64)],
    memory: &[(String, u64)],
    rows: &[Row],
    scale_rows: &[ScaleRow],
    argon2: f64,
    axum_rows: &[(usize, f64, f64, f64, usize)],
) {
    println!("## Start and memory\n");
    println!("| server | spawn to first answered call (ms) | idle RSS (MiB) |\n|---|---|---|");
    for (label, ms, kib) in starts {
        println!("| {label} | {ms:.1} | {:.1} |", mib(*kib));
    }
    println!("\n| server, moment | RSS (MiB) |\n|---|---|");
    for (label, kib) in memory {
        println!("| {label} | {:.1} |", mib(*kib));
    }
    println!("\n## Throughput and latency\n");
    println!(
        "| server | workload | clients | requests | req/s | p50 ms | p99 ms | failed |\n|---|---|---|---|---|---|---|---|"
    );
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {:.0} | {:.2} | {:.2} | {} |",
            r.target, r.workload, r.clients, r.requests, r.rps, r.p50, r.p99, r.errors
        );
    }
    if rows.iter().any(|r| r.target == "moto") {
        println!("\n### Against moto (req/s of userpool ÷ req/s of moto; above 1 is faster)\n");
        let targets: Vec<&str> = {
            let mut t: Vec<&str> = rows.iter().map(|r| r.target.as_str()).filter(|t| *t != "moto").collect();
            t.dedup();
            t
        };
        println!("| workload | clients | {} |\n|---|---|{}", targets.join(" | "), "---|".repeat(targets.len()));
        for m in rows.iter().filter(|r| r.target == "moto") {
            let ratios: Vec<String> = targets
                .iter()
                .map(|t| {
                    rows.iter()
                        .find(|r| r.target == *t && r.workload == m.workload && r.clients == m.clients)
                        .map_or("–".into(), |r| format!("{:.2}", r.rps / m.rps))
                })
                .collect();
            println!("| {} | {} | {} |", m.workload, m.clients, ratios.join(" | "));
        }
    }
    println!("\n## A pool of {} users next to one of 1,000 (one client, p50)\n", args.scale_users);
    println!(
        "| engine | operation | 1,000 users (ms) | {} users (ms) | ratio |\n|---|---|---|---|---|",
        args.scale_users
    );
    for r in scale_rows {
        println!(
            "| {} | {} | {:.2} | {:.2} | {:.2} |",
            r.engine,
            r.operation,
            r.small_p50,
            r.large_p50,
            r.large_p50 / r.small_p50
        );
    }
    println!("\n## Ceilings of this machine, measured in the same run\n");
    println!("argon2id (m=19 MiB, t=2, p=1) with every core hashing: {argon2:.0} hashes/s\n");
    println!("| bare axum JSON endpoint, clients | req/s | p50 ms | p99 ms | failed |\n|---|---|---|---|---|");
    for (clients, rps, p50, p99, errors) in axum_rows {
        println!("| {clients} | {rps:.0} | {p50:.3} | {p99:.3} | {errors} |");
    }
}
