"""How ordercmd reaches Redis: the client factory, which URL, and the embedded server."""
