"""App clients: create with/without secret, describe, update, delete, list; token validity."""

from __future__ import annotations

import datetime as dt

import pytest
from botocore.exceptions import ClientError

from conftest import CLIENT_ID_RE, error_code, error_message, unique

# What AWS returns for a client created with only a ClientName (AWS responses recorded in
# docs/compatibility.md, confidence H: a localstack-ext AWS-validated snapshot of
# 2022-09 and a CLI output of 2023-08 agree): RefreshTokenValidity 30 with empty
# TokenValidityUnits, no Access/IdTokenValidity (effective one hour), AuthSessionValidity 3,
# token revocation on.
CLIENT_DEFAULTS = {
    "RefreshTokenValidity": 30,
    "TokenValidityUnits": {},
    "AllowedOAuthFlowsUserPoolClient": False,
    "EnableTokenRevocation": True,
    "EnablePropagateAdditionalUserContextData": False,
    "AuthSessionValidity": 3,
}
# Absent unless given (same source).
CLIENT_ABSENT_BY_DEFAULT = (
    "AccessTokenValidity", "IdTokenValidity", "ExplicitAuthFlows", "ReadAttributes", "WriteAttributes",
    "PreventUserExistenceErrors", "SupportedIdentityProviders", "CallbackURLs", "LogoutURLs",
    "AllowedOAuthFlows", "AllowedOAuthScopes", "ClientSecret",
)


def describe(cognito, pool_id, client_id):
    return cognito.describe_user_pool_client(UserPoolId=pool_id, ClientId=client_id)["UserPoolClient"]


def test_create_without_secret(cognito, make_pool, make_app_client):
    pool_id = make_pool()["Id"]
    name = unique("client")
    client = make_app_client(pool_id, ClientName=name)
    assert CLIENT_ID_RE.match(client["ClientId"]), client["ClientId"]
    assert client["UserPoolId"] == pool_id
    assert client["ClientName"] == name
    assert "ClientSecret" not in client
    assert isinstance(client["CreationDate"], dt.datetime)
    assert isinstance(client["LastModifiedDate"], dt.datetime)
    described = describe(cognito, pool_id, client["ClientId"])
    assert described["ClientId"] == client["ClientId"]
    assert described["ClientName"] == name
    assert "ClientSecret" not in described


def test_create_with_generated_secret(cognito, make_pool, make_app_client):
    pool_id = make_pool()["Id"]
    client = make_app_client(pool_id, GenerateSecret=True)
    secret = client.get("ClientSecret")
    assert isinstance(secret, str) and len(secret) >= 32, secret
    assert describe(cognito, pool_id, client["ClientId"])["ClientSecret"] == secret


def test_generate_secret_false_has_no_secret(make_pool, make_app_client):
    client = make_app_client(make_pool()["Id"], GenerateSecret=False)
    assert "ClientSecret" not in client


def test_secrets_and_ids_differ_between_clients(make_pool, make_app_client):
    pool_id = make_pool()["Id"]
    a = make_app_client(pool_id, GenerateSecret=True)
    b = make_app_client(pool_id, GenerateSecret=True)
    assert a["ClientId"] != b["ClientId"]
    assert a["ClientSecret"] != b["ClientSecret"]


def test_token_validity_defaults(cognito, make_pool, make_app_client):
    pool_id = make_pool()["Id"]
    created = make_app_client(pool_id)
    client = describe(cognito, pool_id, created["ClientId"])
    for label, source in (("CreateUserPoolClient", created), ("DescribeUserPoolClient", client)):
        wrong = {k: source.get(k, "<absent>") for k, v in CLIENT_DEFAULTS.items() if source.get(k, "<absent>") != v}
        wrong.update({k: source[k] for k in CLIENT_ABSENT_BY_DEFAULT if k in source})
        assert not wrong, f"{label} defaults that differ from AWS: {wrong}"


def test_token_validity_and_units_stored(cognito, make_pool, make_app_client):
    pool_id = make_pool()["Id"]
    units = {"AccessToken": "minutes", "IdToken": "hours", "RefreshToken": "days"}
    client = make_app_client(
        pool_id,
        AccessTokenValidity=15,
        IdTokenValidity=2,
        RefreshTokenValidity=10,
        TokenValidityUnits=units,
        AuthSessionValidity=7,
    )
    got = describe(cognito, pool_id, client["ClientId"])
    assert got["AccessTokenValidity"] == 15
    assert got["IdTokenValidity"] == 2
    assert got["RefreshTokenValidity"] == 10
    assert got["TokenValidityUnits"] == units
    assert got["AuthSessionValidity"] == 7


def test_token_validity_out_of_range(cognito, make_pool):
    """Access tokens live 5 minutes to 1 day (docs/cognito-facts.md#tokens): 2 days is refused."""
    pool_id = make_pool()["Id"]
    with pytest.raises(ClientError) as e:
        cognito.create_user_pool_client(
            UserPoolId=pool_id,
            ClientName="c",
            AccessTokenValidity=2,
            TokenValidityUnits={"AccessToken": "days"},
        )
    assert error_code(e.value) == "InvalidParameterException"


def test_explicit_auth_flows_and_attributes_stored(cognito, make_pool, make_app_client):
    pool_id = make_pool()["Id"]
    flows = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH"]
    client = make_app_client(
        pool_id,
        ExplicitAuthFlows=flows,
        ReadAttributes=["email", "name"],
        WriteAttributes=["name"],
        PreventUserExistenceErrors="ENABLED",
    )
    got = describe(cognito, pool_id, client["ClientId"])
    assert sorted(got["ExplicitAuthFlows"]) == sorted(flows)
    assert sorted(got["ReadAttributes"]) == ["email", "name"]
    assert got["WriteAttributes"] == ["name"]
    assert got["PreventUserExistenceErrors"] == "ENABLED"


