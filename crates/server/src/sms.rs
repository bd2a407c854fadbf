//! SMS delivery (issue 5): through Amazon SNS's Publish API (SigV4-signed, to AWS or to a local
//! SNS emulator) or to a webhook. Without `[sms]`, text messages are only recorded.
//! https://docs.aws.amazon.com/sns/latest/api/API_Publish.html

use crate::config::{Credentials, SmsSettings};
use crate::http_client;
use crate::sigv4::uri_encode;
use crate::tls::TlsConnector;
use serde_json::json;

/// Sends one text; Ok once the sink has accepted it.
pub async fn send(
    settings: &SmsSettings,
    tls: &TlsConnector,
    phone_number: &str,
    message: &str,
    message_id: &str,
    now_ms: i64,
) -> Result<(), String> {
    if let Some(url) = &settings.webhook {
        let body = json!({"PhoneNumber": phone_number, "Message": message, "MessageId": message_id}).to_string();
        let headers = [("content-type", "application/json".to_string())];
        let (status, _, _) = http_client::post(tls, url, &headers, body.as_bytes()).await?;
        return if (200..300).contains(&status) { Ok(()) } else { Err(format!("SMS webhook answered HTTP {status}")) };
    }
    let endpoint = settings.sns_endpoint.as_deref().unwrap_or_default().trim_end_matches('/');
    let host = endpoint.split("://").nth(1).unwrap_or_default().split('/').next().unwrap_or_default().to_string();
    let region = settings.region.clone().unwrap_or_else(|| {
        // sns.<region>.amazonaws.com
        host.split('.').nth(1).filter(|_| host.starts_with("sns.")).unwrap_or("us-east-1").to_string()
    });
    let body = format!(
        "Action=Publish&Message={}&PhoneNumber={}&Version=2010-03-31",
        uri_encode(message),
        uri_encode(phone_number)
    );
    let mut headers: Vec<(&str, String)> = vec![
        ("content-type", "application/x-www-form-urlencoded; charset=utf-8".into()),
        ("host", host),
        ("x-amz-date", crate::sigv4::amz_date(now_ms)),
    ];
    let credentials = Credentials {
        access_key_id: settings.access_key_id.clone().unwrap_or_default(),
        secret_access_key: settings.secret_access_key.clone().unwrap_or_default(),
    };
    let authorization =
        crate::sigv4::authorization(&credentials, &region, "sns", ("POST", "/", ""), &headers, body.as_bytes());
    headers.push(("authorization", authorization));
    let (status, _, answer) = http_client::post(tls, &format!("{endpoint}/"), &headers, body.as_bytes()).await?;
    if (200..300).contains(&status) {
        Ok(())
    } else {
        let text = String::from_utf8_lossy(&answer);
        let code = text.split("<Code>").nth(1).and_then(|r| r.split("</Code>").next()).unwrap_or("no error code");
        Err(format!("SNS Publish answered HTTP {status} ({code})"))
    }
}
