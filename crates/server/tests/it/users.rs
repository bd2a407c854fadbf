use crate::support::{TestServer, error_of, messages, secret_hash, sqlite};
use aws_sdk_cognitoidentityprovider::types::{AttributeType, MessageActionType, UserStatusType, VerifiedAttributeType};

fn attr(name: &str, value: &str) -> AttributeType {
    AttributeType::builder().name(name).value(value).build().unwrap()
}

#[tokio::test]
async fn admin_user_lifecycle() {
    let db = sqlite();
    let server = TestServer::start(&db.url).await;
    let c = server.client();
    let pool = c.create_user_pool().pool_name("admin").send().await.unwrap().user_pool.unwrap().id.unwrap();
    let user = c
        .admin_create_user()
        .user_pool_id(&pool)
        .username("bob")
        .user_attributes(attr("email", "bob@example.com"))
        .desired_delivery_mediums(aws_sdk_cognitoidentityprovider::types::DeliveryMediumType::Email)
        .send()
        .await
        .unwrap()
        .user
        .unwrap();
    assert_eq!(user.user_status(), Some(&UserStatusType::ForceChangePassword));
    let sub = user.attributes().iter().find(|a| a.name() == "sub").and_then(|a| a.value()).unwrap().to_string();
    assert!(uuid::Uuid::parse_str(&sub).is_ok());
    let invitation = messages(&server.url, &pool, "bob").await;
    assert_eq!(invitation.len(), 1);
    let temporary = invitation[0]["Code"].as_str().unwrap();
    assert!(invitation[0]["Body"].as_str().unwrap().contains(temporary));
    assert_eq!(invitation[0]["Purpose"], "AdminCreateUser");

    let (code, message) = error_of(c.admin_create_user().user_pool_id(&pool).username("bob").send().await);
    assert_eq!((code.as_str(), message.as_str()), ("UsernameExistsException", "User account already exists"));

    let (code, message) = error_of(
        c.admin_set_user_password().user_pool_id(&pool).username("bob").password("short").permanent(true).send().await,
    );
    assert_eq!(code, "InvalidParameterException", "{message}");
    let (code, message) = error_of(
        c.admin_set_user_password()
            .user_pool_id(&pool)
            .username("bob")
            .password("longenough")
            .permanent(true)
            .send()
            .await,
    );
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("InvalidPasswordException", "Password does not conform to policy: Password must have uppercase characters")
    );
    c.admin_set_user_password()
        .user_pool_id(&pool)
        .username("bob")
        .password("Passw0rd!")
        .permanent(true)
        .send()
        .await
        .unwrap();
    let got = c.admin_get_user().user_pool_id(&pool).username(&sub).send().await.unwrap();
    assert_eq!((got.username(), got.user_status()), ("bob", Some(&UserStatusType::Confirmed)));

    c.admin_disable_user().user_pool_id(&pool).username("bob").send().await.unwrap();
    assert!(!c.admin_get_user().user_pool_id(&pool).username("bob").send().await.unwrap().enabled());
    c.admin_enable_user().user_pool_id(&pool).username("bob").send().await.unwrap();

    c.admin_update_user_attributes()
        .user_pool_id(&pool)
        .username("bob")
        .user_attributes(attr("name", "Bob"))
        .send()
        .await
        .unwrap();
    c.admin_delete_user_attributes()
        .user_pool_id(&pool)
        .username("bob")
        .user_attribute_names("name")
        .send()
        .await
        .unwrap();
    let got = c.admin_get_user().user_pool_id(&pool).username("bob").send().await.unwrap();
    assert!(got.user_attributes().iter().all(|a| a.name() != "name"));

    c.admin_create_user()
        .user_pool_id(&pool)
        .username("carol")
        .message_action(MessageActionType::Suppress)
        .send()
        .await
        .unwrap();
    assert!(messages(&server.url, &pool, "carol").await.is_empty(), "SUPPRESS sends nothing");
    let listed = c.list_users().user_pool_id(&pool).filter("email = \"bob@example.com\"").send().await.unwrap();
    assert_eq!(listed.users().iter().map(|u| u.username().unwrap()).collect::<Vec<_>>(), ["bob"]);
    let listed = c.list_users().user_pool_id(&pool).filter("username ^= \"ca\"").send().await.unwrap();
    assert_eq!(listed.users().len(), 1);
    let (code, message) = error_of(c.list_users().user_pool_id(&pool).filter("email === x").send().await);
    assert_eq!((code.as_str(), message.as_str()), ("InvalidParameterException", "Error while parsing filter."));

    c.admin_delete_user().user_pool_id(&pool).username("bob").send().await.unwrap();
    let (code, message) = error_of(c.admin_get_user().user_pool_id(&pool).username("bob").send().await);
    assert_eq!((code.as_str(), message.as_str()), ("UserNotFoundException", "User does not exist."));
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn sign_up_and_confirm_with_a_client_secret() {
    let db = sqlite();
    let server = TestServer::start(&db.url).await;
    let c = server.client();
    let pool = c
        .create_user_pool()
        .pool_name("signup")
        .auto_verified_attributes(VerifiedAttributeType::Email)
        .send()
        .await
        .unwrap()
        .user_pool
        .unwrap()
        .id
        .unwrap();
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
    let (client_id, secret) = (client.client_id().unwrap(), client.client_secret().unwrap());
    let hash = secret_hash(secret, "alice", client_id);
    let (code, message) = error_of(
        c.sign_up()
            .client_id(client_id)
            .username("alice")
            .password("Passw0rd!")
            .user_attributes(attr("email", "alice@example.com"))
            .send()
            .await,
    );
    assert_eq!(
        (code.as_str(), message),
        ("NotAuthorizedException", format!("Unable to verify secret hash for client {client_id}"))
    );
    let out = c
        .sign_up()
        .client_id(client_id)
        .secret_hash(&hash)
        .username("alice")
        .password("Passw0rd!")
        .user_attributes(attr("email", "alice@example.com"))
        .send()
        .await
        .unwrap();
    assert!(!out.user_confirmed());
    let delivery = out.code_delivery_details().unwrap();
    assert_eq!(delivery.destination(), Some("a***@e***"));
    let sent = messages(&server.url, &pool, "alice").await;
    let code_sent = sent.last().unwrap()["Code"].as_str().unwrap().to_string();
    assert_eq!(code_sent.len(), 6);

    let wrong = if code_sent == "000000" { "111111" } else { "000000" };
    let (code, message) = error_of(
        c.confirm_sign_up()
            .client_id(client_id)
            .secret_hash(&hash)
            .username("alice")
            .confirmation_code(wrong)
            .send()
            .await,
    );
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("CodeMismatchException", "Invalid verification code provided, please try again.")
    );
    c.confirm_sign_up()
        .client_id(client_id)
        .secret_hash(&hash)
        .username("alice")
        .confirmation_code(&code_sent)
        .send()
        .await
        .unwrap();
    let user = c.admin_get_user().user_pool_id(&pool).username("alice").send().await.unwrap();
    assert_eq!(user.user_status(), Some(&UserStatusType::Confirmed));
    assert!(user.user_attributes().iter().any(|a| a.name() == "email_verified" && a.value() == Some("true")));
    let (code, message) = error_of(
        c.confirm_sign_up()
            .client_id(client_id)
            .secret_hash(&hash)
            .username("alice")
            .confirmation_code(&code_sent)
            .send()
            .await,
    );
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("NotAuthorizedException", "User cannot be confirmed. Current status is CONFIRMED")
    );
    let (code, _) = error_of(
        c.sign_up().client_id(client_id).secret_hash(&hash).username("alice").password("Passw0rd!").send().await,
    );
    assert_eq!(code, "UsernameExistsException");
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn email_as_username_and_case_insensitive_lookup() {
    let db = sqlite();
    let server = TestServer::start(&db.url).await;
    let c = server.client();
    let pool = c
        .create_user_pool()
        .pool_name("emails")
        .username_attributes(aws_sdk_cognitoidentityprovider::types::UsernameAttributeType::Email)
        .username_configuration(
            aws_sdk_cognitoidentityprovider::types::UsernameConfigurationType::builder()
                .case_sensitive(false)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .user_pool
        .unwrap()
        .id
        .unwrap();
    let (code, message) = error_of(c.admin_create_user().user_pool_id(&pool).username("not-an-email").send().await);
    assert_eq!((code.as_str(), message.as_str()), ("InvalidParameterException", "Username should be an email."));
    let user = c
        .admin_create_user()
        .user_pool_id(&pool)
        .username("Dana@Example.com")
        .message_action(MessageActionType::Suppress)
        .send()
        .await
        .unwrap()
        .user
        .unwrap();
    let internal = user.username().unwrap().to_string();
    assert!(uuid::Uuid::parse_str(&internal).is_ok(), "the internal username is the sub: {internal}");
    let found = c.admin_get_user().user_pool_id(&pool).username("dana@example.com").send().await.unwrap();
    assert_eq!(found.username(), internal);
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn sign_up_codes_have_budgets_and_callers_cannot_verify_themselves() {
    let db = sqlite();
    let server = TestServer::start(&db.url).await;
    let c = server.client();
    let pool = c
        .create_user_pool()
        .pool_name("budgets")
        .auto_verified_attributes(VerifiedAttributeType::Email)
        .send()
        .await
        .unwrap()
        .user_pool
        .unwrap()
        .id
        .unwrap();
    let client = c
        .create_user_pool_client()
        .user_pool_id(&pool)
        .client_name("c")
        .send()
        .await
        .unwrap()
        .user_pool_client
        .unwrap()
        .client_id
        .unwrap();
    let (kind, message) = error_of(
        c.sign_up()
            .client_id(&client)
            .username("mallory")
            .password("Passw0rd!")
            .user_attributes(attr("email", "victim@example.com"))
            .user_attributes(attr("email_verified", "true"))
            .send()
            .await,
    );
    assert_eq!(
        (kind.as_str(), message.as_str()),
        ("NotAuthorizedException", "A client attempted to write unauthorized attribute")
    );
    c.sign_up()
        .client_id(&client)
        .username("gus")
        .password("Passw0rd!")
        .user_attributes(attr("email", "gus@example.com"))
        .send()
        .await
        .unwrap();
    let code = messages(&server.url, &pool, "gus").await.last().unwrap()["Code"].as_str().unwrap().to_string();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let mut kinds = Vec::new();
    for _ in 0..16 {
        kinds.push(
            error_of(c.confirm_sign_up().client_id(&client).username("gus").confirmation_code(wrong).send().await).0,
        );
    }
    assert!(kinds[..15].iter().all(|k| k == "CodeMismatchException"), "{kinds:?}");
    assert_eq!(kinds[15], "LimitExceededException", "15 guesses an hour");
    for _ in 0..5 {
        c.resend_confirmation_code().client_id(&client).username("gus").send().await.unwrap();
    }
    let (kind, _) = error_of(c.resend_confirmation_code().client_id(&client).username("gus").send().await);
    assert_eq!(kind, "LimitExceededException", "5 resends an hour");
    server.stop().await;
    db.cleanup().await;
}
