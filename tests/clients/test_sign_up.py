"""Public sign-up: SignUp, ConfirmSignUp, ResendConfirmationCode, SecretHash, policy messages."""

from __future__ import annotations

import re

import pytest
from botocore.exceptions import ClientError

from conftest import GOOD_PASSWORD, UUID_RE, attrs, error_code, error_message, secret_hash, unique

# docs/cognito-facts.md#exact-error-strings [O].
CODE_MISMATCH = "Invalid verification code provided, please try again."
# docs/cognito-facts.md#exact-error-strings, #secrethash [O]: no trailing period.
SECRET_HASH_MESSAGE = "Unable to verify secret hash for client {client_id}"
# docs/cognito-facts.md#exact-error-strings [O] I-php2183.
CLIENT_NOT_FOUND = "User pool client {client_id} does not exist."
# docs/cognito-facts.md#exact-error-strings, #password-policy-and-history [O] C-pwd: SignUp uses this prefix.
SIGNUP_POLICY_PREFIX = "Password did not conform with policy: "
POLICY_CASES = [
    ("Ab1!xy", "Password not long enough"),
    ("ABCDEFG1!", "Password must have lowercase characters"),
    ("abcdefg1!", "Password must have uppercase characters"),
    ("Abcdefgh!", "Password must have numeric characters"),
    ("Abcdefg12", "Password must have symbol characters"),
]
# SignUp on an existing username: "User already exists" (amplify-js#6238 quoting the service,
# amazon-cognito-identity-js#386 `UsernameExistsException: User already exists`).
SIGNUP_USERNAME_EXISTS = "User already exists"
# Undeclared attribute: AWS responses recorded in docs/compatibility.md (H: AWS-validated localstack-ext snapshot 2023-08; the raw
# message ends with a newline), also amplify-js#2167, amplify-flutter#509.
UNDECLARED_ATTRIBUTE = "Attributes did not conform to the schema: {name}: Attribute does not exist in the schema.\n"
# AWS responses recorded in docs/compatibility.md (H).
CONFIRM_CONFIRMED_USER = "User cannot be confirmed. Current status is CONFIRMED"
# AWS responses recorded in docs/compatibility.md (M: one 2020 report plus app code comparing the string); type-only assertion.
RESEND_CONFIRMED_USER_UNVERIFIED = "User is already confirmed."
# docs/cognito-facts.md#destination-masking: `a***@e***` (first char of local part and of domain, TLD dropped).
MASKED_ALICE = "a***@e***"
CODE_RE = re.compile(r"^\d{6}$")


@pytest.fixture
def pool(make_pool):
    return make_pool(AutoVerifiedAttributes=["email"])


@pytest.fixture
def client_id(pool, make_app_client):
    return make_app_client(pool["Id"])["ClientId"]


@pytest.fixture
def secret_client(pool, make_app_client):
    c = make_app_client(pool["Id"], GenerateSecret=True)
    return c["ClientId"], c["ClientSecret"]


def sign_up(cognito, client_id, username, email=None, password=GOOD_PASSWORD, **kw):
    attributes = kw.pop("UserAttributes", [])
    if email:
        attributes = attributes + [{"Name": "email", "Value": email}]
    return cognito.sign_up(ClientId=client_id, Username=username, Password=password,
                           UserAttributes=attributes, **kw)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_sign_up_returns_sub_and_masked_delivery(cognito, pool, client_id):
    resp = sign_up(cognito, client_id, "alice", "alice@example.com")
    assert UUID_RE.match(resp["UserSub"]), resp["UserSub"]
    assert resp["UserConfirmed"] is False
    cdd = resp["CodeDeliveryDetails"]
    assert cdd == {"Destination": MASKED_ALICE, "DeliveryMedium": "EMAIL", "AttributeName": "email"}, cdd
    user = cognito.admin_get_user(UserPoolId=pool["Id"], Username="alice")
    assert user["UserStatus"] == "UNCONFIRMED"
    a = attrs(user["UserAttributes"])
    assert a["sub"] == resp["UserSub"]
    assert a["email"] == "alice@example.com"
    # SignUp adds email_verified "false" (AWS responses recorded in docs/compatibility.md, H).
    assert a.get("email_verified") == "false", a


def test_sign_up_records_code_message(cognito, pool, client_id, messages):
    sign_up(cognito, client_id, "alice", "alice@example.com")
    msgs = messages(pool["Id"], "alice")
    assert len(msgs) == 1, msgs
    m = msgs[0]
    assert m["Purpose"] == "SignUp"
    assert m["DeliveryMedium"] == "EMAIL"
    assert m["Username"] == "alice"
    assert m["UserPoolId"] == pool["Id"]
    assert CODE_RE.match(m["Code"]), m["Code"]
    assert m["Code"] in m["Body"]


def test_sign_up_without_auto_verify_sends_nothing(cognito, make_pool, make_app_client, messages):
    pool_id = make_pool()["Id"]
    client_id = make_app_client(pool_id)["ClientId"]
    resp = sign_up(cognito, client_id, "plain", "plain@example.com")
    assert resp["UserConfirmed"] is False
    assert "CodeDeliveryDetails" not in resp
    assert messages(pool_id, "plain") == []


