//! Lambda triggers (docs/triggers.md): the runner and Cognito's event envelope here, each
//! family's typed requests and responses in its own module. A pool's LambdaConfig names
//! functions by ARN; the configuration file's `[functions."<arn>"]` tables say how to run each:
//! a webhook (POST the event, the answer is the result), a local command (the event on stdin,
//! the result on stdout) or the Lambda Invoke API at an endpoint, SigV4-signed. A function set on
//! a pool but mapped to nothing fails as Cognito fails when it cannot invoke one.
//! https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-working-with-lambda-triggers.html

mod authentication;
mod custom_message;
mod sign_up;
mod token_generation;

pub use authentication::{
    AuthenticationRequest, MigrationResponse, PostAuthenticationRequest, PreAuthenticationRequest, UserMigrationRequest,
};
pub use custom_message::{CustomMessageRequest, CustomMessageResponse};
pub use sign_up::{PostConfirmationRequest, PreSignUpRequest, PreSignUpResponse};
pub use token_generation::{GroupConfiguration, PreTokenGenerationRequest, PreTokenGenerationResponse};

use crate::api_error;
use crate::clock::Clock;
use crate::config::{Credentials, FunctionConfig, TriggerSettings};
use crate::domain::pools::Pool;
use crate::error::ApiResult;
use crate::http_client;
use crate::metrics::Metrics;
use crate::store::UserRow;
use crate::tls::TlsConnector;
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use userpool_model::types::PreTokenGenerationLambdaVersionType;

const ATTEMPTS: u32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    PreSignUp,
    PostConfirmation,
    CustomMessage,
    PreAuthentication,
    PostAuthentication,
    PreTokenGeneration,
    UserMigration,
}

impl Trigger {
    /// The name Cognito's trigger errors carry.
    pub const fn name(self) -> &'static str {
        match self {
            Trigger::PreSignUp => "PreSignUp",
            Trigger::PostConfirmation => "PostConfirmation",
            Trigger::CustomMessage => "CustomMessage",
            Trigger::PreAuthentication => "PreAuthentication",
            Trigger::PostAuthentication => "PostAuthentication",
            Trigger::PreTokenGeneration => "PreTokenGeneration",
            Trigger::UserMigration => "UserMigration",
        }
    }

    /// The pool's function for this trigger and the event version it gets. PreTokenGeneration's
    /// PreTokenGenerationConfig, when set, wins over the older PreTokenGeneration field.
    fn function(self, pool: &Pool) -> Option<(String, &'static str)> {
        let config = pool.config.lambda_config.as_ref()?;
        let arn = match self {
            Trigger::PreSignUp => config.pre_sign_up.clone(),
            Trigger::PostConfirmation => config.post_confirmation.clone(),
            Trigger::CustomMessage => config.custom_message.clone(),
            Trigger::PreAuthentication => config.pre_authentication.clone(),
            Trigger::PostAuthentication => config.post_authentication.clone(),
            Trigger::UserMigration => config.user_migration.clone(),
            Trigger::PreTokenGeneration => {
                if let Some(v) = &config.pre_token_generation_config {
                    let version = match v.lambda_version {
                        PreTokenGenerationLambdaVersionType::V10 => "1",
                        PreTokenGenerationLambdaVersionType::V20 => "2",
                        PreTokenGenerationLambdaVersionType::V30 => "3",
                    };
                    return Some((v.lambda_arn.clone(), version));
                }
                config.pre_token_generation.clone()
            }
        };
        arn.map(|a| (a, "1"))
    }
}

/// Whether the pool has a function for `trigger`.
pub fn configured(pool: &Pool, trigger: Trigger) -> bool {
    trigger.function(pool).is_some()
}

/// The event version the pool's PreTokenGeneration function gets ("1" when there is none).
pub fn pre_token_version(pool: &Pool) -> &'static str {
    Trigger::PreTokenGeneration.function(pool).map_or("1", |(_, v)| v)
}

