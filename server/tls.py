"""The server's TLS certificate: checked before it is served, and swapped without a restart.

:class:`ServerCertificate` reads ``--tls-cert``/``--tls-key``, refuses a pair gRPC could not
serve (:func:`check_tls_pair`), warns about its dates (:func:`certificate_dates_problem`) and
hands gRPC *dynamic* credentials: gRPC asks them before each new TLS handshake whether the pair
changed, so :meth:`ServerCertificate.reload` (SIGHUP) puts a new pair in front of new connections
while connections already open keep the one they shook hands with. A new pair that fails the
checks is not served: the old one stays, and the reason is logged.
"""

from __future__ import annotations

import hashlib
import logging
import re
import ssl
import threading
import time
from pathlib import Path

import grpc

from splitinfer.sdk._channel import check_certificates
from splitinfer.sdk._errors import InvalidInputError

log = logging.getLogger("splitinfer.server")


class ServerCertificate:
    """``--tls-cert`` and ``--tls-key`` as gRPC serves them; ``InvalidInputError`` from the
    constructor if the pair cannot be served."""

    def __init__(self, cert: str | Path, key: str | Path) -> None:
        self.cert, self.key = cert, key
        # gRPC calls _fetch from its own threads, one handshake at a time or several at once.
        self._lock = threading.Lock()
        self._pending: grpc.ServerCertificateConfiguration | None = None
        self.fingerprint, configuration, self.not_after = load_pair(cert, key)
        self._credentials = grpc.dynamic_ssl_server_credentials(configuration, self._fetch)

    def credentials(self) -> grpc.ServerCredentials:
        return self._credentials

    def reload(self) -> bool:
        """Reads the pair again and, if it passes the checks of start-up, serves it to new
        connections (true); else keeps the pair served now and logs why (false)."""
        try:
            fingerprint, configuration, not_after = load_pair(self.cert, self.key)
        except (InvalidInputError, OSError) as err:  # OSError: a file replaced while it was read
            log.error(
                "splitinfer serve: SIGHUP: kept the TLS certificate served until now (SHA-256 %s): %s",
                self.fingerprint,
                err,
            )
            return False
        with self._lock:
            self._pending = configuration
        log.info(
            "splitinfer serve: SIGHUP: new TLS connections get the certificate of --tls-cert %s "
            "(SHA-256 %s; it was %s); connections already open keep theirs",
            self.cert,
            fingerprint,
            self.fingerprint,
        )
        self.fingerprint, self.not_after = fingerprint, not_after
        return True

    def _fetch(self) -> grpc.ServerCertificateConfiguration | None:
        """gRPC's question before each handshake: the pair to use from now on, or None (no change).
        A pair is handed over once: gRPC keeps it, and building it anew per handshake costs."""
        with self._lock:
            configuration, self._pending = self._pending, None
        return configuration


def load_pair(
    cert: str | Path, key: str | Path
) -> tuple[str, grpc.ServerCertificateConfiguration, float | None]:
    """The SHA-256 fingerprint of ``cert``'s first certificate (as ``openssl x509 -fingerprint
    -sha256`` writes it), the pair as gRPC takes it, once :func:`check_tls_pair` passed it, and
    when the certificate ends (:func:`certificate_dates`); a date problem is logged as a warning,
    as gRPC serves it."""
    cert_pem, key_pem = _read(cert), _read(key)
    certificates = check_tls_pair(cert, key, cert_pem, key_pem)
    problem, not_after = certificate_dates(cert, key, certificates)
    if problem is not None:
        log.warning("splitinfer serve: --tls-cert %s %s", cert, problem)
    # The checks above read the files again by name: gRPC must get the bytes they passed, not a
    # certificate that a renewal wrote in between with the key of the one before.
    if (_read(cert), _read(key)) != (cert_pem, key_pem):
        raise InvalidInputError(
            f"--tls-cert {cert} or --tls-key {key} changed while it was being read; write both, then "
            "send SIGHUP (again)"
        )
    leaf = ssl.PEM_cert_to_DER_cert(certificates.split("\n-----BEGIN CERTIFICATE-----")[0])
    digest = hashlib.sha256(leaf).hexdigest().upper()
    fingerprint = ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))
    return fingerprint, grpc.ssl_server_certificate_configuration([(key_pem, cert_pem)]), not_after