def test_confirm_sign_up(cognito, pool, client_id, last_code):
    sign_up(cognito, client_id, "carol", "carol@example.com")
    code = last_code(pool["Id"], "carol", "SignUp")
    with pytest.raises(ClientError) as e:
        cognito.confirm_sign_up(ClientId=client_id, Username="carol", ConfirmationCode=wrong(code))
    assert error_code(e.value) == "CodeMismatchException"
    assert error_message(e.value) == CODE_MISMATCH
    assert cognito.admin_get_user(UserPoolId=pool["Id"], Username="carol")["UserStatus"] == "UNCONFIRMED"

    cognito.confirm_sign_up(ClientId=client_id, Username="carol", ConfirmationCode=code)
    user = cognito.admin_get_user(UserPoolId=pool["Id"], Username="carol")
    assert user["UserStatus"] == "CONFIRMED"
    assert attrs(user["UserAttributes"]).get("email_verified") == "true"


def test_confirm_sign_up_unknown_user(cognito, client_id):
    with pytest.raises(ClientError) as e:
        cognito.confirm_sign_up(ClientId=client_id, Username="nobody", ConfirmationCode="123456")
    # LEGACY default: UserNotFoundException; ENABLED: CodeMismatchException (docs/cognito-facts.md#preventuserexistenceerrors).
    assert error_code(e.value) in ("UserNotFoundException", "CodeMismatchException")


def test_resend_confirmation_code(cognito, pool, client_id, messages, last_code):
    sign_up(cognito, client_id, "dave", "dave@example.com")
    old = last_code(pool["Id"], "dave", "SignUp")
    resp = cognito.resend_confirmation_code(ClientId=client_id, Username="dave")
    assert resp["CodeDeliveryDetails"] == {
        "Destination": "d***@e***", "DeliveryMedium": "EMAIL", "AttributeName": "email"}
    msgs = messages(pool["Id"], "dave")
    assert [m["Purpose"] for m in msgs] == ["SignUp", "ResendConfirmationCode"]
    new = msgs[-1]["Code"]
    assert CODE_RE.match(new)
    if new != old:  # a 1-in-a-million collision would make this check meaningless
        with pytest.raises(ClientError) as e:
            cognito.confirm_sign_up(ClientId=client_id, Username="dave", ConfirmationCode=old)
        assert error_code(e.value) in ("CodeMismatchException", "ExpiredCodeException")
    cognito.confirm_sign_up(ClientId=client_id, Username="dave", ConfirmationCode=new)
    assert cognito.admin_get_user(UserPoolId=pool["Id"], Username="dave")["UserStatus"] == "CONFIRMED"


def test_code_is_single_use(cognito, pool, client_id, last_code):
    sign_up(cognito, client_id, "erin", "erin@example.com")
    code = last_code(pool["Id"], "erin", "SignUp")
    cognito.confirm_sign_up(ClientId=client_id, Username="erin", ConfirmationCode=code)
    with pytest.raises(ClientError) as e:
        cognito.confirm_sign_up(ClientId=client_id, Username="erin", ConfirmationCode=code)
    # A second confirmation of a confirmed user (AWS responses recorded in docs/compatibility.md, H).
    assert error_code(e.value) == "NotAuthorizedException"
    assert error_message(e.value) == CONFIRM_CONFIRMED_USER


def test_resend_for_confirmed_user(cognito, pool, client_id, last_code):
    sign_up(cognito, client_id, "fred", "fred@example.com")
    cognito.confirm_sign_up(ClientId=client_id, Username="fred",
                            ConfirmationCode=last_code(pool["Id"], "fred", "SignUp"))
    with pytest.raises(ClientError) as e:
        cognito.resend_confirmation_code(ClientId=client_id, Username="fred")
    assert error_code(e.value) == "InvalidParameterException"


def test_secret_hash_required(cognito, pool, secret_client):
    client_id, secret = secret_client
    expected = SECRET_HASH_MESSAGE.format(client_id=client_id)
    with pytest.raises(ClientError) as e:
        sign_up(cognito, client_id, "frank", "frank@example.com")
    assert error_code(e.value) == "NotAuthorizedException"
    assert error_message(e.value) == expected
    with pytest.raises(ClientError) as e:
        sign_up(cognito, client_id, "frank", "frank@example.com",
                SecretHash=secret_hash("someone-else", client_id, secret))
    assert error_code(e.value) == "NotAuthorizedException"
    assert error_message(e.value) == expected
    with pytest.raises(ClientError) as e:
        cognito.admin_get_user(UserPoolId=pool["Id"], Username="frank")
    assert error_code(e.value) == "UserNotFoundException", "a refused SignUp created the user"

    resp = sign_up(cognito, client_id, "frank", "frank@example.com",
                   SecretHash=secret_hash("frank", client_id, secret))
    assert UUID_RE.match(resp["UserSub"])


