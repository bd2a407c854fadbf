use crate::support::{TestServer, client_for, error_of, http, settings, sqlite};
use userpool::config::Credentials;

const JSON: (&str, &str) = ("Content-Type", "application/x-amz-json-1.1");

fn target(op: &str) -> (&'static str, String) {
    ("X-Amz-Target", format!("AWSCognitoIdentityProviderService.{op}"))
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn framing_errors_are_aws_shaped() {
    let db = sqlite();
    let server = TestServer::start(&db.url).await;
    let (t, op) = target("SignUp");
    let (status, headers, body) = http(&server.url, "POST", "/", &[JSON, (t, &op)], b"{not json").await;
    assert_eq!(status, 400);
    assert_eq!(header(&headers, "x-amzn-errortype"), Some("SerializationException:"));
    assert!(header(&headers, "x-amzn-requestid").is_some_and(|v| uuid::Uuid::parse_str(v).is_ok()));
    assert!(body.contains("\"__type\":\"SerializationException\""), "{body}");

    let (status, _, body) =
        http(&server.url, "POST", "/", &[JSON, ("X-Amz-Target", "AWSCognitoIdentityProviderService.Nope")], b"{}")
            .await;
    assert_eq!(status, 400);
    assert!(body.contains("UnknownOperationException"), "{body}");
    let (_, _, body) = http(&server.url, "POST", "/", &[JSON], b"{}").await;
    assert!(body.contains("UnknownOperationException"), "{body}");

    let (status, _, body) =
        http(&server.url, "POST", "/", &[JSON, (t, &op)], br#"{"ClientId": 7, "Username": "a"}"#).await;
    assert_eq!(status, 400);
    assert!(body.contains("SerializationException"), "{body}");

    let (_, _, body) = http(&server.url, "POST", "/", &[JSON, (t, &op)], b"{}").await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["__type"], "InvalidParameterException");
    assert_eq!(
        v["message"],
        "2 validation errors detected: Value null at 'clientId' failed to satisfy constraint: Member must not be null; \
         Value null at 'username' failed to satisfy constraint: Member must not be null"
    );

    let big = vec![b' '; 2 * 1024 * 1024];
    let (status, _, body) = http(&server.url, "POST", "/", &[JSON, (t, &op)], &big).await;
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("RequestEntityTooLargeException"), "{body}");

    let (t2, list) = target("ListUserPools");
    let (_, _, body) = http(&server.url, "POST", "/", &[JSON, (t2, &list)], br#"{"MaxResults": 1}"#).await;
    assert!(body.contains("MissingAuthenticationTokenException"), "{body}");

    let (status, headers, _) = http(
        &server.url,
        "OPTIONS",
        "/",
        &[
            ("Origin", "http://localhost:3000"),
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "x-amz-target,content-type"),
        ],
        b"",
    )
    .await;
    assert!((200..300).contains(&status));
    // A loopback origin is answered by name; any other gets no CORS headers (issue 12, item 5).
    assert_eq!(header(&headers, "access-control-allow-origin"), Some("http://localhost:3000"));
    assert!(header(&headers, "access-control-allow-headers").is_some_and(|h| h.contains("x-amz-target")));

    let (status, _, body) = http(&server.url, "GET", "/health", &[], b"").await;
    assert_eq!((status, body.as_str()), (200, r#"{"status":"ok"}"#));
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn every_operation_is_routed_and_validated() {
    let db = sqlite();
    let server = TestServer::start(&db.url).await;
    let auth = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/cognito-idp/aws4_request, SignedHeaders=host;x-amz-date, \
                Signature=0000000000000000000000000000000000000000000000000000000000000000";
    for op in userpool_model::Operation::ALL {
        let (t, name) = target(op.name());
        let (status, _, body) =
            http(&server.url, "POST", "/", &[JSON, (t, &name), ("Authorization", auth)], b"{}").await;
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("{}: {body}", op.name()));
        assert!(status < 500, "{}: {status} {body}", op.name());
        assert_ne!(v["__type"], "UnknownOperationException", "{}", op.name());
        let id = userpool_model::schema::shape(op.input_shape());
        if let userpool_model::schema::Kind::Structure { members } = &id.kind {
            for m in members.iter().filter(|m| m.required) {
                let mut lowered = m.name.to_string();
                lowered[..1].make_ascii_lowercase();
                let expected =
                    format!("Value null at '{lowered}' failed to satisfy constraint: Member must not be null");
                assert!(v["message"].as_str().is_some_and(|s| s.contains(&expected)), "{}: {body}", op.name());
            }
        }
    }
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn signatures_are_verified_when_credentials_are_configured() {
    let db = sqlite();
    let creds = Credentials { access_key_id: "AKIDUSERPOOL".into(), secret_access_key: "s3cret".into() };
    let server = TestServer::start_with(settings(&db.url, Some(creds))).await;
    client_for(&server.url, "AKIDUSERPOOL", "s3cret").list_user_pools().max_results(5).send().await.unwrap();
    let (code, message) =
        error_of(client_for(&server.url, "AKIDUSERPOOL", "wrong").list_user_pools().max_results(5).send().await);
    assert_eq!(code, "InvalidSignatureException", "{message}");
    let (code, message) =
        error_of(client_for(&server.url, "AKIDOTHER", "s3cret").list_user_pools().max_results(5).send().await);
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("UnrecognizedClientException", "The security token included in the request is invalid.")
    );
    // Public operations need no signature, and the test endpoints are off outside local mode.
    let (code, _) = error_of(
        client_for(&server.url, "x", "y").sign_up().client_id("nope").username("a").password("Passw0rd!").send().await,
    );
    assert_eq!(code, "ResourceNotFoundException");
    let (status, _, _) = http(&server.url, "POST", "/moto-api/reset", &[], b"").await;
    assert_eq!(status, 404);
    // Outside local mode the outbox keeps neither codes nor temporary passwords.
    let c = client_for(&server.url, "AKIDUSERPOOL", "s3cret");
    let pool = c.create_user_pool().pool_name("quiet").send().await.unwrap().user_pool.unwrap().id.unwrap();
    c.admin_create_user()
        .user_pool_id(&pool)
        .username("quinn")
        .temporary_password("Temp0rary!")
        .user_attributes(
            aws_sdk_cognitoidentityprovider::types::AttributeType::builder()
                .name("email")
                .value("q@example.com")
                .build()
                .unwrap(),
        )
        .desired_delivery_mediums(aws_sdk_cognitoidentityprovider::types::DeliveryMediumType::Email)
        .send()
        .await
        .unwrap();
    let sent = server.ctx.store.list_messages(&pool, None).await.unwrap();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].code.is_none() && !sent[0].body.contains("Temp0rary!"), "{:?}", sent[0].body);
    server.stop().await;
    db.cleanup().await;
}
