"""The compiler driver on top of everything: `@tx.function` and its cache of concrete
functions. It wires the tracer, the frontend's traced values, the pass pipeline and a backend
together; nothing below imports it.

- signature.py: `TensorSpec`, binding a call's arguments, static arguments, the cache `Key`.
- explain.py: the differences between two keys, retrace warnings, the text of `f.explain`.
- concrete.py: `ConcreteFunction` (runs one specialization), `Lowered`.
- trace.py: tracing a function into a graph, the pass pipeline, lowering, the dump folder.
- function.py: `Function`, `function`/`jit`, the cached call path; it hands `tracefuse.config`
  the name-to-backend table.
"""
