"""AutoGraph's source rewrite: a function's `if`, `while` and `for` statements become calls of
the run-time helpers (runtime.py, named `ag__` in the converted code), which run plain Python
on concrete values and build `cond` / `while_loop` / `fori_loop` / `scan` on traced ones.

The function's source is parsed with `ast`, rewritten, and compiled with the original file
name and line numbers (so errors, tracebacks and IR locations name the user's lines), inside a
factory whose parameters are the function's free variables: the converted function is built
from the compiled code with the original's globals, closure cells, defaults and attributes.

The rewrite, per function (nested `def`s included, generators and async functions not):
1. `return` inside an `if`: the statements after the `if` move into each branch that can fall
   through, so the `if` ends the function and returns what its branch returns.
2. A loop's `continue` and `break`: the statements after an `if` holding one move into its
   branches that fall through; `continue` becomes nothing, `break` sets a flag that the loop's
   test (or `extra_test` of a `for`) reads.
3. Each statement becomes nested functions (branches, body, test) that reach its variables by
   `nonlocal`, `get_state`/`set_state` functions over the variables it assigns that are read
   later (a conservative liveness: any later read, any read in an enclosing loop, any read in a
   nested function), and one helper call.
4. A conditional expression `a if test else b` becomes `ag__.if_exp(test, lambda: a, lambda:
   b)`: Python's on a concrete test, a `cond` on a traced scalar one.
A statement the rewrite cannot express exactly stays Python: a loop holding `return`, `yield`
or a `break` inside `try`/`with`; anything assigning a `global`, using `del`, `super` or
`__class__`. A function using `locals`, `vars`, `eval` or `exec` is not converted at all.
"""

from __future__ import annotations

import ast
import copy
import re
import inspect
import textwrap
import types
from typing import Any

from . import runtime

AG = "ag__"
_NOT_CONVERTIBLE = {"locals", "vars", "eval", "exec", AG}
_UNSAFE_IN_STMT = {"super", "__class__"}
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_GENERATOR_FLAGS = inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR \
    | inspect.CO_ITERABLE_COROUTINE
_TYPE_PARAMS = {"type_params": []} if "type_params" in ast.FunctionDef._fields else {}
_FUTURE_FLAGS = 0
for _name in __import__("__future__").all_feature_names:
    _FUTURE_FLAGS |= getattr(__import__("__future__"), _name).compiler_flag


class NotConvertible(Exception):
    """Why a function is left as it is (no source, a generator, no control flow ...)."""


# ---------------------------------------------------------------------------------------------
# walking the tree within one scope


def _walk(nodes, into_scopes: bool = False):
    """Every node under `nodes`, not descending into nested functions, lambdas and classes
    unless `into_scopes` (the scope nodes themselves are yielded)."""
    stack = list(nodes) if isinstance(nodes, list) else [nodes]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, _SCOPES) and not into_scopes:
            # their decorators and defaults run in this scope
            if not isinstance(node, ast.Lambda):
                stack.extend(node.decorator_list)
            if not isinstance(node, ast.ClassDef):
                stack.extend(node.args.defaults + [d for d in node.args.kw_defaults if d])
            continue
        stack.extend(ast.iter_child_nodes(node))


def _loads(nodes) -> set[str]:
    """Names read anywhere under `nodes` (nested scopes included: conservative)."""
    out = set()
    for node in _walk(nodes, into_scopes=True):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Store):
            out.add(node.id)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            out.add(node.target.id)
    return out


