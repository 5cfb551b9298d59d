"""The manipulation and contraction functions composed of existing ops, against NumPy, eagerly
and compiled (oracle.check: eager, numpy, gpu-sim; a few on cpu too): tile, repeat, roll,
moveaxis, unstack, diff, meshgrid, tril, triu, pad, tensordot, vecdot, einsum, count_nonzero,
clip, expand_dims (tuple axes; out-of-range axes raise IndexError). Every dtype, empty and 0-d
arrays, negative and out-of-range axes; gradients against central finite differences of the
NumPy function; vmap against a loop."""

import inspect
import os

import numpy as np
import pytest

import tracefuse as tx
from oracle import ALL_DTYPES, FLOAT_DTYPES, REAL_DTYPES, check_with_types as check, layouts, rand

THIS_FILE = os.path.basename(__file__)
NUMERIC = ("int8", "uint8", "int32", "int64", "float32", "float64")


def raises_at_line(exc, call, match=None):
    """`call` (a lambda on one line of this file) raises `exc` naming that line."""
    line = inspect.getsourcelines(call)[1]
    with pytest.raises(exc, match=match) as info:
        call()
    assert f"{THIS_FILE}:{line}" in str(info.value), str(info.value)


# --- tile ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,reps", [
    ((2, 3), (2, 1)), ((2, 3), (3,)), ((2, 3), (2, 1, 2)), ((), (3,)), ((), ()), ((7,), ()),
    ((0, 3), (2, 2)), ((3, 5), (0, 2)), ((1,), (1, 1)), ((2, 1, 3), (1, 4, 1)), ((4,), 3),
], ids=str)
def test_tile(shape, reps, rng):
    x = rand(rng, shape, "float64", special=True)
    check(lambda a: tx.tile(a, reps), lambda a: np.tile(a, reps), x)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_tile_dtypes(dtype, rng):
    x = rand(rng, (2, 3), dtype)
    check(lambda a: tx.tile(a, (2, 1, 2)), lambda a: np.tile(a, (2, 1, 2)), x)


def test_tile_negative_repetitions():
    raises_at_line(ValueError, lambda: tx.tile(np.ones(3), (-1,)))


# --- repeat --------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,repeats,axis", [
    ((2, 3), 2, 0), ((2, 3), 2, -1), ((2, 3), 3, None), ((2, 3), [1, 0, 2], 1),
    ((2, 3), [2, 2, 1], -1), ((2, 3), [0, 0], 0), ((2, 3), [3], 1), ((2, 3), 0, 1),
    ((), 3, None), ((0, 3), 2, 0), ((0, 3), [1, 2, 3], 1), ((7,), [1, 1, 2, 2, 2, 0, 5], 0),
    ((2, 1, 3), np.array([2, 1, 1]), 2), ((4,), np.int64(2), None),
], ids=str)
def test_repeat(shape, repeats, axis, rng):
    x = rand(rng, shape, "float32", special=True)
    check(lambda a: tx.repeat(a, repeats, axis=axis), lambda a: np.repeat(a, repeats, axis=axis), x)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_repeat_dtypes(dtype, rng):
    x = rand(rng, (3, 2), dtype)
    check(lambda a: tx.repeat(a, [2, 0, 1], axis=0), lambda a: np.repeat(a, [2, 0, 1], axis=0), x)
    check(lambda a: tx.repeat(a, 2), lambda a: np.repeat(a, 2), x)


def test_repeat_by_a_tensor_eagerly_and_by_a_static_one_when_traced(rng):
    x = rand(rng, (3, 4), "float64")
    counts = tx.asarray(np.array([1, 3, 0, 2]))
    expected = np.repeat(x, [1, 3, 0, 2], axis=1)
    check(lambda a: tx.repeat(a, counts, axis=1), lambda a: expected, x)  # traced: a constant


def test_repeat_by_traced_counts_is_a_concretization_error(rng):
    x = rand(rng, (4,), "float64")
    def counts_traced(a, r):
        return tx.repeat(a, r)

    line = inspect.getsourcelines(counts_traced)[1] + 1
    f = tx.function(counts_traced, backend="numpy")
    with pytest.raises(tx.ConcretizationError, match="static") as info:
        f(x, np.array([1, 2, 0, 1]))
    assert f"{THIS_FILE}:{line}" in str(info.value)
    g = tx.function(lambda a, r: tx.repeat(a, r), backend="numpy", static_argnums=1)
    np.testing.assert_array_equal(g(x, (1, 2, 0, 1)).numpy(), np.repeat(x, [1, 2, 0, 1]))


