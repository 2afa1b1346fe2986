"""The schedule and what happens to single occurrences.

``schedule`` is the read side (rules expanded, changes applied, unplanned windows added) that
every other room builds on. The write side: ``changes`` (ops move or cancel), ``reschedule``
(customers ask, ops decide; the rules in ``reschedule_policy``), ``unplanned`` (declare, extend,
end), all ordered by ``decisions``.
"""
