"""Command line of the sandbox: ``python -m sandbox`` (later ``ordercmd sandbox``) via ``main``."""

from __future__ import annotations

import argparse
import ipaddress
import sys
from collections.abc import Sequence

import uvicorn
from pydantic import ValidationError

from sandbox.app import create_app
from sandbox.config import SandboxConfig
from sandbox.dialects import DIALECT_FIELDS, NAMED
from sandbox.faults import FaultSettings
from sandbox.server import quiet_dropped_replies
from schemas import Provider

DESCRIPTION = "Run the Backd, Shoplazza and FastPOD sandboxes on one port."


def _pair(text: str) -> tuple[str, str]:
    left, sep, right = text.partition("=" if "=" in text else ":")
    if not sep or not left or not right:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return left, right


def _fault_flags(parser: argparse.ArgumentParser) -> None:
    faults = parser.add_argument_group("faults (applied to every --fault-provider, default all)")
    add = faults.add_argument
    add("--fault-provider", action="append", choices=[p.value for p in Provider], default=[])
    add("--error-rate", action="append", type=_pair, default=[], metavar="STATUS=RATE")
    add("--latency-ms", type=float, default=0.0)
    add("--jitter-ms", type=float, default=0.0)
    add("--timeout-rate", type=float, default=0.0)
    add("--timeout-hold-s", type=float, default=30.0)
    add("--reply-lost-rate", type=float, default=0.0)
    add("--bad-response", action="append", type=_pair, default=[], metavar="KIND=RATE")
    add("--huge-body-bytes", type=int, default=5_000_000)
    add("--outage-for-s", type=float, default=None)
    add("--fault-scope", choices=["all", "mutations"], default="all")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m sandbox``."""
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=DESCRIPTION)
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="bind address (the admin API has no auth)")
    add("--port", type=int, default=8765)
    add("--seed", type=int, default=0, help="seed of the fault/jitter RNG")
    add("--orders", type=int, default=24, help="seeded orders per provider")
    add("--backd-key", action="append", type=_pair, default=[], metavar="PK:SK")
    add("--shoplazza-token", action="append", default=[])
    add("--fastpod-token", action="append", default=[])
    add("--bucket-size", type=int, default=40, help="Shoplazza leaky bucket size per store")
    add("--leak-per-s", type=float, default=2.0, help="Shoplazza bucket leak rate")
    add("--log-level", default="info")
    _dialect_flags(parser)
    _fault_flags(parser)
    return parser


def _dialect_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "dialect (open details of providers.md; see sandbox.dialects)"
    )
    add = group.add_argument
    add("--dialect", choices=sorted(NAMED), help="a named set of the options below")
    add("--backd-refusal-status", type=int, choices=[200, 400, 409, 422])
    add("--backd-time", choices=["chicago", "utc", "offset"])
    add("--backd-cancelled", choices=["order_cancelled", "cancelled", "canceled"])
    add("--backd-replaced-refund", choices=["declined", "removed"])
    add("--shoplazza-state-refusal", type=int, choices=[406, 400, 422])
    add("--shoplazza-retry-after", choices=["true", "false"])
    add("--shoplazza-refund-list", choices=["refund_orders", "records", "bare_list"])
    add("--shoplazza-refund-status", choices=["finished", "pending"])
    add("--fastpod-errors", choices=["mixed", "laravel", "status_false", "ok_false"])


def _dialect(args: argparse.Namespace) -> dict[str, object]:
    chosen = dict(NAMED[args.dialect]) if args.dialect else {}
    flags = {name: getattr(args, name) for name in DIALECT_FIELDS}
    return chosen | {name: value for name, value in flags.items() if value is not None}


def _faults(args: argparse.Namespace) -> FaultSettings:
    return FaultSettings(
        error_rates={int(k): float(v) for k, v in args.error_rate},
        latency_ms=args.latency_ms,
        jitter_ms=args.jitter_ms,
        timeout_rate=args.timeout_rate,
        timeout_hold_s=args.timeout_hold_s,
        reply_lost_rate=args.reply_lost_rate,
        bad_response_rates={k: float(v) for k, v in args.bad_response},
        huge_body_bytes=args.huge_body_bytes,
        outage_for_s=args.outage_for_s,
        scope=args.fault_scope,
    )


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    """Turn parsed arguments into a ``SandboxConfig`` (defaults kept for absent credentials).

    Raises:
        ValidationError: a value is out of range (e.g. rates adding up past 1).
    """
    faults = _faults(args)
    providers = [Provider(p) for p in args.fault_provider] or list(Provider)
    values = {
        "seed": args.seed,
        "orders_per_provider": args.orders,
        "backd_keys": dict(args.backd_key) or None,
        "shoplazza_tokens": args.shoplazza_token or None,
        "fastpod_tokens": args.fastpod_token or None,
        "shoplazza_bucket_size": args.bucket_size,
        "shoplazza_leak_per_s": args.leak_per_s,
        "faults": dict.fromkeys(providers, faults),
    } | _dialect(args)
    return SandboxConfig.model_validate({k: v for k, v in values.items() if v is not None})


def _is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _banner(config: SandboxConfig, host: str, port: int) -> str:
    root = f"http://{host}:{port}"
    pk, sk = next(iter(config.backd_keys.items()))
    lines = [
        f"ordercmd sandbox on {root} (admin API: {root}/_admin)",
        f"  Backd      {root}/backd               Basic {pk}:{sk}",
        f"  Shoplazza  {root}/shoplazza/<store>   Access-Token {config.shoplazza_tokens[0]}",
        f"  FastPOD    {root}/fastpod             Bearer {config.fastpod_tokens[0]}",
    ]
    if not _is_loopback(host):
        lines.append("  WARNING: not bound to loopback; /_admin has no authentication")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the sandbox until interrupted.

    Args:
        argv: arguments without the program name (default: ``sys.argv[1:]``).

    Returns:
        The process exit status.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except ValidationError as exc:
        parser.error(str(exc))
    print(_banner(config, args.host, args.port), file=sys.stderr)
    quiet_dropped_replies()
    uvicorn.run(create_app(config), host=args.host, port=args.port, log_level=args.log_level)
    return 0
