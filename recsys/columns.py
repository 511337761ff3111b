"""Column names used across the library: one place, no string literals sprinkled around."""

from typing import Final

CUSTOMER_ID: Final = "customer_id"
ITEM_ID: Final = "item_id"
EVENT_TYPE: Final = "event_type"
TIMESTAMP: Final = "timestamp"
QUANTITY: Final = "quantity"
PRICE: Final = "price"
ORDER_ID: Final = "order_id"

# Item and customer attributes.
NAME: Final = "name"
CATEGORY: Final = "category"
IN_STOCK: Final = "in_stock"
EMAIL_OPT_IN: Final = "email_opt_in"
SIGNUP_DATE: Final = "signup_date"
COUNTRY: Final = "country"

# Derived / output columns.
WEIGHT: Final = "weight"
RANK: Final = "rank"
SCORE: Final = "score"
SIMILAR_ITEM_ID: Final = "similar_item_id"
SEGMENT: Final = "segment"

# Rejects file.
SOURCE_ROW: Final = "source_row"
REJECT_REASON: Final = "reject_reason"

EVENT_COLUMNS: Final = (CUSTOMER_ID, ITEM_ID, EVENT_TYPE, TIMESTAMP, QUANTITY, PRICE, ORDER_ID)
REQUIRED_EVENT_COLUMNS: Final = (CUSTOMER_ID, ITEM_ID, TIMESTAMP)
RECOMMENDATION_COLUMNS: Final = (CUSTOMER_ID, RANK, ITEM_ID, SCORE)
SIMILAR_COLUMNS: Final = (ITEM_ID, RANK, SIMILAR_ITEM_ID, SCORE)

# Event vocabulary defaults (configurable through the ingest config).
PURCHASE: Final = "purchase"
RETURN: Final = "return"
VIEW: Final = "view"
ADD_TO_CART: Final = "add_to_cart"
