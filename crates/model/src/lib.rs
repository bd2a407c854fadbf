//! The `cognito-idp` service model as Rust: the generated `Operation` and `ErrorCode` enums, the
//! request and response types, and the validator that checks a request body against the model's
//! constraints with Cognito's messages. Nothing here knows about HTTP or storage.

#[rustfmt::skip]
#[allow(unreachable_pub, clippy::all, reason = "generated code, formatted by the generator")]
pub mod generated;
pub mod schema;
mod sensitive;
pub mod validation;

pub use generated::errors::ErrorCode;
pub use generated::operations::Operation;
pub use generated::types;
pub use sensitive::Sensitive;
