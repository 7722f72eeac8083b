"""`restyle spend`: estimated against billed, per provider and day (pure)."""

from __future__ import annotations

from cli.spend import spend_rows


def test_spend_rows_say_which_figures_are_billed_and_which_estimated() -> None:
    found = {
        ("2026-12-07", "runway"): {"estimated": 2.80, "billed": 1.40, "replaced": 2.80},
        ("2026-12-07", "segmind"): {"estimated": 2.25},
        ("2026-12-08", "runway"): {"estimated": 2.80, "billed": 0.0, "replaced": 1.40},
    }
    rows = {(row.day, row.provider): row for row in spend_rows(found)}
    assert rows[("2026-12-07", "runway")].spent_usd == 1.40
    assert rows[("2026-12-07", "runway")].basis == "billed"
    assert rows[("2026-12-07", "segmind")].basis == "estimated"
    # One refunded task ($0) and one still running, at its estimate.
    assert (rows[("2026-12-08", "runway")].spent_usd, rows[("2026-12-08", "runway")].basis) == (
        1.40,
        "mixed",
    )
