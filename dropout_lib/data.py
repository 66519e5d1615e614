"""Fashion-MNIST (Xiao, Rasul & Vollgraf 2017): found locally or fetched, verified.

(The synthetic scikit-learn task of chapter 1 is in `dropout_lib.synthetic`.)

Where `fashion_mnist` looks, in order:

1. the `root` argument;
2. the directory in the `DROPOUT_DATA` environment variable;
3. the user cache directory
   (`platformdirs.user_cache_dir("dropout-course")/fashion-mnist`);
4. `/usr/share/datasets/fashion-mnist` (Debian/Ubuntu package
   `dataset-fashion-mnist`);
5. a download from the Fashion-MNIST project's mirror into the cache directory.

Each of the four IDX files may be stored gzipped (`name.gz`) or plain. The
SHA-256 checked is that of the DECOMPRESSED bytes, because Debian recompresses
the `.gz` files. Run `python -m dropout_lib.data` (`make data`) to fetch once.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np

__all__ = [
    "CLASS_NAMES",
    "DataNotFoundError",
    "FILES",
    "MIRROR",
    "cache_dir",
    "download_fashion_mnist",
    "ensure_fashion_mnist",
    "fashion_mnist",
    "find_fashion_mnist",
    "parse_idx",
]

MIRROR = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
DEBIAN_PACKAGE = "dataset-fashion-mnist"

#: IDX file name -> SHA-256 of its decompressed bytes.
FILES: dict[str, str] = {
    "train-images-idx3-ubyte": (
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"
    ),
    "train-labels-idx1-ubyte": (
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"
    ),
    "t10k-images-idx3-ubyte": (
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"
    ),
    "t10k-labels-idx1-ubyte": (
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"
    ),
}
SPLITS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

HOW_TO_GET = """\
Ways to get Fashion-MNIST:
  * run `make data` (or `python -m dropout_lib.data`) in the course checkout;
  * on Debian/Ubuntu: `sudo apt-get install dataset-fashion-mnist`, or without root
    `apt-get download dataset-fashion-mnist && dpkg -x dataset-fashion-mnist_*.deb DIR`
    and point DROPOUT_DATA at DIR/usr/share/datasets/fashion-mnist;
  * download the four *-ubyte.gz files from {mirror} into {cache}
    (or any directory named by DROPOUT_DATA)."""


class DataNotFoundError(FileNotFoundError):
    """No verified copy of the data set was found (and none could be downloaded)."""


def cache_dir() -> Path:
    """The per-user cache directory where downloads are kept."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("dropout-course")) / "fashion-mnist"


def _how_to_get() -> str:
    return HOW_TO_GET.format(mirror=MIRROR, cache=cache_dir())


