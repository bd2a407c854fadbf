"""User pools: create (defaults and stored settings), describe, update, delete, list."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from botocore.exceptions import ClientError

from conftest import POOL_ID_RE, error_code, error_message, unique

ARN_RE = re.compile(r"^arn:aws:cognito-idp:us-east-1:\d{12}:userpool/(us-east-1_[0-9A-Za-z]{9})$")

# API defaults for a pool created with only a PoolName. Source: AWS responses recorded in docs/compatibility.md
# (real captures: localstack-ext 3.8.1 AWS-validated snapshots 2022-2024, describe-user-pool
# outputs 2023/2025), confidence H unless noted. No PasswordHistorySize key by default.
DEFAULT_PASSWORD_POLICY = {
    "MinimumLength": 8,
    "RequireUppercase": True,
    "RequireLowercase": True,
    "RequireNumbers": True,
    "RequireSymbols": True,
    "TemporaryPasswordValidityDays": 7,
}
DEFAULT_ADMIN_CREATE_USER_CONFIG = {"AllowAdminCreateUserOnly": False, "UnusedAccountValidityDays": 7}
DEFAULT_EMAIL_CONFIGURATION = {"EmailSendingAccount": "COGNITO_DEFAULT"}
DEFAULT_VERIFICATION_TEMPLATE = {"DefaultEmailOption": "CONFIRM_WITH_CODE"}
DEFAULT_ATTRIBUTE_UPDATE_SETTINGS = {"AttributesRequireVerificationBeforeUpdate": []}
# AWS responses recorded in docs/compatibility.md, confidence M: every 2023+ capture shows this when none was given.
DEFAULT_ACCOUNT_RECOVERY = {"RecoveryMechanisms": [{"Priority": 1, "Name": "verified_email"},
                                                   {"Priority": 2, "Name": "verified_phone_number"}]}
# docs/cognito-facts.md#password-policy-and-history: UserPoolTier default ESSENTIALS [D].
DEFAULT_TIER = "ESSENTIALS"
# Message seen from AWS for DeleteUserPool on a protected pool (localstack/localstack#11947,
# floci-io/floci#3948 quoting the developer guide).
DELETION_PROTECTED_MESSAGE = (
    "The user pool cannot be deleted because deletion protection is activated. "
    "Deletion protection must be inactivated first."
)
# AWS responses recorded in docs/compatibility.md: 21 standard attributes in current AWS (`identities` added 2023/2024).
STANDARD_ATTRIBUTES = {
    "sub", "name", "given_name", "family_name", "middle_name", "nickname", "preferred_username",
    "profile", "picture", "website", "email", "email_verified", "gender", "birthdate", "zoneinfo",
    "locale", "phone_number", "phone_number_verified", "address", "updated_at", "identities",
}
# AWS responses recorded in docs/compatibility.md (H).
REQUIRED_CUSTOM_MESSAGE = "Required custom attributes are not supported currently."
LAMBDA_ARN = "arn:aws:lambda:us-east-1:123456789012:function:{}"


def describe(cognito, pool_id):
    return cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"]


def schema_by_name(pool):
    return {a["Name"]: a for a in pool.get("SchemaAttributes", [])}


def test_create_returns_pool_with_id_and_arn(cognito, make_pool):
    name = unique("pool")
    pool = make_pool(PoolName=name)
    assert POOL_ID_RE.match(pool["Id"]), pool["Id"]
    assert pool["Name"] == name
    m = ARN_RE.match(pool["Arn"])
    assert m and m.group(1) == pool["Id"], pool["Arn"]
    assert isinstance(pool["CreationDate"], dt.datetime)
    assert isinstance(pool["LastModifiedDate"], dt.datetime)
    now = dt.datetime.now(dt.timezone.utc)
    assert abs((now - pool["CreationDate"]).total_seconds()) < 300


def test_pool_ids_are_unique(make_pool):
    ids = {make_pool()["Id"] for _ in range(3)}
    assert len(ids) == 3


def test_describe_defaults(cognito, make_pool):
    pool = describe(cognito, make_pool()["Id"])
    assert POOL_ID_RE.match(pool["Id"])
    assert ARN_RE.match(pool["Arn"])
    expected = {
        "MfaConfiguration": "OFF",
        "DeletionProtection": "INACTIVE",
        "UserPoolTier": DEFAULT_TIER,
        "LambdaConfig": {},
        "EstimatedNumberOfUsers": 0,
        "AdminCreateUserConfig": DEFAULT_ADMIN_CREATE_USER_CONFIG,
        "EmailConfiguration": DEFAULT_EMAIL_CONFIGURATION,
        "VerificationMessageTemplate": DEFAULT_VERIFICATION_TEMPLATE,
        "UserAttributeUpdateSettings": DEFAULT_ATTRIBUTE_UPDATE_SETTINGS,
        "AccountRecoverySetting": DEFAULT_ACCOUNT_RECOVERY,
    }
    wrong = {k: pool.get(k, "<absent>") for k, v in expected.items() if pool.get(k, "<absent>") != v}
    if pool.get("Policies", {}).get("PasswordPolicy") != DEFAULT_PASSWORD_POLICY:
        wrong["Policies.PasswordPolicy"] = pool.get("Policies", {}).get("PasswordPolicy")
    # Never returned by AWS / absent unless given (AWS responses recorded in docs/compatibility.md).
    for absent in ("Status", "UsernameConfiguration", "UsernameAttributes", "AliasAttributes",
                   "AutoVerifiedAttributes", "SmsConfiguration", "Domain"):
        if absent in pool:
            wrong[absent] = pool[absent]
    assert not wrong, f"defaults that differ from AWS: {wrong}"
    assert pool["CreationDate"] == pool["LastModifiedDate"]


def test_default_schema_attributes(cognito, make_pool):
    schema = schema_by_name(describe(cognito, make_pool()["Id"]))
    missing = STANDARD_ATTRIBUTES - set(schema)
    assert not missing, f"standard attributes missing from SchemaAttributes: {sorted(missing)}"
    assert not any(n.startswith("custom:") for n in schema)
    assert schema["sub"] == {
        "Name": "sub", "AttributeDataType": "String", "DeveloperOnlyAttribute": False, "Mutable": False,
        "Required": True, "StringAttributeConstraints": {"MinLength": "1", "MaxLength": "2048"}}
    assert schema["email"] == {
        "Name": "email", "AttributeDataType": "String", "DeveloperOnlyAttribute": False, "Mutable": True,
        "Required": False, "StringAttributeConstraints": {"MinLength": "0", "MaxLength": "2048"}}
    assert schema["birthdate"]["StringAttributeConstraints"] == {"MinLength": "10", "MaxLength": "10"}
    assert schema["email_verified"] == {
        "Name": "email_verified", "AttributeDataType": "Boolean", "DeveloperOnlyAttribute": False,
        "Mutable": True, "Required": False}
    assert schema["updated_at"]["AttributeDataType"] == "Number"
    assert schema["updated_at"]["NumberAttributeConstraints"] == {"MinValue": "0"}


def test_create_stores_given_settings(cognito, make_pool):
    policy = {
        "MinimumLength": 12,
        "RequireUppercase": False,
        "RequireLowercase": True,
        "RequireNumbers": False,
        "RequireSymbols": False,
        "TemporaryPasswordValidityDays": 3,
    }
    lambda_config = {
        "PreSignUp": LAMBDA_ARN.format("pre-signup"),
        "PostConfirmation": LAMBDA_ARN.format("post-confirmation"),
        "CustomMessage": LAMBDA_ARN.format("custom-message"),
    }
    recovery = {"RecoveryMechanisms": [{"Priority": 1, "Name": "verified_email"}]}
    pool_id = make_pool(
        Policies={"PasswordPolicy": policy},
        LambdaConfig=lambda_config,
        AutoVerifiedAttributes=["email"],
        MfaConfiguration="OFF",
        DeletionProtection="INACTIVE",
        UserPoolTier="LITE",
        AccountRecoverySetting=recovery,
        UsernameConfiguration={"CaseSensitive": False},
        AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
        UserPoolTags={"team": "identity"},
        Schema=[
            {"Name": "tier", "AttributeDataType": "String", "Mutable": True,
             "StringAttributeConstraints": {"MinLength": "1", "MaxLength": "20"}},
            {"Name": "level", "AttributeDataType": "Number", "Mutable": True,
             "NumberAttributeConstraints": {"MinValue": "0", "MaxValue": "100"}},
            {"Name": "email", "AttributeDataType": "String", "Mutable": True, "Required": True},
        ],
    )["Id"]
    pool = describe(cognito, pool_id)
    got_policy = pool["Policies"]["PasswordPolicy"]
    for k, v in policy.items():
        assert got_policy.get(k) == v, (k, got_policy)
    assert pool["LambdaConfig"] == lambda_config
    assert pool["AutoVerifiedAttributes"] == ["email"]
    assert pool["UserPoolTier"] == "LITE"
    assert pool["AccountRecoverySetting"] == recovery
    assert pool["UsernameConfiguration"] == {"CaseSensitive": False}
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert pool.get("UserPoolTags") == {"team": "identity"}
    schema = schema_by_name(pool)
    assert "custom:tier" in schema and "tier" not in schema, sorted(schema)
    assert schema["custom:tier"]["AttributeDataType"] == "String"
    assert schema["custom:tier"]["StringAttributeConstraints"] == {"MinLength": "1", "MaxLength": "20"}
    assert schema["custom:level"]["AttributeDataType"] == "Number"
    assert schema["custom:level"]["NumberAttributeConstraints"] == {"MinValue": "0", "MaxValue": "100"}
    assert schema["email"]["Required"] is True
    assert "sub" in schema


def test_custom_attribute_prefix_and_developer_only(cognito, make_pool):
    """`custom:` is always prepended (so `custom:x` becomes `custom:custom:x`); developer-only
    attributes become `dev:custom:<name>` (AWS responses recorded in docs/compatibility.md, H)."""
    pool = describe(cognito, make_pool(Schema=[
        {"Name": "custom:twice", "AttributeDataType": "String", "Mutable": True},
        {"Name": "secret", "AttributeDataType": "Number", "DeveloperOnlyAttribute": True, "Mutable": True,
         "NumberAttributeConstraints": {"MinValue": "1", "MaxValue": "99"}},
    ])["Id"])
    schema = schema_by_name(pool)
    assert "custom:custom:twice" in schema, sorted(schema)
    assert "dev:custom:secret" in schema, sorted(schema)
    assert schema["dev:custom:secret"]["DeveloperOnlyAttribute"] is True
    assert schema["dev:custom:secret"]["NumberAttributeConstraints"] == {"MinValue": "1", "MaxValue": "99"}


def test_required_custom_attribute_is_refused(cognito):
    with pytest.raises(ClientError) as e:
        cognito.create_user_pool(PoolName=unique(), Schema=[
            {"Name": "must", "AttributeDataType": "String", "Required": True}])
    assert error_code(e.value) == "InvalidParameterException"
    assert error_message(e.value) == REQUIRED_CUSTOM_MESSAGE


def test_describe_unknown_pool(cognito):
    with pytest.raises(ClientError) as e:
        cognito.describe_user_pool(UserPoolId="us-east-1_ZZZZZZZZZ")
    assert error_code(e.value) == "ResourceNotFoundException"
    assert error_message(e.value) == "User pool us-east-1_ZZZZZZZZZ does not exist."


def test_update_replaces_given_fields(cognito, make_pool):
    pool_id = make_pool(
        Policies={"PasswordPolicy": {"MinimumLength": 12, "RequireSymbols": False}},
        MfaConfiguration="OFF",
    )["Id"]
    before = describe(cognito, pool_id)
    cognito.update_user_pool(
        UserPoolId=pool_id,
        Policies={"PasswordPolicy": {"MinimumLength": 10, "RequireUppercase": False,
                                     "RequireLowercase": False, "RequireNumbers": True,
                                     "RequireSymbols": False}},
        LambdaConfig={"PreSignUp": LAMBDA_ARN.format("p")},
        UserPoolTags={"k": "v"},
    )
    after = describe(cognito, pool_id)
    pp = after["Policies"]["PasswordPolicy"]
    assert pp["MinimumLength"] == 10
    assert pp["RequireUppercase"] is False and pp["RequireNumbers"] is True
    assert after["LambdaConfig"] == {"PreSignUp": LAMBDA_ARN.format("p")}
    assert after.get("UserPoolTags") == {"k": "v"}
    assert after["Name"] == before["Name"]
    assert after["Id"] == pool_id
    assert after["CreationDate"] == before["CreationDate"]
    assert after["LastModifiedDate"] >= before["LastModifiedDate"]
    # Schema is not changed by UpdateUserPool.
    assert set(schema_by_name(after)) == set(schema_by_name(before))


def test_update_resets_omitted_fields_to_defaults(cognito, make_pool):
    """AWS: "If you don't provide a value for an attribute, Amazon Cognito sets it to its
    default value." (UpdateUserPool API reference)."""
    pool_id = make_pool(
        Policies={"PasswordPolicy": {"MinimumLength": 14, "RequireSymbols": False}},
        LambdaConfig={"PreSignUp": LAMBDA_ARN.format("p")},
        AutoVerifiedAttributes=["email"],
    )["Id"]
    cognito.update_user_pool(UserPoolId=pool_id, UserPoolTags={"only": "tags"})
    after = describe(cognito, pool_id)
    pp = after["Policies"]["PasswordPolicy"]
    for k, v in DEFAULT_PASSWORD_POLICY.items():
        assert pp.get(k) == v, (k, pp)
    assert after.get("LambdaConfig", {}) == {}
    assert not after.get("AutoVerifiedAttributes"), after.get("AutoVerifiedAttributes")
    assert after["MfaConfiguration"] == "OFF"
    assert after["DeletionProtection"] == "INACTIVE"


