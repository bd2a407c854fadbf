//! Settings: defaults, then the TOML file (`--config`), then flags and `USERPOOL_*` variables.
//! An unknown key in the file is an error. Every settings type of the server is defined here, so
//! the components that use them depend on this module and never the other way round.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use userpool_model::Sensitive;

/// Process settings from the command line; each has a `USERPOOL_*` environment fallback.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (the URL printed at start names it).
    #[arg(long, env = "USERPOOL_BIND")]
    pub bind: Option<SocketAddr>,
    /// Directory of the embedded SQLite database.
    #[arg(long, env = "USERPOOL_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Use PostgreSQL instead of the embedded SQLite: postgres://user@host:port/database.
    #[arg(long, env = "USERPOOL_DATABASE_URL")]
    pub database_url: Option<String>,
    /// TOML configuration file (docs/operating.md#configuration).
    #[arg(long, env = "USERPOOL_CONFIG")]
    pub config: Option<PathBuf>,
    /// AWS region of the pools (pool ids and ARNs carry it).
    #[arg(long, env = "USERPOOL_REGION")]
    pub region: Option<String>,
    /// Password hashing cost: `owasp` (argon2id m=19 MiB, t=2; the default) or `test` (fast, for
    /// test suites only).
    #[arg(long, env = "USERPOOL_HASH_PROFILE")]
    pub hash_profile: Option<HashProfile>,
    /// Access key id that signs IAM (admin) requests; with the secret, signatures are verified.
    #[arg(long, env = "USERPOOL_ACCESS_KEY_ID")]
    pub access_key_id: Option<String>,
    /// Secret access key that goes with --access-key-id.
    #[arg(long, env = "USERPOOL_SECRET_ACCESS_KEY", hide_env_values = true, value_parser = sensitive_arg)]
    pub secret_access_key: Option<Sensitive<String>>,
    /// Allow a non-loopback bind without credentials: anyone who reaches the port can call
    /// every admin operation.
    #[arg(long, env = "USERPOOL_INSECURE_NO_CREDENTIALS")]
    pub insecure_no_credentials: bool,
    /// How long a password-reset code is valid (Cognito: one hour).
    #[arg(long, env = "USERPOOL_CODE_VALIDITY_SECONDS")]
    pub code_validity_seconds: Option<u32>,
    /// Wrong reset codes a user may try per hour before LimitExceededException.
    #[arg(long, env = "USERPOOL_CONFIRM_ATTEMPTS_PER_HOUR")]
    pub confirm_attempts_per_hour: Option<u32>,
    /// ForgotPassword requests per user per hour before LimitExceededException.
    #[arg(long, env = "USERPOOL_FORGOT_PASSWORD_PER_HOUR")]
    pub forgot_password_per_hour: Option<u32>,
    /// Token issuer base URL (`iss` is `<base>/<pool id>`); by default the URL a request was
    /// sent to.
    #[arg(long, env = "USERPOOL_ISSUER_BASE")]
    pub issuer_base: Option<String>,
    /// Requests per second per pool for the UserAccountRecovery operations before
    /// TooManyRequestsException (Cognito: 30); 0 turns the quota off.
    #[arg(long, env = "USERPOOL_RECOVERY_RATE_LIMIT")]
    pub recovery_rate_limit: Option<u32>,
    /// Requests per second per pool for the UserAuthentication operations (InitiateAuth,
    /// AdminInitiateAuth, AdminRespondToAuthChallenge; RespondToAuthChallenge gets three times
    /// as many) before TooManyRequestsException (Cognito: 120); 0 turns the quota off.
    #[arg(long, env = "USERPOOL_AUTH_RATE_LIMIT")]
    pub auth_rate_limit: Option<u32>,
    /// A file holding the master key (64 hex digits) that seals the signing keys and the code
    /// key at rest; `USERPOOL_MASTER_KEY` may give the hex instead.
    #[arg(long, env = "USERPOOL_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
}

