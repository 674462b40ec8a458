"""The compose broker's secrets and configuration: its CA and certificate, its server.properties and the start script
that formats its storage with a SCRAM credential for every principal.

Why: compose runs the same secured node as `make run` (SASL_SSL only, SCRAM-SHA-512, StandardAuthorizer deny by
default, `admin` the super user). The certificates are made by the embedded node's code
(`embedded.kafka_security.ensure_certificates`), the settings are the embedded node's (`embedded.broker.node_config`),
and the `--add-scram` arguments list every user of `shared.kafka.principals`, so the three cannot drift apart.
Compose's one-shot `kafka-certs` job runs:

    python -m operations.kafka_certificates --out /kafka/secured --ca-out /certs/kafka --host kafka --owner 1000:1000

Passwords come from the environment, one per principal: `KAFKA_PASSWORD_<NAME>` (`KAFKA_PASSWORD_ADMIN`,
`KAFKA_PASSWORD_INTAKE`, ..., `KAFKA_PASSWORD_OUTAGE_SYSTEM`, `KAFKA_PASSWORD_PARTNER_12345`), URL-safe. Writes
into `--out` (read by the broker only: mode 0600, owned by `--owner`, the uid the apache/kafka image runs as):

- `broker.pem`: the node's key and certificate chain; `ca.pem`: the CA (made once, then kept: the trust never
  changes on a restart; delete both for new ones);
- `server.properties`: the node's settings (rewritten each run);
- `admin.properties`: client settings of the admin for Kafka's own tools (the healthcheck);
- `start.sh`: `kafka-storage format --ignore-formatted` with the SCRAM credentials (a no-op once formatted), then
  `kafka-server-start`. Credentials enter the metadata when storage is formatted: a principal added or a password
  changed later is set with `kafka-configs --alter` (deploy/README.md).

and `ca.pem` alone into `--ca-out` (mode 0644): what every client mounts (`KAFKA_SSL_CAFILE`).
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

from embedded.broker import node_config, scram_arguments
from embedded.kafka_security import ensure_certificates
from shared.kafka.principals import ADMIN, USERS

#: Where the apache/kafka image keeps its scripts.
KAFKA_HOME = "/opt/kafka"
#: The broker's listeners, as compose names them: clients at <host>:9092, the controller quorum at <host>:9093.
CLIENT_PORT = 9092
CONTROLLER_PORT = 9093


def password_variable(user: str) -> str:
    """The environment variable holding `user`'s SCRAM password: KAFKA_PASSWORD_<NAME>, `-` as `_`."""
    return "KAFKA_PASSWORD_" + user.upper().replace("-", "_")


#: What a password may hold: it sits inside `--add-scram 'SCRAM-SHA-512=[name=…,password=…]'` and a JAAS line's
#: double quotes, where `,`, `]` or `"` would cut it short.
_PASSWORD = re.compile(r"[A-Za-z0-9._~-]+")


def passwords_from(environ: Mapping[str, str]) -> dict[str, str]:
    """Every principal's password from `environ`; ValueError naming each variable missing, empty or not URL-safe
    (letters, digits, `-`, `_`, `.`, `~`)."""
    missing = [password_variable(user) for user in USERS if not environ.get(password_variable(user))]
    if missing:
        raise ValueError(f"no Kafka password in {', '.join(missing)}")
    unsafe = [password_variable(u) for u in USERS if not _PASSWORD.fullmatch(environ[password_variable(u)])]
    if unsafe:
        raise ValueError(f"Kafka passwords must be URL-safe (letters, digits, - _ . ~): {', '.join(unsafe)}")
    return {user: environ[password_variable(user)] for user in USERS}


def _properties(settings: Mapping[str, str]) -> str:
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def write_broker_files(out: Path, host: str, passwords: Mapping[str, str], log_dirs: str) -> dict[str, Path]:
    """Certificates (kept once made), server.properties, admin.properties and start.sh in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    files = {name: out / name for name in ("ca.pem", "broker.pem", "server.properties", "admin.properties", "start.sh")}
    ensure_certificates(files["ca.pem"], files["broker.pem"], (host, "localhost"))
    admin = passwords[ADMIN]
    settings = node_config(
        listener=f":{CLIENT_PORT}",
        advertised=f"{host}:{CLIENT_PORT}",
        controller=f"{host}:{CONTROLLER_PORT}",
        controller_bind=f":{CONTROLLER_PORT}",
        log_dirs=log_dirs,
        keystore=str(files["broker.pem"]),
        truststore=str(files["ca.pem"]),
        admin_password=admin,
    )
    files["server.properties"].write_text(_properties(settings), encoding="utf-8")
    files["admin.properties"].write_text(
        _properties(
            {
                "security.protocol": "SASL_SSL",
                "sasl.mechanism": "SCRAM-SHA-512",
                "sasl.jaas.config": (
                    f'org.apache.kafka.common.security.scram.ScramLoginModule required username="{ADMIN}" '
                    f'password="{admin}";'
                ),
                "ssl.truststore.type": "PEM",
                "ssl.truststore.location": str(files["ca.pem"]),
            }
        ),
        encoding="utf-8",
    )
    config = shlex.quote(str(files["server.properties"]))
    format_command = shlex.join(
        [
            f"{KAFKA_HOME}/bin/kafka-storage.sh",
            "format",
            "--ignore-formatted",
            "--config",
            str(files["server.properties"]),
        ]
    )
    scram = " ".join(shlex.quote(arg) for arg in scram_arguments(passwords))
    files["start.sh"].write_text(
        "#!/bin/sh\n"
        "# Written by operations.kafka_certificates: format once with every principal's SCRAM credential, then run.\n"
        "set -eu\n"
        f'{format_command} --cluster-id "${{CLUSTER_ID:?set CLUSTER_ID}}" {scram}\n'
        f"exec {KAFKA_HOME}/bin/kafka-server-start.sh {config}\n",
        encoding="utf-8",
    )
    for path in files.values():
        path.chmod(0o600)  # passwords and the node's key: the broker's only
    return files


def main(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m operations.kafka_certificates", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("--out", type=Path, required=True, help="the broker's folder (its secrets and config)")
    parser.add_argument("--ca-out", type=Path, required=True, help="folder for ca.pem alone, mounted by clients")
    parser.add_argument("--host", required=True, help="the name clients dial (the certificate's name)")
    parser.add_argument("--log-dirs", default="/var/lib/kafka/data", help="the broker's log.dirs")
    parser.add_argument("--owner", help="uid:gid to own the broker's files (the uid the broker runs as)")
    args = parser.parse_args(argv)
    try:
        passwords = passwords_from(os.environ if environ is None else environ)
    except ValueError as exc:
        print(f"kafka_certificates: {exc}", file=sys.stderr)
        return 1
    files = write_broker_files(args.out, args.host, passwords, args.log_dirs)
    if args.owner:
        uid, _, gid = args.owner.partition(":")
        for path in (args.out, *files.values()):
            os.chown(path, int(uid), int(gid or uid))
    args.ca_out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(files["ca.pem"], args.ca_out / "ca.pem")
    (args.ca_out / "ca.pem").chmod(0o644)
    print(f"wrote {', '.join(files)} in {args.out}; ca.pem in {args.ca_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
