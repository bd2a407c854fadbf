use crate::support::{TestServer, error_of, sqlite};
use aws_sdk_cognitoidentityprovider::types::{
    AttributeDataType, DeletionProtectionType, PasswordPolicyType, SchemaAttributeType, UserPoolPolicyType,
    UserPoolTierType,
};

#[tokio::test]
async fn pool_lifecycle_with_defaults_as_aws_fills_them() {
    let db = sqlite();
    let server = TestServer::start(&db.url).await;
    let c = server.client();
    let created = c
        .create_user_pool()
        .pool_name("lifecycle")
        .schema(SchemaAttributeType::builder().name("team").attribute_data_type(AttributeDataType::String).build())
        .schema(SchemaAttributeType::builder().name("email").required(true).build())
        .send()
        .await
        .unwrap()
        .user_pool
        .unwrap();
    let id = created.id().unwrap().to_string();
    let (region, suffix) = id.split_once('_').unwrap();
    assert_eq!(region, "us-east-1");
    assert!(suffix.len() == 9 && suffix.chars().all(|c| c.is_ascii_alphanumeric()), "{id}");
    assert_eq!(created.arn().unwrap(), format!("arn:aws:cognito-idp:us-east-1:123456789012:userpool/{id}"));
    let policy = created.policies().unwrap().password_policy().unwrap();
    assert_eq!(
        (policy.minimum_length(), policy.require_symbols(), policy.temporary_password_validity_days()),
        (Some(8), true, 7)
    );
    assert_eq!(created.deletion_protection(), Some(&DeletionProtectionType::Inactive));
    assert_eq!(created.user_pool_tier(), Some(&UserPoolTierType::Essentials));
    let schema = created.schema_attributes();
    assert_eq!(schema.first().and_then(|s| s.name()), Some("profile"));
    assert!(schema.iter().any(|s| s.name() == Some("sub") && s.mutable() == Some(false)));
    assert!(schema.iter().any(|s| s.name() == Some("custom:team")));
    assert!(schema.iter().any(|s| s.name() == Some("email") && s.required() == Some(true)));
    assert_eq!(created.estimated_number_of_users(), 0);

    c.update_user_pool()
        .user_pool_id(&id)
        .policies(
            UserPoolPolicyType::builder()
                .password_policy(PasswordPolicyType::builder().minimum_length(12).build())
                .build(),
        )
        .deletion_protection(DeletionProtectionType::Active)
        .send()
        .await
        .unwrap();
    let described = c.describe_user_pool().user_pool_id(&id).send().await.unwrap().user_pool.unwrap();
    assert_eq!(described.policies().unwrap().password_policy().unwrap().minimum_length(), Some(12));
    assert_eq!(described.name(), Some("lifecycle"));
    assert!(
        described.schema_attributes().iter().any(|s| s.name() == Some("custom:team")),
        "the schema survives updates"
    );

    let (code, message) = error_of(c.delete_user_pool().user_pool_id(&id).send().await);
    assert_eq!(code, "InvalidParameterException");
    assert!(message.contains("deletion protection"), "{message}");
    c.update_user_pool().user_pool_id(&id).deletion_protection(DeletionProtectionType::Inactive).send().await.unwrap();
    c.delete_user_pool().user_pool_id(&id).send().await.unwrap();
    let (code, message) = error_of(c.describe_user_pool().user_pool_id(&id).send().await);
    assert_eq!((code.as_str(), message), ("ResourceNotFoundException", format!("User pool {id} does not exist.")));
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn list_user_pools_pages_through_every_pool() {
    let db = sqlite();
    let server = TestServer::start(&db.url).await;
    let c = server.client();
    let mut created = Vec::new();
    for i in 0..7 {
        created
            .push(c.create_user_pool().pool_name(format!("p{i}")).send().await.unwrap().user_pool.unwrap().id.unwrap());
    }
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page = c.list_user_pools().max_results(3).set_next_token(token).send().await.unwrap();
        assert!(page.user_pools().len() <= 3);
        seen.extend(page.user_pools().iter().filter_map(|p| p.id().map(String::from)));
        token = page.next_token.clone();
        if token.is_none() {
            break;
        }
    }
    created.sort();
    seen.sort();
    assert_eq!(seen, created);
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn app_clients_with_and_without_secrets() {
    let db = sqlite();
    let server = TestServer::start(&db.url).await;
    let c = server.client();
    let pool = c.create_user_pool().pool_name("clients").send().await.unwrap().user_pool.unwrap().id.unwrap();
    let public = c
        .create_user_pool_client()
        .user_pool_id(&pool)
        .client_name("web")
        .send()
        .await
        .unwrap()
        .user_pool_client
        .unwrap();
    let id = public.client_id().unwrap();
    assert!(id.len() == 26 && id.chars().all(|ch| matches!(ch, '0'..='9' | 'a'..='v')), "{id}");
    assert!(public.client_secret().is_none());
    assert_eq!(public.refresh_token_validity(), 30);
    let secret = c
        .create_user_pool_client()
        .user_pool_id(&pool)
        .client_name("server")
        .generate_secret(true)
        .send()
        .await
        .unwrap()
        .user_pool_client
        .unwrap();
    let described = c
        .describe_user_pool_client()
        .user_pool_id(&pool)
        .client_id(secret.client_id().unwrap())
        .send()
        .await
        .unwrap()
        .user_pool_client
        .unwrap();
    assert_eq!(described.client_secret(), secret.client_secret());
    assert_eq!(described.client_secret().unwrap().len(), 52);
    let listed = c.list_user_pool_clients().user_pool_id(&pool).max_results(1).send().await.unwrap();
    assert_eq!(listed.user_pool_clients().len(), 1);
    assert!(listed.next_token().is_some());
    c.delete_user_pool_client().user_pool_id(&pool).client_id(id).send().await.unwrap();
    let (code, message) = error_of(c.describe_user_pool_client().user_pool_id(&pool).client_id(id).send().await);
    assert_eq!(
        (code.as_str(), message),
        ("ResourceNotFoundException", format!("User pool client {id} does not exist."))
    );
    server.stop().await;
    db.cleanup().await;
}
