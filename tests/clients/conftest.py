"""Fixtures for the end-to-end client suite: real boto3 and aws CLI v1 against a real userpool.

The server binary comes from USERPOOL_BIN (default: <repo>/target/debug/userpool). Every server
runs on 127.0.0.1:0 with its own temporary data directory; the URL is parsed from the first line
it prints (`userpool listening on http://127.0.0.1:<port>`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import urllib.parse
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
MODEL_PATH = REPO_ROOT / "model" / "cognito-idp.json"
REGION = "us-east-1"
ACCESS_KEY = "test"
SECRET_KEY = "test"
TARGET_PREFIX = "AWSCognitoIdentityProviderService"
JSON_CT = "application/x-amz-json-1.1"
LISTEN_RE = re.compile(r"userpool listening on (http://127\.0\.0\.1:\d+)")
START_TIMEOUT = float(os.environ.get("USERPOOL_START_TIMEOUT", "30"))
STOP_TIMEOUT = 15.0

POOL_ID_RE = re.compile(r"^us-east-1_[0-9A-Za-z]{9}$")
CLIENT_ID_RE = re.compile(r"^[a-z0-9]{26}$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# A password that satisfies the default policy (8+, upper, lower, digit, symbol).
GOOD_PASSWORD = "Passw0rd!x"


def userpool_bin() -> Path:
    env = os.environ.get("USERPOOL_BIN")
    if env:
        p = Path(env)
        return p if p.is_absolute() else (Path.cwd() / p).resolve()
    return REPO_ROOT / "target" / "debug" / "userpool"


def load_model() -> dict:
    with open(MODEL_PATH, encoding="utf-8") as f:
        return json.load(f)


def lower_camel(name: str) -> str:
    """Coral's member path: the member name with its first letter lowered."""
    return name[:1].lower() + name[1:]


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def secret_hash(username: str, client_id: str, client_secret: str) -> str:
    """SecretHash = Base64(HMAC-SHA256(key=client secret, msg=username + client id)) (docs/cognito-facts.md#secrethash)."""
    digest = hmac.new(
        client_secret.encode("utf-8"), (username + client_id).encode("utf-8"), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def error_code(exc: ClientError) -> str:
    return exc.response["Error"]["Code"]


def error_message(exc: ClientError) -> str:
    return exc.response["Error"]["Message"]


def attrs(attribute_list: list[dict] | None) -> dict[str, str]:
    return {a["Name"]: a.get("Value") for a in (attribute_list or [])}


# --------------------------------------------------------------------------------------------
# Server processes
# --------------------------------------------------------------------------------------------


class Server:
    """One userpool process. start() waits for the `listening` line; stop() sends SIGTERM."""

    def __init__(self, data_dir: Path, log_dir: Path):
        self.data_dir = Path(data_dir)
        self.log_dir = Path(log_dir)
        self.proc: subprocess.Popen | None = None
        self.url: str | None = None
        self.stdout_lines: list[str] = []
        self.log_path = self.log_dir / f"userpool-{uuid.uuid4().hex[:8]}.stderr.log"

    def start(self) -> "Server":
        binary = userpool_bin()
        if not binary.exists():
            pytest.fail(
                f"userpool binary not found at {binary} (build it with `cargo build`, "
                "or point USERPOOL_BIN at it)",
                pytrace=False,
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        # Local mode means "no credentials configured": keep the test runner's AWS variables
        # away from the server.
        for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
            env.pop(k, None)
        self._stderr = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [
                str(binary),
                "serve",
                "--bind",
                "127.0.0.1:0",
                "--data-dir",
                str(self.data_dir),
                "--hash-profile",
                "test",
            ],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            stdin=subprocess.DEVNULL,
            env=env,
            text=True,
            bufsize=1,
        )
        lines: "queue.Queue[str | None]" = queue.Queue()

        def pump() -> None:
            assert self.proc is not None and self.proc.stdout is not None
            for line in self.proc.stdout:
                self.stdout_lines.append(line.rstrip("\n"))
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        try:
            first = lines.get(timeout=START_TIMEOUT)
        except queue.Empty:
            self.kill()
            pytest.fail(
                f"userpool printed nothing within {START_TIMEOUT}s; stderr:\n{self.stderr_text()}",
                pytrace=False,
            )
        if first is None:
            code = self.proc.wait(timeout=5)
            pytest.fail(
                f"userpool exited ({code}) before listening; stderr:\n{self.stderr_text()}",
                pytrace=False,
            )
        m = LISTEN_RE.search(first)
        if not m:
            self.kill()
            pytest.fail(
                f"first stdout line is not `userpool listening on http://127.0.0.1:<port>`: "
                f"{first!r}; stderr:\n{self.stderr_text()}",
                pytrace=False,
            )
        self.url = m.group(1)
        return self

    @property
    def port(self) -> int:
        assert self.url
        return int(self.url.rsplit(":", 1)[1])

    def stderr_text(self, limit: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-limit:]
        except OSError:
            return ""

    def stop(self) -> int | None:
        """SIGTERM and wait. Returns the exit code, or None if it had to be killed."""
        if self.proc is None:
            return None
        try:
            if self.proc.poll() is not None:
                return self.proc.returncode
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.kill()
                return None
        finally:
            if not self._stderr.closed:
                self._stderr.close()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Server:
    base = tmp_path_factory.mktemp("userpool-session")
    srv = Server(base / "data", base).start()
    yield srv
    srv.stop()


@pytest.fixture
def start_server(tmp_path) -> Callable[..., Server]:
    """start_server(data_dir=None) starts an extra server; all are stopped at teardown.

    Call `srv.stop()` yourself to stop one early (restart tests); a second start_server(data_dir)
    on the same directory must see the same state.
    """
    started: list[Server] = []

    def start(data_dir: Path | None = None) -> Server:
        d = Path(data_dir) if data_dir is not None else tmp_path / f"data-{len(started)}"
        srv = Server(d, tmp_path).start()
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.stop()


# --------------------------------------------------------------------------------------------
# boto3
# --------------------------------------------------------------------------------------------


def make_client(url: str, *, validate: bool = True):
    return boto3.client(
        "cognito-idp",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(
            retries={"max_attempts": 1, "mode": "standard"},
            parameter_validation=validate,
            connect_timeout=5,
            read_timeout=30,
        ),
    )


@pytest.fixture(scope="session")
def cognito(server):
    """boto3 cognito-idp client for the session server (SigV4 with dummy credentials)."""
    return make_client(server.url)


@pytest.fixture(scope="session")
def cognito_raw(server):
    """Like `cognito`, but botocore does not validate parameters client-side, so invalid values
    reach the server."""
    return make_client(server.url, validate=False)


@pytest.fixture
def make_pool(cognito):
    """make_pool(**CreateUserPool kwargs) -> UserPool dict; best-effort deletion afterwards."""
    created: list[str] = []

    def make(**kwargs) -> dict:
        kwargs.setdefault("PoolName", unique("pool"))
        pool = cognito.create_user_pool(**kwargs)["UserPool"]
        created.append(pool["Id"])
        return pool

    yield make
    for pool_id in created:
        try:
            cognito.update_user_pool(UserPoolId=pool_id, DeletionProtection="INACTIVE")
        except Exception:
            pass
        try:
            cognito.delete_user_pool(UserPoolId=pool_id)
        except Exception:
            pass


@pytest.fixture
def make_app_client(cognito):
    """make_app_client(pool_id, **CreateUserPoolClient kwargs) -> UserPoolClient dict."""

    def make(pool_id: str, **kwargs) -> dict:
        kwargs.setdefault("ClientName", unique("client"))
        return cognito.create_user_pool_client(UserPoolId=pool_id, **kwargs)["UserPoolClient"]

    return make


# --------------------------------------------------------------------------------------------
# Raw HTTP
# --------------------------------------------------------------------------------------------


@dataclass
class RawResponse:
    status: int
    headers: Any  # http.client.HTTPMessage: case-insensitive .get()
    body: bytes
    data: Any = field(default=None)

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    @property
    def error_type(self) -> str | None:
        return self.data.get("__type") if isinstance(self.data, dict) else None

    @property
    def message(self) -> str | None:
        if not isinstance(self.data, dict):
            return None
        return self.data.get("message", self.data.get("Message"))


def http_request(
    url: str,
    method: str = "POST",
    path: str = "/",
    body: bytes | str | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> RawResponse:
    parsed = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=timeout)
    try:
        if isinstance(body, str):
            body = body.encode("utf-8")
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        raw = resp.read()
        data = None
        if raw:
            try:
                data = json.loads(raw)
            except ValueError:
                data = None
        return RawResponse(resp.status, resp.headers, raw, data)
    finally:
        conn.close()


def sigv4_headers(url: str, target: str | None, body: bytes) -> dict[str, str]:
    headers = {"Content-Type": JSON_CT}
    if target is not None:
        headers["X-Amz-Target"] = target
    req = AWSRequest(method="POST", url=url.rstrip("/") + "/", data=body, headers=headers)
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "cognito-idp", REGION).add_auth(req)
    return dict(req.headers.items())


