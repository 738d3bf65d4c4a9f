"""Fixture for the streaming tests: a fresh AWS account on the runtime's moto server per test."""
from __future__ import annotations

import boto3
import pytest

from app.runtime.clients import MOTO_KEY, Clients
from app.runtime.session import new_account_id


@pytest.fixture
def acct(moto_endpoint) -> Clients:
    """The runtime's client factory bound to a new account (``sts:AssumeRole`` into it)."""
    account_id = new_account_id()
    sts = boto3.client("sts", endpoint_url=moto_endpoint, region_name="us-east-1",
                       aws_access_key_id=MOTO_KEY, aws_secret_access_key=MOTO_KEY)
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/streaming-tests",
                            RoleSessionName="tests")["Credentials"]
    return Clients(account_id=account_id, region="us-east-1", access_key=creds["AccessKeyId"],
                   secret_key=creds["SecretAccessKey"], session_token=creds["SessionToken"],
                   endpoint_url=moto_endpoint)
