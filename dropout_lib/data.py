"""Fashion-MNIST (Xiao, Rasul & Vollgraf 2017), found locally or fetched, always checksum-verified.

Where :func:`fashion_mnist` looks, in order:

1. the ``root`` argument;
2. the directory in the ``DROPOUT_DATA`` environment variable;
3. the user cache directory (``platformdirs.user_cache_dir("dropout-course")/fashion-mnist``);
4. ``/usr/share/datasets/fashion-mnist`` (Debian/Ubuntu package ``dataset-fashion-mnist``);
5. a download from the Fashion-MNIST project's mirror into the cache directory.

Each of the four IDX files may be stored gzipped (``name.gz``) or plain. The
SHA-256 checked is that of the DECOMPRESSED bytes, because Debian recompresses
the ``.gz`` files. Run ``python -m dropout_lib.data`` (``make data``) to fetch once.
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
    "SyntheticSplits",
    "synthetic_classification",
]

MIRROR = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
DEBIAN_PACKAGE = "dataset-fashion-mnist"

#: IDX file name -> SHA-256 of its decompressed bytes.
FILES: dict[str, str] = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
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

    Layout: two zero bytes, a type byte (0x08 = uint8), a rank byte ``d``, then
    ``d`` big-endian uint32 sizes, then the ``prod(sizes)`` data bytes.

    Raises ``ValueError`` naming what is wrong for a bad magic number, a
    truncated header or a data length that does not match the sizes.
    """
    if len(data) < 4:
        raise ValueError(f"IDX data too short for a header: {len(data)} bytes")
    if data[0] != 0 or data[1] != 0:
        raise ValueError("not an IDX file: the first two bytes must be zero")
    if data[2] != 0x08:
        raise ValueError(
            f"unsupported IDX element type 0x{data[2]:02x}; only 0x08 (uint8) is supported"
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
            f"IDX data length mismatch: shape {shape} needs {expected} bytes, got {len(data) - header}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape).copy()


def _read_bytes(directory: Path, name: str) -> bytes | None:
    """The decompressed bytes of ``name`` in ``directory`` (plain or .gz), or None if absent."""
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
    """Read and verify ``names`` in ``directory``: (contents, None) or (None, why not)."""
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
                f"{directory}: {name} is corrupt (SHA-256 {digest[:12]}..., expected {FILES[name][:12]}...)",
            )
        out[name] = blob
    return out, None


def _candidates(root: str | os.PathLike | None) -> list[Path]:
    dirs: list[Path] = []
    if root is not None:
        dirs.append(Path(root))
    if os.environ.get("DROPOUT_DATA"):
        dirs.append(Path(os.environ["DROPOUT_DATA"]))
    dirs += [cache_dir(), DEBIAN_DIR]
    return dirs


def find_fashion_mnist(root: str | os.PathLike | None = None) -> Path | None:
    """The first searched directory holding all four verified files, or None."""
    for d in _candidates(root):
        contents, _ = _check_dir(d, tuple(FILES))
        if contents is not None:
            return d
    return None


