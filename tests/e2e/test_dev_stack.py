"""`cloudinfer dev` (what `make dev` runs), driven as a user would: it starts, the examples
become Ready, kubectl works with its kubeconfig, and SIGTERM stops every process it started."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from cloudinfer.controlplane.kubectl import kubectl
from cloudinfer.controlplane.local import free_port
from tests.support import wait_for

ROOT = Path(__file__).resolve().parents[2]


def test_dev_stack(tmp_path: Path) -> None:
    port = free_port()
    examples = tmp_path / "examples"
    shutil.copytree(ROOT / "deploy" / "examples", examples)
    for manifest in examples.glob("*.yaml"):  # the examples point at the default port
        manifest.write_text(manifest.read_text().replace("127.0.0.1:18080", f"127.0.0.1:{port}"))
    state = tmp_path / "state"
    out = tmp_path / "dev.out"
    with open(out, "wb") as sink:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cloudinfer",
                "dev",
                f"--dir={state}",
                f"--examples={examples}",
                f"--emulator-port={port}",
                "--deploy-seconds=2",
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        wait_for(
            lambda: proc.poll() is not None or "[dev] ready" in out.read_text(),
            180,
            "the dev stack to say it is ready",
        )
        text = out.read_text()
        assert proc.poll() is None, text
        assert "inferenceservice.cloudinfer.io/echo-canary" in text and "Available" in text
        items = json.loads(kubectl(state / "kubeconfig", "get", "cisvc", "-A", "-o", "json").stdout)
        ready = {
            i["metadata"]["name"]
            for i in items["items"]
            if any(
                c["type"] == "Ready" and c["status"] == "True" for c in i["status"]["conditions"]
            )
        }
        assert ready == {"echo", "echo-canary", "echo-custom", "echo-modelarts"}
        instances = json.loads(
            kubectl(state / "kubeconfig", "get", "cisi", "-A", "-o", "json").stdout
        )
        [chat] = instances["items"]
        assert chat["metadata"]["name"] == "llama-chat" and chat["status"]["url"]
        assert any(
            c["type"] == "Ready" and c["status"] == "True" for c in chat["status"]["conditions"]
        )
        algorithms = json.loads(
            kubectl(state / "kubeconfig", "get", "cias", "-A", "-o", "json").stdout
        )
        [detection] = algorithms["items"]
        assert detection["metadata"]["name"] == "intrusion-detection"
        assert detection["status"]["serviceApis"] and detection["status"]["serviceId"]
        assert any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in detection["status"]["conditions"]
        )
        shared = json.loads(
            kubectl(state / "kubeconfig", "get", "cicpc", "eas-shared", "-o", "json").stdout
        )
        assert any(
            c["type"] == "Ready" and c["status"] == "True" for c in shared["status"]["conditions"]
        )
        assert (state / "emulator" / "eas.json").exists()  # emulator state persists here
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    assert "[dev] stopped" in out.read_text()
    leftovers = subprocess.run(["pgrep", "-f", str(state)], capture_output=True, text=True).stdout
    assert leftovers == "", f"processes left behind: {leftovers}"
