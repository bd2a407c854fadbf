//! Cognito's rules, independent of the wire and of storage.

pub mod attributes;
pub mod codes;
pub mod filter;
pub mod ids;
pub mod password_policy;
pub mod pools;
pub mod quota;
pub mod recovery;
pub mod users;
