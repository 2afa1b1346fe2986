"""The maintcal application: settings, database, services, rendering, HTTP app, worker."""
