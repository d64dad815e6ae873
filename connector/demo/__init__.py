"""`tsunagu demo`: a river basin on one machine — an authority, A市 and B町 upstream, C村
downstream — built from real connectors on loopback (`localspace`), the owners' own systems
(`sources`) and C村's flood watch over what it receives (`basin_watch`)."""
