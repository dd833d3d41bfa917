"""The five snippet languages in every sandbox backend: run, compile, compile errors, the
limits a C program can hit, and the versions each sandbox reports."""

from __future__ import annotations

import dataclasses
import signal
from typing import Any

import pytest

from jupyter_codecrafter.store.records import JobStatus, Limits
from jupyter_codecrafter.worker.sandbox.base import Sandbox
from jupyter_codecrafter.worker.sandbox.languages import LANGUAGES
from tests.worker.conftest import LIMITS

pytestmark = pytest.mark.asyncio(loop_scope="module")

REVERSE = {
    "python": "print(input()[::-1])",
    "javascript": (
        "let d = ''; process.stdin.on('data', c => d += c)"
        ".on('end', () => console.log(d.trim().split('').reverse().join('')))"
    ),
    "bash": 'read x; echo "$x" | rev',
    "c": (
        "#include <stdio.h>\n#include <string.h>\n"
        'int main(void) { char s[100]; scanf("%99s", s);\n'
        "  for (int i = (int)strlen(s) - 1; i >= 0; i--) putchar(s[i]);\n"
        "  putchar('\\n'); return 0; }\n"
    ),
    "cpp": (
        "#include <algorithm>\n#include <iostream>\n#include <string>\n"
        "int main() { std::string s; std::cin >> s; std::reverse(s.begin(), s.end());\n"
        "  std::cout << s << std::endl; }\n"
    ),
}


def limits(**changes: Any) -> Limits:
    return dataclasses.replace(LIMITS, **changes)


@pytest.mark.parametrize("language", sorted(REVERSE))
async def test_each_language_reads_stdin_and_writes_stdout(sandbox: Sandbox, language: str) -> None:
    """A program in each language reverses its input, in every backend."""
    result = await sandbox.run(language, REVERSE[language], "stressed\n", LIMITS)
    assert (result.status, result.stdout, result.stderr) == (JobStatus.SUCCEEDED, "desserts\n", "")


async def test_a_compile_error_is_its_own_status_with_the_messages(sandbox: Sandbox) -> None:
    """C code that does not compile ends compile_error, with the compiler's message."""
    result = await sandbox.run("c", "int main( { return 0; }\n", "", LIMITS)
    assert result.status is JobStatus.COMPILE_ERROR
    assert "main.c:1" in result.stderr and "error" in result.stderr


async def test_a_compile_has_its_own_time_limit(sandbox: Sandbox) -> None:
    """A compile slower than its limit is a compile_error that says it ran out of time."""
    code = "#include <bits/stdc++.h>\nint main() { std::cout << 1; }\n"
    result = await sandbox.run("cpp", code, "", limits(compile_timeout_s=0.05))
    assert result.status is JobStatus.COMPILE_ERROR
    assert "The compiler ran out of time (0.05 s)" in result.stderr


async def test_a_segfault_is_a_failure_with_its_signal(sandbox: Sandbox) -> None:
    """A C program that dereferences NULL fails, killed by SIGSEGV."""
    code = "int main(void) { volatile int *p = 0; return *p; }\n"
    result = await sandbox.run("c", code, "", LIMITS)
    assert (result.status, result.exit_code) == (JobStatus.FAILED, -signal.SIGSEGV)


async def test_a_c_program_allocating_forever_hits_the_memory_limit(sandbox: Sandbox) -> None:
    """malloc in a loop (touching the memory) ends memory_exceeded."""
    code = (
        "#include <stdlib.h>\n#include <string.h>\n"
        "int main(void) { for (;;) { char *p = malloc(1 << 20); if (!p) return 3;"
        " memset(p, 1, 1 << 20); } }\n"
    )
    result = await sandbox.run("c", code, "", limits(memory_mb=96))
    assert result.status in (JobStatus.MEMORY_EXCEEDED, JobStatus.FAILED)
    if result.status is JobStatus.FAILED:  # malloc refused under an rlimit: the program saw it
        assert result.exit_code == 3


async def test_cpu_time_ends_a_busy_loop_before_the_wall_clock(sandbox: Sandbox) -> None:
    """A busy loop is stopped by its CPU-time limit (1 s) long before the wall clock (20 s)."""
    result = await sandbox.run("c", "int main(void) { for (;;); }\n", "", limits(cpu_time_s=1))
    assert result.status is JobStatus.TIMED_OUT
    assert result.duration_s < 10


async def test_every_language_reports_its_version(sandbox: Sandbox) -> None:
    """The sandbox names a runtime version for each of its languages."""
    versions = await sandbox.versions()
    assert set(versions) == set(sandbox.languages) == set(LANGUAGES)
    assert all(version for version in versions.values()), versions
    assert "gcc" in versions["c"].lower() and versions["javascript"].startswith("v")
