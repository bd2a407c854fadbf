#![allow(unreachable_pub, reason = "test support items are shared between test modules of one binary")]

//! Integration tests: the real server on an ephemeral port, driven by the AWS SDK for Rust.
//! Each test makes its own pool; database-backed tests run on SQLite and, when
//! USERPOOL_TEST_DATABASE_URL is set, on PostgreSQL too.

mod support;

mod attributes;
mod auth;
mod groups;
mod multinode;
mod persistence;
mod protocol;
mod recovery;
mod sealing;
mod storage;
mod tokens;
mod user_pools;
mod users;
mod waf;