def call_raw(
    url: str,
    operation: str | None,
    body: Any = None,
    *,
    signed: bool = True,
    target: str | None = None,
    extra_headers: dict[str, str] | None = None,
) -> RawResponse:
    """POST / with X-Amz-Target for `operation` (or an explicit `target`).

    `body` may be a dict (JSON-encoded), str or bytes. `signed` adds a SigV4 Authorization built
    by botocore with the dummy credentials.
    """
    if target is None and operation is not None:
        target = f"{TARGET_PREFIX}.{operation}"
    if body is None:
        payload = b"{}"
    elif isinstance(body, (bytes, bytearray)):
        payload = bytes(body)
    elif isinstance(body, str):
        payload = body.encode("utf-8")
    else:
        payload = json.dumps(body).encode("utf-8")
    if signed:
        headers = sigv4_headers(url, target, payload)
    else:
        headers = {"Content-Type": JSON_CT}
        if target is not None:
            headers["X-Amz-Target"] = target
    headers.update(extra_headers or {})
    return http_request(url, "POST", "/", payload, headers)


@pytest.fixture(scope="session")
def raw(server):
    """raw(operation, body=None, signed=True, ...) -> RawResponse against the session server."""

    def call(operation, body=None, **kw):
        return call_raw(server.url, operation, body, **kw)

    return call


