"""The JVP, VJP and batching rules of the control-flow ops (`cond`, `while`, `scan`): each
transforms the op's regions with the same drivers that transform whole graphs, and emits one
new control-flow op. The drivers pass themselves in (`emit_jvp`, `emit_vjp`, `emit_batched`),
so this module depends on the tables' interface only, not on the drivers' module.

Forward mode: `cond` runs the JVP of the chosen branch; `while` and `scan` carry the tangents
of their carries beside the carries (which carries get tangents is found by a fixpoint: a
carry whose tangent is zero at entry may get one from the body).

Reverse mode: `cond` runs the VJP of the chosen branch (recomputing the branch's forward
values inside it); `scan` runs a forward scan that also stacks its carries at every step, then
a reverse scan of the body's VJP over those stacks (the forward ops are recomputed per step
from the stacked carries), accumulating the cotangents of the loop's constants; `while` has no
reverse mode (its trip count is unknown: use `fori_loop` with static bounds or `scan`).

Batching: `cond` with an unbatched index batches its branches; with a batched index it runs
every branch on the whole batch and selects per element. `while` batches its carries and runs
while any element's predicate holds, updating only the elements whose predicate holds. `scan`
moves mapped xs' batch axis behind the scanned axis, batches the carries that become batched
(fixpoint) and moves the ys' batch axis back in front.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..ir import Attrs, Graph, Op, OpCode, TensorType, Value
from ..ir import dtypes as dt
from ..tracer.tracer import GraphBuilder
from .emit import Emitter
from .graphs import build_graph, copy_op, inline

G = OpCode


def _zeros_for(e: Emitter, values: Sequence[Value | None], like: Sequence[Value]) -> list[Value]:
    return [v if v is not None else e.zeros(o.type.strong()) for v, o in zip(values, like)]


def _is_float(v: Value) -> bool:
    return v.type.dtype.is_inexact  # real or complex: what has derivatives


# --- forward mode ---------------------------------------------------------------------------
def cond_jvp(builder: GraphBuilder, op: Op, xs: Sequence[Value], ts: Sequence, *,
             emit_jvp: Callable) -> tuple[list[Value], list]:
    index, args, targs = xs[0], list(xs[1:]), list(ts[1:])
    flags = [t is not None for t in targs]
    given = [t for t in targs if t is not None]
    in_types = [a.type for a in args] + [t.type for t in given]
    floats = [o for o in op.outputs if _is_float(o)]

    def branch(g: Graph) -> Graph:
        def fn(b, ins):
            it = iter(ins[len(args):])
            outs, touts = emit_jvp(b, g, ins[:len(args)], [next(it) if f else None for f in flags])
            touts = _zeros_for(Emitter(b, op.loc), touts, outs)
            return outs + [t for t, o in zip(touts, g.outputs) if _is_float(o)]
        return build_graph(f"{g.name}_jvp", in_types, fn)

    branches = tuple(branch(g) for g in op.attrs["branches"])
    types = [o.type for o in op.outputs] + [o.type.strong() for o in floats]
    res = builder.emit_many(G.COND, [index] + args + given, Attrs(branches=branches), op.loc,
                            types)
    n = len(op.outputs)
    it = iter(res[n:])
    return res[:n], [next(it) if _is_float(o) else None for o in op.outputs]


def _carry_flags(g: Graph, n: int, flags: list[bool], emit_jvp: Callable) -> list[bool]:
    """Which of the first `n` inputs (the carries) of loop body `g` need tangents: those given
    one, and those the body gives one from the others (iterated to a fixpoint)."""
    flags = list(flags)
    while True:
        scratch = GraphBuilder("scratch")
        ins = [scratch.new_input(v.type)._value for v in g.inputs]
        tans = [scratch.new_input(v.type.strong())._value if f else None
                for v, f in zip(g.inputs, flags)]
        _, touts = emit_jvp(scratch, g, ins, tans)
        new = [f or (t is not None and _is_float(g.inputs[i]))
               for i, (f, t) in enumerate(zip(flags[:n], touts[:n]))]
        if new == flags[:n]:
            return flags
        flags[:n] = new


def scan_jvp(builder: GraphBuilder, op: Op, xs: Sequence[Value], ts: Sequence, *,
             emit_jvp: Callable) -> tuple[list[Value], list]:
    a = op.attrs
    n, m = a["num_carries"], a["num_xs"]
    body = a["body"]
    e = Emitter(builder, op.loc)
    flags = _carry_flags(body, n, [t is not None for t in ts], emit_jvp)
    groups = [(0, n), (n, n + m), (n + m, len(xs))]  # carries, xs, consts
    tangents = [ts[i] if ts[i] is not None else e.zeros(xs[i].type.strong()) if flags[i]
                else None for i in range(len(xs))]
    operands = []
    for lo, hi in groups:
        operands += list(xs[lo:hi]) + [t for t in tangents[lo:hi] if t is not None]
    in_types = [v.type for v in body.inputs]
    body_types: list[TensorType] = []
    for lo, hi in groups:
        body_types += in_types[lo:hi] + [in_types[i].strong() for i in range(lo, hi) if flags[i]]
    ys = body.outputs[n:]

    def fn(b, ins):
        prims, tans, at = [], [], 0
        for lo, hi in groups:
            k = hi - lo
            prims += ins[at:at + k]
            at += k
            for i in range(lo, hi):
                tans.append(ins[at] if flags[i] else None)
                at += 1 if flags[i] else 0
        outs, touts = emit_jvp(b, body, prims, tans)
        eb = Emitter(b, op.loc)
        carry_t = [t if t is not None else eb.zeros(o.type.strong())
                   for t, o, f in zip(touts[:n], outs[:n], flags[:n]) if f]
        y_t = _zeros_for(eb, touts[n:], outs[n:])
        return outs[:n] + carry_t + outs[n:] + [t for t, y in zip(y_t, ys) if _is_float(y)]

    new_body = build_graph(f"{body.name}_jvp", body_types, fn)
    n_ct = sum(flags[:n])
    m_xt = sum(flags[n:n + m])
    y_types = [TensorType((a["length"],) + v.type.shape, v.type.dtype) for v in new_body.outputs[n + n_ct:]]
    types = [v.type for v in new_body.outputs[:n + n_ct]] + y_types
    res = builder.emit_many(G.SCAN, operands, Attrs(body=new_body, num_carries=n + n_ct,
                                                    num_xs=m + m_xt, length=a["length"],
                                                    reverse=a["reverse"]), op.loc, types)
    carries, ct_it = res[:n], iter(res[n:n + n_ct])
    carry_t = [next(ct_it) if f else None for f in flags[:n]]
    rest = res[n + n_ct:]
    y_out, y_it = rest[:len(ys)], iter(rest[len(ys):])
    y_t = [next(y_it) if _is_float(y) else None for y in ys]
    return carries + y_out, carry_t + y_t


def while_jvp(builder: GraphBuilder, op: Op, xs: Sequence[Value], ts: Sequence, *,
              emit_jvp: Callable) -> tuple[list[Value], list]:
    a = op.attrs
    n = a["num_carries"]
    body, cond = a["body"], a["cond"]
    e = Emitter(builder, op.loc)
    flags = _carry_flags(body, n, [t is not None for t in ts], emit_jvp)
    tangents = [ts[i] if ts[i] is not None else e.zeros(xs[i].type.strong()) if flags[i]
                else None for i in range(len(xs))]
    groups = [(0, n), (n, len(xs))]
    operands, types = [], []
    for lo, hi in groups:
        operands += list(xs[lo:hi]) + [t for t in tangents[lo:hi] if t is not None]
        types += [v.type for v in body.inputs[lo:hi]] + \
            [body.inputs[i].type.strong() for i in range(lo, hi) if flags[i]]

    def split(ins):
        prims, tans, at = [], [], 0
        for lo, hi in groups:
            prims += ins[at:at + hi - lo]
            at += hi - lo
            for i in range(lo, hi):
                tans.append(ins[at] if flags[i] else None)
                at += 1 if flags[i] else 0
        return prims, tans

    def cond_fn(b, ins):
        return inline(b, cond, split(ins)[0])

    def body_fn(b, ins):
        prims, tans = split(ins)
        outs, touts = emit_jvp(b, body, prims, tans)
        eb = Emitter(b, op.loc)
        return outs + [t if t is not None else eb.zeros(o.type.strong())
                       for t, o, f in zip(touts, outs, flags[:n]) if f]

    attrs = Attrs(cond=build_graph(f"{cond.name}_jvp", types, cond_fn),
                  body=build_graph(f"{body.name}_jvp", types, body_fn),
                  num_carries=n + sum(flags[:n]))
    res = builder.emit_many(G.WHILE, operands, attrs, op.loc, types[:n + sum(flags[:n])])
    it = iter(res[n:])
    return res[:n], [next(it) if f else None for f in flags[:n]]


# --- reverse mode -----------------------------------------------------------------------------
def _pullback(b: GraphBuilder, g: Graph, prims: Sequence[Value], sources: Sequence[int],
              seeds: Sequence[tuple[int, Value]], loc, emit_vjp: Callable) -> list[Value]:
    """Recompute `g` on `prims` in `b`, then its reverse pass from `seeds` (output number,
    cotangent): the cotangents of the inputs numbered `sources` (zeros where none)."""
    env = dict(zip(g.inputs, prims))
    for o in g.ops:
        copy_op(b, o, env)
    grads = emit_vjp(b, g.ops, env, [g.inputs[i] for i in sources],
                     [(g.outputs[j], c) for j, c in seeds])
    e = Emitter(b, loc)
    return [gr if gr is not None else e.zeros(g.inputs[i].type.strong())
            for gr, i in zip(grads, sources)]


def cond_vjp(builder: GraphBuilder, op: Op, xs: Sequence[Value], outs: Sequence[Value],
             cts: Sequence, wants: Sequence[bool], *, emit_vjp: Callable) -> list:
    index, args = xs[0], list(xs[1:])
    wrt = [i for i, w in enumerate(wants[1:]) if w]
    seeded = [j for j, c in enumerate(cts) if c is not None]
    given = [cts[j] for j in seeded]
    in_types = [v.type for v in args] + [c.type for c in given]

    def branch(g: Graph) -> Graph:
        def fn(b, ins):
            seeds = list(zip(seeded, ins[len(args):]))
            return _pullback(b, g, ins[:len(args)], wrt, seeds, op.loc, emit_vjp)
        return build_graph(f"{g.name}_vjp", in_types, fn)

    branches = tuple(branch(g) for g in op.attrs["branches"])
    res = builder.emit_many(G.COND, [index] + args + given, Attrs(branches=branches), op.loc,
                            [args[i].type.strong() for i in wrt])
    found = dict(zip(wrt, res))
    return [None] + [found.get(i) for i in range(len(args))]


def scan_vjp(builder: GraphBuilder, op: Op, xs: Sequence[Value], outs: Sequence[Value],
             cts: Sequence, wants: Sequence[bool], *, emit_vjp: Callable) -> list:
    a = op.attrs
    n, m, length, body = a["num_carries"], a["num_xs"], a["length"], a["body"]
    e = Emitter(builder, op.loc)
    xs_, consts = list(xs[n:n + m]), list(xs[n + m:])
    k = len(consts)
    # 1. the forward scan again, stacking the carries each step starts from
    fwd = build_graph(f"{body.name}_residuals", [v.type for v in body.inputs],
                      lambda b, ins: inline(b, body, ins) + list(ins[:n]))
    stack_types = [TensorType((length,) + v.type.shape, v.type.dtype) for v in fwd.outputs[n:]]
    res = builder.emit_many(G.SCAN, list(xs), a.replace(body=fwd), op.loc,
                            [v.type for v in outs[:n]] + stack_types)
    stacked = res[len(body.outputs):]  # the carries' stacks, after the carries and the ys
    # 2. the reverse scan of the body's pullback
    fc = [i for i in range(n) if _is_float(body.inputs[i])]  # carries with cotangents
    fk = [n + m + i for i in range(k) if wants[n + m + i]]  # consts wanted
    fx = [n + i for i in range(m) if wants[n + i]]  # xs wanted
    ys = body.outputs[n:]
    ct_carry = [cts[i] if cts[i] is not None else e.zeros(outs[i].type.strong()) for i in fc]
    acc = [e.zeros(body.inputs[i].type.strong()) for i in fk]
    ct_ys = [cts[n + j] if cts[n + j] is not None else e.zeros(outs[n + j].type.strong())
             for j in range(len(ys)) if _is_float(ys[j])]
    fy = [j for j in range(len(ys)) if _is_float(ys[j])]
    in_types = ([v.type for v in ct_carry] + [v.type for v in acc]
                + [v.type for v in body.inputs[:n]] + [v.type for v in body.inputs[n:n + m]]
                + [v.type.strong() for v in (ys[j] for j in fy)] + [v.type for v in consts])

    def bwd(b, ins):
        at = 0
        cc = ins[at:at + len(fc)]; at += len(fc)
        ac = ins[at:at + len(fk)]; at += len(fk)
        prims = list(ins[at:at + n + m]); at += n + m
        cy = ins[at:at + len(fy)]; at += len(fy)
        prims += list(ins[at:])
        seeds = list(zip(fc, cc)) + [(n + j, c) for j, c in zip(fy, cy)]
        grads = _pullback(b, body, prims, fc + fk + fx, seeds, op.loc, emit_vjp)
        eb = Emitter(b, op.loc)
        g_c, g_k, g_x = grads[:len(fc)], grads[len(fc):len(fc) + len(fk)], grads[len(fc) + len(fk):]
        return list(g_c) + [eb.add(s, g) for s, g in zip(ac, g_k)] + list(g_x)

    back = build_graph(f"{body.name}_vjp", in_types, bwd)
    x_types = [TensorType((length,) + v.type.shape, v.type.dtype) for v in back.outputs[len(fc) + len(fk):]]
    operands = ct_carry + acc + list(stacked) + xs_ + ct_ys + consts  # ct_ys: stacked already
    r = builder.emit_many(G.SCAN, operands,
                          Attrs(body=back, num_carries=len(fc) + len(fk),
                                num_xs=n + m + len(fy), length=length, reverse=not a["reverse"]),
                          op.loc, [v.type for v in back.outputs[:len(fc) + len(fk)]] + x_types)
    result: list = [None] * len(xs)
    for i, v in zip(fc, r[:len(fc)]):
        result[i] = v
    for i, v in zip(fk, r[len(fc):len(fc) + len(fk)]):
        result[i] = v
    for i, v in zip(fx, r[len(fc) + len(fk):]):
        result[i] = v
    return result


# --- batching ---------------------------------------------------------------------------------
def _select(e: Emitter, mask: Value, new: Value, old: Value) -> Value:
    """`new` where the per-element `mask` (shape (batch,) or ()) holds, else `old`."""
    if mask.type.ndim:
        mask = e.reshape(mask, mask.type.shape + (1,) * (new.type.ndim - 1))
    return e.where(mask, new, old)


def cond_batch(e: Emitter, op: Op, xs: Sequence[Value], flags: Sequence[bool], size: int, *,
               emit_batched: Callable) -> tuple[list[Value], list[bool]]:
    index, args, aflags = xs[0], list(xs[1:]), list(flags[1:])
    branches = op.attrs["branches"]
    if not flags[0]:  # one branch for the whole batch: its graph batched
        def branch(g: Graph) -> Graph:
            def fn(b, ins):
                outs, oflags = emit_batched(b, g, ins, aflags, size)
                eb = Emitter(b, op.loc)
                return [o if f else eb.materialize(o, size) for o, f in zip(outs, oflags)]
            return build_graph(f"{g.name}_vmap", [v.type for v in args], fn)
        new = tuple(branch(g) for g in branches)
        types = [TensorType((size,) + o.type.shape, o.type.dtype, o.type.weak)
                 for o in op.outputs]
        res = e.builder.emit_many(G.COND, [index] + args, Attrs(branches=new), op.loc, types)
        return res, [True] * len(res)
    # a batched index: every branch on the whole batch, then a per-element select
    results = []
    for g in branches:
        outs, oflags = emit_batched(e.builder, g, args, aflags, size)
        results.append([o if f else e.materialize(o, size) for o, f in zip(outs, oflags)])
    k = e.cast(index, dt.int32) if index.type.dtype.is_bool else index
    k = e.op(G.CLIP, k, e.scalar(0), e.scalar(len(branches) - 1))
    picked = list(results[0])
    for i in range(1, len(branches)):
        hit = e.op(G.EQUAL, k, e.scalar(i))
        picked = [_select(e, hit, new, old) for new, old in zip(results[i], picked)]
    return picked, [True] * len(picked)


def while_batch(e: Emitter, op: Op, xs: Sequence[Value], flags: Sequence[bool], size: int, *,
                emit_batched: Callable) -> tuple[list[Value], list[bool]]:
    a = op.attrs
    n = a["num_carries"]
    cond, body = a["cond"], a["body"]
    carries = [x if f else e.materialize(x, size) for x, f in zip(xs[:n], flags[:n])]
    operands = carries + list(xs[n:])
    in_flags = [True] * n + list(flags[n:])
    types = [v.type for v in operands]

    def predicate(b, ins):
        (p,), (pb,) = emit_batched(b, cond, ins, in_flags, size)
        return p, pb

    def cond_fn(b, ins):
        p, pb = predicate(b, ins)
        eb = Emitter(b, op.loc)
        return [eb.op(G.ANY, p, axes=(0,), keepdims=False) if pb else p]

    def body_fn(b, ins):
        p, pb = predicate(b, ins)
        outs, oflags = emit_batched(b, body, ins, in_flags, size)
        eb = Emitter(b, op.loc)
        outs = [o if f else eb.materialize(o, size) for o, f in zip(outs, oflags)]
        return [_select(eb, p, new, old) for new, old in zip(outs, ins[:n])] if pb else outs

    attrs = Attrs(cond=build_graph(f"{cond.name}_vmap", types, cond_fn),
                  body=build_graph(f"{body.name}_vmap", types, body_fn), num_carries=n)
    res = e.builder.emit_many(G.WHILE, operands, attrs, op.loc, types[:n])
    return res, [True] * n


def scan_batch(e: Emitter, op: Op, xs: Sequence[Value], flags: Sequence[bool], size: int, *,
               emit_batched: Callable) -> tuple[list[Value], list[bool]]:
    a = op.attrs
    n, m, length, body = a["num_carries"], a["num_xs"], a["length"], a["body"]
    given, flags = list(flags), list(flags)
    while True:  # the carries that become batched, to a fixpoint
        scratch = GraphBuilder("scratch")
        ins = [scratch.new_input(TensorType(((size,) if f else ()) + v.type.shape, v.type.dtype,
                                            v.type.weak))._value
               for v, f in zip(body.inputs, flags)]
        _, oflags = emit_batched(scratch, body, ins, flags, size)
        new = [f or o for f, o in zip(flags[:n], oflags[:n])]
        if new == flags[:n]:
            break
        flags[:n] = new
    yflags = oflags[n:]
    carries = [x if g else e.materialize(x, size) if f else x
               for x, g, f in zip(xs[:n], given[:n], flags[:n])]
    xs_m = [e.move_axis(x, 0, 1) if f else x for x, f in zip(xs[n:n + m], flags[n:n + m])]
    operands = carries + xs_m + list(xs[n + m:])
    body_types = ([v.type for v in carries]
                  + [TensorType(x.type.shape[1:], x.type.dtype, x.type.weak) for x in xs_m]
                  + [v.type for v in xs[n + m:]])

    def fn(b, ins):
        outs, of = emit_batched(b, body, ins, flags, size)
        eb = Emitter(b, op.loc)
        return [eb.materialize(o, size) if want and not got else o
                for o, got, want in zip(outs, of, flags[:n] + yflags)]

    new_body = build_graph(f"{body.name}_vmap", body_types, fn)
    types = [v.type for v in new_body.outputs[:n]] + [
        TensorType((length,) + v.type.shape, v.type.dtype) for v in new_body.outputs[n:]]
    res = e.builder.emit_many(G.SCAN, operands, a.replace(body=new_body), op.loc, types)
    ys = [e.move_axis(y, 1, 0) if f else y for y, f in zip(res[n:], yflags)]
    return res[:n] + ys, flags[:n] + list(yflags)
