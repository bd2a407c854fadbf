"""Text messages through an SMS sink (docs/mail.md): a webhook, and Amazon SNS's Publish API at
a local endpoint that checks the SigV4 signature with botocore's own signer."""

import json
import re
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import REGION, make_client, read_messages
from test_recovery import FlagServer

KEY, SECRET = "AKIDSMS", "sms-secret"
CODE = re.compile(r"\b(\d{6})\b")


class Sink(BaseHTTPRequestHandler):
    received: list = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/webhook":
            Sink.received.append({"kind": "webhook", **json.loads(body)})
            self.answer(200, b"{}", "application/json")
            return
        auth = self.headers.get("Authorization", "")
        signed = auth.split("SignedHeaders=")[1].split(",")[0].split(";")
        request = AWSRequest(method="POST", url=f"http://{self.headers['Host']}{self.path}", data=body,
                             headers={h: self.headers[h] for h in signed})
        request.context["timestamp"] = self.headers["X-Amz-Date"]
        signer = SigV4Auth(Credentials(KEY, SECRET), "sns", REGION)
        expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
        form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode()).items()}
        Sink.received.append({"kind": "sns", "valid": auth.endswith(f"Signature={expected}"), **form})
        self.answer(200, b"<PublishResponse><PublishResult><MessageId>m-1</MessageId></PublishResult>"
                         b"</PublishResponse>", "text/xml")

    def answer(self, status, data, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def sink():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.mark.parametrize("mode", ["webhook", "sns"])
def test_the_reset_code_goes_by_sms(tmp_path, sink, mode):
    sms = (f'webhook = "{sink}/webhook"' if mode == "webhook" else
           f'sns_endpoint = "{sink}"\nregion = "{REGION}"\naccess_key_id = "{KEY}"\nsecret_access_key = "{SECRET}"')
    config = tmp_path / "userpool.toml"
    config.write_text(f"[sms]\n{sms}\n")
    server = FlagServer(tmp_path / "data", tmp_path, ["--config", str(config)]).start()
    try:
        cognito = make_client(server.url)
        pool_id = cognito.create_user_pool(PoolName="sms", AccountRecoverySetting={"RecoveryMechanisms": [
            {"Name": "verified_phone_number", "Priority": 1}]})["UserPool"]["Id"]
        client_id = cognito.create_user_pool_client(UserPoolId=pool_id, ClientName="app")["UserPoolClient"]["ClientId"]
        cognito.admin_create_user(UserPoolId=pool_id, Username="sal", MessageAction="SUPPRESS",
                                  UserAttributes=[{"Name": "phone_number", "Value": "+15555550123"},
                                                  {"Name": "phone_number_verified", "Value": "true"}])
        cognito.admin_set_user_password(UserPoolId=pool_id, Username="sal", Password="Passw0rd!", Permanent=True)
        before = len(Sink.received)
        out = cognito.forgot_password(ClientId=client_id, Username="sal")
        assert out["CodeDeliveryDetails"]["DeliveryMedium"] == "SMS"
        deadline = time.time() + 10
        while len(Sink.received) == before and time.time() < deadline:
            time.sleep(0.05)
        got = Sink.received[before]
        assert got["kind"] == mode and got["PhoneNumber"] == "+15555550123"
        if mode == "sns":
            assert got["valid"], "botocore's signer computes the same signature"
            assert (got["Action"], got["Version"]) == ("Publish", "2010-03-31")
        code = CODE.search(got["Message"]).group(1)
        cognito.confirm_forgot_password(ClientId=client_id, Username="sal", ConfirmationCode=code,
                                        Password="N3w-Passw0rd!")
        assert read_messages(server.url, pool_id, "sal")[-1]["Code"] is None, "a sent code is not kept"
    finally:
        server.stop()
