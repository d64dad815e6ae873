"""The crash suite's kill points are opt-in and refuse a spec they do not understand."""

from __future__ import annotations

import pytest

from connector.control.crash_points import parse
from connector.errors import ConfigError


def test_points_and_chances_are_read() -> None:
    assert parse("sent:0.05, seal:0.5") == {"sent": 0.05, "seal": 0.5}
    assert parse("") == {}


@pytest.mark.parametrize("spec", ["sent", "sent:often", "commit:0.1"])
def test_a_spec_it_cannot_read_is_refused(spec: str) -> None:
    with pytest.raises(ConfigError):
        parse(spec)
