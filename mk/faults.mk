# The fault suite: faults, load and bad input on real services and real worker processes.
# Figures, not assertions (like make bench); the fast versions of each scenario run in the
# integration tier (tests/integration/faults, tests/integration/gateway/test_api_schema.py).
# See docs/failures.md.

.PHONY: faults

faults: deps ## Fault suite: SIGKILLed workers, restarted and blackholed dependencies, scale-down, schemathesis, JWT attacks, cross-user reads, a 10-minute soak; prints figures (FAULTS=R1,R9 picks; SOAK_SECONDS=…)
	@$(UV) run --frozen python -m bench.faults
