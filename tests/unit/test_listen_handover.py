"""Issue 26, the runner's port race: a service serves the listening socket the embedded runner bound and handed it
(`SERVICE_LISTEN_FD`, `shared.runtime.serve`), so no other process can take its port between the choice and the
bind. Proven with a real child process given the port number too: had it tried to bind the port itself, the
runner's socket would have refused it ("address already in use")."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.support.ports import bound_socket, port_of

REPO = Path(__file__).resolve().parents[2]
CHILD = """
from fastapi import FastAPI
from shared.runtime import serve
app = FastAPI()
@app.get("/which")
async def which() -> dict[str, int]:
    import os
    return {"pid": os.getpid()}
serve(app, service="handover-test", host="127.0.0.1", port=int(__import__("sys").argv[1]), log_level="warning")
"""


def test_the_child_serves_the_socket_it_was_handed_and_binds_nothing() -> None:
    listener = bound_socket()
    listener.listen(64)
    port = port_of(listener)
    env = {**os.environ, "SERVICE_LISTEN_FD": str(listener.fileno()), "PYTHONPATH": str(REPO)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(port)], env=env, pass_fds=(listener.fileno(),), cwd=REPO)
    try:
        deadline, answer = time.monotonic() + 30, None
        while answer is None:
            assert child.poll() is None, "the child exited: it did not take the handed socket"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/which", timeout=2) as response:
                    answer = response.read()
            except OSError:
                assert time.monotonic() < deadline, "the child never answered on the handed socket"
                time.sleep(0.1)
        assert str(child.pid).encode() in answer, "the answer came from the child"
    finally:
        child.terminate()
        child.wait(timeout=15)
        listener.close()
