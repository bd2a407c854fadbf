"""What an app client may read and write (issue 12, item 2): WriteAttributes applies to SignUp as
to UpdateUserAttributes, developer-only attributes are for the admin operations, ReadAttributes
limits GetUser and the ID token, and a token whose client was deleted is refused."""

import base64
import json

import pytest
from botocore.exceptions import ClientError

from conftest import GOOD_PASSWORD, attrs, error_code, error_message

FLOWS = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
UNAUTHORIZED = "A client attempted to write unauthorized attribute"


def claims(jwt: str) -> dict:
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


@pytest.fixture
def pool_with_secret_attribute(make_pool):
    """A pool with a custom attribute and a developer-only one (`dev:custom:tier`)."""
    return make_pool(Schema=[
        {"Name": "team", "AttributeDataType": "String", "Mutable": True},
        {"Name": "tier", "AttributeDataType": "String", "Mutable": True, "DeveloperOnlyAttribute": True},
    ])["Id"]


def sign_in(cognito, client_id, username="ida"):
    out = cognito.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                                AuthParameters={"USERNAME": username, "PASSWORD": GOOD_PASSWORD})
    return out["AuthenticationResult"]


def make_user(cognito, pool_id, username="ida"):
    cognito.admin_create_user(UserPoolId=pool_id, Username=username, MessageAction="SUPPRESS", UserAttributes=[
        {"Name": "email", "Value": f"{username}@example.com"}, {"Name": "name", "Value": "Ida"},
        {"Name": "custom:team", "Value": "blue"}, {"Name": "dev:custom:tier", "Value": "gold"}])
    cognito.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=GOOD_PASSWORD, Permanent=True)


def test_sign_up_honours_write_attributes(cognito, pool_with_secret_attribute, make_app_client):
    client_id = make_app_client(pool_with_secret_attribute, WriteAttributes=["email"])["ClientId"]
    with pytest.raises(ClientError) as e:
        cognito.sign_up(ClientId=client_id, Username="sam", Password=GOOD_PASSWORD,
                        UserAttributes=[{"Name": "email", "Value": "sam@example.com"}, {"Name": "name", "Value": "Sam"}])
    assert (error_code(e.value), error_message(e.value)) == ("NotAuthorizedException", UNAUTHORIZED)
    cognito.sign_up(ClientId=client_id, Username="sam", Password=GOOD_PASSWORD,
                    UserAttributes=[{"Name": "email", "Value": "sam@example.com"}])


def test_developer_only_attributes_are_for_admins(cognito, pool_with_secret_attribute, make_app_client):
    pool_id = pool_with_secret_attribute
    client_id = make_app_client(pool_id, ExplicitAuthFlows=FLOWS)["ClientId"]
    with pytest.raises(ClientError) as e:
        cognito.sign_up(ClientId=client_id, Username="dev", Password=GOOD_PASSWORD,
                        UserAttributes=[{"Name": "dev:custom:tier", "Value": "gold"}])
    assert (error_code(e.value), error_message(e.value)) == ("NotAuthorizedException", UNAUTHORIZED)
    make_user(cognito, pool_id)
    token = sign_in(cognito, client_id)["AccessToken"]
    with pytest.raises(ClientError) as e:
        cognito.update_user_attributes(AccessToken=token, UserAttributes=[{"Name": "dev:custom:tier", "Value": "platinum"}])
    assert (error_code(e.value), error_message(e.value)) == ("NotAuthorizedException", UNAUTHORIZED)
    with pytest.raises(ClientError) as e:
        cognito.delete_user_attributes(AccessToken=token, UserAttributeNames=["dev:custom:tier"])
    assert error_code(e.value) == "NotAuthorizedException"
    cognito.admin_update_user_attributes(UserPoolId=pool_id, Username="ida",
                                         UserAttributes=[{"Name": "dev:custom:tier", "Value": "platinum"}])
    user = cognito.admin_get_user(UserPoolId=pool_id, Username="ida")
    assert attrs(user["UserAttributes"])["dev:custom:tier"] == "platinum"


def test_read_attributes_limit_get_user_and_the_id_token(cognito, pool_with_secret_attribute, make_app_client):
    pool_id = pool_with_secret_attribute
    client_id = make_app_client(pool_id, ExplicitAuthFlows=FLOWS, ReadAttributes=["email", "custom:team"])["ClientId"]
    make_user(cognito, pool_id)
    tokens = sign_in(cognito, client_id)
    seen = attrs(cognito.get_user(AccessToken=tokens["AccessToken"])["UserAttributes"])
    assert set(seen) == {"sub", "email", "custom:team"}, seen
    id_claims = claims(tokens["IdToken"])
    assert id_claims["email"] == "ida@example.com" and id_claims["custom:team"] == "blue"
    assert "name" not in id_claims and "dev:custom:tier" not in id_claims, id_claims
    # Without ReadAttributes, a client reads everything.
    open_client = make_app_client(pool_id, ExplicitAuthFlows=FLOWS)["ClientId"]
    assert "name" in claims(sign_in(cognito, open_client)["IdToken"])


def test_a_token_of_a_deleted_client_is_refused(cognito, pool_with_secret_attribute, make_app_client):
    pool_id = pool_with_secret_attribute
    client_id = make_app_client(pool_id, ExplicitAuthFlows=FLOWS, WriteAttributes=["email"])["ClientId"]
    make_user(cognito, pool_id)
    token = sign_in(cognito, client_id)["AccessToken"]
    cognito.delete_user_pool_client(UserPoolId=pool_id, ClientId=client_id)
    for call in (lambda: cognito.get_user(AccessToken=token),
                 lambda: cognito.update_user_attributes(AccessToken=token, UserAttributes=[{"Name": "name", "Value": "X"}])):
        with pytest.raises(ClientError) as e:
            call()
        assert (error_code(e.value), error_message(e.value)) == ("NotAuthorizedException", "Invalid Access Token")


def test_the_new_password_challenge_shows_only_readable_attributes(cognito, pool_with_secret_attribute, make_app_client):
    pool_id = pool_with_secret_attribute
    client_id = make_app_client(pool_id, ExplicitAuthFlows=FLOWS, ReadAttributes=["email"])["ClientId"]
    cognito.admin_create_user(UserPoolId=pool_id, Username="tia", TemporaryPassword=GOOD_PASSWORD, MessageAction="SUPPRESS",
                              UserAttributes=[{"Name": "email", "Value": "tia@example.com"}, {"Name": "name", "Value": "Tia"},
                                              {"Name": "dev:custom:tier", "Value": "gold"}])
    out = cognito.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                                AuthParameters={"USERNAME": "tia", "PASSWORD": GOOD_PASSWORD})
    assert out["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    shown = json.loads(out["ChallengeParameters"]["userAttributes"])
    assert set(shown) == {"email"}, shown
