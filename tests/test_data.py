"""Tests for dropout_lib.data on small generated IDX fixtures (no internet needed)."""

import gzip
import hashlib
import http.server
import threading
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from dropout_lib import data


def idx_bytes(arr: np.ndarray) -> bytes:
    arr = np.asarray(arr, dtype=np.uint8)
    header = bytes([0, 0, 8, arr.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in arr.shape
    )
    return header + arr.tobytes()


@pytest.fixture
def fixture_files(tmp_path, monkeypatch):
    """Four tiny IDX files (gzipped) in tmp_path/src, FILES patched to their hashes."""
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, size=(6, 28, 28)),
        "train-labels-idx1-ubyte": np.arange(6) % 10,
        "t10k-images-idx3-ubyte": rng.integers(0, 256, size=(4, 28, 28)),
        "t10k-labels-idx1-ubyte": np.array([9, 0, 3, 3]),
    }
    src = tmp_path / "src"
    src.mkdir()
    hashes = {}
    for name, arr in arrays.items():
        raw = idx_bytes(arr)
        hashes[name] = hashlib.sha256(raw).hexdigest()
        (src / (name + ".gz")).write_bytes(gzip.compress(raw))
    monkeypatch.setattr(data, "FILES", hashes)
    monkeypatch.setattr(data, "DEBIAN_DIR", tmp_path / "no-debian")
    cache = tmp_path / "cache"
    monkeypatch.setattr(data, "cache_dir", lambda: cache)
    monkeypatch.delenv("DROPOUT_DATA", raising=False)
    data._load.cache_clear()
    return src, arrays


def test_parse_idx_roundtrip():
    arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(data.parse_idx(idx_bytes(arr)), arr)
    assert data.parse_idx(idx_bytes(np.array([1, 2, 3]))).shape == (3,)


@pytest.mark.parametrize(
    "blob, match",
    [
        (b"\x00\x00", "too short"),
        (b"\x01\x00\x08\x01" + (3).to_bytes(4, "big") + b"abc", "first two bytes"),
        (b"\x00\x00\x0d\x01" + (3).to_bytes(4, "big") + b"abc", "element type"),
        (b"\x00\x00\x08\x03" + (3).to_bytes(4, "big"), "truncated IDX header"),
        (b"\x00\x00\x08\x01" + (5).to_bytes(4, "big") + b"abc", "length mismatch"),
    ],
)
def test_parse_idx_rejects_bad_files(blob, match):
    with pytest.raises(ValueError, match=match):
        data.parse_idx(blob)


def test_load_from_root_plain_and_gz(fixture_files, tmp_path):
    src, arrays = fixture_files
    x, y = data.fashion_mnist("train", root=src, download=False)
    assert x.dtype == np.uint8 and x.shape == (6, 28, 28) and y.dtype == np.int64
    np.testing.assert_array_equal(x, arrays["train-images-idx3-ubyte"])
    x[0, 0, 0] = 1  # callers get their own copy
    x2, _ = data.fashion_mnist("train", root=src, download=False)
    np.testing.assert_array_equal(x2, arrays["train-images-idx3-ubyte"])
    plain = tmp_path / "plain"
    plain.mkdir()
    for f in src.iterdir():
        (plain / f.name[:-3]).write_bytes(gzip.decompress(f.read_bytes()))
    xt, yt = data.fashion_mnist("test", root=plain, download=False)
    np.testing.assert_array_equal(yt, [9, 0, 3, 3])


def test_environment_variable_is_searched(fixture_files, monkeypatch):
    src, _ = fixture_files
    monkeypatch.setenv("DROPOUT_DATA", str(src))
    assert data.find_fashion_mnist() == src
    assert data.fashion_mnist("test", download=False)[0].shape == (4, 28, 28)


def test_corrupt_and_truncated_files_are_rejected_with_help(fixture_files, tmp_path):
    src, _ = fixture_files
    bad = tmp_path / "bad"
    bad.mkdir()
    for f in src.iterdir():
        (bad / f.name).write_bytes(f.read_bytes())
    raw = bytearray(gzip.decompress((bad / "t10k-images-idx3-ubyte.gz").read_bytes()))
    raw[100] ^= 0xFF
    (bad / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(bytes(raw)))
    (bad / "train-labels-idx1-ubyte.gz").write_bytes(
        (src / "train-labels-idx1-ubyte.gz").read_bytes()[:20]
    )
    with pytest.raises(data.DataNotFoundError) as info:
        data.fashion_mnist("test", root=bad, download=False)
    msg = str(info.value)
    assert (
        "corrupt" in msg
        and "make data" in msg
        and "apt-get" in msg
        and data.MIRROR in msg
    )
    with pytest.raises(data.DataNotFoundError, match="not a readable gzip"):
        data.fashion_mnist("train", root=bad, download=False)


