"""The container image, the Community Cloud packages and the server's configuration."""
import shlex
import tomllib
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def dockerfile_instructions():
    """(INSTRUCTION, arguments) pairs of the Dockerfile, continuation lines joined, comments dropped."""
    lines, current = [], ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        word, _, rest = current.partition(" ")
        lines.append((word.upper(), rest.strip()))
        current = ""
    return lines


def test_dockerfile_builds_from_a_slim_python_with_graphviz():
    instructions = dockerfile_instructions()
    assert instructions[0][0] == "FROM" and instructions[0][1].startswith("python:3.11-slim")
    installs = [args for word, args in instructions if word == "RUN" and "apt-get install" in args]
    assert installs and "graphviz" in shlex.split(installs[0])


def test_dockerfile_runs_as_a_non_root_user():
    users = [args for word, args in dockerfile_instructions() if word == "USER"]
    assert users, "no USER instruction: the app would run as root"
    assert users[-1] not in ("root", "0"), users[-1]
    # The user is created in the image before it is switched to.
    assert any(word == "RUN" and "useradd" in args and users[-1] in args
               for word, args in dockerfile_instructions())


def test_dockerfile_listens_on_every_interface_at_the_exposed_port_and_checks_health():
    instructions = dockerfile_instructions()
    exposed = [args for word, args in instructions if word == "EXPOSE"]
    assert exposed == ["8501"]
    cmd = [args for word, args in instructions if word == "CMD"][-1]
    import json
    argv = json.loads(cmd)
    assert argv[argv.index("--server.address") + 1] == "0.0.0.0"
    assert argv[argv.index("--server.port") + 1] == exposed[0]
    health = [args for word, args in instructions if word == "HEALTHCHECK"]
    assert len(health) == 1
    assert f"127.0.0.1:{exposed[0]}/_stcore/health" in health[0]


def test_community_cloud_installs_graphviz():
    packages = (ROOT / "packages.txt").read_text().split()
    assert "graphviz" in packages


def test_server_config_protects_forms_and_bounds_uploads():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["enableXsrfProtection"] is True
    assert 0 < config["server"]["maxUploadSize"] <= 10


def test_favicon_is_a_file_of_the_app_not_a_material_symbol():
    """A ":material/...:" page icon makes the browser fetch the favicon from a public host."""
    import ast
    tree = ast.parse((ROOT / "app" / "ui" / "streamlit_app.py").read_text())
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
             and getattr(node.func, "attr", "") == "set_page_config"]
    assert len(calls) == 1
    icon = {kw.arg: kw.value for kw in calls[0].keywords}["page_icon"]
    assert not (isinstance(icon, ast.Constant) and str(icon.value).startswith(":material/"))
    with Image.open(ROOT / "assets" / "favicon.png") as image:
        assert image.format == "PNG"
