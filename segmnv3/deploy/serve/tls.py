"""A self-signed certificate for ``serve --https`` (camera and WASM threads on a phone need
a secure context; plain HTTP is one only on localhost).

Made with the ``cryptography`` package when it is installed, else with the ``openssl``
command; the caller says which, since the phone will ask the user to trust it.
"""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import ssl
import subprocess
from pathlib import Path

from segmnv3.core.errors import UserError

DAYS = 30


def self_signed_context(folder: Path, hosts: list[str]) -> tuple[ssl.SSLContext, str]:
    """A server TLS context with a new self-signed certificate for ``hosts``.

    Returns:
        The context and the tool that made the certificate (``cryptography`` / ``openssl``).

    Raises:
        UserError: neither ``cryptography`` nor the ``openssl`` command is available.
    """
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / "cert.pem", folder / "key.pem"
    try:
        _with_cryptography(cert, key, hosts)
        tool = "cryptography"
    except ImportError:
        _with_openssl(cert, key, hosts)
        tool = "openssl"
    key.chmod(0o600)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context, tool


def _alt_names(hosts: list[str]) -> list[str]:
    names = ["DNS:localhost", "IP:127.0.0.1"]
    for host in hosts:
        try:
            ipaddress.ip_address(host)
            entry = f"IP:{host}"
        except ValueError:
            entry = f"DNS:{host}"
        if entry not in names:
            names.append(entry)
    return names


def _with_openssl(cert: Path, key: Path, hosts: list[str]) -> None:
    if shutil.which("openssl") is None:
        raise UserError(
            "--https needs a certificate: install the `cryptography` package "
            "(pip install cryptography) or the openssl command (apt-get install openssl)"
        )
    command = [
        "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256",
        "-days", str(DAYS), "-subj", "/CN=segmnv3 serve",
        "-addext", "subjectAltName=" + ",".join(_alt_names(hosts)),
        "-keyout", str(key), "-out", str(cert),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise UserError(f"--https: openssl could not make a certificate ({last})")


def _with_cryptography(cert: Path, key: Path, hosts: list[str]) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "segmnv3 serve")])
    alt = []
    for entry in _alt_names(hosts):
        kind, value = entry.split(":", 1)
        alt.append(
            x509.IPAddress(ipaddress.ip_address(value)) if kind == "IP" else x509.DNSName(value)
        )
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=DAYS))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .sign(private, hashes.SHA256())
    )
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
