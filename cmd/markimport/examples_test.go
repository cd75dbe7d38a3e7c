package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// readmeBlocks are the README's fenced code blocks of a language.
func readmeBlocks(t *testing.T, lang string) []string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	var cur *strings.Builder
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case cur == nil && line == "```"+lang:
			cur = &strings.Builder{}
		case cur != nil && line == "```":
			blocks = append(blocks, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(line + "\n")
		}
	}
	return blocks
}

// deployment is what an example gives markimport: its command line, its
// environment (a variable from a Secret has the value "<secret>"), the
// files mounted for it, by path, and the folders it may write.
type deployment struct {
	args     []string
	env      map[string]string
	files    map[string]string
	writable []string
}

// checkDeployment checks a deployment against the tool as the command
// would take it: the command and each flag (one the command takes, with a
// value it accepts), each MARKIMPORT_ variable (a flag's the command
// takes, or a secret's), the config file --config or MARKIMPORT_CONFIG
// names (through the tool's own reading of settings), and --temp-dir, a
// folder the deployment may write. It returns the flags as set.
func checkDeployment(t *testing.T, d deployment) *flag.FlagSet {
	t.Helper()
	if len(d.args) == 0 || !slices.Contains(importCommands, d.args[0]) {
		t.Fatalf("the command line %q does not start with validate, run or verify", d.args)
	}
	command := d.args[0]
	fs, _ := newImportFlags(command)
	takesFlag := func(name string) bool { return takes(command, name) }
	help, err := parseFlags(command, fs, d.args[1:], takesFlag)
	if err != nil || help || fs.NArg() > 0 {
		t.Fatalf("markimport %q: %v (help %v, arguments left %q)", d.args, err, help, fs.Args())
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for name := range given {
		if !takes(command, name) {
			t.Errorf("markimport %s does not take --%s (it belongs to %s)", command, name, flagHomes[name].in)
		}
	}
	for name := range d.env {
		rest, ok := strings.CutPrefix(name, "MARKIMPORT_")
		if !ok || slices.Contains(secretEnv, name) {
			continue
		}
		f := fs.Lookup(strings.ToLower(strings.ReplaceAll(rest, "_", "-")))
		if f == nil || envName(f.Name) != name || !takes(command, f.Name) {
			t.Errorf("%s is no variable markimport %s reads", name, command)
		}
	}
	// The config file, where the deployment mounts it.
	dir := t.TempDir()
	lookup := func(name string) (string, bool) {
		v, ok := d.env[name]
		if name != envName("config") || !ok {
			return v, ok
		}
		text, mounted := d.files[v]
		if !mounted {
			t.Errorf("%s=%s: no file is mounted there", name, v)
			return "", false
		}
		p := filepath.Join(dir, path.Base(v))
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p, true
	}
	if _, err := applySettings(command, fs, given, lookup); err != nil {
		t.Errorf("markimport %s refuses the settings: %v", command, err)
	}
	if temp := fs.Lookup("temp-dir").Value.String(); !slices.Contains(d.writable, temp) {
		t.Errorf("--temp-dir %q is no writable volume of the example (%q): the root file system is read-only", temp, d.writable)
	}
	return fs
}

// exitMention is "exit 2", "exit 2, 4" or "exit 2 and 4" in an example.
var exitMention = regexp.MustCompile(`exit (\d+(?:(?:, | and | or )\d+)*)`)

// checkExitCodes: every code an example names (in its comments, or mapped
// by the scheduler) is one of the tool's, and every one of the tool's
// but 0 is mapped or explained (mapped, with all: a scheduler that maps
// each code itself, where one left out would take its default).
func checkExitCodes(t *testing.T, example, text string, mapped []int, all bool) {
	t.Helper()
	named := slices.Clone(mapped)
	for _, m := range exitMention.FindAllStringSubmatch(text, -1) {
		for _, n := range regexp.MustCompile(`\d+`).FindAllString(m[1], -1) {
			code, _ := strconv.Atoi(n)
			named = append(named, code)
		}
	}
	known := map[int]bool{}
	for _, e := range exitCodes {
		known[e.code] = true
	}
	for _, code := range named {
		if !known[code] {
			t.Errorf("%s: exit %d is no exit code of markimport", example, code)
		}
	}
	for _, e := range exitCodes {
		switch {
		case e.code == exitOK:
		case all && !slices.Contains(mapped, e.code):
			t.Errorf("%s: exit %d (%s) is not mapped", example, e.code, e.meaning)
		case !slices.Contains(named, e.code):
			t.Errorf("%s: exit %d (%s) is neither mapped nor explained", example, e.code, e.meaning)
		}
	}
}

// imageUser is the numeric user the Dockerfile's image runs as.
func imageUser(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	_, stages := parseDockerfile(t, string(b))
	for _, in := range stages[len(stages)-1].instr {
		if in.cmd == "USER" {
			uid, _, _ := strings.Cut(in.args, ":")
			if n, err := strconv.Atoi(uid); err == nil {
				return n
			}
		}
	}
	t.Fatal("the Dockerfile's image has no numeric USER")
	return 0
}

// at is the value at a path of keys in a decoded YAML document (nil when
// absent).
func at(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// list is a YAML sequence (nil when v is none).
func list(v any) []any {
	l, _ := v.([]any)
	return l
}

// TestREADMECronJob: the README's Kubernetes example is a CronJob that
// runs one job at a time, with a retry budget and a deadline, a pod
// failure policy whose exit codes are markimport's (each explained),
// secrets from a Secret, a read-only root file system, the image's own
// non-root user, an emptyDir for --temp-dir, and a command line, variables
// and config file (from its ConfigMap) that markimport takes.
func TestREADMECronJob(t *testing.T) {
	blocks := readmeBlocks(t, "yaml")
	if len(blocks) == 0 {
		t.Fatal("README.md has no yaml example")
	}
	uid := imageUser(t)
	cronJobs := 0
	for _, block := range blocks {
		configMaps := map[string]map[string]any{}
		var docs []map[string]any
		dec := yaml.NewDecoder(strings.NewReader(block))
		for {
			var v any
			err := dec.Decode(&v)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("README yaml: %v\n%s", err, block)
			}
			doc, ok := v.(map[string]any)
			if !ok || doc["kind"] == nil {
				continue // not a Kubernetes object (an alert rule)
			}
			if doc["kind"] == "ConfigMap" {
				data, _ := doc["data"].(map[string]any)
				configMaps[at(doc, "metadata", "name").(string)] = data
			}
			docs = append(docs, doc)
		}
		for _, doc := range docs {
			if doc["kind"] != "CronJob" {
				continue
			}
			cronJobs++
			checkCronJob(t, block, doc, configMaps, uid)
		}
	}
	if cronJobs == 0 {
		t.Fatal("README.md's yaml examples hold no CronJob")
	}
}

// checkCronJob checks one CronJob of the README (see TestREADMECronJob).
func checkCronJob(t *testing.T, block string, job map[string]any, configMaps map[string]map[string]any, uid int) {
	t.Helper()
	if p := at(job, "spec", "concurrencyPolicy"); p != "Forbid" {
		t.Errorf("concurrencyPolicy %v, want Forbid: two runs at once share one state and one quota", p)
	}
	jobSpec := at(job, "spec", "jobTemplate", "spec")
	for _, key := range []string{"backoffLimit", "activeDeadlineSeconds"} {
		if _, ok := at(jobSpec, key).(int); !ok {
			t.Errorf("the job sets no %s", key)
		}
	}
	pod := at(jobSpec, "template", "spec")
	if at(pod, "restartPolicy") != "Never" {
		t.Errorf("restartPolicy %v: a pod failure policy needs Never", at(pod, "restartPolicy"))
	}
	if at(pod, "securityContext", "runAsNonRoot") != true || at(pod, "securityContext", "runAsUser") != uid {
		t.Errorf("the pod's securityContext %v: want runAsNonRoot and the image's user %d", at(pod, "securityContext"), uid)
	}
	volumes := map[string]any{}
	for _, v := range list(at(pod, "volumes")) {
		volumes[at(v, "name").(string)] = v
	}
	containers := list(at(pod, "containers"))
	if len(containers) != 1 {
		t.Fatalf("%d containers, want markimport's", len(containers))
	}
	c := containers[0]
	name := at(c, "name")
	if at(c, "securityContext", "readOnlyRootFilesystem") != true {
		t.Errorf("the container's root file system is not read-only")
	}
	if at(c, "command") != nil {
		t.Errorf("the container sets command %v: the image's ENTRYPOINT is the binary, args its command line", at(c, "command"))
	}
	d := deployment{env: map[string]string{}, files: map[string]string{}}
	for _, a := range list(at(c, "args")) {
		d.args = append(d.args, fmt.Sprint(a))
	}
	for _, e := range list(at(c, "env")) {
		n := at(e, "name").(string)
		switch {
		case at(e, "valueFrom", "secretKeyRef") != nil:
			d.env[n] = "<secret>"
		case slices.Contains(secretEnv, n) || strings.Contains(n, "SECRET"):
			t.Errorf("%s is not taken from a Secret", n)
		default:
			d.env[n] = fmt.Sprint(at(e, "value"))
		}
	}
	for _, m := range list(at(c, "volumeMounts")) {
		mount := at(m, "mountPath").(string)
		v := volumes[at(m, "name").(string)]
		if at(v, "emptyDir") != nil {
			d.writable = append(d.writable, mount)
		}
		if cm := at(v, "configMap", "name"); cm != nil {
			for key, text := range configMaps[cm.(string)] {
				d.files[path.Join(mount, key)] = fmt.Sprint(text)
			}
		}
	}
	checkDeployment(t, d)

	var mapped []int
	for _, r := range list(at(jobSpec, "podFailurePolicy", "rules")) {
		codes := at(r, "onExitCodes")
		if codes == nil {
			continue
		}
		if at(codes, "containerName") != name || at(codes, "operator") != "In" {
			t.Errorf("rule %v: not the exit codes of container %v", r, name)
		}
		for _, v := range list(at(codes, "values")) {
			mapped = append(mapped, v.(int))
		}
	}
	checkExitCodes(t, "the CronJob", block, mapped, true)
}

// TestREADMEAirflow: the README's Airflow task is Python, runs the image
// as its own non-root user on a read-only root file system with an
// emptyDir for --temp-dir, writes the summary where the operator takes
// the XCom from, maps exit codes that are markimport's (each explained),
// and gives a command line and variables markimport takes.
func TestREADMEAirflow(t *testing.T) {
	blocks := readmeBlocks(t, "python")
	if len(blocks) == 0 {
		t.Fatal("README.md has no python example")
	}
	uid := imageUser(t)
	for _, block := range blocks {
		if py, err := exec.LookPath("python3"); err == nil {
			cmd := exec.Command(py, "-c", "import ast, sys; ast.parse(sys.stdin.read())")
			cmd.Stdin = strings.NewReader(block)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("README python is not Python: %v\n%s", err, out)
			}
		} else {
			t.Log("no python3 here: the example's syntax is not checked")
		}
		one := func(re string) string {
			m := regexp.MustCompile(re).FindStringSubmatch(block)
			if m == nil {
				t.Fatalf("README python: no %s", re)
			}
			return m[1]
		}
		quoted := regexp.MustCompile(`"([^"]*)"`)
		d := deployment{env: map[string]string{}}
		for _, m := range quoted.FindAllStringSubmatch(one(`(?s)arguments=\[(.*?)\]`), -1) {
			d.args = append(d.args, m[1])
		}
		for _, m := range regexp.MustCompile(`"(\w+)":\s*"([^"]*)"`).FindAllStringSubmatch(one(`(?s)env_vars=\{(.*?)\}`), -1) {
			if slices.Contains(secretEnv, m[1]) || strings.Contains(m[1], "SECRET") {
				t.Errorf("%s is not taken from a Secret", m[1])
			}
			d.env[m[1]] = m[2]
		}
		for _, m := range regexp.MustCompile(`Secret\("env", "(\w+)"`).FindAllStringSubmatch(block, -1) {
			d.env[m[1]] = "<secret>"
		}
		for _, m := range regexp.MustCompile(`mount_path="([^"]*)"`).FindAllStringSubmatch(block, -1) {
			d.writable = append(d.writable, m[1])
		}
		fs := checkDeployment(t, d)

		if one(`do_xcom_push=(\w+)`) != "True" || fs.Lookup("summary").Value.String() != "/airflow/xcom/return.json" {
			t.Errorf("the summary is not the task's XCom: do_xcom_push and --summary /airflow/xcom/return.json")
		}
		sc := one(`container_security_context=(.*)`)
		for _, w := range []string{"read_only_root_filesystem=True", "run_as_non_root=True", "run_as_user=" + strconv.Itoa(uid) + ")"} {
			if !strings.Contains(sc, w) {
				t.Errorf("container_security_context lacks %s: %s", w, sc)
			}
		}
		var mapped []int
		for _, n := range regexp.MustCompile(`\d+`).FindAllString(one(`skip_on_exit_code=\[([\d, ]*)\]`), -1) {
			code, _ := strconv.Atoi(n)
			mapped = append(mapped, code)
		}
		checkExitCodes(t, "the Airflow task", block, mapped, false)
	}
}

// TestREADMEConfigFiles: every TOML example of the README that says it is
// a config file (its first line names --config or MARKIMPORT_CONFIG; the
// others are --map-file mappings) is one markimport reads, for validate,
// run and verify, without a refusal.
func TestREADMEConfigFiles(t *testing.T) {
	configs := 0
	for i, block := range readmeBlocks(t, "toml") {
		first, _, _ := strings.Cut(block, "\n")
		if !strings.Contains(first, "--config") && !strings.Contains(first, envName("config")) {
			continue
		}
		configs++
		p := filepath.Join(t.TempDir(), "markimport.toml")
		if err := os.WriteFile(p, []byte(block), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, command := range importCommands {
			var out, errb bytes.Buffer
			if code := cmdConfig([]string{command, "--config", p}, &out, &errb, hooks{}); code != exitOK {
				t.Errorf("README toml example %d, markimport config %s: exit %d\n%s", i+1, command, code, errb.String())
			}
		}
	}
	if configs == 0 {
		t.Fatal("README.md has no config file example")
	}
}
