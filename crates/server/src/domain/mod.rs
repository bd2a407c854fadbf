//! Cognito's rules, independent of the wire and of storage.

pub mod attributes;
pub mod calendar;
pub mod codes;
pub mod filter;
pub mod ids;
pub mod pagination;
pub mod password_policy;
pub mod pools;
pub mod records;
pub mod recovery;
pub mod users;
