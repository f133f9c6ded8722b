"""Benchmarks. They are development tools: their processes use the development keys."""

import os

os.environ.setdefault("PLATFORM_ENV", "development")
