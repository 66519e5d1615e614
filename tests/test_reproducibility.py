import os
import random

import numpy as np
import pytest
import torch

from dropout_lib import get_device, seed_everything


def test_seed_everything_makes_all_generators_repeat():
    g1 = seed_everything(5, threads=1)
    a = (random.random(), np.random.random(), torch.rand(1).item(), g1.random())
    g2 = seed_everything(5, threads=1)
    b = (random.random(), np.random.random(), torch.rand(1).item(), g2.random())
    assert a == b
    assert torch.get_num_threads() == 1
    seed_everything(5, threads=2)
    assert torch.get_num_threads() == 2


def test_seed_everything_turns_on_deterministic_algorithms_warn_only():
    before = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
    )
    try:
        torch.use_deterministic_algorithms(False)
        seed_everything(0)
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.is_deterministic_algorithms_warn_only_enabled()
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])


@pytest.mark.parametrize(
    "seed, threads", [(-1, 1), (1.5, 1), ("0", 1), (0, 0), (0, True)]
)
def test_bad_arguments(seed, threads):
    with pytest.raises((TypeError, ValueError)):
        seed_everything(seed, threads=threads)


def test_get_device():
    assert get_device(prefer_gpu=False).type == "cpu"
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert get_device().type == expected


# --- the numerical code path ---------------------------------------------------


def test_pin_cpu_code_path_sets_only_missing_variables(monkeypatch):
    from dropout_lib import reproducibility as r

    monkeypatch.setattr(r, "_is_x86_64", lambda: True)
    monkeypatch.setattr(r, "cpu_has_avx2", lambda: True)
    monkeypatch.delenv(r.NO_PIN_VARIABLE, raising=False)
    for key in r.PINNED_CPU_PATH:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "default")  # a deliberate other path wins
    assert r.pin_cpu_code_path() is False
    assert os.environ["ATEN_CPU_CAPABILITY"] == "default"
    assert os.environ["MKL_CBWR"] == "AVX2"
    monkeypatch.delenv("ATEN_CPU_CAPABILITY")
    assert r.pin_cpu_code_path() is True


def test_pin_cpu_code_path_does_nothing_off_x86(monkeypatch):
    from dropout_lib import reproducibility as r

    monkeypatch.setattr(r, "_is_x86_64", lambda: False)
    for key in r.PINNED_CPU_PATH:
        monkeypatch.delenv(key, raising=False)
    assert r.pin_cpu_code_path() is False
    assert all(key not in os.environ for key in r.PINNED_CPU_PATH)


def test_pin_cpu_code_path_needs_avx2_and_respects_the_opt_out(monkeypatch):
    from dropout_lib import reproducibility as r

    monkeypatch.setattr(r, "_is_x86_64", lambda: True)
    for key in r.PINNED_CPU_PATH:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.delenv(r.NO_PIN_VARIABLE, raising=False)
    monkeypatch.setattr(r, "cpu_has_avx2", lambda: False)  # an old or odd x86 CPU
    assert r.pin_cpu_code_path() is False
    assert all(key not in os.environ for key in r.PINNED_CPU_PATH)
    monkeypatch.setattr(r, "cpu_has_avx2", lambda: True)
    monkeypatch.setenv(r.NO_PIN_VARIABLE, "1")  # the robustness pass
    assert r.pin_cpu_code_path() is False
    assert all(key not in os.environ for key in r.PINNED_CPU_PATH)
    monkeypatch.setenv(r.NO_PIN_VARIABLE, "0")  # "0" means: do pin
    assert r.pin_cpu_code_path() is True


def test_cpu_has_avx2_agrees_with_the_kernel_torch_picks():
    from dropout_lib import reproducibility as r

    if not r._is_x86_64():
        assert isinstance(r.cpu_has_avx2(), bool)
        return
    capability = str(torch.backends.cpu.get_cpu_capability())
    if capability.startswith("AVX"):  # AVX2 or AVX512: torch found AVX2 too
        assert r.cpu_has_avx2()


def test_numerical_environment_reports_the_deciding_facts():
    from dropout_lib.reproducibility import PINNED_CPU_PATH, numerical_environment

    env = numerical_environment()
    for key in [
        "machine",
        "torch",
        "cpu_capability",
        "threads",
        "cuda",
        *PINNED_CPU_PATH,
    ]:
        assert key in env


def test_seed_everything_warns_once_off_the_pinned_path(monkeypatch):
    import warnings

    from dropout_lib import reproducibility as r

    monkeypatch.setattr(r, "on_pinned_path", lambda: False)
    monkeypatch.setattr(r, "_warned", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        seed_everything(0)
        seed_everything(1)
    messages = [
        str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)
    ]
    assert len(messages) == 1 and "claims still hold" in messages[0]


def test_seed_everything_is_silent_on_the_pinned_path(monkeypatch):
    import warnings

    from dropout_lib import reproducibility as r

    monkeypatch.setattr(r, "on_pinned_path", lambda: True)
    monkeypatch.setattr(r, "_warned", False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        seed_everything(0)


# --- pinned versions ---------------------------------------------------------------


def test_pin_report_sorts_every_pin_into_one_list(tmp_path):
    import numpy

    from dropout_lib.reproducibility import pin_report

    req = tmp_path / "requirements.txt"
    req.write_text(
        "# comment\n"
        f"numpy=={numpy.__version__}\n"
        "pytest==0.0.1  # an old pin\n"
        "no-such-package-xyz==1.0\n"
        "--index-url https://example.invalid\n"
        "scipy>=1\n"
    )
    report = pin_report(req)
    assert report["installed at the pinned version"] == ["numpy"]
    assert len(report["at another version"]) == 1
    assert report["at another version"][0].startswith("pytest: pinned 0.0.1, has ")
    assert report["not installed"] == ["no-such-package-xyz"]


def test_pin_report_ignores_local_version_labels_and_needs_the_file(tmp_path):
    import torch

    from dropout_lib.reproducibility import pin_report

    req = tmp_path / "requirements.txt"
    req.write_text(f"torch=={torch.__version__.split('+')[0]}\n")
    assert pin_report(req)["installed at the pinned version"] == ["torch"]
    with pytest.raises(FileNotFoundError):
        pin_report(tmp_path / "missing.txt")


def test_the_course_pins_are_read_by_one_parser():
    import sys
    from pathlib import Path

    from dropout_lib import reproducibility

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "_ext"))
    import course_meta

    assert course_meta.parse_pins is reproducibility.parse_pins
    assert course_meta.normalize_name is reproducibility.normalize_name
