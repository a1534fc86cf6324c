"""NetAdapt (paper section 4.2): slim a model step by step to a latency budget.

``search.adapt`` runs the loop: per step, one proposal per unit of channels
(``models.surgery``), each the smallest cut saving ``delta`` of the seed's latency; a short
fine-tune of each on the training split (``tuning``); the proposal with the best
accuracy / latency trade-off becomes the next model. Latency comes from a source the
caller passes (``deploy.latency``: measured end to end, or a lookup table), so engine/
never imports deploy/.
"""
