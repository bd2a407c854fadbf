//! Users' aliases and their wire form.

use crate::domain::calendar::epoch_seconds;
use crate::domain::pools::Pool;
use crate::domain::records::{AliasKind, UserRow};
use userpool_model::types::{AttributeType, UserStatusType, UserType};

/// The sign-in names a user's attributes give in this pool: an email or phone number used as
/// the username (verified or not), and verified aliases (preferred_username needs no verification).
pub fn aliases(pool: &Pool, attributes: &[(String, String)]) -> Vec<(AliasKind, Option<String>)> {
    let get = |n: &str| attributes.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    AliasKind::ALL
        .into_iter()
        .filter(|k| pool.has_username_attribute(k.attribute()) || pool.has_alias_attribute(k.attribute()))
        .map(|kind| {
            let attribute = kind.attribute();
            let verified = match kind {
                AliasKind::Email => get("email_verified") == Some("true"),
                AliasKind::PhoneNumber => get("phone_number_verified") == Some("true"),
                AliasKind::PreferredUsername => true,
            };
            let usable = pool.has_username_attribute(attribute) || verified;
            (kind, get(attribute).filter(|_| usable).map(|v| pool.key(v)))
        })
        .collect()
}

pub fn status(user: &UserRow) -> UserStatusType {
    UserStatusType::from_wire(&user.status).unwrap_or(UserStatusType::Unknown)
}

pub fn attribute_types(user: &UserRow, only: Option<&[String]>) -> Vec<AttributeType> {
    user.attributes
        .iter()
        .filter(|(n, _)| only.is_none_or(|names| names.iter().any(|x| x == n)))
        .map(|(n, v)| AttributeType { name: n.clone(), value: Some(v.clone().into()) })
        .collect()
}

/// The `UserType` of AdminCreateUser and ListUsers.
pub fn user_type(user: &UserRow, only: Option<&[String]>) -> UserType {
    UserType {
        username: Some(user.username.clone().into()),
        attributes: Some(attribute_types(user, only)),
        user_create_date: Some(epoch_seconds(user.created_at)),
        user_last_modified_date: Some(epoch_seconds(user.updated_at)),
        enabled: Some(user.enabled),
        user_status: Some(status(user)),
        mfa_options: None,
    }
}
