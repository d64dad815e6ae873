"""RFC 6962 / RFC 9162 Merkle trees: hashes, proof generation and proof verification.

Pure: no I/O. Proofs are generated against a `SubtreeHash` (the hash of leaves [start, end)), so
the same code serves an in-memory tree and the store's table of persisted nodes. Every range a
proof names is a subtree of the RFC tree, and every such subtree splits into *perfect* subtrees
(2**level leaves starting at a multiple of 2**level); the store keeps exactly those, keyed by
(level, index), so a proof reads O(log n) rows and an append writes O(log n) rows.

Verification follows RFC 9162 §2.1.3.2 and §2.1.4.2 plus the rules the algorithms leave out:
every hash is exactly 32 bytes, the leaf index is below the tree size, equal sizes need an
empty proof and identical roots, and nothing is provable from size 0 (as transparency-dev
decides it: an empty tree commits to nothing, so "consistent with it" says nothing either;
callers that hold a size-0 checkpoint have nothing to check and do not ask).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from connector.audit.errors import ProofError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "Frontier",
    "MemoryTree",
    "consistency_proof",
    "consistency_ranges",
    "fold",
    "inclusion_proof",
    "inclusion_ranges",
    "leaf_hash",
    "node_hash",
    "perfect_subtrees",
    "root_of",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
_LEAF = b"\x00"
_NODE = b"\x01"

Node = tuple[int, int]  # (level, index): leaves [index * 2**level, (index + 1) * 2**level)
Range = tuple[int, int]  # leaves [start, end)
SubtreeHash = Callable[[int, int], bytes]


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(_LEAF + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(_NODE + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly below n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


# -- which subtrees a proof names --------------------------------------------------------------


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The subtrees whose roots form PATH(index, D[size]) (RFC 6962 §2.1.1), bottom-up."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of size {size}", code="proof_bad_size")
    ranges: list[Range] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    ranges.reverse()
    return ranges


def consistency_ranges(old: int, new: int) -> list[Range]:
    """The subtrees whose roots form PROOF(old, D[new]) (RFC 6962 §2.1.2)."""
    if not 0 < old <= new:
        raise ProofError(
            f"no consistency proof from size {old} to size {new}", code="proof_bad_size"
        )
    ranges: list[Range] = []
    start, end, known = 0, new, True
    m = old
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            m -= k
            start += k
            known = False
    if not known:
        ranges.append((start, end))
    ranges.reverse()
    return ranges


def perfect_subtrees(start: int, end: int) -> list[Node]:
    """The perfect subtrees, left to right, that make up the RFC subtree [start, end)."""
    nodes: list[Node] = []
    while start < end:
        n = end - start
        width = n if n & (n - 1) == 0 else _split(n)
        level = width.bit_length() - 1
        if start % width:
            raise ProofError(f"[{start}, {end}) is not a subtree", code="proof_bad_size")
        nodes.append((level, start >> level))
        start += width
    return nodes


def fold(hashes: Sequence[bytes]) -> bytes:
    """The root of a subtree from its perfect subtrees' roots (left to right)."""
    root = hashes[-1]
    for left in reversed(hashes[:-1]):
        root = node_hash(left, root)
    return root


# -- generation --------------------------------------------------------------------------------


def inclusion_proof(index: int, size: int, subtree: SubtreeHash) -> list[bytes]:
    return [subtree(a, b) for a, b in inclusion_ranges(index, size)]


