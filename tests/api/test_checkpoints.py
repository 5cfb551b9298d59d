"""`tx.train.save` / `tx.train.load`: a round trip of a nested tree of Variables, Tensors and
NumPy arrays (float32, float64, int32, bool; 0-d, empty, size 1, non-contiguous), Variables
assigned in place and Tensors returned new; an optimizer's state saved mid-training and training
resumed exactly, by a compiled step (numpy, cpu, gpu-sim) that does not retrace; the errors for
another shape, dtype or structure naming the leaf's path; truncated, garbage, corrupted and
foreign files refused with nothing assigned; the atomic write (no temporary file left behind,
the old checkpoint intact when writing fails).
"""

import collections
import inspect
import os
import zipfile

import numpy as np
import pytest
from oracle import assert_same, rand

import tracefuse as tx
from tracefuse import train

THIS_FILE = os.path.basename(__file__)
Pair = collections.namedtuple("Pair", "left right")


def _line() -> int:
    return inspect.currentframe().f_back.f_lineno


def make_tree(rng):
    """A nested tree of every kind of leaf, with the arrays each leaf was made from."""
    arrays = {
        "w": rand(rng, (3, 4), "float32"),
        "b": rand(rng, (), "float64"),
        "count": rand(rng, (5,), "int32"),
        "mask": rand(rng, (2, 3), "bool"),
        "empty": rand(rng, (0, 3), "float32"),
        "one": rand(rng, (1,), "float64"),
        "t": np.asfortranarray(rand(rng, (4, 2), "float64")),
        "np": rand(rng, (6,), "int32")[::2],
    }
    tree = {
        "params": [tx.Variable(arrays["w"], name="w"), tx.Variable(arrays["b"], name="b")],
        "state": Pair(tx.Variable(arrays["count"], trainable=False),
                      tx.Variable(arrays["mask"], trainable=False)),
        "misc": (tx.Variable(arrays["empty"]), tx.Variable(arrays["one"]),
                 tx.asarray(arrays["t"]), arrays["np"], None),
    }
    order = ["w", "b", "count", "mask", "empty", "one", "t", "np"]
    return tree, [arrays[k] for k in order]


def leaves_of(tree):
    return [x for x in (tree["params"] + list(tree["state"]) + list(tree["misc"][:4]))]


def value_of(leaf):
    return np.array(leaf.numpy() if hasattr(leaf, "numpy") else leaf)


def scramble(tree, rng):
    """Give every Variable of `tree` other values of its type."""
    for leaf in leaves_of(tree):
        if isinstance(leaf, tx.Variable):
            leaf.assign(rand(rng, leaf.shape, leaf.dtype.name))


def test_round_trip(rng, tmp_path):
    tree, arrays = make_tree(rng)
    path = tmp_path / "ckpt.npz"
    train.save(path, tree)
    assert os.listdir(tmp_path) == ["ckpt.npz"]  # no temporary file left behind
    scramble(tree, rng)
    out = tx.train.load(path, like=tree)
    assert out["misc"][4] is None and isinstance(out["state"], Pair)
    for got, given, expected in zip(leaves_of(out), leaves_of(tree), arrays):
        if isinstance(given, tx.Variable):
            assert got is given  # assigned in place
            assert_same(given.value(), expected)
        else:
            assert isinstance(got, tx.Tensor) and got is not given
            assert_same(got, expected)
    with np.load(path) as archive:  # a plain .npz inside
        np.testing.assert_array_equal(archive["leaf_0"], arrays[0])


def test_a_single_leaf_and_an_empty_tree(rng, tmp_path):
    v = tx.Variable(rand(rng, (), "float32"))
    expected = v.numpy()
    train.save(tmp_path / "one", v)
    v.assign(np.float32(0.5) + expected)
    assert train.load(tmp_path / "one", like=v) is v
    assert_same(v.value(), expected)
    train.save(tmp_path / "none", {})
    assert train.load(tmp_path / "none", like={}) == {}


@pytest.mark.parametrize("backend", ("numpy", "cpu", "gpu-sim"))
def test_training_resumes_exactly_from_a_checkpoint(backend, rng, tmp_path):
    w = tx.Variable(rand(rng, (3, 2), "float64"))
    b = tx.Variable(rand(rng, (2,), "float64"))
    opt = tx.optimizers.Adam(learning_rate=0.05)
    x, y = rand(rng, (8, 3), "float64"), rand(rng, (8, 2), "float64")

    @tx.function(backend=backend)
    def step(x, y):
        with tx.GradientTape() as tape:
            loss = tx.mean((x @ w + b - y) ** 2)
        opt.apply_gradients(zip(tape.gradient(loss, [w, b]), [w, b]))
        return loss

    for _ in range(2):
        step(x, y)
    state = {"params": [w, b], "optimizer": opt.variables}
    train.save(tmp_path / "ckpt", state)
    for _ in range(3):
        step(x, y)
    expected = [w.numpy(), b.numpy()] + [s.numpy() for s in opt.variables]
    train.load(tmp_path / "ckpt", like=state)
    assert opt.iterations.numpy() == 2
    for _ in range(3):
        step(x, y)
    for got, want in zip([w, b] + opt.variables, expected):
        assert_same(got.value(), want, rtol=1e-12)
    assert step.trace_count == 1


