"""Lambda triggers through boto3 (docs/triggers.md): each function runs as a webhook (a local
HTTP server in this process), as a local command (trigger_function.py) or through the Lambda
Invoke API (a local server that checks the SigV4 signature with botocore's own signer). Events
are compared field by field with Cognito's documented shapes; the failure mappings are checked."""

import json
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from conftest import REGION, error_code, error_message, make_client, read_messages
from test_recovery import FlagServer

ACCOUNT = "123456789012"
SCRIPT = Path(__file__).with_name("trigger_function.py")
LAMBDA_KEY, LAMBDA_SECRET = "AKIDTRIGGERS", "trigger-secret"


def arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


class Functions:
    """The webhook and Lambda endpoints, and what each function received and answers."""

    def __init__(self):
        self.events: dict[str, list[dict]] = {}
        # name -> (status, body) for a webhook, given the event
        self.answers: dict[str, object] = {}
        self.lambda_calls: list[dict] = []

    def received(self, name: str) -> list[dict]:
        return self.events.get(name, [])


def handler_for(functions: Functions):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            event = json.loads(body)
            if self.path.startswith("/2015-03-31/functions/"):
                self.lambda_invoke(body, event)
                return
            name = self.path.rsplit("/", 1)[-1]
            functions.events.setdefault(name, []).append(event)
            answer = functions.answers.get(name, lambda e: (200, e))
            status, out = answer(event)
            self.reply(status, out, {})

        def lambda_invoke(self, body: bytes, event: dict):
            name = self.path.split("/")[3]
            auth = self.headers.get("Authorization", "")
            signed = auth.split("SignedHeaders=")[1].split(",")[0].split(";")
            request = AWSRequest(method="POST", url=f"http://{self.headers['Host']}{self.path}", data=body,
                                 headers={h: self.headers[h] for h in signed})
            request.context["timestamp"] = self.headers["X-Amz-Date"]
            signer = SigV4Auth(Credentials(LAMBDA_KEY, LAMBDA_SECRET), "lambda", REGION)
            expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
            valid = auth.endswith(f"Signature={expected}") and f"Credential={LAMBDA_KEY}/" in auth
            functions.lambda_calls.append({"name": name, "valid": valid, "event": event,
                                           "invocation_type": self.headers.get("X-Amz-Invocation-Type")})
            if not valid:
                self.reply(403, {"message": "The request signature we calculated does not match"},
                           {"x-amzn-ErrorType": "InvalidSignatureException"})
            elif name == "lambda-raises":
                self.reply(200, {"errorMessage": "Raised in Lambda", "errorType": "Error"},
                           {"X-Amz-Function-Error": "Unhandled"})
            else:
                event["response"]["autoConfirmUser"] = True
                self.reply(200, event, {})

        def reply(self, status: int, out, headers: dict):
            data = out if isinstance(out, bytes) else json.dumps(out).encode()
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """(functions, boto3 client, server url, command record dir) for one server whose config file
    maps every function ARN the tests use."""
    tmp = tmp_path_factory.mktemp("triggers")
    functions = Functions()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(functions))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    lines = ["trigger_timeout_ms = 1000", ""]

    def function(name: str, **how):
        lines.append(f'[functions."{arn(name)}"]')
        lines.extend(f"{k} = {json.dumps(v)}" for k, v in how.items())
        lines.append("")

    for name in ["presignup", "custom", "postconfirm", "preauth", "postauth", "pretoken", "pretoken2", "migrate"]:
        function(f"hook-{name}", webhook=f"{base}/fn/{name}")
    function("hook-down", webhook="http://127.0.0.1:9/fn/down")
    for mode in ["respond", "fail", "garbage", "no-response", "slow"]:
        function(f"cmd-{mode}", command=[sys.executable, str(SCRIPT), str(tmp / f"{mode}.jsonl"), mode,
                                          str(tmp / "response.json")])
    for name in ["lambda-presignup", "lambda-raises"]:
        function(name, lambda_endpoint=base, access_key_id=LAMBDA_KEY, secret_access_key=LAMBDA_SECRET)
    config = tmp / "userpool.toml"
    config.write_text("\n".join(lines))
    server = FlagServer(tmp / "data", tmp, ["--config", str(config)]).start()
    yield functions, make_client(server.url), server.url, tmp
    server.stop()
    httpd.shutdown()


