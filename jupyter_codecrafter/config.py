"""Configuration in one place, for the server extension and the worker alike.

Every setting is a traitlet on :class:`CodeCrafterSettings`; the extension app
(``c.CodeCrafter.<name>``) and the worker (``c.CodeCrafterWorker.<name>``) inherit them.
Each can also come from the environment as ``CODECRAFTER_<NAME>`` (for containers);
a value set in a config file wins over the environment.
"""

from __future__ import annotations

import ast
import os
import secrets
from pathlib import Path
from typing import Any

from jupyter_core.paths import jupyter_data_dir
from traitlets import Bool, Dict, Enum, Float, Int, List, Unicode, default
from traitlets.config import Configurable

from .constants import (
    DEFAULT_JOB_DELIVERY_LIMIT,
    DEFAULT_QUEUE_MAX_LENGTH,
    DEFAULT_WORKER_HEARTBEAT_TTL_S,
    DEFAULT_WORKER_QUEUE_TTL_S,
    ENV_PREFIX,
)
from .store.records import Limits
from .utils import private_dir


class CodeCrafterSettings(Configurable):
    """The settings shared by the server extension and the workers."""

    data_dir = Unicode(
        help="Directory for the embedded database and the generated JWT secret. "
        "Default: <jupyter data dir>/codecrafter.",
    ).tag(config=True)

    store_url = Unicode(
        help="Where data lives: sqlite:///path/to/file.db (embedded, default) or "
        "mongodb://host/dbname (scaled).",
    ).tag(config=True)

    broker_url = Unicode(
        "memory://",
        help="Job queue: memory:// (in-process queue and worker) or amqp://user:pass@host/ "
        "(RabbitMQ, with codecrafter-worker processes).",
    ).tag(config=True)

    redis_url = Unicode(
        "",
        help="Redis for rooms, caches and rate limits shared by several server instances "
        "(redis://host:6379/0). Empty: in-process.",
    ).tag(config=True)

    namespace = Unicode(
        "",
        help="Prefix of every queue, channel and key name, so several deployments (or test "
        "runs) can share one RabbitMQ and Redis.",
    ).tag(config=True)

    sandbox = Enum(
        ["auto", "docker", "bwrap", "process"],
        default_value="auto",
        help="Where code runs: 'docker' (hardened containers), 'bwrap' (bubblewrap: processes "
        "that see only the system directories, no network, an unprivileged uid), 'process' "
        "(child processes with resource limits: NOT confined, they can read the server's "
        "secrets; only admins may run code there unless dangerously_allow_unconfined_runs), "
        "or 'auto': docker when the daemon answers and sandbox_image exists, else bwrap when "
        "it works on this host, else process. The choice and its reason are logged at start.",
    ).tag(config=True)

    dangerously_allow_unconfined_runs = Bool(
        False,
        help="Let every account run code in the unconfined 'process' sandbox, where it can "
        "read the server's files and secrets. Only for a server whose sole user is its "
        "operator (a laptop, a Binder demo); never for a classroom.",
    ).tag(config=True)

    trust_jupyter_users = Bool(
        True,
        help="A request that Jupyter Server itself also authenticates (its token or login "
        "cookie) as a user its authorizer lets start kernels on the host may run unconfined: "
        "that user can already run any code there. With CodeCrafterAuthorizer only admins can.",
    ).tag(config=True)

    sandbox_image = Unicode(
        "codecrafter-sandbox:latest",
        help="Docker image for sandboxes (python3 and ipykernel inside).",
    ).tag(config=True)

    jwt_secret = Unicode(
        "",
        help="Secret that signs access tokens (HS256). Generated and kept in data_dir when "
        "empty; set the same value on every instance when several run.",
    ).tag(config=True)

    access_token_ttl_s = Int(900, help="Lifetime of an access token, in seconds.").tag(config=True)

    refresh_token_ttl_s = Int(7 * 24 * 3600, help="Lifetime of a refresh token, in seconds.").tag(
        config=True
    )

    password_time_cost = Int(3, help="argon2id time cost (iterations) of password hashes.").tag(
        config=True
    )

    password_memory_kib = Int(65536, help="argon2id memory cost of password hashes, in KiB.").tag(
        config=True
    )

    languages = List(
        Unicode(),
        default_value=["python", "bash"],
        help="Snippet languages the server accepts when no worker runs in this process "
        "(the workers' sandbox image must provide them).",
    ).tag(config=True)

    worker_concurrency = Int(4, help="Jobs one worker runs at once (also its queue prefetch).").tag(
        config=True
    )

    warm_kernels = Int(
        1,
        help="Kernels each worker keeps started, ready for new notebook sessions (each serves "
        "one session, then is destroyed). 0: start a kernel when a session first runs a cell.",
    ).tag(config=True)

    warm_snippets = Int(
        2,
        help="Docker only: containers each worker keeps started for snippet runs with the "
        "default limits (each serves one run, then is removed). 0: none.",
    ).tag(config=True)

    runs_per_user = Int(
        2,
        help="Snippet runs of one user that run at once across the workers; more wait, behind "
        "other users' runs, so nobody starves the class. 0: no cap.",
    ).tag(config=True)

    queue_max_length = Int(
        DEFAULT_QUEUE_MAX_LENGTH,
        help="Jobs that may wait in the queue; beyond it runs are refused with 503.",
    ).tag(config=True)

    worker_heartbeat_ttl_s = Float(
        DEFAULT_WORKER_HEARTBEAT_TTL_S,
        help="A worker that has not renewed its heartbeat for this long is gone: its "
        "sessions' next runs go to other workers (with fresh kernels) and its leftover "
        "sandboxes are removed. Needs redis_url when several workers run.",
    ).tag(config=True)

    worker_queue_ttl_s = Float(
        DEFAULT_WORKER_QUEUE_TTL_S,
        help="How long a run waits in the queue of the worker that owns its session's kernel "
        "before another worker takes the session over (with a fresh kernel). Keep it well "
        "above run_timeout_s: a busy owner is not a dead one.",
    ).tag(config=True)

    job_delivery_limit = Int(
        DEFAULT_JOB_DELIVERY_LIMIT,
        help="Deliveries of a job whose worker died before it is marked failed.",
    ).tag(config=True)

    run_timeout_s = Float(30.0, help="Wall-clock limit of one run, in seconds.").tag(config=True)
    run_memory_mb = Int(256, help="Memory limit of a sandbox, in MiB.").tag(config=True)
    run_cpus = Float(1.0, help="CPU quota of a sandbox, in cores.").tag(config=True)
    run_pids = Int(64, help="Process limit of a sandbox.").tag(config=True)
    run_output_bytes = Int(1_000_000, help="Output cap of one run, in bytes.").tag(config=True)
    run_tmpfs_mb = Int(64, help="Size of a sandbox's writable /tmp, in MiB.").tag(config=True)
    run_cpu_time_s = Float(
        30.0, help="CPU time of one snippet run, in seconds (apart from the wall clock)."
    ).tag(config=True)
    run_compile_timeout_s = Float(
        10.0, help="Wall-clock limit of a compile step (C, C++), in seconds."
    ).tag(config=True)
    run_file_size_mb = Int(16, help="Largest file a run may write, in MiB.").tag(config=True)
    run_stdin_bytes = Int(1_000_000, help="Largest stdin of a snippet run, in bytes.").tag(
        config=True
    )
    language_limits = Dict(
        value_trait=Dict(),
        default_value={},
        help="Per-language changes to the run_* limits, e.g. "
        '{"javascript": {"memory_mb": 512}, "cpp": {"compile_timeout_s": 20}} (names as in a '
        "run request's limits). A request may only lower the limits that apply to it.",
    ).tag(config=True)

    max_body_bytes = Int(
        1_000_000, help="Largest JSON request body the API accepts, in bytes."
    ).tag(config=True)

    max_code_bytes = Int(200_000, help="Largest code (or stdin) of one run request, in bytes.").tag(
        config=True
    )

    max_content_bytes = Int(
        5_000_000, help="Largest initial document content of a new session, in bytes."
    ).tag(config=True)

    kernel_idle_timeout_s = Float(
        1800.0, help="A session kernel unused this long is shut down."
    ).tag(config=True)
    kernel_input_timeout_s = Float(
        300.0,
        help="How long input() in a cell waits for the answer of the user who ran it; then "
        "it gets end-of-file (EOFError) and an error output says why. The wait does not "
        "count against run_timeout_s.",
    ).tag(config=True)

    room_idle_unload_s = Float(
        60.0, help="A room with no connection is unloaded after this many seconds."
    ).tag(config=True)

    jwt_leeway_s = Float(
        10.0, help="Clock skew tolerated when checking an access token's exp and iat, in seconds."
    ).tag(config=True)

    admin_usernames = List(
        Unicode(),
        default_value=[],
        help="Existing accounts promoted to admin at start-up (comma-separated in the "
        "environment). Create the account first (codecrafter-admin create-user --admin is "
        "the safer way: a name listed here before it is registered can be claimed by anyone).",
    ).tag(config=True)

    max_preferences_bytes = Int(
        16_384, help="Largest preferences object of one user (JSON, in bytes)."
    ).tag(config=True)

    activity_purge_interval_s = Float(
        3600.0,
        help="How often expired activity entries (older than 30 days) and refresh tokens are "
        "deleted, in seconds. MongoDB also expires activity with a TTL index.",
    ).tag(config=True)

    cors_origins = List(
        Unicode(),
        default_value=[],
        help="Origins (scheme://host[:port]) whose pages may call the CodeCrafter API from a "
        "browser, e.g. another frontend (comma-separated in the environment). Empty: same "
        "origin only. Credentials are Bearer tokens, never cookies, across origins.",
    ).tag(config=True)

    # Rate limits: "<count>/<period>" in the `limits` notation ("10/minute",
    # "100 per 15 minutes"); an empty string disables a rule. The client address is
    # the request's remote_ip: behind a proxy set ServerApp.trust_xheaders=True.
    # Sign-ins are limited by their failures, so a class signing in together from one
    # school address never meets a limit while guessing passwords does.
    rate_limit_login = Unicode(
        "300/minute",
        help="Sign-in attempts per client IP, failed or not (bounds the password-hashing work).",
    ).tag(config=True)

    rate_limit_login_failures_account = Unicode(
        "10/15 minutes",
        help="Failed sign-ins per account (username or email as typed); beyond it that "
        "account's sign-ins are refused with 429 until the window moves on.",
    ).tag(config=True)

    rate_limit_login_failures_ip = Unicode(
        "300/hour",
        help="Failed sign-ins per client IP, whatever the account (password spraying).",
    ).tag(config=True)

    rate_limit_register = Unicode(
        "200/hour", help="Registrations per client IP (a class registering together fits)."
    ).tag(config=True)

    rate_limit_unauthenticated = Unicode(
        "1000/15 minutes",
        help="Requests without a valid access token, per client IP (every operation but health).",
    ).tag(config=True)

    rate_limit_authenticated = Unicode(
        "1200/minute",
        help="Requests with a valid access token, per user; far above interactive use.",
    ).tag(config=True)

    rate_limit_execute = Unicode("60/minute", help="Cell and snippet runs per user.").tag(
        config=True
    )

    json_logs = Bool(
        False,
        help="One JSON object per log line (time, level, logger, message, request_id), for "
        "log collectors. Tokens, passwords and code never appear at info.",
    ).tag(config=True)

    backend_connect_timeout_s = Float(
        60.0,
        help="How long start-up retries a configured store, broker or Redis that does not "
        "answer (exponential backoff) before it exits non-zero with the reason.",
    ).tag(config=True)

    shutdown_timeout_s = Float(
        45.0,
        help="On SIGTERM, how long a server instance waits for the runs it queued to finish "
        "(so their outputs reach the notebooks) before it flushes its rooms and exits.",
    ).tag(config=True)

    worker_metrics_port = Int(
        9180,
        help="Port of a codecrafter-worker's /metrics (Prometheus) and /health; 0: none.",
    ).tag(config=True)

    worker_metrics_ip = Unicode(
        "127.0.0.1",
        help="Address the worker's metrics port listens on (0.0.0.0 in a container).",
    ).tag(config=True)

    demo_username = Unicode(
        "",
        help="Demo servers only (Binder): whoever Jupyter itself signs in (its token) is "
        "signed in to CodeCrafter as this account, created on start-up with a random "
        "password, with a welcome session. Empty: off.",
    ).tag(config=True)

    demo_notebook = Unicode(
        "",
        help="With demo_username: the .ipynb file of the demo account's welcome session.",
    ).tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._apply_environment()

    def _apply_environment(self) -> None:
        """Take CODECRAFTER_<NAME> for every setting not set by a config file."""
        configured: set[str] = set()
        for section in self.section_names():
            configured.update(self.config.get(section, {}))
        for name, trait in self.traits(config=True).items():
            value = os.environ.get(ENV_PREFIX + name.upper())
            if value is not None and name not in configured:
                self.set_trait(name, _from_environment(trait, value))

    @default("data_dir")
    def _default_data_dir(self) -> str:
        return str(Path(jupyter_data_dir()) / "codecrafter")

    @default("store_url")
    def _default_store_url(self) -> str:
        return f"sqlite:///{Path(self.data_dir) / 'codecrafter.db'}"

    def default_limits(self) -> Limits:
        return Limits(
            timeout_s=self.run_timeout_s,
            memory_mb=self.run_memory_mb,
            cpus=self.run_cpus,
            pids=self.run_pids,
            output_bytes=self.run_output_bytes,
            tmpfs_mb=self.run_tmpfs_mb,
            cpu_time_s=self.run_cpu_time_s,
            compile_timeout_s=self.run_compile_timeout_s,
            file_size_mb=self.run_file_size_mb,
            stdin_bytes=self.run_stdin_bytes,
        )

    def resolved_jwt_secret(self) -> str:
        """The configured secret, or one generated once and kept (mode 0600) in data_dir."""
        if self.jwt_secret:
            return str(self.jwt_secret)
        path = Path(self.data_dir) / "jwt_secret"
        private_dir(path.parent)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_urlsafe(48))
        return path.read_text().strip()


def _from_environment(trait: Any, value: str) -> Any:
    """A setting's value from its variable; lists are comma-separated (or a Python literal)."""
    if isinstance(trait, List) and not value.lstrip().startswith("["):
        return [item.strip() for item in value.split(",") if item.strip()]
    if isinstance(trait, List):
        return ast.literal_eval(value)
    return trait.from_string(value)
