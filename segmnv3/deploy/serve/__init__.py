"""``segmnv3 serve``: the browser app (onnxruntime-web) and the local server that hosts it.

``assets`` finds the page and the onnxruntime-web files (``segmnv3/web``), ``model_files``
exports the checkpoint once for the browser (the ``onnx`` row of ``export.formats``, with
the export's parity gate) beside a ``model.json`` the page reads (class names, colours,
normalisation), ``server`` serves exactly those files with cross-origin isolation (``cache``:
ETags, gzip, versioned immutable URLs; files streamed), ``tls``
makes a self-signed certificate for ``--https``, ``browser`` drives Debian's Chromium
(tests, benchmark) and ``bench`` measures the page against native ONNX Runtime.
"""
