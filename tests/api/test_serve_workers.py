"""`wom serve` with `[api] workers = 2`: two processes answer on one port, each with the config's settings."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from monitor.storage.api_keys import create_api_key
from monitor.storage.db import connect, upgrade_schema


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in children.read_text().split()] if children.exists() else []


def test_two_worker_processes_serve_the_api(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'wom.db'}"
    engine = connect(url)
    upgrade_schema(engine)
    key = create_api_key(engine, role="viewer", label="tests").key
    engine.dispose()
    port = _free_port()
    config = tmp_path / "wom.toml"
    config.write_text(f'[database]\nurl = "{url}"\n\n[api]\nport = {port}\nworkers = 2\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WOM_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "--config", str(config), "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "wom serve with 2 workers did not come up"
            time.sleep(0.2)
        answers = []
        for _ in range(6):  # a new connection each time, so both workers may take one
            with httpx.Client(base_url=base) as client:
                answers.append(client.get("/api/v1/brands", headers={"Authorization": f"Bearer {key}"}))
                assert client.get("/api/v1/brands").status_code == 401
        assert [a.status_code for a in answers] == [200] * 6
        assert all(a.json() == {"items": []} for a in answers)
        if Path("/proc").exists():  # the parent supervises; the workers are its children
            assert len(_children(server.pid)) >= 2
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
