//! Password sign-in and the tokens it issues.

use crate::support::{TestServer, databases, error_of, http, messages, sqlite};
use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{
    AttributeType, AuthFlowType, ChallengeNameType, ExplicitAuthFlowsType, MessageActionType,
    PreventUserExistenceErrorTypes,
};

async fn pool_with_client(c: &Client, hide: bool) -> (String, String) {
    let pool = c.create_user_pool().pool_name("auth").send().await.unwrap().user_pool.unwrap().id.unwrap();
    let mut client = c
        .create_user_pool_client()
        .user_pool_id(&pool)
        .client_name("app")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowAdminUserPasswordAuth);
    if hide {
        client = client.prevent_user_existence_errors(PreventUserExistenceErrorTypes::Enabled);
    }
    (pool.clone(), client.send().await.unwrap().user_pool_client.unwrap().client_id.unwrap())
}

/// A confirmed user `name` with a verified `name@example.com` and a permanent password.
pub(crate) async fn user(c: &Client, pool: &str, name: &str, password: &str) {
    c.admin_create_user()
        .user_pool_id(pool)
        .username(name)
        .message_action(MessageActionType::Suppress)
        .user_attributes(AttributeType::builder().name("email").value(format!("{name}@example.com")).build().unwrap())
        .user_attributes(AttributeType::builder().name("email_verified").value("true").build().unwrap())
        .send()
        .await
        .unwrap();
    c.admin_set_user_password()
        .user_pool_id(pool)
        .username(name)
        .password(password)
        .permanent(true)
        .send()
        .await
        .unwrap();
}

async fn sign_in(
    c: &Client,
    client: &str,
    name: &str,
    password: &str,
) -> Result<
    aws_sdk_cognitoidentityprovider::operation::initiate_auth::InitiateAuthOutput,
    aws_sdk_cognitoidentityprovider::error::SdkError<
        aws_sdk_cognitoidentityprovider::operation::initiate_auth::InitiateAuthError,
    >,
> {
    c.initiate_auth()
        .client_id(client)
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .auth_parameters("USERNAME", name)
        .auth_parameters("PASSWORD", password)
        .send()
        .await
}

