"""A realistic synthetic shop with planted structure, for demos and quality tests.

:func:`recsys.data.synthetic.shop.generate_shop` is the entry point. The package's modules,
one job each: :mod:`.catalog` (items, prices, appeal), :mod:`.population` (customers and taste
groups), :mod:`.sessions` (session times, what customers look at, the event log),
:mod:`.simulation` (the retail funnel, re-buy routines, returns), :mod:`.marketplace` and
:mod:`.ratings` (the other kinds of shop), :mod:`.offers` (the offers table), :mod:`.frames`
(the public frames) and :mod:`.shop` (parameters, kinds, the :class:`~.shop.Shop`).
"""
