"""HTTP intake for producers: ``POST /v1/commands`` and ``/v1/commands:batch``."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1", tags=["intake"])
