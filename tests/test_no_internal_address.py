"""No output tells the embedded server's address or port: a run's JSON (what the Run page's "Run as JSON"
download holds) and the HTML report of a run, for every case with its defaults and with its options
flipped. Outputs speak of the hosts AWS would use instead."""
from __future__ import annotations

import json
import re

import pytest

from app.cli import main
from app.core.cases import all_cases
from app.runtime.backend import get_backend


def _flipped(case) -> list[str]:
    """``--set`` arguments turning every on/off option the other way and picking each choice's last."""
    out = []
    for t in case.toggles:
        if t.kind == "bool":
            out += ["--set", f"{t.key}={'off' if t.default else 'on'}"]
        elif t.kind == "choice":
            out += ["--set", f"{t.key}={t.choices[-1]}"]
    return out


RUNS = [(c.id, extra) for c in all_cases() for extra in ([], _flipped(c))]
IDS = [f"{case}-{'flipped' if extra else 'defaults'}" for case, extra in RUNS]


def internal_addresses(text: str) -> list[str]:
    """Every place ``text`` names a loopback host with a port, or the backend's port after a host."""
    port = get_backend().endpoint_url.rsplit(":", 1)[1]
    pattern = rf"(?i)(?:127\.0\.0\.1|localhost):\d+|[\w\]]:{port}(?!\d)|%3A{port}(?!\d)"
    return [text[max(0, m.start() - 60):m.end() + 20] for m in re.finditer(pattern, text)]


@pytest.mark.parametrize("case_id, extra", RUNS, ids=IDS)
def test_a_runs_json_names_no_internal_address(capsys, case_id, extra):
    code = main(["run", case_id, "--json", *extra])
    out, err = capsys.readouterr()
    assert code == 0, err[-500:]
    assert json.loads(out)["ok"]
    assert internal_addresses(out + err) == []


@pytest.mark.parametrize("case_id, extra", RUNS, ids=IDS)
def test_a_runs_html_report_names_no_internal_address(tmp_path, capsys, case_id, extra):
    target = tmp_path / "report.html"
    code = main(["report", case_id, "--run", "-o", str(target), *extra])
    out, err = capsys.readouterr()
    assert code == 0, err[-500:]
    page = target.read_text()
    assert "<html" in page and internal_addresses(page + out + err) == []


def test_the_pre_signed_upload_names_the_host_aws_would_use(capsys):
    assert main(["run", "global-blog", "--json"]) == 0
    spans = [s for step in json.loads(capsys.readouterr().out)["steps"] for s in step["spans"]]
    [put] = [s for s in spans if s.get("operation") == "PUT (pre-signed URL over HTTP)"]
    bucket = put["resource"].split("/")[0]
    assert put["detail"]["url_host"] == f"{bucket}.s3.us-east-1.amazonaws.com"


def test_the_s3_pre_signed_url_handed_out_is_the_one_aws_would_hand_out(capsys):
    assert main(["run", "paid-content", "--set", "cloudfront=off", "--json"]) == 0
    grant = json.loads(capsys.readouterr().out)["artifacts"]["grant"]
    assert re.match(r"https://[a-z0-9-]+\.s3\.us-east-1\.amazonaws\.com/videos/v1/video\.mp4\?.*X-Amz-Signature=",
                    grant["url"]), grant["url"]