fn sensitive_arg(value: &str) -> Result<Sensitive<String>, std::convert::Infallible> {
    Ok(Sensitive(value.to_string()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum HashProfile {
    Owasp,
    Test,
}

/// The configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub bind: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub region: Option<String>,
    /// The 12-digit account id in ARNs.
    pub account_id: Option<String>,
    pub hash_profile: Option<HashProfile>,
    /// Explicit argon2id parameters; they override `hash_profile`.
    pub argon2: Option<HashParams>,
    /// Hashes computed at once (default: the number of cores).
    pub hash_concurrency: Option<usize>,
    pub credentials: Option<Credentials>,
    pub insecure_no_credentials: Option<bool>,
    /// Serve /_userpool/messages and /moto-api/* even when not in local mode.
    pub enable_test_endpoints: Option<bool>,
    pub code_validity_seconds: Option<u32>,
    pub confirm_attempts_per_hour: Option<u32>,
    pub forgot_password_per_hour: Option<u32>,
    pub recovery_rate_limit: Option<u32>,
    pub auth_rate_limit: Option<u32>,
    /// Hashing jobs that may wait for a hashing thread before TooManyRequestsException
    /// (default: 64 per thread).
    pub hash_queue: Option<usize>,
    pub issuer_base: Option<String>,
    /// How to run each Lambda ARN that pools name in their LambdaConfig.
    #[serde(default)]
    pub functions: BTreeMap<String, FunctionConfig>,
    /// How long one attempt of a trigger may take (default 5000, as Cognito).
    pub trigger_timeout_ms: Option<u64>,
    /// Send emails through this mail server (docs/mail.md#configuration).
    pub smtp: Option<SmtpSettings>,
    /// Send text messages through SNS or a webhook (docs/mail.md#configuration).
    pub sms: Option<SmsSettings>,
    /// PEM file of the CA certificates trusted for outgoing TLS (default: the system's).
    pub tls_ca_file: Option<PathBuf>,
    /// Web origins besides loopback ones (`http://localhost:*` …) that browsers may call from.
    #[serde(default)]
    pub cors_allowed_origins: Vec<String>,
    /// Host names besides loopback ones that the test endpoints (and, in local mode, the API)
    /// answer to.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// Web ACLs by pool id (`*`: every pool): docs/operating.md#web-acls.
    #[serde(default)]
    pub waf: BTreeMap<String, WebAcl>,
    /// Proxies in front of the server whose X-Forwarded-For entries are trusted (default 0: the
    /// source is the peer address).
    pub trusted_proxy_hops: Option<usize>,
}

/// Account-recovery limits (docs/cognito-facts.md#reset-code-properties, #quotas).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecoverySettings {
    /// Reset codes are valid this long.
    pub code_validity_ms: i64,
    /// Wrong-code budget per user per hour.
    pub confirm_attempts_per_hour: u32,
    /// ForgotPassword sends per user per hour.
    pub forgot_password_per_hour: u32,
    /// UserAccountRecovery requests per second per pool; 0 is off.
    pub rate_limit_per_second: u32,
    /// UserAuthentication requests per second per pool; 0 is off.
    pub auth_rate_limit_per_second: u32,
}

impl Default for RecoverySettings {
    fn default() -> Self {
        RecoverySettings {
            code_validity_ms: 3_600_000,
            confirm_attempts_per_hour: 5,
            forgot_password_per_hour: 5,
            rate_limit_per_second: 30,
            auth_rate_limit_per_second: 120,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: Sensitive<String>,
}

/// The effective settings. `Debug` hides the database password and the secret key.
#[derive(Clone)]
pub struct Settings {
    pub bind: SocketAddr,
    pub database_url: String,
    pub region: String,
    pub account_id: String,
    pub hashing: HashParams,
    pub hash_concurrency: usize,
    /// Hashing jobs that may wait; past that, TooManyRequestsException.
    pub hash_queue: usize,
    /// None: local mode, any well-formed signature is accepted.
    pub credentials: Option<Credentials>,
    /// /_userpool/messages and /moto-api/* are served.
    pub test_endpoints: bool,
    pub recovery: RecoverySettings,
    /// None: the URL each request was sent to.
    pub issuer_base: Option<String>,
    pub triggers: TriggerSettings,
    pub smtp: Option<SmtpSettings>,
    pub sms: Option<SmsSettings>,
    pub tls_ca_file: Option<PathBuf>,
    /// Origins allowed besides loopback ones (exact `scheme://host[:port]`).
    pub cors_allowed_origins: Vec<String>,
    /// Host names allowed besides loopback ones, for the test endpoints and local mode's API.
    pub allowed_hosts: Vec<String>,
    /// The 32-byte master key that seals secrets at rest; None: they are stored in clear.
    pub master_key: Option<Sensitive<Vec<u8>>>,
    /// Web ACLs by pool id (`*`: every pool).
    pub waf: BTreeMap<String, WebAcl>,
    /// Trusted proxies in front of the server (X-Forwarded-For entries to skip).
    pub trusted_proxy_hops: usize,
}

/// A web ACL: ordered rules, the first that matches a request decides; none matching, the
/// default action does.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebAcl {
    #[serde(default)]
    pub default_action: WafAction,
    #[serde(default)]
    pub rules: Vec<WafRule>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WafAction {
    #[default]
    Allow,
    Block,
}

/// A rule matches a request when every condition it has holds.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WafRule {
    pub action: WafAction,
    /// Source address ranges (CIDR, IPv4 or IPv6); empty: any address.
    #[serde(default)]
    pub ip: Vec<String>,
    /// A header whose value contains this text.
    pub header: Option<HeaderMatch>,
    /// Matches only once an address has sent more than this many requests (that the other
    /// conditions match) in five minutes.
    pub rate_limit: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderMatch {
    pub name: String,
    pub contains: String,
}

/// The master key from `--master-key-file` or `USERPOOL_MASTER_KEY`: 64 hex digits.
pub fn master_key(file: Option<&std::path::Path>) -> Result<Option<Sensitive<Vec<u8>>>, String> {
    let hex_text = match file {
        Some(path) => {
            std::fs::read_to_string(path).map_err(|e| format!("--master-key-file {}: {e}", path.display()))?
        }
        None => match std::env::var("USERPOOL_MASTER_KEY") {
            Ok(value) => value,
            Err(_) => return Ok(None),
        },
    };
    let key = hex::decode(hex_text.trim()).ok().filter(|k| k.len() == 32);
    key.map(|k| Some(Sensitive(k))).ok_or_else(|| "the master key must be 64 hexadecimal digits (32 bytes)".into())
}

/// argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HashParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl HashParams {
    /// OWASP's minimum for argon2id (m=19 MiB, t=2, p=1): the production default.
    pub const OWASP: HashParams = HashParams { memory_kib: 19_456, iterations: 2, parallelism: 1 };
    /// For test suites only: cheap enough that thousands of users sign up in seconds.
    pub const TEST: HashParams = HashParams { memory_kib: 256, iterations: 1, parallelism: 1 };
}

// ---- mail ----

/// How the connection to the mail server is protected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// Plain TCP: a relay on the same machine or a trusted network.
    #[default]
    Plain,
    /// Plain TCP upgraded with STARTTLS before anything else is sent (port 587, or 25).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    #[serde(default = "default_port")]
    pub port: u16,
    #[serde(default)]
    pub security: Security,
    pub username: Option<String>,
    pub password: Option<Sensitive<String>>,
    /// The sender when the pool's EmailConfiguration names none.
    pub from: Option<String>,
    /// The longest wait between two attempts at a message (default 300 s).
    pub retry_max_seconds: Option<u64>,
}

const fn default_port() -> u16 {
    25
}

impl SmtpSettings {
    /// Credentials go together, and never in clear text over the network: AUTH over plain SMTP
    /// is allowed to a relay on this machine only.
    pub fn check(&self) -> Result<(), String> {
        if self.username.is_some() != self.password.is_some() {
            return Err("[smtp]: username and password go together".into());
        }
        let loopback = matches!(self.host.as_str(), "localhost" | "127.0.0.1" | "::1");
        if self.username.is_some() && self.security == Security::Plain && !loopback {
            return Err(
                "[smtp]: a password would cross the network in clear text; set security to starttls or tls".into()
            );
        }
        Ok(())
    }
}

// ---- text messages ----

/// Exactly one of `webhook` and `sns_endpoint`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsSettings {
    /// POST `{"PhoneNumber", "Message", "MessageId"}` as JSON; any 2xx answer is a delivery.
    pub webhook: Option<String>,
    /// SNS, e.g. `https://sns.us-east-1.amazonaws.com`.
    pub sns_endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<Sensitive<String>>,
}

