package main

import (
	"fmt"

	"markimport/readers/objstore"
)

// Report-like outputs in object storage beyond run's: verify's --report,
// --summary and --html, and page's --html, take s3:// URLs under the rules
// of run's outputs (objects.go): staged in --temp-dir, refused when they
// exist unless --overwrite, held by a lease while the command runs, never
// an input, and uploaded whole once written. Files read by another program
// on this machine (--metrics-file, for node_exporter's textfile collector;
// the profiles, for go tool pprof) stay local: an s3:// URL there is
// refused before anything is read or sent.

// localOnly refuses an object URL for a flag whose file must be on this
// machine.
func (c *command) localOnly() error {
	for _, o := range []named{
		{"--metrics-file", c.metricsFile},
		{"--cpuprofile", c.cpuProfile},
		{"--memprofile", c.memProfile},
	} {
		if objstore.IsURL(o.path) {
			why := "node_exporter's textfile collector reads it from a local folder; or push the metrics with --metrics-push"
			if o.flag != "--metrics-file" {
				why = "a profile is written as the run goes"
			}
			return fmt.Errorf("%s %s: it must be a local file (%s)", o.flag, o.path, why)
		}
	}
	return nil
}

// outputFlag is an output flag and its value, which staging replaces.
type outputFlag struct {
	name string
	val  *string
}

// stageOutputs stages each flag whose value is an object URL in a new
// staging folder in tempDir (replacing the value by its local file) and
// checks that none is read by an input. It returns nil when no flag names
// an object.
func stageOutputs(tempDir string, flags []outputFlag, inputs []string) (*objectOutputs, error) {
	var o *objectOutputs
	for _, fl := range flags {
		if !objstore.IsURL(*fl.val) {
			continue
		}
		if o == nil {
			var err error
			if o, err = newObjectOutputs(tempDir); err != nil {
				return nil, err
			}
		}
		if err := o.stage(fl.name, fl.val); err != nil {
			o.close()
			return nil, err
		}
	}
	if o == nil {
		return nil, nil
	}
	if err := o.notInputs(inputs); err != nil {
		o.close()
		return nil, err
	}
	return o, nil
}

// holdObjects refuses, before anything is read or sent, an object of o
// that exists (without --overwrite), and takes the lease of each; release
// gives them back. It does nothing when o is nil.
func (c *command) holdObjects(o *objectOutputs) (release func(), err error) {
	if o == nil {
		return func() {}, nil
	}
	if err := o.refuseExisting(c.overwrite, false); err != nil {
		return nil, err
	}
	return o.takeLeases(c.hooks.leaseTTL)
}

// stageObjects stages verify's outputs in object storage.
func (v *verifyRun) stageObjects() error {
	var err error
	v.objects, err = stageOutputs(v.tempDir, []outputFlag{{"--report", &v.report}, {"--summary", &v.summary}, {"--html", &v.html}}, v.inputs)
	return err
}

// publishReport uploads verify's report once finished; its error becomes
// verify's when it has none.
func (v *verifyRun) publishReport(verr *error) {
	if v.objects == nil {
		return
	}
	if err := v.objects.publish(v.overwrite); err != nil && *verr == nil {
		*verr = err
	}
}

// stagePage stages page's --html when it is an object; page reads its
// --report and --summary from local files.
func stagePage(html *string, inputs []named) (*objectOutputs, error) {
	for _, in := range inputs {
		if objstore.IsURL(in.path) {
			return nil, fmt.Errorf("%s %s: page reads the report and the summary from local files: copy them down first", in.flag, in.path)
		}
	}
	return stageOutputs("", []outputFlag{{"--html", html}}, nil)
}

// urls is the object URL of each staged output by its local path (nil
// for no outputs in object storage).
func (o *objectOutputs) urls() map[string]string {
	if o == nil {
		return nil
	}
	m := map[string]string{}
	for _, f := range o.files {
		m[f.local] = f.obj.String()
	}
	return m
}
