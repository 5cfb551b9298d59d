"""Contractions composed of existing ops: `tensordot` and `einsum`.

Both reduce to `permute_dims`, `reshape`, `broadcast_to`, `matmul`, `multiply` and `sum`, so
they run on every backend and the transforms differentiate and batch them:

- `tensordot`: x1's free axes then its contracted ones, flattened to an (M, K) matrix; x2 as
  (K, N); one matmul; the result reshaped to the free axes of both.
- `einsum`: the subscripts are parsed into labels per axis ("..." becomes labels of its own,
  aligned from the right). A label repeated within an operand takes the diagonal (the repeated
  axes merged by a reshape, then a slice with step 1 + n + n^2 ...); labels that appear nowhere
  else are summed at once; the operands are then contracted left to right, each pair as a
  batched matmul (batch, free and contracted labels) or, with nothing to contract, a
  broadcast multiply; last, what the output does not name is summed and the axes permuted into
  the output's order. Sums keep the operands' dtype (as NumPy's einsum does).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence

from .dispatch import type_of
from .elementwise import multiply
from .linear_algebra import matmul
from .axes import check_axis, shape_error, slice_op
from .manipulation import broadcast_to, permute_dims, reshape
from .reductions import sum as _sum
from ..errors import user_location, with_location


def _value_error(message: str) -> ValueError:
    return ValueError(with_location(message, user_location()))


# --- tensordot -----------------------------------------------------------------------------------
def _tensordot_axes(axes, n1: int, n2: int) -> tuple[list[int], list[int]]:
    if not isinstance(axes, (tuple, list)):
        count = operator.index(axes)
        if count < 0:
            raise _value_error(f"tensordot: axes must be non-negative, got {count}")
        if count > min(n1, n2):
            raise shape_error(f"tensordot: cannot contract {count} axes of arrays of "
                               f"{n1} and {n2} dimensions")
        return list(range(n1 - count, n1)), list(range(count))
    if len(axes) != 2:
        raise _value_error(f"tensordot: axes must be an int or a pair of sequences, got {axes!r}")
    pair = [[a] if isinstance(a, int) else list(a) for a in axes]
    if len(pair[0]) != len(pair[1]):
        raise _value_error(f"tensordot: axes {axes!r} name different numbers of axes")
    a1 = [check_axis(a, n1) for a in pair[0]]
    a2 = [check_axis(a, n2) for a in pair[1]]
    if len(set(a1)) != len(a1) or len(set(a2)) != len(a2):
        raise _value_error(f"tensordot: repeated axis in {axes!r}")
    return a1, a2


def tensordot(x1, x2, /, *, axes=2):
    """The sum of products over the axes `axes` names: an int N (x1's last N with x2's first
    N) or a pair of sequences (x1's axes, x2's axes). The result has x1's other axes, then
    x2's; its dtype is the promoted one."""
    s1, s2 = type_of(x1).shape, type_of(x2).shape
    a1, a2 = _tensordot_axes(axes, len(s1), len(s2))
    for i, j in zip(a1, a2):
        if s1[i] != s2[j]:
            raise shape_error(f"tensordot: contracted axes differ in size: axis {i} of {s1} "
                               f"and axis {j} of {s2}")
    free1 = [i for i in range(len(s1)) if i not in a1]
    free2 = [j for j in range(len(s2)) if j not in a2]
    k = math.prod(s1[i] for i in a1)
    m = math.prod(s1[i] for i in free1)
    n = math.prod(s2[j] for j in free2)
    left = reshape(permute_dims(x1, free1 + a1), (m, k))
    right = reshape(permute_dims(x2, a2 + free2), (k, n))
    return reshape(matmul(left, right), tuple(s1[i] for i in free1) + tuple(s2[j] for j in free2))


