"""Security guarantees of SECURITY.md, each checked here.

* simulated servers listen on 127.0.0.1 only (the listening sockets of this process are inspected);
* nothing read from input is evaluated or unpickled (the source tree is searched for the calls);
* XML is parsed by defusedxml only, with DTDs and entities refused;
* every HTML template environment autoescapes, and no template marks text ``safe``;
* names taken from input cannot make a path leave its folder;
* every dependency has an upper bound.
"""

from __future__ import annotations

import re
import time
import tomllib
from dataclasses import replace
from pathlib import Path

import psutil
import pytest

from meterbench.config.bench_file import load_bench
from meterbench.core.errors import UserError
from meterbench.core.names import safe_component
from meterbench.instruments.sim.lab import LabSpec, start_lab
from meterbench.reports.run_reader import RunFolderError, safe_member
from meterbench.run.folder import default_run_dir
from meterbench.run.simhost import SimHost, start_meters
from meterbench.run.simworld import build_world

from .helpers import REPO_ROOT, edit, tiny_bench_text

PACKAGES = ("bench", "instruments", "reports", "fixtures", "benchmarks", "tests")
SOURCES = sorted(p for pkg in PACKAGES for p in (REPO_ROOT / pkg).rglob("*.py")
                 if p.resolve() != Path(__file__).resolve())


def _listening() -> set[tuple[str, int]]:
    return {(c.laddr.ip, c.laddr.port) for c in psutil.Process().net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN}


def test_simulated_meters_listen_on_loopback_only(tmp_path: Path) -> None:
    """Every transport kind, and a bench file naming a public address: still 127.0.0.1."""
    text = tiny_bench_text()
    text = edit(text, 'class = "B"\n', 'class = "B"\ntransport = { kind = "tcp", host = '
                '"0.0.0.0", port = 502 }\n')
    text = edit(text, 'class = "B"\ngsrn', 'class = "B"\ntransport = { kind = "rtu_over_tcp", '
                'host = "192.0.2.10", port = 4001, unit = 2 }\ngsrn')
    text = edit(text, 'class = "C"\n', 'class = "C"\ntransport = { kind = "rtu", '
                'device = "/dev/ttyUSB0", unit = 3 }\n')
    path = tmp_path / "bench.toml"
    path.write_text(text)
    config = load_bench(str(path), force_simulate=True)
    before = _listening()
    with SimHost() as host:
        endpoints = start_meters(host, config, build_world(config), lambda: config.run.start_ms)
        opened = _listening() - before
    kinds = sorted(e.transport for e in endpoints)
    assert kinds == ["rtu", "rtu_over_tcp", "tcp"]
    tcp_ports = {e.port for e in endpoints if e.transport != "rtu"}
    assert {port for _, port in opened} >= tcp_ports
    assert opened and all(ip == "127.0.0.1" for ip, _ in opened), opened
    assert all(e.host == "127.0.0.1" for e in endpoints if e.transport != "rtu")


def test_simulated_lab_instruments_listen_on_loopback_only() -> None:
    before = _listening()
    lab = start_lab(LabSpec(), lambda: int(time.time() * 1000))
    try:
        opened = _listening() - before
    finally:
        lab.close()
    assert len(opened) >= 2 and all(ip == "127.0.0.1" for ip, _ in opened), opened


#: Calls that run or deserialize what they are given. A new occurrence fails this test: either it
#: is unsafe, or it is reviewed and added here with the reason.
DANGEROUS = re.compile(r"\beval\(|\bexec\(|pickle|\bmarshal\b|\bshelve\b|yaml\.load\(|"
                       r"shell\s*=\s*True|os\.system\(|__import__\(|\bcompile\(.*exec")
REVIEWED: dict[str, int] = {}


def test_no_eval_exec_pickle_or_shell_in_the_source_tree() -> None:
    found: dict[str, int] = {}
    lines = []
    for path in SOURCES:
        for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if DANGEROUS.search(line):
                rel = str(path.relative_to(REPO_ROOT))
                found[rel] = found.get(rel, 0) + 1
                lines.append(f"{rel}:{no}: {line.strip()}")
    assert found == REVIEWED, "\n".join(lines)


XML_PARSERS = re.compile(r"\b(ET|ElementTree|etree)\.(fromstring|parse|iterparse|XMLParser)\(|"
                         r"\bminidom\b|\bxml\.sax\b|\blxml\b|\bpulldom\b")


def test_xml_is_parsed_by_defusedxml_only() -> None:
    """The standard library's parsers expand internal entities; only defusedxml is used."""
    offenders = [f"{p.relative_to(REPO_ROOT)}:{no}: {line.strip()}"
                 for p in SOURCES if not p.is_relative_to(REPO_ROOT / "tests")
                 for no, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1)
                 if XML_PARSERS.search(line)]
    assert offenders == []