def _definite(s) -> set[str]:
    """Names the statement surely binds (when it completes)."""
    if isinstance(s, ast.Assign) or (isinstance(s, ast.AnnAssign) and s.value is not None):
        targets = s.targets if isinstance(s, ast.Assign) else [s.target]
        return {n.id for t in targets for n in ast.walk(t)
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {s.name}
    if isinstance(s, (ast.Import, ast.ImportFrom)):
        return _assigned([s])
    if isinstance(s, ast.If):
        return _definite_block(s.body) & _definite_block(s.orelse)
    return set()


def _definite_block(stmts: list) -> set[str]:
    out = set()
    for s in stmts:
        out |= _definite(s)
    return out


def _exposed(stmts: list) -> set[str]:
    """Names `stmts` may read before binding them (what they need from before): a read
    after a sure binding in the same block does not count; conservative otherwise."""
    out, defined = set(), set()
    for s in stmts:
        if isinstance(s, ast.If):
            reads = _loads([s.test]) | _exposed(s.body) | _exposed(s.orelse)
        else:
            reads = _loads([s])
        out |= reads - defined
        defined |= _definite(s)
    return out


def _nested_loads(nodes) -> set[str]:
    """Names read inside nested functions and lambdas: they may run at any time."""
    out = set()
    for node in _walk(nodes, into_scopes=True):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            out |= _loads(node.body if isinstance(node.body, list) else [node.body])
    return out


def _assigned(nodes) -> set[str]:
    """Names bound in this scope under `nodes`."""
    out = set()
    for node in _walk(nodes):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            out.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            out |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.ExceptHandler) and node.name:
            out.add(node.name)
    return out


def _has(nodes, *kinds) -> bool:
    return any(isinstance(n, kinds) for n in _walk(nodes))


def _own_jumps(stmts: list) -> tuple[bool, bool]:
    """Whether `stmts` hold a `break` / `continue` of the loop around them (not of an inner
    loop)."""
    brk = cont = False
    stack = list(stmts)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Break):
            brk = True
        elif isinstance(node, ast.Continue):
            cont = True
        elif isinstance(node, (ast.For, ast.While, ast.AsyncFor)):
            stack.extend(node.orelse)
        elif not isinstance(node, _SCOPES):
            stack.extend(ast.iter_child_nodes(node))
    return brk, cont


def _jumps_only_in_ifs(stmts: list) -> bool:
    """Each own `break`/`continue` sits in the loop body or in `if` branches only."""
    for s in stmts:
        if isinstance(s, ast.If):
            if not _jumps_only_in_ifs(s.body) or not _jumps_only_in_ifs(s.orelse):
                return False
        elif not isinstance(s, (ast.Break, ast.Continue)) and any(_own_jumps([s])):
            return False
    return True


def _terminates(stmts: list, enders: tuple) -> bool:
    """Whether `stmts` surely end in one of `enders` (False when unsure: only dead code)."""
    if not stmts:
        return False
    last = stmts[-1]
    if isinstance(last, enders + (ast.Raise,)):
        return True
    return isinstance(last, ast.If) and _terminates(last.body, enders) \
        and _terminates(last.orelse, enders)


# ---------------------------------------------------------------------------------------------
# step 1 and 2: moving what follows an early exit into the branches


def _tail(stmts: list, holds, enders: tuple, mark: set | None) -> list:
    """`stmts` with what follows an `if` for which `holds(if)` moved into its branches that can
    fall through (recursively); dead code after an ender is dropped. `mark` collects the ifs."""
    out = []
    for i, s in enumerate(stmts):
        out.append(s)
        if isinstance(s, enders):
            return out
        if isinstance(s, ast.If) and holds(s):
            rest = stmts[i + 1:]
            for field in ("body", "orelse"):
                branch = getattr(s, field)
                if rest and not _terminates(branch, enders):
                    branch = branch + copy.deepcopy(rest)
                setattr(s, field, _tail(branch, holds, enders, mark))
            if mark is not None:
                mark.add(id(s))
            return out
    return out


def _has_return(node) -> bool:
    return _has([node], ast.Return)


class _Jumps(ast.NodeTransformer):
    """`continue` -> nothing, `break` -> `flag = True`, in a loop body already passed through
    `_tail` (every jump ends its block), not inside inner loops or scopes."""

    def __init__(self, flag: str | None):
        self.flag = flag

    def visit_Continue(self, node):
        return ast.copy_location(ast.Pass(), node)

    def visit_Break(self, node):
        return ast.copy_location(ast.Assign(targets=[ast.Name(self.flag, ast.Store())],
                                            value=ast.Constant(True)), node)

    def generic_visit(self, node):
        if isinstance(node, (ast.For, ast.While, ast.AsyncFor) + _SCOPES):
            return node
        return super().generic_visit(node)


