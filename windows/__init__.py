"""Pure domain of maintcal: rules, time zones, expansion, notice policy, SLA arithmetic.

Standard library + pytz + croniter only; no I/O and no clock reads.
"""
