"""The certificate chain a server sent, leaf first, as DER.

Python 3.13 exposes it (``get_unverified_chain``); older CPythons give only the leaf, which would judge
trust and key strength on the leaf alone (an RSA-1024 intermediate would pass unseen). There we ask the
process's own OpenSSL through ``ctypes`` for ``SSL_get_peer_cert_chain``, after checking that the
``SSL *`` we read sits where CPython 3.11/3.12 keep it (the next field must be the context object).
Anything unexpected gives the leaf alone, never a crash.
"""

from __future__ import annotations

import ctypes
import ssl
import sys
from functools import cache
from pathlib import Path


def peer_chain(tls: ssl.SSLObject) -> tuple[bytes, ...]:
    """The certificates the server sent, leaf first (the leaf alone where this Python cannot say more)."""
    sslobj = getattr(tls, "_sslobj", None)
    unverified = getattr(sslobj, "get_unverified_chain", None)
    if unverified is not None:
        return tuple(cert.public_bytes(ssl._ssl.ENCODING_DER) for cert in unverified() or [])  # type: ignore[attr-defined]
    leaf = tls.getpeercert(binary_form=True)
    if not leaf:
        return ()
    chain = _chain_by_ctypes(sslobj)
    return chain if chain and chain[0] == leaf else (leaf,)


@cache
def _libraries() -> tuple[ctypes.CDLL, ctypes.CDLL] | None:
    """The libssl and libcrypto this process's ``_ssl`` module runs on (Linux: read from /proc/self/maps)."""
    if sys.implementation.name != "cpython" or sys.version_info[:2] not in ((3, 11), (3, 12)):
        return None
    try:
        maps = Path("/proc/self/maps").read_text().splitlines()
    except OSError:
        return None
    paths = {line.split()[-1] for line in maps if "/lib" in line and ".so" in line}
    ssl_path = next((p for p in paths if Path(p).name.startswith("libssl.so")), None)
    crypto_path = next((p for p in paths if Path(p).name.startswith("libcrypto.so")), None)
    if ssl_path is None or crypto_path is None:
        return None
    try:
        libssl, libcrypto = ctypes.CDLL(ssl_path), ctypes.CDLL(crypto_path)
        libssl.SSL_get_peer_cert_chain.restype = ctypes.c_void_p
        libssl.SSL_get_peer_cert_chain.argtypes = [ctypes.c_void_p]
        libcrypto.OPENSSL_sk_num.restype = ctypes.c_int
        libcrypto.OPENSSL_sk_num.argtypes = [ctypes.c_void_p]
        libcrypto.OPENSSL_sk_value.restype = ctypes.c_void_p
        libcrypto.OPENSSL_sk_value.argtypes = [ctypes.c_void_p, ctypes.c_int]
        libcrypto.i2d_X509.restype = ctypes.c_int
        libcrypto.i2d_X509.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.POINTER(ctypes.c_ubyte))]
    except (OSError, AttributeError):
        return None
    return libssl, libcrypto


def _chain_by_ctypes(sslobj: object) -> tuple[bytes, ...]:
    libraries = _libraries()
    context = getattr(sslobj, "context", None)
    if libraries is None or sslobj is None or context is None:
        return ()
    libssl, libcrypto = libraries
    word = ctypes.sizeof(ctypes.c_void_p)
    # struct PySSLSocket { PyObject_HEAD; PyObject *Socket; SSL *ssl; PySSLContext *ctx; ... }
    if ctypes.c_void_p.from_address(id(sslobj) + 4 * word).value != id(context):
        return ()  # not the layout we know: do not touch the pointer
    ssl_pointer = ctypes.c_void_p.from_address(id(sslobj) + 3 * word).value
    stack = libssl.SSL_get_peer_cert_chain(ssl_pointer) if ssl_pointer else None
    if not stack:
        return ()
    chain = []
    for i in range(min(libcrypto.OPENSSL_sk_num(stack), 16)):
        x509 = libcrypto.OPENSSL_sk_value(stack, i)
        size = libcrypto.i2d_X509(x509, None)
        if size <= 0:
            return ()
        buffer = (ctypes.c_ubyte * size)()
        cursor = ctypes.cast(buffer, ctypes.POINTER(ctypes.c_ubyte))
        libcrypto.i2d_X509(x509, ctypes.byref(cursor))
        chain.append(bytes(buffer))
    return tuple(chain)
