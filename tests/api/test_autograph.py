"""AutoGraph (issue 15, item 5): `tx.function(fn)` (autograph=True, the default) turns Python
`if`, `while` and `for` on traced values into `cond`, `while_loop`, `fori_loop` and `scan`.

Each case runs compiled on every backend of oracle.BACKENDS (numpy and gpu-sim; "cpu" in a few)
against the same Python function run on NumPy arrays: if/else and if without else on a traced
predicate, while on a traced condition, `for` over `tx.range` (traced and Python bounds), over
a traced array, `break`, `continue`, `return` inside an `if`, `and`/`or`/`not` in conditions,
and predicates that flip between calls without a retrace. Concrete conditions stay Python (no
op). The errors: a variable assigned in one branch only, a loop changing a Python value, and
`autograph=False` (ConcretizationError naming the line and the fix); errors and `cf.ir()` name
the user's file and line. `tx.autograph.to_code`. Robustness: closures, methods, defaults,
decorators, nested functions, generators, global/nonlocal, lambdas and partials (left as
written). Conditional expressions (`a if p else b`: a cond on a traced scalar, Python on a
concrete value, an error naming tx.where on a traced array); a function left as written says
why in the ConcretizationError, and a conversion that fails warns.
"""

import functools
import inspect
import os

import numpy as np
import pytest
from oracle import BACKENDS, assert_same, rand

import tracefuse as tx

THIS_FILE = os.path.basename(__file__)
backends = pytest.mark.parametrize("b", BACKENDS)
with_cpu = pytest.mark.parametrize("b", BACKENDS + ("cpu",))


def line_of(fn, text: str) -> int:
    """The line of this file where `text` first appears in `fn`'s source."""
    lines, first = inspect.getsourcelines(fn)
    return first + next(i for i, line in enumerate(lines) if text in line)


def region_ops(cf) -> set:
    return {op.code.value for op in cf.stage_graph("traced").ops} & {"cond", "while", "scan"}


def same(b, fn, np_fn, *args, rtol=1e-5, **options):
    f = tx.function(fn, backend=b, **options)
    got = f(*args)
    expected = np_fn(*args)
    if isinstance(expected, tuple):
        for g, e in zip(got, expected):
            assert_same(g, np.asarray(e), rtol=rtol)
    else:
        assert_same(got, np.asarray(expected), rtol=rtol)
    return f


# --- if ----------------------------------------------------------------------------------------

def if_else(x, y):
    if tx.sum(x) > tx.sum(y):
        z = x * y
        w = x + 1.0
    else:
        z = x - y
        w = y * 2.0
    return z + w


def if_else_np(x, y):
    if np.sum(x) > np.sum(y):
        z = x * y
        w = x + 1.0
    else:
        z = x - y
        w = y * 2.0
    return z + w


@with_cpu
def test_if_else_on_a_traced_predicate_runs_the_chosen_branch(b, rng):
    x, y = rand(rng, (5,), "float32"), rand(rng, (5,), "float32")
    f = same(b, if_else, if_else_np, x, y)
    same(b, if_else, if_else_np, y, x)  # the other branch
    f(y, x)
    assert f.trace_count == 1  # the predicate flips without a retrace
    assert region_ops(f.get_concrete_function(x, y)) == {"cond"}


def if_no_else(x):
    y = x * 3.0
    if tx.max(x) > 1.0:
        y = y - x
    return y


def if_no_else_np(x):
    y = x * 3.0
    if np.max(x) > 1.0:
        y = y - x
    return y


@backends
def test_if_without_else_keeps_the_value_assigned_before(b, rng):
    x = rand(rng, (4, 3), "float32")
    same(b, if_no_else, if_no_else_np, x)
    same(b, if_no_else, if_no_else_np, x - 10.0)


def bool_ops(x, y):
    out = x
    if (tx.sum(x) > 0 and tx.sum(y) > 0) or not tx.max(x) < 4.0:
        out = x + y
    return out


