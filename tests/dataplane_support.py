"""Helpers shared by the data-plane tests: a Cognito user pool with signed-in users."""
from __future__ import annotations

PASSWORD = "Passw0rd!long"


def user_pool(idp, name: str, users: tuple[str, ...]) -> tuple[dict, str, dict[str, dict]]:
    """A user pool with one app client and ``users`` signed up, confirmed and signed in.

    Returns the pool, the app client id and each user's ``AuthenticationResult``
    (``IdToken``, ``AccessToken``...), all issued by moto's Cognito.
    """
    pool = idp.create_user_pool(PoolName=name)["UserPool"]
    client_id = idp.create_user_pool_client(UserPoolId=pool["Id"], ClientName="app",
                                            ExplicitAuthFlows=["USER_PASSWORD_AUTH"])["UserPoolClient"]["ClientId"]
    tokens = {}
    for user in users:
        idp.sign_up(ClientId=client_id, Username=user, Password=PASSWORD,
                    UserAttributes=[{"Name": "email", "Value": f"{user}@example.com"}])
        idp.admin_confirm_sign_up(UserPoolId=pool["Id"], Username=user)
        tokens[user] = idp.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                                         AuthParameters={"USERNAME": user, "PASSWORD": PASSWORD}
                                         )["AuthenticationResult"]
    return pool, client_id, tokens
