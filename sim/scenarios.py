"""``python -m sim.scenarios``: the named scenarios, one line each.

A scenario is a file ``configs/scenario/<name>.yaml`` (``python -m sim scenario=<name>``); its
description is the first sentence of the comment at its top.  ``python -m sim --help`` shows
the same list.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "configs" / "scenario"


def description(path: Path) -> str:
    """First sentence of the comment block at the top of a scenario file (without Hydra's
    ``@package`` directive)."""
    lines = []
    for line in Path(path).read_text().splitlines():
        if not line.startswith("#"):
            if lines or line.strip():
                break
            continue
        text = line.lstrip("#").strip()
        if not text.startswith("@package"):
            lines.append(text)
    text = " ".join(t for t in lines if t)
    return re.split(r"(?<=[.!?])\s+(?=[A-Z])", text, maxsplit=1)[0] if text else ""


def scenarios(directory: Path = SCENARIO_DIR) -> dict[str, str]:
    """Scenario names and their one-line descriptions, by name."""
    return {p.stem: description(p) for p in sorted(Path(directory).glob("*.yaml"))}


def listing(width: int | None = None) -> str:
    """One line per scenario: name, then description (cut to ``width`` characters)."""
    items = scenarios()
    pad = max((len(n) for n in items), default=0)
    lines = []
    for name, text in items.items():
        line = f"  {name:<{pad}}  {text}"
        if width and len(line) > width:
            line = line[:width - 3].rstrip() + "..."
        lines.append(line)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv:
        print("usage: python -m sim.scenarios   (lists the scenarios; run one with "
              "python -m sim scenario=NAME)", file=sys.stderr)
        return 0 if argv[0] in ("-h", "--help") else 2
    print("Scenarios (python -m sim scenario=NAME):")
    print(listing())
    return 0


if __name__ == "__main__":
    sys.exit(main())
