"""The checks every saved figure passes (qbjax._figures): labels with units, colorbars, no overlaps."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from qbjax._figures import figure_problems, roundoff_to_zero, save_figure  # noqa: E402


def _good():
    fig, axes = plt.subplots(1, 2, figsize=(6, 3), layout="constrained")
    axes[0].plot([0, 1], [0, 1])
    axes[0].set(xlabel="time t (1/gamma)", ylabel="energy E (hbar omega)")
    im = axes[1].imshow(np.eye(3))
    axes[1].set(xlabel="T_h (omega)", ylabel="T_c (omega)")
    fig.colorbar(im, ax=axes[1], label="ergotropy (hbar omega)")
    return fig


def test_a_labelled_constrained_figure_has_no_problems(tmp_path):
    fig = _good()
    assert figure_problems(fig) == []
    save_figure(fig, tmp_path / "ok.png")
    assert (tmp_path / "ok.png").stat().st_size > 0


def test_the_file_written_is_what_savefig_writes(tmp_path):
    """save_figure renders once into memory and writes those bytes: the same file as matplotlib's own
    savefig of the same figure (same dpi, tight bounding box)."""
    save_figure(_good(), tmp_path / "checked.png", dpi=90)
    fig = _good()
    fig.savefig(tmp_path / "direct.png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    assert (tmp_path / "checked.png").read_bytes() == (tmp_path / "direct.png").read_bytes()


def test_each_problem_is_named_and_the_figure_is_not_written(tmp_path):
    fig = plt.figure(figsize=(4, 4))
    a = fig.add_axes((0.1, 0.1, 0.6, 0.6))
    b = fig.add_axes((0.3, 0.3, 0.6, 0.6))  # overlaps a
    a.plot([0, 1], [0, 1])
    a.set_xlabel("time")  # no unit; no y label
    b.imshow(np.eye(2))  # a colour map without a colorbar
    b.set(xlabel="x (dimensionless)", ylabel="y (dimensionless)")
    problems = figure_problems(fig)
    assert "panel 0 (untitled) x axis label 'time' gives no unit in parentheses " \
           "(write '(dimensionless)' if it has none)" in problems
    assert "panel 0 (untitled) y axis has no label" in problems
    assert "panel 1 (untitled) shows a colour map without its own colorbar" in problems
    assert "panels 0 and 1 overlap" in problems
    assert len(problems) == 4
    with pytest.raises(ValueError, match="overlap"):
        save_figure(fig, tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()


def test_unlabelled_colorbar_and_shared_axis_label():
    fig, axes = plt.subplots(2, 1, sharex=True, layout="constrained")
    for ax in axes:
        ax.plot([0, 1], [1, 0])
        ax.set_ylabel("power P (hbar omega^2)")
    axes[1].set_xlabel("time t (1/gamma)")  # one label for the shared x axis
    im = axes[0].pcolormesh(np.eye(2))
    fig.colorbar(im, ax=axes[0])
    assert figure_problems(fig) == ["colorbar 2 has no label"]
    plt.close(fig)


def test_roundoff_to_zero():
    v = roundoff_to_zero([1e-17, 0.5, -2.0, np.nan])
    assert v[0] == 0.0 and v[1] == 0.5 and v[2] == -2.0 and np.isnan(v[3])
    assert roundoff_to_zero([1e-12, 1e-3], scale=1e-3).tolist() == [1e-12, 1e-3]