def test_repeat_errors(rng):
    x = rand(rng, (2, 3), "float64")
    raises_at_line(IndexError, lambda: tx.repeat(x, 2, axis=2))
    raises_at_line(IndexError, lambda: tx.repeat(x, 2, axis=-3))
    raises_at_line(ValueError, lambda: tx.repeat(x, [1, 2], axis=1))
    raises_at_line(ValueError, lambda: tx.repeat(x, -1, axis=1))
    raises_at_line(TypeError, lambda: tx.repeat(x, np.array([1.5, 1, 1]), axis=1))
    with pytest.raises(IndexError):
        np.repeat(x, 2, axis=2)  # NumPy agrees


# --- roll ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,shift,axis", [
    ((7,), 2, None), ((7,), -3, 0), ((7,), 15, -1), ((3, 5), 4, None), ((3, 5), 1, 1),
    ((3, 5), (1, -2), (0, 1)), ((3, 5), 2, (0, 1)), ((3, 5), (1, 2), 1), ((3, 5), (1, 1), (1, 1)),
    ((3, 5), 5, 1), ((), 3, None), ((0, 3), 1, 0), ((0, 3), 2, 1), ((2, 1, 33), -7, -1),
    ((3, 5), (1, 2), None),
], ids=str)
def test_roll(shape, shift, axis, rng):
    x = rand(rng, shape, "float64", special=True)
    for arr in layouts(x)[:3]:
        check(lambda a: tx.roll(a, shift, axis=axis), lambda a: np.roll(a, shift, axis=axis), arr)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_roll_dtypes(dtype, rng):
    x = rand(rng, (3, 4), dtype)
    check(lambda a: tx.roll(a, (1, -1), axis=(0, 1)), lambda a: np.roll(a, (1, -1), axis=(0, 1)), x)


def test_roll_errors():
    x = np.ones((2, 3))
    raises_at_line(IndexError, lambda: tx.roll(x, 1, axis=2))
    raises_at_line(ValueError, lambda: tx.roll(x, (1, 2, 3), axis=(0, 1)))
    raises_at_line(TypeError, lambda: tx.roll(x, 1.5, axis=0))


# --- moveaxis -------------------------------------------------------------------------------------
@pytest.mark.parametrize("source,destination", [
    (0, -1), (-1, 0), ((0, 1), (2, 0)), ((0, 2), (-1, -2)), ([], []), (1, 1),
    ((0, 1, 2), (2, 1, 0)),
], ids=str)
def test_moveaxis(source, destination, rng):
    x = rand(rng, (2, 3, 4), "int16")
    check(lambda a: tx.moveaxis(a, source, destination),
          lambda a: np.moveaxis(a, source, destination), x)


def test_moveaxis_errors():
    x = np.ones((2, 3, 4))
    raises_at_line(IndexError, lambda: tx.moveaxis(x, 3, 0))
    raises_at_line(IndexError, lambda: tx.moveaxis(x, 0, -4))
    raises_at_line(ValueError, lambda: tx.moveaxis(x, (0, 1), (0,)))
    raises_at_line(ValueError, lambda: tx.moveaxis(x, (0, 0), (1, 2)))
    raises_at_line(ValueError, lambda: tx.moveaxis(x, (0, 1), (2, -1)))


# --- unstack --------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,axis", [((3, 4), 0), ((3, 4), 1), ((3, 4), -1), ((2, 3, 4), -2),
                                        ((1,), 0), ((5,), 0)], ids=str)
@pytest.mark.parametrize("dtype", ["bool", "uint8", "float32"])
def test_unstack(shape, axis, dtype, rng):
    x = rand(rng, shape, dtype)
    check(lambda a: tx.unstack(a, axis=axis), lambda a: tuple(np.moveaxis(a, axis, 0)), x)


def test_unstack_empty_and_errors():
    assert tx.unstack(np.ones((0, 3))) == ()
    assert [u.shape for u in tx.unstack(np.ones((3, 0)), axis=0)] == [(0,)] * 3
    raises_at_line(IndexError, lambda: tx.unstack(np.ones(()), axis=0))
    raises_at_line(IndexError, lambda: tx.unstack(np.ones((2, 3)), axis=2))


