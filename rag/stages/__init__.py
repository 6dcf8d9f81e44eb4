"""The answer path as named stages, one module each, wired by rag/service.py:

guard (guard.py) -> retrieve (rag/retrieval.py) -> score units (rag/scorer.py) -> gate (gate.py) ->
select context (context.py) -> generate (generate.py) -> verify (verify.py) -> select evidence
(evidence.py) -> compose (compose.py).

A stage gets what it uses (embedder, scorer, checker, generator) handed in and never reaches back into the
service, so a change to one stage is a change to one file.
"""
