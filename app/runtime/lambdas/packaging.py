"""Packaging a function: its deployment package (the handler's module zipped) and its execution role's policies."""
from __future__ import annotations

import importlib
import io
import json
import zipfile
from pathlib import Path


LAMBDA_TRUST_POLICY = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
})
# What AWSLambdaBasicExecutionRole grants, as an inline policy (moto has no managed policies loaded).
BASIC_EXECUTION = {"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                   "Resource": "*"}


def module_zip(module_name: str) -> bytes:
    """A deployment package holding the module (and the modules its ``DEPLOY_WITH`` names), under
    empty ``__init__.py`` files of their packages.

    The packages' own initializers belong to the app (a case package's imports its diagram
    code, which is not in the package), so the package holds empty ones: the handler's
    module imports on AWS Lambda exactly as it does here.
    """
    module = importlib.import_module(module_name)
    names = [module_name, *getattr(module, "DEPLOY_WITH", ())]
    buf = io.BytesIO()
    packages: set[str] = set()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in names:
            parts = name.split(".")
            for i in range(1, len(parts)):
                package = "/".join(parts[:i]) + "/__init__.py"
                if package not in packages:
                    packages.add(package)
                    zf.writestr(package, "")
            path = Path(importlib.import_module(name).__file__).resolve()
            zf.write(path, "/".join(parts) + ".py")
    return buf.getvalue()