def consistency_proof(old: int, new: int, subtree: SubtreeHash) -> list[bytes]:
    return [subtree(a, b) for a, b in consistency_ranges(old, new)]


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of leaf hashes, in O(n) time and O(log n) memory."""
    frontier = Frontier()
    for h in leaf_hashes:
        frontier.append(h)
    return frontier.root()


@dataclass
class Frontier:
    """The right edge of a tree: the roots of its perfect subtrees, largest first.

    That is all an append needs: adding a leaf merges equal-sized subtrees on the right, and the
    root is their fold. `append` returns the perfect nodes it completed, for the store to keep.
    """

    size: int = 0
    hashes: list[bytes] = field(default_factory=list)

    @staticmethod
    def nodes(size: int) -> list[Node]:
        """Which stored nodes make up the frontier of a tree of `size` leaves."""
        return perfect_subtrees(0, size)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        index = self.size
        made = [(0, index, leaf)]
        h, level = leaf, 0
        while index & 1:
            h = node_hash(self.hashes.pop(), h)
            index >>= 1
            level += 1
            made.append((level, index, h))
        self.hashes.append(h)
        self.size += 1
        return made

    def root(self) -> bytes:
        return fold(self.hashes) if self.hashes else EMPTY_ROOT


class MemoryTree:
    """A whole tree in memory (tests, the benchmark's baseline, the verifier's replay)."""

    def __init__(self, leaves: Iterable[bytes] = ()) -> None:
        self.levels: list[list[bytes]] = [[]]  # levels[l][i]: perfect node (l, i)
        self._frontier = Frontier()
        for h in leaves:
            self.append(h)

    @property
    def size(self) -> int:
        return self._frontier.size

    def append(self, leaf: bytes) -> None:
        for level, index, h in self._frontier.append(leaf):
            if level == len(self.levels):
                self.levels.append([])
            assert len(self.levels[level]) == index
            self.levels[level].append(h)

    def subtree(self, start: int, end: int) -> bytes:
        if end > self.size:
            raise ProofError(f"[{start}, {end}) is beyond size {self.size}", code="proof_bad_size")
        if start == end:
            return EMPTY_ROOT
        return fold([self.levels[lv][i] for lv, i in perfect_subtrees(start, end)])

    def root(self, size: int | None = None) -> bytes:
        return self.subtree(0, self.size if size is None else size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        return inclusion_proof(index, self.size if size is None else size, self.subtree)

    def consistency_proof(self, old: int, new: int | None = None) -> list[bytes]:
        return consistency_proof(old, self.size if new is None else new, self.subtree)


# -- verification (RFC 9162 §2.1.3.2, §2.1.4.2) ---------------------------------------------------


def _check_hashes(what: str, hashes: Iterable[bytes]) -> None:
    for h in hashes:
        if len(h) != HASH_SIZE:
            raise ProofError(f"{what}: a hash is {len(h)} bytes, not 32", code="proof_malformed")


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Raise ProofError unless `proof` shows leaf `index` under `root` of a `size`-leaf tree."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of size {size}", code="proof_bad_size")
    _check_hashes("inclusion", [leaf, root, *proof])
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof is too long", code="proof_invalid")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is too short", code="proof_invalid")
    if r != root:
        raise ProofError("inclusion proof does not lead to the root", code="proof_invalid")


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Raise ProofError unless `proof` shows the `old`-leaf tree is a prefix of the `new` one."""
    if old > new or old < 0:
        raise ProofError(f"size {old} cannot precede size {new}", code="proof_bad_size")
    if old == new:
        # Before the length checks: with equal sizes nothing is hashed, only compared.
        if proof:
            raise ProofError("equal sizes need an empty proof", code="proof_invalid")
        if old == 0:
            raise ProofError("nothing is provable from size 0", code="proof_bad_size")
        if old_root != new_root:
            raise ProofError("same size, different roots", code="proof_invalid")
        return
    if old == 0:
        raise ProofError("nothing is provable from size 0", code="proof_bad_size")
    if not proof:
        raise ProofError("consistency proof is empty", code="proof_invalid")
    _check_hashes("consistency", [old_root, new_root, *proof])
    path = list(proof)
    if old & (old - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is too long", code="proof_invalid")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is too short", code="proof_invalid")
    if fr != old_root:
        raise ProofError("consistency proof does not lead to the old root", code="proof_invalid")
    if sr != new_root:
        raise ProofError("consistency proof does not lead to the new root", code="proof_invalid")
