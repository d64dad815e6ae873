"""free_port: the ports it hands out, probed free, are not handed out again while whoever took
one may not be listening yet (two servers of one test got the same port once: "address
already in use" in a loaded run)."""

from __future__ import annotations

from connector.serving import free_port


def test_ports_handed_out_are_not_handed_out_again() -> None:
    # 200 draws from ~22,000 ports: without the memory a repeat is more likely than not.
    ports = [free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
