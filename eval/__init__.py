"""Evaluation of the assistant: question sets, metrics, reports, external benchmarks.

Run as ``python -m eval run|compare|swefaq|swequad|check``; see eval/README.md.
"""
