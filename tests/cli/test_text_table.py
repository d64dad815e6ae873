"""Tables line up with Japanese text: a wide character takes two columns."""

from __future__ import annotations

from connector.text_table import clip, table, width


def test_wide_characters_count_twice() -> None:
    assert width("水位") == 4 and width("abc") == 3 and width("ＡＢ") == 4


def test_columns_line_up() -> None:
    text = table([["上流橋", "A市"], ["x", "B"]], ["title", "who"], [20, 10])
    header, rule, first, second = text.splitlines()
    assert rule == "------  ---"  # 上流橋 is six columns wide, wider than "title"
    assert width(first[: first.index("A市")]) == width(second[: second.index("B")])


def test_long_cells_are_clipped_to_their_column() -> None:
    assert clip("観測所観測所観測所", 7).endswith("…")
    assert width(clip("観測所観測所観測所", 7)) <= 7
