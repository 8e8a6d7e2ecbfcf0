"""``meterbench registry`` lists what is installed, with the distribution that provides it."""

import json

import meterbench.cli


def test_registry_lists_meterbench_own_entries(capsys):
    assert meterbench.cli.main(["registry", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    models = {r["name"]: r for r in doc["meter_models"]}
    assert "eastron_sdm630" in models and models["eastron_sdm630"]["distribution"].startswith(
        "meterbench ")
    instruments = {r["name"]: r for r in doc["instruments"]}
    assert instruments["fluke6105a"]["roles"] == "source"
    assert instruments["yokogawa_wt1800"]["roles"] == "reference"
    assert {r["name"] for r in doc["benches"]} >= {"sim", "sim-lab"}
