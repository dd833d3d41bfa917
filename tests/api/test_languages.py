"""Languages and limits through the API: the language list, a C run and a compile error,
limits a request may only lower, and runs stopped by a limit saying which one."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.client import Account, Api, assert_error


async def snippet(api: Api, account: Account, **body: Any) -> dict[str, Any]:
    response = await api.http.post("/execute/snippet", json=body, headers=account.headers)
    assert response.status_code == 202, response.text
    return await api.wait_job(account, response.json()["job"]["id"])


async def languages(api: Api, account: Account) -> list[dict[str, Any]]:
    """The list, once the worker has announced its versions (it does so as it starts)."""
    deadline = time.monotonic() + 30
    while True:
        response = await api.http.get("/execute/languages", headers=account.headers)
        listed: list[dict[str, Any]] = response.json()["languages"]
        if all(language["version"] for language in listed) or time.monotonic() > deadline:
            return listed
        await asyncio.sleep(0.1)


async def test_languages_are_listed_with_their_versions(api: Api) -> None:
    """The five languages, each with a display name and runtime version; python can back a
    notebook's kernel, the others cannot."""
    account = await api.register()
    listed = {language["id"]: language for language in await languages(api, account)}
    assert set(listed) == {"python", "javascript", "bash", "c", "cpp"}
    assert listed["c"]["display_name"] == "C (gcc)" and "gcc" in listed["c"]["version"].lower()
    assert [name for name, row in listed.items() if row["notebook"]] == ["python"]


async def test_c_runs_and_a_compile_error_says_why(api: Api) -> None:
    """A C program runs; one that does not compile ends compile_error with the compiler's
    message in its stderr."""
    account = await api.register()
    good = '#include <stdio.h>\nint main(void) { printf("%d\\n", 6 * 7); }\n'
    ran = await snippet(api, account, language="c", code=good)
    assert (ran["status"], ran["outputs"][0]["text"]) == ("succeeded", "42\n")
    broken = await snippet(api, account, language="c", code="int main( {}\n")
    assert broken["status"] == "compile_error"
    assert "main.c:1" in broken["outputs"][0]["text"]


async def test_a_request_may_lower_its_limits_but_not_raise_them(api: Api) -> None:
    """Lower limits are applied and shown on the job; asking for more is a 422 naming the
    limit and its maximum."""
    account = await api.register()
    lowered = await snippet(
        api, account, language="python", code="1", limits={"timeout_s": 2, "memory_mb": 128}
    )
    assert (lowered["limits"]["timeout_s"], lowered["limits"]["memory_mb"]) == (2, 128)
    body = {"language": "python", "code": "1", "limits": {"timeout_s": 10_000}}
    refused = await api.http.post("/execute/snippet", json=body, headers=account.headers)
    error = assert_error(refused, 422)
    assert error["details"][0]["field"] == "limits.timeout_s"


async def test_too_much_stdin_is_refused(api: Api) -> None:
    """stdin beyond the limit is a 413 and nothing runs."""
    account = await api.register()
    body = {"language": "python", "code": "1", "stdin": "x" * 1_000_001}
    response = await api.http.post("/execute/snippet", json=body, headers=account.headers)
    assert_error(response, 413)


async def test_a_stopped_snippet_keeps_its_output_and_says_which_limit(api: Api) -> None:
    """What a run printed before its time limit is kept, followed by a line naming it."""
    account = await api.register()
    code = "import time\nprint('before', flush=True)\ntime.sleep(60)"
    job = await snippet(api, account, language="python", code=code, limits={"timeout_s": 1})
    text = "".join(output["text"] for output in job["outputs"])
    assert job["status"] == "timed_out"
    assert text.startswith("before\n") and "[Stopped by the time limit (1 s" in text


async def test_a_stopped_cell_ends_with_an_error_output_naming_the_limit(api: Api) -> None:
    """A cell stopped by its time limit shows it as an error output, not a silent stop."""
    account = await api.register()
    session = await api.create_session(account)
    body = {
        "session_id": session["id"],
        "cell_id": "c1",
        "code": "while True: pass",
        "limits": {"timeout_s": 1},
    }
    response = await api.http.post("/execute", json=body, headers=account.headers)
    job = await api.wait_job(account, response.json()["job"]["id"])
    assert job["status"] == "timed_out"
    assert job["outputs"][-1]["ename"] == "LimitExceeded"
    assert "time limit (1 s" in job["outputs"][-1]["evalue"]