def bool_ops_np(x, y):
    out = x
    if (np.sum(x) > 0 and np.sum(y) > 0) or not np.max(x) < 4.0:
        out = x + y
    return out


@backends
def test_and_or_not_on_traced_conditions(b, rng):
    for _ in range(4):
        x, y = rand(rng, (3,), "float32"), rand(rng, (3,), "float32")
        same(b, bool_ops, bool_ops_np, x, y)


def early_return(x):
    if tx.sum(x) > 0:
        return x * 2.0
    elif tx.sum(x) < -3.0:
        y = -x
        return y
    z = x + 1.0
    return z * z


def early_return_np(x):
    if np.sum(x) > 0:
        return x * 2.0
    elif np.sum(x) < -3.0:
        y = -x
        return y
    z = x + 1.0
    return z * z


@with_cpu
def test_return_inside_an_if(b, rng):
    x = rand(rng, (6,), "float32", low=0.1)
    f = same(b, early_return, early_return_np, x)
    same(b, early_return, early_return_np, -x)
    same(b, early_return, early_return_np, np.full(6, -0.1, np.float32))
    f(-x)
    assert f.trace_count == 1


def python_values_through_if(x):
    n = 2  # unchanged by both branches: stays a Python int (a shape)
    scale = 1.0
    if tx.sum(x) > 0:
        scale = 3.0
    return tx.reshape(x * scale, (n, -1))


@backends
def test_values_a_traced_if_does_not_change_stay_python(b, rng):
    x = rand(rng, (6,), "float32")
    np_fn = lambda v: (v * (3.0 if v.sum() > 0 else 1.0)).reshape(2, -1)
    same(b, python_values_through_if, np_fn, x)
    same(b, python_values_through_if, np_fn, -np.abs(x))


# --- concrete conditions stay Python ----------------------------------------------------------

def flagged(x, flag, n):
    if flag:
        x = x * 2.0
    for i in range(n):  # a plain range on a Python int: a Python loop, unrolled
        x = x + float(i)
    while n > 1:
        x = x * 0.5
        n -= 1
    return x


def flagged_np(x, flag, n):
    if flag:
        x = x * 2.0
    for i in range(n):
        x = x + float(i)
    while n > 1:
        x = x * 0.5
        n -= 1
    return x


@backends
def test_concrete_conditions_stay_python(b, rng):
    x = rand(rng, (4,), "float32")
    for flag in (True, False):
        f = same(b, flagged, flagged_np, x, flag, 3, static_argnames=("flag", "n"))
        assert region_ops(f.get_concrete_function(x, flag, 3)) == set()


# --- while ------------------------------------------------------------------------------------

def newton(a):
    x = a
    i = 0
    while tx.max(tx.abs(x * x - a)) > 1e-4 and i < 50:
        x = 0.5 * (x + a / x)
        i += 1
    return x, i


def newton_np(a):
    x = a
    i = 0
    while np.max(np.abs(x * x - a)) > 1e-4 and i < 50:
        x = 0.5 * (x + a / x)
        i += 1
    return x, i


@with_cpu
def test_while_on_a_traced_condition(b, rng):
    a = rand(rng, (5,), "float64", low=0.5, high=9.0)
    f = same(b, newton, newton_np, a)
    same(b, newton, newton_np, a * 100.0)
    assert f.trace_count == 1
    assert region_ops(f.get_concrete_function(a)) == {"while"}


def counted(x, n):
    while n > 0:
        x = x * 1.5
        n = n - 1
    return x


@backends
def test_while_with_zero_trips(b, rng):
    x = rand(rng, (3,), "float32")
    f = same(b, counted, counted, x, 0)
    same(b, counted, counted, x, 4)
    assert f.trace_count == 1


# --- for --------------------------------------------------------------------------------------

def ranged(x, n):
    acc = x * 0.0
    for i in tx.range(n):
        acc = acc * 0.5 + x * i.astype(x.dtype)
    return acc


