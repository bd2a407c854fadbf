"""Every operation of the model is routed: `{}` gives Cognito's null-member validation message,
or (for inputs without required members) a non-5xx answer that is not UnknownOperationException.
IAM operations also refuse a request without Authorization in local mode.

The operation list is read from model/cognito-idp.json (122 operations, botocore 1.43.11).
"""

from __future__ import annotations

import re
from datetime import datetime
from unittest import mock

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import call_raw, http_request, load_model, lower_camel

MODEL = load_model()
OPERATIONS = sorted(MODEL["operations"])
PUBLIC = {name for name, op in MODEL["operations"].items() if op.get("authtype") == "none"}
IAM = [name for name in OPERATIONS if name not in PUBLIC]


def required_members(operation: str) -> list[str]:
    shape = MODEL["shapes"][MODEL["operations"][operation]["input"]["shape"]]
    members = list(shape.get("members", {}))
    required = set(shape.get("required", []))
    # Model member order; the assertions below do not depend on the order.
    return [m for m in members if m in required]


def test_model_has_122_operations():
    assert len(OPERATIONS) == 122
    assert "SignUp" in PUBLIC and "AdminCreateUser" not in PUBLIC


PREFIX_RE = re.compile(r"^(\d+) validation errors? detected: (.*)$", re.S)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_empty_object(server, operation):
    signed = operation not in PUBLIC
    resp = call_raw(server.url, operation, {}, signed=signed)
    required = required_members(operation)
    if required:
        assert resp.status == 400, (resp.status, resp.body[:500])
        assert resp.error_type == "InvalidParameterException", resp.body[:500]
        msg = resp.message
        m = PREFIX_RE.match(msg or "")
        assert m, msg
        n = int(m.group(1))
        assert n == len(required), msg
        word = "error" if n == 1 else "errors"
        assert msg.startswith(f"{n} validation {word} detected: "), msg
        items = m.group(2).split("; ")
        expected = {
            f"Value null at '{lower_camel(r)}' failed to satisfy constraint: Member must not be null"
            for r in required
        }
        assert set(items) == expected, msg
    else:
        assert resp.status < 500, (resp.status, resp.body[:500])
        assert resp.error_type != "UnknownOperationException", resp.body[:500]
        assert resp.error_type != "MissingAuthenticationTokenException", resp.body[:500]


@pytest.mark.parametrize("operation", IAM)
def test_iam_operation_without_signature(server, operation):
    resp = call_raw(server.url, operation, {}, signed=False)
    assert resp.error_type == "MissingAuthenticationTokenException", (resp.status, resp.body[:300])
    assert 400 <= resp.status < 500


@pytest.mark.parametrize("operation", sorted(PUBLIC))
def test_public_operation_without_signature_is_not_an_auth_error(server, operation):
    resp = call_raw(server.url, operation, {}, signed=False)
    assert resp.error_type not in (
        "MissingAuthenticationTokenException",
        "UnrecognizedClientException",
        "UnknownOperationException",
        "IncompleteSignatureException",
    ), resp.body[:300]
    assert resp.status < 500, (resp.status, resp.body[:300])


def test_fixed_date_authorization_header_is_accepted(server):
    """An old-dated, well-formed SigV4 header signing only host;x-amz-date (as in the brief:
    `AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/cognito-idp/aws4_request,
    SignedHeaders=host;x-amz-date, Signature=...`) is enough in local mode."""
    body = b'{"MaxResults": 1}'
    req = AWSRequest(method="POST", url=server.url + "/", data=body, headers={})
    with mock.patch("botocore.auth.get_current_datetime", return_value=datetime(2026, 1, 1)):
        SigV4Auth(Credentials("test", "test"), "cognito-idp", "us-east-1").add_auth(req)
    auth = req.headers["Authorization"]
    assert auth.startswith(
        "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/cognito-idp/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature="
    ), auth
    headers = dict(req.headers.items())
    headers["Content-Type"] = "application/x-amz-json-1.1"
    headers["X-Amz-Target"] = "AWSCognitoIdentityProviderService.ListUserPools"
    resp = http_request(server.url, "POST", "/", body, headers)
    assert resp.status == 200, resp.body[:300]
    assert "UserPools" in resp.data
