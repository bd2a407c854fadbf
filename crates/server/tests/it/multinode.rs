//! Two userpool nodes on one PostgreSQL database behave as one service (issue 6): a code sent
//! through one node is confirmed through the other; races spread over both nodes use a code once
//! and never exceed a budget; signing keys, tokens and revocations are shared.

use crate::support::{TestServer, databases, error_of, messages, settings};
use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{AuthFlowType, ExplicitAuthFlowsType};

async fn last_code(url: &str, pool: &str, name: &str) -> String {
    messages(url, pool, name).await.last().unwrap()["Code"].as_str().unwrap().to_string()
}

/// The node request i goes to.
fn node(nodes: &[Client; 2], i: usize) -> &Client {
    &nodes[i % 2]
}

#[tokio::test]
async fn two_nodes_on_one_postgresql_act_as_one() {
    let mut postgres = None;
    for db in databases().await {
        if db.label == "postgres" { postgres = Some(db) } else { db.cleanup().await }
    }
    let Some(db) = postgres else {
        eprintln!("two-node test skipped: it needs PostgreSQL (USERPOOL_TEST_DATABASE_URL)");
        return;
    };
    // The per-pool request quota is counted per node (README); the per-user budgets under test
    // are in the database.
    let config = || {
        let mut s = settings(&db.url, None);
        s.recovery.rate_limit_per_second = 0;
        s
    };
    let (a, b) = (TestServer::start_with(config()).await, TestServer::start_with(config()).await);
    let nodes = [a.client(), b.client()];
    let pool = nodes[0].create_user_pool().pool_name("two-nodes").send().await.unwrap().user_pool.unwrap().id.unwrap();
    let client = nodes[1]
        .create_user_pool_client()
        .user_pool_id(&pool)
        .client_name("app")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .send()
        .await
        .unwrap()
        .user_pool_client
        .unwrap()
        .client_id
        .unwrap();
    for name in ["ann", "ben", "cal"] {
        crate::auth::user(&nodes[0], &pool, name, "Passw0rd!").await;
    }

    // A code sent through node A is read and confirmed through node B; 40 confirmations with it,
    // spread over both nodes, succeed once. With the default budget of 5 compared attempts, the
    // others are refused as used or over the budget.
    nodes[0].forgot_password().client_id(&client).username("ann").send().await.unwrap();
    let code = last_code(&b.url, &pool, "ann").await;
    let confirms: Vec<_> = (0..40)
        .map(|i| {
            let (c, client, code) = (node(&nodes, i).clone(), client.clone(), code.clone());
            tokio::spawn(async move {
                let password = format!("N3w-Passw0rd{i}");
                let result = c
                    .confirm_forgot_password()
                    .client_id(client)
                    .username("ann")
                    .confirmation_code(code)
                    .password(&password)
                    .send()
                    .await;
                (password, result)
            })
        })
        .collect();
    let (mut successes, mut password) = (0, String::new());
    for t in confirms {
        match t.await.unwrap() {
            (chosen, Ok(_)) => {
                successes += 1;
                password = chosen;
            }
            (_, Err(e)) => {
                let (kind, _) = error_of::<_, ()>(Err(e));
                assert!(kind == "ExpiredCodeException" || kind == "LimitExceededException", "{kind}");
            }
        }
    }
    assert_eq!(successes, 1, "one code, one use, across nodes");

    // 60 wrong guesses over both nodes: 5 are compared, the rest refused unseen.
    nodes[1].forgot_password().client_id(&client).username("ben").send().await.unwrap();
    let code = last_code(&a.url, &pool, "ben").await;
    let wrong = if code == "000000" { "111111".to_string() } else { "000000".to_string() };
    let guesses: Vec<_> = (0..60)
        .map(|i| {
            let (c, client, wrong) = (node(&nodes, i).clone(), client.clone(), wrong.clone());
            tokio::spawn(async move {
                let result = c
                    .confirm_forgot_password()
                    .client_id(client)
                    .username("ben")
                    .confirmation_code(wrong)
                    .password("Whatever1x!")
                    .send()
                    .await;
                error_of(result).0
            })
        })
        .collect();
    let (mut mismatches, mut limited) = (0, 0);
    for t in guesses {
        match t.await.unwrap().as_str() {
            "CodeMismatchException" => mismatches += 1,
            "LimitExceededException" => limited += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((mismatches, limited), (5, 55), "the budget is shared by the nodes");

    // The send budget (5 an hour) holds across nodes too.
    let sends: Vec<_> = (0..10)
        .map(|i| {
            let (c, client) = (node(&nodes, i).clone(), client.clone());
            tokio::spawn(async move { c.forgot_password().client_id(client).username("cal").send().await })
        })
        .collect();
    let mut sent = 0;
    for t in sends {
        match t.await.unwrap() {
            Ok(_) => sent += 1,
            Err(e) => assert_eq!(error_of::<_, ()>(Err(e)).0, "LimitExceededException"),
        }
    }
    assert_eq!(sent, 5);
    assert_eq!(messages(&b.url, &pool, "cal").await.len(), 5, "each acknowledged send is recorded once");

    // Tokens: the first sign-ins race to create the pool's keys on both nodes; one set wins, and
    // each node accepts the other's tokens.
    let sign_in = |c: Client, client: String, password: String| async move {
        c.initiate_auth()
            .client_id(client)
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .auth_parameters("USERNAME", "ann")
            .auth_parameters("PASSWORD", password)
            .send()
            .await
    };
    let (from_a, from_b) = tokio::join!(
        sign_in(nodes[0].clone(), client.clone(), password.clone()),
        sign_in(nodes[1].clone(), client.clone(), password.clone())
    );
    let (from_a, from_b) =
        (from_a.unwrap().authentication_result.unwrap(), from_b.unwrap().authentication_result.unwrap());
    assert_eq!(
        nodes[1].get_user().access_token(from_a.access_token().unwrap()).send().await.unwrap().username(),
        "ann"
    );
    assert_eq!(
        nodes[0].get_user().access_token(from_b.access_token().unwrap()).send().await.unwrap().username(),
        "ann"
    );

    // A rotation on node A: its new tokens verify on node B, whose cache still holds the old key.
    userpool::services::tokens::rotate_keys(&a.ctx, &pool).await.unwrap();
    let rotated = sign_in(nodes[0].clone(), client.clone(), password.clone()).await.unwrap();
    let rotated = rotated.authentication_result.unwrap();
    assert_eq!(
        nodes[1].get_user().access_token(rotated.access_token().unwrap()).send().await.unwrap().username(),
        "ann"
    );

    // A refresh token revoked through one node is refused by the other.
    nodes[1].revoke_token().client_id(&client).token(from_a.refresh_token().unwrap()).send().await.unwrap();
    let (kind, message) = error_of(
        nodes[0]
            .initiate_auth()
            .client_id(&client)
            .auth_flow(AuthFlowType::RefreshTokenAuth)
            .auth_parameters("REFRESH_TOKEN", from_a.refresh_token().unwrap())
            .send()
            .await,
    );
    assert_eq!((kind.as_str(), message.as_str()), ("NotAuthorizedException", "Refresh Token has been revoked"));

    // A global sign-out through node A ends access tokens on node B.
    nodes[0].global_sign_out().access_token(rotated.access_token().unwrap()).send().await.unwrap();
    let (kind, message) = error_of(nodes[1].get_user().access_token(from_b.access_token().unwrap()).send().await);
    assert_eq!((kind.as_str(), message.as_str()), ("NotAuthorizedException", "Access Token has been revoked"));

    a.stop().await;
    b.stop().await;
    db.cleanup().await;
}