def ranged_np(x, n):
    acc = x * 0.0
    for i in range(n):
        acc = acc * 0.5 + x * np.float32(i)
    return acc


@with_cpu
def test_for_over_tx_range_with_a_traced_bound(b, rng):
    x = rand(rng, (4,), "float32")
    f = same(b, ranged, ranged_np, x, 5)
    same(b, ranged, ranged_np, x, 0)
    same(b, ranged, ranged_np, x, 9)
    assert f.trace_count == 1
    assert region_ops(f.get_concrete_function(x, 5)) == {"while"}


@backends
def test_for_over_tx_range_with_a_python_bound_is_one_loop_op(b, rng):
    x = rand(rng, (4,), "float32")

    def stepped(x):
        acc = x
        for i in tx.range(1, 20, 3):
            acc = acc + x * i.astype(x.dtype)
        return acc

    f = same(b, stepped, lambda v: v + v * np.float32(sum(range(1, 20, 3))), x)
    cf = f.get_concrete_function(x)
    assert region_ops(cf) == {"scan"}  # a fori_loop, not unrolled
    assert sum(op.code.value == "multiply" for op in cf.stage_graph("traced").ops) == 0


def over_rows(xs, v):
    total = v
    for row in xs:
        total = total * 0.5 + row
    return total


def over_rows_np(xs, v):
    total = v
    for row in xs:
        total = total * 0.5 + row
    return total


@backends
def test_for_over_a_traced_array_scans_its_rows(b, rng):
    xs, v = rand(rng, (6, 3), "float32"), rand(rng, (3,), "float32")
    f = same(b, over_rows, over_rows_np, xs, v)
    assert region_ops(f.get_concrete_function(xs, v)) == {"scan"}


def jumps(x, n):
    s = x * 0.0
    for i in tx.range(n):
        if tx.sum(s) > 20.0:
            break
        if i % 3 == 0:
            continue
        s = s + x
    else:
        s = s - 1.0
    return s


def jumps_np(x, n):
    s = x * 0.0
    for i in range(n):
        if np.sum(s) > 20.0:
            break
        if i % 3 == 0:
            continue
        s = s + x
    else:
        s = s - 1.0
    return s


@with_cpu
def test_break_and_continue(b, rng):
    x = rand(rng, (4,), "float32", low=0.5, high=2.0)
    f = same(b, jumps, jumps_np, x, 4)  # no break: the else runs
    for n in (0, 1, 30):
        same(b, jumps, jumps_np, x, n)
    f(x, 30)
    assert f.trace_count == 1


def while_break(x):
    i = 0
    while i < 100:
        x = x * 2.0
        if tx.max(x) > 50.0:
            break
        i += 1
    return x, i


@backends
def test_break_in_a_while_loop(b, rng):
    x = rand(rng, (3,), "float32", low=0.5, high=2.0)
    same(b, while_break, _while_break_np, x)
    same(b, while_break, _while_break_np, x * 0.01)


def _while_break_np(x):
    i = 0
    while i < 100:
        x = x * 2.0
        if np.max(x) > 50.0:
            break
        i += 1
    return x, i


def nested(x, n):
    for i in tx.range(n):
        if tx.sum(x) > 10.0:
            x = x - 1.0
        else:
            j = 0
            while j < 2:
                x = x + 2.0
                j += 1
    return x


def nested_np(x, n):
    for i in range(n):
        if np.sum(x) > 10.0:
            x = x - 1.0
        else:
            j = 0
            while j < 2:
                x = x + 2.0
                j += 1
    return x


@backends
def test_nested_control_flow(b, rng):
    x = rand(rng, (3,), "float32")
    same(b, nested, nested_np, x, 7)


# --- errors and locations ---------------------------------------------------------------------

def one_branch(x):
    if tx.sum(x) > 0:
        y = x * 2.0
    return y


