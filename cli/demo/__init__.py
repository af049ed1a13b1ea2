"""The demo: embedded Redis, sandboxes with faults, a worker, the dashboard and a mixed batch."""