# --- einsum ---------------------------------------------------------------------------------------
def _parse_term(term: str, ndim: int, ellipsis_labels: Sequence[str], where: str) -> list[str]:
    """The labels of one operand's axes: its letters, "..." as the last ellipsis labels."""
    if term.count("...") > 1 or "." in term.replace("...", ""):
        raise _value_error(f"einsum: {where} {term!r}: '...' may appear once, and '.' only in it")
    head, dots, tail = term.partition("...")
    for c in head + tail:
        if not c.isalpha() or not c.isascii():
            raise _value_error(f"einsum: {where} {term!r}: subscripts are letters, got {c!r}")
    if not dots:
        if len(head) != ndim:
            raise _value_error(f"einsum: {where} {term!r} names {len(head)} axes, but the "
                               f"operand has {ndim}")
        return list(head)
    rest = ndim - len(head) - len(tail)
    if rest < 0:
        raise _value_error(f"einsum: {where} {term!r} names more axes than the operand's {ndim}")
    return list(head) + list(ellipsis_labels[len(ellipsis_labels) - rest:]) + list(tail)


def _parse(subscripts: str, ndims: list[int]) -> tuple[list[list[str]], list[str]]:
    """The labels of each operand and of the output."""
    subscripts = subscripts.replace(" ", "")
    inputs, arrow, output = subscripts.partition("->")
    if "->" in output or ">" in inputs or "-" in inputs:
        raise _value_error(f"einsum: {subscripts!r}: '->' may appear once")
    terms = inputs.split(",")
    if len(terms) != len(ndims):
        raise _value_error(f"einsum: {subscripts!r} has {len(terms)} operand terms, but "
                           f"{len(ndims)} operands were given")
    spans = [n - len(t.replace("...", "")) for t, n in zip(terms, ndims) if "..." in t]
    ellipsis = [f"...{i}" for i in range(max(spans, default=0))]
    labels = [_parse_term(t, n, ellipsis, f"operand {i}")
              for i, (t, n) in enumerate(zip(terms, ndims))]
    if arrow:
        if "..." not in output and any(spans):
            raise _value_error(f"einsum: {subscripts!r}: the operands have axes under '...', "
                               "but the output has no '...' to put them")
        out = _parse_term(output, len(output.replace("...", "")) + len(ellipsis), ellipsis,
                          "output")
        every = {c for ls in labels for c in ls}
        for c in out:
            if c not in every:
                raise _value_error(f"einsum: {subscripts!r}: output subscript {c!r} is not "
                                   "in any operand")
        if len(set(out)) != len(out):
            raise _value_error(f"einsum: {subscripts!r}: an output subscript repeats")
    else:  # implicit: "...", then the letters that appear once, in alphabetical (ASCII) order
        counts = {}
        for ls in labels:
            for c in ls:
                counts[c] = counts.get(c, 0) + 1
        out = ellipsis + sorted(c for c, n in counts.items() if n == 1 and len(c) == 1)
    return labels, out


def _diagonal(x, labels: list[str]):
    """x with each label that repeats among its axes kept once: the diagonal (moved last)."""
    while len(set(labels)) != len(labels):
        label = next(c for c in labels if labels.count(c) > 1)
        same = [i for i, c in enumerate(labels) if c == label]
        rest = [i for i, c in enumerate(labels) if c != label]
        shape = type_of(x).shape
        d, k = shape[same[0]], len(same)
        if any(shape[i] != d for i in same):
            raise _value_error(f"einsum: subscript {label!r} repeats within an operand over axes "
                               f"of different sizes {[shape[i] for i in same]}")
        merged = reshape(permute_dims(x, rest + same), tuple(shape[i] for i in rest) + (d ** k,))
        t = type_of(merged)
        step = sum(d ** p for p in range(k)) if d else 1
        x = slice_op(merged, t, [0] * t.ndim, [shape[i] for i in rest] + [d],
                      [1] * (t.ndim - 1) + [step])
        labels = [labels[i] for i in rest] + [label]
    return x, labels