# ---------------------------------------------------------------------------------------------
# step 3: statements into helper calls


def _name(id: str, store: bool = False) -> ast.Name:
    return ast.Name(id, ast.Store() if store else ast.Load())


def _call(fn: str, *args, **kwargs) -> ast.Call:
    return ast.Call(ast.Attribute(_name(AG), fn, ast.Load()), list(args),
                    [ast.keyword(k, v) for k, v in kwargs.items()])


def _def(name: str, params: list[str], body: list, nonlocal_: list[str]) -> ast.FunctionDef:
    stmts = ([ast.Nonlocal(list(nonlocal_))] if nonlocal_ else []) + (body or [ast.Pass()])
    return ast.FunctionDef(name=name, args=ast.arguments(
        posonlyargs=[], args=[ast.arg(p) for p in params], vararg=None, kwonlyargs=[],
        kw_defaults=[], kwarg=None, defaults=[]), body=stmts, decorator_list=[], returns=None,
        **_TYPE_PARAMS)


def _strs(names) -> ast.Tuple:
    return ast.Tuple([ast.Constant(n) for n in names], ast.Load())


def _lambda(expr) -> ast.Lambda:
    return ast.Lambda(ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[],
                                    kw_defaults=[], kwarg=None, defaults=[]), expr)


def _test(expr):
    """A condition with `and`, `or`, `not` as helper calls (traced operands combine)."""
    if _has([expr], ast.NamedExpr, ast.Await, ast.Yield, ast.YieldFrom):
        return expr
    if isinstance(expr, ast.BoolOp):
        fn = "and_" if isinstance(expr.op, ast.And) else "or_"
        return ast.copy_location(_call(fn, *[_lambda(_test(v)) for v in expr.values]), expr)
    if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.Not):
        return ast.copy_location(_call("not_", _test(expr.operand)), expr)
    return expr


class _Scope:
    def __init__(self, fn: ast.AST, taken: set[str], always_live: set[str]):
        self.globals = {n for s in _walk(fn.body) if isinstance(s, ast.Global) for n in s.names}
        self.nonlocals = {n for s in _walk(fn.body) if isinstance(s, ast.Nonlocal)
                          for n in s.names}
        self.taken = taken
        self.always_live = always_live