def command_events(tmp: Path, mode: str) -> list[dict]:
    path = tmp / f"{mode}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def command_answers(tmp: Path, response: dict):
    (tmp / "response.json").write_text(json.dumps(response))


def pool_with(cognito, lambda_config: dict, **kwargs) -> tuple[str, str]:
    pool = cognito.create_user_pool(PoolName="triggers", LambdaConfig=lambda_config,
                                    AutoVerifiedAttributes=["email"], **kwargs)["UserPool"]
    client = cognito.create_user_pool_client(
        UserPoolId=pool["Id"], ClientName="app",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])["UserPoolClient"]
    return pool["Id"], client["ClientId"]


def confirmed_user(cognito, pool_id: str, name: str = "tia"):
    cognito.admin_create_user(UserPoolId=pool_id, Username=name, MessageAction="SUPPRESS",
                              UserAttributes=[{"Name": "email", "Value": f"{name}@example.com"},
                                              {"Name": "email_verified", "Value": "true"}])
    cognito.admin_set_user_password(UserPoolId=pool_id, Username=name, Password="Passw0rd!", Permanent=True)


def sign_in(cognito, client_id: str, name: str = "tia", password: str = "Passw0rd!"):
    return cognito.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                                 AuthParameters={"USERNAME": name, "PASSWORD": password})