/// After ConfirmForgotPassword the new password signs in and the old one does not, on every engine.
#[tokio::test]
async fn the_new_password_signs_in_after_a_reset() {
    for db in databases().await {
        let server = TestServer::start(&db.url).await;
        let c = server.client();
        let (pool, client) = pool_with_client(&c, false).await;
        user(&c, &pool, "carl", "Passw0rd!").await;
        assert!(sign_in(&c, &client, "carl", "Passw0rd!").await.unwrap().authentication_result.is_some());
        c.admin_reset_user_password().user_pool_id(&pool).username("carl").send().await.unwrap();
        let (kind, message) = error_of(sign_in(&c, &client, "carl", "Passw0rd!").await);
        assert_eq!(
            (kind.as_str(), message.as_str()),
            ("PasswordResetRequiredException", "Password reset required for the user")
        );
        let code = messages(&server.url, &pool, "carl").await.last().unwrap()["Code"].as_str().unwrap().to_string();
        c.confirm_forgot_password()
            .client_id(&client)
            .username("carl")
            .confirmation_code(code)
            .password("N3wPassw0rd!")
            .send()
            .await
            .unwrap();
        let (kind, message) = error_of(sign_in(&c, &client, "carl", "Passw0rd!").await);
        assert_eq!(
            (kind.as_str(), message.as_str()),
            ("NotAuthorizedException", "Incorrect username or password."),
            "{}",
            db.label
        );
        let tokens = sign_in(&c, &client, "carl", "N3wPassw0rd!").await.unwrap().authentication_result.unwrap();
        let claims = server.ctx.store.find_user_by_username(&pool, "carl").await.unwrap().map(|u| u.sub).unwrap();
        let verified = userpool::services::tokens::verify(
            &server.ctx,
            &pool,
            tokens.id_token().unwrap(),
            userpool::keys::TokenUse::Id,
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!((verified["sub"].as_str(), verified["token_use"].as_str()), (Some(claims.as_str()), Some("id")));
        assert_eq!(verified["iss"].as_str().unwrap(), format!("{}/{pool}", server.url));
        server.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn status_gates_and_existence_hiding() {
    let db = sqlite();
    let server = TestServer::start(&db.url).await;
    let c = server.client();
    let (pool, legacy) = pool_with_client(&c, false).await;
    let hidden = c
        .create_user_pool_client()
        .user_pool_id(&pool)
        .client_name("hidden")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .prevent_user_existence_errors(PreventUserExistenceErrorTypes::Enabled)
        .send()
        .await
        .unwrap()
        .user_pool_client
        .unwrap()
        .client_id
        .unwrap();
    let (kind, message) = error_of(sign_in(&c, &legacy, "nobody", "Passw0rd!").await);
    assert_eq!((kind.as_str(), message.as_str()), ("UserNotFoundException", "User does not exist."));
    let (kind, message) = error_of(sign_in(&c, &hidden, "nobody", "Passw0rd!").await);
    assert_eq!((kind.as_str(), message.as_str()), ("NotAuthorizedException", "Incorrect username or password."));

    user(&c, &pool, "dora", "Passw0rd!").await;
    c.admin_disable_user().user_pool_id(&pool).username("dora").send().await.unwrap();
    let (kind, message) = error_of(sign_in(&c, &legacy, "dora", "Passw0rd!").await);
    assert_eq!((kind.as_str(), message.as_str()), ("NotAuthorizedException", "User is disabled."));

    c.sign_up().client_id(&legacy).username("ulla").password("Passw0rd!").send().await.unwrap();
    let (kind, message) = error_of(sign_in(&c, &legacy, "ulla", "Passw0rd!").await);
    assert_eq!((kind.as_str(), message.as_str()), ("UserNotConfirmedException", "User is not confirmed."));

    let plain = c
        .create_user_pool_client()
        .user_pool_id(&pool)
        .client_name("srp-only")
        .send()
        .await
        .unwrap()
        .user_pool_client
        .unwrap()
        .client_id
        .unwrap();
    let (kind, message) = error_of(sign_in(&c, &plain, "dora", "Passw0rd!").await);
    assert_eq!(
        (kind.as_str(), message.as_str()),
        ("InvalidParameterException", "USER_PASSWORD_AUTH flow not enabled for this client")
    );

    c.admin_create_user()
        .user_pool_id(&pool)
        .username("tess")
        .temporary_password("Temp0rary!")
        .message_action(MessageActionType::Suppress)
        .send()
        .await
        .unwrap();
    let challenge = sign_in(&c, &legacy, "tess", "Temp0rary!").await.unwrap();
    assert_eq!(challenge.challenge_name(), Some(&ChallengeNameType::NewPasswordRequired));
    let (kind, _) = error_of(
        c.respond_to_auth_challenge()
            .client_id(&legacy)
            .challenge_name(ChallengeNameType::NewPasswordRequired)
            .session("forged-session.not-signed-by-this-server")
            .challenge_responses("NEW_PASSWORD", "Fin4lPassw0rd!")
            .challenge_responses("USERNAME", "tess")
            .send()
            .await,
    );
    assert_eq!(kind, "NotAuthorizedException", "a forged session is refused");
    let done = c
        .respond_to_auth_challenge()
        .client_id(&legacy)
        .challenge_name(ChallengeNameType::NewPasswordRequired)
        .session(challenge.session().unwrap())
        .challenge_responses("NEW_PASSWORD", "Fin4lPassw0rd!")
        .challenge_responses("USERNAME", "tess")
        .send()
        .await
        .unwrap();
    assert!(done.authentication_result().is_some_and(|r| r.access_token().is_some()));
    assert!(sign_in(&c, &legacy, "tess", "Fin4lPassw0rd!").await.unwrap().authentication_result.is_some());
    server.stop().await;
    db.cleanup().await;
}

/// 20 concurrent wrong passwords: five are checked, the rest meet the lockout, and then even the
/// right password is refused.
#[tokio::test]
async fn lockout_holds_under_concurrency() {
    let db = sqlite();
    let server = TestServer::start(&db.url).await;
    let c = server.client();
    let (pool, client) = pool_with_client(&c, false).await;
    user(&c, &pool, "eve", "Passw0rd!").await;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (c, client) = (c.clone(), client.clone());
            tokio::spawn(async move { error_of(sign_in(&c, &client, "eve", "Wrong0ne!").await).1 })
        })
        .collect();
    let mut incorrect = 0;
    for t in tasks {
        match t.await.unwrap().as_str() {
            "Incorrect username or password." => incorrect += 1,
            "Password attempts exceeded" => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(incorrect, 5);
    let (_, message) = error_of(sign_in(&c, &client, "eve", "Passw0rd!").await);
    assert_eq!(message, "Password attempts exceeded");
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn tokens_verify_through_the_jwks_and_tampering_is_refused() {
    let db = sqlite();
    let server = TestServer::start(&db.url).await;
    let c = server.client();
    let (pool, client) = pool_with_client(&c, false).await;
    user(&c, &pool, "finn", "Passw0rd!").await;
    let tokens = sign_in(&c, &client, "finn", "Passw0rd!").await.unwrap().authentication_result.unwrap();
    let access = tokens.access_token().unwrap();
    let claims = userpool::services::tokens::verify(&server.ctx, &pool, access, userpool::keys::TokenUse::Access)
        .await
        .unwrap()
        .unwrap();
    assert!(
        userpool::services::tokens::verify(&server.ctx, &pool, access, userpool::keys::TokenUse::Id)
            .await
            .unwrap()
            .is_none(),
        "an access token is not an ID token"
    );
    assert_eq!((claims["token_use"].as_str(), claims["username"].as_str()), (Some("access"), Some("finn")));
    assert_eq!(claims["client_id"].as_str(), Some(client.as_str()));
    let mut parts: Vec<String> = access.split('.').map(String::from).collect();
    let forged = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        serde_json::to_vec(&serde_json::json!({"sub": "someone-else", "exp": 9_999_999_999i64})).unwrap(),
    );
    parts[1] = forged;
    assert!(
        userpool::services::tokens::verify(&server.ctx, &pool, &parts.join("."), userpool::keys::TokenUse::Access)
            .await
            .unwrap()
            .is_none()
    );

    let (status, _, body) = http(&server.url, "GET", &format!("/{pool}/.well-known/jwks.json"), &[], b"").await;
    assert_eq!(status, 200);
    let jwks: serde_json::Value = serde_json::from_str(&body).unwrap();
    let kids: Vec<&str> = jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(kids.len(), 2);
    assert_ne!(kids[0], kids[1], "ID and access tokens are signed under different keys");
    let (status, _, _) = http(&server.url, "GET", "/us-east-1_nope/.well-known/jwks.json", &[], b"").await;
    assert_eq!(status, 404);
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn refresh_get_user_change_password_and_sign_out() {
    let db = sqlite();
    let server = TestServer::start(&db.url).await;
    let c = server.client();
    let (pool, client) = pool_with_client(&c, false).await;
    let client_with_refresh = c
        .update_user_pool_client()
        .user_pool_id(&pool)
        .client_id(&client)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .send()
        .await
        .unwrap();
    assert!(client_with_refresh.user_pool_client().is_some());
    user(&c, &pool, "gina", "Passw0rd!").await;
    let first = sign_in(&c, &client, "gina", "Passw0rd!").await.unwrap().authentication_result.unwrap();
    let refresh_token = first.refresh_token().unwrap().to_string();
    let access = first.access_token().unwrap().to_string();

    let me = c.get_user().access_token(&access).send().await.unwrap();
    assert_eq!(me.username(), "gina");
    assert!(me.user_attributes().iter().any(|a| a.name() == "email" && a.value() == Some("gina@example.com")));
    let (kind, message) = error_of(c.get_user().access_token(first.id_token().unwrap()).send().await);
    assert_eq!(
        (kind.as_str(), message.as_str()),
        ("NotAuthorizedException", "Invalid Access Token"),
        "an ID token is not an access token"
    );

    let refreshed = c
        .initiate_auth()
        .client_id(&client)
        .auth_flow(AuthFlowType::RefreshTokenAuth)
        .auth_parameters("REFRESH_TOKEN", &refresh_token)
        .send()
        .await
        .unwrap()
        .authentication_result
        .unwrap();
    assert!(refreshed.refresh_token().is_none(), "no rotation");
    assert!(refreshed.access_token().is_some_and(|t| t != access));

    let (kind, _) = error_of(
        c.change_password()
            .access_token(&access)
            .previous_password("Wr0ng-pass!")
            .proposed_password("N3w-Passw0rd!")
            .send()
            .await,
    );
    assert_eq!(kind, "NotAuthorizedException");
    let (kind, message) = error_of(
        c.change_password()
            .access_token(&access)
            .previous_password("Passw0rd!")
            .proposed_password("Ab1!x")
            .send()
            .await,
    );
    assert_eq!(kind, "InvalidParameterException", "{message}");
    let (kind, message) = error_of(
        c.change_password()
            .access_token(&access)
            .previous_password("Passw0rd!")
            .proposed_password("nouppercase1!")
            .send()
            .await,
    );
    assert_eq!(
        (kind.as_str(), message.as_str()),
        ("InvalidPasswordException", "Password did not conform with policy: Password must have uppercase characters")
    );
    c.change_password()
        .access_token(&access)
        .previous_password("Passw0rd!")
        .proposed_password("N3w-Passw0rd!")
        .send()
        .await
        .unwrap();
    assert!(sign_in(&c, &client, "gina", "N3w-Passw0rd!").await.is_ok());

    c.global_sign_out().access_token(&access).send().await.unwrap();
    let (kind, message) = error_of(c.get_user().access_token(&access).send().await);
    assert_eq!((kind.as_str(), message.as_str()), ("NotAuthorizedException", "Access Token has been revoked"));
    let (kind, message) = error_of(
        c.initiate_auth()
            .client_id(&client)
            .auth_flow(AuthFlowType::RefreshTokenAuth)
            .auth_parameters("REFRESH_TOKEN", &refresh_token)
            .send()
            .await,
    );
    assert_eq!((kind.as_str(), message.as_str()), ("NotAuthorizedException", "Refresh Token has been revoked"));

    // RevokeToken ends one refresh token; a fresh sign-in after the sign-out works.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let again = sign_in(&c, &client, "gina", "N3w-Passw0rd!").await.unwrap().authentication_result.unwrap();
    c.get_user().access_token(again.access_token().unwrap()).send().await.unwrap();
    c.revoke_token().client_id(&client).token(again.refresh_token().unwrap()).send().await.unwrap();
    let (kind, _) = error_of(
        c.initiate_auth()
            .client_id(&client)
            .auth_flow(AuthFlowType::RefreshTokenAuth)
            .auth_parameters("REFRESH_TOKEN", again.refresh_token().unwrap())
            .send()
            .await,
    );
    assert_eq!(kind, "NotAuthorizedException");
    server.stop().await;
    db.cleanup().await;
}

/// With existence hidden, an unknown name meets the limits a real user meets.
#[tokio::test]
async fn unknown_names_meet_the_same_limits_when_hidden() {
    let db = sqlite();
    let server = TestServer::start(&db.url).await;
    let c = server.client();
    let (_, hidden) = pool_with_client(&c, true).await;
    for _ in 0..5 {
        let (_, message) = error_of(sign_in(&c, &hidden, "nobody", "Wrong0ne!").await);
        assert_eq!(message, "Incorrect username or password.");
    }
    let (_, message) = error_of(sign_in(&c, &hidden, "nobody", "Wrong0ne!").await);
    assert_eq!(message, "Password attempts exceeded");
    for _ in 0..5 {
        c.forgot_password().client_id(&hidden).username("nobody").send().await.unwrap();
    }
    let (kind, _) = error_of(c.forgot_password().client_id(&hidden).username("nobody").send().await);
    assert_eq!(kind, "LimitExceededException");
    for _ in 0..5 {
        let (kind, _) = error_of(
            c.confirm_forgot_password()
                .client_id(&hidden)
                .username("nobody")
                .confirmation_code("123456")
                .password("Passw0rd!9")
                .send()
                .await,
        );
        assert_eq!(kind, "CodeMismatchException");
    }
    let (kind, _) = error_of(
        c.confirm_forgot_password()
            .client_id(&hidden)
            .username("nobody")
            .confirmation_code("123456")
            .password("Passw0rd!9")
            .send()
            .await,
    );
    assert_eq!(kind, "LimitExceededException");
    server.stop().await;
    db.cleanup().await;
}

/// Cognito's UserAuthentication request-rate quota, per pool (issue 12, item 6): past it in one
/// second, InitiateAuth is `TooManyRequestsException: Rate exceeded`; the next second it works.
#[tokio::test]
async fn sign_ins_have_a_per_pool_request_quota() {
    use std::sync::Arc;
    use userpool::clock::ManualClock;
    let db = sqlite();
    let clock = Arc::new(ManualClock::new(1_800_000_000_000));
    let mut config = crate::support::settings(&db.url, None);
    config.recovery.auth_rate_limit_per_second = 3;
    let server = TestServer::start_with_clock(config, clock.clone()).await;
    let c = server.client();
    let (pool, client) = pool_with_client(&c, false).await;
    user(&c, &pool, "quinn", "Passw0rd!").await;
    for _ in 0..3 {
        sign_in(&c, &client, "quinn", "Passw0rd!").await.unwrap();
    }
    assert_eq!(
        error_of(sign_in(&c, &client, "quinn", "Passw0rd!").await),
        ("TooManyRequestsException".into(), "Rate exceeded".into())
    );
    clock.advance_ms(1000);
    sign_in(&c, &client, "quinn", "Passw0rd!").await.unwrap();
    server.stop().await;
    db.cleanup().await;
}
