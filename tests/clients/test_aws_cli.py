"""The aws CLI v1 (`python -m awscli`) drives the server unchanged with --endpoint-url."""

from __future__ import annotations

import json
import time

from conftest import CLIENT_ID_RE, GOOD_PASSWORD, POOL_ID_RE, UUID_RE, attrs, run_aws, unique

# CLI v1 exits 255 on a service error (v2 uses 254); both are accepted.
ERROR_EXIT_CODES = (254, 255)


def cli_pool(aws, **extra):
    args = ["cognito-idp", "create-user-pool", "--pool-name", unique("cli")]
    for k, v in extra.items():
        args += [k, v]
    rc, out, err = aws(*args)
    assert rc == 0, err
    return out["UserPool"]


def test_cli_create_user_pool(aws):
    pool = cli_pool(aws)
    assert POOL_ID_RE.match(pool["Id"])
    assert pool["Arn"].endswith(f":userpool/{pool['Id']}")
    rc, out, err = aws("cognito-idp", "describe-user-pool", "--user-pool-id", pool["Id"])
    assert rc == 0, err
    assert out["UserPool"]["Id"] == pool["Id"]
    # CLI v1 (cli_timestamp_format "none") prints the wire value: epoch seconds.
    created = out["UserPool"]["CreationDate"]
    assert isinstance(created, (int, float)) and abs(time.time() - created) < 300, created


def test_cli_create_user_pool_with_json_options(aws):
    policies = json.dumps({"PasswordPolicy": {"MinimumLength": 10, "RequireSymbols": False}})
    pool = cli_pool(aws, **{"--policies": policies, "--auto-verified-attributes": "email"})
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] == 10
    assert pool["AutoVerifiedAttributes"] == ["email"]


def test_cli_client_sign_up_and_admin_get_user(aws):
    pool_id = cli_pool(aws, **{"--auto-verified-attributes": "email"})["Id"]
    rc, out, err = aws("cognito-idp", "create-user-pool-client", "--user-pool-id", pool_id,
                       "--client-name", "cli-client", "--explicit-auth-flows",
                       "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH")
    assert rc == 0, err
    client = out["UserPoolClient"]
    assert CLIENT_ID_RE.match(client["ClientId"])
    assert "ClientSecret" not in client

    rc, out, err = aws("cognito-idp", "sign-up", "--client-id", client["ClientId"], "--username", "cliuser",
                       "--password", GOOD_PASSWORD, "--user-attributes", "Name=email,Value=cli@example.com")
    assert rc == 0, err
    assert UUID_RE.match(out["UserSub"])
    assert out["UserConfirmed"] is False
    assert out["CodeDeliveryDetails"]["Destination"] == "c***@e***"

    rc, out, err = aws("cognito-idp", "admin-get-user", "--user-pool-id", pool_id, "--username", "cliuser")
    assert rc == 0, err
    assert out["Username"] == "cliuser"
    assert out["UserStatus"] == "UNCONFIRMED"
    assert attrs(out["UserAttributes"])["email"] == "cli@example.com"


def test_cli_generate_secret(aws):
    pool_id = cli_pool(aws)["Id"]
    rc, out, err = aws("cognito-idp", "create-user-pool-client", "--user-pool-id", pool_id,
                       "--client-name", "secret", "--generate-secret")
    assert rc == 0, err
    assert out["UserPoolClient"]["ClientSecret"]


def test_cli_admin_create_user_and_list_users(aws):
    pool_id = cli_pool(aws)["Id"]
    rc, out, err = aws("cognito-idp", "admin-create-user", "--user-pool-id", pool_id, "--username", "cliadmin",
                       "--message-action", "SUPPRESS", "--user-attributes", "Name=email,Value=adm@example.com")
    assert rc == 0, err
    assert out["User"]["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    rc, out, err = aws("cognito-idp", "list-users", "--user-pool-id", pool_id, "--filter", 'email = "adm@example.com"')
    assert rc == 0, err
    assert [u["Username"] for u in out["Users"]] == ["cliadmin"]


def test_cli_list_user_pools_paginates(start_server):
    """NextToken round-trips through the CLI (`--max-results 1 --next-token ...`), on a fresh
    server so the page count is known."""
    url = start_server().url
    ids = set()
    for i in range(3):
        rc, out, err = run_aws(url, "cognito-idp", "create-user-pool", "--pool-name", f"page{i}")
        assert rc == 0, err
        ids.add(out["UserPool"]["Id"])
    listed, token, calls = [], None, 0
    while True:
        args = ["cognito-idp", "list-user-pools", "--max-results", "1"]
        if token:
            args += ["--next-token", token]
        rc, out, err = run_aws(url, *args)
        assert rc == 0, err
        calls += 1
        assert len(out["UserPools"]) <= 1
        listed += [p["Id"] for p in out["UserPools"]]
        token = out.get("NextToken")
        if not token:
            break
        assert calls < 10
    assert sorted(listed) == sorted(ids)
    assert calls >= 3


def test_cli_error_unknown_user(aws):
    pool_id = cli_pool(aws)["Id"]
    rc, out, err = aws("cognito-idp", "admin-get-user", "--user-pool-id", pool_id, "--username", "ghost")
    assert rc in ERROR_EXIT_CODES, (rc, err)
    assert "UserNotFoundException" in err
    assert "User does not exist." in err
    assert "AdminGetUser" in err


def test_cli_error_unknown_pool(aws):
    rc, out, err = aws("cognito-idp", "describe-user-pool", "--user-pool-id", "us-east-1_ZZZZZZZZZ")
    assert rc in ERROR_EXIT_CODES, (rc, err)
    assert "ResourceNotFoundException" in err
    assert "User pool us-east-1_ZZZZZZZZZ does not exist." in err


def test_cli_validation_error(aws):
    rc, out, err = aws("cognito-idp", "describe-user-pool", "--user-pool-id", "not a pool")
    assert rc in ERROR_EXIT_CODES, (rc, err)
    assert "InvalidParameterException" in err
    assert "1 validation error detected" in err


def test_cli_no_sign_request_on_iam_operation(aws):
    rc, out, err = aws("cognito-idp", "list-user-pools", "--max-results", "1", "--no-sign-request")
    assert rc in ERROR_EXIT_CODES, (rc, err)
    assert "MissingAuthenticationTokenException" in err


def test_cli_public_operation_without_signature(aws):
    pool_id = cli_pool(aws)["Id"]
    rc, out, err = aws("cognito-idp", "create-user-pool-client", "--user-pool-id", pool_id, "--client-name", "c")
    assert rc == 0, err
    client_id = out["UserPoolClient"]["ClientId"]
    rc, out, err = aws("cognito-idp", "sign-up", "--no-sign-request", "--client-id", client_id,
                       "--username", "unsigned", "--password", GOOD_PASSWORD)
    assert rc == 0, err
    assert UUID_RE.match(out["UserSub"])