def assert_envelope(event: dict, *, source: str, pool_id: str, user_name: str, client_id: str):
    assert event["version"] == "1"
    assert event["triggerSource"] == source
    assert event["region"] == REGION
    assert event["userPoolId"] == pool_id
    assert event["userName"] == user_name
    assert event["callerContext"] == {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": client_id}
    assert event["response"] == {}
    assert set(event) == {"version", "triggerSource", "region", "userPoolId", "userName", "callerContext",
                          "request", "response"}


def last_code(url: str, pool_id: str, name: str) -> str:
    return read_messages(url, pool_id, name)[-1]["Code"]


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


# ---- PreSignUp ----

def test_pre_sign_up_webhook_confirms_and_verifies(env):
    functions, cognito, _, _ = env
    functions.answers["presignup"] = lambda e: (200, {**e, "response": {"autoConfirmUser": True,
                                                                        "autoVerifyEmail": True}})
    pool_id, client_id = pool_with(cognito, {"PreSignUp": arn("hook-presignup")})
    out = cognito.sign_up(ClientId=client_id, Username="ula", Password="Passw0rd!",
                          UserAttributes=[{"Name": "email", "Value": "ula@example.com"}],
                          ValidationData=[{"Name": "invite", "Value": "x1"}], ClientMetadata={"source": "web"})
    assert out["UserConfirmed"] is True and "CodeDeliveryDetails" not in out
    event = functions.received("presignup")[-1]
    assert_envelope(event, source="PreSignUp_SignUp", pool_id=pool_id, user_name="ula", client_id=client_id)
    assert event["request"] == {"userAttributes": {"email": "ula@example.com"}, "validationData": {"invite": "x1"},
                                "clientMetadata": {"source": "web"}}
    user = cognito.admin_get_user(UserPoolId=pool_id, Username="ula")
    assert user["UserStatus"] == "CONFIRMED"
    assert {"Name": "email_verified", "Value": "true"} in user["UserAttributes"]
    assert sign_in(cognito, client_id, "ula")["AuthenticationResult"]["AccessToken"]


def test_pre_sign_up_command_that_raises_stops_the_sign_up(env):
    _, cognito, _, tmp = env
    pool_id, client_id = pool_with(cognito, {"PreSignUp": arn("cmd-fail")})
    with pytest.raises(ClientError) as e:
        cognito.sign_up(ClientId=client_id, Username="vic", Password="Passw0rd!",
                        UserAttributes=[{"Name": "email", "Value": "vic@example.com"}])
    assert (error_code(e.value), error_message(e.value)) == (
        "UserLambdaValidationException", "PreSignUp failed with error Denied by the command.")
    assert command_events(tmp, "fail")[-1]["triggerSource"] == "PreSignUp_SignUp"
    with pytest.raises(ClientError) as e:
        cognito.admin_get_user(UserPoolId=pool_id, Username="vic")
    assert error_code(e.value) == "UserNotFoundException"


def test_pre_sign_up_through_the_lambda_invoke_api_is_sigv4_signed(env):
    functions, cognito, _, _ = env
    pool_id, client_id = pool_with(cognito, {"PreSignUp": arn("lambda-presignup")})
    out = cognito.sign_up(ClientId=client_id, Username="wes", Password="Passw0rd!",
                          UserAttributes=[{"Name": "email", "Value": "wes@example.com"}])
    call = functions.lambda_calls[-1]
    assert call["valid"], "botocore's signer computes the same signature"
    assert (call["name"], call["invocation_type"]) == ("lambda-presignup", "RequestResponse")
    assert call["event"]["triggerSource"] == "PreSignUp_SignUp" and call["event"]["userPoolId"] == pool_id
    assert out["UserConfirmed"] is True, "the function's answer took effect"
    pool_id, client_id = pool_with(cognito, {"PreSignUp": arn("lambda-raises")})
    with pytest.raises(ClientError) as e:
        cognito.sign_up(ClientId=client_id, Username="xan", Password="Passw0rd!")
    assert (error_code(e.value), error_message(e.value)) == (
        "UserLambdaValidationException", "PreSignUp failed with error Raised in Lambda.")


# ---- CustomMessage ----

def test_custom_message_webhook_writes_the_reset_mail(env):
    functions, cognito, url, _ = env
    functions.answers["custom"] = lambda e: (200, {**e, "response": {
        "emailSubject": "Your reset", "emailMessage": f"Hello {e['userName']}, use {e['request']['codeParameter']}"}})
    pool_id, client_id = pool_with(cognito, {"CustomMessage": arn("hook-custom")})
    confirmed_user(cognito, pool_id)
    cognito.forgot_password(ClientId=client_id, Username="tia", ClientMetadata={"lang": "en"})
    event = functions.received("custom")[-1]
    assert_envelope(event, source="CustomMessage_ForgotPassword", pool_id=pool_id, user_name="tia",
                    client_id=client_id)
    request = event["request"]
    assert request["codeParameter"] == "{####}" and request["clientMetadata"] == {"lang": "en"}
    assert request["userAttributes"]["email"] == "tia@example.com"
    assert request["userAttributes"]["cognito:user_status"] == "CONFIRMED"
    message = read_messages(url, pool_id, "tia")[-1]
    assert message["Subject"] == "Your reset"
    assert message["Body"] == f"Hello tia, use {message['Code']}"


def test_custom_message_command_on_sign_up(env):
    _, cognito, url, tmp = env
    command_answers(tmp, {"emailMessage": "Welcome! Code: {####}", "emailSubject": "Welcome"})
    pool_id, client_id = pool_with(cognito, {"CustomMessage": arn("cmd-respond")})
    cognito.sign_up(ClientId=client_id, Username="yve", Password="Passw0rd!",
                    UserAttributes=[{"Name": "email", "Value": "yve@example.com"}])
    event = command_events(tmp, "respond")[-1]
    assert_envelope(event, source="CustomMessage_SignUp", pool_id=pool_id, user_name="yve", client_id=client_id)
    message = read_messages(url, pool_id, "yve")[-1]
    assert (message["Subject"], message["Body"]) == ("Welcome", f"Welcome! Code: {message['Code']}")
    cognito.confirm_sign_up(ClientId=client_id, Username="yve", ConfirmationCode=message["Code"])


# ---- PostConfirmation ----

def test_post_confirmation_webhook_gets_the_client_metadata_of_confirm_forgot_password(env):
    functions, cognito, url, _ = env
    pool_id, client_id = pool_with(cognito, {"PostConfirmation": arn("hook-postconfirm")})
    confirmed_user(cognito, pool_id)
    cognito.forgot_password(ClientId=client_id, Username="tia")
    cognito.confirm_forgot_password(ClientId=client_id, Username="tia", ConfirmationCode=last_code(url, pool_id, "tia"),
                                    Password="N3w-Passw0rd!", ClientMetadata={"flow": "reset"})
    event = functions.received("postconfirm")[-1]
    assert_envelope(event, source="PostConfirmation_ConfirmForgotPassword", pool_id=pool_id, user_name="tia",
                    client_id=client_id)
    assert event["request"]["clientMetadata"] == {"flow": "reset"}
    attributes = event["request"]["userAttributes"]
    assert attributes["cognito:user_status"] == "CONFIRMED" and attributes["email_verified"] == "true"
    assert set(event["request"]) == {"userAttributes", "clientMetadata"}


def test_post_confirmation_command_that_raises_keeps_the_new_password(env):
    _, cognito, url, tmp = env
    pool_id, client_id = pool_with(cognito, {"PostConfirmation": arn("cmd-fail")})
    confirmed_user(cognito, pool_id)
    cognito.forgot_password(ClientId=client_id, Username="tia")
    with pytest.raises(ClientError) as e:
        cognito.confirm_forgot_password(ClientId=client_id, Username="tia",
                                        ConfirmationCode=last_code(url, pool_id, "tia"), Password="N3w-Passw0rd!")
    assert (error_code(e.value), error_message(e.value)) == (
        "UserLambdaValidationException", "PostConfirmation failed with error Denied by the command.")
    assert command_events(tmp, "fail")[-1]["triggerSource"] == "PostConfirmation_ConfirmForgotPassword"
    assert sign_in(cognito, client_id, password="N3w-Passw0rd!")["AuthenticationResult"]


def test_post_confirmation_on_confirm_sign_up(env):
    functions, cognito, url, _ = env
    pool_id, client_id = pool_with(cognito, {"PostConfirmation": arn("hook-postconfirm")})
    cognito.sign_up(ClientId=client_id, Username="zed", Password="Passw0rd!",
                    UserAttributes=[{"Name": "email", "Value": "zed@example.com"}])
    cognito.confirm_sign_up(ClientId=client_id, Username="zed", ConfirmationCode=last_code(url, pool_id, "zed"))
    event = functions.received("postconfirm")[-1]
    assert_envelope(event, source="PostConfirmation_ConfirmSignUp", pool_id=pool_id, user_name="zed",
                    client_id=client_id)
    assert event["request"]["userAttributes"]["email_verified"] == "true"


# ---- Pre- and PostAuthentication ----

def test_pre_authentication_can_refuse_and_post_authentication_runs(env):
    functions, cognito, _, _ = env
    pool_id, client_id = pool_with(cognito, {"PreAuthentication": arn("hook-preauth"),
                                             "PostAuthentication": arn("hook-postauth")})
    confirmed_user(cognito, pool_id)
    functions.answers["preauth"] = lambda e: (400, {"errorMessage": "Outside office hours", "errorType": "Error"})
    with pytest.raises(ClientError) as e:
        sign_in(cognito, client_id)
    assert (error_code(e.value), error_message(e.value)) == (
        "UserLambdaValidationException", "PreAuthentication failed with error Outside office hours.")
    before = len(functions.received("postauth"))
    functions.answers["preauth"] = lambda e: (200, e)
    assert sign_in(cognito, client_id)["AuthenticationResult"]["IdToken"]
    pre = functions.received("preauth")[-1]
    assert_envelope(pre, source="PreAuthentication_Authentication", pool_id=pool_id, user_name="tia",
                    client_id=client_id)
    post = functions.received("postauth")
    assert len(post) == before + 1
    assert_envelope(post[-1], source="PostAuthentication_Authentication", pool_id=pool_id, user_name="tia",
                    client_id=client_id)
    assert post[-1]["request"]["newDeviceUsed"] is False


def test_pre_and_post_authentication_through_a_command(env):
    _, cognito, _, tmp = env
    command_answers(tmp, {})
    pool_id, client_id = pool_with(cognito, {"PreAuthentication": arn("cmd-respond"),
                                             "PostAuthentication": arn("cmd-respond")})
    confirmed_user(cognito, pool_id)
    before = len(command_events(tmp, "respond"))
    out = cognito.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", ClientMetadata={"kiosk": "7"},
                                AuthParameters={"USERNAME": "tia", "PASSWORD": "Passw0rd!"})
    assert out["AuthenticationResult"]["AccessToken"]
    pre, post = command_events(tmp, "respond")[before:]
    assert_envelope(pre, source="PreAuthentication_Authentication", pool_id=pool_id, user_name="tia",
                    client_id=client_id)
    assert_envelope(post, source="PostAuthentication_Authentication", pool_id=pool_id, user_name="tia",
                    client_id=client_id)
    assert pre["request"]["userAttributes"]["email"] == "tia@example.com"
    # InitiateAuth's ClientMetadata is PreAuthentication's validationData, and not PostAuthentication's.
    assert pre["request"]["validationData"] == {"kiosk": "7"}
    assert "clientMetadata" not in post["request"]

    # RespondToAuthChallenge's ClientMetadata reaches PostAuthentication.
    cognito.admin_create_user(UserPoolId=pool_id, Username="new", TemporaryPassword="Temp-Passw0rd!",
                              MessageAction="SUPPRESS")
    challenge = cognito.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                                      AuthParameters={"USERNAME": "new", "PASSWORD": "Temp-Passw0rd!"})
    assert challenge["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    before = len(command_events(tmp, "respond"))
    cognito.respond_to_auth_challenge(ClientId=client_id, ChallengeName="NEW_PASSWORD_REQUIRED",
                                      Session=challenge["Session"], ClientMetadata={"step": "first-login"},
                                      ChallengeResponses={"USERNAME": "new", "NEW_PASSWORD": "N3w-Passw0rd!"})
    post = command_events(tmp, "respond")[before:][-1]
    assert post["triggerSource"] == "PostAuthentication_Authentication"
    assert post["request"]["clientMetadata"] == {"step": "first-login"}


# ---- PreSignUp and CustomMessage of AdminCreateUser ----

def test_admin_create_user_runs_pre_sign_up_and_custom_message(env):
    functions, cognito, url, tmp = env
    command_answers(tmp, {})
    functions.answers["custom"] = lambda e: (200, {**e, "response": {
        "emailSubject": "Welcome aboard",
        "emailMessage": f"Sign in as {e['request']['usernameParameter']} with {e['request']['codeParameter']}"}})
    pool_id, _ = pool_with(cognito, {"PreSignUp": arn("cmd-respond"), "CustomMessage": arn("hook-custom")})
    before = len(command_events(tmp, "respond"))
    cognito.admin_create_user(UserPoolId=pool_id, Username="kim", DesiredDeliveryMediums=["EMAIL"],
                              UserAttributes=[{"Name": "email", "Value": "kim@example.com"}],
                              ClientMetadata={"invited_by": "ops"})
    pre = command_events(tmp, "respond")[before]
    assert_envelope(pre, source="PreSignUp_AdminCreateUser", pool_id=pool_id, user_name="kim",
                    client_id="CLIENT_ID_NOT_APPLICABLE")
    assert pre["request"] == {"userAttributes": {"email": "kim@example.com"}, "clientMetadata": {"invited_by": "ops"}}
    custom = functions.received("custom")[-1]
    assert custom["triggerSource"] == "CustomMessage_AdminCreateUser"
    assert custom["request"]["usernameParameter"] == "{username}"
    message = read_messages(url, pool_id, "kim")[-1]
    assert (message["Subject"], message["Body"]) == ("Welcome aboard", f"Sign in as kim with {message['Code']}")


# ---- UserMigration ----

def test_user_migration_on_sign_in_through_a_webhook(env):
    functions, cognito, _, _ = env

    def migrate(event):
        if event["request"].get("password") != "Legacy-Passw0rd":
            return 400, {"errorMessage": "Bad password", "errorType": "Error"}
        return 200, {**event, "response": {"userAttributes": {"email": "old@example.com", "email_verified": "true"},
                                           "finalUserStatus": "CONFIRMED", "messageAction": "SUPPRESS"}}

    functions.answers["migrate"] = migrate
    pool_id, client_id = pool_with(cognito, {"UserMigration": arn("hook-migrate")})
    with pytest.raises(ClientError) as e:
        sign_in(cognito, client_id, "old", "Wrong-Passw0rd")
    assert (error_code(e.value), error_message(e.value)) == (
        "UserLambdaValidationException", "UserMigration failed with error Bad password.")
    tokens = sign_in(cognito, client_id, "old", "Legacy-Passw0rd")["AuthenticationResult"]
    event = functions.received("migrate")[-1]
    assert_envelope(event, source="UserMigration_Authentication", pool_id=pool_id, user_name="old",
                    client_id=client_id)
    assert event["request"] == {"password": "Legacy-Passw0rd", "validationData": {}}
    user = cognito.admin_get_user(UserPoolId=pool_id, Username="old")
    assert user["UserStatus"] == "CONFIRMED"
    assert {"Name": "email", "Value": "old@example.com"} in user["UserAttributes"]
    assert claims(tokens["IdToken"])["cognito:username"] == "old"
    calls = len(functions.received("migrate"))
    sign_in(cognito, client_id, "old", "Legacy-Passw0rd")
    assert len(functions.received("migrate")) == calls, "a migrated user is not migrated again"


def test_user_migration_on_forgot_password_through_a_command(env):
    _, cognito, url, tmp = env
    command_answers(tmp, {"userAttributes": {"email": "mig@example.com", "email_verified": "true"}})
    pool_id, client_id = pool_with(cognito, {"UserMigration": arn("cmd-respond")})
    out = cognito.forgot_password(ClientId=client_id, Username="mig", ClientMetadata={"app": "legacy"})
    assert out["CodeDeliveryDetails"]["Destination"] == "m***@e***"
    event = command_events(tmp, "respond")[-1]
    assert_envelope(event, source="UserMigration_ForgotPassword", pool_id=pool_id, user_name="mig",
                    client_id=client_id)
    assert event["request"] == {"validationData": {}, "clientMetadata": {"app": "legacy"}}
    assert cognito.admin_get_user(UserPoolId=pool_id, Username="mig")["UserStatus"] == "RESET_REQUIRED"
    cognito.confirm_forgot_password(ClientId=client_id, Username="mig", Password="N3w-Passw0rd!",
                                    ConfirmationCode=last_code(url, pool_id, "mig"))
    assert sign_in(cognito, client_id, "mig", "N3w-Passw0rd!")["AuthenticationResult"]


# ---- PreTokenGeneration ----

def test_pre_token_generation_v1_command_overrides_id_token_claims_and_groups(env):
    _, cognito, _, tmp = env
    command_answers(tmp, {"claimsOverrideDetails": {
        "claimsToAddOrOverride": {"tenant": "acme", "sub": "forged"},
        "claimsToSuppress": ["email"],
        "groupOverrideDetails": {"groupsToOverride": ["auditors"]}}})
    pool_id, client_id = pool_with(cognito, {"PreTokenGeneration": arn("cmd-respond")})
    confirmed_user(cognito, pool_id)
    cognito.create_group(UserPoolId=pool_id, GroupName="staff")
    cognito.admin_add_user_to_group(UserPoolId=pool_id, Username="tia", GroupName="staff")
    tokens = sign_in(cognito, client_id)["AuthenticationResult"]
    event = command_events(tmp, "respond")[-1]
    assert_envelope(event, source="TokenGeneration_Authentication", pool_id=pool_id, user_name="tia",
                    client_id=client_id)
    assert event["request"]["groupConfiguration"] == {"groupsToOverride": ["staff"], "iamRolesToOverride": [],
                                                      "preferredRole": None}
    assert event["request"]["userAttributes"]["email"] == "tia@example.com"
    assert set(event["request"]) == {"userAttributes", "groupConfiguration"}
    id_claims, access_claims = claims(tokens["IdToken"]), claims(tokens["AccessToken"])
    assert id_claims["tenant"] == "acme" and "email" not in id_claims
    assert id_claims["sub"] != "forged", "sub cannot be overridden"
    assert id_claims["cognito:groups"] == access_claims["cognito:groups"] == ["auditors"]
    assert "tenant" not in access_claims, "version 1 changes the ID token only"
    refreshed = cognito.initiate_auth(ClientId=client_id, AuthFlow="REFRESH_TOKEN_AUTH",
                                      AuthParameters={"REFRESH_TOKEN": tokens["RefreshToken"]})
    assert command_events(tmp, "respond")[-1]["triggerSource"] == "TokenGeneration_RefreshTokens"
    assert claims(refreshed["AuthenticationResult"]["IdToken"])["tenant"] == "acme"


def test_pre_token_generation_v2_webhook_changes_the_access_token(env):
    functions, cognito, _, _ = env
    functions.answers["pretoken2"] = lambda e: (200, {**e, "response": {"claimsAndScopeOverrideDetails": {
        "idTokenGeneration": {"claimsToAddOrOverride": {"plan": "gold"}},
        "accessTokenGeneration": {"claimsToAddOrOverride": {"roles": ["reader", "writer"]},
                                  "scopesToAdd": ["orders/read"], "scopesToSuppress": []}}}})
    pool_id, client_id = pool_with(cognito, {"PreTokenGenerationConfig": {
        "LambdaVersion": "V2_0", "LambdaArn": arn("hook-pretoken2")}})
    confirmed_user(cognito, pool_id)
    tokens = sign_in(cognito, client_id)["AuthenticationResult"]
    event = functions.received("pretoken2")[-1]
    assert event["version"] == "2"
    assert_envelope({**event, "version": "1"}, source="TokenGeneration_Authentication", pool_id=pool_id,
                    user_name="tia", client_id=client_id)
    assert event["request"]["scopes"] == ["aws.cognito.signin.user.admin"]
    assert set(event["request"]) == {"userAttributes", "groupConfiguration", "scopes"}
    access = claims(tokens["AccessToken"])
    assert access["roles"] == ["reader", "writer"]
    assert access["scope"].split() == ["aws.cognito.signin.user.admin", "orders/read"]
    assert claims(tokens["IdToken"])["plan"] == "gold"
    assert cognito.get_user(AccessToken=tokens["AccessToken"])["Username"] == "tia"


# ---- Failure mapping ----

@pytest.mark.parametrize("function, code, message", [
    ("unmapped", "UnexpectedLambdaException", "PreSignUp invocation failed due to configuration."),
    ("cmd-garbage", "InvalidLambdaResponseException", "Invalid lambda function output : Invalid JSON"),
    ("cmd-no-response", "InvalidLambdaResponseException", "Unrecognizable lambda output"),
])
def test_failure_mapping(env, function, code, message):
    _, cognito, _, _ = env
    pool_id, client_id = pool_with(cognito, {"PreSignUp": arn(function)})
    with pytest.raises(ClientError) as e:
        cognito.sign_up(ClientId=client_id, Username="ann", Password="Passw0rd!")
    assert (error_code(e.value), error_message(e.value)) == (code, message)


def test_a_function_that_cannot_be_reached_is_tried_three_times(env):
    _, cognito, _, tmp = env
    pool_id, client_id = pool_with(cognito, {"PreSignUp": arn("hook-down")})
    with pytest.raises(ClientError) as e:
        cognito.sign_up(ClientId=client_id, Username="bea", Password="Passw0rd!")
    assert error_code(e.value) == "UnexpectedLambdaException"
    assert error_message(e.value).startswith("PreSignUp invocation failed due to error ")


def test_a_function_that_answers_too_late_times_out_after_three_attempts(env):
    _, cognito, _, tmp = env
    before = len(command_events(tmp, "slow"))
    pool_id, client_id = pool_with(cognito, {"PreSignUp": arn("cmd-slow")})
    with pytest.raises(ClientError) as e:
        cognito.sign_up(ClientId=client_id, Username="cal", Password="Passw0rd!")
    assert (error_code(e.value), error_message(e.value)) == (
        "UnexpectedLambdaException",
        "PreSignUp invocation failed due to error Socket timeout while invoking Lambda function.")
    assert len(command_events(tmp, "slow")) - before == 3


def test_trigger_calls_and_requests_are_in_the_metrics(env):
    _, cognito, url, _ = env
    pool_id, client_id = pool_with(cognito, {"PreSignUp": arn("cmd-fail")})
    with pytest.raises(ClientError):
        cognito.sign_up(ClientId=client_id, Username="met", Password="Passw0rd!")
    text = urllib.request.urlopen(f"{url}/metrics", timeout=5).read().decode()
    count = 'userpool_trigger_calls_seconds_count{trigger="PreSignUp",outcome="UserLambdaValidationException"} '
    assert any(line.startswith(count) and float(line.split()[-1]) >= 2 for line in text.splitlines()), text
    signups = 'userpool_requests_seconds_count{operation="SignUp",error="UserLambdaValidationException"} '
    assert any(line.startswith(signups) for line in text.splitlines())


def test_an_https_webhook_with_a_configured_ca(tmp_path):
    import ssl

    from test_mail import make_certificates

    ca, cert, key = make_certificates(tmp_path)
    functions = Functions()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(functions))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    config = tmp_path / "userpool.toml"
    config.write_text(f'tls_ca_file = "{ca}"\n\n[functions."{arn("secure")}"]\n'
                      f'webhook = "https://127.0.0.1:{httpd.server_address[1]}/fn/secure"\n')
    server = FlagServer(tmp_path / "data", tmp_path, ["--config", str(config)]).start()
    try:
        cognito = make_client(server.url)
        functions.answers["secure"] = lambda e: (200, {**e, "response": {"autoConfirmUser": True}})
        pool_id, client_id = pool_with(cognito, {"PreSignUp": arn("secure")})
        out = cognito.sign_up(ClientId=client_id, Username="sec", Password="Passw0rd!")
        assert out["UserConfirmed"] is True
        assert functions.received("secure")[-1]["triggerSource"] == "PreSignUp_SignUp"
    finally:
        server.stop()
        httpd.shutdown()


