"""Username handling: email-as-username pools, case-insensitive pools, alias pools, sub lookups."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from conftest import GOOD_PASSWORD, UUID_RE, attrs, error_code, error_message

# AdminCreateUser with a non-email username in an email-as-username pool (boto/boto3#3836,
# and aws-samples PR quoting the same service message).
USERNAME_SHOULD_BE_EMAIL = "Username should be an email."
USER_NOT_FOUND = "User does not exist."
# SignUp/AdminCreateUser of an email already used in an email-as-username pool:
# UsernameExistsException with this text (AWS responses recorded in docs/compatibility.md, H: localstack-ext AWS-validated
# snapshot `test_create_admin_user_with_duplicate_email` 2022-09; jonsaw/amazon-cognito-identity-dart#73).
EMAIL_ACCOUNT_EXISTS = "An account with the given email already exists."
# SignUp with an email-shaped username in an email-alias pool (aws-amplify/amplify-js#8800,
# amplify-cli#7998 and #8159, awsmobile-cli#178: InvalidParameterException with this text).
USERNAME_NOT_EMAIL_FORMAT = "Username cannot be of email format, since user pool is configured for email alias."


# ---------------------------------------------------------------------------------------------
# Email as username (UsernameAttributes ["email"])
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def email_pool(make_pool):
    return make_pool(UsernameAttributes=["email"])["Id"]


def test_email_username_internal_name_is_sub(cognito, email_pool):
    user = cognito.admin_create_user(
        UserPoolId=email_pool, Username="bob@example.com", MessageAction="SUPPRESS"
    )["User"]
    sub = attrs(user["Attributes"])["sub"]
    assert UUID_RE.match(sub)
    assert user["Username"] == sub
    assert attrs(user["Attributes"])["email"] == "bob@example.com"

    by_email = cognito.admin_get_user(UserPoolId=email_pool, Username="bob@example.com")
    assert by_email["Username"] == sub
    assert attrs(by_email["UserAttributes"])["email"] == "bob@example.com"
    by_sub = cognito.admin_get_user(UserPoolId=email_pool, Username=sub)
    assert by_sub["Username"] == sub


def test_email_username_messages_keyed_by_given_username(cognito, email_pool, messages):
    cognito.admin_create_user(
        UserPoolId=email_pool, Username="inv@example.com", DesiredDeliveryMediums=["EMAIL"]
    )
    msgs = messages(email_pool, "inv@example.com")
    assert len(msgs) == 1 and msgs[0]["Purpose"] == "AdminCreateUser", msgs


def test_email_username_sign_up(cognito, email_pool, make_app_client):
    client_id = make_app_client(email_pool)["ClientId"]
    resp = cognito.sign_up(ClientId=client_id, Username="sue@example.com", Password=GOOD_PASSWORD)
    user = cognito.admin_get_user(UserPoolId=email_pool, Username="sue@example.com")
    assert user["Username"] == resp["UserSub"]
    assert attrs(user["UserAttributes"])["email"] == "sue@example.com"


def test_email_username_rejects_non_email(cognito, email_pool):
    with pytest.raises(ClientError) as e:
        cognito.admin_create_user(UserPoolId=email_pool, Username="plainname", MessageAction="SUPPRESS")
    assert error_code(e.value) == "InvalidParameterException"
    assert error_message(e.value) == USERNAME_SHOULD_BE_EMAIL


def test_email_username_duplicate_email(cognito, email_pool):
    """A second user with the same email is a duplicate username, not an alias clash."""
    cognito.admin_create_user(UserPoolId=email_pool, Username="dup@example.com", MessageAction="SUPPRESS")
    with pytest.raises(ClientError) as e:
        cognito.admin_create_user(UserPoolId=email_pool, Username="dup@example.com", MessageAction="SUPPRESS")
    assert error_code(e.value) == "UsernameExistsException"
    assert error_message(e.value) == EMAIL_ACCOUNT_EXISTS


def test_email_username_duplicate_sign_up(cognito, email_pool, make_app_client):
    client_id = make_app_client(email_pool)["ClientId"]
    cognito.sign_up(ClientId=client_id, Username="twice@example.com", Password=GOOD_PASSWORD)
    with pytest.raises(ClientError) as e:
        cognito.sign_up(ClientId=client_id, Username="twice@example.com", Password=GOOD_PASSWORD)
    assert error_code(e.value) == "UsernameExistsException"
    assert error_message(e.value) == EMAIL_ACCOUNT_EXISTS


def test_email_username_list_users_shows_sub(cognito, email_pool):
    user = cognito.admin_create_user(UserPoolId=email_pool, Username="list@example.com", MessageAction="SUPPRESS")["User"]
    users = cognito.list_users(UserPoolId=email_pool, Filter='email = "list@example.com"')["Users"]
    assert [u["Username"] for u in users] == [user["Username"]]


def test_email_username_admin_operations_accept_email(cognito, email_pool):
    cognito.admin_create_user(UserPoolId=email_pool, Username="ops@example.com", MessageAction="SUPPRESS")
    cognito.admin_set_user_password(UserPoolId=email_pool, Username="ops@example.com",
                                    Password=GOOD_PASSWORD, Permanent=True)
    cognito.admin_disable_user(UserPoolId=email_pool, Username="ops@example.com")
    got = cognito.admin_get_user(UserPoolId=email_pool, Username="ops@example.com")
    assert got["UserStatus"] == "CONFIRMED" and got["Enabled"] is False
    cognito.admin_delete_user(UserPoolId=email_pool, Username="ops@example.com")
    with pytest.raises(ClientError) as e:
        cognito.admin_get_user(UserPoolId=email_pool, Username="ops@example.com")
    assert error_code(e.value) == "UserNotFoundException"


# ---------------------------------------------------------------------------------------------
# Case sensitivity
# ---------------------------------------------------------------------------------------------


def test_case_insensitive_pool(cognito, make_pool):
    pool_id = make_pool(UsernameConfiguration={"CaseSensitive": False})["Id"]
    cognito.admin_create_user(UserPoolId=pool_id, Username="Alice", MessageAction="SUPPRESS")
    got = cognito.admin_get_user(UserPoolId=pool_id, Username="alice")
    assert got["Username"].lower() == "alice"
    assert cognito.admin_get_user(UserPoolId=pool_id, Username="ALICE")["Username"] == got["Username"]
    with pytest.raises(ClientError) as e:
        cognito.admin_create_user(UserPoolId=pool_id, Username="aLiCe", MessageAction="SUPPRESS")
    assert error_code(e.value) == "UsernameExistsException"


def test_case_insensitive_sign_up_then_confirm_with_other_case(cognito, make_pool, make_app_client, last_code):
    pool_id = make_pool(UsernameConfiguration={"CaseSensitive": False}, AutoVerifiedAttributes=["email"])["Id"]
    client_id = make_app_client(pool_id)["ClientId"]
    cognito.sign_up(ClientId=client_id, Username="Mixed", Password=GOOD_PASSWORD,
                    UserAttributes=[{"Name": "email", "Value": "mixed@example.com"}])
    code = last_code(pool_id, "Mixed", "SignUp")
    cognito.confirm_sign_up(ClientId=client_id, Username="mixed", ConfirmationCode=code)
    assert cognito.admin_get_user(UserPoolId=pool_id, Username="MIXED")["UserStatus"] == "CONFIRMED"


def test_case_sensitive_pool(cognito, make_pool):
    pool_id = make_pool(UsernameConfiguration={"CaseSensitive": True})["Id"]
    cognito.admin_create_user(UserPoolId=pool_id, Username="Alice", MessageAction="SUPPRESS")
    with pytest.raises(ClientError) as e:
        cognito.admin_get_user(UserPoolId=pool_id, Username="alice")
    assert error_code(e.value) == "UserNotFoundException"
    assert error_message(e.value) == USER_NOT_FOUND
    cognito.admin_create_user(UserPoolId=pool_id, Username="alice", MessageAction="SUPPRESS")
    assert cognito.admin_get_user(UserPoolId=pool_id, Username="alice")["Username"] == "alice"
    assert cognito.admin_get_user(UserPoolId=pool_id, Username="Alice")["Username"] == "Alice"


def test_default_pool_is_case_sensitive(cognito, make_pool):
    """API-created pools without UsernameConfiguration are case sensitive (docs/cognito-facts.md#case-sensitivity)."""
    pool_id = make_pool()["Id"]
    cognito.admin_create_user(UserPoolId=pool_id, Username="Zed", MessageAction="SUPPRESS")
    with pytest.raises(ClientError) as e:
        cognito.admin_get_user(UserPoolId=pool_id, Username="zed")
    assert error_code(e.value) == "UserNotFoundException"


# ---------------------------------------------------------------------------------------------
# Aliases (AliasAttributes ["email"])
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def alias_pool(make_pool):
    return make_pool(AliasAttributes=["email"])["Id"]


def test_alias_lookup_by_verified_email(cognito, alias_pool):
    cognito.admin_create_user(
        UserPoolId=alias_pool,
        Username="carol",
        MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "email", "Value": "carol@example.com"},
                        {"Name": "email_verified", "Value": "true"}],
    )
    got = cognito.admin_get_user(UserPoolId=alias_pool, Username="carol@example.com")
    assert got["Username"] == "carol"
    cognito.admin_set_user_password(UserPoolId=alias_pool, Username="carol@example.com",
                                    Password=GOOD_PASSWORD, Permanent=True)
    assert cognito.admin_get_user(UserPoolId=alias_pool, Username="carol")["UserStatus"] == "CONFIRMED"


