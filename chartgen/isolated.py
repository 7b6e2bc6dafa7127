"""Render a chart that chartgen did not make (``diff --against``) in a child process with a memory cap.

Helm's engine builds a template's whole output in memory before chartgen sees any of it: a template that
emits 200 MB takes about 2 GB inside the Go runtime, and no option of the engine stops it earlier. The child
is watched (resident memory from /proc, every few milliseconds) and killed past MAX_RSS_BYTES; what it sends
back is bounded too (manifests.MAX_RENDERED_BYTES applies inside it). Without /proc the cap is not enforced.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from .errors import RenderError

#: The base chart renders in about 100 MiB (Python, the Helm engine, the chart); a chart that needs more than
#: this for one database cluster's manifests is not one.
MAX_RSS_BYTES = 768 * 1024 * 1024
_MAX_REPLY_BYTES = 128 * 1024 * 1024

_CHILD = """
import base64, json, sys
from chartgen import manifests
from chartgen.errors import ChartgenError
req = json.loads(sys.stdin.read())
try:
    source = req["path"] if "path" in req else manifests.load_chart_bytes(base64.b64decode(req["archive"]), req["label"])
    out = {"docs": manifests.render(source, {}, release=req["release"], namespace=req["namespace"],
                                    kube_version=req["kube_version"], api_versions=req["api_versions"])}
except ChartgenError as exc:
    out = {"error": str(exc)}
sys.stdout.write(json.dumps(out))
"""


def _rss(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


def render(source: Path | bytes, *, label: str, release: str, namespace: str, kube_version: str,
           api_versions: list[str], max_rss: int = MAX_RSS_BYTES) -> list[dict]:
    """The manifests of ``source`` (a chart directory or .tgz path, or archive bytes); RenderError when the
    chart cannot be rendered or needs more than ``max_rss`` bytes of memory to render."""
    request: dict = {"release": release, "namespace": namespace, "kube_version": kube_version,
                     "api_versions": list(api_versions), "label": label}
    if isinstance(source, bytes):
        request["archive"] = base64.b64encode(source).decode("ascii")
    else:
        request["path"] = str(source)
    proc = subprocess.Popen([sys.executable, "-c", _CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    reply: dict[str, bytes] = {}

    def talk() -> None:
        try:
            proc.stdin.write(json.dumps(request).encode())
            proc.stdin.close()
            reply["out"] = proc.stdout.read(_MAX_REPLY_BYTES + 1)
            reply["err"] = proc.stderr.read(64 * 1024)
        except OSError:
            pass

    talker = threading.Thread(target=talk, daemon=True)
    talker.start()
    peak = 0
    try:
        while proc.poll() is None:
            rss = _rss(proc.pid) or 0
            peak = max(peak, rss)
            if rss > max_rss:
                proc.kill()
                proc.wait()
                raise RenderError(f"{label}: rendering the chart took more than {max_rss // 1048576} MiB of memory "
                                  "(its templates produce far more than one database cluster's manifests); stopped")
            time.sleep(0.005)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    talker.join(30)
    out = reply.get("out", b"")
    if len(out) > _MAX_REPLY_BYTES:
        raise RenderError(f"{label}: the rendered manifests are too large to compare")
    try:
        data = json.loads(out or b"{}")
    except ValueError:
        data = {}
    if "error" in data:
        raise RenderError(data["error"])
    if "docs" not in data:
        why = " ".join(reply.get("err", b"").decode("utf-8", "replace").split())[-300:]
        raise RenderError(f"{label}: rendering the chart failed (exit {proc.returncode}){': ' + why if why else ''}")
    return data["docs"]
