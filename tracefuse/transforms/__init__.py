"""Graph -> Graph transforms of user functions: grad/vjp/jvp (JVP and VJP rule tables), vmap
(batching rules), control flow. Empty for now; it imports `ir/` and `tracer/` only.
"""