class Converter:
    def __init__(self, taken: set[str]):
        self.taken = taken
        self.count = 0

    def fresh(self, *stems: str) -> list[str]:
        while True:
            self.count += 1
            names = [f"{s}_{self.count}" for s in stems]
            if not self.taken.intersection(names):
                self.taken.update(names)
                return names

    # --- functions ---------------------------------------------------------------------------
    def function(self, fn: ast.FunctionDef, always_live: set[str]) -> None:
        """Rewrite `fn`'s body in place (nested functions too)."""
        if _has(fn.body, ast.Yield, ast.YieldFrom, ast.Await):
            return  # a generator (or coroutine): left as it is, nested functions included
        marked: set[int] = set()
        fn.body = _tail(fn.body, _has_return, (ast.Return,), marked)
        scope = _Scope(fn, self.taken, always_live)
        self.returning = marked
        fn.body = self.block(fn.body, set(), scope) or [ast.Pass()]

    def block(self, stmts: list, after: set[str], scope: _Scope) -> list:
        out = []
        for k, s in enumerate(stmts):
            live = _exposed(stmts[k + 1:]) | after | scope.always_live
            out.extend(self.stmt(s, live, scope))
        return out

    def stmt(self, s, live: set[str], scope: _Scope) -> list:
        if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if isinstance(s, ast.FunctionDef):
                returning = self.returning
                self.function(s, scope.always_live)
                self.returning = returning
            return [s]
        if isinstance(s, ast.If):
            return self.if_(s, live, scope)
        if isinstance(s, (ast.While, ast.For)):
            return self.loop(s, live, scope)
        if isinstance(s, (ast.With, ast.Try)):
            inner = live | _loads([s])
            for field in ("body", "orelse", "finalbody"):
                if getattr(s, field, None):
                    setattr(s, field, self.block(getattr(s, field), inner, scope))
            for h in getattr(s, "handlers", ()):
                h.body = self.block(h.body, inner, scope)
            return [s]
        return [s]

    def convertible(self, s, scope: _Scope) -> bool:
        names = {n.id for n in _walk([s]) if isinstance(n, ast.Name)}
        if names & _UNSAFE_IN_STMT or _assigned([s]) & scope.globals:
            return False
        return not _has([s], ast.Delete, ast.Global, ast.Nonlocal, ast.Yield, ast.YieldFrom,
                        ast.Await)

    def state_defs(self, s, state: list[str], scope: _Scope) -> tuple[list, str, str]:
        get, set_ = self.fresh("get_state", "set_state")
        init = [ast.Assign([_name(n, True)], _call("ld", _lambda(_name(n)), ast.Constant(n)))
                for n in state if n not in scope.nonlocals]
        getter = _def(get, [], [ast.Return(ast.Tuple([_name(n) for n in state], ast.Load()))],
                      [])
        args = self.fresh("vars")[0]
        setter = _def(set_, [args], [ast.Assign(
            [ast.Tuple([_name(n, True) for n in state], ast.Store())], _name(args))]
            if state else [], state)
        return [*init, getter, setter], get, set_

    # --- if --------------------------------------------------------------------------------
    def if_(self, s: ast.If, live: set[str], scope: _Scope) -> list:
        returning = id(s) in self.returning
        ok = self.convertible(s, scope) and (returning or not _has_return(s)) \
            and not any(_own_jumps(s.body + s.orelse))
        assigned = _assigned(s.body + s.orelse)
        s.body = self.block(s.body, live, scope)
        s.orelse = self.block(s.orelse, live, scope)
        if not ok:
            return [s]
        # the variables read later, and those the branches read (a branch reading a variable
        # it assigns must see the one outside); the latter alone are temporaries
        state = sorted(assigned & (live | _exposed(s.body) | _exposed(s.orelse)))
        temps = [n for n in state if n not in live]
        defs, get, set_ = self.state_defs(s, state, scope)
        body, orelse = self.fresh("if_body", "else_body")
        kwargs = {"temps": _strs(temps)} if temps else {}
        if returning:
            kwargs["returns"] = ast.Constant(True)
        call = _call("if_stmt", _test(s.test), _name(body), _name(orelse), _name(get),
                     _name(set_), _strs(state), **kwargs)
        out = [*defs, _def(body, [], s.body, state), _def(orelse, [], s.orelse, state),
               ast.Return(call) if returning else ast.Expr(call)]
        return [_located(n, s) for n in out]

    # --- loops -------------------------------------------------------------------------------
    def loop(self, s, live: set[str], scope: _Scope) -> list:
        ok = self.convertible(s, scope) and not _has_return(s) \
            and _jumps_only_in_ifs(s.body)
        if isinstance(s, ast.While):
            ok = ok and not _has([s.test], ast.NamedExpr)
        else:
            ok = ok and all(isinstance(n, (ast.Name, ast.Tuple, ast.List, ast.Starred,
                                           ast.expr_context)) for n in ast.walk(s.target))
        head = [s.test] if isinstance(s, ast.While) else [s.iter]
        # each step of a `for` binds its targets first
        targets = sorted(_assigned([s.target])) if isinstance(s, ast.For) else []
        inner_live = live | _loads(head) | (_exposed(s.body) - set(targets))
        if not ok:
            s.body = self.block(s.body, inner_live, scope)
            s.orelse = self.block(s.orelse, live, scope)
            return [s]
        brk, cont = _own_jumps(s.body)
        flag = self.fresh("break")[0] if brk else None
        body = s.body
        if brk or cont:
            body = _tail(body, lambda i: any(_own_jumps([i])), (ast.Break, ast.Continue), None)
            body = [_Jumps(flag).visit(b) for b in body]
            body = [b for b in body if b is not None]
        assigned = _assigned(body) | set(targets) | ({flag} if flag else set())
        loop_loads = (_exposed(body) - set(targets)) | _loads(head)
        state = sorted(assigned & (inner_live | loop_loads) | ({flag} if flag else set()))
        body = self.block(body, inner_live | loop_loads | ({flag} if flag else set()), scope)
        defs, get, set_ = self.state_defs(s, state, scope)
        out = [ast.Assign([_name(flag, True)], ast.Constant(False))] if flag else []
        out += defs
        not_broken = _call("not_", _name(flag)) if flag else None
        if isinstance(s, ast.While):
            test_fn, body_fn = self.fresh("loop_test", "loop_body")
            test = _test(s.test)
            if flag:
                test = _call("and_", _lambda(not_broken), _lambda(test))
            out += [_def(test_fn, [], [ast.Return(test)], []), _def(body_fn, [], body, state),
                    ast.Expr(_call("while_stmt", _name(test_fn), _name(body_fn), _name(get),
                                   _name(set_), _strs(state)))]
        else:
            body_fn, item = self.fresh("loop_body", "itr")
            assign = ast.copy_location(ast.Assign([s.target], _name(item)), s.target)
            it = s.iter
            if isinstance(it, ast.Call) and isinstance(it.func, ast.Name) \
                    and it.func.id == "range" and not it.keywords \
                    and not any(isinstance(a, ast.Starred) for a in it.args):
                it = ast.copy_location(_call("range_", it.func, *it.args), it)
            extra = _lambda(not_broken) if flag else ast.Constant(None)
            out += [_def(body_fn, [item], [assign] + body, state),
                    ast.Expr(_call("for_stmt", it, extra, _name(body_fn), _name(get),
                                   _name(set_), _strs(state), targets=_strs(targets)))]
        out = [_located(n, s) for n in out]
        if s.orelse:
            if flag:
                guard = ast.copy_location(ast.If(ast.UnaryOp(ast.Not(), _name(flag)), s.orelse,
                                                 []), s.orelse[0])
                out += self.stmt(_located(guard, s.orelse[0]), live, scope)
            else:
                out += self.block(s.orelse, live, scope)
        return out