def test_secret_hash_on_confirm_and_resend(cognito, pool, secret_client, last_code):
    client_id, secret = secret_client
    good = secret_hash("gina", client_id, secret)
    sign_up(cognito, client_id, "gina", "gina@example.com", SecretHash=good)
    expected = SECRET_HASH_MESSAGE.format(client_id=client_id)
    with pytest.raises(ClientError) as e:
        cognito.resend_confirmation_code(ClientId=client_id, Username="gina")
    assert error_code(e.value) == "NotAuthorizedException"
    assert error_message(e.value) == expected
    cognito.resend_confirmation_code(ClientId=client_id, Username="gina", SecretHash=good)
    code = last_code(pool["Id"], "gina", "ResendConfirmationCode")
    with pytest.raises(ClientError) as e:
        cognito.confirm_sign_up(ClientId=client_id, Username="gina", ConfirmationCode=code)
    assert error_code(e.value) == "NotAuthorizedException"
    assert error_message(e.value) == expected
    with pytest.raises(ClientError) as e:
        cognito.confirm_sign_up(ClientId=client_id, Username="gina", ConfirmationCode=code,
                                SecretHash=secret_hash("gina", "x" + client_id[1:], secret))
    assert error_code(e.value) == "NotAuthorizedException"
    cognito.confirm_sign_up(ClientId=client_id, Username="gina", ConfirmationCode=code, SecretHash=good)
    assert cognito.admin_get_user(UserPoolId=pool["Id"], Username="gina")["UserStatus"] == "CONFIRMED"


def test_secret_hash_matches_spec_vector():
    """docs/cognito-facts.md#secrethash test vector (the helper itself)."""
    assert secret_hash("alice", "1example23456789", "secret123") == "ZPWNNR8hNprrYD0cVewTv1CNnDuK6KgdJLAXQCHwsMQ="


@pytest.mark.parametrize("password,rule", POLICY_CASES)
def test_sign_up_password_policy(cognito, pool, client_id, password, rule):
    name = unique("weak")
    with pytest.raises(ClientError) as e:
        sign_up(cognito, client_id, name, password=password)
    assert error_code(e.value) == "InvalidPasswordException"
    assert error_message(e.value) == SIGNUP_POLICY_PREFIX + rule
    with pytest.raises(ClientError) as e:
        cognito.admin_get_user(UserPoolId=pool["Id"], Username=name)
    assert error_code(e.value) == "UserNotFoundException"


def test_sign_up_custom_policy(cognito, make_pool, make_app_client):
    pool_id = make_pool(Policies={"PasswordPolicy": {
        "MinimumLength": 10, "RequireUppercase": False, "RequireLowercase": True,
        "RequireNumbers": False, "RequireSymbols": False}})["Id"]
    client_id = make_app_client(pool_id)["ClientId"]
    with pytest.raises(ClientError) as e:
        sign_up(cognito, client_id, "short", password="abcdefghi")
    assert error_message(e.value) == SIGNUP_POLICY_PREFIX + "Password not long enough"
    assert sign_up(cognito, client_id, "long", password="abcdefghij")["UserConfirmed"] is False


def test_sign_up_undeclared_attribute(cognito, pool, client_id):
    with pytest.raises(ClientError) as e:
        sign_up(cognito, client_id, "hank", "hank@example.com",
                UserAttributes=[{"Name": "custom:nope", "Value": "x"}])
    assert error_code(e.value) == "InvalidParameterException"
    assert error_message(e.value) == UNDECLARED_ATTRIBUTE.format(name="custom:nope")


def test_sign_up_existing_user(cognito, pool, client_id):
    sign_up(cognito, client_id, "ivy", "ivy@example.com")
    with pytest.raises(ClientError) as e:
        sign_up(cognito, client_id, "ivy", "ivy2@example.com")
    assert error_code(e.value) == "UsernameExistsException"
    assert error_message(e.value) == SIGNUP_USERNAME_EXISTS


def test_sign_up_unknown_client(cognito):
    fake = "abcdefghijklmnopqrstuvwxyz"
    with pytest.raises(ClientError) as e:
        sign_up(cognito, fake, "jack")
    assert error_code(e.value) == "ResourceNotFoundException"
    assert error_message(e.value) == CLIENT_NOT_FOUND.format(client_id=fake)


def test_sign_up_custom_attribute_stored(cognito, make_pool, make_app_client):
    pool_id = make_pool(Schema=[{"Name": "plan", "AttributeDataType": "String", "Mutable": True}])["Id"]
    client_id = make_app_client(pool_id)["ClientId"]
    sign_up(cognito, client_id, "kate", UserAttributes=[{"Name": "custom:plan", "Value": "pro"}])
    a = attrs(cognito.admin_get_user(UserPoolId=pool_id, Username="kate")["UserAttributes"])
    assert a["custom:plan"] == "pro"


def test_admin_only_pool_refuses_sign_up(cognito, make_pool, make_app_client):
    pool_id = make_pool(AdminCreateUserConfig={"AllowAdminCreateUserOnly": True})["Id"]
    client_id = make_app_client(pool_id)["ClientId"]
    with pytest.raises(ClientError) as e:
        sign_up(cognito, client_id, "leo")
    # AWS: NotAuthorizedException `SignUp is not permitted for this user pool` (unverified text).
    assert error_code(e.value) == "NotAuthorizedException"
