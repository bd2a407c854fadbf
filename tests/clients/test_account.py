"""The operations a signed-in user calls with an access token (boto3 and the aws CLI): attribute
updates and their verification codes, attribute deletion, DeleteUser, and sign-in with passwords."""

import pytest
from botocore.exceptions import ClientError

from conftest import GOOD_PASSWORD, attrs, error_code, error_message

FLOWS = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]


@pytest.fixture
def account(cognito, make_pool, make_app_client):
    """account(**CreateUserPool kwargs) -> (pool_id, client_id, access_token) of user 'una'."""

    def make(client_kwargs=None, **pool_kwargs):
        pool_kwargs.setdefault("AutoVerifiedAttributes", ["email"])
        pool_id = make_pool(**pool_kwargs)["Id"]
        client_id = make_app_client(pool_id, ExplicitAuthFlows=FLOWS, **(client_kwargs or {}))["ClientId"]
        cognito.admin_create_user(
            UserPoolId=pool_id, Username="una", MessageAction="SUPPRESS",
            UserAttributes=[{"Name": "email", "Value": "una@example.com"}, {"Name": "email_verified", "Value": "true"},
                            {"Name": "name", "Value": "Una"}],
        )
        cognito.admin_set_user_password(UserPoolId=pool_id, Username="una", Password=GOOD_PASSWORD, Permanent=True)
        auth = cognito.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                                     AuthParameters={"USERNAME": "una", "PASSWORD": GOOD_PASSWORD})
        return pool_id, client_id, auth["AuthenticationResult"]["AccessToken"]

    return make


def user_attrs(cognito, token):
    return attrs(cognito.get_user(AccessToken=token)["UserAttributes"])


def test_changed_email_is_unverified_until_its_code_is_given(cognito, account, last_code):
    pool_id, _, token = account()
    out = cognito.update_user_attributes(AccessToken=token, UserAttributes=[
        {"Name": "email", "Value": "una@example.org"}, {"Name": "name", "Value": "Una B"}])
    assert out["CodeDeliveryDetailsList"] == [
        {"Destination": "u***@e***", "DeliveryMedium": "EMAIL", "AttributeName": "email"}]
    now = user_attrs(cognito, token)
    assert (now["email"], now["email_verified"], now["name"]) == ("una@example.org", "false", "Una B")

    code = last_code(pool_id, "una", "UpdateUserAttributes")
    with pytest.raises(ClientError) as e:
        cognito.verify_user_attribute(AccessToken=token, AttributeName="email",
                                      Code="000000" if code != "000000" else "111111")
    assert error_code(e.value) == "CodeMismatchException"
    cognito.verify_user_attribute(AccessToken=token, AttributeName="email", Code=code)
    assert user_attrs(cognito, token)["email_verified"] == "true"
    with pytest.raises(ClientError) as e:
        cognito.verify_user_attribute(AccessToken=token, AttributeName="email", Code=code)
    assert error_code(e.value) in ("CodeMismatchException", "ExpiredCodeException"), "a code is single-use"


def test_update_before_verification_keeps_the_old_email(cognito, account, messages, last_code):
    pool_id, _, token = account(
        UserAttributeUpdateSettings={"AttributesRequireVerificationBeforeUpdate": ["email"]})
    cognito.update_user_attributes(AccessToken=token, UserAttributes=[{"Name": "email", "Value": "new@example.com"}])
    now = user_attrs(cognito, token)
    assert (now["email"], now["email_verified"]) == ("una@example.com", "true"), "the old email stays until verified"
    sent = [m for m in messages(pool_id, "una") if m.get("Purpose") == "UpdateUserAttributes"]
    assert sent[-1]["Destination"] == "new@example.com"
    cognito.verify_user_attribute(AccessToken=token, AttributeName="email",
                                  Code=last_code(pool_id, "una", "UpdateUserAttributes"))
    now = user_attrs(cognito, token)
    assert (now["email"], now["email_verified"]) == ("new@example.com", "true")


def test_verification_code_on_request_and_its_hourly_limit(cognito, account, last_code):
    pool_id, _, token = account()
    out = cognito.get_user_attribute_verification_code(AccessToken=token, AttributeName="email")
    assert out["CodeDeliveryDetails"]["AttributeName"] == "email"
    assert last_code(pool_id, "una", "GetUserAttributeVerificationCode")
    for _ in range(4):
        cognito.get_user_attribute_verification_code(AccessToken=token, AttributeName="email")
    with pytest.raises(ClientError) as e:
        cognito.get_user_attribute_verification_code(AccessToken=token, AttributeName="email")
    assert error_code(e.value) == "LimitExceededException"
    with pytest.raises(ClientError) as e:
        cognito.get_user_attribute_verification_code(AccessToken=token, AttributeName="phone_number")
    assert error_code(e.value) == "InvalidParameterException"


