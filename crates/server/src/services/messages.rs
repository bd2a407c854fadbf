//! Messages that carry a code: the pool's template, the CustomMessage trigger, the stored code
//! and the delivery outbox.

use crate::ctx::Ctx;
use crate::delivery::Message;
use crate::domain::codes;
use crate::domain::pools::Pool;
use crate::error::ApiResult;
use crate::store::{NewCode, UserRow};
use crate::triggers::{self, Caller, CustomMessageRequest, Invocation};
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
    let request = CustomMessageRequest::new(triggers::user_attributes(user), None, c.caller.client_metadata);
    let call = c.caller.invocation(custom_message_source(c.purpose), &user.username);
    if let Some(custom) = ctx.triggers.custom_message(pool, call, &request).await? {
        // A message without the code could never be answered: the template's stands.
        let with_code = |key: &str, value: Option<String>| {
            if value.as_deref().is_some_and(|v| !v.contains("{####}")) {
                tracing::warn!(trigger = "CustomMessage", key, "the custom message has no {{####}}: not used");
                return None;
            }
            value
        };
        match c.medium {
            DeliveryMediumType::Email => {
                body = with_code("emailMessage", custom.email_message).unwrap_or(body);
                subject = custom.email_subject.or(subject);
            }
            DeliveryMediumType::Sms => body = with_code("smsMessage", custom.sms_message).unwrap_or(body),
        }
    }
    let code = codes::generate();
    let now = ctx.clock.now_ms();
    let digest = codes::digest(&ctx.code_key, &pool.id, &user.sub, &code);
    let stored = NewCode {
        slot: c.slot,
        code_hash: &digest,
        created_at: now,
        expires_at: now + c.ttl_ms,
        pending_value: c.pending_value.as_deref(),
        sent_to: Some(&c.destination),
    };
    ctx.store.put_code(&pool.id, &user.sub, &stored).await?;
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
    let request = CustomMessageRequest::new(triggers::user_attributes(user), Some("{username}"), client_metadata);
    let call = Invocation { source: "CustomMessage_AdminCreateUser", user_name: &user.username, client_id: None };
    let custom = ctx.triggers.custom_message(pool, call, &request).await?.unwrap_or_default();
    // An invitation without the temporary password could never be used: the template's stands.
    let with_password = |value: &Option<String>| value.clone().filter(|v| v.contains("{####}"));
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
            DeliveryMediumType::Email => {
                (custom.email_subject.clone().or(subject), with_password(&custom.email_message).unwrap_or(body))
            }
            DeliveryMediumType::Sms => (subject, with_password(&custom.sms_message).unwrap_or(body)),
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
