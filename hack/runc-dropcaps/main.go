// runc-dropcaps is an OCI runtime that runs runc with every capability outside its own bounding
// set removed from the container's process spec.
//
// A privileged container asks for all capabilities. Where the host's capability bounding set
// lacks one (some sandboxes drop CAP_SYS_RESOURCE), runc refuses to start the container
// ("unable to apply caps: operation not permitted"). This wrapper edits the spec runc is about
// to read — config.json of the bundle for `create`/`run`, the --process file for `exec` — so
// that it asks only for what can be granted, then execs runc with the same arguments. Where the
// bounding set is complete it execs runc untouched, so installing it where it is not needed
// changes nothing.
//
// The real runc is $RUNC_DROPCAPS_RUNC, else the first `runc` on PATH that is not this program.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Capability names by number (linux/capability.h).
var capNames = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
	"CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
	"CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
	"CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// Global runc flags that take a value (`--root DIR` as well as `--root=DIR`).
var valueFlags = map[string]bool{"--root": true, "--log": true, "--log-format": true, "--criu": true, "--rootless": true}

func main() {
	runc, err := realRunc()
	if err != nil {
		fail(err)
	}
	args := os.Args[1:]
	if missing := missingCaps(); len(missing) > 0 {
		if err := filterSpec(args, missing); err != nil {
			fail(err)
		}
	}
	fail(syscall.Exec(runc, append([]string{runc}, args...), os.Environ()))
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "runc-dropcaps: %v\n", err)
	os.Exit(1)
}

func realRunc() (string, error) {
	if path := os.Getenv("RUNC_DROPCAPS_RUNC"); path != "" {
		return path, nil
	}
	self, _ := os.Executable()
	self, _ = filepath.EvalSymlinks(self)
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		candidate := filepath.Join(dir, "runc")
		resolved, err := filepath.EvalSymlinks(candidate)
		if err != nil || resolved == self {
			continue
		}
		if info, err := os.Stat(resolved); err == nil && info.Mode().IsRegular() && info.Mode()&0o111 != 0 {
			return candidate, nil
		}
	}
	return "", fmt.Errorf("no runc found on PATH (set RUNC_DROPCAPS_RUNC)")
}

// missingCaps lists the known capabilities absent from this process's bounding set.
func missingCaps() map[string]bool {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return nil
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		hex, ok := strings.CutPrefix(scanner.Text(), "CapBnd:")
		if !ok {
			continue
		}
		bounding, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
		if err != nil {
			return nil
		}
		missing := map[string]bool{}
		for i, name := range capNames {
			if bounding&(1<<uint(i)) == 0 {
				missing[name] = true
			}
		}
		return missing
	}
	return nil
}

// filterSpec finds the spec file the runc subcommand in args will read and removes the missing
// capabilities from it. Subcommands that read no spec are left alone.
func filterSpec(args []string, missing map[string]bool) error {
	i := 0
	for i < len(args) && strings.HasPrefix(args[i], "-") {
		if valueFlags[args[i]] {
			i++
		}
		i++
	}
	if i >= len(args) {
		return nil
	}
	command, rest := args[i], args[i+1:]
	switch command {
	case "create", "run":
		bundle := flagValue(rest, "--bundle", "-b")
		if bundle == "" {
			bundle = "."
		}
		return rewrite(filepath.Join(bundle, "config.json"), missing, func(spec map[string]any) map[string]any {
			process, _ := spec["process"].(map[string]any)
			return process
		})
	case "exec":
		process := flagValue(rest, "--process", "-p")
		if process == "" {
			return nil
		}
		return rewrite(process, missing, func(spec map[string]any) map[string]any { return spec })
	}
	return nil
}

func flagValue(args []string, long, short string) string {
	for i, arg := range args {
		if value, ok := strings.CutPrefix(arg, long+"="); ok {
			return value
		}
		if (arg == long || arg == short) && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// rewrite drops the missing capabilities from every set of the process spec that process()
// selects in the JSON file at path, keeping every other field as it was.
func rewrite(path string, missing map[string]bool, process func(map[string]any) map[string]any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	decoder := json.NewDecoder(bytes.NewReader(data))
	decoder.UseNumber()
	var spec map[string]any
	if err := decoder.Decode(&spec); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	proc := process(spec)
	caps, _ := proc["capabilities"].(map[string]any)
	changed := false
	for set, value := range caps {
		names, _ := value.([]any)
		kept := make([]any, 0, len(names))
		for _, name := range names {
			if s, _ := name.(string); missing[s] {
				changed = true
				continue
			}
			kept = append(kept, name)
		}
		caps[set] = kept
	}
	if !changed {
		return nil
	}
	out, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp := path + ".dropcaps"
	if err := os.WriteFile(tmp, out, info.Mode().Perm()); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
