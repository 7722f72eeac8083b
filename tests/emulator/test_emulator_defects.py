"""Which jobs the emulator hands a bad output (pure: prompts and rules in, defects out)."""

from __future__ import annotations

from emulator.config import BadOutput, EmulatorConfig
from emulator.defects import DefectPicker


def test_a_prompt_marker_spoils_every_render_of_that_prompt() -> None:
    picker = DefectPicker()
    assert [picker.pick("winter [bad:frozen]", ()) for _ in range(3)] == ["frozen"] * 3
    assert picker.pick("winter [bad:nonsense]", ()) is None
    assert picker.pick("winter", ()) is None


def test_a_rule_spoils_only_its_first_times_jobs_and_counts_afresh_when_cleared() -> None:
    rules = (
        BadOutput(match="noir", defect="black", times=1),
        BadOutput(match="winter", defect="truncated", times=None),
    )
    picker = DefectPicker()
    assert [picker.pick("film noir", rules) for _ in range(3)] == ["black", None, None]
    assert [picker.pick("winter", rules) for _ in range(3)] == ["truncated"] * 3
    picker.clear()
    assert picker.pick("film noir", rules) == "black"


def test_rules_are_a_knob_of_the_admin_api() -> None:
    patched = EmulatorConfig().updated(
        {"bad_outputs": [{"match": "x", "defect": "not_video", "times": 2}]}
    )
    assert patched.bad_outputs == (BadOutput(match="x", defect="not_video", times=2),)