# --- diff ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,kwargs", [
    ((7,), {}), ((7,), {"n": 2}), ((7,), {"n": 0}), ((7,), {"n": 9}), ((3, 5), {"axis": 0}),
    ((3, 5), {"axis": -1, "n": 3}), ((3, 5), {"prepend": 1.5}), ((3, 5), {"append": -2.0, "n": 2}),
    ((3, 5), {"axis": 0, "prepend": "array", "append": "array"}), ((0,), {}), ((1,), {}),
    ((0, 3), {"axis": 1}), ((2, 1, 33), {"axis": 2, "n": 2}),
], ids=str)
def test_diff(shape, kwargs, rng):
    x = rand(rng, shape, "float64", special=True)
    kw = dict(kwargs)
    for side in ("prepend", "append"):
        if kw.get(side) == "array":
            edge = list(shape)
            edge[kw.get("axis", -1)] = 2
            kw[side] = rand(rng, edge, "float64")
    check(lambda a: tx.diff(a, **kw), lambda a: np.diff(a, **kw), x)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_diff_dtypes(dtype, rng):
    x = rand(rng, (3, 6), dtype, low=-100, high=200)  # uint8 differences wrap, as in NumPy
    check(lambda a: tx.diff(a, n=2), lambda a: np.diff(a, n=2), x)
    other = rand(rng, (3, 1), dtype)
    check(lambda a: tx.diff(a, prepend=other, axis=-1), lambda a: np.diff(a, prepend=other), x)


def test_diff_python_scalar_edges_take_numpy_dtypes(rng):
    x = rand(rng, (5,), "uint8")
    check(lambda a: tx.diff(a, prepend=0), lambda a: np.diff(a, prepend=0), x)  # int64
    check(lambda a: tx.diff(a, append=True), lambda a: np.diff(a, append=True), x)


def test_diff_errors():
    raises_at_line(ValueError, lambda: tx.diff(np.float64(1.0)))
    raises_at_line(ValueError, lambda: tx.diff(np.ones(3), n=-1))
    raises_at_line(IndexError, lambda: tx.diff(np.ones((2, 3)), axis=2))


# --- meshgrid -------------------------------------------------------------------------------------
@pytest.mark.parametrize("indexing", ["xy", "ij"])
@pytest.mark.parametrize("sizes", [(3,), (3, 4), (2, 3, 4), (0, 3), (1, 5, 1)], ids=str)
def test_meshgrid(sizes, indexing, rng):
    dtypes = ["float32", "int8", "bool"]
    xs = [rand(rng, (n,), dtypes[i]) for i, n in enumerate(sizes)]
    check(lambda *a: tx.meshgrid(*a, indexing=indexing),
          lambda *a: np.meshgrid(*a, indexing=indexing), *xs)


def test_meshgrid_list_flattening_and_errors(rng):
    out = tx.meshgrid()
    assert out == []
    a, b = rand(rng, (2, 2), "float64"), rand(rng, (3,), "float64")
    got = tx.meshgrid(a, b)
    assert isinstance(got, list)
    for g, e in zip(got, np.meshgrid(a, b)):
        np.testing.assert_array_equal(g.numpy(), e)
    raises_at_line(ValueError, lambda: tx.meshgrid(b, indexing="yx"))


# --- tril, triu -----------------------------------------------------------------------------------
@pytest.mark.parametrize("fn", ["tril", "triu"])
@pytest.mark.parametrize("shape", [(4, 4), (3, 5), (5, 2), (2, 3, 4), (0, 3), (3, 0), (1, 1), (4,)],
                         ids=str)
@pytest.mark.parametrize("k", [-2, 0, 1, 7])
def test_tril_triu(fn, shape, k, rng):
    x = rand(rng, shape, "float64", special=True)
    check(lambda a: getattr(tx, fn)(a, k=k), lambda a: getattr(np, fn)(a, k=k), x)


@pytest.mark.parametrize("fn", ["tril", "triu"])
@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_tril_triu_dtypes(fn, dtype, rng):
    x = rand(rng, (2, 3, 3), dtype)
    for arr in layouts(x):
        check(lambda a: getattr(tx, fn)(a, k=-1), lambda a: getattr(np, fn)(a, k=-1), arr)


