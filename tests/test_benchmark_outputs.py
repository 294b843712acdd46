"""benchmarks/outputs.py: a baseline's output counts as the same only when every key it printed is unchanged."""

import json

from outputs import compare


def _doc(**extra):
    plan = {"findings": [{"issue": "OPS-1", "rule": "r", "facts": {"idle_days": 15}}], "steps": [], **extra}
    return json.dumps(plan).encode()


def test_identical_bytes():
    assert compare(_doc(), _doc()) == "identical"


def test_a_key_added_since_the_baseline_is_named_not_hidden():
    assert compare(_doc(), _doc(skipped=[])) == "same but added skipped"


def test_a_changed_value_a_lost_key_or_an_extra_finding_is_different():
    changed = json.loads(_doc())
    changed["findings"][0]["facts"]["idle_days"] = 16
    assert compare(_doc(), json.dumps(changed).encode()) == "DIFFERENT"
    assert compare(_doc(skipped=[]), _doc()) == "DIFFERENT"
    more = json.loads(_doc())
    more["findings"].append(more["findings"][0])
    assert compare(_doc(), json.dumps(more).encode()) == "DIFFERENT"


def test_text_output_is_compared_byte_for_byte():
    assert compare(b"OPS-1 idle\n", b"OPS-1 idle\n") == "identical"
    assert compare(b"OPS-1 idle\n", b"OPS-1 idle \n") == "DIFFERENT"


def test_a_baseline_is_compiled_wherever_it_lies_and_only_stewards_modules(tmp_path):
    """benchmarks/child_usage.py `compile_checkout` (each tree `bytecode_ready` prepares): a baseline under a
    folder named like one it leaves out (tests, benchmarks) is compiled all the same; its own tests are not."""
    from child_usage import compile_checkout

    steward = tmp_path / "tests" / "benchmarks" / "base" / "steward"
    for module in ("cli.py", "core/runner.py", "plugins/files/tracker.py", "tests/test_cli.py"):
        (steward / module).parent.mkdir(parents=True, exist_ok=True)
        (steward / module).write_text("VALUE = 1\n", encoding="utf-8")
    compile_checkout(steward)
    compiled = sorted(str(pyc.relative_to(steward)).split(".")[0] for pyc in steward.rglob("*.pyc"))
    assert compiled == ["__pycache__/cli", "core/__pycache__/runner", "plugins/files/__pycache__/tracker"]
