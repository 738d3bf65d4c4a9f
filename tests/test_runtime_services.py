"""The table of where each service's parts are names parts that exist, and leaves no builder or teardown row out."""
from __future__ import annotations

import inspect
from pathlib import Path

from app.core import facts
from app.runtime import teardown as td
from app.runtime.infra import Infra
from app.runtime.services import SERVICES, locate, resolve

ROOT = Path(__file__).resolve().parents[1]


def test_every_part_named_in_the_table_exists_and_is_located_in_the_repository():
    for service in SERVICES.values():
        for kind, names in service.parts().items():
            for name in names:
                assert resolve(name) is not None, f"{service.name}: {kind} {name}"
                path, line = locate(name).rsplit(":", 1)
                assert (ROOT / path).is_file() and int(line) >= 1, f"{service.name}: {kind} {name}"


def test_every_builder_of_the_infrastructure_is_in_the_table():
    named = {resolve(b) for s in SERVICES.values() for b in s.builders}
    public = {name for name, _ in inspect.getmembers(Infra, inspect.isfunction) if not name.startswith("_")}
    assert public - {"__init__"}
    missing = sorted(name for name in public if getattr(Infra, name) not in named)
    assert not missing, f"builders the table does not name: {missing}"


def test_every_row_of_the_teardown_table_belongs_to_a_service_of_the_table_and_its_module():
    import app.runtime.streaming  # noqa: F401  (registers the streaming services' rows)

    for kind in td._KINDS:
        service = SERVICES.get(kind.service)
        assert service is not None, f"teardown row of {kind.service} is in no service of the table"
        assert kind.delete.__module__ == service.teardown or kind.items.__module__ == service.teardown, \
            f"{kind.service}: its row is not in {service.teardown}"
    for service in SERVICES.values():
        if service.teardown:
            assert any(k.service == service.name for k in td._KINDS), f"{service.name} has no teardown row"


def test_each_service_s_facts_prefix_names_facts_of_that_service():
    names = [n for n in dir(facts) if n.isupper()]
    for service in SERVICES.values():
        for prefix in service.facts:
            assert any(n.startswith(prefix) for n in names), f"{service.name}: no fact starts with {prefix}"