def _located(node, like):
    """`node` and its children without a location placed at the first line of `like` (not
    spanning its body: a call's line is where its attribute ends)."""
    for n in ast.walk(node):
        if "lineno" in n._attributes and getattr(n, "lineno", None) is None:
            n.lineno = n.end_lineno = like.lineno
            n.col_offset = n.end_col_offset = like.col_offset
    return node


# ---------------------------------------------------------------------------------------------
# the whole function


def parse(fn: Any) -> tuple[ast.FunctionDef, str]:
    """The function's `def` (decorators removed), with the lines and columns of its file."""
    if not isinstance(fn, types.FunctionType) or hasattr(fn, "__wrapped__"):
        raise NotConvertible(f"{type(fn).__name__} is not a plain Python function")
    code = fn.__code__
    if code.co_flags & _GENERATOR_FLAGS:
        raise NotConvertible("generators and async functions are not converted")
    if code.co_name == "<lambda>":
        raise NotConvertible("lambdas are not converted: write it as a `def` for AutoGraph to "
                             "convert its conditional expressions")
    try:
        lines, first = inspect.getsourcelines(fn)
    except (OSError, TypeError) as e:
        raise NotConvertible(f"its source is not available ({e})") from None
    source = "".join(lines)
    dedented = textwrap.dedent(source)
    indent = len(lines[0]) - len(lines[0].lstrip()) if dedented != source else 0
    try:
        tree = ast.parse(dedented)
    except SyntaxError as e:
        raise NotConvertible(f"its source does not parse alone ({e.msg})") from None
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == code.co_name]
    if not defs:
        raise NotConvertible("its source is not one `def` statement")
    node = defs[0]
    ast.increment_lineno(tree, first - 1)
    if indent:
        for n in ast.walk(tree):
            if hasattr(n, "col_offset"):
                n.col_offset += indent
                if getattr(n, "end_col_offset", None) is not None:
                    n.end_col_offset += indent
    start = node.decorator_list[0].lineno if node.decorator_list else node.lineno
    if code.co_firstlineno not in (start, node.lineno):
        raise NotConvertible("its source does not match its code")
    node.decorator_list = []
    node.returns = None
    return node, code.co_filename


