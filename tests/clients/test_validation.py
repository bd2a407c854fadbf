"""Cognito's shape-validation messages, reached through boto3 with client-side validation off.

Format (docs/cognito-facts.md#validation-message-format): `<n> validation error(s) detected: ` + items joined by `; `; an item is
`Value '<v>' at '<path>' failed to satisfy constraint: <constraint>`, `Value null at ...` for a
missing member, and `Value at ...` (no value) for sensitive members.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from conftest import error_code, error_message, unique

POOL_ID_PATTERN = r"[\w-]+_[0-9a-zA-Z]+"
USERNAME_PATTERN = r"[\p{L}\p{M}\p{S}\p{N}\p{P}]+"
CLIENT_ID_PATTERN = r"[\w+]+"
# docs/cognito-facts.md#validation-message-format: a 6-character floor on `password` is still applied at the shape layer before the
# pool policy (observed 2017 and with the newer pattern; [O]/[I]).
PASSWORD_FLOOR = "Member must have length greater than or equal to 6"


def invalid(call, **kwargs) -> str:
    with pytest.raises(ClientError) as e:
        call(**kwargs)
    assert error_code(e.value) == "InvalidParameterException", e.value.response
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return error_message(e.value)


def items_of(message: str) -> list[str]:
    head, _, rest = message.partition(" detected: ")
    return rest.split("; ")


def test_missing_required_member(cognito_raw):
    msg = invalid(cognito_raw.describe_user_pool)
    assert msg == (
        "1 validation error detected: Value null at 'userPoolId' failed to satisfy constraint: "
        "Member must not be null"
    )


def test_pattern_violation_echoes_non_sensitive_value(cognito_raw):
    msg = invalid(cognito_raw.describe_user_pool, UserPoolId="bad id")
    assert msg == (
        "1 validation error detected: Value 'bad id' at 'userPoolId' failed to satisfy constraint: "
        f"Member must satisfy regular expression pattern: {POOL_ID_PATTERN}"
    )


def test_pattern_is_a_full_match(cognito_raw):
    # `[\w-]+_[0-9a-zA-Z]+` would find a match inside this string; a full match must refuse it.
    msg = invalid(cognito_raw.describe_user_pool, UserPoolId="us-east-1_abc!")
    assert "at 'userPoolId' failed to satisfy constraint: Member must satisfy regular expression pattern" in msg


def test_empty_string_reports_length_and_pattern(cognito_raw):
    msg = invalid(cognito_raw.describe_user_pool, UserPoolId="")
    assert msg.startswith("2 validation errors detected: "), msg
    assert set(items_of(msg)) == {
        "Value '' at 'userPoolId' failed to satisfy constraint: Member must have length greater than or equal to 1",
        f"Value '' at 'userPoolId' failed to satisfy constraint: Member must satisfy regular expression pattern: {POOL_ID_PATTERN}",
    }


def test_too_long_value(cognito_raw):
    long_id = "us-east-1_" + "a" * 60
    msg = invalid(cognito_raw.describe_user_pool, UserPoolId=long_id)
    assert (
        f"Value '{long_id}' at 'userPoolId' failed to satisfy constraint: "
        "Member must have length less than or equal to 55"
    ) in msg


def test_two_violations_on_two_members(cognito_raw):
    msg = invalid(cognito_raw.admin_get_user, UserPoolId="x")
    assert msg.startswith("2 validation errors detected: "), msg
    assert set(items_of(msg)) == {
        f"Value 'x' at 'userPoolId' failed to satisfy constraint: Member must satisfy regular expression pattern: {POOL_ID_PATTERN}",
        "Value null at 'username' failed to satisfy constraint: Member must not be null",
    }


def test_sensitive_username_is_not_echoed(cognito_raw):
    msg = invalid(cognito_raw.admin_get_user, UserPoolId="us-east-1_AAAAAAAAA", Username="has space")
    assert msg == (
        "1 validation error detected: Value at 'username' failed to satisfy constraint: "
        f"Member must satisfy regular expression pattern: {USERNAME_PATTERN}"
    )
    assert "has space" not in msg


def test_sensitive_client_id_is_not_echoed(cognito_raw):
    msg = invalid(cognito_raw.sign_up, ClientId="bad-client!", Username="bob", Password="Passw0rd!x")
    assert msg == (
        "1 validation error detected: Value at 'clientId' failed to satisfy constraint: "
        f"Member must satisfy regular expression pattern: {CLIENT_ID_PATTERN}"
    )
    assert "bad-client!" not in msg


def test_short_password_hits_the_shape_floor_without_echo(cognito_raw):
    msg = invalid(cognito_raw.sign_up, ClientId="abc", Username="bob", Password="Ab1!x")
    assert msg == f"1 validation error detected: Value at 'password' failed to satisfy constraint: {PASSWORD_FLOOR}"
    assert "Ab1!x" not in msg


def test_password_with_trailing_space_is_a_pattern_error(cognito_raw):
    msg = invalid(cognito_raw.sign_up, ClientId="abc", Username="bob", Password="Passw0rd!x ")
    assert msg == (
        "1 validation error detected: Value at 'password' failed to satisfy constraint: "
        r"Member must satisfy regular expression pattern: [\S]+"
    )


def test_sensitive_secret_hash_not_echoed(cognito_raw):
    msg = invalid(cognito_raw.sign_up, ClientId="abc", Username="bob", Password="Passw0rd!x", SecretHash="not valid!")
    assert msg.startswith("1 validation error detected: Value at 'secretHash' failed to satisfy constraint: "), msg
    assert "not valid!" not in msg


def test_integer_range(cognito_raw):
    msg = invalid(cognito_raw.list_user_pools, MaxResults=0)
    assert msg == (
        "1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1"
    )
    msg = invalid(cognito_raw.list_user_pools, MaxResults=61)
    assert msg == (
        "1 validation error detected: Value '61' at 'maxResults' failed to satisfy constraint: "
        "Member must have value less than or equal to 60"
    )


def test_nested_member_path(cognito_raw):
    msg = invalid(
        cognito_raw.create_user_pool,
        PoolName=unique(),
        Policies={"PasswordPolicy": {"MinimumLength": 5}},
    )
    assert msg == (
        "1 validation error detected: Value '5' at 'policies.passwordPolicy.minimumLength' "
        "failed to satisfy constraint: Member must have value greater than or equal to 6"
    )


def test_enum_violation(cognito_raw):
    msg = invalid(cognito_raw.create_user_pool, PoolName=unique(), MfaConfiguration="MAYBE")
    assert msg == (
        "1 validation error detected: Value 'MAYBE' at 'mfaConfiguration' failed to satisfy "
        "constraint: Member must satisfy enum value set: [OFF, ON, OPTIONAL]"
    )


def test_list_member_path(cognito_raw):
    msg = invalid(
        cognito_raw.create_user_pool,
        PoolName=unique(),
        Schema=[
            {"Name": "ok", "AttributeDataType": "String"},
            {"Name": "bad", "AttributeDataType": "Str"},
        ],
    )
    assert msg.startswith("1 validation error detected: Value 'Str' at 'schema.2.member.attributeDataType' "), msg
    assert "Member must satisfy enum value set: [" in msg


def test_three_violations_plural(cognito_raw):
    msg = invalid(
        cognito_raw.create_user_pool,
        PoolName="",
        MfaConfiguration="MAYBE",
    )
    # PoolName '' fails length and pattern; MfaConfiguration fails the enum.
    assert msg.startswith("3 validation errors detected: "), msg
    items = set(items_of(msg))
    assert "Value '' at 'poolName' failed to satisfy constraint: Member must have length greater than or equal to 1" in items
    assert (
        "Value 'MAYBE' at 'mfaConfiguration' failed to satisfy constraint: Member must satisfy enum value set: [OFF, ON, OPTIONAL]"
        in items
    )


def test_validation_comes_before_resource_lookup(cognito_raw):
    """A bad member value wins over an unknown pool: shape validation runs first (docs/cognito-facts.md#confirmforgotpassword-evaluation-order)."""
    msg = invalid(cognito_raw.list_users, UserPoolId="us-east-1_AAAAAAAAA", Limit=100)
    assert msg == (
        "1 validation error detected: Value '100' at 'limit' failed to satisfy constraint: "
        "Member must have value less than or equal to 60"
    )


def test_validation_through_before_call_event(cognito):
    """The same server check reached by rewriting the request with botocore's event hooks."""

    def clear_pool_id(params, **kwargs):
        params["body"] = b"{}"

    cognito.meta.events.register("before-call.cognito-identity-provider.DescribeUserPool", clear_pool_id)
    try:
        with pytest.raises(ClientError) as e:
            cognito.describe_user_pool(UserPoolId="us-east-1_AAAAAAAAA")
    finally:
        cognito.meta.events.unregister("before-call.cognito-identity-provider.DescribeUserPool", clear_pool_id)
    assert error_code(e.value) == "InvalidParameterException"
    assert error_message(e.value) == (
        "1 validation error detected: Value null at 'userPoolId' failed to satisfy constraint: "
        "Member must not be null"
    )
