"""Structured control flow (issue 15, API item 2): `tx.cond`, `tx.switch`, `tx.while_loop`,
`tx.fori_loop`, `tx.scan`, each run eagerly and under `tx.function` on every backend of
oracle.BACKENDS (numpy and gpu-sim by default; "cpu" explicitly in a few tests), against a plain
Python loop on NumPy arrays: pytree carries, operands, xs and ys; zero-trip loops;
`reverse=True`; scan with `xs=None`; nested control flow; closures over traced values;
predicates, indices and trip counts that change between calls without a retrace; weak Python
scalars in carries; and each error, which names the user's file:line.
"""

import inspect
import os

import numpy as np
import pytest
from oracle import BACKENDS, MODES, assert_same, rand

import tracefuse as tx

THIS_FILE = os.path.basename(__file__)
modes = pytest.mark.parametrize("mode", MODES)
backends = pytest.mark.parametrize("b", BACKENDS)


def _line() -> int:
    return inspect.currentframe().f_back.f_lineno


def run(mode, fn, *args):
    return fn(*args) if mode == "eager" else tx.function(fn, backend=mode)(*args)


def assert_tree(got, expected, what=""):
    """Same pytree structure, and each leaf equal to NumPy's (dtype, shape, values)."""
    if isinstance(expected, dict):
        assert isinstance(got, dict) and got.keys() == expected.keys(), what
        for k in expected:
            assert_tree(got[k], expected[k], f"{what}[{k!r}]")
    elif isinstance(expected, (tuple, list)):
        assert type(got) is type(expected) and len(got) == len(expected), what
        for i, (g, e) in enumerate(zip(got, expected)):
            assert_tree(g, e, f"{what}[{i}]")
    elif expected is None:
        assert got is None, what
    else:
        assert_same(got, np.asarray(expected), what=what)


# --- cond and switch ---------------------------------------------------------------------------

def branchy(p, x, tree):
    return tx.cond(p, lambda a, t: {"s": a * t["w"], "n": t["n"] + 1},
                   lambda a, t: {"s": a - t["w"], "n": t["n"] * 2}, x, tree)


def branchy_np(p, x, tree):
    return ({"s": x * tree["w"], "n": tree["n"] + 1} if p
            else {"s": x - tree["w"], "n": tree["n"] * 2})


@modes
def test_cond_pytree_operands_both_ways(mode, rng):
    x, w = rand(rng, (3, 4), "float32"), rand(rng, (4,), "float32")
    n = rand(rng, (), "int32")
    for p in (True, False):
        got = run(mode, branchy, np.bool_(p), x, {"w": w, "n": n})
        assert_tree(got, branchy_np(p, x, {"w": w, "n": n}), f"{mode} pred={p}")


@backends
def test_cond_predicate_flips_without_a_retrace(b, rng):
    y = rand(rng, (5,), "float32")

    def f(x, y):
        # closures over traced values: the branches take the union of their captures
        return tx.cond(tx.sum(x) > 0, lambda: tx.exp(x) + y, lambda: x * 2.0)

    cf = tx.function(f, backend=b)
    for sign in (1, -1, 1, -1):
        x = np.abs(rand(rng, (5,), "float32")) * sign
        expected = np.exp(x) + y if x.sum() > 0 else x * 2.0
        assert_same(cf(x, y), expected, what=f"{b} sign={sign}")
    assert cf.trace_count == 1


@modes
def test_cond_integer_predicate_is_pred_not_zero(mode, rng):
    x = rand(rng, (4,), "float64")
    for p in (0, 3, -2):
        got = run(mode, lambda p, x: tx.cond(p, lambda v: v + 1.0, lambda v: v - 1.0, x),
                  np.int32(p), x)
        assert_same(got, x + 1.0 if p else x - 1.0, what=f"{mode} p={p}")


