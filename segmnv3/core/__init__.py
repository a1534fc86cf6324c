"""The base layer: what every other package of segmnv3 may import, and which imports none.

- ``errors``: ``UserError`` and its kinds (the CLI prints them as one line).
- ``files``: atomic writes (a file appears whole or not at all).
- ``checkpoint``: safe checkpoint reading/writing (``weights_only=True``, atomic).
- ``schema``: strict typed dataclass configs built from YAML-like dicts.
- ``contract``: the data contract (ignore index, classes, minimum input size, normalisation).
- ``paper``: the paper's published figures (Tables 7 and 8).
"""