def test_a_variable_assigned_in_one_branch_only_is_an_error():
    with pytest.raises(ValueError) as e:
        tx.function(one_branch, backend="numpy")(np.ones(3, np.float32))
    message = str(e.value)
    assert "'y'" in message and "else branch" in message
    assert f"{THIS_FILE}:{line_of(one_branch, 'if tx.sum')}" in message


def test_a_one_branch_temporary_not_used_after_is_fine(rng):
    def temp(x):
        if tx.sum(x) > 0:
            t = x * 2.0
            x = t + 1.0
        return x

    x = rand(rng, (3,), "float32")
    assert_same(tx.function(temp, backend="numpy")(x),
                np.where(x.sum() > 0, x * 2.0 + 1.0, x).astype(np.float32))


def test_a_loop_that_changes_a_python_value_is_an_error():
    def grows(x, n):
        names = ()
        for i in tx.range(n):
            names = names + ("a",)
            x = x + 1.0
        return x

    with pytest.raises(TypeError) as e:
        tx.function(grows, backend="numpy")(np.ones(2, np.float32), 3)
    assert "'names'" in str(e.value) and f"{THIS_FILE}:{line_of(grows, 'for i')}" in str(e.value)


def test_a_variable_first_assigned_in_a_traced_loop_has_no_value_after_it():
    def leaks(x, n):
        for i in tx.range(n):
            t = x * 2.0
            x = t
        return t

    with pytest.raises(UnboundLocalError) as e:
        tx.function(leaks, backend="numpy")(np.ones(2, np.float32), 3)
    assert "'t'" in str(e.value) and "assign it before the loop" in str(e.value)


def test_errors_and_ir_locations_name_the_users_lines(rng):
    def located(x):
        if tx.sum(x) > 0:
            y = tx.sin(x)
        else:
            y = tx.cos(x)
        return y

    x = rand(rng, (3,), "float32")
    ir = tx.function(located, backend="numpy").get_concrete_function(x).ir("traced")
    for text in ("if tx.sum", "tx.sin", "tx.cos"):
        assert f"# {THIS_FILE}:{line_of(located, text)}" in ir, (text, ir)

    def mismatched(x):
        if tx.sum(x) > 0:
            y = x
        else:
            y = tx.reshape(x, (3, 1))
        return y

    with pytest.raises(TypeError) as e:
        tx.function(mismatched, backend="numpy")(x)
    assert f"{THIS_FILE}:{line_of(mismatched, 'if tx.sum')}" in str(e.value)

    def fails(x):
        if tx.sum(x) > 0:
            y = x + np.ones(5)  # a shape error inside a converted branch
        else:
            y = x
        return y

    with pytest.raises(tx.ShapeError) as e:
        tx.function(fails, backend="numpy")(x)
    assert f"{THIS_FILE}:{line_of(fails, 'np.ones(5)')}" in str(e.value)
    # the converted branch's frame: the user's function name, file and line (pytest counts
    # lines from 0), not the generated `if_body_N`
    frames = [f for f in e.traceback if f.lineno + 1 == line_of(fails, "np.ones(5)")]
    assert frames and os.path.basename(str(frames[0].path)) == THIS_FILE
    assert frames[0].name == "fails"
    assert not any(f.name.startswith(("if_body", "else_body")) for f in e.traceback)


def test_autograph_false_raises_a_concretization_error_naming_the_line_and_the_fix():
    with pytest.raises(tx.ConcretizationError) as e:
        tx.function(if_else, backend="numpy", autograph=False)(np.ones(2, np.float32),
                                                               np.ones(2, np.float32))
    message = str(e.value)
    assert f"{THIS_FILE}:{line_of(if_else, 'if tx.sum')}" in message
    assert "tx.cond" in message and "autograph=True" in message


