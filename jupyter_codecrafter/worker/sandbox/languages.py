"""The languages snippet runs speak, declared once for every sandbox backend.

Each language says which file its code goes into, how it is compiled (C and C++), how it is
run and how to ask its version. Commands name programs found on the sandbox's PATH; the
program's file names are relative to the directory it runs in. A compile step has its own
time limit (``compile_timeout_s``), and its failure is the status ``compile_error`` with the
compiler's messages.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass, replace

from ...errors import ValidationFailed

SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin"
BINARY = "main"  # what compilers write; the run command executes it


@dataclass(frozen=True, slots=True)
class Language:
    id: str
    display_name: str
    filename: str
    run: tuple[str, ...]
    version: tuple[str, ...]
    compile: tuple[str, ...] | None = None
    notebook: bool = False  # can back a notebook session's kernel

    @property
    def programs(self) -> set[str]:
        """The programs this language needs on the sandbox's PATH."""
        commands = [self.run, self.version, self.compile or ()]
        return {command[0] for command in commands if command and "/" not in command[0]}


LANGUAGES: dict[str, Language] = {
    "python": Language(
        "python",
        "Python 3",
        "main.py",
        run=("python3", "main.py"),
        version=("python3", "--version"),
        notebook=True,
    ),
    "javascript": Language(
        "javascript",
        "JavaScript (Node.js)",
        "main.js",
        run=("node", "main.js"),
        version=("node", "--version"),
    ),
    "bash": Language(
        "bash", "Bash", "main.sh", run=("bash", "main.sh"), version=("bash", "--version")
    ),
    "c": Language(
        "c",
        "C (gcc)",
        "main.c",
        run=(f"./{BINARY}",),
        version=("gcc", "--version"),
        compile=("gcc", "-O2", "-std=c17", "-Wall", "-o", BINARY, "main.c", "-lm"),
    ),
    "cpp": Language(
        "cpp",
        "C++ (g++)",
        "main.cpp",
        run=(f"./{BINARY}",),
        version=("g++", "--version"),
        compile=("g++", "-O2", "-std=c++17", "-Wall", "-o", BINARY, "main.cpp"),
    ),
}


def on_this_host() -> dict[str, Language]:
    """The languages whose programs this host has, for sandboxes made of its processes.
    Python is the interpreter running this worker, whose ipykernel the kernels use."""
    found: dict[str, Language] = {}
    for language in LANGUAGES.values():
        if language.id == "python":
            found["python"] = _with_interpreter(language, sys.executable)
        elif all(shutil.which(program, path=SANDBOX_PATH) for program in language.programs):
            found[language.id] = language
    return found


def _with_interpreter(language: Language, interpreter: str) -> Language:
    return replace(
        language,
        run=(interpreter, *language.run[1:]),
        version=(interpreter, *language.version[1:]),
    )


def pick_language(languages: dict[str, Language], name: str) -> Language:
    try:
        return languages[name]
    except KeyError:
        accepted = ", ".join(sorted(languages))
        raise ValidationFailed(
            f"Unsupported language {name!r}; this sandbox runs: {accepted}.",
            details={"language": name, "accepted": sorted(languages)},
        ) from None


def first_line(text: str) -> str:
    """A version command's answer, shortened to its first line ("gcc (Debian 12.2.0) ...")."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0][:120] if lines else ""
