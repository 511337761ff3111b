"""Live effects of events between two trainings (issue #11): offers redeemed use up budgets
and suppress their redeemers (:mod:`recsys.realtime.offers`). The live recommendation rung is
in :mod:`recsys.answers.realtime`; the live state's storage in :mod:`recsys.store.realtime`."""
