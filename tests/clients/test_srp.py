"""USER_SRP_AUTH with pycognito, the Python SRP client (docs/sign-in-and-tokens.md). It computes
SRP as Amplify does, then verifies the ID token through the pool's JWKS at the endpoint URL."""

import pytest
from botocore.exceptions import ClientError
from pycognito import Cognito

from conftest import error_code, error_message

PASSWORD = "Passw0rd!"


def signed_in(server, pool_id, client_id, username, password, client_secret=None):
    user = Cognito(
        pool_id,
        client_id,
        username=username,
        client_secret=client_secret,
        boto3_client_kwargs={
            "endpoint_url": server.url,
            "region_name": "us-east-1",
            "aws_access_key_id": "test",
            "aws_secret_access_key": "test",
        },
    )
    user.authenticate(password=password)
    return user


@pytest.fixture
def srp_user(cognito, make_pool, make_app_client):
    pool_id = make_pool()["Id"]
    client = make_app_client(pool_id)
    cognito.admin_create_user(
        UserPoolId=pool_id, Username="sam", MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "email", "Value": "sam@example.com"}, {"Name": "email_verified", "Value": "true"}],
    )
    cognito.admin_set_user_password(UserPoolId=pool_id, Username="sam", Password=PASSWORD, Permanent=True)
    return pool_id, client["ClientId"]


def test_pycognito_signs_in_with_srp_and_verifies_the_tokens(server, srp_user):
    pool_id, client_id = srp_user
    user = signed_in(server, pool_id, client_id, "sam", PASSWORD)
    assert user.id_claims["cognito:username"] == "sam"
    assert user.id_claims["iss"] == f"{server.url}/{pool_id}"
    assert user.access_claims["token_use"] == "access"


def test_pycognito_refreshes_and_reads_the_user(server, srp_user):
    pool_id, client_id = srp_user
    user = signed_in(server, pool_id, client_id, "sam", PASSWORD)
    old_access = user.access_token
    user.renew_access_token()
    assert user.access_token != old_access
    assert user.access_claims["username"] == "sam"
    me = user.get_user()
    assert me.username == "sam" and me.email == "sam@example.com"


def test_a_wrong_password_fails_the_srp_proof(server, srp_user):
    pool_id, client_id = srp_user
    with pytest.raises(ClientError) as e:
        signed_in(server, pool_id, client_id, "sam", "Wrong-Passw0rd!")
    assert (error_code(e.value), error_message(e.value)) == ("NotAuthorizedException", "Incorrect username or password.")


def test_srp_after_a_password_reset(server, cognito, srp_user, last_code):
    pool_id, client_id = srp_user
    cognito.forgot_password(ClientId=client_id, Username="sam")
    code = last_code(pool_id, "sam")
    cognito.confirm_forgot_password(ClientId=client_id, Username="sam", ConfirmationCode=code, Password="N3w-Passw0rd!")
    with pytest.raises(ClientError) as e:
        signed_in(server, pool_id, client_id, "sam", PASSWORD)
    assert error_code(e.value) == "NotAuthorizedException"
    assert signed_in(server, pool_id, client_id, "sam", "N3w-Passw0rd!").id_token


def test_srp_with_a_client_secret(server, cognito, srp_user, make_app_client):
    pool_id, _ = srp_user
    client = make_app_client(pool_id, GenerateSecret=True)
    user = signed_in(server, pool_id, client["ClientId"], "sam", PASSWORD, client_secret=client["ClientSecret"])
    assert user.access_token


