"""Operator procedures for a site: status today; recovery runbooks and drills build on the same pieces."""
