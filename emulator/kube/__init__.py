"""A real Kubernetes cluster behind each emulated EKS cluster (docs/emulator.md, "Kubernetes")."""
