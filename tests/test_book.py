"""`dropout_lib.book.glue_diff`: three plain floats under three names."""

from __future__ import annotations

import numpy as np
import pytest

from dropout_lib import book, stats


def test_glue_diff_glues_mean_and_interval_as_floats(monkeypatch):
    glued: dict[str, object] = {}

    def fake_glue(name, value, display=True):
        assert display is False
        glued[name] = value

    import myst_nb

    monkeypatch.setattr(myst_nb, "glue", fake_glue)
    d = stats.paired_diff(np.array([1.0, 2.0, 3.0, 4.0, 6.0]), np.zeros(5))
    book.glue_diff("gain", d)
    assert glued == {"gain": d.mean, "gain_lo": d.lo, "gain_hi": d.hi}
    assert all(type(v) is float for v in glued.values())


@pytest.mark.parametrize("name", ["", "has space", "a:b", "a`b"])
def test_glue_diff_rejects_names_the_page_cannot_use(name):
    d = stats.paired_diff(np.arange(5.0), np.zeros(5))
    with pytest.raises(ValueError, match="name"):
        book.glue_diff(name, d)
    with pytest.raises(TypeError, match="name"):
        book.glue_diff(3, d)  # type: ignore[arg-type]


def test_glue_diff_accepts_the_keys_chapters_use(monkeypatch):
    import myst_nb

    glued: list[str] = []
    monkeypatch.setattr(
        myst_nb, "glue", lambda name, value, display: glued.append(name)
    )
    book.glue_diff("test_0.2_0.5", stats.paired_diff(np.arange(5.0), np.zeros(5)))
    assert glued == ["test_0.2_0.5", "test_0.2_0.5_lo", "test_0.2_0.5_hi"]
