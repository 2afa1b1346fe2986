"""Use cases on the catalogue: products, window rules, customers, contacts, subscriptions, keys.

``products``, ``window_rules`` and ``customers`` hold the one-transaction edits behind
``maintcal product|window|customer`` (``edits`` gathers them in one namespace);
``catalogue_file`` parses and validates the declarative TOML file (``file_problems`` puts each
problem on its line) and ``apply`` applies it idempotently; ``apikeys`` issues customer API keys;
``past_windows`` refuses one-off windows that have started; ``withdrawals`` tells customers about
occurrences a catalogue change takes away.
"""