@pytest.mark.parametrize("fn", ["tril", "triu"])
def test_tril_triu_mask_computed_in_the_kernel(fn, rng):
    x = rand(rng, (3, 9, 11), "float32")  # a mask over 64 elements is not folded to a constant
    check(lambda a: getattr(tx, fn)(a * 2, k=2) + 1, lambda a: getattr(np, fn)(a * 2, k=2) + 1, x)
    check(lambda a: getattr(tx, fn)(a, k=-3), lambda a: getattr(np, fn)(a, k=-3), x,
          modes=("cpu",))


def test_tril_of_0d():
    raises_at_line(ValueError, lambda: tx.tril(np.float32(1)))


# --- pad ------------------------------------------------------------------------------------------
PADS = [1, (2, 3), ((1, 2), (0, 3)), ((0, 0), (4, 1)), 0, ((3,), (1,))]


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric", "wrap"])
@pytest.mark.parametrize("width", PADS, ids=str)
def test_pad(mode, width, rng):
    x = rand(rng, (3, 4), "float64", special=True)
    check(lambda a: tx.pad(a, width, mode), lambda a: np.pad(a, width, mode), x)


@pytest.mark.parametrize("mode", ["reflect", "symmetric", "wrap", "edge"])
@pytest.mark.parametrize("size", [1, 2, 3])
def test_pad_wider_than_the_array(mode, size, rng):
    x = rand(rng, (size,), "int32")
    check(lambda a: tx.pad(a, (7, 9), mode), lambda a: np.pad(a, (7, 9), mode), x)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("mode", ["constant", "reflect"])
def test_pad_dtypes(dtype, mode, rng):
    x = rand(rng, (2, 3, 2), dtype)
    check(lambda a: tx.pad(a, ((0, 1), (2, 1), (1, 0)), mode),
          lambda a: np.pad(a, ((0, 1), (2, 1), (1, 0)), mode), x)


def test_pad_constant_values(rng):
    x = rand(rng, (3, 4), "float32")
    for values in (2.5, (1, -1), ((1, 2), (3, 4)), np.float64(-0.0), np.nan):
        check(lambda a: tx.pad(a, ((1, 2), (2, 1)), constant_values=values),
              lambda a: np.pad(a, ((1, 2), (2, 1)), constant_values=values), x)
    i = rand(rng, (3,), "int16")
    check(lambda a: tx.pad(a, 2, constant_values=7.9),
          lambda a: np.pad(a, 2, constant_values=7.9), i)


def test_pad_empty_and_0d(rng):
    e = rand(rng, (0, 3), "float32")
    check(lambda a: tx.pad(a, 1), lambda a: np.pad(a, 1), e)
    check(lambda a: tx.pad(a, ((0, 0), (1, 1)), "edge"),
          lambda a: np.pad(a, ((0, 0), (1, 1)), "edge"), e)
    s = rand(rng, (), "float64")
    check(lambda a: tx.pad(a, 2), lambda a: np.pad(a, 2), s)
    with pytest.raises(ValueError):
        np.pad(e, 1, "edge")
    raises_at_line(ValueError, lambda: tx.pad(e, 1, "edge"))


def test_pad_errors():
    x = np.ones((2, 3))
    raises_at_line(ValueError, lambda: tx.pad(x, -1))
    raises_at_line(ValueError, lambda: tx.pad(x, ((1, 1), (1, 1), (1, 1))))
    raises_at_line(ValueError, lambda: tx.pad(x, 1, "mean"))
    raises_at_line(TypeError, lambda: tx.pad(x, 1.5))


# --- tensordot, vecdot ----------------------------------------------------------------------------
TENSORDOTS = [
    ((3, 4), (4, 5), 1), ((2, 3, 4), (3, 4, 5), 2), ((3, 4), (5, 6), 0), ((), (3,), 0),
    ((2, 3, 4), (4, 3, 2), ([1, 2], [1, 0])), ((2, 3, 4), (4, 3), ((-1, -2), (0, 1))),
    ((3, 0), (0, 4), 1), ((0, 3), (3, 2), 1), ((3, 4), (4,), ([1], [0])), ((2, 3), (2, 3), 2),
]


@pytest.mark.parametrize("s1,s2,axes", TENSORDOTS, ids=str)
def test_tensordot(s1, s2, axes, rng):
    a, b = rand(rng, s1, "float64"), rand(rng, s2, "float64")
    check(lambda x, y: tx.tensordot(x, y, axes=axes), lambda x, y: np.tensordot(x, y, axes=axes),
          a, b)


@pytest.mark.parametrize("d1,d2", [("int8", "int8"), ("int8", "uint8"), ("int64", "float32"),
                                   ("float32", "float32"), ("bool", "bool")])