impl SmsSettings {
    pub fn check(&self) -> Result<(), String> {
        match (&self.webhook, &self.sns_endpoint) {
            (Some(url), None) => check_http_url(url).map_err(|e| format!("[sms]: {e}")),
            (None, Some(url)) if self.access_key_id.is_some() && self.secret_access_key.is_some() => {
                check_http_url(url).map_err(|e| format!("[sms]: {e}"))
            }
            (None, Some(_)) => Err("[sms]: sns_endpoint needs access_key_id and secret_access_key".into()),
            _ => Err("[sms]: give exactly one of webhook and sns_endpoint".into()),
        }
    }
}

// ---- Lambda triggers ----

/// How to run one function ARN: exactly one of `webhook`, `command` or `lambda_endpoint`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionConfig {
    /// `http(s)://host:port/path`: the event is POSTed as JSON; a 2xx answer's body is the result.
    pub webhook: Option<String>,
    /// A program and its arguments: the event on stdin, the result on stdout, exit status 0.
    pub command: Option<Vec<String>>,
    /// The Lambda Invoke API: `https://lambda.<region>.amazonaws.com`, or a local emulator's
    /// `http://host:port`.
    pub lambda_endpoint: Option<String>,
    /// The region the Invoke call is signed for (default: the ARN's).
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<Sensitive<String>>,
}

