"""The embedded broker's secrets: a CA, the node's TLS certificate and one SCRAM password per principal.

Made on first start in a folder (the broker's data folder unless told otherwise) and kept there, so a restart on
the same data keeps working and `make run`'s clients can be pointed at `ca.pem`. A test session makes one folder
and hands it to every embedded broker it starts (the session's and the runner's), so its admin client reaches
both. Nothing here is for production: there the CA is the utility's and passwords come from its secret store.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from shared.kafka.principals import ADMIN, USERS
from shared.kafka.security import KafkaSecuritySettings

#: Long enough that a developer's data folder never sees its certificate expire.
VALIDITY = dt.timedelta(days=3650)


@dataclass(frozen=True)
class BrokerSecrets:
    """Paths and passwords of one secrets folder."""

    folder: Path
    passwords: dict[str, str]

    @property
    def ca_file(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def keystore_file(self) -> Path:
        """The node's private key and certificate chain, one PEM file (Kafka's `ssl.keystore.type=PEM`)."""
        return self.folder / "broker.pem"

    def client(self, principal: str = ADMIN) -> KafkaSecuritySettings:
        """What a client authenticating as `principal` needs."""
        return KafkaSecuritySettings(
            kafka_security_protocol="SASL_SSL",
            kafka_sasl_mechanism="SCRAM-SHA-512",
            kafka_sasl_username=principal,
            kafka_sasl_password=self.passwords[principal],
            kafka_ssl_cafile=str(self.ca_file),
        )


def ensure_secrets(folder: Path, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> BrokerSecrets:
    """Load the folder's secrets, making what is missing (a new principal gets a password; certificates once)."""
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    passwords_file = folder / "passwords.json"
    passwords: dict[str, str] = json.loads(passwords_file.read_text()) if passwords_file.is_file() else {}
    missing = [user for user in USERS if user not in passwords]
    if missing:
        passwords.update({user: secrets.token_urlsafe(24) for user in missing})
        _write_private(passwords_file, json.dumps(passwords, indent=2, sort_keys=True))
    made = BrokerSecrets(folder, passwords)
    ensure_certificates(made.ca_file, made.keystore_file, hosts)
    return made


def ensure_certificates(ca_file: Path, keystore_file: Path, hosts: tuple[str, ...]) -> bool:
    """Make a CA (`ca_file`, PEM) and the node's key and certificate chain (`keystore_file`, PEM, mode 0600) for
    `hosts` (names or IP addresses; the first is the common name) unless both exist; True when they were made.

    The embedded node calls this on first start; `operations.kafka_certificates` (compose's `kafka-certs` job) for
    the compose broker, so both brokers' TLS is made the same way."""
    if ca_file.is_file() and keystore_file.is_file():
        return False
    _make_certificates(ca_file, keystore_file, hosts)
    return True


def _write_private(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    os.chmod(path, 0o600)


def _make_certificates(ca_file: Path, keystore_file: Path, hosts: tuple[str, ...]) -> None:
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "utility-complaints Kafka CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    _write_private(keystore_file, (key_pem + cert.public_bytes(pem) + ca.public_bytes(pem)).decode())
    ca_file.write_text(ca.public_bytes(pem).decode(), encoding="utf-8")
    # The CA's key is not kept: nothing else is ever signed with it.