def test_tensordot_dtypes(d1, d2, rng):
    a, b = rand(rng, (2, 3, 4), d1), rand(rng, (3, 4, 2), d2)
    check(lambda x, y: tx.tensordot(x, y), lambda x, y: np.tensordot(x, y), a, b, rtol=1e-5)


def test_tensordot_errors():
    a, b = np.ones((2, 3)), np.ones((3, 4))
    raises_at_line(ValueError, lambda: tx.tensordot(a, b, axes=2))
    raises_at_line(ValueError, lambda: tx.tensordot(a, b, axes=-1))
    raises_at_line(ValueError, lambda: tx.tensordot(a, b, axes=([0], [0])))
    raises_at_line(ValueError, lambda: tx.tensordot(a, b, axes=([0, 1], [0])))
    raises_at_line(IndexError, lambda: tx.tensordot(a, b, axes=([2], [0])))


@pytest.mark.parametrize("s1,s2,axis", [
    ((3,), (3,), -1), ((2, 3), (3,), -1), ((2, 1, 3), (4, 3), -1), ((3, 2), (3, 2), -2),
    ((4, 3, 2), (3, 1), -2), ((0, 3), (3,), -1), ((2, 0), (2, 0), -1),
], ids=str)
@pytest.mark.parametrize("dtype", ["int8", "uint16", "float32", "float64", "bool"])
def test_vecdot(s1, s2, axis, dtype, rng):
    a, b = rand(rng, s1, dtype), rand(rng, s2, dtype)
    check(lambda x, y: tx.vecdot(x, y, axis=axis), lambda x, y: np.vecdot(x, y, axis=axis), a, b)


def test_vecdot_errors():
    raises_at_line(IndexError, lambda: tx.vecdot(np.ones((2, 3)), np.ones(3), axis=-2))
    raises_at_line(ValueError, lambda: tx.vecdot(np.ones((2, 3)), np.ones(2)))
    raises_at_line(ValueError, lambda: tx.vecdot(np.ones((2, 3)), np.ones((4, 3))))


# --- einsum ---------------------------------------------------------------------------------------
EINSUMS = [
    ("ij,jk->ik", [(3, 4), (4, 5)]), ("ij,jk", [(3, 4), (4, 5)]), ("ii->i", [(4, 4)]),
    ("ii", [(4, 4)]), ("ij->ji", [(3, 4)]), ("ij->", [(3, 4)]), ("ij->j", [(3, 4)]),
    ("i,i", [(5,), (5,)]), ("i,j->ij", [(3,), (4,)]), ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]),
    ("ijk,kl,lm->im", [(2, 3, 4), (4, 5), (5, 2)]),
    ("Ba,bA", [(2, 3), (4, 5)]), ("iij->j", [(3, 3, 4)]), ("i,i,i->", [(4,), (4,), (4,)]),
    ("ij,ij->ij", [(3, 4), (3, 4)]), ("...i,...i", [(2, 1, 3), (4, 3)]), ("i->", [(0,)]),
    ("ij,jk->ik", [(3, 0), (0, 2)]), ("iji->ij", [(3, 2, 3)]), ("i,i->i", [(3,), (1,)]),
    ("ab,cd,bc->ad", [(2, 3), (4, 5), (3, 4)]), ("...", [(2, 3)]), ("i...->...", [(3, 2, 2)]),
    ("ij, jk -> ki", [(2, 3), (3, 2)]), ("", [()]), (",->", [(), ()]),
    ("ijk,ijk->", [(2, 3, 4)] * 2),
]


@pytest.mark.parametrize("subscripts,shapes", EINSUMS, ids=str)
def test_einsum(subscripts, shapes, rng):
    xs = [rand(rng, s, "float64") for s in shapes]
    check(lambda *a: tx.einsum(subscripts, *a), lambda *a: np.einsum(subscripts, *a), *xs)


@pytest.mark.parametrize("dtype", ["bool", "int8", "uint8", "int64", "float32"])
@pytest.mark.parametrize("subscripts,shapes", [("ij,jk->ik", [(3, 4), (4, 2)]), ("ii", [(3, 3)]),
                                               ("ij->j", [(3, 4)]), ("i,j->ji", [(3,), (2,)])],
                         ids=str)
