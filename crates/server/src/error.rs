//! The one error type of every operation. Its code is a generated `ErrorCode` (the wire name and
//! status come from the model); its message is what the client reads. Internal causes are kept as
//! `source`, logged by the protocol layer and never sent.

use std::borrow::Cow;
use userpool_model::ErrorCode;

pub struct ApiError(Box<Inner>);

struct Inner {
    code: ErrorCode,
    message: Cow<'static, str>,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError(Box::new(Inner { code, message: message.into(), source: None }))
    }

    /// An `InternalErrorException` whose cause is logged, not sent.
    pub fn internal(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> ApiError {
        ApiError(Box::new(Inner {
            code: ErrorCode::InternalErrorException,
            message: Cow::Borrowed("Internal server error."),
            source: Some(source.into()),
        }))
    }

    pub fn code(&self) -> ErrorCode {
        self.0.code
    }

    pub fn message(&self) -> &str {
        &self.0.message
    }

    pub fn source(&self) -> Option<&(dyn std::error::Error + Send + Sync)> {
        self.0.source.as_deref()
    }
}

impl std::fmt::Debug for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.0.code.as_str(), self.0.message)
    }
}

/// `api_error!(UserNotFoundException, "User does not exist.")`, with `format!` arguments.
#[macro_export]
macro_rules! api_error {
    ($code:ident, $($message:tt)+) => {
        $crate::error::ApiError::new(userpool_model::ErrorCode::$code, format!($($message)+))
    };
}

pub type ApiResult<T> = Result<T, ApiError>;