def parse_idx(data: bytes) -> np.ndarray:
    """Parse an IDX file (LeCun's MNIST format) holding unsigned bytes.

    Layout: two zero bytes, a type byte (0x08 = uint8), a rank byte `d`, then
    `d` big-endian uint32 sizes, then the `prod(sizes)` data bytes.

    Raises `ValueError` naming what is wrong for a bad magic number, a
    truncated header or a data length that does not match the sizes.
    """
    if len(data) < 4:
        raise ValueError(f"IDX data too short for a header: {len(data)} bytes")
    if data[0] != 0 or data[1] != 0:
        raise ValueError("not an IDX file: the first two bytes must be zero")
    if data[2] != 0x08:
        raise ValueError(
            f"unsupported IDX element type 0x{data[2]:02x}; "
            "only 0x08 (uint8) is supported"
        )
    rank = data[3]
    header = 4 + 4 * rank
    if len(data) < header:
        raise ValueError(
            f"truncated IDX header: rank {rank} needs {header} bytes, got {len(data)}"
        )
    shape = tuple(
        int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(rank)
    )
    expected = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if len(data) - header != expected:
        raise ValueError(
            f"IDX data length mismatch: shape {shape} needs {expected} bytes, "
            f"got {len(data) - header}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape).copy()


def _read_bytes(directory: Path, name: str) -> bytes | None:
    """The decompressed bytes of `name` in `directory` (plain or .gz), or None."""
    plain, gz = directory / name, directory / (name + ".gz")
    if plain.is_file():
        return plain.read_bytes()
    if gz.is_file():
        try:
            with gzip.open(gz, "rb") as fh:
                return fh.read()
        except (OSError, EOFError) as exc:
            raise ValueError(f"{gz} is not a readable gzip file ({exc})") from exc
    return None


def _check_dir(
    directory: Path, names: tuple[str, ...]
) -> tuple[dict[str, bytes] | None, str | None]:
    """Read and verify `names` in `directory`: (contents, None) or (None, why)."""
    out: dict[str, bytes] = {}
    for name in names:
        try:
            blob = _read_bytes(directory, name)
        except ValueError as exc:
            return None, str(exc)
        if blob is None:
            return None, f"{directory}: {name}(.gz) missing"
        digest = hashlib.sha256(blob).hexdigest()
        if digest != FILES[name]:
            return (
                None,
                f"{directory}: {name} is corrupt (SHA-256 {digest[:12]}..., "
                f"expected {FILES[name][:12]}...)",
            )
        out[name] = blob
    return out, None


def _candidates(root: str | os.PathLike[str] | None) -> list[Path]:
    dirs: list[Path] = []
    if root is not None:
        dirs.append(Path(root))
    if os.environ.get("DROPOUT_DATA"):
        dirs.append(Path(os.environ["DROPOUT_DATA"]))
    dirs += [cache_dir(), DEBIAN_DIR]
    return dirs


def find_fashion_mnist(root: str | os.PathLike[str] | None = None) -> Path | None:
    """The first searched directory holding all four verified files, or None."""
    for d in _candidates(root):
        contents, _ = _check_dir(d, tuple(FILES))
        if contents is not None:
            return d
    return None


def download_fashion_mnist(
    dest: str | os.PathLike[str] | None = None,
    base_url: str | None = None,
    timeout: float = 60.0,
) -> Path:
    """Download the four `.gz` files into `dest` (default: the cache directory).

    Each file goes to a temporary file in `dest` first and is moved into place
    (an atomic rename) only after its decompressed SHA-256 matches. A failed,
    interrupted or corrupt download removes the temporary file, so no partial
    file is ever left under the final name. Files already present and verified
    are not downloaded again. `base_url` defaults to `MIRROR`.
    """
    base_url = MIRROR if base_url is None else base_url
    dest = Path(dest) if dest is not None else cache_dir()
    dest.mkdir(parents=True, exist_ok=True)
    for name, sha in FILES.items():
        if _check_dir(dest, (name,))[0] is not None:
            continue
        url = base_url.rstrip("/") + "/" + name + ".gz"
        fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=dest)
        tmp = Path(tmp_name)
        try:
            with (
                os.fdopen(fd, "wb") as out,
                urllib.request.urlopen(url, timeout=timeout) as resp,
            ):
                expected_len = resp.headers.get("Content-Length")
                shutil.copyfileobj(resp, out)
            if expected_len is not None and tmp.stat().st_size != int(expected_len):
                raise OSError(
                    f"incomplete download of {url}: "
                    f"{tmp.stat().st_size} of {expected_len} bytes"
                )
            try:
                with gzip.open(tmp, "rb") as fh:
                    digest = hashlib.sha256(fh.read()).hexdigest()
            except (OSError, EOFError) as exc:
                raise OSError(
                    f"download of {url} is not a complete gzip file ({exc})"
                ) from exc
            if digest != sha:
                raise OSError(
                    f"checksum mismatch for {url}: got {digest[:12]}..., "
                    f"expected {sha[:12]}..."
                )
            os.replace(tmp, dest / (name + ".gz"))
        except (http.client.HTTPException, ValueError) as exc:
            raise OSError(
                f"download of {url} failed: {type(exc).__name__}: {exc}"
            ) from exc
        finally:
            tmp.unlink(missing_ok=True)
    return dest


