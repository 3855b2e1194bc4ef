"""A minimal OCI image manifest for pushing to the emulated ECR without building an image."""

from __future__ import annotations

import json


def manifest(seed: int) -> str:
    """An image manifest with no layers whose config digest is ``seed``: equal seeds, equal image digests."""
    config = {
        "mediaType": "application/vnd.oci.image.config.v1+json",
        "digest": f"sha256:{seed:064x}",
        "size": 2,
    }
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": config,
            "layers": [],
        }
    )