/// Who called the operation that runs a trigger: the app client (none for admin calls) and the
/// ClientMetadata it sent.
#[derive(Clone, Copy, Default)]
pub struct Caller<'a> {
    pub client_id: Option<&'a str>,
    pub client_metadata: Option<&'a BTreeMap<String, String>>,
}

impl<'a> Caller<'a> {
    /// The call of a trigger about `user_name` on this caller's behalf.
    pub fn invocation(&self, source: &'static str, user_name: &'a str) -> Invocation<'a> {
        Invocation { source, user_name, client_id: self.client_id }
    }
}

/// Who a trigger call is about: its `triggerSource`, the user and the app client.
#[derive(Clone, Copy)]
pub struct Invocation<'a> {
    /// `triggerSource`, e.g. `PostConfirmation_ConfirmForgotPassword`.
    pub source: &'static str,
    /// `userName`: the internal username.
    pub user_name: &'a str,
    /// The app client; admin (IAM) calls have none.
    pub client_id: Option<&'a str>,
}

/// Attributes as events carry them: names to string values.
pub type Attributes = BTreeMap<String, String>;

/// The `userAttributes` of an event: every attribute as a string, with `cognito:user_status`
/// (docs/cognito-facts.md#trigger-event-envelope).
pub fn user_attributes(user: &UserRow) -> Attributes {
    let mut map: Attributes = user.attributes.iter().cloned().collect();
    map.insert("cognito:user_status".into(), user.status.clone());
    map
}

/// Attributes as a request sends them (`UserAttributes`, `ValidationData`), as an event's map.
pub fn attribute_map(list: &[userpool_model::types::AttributeType]) -> Attributes {
    list.iter().map(|a| (a.name.clone(), a.value.as_deref().map_or("", String::as_str).to_string())).collect()
}

/// A boolean of a function's answer: true only when the answer says `true`.
fn flag(response: &Map<String, Value>, key: &str) -> bool {
    response.get(key).and_then(Value::as_bool) == Some(true)
}

/// A string of a function's answer, when it is one.
fn text(response: &Map<String, Value>, key: &str) -> Option<String> {
    response.get(key).and_then(Value::as_str).map(str::to_string)
}

/// Runs trigger functions as the configuration file maps them: the one component that calls out
/// to Lambda functions, webhooks and commands.
pub struct TriggerRunner {
    settings: TriggerSettings,
    region: String,
    tls: Arc<TlsConnector>,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
}

impl TriggerRunner {
    pub fn new(
        settings: TriggerSettings,
        region: String,
        tls: Arc<TlsConnector>,
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
    ) -> TriggerRunner {
        TriggerRunner { settings, region, tls, clock, metrics }
    }

    /// Runs the pool's function for `trigger` with Cognito's envelope around `request` (the one
    /// place that builds it); `None` when the pool has no function, else the `response` object
    /// the function returned. The trigger families' modules give each trigger its typed request
    /// and response.
    async fn run(
        &self,
        pool: &Pool,
        trigger: Trigger,
        e: Invocation<'_>,
        request: &impl Serialize,
    ) -> ApiResult<Option<Map<String, Value>>> {
        let Some((arn, version)) = trigger.function(pool) else {
            return Ok(None);
        };
        let name = trigger.name();
        let Some(function) = self.settings.functions.get(&arn) else {
            tracing::warn!(trigger = name, arn, "the pool's function is not mapped in the configuration file");
            return Err(api_error!(UnexpectedLambdaException, "{name} invocation failed due to configuration."));
        };
        let event = json!({
            "version": version,
            "triggerSource": e.source,
            "region": self.region,
            "userPoolId": pool.id,
            "userName": e.user_name,
            "callerContext": {
                "awsSdkVersion": "aws-sdk-unknown-unknown",
                "clientId": e.client_id.unwrap_or("CLIENT_ID_NOT_APPLICABLE"),
            },
            "request": request,
            "response": {},
        });
        let started = std::time::Instant::now();
        let result = self.call(function, &arn, &event, e.source, name).await;
        let outcome = result.as_ref().map_or_else(|e| e.code().as_str(), |_| "ok");
        self.metrics.trigger(name, outcome, started.elapsed().as_secs_f64());
        result.map(Some)
    }

