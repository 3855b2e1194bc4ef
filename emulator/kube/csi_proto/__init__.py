"""gRPC stubs for the CSI spec and the kubelet plugin registration API (generated: see generate.py)."""