def test_einsum_dtypes(dtype, subscripts, shapes, rng):
    xs = [rand(rng, s, dtype, low=-50, high=100) for s in shapes]
    check(lambda *a: tx.einsum(subscripts, *a), lambda *a: np.einsum(subscripts, *a), *xs,
          rtol=1e-4)


def test_einsum_errors():
    a = np.ones((2, 3))
    raises_at_line(ValueError, lambda: tx.einsum("ij,jk", a))
    raises_at_line(ValueError, lambda: tx.einsum("ijk", a))
    raises_at_line(ValueError, lambda: tx.einsum("ij,ij", a, np.ones((3, 2))))
    raises_at_line(ValueError, lambda: tx.einsum("ij->k", a))
    raises_at_line(ValueError, lambda: tx.einsum("ij->ii", a))
    raises_at_line(ValueError, lambda: tx.einsum("i1", a))
    raises_at_line(ValueError, lambda: tx.einsum("...j->j", np.ones((2, 3))))
    raises_at_line(ValueError, lambda: tx.einsum("ii", np.ones((1, 3))))
    raises_at_line(ValueError, lambda: tx.einsum("ij,jk", a, np.ones((4, 2))))
    raises_at_line(TypeError, lambda: tx.einsum(a, [0, 1]))


# --- count_nonzero, clip, expand_dims -------------------------------------------------------------
@pytest.mark.parametrize("shape,axis,keepdims", [
    ((3, 4), None, False), ((3, 4), 0, False), ((3, 4), -1, True), ((2, 3, 4), (0, 2), False),
    ((), None, False), ((0, 3), 0, False), ((0, 3), None, True), ((7,), 0, True),
], ids=str)
@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_count_nonzero(shape, axis, keepdims, dtype, rng):
    x = rand(rng, shape, dtype, low=-2, high=2, special=True)
    check(lambda a: tx.count_nonzero(a, axis=axis, keepdims=keepdims),
          lambda a: np.asarray(np.count_nonzero(a, axis=axis, keepdims=keepdims), np.int64), x)


def test_count_nonzero_errors():
    raises_at_line(IndexError, lambda: tx.count_nonzero(np.ones((2, 3)), axis=2))
    raises_at_line(ValueError, lambda: tx.count_nonzero(np.ones((2, 3)), axis=(1, -1)))


@pytest.mark.parametrize("dtype", REAL_DTYPES)
def test_clip_with_none_scalars_and_arrays(dtype, rng):
    x = rand(rng, (3, 4), dtype, low=-9, high=9, special=True)
    lo = rand(rng, (4,), dtype, low=-3, high=1)
    hi = rand(rng, (3, 1), dtype, low=2, high=4)
    for a_min, a_max in ((None, None), (None, 2), (-1, None), (lo, hi), (lo, None), (None, hi),
                         (2, 1)):
        check(lambda a: tx.clip(a, a_min, a_max), lambda a: np.clip(a, a_min, a_max), x)
    check(lambda a: tx.clip(a, min=lo), lambda a: np.clip(a, lo, None), x)


@pytest.mark.parametrize("shape,axis", [((2, 3), (0, 1)), ((2, 3), (0, -1)), ((), (0, 1, 2)),
                                        ((3,), (-1, 0)), ((0, 2), (1,)), ((2, 3), 2)], ids=str)
def test_expand_dims_tuple(shape, axis, rng):
    x = rand(rng, shape, "int32")
    check(lambda a: tx.expand_dims(a, axis=axis), lambda a: np.expand_dims(a, axis), x)


@pytest.mark.parametrize("axis", [3, -4, (0, 4), (0, 0)])
def test_expand_dims_bad_axis(axis):
    x = np.ones((2, 3))
    exc = ValueError if axis == (0, 0) else IndexError
    with pytest.raises(exc):
        np.expand_dims(x, axis)
    raises_at_line(exc, lambda: tx.expand_dims(x, axis=axis))
    raises_at_line(tx.ShapeError, lambda: tx.expand_dims(x, axis=axis))


# --- gradients (central finite differences of the NumPy function) ---------------------------------
def fd_gradient(np_fn, xs, argnum, weights, eps=1e-6):
    """d/dx[argnum] sum(np_fn(*xs) * weights), by central differences."""
    x = xs[argnum]
    grad = np.zeros_like(x)
    for k in range(x.size):
        sides = []
        for sign in (1, -1):
            moved = x.copy()
            moved.flat[k] += sign * eps
            args = xs[:argnum] + [moved] + xs[argnum + 1:]
            sides.append(np.sum(np_fn(*args) * weights))
        grad.flat[k] = (sides[0] - sides[1]) / (2 * eps)
    return grad


