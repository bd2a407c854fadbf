"""Admin user management: AdminCreateUser (+ invitation messages), get, delete, attributes,
passwords, enable/disable, AdminConfirmSignUp, ListUsers filters and pagination."""

from __future__ import annotations

import datetime as dt

import pytest
from botocore.exceptions import ClientError

from conftest import GOOD_PASSWORD, UUID_RE, attrs, error_code, error_message, unique

# docs/cognito-facts.md#exact-error-strings [O] I-js192.
USER_NOT_FOUND = "User does not exist."
# AWS CLI output quoted in localstack/localstack#4465 (AdminCreateUser on an existing username).
ADMIN_USERNAME_EXISTS = "User account already exists"
# Password-policy messages (AWS responses recorded in docs/compatibility.md; docs/cognito-facts.md#exact-error-strings, #password-policy-and-history):
# - AdminSetUserPassword: `Password does not conform to policy: <rule>` (localstack-ext snapshot
#   recorded against AWS 2023-06, H);
# - AdminCreateUser TemporaryPassword: docs/cognito-facts.md#password-policy-and-history says `Password did not conform with policy: `, a
#   2023 log (data-dot-all/dataall#690) reads `Password did not conform with password policy: `;
#   either prefix is accepted there, the rule part is exact.
SET_PASSWORD_POLICY_PREFIX = "Password does not conform to policy: "
CREATE_USER_POLICY_PREFIXES = (
    "Password did not conform with policy: ",
    "Password did not conform with password policy: ",
)
# docs/cognito-facts.md#password-policy-and-history [O] C-pwd: one rule per message, precedence length, lowercase, uppercase, numeric, symbol.
POLICY_CASES = [
    ("Ab1!xy", "Password not long enough"),
    ("ABCDEFG1!", "Password must have lowercase characters"),
    ("abcdefg1!", "Password must have uppercase characters"),
    ("Abcdefgh!", "Password must have numeric characters"),
    ("Abcdefg12", "Password must have symbol characters"),
]
# AWS responses recorded in docs/compatibility.md (H: localstack-ext AWS-validated snapshots 2023).
CONFIRM_CONFIRMED_USER = "User cannot be confirmed. Current status is CONFIRMED"
CONFIRM_FORCE_CHANGE_USER = "User cannot be confirmed. Current status is FORCE_CHANGE_PASSWORD"
UNDECLARED_ATTRIBUTE = "Attributes did not conform to the schema: {name}: Attribute does not exist in the schema.\n"
EMAIL_VERIFIED_WITHOUT_EMAIL = "No email provided but email_verified was true"
FILTER_PARSE_ERROR = "Error while parsing filter."
SYMBOLS = set("^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ")


def policy_ok(password: str, policy: dict) -> bool:
    return (
        len(password) >= policy.get("MinimumLength", 8)
        and (not policy.get("RequireUppercase", True) or any(c.isupper() for c in password))
        and (not policy.get("RequireLowercase", True) or any(c.islower() for c in password))
        and (not policy.get("RequireNumbers", True) or any(c.isdigit() for c in password))
        and (not policy.get("RequireSymbols", True) or any(c in SYMBOLS for c in password))
    )


@pytest.fixture
def pool_id(make_pool):
    return make_pool(
        Schema=[{"Name": "tier", "AttributeDataType": "String", "Mutable": True}],
    )["Id"]


def create_user(cognito, pool_id, username, email=None, **kw):
    attributes = kw.pop("UserAttributes", [])
    if email:
        attributes = attributes + [{"Name": "email", "Value": email}]
    return cognito.admin_create_user(
        UserPoolId=pool_id, Username=username, UserAttributes=attributes, **kw
    )["User"]


def get_user(cognito, pool_id, username):
    return cognito.admin_get_user(UserPoolId=pool_id, Username=username)


# ---------------------------------------------------------------------------------------------
# AdminCreateUser and its invitation
# ---------------------------------------------------------------------------------------------


