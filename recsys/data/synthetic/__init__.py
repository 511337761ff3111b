"""A realistic synthetic shop with planted structure, for demos and quality tests.

:func:`recsys.data.synthetic.shop.generate_shop` is the entry point. The package's modules,
one job each: :mod:`.catalog` (items, prices, appeal), :mod:`.population` (customers and taste
groups), :mod:`.simulation` (sessions, funnel, re-buy routines, returns), :mod:`.offers`
(the offers table) and :mod:`.shop` (parameters, assembly, the :class:`~.shop.Shop`).
"""
