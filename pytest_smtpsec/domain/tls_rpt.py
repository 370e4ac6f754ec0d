"""TLS-RPT (RFC 8460): the ``_smtp._tls.<domain>`` TXT record that says where TLS failure reports go."""

from __future__ import annotations

from dataclasses import dataclass


class RecordError(ValueError):
    """A record a reporter would ignore, said in one line."""


@dataclass(frozen=True)
class TlsRptRecord:
    rua: tuple[str, ...]


def tls_rpt_records(texts: list[str]) -> list[str]:
    """The TXT strings that claim to be TLS-RPT records (those starting ``v=TLSRPTv1``)."""
    return [text for text in texts if text.startswith("v=TLSRPTv1")]


def parse_tls_rpt(text: str) -> TlsRptRecord:
    """``v=TLSRPTv1; rua=mailto:...,https://...`` (RFC 8460 3): every rua a mailto: or https: URI."""
    fields = [part.strip() for part in text.strip().rstrip(";").split(";")]
    if fields[0] != "v=TLSRPTv1":
        raise RecordError(f"does not start with v=TLSRPTv1: {text!r}")
    values = dict(field.partition("=")[::2] for field in fields[1:])
    rua = values.get("rua", "").strip()
    if not rua:
        raise RecordError("no rua= field: reports would go nowhere")
    uris = tuple(uri.strip() for uri in rua.split(","))
    for uri in uris:
        if uri.startswith("mailto:") and "@" in uri[7:]:
            continue
        if uri.startswith("https://") and len(uri) > 8:
            continue
        raise RecordError(f"rua must be mailto:address or https://..., not {uri!r}")
    return TlsRptRecord(uris)
