"""Versioned science environments: a spec a scientist writes, a frozen lock, smoke notebooks, images.

``python -m environments --help`` is the map. Each environment version lives in
``environments/<name>/<version>/`` (``spec.yml``, ``requirements.lock``, ``notebooks/*.ipynb``).
"""
