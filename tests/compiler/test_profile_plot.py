"""Profile.plot() and `python -m tracefuse profile --plot PATH` (compiler/profile_plot.py): on a
real profile of a matmul + softmax function, a bar per row, as long as the row's median time,
slowest at the top, labelled with the step's name and kind, its tick with the user lines; `top`
sums the rest into one "other" bar; a PNG when given a path; every recorded profile a subplot
of one figure; and without matplotlib, an ImportError that says what to install. No test
asserts a time, only that the bars are the measured ones."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from oracle import rand

import tracefuse as tx

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def mlp(x, w, b):
    h = x @ w + b
    return tx.nn.softmax(h, axis=-1)


MLP_LINES = (f"test_profile_plot.py:{mlp.__code__.co_firstlineno + 1}",
             f"test_profile_plot.py:{mlp.__code__.co_firstlineno + 2}")


def profile_of(backend: str, repeat: int = 3) -> tx.Profile:
    rng = np.random.default_rng(7)
    args = rand(rng, (8, 5), "float32"), rand(rng, (5, 4), "float32"), rand(rng, (4,), "float32")
    return tx.function(mlp, backend=backend).profile(*args, repeat=repeat)


@pytest.fixture
def matplotlib():
    return pytest.importorskip("matplotlib")


@pytest.mark.parametrize("backend", ("numpy", "cpu"))
def test_a_bar_per_row_as_long_as_its_median(matplotlib, backend, tmp_path):
    p = profile_of(backend)
    path = tmp_path / "profile.png"
    ax = p.plot(path)
    assert path.read_bytes().startswith(PNG_MAGIC)
    (bars,) = ax.containers
    assert len(bars) == len(p.rows) == 2  # the matmul and the bias + softmax row kernel
    assert [b.get_width() for b in bars] == [r["median_s"] for r in p.rows]
    assert all(r["median_s"] > 0 for r in p.rows)
    assert ax.yaxis_inverted()  # the slowest row, first, at the top
    texts = [t.get_text() for t in ax.texts]
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    for r, text, tick in zip(p.rows, texts, ticks):
        assert text.startswith(f"{r['name']}  {r['kind']}")
        assert f"{r['gb_per_s']:.3g} GB/s" in text  # it moved bytes: the rate is known
        assert tick.startswith("test_profile_plot.py:")
        assert all(line.rpartition(":")[2] in tick for line in r["lines"])
    assert {r["name"] for r in p.rows} >= {"matmul"}
    assert ticks[[r["name"] for r in p.rows].index("matmul")] == MLP_LINES[0]
    assert f"mlp on {backend}" in ax.get_title(loc="left")


def test_top_sums_the_other_rows_into_one_bar(matplotlib):
    p = profile_of("numpy")
    ax = p.plot(top=1)
    (bars,) = ax.containers
    assert [b.get_width() for b in bars] == pytest.approx(
        [p.rows[0]["median_s"], sum(r["median_s"] for r in p.rows[1:])])
    assert ax.get_yticklabels()[1].get_text() == "other (1 step)"
    with pytest.raises(ValueError, match="top=0"):
        p.plot(top=0)


def test_plot_draws_on_a_given_axes(matplotlib, tmp_path):
    from matplotlib.figure import Figure

    p = profile_of("numpy")
    ax = Figure().subplots()
    path = tmp_path / "given.png"
    assert p.plot(path=path, ax=ax) is ax
    assert len(ax.containers[0]) == len(p.rows)
    assert path.read_bytes().startswith(PNG_MAGIC)


def test_without_matplotlib_plot_says_what_to_install(monkeypatch):
    p = profile_of("numpy", repeat=1)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` fails
    with pytest.raises(ImportError, match=r"pip install 'tracefuse\[plot\]'"):
        p.plot()


SCRIPT = """
import numpy as np
import tracefuse as tx

@tx.function(backend="numpy")
def scaled(x):
    return tx.sum(x * 2.0, axis=-1)

@tx.function(backend="numpy")
def shifted(x):
    return tx.exp(x - 1.5)

for i in range(3):
    scaled(np.full((4, 3), i + 1.5))
    shifted(np.full((5,), i + 0.5))
"""


def test_python_m_tracefuse_profile_plot_writes_one_png(matplotlib, tmp_path, capsys):
    from tracefuse.__main__ import main

    script, png = tmp_path / "script_to_plot.py", tmp_path / "profiles.png"
    script.write_text(SCRIPT)
    assert main(["profile", "--plot", str(png), str(script)]) == 0
    out = capsys.readouterr().out
    assert "2 compiled functions called" in out and f"wrote {png}: 2 profiles" in out
    assert png.read_bytes().startswith(PNG_MAGIC)


def test_plot_profiles_draws_a_subplot_per_profile(matplotlib, tmp_path):
    from tracefuse.compiler.profile_plot import plot_profiles

    profiles = [profile_of("numpy"), profile_of("cpu")]
    figure = plot_profiles(profiles, tmp_path / "both.png")
    assert len(figure.axes) == 2
    for p, ax in zip(profiles, figure.axes):
        assert [b.get_width() for b in ax.containers[0]] == [r["median_s"] for r in p.rows]
        assert f"mlp on {p.backend}" in ax.get_title(loc="left")
    with pytest.raises(ValueError, match="no compiled function"):
        plot_profiles([], tmp_path / "none.png")


def test_python_m_tracefuse_profile_plot_without_matplotlib_runs_nothing(monkeypatch, tmp_path,
                                                                        capsys):
    from tracefuse.__main__ import main

    script = tmp_path / "script_not_run.py"
    script.write_text("open(__file__ + '.ran', 'w').close()\n")
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["profile", "--plot", str(tmp_path / "p.png"), str(script)]) == 2
    assert "pip install 'tracefuse[plot]'" in capsys.readouterr().err
    assert not (tmp_path / "script_not_run.py.ran").exists()
