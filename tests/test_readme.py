"""What the README tells a new user matches what the commands do (the set-up, the error
example, the configuration groups, the headline figures)."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_the_error_example_is_what_the_command_prints(tmp_path):
    block = re.search(r"```\n\$ python -m sim (\S+)\n(.*?)```", README, re.S)
    arg, shown = block.group(1), block.group(2)
    r = subprocess.run([sys.executable, "-m", "sim", arg, f"hydra.run.dir={tmp_path}/run"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "exit status 2" in README
    assert r.stderr == shown
    assert not (tmp_path / "run").exists()


def test_the_listed_configuration_groups_are_the_groups():
    from sim.config import config_groups

    text = re.search(r"Configuration groups \(`configs/`\): (.*?)\. Any key", README, re.S).group(1)
    assert set(re.findall(r"`(\w+)`", text)) == config_groups()


def _installs(target: str) -> str:
    """The pip install lines a make target runs, its prerequisites' included."""
    makefile = (ROOT / "Makefile").read_text()
    rules = {t: (p, body) for t, p, body in
             re.findall(r"^([^\s:#=]+):([^\n=]*)\n((?:\t[^\n]*\n)*)", makefile, re.M)}
    prereqs, body = rules[target]
    text = "\n".join(line for line in body.splitlines() if "pip install" in line)
    for p in prereqs.replace("|", " ").split():
        if p in rules:
            text += "\n" + _installs(p)
    return text


def test_the_make_target_named_for_ray_installs_it():
    target = re.search(r"`hydra/launcher=ray` runs on a Ray cluster \(installed by `make (\w+)`",
                       README).group(1)
    assert re.search(r"\[[^\]]*\bray\b[^\]]*\]", _installs(target)), target
    assert not re.search(r"\bray\b", _installs("run"))   # the model alone: no Ray


def test_the_headline_example_is_what_that_command_prints():
    """The README's example figure, from the golden baseline's run of the same command."""
    import json

    from sim.__main__ import headlines
    from sim.golden import CASES, GOLDEN_DIR

    m = re.search(r"\(`python -m sim ([^`]+)`\s+prints `([^`]+)`", README)
    command, shown = m.group(1).split(), m.group(2)
    case = next(name for name, overrides in CASES.items() if sorted(overrides) == sorted(command))
    summary = json.loads((GOLDEN_DIR / f"{case}.json").read_text())["summary"]
    printed = [" ".join(line.split("[")[0].split()) for line in headlines(summary)]
    assert shown in printed