def test_alias_unverified_email_is_not_an_alias(cognito, alias_pool):
    cognito.admin_create_user(
        UserPoolId=alias_pool,
        Username="dan",
        MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "email", "Value": "dan@example.com"}],
    )
    with pytest.raises(ClientError) as e:
        cognito.admin_get_user(UserPoolId=alias_pool, Username="dan@example.com")
    assert error_code(e.value) == "UserNotFoundException"


def test_alias_pool_refuses_email_shaped_username(cognito, alias_pool, make_app_client):
    """With email as an alias, a username cannot itself be an email."""
    client_id = make_app_client(alias_pool)["ClientId"]
    with pytest.raises(ClientError) as e:
        cognito.sign_up(ClientId=client_id, Username="eve@example.com", Password=GOOD_PASSWORD,
                        UserAttributes=[{"Name": "email", "Value": "eve@example.com"}])
    assert error_code(e.value) == "InvalidParameterException"
    assert error_message(e.value) == USERNAME_NOT_EMAIL_FORMAT
    with pytest.raises(ClientError) as e:
        cognito.admin_create_user(UserPoolId=alias_pool, Username="eve@example.com", MessageAction="SUPPRESS")
    assert error_code(e.value) == "InvalidParameterException"


def test_alias_moves_to_last_verifier(cognito, alias_pool):
    """Only the last user who verified an alias value can use it (docs/cognito-facts.md#which-user-is-addressed); the earlier user
    loses it. Creating the second user needs ForceAliasCreation."""
    verified = [{"Name": "email", "Value": "shared@example.com"}, {"Name": "email_verified", "Value": "true"}]
    cognito.admin_create_user(UserPoolId=alias_pool, Username="first", MessageAction="SUPPRESS",
                              UserAttributes=verified)
    with pytest.raises(ClientError) as e:
        cognito.admin_create_user(UserPoolId=alias_pool, Username="second", MessageAction="SUPPRESS",
                                  UserAttributes=verified)
    assert error_code(e.value) == "AliasExistsException"
    cognito.admin_create_user(UserPoolId=alias_pool, Username="second", MessageAction="SUPPRESS",
                              UserAttributes=verified, ForceAliasCreation=True)
    assert cognito.admin_get_user(UserPoolId=alias_pool, Username="shared@example.com")["Username"] == "second"
