"""One colour per user, the same for everyone: in presence lists and on remote cursors."""

from __future__ import annotations

import hashlib

# Distinct in JupyterLab's light and dark themes; the same user always gets the same one.
PALETTE = (
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf",
    "#e377c2", "#8c564b", "#bcbd22", "#3366cc", "#dc3912", "#109618",
)  # fmt: skip


def colour_of(user_id: str) -> str:
    digest = hashlib.sha256(user_id.encode()).digest()
    return PALETTE[digest[0] % len(PALETTE)]
