"""From nothing to an author's passing test: ``pip install`` of botkit, ``botkit init``, the test.

In a temporary folder, each round makes a fresh virtual environment, installs botkit from a
copy of this repository (its tracked files, as a clone has them), creates a project with
``botkit init``, installs it with its test extras as the project's README says, and runs its
test with pytest, which must pass. Printed: the seconds each step took and the total (median
over the rounds), and the line count of the project's test, the shortest conversation test an
author starts from. pip's cache is used as an author's would be after a first install
(``--no-cache`` turns it off; the packages then come from the configured index again).

Run: ``.venv/bin/python bench/author.py`` (``--rounds 3``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the checkout's own test helpers

from tests.test_scaffold import copy_of_the_repository  # noqa: E402

STEPS = ("venv", "pip install botkit", "botkit init", "pip install the project", "pytest")


def run(cmd: list[str], cwd: Path) -> str:
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def one_round(source: Path, folder: Path, cache: list[str]) -> tuple[dict[str, float], int]:
    """Seconds per step; the line count of the new project's test."""
    venv = folder / "venv"
    pip, botkit, pytest = (str(venv / "bin" / tool) for tool in ("pip", "botkit", "pytest"))
    project = folder / "shop"
    steps = (
        ([sys.executable, "-m", "venv", str(venv)], folder),
        ([pip, "install", "-q", *cache, str(source)], folder),
        ([botkit, "init", "shop"], folder),
        ([pip, "install", "-q", *cache, "-e", ".[test]"], project),
        ([pytest, "-q", "-p", "no:cacheprovider"], project),
    )
    took: dict[str, float] = {}
    output = ""
    for name, (cmd, cwd) in zip(STEPS, steps, strict=True):
        started = time.perf_counter()
        output = run(cmd, cwd)
        took[name] = time.perf_counter() - started
    if "1 passed" not in output:
        raise SystemExit(f"the new project's test did not pass:\n{output}")
    return took, len((project / "test_bot.py").read_text().splitlines())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-cache", action="store_true", help="pip without its cache")
    args = parser.parse_args()
    cache = ["--no-cache-dir"] if args.no_cache else []
    with tempfile.TemporaryDirectory(prefix="botkit-author-") as temporary:
        base = Path(temporary)
        source = copy_of_the_repository(base / "botkit-src")
        rounds = []
        for number in range(args.rounds):
            folder = base / f"round-{number}"
            folder.mkdir()
            rounds.append(one_round(source, folder, cache))
            shutil.rmtree(folder)
    medians = {s: round(statistics.median(r[0][s] for r in rounds), 1) for s in STEPS}
    totals = [sum(took.values()) for took, _ in rounds]
    print(
        json.dumps(
            {
                "rounds": args.rounds,
                "pip_cache": not args.no_cache,
                "seconds_median": medians,
                "total_seconds_median": round(statistics.median(totals), 1),
                "total_seconds_each": [round(t, 1) for t in totals],
                "test_lines": rounds[0][1],
            }
        )
    )


if __name__ == "__main__":
    main()
