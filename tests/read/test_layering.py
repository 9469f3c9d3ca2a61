"""The read model stands below the faces: importing it loads neither the API, the dashboard, the CLI nor
FastAPI (checked in a fresh interpreter, so nothing else has loaded them first)."""

from __future__ import annotations

import subprocess
import sys

READ_MODULES = ("alerts", "authors", "brands", "mentions", "metrics", "paging", "rankings", "series")


def test_importing_the_read_model_loads_no_face() -> None:
    script = (
        "import sys\n"
        + "".join(f"import monitor.read.{name}\n" for name in READ_MODULES)
        + "faces = ('api', 'dashboards', 'monitor.cli', 'fastapi')\n"
        + "print(sorted(m for m in sys.modules if m.split('.')[0] in faces or m.startswith('monitor.cli')))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
