"""Typed errors for DataHub messages.

Both are :class:`meterbench.core.errors.UserError`: a message file that cannot be read is a mistake in
something the user gave us, so the CLI prints one line naming the file and exits 2. A message that
*parses* but breaks a business rule is not an error at all: it yields ``Rejection`` values.
"""

from __future__ import annotations

from meterbench.core.errors import UserError


class MalformedMessage(UserError):
    """The file is not a readable RSM-012 message (bad JSON/XML, wrong root, missing field)."""


class UnsafeXml(MalformedMessage):
    """The XML uses a DTD, entities or external references: refused before anything is expanded."""
