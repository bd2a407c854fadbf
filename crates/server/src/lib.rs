//! userpool: a server for the Amazon Cognito user pools API (`cognito-idp`, AWS JSON 1.1).
//!
//! Request flow: `protocol` frames the HTTP request (target, body limit, SigV4 for IAM
//! operations), validates the body against the service model (`userpool_model::validation`) and
//! hands a value to `ops::dispatch`, which deserialises it into the operation's generated request
//! type and calls a plain `async fn(&Ctx, Request) -> Result<Response, ApiError>`. Operations use
//! `domain` rules and the `Ctx`: `store` (SQLite or PostgreSQL), `hasher`, `delivery`, `clock`.

pub mod app;
pub mod clock;
pub mod config;
pub mod ctx;
pub mod delivery;
pub mod domain;
pub mod error;
pub mod hashing;
pub mod http_client;
pub mod keys;
pub mod metrics;
pub mod ops;
pub mod protocol;
pub mod quota;
pub mod sealing;
pub mod services;
pub mod sigv4;
pub mod sms;
pub mod smtp;
pub mod srp;
pub mod store;
pub mod tls;
pub mod triggers;
pub mod waf;
