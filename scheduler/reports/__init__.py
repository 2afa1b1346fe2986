"""Reports that prove the contract: notice compliance, SLA availability, recorded outages.

``compliance`` says for every occurrence and customer whether it was announced in time;
``sla_report`` computes a month's availability with properly announced maintenance excluded;
``outages`` records measured downtime (imported or added by hand) that the SLA report counts.
"""
