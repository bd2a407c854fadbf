//! Property tests of the parsers that read untrusted input (issue 12, item 12): whatever arrives,
//! they answer (a value or an error) and never panic, and what they write they read back.

use proptest::prelude::*;
use serde_json::Value;
use userpool::domain::{filter, pagination};
use userpool_model::Operation;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// The ListUsers Filter: any text is a filter, no filter, or a filter error.
    #[test]
    fn any_filter_text_gets_an_answer(text in any::<String>(), name in "[a-z_:]{0,20}", value in any::<String>()) {
        let _ = filter::parse(&text);
        for op in ["=", "^=", " = ", "=="] {
            let _ = filter::parse(&format!("{name}{op}\"{value}\""));
        }
    }

    /// Pagination tokens: any text decodes or is `Invalid pagination token`; keys round-trip.
    #[test]
    fn pagination_tokens_round_trip(text in any::<String>(), key in any::<String>()) {
        if let Err(e) = pagination::decode_token(Some(&text)) {
            prop_assert_eq!(e.message(), "Invalid pagination token");
        }
        let encoded = pagination::encode_token(&key);
        prop_assert_eq!(pagination::decode_token(Some(&encoded)).unwrap(), Some(key));
    }

    /// SRP's TIMESTAMP: any text parses or not; every instant of years 1970 to 9999 formats to
    /// text that parses back to it.
    #[test]
    fn srp_timestamps_round_trip(text in any::<String>(), seconds in 0i64..253_402_300_800) {
        let _ = userpool::srp::parse_timestamp(&text);
        prop_assert_eq!(userpool::srp::parse_timestamp(&userpool::srp::format_timestamp(seconds)), Some(seconds));
    }

    /// SigV4: any Authorization header is checked, in local and in verified mode, without a panic.
    #[test]
    fn any_authorization_header_is_checked(header in "[ -~]{0,300}", date in "[0-9TZ]{0,20}") {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("authorization", header.parse().unwrap());
        if let Ok(date) = date.parse() {
            headers.insert("x-amz-date", date);
        }
        headers.insert("host", "127.0.0.1:9229".parse().unwrap());
        let credentials =
            userpool::config::Credentials { access_key_id: "AKID".into(), secret_access_key: "secret".into() };
        for creds in [None, Some(&credentials)] {
            let _ = userpool::sigv4::check(creds, "POST", "/", "", &headers, b"{}", 1_800_000_000_000);
        }
    }

    /// Access tokens: the pool an arbitrary token names is read without a panic.
    #[test]
    fn any_token_text_is_read(token in any::<String>(), payload in any::<Vec<u8>>()) {
        let _ = userpool::services::tokens::unverified_pool_id(&token);
        use base64::Engine;
        let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&payload);
        let _ = userpool::services::tokens::unverified_pool_id(&format!("x.{encoded}.y"));
    }

    /// The request validator: any JSON body, with members of the operation's names or others,
    /// is valid or gets a validation error, for every operation.
    #[test]
    fn any_json_body_gets_an_answer(body in json(), op in 0usize..Operation::ALL.len()) {
        let _ = userpool_model::validation::validate(Operation::ALL[op], &body);
    }
}

/// Arbitrary JSON, with the member names requests use among the keys.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        any::<String>().prop_map(Value::String),
        "[a-zA-Z0-9_@.+-]{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        let key = prop_oneof![
            Just("UserPoolId".to_string()),
            Just("ClientId".to_string()),
            Just("Username".to_string()),
            Just("UserAttributes".to_string()),
            Just("Name".to_string()),
            Just("Value".to_string()),
            Just("AuthParameters".to_string()),
            Just("Filter".to_string()),
            Just("Limit".to_string()),
            any::<String>(),
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(key, inner, 0..8).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
