# Shared by the build scripts under hack/: logging and `go build` with progress.
# Source it after setting LOG_PREFIX and BUILD_LOG; go_build writes into $staging.

log() { printf '[%s] %s\n' "$LOG_PREFIX" "$*" >&2; }

find_go() {
  GO="${GO:-$(command -v go || true)}"
  [[ -z "$GO" && -x /usr/local/go/bin/go ]] && GO=/usr/local/go/bin/go
  if [[ -z "$GO" ]]; then
    log "no Go toolchain found (set GO=/path/to/go)"
    exit 3
  fi
  export CGO_ENABLED="${CGO_ENABLED:-0}" GOFLAGS=-mod=mod GOTOOLCHAIN=local
}

# Print one line per 100 compiled packages so a long cold build shows progress.
progress() {
  awk -v what="$1" -v total="$2" -v prefix="$LOG_PREFIX" '{ n++; if (n % 100 == 0) { printf "[%s]   %s: %d of at most %d packages compiled\n", prefix, what, n, total; fflush() } }
    END { if (n) printf "[%s]   %s: %d packages compiled\n", prefix, what, n
          else printf "[%s]   %s: all packages in Go build cache, linked\n", prefix, what }' >&2
}

# go_build <what> <module dir> <ldflags> <packages...>: builds into $staging/.
go_build() {
  local what="$1" dir="$2" ldflags="$3" total
  shift 3
  log "building $what ($((SECONDS - started))s elapsed)"
  total="$(cd "$dir" && "$GO" list -deps "$@" | wc -l)"
  if ! (cd "$dir" && "$GO" build -v -trimpath -ldflags "$ldflags" -o "$staging/" "$@") 2>&1 \
    | tee -a "$BUILD_LOG" | progress "$what" "$total"; then
    tail -n 30 "$BUILD_LOG" >&2
    log "building $what failed; full output in $BUILD_LOG"
    exit 1
  fi
}
