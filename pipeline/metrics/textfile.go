package metrics

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"markimport/pipeline/durable"
)

// maxFileBytes bounds the metrics file read back: markimport's is a few
// kilobytes, so a bigger file is not one it wrote.
const maxFileBytes = 1 << 20

// NotOurs says that the file at a metrics path is not a metrics file
// markimport wrote: replacing it could destroy someone else's file.
type NotOurs struct {
	Path   string
	Reason string
}

func (e *NotOurs) Error() string {
	return fmt.Sprintf("%s is not a metrics file of markimport (%s); pass --overwrite to replace it", e.Path, e.Reason)
}

// LastSuccess reads the metrics file at path, if there is one, and
// returns the last-success time it holds for command (0 when none). A
// file that is not Prometheus text made only of markimport_ metrics is a
// *NotOurs error.
func LastSuccess(path, command string) (float64, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return 0, err
	}
	if len(b) > maxFileBytes {
		return 0, &NotOurs{path, fmt.Sprintf("over %d bytes", maxFileBytes)}
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(b))
	if err != nil {
		return 0, &NotOurs{path, err.Error()}
	}
	var last float64
	for name, fam := range fams {
		if !strings.HasPrefix(name, "markimport_") {
			return 0, &NotOurs{path, "it holds " + name}
		}
		if name != nameLastSuccess {
			continue
		}
		for _, m := range fam.GetMetric() {
			if labelValue(m, "command") == command && m.GetGauge() != nil {
				last = m.GetGauge().GetValue()
			}
		}
	}
	return last, nil
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// WriteFile writes v to path in the textfile collector's format, every
// metric labelled with the command, through fsys (durable.Local when nil):
// beside path, synced, renamed into place. v.LastSuccess is written as
// given: the caller passes the end time of a success, else what
// LastSuccess read, so that a failure does not move it.
func WriteFile(fsys durable.FS, path string, v Values) error {
	fams, err := gather(v, prometheus.Labels{"command": v.Command}, true)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, f := range fams {
		if err := enc.Encode(f); err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
	}
	return durable.WriteFile(fsys, path, buf.Bytes())
}
