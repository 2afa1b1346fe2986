"""The README's hand-written webhook signature check runs, and agrees with ``standardwebhooks``."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from standardwebhooks import Webhook

from notifications.webhook import new_secret, sign

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def readme_verify() -> Callable[..., bool]:
    [code] = re.findall(r"by hand, in Python:\n\n```python\n(.*?)```", README, flags=re.DOTALL)
    assert len(code.strip().splitlines()) <= 12, code
    namespace: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    verify = namespace["verify"]
    assert callable(verify)
    return verify  # type: ignore[no-any-return]


def test_the_readme_check_accepts_maintcal_and_standardwebhooks_signatures_and_refuses_the_rest() -> None:
    verify = readme_verify()
    secret, body, stamp = new_secret(), b'{"type":"occurrence.reminder"}', int(time.time())
    ours = {
        "webhook-id": "msg_1_1_0",
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign(secret, "msg_1_1_0", stamp, body),
    }
    theirs = Webhook(secret).sign("msg_1_1_0", datetime.fromtimestamp(stamp, UTC), body.decode())
    assert ours["webhook-signature"] == theirs
    assert verify(secret, ours, body)
    assert verify(secret, ours | {"webhook-signature": f"v1,bm90LXRoaXM= {theirs}"}, body)  # several signatures
    assert not verify(secret, ours, body + b" ")
    assert not verify(new_secret(), ours, body)
    old = stamp - 3600
    replayed = ours | {"webhook-timestamp": str(old), "webhook-signature": sign(secret, "msg_1_1_0", old, body)}
    assert not verify(secret, replayed, body)
