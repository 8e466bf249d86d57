"""A faithful, deterministic stand-in for ScanSource's Sales Order API (docs/api.md §11).

Why it ships in the package: docs/decisions/0007-simulator-in-the-package.md
"""

from syncer.sim.clock import Clock, FakeClock, RealClock
from syncer.sim.config import SimConfig, Subscription
from syncer.sim.faultconfig import FaultConfig
from syncer.sim.server import RunningSim, run_simulator, serve_forever
from syncer.sim.simulator import Simulator

__all__ = [
    "Clock",
    "FakeClock",
    "FaultConfig",
    "RealClock",
    "RunningSim",
    "SimConfig",
    "Simulator",
    "Subscription",
    "run_simulator",
    "serve_forever",
]
