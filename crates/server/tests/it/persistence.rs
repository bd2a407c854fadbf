use crate::support::{TestServer, databases};
use aws_sdk_cognitoidentityprovider::types::{MessageActionType, UserStatusType};

/// Everything acknowledged before a stop is there after a restart, on every engine.
#[tokio::test]
async fn state_survives_a_restart() {
    for db in databases().await {
        let first = TestServer::start(&db.url).await;
        let c = first.client();
        let pool = c.create_user_pool().pool_name("durable").send().await.unwrap().user_pool.unwrap().id.unwrap();
        let client = c
            .create_user_pool_client()
            .user_pool_id(&pool)
            .client_name("c")
            .generate_secret(true)
            .send()
            .await
            .unwrap()
            .user_pool_client
            .unwrap();
        c.admin_create_user()
            .user_pool_id(&pool)
            .username("erin")
            .message_action(MessageActionType::Suppress)
            .send()
            .await
            .unwrap();
        c.admin_set_user_password()
            .user_pool_id(&pool)
            .username("erin")
            .password("Passw0rd!")
            .permanent(true)
            .send()
            .await
            .unwrap();
        first.stop().await;

        let second = TestServer::start(&db.url).await;
        let c = second.client();
        let described = c.describe_user_pool().user_pool_id(&pool).send().await.unwrap().user_pool.unwrap();
        assert_eq!((described.name(), described.estimated_number_of_users()), (Some("durable"), 1), "{}", db.label);
        let again = c
            .describe_user_pool_client()
            .user_pool_id(&pool)
            .client_id(client.client_id().unwrap())
            .send()
            .await
            .unwrap()
            .user_pool_client
            .unwrap();
        assert_eq!(again.client_secret(), client.client_secret(), "{}", db.label);
        let user = c.admin_get_user().user_pool_id(&pool).username("erin").send().await.unwrap();
        assert_eq!(user.user_status(), Some(&UserStatusType::Confirmed), "{}", db.label);
        let stored = second.ctx.store.find_user_by_username(&pool, "erin").await.unwrap().unwrap();
        assert!(stored.password_hash.as_deref().is_some_and(|h| h.starts_with("$argon2id$")), "{}", db.label);
        assert!(stored.srp_verifier.is_some() && stored.srp_salt.is_some(), "{}", db.label);
        second.stop().await;
        db.cleanup().await;
    }
}
