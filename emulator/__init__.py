"""The emulated AWS account: moto in server mode plus the project's fidelity layer.

Only the endpoint differs from real AWS; roles, modules and runbooks never know which one they talk to.
"""
