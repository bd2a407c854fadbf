//! User attributes and the pool schema: the standard OpenID Connect attributes every pool has,
//! `custom:` attributes a pool declares, and the checks SignUp, AdminCreateUser and the update
//! operations apply. https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-settings-attributes.html

use crate::api_error;
use crate::error::ApiResult;
use userpool_model::types::{
    AttributeDataType, AttributeType, NumberAttributeConstraintsType, SchemaAttributeType,
    StringAttributeConstraintsType,
};

/// Standard attributes in the order DescribeUserPool lists them for pools created since 2024
/// (captured responses of 2024-08 and 2025-05 agree; earlier pools listed `sub` first and had no
/// `identities`), with their data type.
const STANDARD: [(&str, AttributeDataType); 21] = [
    ("profile", AttributeDataType::String),
    ("address", AttributeDataType::String),
    ("birthdate", AttributeDataType::String),
    ("gender", AttributeDataType::String),
    ("preferred_username", AttributeDataType::String),
    ("updated_at", AttributeDataType::Number),
    ("website", AttributeDataType::String),
    ("picture", AttributeDataType::String),
    ("identities", AttributeDataType::String),
    ("sub", AttributeDataType::String),
    ("phone_number", AttributeDataType::String),
    ("phone_number_verified", AttributeDataType::Boolean),
    ("zoneinfo", AttributeDataType::String),
    ("locale", AttributeDataType::String),
    ("email", AttributeDataType::String),
    ("email_verified", AttributeDataType::Boolean),
    ("given_name", AttributeDataType::String),
    ("family_name", AttributeDataType::String),
    ("middle_name", AttributeDataType::String),
    ("name", AttributeDataType::String),
    ("nickname", AttributeDataType::String),
];

pub const CUSTOM_PREFIX: &str = "custom:";

fn standard_attribute(name: &str, data_type: AttributeDataType) -> SchemaAttributeType {
    let (strings, numbers) = match (name, data_type) {
        ("sub", _) => (Some(("1", "2048")), None),
        ("identities", _) => {
            return SchemaAttributeType {
                name: Some(name.to_string()),
                attribute_data_type: Some(data_type),
                developer_only_attribute: Some(false),
                mutable: Some(true),
                required: Some(false),
                number_attribute_constraints: None,
                string_attribute_constraints: Some(StringAttributeConstraintsType::default()),
            };
        }
        ("birthdate", _) => (Some(("10", "10")), None),
        (_, AttributeDataType::String) => (Some(("0", "2048")), None),
        (_, AttributeDataType::Number) => {
            (None, Some(NumberAttributeConstraintsType { min_value: Some("0".into()), max_value: None }))
        }
        _ => (None, None),
    };
    SchemaAttributeType {
        name: Some(name.to_string()),
        attribute_data_type: Some(data_type),
        developer_only_attribute: Some(false),
        mutable: Some(name != "sub"),
        required: Some(name == "sub"),
        number_attribute_constraints: numbers,
        string_attribute_constraints: strings.map(|(min, max)| StringAttributeConstraintsType {
            min_length: Some(min.to_string()),
            max_length: Some(max.to_string()),
        }),
    }
}

/// The pool's schema from CreateUserPool's `Schema`: every standard attribute (the request may
/// make one required or immutable or narrow its constraints) followed by the custom ones.
pub fn build_schema(requested: Option<&[SchemaAttributeType]>) -> ApiResult<Vec<SchemaAttributeType>> {
    let mut schema: Vec<SchemaAttributeType> = STANDARD.iter().map(|(n, t)| standard_attribute(n, *t)).collect();
    for r in requested.unwrap_or_default() {
        let name = r.name.clone().unwrap_or_default();
        if name.is_empty() {
            return Err(api_error!(InvalidParameterException, "Schema attribute name cannot be empty."));
        }
        if let Some(existing) = schema.iter_mut().find(|s| s.name.as_deref() == Some(name.as_str())) {
            if name == "sub" {
                continue;
            }
            if let Some(t) = r.attribute_data_type
                && Some(t) != existing.attribute_data_type
            {
                return Err(api_error!(
                    InvalidParameterException,
                    "You can not change AttributeDataType or set developerOnlyAttribute for standard schema attribute {name}"
                ));
            }
            existing.required = Some(r.required.unwrap_or(false));
            existing.mutable = Some(r.mutable.unwrap_or(true));
            if r.string_attribute_constraints.is_some() {
                existing.string_attribute_constraints.clone_from(&r.string_attribute_constraints);
            }
            if r.number_attribute_constraints.is_some() {
                existing.number_attribute_constraints.clone_from(&r.number_attribute_constraints);
            }
            continue;
        }
        add_custom(&mut schema, r)?;
    }
    Ok(schema)
}

