"""Offline jobs: compose the ``recsys`` library into generate / evaluate / train / publish."""
