"""The catalogue edits behind ``maintcal product|window|customer``, in one namespace.

Callers write ``from scheduler.catalogue import edits as catalogue`` and then
``catalogue.add_product(...)``, ``catalogue.add_window(...)``, ``catalogue.add_customer(...)``.
The edits themselves live in ``products``, ``window_rules`` and ``customers``; each is one
transaction that takes the database and ``now`` and returns plain values.
"""

from __future__ import annotations

from scheduler.catalogue.customers import (
    CustomerInfo,
    add_contact,
    add_customer,
    customer_info,
    list_customers,
    remove_contact,
    subscribe,
    unsubscribe,
)
from scheduler.catalogue.products import ProductInfo, add_product, check_name, list_products
from scheduler.catalogue.window_rules import (
    CLI_NOTICE_HINT,
    Retired,
    RuleInfo,
    add_window,
    list_windows,
    next_rule_name,
    retire_row,
    retire_window,
)

__all__ = [
    "CLI_NOTICE_HINT",
    "CustomerInfo",
    "ProductInfo",
    "Retired",
    "RuleInfo",
    "add_contact",
    "add_customer",
    "add_product",
    "add_window",
    "check_name",
    "customer_info",
    "list_customers",
    "list_products",
    "list_windows",
    "next_rule_name",
    "remove_contact",
    "retire_row",
    "retire_window",
    "subscribe",
    "unsubscribe",
]
