"""A model's latency on a deploy runtime: measured end to end (``meter``) or predicted from
a per-layer lookup table (``table``). ``segmnv3 adapt`` (NetAdapt) uses both."""