    /// Up to three attempts of one call, each within the timeout; the result's `response`.
    async fn call(
        &self,
        function: &FunctionConfig,
        arn: &str,
        event: &Value,
        source: &str,
        name: &'static str,
    ) -> ApiResult<Map<String, Value>> {
        let body = event.to_string();
        let timeout = Duration::from_millis(self.settings.timeout_ms);
        let started = std::time::Instant::now();
        let mut reason = String::new();
        for attempt in 1..=ATTEMPTS {
            let outcome = tokio::time::timeout(timeout, self.invoke(function, arn, body.as_bytes())).await;
            match outcome {
                Ok(Ok(output)) => {
                    tracing::info!(trigger = name, source, attempt, ms = started.elapsed().as_millis(), "trigger ran");
                    return parse_result(name, &output);
                }
                Ok(Err(Failure::Function(message))) => {
                    tracing::info!(trigger = name, source, attempt, "trigger function failed");
                    return Err(api_error!(UserLambdaValidationException, "{name} failed with error {message}."));
                }
                Ok(Err(Failure::Invocation(why))) => {
                    tracing::warn!(trigger = name, attempt, reason = why, "trigger invocation failed");
                    // The caller learns a Lambda error type, not paths, addresses or TLS details.
                    let lambda_error = why.ends_with("Exception") && !why.contains(char::is_whitespace);
                    reason = if lambda_error { why } else { "the function could not be reached".into() };
                }
                Err(_) => {
                    tracing::warn!(trigger = name, attempt, "trigger timed out");
                    reason = "Socket timeout while invoking Lambda function".into();
                }
            }
        }
        Err(api_error!(UnexpectedLambdaException, "{name} invocation failed due to error {reason}."))
    }

    async fn invoke(&self, function: &FunctionConfig, arn: &str, event: &[u8]) -> Result<Vec<u8>, Failure> {
        if let Some(url) = &function.webhook {
            let (status, _, body) =
                http_client::post(&self.tls, url, &[("content-type", "application/json".into())], event)
                    .await
                    .map_err(Failure::Invocation)?;
            return match status {
                200..=299 => Ok(body),
                _ => match error_message(&body) {
                    Some(message) => Err(Failure::Function(message)),
                    None => Err(Failure::Invocation(format!("HTTP {status}"))),
                },
            };
        }
        if let Some(argv) = &function.command {
            return run_command(argv, event).await;
        }
        let endpoint = function.lambda_endpoint.as_deref().unwrap_or_default();
        self.lambda_invoke(function, endpoint, arn, event).await
    }

