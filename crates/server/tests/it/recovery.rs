//! The recovery flow through the SDK: codes, budgets, races, expiry, user-existence hiding.

use crate::support::{TestServer, databases, error_of, messages, secret_hash, settings, sqlite};
use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{
    AttributeType, MessageActionType, PasswordPolicyType, PreventUserExistenceErrorTypes, UserPoolPolicyType,
    UserStatusType,
};
use std::sync::Arc;
use userpool::clock::ManualClock;

fn attr(name: &str, value: &str) -> AttributeType {
    AttributeType::builder().name(name).value(value).build().unwrap()
}

/// A pool, a client and a confirmed user `bob` with a verified email; returns (pool, client id).
async fn setup(c: &Client, history: Option<i32>, hide_users: bool) -> (String, String) {
    let mut policy = PasswordPolicyType::builder().minimum_length(8).require_numbers(true);
    if let Some(n) = history {
        policy = policy.password_history_size(n);
    }
    let pool = c
        .create_user_pool()
        .pool_name("recovery")
        .policies(UserPoolPolicyType::builder().password_policy(policy.build()).build())
        .send()
        .await
        .unwrap()
        .user_pool
        .unwrap()
        .id
        .unwrap();
    let mut client = c.create_user_pool_client().user_pool_id(&pool).client_name("app");
    if hide_users {
        client = client.prevent_user_existence_errors(PreventUserExistenceErrorTypes::Enabled);
    }
    let client_id = client.send().await.unwrap().user_pool_client.unwrap().client_id.unwrap();
    c.admin_create_user()
        .user_pool_id(&pool)
        .username("bob")
        .message_action(MessageActionType::Suppress)
        .user_attributes(attr("email", "bob@example.com"))
        .user_attributes(attr("email_verified", "true"))
        .send()
        .await
        .unwrap();
    c.admin_set_user_password()
        .user_pool_id(&pool)
        .username("bob")
        .password("Passw0rd1")
        .permanent(true)
        .send()
        .await
        .unwrap();
    (pool, client_id)
}

async fn last_code(url: &str, pool: &str) -> String {
    messages(url, pool, "bob").await.last().unwrap()["Code"].as_str().unwrap().to_string()
}

fn other_code(code: &str) -> String {
    if code == "000000" { "111111".into() } else { "000000".into() }
}

/// The whole flow, with a restart between the code and the confirmation, on every engine.
#[tokio::test]
async fn reset_survives_a_restart_and_the_code_is_single_use() {
    for db in databases().await {
        let first = TestServer::start(&db.url).await;
        let c = first.client();
        let (pool, client) = setup(&c, None, false).await;
        let out = c.forgot_password().client_id(&client).username("bob").send().await.unwrap();
        assert_eq!(out.code_delivery_details().unwrap().destination(), Some("b***@e***"), "{}", db.label);
        let user = c.admin_get_user().user_pool_id(&pool).username("bob").send().await.unwrap();
        assert_eq!(user.user_status(), Some(&UserStatusType::Confirmed), "ForgotPassword leaves the status alone");
        let code = last_code(&first.url, &pool).await;
        first.stop().await;

        let second = TestServer::start(&db.url).await;
        let c = second.client();
        c.confirm_forgot_password()
            .client_id(&client)
            .username("bob")
            .confirmation_code(&code)
            .password("NewPassw0rd")
            .send()
            .await
            .unwrap();
        let (kind, message) = error_of(
            c.confirm_forgot_password()
                .client_id(&client)
                .username("bob")
                .confirmation_code(&code)
                .password("Other1pass")
                .send()
                .await,
        );
        assert_eq!(
            (kind.as_str(), message.as_str()),
            ("ExpiredCodeException", "Invalid code provided, please request a code again.")
        );
        let stored = second.ctx.store.find_user_by_username(&pool, "bob").await.unwrap().unwrap();
        assert!(
            userpool::hashing::PasswordHasher::verify_blocking("NewPassw0rd", stored.password_hash.as_deref().unwrap()),
            "{}",
            db.label
        );
        assert!(!userpool::hashing::PasswordHasher::verify_blocking(
            "Passw0rd1",
            stored.password_hash.as_deref().unwrap()
        ));
        second.stop().await;
        db.cleanup().await;
    }
}

/// 50 concurrent confirmations with the one valid code: exactly one succeeds, on every engine.
#[tokio::test]
async fn concurrent_confirms_of_one_code_succeed_once() {
    for db in databases().await {
        let mut s = settings(&db.url, None);
        s.recovery.confirm_attempts_per_hour = 100;
        s.recovery.rate_limit_per_second = 0;
        let server = TestServer::start_with(s).await;
        let c = server.client();
        let (pool, client) = setup(&c, None, false).await;
        c.forgot_password().client_id(&client).username("bob").send().await.unwrap();
        let code = last_code(&server.url, &pool).await;
        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let (c, client, code) = (c.clone(), client.clone(), code.clone());
                tokio::spawn(async move {
                    c.confirm_forgot_password()
                        .client_id(client)
                        .username("bob")
                        .confirmation_code(code)
                        .password(format!("Concurrent{i}x"))
                        .send()
                        .await
                })
            })
            .collect();
        let mut successes = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => successes += 1,
                Err(e) => {
                    let (kind, _) = error_of::<_, ()>(Err(e));
                    assert_eq!(kind, "ExpiredCodeException", "{}", db.label);
                }
            }
        }
        assert_eq!(successes, 1, "{}", db.label);
        server.stop().await;
        db.cleanup().await;
    }
}

