"""Email through a real SMTP server (aiosmtpd, docs/mail.md): codes are read out of the received
mail, the pool's sender settings are honoured, and a mail server that is down loses nothing and
receives each message once when it is back."""

import email
import re
import socket
import time
import urllib.request
from email import policy

import pytest
from aiosmtpd.controller import Controller

from conftest import make_client, read_messages
from test_recovery import FlagServer

CODE = re.compile(r"\b(\d{6})\b")


class Inbox:
    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list:
        return [m for m in self.messages if m["To"] == address]

    def wait_for(self, count: int, timeout: float = 20.0) -> None:
        deadline = time.time() + timeout
        while len(self.messages) < count and time.time() < deadline:
            time.sleep(0.05)
        assert len(self.messages) >= count, f"{len(self.messages)} of {count} messages arrived"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def mail(tmp_path_factory):
    """(inbox, smtp controller factory, boto3 client, server url)."""
    tmp = tmp_path_factory.mktemp("mail")
    port = free_port()
    inbox = Inbox()
    controllers = []

    def start_smtp():
        c = Controller(inbox, hostname="127.0.0.1", port=port)
        c.start()
        controllers.append(c)
        return c

    start_smtp()
    config = tmp / "userpool.toml"
    config.write_text(f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nretry_max_seconds = 1\n')
    server = FlagServer(tmp / "data", tmp, ["--config", str(config)]).start()
    yield inbox, start_smtp, controllers, make_client(server.url), server.url
    server.stop()
    for c in controllers:
        try:
            c.stop()
        except Exception:
            pass


def metric(url: str, name: str) -> float:
    text = urllib.request.urlopen(f"{url}/metrics", timeout=5).read().decode()
    return float(next(line.split()[-1] for line in text.splitlines() if line.startswith(name + " ")))


def pool_with_users(cognito, names, **pool_kwargs):
    pool_id = cognito.create_user_pool(PoolName="mail", **pool_kwargs)["UserPool"]["Id"]
    client_id = cognito.create_user_pool_client(UserPoolId=pool_id, ClientName="app")["UserPoolClient"]["ClientId"]
    for name in names:
        cognito.admin_create_user(UserPoolId=pool_id, Username=name, MessageAction="SUPPRESS",
                                  UserAttributes=[{"Name": "email", "Value": f"{name}@example.com"},
                                                  {"Name": "email_verified", "Value": "true"}])
        cognito.admin_set_user_password(UserPoolId=pool_id, Username=name, Password="Passw0rd!", Permanent=True)
    return pool_id, client_id


def test_the_reset_code_arrives_by_mail_and_resets_the_password(mail):
    inbox, _, _, cognito, url = mail
    pool_id, client_id = pool_with_users(cognito, ["mia"], EmailConfiguration={
        "EmailSendingAccount": "DEVELOPER", "From": "Shop <shop@example.com>",
        "SourceArn": "arn:aws:ses:us-east-1:123456789012:identity/shop@example.com",
        "ReplyToEmailAddress": "help@example.com"})
    before = len(inbox.messages)
    cognito.forgot_password(ClientId=client_id, Username="mia")
    inbox.wait_for(before + 1)
    received = inbox.to("mia@example.com")[-1]
    assert received["From"] == "Shop <shop@example.com>" and received["Reply-To"] == "help@example.com"
    assert inbox.envelopes[-1] == ("shop@example.com", ["mia@example.com"])
    code = CODE.search(received.get_content()).group(1)
    cognito.confirm_forgot_password(ClientId=client_id, Username="mia", ConfirmationCode=code,
                                    Password="N3w-Passw0rd!")
    stored = read_messages(url, pool_id, "mia")[-1]
    assert stored["Code"] is None and code not in stored["Body"], "a sent message's code is not kept"


def test_cognito_default_sender(mail):
    inbox, _, _, cognito, _ = mail
    pool_id, client_id = pool_with_users(cognito, ["noa"])
    before = len(inbox.messages)
    cognito.forgot_password(ClientId=client_id, Username="noa")
    inbox.wait_for(before + 1)
    assert inbox.to("noa@example.com")[-1]["From"] == "no-reply@verificationemail.com"


def test_a_mail_server_that_is_down_loses_nothing_and_gets_each_message_once(mail):
    inbox, start_smtp, controllers, cognito, url = mail
    names = [f"user{i}" for i in range(6)]
    pool_id, client_id = pool_with_users(cognito, names)
    controllers[-1].stop()
    before = len(inbox.messages)
    for name in names:
        cognito.forgot_password(ClientId=client_id, Username=name)
    time.sleep(2.5)  # several failed attempts while the server is down
    assert len(inbox.messages) == before
    waiting = metric(url, "userpool_outbox_messages")
    assert waiting == len(names) and metric(url, "userpool_outbox_oldest_age_seconds") >= 2
    start_smtp()
    inbox.wait_for(before + len(names))
    time.sleep(3)  # and nothing arrives twice once the retries have run
    arrived = inbox.messages[before:]
    assert sorted(m["To"] for m in arrived) == sorted(f"{n}@example.com" for n in names)
    codes = [CODE.search(m.get_content()).group(1) for m in arrived]
    for name in names:
        got = [m for m in arrived if m["To"] == f"{name}@example.com"]
        assert len(got) == 1
        cognito.confirm_forgot_password(ClientId=client_id, Username=name, Password="N3w-Passw0rd!",
                                        ConfirmationCode=CODE.search(got[0].get_content()).group(1))
    assert len(set(codes)) == len(codes)
    assert metric(url, "userpool_outbox_messages") == 0


def make_certificates(directory):
    """A test CA and a certificate for 127.0.0.1 signed by it: (ca.pem, cert.pem, key.pem)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "userpool test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
          .not_valid_after(now + datetime.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "smtp")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = [directory / n for n in ("ca.pem", "cert.pem", "key.pem")]
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


def server_context(cert, key):
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def userpool_with(tmp_path, config_text: str) -> FlagServer:
    config = tmp_path / "userpool.toml"
    config.write_text(config_text)
    return FlagServer(tmp_path / "data", tmp_path, ["--config", str(config)]).start()


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_mail_over_starttls_and_implicit_tls(tmp_path, security):
    ca, cert, key = make_certificates(tmp_path)
    context = server_context(cert, key)
    inbox, port = Inbox(), free_port()
    if security == "starttls":
        controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True)
    else:
        controller = Controller(inbox, hostname="127.0.0.1", port=port, ssl_context=context)
    controller.start()
    server = userpool_with(tmp_path, f'tls_ca_file = "{ca}"\n\n[smtp]\nhost = "127.0.0.1"\nport = {port}\n'
                                     f'security = "{security}"\nretry_max_seconds = 1\n')
    try:
        cognito = make_client(server.url)
        pool_id, client_id = pool_with_users(cognito, ["tls"])
        cognito.forgot_password(ClientId=client_id, Username="tls")
        inbox.wait_for(1)
        assert CODE.search(inbox.messages[0].get_content())
    finally:
        server.stop()
        controller.stop()


def test_a_mail_server_with_an_untrusted_certificate_gets_nothing(tmp_path):
    _, cert, key = make_certificates(tmp_path)
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, ssl_context=server_context(cert, key))
    controller.start()
    # No tls_ca_file: the system's roots do not include the test CA.
    server = userpool_with(tmp_path, f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "tls"\nretry_max_seconds = 1\n')
    try:
        cognito = make_client(server.url)
        pool_id, client_id = pool_with_users(cognito, ["nocert"])
        cognito.forgot_password(ClientId=client_id, Username="nocert")
        time.sleep(2)
        assert inbox.messages == []
        assert metric(server.url, "userpool_outbox_messages") == 1, "the message waits; it is not lost"
    finally:
        server.stop()
        controller.stop()


def test_smtp_auth_to_a_local_relay(tmp_path):
    from aiosmtpd.smtp import AuthResult

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = mechanism == "PLAIN" and (auth_data.login, auth_data.password) == (b"relay", b"relay-secret")
        return AuthResult(success=ok)

    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=authenticator,
                            auth_required=True, auth_require_tls=False)
    controller.start()
    server = userpool_with(tmp_path, f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nusername = "relay"\n'
                                     f'password = "relay-secret"\nretry_max_seconds = 1\n')
    try:
        cognito = make_client(server.url)
        pool_id, client_id = pool_with_users(cognito, ["auth"])
        cognito.forgot_password(ClientId=client_id, Username="auth")
        inbox.wait_for(1)
        assert inbox.messages[0]["To"] == "auth@example.com"
        assert "relay-secret" not in server.stderr_text(100_000), "the password is not logged"
    finally:
        server.stop()
        controller.stop()


def test_smtp_auth_in_clear_text_over_the_network_is_refused(tmp_path):
    config = tmp_path / "userpool.toml"
    config.write_text('[smtp]\nhost = "mail.example.com"\nusername = "u"\npassword = "p"\n')
    import subprocess

    from conftest import userpool_bin
    result = subprocess.run([str(userpool_bin()), "serve", "--bind", "127.0.0.1:0", "--data-dir", str(tmp_path / "d"),
                             "--config", str(config)], capture_output=True, text=True, timeout=30)
    assert result.returncode != 0 and "clear text" in result.stderr