def test_a_replayed_secret_block_is_refused(server, cognito, srp_user):
    """The same PASSWORD_VERIFIER answer, sent twice: the second is refused."""
    from pycognito.aws_srp import AWSSRP

    pool_id, client_id = srp_user
    srp = AWSSRP(username="sam", password=PASSWORD, pool_id=pool_id, client_id=client_id, client=cognito)
    challenge = cognito.initiate_auth(AuthFlow="USER_SRP_AUTH", AuthParameters=srp.get_auth_params(), ClientId=client_id)
    assert challenge["ChallengeName"] == "PASSWORD_VERIFIER"
    responses = srp.process_challenge(challenge["ChallengeParameters"], srp.get_auth_params())
    first = cognito.respond_to_auth_challenge(ClientId=client_id, ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=responses)
    assert first["AuthenticationResult"]["IdToken"]
    with pytest.raises(ClientError) as e:
        cognito.respond_to_auth_challenge(ClientId=client_id, ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=responses)
    assert error_code(e.value) == "NotAuthorizedException"


def test_a_malformed_timestamp_is_an_invalid_parameter(server, cognito, srp_user):
    from pycognito.aws_srp import AWSSRP

    pool_id, client_id = srp_user
    srp = AWSSRP(username="sam", password=PASSWORD, pool_id=pool_id, client_id=client_id, client=cognito)
    challenge = cognito.initiate_auth(AuthFlow="USER_SRP_AUTH", AuthParameters=srp.get_auth_params(), ClientId=client_id)
    responses = srp.process_challenge(challenge["ChallengeParameters"], srp.get_auth_params())
    responses["TIMESTAMP"] = "2026-11-22T06:00:00Z"
    with pytest.raises(ClientError) as e:
        cognito.respond_to_auth_challenge(ClientId=client_id, ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=responses)
    assert (error_code(e.value), error_message(e.value)) == (
        "InvalidParameterException", "TIMESTAMP format should be EEE MMM d HH:mm:ss z yyyy in english.")


def test_unknown_users_get_a_stable_fake_challenge_when_hidden(server, cognito, srp_user, make_app_client):
    pool_id, _ = srp_user
    hidden = make_app_client(pool_id, PreventUserExistenceErrors="ENABLED")["ClientId"]
    a = "ab" * 384
    first = cognito.initiate_auth(AuthFlow="USER_SRP_AUTH", ClientId=hidden, AuthParameters={"USERNAME": "ghost", "SRP_A": a})
    second = cognito.initiate_auth(AuthFlow="USER_SRP_AUTH", ClientId=hidden, AuthParameters={"USERNAME": "ghost", "SRP_A": a})
    p1, p2 = first["ChallengeParameters"], second["ChallengeParameters"]
    assert p1["SALT"] == p2["SALT"] and p1["USER_ID_FOR_SRP"] == p2["USER_ID_FOR_SRP"]
    with pytest.raises(ClientError) as e:
        signed_in(server, pool_id, hidden, "ghost", PASSWORD)
    assert (error_code(e.value), error_message(e.value)) == ("NotAuthorizedException", "Incorrect username or password.")


def test_pyjwt_verifies_both_token_kinds_through_the_jwks_url(server, srp_user):
    import base64
    import json

    import jwt

    pool_id, client_id = srp_user
    user = signed_in(server, pool_id, client_id, "sam", PASSWORD)
    issuer = f"{server.url}/{pool_id}"
    keys = jwt.PyJWKClient(f"{issuer}/.well-known/jwks.json")
    id_key = keys.get_signing_key_from_jwt(user.id_token)
    access_key = keys.get_signing_key_from_jwt(user.access_token)
    assert id_key.key_id != access_key.key_id
    claims = jwt.decode(user.id_token, id_key.key, algorithms=["RS256"], audience=client_id, issuer=issuer)
    assert (claims["token_use"], claims["email_verified"]) == ("id", True)
    access = jwt.decode(user.access_token, access_key.key, algorithms=["RS256"], issuer=issuer,
                        options={"verify_aud": False})
    assert (access["token_use"], access["client_id"], access["username"]) == ("access", client_id, "sam")
    # A changed payload no longer verifies.
    header, payload, signature = user.access_token.split(".")
    forged = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged["username"] = "someone-else"
    forged_payload = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(f"{header}.{forged_payload}.{signature}", access_key.key, algorithms=["RS256"],
                   options={"verify_aud": False})
