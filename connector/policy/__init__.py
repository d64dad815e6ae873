"""Policy enforcement in the running connector: the facts the decision point reads (geography,
flood alerts, agreement times, the consumer's claims), decisions at transfer start and at every
data-plane access, the policy monitor that ends transfers whose agreement stopped holding, and
duties owed under agreements. The policy language itself is the pure `policies` package."""
