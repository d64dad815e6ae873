"""Publishing the vocabulary: content negotiation and the three renderings (Turtle, JSON-LD,
HTML). Pure functions; the HTTP router in `connector.api.vocab` only wires them to paths.

Every term IRI ``https://w3id.org/tsunagu/vocab/<path>`` is served at ``<prefix>/<path>`` of a
connector, so a w3id redirect (or the connector itself at that host) resolves it.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS

from vocab.namespaces import BASE, PREFIXES, compact_iri

TURTLE = "text/turtle"
JSONLD = "application/ld+json"
HTML = "text/html"
OFFERED: tuple[str, ...] = (TURTLE, JSONLD, HTML)
"""In order of preference when the client has none (``*/*``)."""

CONTENT_TYPES = {
    TURTLE: "text/turtle; charset=utf-8",
    JSONLD: "application/ld+json",
    HTML: "text/html; charset=utf-8",
}
_ALIASES = {
    "application/json": JSONLD,
    "application/x-turtle": TURTLE,
    "application/xhtml+xml": HTML,
}
FORMAT_NAMES = {"ttl": TURTLE, "turtle": TURTLE, "jsonld": JSONLD, "json-ld": JSONLD, "html": HTML}


def negotiate(accept: str | None, offered: Sequence[str] = OFFERED) -> str | None:
    """The offered media type the Accept header prefers, or None (406) if none is acceptable.

    Highest q wins; among equal q, a specific type beats a wildcard, then the client's order,
    then ours. No header, or ``*/*``, gets the first offered type.
    """
    if not accept or not accept.strip():
        return offered[0]
    best: tuple[float, int, int, int] | None = None
    choice = None
    for position, item in enumerate(accept.split(",")):
        media, _, params = item.strip().partition(";")
        media = _ALIASES.get(media.strip().lower(), media.strip().lower())
        quality = _quality(params)
        if quality <= 0:
            continue
        for rank, candidate in enumerate(offered):
            specificity = _matches(media, candidate)
            if specificity < 0:
                continue
            key = (quality, specificity, -position, -rank)
            if best is None or key > best:
                best, choice = key, candidate
    return choice


def _quality(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                return max(0.0, min(1.0, float(value)))
            except ValueError:
                return 0.0
    return 1.0


def _matches(pattern: str, media: str) -> int:
    """2 for an exact match, 1 for type/*, 0 for */*, -1 for no match."""
    if pattern == media:
        return 2
    if pattern == "*/*":
        return 0
    kind, _, sub = pattern.partition("/")
    if sub == "*" and media.startswith(kind + "/"):
        return 1
    return -1


def serialise(graph: Graph, media_type: str, *, title: str = "", base_path: str = "") -> str:
    """`graph` as Turtle, compact JSON-LD (prefixes inlined, nothing remote) or an HTML page."""
    if media_type == TURTLE:
        for prefix, namespace in PREFIXES.items():
            graph.bind(prefix, namespace, override=True, replace=True)
        return graph.serialize(format="turtle")
    if media_type == JSONLD:
        context = {prefix: namespace for prefix, namespace in PREFIXES.items()}
        text = graph.serialize(format="json-ld", context=context, auto_compact=True)
        return json.dumps(json.loads(text), ensure_ascii=False, indent=2)
    if media_type == HTML:
        return render_html(graph, title=title, base_path=base_path)
    raise ValueError(f"cannot serialise as {media_type}")


def render_html(graph: Graph, *, title: str, base_path: str = "") -> str:
    """A plain page listing every described IRI with its labels and statements.

    Shared-vocabulary IRIs link to `base_path` + their path, so a browser can walk the
    vocabulary on the connector that serves it.
    """
    subjects = sorted(
        (s for s in set(graph.subjects()) if isinstance(s, URIRef)), key=lambda s: str(s)
    )
    sections = [_section(graph, subject, base_path) for subject in subjects]
    return (
        '<!DOCTYPE html>\n<html lang="ja">\n<head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:.2em .5em;"
        "text-align:left;vertical-align:top}.deprecated{color:#a00}code{font-size:90%}</style>"
        f"</head>\n<body>\n<h1>{html.escape(title)}</h1>\n"
        + "\n".join(sections)
        + "\n</body>\n</html>\n"
    )


def _section(graph: Graph, subject: URIRef, base_path: str) -> str:
    name = _label(graph, subject, "ja") or _label(graph, subject, "en") or compact_iri(str(subject))
    english = _label(graph, subject, "en")
    heading = html.escape(name) + (
        f" / {html.escape(english)}" if english and english != name else ""
    )
    deprecated = (subject, OWL.deprecated, Literal(True)) in graph
    rows = []
    for predicate, value in sorted(
        graph.predicate_objects(subject), key=lambda pv: (str(pv[0]), str(pv[1]))
    ):
        rows.append(
            f"<tr><th>{html.escape(compact_iri(str(predicate)))}</th>"
            f"<td>{_value(graph, value, base_path)}</td></tr>"
        )
    note = ""
    if deprecated:
        replacement = graph.value(subject, DCTERMS.isReplacedBy)
        note = '<p class="deprecated">非推奨 / deprecated'
        if replacement is not None:
            note += f" → {_link(str(replacement), base_path)}"
        note += "</p>"
    return (
        f'<section id="{html.escape(compact_iri(str(subject)))}">'
        f"<h2>{heading}</h2><p><code>{html.escape(str(subject))}</code></p>{note}"
        f"<table>{''.join(rows)}</table></section>"
    )


def _value(graph: Graph, value: object, base_path: str) -> str:
    if isinstance(value, URIRef):
        return _link(str(value), base_path)
    if isinstance(value, Literal):
        language = f" <small>@{html.escape(value.language)}</small>" if value.language else ""
        return html.escape(str(value)) + language
    if isinstance(value, BNode):
        if graph.value(value, RDF.first) is not None:
            return ", ".join(_value(graph, item, base_path) for item in Collection(graph, value))
        inner = "".join(
            f"<li>{html.escape(compact_iri(str(p)))}: {_value(graph, o, base_path)}</li>"
            for p, o in sorted(graph.predicate_objects(value), key=lambda pv: str(pv[0]))
        )
        return f"<ul>{inner}</ul>"
    return html.escape(str(value))


def _link(iri: str, base_path: str) -> str:
    href = iri
    if iri.startswith(BASE) and base_path:
        href = base_path.rstrip("/") + "/" + iri[len(BASE) :]
    return f'<a href="{html.escape(href)}">{html.escape(compact_iri(iri))}</a>'


def _label(graph: Graph, subject: URIRef, language: str) -> str:
    for predicate in (SKOS.prefLabel, RDFS.label, DCTERMS.title):
        for value in graph.objects(subject, predicate):
            if isinstance(value, Literal) and value.language == language:
                return str(value)
    return ""
