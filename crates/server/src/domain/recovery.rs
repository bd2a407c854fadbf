//! Where a password-reset code goes (AccountRecoverySetting), and what PreventUserExistenceErrors
//! shows instead when there is no one to send it to.
//! https://docs.aws.amazon.com/cognito/latest/developerguide/managing-users-passwords.html

use crate::domain::codes::mask_destination;
use crate::domain::pools::Pool;
use crate::domain::records::UserRow;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use userpool_model::types::{CodeDeliveryDetailsType, DeliveryMediumType, RecoveryOptionNameType};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Channel {
    Send {
        attribute: &'static str,
        medium: DeliveryMediumType,
        destination: String,
    },
    /// The pool allows only administrators to reset passwords.
    AdminOnly,
    /// The user has no verified email or phone number the pool recovers through.
    NoVerifiedChannel,
}

/// The recovery mechanisms in priority order; a pool without the setting uses the legacy order,
/// a verified phone number first, then a verified email (docs/cognito-facts.md#recovery-channel-selection).
fn mechanisms(pool: &Pool) -> Vec<RecoveryOptionNameType> {
    let mut options =
        pool.config.account_recovery_setting.as_ref().and_then(|s| s.recovery_mechanisms.clone()).unwrap_or_default();
    if options.is_empty() {
        return vec![RecoveryOptionNameType::VerifiedPhoneNumber, RecoveryOptionNameType::VerifiedEmail];
    }
    options.sort_by_key(|o| o.priority);
    options.into_iter().map(|o| o.name).collect()
}

/// Whether only administrators may reset passwords in this pool (`admin_only` cannot be combined
/// with other mechanisms).
pub fn is_admin_only(pool: &Pool) -> bool {
    mechanisms(pool).contains(&RecoveryOptionNameType::AdminOnly)
}

/// The first mechanism the user can receive a code through. Codes only go to verified values.
pub fn channel(pool: &Pool, user: &UserRow) -> Channel {
    let verified = |attribute: &str, flag: &str| {
        user.attribute(flag).filter(|v| *v == "true").and(user.attribute(attribute)).filter(|v| !v.is_empty())
    };
    for mechanism in mechanisms(pool) {
        let found = match mechanism {
            RecoveryOptionNameType::AdminOnly => return Channel::AdminOnly,
            RecoveryOptionNameType::VerifiedEmail => {
                verified("email", "email_verified").map(|d| ("email", DeliveryMediumType::Email, d))
            }
            RecoveryOptionNameType::VerifiedPhoneNumber => {
                verified("phone_number", "phone_number_verified").map(|d| ("phone_number", DeliveryMediumType::Sms, d))
            }
        };
        if let Some((attribute, medium, destination)) = found {
            return Channel::Send { attribute, medium, destination: destination.to_string() };
        }
    }
    Channel::NoVerifiedChannel
}

/// What ForgotPassword answers for a user it will not send to, with PreventUserExistenceErrors
/// ENABLED: the medium the name suggests (an email address, an E.164 number, else the pool's
/// first mechanism) and a destination derived from an HMAC of the pool and the name, so the same
/// name always gets the same answer and nothing tells it apart from a real user (docs/cognito-facts.md#preventuserexistenceerrors).
pub fn simulated_delivery(key: &[u8], pool: &Pool, username: &str) -> CodeDeliveryDetailsType {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(b"simulated-delivery\0");
    mac.update(pool.id.as_bytes());
    mac.update(&[0]);
    mac.update(username.as_bytes());
    let digest = mac.finalize().into_bytes();
    let letter = |i: usize| char::from(b'a' + digest[i] % 26);
    let looks_like_phone = crate::domain::attributes::looks_like_phone(username);
    let email_first = !matches!(mechanisms(pool).first(), Some(RecoveryOptionNameType::VerifiedPhoneNumber));
    let (attribute, medium, destination) = if username.contains('@') {
        ("email", DeliveryMediumType::Email, mask_destination("email", username))
    } else if looks_like_phone || !email_first {
        let digits: String = (0..4).map(|i| char::from(b'0' + digest[4 + i] % 10)).collect();
        ("phone_number", DeliveryMediumType::Sms, format!("+*******{digits}"))
    } else {
        ("email", DeliveryMediumType::Email, format!("{}***@{}***", letter(0), letter(1)))
    };
    CodeDeliveryDetailsType {
        destination: Some(destination),
        delivery_medium: Some(medium),
        attribute_name: Some(attribute.to_string()),
    }
}