def test_update_can_rename_pool(cognito, make_pool):
    pool_id = make_pool()["Id"]
    new_name = unique("renamed")
    cognito.update_user_pool(UserPoolId=pool_id, PoolName=new_name)
    assert describe(cognito, pool_id)["Name"] == new_name


def test_update_unknown_pool(cognito):
    with pytest.raises(ClientError) as e:
        cognito.update_user_pool(UserPoolId="us-east-1_ZZZZZZZZZ")
    assert error_code(e.value) == "ResourceNotFoundException"
    assert error_message(e.value) == "User pool us-east-1_ZZZZZZZZZ does not exist."


def test_delete_then_describe(cognito, make_pool):
    pool_id = make_pool()["Id"]
    cognito.delete_user_pool(UserPoolId=pool_id)
    with pytest.raises(ClientError) as e:
        cognito.describe_user_pool(UserPoolId=pool_id)
    assert error_code(e.value) == "ResourceNotFoundException"
    assert error_message(e.value) == f"User pool {pool_id} does not exist."
    with pytest.raises(ClientError) as e:
        cognito.delete_user_pool(UserPoolId=pool_id)
    assert error_code(e.value) == "ResourceNotFoundException"


def test_delete_removes_users_and_clients(cognito, make_pool):
    pool_id = make_pool()["Id"]
    client_id = cognito.create_user_pool_client(UserPoolId=pool_id, ClientName="c")["UserPoolClient"]["ClientId"]
    cognito.admin_create_user(UserPoolId=pool_id, Username="u1", MessageAction="SUPPRESS")
    cognito.delete_user_pool(UserPoolId=pool_id)
    with pytest.raises(ClientError) as e:
        cognito.admin_get_user(UserPoolId=pool_id, Username="u1")
    assert error_code(e.value) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        cognito.describe_user_pool_client(UserPoolId=pool_id, ClientId=client_id)
    assert error_code(e.value) == "ResourceNotFoundException"


