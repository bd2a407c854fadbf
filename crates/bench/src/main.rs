//! `cargo run --release --locked -p userpool-bench [-- --quick]`
//!
//! Starts userpool in this process on a loopback port with a fresh SQLite database, measures the
//! machine's argon2 ceiling (hashes a second with every core busy), then drives ForgotPassword,
//! ConfirmForgotPassword, InitiateAuth (USER_PASSWORD_AUTH) and USER_SRP_AUTH at 1, 8 and 64 concurrent
//! keep-alive clients, with the production hash parameters and with the test profile. Prints a
//! Markdown table. The load generator shares the machine with the server, as a CI job would.

use serde_json::json;
use std::sync::Arc;
use userpool::app::serve;
use userpool::clock::SystemClock;
use userpool::config::HashParams;
use userpool::config::{RecoverySettings, Settings};
use userpool::ctx::Ctx;
use userpool::hashing::PasswordHasher;
use userpool::store::{AliasKind, NewUser};
use userpool_bench::{Step, argon2_ceiling, load, one_call, percentile, srp_sign_in};

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

async fn bench_profile(profile: &'static str, params: HashParams, quick: bool, rows: &mut Vec<Row>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = Settings {
        bind: "127.0.0.1:0".parse().expect("address"),
        database_url: format!("sqlite://{}?mode=rwc", dir.path().join("bench.db").display()),
        region: "us-east-1".into(),
        account_id: "000000000000".into(),
        hashing: params,
        hash_concurrency: std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
        hash_queue: 4096,
        credentials: None,
        test_endpoints: true,
        // Budgets and quota off: the benchmark measures the work, not the limits.
        recovery: RecoverySettings {
            confirm_attempts_per_hour: u32::MAX,
            forgot_password_per_hour: u32::MAX,
            rate_limit_per_second: 0,
            auth_rate_limit_per_second: 0,
            ..RecoverySettings::default()
        },
        issuer_base: None,
        triggers: userpool::config::TriggerSettings::default(),
        smtp: None,
        sms: None,
        tls_ca_file: None,
        cors_allowed_origins: Vec::new(),
        allowed_hosts: Vec::new(),
        master_key: None,
        waf: Default::default(),
        trusted_proxy_hops: 0,
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
        // One row: `requests` steps over `clients` connections.
        let mut measure = async |operation: &'static str, requests: usize, step: Step| {
            let (rps, lat, errors) = load(&addr, clients, requests, step).await;
            rows.push(Row {
                operation,
                profile,
                clients,
                requests,
                rps,
                p50_ms: percentile(&lat, 0.5),
                p99_ms: percentile(&lat, 0.99),
                errors,
            });
        };
        // ForgotPassword: round robin over the users; the last code per user stays valid.
        let n = per_level(true);
        let cid = client_id.clone();
        let step =
            one_call("ForgotPassword", move |i| json!({"ClientId": cid, "Username": format!("user{}", i % users)}));
        measure("ForgotPassword", n, step).await;

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
        measure("ConfirmForgotPassword", n, step).await;

        // Sign-in with the new password (one argon2 verification each).
        let cid = client_id.clone();
        let step = one_call("InitiateAuth", move |i| {
            json!({"ClientId": cid, "AuthFlow": "USER_PASSWORD_AUTH",
                   "AuthParameters": {"USERNAME": format!("user{}", i % n), "PASSWORD": format!("N3w!Passw0rd{clients}")}})
        });
        measure("InitiateAuth (USER_PASSWORD_AUTH)", n, step).await;

        // SRP sign-in (InitiateAuth and RespondToAuthChallenge) with the same passwords. No argon2:
        // the cost is the 3072-bit exponentiations, the client's included.
        let n = n.min(per_level(false));
        let step = srp_sign_in(client_id.clone(), pool_id.clone(), move |_| format!("N3w!Passw0rd{clients}"));
        measure("USER_SRP_AUTH (InitiateAuth + RespondToAuthChallenge)", n, step).await;
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
