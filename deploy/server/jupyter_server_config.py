"""Jupyter Server configuration of the CodeCrafter server image (/etc/jupyter).

Everything CodeCrafter needs comes from CODECRAFTER_* variables (docker-compose.yml and
.env); this file only sets what Jupyter itself needs to run behind the load balancer.
"""

from pathlib import Path

c = get_config()  # noqa: F821 - Jupyter provides it to config files

c.ServerApp.ip = "0.0.0.0"  # noqa: S104 - inside the container; nginx is the way in
c.ServerApp.port = 8888
c.ServerApp.open_browser = False
c.ServerApp.root_dir = "/home/codecrafter"
# Requests reach us through nginx: trust its X-Forwarded-For/X-Real-IP for client
# addresses (rate limits count per client), and accept its Host header.
c.ServerApp.trust_xheaders = True
c.ServerApp.allow_remote_access = True
# Jupyter's own token (admins' access to JupyterLab, Prometheus's scrapes of /metrics),
# from the compose secret rather than the environment or the command line.
TOKEN_FILE = Path("/run/secrets/jupyter_token")
if TOKEN_FILE.exists():
    c.IdentityProvider.token = TOKEN_FILE.read_text().strip()
c.ServerApp.authenticate_prometheus = True