def test_tx_range_outside_autograph_is_pythons_range():
    assert list(tx.range(4)) == [0, 1, 2, 3]
    assert list(tx.range(1, 9, 3)) == [1, 4, 7] and len(tx.range(1, 9, 3)) == 3
    assert list(tx.range(5, 0, -2)) == [5, 3, 1]
    assert list(tx.range(tx.asarray(3))) == [0, 1, 2]

    @tx.function(backend="numpy", autograph=False)
    def manual(x, n):
        for i in tx.range(n):
            x = x + 1.0
        return x

    with pytest.raises(tx.ConcretizationError, match="AutoGraph"):
        manual(np.ones(2), 3)


# --- to_code ----------------------------------------------------------------------------------

def test_to_code_shows_the_converted_source():
    code = tx.autograph.to_code(if_else)
    assert "ag__.if_stmt(" in code and "def if_body" in code and "nonlocal" in code
    assert tx.autograph.to_code(tx.function(ranged)).count("ag__.for_stmt(") == 1
    assert "ag__.while_stmt(" in tx.autograph.to_code(newton)
    with pytest.raises(ValueError, match="no `if`, `while`, `for` or conditional expression"):
        tx.autograph.to_code(lambda_free)
    with pytest.raises(ValueError, match="not a plain Python function"):
        tx.autograph.to_code(functools.partial(if_else, np.ones(2)))


def lambda_free(x):
    return x + 1.0


# --- robustness: what works without AutoGraph keeps working ----------------------------------

SCALE = 3.0


def test_closures_globals_defaults_and_nested_functions(rng):
    offset = np.float32(0.5)

    def with_everything(x, k=2.0, *, shift=1.0):
        def bump(v):
            if tx.sum(v) > 0:
                return v + offset
            return v - offset

        if tx.max(x) > 0:
            y = bump(x) * SCALE
        else:
            y = x * k + shift
        return y

    f = tx.function(with_everything, backend="numpy")
    x = rand(rng, (4,), "float32")
    for v in (np.abs(x) + 0.1, -np.abs(x) - 0.1):
        bump = v + offset if v.sum() > 0 else v - offset
        expected = bump * 3.0 if v.max() > 0 else v * 2.0 + 1.0
        assert_same(f(v), expected.astype(np.float32))


def test_methods_self_attributes_and_super(rng):
    class Base:
        def scale(self, x):
            return x * self.w

    class Model(Base):
        def __init__(self, w):
            self.w = np.float32(w)

        @tx.function(backend="numpy")
        def __call__(self, x):
            scaled = super().scale(x)  # the __class__ cell of the converted method
            if tx.sum(x) > 0:
                y = scaled
            else:
                y = x - self.w
            for i in tx.range(2):
                y = y + self.w
            return y

    x = rand(rng, (3,), "float32")
    m = Model(2.0)
    for v in (np.abs(x), -np.abs(x)):
        expected = (v * 2.0 if v.sum() > 0 else v - 2.0) + 4.0
        assert_same(m(v), expected.astype(np.float32))


def test_decorators_above_tx_function_and_wrapped_functions(rng):
    def twice(fn):
        @functools.wraps(fn)
        def wrapper(*a):
            return fn(*a) * 2.0
        return wrapper

    @twice
    @tx.function(backend="numpy")
    def above(x):
        if tx.sum(x) > 0:
            x = x + 1.0
        return x

    @tx.function(backend="numpy")
    @twice
    def below(x):  # the wrapper is traced as written: its decorator still applies
        return x + 1.0

    x = np.abs(rand(rng, (3,), "float32"))
    assert_same(above(x), (x + 1.0) * 2.0)
    assert_same(below(x), (x + 1.0) * 2.0)


COUNTER = 0


