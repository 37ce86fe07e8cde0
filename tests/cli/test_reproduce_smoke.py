"""`qbjax reproduce all --smoke`: every model end to end at the smallest sizes (the CI variant of issue 9).

One in-process run of the whole command (module-scoped fixture); the checks are on its output tree:
the index links every model, each report exists, says it is a smoke run, every figure it
references was written and every table renders as GitHub Markdown (``tests/gfm.py``, markdown-it-py);
manifest.json is valid JSON with one timing per model, and every model's folder has its own manifest.
The committed reference reports under notebooks/reports render as GitHub Markdown too.
"""

import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gfm import table_problems  # noqa: E402

from qbjax.cli import main
from qbjax.reproduce import MODELS

_FIGURE = re.compile(r"!\[[^\]]*\]\(([^)\s]+\.png)\)")


@pytest.fixture(scope="module")
def smoke_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("reproduce") / "smoke"
    assert main(["reproduce", "all", "--smoke", "--out", str(out)]) == 0
    return out


@pytest.mark.slow  # kept out of the default run for CI time (2-core machine); run with -m slow
def test_index_links_every_model(smoke_out):
    index = (smoke_out / "report.md").read_text()
    assert "SMOKE RUN" in index
    for model in MODELS:
        assert f"]({model}/report.md)" in index, model


@pytest.mark.slow  # shares the `reproduce all --smoke` run (about 4 min on 2 cores); run with -m slow
@pytest.mark.parametrize("model", sorted(MODELS))
def test_model_report_and_its_figures(smoke_out, model):
    report = smoke_out / model / "report.md"
    text = report.read_text()
    assert text.strip(), f"{model}: empty report"
    head = text.split("\n## ", 1)[0]  # before the first section: the banner is at the top
    assert "SMOKE RUN" in head and "not for comparison" in head.lower(), model
    figures = _FIGURE.findall(text)
    assert figures, f"{model}: the report references no figure"
    missing = [f for f in figures if not (report.parent / f).is_file()]
    assert not missing, f"{model}: missing figures {missing}"
    problems, n_tables = table_problems(text)
    assert n_tables and not problems, (model, problems)
    manifest = json.loads((report.parent / "manifest.json").read_text())
    assert manifest["command"] == f"reproduce {model}" and manifest["timings_s"][model] > 0


@pytest.mark.parametrize("path", sorted((Path(__file__).resolve().parents[2] / "notebooks" / "reports").rglob("*.md")),
                         ids=lambda p: str(p.relative_to(p.parents[2])))
def test_committed_reports_render_as_gfm(path):
    problems, _ = table_problems(path.read_text())
    assert not problems, problems


@pytest.mark.slow  # kept out of the default run for CI time (2-core machine); run with -m slow
def test_manifest_has_the_timings(smoke_out):
    manifest = json.loads((smoke_out / "manifest.json").read_text())
    assert manifest["command"] == "reproduce all"
    assert manifest["parameters"]["smoke"] is True and manifest["parameters"]["quick"] is False
    assert set(manifest["timings_s"]) == set(MODELS)
    assert all(t > 0 for t in manifest["timings_s"].values())


def test_smoke_and_quick_are_mutually_exclusive(capsys):
    with pytest.raises(SystemExit):
        main(["reproduce", "charger", "--smoke", "--quick"])
    assert "not allowed with argument" in capsys.readouterr().err