/// 100 concurrent wrong guesses: the budget (5) is compared, every other guess is refused
/// unseen, on every engine; then even the right code is refused.
#[tokio::test]
async fn concurrent_wrong_guesses_never_exceed_the_budget() {
    for db in databases().await {
        let mut s = settings(&db.url, None);
        s.recovery.rate_limit_per_second = 0;
        let server = TestServer::start_with(s).await;
        let c = server.client();
        let (pool, client) = setup(&c, None, false).await;
        c.forgot_password().client_id(&client).username("bob").send().await.unwrap();
        let code = last_code(&server.url, &pool).await;
        let wrong = other_code(&code);
        let tasks: Vec<_> = (0..100)
            .map(|_| {
                let (c, client, wrong) = (c.clone(), client.clone(), wrong.clone());
                tokio::spawn(async move {
                    error_of(
                        c.confirm_forgot_password()
                            .client_id(client)
                            .username("bob")
                            .confirmation_code(wrong)
                            .password("Whatever1x")
                            .send()
                            .await,
                    )
                    .0
                })
            })
            .collect();
        let (mut mismatches, mut limited) = (0, 0);
        for t in tasks {
            match t.await.unwrap().as_str() {
                "CodeMismatchException" => mismatches += 1,
                "LimitExceededException" => limited += 1,
                other => panic!("{}: unexpected {other}", db.label),
            }
        }
        assert_eq!((mismatches, limited), (5, 95), "{}", db.label);
        let (kind, message) = error_of(
            c.confirm_forgot_password()
                .client_id(&client)
                .username("bob")
                .confirmation_code(&code)
                .password("Whatever1x")
                .send()
                .await,
        );
        assert_eq!(
            (kind.as_str(), message.as_str()),
            ("LimitExceededException", "Attempt limit exceeded, please try after some time.")
        );
        server.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn codes_expire_and_the_newest_wins() {
    let db = sqlite();
    let clock = Arc::new(ManualClock::new(1_800_000_000_000));
    let server = TestServer::start_with_clock(settings(&db.url, None), clock.clone()).await;
    let c = server.client();
    let (pool, client) = setup(&c, None, false).await;
    c.forgot_password().client_id(&client).username("bob").send().await.unwrap();
    let old = last_code(&server.url, &pool).await;
    c.admin_reset_user_password().user_pool_id(&pool).username("bob").send().await.unwrap();
    let user = c.admin_get_user().user_pool_id(&pool).username("bob").send().await.unwrap();
    assert_eq!(user.user_status(), Some(&UserStatusType::ResetRequired));
    let newest = last_code(&server.url, &pool).await;
    assert_eq!(messages(&server.url, &pool, "bob").await.last().unwrap()["Purpose"], "AdminResetUserPassword");
    if old != newest {
        let (kind, _) = error_of(
            c.confirm_forgot_password()
                .client_id(&client)
                .username("bob")
                .confirmation_code(&old)
                .password("NewPassw0rd")
                .send()
                .await,
        );
        assert_eq!(kind, "CodeMismatchException", "an older code is void");
    }
    clock.advance_ms(3_600_001);
    let (kind, _) = error_of(
        c.confirm_forgot_password()
            .client_id(&client)
            .username("bob")
            .confirmation_code(&newest)
            .password("NewPassw0rd")
            .send()
            .await,
    );
    assert_eq!(kind, "ExpiredCodeException", "codes live one hour");
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn order_of_checks_policy_history_and_send_budget() {
    let db = sqlite();
    let server = TestServer::start(&db.url).await;
    let c = server.client();
    let (pool, client) = setup(&c, Some(2), false).await;
    c.forgot_password().client_id(&client).username("bob").send().await.unwrap();
    let code = last_code(&server.url, &pool).await;
    let confirm = |code: String, password: &'static str| {
        c.confirm_forgot_password().client_id(&client).username("bob").confirmation_code(code).password(password).send()
    };
    let (kind, _) = error_of(confirm(other_code(&code), "weakpass").await);
    assert_eq!(kind, "CodeMismatchException", "the code is checked before the password");
    let (kind, message) = error_of(confirm(code.clone(), "weakpass").await);
    assert_eq!(
        (kind.as_str(), message.as_str()),
        ("InvalidPasswordException", "Password does not conform to policy: Password must have numeric characters")
    );
    let (kind, _) = error_of(confirm(code.clone(), "Passw0rd1").await);
    assert_eq!(kind, "PasswordHistoryPolicyViolationException", "the current password is in the history");
    confirm(code, "Brandnew1").await.unwrap();
    c.forgot_password().client_id(&client).username("bob").send().await.unwrap();
    let code = last_code(&server.url, &pool).await;
    let (kind, _) = error_of(confirm(code.clone(), "Passw0rd1").await);
    assert_eq!(kind, "PasswordHistoryPolicyViolationException", "history size 2 covers the previous password");
    confirm(code, "Thirdone1").await.unwrap();

    for _ in 0..3 {
        c.forgot_password().client_id(&client).username("bob").send().await.unwrap();
    }
    // Five requests per hour: two before the reset (which clears the count), then three.
    c.forgot_password().client_id(&client).username("bob").send().await.unwrap();
    c.forgot_password().client_id(&client).username("bob").send().await.unwrap();
    let (kind, _) = error_of(c.forgot_password().client_id(&client).username("bob").send().await);
    assert_eq!(kind, "LimitExceededException");
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn unknown_and_disabled_users_are_hidden_when_the_client_asks() {
    let db = sqlite();
    let server = TestServer::start(&db.url).await;
    let c = server.client();
    let (pool, hidden) = setup(&c, None, true).await;
    let legacy = c
        .create_user_pool_client()
        .user_pool_id(&pool)
        .client_name("legacy")
        .send()
        .await
        .unwrap()
        .user_pool_client
        .unwrap()
        .client_id
        .unwrap();

    let (kind, message) = error_of(c.forgot_password().client_id(&legacy).username("ghost").send().await);
    assert_eq!(
        (kind.as_str(), message.as_str()),
        ("UserNotFoundException", "Username/client id combination not found.")
    );
    let a = c.forgot_password().client_id(&hidden).username("ghost").send().await.unwrap();
    let b = c.forgot_password().client_id(&hidden).username("ghost").send().await.unwrap();
    assert_eq!(a.code_delivery_details(), b.code_delivery_details(), "the simulated answer is stable");
    assert!(messages(&server.url, &pool, "ghost").await.is_empty());
    let (kind, _) = error_of(
        c.confirm_forgot_password()
            .client_id(&hidden)
            .username("ghost")
            .confirmation_code("123456")
            .password("Passw0rd9")
            .send()
            .await,
    );
    assert_eq!(kind, "CodeMismatchException");
    let (kind, _) = error_of(
        c.confirm_forgot_password()
            .client_id(&legacy)
            .username("ghost")
            .confirmation_code("123456")
            .password("Passw0rd9")
            .send()
            .await,
    );
    assert_eq!(kind, "UserNotFoundException");

    c.admin_disable_user().user_pool_id(&pool).username("bob").send().await.unwrap();
    let (kind, message) = error_of(c.forgot_password().client_id(&legacy).username("bob").send().await);
    assert_eq!((kind.as_str(), message.as_str()), ("NotAuthorizedException", "User is disabled."));
    c.forgot_password().client_id(&hidden).username("bob").send().await.unwrap();
    let (kind, _) = error_of(
        c.confirm_forgot_password()
            .client_id(&hidden)
            .username("bob")
            .confirmation_code("123456")
            .password("Passw0rd9")
            .send()
            .await,
    );
    assert_eq!(kind, "CodeMismatchException");
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn secret_hash_and_context_data() {
    let db = sqlite();
    let server = TestServer::start(&db.url).await;
    let c = server.client();
    let (pool, _) = setup(&c, None, false).await;
    let client = c
        .create_user_pool_client()
        .user_pool_id(&pool)
        .client_name("s")
        .generate_secret(true)
        .send()
        .await
        .unwrap()
        .user_pool_client
        .unwrap();
    let (id, secret) = (client.client_id().unwrap(), client.client_secret().unwrap());
    let (kind, message) = error_of(c.forgot_password().client_id(id).username("bob").send().await);
    assert_eq!(
        (kind.as_str(), message),
        ("NotAuthorizedException", format!("Unable to verify secret hash for client {id}"))
    );
    let bad_ip = aws_sdk_cognitoidentityprovider::types::UserContextDataType::builder().ip_address("999.1.1.1").build();
    let (kind, _) = error_of(
        c.forgot_password()
            .client_id(id)
            .secret_hash(secret_hash(secret, "bob", id))
            .username("bob")
            .user_context_data(bad_ip)
            .send()
            .await,
    );
    assert_eq!(kind, "InvalidParameterException");
    let ip = aws_sdk_cognitoidentityprovider::types::UserContextDataType::builder().ip_address("192.0.2.7").build();
    c.forgot_password()
        .client_id(id)
        .secret_hash(secret_hash(secret, "bob", id))
        .username("bob")
        .user_context_data(ip)
        .send()
        .await
        .unwrap();
    let sub = server.ctx.store.find_user_by_username(&pool, "bob").await.unwrap().unwrap().sub;
    let events = server.ctx.store.recovery_events(&pool, &sub).await.unwrap();
    assert_eq!(
        events.last().map(|(e, ip, _)| (e.as_str(), ip.as_deref())),
        Some(("ForgotPassword", Some("192.0.2.7")))
    );
    server.stop().await;
    db.cleanup().await;
}
