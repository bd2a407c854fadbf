//! A server per test, the SDK client pointed at it, and the databases to run against.

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::config::{BehaviorVersion, Credentials as SdkCredentials, Region};
use sqlx::Connection;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;
use userpool::app::serve;
use userpool::clock::SystemClock;
use userpool::config::HashParams;
use userpool::config::{Credentials, Settings};
use userpool::ctx::Ctx;

/// A database a test runs against; PostgreSQL ones are created fresh and dropped by `cleanup`.
pub struct TestDb {
    pub label: &'static str,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg_admin: Option<(String, String)>,
}

impl TestDb {
    pub async fn cleanup(self) {
        if let Some((admin_url, name)) = self.pg_admin
            && let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await
        {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                .execute(&mut conn)
                .await;
        }
    }
}

/// A fresh SQLite database, for tests whose subject is not the storage engine.
pub fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("userpool.db").display());
    TestDb { label: "sqlite", url, _dir: Some(dir), pg_admin: None }
}

/// SQLite always; PostgreSQL when USERPOOL_TEST_DATABASE_URL is set (required when
/// USERPOOL_REQUIRE_POSTGRES=1, as in CI).
pub async fn databases() -> Vec<TestDb> {
    let mut dbs = vec![sqlite()];
    match std::env::var("USERPOOL_TEST_DATABASE_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            let name = format!("userpool_it_{}", uuid::Uuid::new_v4().simple());
            let mut conn =
                sqlx::PgConnection::connect(&admin_url).await.expect("connect to USERPOOL_TEST_DATABASE_URL");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .expect("create test database");
            let base = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(b, _)| b);
            dbs.push(TestDb {
                label: "postgres",
                url: format!("{base}/{name}"),
                _dir: None,
                pg_admin: Some((admin_url, name)),
            });
        }
        _ => {
            assert!(
                std::env::var("USERPOOL_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "USERPOOL_REQUIRE_POSTGRES=1 but USERPOOL_TEST_DATABASE_URL is not set"
            );
            eprintln!("PostgreSQL tests skipped: USERPOOL_TEST_DATABASE_URL is not set");
        }
    }
    dbs
}

pub fn settings(database_url: &str, credentials: Option<Credentials>) -> Settings {
    Settings {
        bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        database_url: database_url.to_string(),
        region: "us-east-1".into(),
        account_id: "123456789012".into(),
        hashing: HashParams::TEST,
        hash_concurrency: 2,
        hash_queue: 64,
        test_endpoints: credentials.is_none(),
        credentials,
        recovery: userpool::config::RecoverySettings::default(),
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
    }
}

pub struct TestServer {
    pub url: String,
    pub ctx: Arc<Ctx>,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl TestServer {
    pub async fn start(database_url: &str) -> TestServer {
        Self::start_with(settings(database_url, None)).await
    }

    pub async fn start_with(settings: Settings) -> TestServer {
        Self::start_with_clock(settings, Arc::new(SystemClock)).await
    }

    pub async fn start_with_clock(settings: Settings, clock: Arc<dyn userpool::clock::Clock>) -> TestServer {
        let ctx = Arc::new(Ctx::new(settings, clock).await.expect("server context"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, Arc::clone(&ctx), async {
            let _ = rx.await;
        }));
        TestServer { url, ctx, shutdown: Some(tx), task }
    }

    /// Stops serving and closes the database, as a process exit would.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
        self.ctx.store.close().await;
    }

    pub fn client(&self) -> Client {
        client_for(&self.url, "test", "test")
    }
}

pub fn client_for(url: &str, access_key_id: &str, secret: &str) -> Client {
    let config = aws_sdk_cognitoidentityprovider::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(url)
        .credentials_provider(SdkCredentials::new(access_key_id, secret, None, None, "tests"))
        .build();
    Client::from_conf(config)
}

/// A plain HTTP/1.1 exchange, for what the SDK cannot send. Returns status, headers, body.
pub async fn http(
    url: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<(String, String)>, String) {
    let addr = url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    stream.write_all(body).await.expect("write body");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|s| s.parse().ok()).unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, body.to_string())
}

/// The messages the server recorded for a user (local mode).
pub async fn messages(url: &str, pool_id: &str, username: &str) -> Vec<serde_json::Value> {
    let (status, _, body) =
        http(url, "GET", &format!("/_userpool/messages?userPoolId={pool_id}&username={username}"), &[], b"").await;
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("messages JSON");
    v["Messages"].as_array().cloned().unwrap_or_default()
}

/// SecretHash as clients compute it.
pub fn secret_hash(secret: &str, username: &str, client_id: &str) -> String {
    use base64::Engine;
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(username.as_bytes());
    mac.update(client_id.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The error type and message of a failed SDK call.
pub fn error_of<E: aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata, T: std::fmt::Debug>(
    result: Result<T, E>,
) -> (String, String) {
    match result {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => (e.code().unwrap_or_default().to_string(), e.message().unwrap_or_default().to_string()),
    }
}

/// A new pool (`name`, auto-verifying email when `verify_email`) and an app client that allows
/// password sign-in: (pool id, client id).
pub async fn pool_with_password_client(c: &Client, name: &str, verify_email: bool) -> (String, String) {
    use aws_sdk_cognitoidentityprovider::types::{ExplicitAuthFlowsType, VerifiedAttributeType};
    let mut create = c.create_user_pool().pool_name(name);
    if verify_email {
        create = create.auto_verified_attributes(VerifiedAttributeType::Email);
    }
    let pool = create.send().await.unwrap().user_pool.unwrap().id.unwrap();
    let client = c
        .create_user_pool_client()
        .user_pool_id(&pool)
        .client_name("app")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .send()
        .await
        .unwrap()
        .user_pool_client
        .unwrap()
        .client_id
        .unwrap();
    (pool, client)
}
