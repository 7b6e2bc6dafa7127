"""What could be a secret: field names, value shapes and URL credentials (one place for validate, the error
messages and publish). A leaf module: it imports nothing from chartgen."""

from __future__ import annotations

import re

#: Unknown keys that look like literal credentials.
CREDENTIAL_KEY = re.compile(
    r"(?i)^(password|passwd|pass|secret|secretkey|secret_key|secretaccesskey|secret_access_key|accesskey|"
    r"access_key|accesskeyid|access_key_id|token|apikey|api_key|privatekey|private_key|jwtsecret|jwt_secret|"
    r"rootkey|root_key|key|serviceaccountkey|connectionstring|sas|sastoken)$"
)
#: ``scheme://user[:password]@host``: credentials in a URL end up in values.yaml, logs and shell history.
#: Any "@" after the scheme counts: a secret with an unencoded "/" (common in AWS secret keys) makes a
#: URL parser read the userinfo as host and path, but the secret is in the text all the same.
URL_USERINFO = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^@\s]*@")
_USERINFO_ANYWHERE = re.compile(r"(?<=//)[^@\s]*@")
#: AWS access key ids (AKIA long-term, ASIA temporary, and the other IAM unique-id prefixes).
AWS_KEY_ID = re.compile(r"(AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA)[A-Z0-9]{16}")
#: Said instead of a value that may be a secret.
NOT_SHOWN = "(the value is not shown: it may be a secret)"


def looks_like_secret(value: str) -> bool:
    """An access key id, or a long random-looking token (an AWS secret key is 40 characters of base64)."""
    if AWS_KEY_ID.fullmatch(value):
        return True
    if len(value) >= 24 and " " not in value:
        classes = sum(bool(re.search(rx, value)) for rx in ("[a-z]", "[A-Z]", "[0-9]", "[^A-Za-z0-9_.-]"))
        runs = re.findall(r"[A-Z]+|[a-z]+|[0-9]+", value)
        # Names such as AWS_SECRET_ACCESS_KEY or azure-storage-key are long too, but made of a few words.
        if classes >= 3 and len(runs) >= len(value) / 3:
            return True
    return False


def sensitive_path(path: tuple) -> bool:
    """Spec fields whose value a message must not repeat: credentials, Secret key names, endpoint URLs."""
    parts = [str(p) for p in path if not isinstance(p, int)]
    if "credentials" in parts:
        return True
    last = parts[-1] if parts else ""
    return last == "key" or last.endswith("Key") or last == "endpoint" or bool(CREDENTIAL_KEY.match(last))


def redact_url(url: str) -> str:
    """``url`` with any ``user:password@`` replaced, for messages."""
    return _USERINFO_ANYWHERE.sub("***@", url)