def _read(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as err:
        raise InvalidInputError(f"cannot read TLS file {path}: {err.strerror}") from err


def check_tls_pair(cert: str | Path, key: str | Path, cert_pem: bytes, key_pem: bytes) -> str:
    """``cert``'s PEM certificate blocks (``check_certificates``); raises ``InvalidInputError``
    unless it holds PEM certificates and ``key`` their own unencrypted PEM private key. gRPC itself
    would only fail to listen, without saying why.
    """
    try:
        certificates = check_certificates(cert_pem, f"--tls-cert {cert}")
    except InvalidInputError as err:
        if b"PRIVATE KEY-----" in cert_pem and b"CERTIFICATE-----" in key_pem:
            raise InvalidInputError(
                f"--tls-cert {cert} holds a private key and --tls-key {key} a certificate: are they "
                f"swapped? Pass the certificate chain as --tls-cert and its private key as --tls-key"
            ) from err
        raise InvalidInputError(
            f"{err}; pass the server's certificate chain (-----BEGIN CERTIFICATE-----) as --tls-cert"
        ) from err

    def encrypted() -> bytes:
        raise InvalidInputError(
            f"--tls-key {key} is encrypted with a passphrase, which gRPC cannot use; pass an unencrypted "
            f"copy (e.g. openssl pkey -in {key} -out server-key.pem)"
        )

    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert, key, password=encrypted)
    except ssl.SSLError as err:
        if err.reason == "KEY_VALUES_MISMATCH":
            raise InvalidInputError(
                f"--tls-key {key} and --tls-cert {cert} are not a pair: the key is not the one the "
                "certificate was issued for; pass the certificate's own private key"
            ) from err
        raise InvalidInputError(
            f"--tls-key {key} is not a valid PEM private key ({_ssl_reason(err)}); pass the unencrypted "
            "private key of --tls-cert (-----BEGIN PRIVATE KEY-----) as --tls-key"
        ) from err
    return certificates


# A certificate this close to its end gets a warning at start.
EXPIRY_WARNING_DAYS = 14


def certificate_dates_problem(cert: str | Path, key: str | Path, certificates: str) -> str | None:
    """What is wrong with the dates of the server's certificate, or ``None``: expired and not
    yet valid (every TLS client refuses it), or ending within ``EXPIRY_WARNING_DAYS``.
    ``certificates``: the PEM blocks of ``cert``, as ``check_tls_pair`` returns them."""
    return certificate_dates(cert, key, certificates)[0]


def certificate_dates(
    cert: str | Path, key: str | Path, certificates: str
) -> tuple[str | None, float | None]:
    """``certificate_dates_problem``'s answer, and when the certificate ends (seconds since the
    epoch) if it is valid now: 0.0 when it is expired or not yet valid (every client refuses it),
    ``None`` when its dates could not be judged.

    OpenSSL reads the dates in a handshake in memory between this certificate and a client that
    trusts it as it stands (a partial chain), so no X.509 parser is needed. Other verification
    failures (a purpose, a chain) are not judged here: the server's clients judge them."""
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.check_hostname = False
    client.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    client.load_verify_locations(cadata=certificates)
    to_server, to_client = ssl.MemoryBIO(), ssl.MemoryBIO()
    server_side = server.wrap_bio(to_server, to_client, server_side=True)
    client_side = client.wrap_bio(to_client, to_server, server_side=False)
    for _ in range(8):
        finished = 0
        for side in (client_side, server_side):
            try:
                side.do_handshake()
                finished += 1
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLCertVerificationError as err:
                if err.verify_code in (9, 10):  # X509_V_ERR_CERT_NOT_YET_VALID, _HAS_EXPIRED
                    return f"{err.verify_message}: every TLS client will refuse it; renew it", 0.0
                return None, None
            except ssl.SSLError:
                return None, None
        if finished == 2:
            break
    else:
        return None, None
    ends = float(ssl.cert_time_to_seconds(client_side.getpeercert()["notAfter"]))
    days = (ends - time.time()) / 86400
    if days < EXPIRY_WARNING_DAYS:
        return f"expires in {days:.1f} days; renew it before then, or every TLS client will refuse it", ends
    return None, ends


def _ssl_reason(err: Exception) -> str:
    """OpenSSL's words for ``err``, without the source location."""
    text = str(err.args[-1] if err.args else err)
    return re.sub(r"\s*\(_ssl\.c:\d+\)$", "", text)
