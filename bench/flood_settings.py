"""The platform's settings without per-address limits: a flood as if from many addresses
(bench.signin_flood)."""

from govplatform.settings import *  # noqa: F403

RATE_LIMITS = {}
SIGN_IN_FAILURES_PER_ADDRESS = "1000000/h"