GRADIENTS = [
    ("tile", lambda a: tx.tile(a, (2, 1, 3)), lambda a: np.tile(a, (2, 1, 3)), [(2, 3)]),
    ("repeat", lambda a: tx.repeat(a, [2, 0, 3], axis=1), lambda a: np.repeat(a, [2, 0, 3], axis=1),
     [(2, 3)]),
    ("repeat_int", lambda a: tx.repeat(a, 2), lambda a: np.repeat(a, 2), [(2, 3)]),
    ("roll", lambda a: tx.roll(a, (1, -2), axis=(0, 1)), lambda a: np.roll(a, (1, -2), axis=(0, 1)),
     [(3, 4)]),
    ("roll_flat", lambda a: tx.roll(a, 5), lambda a: np.roll(a, 5), [(3, 4)]),
    ("diff", lambda a: tx.diff(a, n=2, axis=0, append=a[:1] * 2),
     lambda a: np.diff(a, n=2, axis=0, append=a[:1] * 2), [(4, 3)]),
    ("tril", lambda a: tx.tril(a, k=-1), lambda a: np.tril(a, k=-1), [(2, 3, 3)]),
    ("triu", lambda a: tx.triu(a, k=1), lambda a: np.triu(a, k=1), [(3, 4)]),
    ("pad_constant", lambda a: tx.pad(a, ((1, 0), (2, 1)), constant_values=3.0),
     lambda a: np.pad(a, ((1, 0), (2, 1)), constant_values=3.0), [(2, 3)]),
    ("pad_reflect", lambda a: tx.pad(a, ((2, 1), (3, 4)), "reflect"),
     lambda a: np.pad(a, ((2, 1), (3, 4)), "reflect"), [(3, 3)]),
    ("pad_edge", lambda a: tx.pad(a, 2, "edge"), lambda a: np.pad(a, 2, "edge"), [(2, 3)]),
    ("tensordot", lambda a, b: tx.tensordot(a, b, axes=([0, 2], [1, 0])),
     lambda a, b: np.tensordot(a, b, axes=([0, 2], [1, 0])), [(2, 3, 4), (4, 2, 3)]),
    ("einsum_matmul", lambda a, b: tx.einsum("bij,jk->bki", a, b),
     lambda a, b: np.einsum("bij,jk->bki", a, b), [(2, 3, 4), (4, 2)]),
    ("einsum_diag_outer", lambda a, b: tx.einsum("ii,j->ij", a, b),
     lambda a, b: np.einsum("ii,j->ij", a, b), [(3, 3), (2,)]),
    ("einsum_three", lambda a, b, c: tx.einsum("ij,jk,k", a, b, c),
     lambda a, b, c: np.einsum("ij,jk,k", a, b, c), [(2, 3), (3, 4), (4,)]),
]


@pytest.mark.parametrize("name,tx_fn,np_fn,shapes", GRADIENTS, ids=[g[0] for g in GRADIENTS])
@pytest.mark.parametrize("compiled", [False, True])
def test_gradient_against_finite_differences(name, tx_fn, np_fn, shapes, compiled, rng):
    xs = [rand(rng, s, "float64", low=-2, high=2) for s in shapes]
    weights = rng.standard_normal(np.shape(np_fn(*xs)))

    def loss(*args):
        return tx.sum(tx_fn(*args) * weights)

    argnums = tuple(range(len(xs)))
    grad = tx.grad(loss, argnums=argnums)
    if compiled:
        grad = tx.function(grad, backend="numpy")
    got = grad(*xs)
    for i, g in enumerate(got):
        want = fd_gradient(np_fn, xs, i, weights)
        np.testing.assert_allclose(g.numpy(), want, rtol=1e-6, atol=1e-7, err_msg=f"{name}[{i}]")


def test_gradient_tape_records_the_composed_ops(rng):
    x = tx.asarray(rand(rng, (3, 4), "float64"))
    w = rng.standard_normal((5, 8))
    with tx.GradientTape() as tape:
        tape.watch(x)
        y = tx.sum(tx.pad(tx.roll(x, 1, axis=1), ((1, 1), (2, 2)), "symmetric") * w)
    want = fd_gradient(lambda a: np.pad(np.roll(a, 1, axis=1), ((1, 1), (2, 2)), "symmetric"),
                       [x.numpy()], 0, w)
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), want, rtol=1e-6, atol=1e-7)


