"""Installed, meterbench adds exactly one import name, ``meterbench``, and shadows nothing.

The repository keeps its top-level folders (``bench/``, ``instruments/``, ``fixtures/``,
``reports/``); pyproject.toml maps them into the ``meterbench`` namespace. PyPI has packages called
``fixtures`` (testtools), ``bench`` and ``reports``: none of them may be overwritten or shadowed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MAPPED = {"bench": "meterbench", "instruments": "meterbench.instruments",
          "fixtures": "meterbench.fixtures", "reports": "meterbench.reports"}


def _source_copy(dest: Path) -> Path:
    """The project's source, copied (a build must not write into the checkout)."""
    dest.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, dest / name)
    for folder in MAPPED:
        shutil.copytree(REPO / folder, dest / folder,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


def test_every_package_folder_is_listed_in_pyproject():
    """pyproject lists packages explicitly (a package-dir mapping cannot use find): a new
    subpackage that is not listed would be missing from the installed package."""
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = set()
    for folder, name in MAPPED.items():
        for init in (REPO / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(REPO / folder)
            found.add(name + "".join(f".{p}" for p in rel.parts))
    assert found == listed


def test_the_wheel_holds_only_the_meterbench_namespace(tmp_path):
    src = _source_copy(tmp_path / "src")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path / "dist"), str(src)], check=True, timeout=300,
                   capture_output=True)
    wheel = next((tmp_path / "dist").glob("meterbench-*.whl"))
    tops = {n.split("/")[0] for n in zipfile.ZipFile(wheel).namelist()}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"meterbench"}
    names = zipfile.ZipFile(wheel).namelist()
    for data in ("meterbench/benches/sim.toml", "meterbench/reports/templates/base.html.j2",
                 "meterbench/instruments/registers/eastron_sdm630.toml",
                 "meterbench/sampling/data/iso2859-1-normal.json"):
        assert data in names


def test_installed_meterbench_leaves_other_top_level_names_alone(tmp_path):
    """From a neutral folder: meterbench imports, ``bench``/``reports``/``instruments`` are not
    ours, and PyPI's ``fixtures`` (a test dependency here) is still PyPI's."""
    code = """
import importlib.util, json
import meterbench.cli, meterbench.fixtures.plugin, meterbench.reports.html
import fixtures
print(json.dumps({
    "theirs": [n for n in ("bench", "reports", "instruments")
               if importlib.util.find_spec(n) is not None],
    "fixture_class": fixtures.Fixture.__module__,
    "fixtures_file": fixtures.__file__,
    "ours": meterbench.cli.__file__.rsplit("cli", 1)[0],
}))
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, timeout=60, check=True).stdout
    import json

    doc = json.loads(out)
    assert doc["theirs"] == []
    assert doc["fixture_class"].startswith("fixtures.")
    assert not doc["fixtures_file"].startswith(doc["ours"])


def test_nothing_in_this_process_imported_a_project_folder_by_its_bare_name():
    """Every module loaded from the project's folders was loaded as ``meterbench.…``: a bare name
    (``reports``, ``bench``) imports only from a checkout on sys.path, never for a user."""
    bare = sorted(name for name, module in list(sys.modules.items())
                  if name.split(".")[0] in MAPPED and not name.startswith("meterbench")
                  and str(getattr(module, "__file__", "") or "").startswith(str(REPO)))
    assert bare == []


def test_running_the_shipped_suites_imports_them_by_their_own_name(tmp_path):
    """``meterbench run`` runs the shipped suites in its own process. pytest would name them after
    the folders: in a source checkout (an editable install) ``fixtures.suites.*``, with the
    checkout put on ``sys.path`` and PyPI's ``fixtures`` shadowed for the rest of the process."""
    code = f"""
import json, sys
before = list(sys.path)
import fixtures as pypi_fixtures
from meterbench.cli import main
try:
    status = main(["run", "--out", {str(tmp_path / "run")!r}, "-q", "-k", "truth"])
except SystemExit as exc:
    status = exc.code
print(json.dumps({{
    "status": status,
    "new_path": [p for p in sys.path if p not in before],
    "suites": sorted(n for n in sys.modules if n.rpartition(".")[2].startswith("test_")
                     or n.endswith(".suites")),
    "fixtures_is_pypi": sys.modules["fixtures"] is pypi_fixtures,
}}))
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300, check=True).stdout
    import json

    doc = json.loads(out.splitlines()[-1])
    assert doc["status"] == 0
    assert doc["new_path"] == []
    assert doc["fixtures_is_pypi"]
    assert doc["suites"] and all(n.startswith("meterbench.fixtures.suites") for n in doc["suites"])
