"""The bench's own drivers keep working as the pages change (the figures themselves are not timed here)."""
from __future__ import annotations

import pytest

from app.bench import engine
from app.core.cases import modelled_cases


@pytest.mark.parametrize("case", modelled_cases(), ids=lambda c: c.id)
def test_the_what_if_rerun_driver_moves_a_workload_input_of_every_case_with_a_model(case):
    wall, cpu = engine._page_rerun_ms(case, moves=2)
    assert len(wall) == len(cpu) == 2 and all(ms > 0 for ms in wall)