def test_update_client(cognito, make_pool, make_app_client):
    pool_id = make_pool()["Id"]
    client = make_app_client(
        pool_id,
        GenerateSecret=True,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )
    new_name = unique("renamed")
    updated = cognito.update_user_pool_client(
        UserPoolId=pool_id,
        ClientId=client["ClientId"],
        ClientName=new_name,
        ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        RefreshTokenValidity=5,
    )["UserPoolClient"]
    assert updated["ClientName"] == new_name
    got = describe(cognito, pool_id, client["ClientId"])
    assert got["ClientName"] == new_name
    assert sorted(got["ExplicitAuthFlows"]) == ["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    assert got["RefreshTokenValidity"] == 5
    assert got["ClientSecret"] == client["ClientSecret"], "update must not change the secret"
    assert got["CreationDate"] == client["CreationDate"]


def test_update_client_replaces_whole_config(cognito, make_pool, make_app_client):
    """UpdateUserPoolClient resets what it is not given (AWS responses recorded in docs/compatibility.md, H; API reference:
    "If you don't provide a value for an attribute, Amazon Cognito sets it to its default value")."""
    pool_id = make_pool()["Id"]
    client = make_app_client(
        pool_id,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        ReadAttributes=["email"],
        RefreshTokenValidity=7,
        AccessTokenValidity=2,
        TokenValidityUnits={"AccessToken": "hours"},
    )
    cognito.update_user_pool_client(UserPoolId=pool_id, ClientId=client["ClientId"], ClientName="only-name")
    got = describe(cognito, pool_id, client["ClientId"])
    assert got["ClientName"] == "only-name"
    assert "ExplicitAuthFlows" not in got
    assert "ReadAttributes" not in got
    assert "AccessTokenValidity" not in got
    assert got["RefreshTokenValidity"] == 30
    assert got.get("TokenValidityUnits", {}) == {}


def test_update_unknown_client(cognito, make_pool):
    pool_id = make_pool()["Id"]
    fake = "a" * 26
    with pytest.raises(ClientError) as e:
        cognito.update_user_pool_client(UserPoolId=pool_id, ClientId=fake, ClientName="x")
    assert error_code(e.value) == "ResourceNotFoundException"
    assert error_message(e.value) == f"User pool client {fake} does not exist."


def test_describe_unknown_client(cognito, make_pool):
    pool_id = make_pool()["Id"]
    fake = "abcdefghijklmnopqrstuvwxyz"
    with pytest.raises(ClientError) as e:
        cognito.describe_user_pool_client(UserPoolId=pool_id, ClientId=fake)
    assert error_code(e.value) == "ResourceNotFoundException"
    assert error_message(e.value) == f"User pool client {fake} does not exist."


def test_client_of_other_pool_is_not_found(cognito, make_pool, make_app_client):
    pool_a = make_pool()["Id"]
    pool_b = make_pool()["Id"]
    client = make_app_client(pool_a)
    with pytest.raises(ClientError) as e:
        cognito.describe_user_pool_client(UserPoolId=pool_b, ClientId=client["ClientId"])
    assert error_code(e.value) == "ResourceNotFoundException"


def test_create_client_in_unknown_pool(cognito):
    with pytest.raises(ClientError) as e:
        cognito.create_user_pool_client(UserPoolId="us-east-1_ZZZZZZZZZ", ClientName="c")
    assert error_code(e.value) == "ResourceNotFoundException"
    assert error_message(e.value) == "User pool us-east-1_ZZZZZZZZZ does not exist."


def test_delete_client(cognito, make_pool, make_app_client):
    pool_id = make_pool()["Id"]
    client_id = make_app_client(pool_id)["ClientId"]
    cognito.delete_user_pool_client(UserPoolId=pool_id, ClientId=client_id)
    with pytest.raises(ClientError) as e:
        describe(cognito, pool_id, client_id)
    assert error_code(e.value) == "ResourceNotFoundException"
    assert error_message(e.value) == f"User pool client {client_id} does not exist."
    with pytest.raises(ClientError) as e:
        cognito.delete_user_pool_client(UserPoolId=pool_id, ClientId=client_id)
    assert error_code(e.value) == "ResourceNotFoundException"


def test_list_clients_pagination(cognito, make_pool, make_app_client):
    pool_id = make_pool()["Id"]
    created = {make_app_client(pool_id, ClientName=f"c{i}")["ClientId"]: f"c{i}" for i in range(5)}
    seen, token, pages = {}, None, 0
    while True:
        kw = {"UserPoolId": pool_id, "MaxResults": 2}
        if token:
            kw["NextToken"] = token
        resp = cognito.list_user_pool_clients(**kw)
        pages += 1
        assert len(resp["UserPoolClients"]) <= 2
        for c in resp["UserPoolClients"]:
            assert c["ClientId"] not in seen, "client listed twice"
            assert c["UserPoolId"] == pool_id
            assert "ClientSecret" not in c
            seen[c["ClientId"]] = c["ClientName"]
        token = resp.get("NextToken")
        if not token:
            break
        assert pages < 100
    assert seen == created
    assert pages >= 3


def test_list_clients_of_unknown_pool(cognito):
    with pytest.raises(ClientError) as e:
        cognito.list_user_pool_clients(UserPoolId="us-east-1_ZZZZZZZZZ", MaxResults=10)
    assert error_code(e.value) == "ResourceNotFoundException"
