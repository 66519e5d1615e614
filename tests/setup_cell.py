"""The setup cell every chapter starts with, in one place (tests compare against it).

In the course's environment it installs nothing and prints nothing. On Colab,
Binder or a bare Jupyter it installs ``dropout_lib`` with the course's extras
from ``DROPOUT_LIB_SOURCE`` (default: the repository). It then pins torch's
CPU code path before the first torch operation (``pin_cpu_code_path``).
"""

SETUP_CELL = """\
# Setup: installs the course's package where it is missing (Colab, Binder).
import importlib.util
import os
import subprocess
import sys

if importlib.util.find_spec("dropout_lib") is None:
    source = os.environ.get(
        "DROPOUT_LIB_SOURCE", "git+https://github.com/dropout-course/dropout-course"
    )
    pip = [sys.executable, "-m", "pip", "install", "-q"]
    subprocess.run([*pip, f"dropout_lib[course] @ {source}"], check=True)

from dropout_lib.reproducibility import pin_cpu_code_path

_ = pin_cpu_code_path()  # torch's AVX2 code path on x86-64: the book's digits"""

#: Cell tags: hidden on the website (the page needs no installer), visible in Jupyter.
SETUP_CELL_TAGS = ["remove-cell"]
