"""The mail domain as the world sees it: pure parsers and judges of DNS records and the MTA-STS policy.

No network here: :mod:`pytest_smtpsec.probe.dns` asks, these modules read what came back.
"""
