"""A private Dovecot IMAP server (Debian's `dovecot-imapd`, `make dovecot`) for the mailbox tests: its own
configuration, passwd-file user, Maildir and logs in a temp dir, on a free port, plaintext login on loopback.

It runs as whoever runs the tests: as root the mail processes run as root too (`first_valid_uid = 0`), as another
user every service is that user and nothing needs root. `stop()` then `start()` again is a real restart of the
server on the same port and mail store: what the reader must survive.
"""

from __future__ import annotations

import getpass
import grp
import imaplib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.ports import LOCALHOST, free_port

DOVECOT = Path("/usr/sbin/dovecot")
USER = "complaints"
PASSWORD = "dev-only-mailbox-password"


class DovecotError(RuntimeError):
    """Dovecot is missing, or did not start (carries its log)."""


def available() -> bool:
    """Whether `make dovecot` has run here (`make test` runs it first)."""
    return DOVECOT.exists()


def _users() -> tuple[str, str, str]:
    """(internal user, its group, login user): the package's unprivileged users as root (Dovecot refuses to run its
    login processes as root), else whoever runs the tests."""
    if os.getuid() == 0:
        return "dovecot", "dovecot", "dovenull"
    user = getpass.getuser()
    return user, grp.getgrgid(os.getgid()).gr_name, user


def _mail_ids() -> tuple[int, int]:
    """The uid and gid the mail is stored as: never 0 (Dovecot refuses root's mail), so `nobody` when root."""
    if os.getuid() == 0:
        nobody = pwd.getpwnam("nobody")
        return nobody.pw_uid, nobody.pw_gid
    return os.getuid(), os.getgid()


def _config(root: Path, port: int) -> str:
    internal, group, login = _users()
    uid, gid = _mail_ids()
    return f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = {LOCALHOST}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal}
default_internal_group = {group}
default_login_user = {login}
first_valid_uid = {uid}
last_valid_uid = {uid}
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = {LOCALHOST}
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


class Dovecot:
    """One private server: `start()`, `append()` mail as a client would deliver it, `stop()`, `close()`."""

    def __init__(self) -> None:
        if not available():
            raise DovecotError(f"{DOVECOT} is missing: run `make dovecot` (as root)")
        self.root = Path(tempfile.mkdtemp(prefix="dovecot-"))
        # Dovecot's unprivileged processes (as root: users dovecot, dovenull) read the sockets and the passwd file.
        self.root.chmod(0o755)
        for folder in ("mail", "home"):
            (self.root / folder).mkdir()
            os.chown(self.root / folder, *_mail_ids())
        self.port = free_port()
        self.host = LOCALHOST
        self.user, self.password = USER, PASSWORD
        (self.root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        (self.root / "dovecot.conf").write_text(_config(self.root, self.port))
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 20.0) -> None:
        self._process = subprocess.Popen(
            [str(DOVECOT), "-F", "-c", str(self.root / "dovecot.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise DovecotError(f"dovecot exited {self._process.returncode}: {self._log()}")
            if self._greets():
                return
            time.sleep(0.05)
        self.stop()
        raise DovecotError(f"dovecot did not answer on port {self.port} within {timeout_s} s: {self._log()}")

    def stop(self) -> None:
        """Stop the server (master and every child: they share its session) and wait for it."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def append(self, raw: bytes, mailbox: str = "INBOX") -> None:
        """Deliver a mail the way a client files one (IMAP APPEND): the reader's IDLE hears of it."""
        with imaplib.IMAP4(self.host, self.port, timeout=10) as client:
            client.login(self.user, self.password)
            client.append(mailbox, "", imaplib.Time2Internaldate(time.time()), raw)
            client.logout()

    def highest_uid(self, mailbox: str = "INBOX") -> int:
        """The UID of the newest mail in `mailbox` (0 when empty)."""
        with imaplib.IMAP4(self.host, self.port, timeout=10) as client:
            client.login(self.user, self.password)
            client.select(mailbox, readonly=True)
            _, found = client.uid("SEARCH", "ALL")
            client.logout()
        uids = [int(u) for u in (found[0] or b"").split()]
        return max(uids, default=0)

    def _greets(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=1) as conn:
                return conn.recv(64).startswith(b"* OK")
        except OSError:
            return False

    def _log(self) -> str:
        log = self.root / "dovecot.log"
        stderr = self._process.stderr.read().decode(errors="replace") if self._process and self._process.stderr else ""
        return (log.read_text(errors="replace")[-2000:] if log.exists() else "") + stderr[-2000:]
