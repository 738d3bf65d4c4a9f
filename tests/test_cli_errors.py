"""The command line refuses what it cannot do with one line and a documented exit code.

Exit codes (docs/cli.md, "Exit codes"): 0 ok, 1 a check failed (run) or something could not
be listed or deleted (cleanup), 2 bad input, 3 not available for the case, 4 the
environment refused (an output that cannot be written, AWS unreachable, a missing profile).
"""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.commandline import cli, cli_process
from tests.conftest import ROOT

KEY_ID, SECRET = "AKIADENIED0000000000", "dEnIeD-sEcReT-0000"


def one_error_line(r) -> str:
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert "Traceback" not in r.stderr and "File \"" not in r.stderr
    return lines[0]


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e400", "9" * 400])
@pytest.mark.parametrize("command", [["simulate", "iot-analytics", "--samples", "1000", "--no-break-even"],
                                     ["diagram", "iot-analytics", "--format", "dot", "-o", "-"]])
def test_non_finite_numbers_are_refused_as_invalid_values(command, value):
    r = cli(*command, "--set", f"buffer_interval={value}")
    assert r.returncode == 2
    assert "buffer_interval" in one_error_line(r) and "from 60 to 900" in r.stderr
    assert len(r.stderr) < 300      # 400 nines are not echoed back in full


def test_nan_is_refused_for_decimal_workload_inputs_before_the_engine():
    r = cli("simulate", "todo-api", "--set", "zipf_skew=nan", "--samples", "1000", "--no-break-even")
    assert r.returncode == 2 and "zipf_skew" in one_error_line(r) and "not a finite number" in r.stderr


def test_run_refuses_nan_as_bad_input_not_as_a_failed_check():
    r = cli("run", "runtime:s3-lambda", "--set", "uploads=nan")
    assert r.returncode == 2 and "uploads" in one_error_line(r)


@pytest.mark.parametrize("target, reason", [("/nonexistent-dir/x.svg", "No such file or directory"),
                                            (str(ROOT), "Is a directory"),
                                            ("/dev/full", "No space left on device"),
                                            ("/proc/version", "")])
def test_diagram_output_that_cannot_be_written(target, reason):
    r = cli("diagram", "todo-api", "--format", "dot", "-o", target)
    line = one_error_line(r)
    assert r.returncode == 4 and f"cannot write {target}" in line and reason in line


def test_simulate_json_to_a_full_device():
    # a process of its own: the interpreter's last flush at exit must not fail again or change the exit code
    with open("/dev/full", "w") as full:
        r = cli_process("simulate", "todo-api", "--samples", "1000", "--no-break-even", "--json", stdout=full)
    assert r.returncode == 4 and "No space left on device" in one_error_line(r)


def test_live_run_with_a_missing_profile_or_an_unreachable_endpoint(tmp_path):
    r = cli("run", "runtime:s3-lambda", "--backend", "live", "--yes", "--profile", "nosuchprofile")
    assert r.returncode == 4 and "nosuchprofile" in one_error_line(r)
    creds = {"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET}
    r = cli("run", "runtime:s3-lambda", "--backend", "live", "--yes", "--json",
            env={**creds, "EXPLORER_AWS_ENDPOINT_URL": "http://127.0.0.1:9"})
    assert r.returncode == 4 and "cannot reach http://127.0.0.1:9" in one_error_line(r)
    assert SECRET not in r.stdout + r.stderr


def test_cleanup_of_an_unreachable_endpoint_is_not_a_success():
    creds = {"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET,
             "EXPLORER_AWS_ENDPOINT_URL": "http://127.0.0.1:9"}
    r = cli("cleanup", "--backend", "live", "--json", env=creds)
    assert r.returncode == 4 and json.loads(r.stdout)["ok"] is False
    assert "cannot reach" in one_error_line(r)
    r = cli("cleanup", "--backend", "live", "--yes", env=creds)
    assert r.returncode == 4 and "deleted 0" not in r.stdout and "found" not in r.stdout


# -- an account whose credentials work but may list nothing -------------------------------------
_IDENTITY = ("<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult>"
             "<Arn>arn:aws:iam::111122223333:user/student</Arn><UserId>AIDADENIED</UserId>"
             "<Account>111122223333</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId>"
             "</ResponseMetadata></GetCallerIdentityResponse>")
_DENIED = ("<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized to perform "
           "this action</Message></Error><RequestId>1</RequestId></ErrorResponse>")


class _Denying(BaseHTTPRequestHandler):
    """AWS as seen with credentials whose policy allows sts:GetCallerIdentity and nothing else."""

    def _answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if b"Action=GetCallerIdentity" in body:
            status, text, kind = 200, _IDENTITY, "text/xml"
        elif "json" in (self.headers.get("Content-Type") or ""):
            status, kind = 400, "application/x-amz-json-1.1"
            text = json.dumps({"__type": "AccessDeniedException", "message": "not authorized to perform this action"})
        else:
            status, text, kind = 403, _DENIED, "text/xml"
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _answer

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def denying_endpoint():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Denying)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_cleanup_that_cannot_list_says_what_it_could_not_list(denying_endpoint):
    env = {"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET, "EXPLORER_AWS_ENDPOINT_URL": denying_endpoint}
    r = cli("cleanup", "--backend", "live", "--json", env=env)
    report = json.loads(r.stdout)
    assert r.returncode == 1 and report["ok"] is False
    errors = report["regions"][0]["errors"]
    for service in ("lambda", "s3", "dynamodb", "iam", "sqs"):
        assert any(e.startswith(f"{service} in ") and "could not list" in e and "AccessDenied" in e for e in errors)
    text = cli("cleanup", "--backend", "live", "--yes", env=env)
    assert text.returncode == 1 and "not known to be clean" in text.stdout and "could not list" in text.stdout
    assert SECRET not in r.stdout + r.stderr + text.stdout + text.stderr


def test_a_run_whose_leftovers_cannot_be_listed_fails_its_nothing_left_behind_check(denying_endpoint):
    env = {"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET, "EXPLORER_AWS_ENDPOINT_URL": denying_endpoint}
    r = cli("run", "runtime:s3-lambda", "--backend", "live", "--yes", "--json", env=env)
    out = json.loads(r.stdout)
    checks = {c["name"]: c for c in out["checks"]}
    assert r.returncode == 1 and out["ok"] is False
    left = checks["nothing left behind"]
    assert left["ok"] is False and "could not list" in left["detail"] and "AccessDenied" in left["detail"]