@modes
def test_cond_weak_branch_result_takes_the_other_branchs_dtype(mode, rng):
    x = rand(rng, (), "float32")
    for p in (True, False):
        got = run(mode, lambda p, x: tx.cond(p, lambda: x * 3.0, lambda: 0.5), np.bool_(p), x)
        assert_same(got, np.float32(x * 3.0 if p else 0.5), what=f"{mode} {p}")


@backends
def test_switch_clamps_its_index_without_a_retrace(b, rng):
    x = rand(rng, (2, 3), "float32")
    fns = [lambda v: v + 1, lambda v: v * v, lambda v: -v]
    cf = tx.function(lambda i, v: tx.switch(i, fns, v), backend=b)
    for i in (0, 1, 2, 7, -3):
        expected = fns[min(max(i, 0), 2)](x)
        assert_same(cf(np.int32(i), x), expected, what=f"{b} index {i}")
        assert_same(tx.switch(i, fns, x), expected, what=f"eager index {i}")
    assert cf.trace_count == 1


# --- while_loop -------------------------------------------------------------------------------

def collatz_like(x, limit):
    # carries a tuple (count, array); the cond closes over `limit`
    return tx.while_loop(lambda c: tx.sum(c[1]) < limit,
                         lambda c: (c[0] + 1, c[1] * 1.5 + 0.25), (np.int32(0), x))


def collatz_like_np(x, limit):
    n = np.int32(0)
    while x.sum() < limit:
        n, x = n + np.int32(1), x * np.float32(1.5) + np.float32(0.25)
    return n, x


@modes
def test_while_loop_pytree_carry_and_zero_trips(mode, rng):
    x = np.abs(rand(rng, (6,), "float32")) + 0.5
    for limit in (np.float32(x.sum() * 20), np.float32(x.sum() / 2)):  # several trips, none
        assert_tree(run(mode, collatz_like, x, limit), collatz_like_np(x, limit),
                    f"{mode} limit={limit}")


@backends
def test_while_loop_trip_count_changes_without_a_retrace(b, rng):
    cf = tx.function(collatz_like, backend=b)
    x = np.abs(rand(rng, (6,), "float32")) + 0.5
    for scale in (3, 50, 0.1, 8):
        limit = np.float32(x.sum() * scale)
        assert_tree(cf(x, limit), collatz_like_np(x, limit), f"{b} x{scale}")
    assert cf.trace_count == 1


@modes
def test_while_loop_weak_carry_made_strong_by_the_body(mode, rng):
    # a Python 0.0 carry plus a float32 array: the carry starts as float32 (JAX's rule)
    x = rand(rng, (), "float32")
    got = run(mode, lambda x: tx.while_loop(lambda c: c[0] < 4, lambda c: (c[0] + 1, c[1] + x),
                                            (0, 0.0)), x)
    assert_tree(got, (np.int64(4), x + x + x + x), mode)


# --- fori_loop ---------------------------------------------------------------------------------

@modes
def test_fori_loop_weak_python_float_carry(mode):
    n = 5 if mode == "eager" else 6
    got = run(mode, lambda: tx.fori_loop(0, n, lambda i, x: x * 2.0, 1.0))
    assert_same(got, np.float64(2.0 ** n), what=mode)


def fori_np(lo, hi, x, acc):
    for i in range(lo, hi):
        x = x * np.float32(0.9) + np.float32(i)
        acc = acc + x.sum()
    return {"x": x, "acc": acc}


def fori_body(i, v):
    nx = v["x"] * 0.9 + i.astype(tx.float32)
    return {"x": nx, "acc": v["acc"] + tx.sum(nx)}


def static_fori(lo, hi):
    """A function looping from lo to hi, Python ints: a static trip count."""
    return lambda x: tx.fori_loop(lo, hi, fori_body, {"x": x, "acc": np.float32(0)})


@modes
def test_fori_loop_static_bounds_pytree_and_zero_trips(mode, rng):
    x = rand(rng, (4,), "float32")
    for lo, hi in ((2, 7), (3, 3), (5, 1)):
        assert_tree(run(mode, static_fori(lo, hi), x), fori_np(lo, hi, x, np.float32(0)),
                    f"{mode} {lo}..{hi}")


