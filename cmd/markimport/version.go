package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// buildStamp is what the binary knows of how it was built.
type buildStamp struct {
	version  string // the module's version: "(devel)" for a build from a checkout
	commit   string // the VCS commit, when the build recorded it
	time     string // the commit's time
	modified bool   // built from a checkout with changes not committed
}

// buildInfo reads the build's version and VCS stamp (go build records
// them; go run and tests do not).
func buildInfo() buildStamp {
	b := buildStamp{version: "unknown"}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if bi.Main.Version != "" {
		b.version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.commit = s.Value
		case "vcs.time":
			b.time = s.Value
		case "vcs.modified":
			b.modified = s.Value == "true"
		}
	}
	return b
}

// versionLine is what --version prints: the version, the commit and the
// Go that built it.
func versionLine() string {
	b := buildInfo()
	commit := "commit unknown"
	if b.commit != "" {
		commit = "commit " + b.commit
		if b.time != "" {
			commit += " of " + b.time
		}
		if b.modified {
			commit += ", with changes not committed"
		}
	}
	return fmt.Sprintf("markimport %s, %s, built with %s %s/%s", b.version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// version names this build for the profile: the module's version and,
// when the build recorded it, its commit.
func version() string {
	b := buildInfo()
	if len(b.commit) >= 12 {
		return b.version + " " + b.commit[:12]
	}
	return b.version
}