def _sum_labels(x, labels: list[str], drop: set[str]):
    """x summed over the axes whose label is in `drop` (in x's own dtype, as NumPy's einsum)."""
    axes = tuple(i for i, c in enumerate(labels) if c in drop)
    if not axes:
        return x, labels
    return (_sum(x, axis=axes, dtype=type_of(x).dtype),
            [c for c in labels if c not in drop])


def _arrange(x, labels: list[str], order: list[str], sizes: dict[str, int]):
    """x with its axes in `order` (a superset of its labels): permuted, then size-1 axes for
    the labels it lacks."""
    mine = [c for c in order if c in labels]
    x = permute_dims(x, tuple(labels.index(c) for c in mine))
    return reshape(x, tuple(sizes[c] if c in labels else 1 for c in order))


def _contract(a, la: list[str], b, lb: list[str], keep: set[str], sizes: dict[str, int]):
    """The product of a and b summed over their shared labels that are not in `keep`."""
    shared = [c for c in la if c in lb]
    batch = [c for c in shared if c in keep]
    summed = [c for c in shared if c not in keep]
    free_a = [c for c in la if c not in lb]
    free_b = [c for c in lb if c not in la]
    if not summed:  # nothing to contract: an outer product over the free labels, by broadcasting
        order = batch + free_a + free_b
        return multiply(_arrange(a, la, order, sizes), _arrange(b, lb, order, sizes)), order
    dims = [sizes[c] for c in batch]
    m = math.prod(sizes[c] for c in free_a)
    k = math.prod(sizes[c] for c in summed)
    n = math.prod(sizes[c] for c in free_b)
    left = reshape(_arrange(a, la, batch + free_a + summed, sizes), tuple(dims) + (m, k))
    right = reshape(_arrange(b, lb, batch + summed + free_b, sizes), tuple(dims) + (k, n))
    order = batch + free_a + free_b
    return reshape(matmul(left, right), tuple(sizes[c] for c in order)), order


def einsum(subscripts: str, /, *operands):
    """Einstein summation, as numpy.einsum with a subscripts string: "ij,jk->ik" (explicit
    output) or "ij,jk" (implicit: the labels that appear once, in alphabetical order), with
    "..." for broadcast axes and repeated labels for diagonals ("ii->i", "ii" the trace)."""
    if not isinstance(subscripts, str):
        raise TypeError(with_location("einsum takes a subscripts string first (the interleaved "
                                      "form einsum(x, [0, 1], ...) is not supported)",
                                      user_location()))
    if not operands:
        raise _value_error("einsum needs at least one operand")
    labels, out = _parse(subscripts, [type_of(x).ndim for x in operands])
    sizes: dict[str, int] = {}
    for x, ls in zip(operands, labels):
        for c, d in zip(ls, type_of(x).shape):
            if sizes.get(c, 1) != 1 and d not in (1, sizes[c]):
                raise shape_error(f"einsum: {subscripts!r}: subscript {c!r} has sizes "
                                   f"{sizes[c]} and {d}")
            sizes[c] = d if sizes.get(c, 1) == 1 else sizes[c]
    xs = []
    for x, ls in zip(operands, labels):
        x, ls = _diagonal(x, list(ls))
        shape = tuple(sizes[c] for c in ls)
        xs.append((broadcast_to(x, shape) if type_of(x).shape != shape else x, ls))
    # contract left to right; a label is summed as soon as no later operand nor the output has it
    acc, la = xs[0]
    for i in range(len(xs)):
        later = set(out).union(*(ls for _, ls in xs[i + 1:]))
        if i:
            acc, la = _contract(acc, la, xs[i][0], xs[i][1], later, sizes)
        acc, la = _sum_labels(acc, la, set(la) - later)
        if i + 1 < len(xs):  # the next operand's labels found nowhere else are summed too
            b, lb = xs[i + 1]
            elsewhere = set(out).union(la, *(ls for _, ls in xs[i + 2:]))
            xs[i + 1] = _sum_labels(b, lb, set(lb) - elsewhere)
    result = permute_dims(acc, tuple(la.index(c) for c in out))
    return result
