package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// instruction is one instruction of a Dockerfile: its keyword in upper
// case and the rest of its (joined) lines.
type instruction struct {
	line int
	cmd  string
	args string
}

// stage is one FROM of a Dockerfile and the instructions under it.
type stage struct {
	from  string // the image, as written
	name  string // AS name, if any
	instr []instruction
}

// parseDockerfile reads the instructions of a Dockerfile by stage: lines
// joined at a trailing backslash, comments and blank lines dropped.
func parseDockerfile(t *testing.T, text string) (args map[string]string, stages []stage) {
	t.Helper()
	args = map[string]string{}
	var joined string
	start := 0
	for i, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if joined == "" && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if joined == "" {
			start = i + 1
		}
		if body, cont := strings.CutSuffix(trimmed, `\`); cont {
			joined += body + " "
			continue
		}
		joined += trimmed
		cmd, rest, _ := strings.Cut(joined, " ")
		in := instruction{start, strings.ToUpper(cmd), strings.TrimSpace(rest)}
		joined = ""
		switch {
		case in.cmd == "FROM":
			f := strings.Fields(in.args)
			for len(f) > 0 && strings.HasPrefix(f[0], "--") {
				f = f[1:]
			}
			s := stage{from: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.name = f[2]
			}
			stages = append(stages, s)
		case len(stages) == 0 && in.cmd == "ARG":
			name, value, _ := strings.Cut(in.args, "=")
			args[name] = value
		case len(stages) == 0:
			t.Fatalf("Dockerfile line %d: %s before the first FROM", in.line, in.cmd)
		default:
			stages[len(stages)-1].instr = append(stages[len(stages)-1].instr, in)
		}
	}
	return args, stages
}

// TestDockerfile: the image is built in stages, the binary static
// (CGO_ENABLED=0) without the build's paths (-trimpath) by a Go at least
// the one go.mod names, and the image it ships is an empty base holding
// the binary, the CA certificates and a passwd entry for the numeric
// non-root user it runs as: no RUN, so no shell is needed, and ENTRYPOINT
// in exec form (a shell form would need /bin/sh). No Docker engine runs
// here, so the file is checked as text.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	args, stages := parseDockerfile(t, string(b))
	if len(stages) < 2 {
		t.Fatalf("Dockerfile has %d stage(s), want a build stage and the image", len(stages))
	}
	build, image := stages[0], stages[len(stages)-1]

	// The build: a Go image at least as new as go.mod asks.
	goVersion := args["GO_VERSION"]
	if !strings.HasPrefix(build.from, "golang:") || !strings.Contains(build.from, "${GO_VERSION}") || goVersion == "" {
		t.Errorf("the build stage is FROM %q with ARG GO_VERSION=%q, want golang:${GO_VERSION}…", build.from, goVersion)
	}
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+(\.\d+)?)$`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	if versionBelow(goVersion, string(m[1])) {
		t.Errorf("GO_VERSION %s is older than go.mod's go %s", goVersion, m[1])
	}
	var goBuild string
	for _, in := range build.instr {
		if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
			goBuild = in.args
		}
	}
	for _, w := range []string{"CGO_ENABLED=0 ", "-trimpath", "./cmd/markimport"} {
		if !strings.Contains(goBuild, w) {
			t.Errorf("the build's go build %q lacks %q", goBuild, w)
		}
	}

	// The image.
	if image.from != "scratch" && !strings.Contains(image.from, "distroless") {
		t.Errorf("the image is FROM %q, want scratch or a distroless base", image.from)
	}
	var user, entrypoint string
	var copied []string
	for _, in := range image.instr {
		switch in.cmd {
		case "RUN", "SHELL", "HEALTHCHECK", "ONBUILD":
			t.Errorf("Dockerfile line %d: %s in the image: it needs a shell the image does not have", in.line, in.cmd)
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			entrypoint = in.args
		case "COPY", "ADD":
			copied = append(copied, in.args)
		case "VOLUME":
			t.Errorf("Dockerfile line %d: VOLUME: the folders to write are the deployment's to mount (--temp-dir)", in.line)
		}
	}
	uid, gid, ok := strings.Cut(user, ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 {
		t.Errorf("the image's USER is %q, want a numeric user other than root (runAsNonRoot can check only a number)", user)
	}
	if n, err := strconv.Atoi(gid); ok && (err != nil || n == 0) {
		t.Errorf("the image's USER group is %q, want a number other than 0", gid)
	}
	if !regexp.MustCompile(`(?m)` + regexp.QuoteMeta("x:"+uid+":"+gid+":")).Match(b) {
		t.Errorf("no /etc/passwd line for the user %s:%s is written for the image", uid, gid)
	}
	var exec []string
	if err := json.Unmarshal([]byte(entrypoint), &exec); err != nil || len(exec) == 0 {
		t.Errorf("ENTRYPOINT %q is not in exec form (a JSON array): the shell form needs /bin/sh", entrypoint)
	} else if !strings.HasSuffix(exec[0], "/markimport") || !strings.Contains(goBuild, "-o /rootfs"+exec[0]) {
		t.Errorf("ENTRYPOINT %q is not the binary go build writes (%s)", exec[0], goBuild)
	}
	if !strings.Contains(strings.Join(copied, "\n"), "/etc/ssl/certs/ca-certificates.crt") {
		t.Errorf("the image copies no CA certificates (%q): TLS to the API would fail", copied)
	}
}

// versionBelow reports whether Go version a (1.26.8) is older than b
// (1.26.0, or 1.26).
func versionBelow(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(pa), len(pb)) {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

// TestDockerignore: the build context keeps .git (the version and commit
// --version prints are stamped from it) and every file git tracks: one
// left out is a change git sees, and the image's --version would say
// "with changes not committed". (Files git ignores do not count; the
// .dockerignore leaves out such build outputs to keep the context small.)
func TestDockerignore(t *testing.T) {
	ignore, err := os.ReadFile("../../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, l := range strings.Split(string(ignore), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			patterns = append(patterns, strings.Trim(l, "/"))
		}
	}
	tracked, err := exec.Command("git", "-C", "../..", "ls-files").Output()
	if err != nil {
		t.Skipf("no git checkout to compare with: %v", err)
	}
	for _, f := range append([]string{".git/HEAD"}, strings.Fields(string(tracked))...) {
		if p := dockerIgnored(patterns, f); p != "" {
			t.Errorf(".dockerignore's %s leaves out %s, which the stamp needs: --version would not name the commit as it is", p, f)
		}
	}
}

// dockerIgnored is the pattern (as .dockerignore matches them: from the
// context's root, ** for any folders) that leaves out the file at path,
// or one of its folders; "" if none.
func dockerIgnored(patterns []string, path string) string {
	parts := strings.Split(path, "/")
	for _, p := range patterns {
		sub, deep := strings.CutPrefix(p, "**/")
		for i := range parts {
			prefix := strings.Join(parts[:i+1], "/")
			if ok, _ := filepath.Match(p, prefix); ok {
				return p
			}
			for j := 0; deep && j <= i; j++ {
				if ok, _ := filepath.Match(sub, strings.Join(parts[j:i+1], "/")); ok {
					return p
				}
			}
		}
	}
	return ""
}