def test_global_and_nonlocal_statements_and_generators(rng):
    calls = 0

    def counting(x):
        nonlocal calls
        global COUNTER
        if x.shape[0] > 1:  # concrete: stays Python
            calls += 1
            COUNTER += 1
        gen = (v for v in range(3))  # a generator expression in the function
        for k in gen:
            x = x + float(k)
        return x

    x = rand(rng, (3,), "float32")
    before = COUNTER
    assert_same(tx.function(counting, backend="numpy")(x), x + 3.0)
    assert calls == 1 and COUNTER == before + 1

    def gen(n):
        for i in range(n):  # noqa: UP028 - a generator with a loop: not converted
            yield i

    def uses_generator(x):
        for i in gen(3):
            x = x * 2.0
        return x

    assert_same(tx.function(uses_generator, backend="numpy")(x), x * 8.0)
    with pytest.raises(ValueError, match="generators"):
        tx.autograph.to_code(gen)


def test_lambdas_partials_and_builtins_run_as_written(rng):
    x = rand(rng, (3,), "float32")
    assert_same(tx.function(lambda v: v * 2.0, backend="numpy")(x), x * 2.0)
    part = functools.partial(flagged, flag=True, n=2)  # a partial is not converted
    assert_same(tx.function(part, backend="numpy")(x), flagged_np(x, True, 2))
    assert_same(tx.function(tx.sin, backend="numpy")(x), np.sin(x))


# --- conditional expressions --------------------------------------------------------------------
def picked(x, p):
    y = x * 2.0 if p > 0 else x - 1.0
    return (y + 1.0 if p < 5 else y) if p > -3 else -y  # nested ones


def picked_np(x, p):
    y = x * 2.0 if p > 0 else x - 1.0
    return (y + 1.0 if p < 5 else y) if p > -3 else -y


@with_cpu
def test_conditional_expression_on_a_traced_scalar_is_a_cond(rng, b):
    x = rand(rng, (4,), "float32")
    f = tx.function(picked, backend=b)
    for p in (1.5, -1.0, 7.0, -4.0):  # every path, one trace
        assert_same(f(x, np.float32(p)), picked_np(x, np.float32(p)))
    assert f.trace_count == 1
    assert region_ops(f.get_concrete_function(x, np.float32(1.0))) == {"cond"}
    assert "ag__.if_exp(" in tx.autograph.to_code(picked)


def test_conditional_expression_on_a_concrete_value_stays_python(rng):
    def f(x, n):
        return x * 3.0 if n > 2 else x

    x = rand(rng, (3,), "float32")
    g = tx.function(f, backend="numpy", static_argnums=1)
    assert_same(g(x, 3), x * np.float32(3.0))
    assert_same(g(x, 1), x)
    assert region_ops(g.get_concrete_function(x, 3)) == set()


def test_conditional_expression_on_a_traced_array_says_use_where(rng):
    def f(x):
        return x * 2.0 if x > 0 else x

    with pytest.raises(tx.ConcretizationError, match=r"tx\.where") as info:
        tx.function(f, backend="numpy")(rand(rng, (3,), "float32"))
    assert f"{THIS_FILE}:{line_of(f, 'if x > 0')}" in str(info.value)


def test_a_function_left_as_written_says_why_in_the_error(rng):
    with pytest.raises(tx.ConcretizationError) as info:
        tx.function(lambda v: v if v.sum() > 0 else -v, backend="numpy")(
            rand(rng, (3,), "float32"))
    assert any("AutoGraph left" in n and "lambdas are not converted" in n
               for n in getattr(info.value, "__notes__", ()))


def test_a_conversion_that_fails_warns_and_runs_as_written(rng, monkeypatch):
    from tracefuse.compiler.autograph import convert

    def broken(node):
        raise ValueError("a converter bug")

    monkeypatch.setattr(convert, "transform", broken)

    def f(x):
        if x.sum() > 0:
            x = x * 2.0
        return x

    x = rand(rng, (3,), "float32")
    with pytest.warns(UserWarning, match="AutoGraph could not convert .*a converter bug"):
        with pytest.raises(tx.ConcretizationError) as info:
            tx.function(f, backend="numpy")(x)
    assert any("the conversion failed" in n for n in getattr(info.value, "__notes__", ()))
