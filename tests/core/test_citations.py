"""Numbers are cited at their primary source, never at internal working notes.

A certification body can look up Directive 2014/32/EU Annex V Table 2 or Energinet's BRS-021; it
cannot look up a note that lives outside this repository. This test walks every text file of the
project and fails on any mention of those notes (by file name or as "the ... notes"), so the class
of problem stays closed. Exempt: links to the project's own ``docs/sampling.md`` page, and tests
that read the team's shared folder beside the repository (they compare against it on purpose).
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

#: The internal notes, by file name, and the generic ways of citing them.
NOTE_PATTERNS = (
    re.compile(r"\b(metrology|market|sampling|register-maps|protocols)\.md\b"),
    re.compile(r"shared\s+domain", re.IGNORECASE),
    re.compile(r"domain\s+notes?\b", re.IGNORECASE),
)
#: Links to the project's own sampling page, which shares a name with one of the notes.
OWN_PAGE_LINKS = re.compile(r"docs/sampling\.md|\[[^\]]*\]\((?:\./)?sampling\.md(?:#[^)]*)?\)")
#: A test that builds a path into the shared folder beside the repository.
READS_SHARED = re.compile(r"""\.\./shared\b|/\s*["']shared["']""")

SKIP_DIRS = {".git", ".venv", "venv", ".tox", "build", "dist", "runs", ".hypothesis",
             ".pytest_cache", ".ruff_cache", "__pycache__", "node_modules"}


def offences(text: str) -> list[tuple[int, str]]:
    """(line number, line) of every mention of an internal note in ``text``."""
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        rest = OWN_PAGE_LINKS.sub("", line)
        if any(p.search(rest) for p in NOTE_PATTERNS):
            out.append((number, line.strip()))
    return out


def project_text_files() -> list[Path]:
    files = []
    for path in REPO.rglob("*"):
        rel = path.relative_to(REPO)
        if any(part in SKIP_DIRS or part.endswith(".egg-info") for part in rel.parts[:-1]):
            continue
        if path.is_file() and path.name != ".git":
            files.append(path)
    return files


def _read_text(path: Path) -> str | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def test_the_checker_finds_note_citations_and_spares_the_sampling_page():
    note = "metrology" + ".md"
    assert offences(f"MPE class B (MID, {note})") == [(1, f"MPE class B (MID, {note})")]
    assert offences("see the shared" + " domain" + " notes") != []
    assert offences("a domain" + " note says so") != []
    assert offences("x\n" + "market" + ".md: E66") == [(2, "market" + ".md: E66")]
    # the project's own page is fine, however it is linked
    assert offences("(see `docs/sampling.md`)") == []
    assert offences("| [sampling.md](sampling.md) | in-service sampling |") == []
    assert offences("see [the sampling page](./sampling.md#schemes)") == []
    assert offences("[sampling](docs/sampling.md)") == []
    # ... but not as a bare note name
    assert offences("from the note `sampling" + ".md`") != []
    assert offences("Directive 2014/32/EU Annex V (MI-003) point 3 Table 2") == []


def test_the_walk_covers_code_data_docs_and_tests():
    rel = {p.relative_to(REPO).as_posix() for p in project_text_files()}
    for expected in ("README.md", "docs/architecture.md", "bench/accuracy/limits.py",
                     "instruments/registers/eastron_sdm630.toml", "bench/benches/sim-lab.toml",
                     "tests/core/test_citations.py"):
        assert expected in rel


def test_no_file_cites_the_internal_notes():
    found = []
    for path in project_text_files():
        text = _read_text(path)
        if text is None:
            continue
        rel = path.relative_to(REPO).as_posix()
        if rel.startswith("tests/") and READS_SHARED.search(text):
            continue
        found += [f"{rel}:{n}: {line}" for n, line in offences(text)]
    assert not found, ("cite the primary source (document, article/clause, table), not the "
                       "internal notes:\n" + "\n".join(found))