def download_fashion_mnist(
    dest: str | os.PathLike | None = None,
    base_url: str | None = None,
    timeout: float = 60.0,
) -> Path:
    """Download the four ``.gz`` files into ``dest`` (default: the cache directory).

    Each file goes to a temporary file in ``dest`` first and is moved into place
    (an atomic rename) only after its decompressed SHA-256 matches. A failed,
    interrupted or corrupt download removes the temporary file, so no partial
    file is ever left under the final name. Files already present and verified
    are not downloaded again. ``base_url`` defaults to :data:`MIRROR`.
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
                    f"incomplete download of {url}: {tmp.stat().st_size} of {expected_len} bytes"
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
                    f"checksum mismatch for {url}: got {digest[:12]}..., expected {sha[:12]}..."
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
    """Fetch Debian's ``dataset-fashion-mnist`` without root (apt-get download + dpkg -x)."""
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
    root: str | os.PathLike | None = None, verbose: bool = False
) -> Path:
    """Make sure a verified copy exists; fetch one (Debian package, then the mirror) if not."""
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
            f"inconsistent Fashion-MNIST files in {directory}: {images.shape} vs {labels.shape}"
        )
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def fashion_mnist(
    split: Literal["train", "test"] = "train",
    root: str | os.PathLike | None = None,
    download: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Load a split: ``(images uint8 [N, 28, 28], labels int64 [N])``.

    ``train`` has 60 000 images and ``test`` 10 000, 10 classes
    (:data:`CLASS_NAMES`). The returned arrays are fresh copies, so callers may
    modify them. Raises :class:`DataNotFoundError` listing the ways to get the
    data when no verified copy is found (and ``download`` is False or fails).
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
    """``python -m dropout_lib.data``: make sure the data is present and verified."""
    try:
        ensure_fashion_mnist(verbose=True)
    except DataNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


# --------------------------------------------------------------------------
# A synthetic binary classification task (scikit-learn's make_classification)
# --------------------------------------------------------------------------

from typing import NamedTuple  # noqa: E402  (kept next to the code that uses it)


class SyntheticSplits(NamedTuple):
    """Train, validation and test parts of a synthetic data set.

    Inputs are float32 arrays ``[n, n_features]``, labels int64 arrays ``[n]``
    with values in ``{0, ..., n_classes - 1}``.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def _check_size(value, name: str) -> None:
    if isinstance(value, bool) or not isinstance(
        value, (int, np.integer, float, np.floating)
    ):
        raise TypeError(
            f"{name} must be an int (a count) or a float (a fraction); got {name}={value!r}"
        )
    if isinstance(value, (float, np.floating)):
        if not 0.0 < float(value) < 1.0:
            raise ValueError(
                f"{name} as a fraction must lie strictly between 0 and 1; got {name}={value!r}"
            )
    elif value < 1:
        raise ValueError(
            f"{name} as a count must be a positive integer; got {name}={value!r}"
        )


def synthetic_classification(
    n_samples: int = 1000,
    n_features: int = 20,
    *,
    n_classes: int = 2,
    test_size: int | float = 0.2,
    val_size: int | float = 0.2,
    train_size: int | None = None,
    random_state: int = 42,
    split_seed: int = 0,
    **make_classification_kwargs,
) -> SyntheticSplits:
    """Draw ``make_classification`` data and split it, stratified, into train / validation / test.

    The data are scikit-learn's ``make_classification(n_samples, n_features,
    n_classes, random_state, **make_classification_kwargs)`` (Guyon's
    hypercube design: for each class, Gaussian clusters around vertices of a
    hypercube in ``n_informative`` dimensions, plus redundant linear
    combinations and pure-noise features; ``flip_y`` of the labels are
    randomised). The splits follow Keras's ``fit(validation_split=...)`` recipe:

    1. ``test_size`` of the ``n_samples`` examples are held out as the test set;
    2. ``val_size`` of the REMAINING examples become the validation set;
    3. the rest is the training set, optionally subsampled to ``train_size``
       examples (to study small-data regimes on the same distribution).

    Sizes given as floats are fractions, as ints counts (``train_test_split``'s
    rule). Every split is stratified by label and driven by ``split_seed``, so
    the class proportions are the same in all three parts up to rounding.
    The result is deterministic in ``(random_state, split_seed)``.

    Raises
    ------
    TypeError
        If a size is neither an int nor a float.
    ValueError
        If a size is out of range or the splits leave no training data.
    """
    from sklearn.datasets import make_classification
    from sklearn.model_selection import train_test_split

    for name, value in (
        ("n_samples", n_samples),
        ("n_features", n_features),
        ("n_classes", n_classes),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an int; got {name}={value!r}")
    if n_classes < 2:
        raise ValueError(f"n_classes must be at least 2; got n_classes={n_classes}")
    _check_size(test_size, "test_size")
    _check_size(val_size, "val_size")
    if train_size is not None:
        if isinstance(train_size, bool) or not isinstance(
            train_size, (int, np.integer)
        ):
            raise TypeError(
                f"train_size must be an int or None; got train_size={train_size!r}"
            )
        if train_size < n_classes:
            raise ValueError(
                f"train_size must be at least n_classes={n_classes}; got train_size={train_size}"
            )
    x, y = make_classification(
        n_samples=n_samples,
        n_features=n_features,
        n_classes=n_classes,
        random_state=random_state,
        **make_classification_kwargs,
    )
    try:
        x_rest, x_test, y_rest, y_test = train_test_split(
            x, y, test_size=test_size, stratify=y, random_state=split_seed
        )
        x_train, x_val, y_train, y_val = train_test_split(
            x_rest, y_rest, test_size=val_size, stratify=y_rest, random_state=split_seed
        )
        if train_size is not None and train_size < len(x_train):
            x_train, _, y_train, _ = train_test_split(
                x_train,
                y_train,
                train_size=int(train_size),
                stratify=y_train,
                random_state=split_seed,
            )
        elif train_size is not None and train_size > len(x_train):
            raise ValueError(
                f"train_size={train_size} exceeds the {len(x_train)} training examples left after the test "
                f"and validation splits"
            )
    except ValueError as exc:
        raise ValueError(f"cannot split {n_samples} samples this way: {exc}") from exc
    f32 = lambda a: np.ascontiguousarray(a, dtype=np.float32)  # noqa: E731
    i64 = lambda a: np.ascontiguousarray(a, dtype=np.int64)  # noqa: E731
    return SyntheticSplits(
        f32(x_train), i64(y_train), f32(x_val), i64(y_val), f32(x_test), i64(y_test)
    )