def test_deletion_protection_prevents_delete(cognito, make_pool):
    pool_id = make_pool(DeletionProtection="ACTIVE")["Id"]
    assert describe(cognito, pool_id)["DeletionProtection"] == "ACTIVE"
    with pytest.raises(ClientError) as e:
        cognito.delete_user_pool(UserPoolId=pool_id)
    assert error_code(e.value) == "InvalidParameterException"
    assert error_message(e.value) == DELETION_PROTECTED_MESSAGE
    assert describe(cognito, pool_id)["Id"] == pool_id
    cognito.update_user_pool(UserPoolId=pool_id, DeletionProtection="INACTIVE")
    cognito.delete_user_pool(UserPoolId=pool_id)
    with pytest.raises(ClientError) as e:
        describe(cognito, pool_id)
    assert error_code(e.value) == "ResourceNotFoundException"


def list_all_pools(cognito, page_size):
    pages, token = [], None
    while True:
        kw = {"MaxResults": page_size}
        if token:
            kw["NextToken"] = token
        resp = cognito.list_user_pools(**kw)
        pages.append(resp["UserPools"])
        token = resp.get("NextToken")
        if not token:
            return pages
        assert len(pages) < 1000, "pagination does not end"


def test_list_pagination(cognito, make_pool):
    prefix = unique("list")
    created = {make_pool(PoolName=f"{prefix}-{i}")["Id"] for i in range(5)}
    pages = list_all_pools(cognito, 2)
    assert all(len(p) <= 2 for p in pages), [len(p) for p in pages]
    assert len(pages) >= 3
    ids = [p["Id"] for page in pages for p in page]
    assert len(ids) == len(set(ids)), "a pool appears on two pages"
    assert created <= set(ids)
    entries = {p["Id"]: p for page in pages for p in page}
    for pid in created:
        assert entries[pid]["Name"].startswith(prefix)
        assert isinstance(entries[pid]["CreationDate"], dt.datetime)
        assert entries[pid]["LambdaConfig"] == {}
        # ListUserPools items never carry Status (AWS responses recorded in docs/compatibility.md, H).
        assert "Status" not in entries[pid]


def test_list_first_page_has_next_token_when_more(cognito, make_pool):
    make_pool()
    make_pool()
    resp = cognito.list_user_pools(MaxResults=1)
    assert len(resp["UserPools"]) == 1
    assert resp.get("NextToken")


def test_list_with_paginator(cognito, make_pool):
    created = {make_pool()["Id"] for _ in range(3)}
    seen = set()
    for page in cognito.get_paginator("list_user_pools").paginate(PaginationConfig={"PageSize": 2}):
        seen.update(p["Id"] for p in page["UserPools"])
    assert created <= seen


def test_list_bad_next_token(cognito):
    """A token the server never issued is refused with a 400, not a crash. The exact exception
    is unverified (InvalidParameterException is the likely one)."""
    with pytest.raises(ClientError) as e:
        cognito.list_user_pools(MaxResults=10, NextToken="garbage-token-that-was-never-issued")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error_code(e.value) not in ("InternalErrorException", "UnknownOperationException")


def test_deleted_pool_not_listed(cognito, make_pool):
    pool_id = make_pool()["Id"]
    cognito.delete_user_pool(UserPoolId=pool_id)
    ids = {p["Id"] for page in list_all_pools(cognito, 60) for p in page}
    assert pool_id not in ids
