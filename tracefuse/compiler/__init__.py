"""The compiler driver on top of everything: `@tx.function` (`Function`), its cache of
`ConcreteFunction`s keyed by signature, `explain`, `lower`. It wires the tracer, the frontend's
traced values, the pass pipeline and a backend together; nothing below imports it.
"""
