"""A small API client for tests: what a script calling the REST API would do."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

FINAL_STATUSES = {
    "succeeded",
    "failed",
    "timed_out",
    "memory_exceeded",
    "output_exceeded",
    "cancelled",
    "compile_error",
    "internal_error",
}


@dataclass
class Account:
    user: dict[str, Any]
    access_token: str
    refresh_token: str
    password: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


class Api:
    def __init__(self, api_url: str) -> None:
        self.http = httpx.AsyncClient(base_url=api_url, timeout=30)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> Api:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def register(
        self, username: str | None = None, password: str = "correct horse"
    ) -> Account:
        username = username or f"u{uuid.uuid4().hex[:10]}"
        response = await self.http.post(
            "/auth/register",
            json={"username": username, "email": f"{username}@example.org", "password": password},
        )
        assert response.status_code == 201, response.text
        body = response.json()
        return Account(body["user"], body["access_token"], body["refresh_token"], password)

    async def create_session(self, account: Account, **fields: Any) -> dict[str, Any]:
        payload = {"title": "Lesson 1", "kind": "notebook", "language": "python", **fields}
        response = await self.http.post("/sessions", json=payload, headers=account.headers)
        assert response.status_code == 201, response.text
        return response.json()["session"]  # type: ignore[no-any-return]

    async def run_cell(
        self, account: Account, session_id: str, cell_id: str, code: str
    ) -> dict[str, Any]:
        response = await self.http.post(
            "/execute",
            headers=account.headers,
            json={"session_id": session_id, "cell_id": cell_id, "code": code},
        )
        assert response.status_code == 202, response.text
        return response.json()["job"]  # type: ignore[no-any-return]

    async def wait_job(
        self, account: Account, job_id: str, timeout_s: float = 90.0, poll_s: float = 0.05
    ) -> dict[str, Any]:
        """Poll the status endpoint until the job is final (bounded)."""
        deadline = time.monotonic() + timeout_s
        while True:
            response = await self.http.get(f"/execute/status/{job_id}", headers=account.headers)
            assert response.status_code == 200, response.text
            job: dict[str, Any] = response.json()["job"]
            if job["status"] in FINAL_STATUSES:
                return job
            assert time.monotonic() < deadline, f"job still {job['status']} after {timeout_s}s"
            await asyncio.sleep(poll_s)


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The response's JSON error, checked to have ``status`` (and ``code``), a message and
    exactly the documented keys."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["code"] == code, error
    return error