def _from_debian_package(dest: Path) -> bool:
    """Fetch Debian's `dataset-fashion-mnist` without root (apt-get download,
    dpkg -x)."""
    if not (shutil.which("apt-get") and shutil.which("dpkg")):
        return False
    with tempfile.TemporaryDirectory() as tmp:
        try:
            subprocess.run(
                ["apt-get", "download", DEBIAN_PACKAGE],
                cwd=tmp,
                check=True,
                capture_output=True,
                timeout=600,
            )
            debs = list(Path(tmp).glob(f"{DEBIAN_PACKAGE}_*.deb"))
            if not debs:
                return False
            subprocess.run(
                ["dpkg", "-x", str(debs[0]), str(Path(tmp) / "x")],
                check=True,
                capture_output=True,
                timeout=600,
            )
        except (subprocess.SubprocessError, OSError):
            return False
        src = Path(tmp) / "x" / DEBIAN_DIR.relative_to("/")
        if _check_dir(src, tuple(FILES))[0] is None:
            return False
        dest.mkdir(parents=True, exist_ok=True)
        for name in FILES:
            fd, part = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=dest)
            os.close(fd)
            try:
                shutil.copyfile(src / (name + ".gz"), part)
                os.replace(part, dest / (name + ".gz"))
            finally:
                Path(part).unlink(missing_ok=True)
    return True


def ensure_fashion_mnist(
    root: str | os.PathLike[str] | None = None, verbose: bool = False
) -> Path:
    """Make sure a verified copy exists; fetch one (Debian package, then the mirror)
    if not."""
    found = find_fashion_mnist(root)
    if found is not None:
        if verbose:
            print(f"Fashion-MNIST: verified copy in {found}")
        return found
    dest = cache_dir()
    if _from_debian_package(dest):
        if verbose:
            print(f"Fashion-MNIST: unpacked Debian's {DEBIAN_PACKAGE} into {dest}")
        return dest
    try:
        download_fashion_mnist(dest)
    except OSError as exc:
        raise DataNotFoundError(
            f"Fashion-MNIST could not be downloaded ({exc}).\n" + _how_to_get()
        ) from exc
    if verbose:
        print(f"Fashion-MNIST: downloaded into {dest}")
    return dest


@lru_cache(maxsize=4)
def _load(directory: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    contents, why = _check_dir(Path(directory), SPLITS[split])
    if contents is None:
        raise DataNotFoundError(why)
    images = parse_idx(contents[SPLITS[split][0]])
    labels = parse_idx(contents[SPLITS[split][1]]).astype(np.int64)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(
            f"inconsistent Fashion-MNIST files in {directory}: "
            f"{images.shape} vs {labels.shape}"
        )
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def fashion_mnist(
    split: Literal["train", "test"] = "train",
    root: str | os.PathLike[str] | None = None,
    download: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Load a split: `(images uint8 [N, 28, 28], labels int64 [N])`.

    `train` has 60 000 images and `test` 10 000, 10 classes (`CLASS_NAMES`).
    The returned arrays are fresh copies, so callers may modify them. Raises
    `DataNotFoundError` listing the ways to get the data when no verified copy
    is found (and `download` is False or fails).
    """
    if split not in SPLITS:
        raise ValueError(f"split must be 'train' or 'test'; got split={split!r}")
    problems = []
    for d in _candidates(root):
        try:
            images, labels = _load(str(d.resolve()), split)
        except DataNotFoundError as exc:
            problems.append(str(exc))
            continue
        return images.copy(), labels.copy()
    if download:
        try:
            d = download_fashion_mnist(cache_dir())
            images, labels = _load(str(d.resolve()), split)
            return images.copy(), labels.copy()
        except OSError as exc:
            problems.append(f"download from {MIRROR} failed: {exc}")
    raise DataNotFoundError(
        "No verified Fashion-MNIST found. Looked at:\n  - "
        + "\n  - ".join(problems)
        + "\n"
        + _how_to_get()
    )


def main(argv: list[str] | None = None) -> int:
    """`python -m dropout_lib.data`: make sure the data is present and verified."""
    try:
        ensure_fashion_mnist(verbose=True)
    except DataNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
