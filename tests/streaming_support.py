"""Fixtures for the streaming tests: a moto server and per-test AWS accounts on it."""
from __future__ import annotations

import itertools
import os

import boto3
import pytest

_accounts = itertools.count(int.from_bytes(os.urandom(3), "big") * 1000 + 100000000000)


@pytest.fixture(scope="session")
def moto_endpoint():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


class AccountClients:
    """boto3 clients bound to one fresh moto account (assume_role into it)."""

    def __init__(self, endpoint: str, region: str = "us-east-1") -> None:
        self.endpoint, self.region = endpoint, region
        self.account_id = str(next(_accounts))
        sts = boto3.client("sts", endpoint_url=endpoint, region_name=region,
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        creds = sts.assume_role(RoleArn=f"arn:aws:iam::{self.account_id}:role/streaming-tests",
                                RoleSessionName="tests")["Credentials"]
        self._creds = dict(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                           aws_session_token=creds["SessionToken"])
        self._cache: dict = {}

    def client(self, service: str, region: str | None = None):
        key = (service, region or self.region)
        if key not in self._cache:
            self._cache[key] = boto3.client(service, endpoint_url=self.endpoint, region_name=key[1], **self._creds)
        return self._cache[key]

    def resource(self, service: str, region: str | None = None):
        return boto3.resource(service, endpoint_url=self.endpoint, region_name=region or self.region, **self._creds)


@pytest.fixture
def aws(moto_endpoint):
    return AccountClients(moto_endpoint)