/// Appends a custom attribute (CreateUserPool's `Schema`, AddCustomAttributes). Cognito always
/// prefixes the name: `team` becomes `custom:team` (and `custom:team` becomes
/// `custom:custom:team`), developer-only ones `dev:custom:team`.
pub fn add_custom(schema: &mut Vec<SchemaAttributeType>, r: &SchemaAttributeType) -> ApiResult<()> {
    let raw = r.name.clone().unwrap_or_default();
    let developer_only = r.developer_only_attribute.unwrap_or(false);
    let name = if developer_only { format!("dev:{CUSTOM_PREFIX}{raw}") } else { format!("{CUSTOM_PREFIX}{raw}") };
    if raw.chars().count() > 20 {
        return Err(api_error!(InvalidParameterException, "Custom attribute name {raw} is longer than 20 characters."));
    }
    if schema.iter().any(|s| s.name.as_deref() == Some(name.as_str())) {
        return Err(api_error!(InvalidParameterException, "{raw}: Existing attribute already has name {name}."));
    }
    if r.required == Some(true) {
        return Err(api_error!(InvalidParameterException, "Required custom attributes are not supported currently."));
    }
    let data_type = r.attribute_data_type.unwrap_or(AttributeDataType::String);
    schema.push(SchemaAttributeType {
        name: Some(name),
        attribute_data_type: Some(data_type),
        developer_only_attribute: Some(developer_only),
        mutable: Some(r.mutable.unwrap_or(true)),
        required: Some(false),
        number_attribute_constraints: match data_type {
            AttributeDataType::Number => Some(r.number_attribute_constraints.clone().unwrap_or_default()),
            _ => None,
        },
        string_attribute_constraints: match data_type {
            AttributeDataType::String => Some(r.string_attribute_constraints.clone().unwrap_or_default()),
            _ => None,
        },
    });
    Ok(())
}

fn find<'a>(schema: &'a [SchemaAttributeType], name: &str) -> Option<&'a SchemaAttributeType> {
    schema.iter().find(|s| s.name.as_deref() == Some(name))
}

/// Cognito ends these messages with a newline (one line per offending attribute).
fn schema_error(detail: impl std::fmt::Display) -> crate::error::ApiError {
    api_error!(InvalidParameterException, "Attributes did not conform to the schema: {detail}\n")
}

/// Checks attributes a caller sets: each must be declared, mutable (unless `creating`), of its
/// type and length. `sub` is never writable.
pub fn check_writable(schema: &[SchemaAttributeType], attributes: &[AttributeType], creating: bool) -> ApiResult<()> {
    for a in attributes {
        let name = a.name.as_str();
        let Some(def) = find(schema, name).filter(|_| name != "sub") else {
            return Err(schema_error(format!("{name}: Attribute does not exist in the schema.")));
        };
        if !creating && def.mutable == Some(false) {
            return Err(api_error!(InvalidParameterException, "Cannot modify the non-mutable attribute {name}"));
        }
        let value = a.value.as_deref().map_or("", |v| v.as_str());
        match def.attribute_data_type {
            Some(AttributeDataType::Boolean) if !matches!(value, "true" | "false") => {
                return Err(schema_error(format!("{name}: Attribute value for {name} must be a boolean")));
            }
            Some(AttributeDataType::Number) if value.parse::<f64>().is_err() => {
                return Err(schema_error(format!("{name}: Number value is not valid")));
            }
            _ => {}
        }
        if let Some(c) = &def.string_attribute_constraints {
            let len = value.chars().count();
            let bound = |b: &Option<String>| b.as_deref().and_then(|s| s.parse::<usize>().ok());
            if bound(&c.max_length).is_some_and(|max| len > max) || bound(&c.min_length).is_some_and(|min| len < min) {
                return Err(schema_error(format!("{name}: String is too long or too short")));
            }
        }
        if name == "email" && !value.is_empty() && !looks_like_email(value) {
            return Err(api_error!(InvalidParameterException, "Invalid email address format."));
        }
        if name == "phone_number" && !value.is_empty() && !looks_like_phone(value) {
            return Err(api_error!(InvalidParameterException, "Invalid phone number format."));
        }
    }
    Ok(())
}

