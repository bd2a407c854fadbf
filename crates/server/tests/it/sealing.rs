//! Secrets at rest under a master key (issue 12, item 10).

use crate::support::{TestServer, databases, pool_with_password_client, settings};
use aws_sdk_cognitoidentityprovider::types::{AuthFlowType, MessageActionType};
use std::sync::Arc;
use userpool::clock::SystemClock;
use userpool::ctx::Ctx;
use userpool::keys::TokenUse;

const KEY_A: [u8; 32] = [0xA1; 32];
const KEY_B: [u8; 32] = [0xB2; 32];

fn with_key(url: &str, key: Option<[u8; 32]>) -> userpool::config::Settings {
    let mut s = settings(url, None);
    s.master_key = key.map(|k| k.to_vec().into());
    s
}

/// With a master key, the signing keys and the code key are stored sealed; a start with another
/// key or none is refused; `rotate-master-key`'s resealing keeps every token verifying.
#[tokio::test]
async fn signing_keys_and_the_code_key_are_sealed_at_rest() {
    for db in databases().await {
        let server = TestServer::start_with(with_key(&db.url, Some(KEY_A))).await;
        let c = server.client();
        let (pool, client) = pool_with_password_client(&c, "sealed", false).await;
        c.admin_create_user()
            .user_pool_id(&pool)
            .username("sid")
            .message_action(MessageActionType::Suppress)
            .send()
            .await
            .unwrap();
        c.admin_set_user_password()
            .user_pool_id(&pool)
            .username("sid")
            .password("Passw0rd!")
            .permanent(true)
            .send()
            .await
            .unwrap();
        let tokens = c
            .initiate_auth()
            .client_id(&client)
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .auth_parameters("USERNAME", "sid")
            .auth_parameters("PASSWORD", "Passw0rd!")
            .send()
            .await
            .unwrap()
            .authentication_result
            .unwrap();
        let keys = server.ctx.store.signing_keys(&pool).await.unwrap();
        assert_eq!(keys.len(), 2, "{}", db.label);
        for key in &keys {
            assert!(key.private_key.starts_with("sealed:v1:"), "{}: a signing key in clear", db.label);
        }
        let code_key = server.ctx.store.find_server_secret("code-hmac-key").await.unwrap().unwrap();
        assert!(code_key.starts_with("sealed:v1:"), "{}: the code key in clear", db.label);
        server.stop().await;

        let other = Ctx::new(with_key(&db.url, Some(KEY_B)), Arc::new(SystemClock)).await.err().unwrap();
        assert_eq!(other, "the database is sealed under another master key", "{}", db.label);
        let none = Ctx::new(with_key(&db.url, None), Arc::new(SystemClock)).await.err().unwrap();
        assert!(none.contains("--master-key-file"), "{}: {none}", db.label);

        let ctx = Ctx::new(with_key(&db.url, Some(KEY_A)), Arc::new(SystemClock)).await.unwrap();
        let new = userpool::sealing::Sealer::new(Some(&KEY_B)).unwrap();
        userpool::sealing::reseal(&ctx.store, &ctx.sealer, &new).await.unwrap();
        ctx.store.close().await;
        assert!(Ctx::new(with_key(&db.url, Some(KEY_A)), Arc::new(SystemClock)).await.is_err(), "{}", db.label);
        let ctx = Ctx::new(with_key(&db.url, Some(KEY_B)), Arc::new(SystemClock)).await.unwrap();
        let claims = userpool::services::tokens::verify(&ctx, &pool, tokens.access_token().unwrap(), TokenUse::Access)
            .await
            .unwrap();
        assert!(claims.is_some(), "{}: a token from before the rotation verifies", db.label);
        // A secret put in clear into the sealed database (by whoever can write to it) is refused,
        // not used and not sealed.
        ctx.store.set_server_secret("code-hmac-key", &"00".repeat(32)).await.unwrap();
        ctx.store.close().await;
        let planted = Ctx::new(with_key(&db.url, Some(KEY_B)), Arc::new(SystemClock)).await.err().unwrap();
        assert_eq!(planted, "a code-hmac-key is stored in clear in a sealed database", "{}", db.label);
        db.cleanup().await;
    }
}

/// Without a master key nothing changes: a database in clear starts, and one sealed later keeps
/// its values readable (values stored in clear are sealed at the first start with a key).
#[tokio::test]
async fn a_database_in_clear_is_sealed_at_its_first_start_with_a_key() {
    let db = crate::support::sqlite();
    let ctx = Ctx::new(with_key(&db.url, None), Arc::new(SystemClock)).await.unwrap();
    let code_key = ctx.code_key.clone();
    assert!(!ctx.store.find_server_secret("code-hmac-key").await.unwrap().unwrap().starts_with("sealed:"));
    ctx.store.close().await;
    let ctx = Ctx::new(with_key(&db.url, Some(KEY_A)), Arc::new(SystemClock)).await.unwrap();
    assert_eq!(ctx.code_key, code_key, "the same code key, now sealed");
    assert!(ctx.store.find_server_secret("code-hmac-key").await.unwrap().unwrap().starts_with("sealed:v1:"));
    ctx.store.close().await;
    db.cleanup().await;
}
