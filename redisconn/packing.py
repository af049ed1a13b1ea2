"""Packs commands into the Redis protocol (RESP) for the store's clients, faster than redis-py.

redis-py's own packer calls a general encoder per argument and rebuilds its buffer per
argument: about 1.8 us an argument, and a script call carries 10 to 1,100 of them (admission
sends 7 per command, a claim 19). This one does the same bytes in about a fifth of the time.
"""

from __future__ import annotations

from redis.exceptions import DataError


class RespPacker:
    """The ``command_packer`` of a redis-py connection: same bytes as redis-py's, built faster.

    Arguments are ``str`` (UTF-8), ``bytes``-like, ``int`` or ``float`` (``repr``); anything
    else, ``bool`` included, is refused as redis-py refuses it. A command name holding spaces
    (``"CONFIG GET"``) is split into words, as redis-py does.
    """

    def pack(self, *args: object) -> list[bytes]:
        """The RESP bytes of one command, as a one-item list (redis-py's packer interface)."""
        name = args[0]
        if isinstance(name, str):
            args = (*name.encode().split(), *args[1:])
        elif isinstance(name, bytes) and b" " in name:
            args = (*name.split(), *args[1:])
        parts = [b"*%d\r\n" % len(args)]
        append = parts.append
        for arg in args:
            if type(arg) is str:
                value = arg.encode()
            elif isinstance(arg, bytes):
                value = arg
            elif isinstance(arg, bytearray | memoryview):
                value = bytes(arg)
            elif isinstance(arg, int | float) and not isinstance(arg, bool):
                value = repr(arg).encode()
            elif isinstance(arg, str):  # a str subclass (a StrEnum member): its value
                value = str.encode(arg)
            else:
                raise DataError(
                    f"Invalid input of type: '{type(arg).__name__}'. "
                    "Convert to a bytes, string, int or float first."
                )
            append(b"$%d\r\n%b\r\n" % (len(value), value))
        return [b"".join(parts)]
