"""The kind e2e tier's machinery: images built here or pulled, a kind cluster, its tools.

- ``images``: every image the tier runs, built locally from Debian packages, PyPI, npm and Go
  modules (``EUGLENA_E2E_IMAGES=local``, the default) or pulled (``=upstream``);
- ``node``: the kind node image assembled from locally built pieces;
- ``cluster``: a one-node kind cluster with a network that stays on this machine;
- ``tools``: where ``hack/kind/build.sh`` puts kind and the node binaries.

``python -m euglena_devkit.kind images`` builds what is missing and prints every image's size.
"""
