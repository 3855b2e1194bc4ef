"""A real Kubernetes cluster behind each emulated EKS cluster (docs/emulator.md, "Kubernetes")."""

# Every local cluster's pods: each node's bridge takes a /24 of it (claimed host-wide).
POD_NETWORK = "10.244.0.0/16"
