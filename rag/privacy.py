"""Personal data: found and redacted before anything is logged or stored (messages can become allmän handling)."""

from __future__ import annotations

import re

_PERSONNUMMER = re.compile(r"(?<!\d)(?:19|20)?\d{6}[-+ ]?\d{4}(?!\d)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<![\w])(?:\+46[\s-]?(?:\(0\)[\s-]?)?|0)\d{1,3}(?:[\s-]?\d){5,8}(?!\d)")

PATTERNS = (("[personnummer]", _PERSONNUMMER), ("[e-post]", _EMAIL), ("[telefonnummer]", _PHONE))


def find_personal_data(text: str) -> list[str]:
    """The kinds of personal data found in a text, e.g. ['personnummer', 'e-post']."""
    return [label.strip("[]") for label, pattern in PATTERNS if pattern.search(text)]


def redact(text: str) -> str:
    for label, pattern in PATTERNS:
        text = pattern.sub(label, text)
    return text
