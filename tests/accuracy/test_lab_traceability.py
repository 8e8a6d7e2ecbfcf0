"""A lab run names its instruments by their own *IDN? answers and the reference's certificate."""

from meterbench.config.bench_file import load_bench
from meterbench.run.session import BenchRun


def test_lab_devices_carry_idn_and_calibration(tmp_path):
    run = BenchRun(load_bench("sim-lab"), tmp_path / "run")
    try:
        run.start()
        listed = run.results().as_dict()["devices"]
        devices = {d["role"]: d for d in listed}
    finally:
        run.close()
    source, reference = devices["power source"], devices["reference standard"]
    assert source["identity"].split(",")[:2] == ["FLUKE", "6105A"]  # asked over SCPI, not assumed
    assert reference["identity"].startswith("YOKOGAWA,WT18")
    assert reference["calibration"] == "LAB-CAL-WT1800-0917, due 2027-02-28"
    assert reference["accuracy_class"] == "±0.02 %"
    assert source["transport"].startswith("simulated, TCPIP::127.0.0.1::")
    # every instrument tells itself apart: two counters of one model carry two serial numbers
    identities = [d["identity"] for d in listed if "," in (d.get("identity") or "")]  # *IDN?
    counters = [i for i in identities if ",53230A," in i]
    assert len(counters) == 2, identities
    serials = [i.split(",")[2] for i in identities]
    assert len(set(serials)) == len(serials), identities