def test_jvp_of_einsum_and_pad(rng):
    a, v = rand(rng, (3, 3), "float64"), rand(rng, (3, 3), "float64")
    _, t = tx.jvp(lambda x: tx.einsum("ij,jk->ik", x, x), (a,), (v,))
    np.testing.assert_allclose(t.numpy(), v @ a + a @ v, rtol=1e-12)
    _, t = tx.jvp(lambda x: tx.pad(x, 1, "symmetric") * 2.0, (a,), (v,))
    np.testing.assert_allclose(t.numpy(), np.pad(v, 1, "symmetric") * 2.0, rtol=1e-12)


# --- vmap -----------------------------------------------------------------------------------------
VMAPS = [
    ("roll", lambda a: tx.roll(a, 2, axis=-1), lambda a: np.roll(a, 2, axis=-1)),
    ("tril", lambda a: tx.tril(a), lambda a: np.tril(a)),
    ("pad", lambda a: tx.pad(a, ((1, 0), (0, 2)), "wrap"),
     lambda a: np.pad(a, ((1, 0), (0, 2)), "wrap")),
    ("diff", lambda a: tx.diff(a, axis=0), lambda a: np.diff(a, axis=0)),
    ("tile", lambda a: tx.tile(a, (2, 2)), lambda a: np.tile(a, (2, 2))),
    ("repeat", lambda a: tx.repeat(a, [1, 2, 0, 1], axis=1),
     lambda a: np.repeat(a, [1, 2, 0, 1], axis=1)),
    ("einsum", lambda a: tx.einsum("ij,kj->ik", a, a), lambda a: np.einsum("ij,kj->ik", a, a)),
    ("tensordot", lambda a: tx.tensordot(a, a, axes=([1], [1])),
     lambda a: np.tensordot(a, a, axes=([1], [1]))),
    ("count_nonzero", lambda a: tx.count_nonzero(a > 0, axis=0),
     lambda a: np.count_nonzero(a > 0, axis=0)),
]


@pytest.mark.parametrize("name,tx_fn,np_fn", VMAPS, ids=[v[0] for v in VMAPS])
def test_vmap_matches_a_loop(name, tx_fn, np_fn, rng):
    xs = rand(rng, (5, 3, 4), "float32")
    expected = np.stack([np_fn(x) for x in xs])
    atol = 1e-5 * float(np.max(np.abs(expected)))  # float32 sums that cancel
    for in_axes in (0, 2):
        batch = xs if in_axes == 0 else np.moveaxis(xs, 0, 2)
        got = tx.vmap(tx_fn, in_axes=in_axes)(batch)
        np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5, atol=atol,
                                   err_msg=f"in_axes={in_axes}")
        got = tx.function(tx.vmap(tx_fn, in_axes=in_axes), backend="numpy")(batch)
        np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5, atol=atol)


# --- the Numba backend, a few ---------------------------------------------------------------------
def test_on_the_cpu_backend(rng):
    x = rand(rng, (3, 4), "float32", special=True)
    y = rand(rng, (4, 5), "float32")

    def f(a, b):
        return (tx.pad(tx.roll(a, 1, axis=1), 1, "reflect"), tx.tril(tx.tile(a, (1, 2)), k=1),
                tx.einsum("ij,jk->ki", a, b), tx.diff(tx.repeat(a, [1, 0, 2], axis=0), axis=0),
                tx.count_nonzero(a, axis=1))

    def g(a, b):
        return (np.pad(np.roll(a, 1, axis=1), 1, "reflect"), np.tril(np.tile(a, (1, 2)), k=1),
                np.einsum("ij,jk->ki", a, b), np.diff(np.repeat(a, [1, 0, 2], axis=0), axis=0),
                np.count_nonzero(a, axis=1))

    check(f, g, x, y, modes=("eager", "cpu"), rtol=1e-5)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_functions_compose_under_one_function(dtype, rng):
    x = rand(rng, (4, 4), dtype)
    check(lambda a: tx.sum(tx.triu(a) + tx.tril(a, k=-1) - a) + tx.einsum("ii", tx.roll(a, 0)),
          lambda a: np.sum(np.triu(a) + np.tril(a, k=-1) - a) + np.einsum("ii", a), x, rtol=1e-5)