impl FunctionConfig {
    pub fn check(&self, arn: &str) -> Result<(), String> {
        let ways = [self.webhook.is_some(), self.command.is_some(), self.lambda_endpoint.is_some()];
        if ways.iter().filter(|w| **w).count() != 1 {
            return Err(format!("function {arn}: give exactly one of webhook, command and lambda_endpoint"));
        }
        if self.command.as_ref().is_some_and(Vec::is_empty) {
            return Err(format!("function {arn}: command is empty"));
        }
        if self.lambda_endpoint.is_some() && (self.access_key_id.is_none() || self.secret_access_key.is_none()) {
            return Err(format!("function {arn}: lambda_endpoint needs access_key_id and secret_access_key"));
        }
        for url in [&self.webhook, &self.lambda_endpoint].into_iter().flatten() {
            check_http_url(url).map_err(|e| format!("function {arn}: {e}"))?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggerSettings {
    pub functions: BTreeMap<String, FunctionConfig>,
    /// How long one attempt may take (Cognito: 5 s, three attempts).
    pub timeout_ms: u64,
}

impl Default for TriggerSettings {
    fn default() -> Self {
        TriggerSettings { functions: BTreeMap::new(), timeout_ms: 5000 }
    }
}

/// An `http://` or `https://` URL with a host, as the outgoing HTTP client will read it: a URL it
/// cannot use is refused at start, not at the first message or trigger call.
fn check_http_url(url: &str) -> Result<(), String> {
    let uri: hyper::Uri = url.parse().map_err(|e| format!("{url} is not a URL: {e}"))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.authority().is_none() {
        return Err(format!("{url} is not an http:// or https:// URL"));
    }
    Ok(())
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redacted_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    match rest.split_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        _ => url.to_string(),
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("bind", &self.bind)
            .field("database_url", &redacted_url(&self.database_url))
            .field("region", &self.region)
            .field("account_id", &self.account_id)
            .field("hashing", &self.hashing)
            .field("hash_concurrency", &self.hash_concurrency)
            .field("hash_queue", &self.hash_queue)
            .field("credentials", &self.credentials)
            .field("test_endpoints", &self.test_endpoints)
            .field("recovery", &self.recovery)
            .field("issuer_base", &self.issuer_base)
            .field("triggers", &self.triggers)
            .field("smtp", &self.smtp)
            .field("sms", &self.sms)
            .field("tls_ca_file", &self.tls_ca_file)
            .field("cors_allowed_origins", &self.cors_allowed_origins)
            .field("allowed_hosts", &self.allowed_hosts)
            .field("master_key", &self.master_key)
            .field("waf", &self.waf)
            .field("trusted_proxy_hops", &self.trusted_proxy_hops)
            .finish()
    }
}

impl Settings {
    pub fn resolve(args: ServeArgs) -> Result<Settings, String> {
        let file = match &args.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
                toml::from_str::<FileConfig>(&text).map_err(|e| format!("{}: {e}", path.display()))?
            }
            None => FileConfig::default(),
        };
        let bind = args.bind.or(file.bind).unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 9229)));
        let database_url = match args.database_url.or(file.database_url) {
            Some(url) => url,
            None => {
                let dir = args.data_dir.or(file.data_dir).unwrap_or_else(|| PathBuf::from("userpool-data"));
                std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                format!("sqlite://{}?mode=rwc", dir.join("userpool.db").display())
            }
        };
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres:")
            || database_url.starts_with("postgresql:"))
        {
            return Err(format!(
                "unsupported database URL {}: use sqlite:// or postgres://",
                redacted_url(&database_url)
            ));
        }
        let credentials = match (args.access_key_id, args.secret_access_key) {
            (Some(access_key_id), Some(secret_access_key)) => Some(Credentials { access_key_id, secret_access_key }),
            (None, None) => file.credentials,
            _ => return Err("--access-key-id and --secret-access-key go together".into()),
        };
        let insecure = args.insecure_no_credentials || file.insecure_no_credentials.unwrap_or(false);
        if credentials.is_none() && !bind.ip().is_loopback() && !insecure {
            return Err(format!(
                "refusing to listen on {bind} without credentials: admin operations would be open to anyone who reaches \
                 it. Configure credentials (--access-key-id/--secret-access-key) or pass --insecure-no-credentials."
            ));
        }
        // Outside local mode the issuer is configuration, never the Host header a caller sends:
        // tokens must not say whatever issuer a request asks for (docs/operating.md).
        let issuer_base = args.issuer_base.or(file.issuer_base);
        match &issuer_base {
            None if credentials.is_some() => {
                return Err("--issuer-base is required when credentials are configured: the tokens' issuer is not \
                            taken from the Host header outside local mode (e.g. --issuer-base https://auth.example.com)"
                    .into());
            }
            Some(base) => check_http_url(base).map_err(|e| format!("--issuer-base: {e}"))?,
            None => {}
        }
        let hashing = match (file.argon2, args.hash_profile.or(file.hash_profile)) {
            (Some(params), _) => params,
            (None, Some(HashProfile::Test)) => HashParams::TEST,
            (None, Some(HashProfile::Owasp) | None) => HashParams::OWASP,
        };
        let region = args.region.or(file.region).unwrap_or_else(|| "us-east-1".into());
        if region.is_empty() || !region.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(format!("invalid region {region:?}"));
        }
        let account_id = file.account_id.unwrap_or_else(|| "000000000000".into());
        if account_id.len() != 12 || !account_id.chars().all(|c| c.is_ascii_digit()) {
            return Err(format!("account_id must be 12 digits, not {account_id:?}"));
        }
        let defaults = RecoverySettings::default();
        let recovery = RecoverySettings {
            code_validity_ms: args
                .code_validity_seconds
                .or(file.code_validity_seconds)
                .map_or(defaults.code_validity_ms, |s| i64::from(s.max(1)) * 1000),
            confirm_attempts_per_hour: args
                .confirm_attempts_per_hour
                .or(file.confirm_attempts_per_hour)
                .unwrap_or(defaults.confirm_attempts_per_hour),
            forgot_password_per_hour: args
                .forgot_password_per_hour
                .or(file.forgot_password_per_hour)
                .unwrap_or(defaults.forgot_password_per_hour),
            rate_limit_per_second: args
                .recovery_rate_limit
                .or(file.recovery_rate_limit)
                .unwrap_or(defaults.rate_limit_per_second),
            auth_rate_limit_per_second: args
                .auth_rate_limit
                .or(file.auth_rate_limit)
                .unwrap_or(defaults.auth_rate_limit_per_second),
        };
        if let Some(sms) = &file.sms {
            sms.check()?;
        }
        if let Some(smtp) = &file.smtp {
            smtp.check()?;
        }
        for (arn, function) in &file.functions {
            function.check(arn)?;
        }
        let triggers = TriggerSettings {
            functions: file.functions,
            timeout_ms: file.trigger_timeout_ms.unwrap_or(TriggerSettings::default().timeout_ms),
        };
        let local = credentials.is_none();
        let master_key = master_key(args.master_key_file.as_deref())?;
        let hash_concurrency = file
            .hash_concurrency
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, std::num::NonZero::get));
        Ok(Settings {
            bind,
            database_url,
            region,
            account_id,
            hashing,
            hash_concurrency,
            hash_queue: file.hash_queue.unwrap_or(64 * hash_concurrency),
            credentials,
            test_endpoints: local || file.enable_test_endpoints.unwrap_or(false),
            recovery,
            issuer_base,
            triggers,
            smtp: file.smtp,
            sms: file.sms,
            tls_ca_file: file.tls_ca_file,
            cors_allowed_origins: file.cors_allowed_origins,
            allowed_hosts: file.allowed_hosts,
            master_key,
            waf: file.waf,
            trusted_proxy_hops: file.trusted_proxy_hops.unwrap_or(0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_in_the_file_are_errors() {
        let e = toml::from_str::<FileConfig>("bindd = \"127.0.0.1:1\"").unwrap_err();
        assert!(e.to_string().contains("unknown field"), "{e}");
    }

    #[test]
    fn non_loopback_without_credentials_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let args = ServeArgs {
            bind: Some("0.0.0.0:9229".parse().unwrap()),
            data_dir: Some(dir.path().into()),
            ..ServeArgs::default()
        };
        assert!(Settings::resolve(args.clone()).unwrap_err().contains("refusing"));
        let insecure = ServeArgs { insecure_no_credentials: true, ..args.clone() };
        assert!(Settings::resolve(insecure).unwrap().test_endpoints);
        let with_keys = ServeArgs {
            access_key_id: Some("AKID".into()),
            secret_access_key: Some("s".into()),
            issuer_base: Some("https://auth.example.com".into()),
            ..args
        };
        let s = Settings::resolve(with_keys).unwrap();
        assert!(!s.test_endpoints);
        assert!(!format!("{s:?}").contains("\"s\""), "the secret is not in Debug output");
    }

    /// Issue 12, item 8: with credentials the issuer comes from the configuration only.
    #[test]
    fn credentials_need_an_issuer_base() {
        let dir = tempfile::tempdir().unwrap();
        let args = ServeArgs {
            data_dir: Some(dir.path().into()),
            access_key_id: Some("AKID".into()),
            secret_access_key: Some("s".into()),
            ..ServeArgs::default()
        };
        assert!(Settings::resolve(args.clone()).unwrap_err().contains("--issuer-base is required"));
        let bad = ServeArgs { issuer_base: Some("auth.example.com".into()), ..args.clone() };
        assert!(Settings::resolve(bad).unwrap_err().contains("--issuer-base"));
        let good = ServeArgs { issuer_base: Some("https://auth.example.com".into()), ..args };
        assert_eq!(Settings::resolve(good).unwrap().issuer_base.as_deref(), Some("https://auth.example.com"));
        // Local mode keeps taking the issuer from the request.
        let local = ServeArgs { data_dir: Some(dir.path().into()), ..ServeArgs::default() };
        assert_eq!(Settings::resolve(local).unwrap().issuer_base, None);
    }

    #[test]
    fn database_passwords_are_redacted() {
        assert_eq!(redacted_url("postgres://app:s3cret@db:5432/pools"), "postgres://app:***@db:5432/pools");
        assert_eq!(redacted_url("postgres://postgres@127.0.0.1/test"), "postgres://postgres@127.0.0.1/test");
        let dir = tempfile::tempdir().unwrap();
        let args = ServeArgs {
            data_dir: Some(dir.path().into()),
            database_url: Some("mysql://root:hunter2@localhost/x".into()),
            ..ServeArgs::default()
        };
        assert!(!Settings::resolve(args).unwrap_err().contains("hunter2"));
    }

    #[test]
    fn defaults() {
        let dir = tempfile::tempdir().unwrap();
        let s = Settings::resolve(ServeArgs { data_dir: Some(dir.path().into()), ..ServeArgs::default() }).unwrap();
        assert_eq!(s.bind.to_string(), "127.0.0.1:9229");
        assert_eq!(s.region, "us-east-1");
        assert_eq!(s.hashing, HashParams::OWASP);
        assert!(s.database_url.starts_with("sqlite://") && s.database_url.ends_with("userpool.db?mode=rwc"));
        assert!(s.test_endpoints);
    }
}
