"""What an error message must never show a client: Python reprs, memory addresses, paths, exception names."""

from __future__ import annotations

import re

LEAKS = {
    "a repr with an address": re.compile(r"<[^<>]* at 0x[0-9a-fA-F]+>"),
    "a memory address": re.compile(r"\b0x[0-9a-fA-F]{6,}\b"),
    "an exception class": re.compile(r"\b[A-Z]\w*(?:Error|Exception|Warning)\b"),
    "a traceback": re.compile(r"Traceback|File \"[^\"]+\", line \d+"),
    "a file path": re.compile(r"(?:/(?:usr|tmp|var|home|opt|root|proc|work|site-packages)/)|\w\.py\b"),
    "a bytes literal": re.compile(r"""\bb['"]"""),
    "an escaped byte": re.compile(r"\\x[0-9a-fA-F]{2}"),
    "a library's internals": re.compile(r"\b(?:PIL|Pillow|PngImagePlugin|MAX_TEXT\w*|python_multipart|botocore)\b"),
}


def leaks(message: str) -> list[str]:
    """What `message` gives away, by name; empty when it is fit for a client."""
    return [name for name, pattern in LEAKS.items() if pattern.search(message)]


def assert_clean_message(message: str) -> None:
    assert not leaks(message), f"{leaks(message)} in {message!r}"