@backends
def test_fori_loop_traced_bounds_without_a_retrace(b, rng):
    x = rand(rng, (4,), "float32")

    def f(lo, hi, x):
        return tx.fori_loop(lo, hi, fori_body, {"x": x, "acc": np.float32(0)})

    cf = tx.function(f, backend=b)
    for lo, hi in ((0, 4), (2, 2), (6, 3), (1, 9)):
        assert_tree(cf(np.int32(lo), np.int32(hi), x), fori_np(lo, hi, x, np.float32(0)),
                    f"{b} {lo}..{hi}")
        assert_tree(f(np.int32(lo), np.int32(hi), x), fori_np(lo, hi, x, np.float32(0)),
                    f"eager {lo}..{hi}")
    assert cf.trace_count == 1


# --- scan --------------------------------------------------------------------------------------

def scan_np(init, xs, reverse):
    c = init
    n = len(xs["a"])
    ys = {"sum": [None] * n, "pair": ([None] * n, [None] * n)}
    for t in (range(n - 1, -1, -1) if reverse else range(n)):
        a, b = xs["a"][t], xs["b"][t]
        c = (c[0] * a + b.sum(), c[1] + np.int32(1))
        ys["sum"][t] = c[0].sum()
        ys["pair"][0][t], ys["pair"][1][t] = a * 2, c[1]
    return c, {"sum": np.stack(ys["sum"]), "pair": tuple(np.stack(y) for y in ys["pair"])}


def scan_tx(init, xs, reverse):
    def f(c, x):
        c = (c[0] * x["a"] + tx.sum(x["b"]), c[1] + 1)
        return c, {"sum": tx.sum(c[0]), "pair": (x["a"] * 2, c[1])}
    return tx.scan(f, init, xs, reverse=reverse)


@modes
@pytest.mark.parametrize("reverse", [False, True])
def test_scan_pytrees_both_directions(mode, reverse, rng):
    init = (rand(rng, (3,), "float32"), np.int32(4))
    xs = {"a": rand(rng, (5, 3), "float32", low=-1, high=1), "b": rand(rng, (5, 2), "float32")}
    got = run(mode, lambda i0, i1, xs: scan_tx((i0, i1), xs, reverse), *init, xs)
    assert_tree(got, scan_np(init, xs, reverse), f"{mode} reverse={reverse}")


@modes
def test_scan_zero_length_and_xs_none(mode, rng):
    x = rand(rng, (3,), "float64")
    # xs=None: f gets None, length says how many steps
    got = run(mode, lambda x: tx.scan(lambda c, _: (c * 0.5 + 1.0, c), x, None, length=4), x)
    c, ys = x, []
    for _ in range(4):
        ys.append(c)
        c = c * 0.5 + 1.0
    assert_tree(got, (c, np.stack(ys)), mode)
    # zero steps: the carry unchanged, ys of leading size 0
    empty = np.zeros((0, 2), np.float32)
    got = run(mode, lambda x, e: tx.scan(lambda c, r: (c + tx.sum(r), r * 2), x, e), x, empty)
    assert_tree(got, (x, np.zeros((0, 2), np.float32)), mode)
    got = run(mode, lambda x: tx.scan(lambda c, _: (c + 1.0, None), x, length=0), x)
    assert_tree(got, (x, None), mode)


# --- nesting and closures ----------------------------------------------------------------------

def nested(xs, y, k):
    def body(c, x):
        # a cond inside a scan body, each branch closing over outer traced values (y, k)
        c = tx.cond(x > 0, lambda c: c * y + x, lambda c: c - k, c)
        return c, tx.sum(c)
    carry, sums = tx.scan(body, tx.zeros_like(y), xs)
    # a fori_loop inside a cond branch, its body closing over the branch's operand
    out = tx.cond(tx.sum(carry) > 0,
                  lambda c: tx.fori_loop(0, 3, lambda i, v: v * 0.5 + c, c),
                  lambda c: -c, carry)
    return out, sums


