"""Restart persistence (same --data-dir, new process) and the /moto-api reset endpoints."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from conftest import (
    GOOD_PASSWORD,
    attrs,
    error_code,
    http_request,
    make_client,
    read_messages,
    secret_hash,
    unique,
)


def test_state_survives_restart(start_server, tmp_path):
    data = tmp_path / "persist"
    first = start_server(data)
    c1 = make_client(first.url)
    pool = c1.create_user_pool(
        PoolName=unique("persist"),
        Policies={"PasswordPolicy": {"MinimumLength": 9, "RequireSymbols": False}},
        AutoVerifiedAttributes=["email"],
        Schema=[{"Name": "tier", "AttributeDataType": "String", "Mutable": True}],
        # A trigger that SignUp does not fire (the test signs up after the restart).
        LambdaConfig={"PostAuthentication": "arn:aws:lambda:us-east-1:123456789012:function:p"},
        DeletionProtection="ACTIVE",
    )["UserPool"]
    pool_id = pool["Id"]
    client = c1.create_user_pool_client(
        UserPoolId=pool_id, ClientName="persist", GenerateSecret=True,
        ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]
    created = c1.admin_create_user(
        UserPoolId=pool_id, Username="keeper", MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "email", "Value": "keeper@example.com"},
                        {"Name": "custom:tier", "Value": "gold"}],
    )["User"]
    c1.admin_set_user_password(UserPoolId=pool_id, Username="keeper", Password=GOOD_PASSWORD, Permanent=True)
    c1.admin_create_user(UserPoolId=pool_id, Username="temp", MessageAction="SUPPRESS")
    c1.admin_create_user(UserPoolId=pool_id, Username="off", MessageAction="SUPPRESS")
    c1.admin_disable_user(UserPoolId=pool_id, Username="off")
    before_pool = c1.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    before_client = c1.describe_user_pool_client(UserPoolId=pool_id, ClientId=client["ClientId"])["UserPoolClient"]
    before_user = c1.admin_get_user(UserPoolId=pool_id, Username="keeper")

    exit_code = first.stop()
    assert exit_code is not None, "server did not stop within the timeout after SIGTERM"

    second = start_server(data)
    c2 = make_client(second.url)
    after_pool = c2.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    for key in ("Id", "Name", "Arn", "Policies", "LambdaConfig", "AutoVerifiedAttributes",
                "DeletionProtection", "MfaConfiguration", "CreationDate", "UserPoolTier"):
        assert after_pool.get(key) == before_pool.get(key), key
    assert {a["Name"] for a in after_pool["SchemaAttributes"]} == {a["Name"] for a in before_pool["SchemaAttributes"]}
    assert after_pool["EstimatedNumberOfUsers"] == 3

    after_client = c2.describe_user_pool_client(UserPoolId=pool_id, ClientId=client["ClientId"])["UserPoolClient"]
    assert after_client == before_client

    after_user = c2.admin_get_user(UserPoolId=pool_id, Username="keeper")
    assert after_user["UserStatus"] == "CONFIRMED"
    assert attrs(after_user["UserAttributes"]) == attrs(before_user["UserAttributes"])
    assert attrs(after_user["UserAttributes"])["sub"] == attrs(created["Attributes"])["sub"]
    assert after_user["UserCreateDate"] == before_user["UserCreateDate"]
    assert c2.admin_get_user(UserPoolId=pool_id, Username="temp")["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    assert c2.admin_get_user(UserPoolId=pool_id, Username="off")["Enabled"] is False

    # Still protected, and new writes work against the old state.
    with pytest.raises(ClientError) as e:
        c2.delete_user_pool(UserPoolId=pool_id)
    assert error_code(e.value) == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        c2.admin_create_user(UserPoolId=pool_id, Username="keeper", MessageAction="SUPPRESS")
    assert error_code(e.value) == "UsernameExistsException"
    # The secret still verifies SecretHash.
    with pytest.raises(ClientError) as e:
        c2.sign_up(ClientId=client["ClientId"], Username="newbie", Password="Passw0rd1",
                   SecretHash=secret_hash("newbie", client["ClientId"], "wrong-secret"))
    assert error_code(e.value) == "NotAuthorizedException"
    c2.sign_up(ClientId=client["ClientId"], Username="newbie", Password="Passw0rd1",
               SecretHash=secret_hash("newbie", client["ClientId"], client["ClientSecret"]))


def test_password_still_signs_in_after_restart(start_server, tmp_path):
    data = tmp_path / "signin"
    first = start_server(data)
    c1 = make_client(first.url)
    pool_id = c1.create_user_pool(PoolName=unique("signin"))["UserPool"]["Id"]
    client_id = c1.create_user_pool_client(
        UserPoolId=pool_id, ClientName="c",
        ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    c1.admin_create_user(UserPoolId=pool_id, Username="walker", MessageAction="SUPPRESS")
    c1.admin_set_user_password(UserPoolId=pool_id, Username="walker", Password=GOOD_PASSWORD, Permanent=True)
    first.stop()

    c2 = make_client(start_server(data).url)
    assert c2.admin_get_user(UserPoolId=pool_id, Username="walker")["UserStatus"] == "CONFIRMED"
    resp = c2.admin_initiate_auth(
        UserPoolId=pool_id, ClientId=client_id, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "walker", "PASSWORD": GOOD_PASSWORD},
    )
    result = resp["AuthenticationResult"]
    assert result["TokenType"] == "Bearer"
    assert result["AccessToken"] and result["IdToken"] and result["RefreshToken"]
    with pytest.raises(ClientError) as e:
        c2.admin_initiate_auth(
            UserPoolId=pool_id, ClientId=client_id, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "walker", "PASSWORD": "Wr0ng!pass"},
        )
    assert error_code(e.value) == "NotAuthorizedException"


def test_confirmation_code_survives_restart(start_server, tmp_path):
    data = tmp_path / "code"
    first = start_server(data)
    c1 = make_client(first.url)
    pool_id = c1.create_user_pool(PoolName=unique("code"), AutoVerifiedAttributes=["email"])["UserPool"]["Id"]
    client_id = c1.create_user_pool_client(UserPoolId=pool_id, ClientName="c")["UserPoolClient"]["ClientId"]
    c1.sign_up(ClientId=client_id, Username="later", Password=GOOD_PASSWORD,
               UserAttributes=[{"Name": "email", "Value": "later@example.com"}])
    code = read_messages(first.url, pool_id, "later")[-1]["Code"]
    first.stop()

    second = start_server(data)
    c2 = make_client(second.url)
    assert [m["Code"] for m in read_messages(second.url, pool_id, "later")] == [code]
    c2.confirm_sign_up(ClientId=client_id, Username="later", ConfirmationCode=code)
    assert c2.admin_get_user(UserPoolId=pool_id, Username="later")["UserStatus"] == "CONFIRMED"


def test_deleted_things_stay_deleted_after_restart(start_server, tmp_path):
    data = tmp_path / "deleted"
    first = start_server(data)
    c1 = make_client(first.url)
    keep = c1.create_user_pool(PoolName=unique("keep"))["UserPool"]["Id"]
    gone = c1.create_user_pool(PoolName=unique("gone"))["UserPool"]["Id"]
    c1.admin_create_user(UserPoolId=keep, Username="bye", MessageAction="SUPPRESS")
    c1.admin_delete_user(UserPoolId=keep, Username="bye")
    c1.delete_user_pool(UserPoolId=gone)
    first.stop()

    c2 = make_client(start_server(data).url)
    with pytest.raises(ClientError) as e:
        c2.describe_user_pool(UserPoolId=gone)
    assert error_code(e.value) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        c2.admin_get_user(UserPoolId=keep, Username="bye")
    assert error_code(e.value) == "UserNotFoundException"
    assert [p["Id"] for p in c2.list_user_pools(MaxResults=60)["UserPools"]] == [keep]


def test_sigterm_stops_cleanly(start_server):
    srv = start_server()
    assert http_request(srv.url, "GET", "/health").status == 200
    code = srv.stop()
    assert code == 0, f"exit code after SIGTERM: {code}"


def test_reset_wipes_state(start_server):
    srv = start_server()
    c = make_client(srv.url)
    pool_id = c.create_user_pool(PoolName=unique("wipe"), AutoVerifiedAttributes=["email"])["UserPool"]["Id"]
    client_id = c.create_user_pool_client(UserPoolId=pool_id, ClientName="c")["UserPoolClient"]["ClientId"]
    c.sign_up(ClientId=client_id, Username="wiped", Password=GOOD_PASSWORD,
              UserAttributes=[{"Name": "email", "Value": "wiped@example.com"}])
    assert read_messages(srv.url, pool_id, "wiped")

    resp = http_request(srv.url, "POST", "/moto-api/reset")
    assert resp.status == 200

    with pytest.raises(ClientError) as e:
        c.describe_user_pool(UserPoolId=pool_id)
    assert error_code(e.value) == "ResourceNotFoundException"
    assert c.list_user_pools(MaxResults=60)["UserPools"] == []
    with pytest.raises(ClientError) as e:
        c.sign_up(ClientId=client_id, Username="again", Password=GOOD_PASSWORD)
    assert error_code(e.value) == "ResourceNotFoundException"
    q = f"/_userpool/messages?userPoolId={pool_id}&username=wiped"
    msgs = http_request(srv.url, "GET", q)
    assert msgs.status != 200 or msgs.data.get("Messages") == [], msgs.body[:300]
    # The server keeps working after a reset.
    assert c.create_user_pool(PoolName=unique("after"))["UserPool"]["Id"] != pool_id


def test_reset_survives_restart(start_server, tmp_path):
    data = tmp_path / "reset-restart"
    first = start_server(data)
    c1 = make_client(first.url)
    c1.create_user_pool(PoolName=unique("x"))
    assert http_request(first.url, "POST", "/moto-api/reset").status == 200
    first.stop()
    c2 = make_client(start_server(data).url)
    assert c2.list_user_pools(MaxResults=60)["UserPools"] == []


def test_reset_auth(start_server):
    srv = start_server()
    resp = http_request(srv.url, "POST", "/moto-api/reset-auth")
    assert resp.status == 200
    assert resp.data == {"PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT": 0}
