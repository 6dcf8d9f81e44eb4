"""Lexical search: BM25 over Swedish-normalised tokens (stemmed, diacritics folded, compounds split)."""

from __future__ import annotations

import bisect
import json
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from scipy import sparse

from rag.errors import IndexCorruptError
from rag.text import lexical_tokens

Tokenizer = Callable[[str], list[str]]

MIN_PART = 3  # shortest compound part ("tid", "lov")
MIN_COMPOUND = 7  # shortest token worth splitting
MIN_PREFIX = 5  # shortest unknown query word matched as the start of a compound
MIN_HEAD = 6  # shortest known first part that stands for an unknown compound
MIN_TYPO = 8  # shortest unknown term matched to a near spelling, one edit away ...
MIN_TYPO_TWO = 12  # ... or two, from this length


class LexicalIndex(ABC):
    @abstractmethod
    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """(position, score) pairs, best first; only positions that share a term with the query."""

    @abstractmethod
    def query_terms(self, query: str) -> list[str]:
        """The query's terms as the index sees them (after normalisation and compound splitting)."""

    @abstractmethod
    def __len__(self) -> int: ...


class BM25Index(LexicalIndex):
    """Okapi BM25 on a sparse term matrix.

    Swedish writes compounds as one word. Every long token, in the chunks and in the query, also counts
    as the two corpus words it splits into ('bygglovsansökan' -> 'bygglov' + 'ansökan'), so
    'öppet' meets 'öppettider' and 'transformationsarenan' meets 'arenan'.
    """

    def __init__(
        self,
        docs_tokens: Sequence[Sequence[str]],
        *,
        k1: float = 1.2,
        b: float = 0.75,
        tokenizer: Tokenizer = lexical_tokens,
    ) -> None:
        if k1 < 0 or not 0 <= b <= 1:
            raise ValueError(f"BM25 needs k1 >= 0 and 0 <= b <= 1, got k1={k1}, b={b}")
        self.k1, self.b = k1, b
        self.tokenizer = tokenizer
        self.docs_tokens = [list(t) for t in docs_tokens]
        self.words = frozenset(t for toks in self.docs_tokens for t in toks)
        vocab: dict[str, int] = {}
        rows, cols, vals = [], [], []
        for d, toks in enumerate(self.docs_tokens):
            expanded = list(toks) + [p for t in toks for p in self.split_compound(t)]
            for term, tf in Counter(expanded).items():
                rows.append(d)
                cols.append(vocab.setdefault(term, len(vocab)))
                vals.append(tf)
        self.vocab = vocab
        self._sorted_vocab = sorted(vocab)
        n = len(self.docs_tokens)
        tf = sparse.coo_matrix((vals, (rows, cols)), shape=(n, len(vocab)), dtype=np.float32)
        lengths = np.array([len(t) for t in self.docs_tokens], dtype=np.float32)
        avg = float(lengths.mean()) if n else 1.0
        df = np.bincount(np.asarray(cols, dtype=np.int64), minlength=len(vocab)).astype(np.float32)
        self.idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
        denom = tf.data + k1 * (1 - b + b * lengths[tf.row] / max(avg, 1e-9))
        weights = tf.data * (k1 + 1) / denom * self.idf[tf.col]
        self._weights = sparse.csc_matrix(
            (weights, (tf.row, tf.col)), shape=(n, len(vocab)), dtype=np.float32
        )

    @classmethod
    def from_texts(cls, texts: Sequence[str], tokenizer: Tokenizer = lexical_tokens) -> BM25Index:
        return cls([tokenizer(t) for t in texts], tokenizer=tokenizer)

    def __len__(self) -> int:
        return len(self.docs_tokens)

    def split_compound(self, term: str) -> list[str]:
        """Two corpus words that make up term (a linking 's' allowed), or [] when none fits.

        The split with the longest shorter part wins, so 'bygglovsansokan' gives 'bygglov' + 'ansokan'."""
        if len(term) < MIN_COMPOUND or term[0].isdigit():
            return []
        best: list[str] = []
        for i in range(MIN_PART, len(term) - MIN_PART + 1):
            head, tail = term[:i], term[i:]
            for h in (head, head[:-1] if head.endswith("s") else ""):
                fits = len(h) >= MIN_PART and h in self.words and tail in self.words
                if fits and (not best or min(len(h), len(tail)) > min(map(len, best))):
                    best = [h, tail]
        return best

    def expand(self, term: str) -> list[str]:
        """The index terms a query term stands for: itself, its compound parts, or (for a word the index
        lacks) the compounds it begins ('öppet' -> 'öppettid') or the known word it begins with
        ('telefonnummer' -> 'telefon')."""
        out = [term] if term in self.vocab else []
        out += [p for p in self.split_compound(term) if p in self.vocab and p not in out]
        # Word forms the stemmer leaves apart share a long beginning: 'klimatneutralt' / 'klimatneutralitet'.
        for cut in (0, 1, 2):
            stem = term[: len(term) - cut]
            if out or len(stem) < MIN_PREFIX or term[0].isdigit():
                break
            i = bisect.bisect_left(self._sorted_vocab, stem)
            while i < len(self._sorted_vocab) and self._sorted_vocab[i].startswith(stem) and len(out) < 20:
                out.append(self._sorted_vocab[i])
                i += 1
        if not out:  # a compound whose first part the corpus knows: 'telefonnummer' -> 'telefon'
            for i in range(len(term) - MIN_PART, MIN_HEAD - 1, -1):
                if term[:i] in self.vocab:
                    return [term[:i]]
        return out

    def near_spellings(self, term: str) -> list[str]:
        """Index terms one edit from a long term (two from a very long one), the nearest first, at most
        three; an edit is an insertion, deletion, substitution or a swap of neighbours ('indusrtielektik'
        -> 'industrielektik', 'industrielektrik'). For a word the index lacks that looks misspelt; [] for
        a short term, where one edit makes another word ('lov' / 'lön')."""
        if len(term) < MIN_TYPO or not term.isalpha():
            return []
        limit = 1 if len(term) < MIN_TYPO_TWO else 2
        near: list[tuple[int, str]] = []
        lo = bisect.bisect_left(self._sorted_vocab, term[0])
        for word in self._sorted_vocab[lo:]:
            if word[0] != term[0]:
                break  # a typo in the first letter is rare, and this keeps the scan to one letter's words
            if abs(len(word) - len(term)) <= limit and word != term:
                d = edit_distance(term, word, limit + 1)
                if d <= limit:
                    near.append((d, word))
        return [word for _, word in sorted(near)[:3]]

    def query_terms(self, query: str) -> list[str]:
        return [e for term in self.tokenizer(query) for e in self.expand(term)]

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        terms = [self.vocab[t] for t in self.query_terms(query)]
        if not terms or k <= 0 or not len(self):
            return []
        # Each term's weights are one column of the CSC matrix, a slice: add them up in float32, term by term,
        # as scipy's column sum did (same order, same precision: the same scores to the bit), without
        # copying the columns out first.
        w = self._weights
        scores = np.zeros(w.shape[0], dtype=np.float32)
        for t in terms:
            lo, hi = w.indptr[t], w.indptr[t + 1]
            scores[w.indices[lo:hi]] += w.data[lo:hi]
        nz = np.flatnonzero(scores > 0)
        if nz.size == 0:
            return []
        found = scores[nz]
        if nz.size > k:  # only what scores at least the k-th best can be in the top k (ties at it all kept)
            keep = found >= np.partition(found, nz.size - k)[nz.size - k]
            nz, found = nz[keep], found[keep]
        top = nz[np.argsort(-found, kind="stable")[:k]]  # best first; a tie goes to the earlier chunk
        return [(int(i), float(scores[i])) for i in top]

    # --- persistence: the tokens are stored; the matrix is rebuilt on load
    def save(self, path: Path) -> None:
        path.write_text(
            json.dumps({"k1": self.k1, "b": self.b, "docs": self.docs_tokens}, ensure_ascii=False)
        )

    @classmethod
    def load(cls, path: Path, tokenizer: Tokenizer = lexical_tokens) -> BM25Index:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(data["docs"], k1=data["k1"], b=data["b"], tokenizer=tokenizer)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IndexCorruptError(str(path), f"the lexical index is unreadable ({exc})") from exc


def edit_distance(a: str, b: str, cap: int) -> int:
    """Optimal-string-alignment distance between a and b (a swap of neighbours is one edit); any value
    >= cap is returned as cap, so a scan stops early on words that are far off."""
    if abs(len(a) - len(b)) >= cap:
        return cap
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) >= cap:
            return cap
        prev2, prev = prev, cur
    return min(prev[-1], cap)
