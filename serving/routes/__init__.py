"""One router per resource; :func:`serving.app.create_app` mounts them.

API routers carry the ``/v1`` prefix themselves, so a route's own path is the full template
(``/v1/items/{item_id}/similar``) that metrics label requests with.
"""

API_PREFIX = "/v1"
