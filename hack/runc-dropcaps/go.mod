module euglena.dev/hack/runc-dropcaps

go 1.24