def test_admin_create_user_sends_invitation_with_temporary_password(cognito, pool_id, messages):
    user = create_user(cognito, pool_id, "alice", "alice@example.com", DesiredDeliveryMediums=["EMAIL"])
    assert user["Username"] == "alice"
    assert user["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    assert user["Enabled"] is True
    a = attrs(user["Attributes"])
    assert UUID_RE.match(a["sub"]), a
    assert a["email"] == "alice@example.com"
    assert isinstance(user["UserCreateDate"], dt.datetime)

    msgs = messages(pool_id, "alice")
    assert len(msgs) == 1, msgs
    msg = msgs[0]
    assert msg["Purpose"] == "AdminCreateUser"
    assert msg["UserPoolId"] == pool_id
    assert msg["Username"] == "alice"
    assert msg["DeliveryMedium"] == "EMAIL"
    assert msg["Destination"] in ("alice@example.com", "a***@e***"), msg["Destination"]
    assert msg["MessageId"]
    assert msg["CreatedAt"]
    temp = msg["Code"]
    assert isinstance(temp, str) and policy_ok(temp, {}), f"generated password {temp!r} breaks the default policy"
    assert temp in msg["Body"], "the invitation body carries the temporary password"


def test_generated_password_follows_a_stricter_policy(cognito, make_pool, messages):
    policy = {"MinimumLength": 16, "RequireUppercase": True, "RequireLowercase": True,
              "RequireNumbers": True, "RequireSymbols": True}
    pool_id = make_pool(Policies={"PasswordPolicy": policy})["Id"]
    create_user(cognito, pool_id, "strict", "strict@example.com", DesiredDeliveryMediums=["EMAIL"])
    temp = messages(pool_id, "strict")[-1]["Code"]
    assert policy_ok(temp, policy), temp


def test_given_temporary_password_is_sent(cognito, pool_id, messages):
    create_user(cognito, pool_id, "bob", "bob@example.com", TemporaryPassword="Temp0rary!pw",
                DesiredDeliveryMediums=["EMAIL"])
    msgs = messages(pool_id, "bob")
    assert [m["Code"] for m in msgs] == ["Temp0rary!pw"]


def test_message_action_suppress_records_nothing(cognito, pool_id, messages):
    user = create_user(cognito, pool_id, "quiet", "quiet@example.com", MessageAction="SUPPRESS",
                       DesiredDeliveryMediums=["EMAIL"])
    assert user["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    assert messages(pool_id, "quiet") == []


def test_message_action_resend(cognito, pool_id, messages):
    create_user(cognito, pool_id, "again", "again@example.com", MessageAction="SUPPRESS",
                DesiredDeliveryMediums=["EMAIL"])
    assert messages(pool_id, "again") == []
    user = cognito.admin_create_user(
        UserPoolId=pool_id, Username="again", MessageAction="RESEND", DesiredDeliveryMediums=["EMAIL"]
    )["User"]
    assert user["Username"] == "again"
    assert user["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    msgs = messages(pool_id, "again")
    assert len(msgs) == 1 and msgs[0]["Purpose"] == "AdminCreateUser", msgs
    assert policy_ok(msgs[0]["Code"], {})


def test_message_action_resend_for_unknown_user(cognito, pool_id):
    with pytest.raises(ClientError) as e:
        cognito.admin_create_user(UserPoolId=pool_id, Username="ghost", MessageAction="RESEND")
    assert error_code(e.value) == "UserNotFoundException"


def test_duplicate_username(cognito, pool_id):
    create_user(cognito, pool_id, "dup", MessageAction="SUPPRESS")
    with pytest.raises(ClientError) as e:
        create_user(cognito, pool_id, "dup", MessageAction="SUPPRESS")
    assert error_code(e.value) == "UsernameExistsException"
    assert error_message(e.value) == ADMIN_USERNAME_EXISTS


def test_create_user_in_unknown_pool(cognito):
    with pytest.raises(ClientError) as e:
        cognito.admin_create_user(UserPoolId="us-east-1_ZZZZZZZZZ", Username="x", MessageAction="SUPPRESS")
    assert error_code(e.value) == "ResourceNotFoundException"
    assert error_message(e.value) == "User pool us-east-1_ZZZZZZZZZ does not exist."


def test_create_user_with_undeclared_attribute(cognito, pool_id):
    with pytest.raises(ClientError) as e:
        create_user(cognito, pool_id, "attr", MessageAction="SUPPRESS",
                    UserAttributes=[{"Name": "custom:nope", "Value": "x"}])
    assert error_code(e.value) == "InvalidParameterException"
    assert error_message(e.value) == UNDECLARED_ATTRIBUTE.format(name="custom:nope")


def test_create_user_email_verified_without_email(cognito, pool_id):
    with pytest.raises(ClientError) as e:
        create_user(cognito, pool_id, "noemail", MessageAction="SUPPRESS",
                    UserAttributes=[{"Name": "email_verified", "Value": "true"}])
    assert error_code(e.value) == "InvalidParameterException"
    assert error_message(e.value) == EMAIL_VERIFIED_WITHOUT_EMAIL


def test_admin_created_user_has_no_email_verified(cognito, pool_id):
    """AdminCreateUser does not add email_verified (SignUp adds "false"): AWS responses recorded in docs/compatibility.md, H."""
    user = create_user(cognito, pool_id, "nover", "nover@example.com", MessageAction="SUPPRESS")
    assert "email_verified" not in attrs(user["Attributes"])
    assert list(attrs(user["Attributes"]))[0] == "sub", "sub comes first"


@pytest.mark.parametrize("password,rule", POLICY_CASES)
def test_create_user_temporary_password_policy(cognito, pool_id, password, rule):
    with pytest.raises(ClientError) as e:
        create_user(cognito, pool_id, unique("weak"), MessageAction="SUPPRESS", TemporaryPassword=password)
    assert error_code(e.value) == "InvalidPasswordException"
    msg = error_message(e.value)
    assert msg.startswith(CREATE_USER_POLICY_PREFIXES) and msg.endswith(rule), msg


# ---------------------------------------------------------------------------------------------
# Get / delete
# ---------------------------------------------------------------------------------------------


def test_admin_get_user(cognito, pool_id):
    created = create_user(cognito, pool_id, "getme", "getme@example.com", MessageAction="SUPPRESS",
                          UserAttributes=[{"Name": "given_name", "Value": "Get"},
                                          {"Name": "custom:tier", "Value": "gold"}])
    got = get_user(cognito, pool_id, "getme")
    assert got["Username"] == "getme"
    assert got["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    assert got["Enabled"] is True
    a = attrs(got["UserAttributes"])
    assert a["sub"] == attrs(created["Attributes"])["sub"]
    assert a["email"] == "getme@example.com"
    assert a["given_name"] == "Get"
    assert a["custom:tier"] == "gold"
    assert isinstance(got["UserCreateDate"], dt.datetime)
    assert isinstance(got["UserLastModifiedDate"], dt.datetime)


def test_admin_get_user_by_sub(cognito, pool_id):
    """The Username parameter may be the user's sub (AdminGetUser API reference)."""
    created = create_user(cognito, pool_id, "bysub", MessageAction="SUPPRESS")
    sub = attrs(created["Attributes"])["sub"]
    assert get_user(cognito, pool_id, sub)["Username"] == "bysub"


def test_unknown_user(cognito, pool_id):
    with pytest.raises(ClientError) as e:
        get_user(cognito, pool_id, "nobody")
    assert error_code(e.value) == "UserNotFoundException"
    assert error_message(e.value) == USER_NOT_FOUND


def test_admin_delete_user(cognito, pool_id):
    create_user(cognito, pool_id, "gone", MessageAction="SUPPRESS")
    cognito.admin_delete_user(UserPoolId=pool_id, Username="gone")
    with pytest.raises(ClientError) as e:
        get_user(cognito, pool_id, "gone")
    assert error_code(e.value) == "UserNotFoundException"
    assert error_message(e.value) == USER_NOT_FOUND
    with pytest.raises(ClientError) as e:
        cognito.admin_delete_user(UserPoolId=pool_id, Username="gone")
    assert error_code(e.value) == "UserNotFoundException"
    # The name is free again.
    create_user(cognito, pool_id, "gone", MessageAction="SUPPRESS")


def test_users_are_per_pool(cognito, make_pool):
    a = make_pool()["Id"]
    b = make_pool()["Id"]
    create_user(cognito, a, "same", MessageAction="SUPPRESS")
    with pytest.raises(ClientError) as e:
        get_user(cognito, b, "same")
    assert error_code(e.value) == "UserNotFoundException"
    create_user(cognito, b, "same", MessageAction="SUPPRESS")


def test_estimated_number_of_users(cognito, pool_id):
    for i in range(3):
        create_user(cognito, pool_id, f"n{i}", MessageAction="SUPPRESS")
    assert cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"]["EstimatedNumberOfUsers"] == 3


# ---------------------------------------------------------------------------------------------
# Attributes
# ---------------------------------------------------------------------------------------------


def test_update_and_delete_attributes(cognito, pool_id):
    create_user(cognito, pool_id, "attrs", "attrs@example.com", MessageAction="SUPPRESS")
    before = get_user(cognito, pool_id, "attrs")
    cognito.admin_update_user_attributes(
        UserPoolId=pool_id,
        Username="attrs",
        UserAttributes=[
            {"Name": "given_name", "Value": "Ada"},
            {"Name": "custom:tier", "Value": "silver"},
            {"Name": "email", "Value": "new@example.com"},
        ],
    )
    got = get_user(cognito, pool_id, "attrs")
    a = attrs(got["UserAttributes"])
    assert a["given_name"] == "Ada"
    assert a["custom:tier"] == "silver"
    assert a["email"] == "new@example.com"
    assert a["sub"] == attrs(before["UserAttributes"])["sub"]
    assert got["UserLastModifiedDate"] >= before["UserLastModifiedDate"]

    cognito.admin_delete_user_attributes(
        UserPoolId=pool_id, Username="attrs", UserAttributeNames=["given_name", "custom:tier"]
    )
    a = attrs(get_user(cognito, pool_id, "attrs")["UserAttributes"])
    assert "given_name" not in a and "custom:tier" not in a
    assert a["email"] == "new@example.com"


def test_update_undeclared_attribute(cognito, pool_id):
    create_user(cognito, pool_id, "undeclared", MessageAction="SUPPRESS")
    with pytest.raises(ClientError) as e:
        cognito.admin_update_user_attributes(
            UserPoolId=pool_id, Username="undeclared",
            UserAttributes=[{"Name": "custom:missing", "Value": "x"}],
        )
    assert error_code(e.value) == "InvalidParameterException"


def test_sub_cannot_be_changed(cognito, pool_id):
    create_user(cognito, pool_id, "subfixed", MessageAction="SUPPRESS")
    with pytest.raises(ClientError) as e:
        cognito.admin_update_user_attributes(
            UserPoolId=pool_id, Username="subfixed",
            UserAttributes=[{"Name": "sub", "Value": "00000000-0000-0000-0000-000000000000"}],
        )
    assert error_code(e.value) == "InvalidParameterException"


def test_update_attributes_of_unknown_user(cognito, pool_id):
    with pytest.raises(ClientError) as e:
        cognito.admin_update_user_attributes(
            UserPoolId=pool_id, Username="nobody", UserAttributes=[{"Name": "given_name", "Value": "x"}]
        )
    assert error_code(e.value) == "UserNotFoundException"
    assert error_message(e.value) == USER_NOT_FOUND


# ---------------------------------------------------------------------------------------------
# Passwords and status
# ---------------------------------------------------------------------------------------------


def test_set_password_permanent_and_temporary(cognito, pool_id):
    create_user(cognito, pool_id, "pw", MessageAction="SUPPRESS")
    cognito.admin_set_user_password(UserPoolId=pool_id, Username="pw", Password=GOOD_PASSWORD, Permanent=True)
    assert get_user(cognito, pool_id, "pw")["UserStatus"] == "CONFIRMED"
    cognito.admin_set_user_password(UserPoolId=pool_id, Username="pw", Password="An0ther!pass", Permanent=False)
    assert get_user(cognito, pool_id, "pw")["UserStatus"] == "FORCE_CHANGE_PASSWORD"


@pytest.mark.parametrize("password,rule", POLICY_CASES)
def test_set_password_policy_violation(cognito, pool_id, password, rule):
    name = unique("pol")
    create_user(cognito, pool_id, name, MessageAction="SUPPRESS")
    with pytest.raises(ClientError) as e:
        cognito.admin_set_user_password(UserPoolId=pool_id, Username=name, Password=password, Permanent=True)
    assert error_code(e.value) == "InvalidPasswordException"
    assert error_message(e.value) == SET_PASSWORD_POLICY_PREFIX + rule
    assert get_user(cognito, pool_id, name)["UserStatus"] == "FORCE_CHANGE_PASSWORD"


def test_set_password_follows_custom_policy(cognito, make_pool):
    pool_id = make_pool(Policies={"PasswordPolicy": {
        "MinimumLength": 6, "RequireUppercase": False, "RequireLowercase": True,
        "RequireNumbers": False, "RequireSymbols": False}})["Id"]
    create_user(cognito, pool_id, "lax", MessageAction="SUPPRESS")
    cognito.admin_set_user_password(UserPoolId=pool_id, Username="lax", Password="simple", Permanent=True)
    assert get_user(cognito, pool_id, "lax")["UserStatus"] == "CONFIRMED"


def test_set_password_unknown_user(cognito, pool_id):
    with pytest.raises(ClientError) as e:
        cognito.admin_set_user_password(UserPoolId=pool_id, Username="nobody", Password=GOOD_PASSWORD, Permanent=True)
    assert error_code(e.value) == "UserNotFoundException"
    assert error_message(e.value) == USER_NOT_FOUND


def test_disable_and_enable(cognito, pool_id):
    create_user(cognito, pool_id, "toggle", MessageAction="SUPPRESS")
    cognito.admin_disable_user(UserPoolId=pool_id, Username="toggle")
    assert get_user(cognito, pool_id, "toggle")["Enabled"] is False
    cognito.admin_enable_user(UserPoolId=pool_id, Username="toggle")
    assert get_user(cognito, pool_id, "toggle")["Enabled"] is True


def test_disable_unknown_user(cognito, pool_id):
    with pytest.raises(ClientError) as e:
        cognito.admin_disable_user(UserPoolId=pool_id, Username="nobody")
    assert error_code(e.value) == "UserNotFoundException"


def test_admin_confirm_sign_up(cognito, pool_id, make_app_client):
    client_id = make_app_client(pool_id)["ClientId"]
    cognito.sign_up(ClientId=client_id, Username="pending", Password=GOOD_PASSWORD)
    assert get_user(cognito, pool_id, "pending")["UserStatus"] == "UNCONFIRMED"
    cognito.admin_confirm_sign_up(UserPoolId=pool_id, Username="pending")
    assert get_user(cognito, pool_id, "pending")["UserStatus"] == "CONFIRMED"
    with pytest.raises(ClientError) as e:
        cognito.admin_confirm_sign_up(UserPoolId=pool_id, Username="pending")
    assert error_code(e.value) == "NotAuthorizedException"
    assert error_message(e.value) == CONFIRM_CONFIRMED_USER


def test_admin_confirm_sign_up_of_admin_created_user(cognito, pool_id):
    create_user(cognito, pool_id, "forced", MessageAction="SUPPRESS")
    with pytest.raises(ClientError) as e:
        cognito.admin_confirm_sign_up(UserPoolId=pool_id, Username="forced")
    assert error_code(e.value) == "NotAuthorizedException"
    assert error_message(e.value) == CONFIRM_FORCE_CHANGE_USER


def test_admin_confirm_sign_up_unknown_user(cognito, pool_id):
    with pytest.raises(ClientError) as e:
        cognito.admin_confirm_sign_up(UserPoolId=pool_id, Username="nobody")
    assert error_code(e.value) == "UserNotFoundException"


# ---------------------------------------------------------------------------------------------
# ListUsers
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def populated(cognito, make_pool):
    pool_id = make_pool()["Id"]
    subs = {}
    for name, email in (("alice", "alice@example.com"), ("bob", "bob@example.com"),
                        ("carol", "carol@other.org"), ("alfred", "alfred@other.org")):
        user = create_user(cognito, pool_id, name, email, MessageAction="SUPPRESS",
                           UserAttributes=[{"Name": "given_name", "Value": name.title()}])
        subs[name] = attrs(user["Attributes"])["sub"]
    cognito.admin_set_user_password(UserPoolId=pool_id, Username="bob", Password=GOOD_PASSWORD, Permanent=True)
    cognito.admin_disable_user(UserPoolId=pool_id, Username="carol")
    return pool_id, subs


def list_names(cognito, pool_id, **kw):
    names, token = [], None
    while True:
        args = dict(kw, UserPoolId=pool_id)
        if token:
            args["PaginationToken"] = token
        resp = cognito.list_users(**args)
        names.extend(u["Username"] for u in resp["Users"])
        token = resp.get("PaginationToken")
        if not token:
            return sorted(names)


def test_list_all_users(cognito, populated):
    pool_id, _ = populated
    resp = cognito.list_users(UserPoolId=pool_id)
    assert sorted(u["Username"] for u in resp["Users"]) == ["alfred", "alice", "bob", "carol"]
    by_name = {u["Username"]: u for u in resp["Users"]}
    assert by_name["bob"]["UserStatus"] == "CONFIRMED"
    assert by_name["carol"]["Enabled"] is False
    assert isinstance(by_name["alice"]["UserCreateDate"], dt.datetime)
    assert attrs(by_name["alice"]["Attributes"])["email"] == "alice@example.com"


@pytest.mark.parametrize(
    "filter_expr,expected",
    [
        ('email = "alice@example.com"', ["alice"]),
        ('email="alice@example.com"', ["alice"]),
        ('email ^= "al"', ["alfred", "alice"]),
        ('email ^= "b"', ["bob"]),
        ('username = "carol"', ["carol"]),
        ('username ^= "al"', ["alfred", "alice"]),
        ('given_name = "Bob"', ["bob"]),
        ('cognito:user_status = "CONFIRMED"', ["bob"]),
        ('cognito:user_status = "FORCE_CHANGE_PASSWORD"', ["alfred", "alice", "carol"]),
        ('status = "Enabled"', ["alfred", "alice", "bob"]),
        ('status = "Disabled"', ["carol"]),
        ('email = "nobody@example.com"', []),
    ],
)
def test_list_users_filter(cognito, populated, filter_expr, expected):
    pool_id, _ = populated
    assert list_names(cognito, pool_id, Filter=filter_expr) == expected


def test_list_users_filter_by_sub(cognito, populated):
    pool_id, subs = populated
    assert list_names(cognito, pool_id, Filter=f'sub = "{subs["carol"]}"') == ["carol"]


def test_list_users_attributes_to_get(cognito, populated):
    pool_id, _ = populated
    resp = cognito.list_users(UserPoolId=pool_id, AttributesToGet=["email"])
    assert len(resp["Users"]) == 4
    for u in resp["Users"]:
        assert set(attrs(u.get("Attributes"))) == {"email"}, u
        assert u["Username"] and u["UserStatus"]


def test_list_users_pagination(cognito, populated):
    pool_id, _ = populated
    pages, seen, token = 0, [], None
    while True:
        kw = {"UserPoolId": pool_id, "Limit": 1}
        if token:
            kw["PaginationToken"] = token
        resp = cognito.list_users(**kw)
        pages += 1
        assert len(resp["Users"]) <= 1
        seen.extend(u["Username"] for u in resp["Users"])
        token = resp.get("PaginationToken")
        if not token:
            break
        assert pages < 50
    assert sorted(seen) == ["alfred", "alice", "bob", "carol"]
    assert len(seen) == len(set(seen))
    assert pages >= 4


def test_list_users_pagination_with_filter(cognito, populated):
    pool_id, _ = populated
    assert list_names(cognito, pool_id, Filter='status = "Enabled"', Limit=1) == ["alfred", "alice", "bob"]


def test_list_users_bad_filter(cognito, populated):
    pool_id, _ = populated
    with pytest.raises(ClientError) as e:
        cognito.list_users(UserPoolId=pool_id, Filter="email like alice")
    assert error_code(e.value) == "InvalidParameterException"
    assert error_message(e.value) == FILTER_PARSE_ERROR


def test_list_users_unknown_pool(cognito):
    with pytest.raises(ClientError) as e:
        cognito.list_users(UserPoolId="us-east-1_ZZZZZZZZZ")
    assert error_code(e.value) == "ResourceNotFoundException"
    assert error_message(e.value) == "User pool us-east-1_ZZZZZZZZZ does not exist."