class _IfExps(ast.NodeTransformer):
    """`a if test else b` -> `ag__.if_exp(test, lambda: a, lambda: b)`, innermost first; one
    holding `:=`, `yield` or `await` stays (a lambda cannot hold them)."""

    def visit_IfExp(self, node: ast.IfExp):
        self.generic_visit(node)
        if _has([node], ast.NamedExpr, ast.Await, ast.Yield, ast.YieldFrom):
            return node
        return ast.copy_location(
            _call("if_exp", _test(node.test), _lambda(node.body), _lambda(node.orelse)), node)


def transform(node: ast.FunctionDef) -> bool:
    """Rewrite `node` in place; False when it has no control flow to convert."""
    if not any(isinstance(n, (ast.If, ast.While, ast.For, ast.IfExp)) for n in ast.walk(node)):
        return False
    names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    if names & _NOT_CONVERTIBLE:
        raise NotConvertible(f"it uses {', '.join(sorted(names & _NOT_CONVERTIBLE))}")
    taken = names | {a.arg for a in ast.walk(node) if isinstance(a, ast.arg)} | {
        n.name for n in ast.walk(node) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    Converter(taken).function(node, _nested_loads(node.body))
    node.body = [_IfExps().visit(s) for s in node.body]
    ast.fix_missing_locations(node)
    return True


# the functions the converter generates (Converter.fresh): branches, loop bodies and tests,
# state getters and setters
_GENERATED = re.compile(r"(if_body|else_body|get_state|set_state|loop_test|loop_body)_\d+")


def _named_as_user(code: types.CodeType, name: str) -> types.CodeType:
    """`code` with every generated function nested in it named `name` (the user's function),
    so a traceback through a converted branch shows the user's function, file and line."""
    consts = tuple(_named_as_user(c, name) if isinstance(c, types.CodeType) else c
                   for c in code.co_consts)
    changes: dict[str, Any] = {"co_consts": consts}
    if _GENERATED.fullmatch(code.co_name):
        changes["co_name"] = name
        if hasattr(code, "co_qualname"):
            changes["co_qualname"] = name
    return code.replace(**changes)


def build(fn: types.FunctionType, node: ast.FunctionDef, filename: str) -> types.FunctionType:
    """The converted function: `node` compiled inside a factory taking the free variables,
    made with `fn`'s globals, closure cells (by name), defaults and attributes."""
    code = fn.__code__
    free = list(code.co_freevars) + [AG]
    factory = ast.FunctionDef(
        name="__tracefuse_autograph_factory", args=ast.arguments(
            posonlyargs=[], args=[ast.arg(n) for n in free], vararg=None, kwonlyargs=[],
            kw_defaults=[], kwarg=None, defaults=[]),
        body=[node, ast.Return(_name(node.name))], decorator_list=[], returns=None,
        **_TYPE_PARAMS)
    module = ast.Module([_located(factory, node)], type_ignores=[])
    compiled = compile(module, filename, "exec", flags=code.co_flags & _FUTURE_FLAGS,
                       dont_inherit=True)
    outer = next(c for c in compiled.co_consts if isinstance(c, types.CodeType))
    inner = next(c for c in outer.co_consts if isinstance(c, types.CodeType)
                 and c.co_name == node.name)
    inner = _named_as_user(inner, fn.__name__)
    cells = dict(zip(code.co_freevars, fn.__closure__ or ()))
    cells[AG] = types.CellType(runtime)
    closure = tuple(cells[n] for n in inner.co_freevars)
    new = types.FunctionType(inner, fn.__globals__, fn.__name__, fn.__defaults__, closure)
    new.__kwdefaults__ = copy.copy(fn.__kwdefaults__)
    new.__dict__.update(fn.__dict__)
    new.__qualname__, new.__module__, new.__doc__ = fn.__qualname__, fn.__module__, fn.__doc__
    new.__annotations__ = fn.__annotations__
    return new


def conversion(fn: Any) -> tuple[Any, str]:
    """(the converted function, its source); raises NotConvertible (the function is then used
    as it is)."""
    node, filename = parse(fn)
    if not transform(node):
        raise NotConvertible("it has no `if`, `while`, `for` or conditional expression")
    return build(fn, node, filename), ast.unparse(node)
