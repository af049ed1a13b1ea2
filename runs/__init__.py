"""Bulk runs over dead letters: plans made in chunks, and the driver that replays or discards."""
