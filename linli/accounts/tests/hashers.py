"""A cheap Argon2 for tests: same algorithm and hash format, tiny cost parameters.

The production parameters (100 MiB, ~0.5 s on the CI machine) would make every login in
the suite half a second long.
"""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class FastArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = 1
    memory_cost = 64
    parallelism = 1