def test_missing_everywhere_lists_the_ways(fixture_files, tmp_path):
    with pytest.raises(data.DataNotFoundError, match="missing") as info:
        data.fashion_mnist("train", root=tmp_path / "empty", download=False)
    assert "DROPOUT_DATA" in str(info.value)


def test_bad_split():
    with pytest.raises(ValueError, match="split must be 'train' or 'test'"):
        data.fashion_mnist("validation")


class _Handler(http.server.SimpleHTTPRequestHandler):
    truncate: set = set()

    def log_message(self, *args):
        pass

    def do_GET(self):
        name = self.path.strip("/")
        path = Path(self.directory) / name
        if not path.is_file():
            self.send_error(404)
            return
        body = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if name in self.truncate:
            self.wfile.write(body[: len(body) // 2])  # the server dies halfway
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


@pytest.fixture
def server(fixture_files):
    src, _ = fixture_files
    handler = type("H", (_Handler,), {"truncate": set()})
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(handler, directory=str(src))
    )
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", handler
    httpd.shutdown()
    httpd.server_close()


def test_download_from_loopback_server(server, tmp_path, fixture_files):
    url, _ = server
    dest = data.download_fashion_mnist(tmp_path / "dl", base_url=url, timeout=10)
    assert sorted(p.name for p in dest.iterdir()) == sorted(
        n + ".gz" for n in data.FILES
    )
    x, y = data.fashion_mnist("train", root=dest, download=False)
    assert x.shape == (6, 28, 28)


def test_interrupted_download_leaves_no_partial_file(server, tmp_path):
    url, handler = server
    handler.truncate.add("train-images-idx3-ubyte.gz")
    dest = tmp_path / "dl"
    with pytest.raises(OSError, match="train-images"):
        data.download_fashion_mnist(dest, base_url=url, timeout=10)
    names = sorted(p.name for p in dest.iterdir())
    assert "train-images-idx3-ubyte.gz" not in names
    assert not [n for n in names if n.endswith(".part")]
    # a retry after the server recovers completes the set and keeps the good files
    handler.truncate.clear()
    data.download_fashion_mnist(dest, base_url=url, timeout=10)
    assert len(list(dest.iterdir())) == 4


def test_corrupt_download_is_rejected(server, tmp_path, fixture_files, monkeypatch):
    url, _ = server
    hashes = dict(data.FILES)
    hashes["t10k-labels-idx1-ubyte"] = "0" * 64
    monkeypatch.setattr(data, "FILES", hashes)
    dest = tmp_path / "dl"
    with pytest.raises(OSError, match="checksum mismatch"):
        data.download_fashion_mnist(dest, base_url=url, timeout=10)
    assert not (dest / "t10k-labels-idx1-ubyte.gz").exists()
    assert not list(dest.glob("*.part"))


def test_missing_file_on_server(server, tmp_path, fixture_files):
    url, _ = server
    (fixture_files[0] / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(OSError, match="404"):
        data.download_fashion_mnist(tmp_path / "dl", base_url=url, timeout=10)


def test_fashion_mnist_falls_back_to_download_into_cache(server, monkeypatch, tmp_path):
    url, _ = server
    monkeypatch.setattr(data, "MIRROR", url)
    x, y = data.fashion_mnist("test")
    assert x.shape == (4, 28, 28)
    assert data.find_fashion_mnist() == data.cache_dir()


def test_real_data_if_present():
    """The real files, wherever make data put them: sizes and class balance."""
    if data.find_fashion_mnist() is None:
        pytest.skip("Fashion-MNIST not installed; run make data")
    x, y = data.fashion_mnist("test", download=False)
    assert x.shape == (10_000, 28, 28) and np.bincount(y).tolist() == [1000] * 10
    x, y = data.fashion_mnist("train", download=False)
    assert x.shape == (60_000, 28, 28) and np.bincount(y).tolist() == [6000] * 10
    assert len(data.CLASS_NAMES) == 10


def test_ensure_uses_debian_package_then_mirror(server, monkeypatch):
    url, _ = server
    monkeypatch.setattr(data, "MIRROR", url)
    monkeypatch.setattr(data, "_from_debian_package", lambda dest: False)
    assert data.ensure_fashion_mnist() == data.cache_dir()
    assert data.find_fashion_mnist() == data.cache_dir()


def test_ensure_reports_failure_with_help(fixture_files, monkeypatch):
    monkeypatch.setattr(
        data, "MIRROR", "http://127.0.0.1:9/"
    )  # the discard port: refused
    monkeypatch.setattr(data, "_from_debian_package", lambda dest: False)
    with pytest.raises(data.DataNotFoundError, match="could not be downloaded"):
        data.ensure_fashion_mnist()
    assert data.main([]) == 1