def test_every_template_environment_autoescapes() -> None:
    sources = [p for p in SOURCES if not p.is_relative_to(REPO_ROOT / "tests")]
    environments = [(p, m.start()) for p in sources
                    for m in re.finditer(r"Environment\(", p.read_text(encoding="utf-8"))]
    assert environments, "no template environment found: this test would prove nothing"
    for path, at in environments:
        call = path.read_text(encoding="utf-8")[at:at + 400]
        assert re.search(r"autoescape\s*=\s*(True|(jinja2\.)?select_autoescape\([^)]*default\s*=\s*True)",
                         call), f"{path}: template environment without autoescape"
    templates = list((REPO_ROOT / "reports" / "templates").glob("*"))
    assert templates
    for template in templates:
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"\|\s*safe\b|autoescape\s+false|Markup", text), template


def test_hostile_text_is_escaped_in_every_report() -> None:
    from meterbench.reports.html import environment  # the one environment every report uses

    hostile = '<script>alert("x")</script>'
    rendered = environment().from_string("{{ value }}").render(value=hostile)
    assert "<script>" not in rendered and "&lt;script&gt;" in rendered


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/cron.d/x", "..", ".", "a/../../b",
                                  "C:\\Windows\\x", "\x00", "", "run\nname"])
def test_names_from_input_stay_inside_their_folder(name: str, tmp_path: Path) -> None:
    for cleaned in (safe_component(name, 'run'), safe_component(name)):
        assert cleaned and cleaned not in (".", "..")
        assert "/" not in cleaned and "\\" not in cleaned and "\x00" not in cleaned
        assert (tmp_path / cleaned).resolve().parent == tmp_path.resolve()
    run_dir = default_run_dir(name, base=tmp_path)
    assert run_dir.resolve().parent == tmp_path.resolve()


def test_bench_name_cannot_steer_the_default_run_folder(tmp_path: Path) -> None:
    text = tiny_bench_text(**{'name = "tiny"': 'name = "../../outside"'})
    (tmp_path / "b.toml").write_text(text)
    config = load_bench(str(tmp_path / "b.toml"))
    run_dir = default_run_dir(config.name, base=tmp_path / "runs")
    assert run_dir.resolve().parent == (tmp_path / "runs").resolve()


@pytest.mark.parametrize("member", ["../secret.csv", "/etc/passwd", "series/../../x.csv"])
def test_results_json_cannot_point_the_report_outside_its_run_folder(member: str,
                                                                     tmp_path: Path) -> None:
    with pytest.raises(RunFolderError):
        safe_member(tmp_path, member)
    assert safe_member(tmp_path, "series/intervals.csv") == (tmp_path / "series" /
                                                              "intervals.csv").resolve()


@pytest.mark.parametrize("kind", ["run", "acquire"])
def test_run_folder_is_refused_when_it_holds_a_finished_run(kind: str, tmp_path: Path) -> None:
    from meterbench.run.folder import claim_run_dir

    (tmp_path / "results.json").write_text("{}")
    with pytest.raises(UserError, match="already holds a finished run"):
        claim_run_dir(tmp_path, kind)
    assert (tmp_path / "results.json").read_text() == "{}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]  # no lock left either


def test_every_dependency_has_an_upper_bound() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    assert requirements
    unbounded = [r for r in requirements if not re.search(r"<\s*\d|~=|==", r)]
    assert unbounded == [], f"dependencies without an upper bound: {unbounded}"


def test_simulated_bench_config_ignores_transport_hosts_for_serving() -> None:
    """The served address does not come from the bench file at all (so it cannot be widened)."""
    from meterbench.run.simhost import endpoint_specs

    config = load_bench("sim")
    meters = tuple(replace(m, transport=replace(m.transport, host="0.0.0.0", explicit=True))
                   for m in config.meters)
    specs = endpoint_specs(replace(config, meters=meters))
    assert specs and all("host" not in s and s["port"] == 0 for s in specs)


@pytest.mark.parametrize("gsrn", ["../../etc/cron.d/evil", "/abs/path", "..", "a\\..\\b", ""])
def test_datahub_message_file_names_stay_in_the_outbox(gsrn: str, tmp_path: Path) -> None:
    """A message whose metering point id is hostile is still written inside the outbox."""
    from meterbench.core.timeutil import parse_iso
    from meterbench.datahub.build import Intervals, build_messages
    from meterbench.datahub.files import message_filename
    from meterbench.datahub.model import MeteringPoint

    start = parse_iso("2026-06-14T22:00Z")
    point = MeteringPoint(gsrn="571313180000000005", type="E17", subtype="physical",
                          resolution="PT15M", meter="ev", channel="energy.import")
    (message,) = build_messages([Intervals("ev", "energy.import", "PT15M", [start], [1.0], [1])],
                                [point], "5790000000005", "5790001330583", start + 3_600_000)
    hostile = replace(message, series=(replace(message.series[0], metering_point_id=gsrn),))
    for fmt in ("json", "xml"):
        name = message_filename(hostile, fmt)
        assert (tmp_path / name).resolve().parent == tmp_path.resolve(), name