def test_user_migration_attempts_meet_the_sign_in_budget(env):
    functions, cognito, _, _ = env
    functions.answers["migrate"] = lambda e: (400, {"errorMessage": "Bad password", "errorType": "Error"})
    pool_id, client_id = pool_with(cognito, {"UserMigration": arn("hook-migrate")})
    before = len(functions.received("migrate"))
    for _ in range(5):
        with pytest.raises(ClientError) as e:
            sign_in(cognito, client_id, "guess", "Guess-Passw0rd")
        assert error_code(e.value) == "UserLambdaValidationException"
    with pytest.raises(ClientError) as e:
        sign_in(cognito, client_id, "guess", "Guess-Passw0rd")
    assert (error_code(e.value), error_message(e.value)) == ("NotAuthorizedException", "Password attempts exceeded")
    assert len(functions.received("migrate")) - before == 5, "the function is not asked past the budget"


def test_a_custom_message_without_the_code_is_not_used(env):
    functions, cognito, url, _ = env
    functions.answers["custom"] = lambda e: (200, {**e, "response": {"emailMessage": "No code here"}})
    pool_id, client_id = pool_with(cognito, {"CustomMessage": arn("hook-custom")})
    confirmed_user(cognito, pool_id)
    cognito.forgot_password(ClientId=client_id, Username="tia")
    message = read_messages(url, pool_id, "tia")[-1]
    assert message["Code"] in message["Body"] and message["Body"] != "No code here"


def test_concurrent_sign_ins_of_one_unmigrated_user_all_succeed(env):
    import concurrent.futures

    functions, cognito, _, _ = env

    def slow_migrate(event):
        time.sleep(0.3)  # every request reaches the function before any creates the user
        return 200, {**event, "response": {"userAttributes": {"email": "race@example.com", "email_verified": "true"},
                                           "finalUserStatus": "CONFIRMED"}}

    functions.answers["migrate"] = slow_migrate
    pool_id, client_id = pool_with(cognito, {"UserMigration": arn("hook-migrate")})
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: sign_in(cognito, client_id, "race", "Legacy-Passw0rd"), range(4)))
    assert all(r["AuthenticationResult"]["AccessToken"] for r in results)
    users = cognito.list_users(UserPoolId=pool_id, Filter='username = "race"')["Users"]
    assert len(users) == 1
