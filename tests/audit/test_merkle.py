"""Proof generation agrees with the RFC 6962 definitions and with our own verifier."""

from __future__ import annotations

import hashlib

import pytest

from connector.audit.errors import ProofError
from connector.audit.merkle import (
    EMPTY_ROOT,
    Frontier,
    MemoryTree,
    leaf_hash,
    node_hash,
    perfect_subtrees,
    root_of,
    verify_consistency,
    verify_inclusion,
)

# RFC 6962 test data: the eight standard leaves (MANIFEST.md).
LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]


def mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 §2.1 word for word: the reference the optimised code is checked against."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def test_reference_roots() -> None:
    tree = MemoryTree(leaf_hash(x) for x in LEAVES)
    assert tree.root().hex() == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    assert MemoryTree().root() == EMPTY_ROOT
    assert leaf_hash(b"").hex().startswith("6e340b9c")
    for n in range(9):
        assert tree.root(n) == mth(LEAVES[:n]) == root_of([leaf_hash(x) for x in LEAVES[:n]])


def test_leaf_and_node_hashes_are_domain_separated() -> None:
    a, b = leaf_hash(b"a"), leaf_hash(b"b")
    assert node_hash(a, b) != leaf_hash(a + b)  # an interior node never passes for a leaf


def test_every_generated_proof_verifies_and_mutations_do_not() -> None:
    data = [f"entry {i}".encode() for i in range(40)]
    tree = MemoryTree(leaf_hash(x) for x in data)
    for n in range(1, 41):
        root = tree.root(n)
        assert root == mth(data[:n])
        for m in range(n):
            proof = tree.inclusion_proof(m, n)
            verify_inclusion(m, n, leaf_hash(data[m]), proof, root)
            with pytest.raises(ProofError):
                verify_inclusion(m, n, leaf_hash(b"other"), proof, root)
            if proof:
                bad = [*proof[:-1], bytes(32)]
                with pytest.raises(ProofError):
                    verify_inclusion(m, n, leaf_hash(data[m]), bad, root)
            # A lie about the size is caught only where it changes the path's shape (the
            # vectors' treeSize cases); elsewhere the size must come from a signed checkpoint.
            with pytest.raises(ProofError):
                verify_inclusion(m, m, leaf_hash(data[m]), proof, root)
        for m in range(1, n + 1):
            proof = tree.consistency_proof(m, n)
            verify_consistency(m, n, tree.root(m), root, proof)
            if m < n:
                with pytest.raises(ProofError):
                    verify_consistency(m, n, leaf_hash(b"x"), root, proof)
                with pytest.raises(ProofError):
                    verify_consistency(m, n, tree.root(m), root, [*proof, root])


def test_rfc_worked_example_shapes() -> None:
    # RFC 6962 §2.1.3: in the 7-leaf tree, PATH(0) has 3 nodes and PROOF(3, D[7]) 4.
    tree = MemoryTree(leaf_hash(bytes([i])) for i in range(7))
    assert len(tree.inclusion_proof(0, 7)) == 3
    assert len(tree.inclusion_proof(6, 7)) == 2
    assert len(tree.consistency_proof(3, 7)) == 4
    assert len(tree.consistency_proof(4, 7)) == 1
    assert len(tree.consistency_proof(6, 7)) == 3


def test_size_zero_and_bad_sizes_prove_nothing() -> None:
    tree = MemoryTree(leaf_hash(bytes([i])) for i in range(4))
    with pytest.raises(ProofError):
        tree.consistency_proof(0, 4)
    with pytest.raises(ProofError):
        verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    with pytest.raises(ProofError):
        tree.inclusion_proof(4, 4)
    with pytest.raises(ProofError):
        tree.consistency_proof(3, 2)


def test_frontier_reports_the_nodes_it_completes() -> None:
    frontier = Frontier()
    made: list[tuple[int, int]] = []
    for i in range(8):
        made += [(lv, ix) for lv, ix, _ in frontier.append(leaf_hash(bytes([i])))]
    assert made.count((0, 7)) == 1 and (3, 0) in made and len(made) == 15
    assert Frontier.nodes(7) == perfect_subtrees(0, 7) == [(2, 0), (1, 2), (0, 6)]
    assert frontier.root() == mth([bytes([i]) for i in range(8)])
