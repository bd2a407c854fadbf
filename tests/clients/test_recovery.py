"""Account recovery: ForgotPassword, AdminResetUserPassword, ConfirmForgotPassword.

Facts from docs/cognito-facts.md; the server flags
(--code-validity-seconds, --confirm-attempts-per-hour, --forgot-password-per-hour,
--recovery-rate-limit) and the defaults of the budgets are userpool's own.
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import threading
import time
import urllib.parse
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import (
    ACCESS_KEY,
    GOOD_PASSWORD,
    REGION,
    SECRET_KEY,
    LISTEN_RE,
    START_TIMEOUT,
    UUID_RE,
    Server,
    attrs,
    call_raw,
    error_code,
    error_message,
    http_request,
    read_messages,
    secret_hash,
    unique,
    userpool_bin,
)

# ---------------------------------------------------------------------------------------------
# Exact strings (docs/cognito-facts.md#exact-error-strings)
# ---------------------------------------------------------------------------------------------

CLIENT_NOT_FOUND = "User pool client {client_id} does not exist."
POOL_NOT_FOUND = "User pool {pool_id} does not exist."
SECRET_HASH_MESSAGE = "Unable to verify secret hash for client {client_id}"  # no trailing period
COMBINATION_NOT_FOUND = "Username/client id combination not found."
USER_DOES_NOT_EXIST = "User does not exist."
USER_DISABLED = "User is disabled."
CANNOT_RESET = "User password cannot be reset in the current state."
NO_CHANNEL = (
    "Cannot reset password for the user as there is no registered/verified email or phone_number"
)
ADMIN_ONLY = "Contact administrator to reset password."
ATTEMPT_LIMIT = "Attempt limit exceeded, please try after some time."
CODE_MISMATCH = "Invalid verification code provided, please try again."
EXPIRED_CODE = "Invalid code provided, please request a code again."
NOT_CONFIRMED = "User is not confirmed."
RATE_EXCEEDED = "Rate exceeded"
# ConfirmForgotPassword uses the "does not conform to" prefix (docs/cognito-facts.md#password-policy-and-history), not SignUp's.
RESET_POLICY_PREFIX = "Password does not conform to policy: "
POLICY_CASES = [  # docs/cognito-facts.md#password-policy-and-history order: length, lowercase, uppercase, numeric, symbol
    ("Ab1!xy", "Password not long enough"),
    ("ABCDEFG1!", "Password must have lowercase characters"),
    ("abcdefg1!", "Password must have uppercase characters"),
    ("Abcdefgh!", "Password must have numeric characters"),
    ("Abcdefg12", "Password must have symbol characters"),
]

NEW_PASSWORD = "N3w-Passw0rd!"
THIRD_PASSWORD = "Th1rd-Passw0rd!"
CODE_RE = re.compile(r"^\d{6}$")
PHONE = "+12065551234"  # 11 digits: 7 hidden
MASKED_PHONE = "+*******1234"
UNKNOWN_CLIENT_ID = "a" * 26
UNKNOWN_POOL_ID = "us-east-1_Zz9Zz9Zz9"


# ---------------------------------------------------------------------------------------------
# Clients without retries
# ---------------------------------------------------------------------------------------------


def make_client(url: str):
    """Like conftest.make_client, but with exactly one attempt. conftest's `max_attempts: 1`
    means one *retry*, and botocore's standard mode retries LimitExceededException and
    TooManyRequestsException: a retry would send an extra request (spending budgets) and could
    hide a throttled answer."""
    return boto3.client(
        "cognito-idp", endpoint_url=url, region_name=REGION, aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=5,
                      read_timeout=30),
    )


@pytest.fixture(scope="module")
def cognito(server):
    """Overrides conftest's `cognito` in this module (make_pool and make_app_client use it too):
    the same session server, no retries."""
    return make_client(server.url)


# ---------------------------------------------------------------------------------------------
# Servers with extra flags (conftest's start_server cannot pass arguments)
# ---------------------------------------------------------------------------------------------


class FlagServer(Server):
    """A conftest.Server started with `--hash-profile test` plus extra command-line flags."""

    def __init__(self, data_dir: Path, log_dir: Path, extra_args: list[str]):
        super().__init__(data_dir, log_dir)
        self.extra_args = list(extra_args)

    def start(self) -> "FlagServer":
        binary = userpool_bin()
        if not binary.exists():
            pytest.fail(f"userpool binary not found at {binary}", pytrace=False)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
            env.pop(k, None)
        self._stderr = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [str(binary), "serve", "--bind", "127.0.0.1:0", "--data-dir", str(self.data_dir),
             "--hash-profile", "test", *self.extra_args],
            stdout=subprocess.PIPE, stderr=self._stderr, stdin=subprocess.DEVNULL, env=env,
            text=True, bufsize=1,
        )
        lines: "queue.Queue[str | None]" = queue.Queue()

        def pump() -> None:
            for line in self.proc.stdout:
                self.stdout_lines.append(line.rstrip("\n"))
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        try:
            first = lines.get(timeout=START_TIMEOUT)
        except queue.Empty:
            self.kill()
            pytest.fail(f"userpool {self.extra_args} printed nothing; stderr:\n{self.stderr_text()}",
                        pytrace=False)
        if first is None:
            code = self.proc.wait(timeout=5)
            pytest.fail(f"userpool {self.extra_args} exited ({code}) before listening; stderr:\n"
                        f"{self.stderr_text()}", pytrace=False)
        m = LISTEN_RE.search(first)
        if not m:
            self.kill()
            pytest.fail(f"unexpected first line {first!r}; stderr:\n{self.stderr_text()}", pytrace=False)
        self.url = m.group(1)
        return self


@pytest.fixture
def flag_server(tmp_path):
    """flag_server('--code-validity-seconds', '2', ...) -> (server, boto3 client)."""
    started: list[FlagServer] = []

    def start(*args: str):
        srv = FlagServer(tmp_path / f"flagged-{len(started)}", tmp_path, list(args)).start()
        started.append(srv)
        return srv, make_client(srv.url)

    yield start
    for srv in started:
        srv.stop()


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


@contextmanager
def raises(code: str, message: str | None = None):
    with pytest.raises(ClientError) as e:
        yield e
    got = (error_code(e.value), error_message(e.value))
    assert got[0] == code, got
    if message is not None:
        assert got[1] == message, got


def body_of(resp: dict) -> dict:
    return {k: v for k, v in resp.items() if k != "ResponseMetadata"}


def wrong(code: str, k: int = 1) -> str:
    return f"{(int(code) + k) % 1_000_000:06d}"


def make_user(c, pool_id, username, *, email=None, email_verified=True, phone=None,
              phone_verified=True, password=GOOD_PASSWORD, permanent=True) -> dict:
    """AdminCreateUser (SUPPRESS) + AdminSetUserPassword Permanent -> CONFIRMED. Returns the
    AdminCreateUser `User` (its Username is the internal username)."""
    attributes = []
    if email is not None:
        attributes += [{"Name": "email", "Value": email},
                       {"Name": "email_verified", "Value": "true" if email_verified else "false"}]
    if phone is not None:
        attributes += [{"Name": "phone_number", "Value": phone},
                       {"Name": "phone_number_verified", "Value": "true" if phone_verified else "false"}]
    user = c.admin_create_user(UserPoolId=pool_id, Username=username, UserAttributes=attributes,
                               MessageAction="SUPPRESS")["User"]
    if permanent:
        c.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=password,
                                  Permanent=True)
    return user


def make_fcp_user(c, pool_id, username, email):
    """AdminCreateUser with a temporary password only: FORCE_CHANGE_PASSWORD."""
    c.admin_create_user(UserPoolId=pool_id, Username=username, TemporaryPassword=GOOD_PASSWORD,
                        MessageAction="SUPPRESS",
                        UserAttributes=[{"Name": "email", "Value": email},
                                        {"Name": "email_verified", "Value": "true"}])
    assert status(c, pool_id, username) == "FORCE_CHANGE_PASSWORD"


def status(c, pool_id, username) -> str:
    return c.admin_get_user(UserPoolId=pool_id, Username=username)["UserStatus"]


def codes(url, pool_id, username, purpose="ForgotPassword") -> list[str]:
    return [m["Code"] for m in read_messages(url, pool_id, username) if m.get("Purpose") == purpose]


def pool_messages(url, pool_id) -> list[dict]:
    q = urllib.parse.urlencode({"userPoolId": pool_id})
    resp = http_request(url, "GET", f"/_userpool/messages?{q}")
    assert resp.status == 200, resp.body[:300]
    return resp.data["Messages"]


def setup_pool(c, *, mode=None, secret=False, **pool_kwargs):
    """For servers of their own (flag_server, start_server): a pool and one app client.
    mode: None (unset), 'LEGACY' or 'ENABLED'. Returns (pool_id, client_id, secret or None)."""
    pool_kwargs.setdefault("PoolName", unique("pool"))
    pool_id = c.create_user_pool(**pool_kwargs)["UserPool"]["Id"]
    ck = {"ClientName": unique("client")}
    if mode is not None:
        ck["PreventUserExistenceErrors"] = mode
    if secret:
        ck["GenerateSecret"] = True
    cl = c.create_user_pool_client(UserPoolId=pool_id, **ck)["UserPoolClient"]
    return pool_id, cl["ClientId"], cl.get("ClientSecret")


@pytest.fixture
def env(cognito, make_pool, make_app_client):
    """On the session server: env(mode=None, secret=False, **CreateUserPool kwargs) ->
    (pool_id, client_id, secret or None); make_pool deletes the pool afterwards."""

    def make(mode=None, secret=False, **pool_kwargs):
        pool_id = make_pool(**pool_kwargs)["Id"]
        ck = {}
        if mode is not None:
            ck["PreventUserExistenceErrors"] = mode
        if secret:
            ck["GenerateSecret"] = True
        cl = make_app_client(pool_id, **ck)
        return pool_id, cl["ClientId"], cl.get("ClientSecret")

    return make


def add_client(cognito, pool_id, mode=None, secret=False):
    ck = {"ClientName": unique("client")}
    if mode is not None:
        ck["PreventUserExistenceErrors"] = mode
    if secret:
        ck["GenerateSecret"] = True
    cl = cognito.create_user_pool_client(UserPoolId=pool_id, **ck)["UserPoolClient"]
    return cl["ClientId"], cl.get("ClientSecret")


def error_type(resp) -> str | None:
    t = resp.error_type
    return t.split("#")[-1] if t else None


def burst(url, operation, bodies, *, signed=False):
    """Fires all requests at once (one thread each, released by a barrier). Returns
    [(status, error type or None, message)]."""
    barrier = threading.Barrier(len(bodies))

    def one(body):
        barrier.wait(timeout=30)
        r = call_raw(url, operation, body, signed=signed)
        return r.status, error_type(r), r.message

    with ThreadPoolExecutor(max_workers=len(bodies)) as ex:
        return list(ex.map(one, bodies))


def fp_body(client_id, username):
    return {"ClientId": client_id, "Username": username}


def cfp_body(client_id, username, code, password=NEW_PASSWORD):
    return {"ClientId": client_id, "Username": username, "ConfirmationCode": code,
            "Password": password}


# ---------------------------------------------------------------------------------------------
# ForgotPassword
# ---------------------------------------------------------------------------------------------


def test_forgot_password_sends_code_and_keeps_status(cognito, env, server, messages):
    pool_id, client_id, _ = env()
    make_user(cognito, pool_id, "alice", email="alice@example.com")
    resp = cognito.forgot_password(
        ClientId=client_id, Username="alice",
        AnalyticsMetadata={"AnalyticsEndpointId": "endpoint-1"},
        ClientMetadata={"source": "test"},
    )
    assert body_of(resp) == {"CodeDeliveryDetails": {
        "Destination": "a***@e***", "DeliveryMedium": "EMAIL", "AttributeName": "email"}}
    msgs = [m for m in messages(pool_id, "alice") if m["Purpose"] == "ForgotPassword"]
    assert len(msgs) == 1, msgs
    m = msgs[0]
    assert m["Username"] == "alice"
    assert m["UserPoolId"] == pool_id
    assert m["DeliveryMedium"] == "EMAIL"
    assert CODE_RE.match(m["Code"]), m["Code"]
    # ForgotPassword does not change the status (docs/cognito-facts.md#user-status-transitions).
    assert status(cognito, pool_id, "alice") == "CONFIRMED"


def test_unknown_client_id(cognito):
    msg = CLIENT_NOT_FOUND.format(client_id=UNKNOWN_CLIENT_ID)
    with raises("ResourceNotFoundException", msg):
        cognito.forgot_password(ClientId=UNKNOWN_CLIENT_ID, Username="alice")
    with raises("ResourceNotFoundException", msg):
        cognito.confirm_forgot_password(ClientId=UNKNOWN_CLIENT_ID, Username="alice",
                                        ConfirmationCode="123456", Password=NEW_PASSWORD)


@pytest.mark.parametrize("mode", [None, "LEGACY"])
def test_forgot_password_unknown_user_legacy(cognito, env, mode):
    pool_id, client_id, _ = env(mode=mode)
    make_user(cognito, pool_id, "alice", email="alice@example.com")
    with raises("UserNotFoundException", COMBINATION_NOT_FOUND):
        cognito.forgot_password(ClientId=client_id, Username="nobody")


def test_forgot_password_unknown_user_enabled_is_simulated(cognito, env, server):
    pool_id, client_id, _ = env(mode="ENABLED")
    first = cognito.forgot_password(ClientId=client_id, Username="ghost")["CodeDeliveryDetails"]
    again = cognito.forgot_password(ClientId=client_id, Username="ghost")["CodeDeliveryDetails"]
    assert first == again
    assert first["DeliveryMedium"] in ("EMAIL", "SMS"), first
    assert first["AttributeName"] in ("email", "phone_number"), first
    assert first["Destination"], first
    assert pool_messages(server.url, pool_id) == []


def test_forgot_password_disabled_user(cognito, env, server):
    pool_id, legacy, _ = env(mode="LEGACY")
    enabled, _ = add_client(cognito, pool_id, "ENABLED")
    make_user(cognito, pool_id, "dora", email="dora@example.com")
    cognito.admin_disable_user(UserPoolId=pool_id, Username="dora")
    with raises("NotAuthorizedException", USER_DISABLED):
        cognito.forgot_password(ClientId=legacy, Username="dora")
    resp = cognito.forgot_password(ClientId=enabled, Username="dora")
    assert resp["CodeDeliveryDetails"]["DeliveryMedium"] in ("EMAIL", "SMS")
    assert codes(server.url, pool_id, "dora") == [], "a disabled user was sent a code"


@pytest.mark.parametrize("mode", ["LEGACY", "ENABLED"])
def test_forgot_password_force_change_password(cognito, env, server, mode):
    pool_id, client_id, _ = env(mode=mode)
    make_fcp_user(cognito, pool_id, "fcp", "fcp@example.com")
    with raises("NotAuthorizedException", CANNOT_RESET):
        cognito.forgot_password(ClientId=client_id, Username="fcp")
    assert codes(server.url, pool_id, "fcp") == []
    assert status(cognito, pool_id, "fcp") == "FORCE_CHANGE_PASSWORD"


def test_forgot_password_unconfirmed_user(cognito, env, server):
    pool_id, legacy, _ = env(mode="LEGACY", AutoVerifiedAttributes=["email"])
    enabled, _ = add_client(cognito, pool_id, "ENABLED")
    cognito.sign_up(ClientId=legacy, Username="una", Password=GOOD_PASSWORD,
                    UserAttributes=[{"Name": "email", "Value": "una@example.com"}])
    assert status(cognito, pool_id, "una") == "UNCONFIRMED"
    with raises("InvalidParameterException", NO_CHANNEL):
        cognito.forgot_password(ClientId=legacy, Username="una")
    resp = cognito.forgot_password(ClientId=enabled, Username="una")
    assert resp["CodeDeliveryDetails"]["DeliveryMedium"] in ("EMAIL", "SMS")
    assert codes(server.url, pool_id, "una") == []
    assert status(cognito, pool_id, "una") == "UNCONFIRMED"


def test_forgot_password_needs_a_verified_channel(cognito, env, server):
    pool_id, client_id, _ = env(mode="LEGACY")
    make_user(cognito, pool_id, "unverified", email="unverified@example.com", email_verified=False,
              phone=PHONE, phone_verified=False)
    make_user(cognito, pool_id, "bare")
    for name in ("unverified", "bare"):
        with raises("InvalidParameterException", NO_CHANNEL):
            cognito.forgot_password(ClientId=client_id, Username=name)
    assert pool_messages(server.url, pool_id) == []


def test_forgot_password_admin_only(cognito, env, server):
    pool_id, client_id, _ = env(
        AccountRecoverySetting={"RecoveryMechanisms": [{"Name": "admin_only", "Priority": 1}]})
    make_user(cognito, pool_id, "ann", email="ann@example.com")
    with raises("NotAuthorizedException", ADMIN_ONLY):
        cognito.forgot_password(ClientId=client_id, Username="ann")
    assert codes(server.url, pool_id, "ann") == []


def test_channel_default_priority_prefers_verified_email(cognito, env, server):
    pool_id, client_id, _ = env()
    make_user(cognito, pool_id, "both", email="both@example.com", phone=PHONE)
    cdd = cognito.forgot_password(ClientId=client_id, Username="both")["CodeDeliveryDetails"]
    assert cdd == {"Destination": "b***@e***", "DeliveryMedium": "EMAIL", "AttributeName": "email"}
    # Only verified attributes count: an unverified email falls through to the verified phone.
    make_user(cognito, pool_id, "phoney", email="phoney@example.com", email_verified=False,
              phone="+447700900123")
    cdd = cognito.forgot_password(ClientId=client_id, Username="phoney")["CodeDeliveryDetails"]
    # 12 digits, last 4 shown: one * per hidden digit (docs/cognito-facts.md#destination-masking).
    assert cdd == {"Destination": "+********0123", "DeliveryMedium": "SMS",
                   "AttributeName": "phone_number"}
    msgs = [m for m in read_messages(server.url, pool_id, "phoney") if m["Purpose"] == "ForgotPassword"]
    assert len(msgs) == 1 and msgs[0]["DeliveryMedium"] == "SMS", msgs


def test_channel_phone_first_priority(cognito, env, server):
    pool_id, client_id, _ = env(AccountRecoverySetting={"RecoveryMechanisms": [
        {"Name": "verified_phone_number", "Priority": 1},
        {"Name": "verified_email", "Priority": 2}]})
    make_user(cognito, pool_id, "both", email="both@example.com", phone=PHONE)
    cdd = cognito.forgot_password(ClientId=client_id, Username="both")["CodeDeliveryDetails"]
    assert cdd == {"Destination": MASKED_PHONE, "DeliveryMedium": "SMS", "AttributeName": "phone_number"}
    msgs = [m for m in read_messages(server.url, pool_id, "both") if m["Purpose"] == "ForgotPassword"]
    assert len(msgs) == 1 and msgs[0]["DeliveryMedium"] == "SMS", msgs
    assert CODE_RE.match(msgs[0]["Code"])
    # An unverified phone does not count: second priority (email) is used.
    make_user(cognito, pool_id, "mailer", email="mailer@example.com", phone=PHONE,
              phone_verified=False)
    cdd = cognito.forgot_password(ClientId=client_id, Username="mailer")["CodeDeliveryDetails"]
    assert cdd == {"Destination": "m***@e***", "DeliveryMedium": "EMAIL", "AttributeName": "email"}


def test_forgot_password_case_folding(cognito, env, server):
    folded, folded_client, _ = env(mode="LEGACY", UsernameConfiguration={"CaseSensitive": False})
    make_user(cognito, folded, "alice", email="alice@example.com")
    cognito.forgot_password(ClientId=folded_client, Username="ALICE")
    assert len(codes(server.url, folded, "alice")) == 1

    exact, exact_client, _ = env(mode="LEGACY", UsernameConfiguration={"CaseSensitive": True})
    make_user(cognito, exact, "alice", email="alice@example.com")
    with raises("UserNotFoundException", COMBINATION_NOT_FOUND):
        cognito.forgot_password(ClientId=exact_client, Username="ALICE")
    assert codes(server.url, exact, "alice") == []


def test_forgot_password_by_sub(cognito, env, server):
    pool_id, client_id, _ = env()
    user = make_user(cognito, pool_id, "subby", email="subby@example.com")
    sub = attrs(user["Attributes"])["sub"]
    cdd = cognito.forgot_password(ClientId=client_id, Username=sub)["CodeDeliveryDetails"]
    assert cdd["Destination"] == "s***@e***"
    [code] = codes(server.url, pool_id, "subby")
    cognito.confirm_forgot_password(ClientId=client_id, Username=sub, ConfirmationCode=code,
                                    Password=NEW_PASSWORD)
    assert status(cognito, pool_id, "subby") == "CONFIRMED"
    assert codes(server.url, pool_id, "subby") == [code]


def test_alias_pool_flow_by_verified_email(cognito, env, messages):
    pool_id, client_id, _ = env(mode="LEGACY", AliasAttributes=["email"])
    make_user(cognito, pool_id, "bob", email="bob@example.com")
    cdd = cognito.forgot_password(ClientId=client_id, Username="bob@example.com")["CodeDeliveryDetails"]
    assert cdd == {"Destination": "b***@e***", "DeliveryMedium": "EMAIL", "AttributeName": "email"}
    msgs = [m for m in messages(pool_id, "bob") if m["Purpose"] == "ForgotPassword"]
    assert len(msgs) == 1 and msgs[0]["Username"] == "bob", msgs
    resp = cognito.confirm_forgot_password(ClientId=client_id, Username="bob@example.com",
                                           ConfirmationCode=msgs[0]["Code"], Password=NEW_PASSWORD)
    assert body_of(resp) == {}
    assert status(cognito, pool_id, "bob") == "CONFIRMED"
    # An unverified email is no alias: the user cannot be found by it.
    make_user(cognito, pool_id, "dan", email="dan@example.com", email_verified=False)
    with raises("UserNotFoundException", COMBINATION_NOT_FOUND):
        cognito.forgot_password(ClientId=client_id, Username="dan@example.com")


def test_alias_pool_by_verified_phone(cognito, env, server):
    pool_id, client_id, _ = env(mode="LEGACY", AliasAttributes=["phone_number"])
    make_user(cognito, pool_id, "phil", phone=PHONE)
    cdd = cognito.forgot_password(ClientId=client_id, Username=PHONE)["CodeDeliveryDetails"]
    assert cdd == {"Destination": MASKED_PHONE, "DeliveryMedium": "SMS", "AttributeName": "phone_number"}
    [code] = codes(server.url, pool_id, "phil")
    cognito.confirm_forgot_password(ClientId=client_id, Username=PHONE, ConfirmationCode=code,
                                    Password=NEW_PASSWORD)
    assert status(cognito, pool_id, "phil") == "CONFIRMED"


def test_email_as_username_pool_flow(cognito, env, server):
    pool_id, client_id, _ = env(mode="LEGACY", UsernameAttributes=["email"])
    user = make_user(cognito, pool_id, "carol@example.com", email="carol@example.com")
    sub = attrs(user["Attributes"])["sub"]
    assert user["Username"] == sub and UUID_RE.match(sub)
    cdd = cognito.forgot_password(ClientId=client_id, Username="carol@example.com")["CodeDeliveryDetails"]
    assert cdd == {"Destination": "c***@e***", "DeliveryMedium": "EMAIL", "AttributeName": "email"}
    msgs = [m for m in read_messages(server.url, pool_id, "carol@example.com")
            if m["Purpose"] == "ForgotPassword"]
    assert len(msgs) == 1, msgs
    assert msgs[0]["Username"] == sub  # messages are recorded under the internal username
    cognito.confirm_forgot_password(ClientId=client_id, Username="carol@example.com",
                                    ConfirmationCode=msgs[0]["Code"], Password=NEW_PASSWORD)
    assert status(cognito, pool_id, "carol@example.com") == "CONFIRMED"


def test_secret_hash_on_forgot_password(cognito, env, server):
    pool_id, client_id, secret = env(secret=True)
    make_user(cognito, pool_id, "sam", email="sam@example.com")
    expected = SECRET_HASH_MESSAGE.format(client_id=client_id)
    with raises("NotAuthorizedException", expected):
        cognito.forgot_password(ClientId=client_id, Username="sam")
    with raises("NotAuthorizedException", expected):
        cognito.forgot_password(ClientId=client_id, Username="sam",
                                SecretHash=secret_hash("someone", client_id, secret))
    with raises("NotAuthorizedException", expected):
        cognito.forgot_password(ClientId=client_id, Username="sam",
                                SecretHash=secret_hash("sam", client_id, "not-the-secret"))
    assert codes(server.url, pool_id, "sam") == [], "a refused ForgotPassword sent a code"
    good = secret_hash("sam", client_id, secret)
    cognito.forgot_password(ClientId=client_id, Username="sam", SecretHash=good)
    [code] = codes(server.url, pool_id, "sam")
    # ConfirmForgotPassword checks the hash too; a refusal leaves the code usable.
    with raises("NotAuthorizedException", expected):
        cognito.confirm_forgot_password(ClientId=client_id, Username="sam", ConfirmationCode=code,
                                        Password=NEW_PASSWORD)
    with raises("NotAuthorizedException", expected):
        cognito.confirm_forgot_password(ClientId=client_id, Username="sam", ConfirmationCode=code,
                                        Password=NEW_PASSWORD,
                                        SecretHash=secret_hash("sAm", client_id, secret))
    cognito.confirm_forgot_password(ClientId=client_id, Username="sam", ConfirmationCode=code,
                                    Password=NEW_PASSWORD, SecretHash=good)
    assert status(cognito, pool_id, "sam") == "CONFIRMED"


def test_secret_hash_over_sent_or_internal_username(cognito, env, server):
    pool_id, client_id, secret = env(secret=True, UsernameAttributes=["email"])
    email = "erin@example.com"
    sub = attrs(make_user(cognito, pool_id, email, email=email)["Attributes"])["sub"]
    cognito.forgot_password(ClientId=client_id, Username=email,
                            SecretHash=secret_hash(email, client_id, secret))
    cognito.forgot_password(ClientId=client_id, Username=email,
                            SecretHash=secret_hash(sub, client_id, secret))
    sent = codes(server.url, pool_id, email)
    assert len(sent) == 2, sent
    with raises("NotAuthorizedException", SECRET_HASH_MESSAGE.format(client_id=client_id)):
        cognito.forgot_password(ClientId=client_id, Username=email,
                                SecretHash=secret_hash("other@example.com", client_id, secret))
    cognito.confirm_forgot_password(ClientId=client_id, Username=email, ConfirmationCode=sent[-1],
                                    Password=NEW_PASSWORD,
                                    SecretHash=secret_hash(sub, client_id, secret))
    assert status(cognito, pool_id, email) == "CONFIRMED"


def test_secret_hash_is_checked_before_the_user(cognito, env):
    _, client_id, _ = env(mode="LEGACY", secret=True)
    expected = SECRET_HASH_MESSAGE.format(client_id=client_id)
    with raises("NotAuthorizedException", expected):
        cognito.forgot_password(ClientId=client_id, Username="nobody")
    with raises("NotAuthorizedException", expected):
        cognito.confirm_forgot_password(ClientId=client_id, Username="nobody",
                                        ConfirmationCode="123456", Password=NEW_PASSWORD)
    # ... and before the UserContextData IP check.
    with raises("NotAuthorizedException", expected):
        cognito.confirm_forgot_password(ClientId=client_id, Username="nobody",
                                        ConfirmationCode="123456", Password=NEW_PASSWORD,
                                        UserContextData={"IpAddress": "not-an-ip"})


def test_user_context_data_ip_address(cognito, env, server):
    pool_id, client_id, _ = env(mode="LEGACY")
    make_user(cognito, pool_id, "ivy", email="ivy@example.com")
    for bad in ("not-an-ip", "999.1.2.3", "10.0.0", "2001:db8::g"):
        with raises("InvalidParameterException"):
            cognito.forgot_password(ClientId=client_id, Username="ivy",
                                    UserContextData={"IpAddress": bad})
    assert codes(server.url, pool_id, "ivy") == []
    cognito.forgot_password(ClientId=client_id, Username="ivy",
                            UserContextData={"IpAddress": "203.0.113.7", "EncodedData": "x"})
    cognito.forgot_password(ClientId=client_id, Username="ivy",
                            UserContextData={"IpAddress": "2001:db8::1"})
    sent = codes(server.url, pool_id, "ivy")
    assert len(sent) == 2, sent
    # ConfirmForgotPassword: the IP check comes before the user lookup and the code check.
    with raises("InvalidParameterException"):
        cognito.confirm_forgot_password(ClientId=client_id, Username="nobody", ConfirmationCode="1",
                                        Password=NEW_PASSWORD, UserContextData={"IpAddress": "bogus"})
    with raises("InvalidParameterException"):
        cognito.confirm_forgot_password(ClientId=client_id, Username="ivy", ConfirmationCode=sent[-1],
                                        Password=NEW_PASSWORD, UserContextData={"IpAddress": "bogus"})
    cognito.confirm_forgot_password(ClientId=client_id, Username="ivy", ConfirmationCode=sent[-1],
                                    Password=NEW_PASSWORD, UserContextData={"IpAddress": "198.51.100.2"})
    assert status(cognito, pool_id, "ivy") == "CONFIRMED"


def test_forgot_password_send_budget(cognito, env, server):
    pool_id, client_id, _ = env()
    make_user(cognito, pool_id, "busy", email="busy@example.com")
    make_user(cognito, pool_id, "calm", email="calm@example.com")
    for _ in range(5):
        cognito.forgot_password(ClientId=client_id, Username="busy")
    with raises("LimitExceededException", ATTEMPT_LIMIT):
        cognito.forgot_password(ClientId=client_id, Username="busy")
    assert len(codes(server.url, pool_id, "busy")) == 5
    # The budget is per user.
    cognito.forgot_password(ClientId=client_id, Username="calm")
    assert len(codes(server.url, pool_id, "calm")) == 1


# ---------------------------------------------------------------------------------------------
# AdminResetUserPassword
# ---------------------------------------------------------------------------------------------


def test_admin_reset_user_password(cognito, env, server):
    pool_id, client_id, _ = env()
    make_user(cognito, pool_id, "rita", email="rita@example.com")
    resp = cognito.admin_reset_user_password(UserPoolId=pool_id, Username="rita",
                                             ClientMetadata={"why": "test"})
    assert body_of(resp) == {}
    assert status(cognito, pool_id, "rita") == "RESET_REQUIRED"
    msgs = [m for m in read_messages(server.url, pool_id, "rita")
            if m["Purpose"] == "AdminResetUserPassword"]
    assert len(msgs) == 1, msgs
    assert msgs[0]["DeliveryMedium"] == "EMAIL"
    assert CODE_RE.match(msgs[0]["Code"])
    cognito.confirm_forgot_password(ClientId=client_id, Username="rita",
                                    ConfirmationCode=msgs[0]["Code"], Password=NEW_PASSWORD)
    assert status(cognito, pool_id, "rita") == "CONFIRMED"


def test_admin_reset_user_password_errors(cognito, env, server):
    pool_id, _, _ = env()
    with raises("UserNotFoundException", USER_DOES_NOT_EXIST):
        cognito.admin_reset_user_password(UserPoolId=pool_id, Username="nobody")
    with raises("ResourceNotFoundException", POOL_NOT_FOUND.format(pool_id=UNKNOWN_POOL_ID)):
        cognito.admin_reset_user_password(UserPoolId=UNKNOWN_POOL_ID, Username="nobody")
    make_user(cognito, pool_id, "off", email="off@example.com")
    cognito.admin_disable_user(UserPoolId=pool_id, Username="off")
    with raises("NotAuthorizedException", USER_DISABLED):
        cognito.admin_reset_user_password(UserPoolId=pool_id, Username="off")
    assert status(cognito, pool_id, "off") == "CONFIRMED"
    make_fcp_user(cognito, pool_id, "fcp", "fcp@example.com")
    with raises("NotAuthorizedException", CANNOT_RESET):
        cognito.admin_reset_user_password(UserPoolId=pool_id, Username="fcp")
    assert status(cognito, pool_id, "fcp") == "FORCE_CHANGE_PASSWORD"
    assert pool_messages(server.url, pool_id) == []


# ---------------------------------------------------------------------------------------------
# ConfirmForgotPassword
# ---------------------------------------------------------------------------------------------


def test_confirm_success_consumes_the_code(cognito, env, server):
    pool_id, client_id, _ = env()
    make_user(cognito, pool_id, "cody", email="cody@example.com")
    cognito.forgot_password(ClientId=client_id, Username="cody")
    [code] = codes(server.url, pool_id, "cody")
    resp = cognito.confirm_forgot_password(
        ClientId=client_id, Username="cody", ConfirmationCode=code, Password=NEW_PASSWORD,
        AnalyticsMetadata={"AnalyticsEndpointId": "e"}, ClientMetadata={"k": "v"})
    assert body_of(resp) == {}
    assert status(cognito, pool_id, "cody") == "CONFIRMED"
    with raises("ExpiredCodeException", EXPIRED_CODE):
        cognito.confirm_forgot_password(ClientId=client_id, Username="cody", ConfirmationCode=code,
                                        Password=THIRD_PASSWORD)


@pytest.mark.parametrize("mode", ["LEGACY", "ENABLED"])
def test_confirm_without_a_requested_code(cognito, env, mode):
    pool_id, client_id, _ = env(mode=mode)
    make_user(cognito, pool_id, "nocode", email="nocode@example.com")
    # No code outstanding is not a wrong code: it does not use up the wrong-code budget (5).
    for _ in range(7):
        with raises("ExpiredCodeException", EXPIRED_CODE):
            cognito.confirm_forgot_password(ClientId=client_id, Username="nocode",
                                            ConfirmationCode="123456", Password=NEW_PASSWORD)


def test_confirm_unknown_user(cognito, env):
    pool_id, legacy, _ = env(mode="LEGACY")
    enabled, _ = add_client(cognito, pool_id, "ENABLED")
    with raises("UserNotFoundException", COMBINATION_NOT_FOUND):
        cognito.confirm_forgot_password(ClientId=legacy, Username="nobody",
                                        ConfirmationCode="123456", Password=NEW_PASSWORD)
    with raises("CodeMismatchException", CODE_MISMATCH):
        cognito.confirm_forgot_password(ClientId=enabled, Username="nobody",
                                        ConfirmationCode="123456", Password=NEW_PASSWORD)


def test_confirm_disabled_user_with_valid_code(cognito, env, server):
    pool_id, legacy, _ = env(mode="LEGACY")
    enabled, _ = add_client(cognito, pool_id, "ENABLED")
    make_user(cognito, pool_id, "dis", email="dis@example.com")
    cognito.forgot_password(ClientId=legacy, Username="dis")
    [code] = codes(server.url, pool_id, "dis")
    cognito.admin_disable_user(UserPoolId=pool_id, Username="dis")
    with raises("NotAuthorizedException", USER_DISABLED):
        cognito.confirm_forgot_password(ClientId=legacy, Username="dis", ConfirmationCode=code,
                                        Password=NEW_PASSWORD)
    with raises("CodeMismatchException", CODE_MISMATCH):
        cognito.confirm_forgot_password(ClientId=enabled, Username="dis", ConfirmationCode=code,
                                        Password=NEW_PASSWORD)
    assert status(cognito, pool_id, "dis") == "CONFIRMED"


@pytest.mark.parametrize("mode", ["LEGACY", "ENABLED"])
def test_confirm_force_change_password_user(cognito, env, mode):
    pool_id, client_id, _ = env(mode=mode)
    make_fcp_user(cognito, pool_id, "fcp", "fcp@example.com")
    with raises("NotAuthorizedException", CANNOT_RESET):
        cognito.confirm_forgot_password(ClientId=client_id, Username="fcp",
                                        ConfirmationCode="123456", Password=NEW_PASSWORD)
    assert status(cognito, pool_id, "fcp") == "FORCE_CHANGE_PASSWORD"


@pytest.mark.parametrize("mode", ["LEGACY", "ENABLED"])
def test_confirm_unconfirmed_user(cognito, env, mode):
    pool_id, client_id, _ = env(mode=mode, AutoVerifiedAttributes=["email"])
    cognito.sign_up(ClientId=client_id, Username="una", Password=GOOD_PASSWORD,
                    UserAttributes=[{"Name": "email", "Value": "una@example.com"}])
    with raises("UserNotConfirmedException", NOT_CONFIRMED):
        cognito.confirm_forgot_password(ClientId=client_id, Username="una",
                                        ConfirmationCode="123456", Password=NEW_PASSWORD)
    assert status(cognito, pool_id, "una") == "UNCONFIRMED"


def test_confirm_wrong_code_is_checked_before_the_password(cognito, env, server):
    pool_id, client_id, _ = env()
    make_user(cognito, pool_id, "wes", email="wes@example.com")
    cognito.forgot_password(ClientId=client_id, Username="wes")
    [code] = codes(server.url, pool_id, "wes")
    with raises("CodeMismatchException", CODE_MISMATCH):
        cognito.confirm_forgot_password(ClientId=client_id, Username="wes",
                                        ConfirmationCode=wrong(code), Password=NEW_PASSWORD)
    with raises("CodeMismatchException", CODE_MISMATCH):
        cognito.confirm_forgot_password(ClientId=client_id, Username="wes",
                                        ConfirmationCode=wrong(code, 2), Password="short1")
    assert status(cognito, pool_id, "wes") == "CONFIRMED"
    cognito.confirm_forgot_password(ClientId=client_id, Username="wes", ConfirmationCode=code,
                                    Password=NEW_PASSWORD)


def test_confirm_password_policy_keeps_the_code(cognito, env, server):
    pool_id, client_id, _ = env()  # default policy: 8, lower, upper, number, symbol
    make_user(cognito, pool_id, "pat", email="pat@example.com")
    cognito.admin_reset_user_password(UserPoolId=pool_id, Username="pat")
    [code] = codes(server.url, pool_id, "pat", "AdminResetUserPassword")
    for password, rule in POLICY_CASES:
        with raises("InvalidPasswordException", RESET_POLICY_PREFIX + rule):
            cognito.confirm_forgot_password(ClientId=client_id, Username="pat",
                                            ConfirmationCode=code, Password=password)
    assert status(cognito, pool_id, "pat") == "RESET_REQUIRED"
    cognito.confirm_forgot_password(ClientId=client_id, Username="pat", ConfirmationCode=code,
                                    Password=NEW_PASSWORD)
    assert status(cognito, pool_id, "pat") == "CONFIRMED"


def test_confirm_password_rule_precedence(cognito, env, server):
    # Several rules broken at once: the first in the order length, lowercase, uppercase,
    # numeric, symbol is reported (docs/cognito-facts.md#password-policy-and-history). Four attempts only, below the budget of five.
    pool_id, client_id, _ = env()
    make_user(cognito, pool_id, "prec", email="prec@example.com")
    cognito.forgot_password(ClientId=client_id, Username="prec")
    [code] = codes(server.url, pool_id, "prec")
    for password, rule in [("abcdef", "Password not long enough"),
                           ("12345678", "Password must have lowercase characters"),
                           ("abcdefgh", "Password must have uppercase characters"),
                           ("Abcdefgh", "Password must have numeric characters")]:
        with raises("InvalidPasswordException", RESET_POLICY_PREFIX + rule):
            cognito.confirm_forgot_password(ClientId=client_id, Username="prec",
                                            ConfirmationCode=code, Password=password)


def test_confirm_uses_the_pools_policy(cognito, env, server):
    pool_id, client_id, _ = env(Policies={"PasswordPolicy": {
        "MinimumLength": 12, "RequireUppercase": True, "RequireLowercase": True,
        "RequireNumbers": True, "RequireSymbols": False}})
    make_user(cognito, pool_id, "pol", email="pol@example.com", password="Abcdefghijk1")
    cognito.forgot_password(ClientId=client_id, Username="pol")
    [code] = codes(server.url, pool_id, "pol")
    with raises("InvalidPasswordException", RESET_POLICY_PREFIX + "Password not long enough"):
        cognito.confirm_forgot_password(ClientId=client_id, Username="pol", ConfirmationCode=code,
                                        Password="Abcdefg1!xy")  # 11 characters
    cognito.confirm_forgot_password(ClientId=client_id, Username="pol", ConfirmationCode=code,
                                    Password="Abcdefghijk2")  # no symbol needed here


def test_newer_code_voids_older_ones(cognito, env, server):
    pool_id, client_id, _ = env()
    make_user(cognito, pool_id, "nina", email="nina@example.com")

    def confirm(code, password=NEW_PASSWORD):
        return cognito.confirm_forgot_password(ClientId=client_id, Username="nina",
                                               ConfirmationCode=code, Password=password)

    # ForgotPassword then ForgotPassword.
    cognito.forgot_password(ClientId=client_id, Username="nina")
    cognito.forgot_password(ClientId=client_id, Username="nina")
    first, second = codes(server.url, pool_id, "nina")
    if first != second:  # a 1-in-a-million collision makes this step meaningless
        with raises("CodeMismatchException", CODE_MISMATCH):
            confirm(first)
    # ForgotPassword then AdminResetUserPassword: the admin code wins.
    cognito.admin_reset_user_password(UserPoolId=pool_id, Username="nina")
    [admin_code] = codes(server.url, pool_id, "nina", "AdminResetUserPassword")
    if admin_code != second:
        with raises("CodeMismatchException", CODE_MISMATCH):
            confirm(second)
    # AdminResetUserPassword then ForgotPassword: the ForgotPassword code wins.
    cognito.forgot_password(ClientId=client_id, Username="nina")
    third = codes(server.url, pool_id, "nina")[-1]
    if third != admin_code:
        with raises("CodeMismatchException", CODE_MISMATCH):
            confirm(admin_code)
    assert status(cognito, pool_id, "nina") == "RESET_REQUIRED"
    confirm(third)
    assert status(cognito, pool_id, "nina") == "CONFIRMED"


def test_confirm_attempt_budget(cognito, env, server):
    pool_id, client_id, _ = env()
    make_user(cognito, pool_id, "gus", email="gus@example.com")
    cognito.forgot_password(ClientId=client_id, Username="gus")
    [code] = codes(server.url, pool_id, "gus")
    for k in range(1, 6):
        with raises("CodeMismatchException", CODE_MISMATCH):
            cognito.confirm_forgot_password(ClientId=client_id, Username="gus",
                                            ConfirmationCode=wrong(code, k), Password=NEW_PASSWORD)
    with raises("LimitExceededException", ATTEMPT_LIMIT):
        cognito.confirm_forgot_password(ClientId=client_id, Username="gus", ConfirmationCode=code,
                                        Password=NEW_PASSWORD)
    assert status(cognito, pool_id, "gus") == "CONFIRMED"


def test_same_password_allowed_without_history(cognito, env, server):
    pool_id, client_id, _ = env()
    make_user(cognito, pool_id, "sally", email="sally@example.com")
    cognito.forgot_password(ClientId=client_id, Username="sally")
    [code] = codes(server.url, pool_id, "sally")
    cognito.confirm_forgot_password(ClientId=client_id, Username="sally", ConfirmationCode=code,
                                    Password=GOOD_PASSWORD)
    assert status(cognito, pool_id, "sally") == "CONFIRMED"


def _history_pool(env, size):
    return env(Policies={"PasswordPolicy": {
        "MinimumLength": 8, "RequireUppercase": True, "RequireLowercase": True,
        "RequireNumbers": True, "RequireSymbols": True, "PasswordHistorySize": size}})


def test_password_history_of_one(cognito, env, server):
    pool_id, client_id, _ = _history_pool(env, 1)
    make_user(cognito, pool_id, "hal", email="hal@example.com")  # current: GOOD_PASSWORD

    def reset_to(password):
        cognito.forgot_password(ClientId=client_id, Username="hal")
        code = codes(server.url, pool_id, "hal")[-1]
        cognito.confirm_forgot_password(ClientId=client_id, Username="hal", ConfirmationCode=code,
                                        Password=password)

    with raises("PasswordHistoryPolicyViolationException"):
        reset_to(GOOD_PASSWORD)  # the current password counts
    reset_to(NEW_PASSWORD)
    assert status(cognito, pool_id, "hal") == "CONFIRMED"
    with raises("PasswordHistoryPolicyViolationException"):
        reset_to(NEW_PASSWORD)  # the new password is now the current one
    reset_to(GOOD_PASSWORD)  # outside a window of one


def test_password_history_of_two(cognito, env, server):
    pool_id, client_id, _ = _history_pool(env, 2)
    make_user(cognito, pool_id, "hugo", email="hugo@example.com")  # current: GOOD_PASSWORD

    def reset_to(password):
        cognito.forgot_password(ClientId=client_id, Username="hugo")
        code = codes(server.url, pool_id, "hugo")[-1]
        cognito.confirm_forgot_password(ClientId=client_id, Username="hugo", ConfirmationCode=code,
                                        Password=password)

    reset_to(NEW_PASSWORD)
    with raises("PasswordHistoryPolicyViolationException"):
        reset_to(NEW_PASSWORD)
    with raises("PasswordHistoryPolicyViolationException"):
        reset_to(GOOD_PASSWORD)
    reset_to(THIRD_PASSWORD)
    assert status(cognito, pool_id, "hugo") == "CONFIRMED"


# ---------------------------------------------------------------------------------------------
# Server flags: expiry, budgets, restart
# ---------------------------------------------------------------------------------------------


def test_code_validity_seconds(flag_server):
    srv, c = flag_server("--code-validity-seconds", "2")
    pool_id, client_id, _ = setup_pool(c)
    make_user(c, pool_id, "eve", email="eve@example.com")
    make_user(c, pool_id, "ed", email="ed@example.com")
    c.forgot_password(ClientId=client_id, Username="eve")
    c.admin_reset_user_password(UserPoolId=pool_id, Username="ed")
    [eve_code] = codes(srv.url, pool_id, "eve")
    [ed_code] = codes(srv.url, pool_id, "ed", "AdminResetUserPassword")
    # Still valid: the policy error comes after the code checks.
    with raises("InvalidPasswordException"):
        c.confirm_forgot_password(ClientId=client_id, Username="eve", ConfirmationCode=eve_code,
                                  Password="Abcdefg12")
    time.sleep(3)
    with raises("ExpiredCodeException", EXPIRED_CODE):
        c.confirm_forgot_password(ClientId=client_id, Username="eve", ConfirmationCode=eve_code,
                                  Password=NEW_PASSWORD)
    with raises("ExpiredCodeException", EXPIRED_CODE):
        c.confirm_forgot_password(ClientId=client_id, Username="ed", ConfirmationCode=ed_code,
                                  Password=NEW_PASSWORD)
    assert status(c, pool_id, "eve") == "CONFIRMED"
    assert status(c, pool_id, "ed") == "RESET_REQUIRED"
    # A fresh code works at once.
    c.forgot_password(ClientId=client_id, Username="eve")
    c.confirm_forgot_password(ClientId=client_id, Username="eve",
                              ConfirmationCode=codes(srv.url, pool_id, "eve")[-1],
                              Password=NEW_PASSWORD)


def test_budget_flags(flag_server):
    srv, c = flag_server("--forgot-password-per-hour", "2", "--confirm-attempts-per-hour", "2")
    pool_id, client_id, _ = setup_pool(c)
    make_user(c, pool_id, "fran", email="fran@example.com")
    make_user(c, pool_id, "gil", email="gil@example.com")
    c.forgot_password(ClientId=client_id, Username="fran")
    c.forgot_password(ClientId=client_id, Username="fran")
    with raises("LimitExceededException", ATTEMPT_LIMIT):
        c.forgot_password(ClientId=client_id, Username="fran")
    assert len(codes(srv.url, pool_id, "fran")) == 2

    c.forgot_password(ClientId=client_id, Username="gil")
    [code] = codes(srv.url, pool_id, "gil")
    for k in (1, 2):
        with raises("CodeMismatchException", CODE_MISMATCH):
            c.confirm_forgot_password(ClientId=client_id, Username="gil",
                                      ConfirmationCode=wrong(code, k), Password=NEW_PASSWORD)
    with raises("LimitExceededException", ATTEMPT_LIMIT):
        c.confirm_forgot_password(ClientId=client_id, Username="gil", ConfirmationCode=code,
                                  Password=NEW_PASSWORD)


def test_restart_mid_flow(start_server):
    first = start_server()
    c = make_client(first.url)
    pool_id, client_id, _ = setup_pool(c)
    make_user(c, pool_id, "remy", email="remy@example.com")
    c.forgot_password(ClientId=client_id, Username="remy")
    [code] = codes(first.url, pool_id, "remy")
    assert first.stop() == 0

    second = start_server(first.data_dir)
    c2 = make_client(second.url)
    c2.confirm_forgot_password(ClientId=client_id, Username="remy", ConfirmationCode=code,
                               Password=NEW_PASSWORD)
    assert status(c2, pool_id, "remy") == "CONFIRMED"
    with raises("ExpiredCodeException", EXPIRED_CODE):
        c2.confirm_forgot_password(ClientId=client_id, Username="remy", ConfirmationCode=code,
                                   Password=THIRD_PASSWORD)


# ---------------------------------------------------------------------------------------------
# Rate quota (docs/cognito-facts.md#quotas: UserAccountRecovery)
# ---------------------------------------------------------------------------------------------


def test_recovery_rate_limit_forgot_password(flag_server):
    srv, c = flag_server("--recovery-rate-limit", "3")
    _, enabled_a, _ = setup_pool(c, mode="ENABLED")
    _, enabled_b, _ = setup_pool(c, mode="ENABLED")
    # Unknown users, ENABLED client: each answer is a simulated 200 or TooManyRequests.
    results = burst(srv.url, "ForgotPassword",
                    [fp_body(enabled_a, f"ghost-{i}") for i in range(20)])
    kinds = Counter((s, t) for s, t, _ in results)
    assert set(kinds) <= {(200, None), (400, "TooManyRequestsException")}, kinds
    assert kinds[(400, "TooManyRequestsException")] >= 1, kinds
    assert kinds[(200, None)] >= 1, kinds
    throttled = {m for _, t, m in results if t == "TooManyRequestsException"}
    assert throttled == {RATE_EXCEEDED}, throttled
    # The quota is per pool: another pool is served at once.
    assert c.forgot_password(ClientId=enabled_b, Username="ghost")["CodeDeliveryDetails"]
    # A per-second quota: after a pause the first pool is served again.
    time.sleep(1.5)
    assert c.forgot_password(ClientId=enabled_a, Username="ghost-late")["CodeDeliveryDetails"]


def test_recovery_rate_limit_comes_before_the_secret_hash(flag_server):
    srv, c = flag_server("--recovery-rate-limit", "3")
    _, secret_client, _ = setup_pool(c, mode="LEGACY", secret=True)
    results = burst(srv.url, "ConfirmForgotPassword",
                    [cfp_body(secret_client, f"ghost-{i}", "123456") for i in range(20)])
    types = Counter(t for _, t, _ in results)
    assert set(types) <= {"TooManyRequestsException", "NotAuthorizedException"}, types
    assert types["TooManyRequestsException"] >= 1 and types["NotAuthorizedException"] >= 1, types


@pytest.mark.parametrize("operation", ["AdminResetUserPassword", "AdminSetUserPassword"])
def test_recovery_rate_limit_admin_operations(flag_server, operation):
    srv, c = flag_server("--recovery-rate-limit", "3")
    pool_id, _, _ = setup_pool(c)
    body = {"UserPoolId": pool_id}
    if operation == "AdminSetUserPassword":
        body.update({"Password": NEW_PASSWORD, "Permanent": True})
    results = burst(srv.url, operation, [{**body, "Username": f"ghost-{i}"} for i in range(20)],
                    signed=True)
    types = Counter(t for _, t, _ in results)
    assert set(types) <= {"TooManyRequestsException", "UserNotFoundException"}, types
    assert types["TooManyRequestsException"] >= 1, types


def test_recovery_rate_limit_off(flag_server):
    srv, c = flag_server("--recovery-rate-limit", "0")
    pool_id, client_id, _ = setup_pool(c, mode="ENABLED")
    results = burst(srv.url, "ForgotPassword",
                    [fp_body(client_id, f"ghost-{i}") for i in range(60)])
    kinds = Counter(t or s for s, t, _ in results)
    assert kinds == {200: 60}, kinds


def test_default_recovery_rate_limit(env, server):
    _, client_id, _ = env(mode="ENABLED")
    results = burst(server.url, "ForgotPassword",
                    [fp_body(client_id, f"ghost-{i}") for i in range(120)])
    types = Counter(t for _, t, _ in results)
    assert set(types) <= {None, "TooManyRequestsException"}, types
    assert types["TooManyRequestsException"] >= 1, types  # 120 at once exceed 30 per second
    assert types[None] >= 30, types


# ---------------------------------------------------------------------------------------------
# Concurrency
# ---------------------------------------------------------------------------------------------


def test_concurrent_confirms_use_the_code_once(flag_server):
    srv, c = flag_server("--recovery-rate-limit", "0")
    pool_id, client_id, _ = setup_pool(c)
    make_user(c, pool_id, "race", email="race@example.com")
    c.forgot_password(ClientId=client_id, Username="race")
    [code] = codes(srv.url, pool_id, "race")
    results = burst(srv.url, "ConfirmForgotPassword",
                    [cfp_body(client_id, "race", code) for _ in range(50)])
    kinds = Counter(t or s for s, t, _ in results)
    assert kinds[200] == 1, kinds
    # The losers find the code consumed, or meet the budget: every attempt reserves a unit of the
    # wrong-code budget before its code is compared (otherwise a right guess could slip past the
    # budget among concurrent wrong ones), and the winner clears the count only afterwards.
    allowed = {"ExpiredCodeException", "CodeMismatchException", "LimitExceededException"}
    assert set(kinds) - {200} <= allowed, kinds
    assert status(c, pool_id, "race") == "CONFIRMED"


def test_concurrent_wrong_guesses_respect_the_budget(flag_server):
    srv, c = flag_server("--recovery-rate-limit", "0", "--confirm-attempts-per-hour", "5")
    pool_id, client_id, _ = setup_pool(c)
    make_user(c, pool_id, "guess", email="guess@example.com")
    c.forgot_password(ClientId=client_id, Username="guess")
    [code] = codes(srv.url, pool_id, "guess")
    results = burst(srv.url, "ConfirmForgotPassword",
                    [cfp_body(client_id, "guess", wrong(code, k)) for k in range(1, 31)])
    types = Counter(t for _, t, _ in results)
    assert types == {"CodeMismatchException": 5, "LimitExceededException": 25}, types
    with raises("LimitExceededException", ATTEMPT_LIMIT):
        c.confirm_forgot_password(ClientId=client_id, Username="guess", ConfirmationCode=code,
                                  Password=NEW_PASSWORD)


# ---------------------------------------------------------------------------------------------
# aws CLI v1
# ---------------------------------------------------------------------------------------------


def test_aws_cli_full_flow(cognito, env, aws, last_code):
    pool_id, client_id, _ = env()
    make_user(cognito, pool_id, "cli", email="cli@example.com")
    rc, out, err = aws("cognito-idp", "forgot-password", "--client-id", client_id,
                       "--username", "cli")
    assert rc == 0, err
    assert out == {"CodeDeliveryDetails": {
        "Destination": "c***@e***", "DeliveryMedium": "EMAIL", "AttributeName": "email"}}, out
    code = last_code(pool_id, "cli", "ForgotPassword")
    assert CODE_RE.match(code)
    rc, out, err = aws("cognito-idp", "confirm-forgot-password", "--client-id", client_id,
                       "--username", "cli", "--confirmation-code", wrong(code),
                       "--password", NEW_PASSWORD)
    assert rc != 0 and "CodeMismatchException" in err, (rc, out, err)
    rc, out, err = aws("cognito-idp", "confirm-forgot-password", "--client-id", client_id,
                       "--username", "cli", "--confirmation-code", code,
                       "--password", NEW_PASSWORD)
    assert rc == 0, err
    assert out in (None, {}), out
    assert status(cognito, pool_id, "cli") == "CONFIRMED"
    rc, out, err = aws("cognito-idp", "admin-reset-user-password", "--user-pool-id", pool_id,
                       "--username", "cli")
    assert rc == 0, err
    assert status(cognito, pool_id, "cli") == "RESET_REQUIRED"
