//! Groups, membership, and `cognito:groups` in tokens, on every engine.

use crate::support::{TestServer, databases, error_of};
use aws_sdk_cognitoidentityprovider::types::{AuthFlowType, ExplicitAuthFlowsType, MessageActionType};

#[tokio::test]
async fn groups_membership_and_token_claims() {
    for db in databases().await {
        let server = TestServer::start(&db.url).await;
        let c = server.client();
        let pool = c.create_user_pool().pool_name("groups").send().await.unwrap().user_pool.unwrap().id.unwrap();
        let client = c
            .create_user_pool_client()
            .user_pool_id(&pool)
            .client_name("app")
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
            .send()
            .await
            .unwrap()
            .user_pool_client
            .unwrap()
            .client_id
            .unwrap();
        c.admin_create_user()
            .user_pool_id(&pool)
            .username("hal")
            .message_action(MessageActionType::Suppress)
            .send()
            .await
            .unwrap();
        c.admin_set_user_password()
            .user_pool_id(&pool)
            .username("hal")
            .password("Passw0rd!")
            .permanent(true)
            .send()
            .await
            .unwrap();

        let admins = c
            .create_group()
            .user_pool_id(&pool)
            .group_name("admins")
            .precedence(1)
            .description("a")
            .send()
            .await
            .unwrap();
        assert_eq!(admins.group().unwrap().precedence(), Some(1));
        c.create_group().user_pool_id(&pool).group_name("staff").precedence(5).send().await.unwrap();
        c.create_group().user_pool_id(&pool).group_name("unused").send().await.unwrap();
        let (kind, message) = error_of(c.create_group().user_pool_id(&pool).group_name("admins").send().await);
        assert_eq!(
            (kind.as_str(), message.as_str()),
            ("GroupExistsException", "A group with the name admins already exists.")
        );

        c.admin_add_user_to_group().user_pool_id(&pool).username("hal").group_name("staff").send().await.unwrap();
        c.admin_add_user_to_group().user_pool_id(&pool).username("hal").group_name("admins").send().await.unwrap();
        c.admin_add_user_to_group().user_pool_id(&pool).username("hal").group_name("admins").send().await.unwrap();
        let (kind, message) =
            error_of(c.admin_add_user_to_group().user_pool_id(&pool).username("hal").group_name("nope").send().await);
        assert_eq!((kind.as_str(), message.as_str()), ("ResourceNotFoundException", "Group not found."));

        let mine = c.admin_list_groups_for_user().user_pool_id(&pool).username("hal").send().await.unwrap();
        let names: Vec<&str> = mine.groups().iter().filter_map(|g| g.group_name()).collect();
        assert_eq!(names, ["admins", "staff"], "{}", db.label);
        let members = c.list_users_in_group().user_pool_id(&pool).group_name("admins").send().await.unwrap();
        assert_eq!(members.users().iter().filter_map(|u| u.username()).collect::<Vec<_>>(), ["hal"]);
        let page = c.list_groups().user_pool_id(&pool).limit(2).send().await.unwrap();
        assert_eq!(page.groups().len(), 2);
        let rest = c.list_groups().user_pool_id(&pool).set_next_token(page.next_token.clone()).send().await.unwrap();
        assert_eq!(rest.groups().iter().filter_map(|g| g.group_name()).collect::<Vec<_>>(), ["unused"]);

        let updated = c.update_group().user_pool_id(&pool).group_name("staff").precedence(0).send().await.unwrap();
        assert_eq!(updated.group().unwrap().precedence(), Some(0));
        let tokens = c
            .initiate_auth()
            .client_id(&client)
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .auth_parameters("USERNAME", "hal")
            .auth_parameters("PASSWORD", "Passw0rd!")
            .send()
            .await
            .unwrap()
            .authentication_result
            .unwrap();
        for (token, kind) in [
            (tokens.id_token().unwrap(), userpool::keys::TokenUse::Id),
            (tokens.access_token().unwrap(), userpool::keys::TokenUse::Access),
        ] {
            let claims = userpool::services::tokens::verify(&server.ctx, &pool, token, kind).await.unwrap().unwrap();
            assert_eq!(claims["cognito:groups"], serde_json::json!(["staff", "admins"]), "by precedence: {}", db.label);
        }

        c.admin_remove_user_from_group().user_pool_id(&pool).username("hal").group_name("staff").send().await.unwrap();
        c.delete_group().user_pool_id(&pool).group_name("admins").send().await.unwrap();
        let (kind, _) = error_of(c.get_group().user_pool_id(&pool).group_name("admins").send().await);
        assert_eq!(kind, "ResourceNotFoundException");
        let mine = c.admin_list_groups_for_user().user_pool_id(&pool).username("hal").send().await.unwrap();
        assert!(mine.groups().is_empty(), "{}", db.label);
        server.stop().await;
        db.cleanup().await;
    }
}
