"""tsunagu's DCAT catalogue: one model, its serialisations, and the checks before publishing.

Modules, by concept:

    model       Catalog, Dataset, DatasetSeries, Distribution, DataService, Agent, ...
    dsp         the model <-> DSP 2025-1 catalogue JSON (no RDF library involved)
    rdf         the model <-> full DCAT 3 RDF (Turtle, JSON-LD, RDF/XML)
    offers      ODRL offers as RDF triples and back
    terms       themes, places and units checked against / resolved through the vocabulary
    validation  SHACL (tsunagu's profile, DCAT-AP) with reports in plain words
    authoring   entries written in YAML
    portal      DCAT-AP files as portals (CKAN) publish them
    namespaces  namespace IRIs and prefixes

Nothing is loaded at import: the vocabulary and the shapes are read on first use.
See docs/catalog.md.
"""