    /// Lambda's Invoke API (RequestResponse), signed with SigV4 for the `lambda` service.
    /// https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
    async fn lambda_invoke(
        &self,
        function: &FunctionConfig,
        endpoint: &str,
        arn: &str,
        event: &[u8],
    ) -> Result<Vec<u8>, Failure> {
        // arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]
        let parts: Vec<&str> = arn.split(':').collect();
        let (name, qualifier) = match parts.as_slice() {
            [_, _, _, _, _, "function", name] => (*name, None),
            [_, _, _, _, _, "function", name, qualifier] => (*name, Some(*qualifier)),
            _ => return Err(Failure::Invocation(format!("{arn} is not a Lambda function ARN"))),
        };
        let region = function.region.clone().or_else(|| parts.get(3).map(|r| (*r).to_string())).unwrap_or_default();
        let path = format!("/2015-03-31/functions/{name}/invocations");
        // A qualifier such as $LATEST travels, and is signed, percent-encoded.
        let query = qualifier.map(|q| format!("Qualifier={}", crate::sigv4::uri_encode(q))).unwrap_or_default();
        let host = endpoint.split("://").nth(1).unwrap_or_default().split('/').next().unwrap_or_default().to_string();
        let mut headers: Vec<(&str, String)> = vec![
            ("content-type", "application/json".into()),
            ("host", host),
            ("x-amz-date", crate::sigv4::amz_date(self.clock.now_ms())),
            ("x-amz-invocation-type", "RequestResponse".into()),
        ];
        let credentials = Credentials {
            access_key_id: function.access_key_id.clone().unwrap_or_default(),
            secret_access_key: function.secret_access_key.clone().unwrap_or_default(),
        };
        let authorization =
            crate::sigv4::authorization(&credentials, &region, "lambda", ("POST", &path, &query), &headers, event);
        headers.push(("authorization", authorization));
        let url = format!(
            "{}{path}{}",
            endpoint.trim_end_matches('/'),
            if query.is_empty() { String::new() } else { format!("?{query}") }
        );
        let (status, response_headers, body) =
            http_client::post(&self.tls, &url, &headers, event).await.map_err(Failure::Invocation)?;
        if !(200..300).contains(&status) {
            // `ResourceNotFoundException:http://internal.amazon.com/...`: the type is before the colon.
            let kind = response_headers
                .iter()
                .find(|(k, _)| k == "x-amzn-errortype")
                .and_then(|(_, v)| v.split(':').next().map(str::to_string));
            return Err(Failure::Invocation(kind.unwrap_or_else(|| format!("HTTP {status}"))));
        }
        if response_headers.iter().any(|(k, _)| k == "x-amz-function-error") {
            return Err(Failure::Function(error_message(&body).unwrap_or_else(|| "Unhandled".into())));
        }
        Ok(body)
    }
}

fn parse_result(name: &str, output: &[u8]) -> ApiResult<Map<String, Value>> {
    let Ok(value) = serde_json::from_slice::<Value>(output) else {
        return Err(api_error!(InvalidLambdaResponseException, "Invalid lambda function output : Invalid JSON"));
    };
    match value.get("response") {
        Some(Value::Object(response)) => Ok(response.clone()),
        Some(Value::Null) => Ok(Map::new()),
        _ => {
            tracing::info!(trigger = name, "trigger result has no response object");
            Err(api_error!(InvalidLambdaResponseException, "Unrecognizable lambda output"))
        }
    }
}

enum Failure {
    /// The function ran and raised an error: its message.
    Function(String),
    /// The function could not be run or answered nothing usable: why.
    Invocation(String),
}

/// The `errorMessage` of a Lambda-style error object, if the body is one.
fn error_message(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    value.get("errorMessage").and_then(Value::as_str).map(str::to_string)
}

async fn run_command(argv: &[String], event: &[u8]) -> Result<Vec<u8>, Failure> {
    let mut child = tokio::process::Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        // The server's own secrets are not the function's business.
        .env_remove("USERPOOL_MASTER_KEY")
        .env_remove("USERPOOL_SECRET_ACCESS_KEY")
        .spawn()
        .map_err(|e| Failure::Invocation(format!("cannot run {}: {e}", argv[0])))?;
    // The event is written while the output is read: a program that answers as it reads would
    // otherwise fill its stdout pipe and wait for us while we wait for it.
    let stdin = child.stdin.take();
    let event = event.to_vec();
    let feed = tokio::spawn(async move {
        if let Some(mut stdin) = stdin {
            // A program that exits without reading its input is its own business.
            let _ = stdin.write_all(&event).await;
        }
    });
    let output = child.wait_with_output().await.map_err(|e| Failure::Invocation(e.to_string()))?;
    feed.abort();
    if output.stdout.len() as u64 > http_client::MAX_RESPONSE_BYTES {
        return Err(Failure::Invocation("the answer is longer than 6 MiB".into()));
    }
    if output.status.success() {
        return Ok(output.stdout);
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let message = error_message(&output.stdout)
        .or_else(|| stderr.lines().rev().find(|l| !l.trim().is_empty()).map(|l| l.trim().to_string()))
        .unwrap_or_else(|| format!("exit status {}", output.status.code().unwrap_or(-1)));
    Err(Failure::Function(message))
}
