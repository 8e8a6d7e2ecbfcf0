"""Conformance against Energinet's official RSM-012 schemas (CIM JSON and CIM XML).

The project does not ship the schemas (they are Energinet's, Apache-2.0, published in
Energinet-DataHub/opengeh-edi); the user names a folder laid out as ``DIR/json/*.schema.json`` and
``DIR/xml/*.xsd``: ``--schemas DIR`` on a command, or the environment variable
``METERBENCH_DATAHUB_SCHEMAS`` for every command and the shipped delivery suite. Without them the
BRS-021 business rules are still checked in full. JSON: the three files are
loaded into one :mod:`referencing` registry under their own ``$id`` (they reference each other by
relative URI), read as ``utf-8-sig`` because they start with a byte-order mark. XML: the entry
point ``urn-ediel-org-measure-notifyvalidatedmeasuredata-0-1.xsd`` imports the code lists by
relative ``schemaLocation``; loading is sandboxed to the schema folder (nothing is fetched).
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

JSON_ENTRY = "Notify-Validated-measure-data-assembly-model.schema.json"
XML_ENTRY = "urn-ediel-org-measure-notifyvalidatedmeasuredata-0-1.xsd"
#: The environment variable naming the schema folder when no ``--schemas`` is given.
SCHEMAS_ENV = "METERBENCH_DATAHUB_SCHEMAS"


#: The libraries schema validation needs (the ``datahub`` extra of the package).
VALIDATOR_MODULES = ("jsonschema", "referencing", "xmlschema")


def missing_validator_modules() -> list[str]:
    """Which of :data:`VALIDATOR_MODULES` are not installed (schema checks need all of them)."""
    return [name for name in VALIDATOR_MODULES if importlib.util.find_spec(name) is None]


def is_schema_dir(folder: Path) -> bool:
    return (folder / "json" / JSON_ENTRY).is_file() and (folder / "xml" / XML_ENTRY).is_file()


def find_schema_dir(candidates: Iterable[Path] | None = None) -> Path | None:
    """The first of ``candidates`` holding both schema sets; by default the folder
    ``$METERBENCH_DATAHUB_SCHEMAS`` names, if any (None: validate business rules only)."""
    if candidates is None:
        named = os.environ.get(SCHEMAS_ENV, "").strip()
        candidates = (Path(named),) if named else ()
    for folder in candidates:
        if is_schema_dir(folder):
            return folder.resolve()
    return None


class SchemaValidator:
    """Validates message text against the schemas in one folder; errors as short strings."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._json = _json_validator(str(self.folder.resolve()))
        self._xml: Any = None

    def json_errors(self, text: str) -> list[str]:
        """Schema violations of CIM JSON ``text`` (already known to be valid JSON)."""
        instance = json.loads(text.removeprefix("\ufeff"))
        errors = sorted(self._json.iter_errors(instance), key=lambda e: list(e.absolute_path))
        return [_json_error_text(e) for e in errors]

    def xml_errors(self, root: Any) -> list[str]:
        """Schema violations of a CIM XML document given as its (safely parsed) root element."""
        if self._xml is None:
            self._xml = _xml_schema(str(self.folder.resolve()))
        namespace = "{" + root.tag[1:].split("}")[0] + "}" if root.tag.startswith("{") else None
        out = []
        for error in self._xml.iter_errors(root):
            path = error.path or "/"
            if namespace:
                path = path.replace(namespace, "")
            out.append(f"{path}: {error.reason or error.message}")
        return out


def _json_error_text(error: Any) -> str:
    path = "/".join(str(p) for p in error.absolute_path) or "(root)"
    message = error.message
    if len(message) > 300:
        message = message[:300] + "..."
    if error.validator == "oneOf" and error.context:  # a code-list miss: say which value
        message = f"{error.instance!r} is not in the code list"
    return f"{path}: {message}"


@lru_cache(maxsize=4)
def _json_validator(folder: str) -> Any:
    from jsonschema import Draft7Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT7

    resources = []
    entry = None
    for path in sorted((Path(folder) / "json").glob("*.schema.json")):
        contents = json.loads(path.read_text(encoding="utf-8-sig"))
        resource = Resource.from_contents(contents, default_specification=DRAFT7)
        resources.append((contents["$id"], resource))
        if path.name == JSON_ENTRY:
            entry = contents
    if entry is None:
        raise FileNotFoundError(Path(folder) / "json" / JSON_ENTRY)
    registry: Registry = Registry().with_resources(resources)
    return Draft7Validator(entry, registry=registry)


@lru_cache(maxsize=4)
def _xml_schema(folder: str) -> Any:
    import xmlschema

    xsd_dir = Path(folder) / "xml"
    return xmlschema.XMLSchema(str(xsd_dir / XML_ENTRY), allow="sandbox", base_url=str(xsd_dir))
