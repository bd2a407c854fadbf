//! The storage layer on every engine: the same SQL must behave the same.

use crate::support::databases;
use userpool::store::{AliasKind, FilterTarget, NewUser, Store, StoreError, UserFilter};

fn user(pool: &str, sub: &str, name: &str, email: &str) -> NewUser {
    NewUser {
        pool_id: pool.into(),
        sub: sub.into(),
        username: name.into(),
        username_key: name.to_lowercase(),
        status: "CONFIRMED".into(),
        enabled: true,
        created_at: 1,
        password: None,
        attributes: vec![("sub".into(), sub.into()), ("email".into(), email.into())],
        aliases: vec![(AliasKind::Email, email.to_lowercase())],
        force_aliases: false,
    }
}

async fn with_pool(store: &Store, id: &str) {
    store
        .create_pool(&userpool::store::DocumentRow {
            id: id.into(),
            name: "p".into(),
            created_at: 1,
            updated_at: 1,
            config: "{}".into(),
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn users_aliases_and_filters() {
    for db in databases().await {
        let store = Store::connect(&db.url).await.unwrap();
        with_pool(&store, "us-east-1_a").await;
        store.create_user(&user("us-east-1_a", "s1", "Alice", "alice@x.io")).await.unwrap();
        store.create_user(&user("us-east-1_a", "s2", "albert", "al@x.io")).await.unwrap();
        let dup = store.create_user(&user("us-east-1_a", "s3", "ALICE", "other@x.io")).await.unwrap_err();
        assert!(matches!(dup, StoreError::Conflict(ref w) if w == "username"), "{}: {dup:?}", db.label);
        let alias = store.create_user(&user("us-east-1_a", "s4", "zed", "ALICE@x.io")).await.unwrap_err();
        assert!(matches!(alias, StoreError::Conflict(ref w) if w == "alias:email"), "{}: {alias:?}", db.label);
        assert!(
            store.find_user_by_sub("us-east-1_a", "s3").await.unwrap().is_none(),
            "{}: a failed create leaves nothing",
            db.label
        );

        let found = store.find_user_by_alias("us-east-1_a", AliasKind::Email, "alice@x.io").await.unwrap().unwrap();
        assert_eq!(found.attributes[0], ("sub".to_string(), "s1".to_string()), "{}", db.label);
        let prefix = UserFilter { target: FilterTarget::Username, value: "al".into(), prefix: true };
        let names: Vec<String> = store
            .list_users("us-east-1_a", Some(&prefix), None, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.username)
            .collect();
        assert_eq!(names, ["albert"], "{}: prefixes are case sensitive on every engine", db.label);
        let by_email =
            UserFilter { target: FilterTarget::Attribute("email".into()), value: "al@x.io".into(), prefix: false };
        let names: Vec<String> = store
            .list_users("us-east-1_a", Some(&by_email), None, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.username)
            .collect();
        assert_eq!(names, ["albert"], "{}", db.label);
        let page = store.list_users("us-east-1_a", None, Some("albert"), 10).await.unwrap();
        assert_eq!(page.len(), 1, "{}: keyset pagination", db.label);
        assert!(store.delete_pool("us-east-1_a").await.unwrap());
        assert!(store.find_user_by_sub("us-east-1_a", "s1").await.unwrap().is_none(), "{}", db.label);
        store.close().await;
        db.cleanup().await;
    }
}

/// 50 concurrent attempts to consume one code: exactly one wins, on every engine.
#[tokio::test]
async fn a_code_is_consumed_once_under_concurrency() {
    for db in databases().await {
        let store = Store::connect(&db.url).await.unwrap();
        with_pool(&store, "us-east-1_b").await;
        store.create_user(&user("us-east-1_b", "s1", "u", "u@x.io")).await.unwrap();
        let code = userpool::store::NewCode {
            slot: "SignUp",
            code_hash: "digest",
            created_at: 1,
            expires_at: 10,
            pending_value: Some("new@x.io"),
            sent_to: None,
        };
        store.put_code("us-east-1_b", "s1", &code).await.unwrap();
        let stored = store.find_code("us-east-1_b", "s1", "SignUp").await.unwrap().unwrap();
        assert_eq!((stored.expires_at, stored.pending_value.as_deref()), (10, Some("new@x.io")), "{}", db.label);
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let s = store.clone();
                tokio::spawn(async move { s.consume_code("us-east-1_b", "s1", "SignUp", "digest").await.unwrap() })
            })
            .collect();
        let mut wins = 0;
        for t in tasks {
            wins += usize::from(t.await.unwrap());
        }
        assert_eq!(wins, 1, "{}", db.label);
        store.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn group_precedence_is_a_column_filled_for_older_groups() {
    for db in databases().await {
        let store = Store::connect(&db.url).await.unwrap();
        with_pool(&store, "us-east-1_g").await;
        store.create_user(&user("us-east-1_g", "s1", "Alice", "alice@x.io")).await.unwrap();
        let group = |name: &str, config: &str| userpool::store::DocumentRow {
            id: name.into(),
            name: name.into(),
            created_at: 1,
            updated_at: 1,
            config: config.into(),
        };
        store.create_group("us-east-1_g", &group("given", r#"{"Precedence":5}"#), Some(5)).await.unwrap();
        // As a group stored before the column existed: the precedence only in its JSON.
        store.create_group("us-east-1_g", &group("older", r#"{"Precedence":1}"#), None).await.unwrap();
        store.create_group("us-east-1_g", &group("none", r#"{"GroupName":"none"}"#), None).await.unwrap();
        for name in ["given", "older", "none"] {
            store.add_group_member("us-east-1_g", name, "s1").await.unwrap();
        }
        store.close().await;
        let store = Store::connect(&db.url).await.unwrap();
        let mut groups = store.member_groups("us-east-1_g", "s1").await.unwrap();
        groups.sort();
        assert_eq!(
            groups,
            [("given".to_string(), Some(5)), ("none".to_string(), None), ("older".to_string(), Some(1))]
        );
        assert!(store.update_group("us-east-1_g", "given", 2, r#"{"Precedence":0}"#, Some(0)).await.unwrap());
        assert!(store.member_groups("us-east-1_g", "s1").await.unwrap().contains(&("given".to_string(), Some(0))));
        store.close().await;
        db.cleanup().await;
    }
}

/// Counters of unknown names expire: upkeep removes those whose window is over (issue 12,
/// item 6: before, every name an attacker tried stayed in the table for good).
#[tokio::test]
async fn expired_counters_of_unknown_names_are_pruned() {
    for db in databases().await {
        let store = Store::connect(&db.url).await.unwrap();
        with_pool(&store, "us-east-1_n").await;
        let hour = 3_600_000;
        assert_eq!(store.bump_name_counter("us-east-1_n", "old", "sign-in", 1_000, hour).await.unwrap(), 1);
        assert_eq!(store.bump_name_counter("us-east-1_n", "old", "sign-in", 2_000, hour).await.unwrap(), 2);
        assert_eq!(store.bump_name_counter("us-east-1_n", "new", "sign-in", 10 * hour, hour).await.unwrap(), 1);
        assert_eq!(store.prune_name_counters(10 * hour - hour).await.unwrap(), 1, "{}", db.label);
        assert_eq!(store.prune_name_counters(10 * hour - hour).await.unwrap(), 0, "{}", db.label);
        assert_eq!(store.bump_name_counter("us-east-1_n", "new", "sign-in", 10 * hour + 1, hour).await.unwrap(), 2);
        store.close().await;
        db.cleanup().await;
    }
}
