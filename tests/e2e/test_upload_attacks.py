"""Upload attacks against a real server (issue 10, findings 3 and 10): refused, in bounded
memory, and an upload cut short by SIGKILL leaves no folder behind past the next start."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from shipyard.workspace.uploads import UPLOADS_FOLDER
from tests.fixtures.servers import Server, credentials, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(240)]
SCRIPT = Path(__file__).parents[2] / "benchmarks" / "upload_attacks.py"
TARGET_MB = 500


def test_the_upload_attacks_are_refused_and_the_server_stays_under_500_mb(tmp_path):
    out = tmp_path / "attacks.json"
    argv = [sys.executable, str(SCRIPT), "--attacks", "gzip_bomb", "one_field", "wide"]
    argv += ["--workdir", str(tmp_path), "--json", str(out)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=200, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    results = {r["attack"]: r for r in json.loads(out.read_text())["results"]}

    bomb = results["gzip_bomb"]
    assert bomb["status"] == 413
    assert "decompresses to more than 100 times its size" in bomb["error"]
    assert bomb["error"].startswith("bomb.csv.gz")  # not where the server put it
    assert bomb["peak_rss_sum_mb"] < TARGET_MB  # was 5.9 GB
    one_field = results["one_field"]
    assert (one_field["status"], one_field["seconds"] < 10) == (413, True)
    assert "larger than the limit of 64 MiB" in one_field["error"]
    assert one_field["peak_rss_sum_mb"] < TARGET_MB  # was 2.65 GB
    wide = results["wide"]
    assert wide["status"] == 413
    assert "100,000 columns; the limit is 2,000" in wide["error"]
    assert wide["peak_rss_sum_mb"] < TARGET_MB  # was 1.6 GB


def _upload_in_background(url: str, headers: dict[str, str], path: Path) -> threading.Thread:
    def send() -> None:
        # The server is killed under it: no answer comes.
        with (
            path.open("rb") as handle,
            httpx.Client(timeout=120) as client,
            contextlib.suppress(httpx.TransportError),
        ):
            client.post(
                f"{url}/api/v1/datasets",
                headers=headers,
                data={"name": "cut-short"},
                files={"file": (path.name, handle, "text/csv")},
            )

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def test_an_upload_cut_short_by_sigkill_is_swept_when_the_server_starts_again(tmp_path):
    table = tmp_path / "big.csv"
    with table.open("w") as out:  # ~40 MB: seconds to register, time to kill the server
        out.write("a,b,c,d,e\n")
        out.writelines(
            f"{i},{i * 7 % 13},{i % 5},x{i % 97},{i / 3:.4f}\n" for i in range(1_400_000)
        )
    folder = tmp_path / "ws"
    server = Server(folder, tmp_path / "server.log")
    headers = server.login(**credentials(folder))
    uploads = folder / UPLOADS_FOLDER
    sender = _upload_in_background(server.url, headers, table)
    left = wait_until(lambda: list(uploads.glob("shipyard-upload-*")), 60, "an upload folder")
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(30)
    server.http.close()
    sender.join(30)
    assert [p for p in left if p.exists()], "the killed upload's folder is gone already"

    again = Server(folder, tmp_path / "server-again.log")
    try:
        assert list(uploads.glob("shipyard-upload-*")) == []
        assert again.http.get("/api/v1/health").status_code == 200
    finally:
        again.stop()