# --------------------------------------------------------------------------------------------
# Messages endpoint
# --------------------------------------------------------------------------------------------


def read_messages(url: str, pool_id: str, username: str) -> list[dict]:
    q = urllib.parse.urlencode({"userPoolId": pool_id, "username": username})
    resp = http_request(url, "GET", f"/_userpool/messages?{q}")
    assert resp.status == 200, f"messages endpoint answered {resp.status}: {resp.body[:300]!r}"
    assert isinstance(resp.data, dict) and "Messages" in resp.data, resp.body[:300]
    return resp.data["Messages"]


@pytest.fixture(scope="session")
def messages(server):
    """messages(pool_id, username) -> list of recorded messages, oldest first."""

    def get(pool_id: str, username: str) -> list[dict]:
        return read_messages(server.url, pool_id, username)

    return get


@pytest.fixture(scope="session")
def last_code(messages):
    """last_code(pool_id, username, purpose=None) -> Code of the newest matching message."""

    def get(pool_id: str, username: str, purpose: str | None = None) -> str:
        msgs = messages(pool_id, username)
        if purpose is not None:
            msgs = [m for m in msgs if m.get("Purpose") == purpose]
        assert msgs, f"no {purpose or ''} message recorded for {username!r} in {pool_id}"
        return msgs[-1]["Code"]

    return get


# --------------------------------------------------------------------------------------------
# aws CLI v1
# --------------------------------------------------------------------------------------------


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    for k in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_PROFILE", "AWS_CA_BUNDLE"):
        env.pop(k, None)
    env.update(
        {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_PAGER": "",
            "AWS_MAX_ATTEMPTS": "1",
            "AWS_RETRY_MODE": "standard",
        }
    )
    return env


def run_aws(url: str, *args: str, timeout: float = 120) -> tuple[int, Any, str]:
    """Runs `aws --endpoint-url URL --output json <args>` (CLI v1 from this interpreter's
    environment). Returns (returncode, parsed JSON stdout or None, stderr)."""
    cmd = [
        sys.executable,
        "-m",
        "awscli",
        "--endpoint-url",
        url,
        "--region",
        REGION,
        "--output",
        "json",
        *args,
    ]
    proc = subprocess.run(
        cmd, capture_output=True, text=True, env=cli_env(), timeout=timeout, stdin=subprocess.DEVNULL
    )
    out = None
    if proc.stdout.strip():
        try:
            out = json.loads(proc.stdout)
        except ValueError:
            out = proc.stdout
    return proc.returncode, out, proc.stderr


@pytest.fixture(scope="session")
def aws(server):
    """aws('cognito-idp', 'create-user-pool', '--pool-name', 'x') -> (rc, json, stderr)."""

    def run(*args: str, **kw):
        return run_aws(server.url, *args, **kw)

    return run