def test_clients_write_only_their_write_attributes(cognito, account):
    _, _, token = account(client_kwargs={"WriteAttributes": ["name"]})
    cognito.update_user_attributes(AccessToken=token, UserAttributes=[{"Name": "name", "Value": "Ok"}])
    for attribute in ({"Name": "email", "Value": "x@example.com"}, {"Name": "email_verified", "Value": "true"}):
        with pytest.raises(ClientError) as e:
            cognito.update_user_attributes(AccessToken=token, UserAttributes=[attribute])
        assert (error_code(e.value), error_message(e.value)) == (
            "NotAuthorizedException", "A client attempted to write unauthorized attribute")
    assert user_attrs(cognito, token)["email"] == "una@example.com"


def test_users_cannot_verify_themselves(cognito, account):
    _, _, token = account()
    cognito.update_user_attributes(AccessToken=token, UserAttributes=[{"Name": "email", "Value": "z@example.com"}])
    with pytest.raises(ClientError) as e:
        cognito.update_user_attributes(AccessToken=token,
                                       UserAttributes=[{"Name": "email_verified", "Value": "true"}])
    assert error_code(e.value) == "NotAuthorizedException"
    assert user_attrs(cognito, token)["email_verified"] == "false"


def test_delete_attributes_and_delete_user(cognito, account):
    pool_id, client_id, token = account()
    cognito.delete_user_attributes(AccessToken=token, UserAttributeNames=["name"])
    assert "name" not in user_attrs(cognito, token)
    cognito.delete_user(AccessToken=token)
    with pytest.raises(ClientError) as e:
        cognito.admin_get_user(UserPoolId=pool_id, Username="una")
    assert error_code(e.value) == "UserNotFoundException"
    with pytest.raises(ClientError) as e:
        cognito.get_user(AccessToken=token)
    assert error_code(e.value) in ("NotAuthorizedException", "UserNotFoundException")
    with pytest.raises(ClientError) as e:
        cognito.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                              AuthParameters={"USERNAME": "una", "PASSWORD": GOOD_PASSWORD})
    assert error_code(e.value) in ("NotAuthorizedException", "UserNotFoundException")


def test_cli_password_sign_in_refresh_and_sign_out(cognito, account, aws):
    pool_id, client_id, _ = account()
    rc, out, err = aws("cognito-idp", "admin-initiate-auth", "--user-pool-id", pool_id, "--client-id", client_id,
                       "--auth-flow", "ADMIN_USER_PASSWORD_AUTH",
                       "--auth-parameters", f"USERNAME=una,PASSWORD={GOOD_PASSWORD}")
    assert rc == 0, err
    tokens = out["AuthenticationResult"]
    assert tokens["TokenType"] == "Bearer" and tokens["ExpiresIn"] == 3600
    rc, out, err = aws("cognito-idp", "initiate-auth", "--client-id", client_id, "--auth-flow", "REFRESH_TOKEN_AUTH",
                       "--auth-parameters", f"REFRESH_TOKEN={tokens['RefreshToken']}")
    assert rc == 0, err
    access = out["AuthenticationResult"]["AccessToken"]
    rc, out, err = aws("cognito-idp", "get-user", "--access-token", access)
    assert rc == 0, err
    assert out["Username"] == "una"
    rc, out, err = aws("cognito-idp", "update-user-attributes", "--access-token", access,
                       "--user-attributes", "Name=name,Value=Una C")
    assert rc == 0, err
    assert attrs(cognito.admin_get_user(UserPoolId=pool_id, Username="una")["UserAttributes"])["name"] == "Una C"
    rc, out, err = aws("cognito-idp", "global-sign-out", "--access-token", access)
    assert rc == 0, err
    rc, out, err = aws("cognito-idp", "get-user", "--access-token", access)
    assert rc != 0 and "NotAuthorizedException" in err and "Access Token has been revoked" in err, err
    rc, out, err = aws("cognito-idp", "initiate-auth", "--client-id", client_id, "--auth-flow", "USER_PASSWORD_AUTH",
                       "--auth-parameters", "USERNAME=una,PASSWORD=Wrong-Passw0rd")
    assert rc != 0 and "Incorrect username or password." in err, err
