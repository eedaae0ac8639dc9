"""``make run``: the whole platform on this machine (:mod:`.platform`), with the local
Kubernetes side when its tools are built (:mod:`.kubernetes`)."""
