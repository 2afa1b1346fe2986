"""Use cases on the catalogue: products, window rules, customers, contacts, subscriptions, keys.

``edits`` holds the one-transaction edits behind ``maintcal product|window|customer``;
``catalogue_file`` parses and validates the declarative TOML file and ``apply`` applies it
idempotently; ``apikeys`` issues customer API keys; ``past_windows`` refuses one-off windows that
have started; ``withdrawals`` tells customers about occurrences a catalogue change takes away.
"""
