//! Messages that carry a code: the pool's template, the CustomMessage trigger, the stored code
//! and the delivery outbox.

use crate::ctx::Ctx;
use crate::delivery::Message;
use crate::domain::codes;
use crate::domain::pools::Pool;
use crate::error::ApiResult;
use crate::store::UserRow;
use crate::triggers::{self, Caller, Event, Trigger};
use serde_json::{Value, json};
use userpool_model::types::{CodeDeliveryDetailsType, DeliveryMediumType};

/// A one-time code to generate, store (as an HMAC) and send.
pub struct CodeToSend<'a> {
    /// The user's code slot: a newer code in the same slot voids the older one.
    pub slot: &'static str,
    /// The operation sending it (the message's Purpose).
    pub purpose: &'static str,
    pub ttl_ms: i64,
    pub attribute: &'static str,
    pub medium: DeliveryMediumType,
    pub destination: String,
    /// The body when the pool's VerificationMessageTemplate has none.
    pub default_body: &'static str,
    /// An attribute value that takes effect only once this code is confirmed.
    pub pending_value: Option<String>,
    /// For the CustomMessage trigger.
    pub caller: Caller<'a>,
}

/// The CustomMessage triggerSource of a message sent on behalf of an operation.
fn custom_message_source(purpose: &str) -> &'static str {
    match purpose {
        "SignUp" => "CustomMessage_SignUp",
        "ResendConfirmationCode" => "CustomMessage_ResendCode",
        "ForgotPassword" | "AdminResetUserPassword" => "CustomMessage_ForgotPassword",
        "UpdateUserAttributes" | "AdminUpdateUserAttributes" => "CustomMessage_UpdateUserAttribute",
        _ => "CustomMessage_VerifyUserAttribute",
    }
}

/// Generates, stores and sends a code with the pool's verification template (Cognito has no
/// separate reset template, docs/cognito-facts.md#reset-messages); returns the masked CodeDeliveryDetails.
pub async fn deliver_code(
    ctx: &Ctx,
    pool: &Pool,
    user: &UserRow,
    c: CodeToSend<'_>,
) -> ApiResult<CodeDeliveryDetailsType> {
    let template = pool.config.verification_message_template.clone().unwrap_or_default();
    let (mut subject, mut body) = match c.medium {
        DeliveryMediumType::Email => (
            Some(template.email_subject.unwrap_or_else(|| "Your verification code".into())),
            template.email_message.unwrap_or_else(|| c.default_body.into()),
        ),
        DeliveryMediumType::Sms => (None, template.sms_message.unwrap_or_else(|| c.default_body.into())),
    };
    // CustomMessage runs before the code is stored: if it fails, the previous code stays valid.
    // https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-lambda-custom-message.html
    let request = json!({
        "userAttributes": triggers::user_attributes(user),
        "codeParameter": "{####}",
        "linkParameter": "{##Click Here##}",
        "usernameParameter": null,
    });
    let event = Event {
        trigger: Trigger::CustomMessage,
        source: custom_message_source(c.purpose),
        user_name: &user.username,
        client_id: c.caller.client_id,
        request: triggers::with_client_metadata(request, c.caller.client_metadata),
    };
    if let Some(response) = ctx.triggers.run(pool, event).await? {
        // A message without the code could never be answered: the template's stands.
        let text = |key: &str| {
            let value = response.get(key).and_then(Value::as_str).map(str::to_string);
            if key != "emailSubject" && value.as_deref().is_some_and(|v| !v.contains("{####}")) {
                tracing::warn!(trigger = "CustomMessage", key, "the custom message has no {{####}}: not used");
                return None;
            }
            value
        };
        match c.medium {
            DeliveryMediumType::Email => {
                body = text("emailMessage").unwrap_or(body);
                subject = text("emailSubject").or(subject);
            }
            DeliveryMediumType::Sms => body = text("smsMessage").unwrap_or(body),
        }
    }
    let code = codes::generate();
    let now = ctx.clock.now_ms();
    let digest = codes::digest(&ctx.code_key, &pool.id, &user.sub, &code);
    ctx.store.put_code(&pool.id, &user.sub, c.slot, &digest, now, now + c.ttl_ms, c.pending_value.as_deref()).await?;
    let masked = codes::mask_destination(c.attribute, &c.destination);
    ctx.delivery
        .send(Message {
            pool_id: pool.id.clone(),
            username: user.username.clone(),
            purpose: c.purpose,
            medium: c.medium,
            destination: c.destination,
            subject,
            body: body.replace("{####}", &code),
            code: Some(code),
            from: pool.email_from(),
            reply_to: pool.email_reply_to(),
        })
        .await?;
    Ok(CodeDeliveryDetailsType {
        destination: Some(masked),
        delivery_medium: Some(c.medium),
        attribute_name: Some(c.attribute.to_string()),
    })
}

pub async fn send_invitation(
    ctx: &Ctx,
    pool: &Pool,
    user: &UserRow,
    display_username: &str,
    password: &str,
    mediums: &[DeliveryMediumType],
    client_metadata: Option<&std::collections::BTreeMap<String, String>>,
) -> ApiResult<()> {
    let template = pool
        .config
        .admin_create_user_config
        .as_ref()
        .and_then(|c| c.invite_message_template.clone())
        .unwrap_or_default();
    // CustomMessage_AdminCreateUser may write the invitation (once, for every medium).
    let request = json!({
        "userAttributes": triggers::user_attributes(user),
        "codeParameter": "{####}",
        "usernameParameter": "{username}",
        "linkParameter": "{##Click Here##}",
    });
    let event = Event {
        trigger: Trigger::CustomMessage,
        source: "CustomMessage_AdminCreateUser",
        user_name: &user.username,
        client_id: None,
        request: triggers::with_client_metadata(request, client_metadata),
    };
    let custom = ctx.triggers.run(pool, event).await?.unwrap_or_default();
    // An invitation without the temporary password could never be used: the template's stands.
    let text = |key: &str| {
        let value = custom.get(key).and_then(serde_json::Value::as_str).map(str::to_string);
        value.filter(|v| key == "emailSubject" || v.contains("{####}"))
    };
    for medium in mediums {
        let (attribute, subject, body) = match medium {
            DeliveryMediumType::Email => (
                "email",
                Some(template.email_subject.clone().unwrap_or_else(|| "Your temporary password".into())),
                template
                    .email_message
                    .clone()
                    .unwrap_or_else(|| "Your username is {username} and temporary password is {####}.".into()),
            ),
            DeliveryMediumType::Sms => (
                "phone_number",
                None,
                template
                    .sms_message
                    .clone()
                    .unwrap_or_else(|| "Your username is {username} and temporary password is {####}.".into()),
            ),
        };
        let Some(destination) = user.attribute(attribute) else {
            continue;
        };
        let (subject, body) = match medium {
            DeliveryMediumType::Email => (text("emailSubject").or(subject), text("emailMessage").unwrap_or(body)),
            DeliveryMediumType::Sms => (subject, text("smsMessage").unwrap_or(body)),
        };
        ctx.delivery
            .send(Message {
                pool_id: pool.id.clone(),
                username: user.username.clone(),
                purpose: "AdminCreateUser",
                medium: *medium,
                destination: destination.to_string(),
                subject,
                body: body.replace("{username}", display_username).replace("{####}", password),
                code: Some(password.to_string()),
                from: pool.email_from(),
                reply_to: pool.email_reply_to(),
            })
            .await?;
    }
    Ok(())
}
