"""Helsingborgs stads svarsassistent: retrieval, grounded generation and citations."""