def nested_np(xs, y, k):
    c, sums = np.zeros_like(y), []
    for x in xs:
        c = c * y + x if x > 0 else c - k
        sums.append(c.sum())
    if c.sum() > 0:
        v = c
        for _ in range(3):
            v = v * np.float32(0.5) + c
        return v, np.stack(sums)
    return -c, np.stack(sums)


@modes
def test_nested_control_flow_with_closures(mode, rng):
    y = rand(rng, (4,), "float32", low=-1, high=1)
    for k in (np.float32(3), np.float32(-3)):  # k flips the sign of the final carry
        xs = rand(rng, (6,), "float32")
        assert_tree(run(mode, nested, xs, y, k), nested_np(xs, y, k), f"{mode} k={k}")


def test_nested_control_flow_is_one_trace():
    cf = tx.function(nested, backend="numpy")
    rng = np.random.default_rng(7)
    for _ in range(3):
        xs, y = rand(rng, (6,), "float32"), rand(rng, (4,), "float32")
        assert_tree(cf(xs, y, np.float32(1)), nested_np(xs, y, np.float32(1)))
    assert cf.trace_count == 1


def test_every_op_on_the_cpu_backend(rng):
    x = rand(rng, (5,), "float32")

    @tx.function(backend="cpu")
    def f(x, i, n):
        a = tx.switch(i, [lambda v: v + 1.0, lambda v: tx.sin(v)], x)
        b = tx.fori_loop(0, n, lambda j, v: v * 0.5 + a, x)
        c, ys = tx.scan(lambda c, t: (c + t, c * t), np.float32(0), a, reverse=True)
        d = tx.while_loop(lambda v: tx.max(v) < 100, lambda v: v * 2.0 + 1.0, tx.abs(b) + 1.0)
        return tx.cond(c > 0, lambda: d, lambda: -d), ys

    for i, n in ((0, 3), (1, 0), (1, 5)):
        a = x + np.float32(1) if i == 0 else np.sin(x)
        b = x
        for _ in range(n):
            b = b * np.float32(0.5) + a
        c, ys = np.float32(0), np.empty_like(a)
        for t in range(4, -1, -1):
            ys[t] = c * a[t]
            c = c + a[t]
        d = np.abs(b) + np.float32(1)
        while d.max() < 100:
            d = d * np.float32(2) + np.float32(1)
        assert_tree(f(x, np.int32(i), np.int32(n)), (d if c > 0 else -d, ys), f"i={i} n={n}")
    assert f.trace_count == 1


def traced_ops(fn, *args):
    return tx.function(fn, backend="numpy").get_concrete_function(*args).stage_graph().ops


def test_each_op_is_one_region_op_not_unrolled():
    x = np.ones(3, np.float32)
    ops = traced_ops(static_fori(0, 1000), x)
    assert [op.code.value for op in ops].count("scan") == 1
    (scan,) = [op for op in ops if op.code.value == "scan"]
    assert scan.attrs["length"] == 1000 and scan.attrs["num_xs"] == 0
    assert len(scan.attrs["body"].ops) < 20  # the body once, not 1000 times
    ops = traced_ops(lambda n, x: tx.fori_loop(0, n, fori_body, {"x": x, "acc": 0.0}),
                     np.int32(3), x)
    assert [op.code.value for op in ops].count("while") == 1