def test_another_shape_dtype_or_structure_names_the_leaf(rng, tmp_path):
    tree, _ = make_tree(rng)
    path = tmp_path / "ckpt.npz"
    train.save(path, tree)
    scramble(tree, rng)
    before = [value_of(leaf) for leaf in leaves_of(tree)]

    def unchanged():
        for leaf, b in zip(leaves_of(tree), before):
            np.testing.assert_array_equal(value_of(leaf), b)

    other_shape = dict(tree, misc=(tx.Variable(np.zeros((0, 4), np.float32)),) + tree["misc"][1:])
    line = _line() + 3
    with pytest.raises(train.CheckpointError, match=r"leaf \['misc'\]\[0\] is float32\[0, 3\] "
                       r"in .* but float32\[0, 4\] in `like`") as e:
        train.load(path, like=other_shape)
    assert f"{THIS_FILE}:{line}" in str(e.value)
    unchanged()
    other_dtype = dict(tree, params=[tree["params"][0], tx.Variable(np.float32(1.0))])
    with pytest.raises(train.CheckpointError, match=r"leaf \['params'\]\[1\] is float64\[\] "):
        train.load(path, like=other_dtype)
    unchanged()
    missing = {k: v for k, v in tree.items() if k != "state"}
    with pytest.raises(train.CheckpointError, match=r"another structure: the file has "
                       r"\['state'\]\.left that `like` lacks"):
        train.load(path, like=missing)
    extra = dict(tree, more=tx.Variable(np.ones(2)))
    with pytest.raises(train.CheckpointError, match=r"`like` has \['more'\] that the file lacks"):
        train.load(path, like=extra)
    unchanged()
    with pytest.raises(TypeError, match=r"the leaf \['x'\] is int"):
        train.save(tmp_path / "bad", {"x": 3})
    with pytest.raises(FileNotFoundError):
        train.load(tmp_path / "nothing.npz", like=tree)


def damaged_copies(path, rng):
    data = path.read_bytes()
    with zipfile.ZipFile(path) as z:  # the first byte of a member's stored data
        info = z.infolist()[0]
        start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    flipped = bytearray(data)
    flipped[start + 100] ^= 0xFF
    yield "truncated to half", data[: len(data) // 2]
    yield "truncated by one byte", data[:-1]
    yield "truncated inside the first member", data[: start + 50]
    yield "a flipped byte in the data", bytes(flipped)
    yield "garbage", rng.integers(0, 256, size=len(data), dtype=np.uint8).tobytes()
    yield "empty", b""


def test_damaged_files_are_refused_with_nothing_assigned(rng, tmp_path):
    tree, _ = make_tree(rng)
    path = tmp_path / "ckpt.npz"
    train.save(path, tree)
    scramble(tree, rng)
    before = [value_of(leaf) for leaf in leaves_of(tree)]
    bad = tmp_path / "bad.npz"
    for what, data in damaged_copies(path, rng):
        bad.write_bytes(data)
        with pytest.raises(train.CheckpointError, match="truncated or corrupted"):
            train.load(bad, like=tree)
        for leaf, b in zip(leaves_of(tree), before):
            np.testing.assert_array_equal(value_of(leaf), b, err_msg=what)
    np.savez(bad, leaf_0=np.ones(3))  # a .npz that tx.train did not write
    with pytest.raises(train.CheckpointError, match="not written by tx.train.save"):
        train.load(bad, like=tree)


def test_a_failed_write_keeps_the_old_checkpoint(rng, tmp_path, monkeypatch):
    v = tx.Variable(rand(rng, (4,), "float64"))
    path = tmp_path / "ckpt.npz"
    train.save(path, [v])
    old = path.read_bytes()

    def failing_savez(f, **arrays):
        f.write(b"PK\x03\x04 partial")
        raise OSError("disk full")

    monkeypatch.setattr(train.np, "savez", failing_savez)
    with pytest.raises(OSError, match="disk full"):
        train.save(path, [tx.Variable(rand(rng, (4,), "float64"))])
    assert path.read_bytes() == old and os.listdir(tmp_path) == ["ckpt.npz"]
    monkeypatch.undo()
    train.save(path, [tx.Variable(np.ones(4))])  # a save replaces the file
    assert os.listdir(tmp_path) == ["ckpt.npz"]
    train.load(path, like=[v])
    assert_same(v.value(), np.ones(4))


def test_inside_a_trace_is_refused(rng, tmp_path):
    v = tx.Variable(rand(rng, (2,), "float64"))

    @tx.function(backend="numpy")
    def f(x):
        train.save(tmp_path / "x", [v])
        return x

    with pytest.raises(RuntimeError, match="inside a function being traced"):
        f(rand(rng, (2,), "float64"))
    assert os.listdir(tmp_path) == []
