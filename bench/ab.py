"""One benchmark on this tree and on an older commit, alternately, to tell a change from noise.

On a small shared machine the same code's figures move by tens of percent from one run to
the next (the classroom p50 went from 269 to 418 ms on one commit), more than most changes
move them. Alternating the two trees run by run, on the same machine state, is what tells
them apart. The older commit is checked out in a temporary git worktree; both run with
this tree's virtualenv.

Run with ``.venv/bin/python bench/ab.py --against <commit> [--rounds 3] <bench>.py [args]``,
e.g. ``make bench-ab ARGS="--against HEAD~2 warm_cell.py --runs 40"``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
FIGURES_LINES = 17  # of each run's output: the benchmarks print their figures last


@contextmanager
def worktree(commit: str) -> Iterator[Path]:
    """``commit`` checked out in a temporary directory, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="ccbench-ab-")) / "tree"
    git = ["git", "-C", str(HERE)]
    add = [*git, "worktree", "add", "--quiet", "--detach", str(path), commit]
    subprocess.run(add, check=True)  # noqa: S603 (git, on a commit its user named)
    try:
        yield path
    finally:
        remove = [*git, "worktree", "remove", "--force", str(path)]
        subprocess.run(remove, check=False)  # noqa: S603 (git, on our own worktree)


def run(tree: Path, bench: list[str]) -> str:
    """The benchmark's output when run from ``tree``, its code first on the path."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    script = [sys.executable, "-u", str(tree / "bench" / bench[0]), *bench[1:]]
    # Our own benchmark scripts, from either tree.
    done = subprocess.run(script, cwd=tree, env=env, capture_output=True, text=True)  # noqa: S603
    lines = done.stdout.splitlines()
    if done.returncode:
        lines.append(f"(exit {done.returncode}) {done.stderr.strip().splitlines()[-1:]}")
    return "\n".join(lines[-FIGURES_LINES:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", required=True, help="the older commit")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each tree")
    parser.add_argument("bench", nargs=argparse.REMAINDER, help="<bench>.py and its args")
    args = parser.parse_args()
    if not args.bench:
        parser.error("name the benchmark, e.g. warm_cell.py")
    with worktree(args.against) as older:
        for number in range(1, args.rounds + 1):
            for label, tree in ((args.against, older), ("this tree", HERE)):
                print(f"== {label}, run {number}", flush=True)
                print(run(tree, args.bench), flush=True)


if __name__ == "__main__":
    main()