def test_captures_become_operands_shared_by_every_branch():
    x = np.ones(3, np.float32)
    ops = traced_ops(lambda p, x, y, z: tx.cond(p, lambda v: v + y, lambda v: v * z, x),
                     np.bool_(True), x, x, x)
    (op,) = [op for op in ops if op.code.value == "cond"]
    assert len(op.inputs) == 4  # pred, x, then the captures y (true_fun) and z (false_fun)
    for branch in op.attrs["branches"]:
        assert [v.type for v in branch.inputs] == [v.type for v in op.inputs[1:]]
    ops = traced_ops(lambda x, lim: tx.while_loop(lambda v: tx.sum(v) < lim,
                                                  lambda v: v * x, x + 1.0), x, np.float32(9))
    (op,) = [op for op in ops if op.code.value == "while"]
    assert op.attrs["num_carries"] == 1 and len(op.inputs) == 3  # carry, then x and lim


# --- errors ------------------------------------------------------------------------------------

def _raises(error, fn, *args):
    with pytest.raises(error) as info:
        fn(*args)
    return str(info.value)


@pytest.mark.parametrize("mode", ["eager", "numpy"])
def test_errors_name_both_types_and_the_line(mode):
    x = np.ones(3, np.float32)
    lines = []

    def branches(x):
        lines.append(_line() + 1)
        return tx.cond(x[0] > 0, lambda: x, lambda: x[:2])

    def body(x):  # float32 + int32 is float64, as in NumPy
        lines.append(_line() + 1)
        return tx.fori_loop(0, 3, lambda i, v: v + i, x)

    def carry(x):
        lines.append(_line() + 1)
        return tx.scan(lambda c, t: (c.astype(tx.int32), t), x[0], x)

    def test(x):
        lines.append(_line() + 1)
        return tx.while_loop(lambda v: v, lambda v: v + 1.0, x)

    cases = [(branches, ["true_fun", "false_fun", "f32[3]", "f32[2]"]),
             (body, ["fori_loop", "body_fun", "val is f32[3] on input and f64[3] on output"]),
             (carry, ["scan", "f must", "carry is f32[] on input and i32[] on output"]),
             (test, ["while_loop", "cond_fun", "bool scalar", "f32[3]"])]
    for fn, words in cases:
        message = _raises(TypeError, fn if mode == "eager" else tx.function(fn, backend=mode), x)
        for w in words:
            assert w in message, (fn.__name__, message)
        assert f"{THIS_FILE}:{lines[-1]}" in message, (fn.__name__, message)


def test_predicate_index_and_length_errors_name_the_line():
    x = np.ones(3, np.float32)
    cases = [
        (TypeError, lambda: tx.cond(x > 0, lambda: x, lambda: x), ["pred", "scalar", "bool[3]"]),
        (TypeError, lambda: tx.cond(np.float32(1), lambda: x, lambda: x), ["bool", "f32[]"]),
        (TypeError, lambda: tx.switch(True, [lambda: x], ), ["integer", "bool[]"]),
        (ValueError, lambda: tx.switch(0, []), ["branches is empty"]),
        (ValueError, lambda: tx.scan(lambda c, t: (c, t), 0.0, (x, np.ones(4))),
         ["xs[0]: 3", "xs[1]: 4"]),
        (ValueError, lambda: tx.scan(lambda c, t: (c, t), 0.0, x, length=5), ["length=5", "3"]),
        (ValueError, lambda: tx.scan(lambda c, t: (c, t), 0.0, None), ["length="]),
        (ValueError, lambda: tx.scan(lambda c, t: (c, t), 0.0, 1.0), ["leading axis"]),
        (TypeError, lambda: tx.scan(lambda c, t: c, 0.0, x), ["pair (carry, y)"]),
        (TypeError, lambda: tx.while_loop(lambda c: c[0] < 3, lambda c: c[0], (0, x)),
         ["structure"]),
        (TypeError, lambda: tx.cond(True, lambda: (x, x), lambda: x), ["same structure"]),
    ]
    for error, call, words in cases:
        start = inspect.getsourcelines(call)[1]
        message = _raises(error, call)
        for w in words:
            assert w in message, message
        assert f"{THIS_FILE}:{start}" in message, message


def test_public_names():
    for name in ("cond", "switch", "while_loop", "fori_loop", "scan"):
        assert name in tx.__all__ and name in dir(tx)