/// Checks that a new user has every required attribute.
/// Checks that a new user has every required attribute, and no verified flag without the
/// value it verifies.
pub fn check_required(schema: &[SchemaAttributeType], attributes: &[(String, String)]) -> ApiResult<()> {
    let has = |name: &str| attributes.iter().any(|(n, _)| n == name);
    for def in schema.iter().filter(|s| s.required == Some(true)) {
        let name = def.name.as_deref().unwrap_or_default();
        if name != "sub" && !has(name) {
            return Err(schema_error(format!("{name}: The attribute is required")));
        }
    }
    for (attribute, flag) in [("email", "email_verified"), ("phone_number", "phone_number_verified")] {
        if !has(attribute) && attributes.iter().any(|(n, v)| n == flag && v == "true") {
            return Err(api_error!(InvalidParameterException, "No {attribute} provided but {flag} was true"));
        }
    }
    Ok(())
}

pub fn looks_like_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    !local.is_empty() && !domain.is_empty() && !domain.contains('@') && !value.contains(char::is_whitespace)
}

/// E.164: `+` and 4 to 15 digits.
pub fn looks_like_phone(value: &str) -> bool {
    value.strip_prefix('+').is_some_and(|d| (4..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(name: &str, value: &str) -> AttributeType {
        AttributeType { name: name.into(), value: Some(value.to_string().into()) }
    }

    #[test]
    fn schema_has_standard_then_custom_attributes() {
        let requested = [
            SchemaAttributeType { name: Some("email".into()), required: Some(true), ..Default::default() },
            SchemaAttributeType {
                name: Some("team".into()),
                attribute_data_type: Some(AttributeDataType::String),
                ..Default::default()
            },
        ];
        let schema = build_schema(Some(&requested)).unwrap();
        assert_eq!(schema.len(), 22);
        assert_eq!(schema[0].name.as_deref(), Some("profile"));
        assert_eq!(schema[9].name.as_deref(), Some("sub"));
        assert_eq!(schema[21].name.as_deref(), Some("custom:team"));
        assert_eq!(find(&schema, "email").unwrap().required, Some(true));
        assert!(check_required(&schema, &[]).unwrap_err().message().contains("email: The attribute is required"));
        let custom_required =
            [SchemaAttributeType { name: Some("x".into()), required: Some(true), ..Default::default() }];
        assert!(build_schema(Some(&custom_required)).is_err());
    }

    #[test]
    fn writable_attributes() {
        let schema = build_schema(None).unwrap();
        assert!(check_writable(&schema, &[attr("email", "a@b.c"), attr("email_verified", "true")], true).is_ok());
        let e = check_writable(&schema, &[attr("custom:nope", "x")], true).unwrap_err();
        assert_eq!(
            e.message(),
            "Attributes did not conform to the schema: custom:nope: Attribute does not exist in the schema.\n"
        );
        assert!(check_writable(&schema, &[attr("sub", "x")], true).is_err());
        assert!(check_writable(&schema, &[attr("email_verified", "yes")], true).is_err());
        assert!(check_writable(&schema, &[attr("email", "not-an-email")], true).is_err());
        assert!(check_writable(&schema, &[attr("phone_number", "+15555551234")], true).is_ok());
        assert!(check_writable(&schema, &[attr("phone_number", "555")], true).is_err());
    }
}
